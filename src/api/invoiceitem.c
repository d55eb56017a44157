/*
 * Invoice items: a charge (or, negative, a credit) that waits for the
 * customer's next invoice (pending), or joins a draft invoice at once
 * (`invoice`).  Its amount is given whole (`amount`), or as unit_amount
 * times quantity, or by a plan (`price`, or `plan`, naming a plan: its
 * amount times quantity, in its currency).
 *
 * An item can change or be deleted only while pending: an invoice's lines
 * are fixed once written (sql/006 grants no UPDATE on invoice_lines), so
 * an item on an invoice, even a draft, stays as it is.  Deletion is soft,
 * as a customer's: the item then retrieves as {"id", "object",
 * "deleted": true}.  The row trigger records invoiceitem.created, .updated
 * and .deleted.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "api/invoice.h"
#include "api/invoiceitem.h"
#include "api/object.h"
#include "billing/money.h"
#include "billing/period.h"
#include "core/str.h"
#include "http/reply.h"
#include "http/req.h"

/* The bounds of sql/006's invoice_items. */
#define II_DESCRIPTION_MAX_LEN 500
#define II_AMOUNT_MAX 99999999999LL
#define II_UNIT_AMOUNT_MAX MONEY_AMOUNT_MAX
#define II_QUANTITY_MAX 1000000LL
/* Longer than any currency code: what is bounded before the code is checked. */
#define II_CURRENCY_MAX_LEN 16

STMT(ii_customer, "SELECT 1 FROM customers c WHERE c.id = $1 AND NOT c.deleted");
STMT(ii_plan, "SELECT p.amount, p.currency FROM plans p WHERE p.id = $1 AND NOT p.deleted");
STMT(ii_subscription, "SELECT s.customer FROM subscriptions s WHERE s.id = $1");
STMT(ii_insert,
     "INSERT INTO invoice_items AS t (customer, invoice, subscription, plan, currency,"
     " unit_amount, quantity, amount, description, period_start, period_end, discountable,"
     " metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
     " coalesce(to_timestamp($10::bigint), now()), coalesce(to_timestamp($11::bigint), now()),"
     " $12, levy_metadata_merge('{}', $13::jsonb))"
     " RETURNING t.id, levy_invoice_item_json(t)::text");
STMT(ii_get, "SELECT levy_invoice_item_json(t)::text FROM invoice_items t WHERE t.id = $1");
STMT(ii_lock, "SELECT t.invoice, t.unit_amount, t.quantity, t.amount FROM invoice_items t"
              " WHERE t.id = $1 AND NOT t.deleted FOR UPDATE");
STMT(ii_change,
     "UPDATE invoice_items t SET amount = $2::bigint, unit_amount = $3::bigint,"
     " quantity = $4::bigint,"
     " description = CASE WHEN $5::jsonb ? 'description' THEN $5::jsonb ->> 'description'"
     "  ELSE t.description END,"
     " discountable = coalesce($6::boolean, t.discountable),"
     " period_start = coalesce(to_timestamp($7::bigint), t.period_start),"
     " period_end = coalesce(to_timestamp($8::bigint), t.period_end),"
     " metadata = levy_metadata_merge(t.metadata, $9::jsonb)"
     " WHERE t.id = $1 RETURNING levy_invoice_item_json(t)::text");
STMT(ii_soft_delete, "UPDATE invoice_items t SET deleted = true WHERE t.id = $1");
STMT(ii_list_stmt, OBJ_LIST_SQL("levy_invoice_item_json(t)", "invoice_items t",
                                "NOT t.deleted AND ($4::text IS NULL OR t.customer = $4)"
                                " AND ($5::text IS NULL OR t.invoice = $5)"
                                " AND ($6::boolean IS NULL OR (t.invoice IS NULL) = $6::boolean)"));

static const char *ii_num(struct req *r, long long v)
{
	return arena_printf(r->arena, "%lld", v);
}

/* unit * quantity, within the table's bound on an item's amount: 0, or -1 with e naming param. */
static int ii_multiply(long long unit, long long quantity, const char *param, long long *amount,
                       struct err *e)
{
	/* |unit| <= 99999999 and quantity <= 1000000: the product fits a long long. */
	*amount = unit * quantity;
	if (*amount > II_AMOUNT_MAX || *amount < -II_AMOUNT_MAX)
		return err_invalid(
		        e, param,
		        "Invalid %s: unit_amount times quantity must be between %lld and "
		        "%lld.",
		        param, -II_AMOUNT_MAX, II_AMOUNT_MAX);
	return 0;
}

/*
 * period[start] and period[end]: both or neither, end not before start.
 * 1 with both set, 0 when absent, -1.
 */
static int ii_period(struct req *r, long long *start, long long *end, struct err *e)
{
	static const char *const allowed[] = {"start", "end", NULL};
	int a, b;

	if (param_only_in(&r->in, "period", allowed, e) != 0)
		return -1;
	if (!param_has(&r->in, "period"))
		return 0;
	a = param_int(&r->in, "period[start]", PERIOD_TIME_MIN, PERIOD_TIME_MAX, start, e);
	if (a < 0)
		return -1;
	b = param_int(&r->in, "period[end]", PERIOD_TIME_MIN, PERIOD_TIME_MAX, end, e);
	if (b < 0)
		return -1;
	if (a == 0)
		return err_missing(e, "period[start]");
	if (b == 0)
		return err_missing(e, "period[end]");
	if (*end < *start)
		return err_invalid(e, "period[end]",
		                   "Invalid period: its end must not be before its start.");
	return 1;
}

/* Two of the ways of giving an amount at once. */
static int ii_one_of(struct err *e, const char *param)
{
	return err_invalid(e, param,
	                   "You may only specify one of these parameters: amount, price, "
	                   "unit_amount.");
}

/* What an item costs, as create parses it. */
struct ii_price {
	bool has_amount, has_unit, has_quantity;
	long long amount, unit, quantity;
	const char *plan, *plan_param;
	const char *currency;
};

static int ii_price_params(struct req *r, struct ii_price *p, struct err *e)
{
	const char *price = NULL, *plan = NULL, *cur;
	int rc;

	p->quantity = 1;
	rc = param_int(&r->in, "amount", -II_AMOUNT_MAX, II_AMOUNT_MAX, &p->amount, e);
	if (rc < 0)
		return -1;
	p->has_amount = rc == 1;
	rc = param_int(&r->in, "unit_amount", -II_UNIT_AMOUNT_MAX, II_UNIT_AMOUNT_MAX, &p->unit, e);
	if (rc < 0)
		return -1;
	p->has_unit = rc == 1;
	rc = param_int(&r->in, "quantity", 0, II_QUANTITY_MAX, &p->quantity, e);
	if (rc < 0)
		return -1;
	p->has_quantity = rc == 1;
	if (obj_id_param(r, "price", &price, e) < 0 || obj_id_param(r, "plan", &plan, e) < 0)
		return -1;
	if (price != NULL && plan != NULL)
		return err_invalid(e, "plan",
		                   "You may only specify one of these parameters: plan, price.");
	p->plan = price != NULL ? price : plan;
	p->plan_param = price != NULL ? "price" : "plan";
	if (p->has_amount && p->has_unit)
		return ii_one_of(e, "unit_amount");
	if ((p->has_amount || p->has_unit) && p->plan != NULL)
		return ii_one_of(e, p->plan_param);
	if (!p->has_amount && !p->has_unit && p->plan == NULL)
		return err_missing(e, "amount");
	if (p->has_amount && p->has_quantity)
		return err_invalid(e, "quantity",
		                   "Invalid quantity: it can only be given with unit_amount or "
		                   "price, not with amount.");
	rc = param_str(&r->in, "currency", II_CURRENCY_MAX_LEN, false, &cur, e);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		char *lower = arena_strdup(r->arena, cur);

		str_lower_ascii(lower);
		if (!money_currency_valid(lower))
			return err_invalid(e, "currency", "Invalid currency: %s.", cur);
		p->currency = lower;
	} else if (p->plan == NULL) {
		return err_missing(e, "currency");
	}
	return 0;
}

/* The plan's amount and currency into p: 0, or -1 (404 naming the param). */
static int ii_plan_price(struct req *r, struct ii_price *p, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &ii_plan, 1, &p->plan, e);
	const char *currency;

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", p->plan_param,
		               "No such %s: '%.*s'", p->plan_param, OBJ_ID_MAX_LEN, p->plan);
	p->unit = db_int(res, 0, 0);
	currency = db_str(r->arena, res, 0, 1);
	if (p->currency != NULL && strcmp(p->currency, currency) != 0)
		return err_invalid(
		        e, "currency",
		        "Invalid currency: %s does not match the currency of %s %s (%s).",
		        p->currency, p->plan_param, p->plan, currency);
	p->currency = currency;
	return 0;
}

/* The subscription the item is for: the customer's own. */
static int ii_subscription_check(struct req *r, const char *sub, const char *customer,
                                 struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &ii_subscription, 1, &sub, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_subscription, sub, "subscription");
	if (strcmp(PQgetvalue(res, 0, 0), customer) != 0)
		return err_invalid(e, "subscription",
		                   "The subscription %s does not belong to customer %s.", sub,
		                   customer);
	return 0;
}

int invoiceitem_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "customer", "amount",       "unit_amount",  "quantity", "price",
	        "plan",     "currency",     "description",  "period",   "metadata",
	        "invoice",  "subscription", "discountable", NULL};
	struct ii_price p = {0};
	struct invoice_draft d = {0};
	const char *customer, *invoice = NULL, *sub = NULL, *description = NULL, *metadata;
	const char *params[13], *id;
	long long start = 0, end = 0, amount;
	bool discountable;
	int has_period, has_discountable, rc;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	rc = obj_id_param(r, "customer", &customer, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_missing(e, "customer");
	if (ii_price_params(r, &p, e) != 0 ||
	    param_str(&r->in, "description", II_DESCRIPTION_MAX_LEN, true, &description, e) < 0 ||
	    obj_metadata(r, &metadata, e) != 0 || obj_id_param(r, "invoice", &invoice, e) < 0 ||
	    obj_id_param(r, "subscription", &sub, e) < 0)
		return -1;
	has_period = ii_period(r, &start, &end, e);
	if (has_period < 0)
		return -1;
	has_discountable = param_bool(&r->in, "discountable", &discountable, e);
	if (has_discountable < 0)
		return -1;
	res = db_exec(r->db, r->arena, &ii_customer, 1, &customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, customer, "customer");
	if (p.plan != NULL && ii_plan_price(r, &p, e) != 0)
		return -1;
	if (p.has_amount) {
		amount = p.amount;
		p.has_unit = p.amount >= -II_UNIT_AMOUNT_MAX && p.amount <= II_UNIT_AMOUNT_MAX;
		p.unit = p.amount;
	} else {
		p.has_unit = true;
		if (ii_multiply(p.unit, p.quantity, p.has_quantity ? "quantity" : "unit_amount",
		                &amount, e) != 0)
			return -1;
	}
	if (sub != NULL && ii_subscription_check(r, sub, customer, e) != 0)
		return -1;
	if (invoice != NULL) {
		if (invoice_lock_draft(r, invoice, customer, "invoice", &d, e) != 0)
			return -1;
		if (strcmp(d.currency, p.currency) != 0)
			return err_invalid(e, "currency",
			                   "Invalid currency: %s does not match the currency of "
			                   "invoice %s (%s).",
			                   p.currency, invoice, d.currency);
	}
	/* As Stripe: discounts apply by default to charges, not to credits. */
	if (has_discountable == 0)
		discountable = amount >= 0;
	params[0] = customer;
	params[1] = invoice;
	params[2] = sub;
	params[3] = p.plan;
	params[4] = p.currency;
	params[5] = p.has_unit ? ii_num(r, p.unit) : NULL;
	params[6] = ii_num(r, p.quantity);
	params[7] = ii_num(r, amount);
	params[8] = description != NULL && description[0] != '\0' ? description : NULL;
	params[9] = has_period ? ii_num(r, start) : NULL;
	params[10] = has_period ? ii_num(r, end) : NULL;
	params[11] = discountable ? "true" : "false";
	params[12] = metadata;
	res = db_exec(r->db, r->arena, &ii_insert, 13, params, e);
	if (res == NULL)
		return -1;
	if (invoice == NULL)
		return obj_reply(r, out, 200, &obj_invoiceitem, PQgetvalue(res, 0, 1), e);
	id = db_str(r->arena, res, 0, 0);
	if (invoice_add_item(r, &d, id, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &ii_get, 1, &id, e);
	if (res == NULL)
		return -1;
	return obj_reply(r, out, 200, &obj_invoiceitem, PQgetvalue(res, 0, 0), e);
}

int invoiceitem_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoiceitem, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &ii_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_invoiceitem, id, "id");
	return obj_reply(r, out, 200, &obj_invoiceitem, PQgetvalue(res, 0, 0), e);
}

/* Locks a pending item: 0, or -1 with 404 (missing, deleted) or 400 (on an invoice). */
static int ii_lock_pending(struct req *r, const char *id, const char *what, PGresult **row,
                           struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &ii_lock, 1, &id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_invoiceitem, id, "id");
	if (!PQgetisnull(res, 0, 0))
		return err_set(e, 400, E_INVALID_REQUEST, "invoice_not_editable", NULL,
		               "You can only %s a pending invoice item; %s is on invoice %s.", what,
		               id, PQgetvalue(res, 0, 0));
	*row = res;
	return 0;
}

/*
 * The new amount, unit_amount and quantity of an update: amount replaces
 * all three (quantity 1); unit_amount or quantity recomputes amount from
 * the other as it is.
 */
static int ii_update_amounts(struct req *r, PGresult *row, const char **params, struct err *e)
{
	long long amount = 0, unit = 0, quantity = 0;
	bool has_unit = !PQgetisnull(row, 0, 1);
	int ra, ru, rq;

	ra = param_int(&r->in, "amount", -II_AMOUNT_MAX, II_AMOUNT_MAX, &amount, e);
	if (ra < 0)
		return -1;
	ru = param_int(&r->in, "unit_amount", -II_UNIT_AMOUNT_MAX, II_UNIT_AMOUNT_MAX, &unit, e);
	if (ru < 0)
		return -1;
	rq = param_int(&r->in, "quantity", 0, II_QUANTITY_MAX, &quantity, e);
	if (rq < 0)
		return -1;
	if (ra == 1 && ru == 1)
		return ii_one_of(e, "unit_amount");
	if (ra == 1 && rq == 1)
		return err_invalid(e, "quantity",
		                   "Invalid quantity: it can only be given with unit_amount or "
		                   "price, not with amount.");
	if (ra == 1) {
		has_unit = amount >= -II_UNIT_AMOUNT_MAX && amount <= II_UNIT_AMOUNT_MAX;
		unit = amount;
		quantity = 1;
	} else {
		if (ru == 0)
			unit = db_int(row, 0, 1);
		if (rq == 0)
			quantity = db_int(row, 0, 2);
		if (ru == 0 && rq == 0)
			amount = db_int(row, 0, 3);
		else if (ru == 0 && !has_unit)
			return err_missing(e, "unit_amount"); /* an amount too large for a unit */
		else if (ii_multiply(unit, quantity, rq == 1 ? "quantity" : "unit_amount", &amount,
		                     e) != 0)
			return -1;
		has_unit = has_unit || ru == 1;
	}
	params[1] = ii_num(r, amount);
	params[2] = has_unit ? ii_num(r, unit) : NULL;
	params[3] = ii_num(r, quantity);
	return 0;
}

int invoiceitem_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"amount",   "unit_amount",  "quantity", "description",
	                                      "metadata", "discountable", "period",   NULL};
	struct json_object *changes = json_object_new_object();
	const char *id, *metadata, *params[9];
	long long start = 0, end = 0;
	bool discountable;
	int has_period, has_discountable, rc = -1;
	PGresult *row, *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoiceitem, &id, e) != 0 ||
	    obj_change_str(r, changes, "description", "description", II_DESCRIPTION_MAX_LEN, e) !=
	            0 ||
	    obj_metadata(r, &metadata, e) != 0)
		goto done;
	has_period = ii_period(r, &start, &end, e);
	if (has_period < 0)
		goto done;
	has_discountable = param_bool(&r->in, "discountable", &discountable, e);
	if (has_discountable < 0 || ii_lock_pending(r, id, "update", &row, e) != 0 ||
	    ii_update_amounts(r, row, params, e) != 0)
		goto done;
	params[0] = id;
	params[4] = json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN);
	params[5] = has_discountable ? (discountable ? "true" : "false") : NULL;
	params[6] = has_period ? ii_num(r, start) : NULL;
	params[7] = has_period ? ii_num(r, end) : NULL;
	params[8] = metadata;
	res = db_exec(r->db, r->arena, &ii_change, 9, params, e);
	if (res == NULL)
		goto done;
	rc = obj_reply(r, out, 200, &obj_invoiceitem, PQgetvalue(res, 0, 0), e);
done:
	json_object_put(changes);
	return rc;
}

int invoiceitem_delete(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	struct json_object *body;
	const char *id;
	PGresult *row;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_invoiceitem, &id, e) != 0 ||
	    ii_lock_pending(r, id, "delete", &row, e) != 0 ||
	    db_exec(r->db, r->arena, &ii_soft_delete, 1, &id, e) == NULL)
		return -1;
	body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	json_object_object_add(body, "object", json_object_new_string("invoiceitem"));
	json_object_object_add(body, "deleted", json_object_new_boolean(1));
	return reply_json(r, out, 200, body);
}

int invoiceitem_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "limit", "starting_after", "ending_before", "customer", "invoice", "pending", NULL};
	const char *filters[3] = {NULL, NULL, NULL};
	struct obj_list l;
	bool pending;
	int rc;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "customer", &filters[0], e) < 0 ||
	    obj_id_param(r, "invoice", &filters[1], e) < 0)
		return -1;
	rc = param_bool(&r->in, "pending", &pending, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		filters[2] = pending ? "true" : "false";
	if (obj_list_parse(r, &obj_invoiceitem, &l, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_invoiceitem, &l, &ii_list_stmt, 3, filters,
	                      "/v1/invoiceitems", e);
}
