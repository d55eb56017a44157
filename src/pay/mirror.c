/*
 * Mirroring live customers and cards onto the connected account (see
 * mirror.h).  Stripe's answers are checked before they are stored: ids by
 * their prefix and alphabet (they go into URLs and headers later), card
 * fields by the columns' own rules.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto/apikey.h"
#include "http/req.h"
#include "pay/mirror.h"
#include "pay/processor.h"
#include "pay/stripe_http.h"

/* Hex digits of the digest in a mirror's Idempotency-Key (96 bits). */
#define MIRROR_KEY_DIGEST_LEN 24

STMT(mirror_tenant, "SELECT t.stripe_account_id FROM tenants t");
STMT(mirror_customer_get, "SELECT c.processor_id, c.processor_account FROM customers c"
                          " WHERE c.id = $1");
/* Locked only when it is to be mirrored: two first payments of one customer queue here. */
STMT(mirror_customer_lock, "SELECT c.processor_id, c.processor_account, c.email, c.name,"
                           " c.description, c.phone FROM customers c WHERE c.id = $1 FOR UPDATE");
STMT(mirror_customer_set, "UPDATE customers c SET processor_id = $2, processor_account = $3"
                          " WHERE c.id = $1");
STMT(mirror_card_set,
     "UPDATE payment_methods t SET customer = $2, brand = $3, last4 = $4, exp_month = $5::int,"
     " exp_year = $6::int, funding = $7, country = $8, fingerprint = $9, processor_id = $10,"
     " processor_account = $11, processor_token = NULL WHERE t.id = $1"
     " RETURNING levy_payment_method_json(t)::text");
STMT(mirror_card_get, "SELECT m.customer, m.processor_id, m.processor_account"
                      " FROM payment_methods m WHERE m.id = $1");

int mirror_init(struct req *r, const char *account, struct mirror *m, struct err *e)
{
	m->account = account;
	return pay_live_ready(r->conf, account, e);
}

int mirror_open(struct req *r, struct mirror *m, struct err *e)
{
	PGresult *res;

	m->account = NULL;
	res = db_exec(r->db, r->arena, &mirror_tenant, 0, NULL, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_internal(e, "the tenant's own row is not visible");
	return mirror_init(r, db_str(r->arena, res, 0, 0), m, e);
}

/* A POST to the connected account. */
/* The Idempotency-Key of a mirror: levy's id, and a digest of where and what it sends. */
static const char *mirror_key(struct req *r, const struct mirror *m, const char *id,
                              const struct stripe_form *f)
{
	char digest[65];

	apikey_hash_hex(arena_printf(r->arena, "%s %s", m->account, stripe_form_body(f)), digest);
	digest[MIRROR_KEY_DIGEST_LEN] = '\0';
	return arena_printf(r->arena, "levy_mirror_%s_%s", id, digest);
}

static int mirror_post(struct req *r, const struct mirror *m, const char *path, const char *id,
                       const struct stripe_form *f, struct stripe_answer *ans, struct err *e)
{
	struct stripe_call call = {
	        .base = r->conf->stripe_api_base,
	        .path = path,
	        .secret_key = r->conf->stripe_secret_key,
	        .stripe_account = m->account,
	        .idempotency_key = mirror_key(r, m, id, f),
	        .form = f,
	        .timeout_ms = r->conf->stripe_timeout_ms,
	};
	struct stripe_error se;

	/* The transaction's deferred writes are known to stand before Stripe hears of them. */
	if (db_flush(r->db, e) != 0 || stripe_http_post(r->arena, &call, ans, e) != 0)
		return -1;
	if (ans->status >= 200 && ans->status < 300)
		return 0;
	stripe_http_error(r->arena, ans, &se);
	return stripe_http_refused(ans, &se, e);
}

/* Whether a row's mirror is on the account connected now. */
static bool mirror_here(const struct mirror *m, const char *remote, const char *account)
{
	return remote != NULL && account != NULL && strcmp(account, m->account) == 0;
}

int mirror_customer(struct req *r, const struct mirror *m, const char *customer,
                    const char **remote, struct err *e)
{
	struct stripe_answer ans;
	struct stripe_form f;
	const char *params[3];
	PGresult *res;

	res = db_exec(r->db, r->arena, &mirror_customer_get, 1, &customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "customer",
		               "No such customer: '%s'", customer);
	*remote = db_str(r->arena, res, 0, 0);
	if (mirror_here(m, *remote, PQgetvalue(res, 0, 1)))
		return 0;
	res = db_exec(r->db, r->arena, &mirror_customer_lock, 1, &customer, e);
	if (res == NULL)
		return -1;
	*remote = db_str(r->arena, res, 0, 0);
	if (mirror_here(m, *remote, PQgetvalue(res, 0, 1)))
		return 0;
	stripe_form_init(&f, r->arena);
	stripe_form_add(&f, "email", db_str(r->arena, res, 0, 2));
	stripe_form_add(&f, "name", db_str(r->arena, res, 0, 3));
	stripe_form_add(&f, "description", db_str(r->arena, res, 0, 4));
	stripe_form_add(&f, "phone", db_str(r->arena, res, 0, 5));
	stripe_form_add(&f, "metadata[levy_id]", customer);
	if (mirror_post(r, m, "/v1/customers", customer, &f, &ans, e) != 0)
		return -1;
	*remote = stripe_json_str(r->arena, ans.body, "id");
	if (!stripe_id_valid(*remote, "cus_"))
		return stripe_http_unreadable(e, "customer");
	params[0] = customer;
	params[1] = *remote;
	params[2] = m->account;
	return db_exec(r->db, r->arena, &mirror_customer_set, 3, params, e) != NULL ? 0 : -1;
}

/* Stripe's card brands ("Visa", "American Express") as a PaymentMethod names them. */
static const char *mirror_brand(const char *brand)
{
	static const struct {
		const char *card, *pm;
	} brands[] = {
	        {"American Express", "amex"},
	        {"Diners Club", "diners"},
	        {"Discover", "discover"},
	        {"Eftpos Australia", "eftpos_au"},
	        {"JCB", "jcb"},
	        {"MasterCard", "mastercard"},
	        {"UnionPay", "unionpay"},
	        {"Visa", "visa"},
	        {"Unknown", "unknown"},
	};

	for (size_t i = 0; brand != NULL && i < sizeof(brands) / sizeof(brands[0]); i++)
		if (strcmp(brand, brands[i].card) == 0 || strcmp(brand, brands[i].pm) == 0)
			return brands[i].pm;
	return "unknown";
}

static const char *mirror_funding(const char *funding)
{
	static const char *const known[] = {"credit", "debit", "prepaid"};

	for (size_t i = 0; funding != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(funding, known[i]) == 0)
			return known[i];
	return "unknown";
}

static bool mirror_chars(const char *s, size_t min, size_t max, const char *set)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	return n >= min && n <= max && strspn(s, set) == n;
}

#define MIRROR_DIGITS "0123456789"
#define MIRROR_UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define MIRROR_BASE62 MIRROR_DIGITS MIRROR_UPPER "abcdefghijklmnopqrstuvwxyz"

int mirror_attach_card(struct req *r, const struct mirror *m, const char *pm, const char *token,
                       const char *customer, const char *remote, const char **json, struct err *e)
{
	const char *card, *last4, *country, *fingerprint, *params[11];
	struct stripe_answer ans;
	struct stripe_form f;
	long long month, year;
	PGresult *res;

	stripe_form_init(&f, r->arena);
	stripe_form_add(&f, "source", token);
	stripe_form_add(&f, "metadata[levy_id]", pm);
	if (mirror_post(r, m, arena_printf(r->arena, "/v1/customers/%s/sources", remote), pm, &f,
	                &ans, e) != 0)
		return -1;
	card = stripe_json_str(r->arena, ans.body, "id");
	last4 = stripe_json_str(r->arena, ans.body, "last4");
	country = stripe_json_str(r->arena, ans.body, "country");
	fingerprint = stripe_json_str(r->arena, ans.body, "fingerprint");
	if (!stripe_id_valid(card, "card_") || !mirror_chars(last4, 4, 4, MIRROR_DIGITS) ||
	    !mirror_chars(fingerprint, 1, 64, MIRROR_BASE62) ||
	    !stripe_json_int(ans.body, "exp_month", &month) || month < 1 || month > 12 ||
	    !stripe_json_int(ans.body, "exp_year", &year) || year < 2000 || year > 9999)
		return stripe_http_unreadable(e, "card");
	if (!mirror_chars(country, 2, 2, MIRROR_UPPER))
		country = NULL;
	params[0] = pm;
	params[1] = customer;
	params[2] = mirror_brand(stripe_json_str(r->arena, ans.body, "brand"));
	params[3] = last4;
	params[4] = arena_printf(r->arena, "%lld", month);
	params[5] = arena_printf(r->arena, "%lld", year);
	params[6] = mirror_funding(stripe_json_str(r->arena, ans.body, "funding"));
	params[7] = country;
	params[8] = fingerprint;
	params[9] = card;
	params[10] = m->account;
	res = db_exec(r->db, r->arena, &mirror_card_set, 11, params, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_internal(e, "payment method %s vanished while locked", pm);
	*json = db_str(r->arena, res, 0, 0);
	return 0;
}

int mirror_charge_ids(struct req *r, const struct mirror *m, const char *pm,
                      const char **remote_customer, const char **remote_card, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &mirror_card_get, 1, &pm, e);
	const char *customer;

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "payment_method",
		               "No such PaymentMethod: '%s'", pm);
	customer = db_str(r->arena, res, 0, 0);
	*remote_card = db_str(r->arena, res, 0, 1);
	if (*remote_card == NULL)
		return err_invalid(
		        e, "payment_method",
		        "This live-mode PaymentMethod has no card on Stripe yet: attach it "
		        "to a customer first (its token becomes a card when attached).");
	if (!mirror_here(m, *remote_card, PQgetvalue(res, 0, 2)))
		return err_invalid(e, "payment_method",
		                   "This card was saved on another Stripe account than the one "
		                   "connected now; attach a new card to the customer.");
	if (customer == NULL)
		return err_invalid(
		        e, "payment_method",
		        "This PaymentMethod was detached from its customer, and may not be "
		        "used again.");
	return mirror_customer(r, m, customer, remote_customer, e);
}
