/*
 * The billing engine (see invoicing.h).  Amounts are computed here, in C,
 * by the tested rules of src/billing (totals, platform fee); PostgreSQL
 * stores them and renders the objects.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/invoicing.h"
#include "api/object.h"
#include "api/payment_method.h"
#include "billing/money.h"
#include "billing/totals.h"
#include "crypto/apikey.h"
#include "http/req.h"
#include "pay/mirror.h"
#include "pay/processor.h"

/* An invoice holds at most this many lines (Stripe's limit is 250 per invoice). */
#define INV_LINES_MAX 250

STMT(inv_object, "SELECT levy_object_json($1, $2)::text");
/* The rendering stays in PostgreSQL: the engine needs only to know the event was recorded. */
STMT(inv_emit_stmt, "SELECT levy_emit($1, $2, $3, $4::jsonb) IS NOT NULL");
STMT(inv_emit_many, "SELECT levy_emit_many($1::text[], $2, $3)");
/* As Stripe: a voided invoice's unfinished PaymentIntent is canceled (void_invoice). */
STMT(inv_void_intent, "SELECT levy_invoice_void_intent($1)");
STMT(inv_insert,
     "INSERT INTO invoices AS t (customer, subscription, billing_reason, collection_method,"
     " currency, period_start, period_end, description, metadata, default_payment_method,"
     " due_date, auto_advance, id)"
     " VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint), to_timestamp($7::bigint), $8,"
     " levy_metadata_merge('{}', $9::jsonb), $10,"
     " CASE WHEN $4 = 'send_invoice' THEN now() + make_interval(secs => $11::int * 86400) END,"
     " coalesce($12::boolean, true), $13)");
STMT(inv_lines_insert,
     "INSERT INTO invoice_lines (invoice, type, amount, currency, description, period_start,"
     " period_end, plan, quantity, proration, subscription, subscription_item)"
     " SELECT $1, x.type, x.amount, $2, x.description, to_timestamp(x.period_start),"
     " to_timestamp(x.period_end), x.plan, x.quantity, x.proration, $3, x.subscription_item"
     " FROM ROWS FROM (jsonb_to_recordset($4::jsonb) AS (type text, amount bigint,"
     " description text, period_start bigint, period_end bigint, plan text, quantity bigint,"
     " proration boolean, subscription_item text)) WITH ORDINALITY"
     " AS x(type, amount, description, period_start, period_end, plan, quantity, proration,"
     " subscription_item, n) ORDER BY x.n");
/* A one-off invoice ($4 NULL) takes the items of no subscription; a subscription's, its own too. */
STMT(inv_take_pending,
     "WITH taken AS (UPDATE invoice_items t SET invoice = $1"
     " WHERE t.invoice IS NULL AND NOT t.deleted AND t.customer = $2 AND t.currency = $3"
     " AND (t.subscription IS NULL OR t.subscription = $4)"
     " RETURNING t.seq, t.amount, t.currency, t.description, t.period_start, t.period_end,"
     " t.plan, t.quantity, t.proration, t.subscription, t.subscription_item, t.id)"
     " INSERT INTO invoice_lines (invoice, type, amount, currency, description, period_start,"
     " period_end, plan, quantity, proration, subscription, subscription_item, invoice_item)"
     " SELECT $1, 'invoiceitem', amount, currency, description, period_start, period_end, plan,"
     " quantity, proration, subscription, subscription_item, id FROM taken ORDER BY seq");
STMT(inv_set_latest, "UPDATE subscriptions s SET latest_invoice = $2 WHERE s.id = $1");
STMT(inv_line_amounts, "SELECT l.amount FROM invoice_lines l WHERE l.invoice = $1 ORDER BY l.seq");
STMT(inv_draft_totals, "UPDATE invoices t SET subtotal = $2, total = $2,"
                       " amount_due = greatest($2::bigint, 0) WHERE t.id = $1");
STMT(inv_lock, "SELECT t.status, t.customer, t.collection_method"
               " FROM invoices t WHERE t.id = $1 FOR UPDATE");
/* What finalizing needs, in one look-up: the invoice and its customer locked, a row per line. */
STMT(inv_finalize_lock, "SELECT t.status, t.customer, c.balance, l.amount FROM invoices t"
                        " JOIN customers c ON c.id = t.customer"
                        " LEFT JOIN invoice_lines l ON l.invoice = t.id"
                        " WHERE t.id = $1 ORDER BY l.seq FOR UPDATE OF t, c");
/*
 * Opens the invoice with the next number of the tenant's mode:
 * PREFIX-0001, the prefix from the tenant's slug, four digits at least,
 * never cut.  The counter's row stays locked until the transaction ends,
 * so numbers have no gaps.
 */
STMT(inv_open, "WITH n AS (INSERT INTO invoice_counters AS k (prefix)"
               " SELECT CASE WHEN length(s) >= 3 THEN left(s, 10) ELSE rpad(s, 3, 'X') END"
               " FROM (SELECT upper(regexp_replace(t.slug, '[^a-z0-9]', '', 'g')) AS s"
               " FROM tenants t) p"
               " ON CONFLICT (tenant_id, livemode) DO UPDATE SET next_number = k.next_number + 1"
               " RETURNING k.prefix || '-' || CASE WHEN k.next_number < 10000"
               " THEN lpad(k.next_number::text, 4, '0') ELSE k.next_number::text END AS number)"
               " UPDATE invoices t SET status = 'open', number = (SELECT n.number FROM n),"
               " subtotal = $2, total = $2, starting_balance = $3, amount_due = $4,"
               " ending_balance = $5, finalized_at = now(),"
               " next_payment_attempt = CASE WHEN t.collection_method = 'charge_automatically'"
               " AND $4::bigint > 0 THEN now() END WHERE t.id = $1");
STMT(inv_balance_set, "UPDATE customers c SET balance = $2 WHERE c.id = $1 AND c.balance <> $2");
/*
 * attempt_count as Stripe counts it: "from the perspective of the payment
 * retry schedule".  Any attempt counts while there has been none; after
 * that only automatic ones ($3) do, so a customer's manual attempts never
 * move the schedule.
 */
#define INV_ATTEMPT_COUNTS "($3::boolean OR t.attempt_count = 0)"
STMT(inv_paid, "UPDATE invoices t SET status = 'paid', amount_paid = t.amount_due,"
               " paid_at = now(), next_payment_attempt = NULL,"
               " attempt_count = t.attempt_count"
               " + CASE WHEN $2::boolean AND " INV_ATTEMPT_COUNTS " THEN 1 ELSE 0 END"
               " WHERE t.id = $1");
/*
 * The retry schedule is Stripe's classic one, written once in
 * levy_invoice_retry_delay() (sql/014): 3, 5, then 7 days after attempts 1
 * to 3, NULL after the 4th.  A first invoice is never retried (it expires,
 * sql/011), nor is one the customer pays (send_invoice).
 */
STMT(inv_failed, "UPDATE invoices t SET attempt_count = t.attempt_count + 1,"
                 " next_payment_attempt = CASE WHEN t.billing_reason = 'subscription_create'"
                 " OR t.collection_method <> 'charge_automatically' THEN NULL"
                 " ELSE now() + levy_invoice_retry_delay(t.attempt_count + 1) END"
                 " WHERE t.id = $1 AND ($2::boolean OR t.attempt_count = 0)");
/*
 * The payment method is the invoice's default, else its subscription's,
 * else its customer's, each only while still attached to the customer: a
 * card detached since gives way to the next, so a renewal is not stuck on
 * a card that is gone.  The one chosen is attached: inv_pay() checks only
 * a payment method the caller names.
 */
STMT(inv_pay_lock,
     "SELECT t.status, t.customer, t.subscription, t.amount_due - t.amount_paid, t.currency,"
     " t.payment_intent, coalesce(im.id, sm.id, cm.id), t.billing_reason"
     " FROM invoices t JOIN customers c ON c.id = t.customer"
     " LEFT JOIN subscriptions s ON s.id = t.subscription"
     " LEFT JOIN payment_methods im ON im.id = t.default_payment_method"
     "  AND im.customer = t.customer"
     " LEFT JOIN payment_methods sm ON sm.id = s.default_payment_method"
     "  AND sm.customer = t.customer"
     " LEFT JOIN payment_methods cm ON cm.id = c.default_payment_method"
     "  AND cm.customer = t.customer"
     " WHERE t.id = $1 FOR UPDATE OF t");
STMT(inv_pi_insert, "INSERT INTO payment_intents AS p (amount, currency, customer, invoice,"
                    " status, description, id) VALUES ($1, $2, $3, $4, 'requires_payment_method',"
                    " 'Invoice ' || coalesce((SELECT i.number FROM invoices i"
                    " WHERE i.id = $4), $4), $5)");
STMT(inv_set_pi, "UPDATE invoices t SET payment_intent = $2 WHERE t.id = $1");
/*
 * The subscription whose latest invoice this is, locked, with what its
 * next status depends on: whether it is in a trial, and whether the
 * invoice's last scheduled attempt has been made (no next_payment_attempt
 * left on an invoice levy collects).
 */
STMT(inv_sub_lock,
     "SELECT s.status, coalesce(s.trial_end > now(), false),"
     " t.next_payment_attempt IS NULL AND t.collection_method = 'charge_automatically'"
     " FROM subscriptions s JOIN invoices t ON t.id = s.latest_invoice"
     " WHERE s.id = $1 AND s.latest_invoice = $2 FOR UPDATE OF s");
STMT(inv_sub_status_set, "UPDATE subscriptions s SET status = $2 WHERE s.id = $1");
STMT(inv_set_status, "UPDATE invoices t SET status = $2,"
                     " voided_at = CASE WHEN $2 = 'void' THEN now() ELSE t.voided_at END,"
                     " marked_uncollectible_at = CASE WHEN $2 = 'uncollectible' THEN now()"
                     " ELSE t.marked_uncollectible_at END, next_payment_attempt = NULL"
                     " WHERE t.id = $1");
/* The intent, locked, with the payment method's test outcome and the tenant's fee and account. */
STMT(pay_pi_lock, "SELECT p.status, p.amount, p.currency, p.customer, p.invoice,"
                  " m.id IS NOT NULL, m.test_decline_code, t.id IS NOT NULL,"
                  " t.platform_fee_bp, t.stripe_account_id"
                  " FROM payment_intents p LEFT JOIN payment_methods m ON m.id = $2"
                  " LEFT JOIN tenants t ON true WHERE p.id = $1 FOR UPDATE OF p");
STMT(pay_charge_insert,
     "INSERT INTO charges AS c (payment_intent, customer, invoice, payment_method, amount,"
     " application_fee_amount, currency, status, failure_code, failure_message, decline_code,"
     " processor_id, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
STMT(pay_pi_succeeded,
     "UPDATE payment_intents p SET status = 'succeeded', amount_received = p.amount,"
     " application_fee_amount = $2, payment_method = $3, latest_charge = $4,"
     " last_payment_error = NULL, off_session = $5, processor_id = $6 WHERE p.id = $1");
STMT(pay_pi_failed,
     "UPDATE payment_intents p SET status = 'requires_payment_method', payment_method = NULL,"
     " application_fee_amount = $2::bigint, latest_charge = $4::text, off_session = $5::boolean,"
     " last_payment_error = jsonb_build_object("
     " 'charge', $4::text, 'code', $6::text, 'decline_code', $7::text, 'message', $8::text,"
     " 'type', 'card_error',"
     " 'doc_url', 'https://stripe.com/docs/error-codes/' || replace($6::text, '_', '-'),"
     " 'payment_method', (SELECT levy_payment_method_json(m) FROM payment_methods m"
     " WHERE m.id = $3::text)) WHERE p.id = $1");

const char *inv_object_text(struct req *r, const char *type, const char *id, struct err *e)
{
	const char *params[2] = {type, id};
	PGresult *res = db_exec(r->db, r->arena, &inv_object, 2, params, e);

	if (res == NULL)
		return NULL;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		err_internal(e, "%s %s vanished inside its transaction", type, id);
		return NULL;
	}
	return db_str(r->arena, res, 0, 0);
}

int inv_emit(struct req *r, const char *event, const char *type, const char *id, const char *prev,
             struct err *e)
{
	const char *params[4] = {event, type, id, prev};

	return db_defer(r->db, &inv_emit_stmt, 4, params, e);
}

static const char *inv_num(struct req *r, long long v)
{
	return arena_printf(r->arena, "%lld", v);
}

/* The lines as the JSON array inv_lines_insert reads. */
static const char *inv_lines_json(struct req *r, const struct inv_line *lines, int n)
{
	struct json_object *a = json_object_new_array_ext(n);
	const char *text;

	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		const struct inv_line *l = &lines[i];

		json_object_object_add(o, "type", json_object_new_string(l->type));
		json_object_object_add(o, "amount", json_object_new_int64(l->amount));
		json_object_object_add(
		        o, "description",
		        l->description != NULL ? json_object_new_string(l->description) : NULL);
		json_object_object_add(o, "period_start", json_object_new_int64(l->period_start));
		json_object_object_add(o, "period_end", json_object_new_int64(l->period_end));
		json_object_object_add(o, "plan",
		                       l->plan != NULL ? json_object_new_string(l->plan) : NULL);
		json_object_object_add(o, "quantity", json_object_new_int64(l->quantity));
		json_object_object_add(o, "proration", json_object_new_boolean(l->proration));
		json_object_object_add(o, "subscription_item",
		                       l->subscription_item != NULL
		                               ? json_object_new_string(l->subscription_item)
		                               : NULL);
		json_object_array_add(a, o);
	}
	text = arena_strdup(r->arena, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return text;
}

/*
 * The totals rule over the line amounts in column col of res, one row per
 * line (a single row whose amount is NULL: no lines), with the customer's
 * balance (0: a draft).
 */
static int inv_totals(struct req *r, PGresult *res, int col, long long balance,
                      struct invoice_totals *t, struct err *e)
{
	int rows = PQntuples(res), n = 0;
	long long *amounts;

	if (rows > INV_LINES_MAX)
		return err_invalid(e, NULL, "An invoice may have at most %d lines.", INV_LINES_MAX);
	amounts = arena_alloc(r->arena, sizeof(*amounts) * (size_t)(rows > 0 ? rows : 1));
	for (int i = 0; i < rows; i++)
		if (!PQgetisnull(res, i, col))
			amounts[n++] = db_int(res, i, col);
	if (totals_compute(amounts, n, balance, t) != 0)
		return err_invalid(e, NULL, "The invoice's total is beyond what levy can bill.");
	return 0;
}

int inv_create(struct req *r, const struct inv_new *n, const char **id, struct err *e)
{
	const char *params[13] = {n->customer,
	                          n->subscription,
	                          n->billing_reason,
	                          n->collection_method,
	                          n->currency,
	                          inv_num(r, n->period_start),
	                          inv_num(r, n->period_end),
	                          n->description,
	                          n->metadata,
	                          n->default_payment_method,
	                          inv_num(r, n->days_until_due),
	                          n->auto_advance,
	                          obj_new_id(r, "in_")};
	const char *lp[4];
	const char *tp[2];
	struct invoice_totals t;
	PGresult *res;

	if (n->nlines > INV_LINES_MAX)
		return err_invalid(e, NULL, "An invoice may have at most %d lines.", INV_LINES_MAX);
	*id = params[12];
	if (db_defer(r->db, &inv_insert, 13, params, e) != 0)
		return -1;
	if (n->nlines > 0) {
		lp[0] = *id;
		lp[1] = n->currency;
		lp[2] = n->subscription;
		lp[3] = inv_lines_json(r, n->lines, n->nlines);
		if (db_defer(r->db, &inv_lines_insert, 4, lp, e) != 0)
			return -1;
	}
	if (n->take_pending) {
		const char *pp[4] = {*id, n->customer, n->currency, n->subscription};

		if (db_defer(r->db, &inv_take_pending, 4, pp, e) != 0)
			return -1;
	}
	res = db_exec(r->db, r->arena, &inv_line_amounts, 1, id, e);
	if (res == NULL || inv_totals(r, res, 0, 0, &t, e) != 0)
		return -1;
	tp[0] = *id;
	tp[1] = inv_num(r, t.total);
	if (db_defer(r->db, &inv_draft_totals, 2, tp, e) != 0)
		return -1;
	if (n->subscription != NULL) {
		const char *sp[2] = {n->subscription, *id};

		if (db_defer(r->db, &inv_set_latest, 2, sp, e) != 0)
			return -1;
	}
	return inv_emit(r, "invoice.created", "invoice", *id, NULL, e);
}

static int inv_not_status(struct err *e, const char *id, const char *status, const char *what)
{
	return err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable", NULL,
	               "You can only %s an invoice that is %s; invoice %s is %s.", what,
	               strcmp(what, "finalize") == 0 ? "a draft" : "open", id, status);
}

/*
 * Marks an open invoice paid and records invoice.paid and, when a payment
 * was made, invoice.payment_succeeded: the same invoice, rendered once.
 */
static int inv_mark_paid(struct req *r, const char *id, bool attempted, bool automatic,
                         struct err *e)
{
	const char *params[3] = {id, attempted ? "true" : "false", automatic ? "true" : "false"};
	const char *events =
	        attempted ? "{invoice.paid,invoice.payment_succeeded}" : "{invoice.paid}";
	const char *emit[3] = {events, "invoice", id};

	if (db_defer(r->db, &inv_paid, 3, params, e) != 0)
		return -1;
	return db_defer(r->db, &inv_emit_many, 3, emit, e);
}

int inv_finalize(struct req *r, const char *id, bool *paid, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &inv_finalize_lock, 1, &id, e);
	const char *customer, *params[5];
	struct invoice_totals t;

	if (paid != NULL)
		*paid = false;
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such invoice: '%s'", id);
	if (strcmp(PQgetvalue(res, 0, 0), "draft") != 0)
		return inv_not_status(e, id, PQgetvalue(res, 0, 0), "finalize");
	customer = db_str(r->arena, res, 0, 1);
	if (inv_totals(r, res, 3, db_int(res, 0, 2), &t, e) != 0)
		return -1;
	params[0] = id;
	params[1] = inv_num(r, t.total);
	params[2] = inv_num(r, t.starting_balance);
	params[3] = inv_num(r, t.amount_due);
	params[4] = inv_num(r, t.ending_balance);
	if (db_defer(r->db, &inv_open, 5, params, e) != 0)
		return -1;
	/* What the invoice did not use of a credit, or the debt it took in, leaves the balance. */
	params[0] = customer;
	params[1] = inv_num(r, t.ending_balance);
	if (db_defer(r->db, &inv_balance_set, 2, params, e) != 0 ||
	    inv_emit(r, "invoice.finalized", "invoice", id, NULL, e) != 0)
		return -1;
	if (t.amount_due > 0)
		return 0;
	if (paid != NULL)
		*paid = true;
	return inv_mark_paid(r, id, false, true, e);
}

int inv_card_error(const struct pay_outcome *o, struct err *e)
{
	err_set(e, 402, E_CARD, o->failure_code != NULL ? o->failure_code : "card_declined", NULL,
	        "%s", o->failure_message != NULL ? o->failure_message : "Your card was declined.");
	e->decline_code = o->decline_code;
	return -1;
}

/*
 * A live attempt's Stripe side: the customer and card on the connected
 * account (mirrored first when needed) and the Idempotency-Key.  An attempt
 * that ended in a 503 rolled back and left no charge, so its retry must send
 * the same key, and Stripe then charges at most once; a decided attempt
 * (paid or declined) left one, so the next attempt is a new one.
 *
 * - An intent that existed before this request: levy_<pi>_attempt_<n>, n
 *   counted from the intent's charges under its row lock.
 * - An intent made by this very request (a subscription's first invoice, a
 *   PaymentIntent created with confirm): a 503 rolls the intent back too, so
 *   a retry makes another pi_ and its own id cannot name the attempt.  The
 *   client's retry carries the same Idempotency-Key, though (the SDKs resend
 *   it): levy_req_<SHA-256 of tenant, mode, that key and the payment's
 *   ordinal in the request>, with metadata that holds no levy id, since
 *   Stripe refuses a key sent again with other parameters.  A request
 *   without an Idempotency-Key cannot be told from a new one: its retry is
 *   a new payment, as it is on Stripe.
 */
STMT(pay_attempt_number, "SELECT count(*) + 1, (SELECT p.created = now() FROM payment_intents p"
                         " WHERE p.id = $1) FROM charges c WHERE c.payment_intent = $1");

static const char *pay_request_ref(struct req *r)
{
	char hash[65];
	const char *text = arena_printf(r->arena, "%lld/%s/%d/%s", r->who.tenant_id,
	                                r->who.livemode ? "live" : "test", r->processor_calls,
	                                r->idempotency_key);

	apikey_hash_hex(text, hash);
	return arena_printf(r->arena, "%.40s", hash);
}

static int pay_live_prepare(struct req *r, struct pay_charge *c, const char *invoice, struct err *e)
{
	struct mirror m;
	PGresult *res;
	long long attempt;

	if (mirror_init(r, c->stripe_account, &m, e) != 0 ||
	    mirror_charge_ids(r, &m, c->payment_method, &c->processor_customer,
	                      &c->processor_payment_method, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &pay_attempt_number, 1, &c->payment_intent, e);
	if (res == NULL)
		return -1;
	attempt = db_int(res, 0, 0);
	r->processor_calls++;
	c->request_ref = NULL;
	if (attempt == 1 && db_bool(res, 0, 1) && r->idempotency_key != NULL) {
		c->request_ref = pay_request_ref(r);
		c->idempotency_key = arena_printf(r->arena, "levy_req_%s", c->request_ref);
	} else {
		c->idempotency_key =
		        arena_printf(r->arena, "levy_%s_attempt_%lld", c->payment_intent, attempt);
	}
	c->conf = r->conf;
	c->invoice = invoice;
	/* As Stripe pays invoices: off-session, the customer is not there to authenticate. */
	if (invoice != NULL)
		c->off_session = true;
	return 0;
}

int pay_attempt(struct req *r, const char *payment_intent, const char *pm, bool off_session,
                struct pay_outcome *o, struct err *e)
{
	struct pay_charge c = {0};
	const char *lock[2] = {payment_intent, pm};
	PGresult *res;
	const char *customer, *invoice, *charge, *params[13];
	int fee_bp;

	memset(o, 0, sizeof(*o));
	o->payment_intent = payment_intent;
	o->payment_method = pm;
	res = db_exec(r->db, r->arena, &pay_pi_lock, 2, lock, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such payment_intent: '%s'", payment_intent);
	if (strcmp(PQgetvalue(res, 0, 0), "succeeded") == 0 ||
	    strcmp(PQgetvalue(res, 0, 0), "canceled") == 0)
		return err_set(e, 400, E_INVALID_REQUEST, "payment_intent_unexpected_state", NULL,
		               "This PaymentIntent's status is %s, so it cannot be confirmed.",
		               PQgetvalue(res, 0, 0));
	c.livemode = r->who.livemode;
	c.amount = db_int(res, 0, 1);
	c.currency = db_str(r->arena, res, 0, 2);
	customer = db_str(r->arena, res, 0, 3);
	invoice = db_str(r->arena, res, 0, 4);
	c.customer = customer;
	c.payment_method = pm;
	c.off_session = off_session;
	if (!db_bool(res, 0, 5))
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "payment_method",
		               "No such PaymentMethod: '%s'", pm);
	c.test_decline_code = db_str(r->arena, res, 0, 6);
	if (!db_bool(res, 0, 7))
		return err_internal(e, "the tenant's own row is not visible");
	fee_bp = (int)db_int(res, 0, 8);
	c.stripe_account = db_str(r->arena, res, 0, 9);
	if (money_platform_fee(c.amount, fee_bp, &c.application_fee_amount) != 0)
		return err_internal(e, "platform fee of %lld at %d bp", c.amount, fee_bp);
	c.payment_intent = payment_intent;
	if (c.livemode) {
		if (pay_live_prepare(r, &c, invoice, e) != 0)
			return -1;
	} else {
		c.idempotency_key = arena_printf(r->arena, "levy-%s-%s", payment_intent, r->id);
	}
	/* The transaction's deferred writes are known to stand before a processor hears of them. */
	if (db_flush(r->db, e) != 0 || pay_charge(r->arena, &c, e) != 0)
		return -1;
	o->attempted = true;
	o->succeeded = c.succeeded;
	o->failure_code = c.failure_code;
	o->decline_code = c.decline_code;
	o->failure_message = c.failure_message;
	params[0] = payment_intent;
	params[1] = customer;
	params[2] = invoice;
	params[3] = pm;
	params[4] = inv_num(r, c.amount);
	params[5] = c.succeeded ? inv_num(r, c.application_fee_amount) : NULL;
	params[6] = c.currency;
	params[7] = c.succeeded ? "succeeded" : "failed";
	params[8] = c.failure_code;
	params[9] = c.failure_message;
	params[10] = c.decline_code;
	params[11] = c.processor_id;
	params[12] = charge = obj_new_id(r, "ch_");
	if (db_defer(r->db, &pay_charge_insert, 13, params, e) != 0)
		return -1;
	params[0] = payment_intent;
	params[1] = c.succeeded ? inv_num(r, c.application_fee_amount) : NULL;
	params[2] = pm;
	params[3] = charge;
	params[4] = c.off_session ? "true" : "false";
	if (c.succeeded) {
		params[5] = c.processor_intent;
		if (db_defer(r->db, &pay_pi_succeeded, 6, params, e) != 0 ||
		    inv_emit(r, "charge.succeeded", "charge", charge, NULL, e) != 0)
			return -1;
		return inv_emit(r, "payment_intent.succeeded", "payment_intent", payment_intent,
		                NULL, e);
	}
	params[5] = c.failure_code;
	params[6] = c.decline_code;
	params[7] = c.failure_message;
	if (db_defer(r->db, &pay_pi_failed, 8, params, e) != 0 ||
	    inv_emit(r, "charge.failed", "charge", charge, NULL, e) != 0)
		return -1;
	return inv_emit(r, "payment_intent.payment_failed", "payment_intent", payment_intent, NULL,
	                e);
}

/* The invoice's payment intent, made on its first attempt (event payment_intent.created). */
static const char *inv_payment_intent(struct req *r, const char *id, const char *existing,
                                      long long amount, const char *currency, const char *customer,
                                      struct err *e)
{
	const char *pi = obj_new_id(r, "pi_");
	const char *params[5] = {inv_num(r, amount), currency, customer, id, pi};

	if (existing != NULL)
		return existing;
	if (db_defer(r->db, &inv_pi_insert, 5, params, e) != 0)
		return NULL;
	params[0] = id;
	params[1] = pi;
	if (db_defer(r->db, &inv_set_pi, 2, params, e) != 0 ||
	    inv_emit(r, "payment_intent.created", "payment_intent", pi, NULL, e) != 0)
		return NULL;
	return pi;
}

int inv_sub_status_change(struct req *r, const char *sub, const char *from, const char *to,
                          struct err *e)
{
	const char *params[2] = {sub, to};
	const char *prev = arena_printf(r->arena, "{\"status\": \"%s\"}", from);

	if (db_defer(r->db, &inv_sub_status_set, 2, params, e) != 0)
		return -1;
	return inv_emit(r, "customer.subscription.updated", "subscription", sub, prev, e);
}

static bool inv_status_in(const char *status, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(status, *set) == 0)
			return true;
	return false;
}

/*
 * What a payment's outcome does to the subscription whose latest invoice
 * this is: paid, an incomplete, past_due or unpaid one is active again
 * (trialing while in its trial); declined, an active or past_due one is
 * unpaid after the invoice's last scheduled attempt, else an active one
 * is past_due.  A first invoice that fails leaves its subscription
 * incomplete.
 */
static int inv_subscription_outcome(struct req *r, const char *sub, const char *id,
                                    const char *billing_reason, bool paid, struct err *e)
{
	static const char *const owing[] = {"incomplete", "past_due", "unpaid", NULL};
	static const char *const collected[] = {"active", "past_due", NULL};
	const char *params[2] = {sub, id};
	const char *status, *to;
	PGresult *res;

	if (!paid && strcmp(billing_reason, "subscription_create") == 0)
		return 0;
	res = db_exec(r->db, r->arena, &inv_sub_lock, 2, params, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return 0;
	status = db_str(r->arena, res, 0, 0);
	if (paid && inv_status_in(status, owing))
		to = db_bool(res, 0, 1) ? "trialing" : "active";
	else if (paid)
		to = NULL;
	else if (db_bool(res, 0, 2) && inv_status_in(status, collected))
		to = "unpaid";
	else
		to = strcmp(status, "active") == 0 ? "past_due" : NULL;
	return to != NULL ? inv_sub_status_change(r, sub, status, to, e) : 0;
}

int inv_pay(struct req *r, const char *id, const char *payment_method, bool off_session,
            bool automatic, struct pay_outcome *o, struct err *e)
{
	const char *failed[2] = {id, automatic ? "true" : "false"};
	PGresult *res;
	const char *status, *customer, *sub, *currency, *pi, *pm, *reason;
	long long due;

	memset(o, 0, sizeof(*o));
	res = db_exec(r->db, r->arena, &inv_pay_lock, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such invoice: '%s'", id);
	status = db_str(r->arena, res, 0, 0);
	if (strcmp(status, "draft") == 0) {
		/* As Stripe: paying a draft finalizes it first (with nothing due, that pays it). */
		if (inv_finalize(r, id, NULL, e) != 0)
			return -1;
		res = db_exec(r->db, r->arena, &inv_pay_lock, 1, &id, e);
		if (res == NULL)
			return -1;
		status = db_str(r->arena, res, 0, 0);
		if (strcmp(status, "paid") == 0) {
			sub = db_str(r->arena, res, 0, 2);
			reason = db_str(r->arena, res, 0, 7);
			return sub != NULL ? inv_subscription_outcome(r, sub, id, reason, true, e)
			                   : 0;
		}
	}
	if (strcmp(status, "paid") == 0)
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_already_paid", NULL,
		               "Invoice is already paid.");
	if (strcmp(status, "void") == 0)
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable", NULL,
		               "You cannot pay a void invoice.");
	customer = db_str(r->arena, res, 0, 1);
	sub = db_str(r->arena, res, 0, 2);
	due = db_int(res, 0, 3);
	currency = db_str(r->arena, res, 0, 4);
	pi = db_str(r->arena, res, 0, 5);
	pm = payment_method != NULL ? payment_method : db_str(r->arena, res, 0, 6);
	reason = db_str(r->arena, res, 0, 7);
	if (due <= 0) {
		if (inv_mark_paid(r, id, false, automatic, e) != 0)
			return -1;
		return sub != NULL ? inv_subscription_outcome(r, sub, id, reason, true, e) : 0;
	}
	/* Beyond it the fee rule and payment_intents.amount refuse the amount: a 400, not a 500. */
	if (due > MONEY_TOTAL_MAX)
		return err_set(e, 400, E_INVALID_REQUEST, "amount_too_large", NULL,
		               "The amount due is more than one payment can collect (at most %lld "
		               "in the currency's minor unit).",
		               MONEY_TOTAL_MAX);
	if (pm == NULL)
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_no_customer_payment_method",
		               NULL,
		               "This customer has no attached payment source or default payment "
		               "method. Please consider adding a default payment method.");
	if (payment_method != NULL &&
	    payment_method_of_customer(r, pm, customer, "payment_method", e) != 0)
		return -1;
	pi = inv_payment_intent(r, id, pi, due, currency, customer, e);
	if (pi == NULL)
		return -1;
	if (pay_attempt(r, pi, pm, off_session, o, e) != 0)
		return -1;
	if (o->succeeded) {
		if (inv_mark_paid(r, id, true, automatic, e) != 0)
			return -1;
		return sub != NULL ? inv_subscription_outcome(r, sub, id, reason, true, e) : 0;
	}
	res = db_exec(r->db, r->arena, &inv_failed, 2, failed, e);
	if (res == NULL || inv_emit(r, "invoice.payment_failed", "invoice", id, NULL, e) != 0)
		return -1;
	/* A manual attempt that the schedule does not count leaves the subscription as it is. */
	if (strcmp(PQcmdTuples(res), "1") != 0)
		return 0;
	return sub != NULL ? inv_subscription_outcome(r, sub, id, reason, false, e) : 0;
}

int inv_pay_missed(struct req *r, const char *id, struct err *e)
{
	const char *failed[2] = {id, "true"}; /* the jobs' attempts are automatic */
	PGresult *res = db_exec(r->db, r->arena, &inv_pay_lock, 1, &id, e);
	const char *sub, *reason;

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such invoice: '%s'", id);
	if (strcmp(PQgetvalue(res, 0, 0), "open") != 0)
		return inv_not_status(e, id, PQgetvalue(res, 0, 0), "collect");
	sub = db_str(r->arena, res, 0, 2);
	reason = db_str(r->arena, res, 0, 7);
	if (db_exec(r->db, r->arena, &inv_failed, 2, failed, e) == NULL ||
	    inv_emit(r, "invoice.payment_failed", "invoice", id, NULL, e) != 0)
		return -1;
	return sub != NULL ? inv_subscription_outcome(r, sub, id, reason, false, e) : 0;
}

/* open -> status, with its event. */
static int inv_close(struct req *r, const char *id, const char *status, const char *event,
                     const char *what, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &inv_lock, 1, &id, e);
	const char *params[2] = {id, status};

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such invoice: '%s'", id);
	if (strcmp(PQgetvalue(res, 0, 0), "open") != 0 &&
	    !(strcmp(status, "void") == 0 && strcmp(PQgetvalue(res, 0, 0), "uncollectible") == 0))
		return inv_not_status(e, id, PQgetvalue(res, 0, 0), what);
	if (db_exec(r->db, r->arena, &inv_set_status, 2, params, e) == NULL ||
	    inv_emit(r, event, "invoice", id, NULL, e) != 0)
		return -1;
	if (strcmp(status, "void") != 0)
		return 0;
	return db_exec(r->db, r->arena, &inv_void_intent, 1, &id, e) != NULL ? 0 : -1;
}

int inv_void(struct req *r, const char *id, struct err *e)
{
	return inv_close(r, id, "void", "invoice.voided", "void", e);
}

int inv_mark_uncollectible(struct req *r, const char *id, struct err *e)
{
	return inv_close(r, id, "uncollectible", "invoice.marked_uncollectible",
	                 "mark uncollectible", e);
}
