/*
 * Invoices: the endpoints over the billing engine (invoicing.h), which
 * owns the arithmetic of finalization and payment.  A one-off invoice
 * takes the customer's pending invoice items of no subscription as
 * pending_invoice_items_behavior says (Stripe 2023-08-16: exclude by
 * default, include, include_and_require).
 *
 * Deleting a draft is soft (invoices.deleted), since the application never
 * DELETEs billing rows: the draft is gone from the API (404, out of lists),
 * its invoice items return to pending, its events stay.
 *
 * The upcoming invoice is a preview and writes nothing: its lines and
 * totals are computed here, by the same rules as a real invoice's
 * (billing/period.h, billing/totals.h), and levy_invoice_json() renders
 * them from a row that is built in the statement and never stored.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/invoice.h"
#include "api/invoicing.h"
#include "api/object.h"
#include "api/payment_method.h"
#include "billing/money.h"
#include "billing/period.h"
#include "billing/totals.h"
#include "core/str.h"
#include "http/reply.h"
#include "http/req.h"

#define INVOICE_DESCRIPTION_MAX_LEN 1500
/* As a subscription's days_until_due (sql/006). */
#define INVOICE_DAYS_UNTIL_DUE_MAX 730
/* As the engine's: Stripe's limit of lines on one invoice. */
#define INVOICE_LINES_MAX 250
/* Longer than any currency code: what is bounded before the code is checked. */
#define INVOICE_CURRENCY_MAX_LEN 16
/* The currency of a one-off invoice when nothing names one. */
#define INVOICE_DEFAULT_CURRENCY "usd"

static const char *const invoice_methods[] = {"charge_automatically", "send_invoice", NULL};
static const char *const invoice_statuses[] = {"draft",         "open", "paid",
                                               "uncollectible", "void", NULL};

/* An invoice's lines: a list of their own, in the invoice's order (no expandable field). */
static const struct obj_expandable invoice_line_expandable[] = {{NULL, NULL}};
static const struct obj_type invoice_line_type = {"line_item", invoice_line_expandable};

STMT(invoice_customer,
     "SELECT c.currency, c.balance FROM customers c WHERE c.id = $1 AND NOT c.deleted");
/* The currency of the customer's oldest pending item of no subscription. */
STMT(invoice_pending_currency,
     "SELECT t.currency FROM invoice_items t WHERE t.customer = $1 AND t.invoice IS NULL"
     " AND NOT t.deleted AND t.subscription IS NULL ORDER BY t.seq LIMIT 1");
STMT(invoice_pending_count,
     "SELECT count(*) FROM invoice_items t WHERE t.customer = $1 AND t.invoice IS NULL"
     " AND NOT t.deleted AND t.subscription IS NULL AND t.currency = $2");
STMT(invoice_get,
     "SELECT levy_invoice_json(t)::text FROM invoices t WHERE t.id = $1 AND NOT t.deleted");
STMT(invoice_exists, "SELECT 1 FROM invoices t WHERE t.id = $1 AND NOT t.deleted");
/* Taken first by every change, so that changes of one invoice queue. */
STMT(invoice_lock_stmt,
     "SELECT t.status, t.customer, t.collection_method, t.subscription, t.currency,"
     " levy_invoice_json(t)::text FROM invoices t WHERE t.id = $1 AND NOT t.deleted FOR UPDATE");
/* A due date is days of 86400 s after creation, as Stripe's, whatever the server's time zone. */
STMT(invoice_change,
     "UPDATE invoices t SET"
     " description = CASE WHEN $2::jsonb ? 'description' THEN $2::jsonb ->> 'description'"
     "  ELSE t.description END,"
     " default_payment_method = CASE WHEN $2::jsonb ? 'default_payment_method'"
     "  THEN $2::jsonb ->> 'default_payment_method' ELSE t.default_payment_method END,"
     " auto_advance = coalesce(($2::jsonb ->> 'auto_advance')::boolean, t.auto_advance),"
     " due_date = CASE WHEN $2::jsonb ? 'days_until_due'"
     "  THEN t.created + make_interval(secs => ($2::jsonb ->> 'days_until_due')::int * 86400)"
     "  ELSE t.due_date END,"
     " metadata = levy_metadata_merge(t.metadata, $3::jsonb) WHERE t.id = $1");
STMT(invoice_set_auto_advance, "UPDATE invoices t SET auto_advance = $2 WHERE t.id = $1");
STMT(invoice_release_items, "UPDATE invoice_items t SET invoice = NULL WHERE t.invoice = $1");
STMT(invoice_soft_delete, "UPDATE invoices t SET deleted = true WHERE t.id = $1");
STMT(invoice_list_stmt, OBJ_LIST_SQL("levy_invoice_json(t)", "invoices t",
                                     "NOT t.deleted AND ($4::text IS NULL OR t.customer = $4)"
                                     " AND ($5::text IS NULL OR t.subscription = $5)"
                                     " AND ($6::text IS NULL OR t.status = $6)"
                                     " AND ($7::text IS NULL OR t.collection_method = $7)"));
/*
 * Lines list in the invoice's order, oldest first: the list machinery
 * pages newest first by position, so a line's position is its seq negated.
 */
STMT(invoice_line_position,
     "SELECT -l.seq FROM invoice_lines l WHERE l.id = $1 AND l.invoice = $2");
STMT(invoice_lines_stmt,
     OBJ_LIST_SQL(
             "levy_invoice_line_json(t.line)",
             "(SELECT -l.seq AS seq, l.id, l AS line FROM invoice_lines l WHERE l.invoice = $4) t",
             "true"));
STMT(invoice_line_count, "SELECT count(*) FROM invoice_lines l WHERE l.invoice = $1");
STMT(invoice_line_from_item,
     "INSERT INTO invoice_lines (invoice, type, amount, currency, description, period_start,"
     " period_end, plan, quantity, proration, subscription, subscription_item, invoice_item)"
     " SELECT $1, 'invoiceitem', t.amount, t.currency, t.description, t.period_start,"
     " t.period_end, t.plan, t.quantity, t.proration, t.subscription, t.subscription_item, t.id"
     " FROM invoice_items t WHERE t.id = $2 AND t.invoice = $1");
STMT(invoice_line_amounts,
     "SELECT l.amount FROM invoice_lines l WHERE l.invoice = $1 ORDER BY l.seq");
STMT(invoice_draft_totals, "UPDATE invoices t SET subtotal = $2, total = $2,"
                           " amount_due = greatest($2::bigint, 0) WHERE t.id = $1");

/*
 * The upcoming invoice's subscription: the one named ($1), or else the
 * customer's ($2) that renews next.
 */
STMT(invoice_up_subscription,
     "SELECT s.id, s.customer, s.currency, s.interval, s.interval_count,"
     " levy_epoch(s.billing_cycle_anchor), levy_epoch(s.current_period_start),"
     " levy_epoch(s.current_period_end),"
     " s.status NOT IN ('canceled', 'incomplete_expired') AND NOT s.cancel_at_period_end"
     "  AND (s.cancel_at IS NULL OR s.cancel_at > s.current_period_end),"
     " s.collection_method, s.days_until_due FROM subscriptions s"
     " WHERE ($1::text IS NOT NULL AND s.id = $1) OR ($1::text IS NULL AND s.customer = $2"
     "  AND s.status NOT IN ('canceled', 'incomplete_expired') AND NOT s.cancel_at_period_end)"
     " ORDER BY s.current_period_end, s.seq LIMIT 1");
STMT(invoice_up_items,
     "SELECT i.id, i.plan, i.quantity, p.amount, coalesce(pr.name, p.nickname, p.id)"
     " FROM subscription_items i JOIN plans p ON p.id = i.plan"
     " LEFT JOIN products pr ON pr.id = p.product"
     " WHERE i.subscription = $1 AND NOT i.deleted ORDER BY i.seq");
/* Pending items in the invoice's currency ($3), or else in that of the oldest one. */
STMT(invoice_up_pending,
     "SELECT t.id, t.amount, t.description, levy_epoch(t.period_start), levy_epoch(t.period_end),"
     " t.plan, t.quantity, t.proration, t.subscription, t.subscription_item, t.currency"
     " FROM invoice_items t WHERE t.customer = $1 AND t.invoice IS NULL AND NOT t.deleted"
     " AND (t.subscription IS NULL OR t.subscription = $2)"
     " AND t.currency = coalesce($3, (SELECT i.currency FROM invoice_items i"
     "  WHERE i.customer = $1 AND i.invoice IS NULL AND NOT i.deleted"
     "  AND (i.subscription IS NULL OR i.subscription = $2) ORDER BY i.seq LIMIT 1))"
     " ORDER BY t.seq");
/*
 * The preview, rendered by the same functions as a stored invoice from
 * rows built here: $1 customer, $2 subscription, $3 currency,
 * $4 collection_method, $5 subtotal, $6 starting_balance, $7 amount_due,
 * $8 created, $9 period_start, $10 period_end, $11 next_payment_attempt,
 * $12 due_date, $13 the lines (JSON), $14 the lines' url.  Stripe's
 * upcoming invoice has no id.
 */
STMT(invoice_up_render,
     "WITH ctx AS (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint AS tenant_id,"
     "  NULLIF(current_setting('app.livemode', true), '')::boolean AS livemode),"
     " l AS (SELECT coalesce(jsonb_agg(levy_invoice_line_json(jsonb_populate_record("
     "  NULL::invoice_lines, jsonb_build_object('id', x.id, 'tenant_id', ctx.tenant_id,"
     "  'livemode', ctx.livemode, 'type', x.type, 'amount', x.amount, 'currency', $3::text,"
     "  'description', x.description, 'period_start', to_timestamp(x.period_start),"
     "  'period_end', to_timestamp(x.period_end), 'plan', x.plan, 'quantity', x.quantity,"
     "  'proration', x.proration, 'subscription', x.subscription,"
     "  'subscription_item', x.subscription_item, 'invoice_item', x.invoice_item,"
     "  'metadata', '{}'::jsonb))) ORDER BY x.n), '[]'::jsonb) AS data, count(*) AS n"
     "  FROM ctx, ROWS FROM (jsonb_to_recordset($13::jsonb) AS (id text, type text,"
     "  amount bigint, description text, period_start bigint, period_end bigint, plan text,"
     "  quantity bigint, proration boolean, subscription text, subscription_item text,"
     "  invoice_item text)) WITH ORDINALITY AS x(id, type, amount, description, period_start,"
     "  period_end, plan, quantity, proration, subscription, subscription_item, invoice_item,"
     "  n) GROUP BY ctx.tenant_id, ctx.livemode)"
     " SELECT ((levy_invoice_json(jsonb_populate_record(NULL::invoices, jsonb_build_object("
     "  'tenant_id', ctx.tenant_id, 'livemode', ctx.livemode, 'customer', $1::text,"
     "  'subscription', $2::text, 'status', 'draft', 'billing_reason', 'upcoming',"
     "  'collection_method', $4::text, 'currency', $3::text, 'subtotal', $5::bigint,"
     "  'total', $5::bigint, 'starting_balance', $6::bigint, 'amount_due', $7::bigint,"
     "  'amount_paid', 0, 'attempt_count', 0, 'auto_advance', true, 'metadata', '{}'::jsonb,"
     "  'created', to_timestamp($8::bigint), 'period_start', to_timestamp($9::bigint),"
     "  'period_end', to_timestamp($10::bigint),"
     "  'next_payment_attempt', to_timestamp($11::bigint), 'due_date', to_timestamp($12::bigint),"
     "  'deleted', false))) - 'id')"
     "  || jsonb_build_object('lines', jsonb_build_object('object', 'list',"
     "  'data', coalesce(l.data, '[]'::jsonb), 'has_more', false,"
     "  'total_count', coalesce(l.n, 0), 'url', $14::text)))::text"
     " FROM ctx LEFT JOIN l ON true");

static const char *invoice_num(struct req *r, long long v)
{
	return arena_printf(r->arena, "%lld", v);
}

/* The invoice as locked: its state and its JSON before a change. */
struct invoice_row {
	const char *status;
	const char *customer;
	const char *collection_method;
	const char *subscription;
	const char *currency;
	const char *prev;
};

/* Locks a visible (not deleted) invoice: 0, or -1 with e = 404 naming param. */
static int invoice_lock(struct req *r, const char *id, const char *param, struct invoice_row *row,
                        struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &invoice_lock_stmt, 1, &id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_invoice, id, param);
	row->status = db_str(r->arena, res, 0, 0);
	row->customer = db_str(r->arena, res, 0, 1);
	row->collection_method = db_str(r->arena, res, 0, 2);
	row->subscription = db_str(r->arena, res, 0, 3);
	row->currency = db_str(r->arena, res, 0, 4);
	row->prev = db_str(r->arena, res, 0, 5);
	return 0;
}

/* Answers with the invoice as it is now. */
static int invoice_answer(struct req *r, struct reply *out, const char *id, struct err *e)
{
	const char *text = inv_object_text(r, "invoice", id, e);

	return text != NULL ? obj_reply(r, out, 200, &obj_invoice, text, e) : -1;
}

/*
 * days_until_due, which only send_invoice takes: 1 with *days set, 0 when
 * absent, -1.  Required for a new send_invoice invoice (required).
 */
static int invoice_days(struct req *r, bool send_invoice, bool required, long long *days,
                        struct err *e)
{
	int rc = param_int(&r->in, "days_until_due", 0, INVOICE_DAYS_UNTIL_DUE_MAX, days, e);

	if (rc < 0)
		return -1;
	if (rc == 1 && !send_invoice)
		return err_invalid(e, "days_until_due",
		                   "Invalid days_until_due: it can only be set when "
		                   "collection_method is send_invoice.");
	if (rc == 0 && send_invoice && required)
		return err_missing(e, "days_until_due");
	return rc;
}

/* The currency param, lowercased and checked: 1 with *out, 0 when absent, -1. */
static int invoice_currency_param(struct req *r, const char **out, struct err *e)
{
	const char *cur;
	char *lower;
	int rc = param_str(&r->in, "currency", INVOICE_CURRENCY_MAX_LEN, false, &cur, e);

	if (rc <= 0)
		return rc;
	lower = arena_strdup(r->arena, cur);
	str_lower_ascii(lower);
	if (!money_currency_valid(lower))
		return err_invalid(e, "currency", "Invalid currency: %s.", cur);
	*out = lower;
	return 1;
}

/*
 * The currency of a one-off invoice: the param, the customer's, that of
 * the oldest pending item, or levy's default.
 */
static const char *invoice_pick_currency(struct req *r, const char *param, const char *customer,
                                         const char *customer_currency, struct err *e)
{
	PGresult *res;

	if (param != NULL)
		return param;
	if (customer_currency != NULL)
		return customer_currency;
	res = db_exec(r->db, r->arena, &invoice_pending_currency, 1, &customer, e);
	if (res == NULL)
		return NULL;
	return PQntuples(res) == 1 ? db_str(r->arena, res, 0, 0) : INVOICE_DEFAULT_CURRENCY;
}

int invoice_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "customer",    "auto_advance",   "collection_method",
	        "currency",    "days_until_due", "default_payment_method",
	        "description", "metadata",       "pending_invoice_items_behavior",
	        NULL};
	static const char *const behaviors[] = {"exclude", "include", "include_and_require", NULL};
	struct inv_new n = {0};
	const char *id, *currency = NULL, *description = NULL, *params[2];
	int behavior = 0, method = 0, rc;
	bool auto_advance;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	rc = obj_id_param(r, "customer", &n.customer, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_missing(e, "customer");
	if (param_enum(&r->in, "pending_invoice_items_behavior", behaviors, &behavior, e) < 0 ||
	    param_enum(&r->in, "collection_method", invoice_methods, &method, e) < 0 ||
	    invoice_days(r, method == 1, true, &n.days_until_due, e) < 0 ||
	    invoice_currency_param(r, &currency, e) < 0 ||
	    param_str(&r->in, "description", INVOICE_DESCRIPTION_MAX_LEN, true, &description, e) <
	            0 ||
	    obj_metadata(r, &n.metadata, e) != 0 ||
	    obj_id_param(r, "default_payment_method", &n.default_payment_method, e) < 0)
		return -1;
	rc = param_bool(&r->in, "auto_advance", &auto_advance, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		n.auto_advance = auto_advance ? "true" : "false";
	res = db_exec(r->db, r->arena, &invoice_customer, 1, &n.customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, n.customer, "customer");
	n.currency = invoice_pick_currency(r, currency, n.customer, db_str(r->arena, res, 0, 0), e);
	if (n.currency == NULL)
		return -1;
	if (n.default_payment_method != NULL &&
	    payment_method_of_customer(r, n.default_payment_method, n.customer,
	                               "default_payment_method", e) != 0)
		return -1;
	if (behavior == 2) {
		params[0] = n.customer;
		params[1] = n.currency;
		res = db_exec(r->db, r->arena, &invoice_pending_count, 2, params, e);
		if (res == NULL)
			return -1;
		if (db_int(res, 0, 0) == 0)
			return err_set(e, 400, E_INVALID_REQUEST, "invoice_no_customer_line_items",
			               NULL, "Nothing to invoice for customer");
	}
	n.billing_reason = "manual";
	n.collection_method = invoice_methods[method];
	n.period_start = n.period_end = r->now;
	n.description = description != NULL && description[0] != '\0' ? description : NULL;
	n.take_pending = behavior != 0;
	if (inv_create(r, &n, &id, e) != 0)
		return -1;
	return invoice_answer(r, out, id, e);
}

int invoice_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &invoice_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_invoice, id, "id");
	return obj_reply(r, out, 200, &obj_invoice, PQgetvalue(res, 0, 0), e);
}

/* The draft-only fields of an update, into changes. */
static int invoice_draft_changes(struct req *r, const struct invoice_row *row,
                                 struct json_object *changes, struct err *e)
{
	const char *pm;
	long long days;
	bool auto_advance;
	int rc;

	if (obj_change_str(r, changes, "description", "description", INVOICE_DESCRIPTION_MAX_LEN,
	                   e) != 0)
		return -1;
	rc = invoice_days(r, strcmp(row->collection_method, "send_invoice") == 0, false, &days, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "days_until_due", json_object_new_int64(days));
	rc = param_bool(&r->in, "auto_advance", &auto_advance, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "auto_advance",
		                       json_object_new_boolean(auto_advance));
	rc = param_str(&r->in, "default_payment_method", OBJ_ID_MAX_LEN, true, &pm, e);
	if (rc < 0)
		return -1;
	if (rc == 1 && pm[0] == '\0') {
		json_object_object_add(changes, "default_payment_method", NULL);
	} else if (rc == 1) {
		if (payment_method_of_customer(r, pm, row->customer, "default_payment_method", e) !=
		    0)
			return -1;
		json_object_object_add(changes, "default_payment_method",
		                       json_object_new_string(pm));
	}
	return 0;
}

int invoice_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"description",    "metadata",
	                                      "days_until_due", "default_payment_method",
	                                      "auto_advance",   NULL};
	struct json_object *changes = json_object_new_object();
	struct invoice_row row;
	const char *id, *metadata, *params[3];
	int rc = -1;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0 ||
	    obj_metadata(r, &metadata, e) != 0 || invoice_lock(r, id, "id", &row, e) != 0)
		goto done;
	if (strcmp(row.status, "draft") != 0) {
		/* Finalized: Stripe's numbers and terms are fixed; metadata stays the caller's. */
		for (int i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], "metadata") != 0 && param_has(&r->in, allowed[i])) {
				err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable",
				        allowed[i],
				        "You can only update metadata on an invoice that is not a "
				        "draft; invoice %s is %s.",
				        id, row.status);
				goto done;
			}
	} else if (invoice_draft_changes(r, &row, changes, e) != 0) {
		goto done;
	}
	params[0] = id;
	params[1] = json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN);
	params[2] = metadata;
	if (db_exec(r->db, r->arena, &invoice_change, 3, params, e) == NULL ||
	    inv_emit(r, "invoice.updated", "invoice", id, row.prev, e) != 0)
		goto done;
	rc = invoice_answer(r, out, id, e);
done:
	json_object_put(changes);
	return rc;
}

int invoice_delete(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	struct invoice_row row;
	struct json_object *body;
	const char *id;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0 ||
	    invoice_lock(r, id, "id", &row, e) != 0)
		return -1;
	if (strcmp(row.status, "draft") != 0)
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable", NULL,
		               "You can only delete a draft invoice; invoice %s is %s. Void it "
		               "instead.",
		               id, row.status);
	if (row.subscription != NULL)
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable", NULL,
		               "You can only delete a one-off invoice; invoice %s belongs to "
		               "subscription %s.",
		               id, row.subscription);
	if (db_exec(r->db, r->arena, &invoice_release_items, 1, &id, e) == NULL ||
	    db_exec(r->db, r->arena, &invoice_soft_delete, 1, &id, e) == NULL ||
	    inv_emit(r, "invoice.deleted", "invoice", id, NULL, e) != 0)
		return -1;
	body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	json_object_object_add(body, "object", json_object_new_string("invoice"));
	json_object_object_add(body, "deleted", json_object_new_boolean(1));
	return reply_json(r, out, 200, body);
}

int invoice_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "limit",        "starting_after", "ending_before",     "customer",
	        "subscription", "status",         "collection_method", NULL};
	const char *filters[4] = {NULL, NULL, NULL, NULL};
	int status, method, rc;
	struct obj_list l;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "customer", &filters[0], e) < 0 ||
	    obj_id_param(r, "subscription", &filters[1], e) < 0)
		return -1;
	rc = param_enum(&r->in, "status", invoice_statuses, &status, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		filters[2] = invoice_statuses[status];
	rc = param_enum(&r->in, "collection_method", invoice_methods, &method, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		filters[3] = invoice_methods[method];
	if (obj_list_parse(r, &obj_invoice, &l, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_invoice, &l, &invoice_list_stmt, 4, filters,
	                      "/v1/invoices", e);
}

/* A cursor of the lines list: its position, or 404 naming param. */
static int invoice_line_cursor(struct req *r, const char *invoice, const char *param,
                               const char *line, char pos[24], struct err *e)
{
	const char *params[2] = {line, invoice};
	PGresult *res;

	pos[0] = '\0';
	if (line == NULL)
		return 0;
	res = db_exec(r->db, r->arena, &invoice_line_position, 2, params, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &invoice_line_type, line, param);
	snprintf(pos, 24, "%s", PQgetvalue(res, 0, 0));
	return 0;
}

int invoice_lines(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit", "starting_after", "ending_before", NULL};
	struct obj_list l = {.limit = 10};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0 ||
	    param_int(&r->in, "limit", 1, 100, &l.limit, e) < 0 ||
	    obj_id_param(r, "starting_after", &l.after, e) < 0 ||
	    obj_id_param(r, "ending_before", &l.before, e) < 0)
		return -1;
	if (l.after != NULL && l.before != NULL)
		return err_invalid(e, "ending_before",
		                   "You may only specify one of these parameters: ending_before, "
		                   "starting_after.");
	res = db_exec(r->db, r->arena, &invoice_exists, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_invoice, id, "id");
	if (invoice_line_cursor(r, id, "starting_after", l.after, l.after_pos, e) != 0 ||
	    invoice_line_cursor(r, id, "ending_before", l.before, l.before_pos, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &invoice_line_type, &l, &invoice_lines_stmt, 1, &id,
	                      arena_printf(r->arena, "/v1/invoices/%s/lines", id), e);
}

int invoice_finalize(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"auto_advance", NULL};
	struct invoice_row row;
	const char *id, *params[2];
	bool auto_advance;
	int rc;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0)
		return -1;
	rc = param_bool(&r->in, "auto_advance", &auto_advance, e);
	if (rc < 0 || invoice_lock(r, id, "id", &row, e) != 0)
		return -1;
	if (rc == 1 && strcmp(row.status, "draft") == 0) {
		params[0] = id;
		params[1] = auto_advance ? "true" : "false";
		if (db_exec(r->db, r->arena, &invoice_set_auto_advance, 2, params, e) == NULL)
			return -1;
	}
	if (inv_finalize(r, id, NULL, e) != 0)
		return -1;
	return invoice_answer(r, out, id, e);
}

int invoice_pay(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"payment_method", "off_session", NULL};
	struct invoice_row row;
	struct pay_outcome o;
	const char *id, *pm = NULL;
	bool off_session = true; /* Stripe's default for paying an invoice */

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0 ||
	    obj_id_param(r, "payment_method", &pm, e) < 0 ||
	    param_bool(&r->in, "off_session", &off_session, e) < 0 ||
	    invoice_lock(r, id, "id", &row, e) != 0)
		return -1;
	/*
	 * As Stripe: a payment method named here is attached to the invoice's
	 * customer first (a test id such as pm_card_visa makes a new one); a
	 * paid or void invoice is refused by the engine before anything moves.
	 */
	if (pm != NULL && strcmp(row.status, "paid") != 0 && strcmp(row.status, "void") != 0 &&
	    payment_method_attach_id(r, pm, row.customer, "payment_method", &pm, e) != 0)
		return -1;
	if (inv_pay(r, id, pm, off_session, false, &o, e) != 0)
		return -1;
	if (o.attempted && !o.succeeded) {
		/* The attempt, the open invoice's attempt_count and the events stand. */
		e->keep_tx = true;
		return inv_card_error(&o, e);
	}
	return invoice_answer(r, out, id, e);
}

/* void and mark_uncollectible: the engine's transition of a visible invoice. */
static int invoice_close(struct req *r, struct reply *out,
                         int (*fn)(struct req *, const char *, struct err *), struct err *e)
{
	static const char *const allowed[] = {NULL};
	struct invoice_row row;
	const char *id;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoice, &id, e) != 0 ||
	    invoice_lock(r, id, "id", &row, e) != 0 || fn(r, id, e) != 0)
		return -1;
	return invoice_answer(r, out, id, e);
}

int invoice_void(struct req *r, struct reply *out, struct err *e)
{
	return invoice_close(r, out, inv_void, e);
}

int invoice_mark_uncollectible(struct req *r, struct reply *out, struct err *e)
{
	return invoice_close(r, out, inv_mark_uncollectible, e);
}

/* Sums a draft's lines by the totals rule (no balance before finalization). */
static int invoice_draft_recompute(struct req *r, const char *id, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &invoice_line_amounts, 1, &id, e);
	struct invoice_totals t;
	const char *params[2];
	long long *amounts;
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	amounts = arena_alloc(r->arena, sizeof(*amounts) * (size_t)(n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
		amounts[i] = db_int(res, i, 0);
	if (totals_compute(amounts, n, 0, &t) != 0)
		return err_invalid(e, NULL, "The invoice's total is beyond what levy can bill.");
	params[0] = id;
	params[1] = invoice_num(r, t.total);
	return db_exec(r->db, r->arena, &invoice_draft_totals, 2, params, e) != NULL ? 0 : -1;
}

int invoice_lock_draft(struct req *r, const char *id, const char *customer, const char *param,
                       struct invoice_draft *d, struct err *e)
{
	struct invoice_row row;
	PGresult *res;

	if (invoice_lock(r, id, param, &row, e) != 0)
		return -1;
	if (strcmp(row.status, "draft") != 0)
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable", param,
		               "You can only add invoice items to a draft invoice; invoice %s is "
		               "%s.",
		               id, row.status);
	if (strcmp(row.customer, customer) != 0)
		return err_invalid(e, param, "Invoice %s belongs to another customer than %s.", id,
		                   customer);
	res = db_exec(r->db, r->arena, &invoice_line_count, 1, &id, e);
	if (res == NULL)
		return -1;
	if (db_int(res, 0, 0) >= INVOICE_LINES_MAX)
		return err_invalid(e, param, "An invoice may have at most %d lines.",
		                   INVOICE_LINES_MAX);
	d->id = id;
	d->customer = row.customer;
	d->currency = row.currency;
	d->prev = row.prev;
	return 0;
}

int invoice_add_item(struct req *r, const struct invoice_draft *d, const char *item, struct err *e)
{
	const char *params[2] = {d->id, item};

	if (db_exec(r->db, r->arena, &invoice_line_from_item, 2, params, e) == NULL ||
	    invoice_draft_recompute(r, d->id, e) != 0)
		return -1;
	return inv_emit(r, "invoice.updated", "invoice", d->id, d->prev, e);
}

/* ---- The upcoming invoice ---- */

/* What the preview is made of, gathered before the one statement that renders it. */
struct invoice_preview {
	const char *customer;
	const char *subscription;
	const char *currency;
	const char *collection_method;
	long long days_until_due;
	long long balance;
	long long created, period_start, period_end;
	struct json_object *lines; /* the array invoice_up_render reads */
	long long *amounts;
	int n;
	int cap;
};

static void invoice_preview_line(struct req *r, struct invoice_preview *p, struct json_object *l,
                                 long long amount)
{
	if (p->n == p->cap) {
		int cap = p->cap > 0 ? p->cap * 2 : 16;
		long long *grown = arena_alloc(r->arena, sizeof(*grown) * (size_t)cap);

		if (p->n > 0)
			memcpy(grown, p->amounts, sizeof(*grown) * (size_t)p->n);
		p->amounts = grown;
		p->cap = cap;
	}
	p->amounts[p->n++] = amount;
	json_object_array_add(p->lines, l);
}

static struct json_object *invoice_str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/*
 * The subscription's lines for its next period: each item's plan amount
 * times its quantity, from the end of the current period to the next
 * boundary of its anchored schedule.
 */
static int invoice_preview_subscription(struct req *r, struct invoice_preview *p, PGresult *sub,
                                        struct err *e)
{
	enum interval iv;
	long long anchor = db_int(sub, 0, 5), end = db_int(sub, 0, 7), next_start, next_end;
	PGresult *res;

	if (period_interval_parse(PQgetvalue(sub, 0, 3), &iv) != 0 ||
	    period_containing(anchor, iv, db_int(sub, 0, 4), end, &next_start, &next_end) != 0)
		return err_internal(e, "subscription %s has no next period", p->subscription);
	res = db_exec(r->db, r->arena, &invoice_up_items, 1, &p->subscription, e);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct json_object *l = json_object_new_object();
		const char *si = PQgetvalue(res, i, 0);
		long long quantity = db_int(res, i, 2);
		/* Both bounded by their tables: 99999999 * 1000000 fits a long long. */
		long long amount = db_int(res, i, 3) * quantity;

		json_object_object_add(
		        l, "id",
		        json_object_new_string(arena_printf(r->arena, "il_tmp_%s", si + 3)));
		json_object_object_add(l, "type", json_object_new_string("subscription"));
		json_object_object_add(l, "amount", json_object_new_int64(amount));
		json_object_object_add(
		        l, "description",
		        json_object_new_string(arena_printf(r->arena, "%lld \xc3\x97 %s", quantity,
		                                            PQgetvalue(res, i, 4))));
		json_object_object_add(l, "period_start", json_object_new_int64(next_start));
		json_object_object_add(l, "period_end", json_object_new_int64(next_end));
		json_object_object_add(l, "plan", json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(l, "quantity", json_object_new_int64(quantity));
		json_object_object_add(l, "proration", json_object_new_boolean(0));
		json_object_object_add(l, "subscription", json_object_new_string(p->subscription));
		json_object_object_add(l, "subscription_item", json_object_new_string(si));
		invoice_preview_line(r, p, l, amount);
	}
	return 0;
}

/* The customer's pending items that the next invoice would take. */
static int invoice_preview_pending(struct req *r, struct invoice_preview *p, struct err *e)
{
	const char *params[3] = {p->customer, p->subscription, p->currency};
	PGresult *res = db_exec(r->db, r->arena, &invoice_up_pending, 3, params, e);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct json_object *l = json_object_new_object();
		const char *ii = PQgetvalue(res, i, 0);

		json_object_object_add(
		        l, "id",
		        json_object_new_string(arena_printf(r->arena, "il_tmp_%s", ii + 3)));
		json_object_object_add(l, "type", json_object_new_string("invoiceitem"));
		json_object_object_add(l, "amount", json_object_new_int64(db_int(res, i, 1)));
		json_object_object_add(l, "description",
		                       invoice_str_or_null(db_str(r->arena, res, i, 2)));
		json_object_object_add(l, "period_start", json_object_new_int64(db_int(res, i, 3)));
		json_object_object_add(l, "period_end", json_object_new_int64(db_int(res, i, 4)));
		json_object_object_add(l, "plan", invoice_str_or_null(db_str(r->arena, res, i, 5)));
		json_object_object_add(l, "quantity", json_object_new_int64(db_int(res, i, 6)));
		json_object_object_add(l, "proration", json_object_new_boolean(db_bool(res, i, 7)));
		json_object_object_add(l, "subscription",
		                       invoice_str_or_null(db_str(r->arena, res, i, 8)));
		json_object_object_add(l, "subscription_item",
		                       invoice_str_or_null(db_str(r->arena, res, i, 9)));
		json_object_object_add(l, "invoice_item", json_object_new_string(ii));
		if (p->currency == NULL)
			p->currency = db_str(r->arena, res, i, 10);
		invoice_preview_line(r, p, l, db_int(res, i, 1));
	}
	return 0;
}

/* Totals by the finalization rule, then the one statement that renders the preview. */
static int invoice_preview_render(struct req *r, struct invoice_preview *p, const char **text,
                                  struct err *e)
{
	struct invoice_totals t;
	const char *params[14];
	bool send = strcmp(p->collection_method, "send_invoice") == 0;
	PGresult *res;

	if (totals_compute(p->amounts, p->n, p->balance, &t) != 0)
		return err_invalid(e, NULL,
		                   "The upcoming invoice's total is beyond what levy can "
		                   "bill.");
	params[0] = p->customer;
	params[1] = p->subscription;
	params[2] = p->currency != NULL ? p->currency : INVOICE_DEFAULT_CURRENCY;
	params[3] = p->collection_method;
	params[4] = invoice_num(r, t.total);
	params[5] = invoice_num(r, t.starting_balance);
	params[6] = invoice_num(r, t.amount_due);
	params[7] = invoice_num(r, p->created);
	params[8] = invoice_num(r, p->period_start);
	params[9] = invoice_num(r, p->period_end);
	params[10] = !send && t.amount_due > 0 ? invoice_num(r, p->created) : NULL;
	params[11] = send ? invoice_num(r, p->created + p->days_until_due * 86400) : NULL;
	params[12] = json_object_to_json_string_ext(p->lines, JSON_C_TO_STRING_PLAIN);
	params[13] =
	        p->subscription != NULL
	                ? arena_printf(r->arena,
	                               "/v1/invoices/upcoming/lines?customer=%s&subscription=%s",
	                               p->customer, p->subscription)
	                : arena_printf(r->arena, "/v1/invoices/upcoming/lines?customer=%s",
	                               p->customer);
	obj_final(r);
	res = db_exec(r->db, r->arena, &invoice_up_render, 14, params, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return err_internal(e, "the upcoming invoice of %s did not render", p->customer);
	*text = PQgetvalue(res, 0, 0);
	return 0;
}

/*
 * What the preview is made of (the customer and subscription params):
 * 0, or -1 with e set (404 when there is nothing to invoice).  The caller
 * puts p->lines in either case.
 */
static int invoice_preview_gather(struct req *r, struct invoice_preview *p, struct err *e)
{
	const char *customer = NULL, *sub = NULL, *params[2];
	PGresult *res, *s;

	p->lines = json_object_new_array();
	if (obj_id_param(r, "customer", &customer, e) < 0 ||
	    obj_id_param(r, "subscription", &sub, e) < 0)
		return -1;
	if (customer == NULL && sub == NULL)
		return err_missing(e, "customer");
	params[0] = sub;
	params[1] = customer;
	s = db_exec(r->db, r->arena, &invoice_up_subscription, 2, params, e);
	if (s == NULL)
		return -1;
	if (sub != NULL && PQntuples(s) != 1)
		return obj_missing(e, &obj_subscription, sub, "subscription");
	if (sub != NULL && customer != NULL && strcmp(PQgetvalue(s, 0, 1), customer) != 0)
		return err_invalid(e, "subscription",
		                   "The subscription %s does not belong to customer %s.", sub,
		                   customer);
	p->customer = customer != NULL ? customer : db_str(r->arena, s, 0, 1);
	res = db_exec(r->db, r->arena, &invoice_customer, 1, &p->customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, p->customer, "customer");
	p->currency = db_str(r->arena, res, 0, 0);
	p->balance = db_int(res, 0, 1);
	p->collection_method = "charge_automatically";
	p->created = p->period_start = p->period_end = r->now;
	if (PQntuples(s) == 1) {
		p->subscription = db_str(r->arena, s, 0, 0);
		p->currency = db_str(r->arena, s, 0, 2);
		p->period_start = db_int(s, 0, 6);
		p->created = p->period_end = db_int(s, 0, 7);
		p->collection_method = db_str(r->arena, s, 0, 9);
		p->days_until_due = db_int(s, 0, 10);
		if (db_bool(s, 0, 8) && invoice_preview_subscription(r, p, s, e) != 0)
			return -1;
	}
	if (invoice_preview_pending(r, p, e) != 0)
		return -1;
	if (p->n == 0)
		return err_set(e, 404, E_INVALID_REQUEST, "invoice_upcoming_none", NULL,
		               "No upcoming invoices for customer: %s", p->customer);
	return 0;
}

int invoice_upcoming(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"customer", "subscription", NULL};
	struct invoice_preview p = {0};
	const char *text;
	int rc = -1;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	if (invoice_preview_gather(r, &p, e) == 0 && invoice_preview_render(r, &p, &text, e) == 0)
		rc = obj_reply(r, out, 200, &obj_invoice, text, e);
	json_object_put(p.lines);
	return rc;
}

/* GET /v1/invoices/upcoming/lines: the preview's lines, paged as any list of lines. */
int invoice_upcoming_lines(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"customer",       "subscription",  "limit",
	                                      "starting_after", "ending_before", NULL};
	struct invoice_preview p = {0};
	struct json_object *inv = NULL, *lines, *data;
	const char *text;
	int rc = -1;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	if (invoice_preview_gather(r, &p, e) != 0 || invoice_preview_render(r, &p, &text, e) != 0)
		goto done;
	inv = json_tokener_parse(text);
	if (inv == NULL || !json_object_object_get_ex(inv, "lines", &lines) ||
	    !json_object_object_get_ex(lines, "data", &data)) {
		err_internal(e, "the upcoming invoice of %s has no lines", p.customer);
		goto done;
	}
	/*
	 * The list's own url names no query: the SDKs page it by sending the
	 * params they were given again (customer and subscription).
	 */
	rc = obj_list_reply_array(r, out, &invoice_line_type, json_object_get(data),
	                          "/v1/invoices/upcoming/lines", e);
done:
	if (inv != NULL)
		json_object_put(inv);
	json_object_put(p.lines);
	return rc;
}
