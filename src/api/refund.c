/*
 * Refunds of succeeded charges, named by the charge or by its payment
 * intent: full or partial, never more than the charge has left.  The
 * charge's row is locked first (FOR UPDATE), so concurrent refunds of one
 * charge queue and each sees what the others took.
 *
 * Each refund returns its share of the platform's fee, by
 * money_fee_refund_share(): the fee's proportion of everything refunded so
 * far, rounded half to even, less what earlier refunds returned, so that
 * the shares of partial refunds add up to exactly the fee.  The charge
 * keeps the running totals (amount_refunded, application_fee_refunded).
 *
 * Events: refund.created, then charge.refunded with the charge as it is
 * now (refunds embedded), recorded by levy_emit() once both rows changed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/invoicing.h"
#include "api/object.h"
#include "api/refund.h"
#include "billing/money.h"
#include "http/reply.h"
#include "http/req.h"
#include "pay/processor.h"

STMT(refund_pi, "SELECT p.status, p.latest_charge FROM payment_intents p WHERE p.id = $1");
STMT(refund_charge_lock,
     "SELECT c.status, c.amount, c.amount_refunded, coalesce(c.application_fee_amount, 0),"
     " c.currency, c.payment_intent, c.processor_id, levy_charge_json(c)::text"
     " FROM charges c WHERE c.id = $1 FOR UPDATE");
STMT(refund_tenant, "SELECT t.stripe_account_id FROM tenants t");
STMT(refund_number, "SELECT count(*) + 1 FROM refunds t WHERE t.charge = $1");
STMT(refund_insert,
     "INSERT INTO refunds AS t (charge, payment_intent, amount, application_fee_refunded,"
     " currency, reason, status, processor_id, metadata)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, levy_metadata_merge('{}', $9::jsonb))"
     " RETURNING t.id, levy_refund_json(t)::text");
STMT(refund_charge_update,
     "UPDATE charges c SET amount_refunded = c.amount_refunded + $2::bigint,"
     " application_fee_refunded = c.application_fee_refunded + $3::bigint WHERE c.id = $1");
STMT(refund_get, "SELECT levy_refund_json(t)::text FROM refunds t WHERE t.id = $1");
STMT(refund_lock, "SELECT levy_refund_json(t)::text FROM refunds t WHERE t.id = $1 FOR UPDATE");
STMT(refund_change, "UPDATE refunds t SET metadata = levy_metadata_merge(t.metadata, $2::jsonb)"
                    " WHERE t.id = $1");
STMT(refund_list_stmt, OBJ_LIST_SQL("levy_refund_json(t)", "refunds t",
                                    "($4::text IS NULL OR t.charge = $4)"
                                    " AND ($5::text IS NULL OR t.payment_intent = $5)"));

static const char *const refund_reasons[] = {"duplicate", "fraudulent", "requested_by_customer",
                                             NULL};

/*
 * An amount as Stripe writes it in messages: "$10.00", "€5.50", "¥1000",
 * else the code: "CHF 12.00".  Integer arithmetic in the currency's
 * exponent; the string lives in the request's arena.
 */
static const char *refund_money(struct req *r, long long amount, const char *currency)
{
	static const struct {
		const char *code, *symbol;
	} symbols[] = {
	        {"usd", "$"}, {"eur", "\xe2\x82\xac"}, {"gbp", "\xc2\xa3"}, {"jpy", "\xc2\xa5"}};
	int exponent = money_currency_exponent(currency);
	long long unit = 1;
	char prefix[8];

	snprintf(prefix, sizeof(prefix), "%.3s ", currency);
	for (char *c = prefix; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (strcmp(currency, symbols[i].code) == 0)
			snprintf(prefix, sizeof(prefix), "%s", symbols[i].symbol);
	for (int i = 0; i < exponent; i++)
		unit *= 10;
	if (exponent <= 0)
		return arena_printf(r->arena, "%s%lld", prefix, amount);
	return arena_printf(r->arena, "%s%lld.%0*lld", prefix, amount / unit, exponent,
	                    amount % unit);
}

/* What refund_charge_lock found. */
struct refund_charge {
	const char *id;
	const char *status;
	long long amount;
	long long refunded;
	long long fee;
	const char *currency;
	const char *payment_intent;
	const char *processor_id;
	const char *json;
};

/*
 * The charge to refund, locked: named by `charge`, or the succeeded charge
 * of `payment_intent`.  404 naming the param, 400 when there is no
 * successful charge.
 */
static int refund_find_charge(struct req *r, const char *charge, const char *pi,
                              struct refund_charge *c, struct err *e)
{
	PGresult *res;

	if (pi != NULL) {
		res = db_exec(r->db, r->arena, &refund_pi, 1, &pi, e);
		if (res == NULL)
			return -1;
		if (PQntuples(res) != 1)
			return obj_missing(e, &obj_payment_intent, pi, "payment_intent");
		if (strcmp(PQgetvalue(res, 0, 0), "succeeded") != 0 || PQgetisnull(res, 0, 1))
			return err_set(e, 400, E_INVALID_REQUEST, "charge_not_refundable",
			               "payment_intent",
			               "This PaymentIntent does not have a successful charge to "
			               "refund.");
		charge = db_str(r->arena, res, 0, 1);
	}
	res = db_exec(r->db, r->arena, &refund_charge_lock, 1, &charge, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_charge, charge, "charge");
	c->id = charge;
	c->status = db_str(r->arena, res, 0, 0);
	c->amount = db_int(res, 0, 1);
	c->refunded = db_int(res, 0, 2);
	c->fee = db_int(res, 0, 3);
	c->currency = db_str(r->arena, res, 0, 4);
	c->payment_intent = db_str(r->arena, res, 0, 5);
	c->processor_id = db_str(r->arena, res, 0, 6);
	c->json = db_str(r->arena, res, 0, 7);
	if (strcmp(c->status, "succeeded") != 0)
		return err_set(e, 400, E_INVALID_REQUEST, "charge_not_refundable", "charge",
		               "Charge %s has a status of %s: only a succeeded charge can be "
		               "refunded.",
		               c->id, c->status);
	return 0;
}

/* The refund's amount: what was asked, or all that is left; never more than that. */
static int refund_amount(struct req *r, const struct refund_charge *c, long long *amount,
                         struct err *e)
{
	long long left = c->amount - c->refunded;
	int rc;

	if (left <= 0)
		return err_set(e, 400, E_INVALID_REQUEST, "charge_already_refunded", NULL,
		               "Charge %s has already been refunded.", c->id);
	rc = param_int(&r->in, "amount", 1, MONEY_AMOUNT_MAX, amount, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		*amount = left;
	if (*amount <= left)
		return 0;
	if (c->refunded == 0)
		return err_set(e, 400, E_INVALID_REQUEST, "amount_too_large", "amount",
		               "Refund amount (%s) is greater than charge amount (%s)",
		               refund_money(r, *amount, c->currency),
		               refund_money(r, c->amount, c->currency));
	return err_set(e, 400, E_INVALID_REQUEST, "amount_too_large", "amount",
	               "Refund amount (%s) is greater than unrefunded amount on charge (%s)",
	               refund_money(r, *amount, c->currency), refund_money(r, left, c->currency));
}

int refund_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"charge", "payment_intent", "amount",
	                                      "reason", "metadata",       NULL};
	const char *charge = NULL, *pi = NULL, *metadata, *reason = NULL, *params[9], *id;
	struct refund_charge c = {0};
	struct pay_refund f = {0};
	long long amount, share;
	PGresult *res;
	int k;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "charge", &charge, e) < 0 ||
	    obj_id_param(r, "payment_intent", &pi, e) < 0 || obj_metadata(r, &metadata, e) != 0)
		return -1;
	switch (param_enum(&r->in, "reason", refund_reasons, &k, e)) {
	case -1:
		return -1;
	case 1:
		reason = refund_reasons[k];
		break;
	default:
		break;
	}
	if (charge == NULL && pi == NULL)
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_missing", "charge",
		               "One of the following params should be provided for this request: "
		               "payment_intent or charge.");
	if (charge != NULL && pi != NULL)
		return err_invalid(e, "payment_intent",
		                   "You may only specify one of these parameters: charge, "
		                   "payment_intent.");
	if (refund_find_charge(r, charge, pi, &c, e) != 0 || refund_amount(r, &c, &amount, e) != 0)
		return -1;
	if (money_fee_refund_share(c.fee, c.amount, c.refunded, amount, &share) != 0)
		return err_internal(e, "fee share of %lld on charge %s", amount, c.id);
	res = db_exec(r->db, r->arena, &refund_tenant, 0, NULL, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_internal(e, "the tenant's own row is not visible");
	f.livemode = r->who.livemode;
	f.amount = amount;
	f.currency = c.currency;
	f.charge_processor_id = c.processor_id;
	f.application_fee_refunded = share;
	f.stripe_account = db_str(r->arena, res, 0, 0);
	f.conf = r->conf;
	f.charge = c.id;
	if (f.livemode) {
		/*
		 * The charge's n-th refund, counted under its row lock: a refund whose
		 * request ended in a 503 left no row, so its retry sends Stripe the same
		 * key and Stripe refunds at most once.
		 */
		res = db_exec(r->db, r->arena, &refund_number, 1, &c.id, e);
		if (res == NULL)
			return -1;
		f.idempotency_key =
		        arena_printf(r->arena, "levy_%s_refund_%lld", c.id, db_int(res, 0, 0));
	} else {
		/* One refund per request: a retried request with its Idempotency-Key is replayed.
		 */
		f.idempotency_key = arena_printf(r->arena, "levy-%s-%s", c.id, r->id);
	}
	/* The transaction's deferred writes are known to stand before a processor hears of them. */
	if (db_flush(r->db, e) != 0 || pay_refund(r->arena, &f, e) != 0)
		return -1;
	params[0] = c.id;
	params[1] = c.payment_intent;
	params[2] = arena_printf(r->arena, "%lld", amount);
	params[3] = arena_printf(r->arena, "%lld", share);
	params[4] = c.currency;
	params[5] = reason;
	params[6] = f.status;
	params[7] = f.processor_id;
	params[8] = metadata;
	res = db_exec(r->db, r->arena, &refund_insert, 9, params, e);
	if (res == NULL)
		return -1;
	id = db_str(r->arena, res, 0, 0);
	params[0] = c.id;
	params[1] = arena_printf(r->arena, "%lld", amount);
	params[2] = arena_printf(r->arena, "%lld", share);
	if (db_exec(r->db, r->arena, &refund_charge_update, 3, params, e) == NULL ||
	    inv_emit(r, "refund.created", "refund", id, NULL, e) != 0 ||
	    inv_emit(r, "charge.refunded", "charge", c.id, c.json, e) != 0)
		return -1;
	return obj_reply(r, out, 200, &obj_refund, PQgetvalue(res, 0, 1), e);
}

int refund_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_refund, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &refund_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_refund, id, "id");
	return obj_reply(r, out, 200, &obj_refund, PQgetvalue(res, 0, 0), e);
}

int refund_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"metadata", NULL};
	const char *id, *metadata, *prev, *params[2], *json;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_refund, &id, e) != 0 ||
	    obj_metadata(r, &metadata, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &refund_lock, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_refund, id, "id");
	prev = db_str(r->arena, res, 0, 0);
	params[0] = id;
	params[1] = metadata;
	if (db_exec(r->db, r->arena, &refund_change, 2, params, e) == NULL ||
	    inv_emit(r, "refund.updated", "refund", id, prev, e) != 0)
		return -1;
	json = inv_object_text(r, "refund", id, e);
	if (json == NULL)
		return -1;
	return obj_reply(r, out, 200, &obj_refund, json, e);
}

int refund_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit",  "starting_after", "ending_before",
	                                      "charge", "payment_intent", NULL};
	const char *filters[2] = {NULL, NULL};
	struct obj_list l;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "charge", &filters[0], e) < 0 ||
	    obj_id_param(r, "payment_intent", &filters[1], e) < 0 ||
	    obj_list_parse(r, &obj_refund, &l, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_refund, &l, &refund_list_stmt, 2, filters, "/v1/refunds",
	                      e);
}
