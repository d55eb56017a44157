/*
 * Payment intents made through the API (POST /v1/payment_intents), in
 * Stripe's statuses: requires_payment_method until a payment method is
 * named, requires_confirmation until confirmed, then succeeded, or back to
 * requires_payment_method with last_payment_error after a decline;
 * canceled by request.  Confirming charges at once through the engine's
 * pay_attempt(), which writes the charge, the intent's new state, the
 * platform fee and the charge.* / payment_intent.* events.
 *
 * A decline answers 402 card_error as Stripe does, the intent in the error
 * body, and keeps what the attempt wrote (e->keep_tx): the failed charge,
 * last_payment_error and the events stand, as in Stripe.
 *
 * Intents an invoice made belong to the invoice: paying, voiding and their
 * amounts go through /v1/invoices, so they refuse confirm, cancel and
 * changes of what they charge here.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "api/invoicing.h"
#include "api/object.h"
#include "api/payment_intent.h"
#include "api/payment_method.h"
#include "api/validate.h"
#include "billing/money.h"
#include "http/reply.h"
#include "http/req.h"

#define PI_DESCRIPTION_MAX_LEN 1000
#define PI_EMAIL_MAX_LEN 512
#define PI_CURRENCY_MAX_LEN 16
/* payment_method_types[]: Stripe has a few dozen types; levy takes card only. */
#define PI_TYPES_MAX 40

#define MSG_DETACHED                                                                               \
	"This PaymentMethod was previously used without being attached to a Customer or was "      \
	"detached from a Customer, and may not be used again."

STMT(pi_insert,
     "INSERT INTO payment_intents AS p (amount, currency, customer, payment_method, status,"
     " description, receipt_email, metadata)"
     " VALUES ($1, $2, $3, $4, CASE WHEN $4::text IS NULL THEN 'requires_payment_method'"
     " ELSE 'requires_confirmation' END, $5, $6, levy_metadata_merge('{}', $7::jsonb))"
     " RETURNING p.id, levy_payment_intent_json(p)::text");
STMT(pi_get, "SELECT levy_payment_intent_json(p)::text FROM payment_intents p WHERE p.id = $1");
/* What an attempt left: the charge it made and the intent after it. */
STMT(pi_after_attempt, "SELECT p.latest_charge, levy_payment_intent_json(p)::text"
                       " FROM payment_intents p WHERE p.id = $1");
/* Locked until the transaction ends: a concurrent confirm or cancel queues behind. */
STMT(pi_lock, "SELECT p.status, p.customer, p.payment_method, p.invoice,"
              " levy_payment_intent_json(p)::text FROM payment_intents p"
              " WHERE p.id = $1 FOR UPDATE");
/* FOR SHARE holds off a concurrent delete of the customer until this commits. */
STMT(pi_customer, "SELECT 1 FROM customers c WHERE c.id = $1 AND NOT c.deleted FOR SHARE");
STMT(pi_pm, "SELECT m.customer, m.detached FROM payment_methods m WHERE m.id = $1 FOR SHARE");
STMT(pi_set_receipt_email, "UPDATE payment_intents p SET receipt_email = $2 WHERE p.id = $1");
STMT(pi_change,
     "UPDATE payment_intents p SET"
     " amount = coalesce(($2::jsonb ->> 'amount')::bigint, p.amount),"
     " currency = coalesce($2::jsonb ->> 'currency', p.currency),"
     " customer = coalesce($2::jsonb ->> 'customer', p.customer),"
     " payment_method = coalesce($2::jsonb ->> 'payment_method', p.payment_method),"
     " status = CASE WHEN $2::jsonb ? 'payment_method' THEN 'requires_confirmation'"
     "  ELSE p.status END,"
     " description = CASE WHEN $2::jsonb ? 'description' THEN $2::jsonb ->> 'description'"
     "  ELSE p.description END,"
     " receipt_email = CASE WHEN $2::jsonb ? 'receipt_email'"
     "  THEN $2::jsonb ->> 'receipt_email' ELSE p.receipt_email END,"
     " metadata = levy_metadata_merge(p.metadata, $3::jsonb)"
     " WHERE p.id = $1 RETURNING levy_payment_intent_json(p)::text");
STMT(pi_cancel, "UPDATE payment_intents p SET status = 'canceled', canceled_at = now(),"
                " cancellation_reason = $2 WHERE p.id = $1");
STMT(pi_list_stmt, OBJ_LIST_SQL("levy_payment_intent_json(t)", "payment_intents t",
                                "($4::text IS NULL OR t.customer = $4)"));

/* Stripe's cancellation reasons. */
static const char *const pi_cancellation_reasons[] = {"abandoned", "duplicate", "fraudulent",
                                                      "requested_by_customer", NULL};

/* What pi_lock found. */
struct pi_row {
	const char *id;
	const char *status;
	const char *customer;
	const char *payment_method;
	const char *invoice;
	const char *json;
};

static int pi_lock_row(struct req *r, const char *id, struct pi_row *p, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &pi_lock, 1, &id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_payment_intent, id, "id");
	p->id = id;
	p->status = db_str(r->arena, res, 0, 0);
	p->customer = db_str(r->arena, res, 0, 1);
	p->payment_method = db_str(r->arena, res, 0, 2);
	p->invoice = db_str(r->arena, res, 0, 3);
	p->json = db_str(r->arena, res, 0, 4);
	return 0;
}

/* An invoice's intent is paid, voided and changed through the invoice. */
static int pi_invoice_owned(const struct pi_row *p, const char *what, struct err *e)
{
	return err_set(e, 400, E_INVALID_REQUEST, "payment_intent_unexpected_state", NULL,
	               "You cannot %s this PaymentIntent because it was created by invoice %s; "
	               "use the invoice's endpoints (/v1/invoices/%s) instead.",
	               what, p->invoice, p->invoice);
}

/* A status in which the intent cannot do what was asked: Stripe's code, the message as given. */
#define pi_unexpected_state(e, ...)                                                                \
	err_set((e), 400, E_INVALID_REQUEST, "payment_intent_unexpected_state", NULL, __VA_ARGS__)

/* The customer param, if given: one of the tenant's (mode's), not deleted; 404 otherwise. */
static int pi_customer_param(struct req *r, const char **customer, struct err *e)
{
	PGresult *res;
	int rc = obj_id_param(r, "customer", customer, e);

	if (rc <= 0)
		return rc;
	res = db_exec(r->db, r->arena, &pi_customer, 1, customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, *customer, "customer");
	return 1;
}

/*
 * A payment method an intent of `customer` may use: one of the tenant's
 * (mode's) that is attached to that customer, or attached to nobody and
 * never detached.  404 or 400 naming `param`.
 */
static int pi_pm_usable(struct req *r, const char *pm, const char *customer, const char *param,
                        struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &pi_pm, 1, &pm, e);
	const char *owner;

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", param,
		               "No such PaymentMethod: '%.*s'", OBJ_ID_MAX_LEN, pm);
	owner = db_str(r->arena, res, 0, 0);
	if (owner == NULL && db_bool(res, 0, 1))
		return err_invalid(e, param, "%s", MSG_DETACHED);
	if (owner != NULL && customer == NULL)
		return err_invalid(e, param,
		                   "The PaymentMethod %s is attached to a Customer: the "
		                   "PaymentIntent must name that Customer (customer) to use it.",
		                   pm);
	if (owner != NULL && strcmp(owner, customer) != 0)
		return err_invalid(e, param,
		                   "The PaymentMethod %s belongs to another Customer than this "
		                   "PaymentIntent's (%s).",
		                   pm, customer);
	return 0;
}

/*
 * The payment_method param, if given, as a pm_ the intent may use: Stripe's
 * test ids (pm_card_visa) become a new unattached pm_, as in Stripe.
 * 1 with *pm set, 0 when absent, -1.
 */
static int pi_pm_param(struct req *r, const char *customer, const char **pm, struct err *e)
{
	const char *given;
	int rc = obj_id_param(r, "payment_method", &given, e);

	if (rc <= 0)
		return rc;
	rc = payment_method_from_test_id(r, given, "payment_method", pm, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 1;
	if (pi_pm_usable(r, given, customer, "payment_method", e) != 0)
		return -1;
	*pm = given;
	return 1;
}

/* Stripe's off_session: a boolean, or "one_off" / "recurring" (both mean true). */
static int pi_off_session(struct req *r, bool *off, struct err *e)
{
	struct json_object *v = param_value(&r->in, "off_session");

	if (v != NULL && json_object_is_type(v, json_type_string) &&
	    (strcmp(json_object_get_string(v), "one_off") == 0 ||
	     strcmp(json_object_get_string(v), "recurring") == 0)) {
		*off = true;
		return 1;
	}
	return param_bool(&r->in, "off_session", off, e);
}

/* receipt_email: "" clears it (allow_empty), else an email address. */
static int pi_receipt_email(struct req *r, const char **email, struct err *e)
{
	int rc = param_str(&r->in, "receipt_email", PI_EMAIL_MAX_LEN, true, email, e);

	if (rc == 1 && (*email)[0] != '\0' && !validate_email(*email))
		return err_invalid(e, "receipt_email", "Invalid email address: %s", *email);
	return rc;
}

/* currency, lowercased as Stripe stores it: one Stripe presents. */
static int pi_currency(struct req *r, bool required, const char **currency, struct err *e)
{
	const char *given;
	char *low;
	int rc;

	if (required) {
		if (param_req_str(&r->in, "currency", PI_CURRENCY_MAX_LEN, &given, e) != 0)
			return -1;
		rc = 1;
	} else {
		rc = param_str(&r->in, "currency", PI_CURRENCY_MAX_LEN, false, &given, e);
		if (rc <= 0)
			return rc;
	}
	low = arena_strdup(r->arena, given);
	for (char *c = low; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!money_currency_valid(low))
		return err_invalid(e, "currency",
		                   "Invalid currency: %s. levy supports Stripe's presentment "
		                   "currencies, as lowercase ISO 4217 codes (usd, eur, jpy, ...).",
		                   given);
	*currency = low;
	return rc;
}

static int pi_amount(struct req *r, bool required, long long *amount, struct err *e)
{
	int rc = param_int(&r->in, "amount", 1, MONEY_AMOUNT_MAX, amount, e);

	if (rc == 0 && required)
		return err_missing(e, "amount");
	return rc;
}

/* payment_method_types[]: levy's intents take cards only. */
static int pi_types(struct req *r, struct err *e)
{
	struct json_object *v = param_value(&r->in, "payment_method_types");
	size_t n;

	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
	    json_object_array_length(v) > PI_TYPES_MAX)
		return err_invalid(e, "payment_method_types",
		                   "Invalid payment_method_types: must be an array of payment "
		                   "method types.");
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(v, i);

		if (t == NULL || !json_object_is_type(t, json_type_string) ||
		    strcmp(json_object_get_string(t), "card") != 0)
			return err_invalid(e, "payment_method_types",
			                   "The payment method type provided: %.40s is invalid. "
			                   "levy supports only card.",
			                   t != NULL && json_object_is_type(t, json_type_string)
			                           ? json_object_get_string(t)
			                           : "(not a string)");
	}
	return 0;
}

static int pi_no_payment_method(struct err *e)
{
	return err_set(e, 400, E_INVALID_REQUEST, "payment_intent_unexpected_state",
	               "payment_method",
	               "You cannot confirm this PaymentIntent because it's missing a payment "
	               "method. To confirm the PaymentIntent, specify a payment method "
	               "(payment_method).");
}

/*
 * Charges the intent with pm and answers: the intent on success, or the
 * 402 card_error with the intent in it after a decline, whose writes stand.
 */
static int pi_attempt(struct req *r, struct reply *out, const char *id, const char *pm,
                      bool off_session, struct err *e)
{
	struct pay_outcome o;
	PGresult *res;

	if (pay_attempt(r, id, pm, off_session, &o, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &pi_after_attempt, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_internal(e, "payment intent %s vanished inside its transaction", id);
	if (o.succeeded)
		return obj_reply(r, out, 200, &obj_payment_intent, PQgetvalue(res, 0, 1), e);
	inv_card_error(&o, e);
	e->keep_tx = true;
	e->charge = db_str(r->arena, res, 0, 0);
	e->payment_intent = db_str(r->arena, res, 0, 1);
	return -1;
}

int payment_intent_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"amount",         "currency", "customer",
	                                      "payment_method", "confirm",  "off_session",
	                                      "description",    "metadata", "payment_method_types",
	                                      "receipt_email",  NULL};
	const char *currency, *customer = NULL, *pm = NULL, *description = NULL, *email = NULL;
	const char *metadata, *params[7], *id;
	bool confirm = false, off_session = false;
	long long amount;
	int has_off;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || pi_amount(r, true, &amount, e) < 0 ||
	    pi_currency(r, true, &currency, e) < 0 ||
	    param_str(&r->in, "description", PI_DESCRIPTION_MAX_LEN, true, &description, e) < 0 ||
	    pi_receipt_email(r, &email, e) < 0 || obj_metadata(r, &metadata, e) != 0 ||
	    param_bool(&r->in, "confirm", &confirm, e) < 0 || pi_types(r, e) != 0)
		return -1;
	has_off = pi_off_session(r, &off_session, e);
	if (has_off < 0)
		return -1;
	if (has_off == 1 && !confirm)
		return err_invalid(e, "off_session",
		                   "You may only specify off_session when confirm is true.");
	if (pi_customer_param(r, &customer, e) < 0 || pi_pm_param(r, customer, &pm, e) < 0)
		return -1;
	if (confirm && pm == NULL)
		return pi_no_payment_method(e);
	params[0] = arena_printf(r->arena, "%lld", amount);
	params[1] = currency;
	params[2] = customer;
	params[3] = pm;
	params[4] = description != NULL && description[0] != '\0' ? description : NULL;
	params[5] = email != NULL && email[0] != '\0' ? email : NULL;
	params[6] = metadata;
	res = db_exec(r->db, r->arena, &pi_insert, 7, params, e);
	if (res == NULL)
		return -1;
	id = db_str(r->arena, res, 0, 0);
	if (inv_emit(r, "payment_intent.created", "payment_intent", id, NULL, e) != 0)
		return -1;
	if (confirm)
		return pi_attempt(r, out, id, pm, off_session, e);
	return obj_reply(r, out, 200, &obj_payment_intent, PQgetvalue(res, 0, 1), e);
}

int payment_intent_confirm(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"payment_method", "off_session", "receipt_email",
	                                      NULL};
	const char *pm = NULL, *email = NULL, *id;
	bool off_session = false;
	struct pi_row p;
	int rc;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_payment_intent, &id, e) != 0 ||
	    pi_off_session(r, &off_session, e) < 0 || pi_receipt_email(r, &email, e) < 0 ||
	    pi_lock_row(r, id, &p, e) != 0)
		return -1;
	if (p.invoice != NULL)
		return pi_invoice_owned(&p, "confirm", e);
	if (strcmp(p.status, "succeeded") == 0)
		return pi_unexpected_state(e,
		                           "You cannot confirm this PaymentIntent because it has "
		                           "already %s after being previously confirmed.",
		                           p.status);
	if (strcmp(p.status, "canceled") == 0)
		return pi_unexpected_state(
		        e,
		        "You cannot confirm this PaymentIntent because it has a status of %s. "
		        "Only a PaymentIntent with one of the following statuses may be confirmed: "
		        "requires_confirmation, requires_payment_method.",
		        p.status);
	rc = pi_pm_param(r, p.customer, &pm, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (p.payment_method == NULL)
			return pi_no_payment_method(e);
		/* Checked again: it may have been detached or attached elsewhere since. */
		if (pi_pm_usable(r, p.payment_method, p.customer, "payment_method", e) != 0)
			return -1;
		pm = p.payment_method;
	}
	if (email != NULL) {
		const char *params[2] = {id, email[0] != '\0' ? email : NULL};

		if (db_exec(r->db, r->arena, &pi_set_receipt_email, 2, params, e) == NULL)
			return -1;
	}
	return pi_attempt(r, out, id, pm, off_session, e);
}

int payment_intent_cancel(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"cancellation_reason", NULL};
	const char *id, *params[2] = {NULL, NULL}, *json;
	struct pi_row p;
	int reason;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_payment_intent, &id, e) != 0)
		return -1;
	switch (param_enum(&r->in, "cancellation_reason", pi_cancellation_reasons, &reason, e)) {
	case -1:
		return -1;
	case 1:
		params[1] = pi_cancellation_reasons[reason];
		break;
	default:
		break;
	}
	if (pi_lock_row(r, id, &p, e) != 0)
		return -1;
	if (p.invoice != NULL)
		return pi_invoice_owned(&p, "cancel", e);
	if (strcmp(p.status, "succeeded") == 0 || strcmp(p.status, "canceled") == 0)
		return pi_unexpected_state(
		        e,
		        "You cannot cancel this PaymentIntent because it has a status of %s. "
		        "Only a PaymentIntent with one of the following statuses may be canceled: "
		        "requires_payment_method, requires_capture, requires_confirmation, "
		        "requires_action, processing.",
		        p.status);
	params[0] = id;
	if (db_exec(r->db, r->arena, &pi_cancel, 2, params, e) == NULL ||
	    inv_emit(r, "payment_intent.canceled", "payment_intent", id, p.json, e) != 0)
		return -1;
	json = inv_object_text(r, "payment_intent", id, e);
	if (json == NULL)
		return -1;
	return obj_reply(r, out, 200, &obj_payment_intent, json, e);
}

/*
 * What an intent charges (amount, currency, customer, payment_method) is
 * fixed once it succeeded, and an invoice's own: 400 naming the first of
 * them the request changes.
 */
static int pi_money_fixed(struct req *r, const struct pi_row *p, struct err *e)
{
	static const char *const money[] = {"amount", "currency", "customer", "payment_method",
	                                    NULL};

	for (int i = 0; money[i] != NULL; i++) {
		if (!param_has(&r->in, money[i]))
			continue;
		if (p->invoice != NULL)
			return pi_invoice_owned(
			        p, "update the amount, currency, customer or payment method of", e);
		if (strcmp(p->status, "succeeded") == 0)
			return err_set(
			        e, 400, E_INVALID_REQUEST, "payment_intent_unexpected_state",
			        money[i],
			        "You cannot update the %s of this PaymentIntent because it has "
			        "a status of %s. You may only update it with one of the "
			        "following statuses: requires_payment_method, "
			        "requires_confirmation.",
			        money[i], p->status);
	}
	return 0;
}

int payment_intent_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"amount",         "currency",    "customer",
	                                      "payment_method", "description", "metadata",
	                                      "receipt_email",  NULL};
	struct json_object *changes = json_object_new_object();
	const char *id, *metadata, *currency, *customer, *pm, *email = NULL, *params[3];
	long long amount;
	struct pi_row p;
	int rc = -1, n, new_customer;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_payment_intent, &id, e) != 0 ||
	    obj_metadata(r, &metadata, e) != 0 ||
	    obj_change_str(r, changes, "description", "description", PI_DESCRIPTION_MAX_LEN, e) !=
	            0 ||
	    pi_receipt_email(r, &email, e) < 0)
		goto done;
	if (email != NULL)
		json_object_object_add(changes, "receipt_email",
		                       email[0] != '\0' ? json_object_new_string(email) : NULL);
	n = pi_amount(r, false, &amount, e);
	if (n < 0)
		goto done;
	if (n == 1)
		json_object_object_add(changes, "amount", json_object_new_int64(amount));
	n = pi_currency(r, false, &currency, e);
	if (n < 0)
		goto done;
	if (n == 1)
		json_object_object_add(changes, "currency", json_object_new_string(currency));
	if (pi_lock_row(r, id, &p, e) != 0)
		goto done;
	if (strcmp(p.status, "canceled") == 0) {
		pi_unexpected_state(
		        e, "You cannot update this PaymentIntent because it has a status of %s.",
		        p.status);
		goto done;
	}
	if (pi_money_fixed(r, &p, e) != 0)
		goto done;
	customer = p.customer;
	new_customer = pi_customer_param(r, &customer, e);
	if (new_customer < 0)
		goto done;
	if (new_customer == 1)
		json_object_object_add(changes, "customer", json_object_new_string(customer));
	n = pi_pm_param(r, customer, &pm, e);
	if (n < 0)
		goto done;
	if (n == 1)
		json_object_object_add(changes, "payment_method", json_object_new_string(pm));
	else if (p.payment_method != NULL && new_customer == 1 &&
	         pi_pm_usable(r, p.payment_method, customer, "customer", e) != 0)
		goto done; /* the new customer cannot use the method already named */
	params[0] = id;
	params[1] = json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN);
	params[2] = metadata;
	res = db_exec(r->db, r->arena, &pi_change, 3, params, e);
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1) {
		err_internal(e, "payment intent %s vanished while locked", id);
		goto done;
	}
	rc = obj_reply(r, out, 200, &obj_payment_intent, PQgetvalue(res, 0, 0), e);
done:
	json_object_put(changes);
	return rc;
}

int payment_intent_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_payment_intent, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &pi_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_payment_intent, id, "id");
	return obj_reply(r, out, 200, &obj_payment_intent, PQgetvalue(res, 0, 0), e);
}

int payment_intent_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit", "starting_after", "ending_before",
	                                      "customer", NULL};
	struct obj_list l;
	const char *customer = NULL;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "customer", &customer, e) < 0 ||
	    obj_list_parse(r, &obj_payment_intent, &l, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_payment_intent, &l, &pi_list_stmt, 1, &customer,
	                      "/v1/payment_intents", e);
}
