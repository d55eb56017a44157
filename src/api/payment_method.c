/*
 * Payment methods (pm_), cards only, and levy's built-in test processor's
 * side of them: in test mode a card is one of Stripe's test cards, given
 * by number (create) or by Stripe's test id (pm_card_visa, when attached),
 * and it behaves as Stripe's does (billing/testcard.c).  Attaching checks
 * the card, so a card that always declines refuses to attach (402).
 *
 * A card number lives only in this file's stack buffers for the length of
 * a request: it is never stored, logged, sent to PostgreSQL or echoed in an
 * error.  What is kept is what Stripe shows (brand, last4, expiry,
 * funding, country), a fingerprint, and the test card it was, whose
 * verdict later charges read (test_decline_code).
 *
 * Live-mode cards belong on the tenant's connected Stripe account: levy
 * takes them only as Stripe tokens (card[token], made by Stripe.js on that
 * account), never as numbers, keeps the token until the card is attached
 * to a customer, and then makes it a card on Stripe (pay/mirror.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/object.h"
#include "api/payment_method.h"
#include "billing/testcard.h"
#include "http/reply.h"
#include "http/req.h"
#include "pay/mirror.h"
#include "pay/stripe_http.h"

/* Longest card[number] read, spaces and dashes included; PANs are at most 19 digits. */
#define PM_NUMBER_MAX_LEN 32
#define PM_PAN_MAX 19
#define PM_FINGERPRINT_LEN 16
/* Stripe accepts expiry years up to about half a century ahead. */
#define PM_EXP_YEARS_AHEAD 50
#define PM_NAME_MAX_LEN 256
#define PM_EMAIL_MAX_LEN 512
#define PM_PHONE_MAX_LEN 40
#define PM_ADDRESS_FIELD_MAX_LEN 200

#define MSG_LIVE_MODE                                                                              \
	"Live-mode payment methods need a connected Stripe account: connect one to the "           \
	"tenant, or use a test-mode key with Stripe's test cards."
#define MSG_LIVE_CARD                                                                              \
	"Your card was declined. Your request was in test mode, but used a non test (live) "       \
	"card. For a list of valid test cards, visit: https://stripe.com/docs/testing."
#define MSG_DETACHED                                                                               \
	"This PaymentMethod was previously used without being attached to a Customer or was "      \
	"detached from a Customer, and may not be used again."

STMT(pm_insert, "INSERT INTO payment_methods AS t (customer, brand, last4, exp_month, exp_year,"
                " funding, country, fingerprint, billing_details, test_decline_code, test_card,"
                " metadata)"
                " VALUES ($1, $2, $3, $4::int, $5::int, $6, $7, $8,"
                " levy_billing_details_merge('{}', $9::jsonb), $10, $11,"
                " levy_metadata_merge('{}', $12::jsonb))"
                " RETURNING t.id, levy_payment_method_json(t)::text");
STMT(pm_get, "SELECT levy_payment_method_json(t)::text FROM payment_methods t WHERE t.id = $1");
/* The row is locked until the transaction ends: two attaches of one card cannot both win. */
STMT(pm_lock, "SELECT t.customer, t.detached, t.test_card, t.processor_token"
              " FROM payment_methods t WHERE t.id = $1 FOR UPDATE");
/* A live card until it is attached: its token, no card details yet (Stripe tells them then). */
STMT(pm_live_insert, "INSERT INTO payment_methods AS t (funding, billing_details, processor_token,"
                     " metadata) VALUES ('unknown', levy_billing_details_merge('{}', $1::jsonb),"
                     " $2, levy_metadata_merge('{}', $3::jsonb))"
                     " RETURNING levy_payment_method_json(t)::text");
/* FOR SHARE holds off a concurrent delete of the customer until this attach commits. */
STMT(pm_customer_lock, "SELECT 1 FROM customers c WHERE c.id = $1 AND NOT c.deleted FOR SHARE");
STMT(pm_customer_exists, "SELECT 1 FROM customers c WHERE c.id = $1 AND NOT c.deleted");
STMT(pm_set_customer, "UPDATE payment_methods t SET customer = $2 WHERE t.id = $1"
                      " RETURNING levy_payment_method_json(t)::text");
STMT(pm_change, "UPDATE payment_methods t SET"
                " billing_details = levy_billing_details_merge(t.billing_details,"
                "  $2::jsonb -> 'billing_details'),"
                " exp_month = coalesce(($2::jsonb ->> 'exp_month')::int, t.exp_month),"
                " exp_year = coalesce(($2::jsonb ->> 'exp_year')::int, t.exp_year),"
                " metadata = levy_metadata_merge(t.metadata, $3::jsonb)"
                " WHERE t.id = $1"
                " RETURNING t.customer IS NOT NULL, t.exp_month, t.exp_year,"
                " levy_payment_method_json(t)::text");
/*
 * Detach, and clear the customer's default if it was this card, in one
 * statement (a WITH's UPDATE runs whether or not it is read): the customer
 * it had, and the detached object or NULL when it was not attached.
 */
STMT(pm_detach,
     "WITH pm AS (SELECT m.id, m.customer FROM payment_methods m WHERE m.id = $1 FOR UPDATE),"
     " d AS (UPDATE payment_methods t SET customer = NULL FROM pm"
     "  WHERE t.id = pm.id AND pm.customer IS NOT NULL"
     "  RETURNING levy_payment_method_json(t)::text AS j),"
     " cleared AS (UPDATE customers c SET default_payment_method = NULL FROM pm"
     "  WHERE c.id = pm.customer AND c.default_payment_method = pm.id RETURNING c.id)"
     " SELECT pm.customer, (SELECT d.j FROM d) FROM pm");
STMT(pm_list_stmt, OBJ_LIST_SQL("levy_payment_method_json(t)", "payment_methods t",
                                "($4::text IS NULL OR t.customer = $4)"
                                " AND ($5::text IS NULL OR t.type = $5)"));

/* Stripe's types (API 2023-08-16): a list may filter by any; only card exists here. */
static const char *const pm_types[] = {"acss_debit",
                                       "affirm",
                                       "afterpay_clearpay",
                                       "alipay",
                                       "au_becs_debit",
                                       "bacs_debit",
                                       "bancontact",
                                       "blik",
                                       "boleto",
                                       "card",
                                       "card_present",
                                       "cashapp",
                                       "customer_balance",
                                       "eps",
                                       "fpx",
                                       "giropay",
                                       "grabpay",
                                       "ideal",
                                       "interac_present",
                                       "klarna",
                                       "konbini",
                                       "link",
                                       "oxxo",
                                       "p24",
                                       "paynow",
                                       "paypal",
                                       "pix",
                                       "promptpay",
                                       "sepa_debit",
                                       "sofort",
                                       "us_bank_account",
                                       "wechat_pay",
                                       "zip",
                                       NULL};

/* Stripe's wording for a payment method that is not there (or not the caller's to see). */
static int pm_missing(struct err *e, const char *id, const char *param)
{
	return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", param,
	               "No such PaymentMethod: '%.*s'", OBJ_ID_MAX_LEN, id);
}

/* A 402 card_error about the card's details (no decline_code), as Stripe's validation sends. */
static int pm_card_invalid(struct err *e, const char *code, const char *param, const char *msg)
{
	return err_set(e, 402, E_CARD, code, param, "%s", msg);
}

/* A test card's refusal: Stripe's code, decline_code and message. */
static int pm_declined(struct err *e, const struct testcard *tc)
{
	err_set(e, 402, E_CARD, tc->error_code != NULL ? tc->error_code : "card_declined", NULL,
	        "%s",
	        tc->decline_message != NULL ? tc->decline_message : "Your card was declined.");
	e->decline_code = tc->decline_code != NULL ? tc->decline_code : "generic_decline";
	return -1;
}

/* The UTC year and month of the request. */
static void pm_now(const struct req *r, int *year, int *month)
{
	time_t now = (time_t)r->now;
	struct tm tm;

	gmtime_r(&now, &tm);
	*year = tm.tm_year + 1900;
	*month = tm.tm_mon + 1;
}

/*
 * card[exp_month] / card[exp_year] as given (each may be absent): Stripe's
 * 402s for a month outside 1..12 or a year too far ahead.  Two-digit years
 * are this century's, as Stripe reads them.
 */
static int pm_exp_params(struct req *r, long long *month, long long *year, int *has_month,
                         int *has_year, struct err *e)
{
	int now_year, now_month;

	pm_now(r, &now_year, &now_month);
	*has_month = param_int(&r->in, "card[exp_month]", -1000000, 1000000, month, e);
	if (*has_month < 0)
		return -1;
	*has_year = param_int(&r->in, "card[exp_year]", -1000000, 1000000, year, e);
	if (*has_year < 0)
		return -1;
	if (*has_month == 1 && (*month < 1 || *month > 12))
		return pm_card_invalid(e, "invalid_expiry_month", "exp_month",
		                       "Your card's expiration month is invalid.");
	if (*has_year == 1) {
		if (*year >= 0 && *year < 100)
			*year += 2000;
		if (*year < 2000 || *year > now_year + PM_EXP_YEARS_AHEAD)
			return pm_card_invalid(e, "invalid_expiry_year", "exp_year",
			                       "Your card's expiration year is invalid.");
	}
	return 0;
}

/* A card whose expiry has passed: Stripe names the year, or the month within this year. */
static int pm_exp_check(struct req *r, long long month, long long year, struct err *e)
{
	int now_year, now_month;

	pm_now(r, &now_year, &now_month);
	if (year < now_year)
		return pm_card_invalid(e, "invalid_expiry_year", "exp_year",
		                       "Your card's expiration year is invalid.");
	if (year == now_year && month < now_month)
		return pm_card_invalid(e, "invalid_expiry_month", "exp_month",
		                       "Your card's expiration month is invalid.");
	return 0;
}

/*
 * billing_details[name|email|phone|address[...]] as the JSON patch that
 * levy_billing_details_merge() takes: a field "" becomes null (cleared),
 * address "" clears the address.  *json NULL when absent.
 */
static int pm_billing_details(struct req *r, const char **json, struct err *e)
{
	static const char *const allowed[] = {"name", "email", "phone", "address", NULL};
	static const char *const address_allowed[] = {"city",        "country", "line1", "line2",
	                                              "postal_code", "state",   NULL};
	static const struct {
		const char *param, *key;
		size_t maxlen;
	} fields[] = {
	        {"billing_details[name]", "name", PM_NAME_MAX_LEN},
	        {"billing_details[email]", "email", PM_EMAIL_MAX_LEN},
	        {"billing_details[phone]", "phone", PM_PHONE_MAX_LEN},
	};
	struct json_object *patch, *address = NULL, *v;
	const char *s;

	*json = NULL;
	if (!param_has(&r->in, "billing_details"))
		return 0;
	if (param_only_in(&r->in, "billing_details", allowed, e) != 0)
		return -1;
	patch = json_object_new_object();
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int rc = param_str(&r->in, fields[i].param, fields[i].maxlen, true, &s, e);

		if (rc < 0)
			goto fail;
		if (rc == 1)
			json_object_object_add(patch, fields[i].key,
			                       s[0] != '\0' ? json_object_new_string(s) : NULL);
	}
	v = param_value(&r->in, "billing_details[address]");
	if (v != NULL && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 0) {
		json_object_object_add(patch, "address", NULL);
	} else if (v != NULL) {
		if (param_only_in(&r->in, "billing_details[address]", address_allowed, e) != 0)
			goto fail;
		address = json_object_new_object();
		json_object_object_add(patch, "address", address);
		for (size_t i = 0; address_allowed[i] != NULL; i++) {
			char name[64];
			int rc;

			snprintf(name, sizeof(name), "billing_details[address][%s]",
			         address_allowed[i]);
			rc = param_str(&r->in, name, PM_ADDRESS_FIELD_MAX_LEN, true, &s, e);
			if (rc < 0)
				goto fail;
			if (rc == 1)
				json_object_object_add(address, address_allowed[i],
				                       s[0] != '\0' ? json_object_new_string(s)
				                                    : NULL);
		}
	}
	*json = arena_strdup(
	        r->arena, json_object_to_json_string_ext(
	                          patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(patch);
	return 0;
fail:
	json_object_put(patch);
	return -1;
}

/*
 * The card's fingerprint: the same card gives the same one within a tenant
 * and mode (Stripe's promise, per account), and unrelated ones elsewhere,
 * so fingerprints cannot be matched across tenants.  HMAC-SHA256 of the
 * digits keyed by tenant and mode, 16 base62 characters (a byte modulo 62
 * is slightly biased; a fingerprint is a name, not a secret).  Test mode
 * only ever sees Stripe's public test numbers; a live card's fingerprint
 * will be Stripe's own.
 */
static int pm_fingerprint(const struct req *r, const char *digits, char out[PM_FINGERPRINT_LEN + 1],
                          struct err *e)
{
	static const char alphabet[] =
	        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char key[64];
	int klen = snprintf(key, sizeof(key), "levy/pm-fingerprint/%lld/%s", r->who.tenant_id,
	                    r->who.livemode ? "live" : "test");

	if (r->who.tenant_id <= 0 || klen <= 0 || (size_t)klen >= sizeof(key))
		return err_internal(e, "a card fingerprint without a tenant");
	if (HMAC(EVP_sha256(), key, klen, (const unsigned char *)digits, strlen(digits), mac,
	         &len) == NULL ||
	    len < PM_FINGERPRINT_LEN)
		return err_internal(e, "HMAC-SHA256 failed");
	for (int i = 0; i < PM_FINGERPRINT_LEN; i++)
		out[i] = alphabet[mac[i] % 62];
	out[PM_FINGERPRINT_LEN] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* What a new row holds; never a card number. */
struct pm_card {
	const char *brand, *funding, *country;
	char last4[5];
	char fingerprint[PM_FINGERPRINT_LEN + 1];
	long long exp_month, exp_year;
	const struct testcard *tc;
};

/* A test card's row from its number (Stripe's test cards all have one). */
static int pm_card_from_testcard(const struct req *r, const struct testcard *tc, struct pm_card *c,
                                 struct err *e)
{
	size_t n = strlen(tc->number);

	c->tc = tc;
	c->brand = tc->brand;
	c->funding = tc->funding;
	c->country = tc->country;
	memcpy(c->last4, tc->number + n - 4, 5);
	return pm_fingerprint(r, tc->number, c->fingerprint, e);
}

/* Inserts the row (attached when customer is set): its id and rendering. */
static int pm_insert_row(struct req *r, const struct pm_card *c, const char *customer,
                         const char *billing, const char *metadata, const char **id,
                         const char **json, struct err *e)
{
	char month[24], year[24];
	const char *params[12];
	PGresult *res;

	snprintf(month, sizeof(month), "%lld", c->exp_month);
	snprintf(year, sizeof(year), "%lld", c->exp_year);
	params[0] = customer;
	params[1] = c->brand;
	params[2] = c->last4;
	params[3] = month;
	params[4] = year;
	params[5] = c->funding;
	params[6] = c->country;
	params[7] = c->fingerprint;
	params[8] = billing;
	params[9] = c->tc->outcome != TESTCARD_SUCCEEDS ? c->tc->decline_code : NULL;
	params[10] = c->tc->pm_id;
	params[11] = metadata;
	res = db_exec(r->db, r->arena, &pm_insert, 12, params, e);
	if (res == NULL)
		return -1;
	*id = db_str(r->arena, res, 0, 0);
	*json = db_str(r->arena, res, 0, 1);
	return 0;
}

/*
 * card[number] checked as Stripe does, into a test card: digits (spaces
 * and dashes dropped) of a plausible length, then the Luhn checksum, then
 * in test mode only Stripe's test numbers.  The digits are wiped before
 * returning.
 */
static int pm_card_number(struct req *r, const struct testcard **tc, struct err *e)
{
	char digits[PM_PAN_MAX + 1];
	const char *number;
	size_t n = 0;
	int rc = -1;

	if (param_req_str(&r->in, "card[number]", PM_NUMBER_MAX_LEN, &number, e) != 0) {
		if (strcmp(e->code != NULL ? e->code : "", "parameter_missing") == 0)
			snprintf(e->message, sizeof(e->message),
			         "The payment method `card` requires the parameter: card[number].");
		return -1;
	}
	for (const char *p = number; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (*p < '0' || *p > '9' || n == PM_PAN_MAX) {
			n = 0;
			break;
		}
		digits[n++] = *p;
	}
	digits[n] = '\0';
	if (n < 12) {
		pm_card_invalid(e, "invalid_number", "number",
		                "The card number is not a valid credit card number.");
	} else if (!testcard_luhn_valid(digits)) {
		pm_card_invalid(e, "incorrect_number", "number", "Your card number is incorrect.");
	} else if ((*tc = testcard_by_number(digits)) == NULL) {
		err_set(e, 402, E_CARD, "card_declined", NULL, "%s", MSG_LIVE_CARD);
		e->decline_code = "test_mode_live_card";
	} else {
		rc = 0;
	}
	OPENSSL_cleanse(digits, sizeof(digits));
	return rc;
}

/* The required card fields' missing-param error, in Stripe's words. */
static int pm_card_missing(struct err *e, const char *param)
{
	return err_set(e, 400, E_INVALID_REQUEST, "parameter_missing", param,
	               "The payment method `card` requires the parameter: %s.", param);
}

/*
 * The tenant's connected account for a live card: the payment-method
 * wording of a missing connection, pay_live_ready()'s otherwise.
 */
static int pm_live_ready(struct req *r, struct mirror *m, struct err *e)
{
	if (mirror_open(r, m, e) == 0)
		return 0;
	if (m->account != NULL || e->status != 400)
		return -1;
	err_clear(e);
	return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL, "%s", MSG_LIVE_MODE);
}

/* A live card from its Stripe token: kept until attached (see the file's comment). */
static int pm_create_live(struct req *r, struct reply *out, struct err *e)
{
	static const char *const card_allowed[] = {"token", NULL};
	const char *token, *billing, *metadata, *params[3];
	struct mirror m;
	PGresult *res;

	/* Connected first: without an account there is nowhere a token could be from. */
	if (pm_live_ready(r, &m, e) != 0)
		return -1;
	if (!param_has(&r->in, "card"))
		return err_missing(e, "card");
	if (param_has(&r->in, "card[number]"))
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_unknown", "card[number]",
		               "In live mode levy never takes card numbers: create a token with "
		               "Stripe.js on the connected Stripe account and send "
		               "card[token]=tok_... instead.");
	if (param_only_in(&r->in, "card", card_allowed, e) != 0 ||
	    pm_billing_details(r, &billing, e) != 0 || obj_metadata(r, &metadata, e) != 0)
		return -1;
	if (param_req_str(&r->in, "card[token]", 255, &token, e) != 0) {
		if (strcmp(e->code != NULL ? e->code : "", "parameter_missing") == 0)
			snprintf(e->message, sizeof(e->message),
			         "The payment method `card` requires the parameter: card[token].");
		return -1;
	}
	if (!stripe_id_valid(token, "tok_"))
		return err_invalid(e, "card[token]",
		                   "Invalid card token: Stripe's start with tok_.");
	params[0] = billing;
	params[1] = token;
	params[2] = metadata;
	res = db_exec(r->db, r->arena, &pm_live_insert, 3, params, e);
	if (res == NULL)
		return -1;
	return obj_reply(r, out, 200, &obj_payment_method, PQgetvalue(res, 0, 0), e);
}

int payment_method_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"type", "card", "billing_details", "metadata", NULL};
	static const char *const card_allowed[] = {"number", "exp_month", "exp_year", "cvc", NULL};
	const char *type, *cvc, *billing, *metadata, *id, *json;
	struct pm_card c = {0};
	int has_month, has_year, rc;

	if (obj_only(r, allowed, e) != 0 || param_req_str(&r->in, "type", 64, &type, e) != 0)
		return -1;
	if (strcmp(type, "card") != 0)
		return err_invalid(
		        e, "type",
		        "Invalid type: levy supports only payment methods of type card.");
	if (r->who.livemode)
		return pm_create_live(r, out, e);
	if (!param_has(&r->in, "card"))
		return err_missing(e, "card");
	if (param_only_in(&r->in, "card", card_allowed, e) != 0 ||
	    pm_billing_details(r, &billing, e) != 0 || obj_metadata(r, &metadata, e) != 0)
		return -1;
	if (pm_exp_params(r, &c.exp_month, &c.exp_year, &has_month, &has_year, e) != 0)
		return -1;
	if (has_month == 0)
		return pm_card_missing(e, "card[exp_month]");
	if (has_year == 0)
		return pm_card_missing(e, "card[exp_year]");
	rc = param_str(&r->in, "card[cvc]", 8, false, &cvc, e);
	if (rc < 0)
		return -1;
	if (rc == 1 &&
	    (strlen(cvc) < 3 || strlen(cvc) > 4 || strspn(cvc, "0123456789") != strlen(cvc)))
		return pm_card_invalid(e, "invalid_cvc", "cvc",
		                       "Your card's security code is invalid.");
	if (pm_card_number(r, &c.tc, e) != 0 || pm_exp_check(r, c.exp_month, c.exp_year, e) != 0)
		return -1;
	/* The fingerprint's key needs the tenant, known once the key's look-up has answered. */
	if (db_settle(r->db, e) != 0 || pm_card_from_testcard(r, c.tc, &c, e) != 0)
		return -1;
	if (pm_insert_row(r, &c, NULL, billing, metadata, &id, &json, e) != 0)
		return -1;
	return obj_reply(r, out, 200, &obj_payment_method, json, e);
}

int payment_method_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	if (obj_path_id(r, 0, &obj_payment_method, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &pm_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return pm_missing(e, id, "id");
	return obj_reply(r, out, 200, &obj_payment_method, PQgetvalue(res, 0, 0), e);
}

int payment_method_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"billing_details", "card", "metadata", NULL};
	static const char *const card_allowed[] = {"exp_month", "exp_year", NULL};
	struct json_object *changes;
	const char *id, *billing, *metadata, *params[3];
	long long month, year;
	int has_month, has_year;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	if (obj_path_id(r, 0, &obj_payment_method, &id, e) != 0)
		return -1;
	if (param_only_in(&r->in, "card", card_allowed, e) != 0 ||
	    pm_billing_details(r, &billing, e) != 0 || obj_metadata(r, &metadata, e) != 0 ||
	    pm_exp_params(r, &month, &year, &has_month, &has_year, e) != 0)
		return -1;
	changes = json_object_new_object();
	if (billing != NULL)
		json_object_object_add(changes, "billing_details", json_tokener_parse(billing));
	if (has_month == 1)
		json_object_object_add(changes, "exp_month", json_object_new_int64(month));
	if (has_year == 1)
		json_object_object_add(changes, "exp_year", json_object_new_int64(year));
	params[0] = id;
	params[1] = arena_strdup(r->arena,
	                         json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN));
	params[2] = metadata;
	json_object_put(changes);
	res = db_exec(r->db, r->arena, &pm_change, 3, params, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return pm_missing(e, id, "id");
	/* Both refusals roll the update back: the handler fails. */
	if (!db_bool(res, 0, 0))
		return err_invalid(e, NULL,
		                   "You must save this PaymentMethod to a customer before you can "
		                   "update it.");
	if (pm_exp_check(r, db_int(res, 0, 1), db_int(res, 0, 2), e) != 0)
		return -1;
	return obj_reply(r, out, 200, &obj_payment_method, PQgetvalue(res, 0, 3), e);
}

/*
 * The customer to attach to: one of this tenant's and mode's, not
 * deleted; 404 naming `customer` otherwise.
 */
static int pm_lock_customer(struct req *r, const char *customer, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &pm_customer_lock, 1, &customer, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, customer, "customer");
	return 0;
}

/*
 * A live card's first attach: the customer mirrored on the connected
 * account first (that may lock its row FOR UPDATE, so before the FOR
 * SHARE below: two first attaches to one customer queue, not deadlock),
 * then the token made a card there.
 */
static int pm_attach_live(struct req *r, const char *pm, const char *token, const char *customer,
                          const char *param, const char **id, const char **json, struct err *e)
{
	const char *remote;
	struct mirror m;
	PGresult *res;

	if (token == NULL)
		return err_invalid(e, param, "%s", MSG_DETACHED);
	res = db_exec(r->db, r->arena, &pm_customer_exists, 1, &customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, customer, "customer");
	if (pm_live_ready(r, &m, e) != 0 || mirror_customer(r, &m, customer, &remote, e) != 0 ||
	    pm_lock_customer(r, customer, e) != 0 ||
	    mirror_attach_card(r, &m, pm, token, customer, remote, json, e) != 0)
		return -1;
	*id = pm;
	return 0;
}

/*
 * The attach both endpoints share: the attached pm_ id and its rendering.
 * Stripe's test ids make a new object; a pm_ of the caller's is checked as
 * Stripe checks it (not another customer's, never detached, its test
 * card's verdict).
 */
static int pm_attach(struct req *r, const char *pm, const char *customer, const char *param,
                     const char **id, const char **json, struct err *e)
{
	const struct testcard *tc = testcard_by_pm_id(pm);
	const char *params[2];
	const char *owner;
	PGresult *res;

	if (tc != NULL) {
		struct pm_card c = {0};
		int year, month;

		/* Stripe's test ids exist in test mode only. */
		if (r->who.livemode)
			return pm_missing(e, pm, param);
		if (pm_lock_customer(r, customer, e) != 0)
			return -1;
		if (tc->outcome == TESTCARD_DECLINES)
			return pm_declined(e, tc);
		/* As Stripe's test ids: valid through this month next year. */
		pm_now(r, &year, &month);
		c.exp_month = month;
		c.exp_year = year + 1;
		if (pm_card_from_testcard(r, tc, &c, e) != 0)
			return -1;
		return pm_insert_row(r, &c, customer, NULL, NULL, id, json, e);
	}
	res = db_exec(r->db, r->arena, &pm_lock, 1, &pm, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return pm_missing(e, pm, param);
	owner = db_str(r->arena, res, 0, 0);
	if (owner != NULL && strcmp(owner, customer) != 0)
		return err_invalid(e, param,
		                   "The payment method you provided has already been attached to a "
		                   "customer.");
	if (owner == NULL && db_bool(res, 0, 1))
		return err_invalid(e, param, "%s", MSG_DETACHED);
	tc = testcard_by_pm_id(db_str(r->arena, res, 0, 2));
	if (r->who.livemode && owner == NULL)
		return pm_attach_live(r, pm, db_str(r->arena, res, 0, 3), customer, param, id, json,
		                      e);
	if (pm_lock_customer(r, customer, e) != 0)
		return -1;
	if (tc != NULL && tc->outcome == TESTCARD_DECLINES)
		return pm_declined(e, tc);
	if (owner != NULL) {
		/* Already this customer's: Stripe answers with it, and nothing changes. */
		res = db_exec(r->db, r->arena, &pm_get, 1, &pm, e);
		if (res == NULL)
			return -1;
	} else {
		params[0] = pm;
		params[1] = customer;
		res = db_exec(r->db, r->arena, &pm_set_customer, 2, params, e);
		if (res == NULL)
			return -1;
	}
	if (PQntuples(res) != 1)
		return err_internal(e, "payment method %s vanished while locked", pm);
	*id = pm;
	*json = db_str(r->arena, res, 0, 0);
	return 0;
}

int payment_method_attach_id(struct req *r, const char *pm, const char *customer, const char *param,
                             const char **attached, struct err *e)
{
	const char *json;

	return pm_attach(r, pm, customer, param, attached, &json, e);
}

int payment_method_from_test_id(struct req *r, const char *pm, const char *param, const char **made,
                                struct err *e)
{
	const struct testcard *tc = testcard_by_pm_id(pm);
	struct pm_card c = {0};
	const char *json;
	int year, month;

	if (tc == NULL)
		return 0;
	if (r->who.livemode)
		return pm_missing(e, pm, param);
	pm_now(r, &year, &month);
	c.exp_month = month;
	c.exp_year = year + 1;
	if (db_settle(r->db, e) != 0 || pm_card_from_testcard(r, tc, &c, e) != 0 ||
	    pm_insert_row(r, &c, NULL, NULL, NULL, made, &json, e) != 0)
		return -1;
	return 1;
}

int payment_method_attach(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"customer", NULL};
	const char *pm, *customer = NULL, *id, *json;
	int rc;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	if (obj_path_id(r, 0, &obj_payment_method, &pm, e) != 0)
		return -1;
	rc = obj_id_param(r, "customer", &customer, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_missing(e, "customer");
	if (pm_attach(r, pm, customer, "id", &id, &json, e) != 0)
		return -1;
	return obj_reply(r, out, 200, &obj_payment_method, json, e);
}

int payment_method_detach(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	if (obj_path_id(r, 0, &obj_payment_method, &id, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &pm_detach, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return pm_missing(e, id, "id");
	if (PQgetisnull(res, 0, 1))
		return err_invalid(e, NULL,
		                   "The payment method you provided is not attached to a customer "
		                   "so detachment is impossible.");
	return obj_reply(r, out, 200, &obj_payment_method, PQgetvalue(res, 0, 1), e);
}

int payment_method_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit",    "starting_after", "ending_before",
	                                      "customer", "type",           NULL};
	static const char *const nested_allowed[] = {"limit", "starting_after", "ending_before",
	                                             "type", NULL};
	const char *filters[2] = {NULL, NULL};
	const char *url = "/v1/payment_methods";
	struct obj_list l;
	int type;

	/* GET /v1/customers/:id/payment_methods names the customer in the path. */
	if (r->nparams > 0) {
		if (obj_only(r, nested_allowed, e) != 0)
			return -1;
		if (obj_path_id(r, 0, &obj_customer, &filters[0], e) != 0)
			return -1;
		url = arena_printf(r->arena, "/v1/customers/%s/payment_methods", filters[0]);
	} else if (obj_only(r, allowed, e) != 0 ||
	           obj_id_param(r, "customer", &filters[0], e) < 0) {
		return -1;
	}
	switch (param_enum(&r->in, "type", pm_types, &type, e)) {
	case -1:
		return -1;
	case 1:
		filters[1] = pm_types[type];
		break;
	default:
		break;
	}
	if (obj_list_parse(r, &obj_payment_method, &l, e) != 0)
		return -1;
	if (filters[0] != NULL) {
		PGresult *res = db_exec(r->db, r->arena, &pm_customer_exists, 1, &filters[0], e);

		if (res == NULL)
			return -1;
		if (PQntuples(res) != 1)
			return obj_missing(e, &obj_customer, filters[0], "customer");
	}
	obj_final(r);
	return obj_list_reply(r, out, &obj_payment_method, &l, &pm_list_stmt, 2, filters, url, e);
}

STMT(pm_of_customer, "SELECT 1 FROM payment_methods m WHERE m.id = $1 AND m.customer = $2");

int payment_method_of_customer(struct req *r, const char *pm, const char *customer,
                               const char *param, struct err *e)
{
	const char *params[2] = {pm, customer};
	PGresult *res = db_exec(r->db, r->arena, &pm_of_customer, 2, params, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 400, E_INVALID_REQUEST, "resource_missing", param,
		               "The customer does not have a payment method with the ID %.*s. The "
		               "payment method must be attached to the customer.",
		               OBJ_ID_MAX_LEN, pm);
	return 0;
}
