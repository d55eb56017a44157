/*
 * Subscriptions: creation, retrieval and lists.  Changes and cancellation
 * are in subscription_change.c.
 *
 * Creating one is Stripe's sequence: the subscription and its items
 * (customer.subscription.created), its first invoice of the first period
 * (billing_reason subscription_create; lines of amount 0 during a trial),
 * finalized, then paid per payment_behavior:
 *   allow_incomplete (default)  a decline leaves it incomplete, answered 200
 *   error_if_incomplete         a decline answers 402 and nothing is created
 *   default_incomplete          no payment attempt: incomplete until paid
 * send_invoice subscriptions are active at once, their invoice open until
 * paid.  Periods are anchored (src/billing/period.c).  A billing_cycle_anchor
 * in the future makes the first period run from now to the anchor, and its
 * lines are prorated against the length of the first full period after the
 * anchor (proration_share: to the second, half to even).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/invoicing.h"
#include "api/object.h"
#include "api/payment_method.h"
#include "api/subscription.h"
#include "billing/period.h"
#include "billing/proration.h"
#include "http/reply.h"
#include "http/req.h"

#define SUB_ITEMS_MAX 20
#define SUB_QUANTITY_MAX 1000000
#define SUB_TRIAL_DAYS_MAX 730
#define SUB_DESCRIPTION_MAX_LEN 500

STMT(sub_customer, "SELECT c.id FROM customers c WHERE c.id = $1 AND NOT c.deleted");
STMT(sub_plans, "SELECT p.id, p.amount, p.currency, p.interval, p.interval_count,"
                " p.trial_period_days, p.active, pr.name FROM plans p"
                " JOIN products pr ON pr.id = p.product"
                " WHERE p.id = ANY ($1::text[]) AND NOT p.deleted");
STMT(sub_insert,
     "INSERT INTO subscriptions AS s (customer, status, currency, interval, interval_count,"
     " collection_method, days_until_due, default_payment_method, billing_cycle_anchor,"
     " current_period_start, current_period_end, cancel_at_period_end, trial_start, trial_end,"
     " description, metadata, start_date, created, id)"
     " VALUES ($1, $2, $3, $4, $5::int, $6, $7::int, $8, to_timestamp($9::bigint),"
     " to_timestamp($10::bigint), to_timestamp($11::bigint), $12::boolean,"
     " to_timestamp($13::bigint), to_timestamp($14::bigint), $15,"
     " levy_metadata_merge('{}', $16::jsonb), to_timestamp($10::bigint), now(), $17)");
STMT(sub_items_insert,
     "INSERT INTO subscription_items AS i (subscription, plan, quantity, metadata, id)"
     " SELECT $1, x.plan, x.quantity, levy_metadata_merge('{}', x.metadata), x.id"
     " FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (plan text, quantity bigint,"
     " metadata jsonb, id text)) WITH ORDINALITY AS x(plan, quantity, metadata, id, n)"
     " ORDER BY x.n");
STMT(sub_lock_status, "SELECT s.status FROM subscriptions s WHERE s.id = $1 FOR UPDATE");
STMT(sub_get, "SELECT levy_subscription_json(t)::text FROM subscriptions t WHERE t.id = $1");
STMT(sub_list_stmt,
     OBJ_LIST_SQL("levy_subscription_json(t)", "subscriptions t",
                  "($4::text IS NULL OR t.customer = $4)"
                  " AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM subscription_items i"
                  " WHERE i.subscription = t.id AND i.plan = $5 AND NOT i.deleted))"
                  " AND (CASE WHEN $6::text IS NULL THEN t.status NOT IN ('canceled',"
                  " 'incomplete_expired') WHEN $6 = 'all' THEN true ELSE t.status = $6 END)"));

/* One item of the request, and the plan it names. */
struct sub_item {
	const char *plan;
	long long quantity;
	const char *metadata;
	long long amount;
	const char *currency;
	const char *interval;
	long long interval_count;
	long long trial_days; /* -1: none */
	const char *product_name;
	const char *id; /* si_, once inserted */
};

struct sub_new {
	const char *customer;
	struct sub_item items[SUB_ITEMS_MAX];
	int nitems;
	const char *default_pm;
	long long trial_end; /* 0: no trial */
	bool trial_from_plan;
	long long anchor; /* 0: now */
	bool cancel_at_period_end;
	int behavior;   /* index in payment_behaviors */
	int collection; /* index in collection_methods */
	long long days_until_due;
	const char *description;
	const char *metadata;
};

static const char *const payment_behaviors[] = {"allow_incomplete", "error_if_incomplete",
                                                "default_incomplete", "pending_if_incomplete",
                                                NULL};
static const char *const collection_methods[] = {"charge_automatically", "send_invoice", NULL};

static const char *sub_num(struct req *r, long long v)
{
	return arena_printf(r->arena, "%lld", v);
}

/* items[i][price] or items[i][plan] (both name a plan), quantity, metadata. */
static int sub_read_items(struct req *r, struct sub_new *s, struct err *e)
{
	static const char *const allowed[] = {"price", "plan", "quantity", "metadata", NULL};
	struct json_object *items = param_value(&r->in, "items");
	char name[64];

	if (items == NULL)
		return err_missing(e, "items");
	if (!json_object_is_type(items, json_type_array) || json_object_array_length(items) == 0)
		return err_invalid(e, "items", "Invalid array: items must list at least one plan.");
	if (json_object_array_length(items) > SUB_ITEMS_MAX)
		return err_invalid(e, "items", "A subscription may have at most %d items.",
		                   SUB_ITEMS_MAX);
	s->nitems = (int)json_object_array_length(items);
	for (int i = 0; i < s->nitems; i++) {
		struct sub_item *it = &s->items[i];
		const char *price = NULL, *plan = NULL;
		struct params sub = {json_object_array_get_idx(items, (size_t)i), r->in.form};
		int rc;

		snprintf(name, sizeof(name), "items[%d]", i);
		if (sub.root == NULL || !json_object_is_type(sub.root, json_type_object))
			return err_invalid(e, name, "Invalid object: %s.", name);
		if (param_only_in(&r->in, name, allowed, e) != 0)
			return -1;
		snprintf(name, sizeof(name), "items[%d][price]", i);
		if (obj_id_param(r, name, &price, e) < 0)
			return -1;
		snprintf(name, sizeof(name), "items[%d][plan]", i);
		if (obj_id_param(r, name, &plan, e) < 0)
			return -1;
		if (price != NULL && plan != NULL && strcmp(price, plan) != 0)
			return err_invalid(e, name, "You may pass either price or plan, not both.");
		it->plan = price != NULL ? price : plan;
		if (it->plan == NULL) {
			snprintf(name, sizeof(name), "items[%d][price]", i);
			return err_missing(e, name);
		}
		for (int k = 0; k < i; k++)
			if (strcmp(s->items[k].plan, it->plan) == 0)
				return err_invalid(
				        e, "items",
				        "Cannot add multiple subscription items with the same "
				        "plan: %s.",
				        it->plan);
		it->quantity = 1;
		snprintf(name, sizeof(name), "items[%d][quantity]", i);
		if (param_int(&r->in, name, 1, SUB_QUANTITY_MAX, &it->quantity, e) < 0)
			return -1;
		it->metadata = NULL;
		snprintf(name, sizeof(name), "items[%d][metadata]", i);
		rc = param_has(&r->in, name);
		if (rc) {
			struct json_object *m = param_value(&r->in, name);

			if (m != NULL && !json_object_is_type(m, json_type_object))
				return err_invalid(e, name, "Invalid object: %s.", name);
			if (m != NULL)
				it->metadata = arena_strdup(
				        r->arena,
				        json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
		}
	}
	return 0;
}

/* The plans the items name: found, active, one currency and one interval. */
static int sub_load_plans(struct req *r, struct sub_new *s, struct err *e)
{
	char *ids = arena_strdup(r->arena, "{");
	PGresult *res;
	char name[64];

	for (int i = 0; i < s->nitems; i++)
		ids = arena_printf(r->arena, "%s%s%s", ids, i > 0 ? "," : "", s->items[i].plan);
	ids = arena_printf(r->arena, "%s}", ids);
	res = db_exec(r->db, r->arena, &sub_plans, 1, (const char *const *)&ids, e);
	if (res == NULL)
		return -1;
	for (int i = 0; i < s->nitems; i++) {
		struct sub_item *it = &s->items[i];
		int row = -1;

		for (int k = 0; k < PQntuples(res) && row < 0; k++)
			if (strcmp(PQgetvalue(res, k, 0), it->plan) == 0)
				row = k;
		snprintf(name, sizeof(name), "items[%d][price]", i);
		if (row < 0)
			return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", name,
			               "No such price: '%s'", it->plan);
		if (!db_bool(res, row, 6))
			return err_invalid(e, name,
			                   "The price specified is inactive. This field only "
			                   "accepts active prices.");
		it->amount = db_int(res, row, 1);
		it->currency = db_str(r->arena, res, row, 2);
		it->interval = db_str(r->arena, res, row, 3);
		it->interval_count = db_int(res, row, 4);
		it->trial_days = PQgetisnull(res, row, 5) ? -1 : db_int(res, row, 5);
		it->product_name = db_str(r->arena, res, row, 7);
		if (i > 0 && strcmp(it->currency, s->items[0].currency) != 0)
			return err_invalid(e, name,
			                   "All prices on a subscription must have the same "
			                   "currency.");
		if (i > 0 && (strcmp(it->interval, s->items[0].interval) != 0 ||
		              it->interval_count != s->items[0].interval_count))
			return err_invalid(e, name,
			                   "All prices on a subscription must have the same "
			                   "recurring interval and interval_count.");
	}
	return 0;
}

/* trial_end ("now" or a time), trial_period_days, trial_from_plan. */
static int sub_read_trial(struct req *r, struct sub_new *s, struct err *e)
{
	struct json_object *v = param_value(&r->in, "trial_end");
	bool given = v != NULL;
	long long days = -1;

	s->trial_end = 0;
	if (v != NULL &&
	    !(json_object_is_type(v, json_type_string) &&
	      strcmp(json_object_get_string(v), "now") == 0) &&
	    param_int(&r->in, "trial_end", r->now + 1, r->now + SUB_TRIAL_DAYS_MAX * 86400LL,
	              &s->trial_end, e) < 0)
		return -1;
	if (param_int(&r->in, "trial_period_days", 0, SUB_TRIAL_DAYS_MAX, &days, e) < 0 ||
	    param_bool(&r->in, "trial_from_plan", &s->trial_from_plan, e) < 0)
		return -1;
	if (days >= 0 && given)
		return err_invalid(e, "trial_end",
		                   "You may pass either trial_end or trial_period_days, not both.");
	if (days < 0 && !given && s->trial_from_plan)
		days = s->items[0].trial_days;
	if (days > 0)
		s->trial_end = r->now + days * 86400;
	return 0;
}

static int sub_read(struct req *r, struct sub_new *s, struct err *e)
{
	static const char *const allowed[] = {"customer",
	                                      "items",
	                                      "default_payment_method",
	                                      "trial_end",
	                                      "trial_period_days",
	                                      "trial_from_plan",
	                                      "billing_cycle_anchor",
	                                      "cancel_at_period_end",
	                                      "payment_behavior",
	                                      "collection_method",
	                                      "days_until_due",
	                                      "description",
	                                      "metadata",
	                                      "proration_behavior",
	                                      NULL};
	static const char *const prorations[] = {"create_prorations", "none", NULL};
	int proration = 0;
	PGresult *res;

	memset(s, 0, sizeof(*s));
	if (obj_only(r, allowed, e) != 0 || sub_read_items(r, s, e) != 0)
		return -1;
	if (obj_id_param(r, "customer", &s->customer, e) < 0)
		return -1;
	if (s->customer == NULL)
		return err_missing(e, "customer");
	if (obj_id_param(r, "default_payment_method", &s->default_pm, e) < 0 ||
	    param_bool(&r->in, "cancel_at_period_end", &s->cancel_at_period_end, e) < 0 ||
	    param_enum(&r->in, "payment_behavior", payment_behaviors, &s->behavior, e) < 0 ||
	    param_enum(&r->in, "collection_method", collection_methods, &s->collection, e) < 0 ||
	    param_enum(&r->in, "proration_behavior", prorations, &proration, e) < 0 ||
	    param_int(&r->in, "days_until_due", 0, 730, &s->days_until_due, e) < 0 ||
	    param_str(&r->in, "description", SUB_DESCRIPTION_MAX_LEN, true, &s->description, e) <
	            0 ||
	    obj_metadata(r, &s->metadata, e) != 0)
		return -1;
	/* pending_if_incomplete only applies to updates, as in Stripe. */
	if (s->behavior == 3)
		return err_invalid(e, "payment_behavior",
		                   "payment_behavior pending_if_incomplete is only supported when "
		                   "updating a subscription.");
	if (s->collection == 1 && !param_has(&r->in, "days_until_due"))
		return err_missing(e, "days_until_due");
	if (s->collection == 0 && param_has(&r->in, "days_until_due"))
		return err_invalid(
		        e, "days_until_due",
		        "days_until_due is only valid with collection_method send_invoice.");
	res = db_exec(r->db, r->arena, &sub_customer, 1, &s->customer, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, s->customer, "customer");
	if (s->default_pm != NULL && payment_method_of_customer(r, s->default_pm, s->customer,
	                                                        "default_payment_method", e) != 0)
		return -1;
	if (sub_load_plans(r, s, e) != 0 || sub_read_trial(r, s, e) != 0)
		return -1;
	if (param_int(&r->in, "billing_cycle_anchor", r->now, PERIOD_TIME_MAX, &s->anchor, e) < 0)
		return -1;
	if (s->anchor != 0 && s->trial_end != 0)
		return err_invalid(
		        e, "billing_cycle_anchor",
		        "billing_cycle_anchor cannot be combined with a trial: the trial's "
		        "end anchors the cycle.");
	return 0;
}

/* The first period and the factor its lines are prorated by (remaining / total seconds). */
static int sub_first_period(struct req *r, const struct sub_new *s, long long *start,
                            long long *end, long long *remaining, long long *total, struct err *e)
{
	enum interval iv;
	long long next;

	if (period_interval_parse(s->items[0].interval, &iv) != 0)
		return err_internal(e, "a plan with interval '%s'", s->items[0].interval);
	*start = r->now;
	*remaining = *total = 1;
	if (s->trial_end != 0) {
		*end = s->trial_end;
		return 0;
	}
	if (s->anchor != 0 && s->anchor > r->now) {
		if (period_nth(s->anchor, iv, s->items[0].interval_count, 1, &next) != 0)
			return err_invalid(e, "billing_cycle_anchor",
			                   "Invalid billing_cycle_anchor.");
		/* An anchor within one interval: the first, partial period ends at it. */
		if (s->anchor - r->now > next - s->anchor)
			return err_invalid(
			        e, "billing_cycle_anchor",
			        "billing_cycle_anchor must be within one billing interval "
			        "from now.");
		*end = s->anchor;
		*remaining = s->anchor - r->now;
		*total = next - s->anchor;
		return 0;
	}
	if (period_nth(r->now, iv, s->items[0].interval_count, 1, end) != 0)
		return err_internal(e, "a period past the year 9999");
	return 0;
}

/* Inserts the subscription and its items; *id its id. */
static int sub_insert_rows(struct req *r, struct sub_new *s, long long start, long long end,
                           const char **id, struct err *e)
{
	bool trialing = s->trial_end != 0;
	const char *status = trialing ? "trialing" : s->collection == 1 ? "active" : "incomplete";
	/* The schedule's anchor: a trial's end, a future anchor, or else the start. */
	long long anchor = trialing || s->anchor > r->now ? end : start;
	const char *params[17] = {
	        s->customer,
	        status,
	        s->items[0].currency,
	        s->items[0].interval,
	        sub_num(r, s->items[0].interval_count),
	        collection_methods[s->collection],
	        s->collection == 1 ? sub_num(r, s->days_until_due) : NULL,
	        s->default_pm,
	        sub_num(r, anchor),
	        sub_num(r, start),
	        sub_num(r, end),
	        s->cancel_at_period_end ? "true" : "false",
	        trialing ? sub_num(r, start) : NULL,
	        trialing ? sub_num(r, s->trial_end) : NULL,
	        s->description != NULL && s->description[0] != '\0' ? s->description : NULL,
	        s->metadata,
	        obj_new_id(r, "sub_")};
	struct json_object *items;
	const char *ip[2];

	*id = params[16];
	if (db_defer(r->db, &sub_insert, 17, params, e) != 0)
		return -1;
	items = json_object_new_array();
	for (int i = 0; i < s->nitems; i++) {
		struct json_object *o = json_object_new_object();

		s->items[i].id = obj_new_id(r, "si_");
		json_object_object_add(o, "id", json_object_new_string(s->items[i].id));
		json_object_object_add(o, "plan", json_object_new_string(s->items[i].plan));
		json_object_object_add(o, "quantity", json_object_new_int64(s->items[i].quantity));
		json_object_object_add(o, "metadata",
		                       s->items[i].metadata != NULL
		                               ? json_tokener_parse(s->items[i].metadata)
		                               : NULL);
		json_object_array_add(items, o);
	}
	ip[0] = *id;
	ip[1] = arena_strdup(r->arena,
	                     json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN));
	json_object_put(items);
	if (db_defer(r->db, &sub_items_insert, 2, ip, e) != 0)
		return -1;
	return inv_emit(r, "customer.subscription.created", "subscription", *id, NULL, e);
}

/*
 * The first invoice: one line per item, 0 during a trial, prorated to a
 * future anchor.  *paid: finalizing it paid it (nothing was due).
 */
static int sub_first_invoice(struct req *r, const struct sub_new *s, const char *id,
                             long long start, long long end, long long remaining, long long total,
                             const char **invoice, bool *paid, struct err *e)
{
	struct inv_line lines[SUB_ITEMS_MAX];
	struct inv_new n = {0};

	for (int i = 0; i < s->nitems; i++) {
		const struct sub_item *it = &s->items[i];
		long long full = it->amount * it->quantity; /* both bounded: no overflow */
		long long amount = 0;

		if (s->trial_end == 0 && proration_share(full, remaining, total, &amount) != 0)
			return err_internal(e, "prorating %lld over %lld/%lld", full, remaining,
			                    total);
		lines[i] = (struct inv_line){
		        .type = "subscription",
		        .amount = amount,
		        .quantity = it->quantity,
		        .plan = it->plan,
		        .description =
		                s->trial_end != 0 ? arena_printf(r->arena, "Trial period for %s",
		                                                 it->product_name)
		                : remaining != total
		                        ? arena_printf(r->arena, "Remaining time on %lld × %s",
		                                       it->quantity, it->product_name)
		                        : arena_printf(r->arena, "%lld × %s", it->quantity,
		                                       it->product_name),
		        .period_start = start,
		        .period_end = end,
		        .proration = remaining != total,
		        .subscription_item = it->id};
	}
	n.customer = s->customer;
	n.subscription = id;
	n.billing_reason = "subscription_create";
	n.collection_method = collection_methods[s->collection];
	n.days_until_due = s->days_until_due;
	n.currency = s->items[0].currency;
	n.period_start = start;
	n.period_end = end;
	n.default_payment_method = s->default_pm;
	n.lines = lines;
	n.nlines = s->nitems;
	n.take_pending = true;
	if (inv_create(r, &n, invoice, e) != 0)
		return -1;
	return inv_finalize(r, *invoice, paid, e);
}

/* A first invoice with nothing due was paid by its finalization: the subscription is active. */
static int sub_settle_free(struct req *r, const char *id, bool paid, struct err *e)
{
	PGresult *res;

	if (!paid)
		return 0;
	res = db_exec(r->db, r->arena, &sub_lock_status, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "incomplete") != 0)
		return 0; /* trialing */
	return inv_sub_status_change(r, id, "incomplete", "active", e);
}

int subscription_create(struct req *r, struct reply *out, struct err *e)
{
	struct sub_new *s = arena_alloc(r->arena, sizeof(*s));
	long long start = 0, end = 0, remaining = 1, total = 1;
	const char *id, *invoice, *text;
	bool paid;
	struct pay_outcome o;

	if (sub_read(r, s, e) != 0 ||
	    sub_first_period(r, s, &start, &end, &remaining, &total, e) != 0 ||
	    sub_insert_rows(r, s, start, end, &id, e) != 0 ||
	    sub_first_invoice(r, s, id, start, end, remaining, total, &invoice, &paid, e) != 0 ||
	    sub_settle_free(r, id, paid, e) != 0)
		return -1;
	if (s->collection == 0 && s->behavior != 2 && !paid) {
		if (inv_pay(r, invoice, NULL, false, true, &o, e) != 0)
			return -1;
		/* error_if_incomplete: a decline creates nothing (the transaction is undone). */
		if (o.attempted && !o.succeeded && s->behavior == 1)
			return inv_card_error(&o, e);
	}
	text = inv_object_text(r, "subscription", id, e);
	return text != NULL ? obj_reply(r, out, 200, &obj_subscription, text, e) : -1;
}

int subscription_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_subscription, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &sub_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_subscription, id, "id");
	return obj_reply(r, out, 200, &obj_subscription, PQgetvalue(res, 0, 0), e);
}

int subscription_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "limit", "starting_after", "ending_before", "customer",
	        "plan",  "price",          "status",        NULL};
	static const char *const statuses[] = {
	        "active",   "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired",
	        "trialing", "all",      "ended",  NULL};
	struct obj_list l;
	const char *filters[3] = {NULL, NULL, NULL};
	const char *price = NULL;
	int status = -1;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "customer", &filters[0], e) < 0 ||
	    obj_id_param(r, "plan", &filters[1], e) < 0 ||
	    obj_id_param(r, "price", &price, e) < 0 ||
	    param_enum(&r->in, "status", statuses, &status, e) < 0 ||
	    obj_list_parse(r, &obj_subscription, &l, e) != 0)
		return -1;
	if (price != NULL)
		filters[1] = price;
	if (status >= 0)
		filters[2] = strcmp(statuses[status], "ended") == 0 ? "canceled" : statuses[status];
	obj_final(r);
	return obj_list_reply(r, out, &obj_subscription, &l, &sub_list_stmt, 3, filters,
	                      "/v1/subscriptions", e);
}
