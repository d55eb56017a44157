/*
 * Subscriptions after creation: updates (items, trial, cancel at period
 * end, payment settings), cancellation now, and the entitlements a
 * customer holds through its subscriptions.  Creation, retrieval and lists
 * are in subscription.c.
 *
 * Proration (a plan or quantity change at time t in [period_start,
 * period_end) of a subscription that has been invoiced for its period, so
 * neither trialing nor incomplete): per changed item, a credit for the
 * unused time of the old plan x old quantity and a charge for the
 * remaining time of the new plan x new quantity, each
 *   amount * (period_end - t) / (period_end - period_start)
 * computed to the second and rounded once, half to even
 * (proration_change(), src/billing/proration.c), the credit negated.  The
 * first, shorter period before a future billing_cycle_anchor was billed as
 * a share of the full period after the anchor, so it is prorated against
 * that full period's length too.  An added item has no credit and a
 * removed one no charge.  The lines are invoice items (ii_) of the
 * customer tied to the subscription, pending for the next invoice
 * (create_prorations), or invoiced, finalized and paid at once
 * (always_invoice).
 *
 * Cancelling now (DELETE) credits the unused time the same way when asked
 * (prorate, false by default as in Stripe 2023-08-16), and invoice_now
 * invoices what is pending at once (billing_reason subscription_update;
 * a negative total becomes the customer's credit through the totals
 * rule).  An ended subscription (canceled, incomplete_expired) is gone
 * for another cancellation (404, as Stripe) and refuses updates (400).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "api/invoicing.h"
#include "api/object.h"
#include "api/payment_method.h"
#include "api/subscription.h"
#include "billing/period.h"
#include "billing/proration.h"
#include "http/reply.h"
#include "http/req.h"

/* The bounds creation applies (subscription.c). */
#define CHG_ITEMS_MAX 20
#define CHG_QUANTITY_MAX 1000000
#define CHG_TRIAL_DAYS_MAX 730
#define CHG_DESCRIPTION_MAX_LEN 500
/* What invoice_items.amount holds (sql/006-billing-subscriptions.sql). */
#define CHG_ITEM_AMOUNT_MAX 99999999999LL

STMT(chg_lock, "SELECT s.status, s.customer, s.currency, s.interval, s.interval_count,"
               " levy_epoch(s.current_period_start), levy_epoch(s.current_period_end),"
               " levy_epoch(s.billing_cycle_anchor), s.collection_method, s.days_until_due,"
               " levy_subscription_json(s)::text FROM subscriptions s WHERE s.id = $1 FOR UPDATE");
STMT(chg_items, "SELECT i.id, i.plan, i.quantity, p.amount, pr.name FROM subscription_items i"
                " JOIN plans p ON p.id = i.plan JOIN products pr ON pr.id = p.product"
                " WHERE i.subscription = $1 AND NOT i.deleted ORDER BY i.seq");
STMT(chg_plans, "SELECT p.id, p.amount, p.currency, p.interval, p.interval_count, p.active,"
                " pr.name FROM plans p JOIN products pr ON pr.id = p.product"
                " WHERE p.id = ANY ($1::text[]) AND NOT p.deleted");
STMT(chg_update,
     "UPDATE subscriptions s SET"
     " status = coalesce($2::jsonb ->> 'status', s.status),"
     " collection_method = coalesce($2::jsonb ->> 'collection_method', s.collection_method),"
     " days_until_due = CASE WHEN $2::jsonb ? 'days_until_due'"
     "  THEN ($2::jsonb ->> 'days_until_due')::int ELSE s.days_until_due END,"
     " default_payment_method = CASE WHEN $2::jsonb ? 'default_payment_method'"
     "  THEN $2::jsonb ->> 'default_payment_method' ELSE s.default_payment_method END,"
     " billing_cycle_anchor = coalesce(to_timestamp(($2::jsonb ->> 'anchor')::bigint),"
     "  s.billing_cycle_anchor),"
     " current_period_start = coalesce(to_timestamp(($2::jsonb ->> 'period_start')::bigint),"
     "  s.current_period_start),"
     " current_period_end = coalesce(to_timestamp(($2::jsonb ->> 'period_end')::bigint),"
     "  s.current_period_end),"
     " trial_end = coalesce(to_timestamp(($2::jsonb ->> 'trial_end')::bigint), s.trial_end),"
     " cancel_at_period_end = coalesce(($2::jsonb ->> 'cancel_at_period_end')::boolean,"
     "  s.cancel_at_period_end),"
     " cancel_at = CASE WHEN coalesce(($2::jsonb ->> 'cancel_at_period_end')::boolean,"
     "  s.cancel_at_period_end) THEN coalesce(to_timestamp(($2::jsonb ->> 'period_end')::bigint),"
     "  s.current_period_end) END,"
     " description = CASE WHEN $2::jsonb ? 'description' THEN $2::jsonb ->> 'description'"
     "  ELSE s.description END,"
     " metadata = levy_metadata_merge(s.metadata, $3::jsonb)"
     " WHERE s.id = $1");
STMT(chg_items_update,
     "UPDATE subscription_items i SET plan = x.plan, quantity = x.quantity,"
     " metadata = levy_metadata_merge(i.metadata, x.metadata), deleted = x.deleted"
     " FROM jsonb_to_recordset($2::jsonb) AS x(id text, plan text, quantity bigint,"
     " metadata jsonb, deleted boolean) WHERE i.id = x.id AND i.subscription = $1");
STMT(chg_items_insert,
     "INSERT INTO subscription_items AS i (subscription, plan, quantity, metadata)"
     " SELECT $1, x.plan, x.quantity, levy_metadata_merge('{}', x.metadata)"
     " FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (plan text, quantity bigint,"
     " metadata jsonb)) WITH ORDINALITY AS x(plan, quantity, metadata, n)"
     " ORDER BY x.n RETURNING i.plan, i.id");
STMT(chg_prorations_insert,
     "INSERT INTO invoice_items (customer, subscription, subscription_item, plan, currency,"
     " unit_amount, quantity, amount, description, period_start, period_end, proration)"
     " SELECT $1, $2, x.subscription_item, x.plan, $3, x.unit_amount, x.quantity, x.amount,"
     " x.description, to_timestamp(x.period_start), to_timestamp(x.period_end), true"
     " FROM ROWS FROM (jsonb_to_recordset($4::jsonb) AS (subscription_item text, plan text,"
     " unit_amount bigint, quantity bigint, amount bigint, description text,"
     " period_start bigint, period_end bigint)) WITH ORDINALITY AS x(subscription_item, plan,"
     " unit_amount, quantity, amount, description, period_start, period_end, n) ORDER BY x.n");
STMT(chg_past_due,
     "UPDATE subscriptions s SET status = 'past_due' WHERE s.id = $1 AND s.status = 'active'");
STMT(chg_cancel, "UPDATE subscriptions s SET status = 'canceled', canceled_at = now(),"
                 " ended_at = now() WHERE s.id = $1");
/* What inv_create(take_pending) would take for this subscription's invoice. */
STMT(chg_pending, "SELECT count(*) FROM invoice_items t WHERE t.invoice IS NULL AND NOT t.deleted"
                  " AND t.customer = $1 AND t.currency = $2"
                  " AND (t.subscription IS NULL OR t.subscription = $3)");
/*
 * One entitlement per feature key: the newest subscription's (then its
 * latest item's) plan wins, so a customer moving to a new plan sees the new
 * plan's value while the old subscription runs out.
 */
STMT(chg_entitlements,
     "SELECT (SELECT coalesce(jsonb_agg(x.j ORDER BY x.key), '[]')::text FROM ("
     " SELECT DISTINCT ON (f ->> 'key') f ->> 'key' AS key, jsonb_build_object("
     " 'object', 'entitlement', 'key', f ->> 'key', 'name', f ->> 'name',"
     " 'value', f ->> 'value', 'plan', p.id, 'subscription', s.id) AS j"
     " FROM subscriptions s JOIN subscription_items i ON i.subscription = s.id AND NOT i.deleted"
     " JOIN plans p ON p.id = i.plan CROSS JOIN LATERAL jsonb_array_elements(p.features) f"
     " WHERE s.customer = c.id AND s.status IN ('active', 'trialing')"
     " ORDER BY f ->> 'key', s.seq DESC, i.seq DESC) x)"
     " FROM customers c WHERE c.id = $1 AND NOT c.deleted");

/* One item of the subscription, as it is and as the request leaves it. */
struct chg_item {
	const char *id; /* si_; NULL until an added item is inserted */
	bool added;
	bool touched; /* named by the request: written back */
	bool deleted;
	/* before the change (an added item: none) */
	const char *old_plan;
	long long old_quantity;
	long long old_amount;
	const char *old_product;
	/* after */
	const char *plan;
	long long quantity;
	long long amount;
	const char *product;
	const char *metadata; /* JSON for levy_metadata_merge(), NULL: unchanged */
};

/* The subscription as locked, and what the request asks of it. */
struct chg {
	const char *id;
	const char *status;
	const char *customer;
	const char *currency;
	const char *interval;
	long long interval_count;
	long long period_start;
	long long period_end;
	long long anchor;
	const char *collection;
	long long days_until_due; /* send_invoice */
	const char *prev;         /* levy_subscription_json() before the change */
	struct chg_item items[2 * CHG_ITEMS_MAX];
	int nitems;
	int proration; /* index in chg_prorations */
	int behavior;  /* index in chg_behaviors */
	long long proration_date;
	bool trial_now;
	long long trial_end; /* a new, future trial end; 0: none */
	struct json_object *changes;
	const char *metadata;
};

static const char *const chg_prorations[] = {"create_prorations", "none", "always_invoice", NULL};
enum { CHG_PRORATE = 0, CHG_PRORATE_NONE, CHG_PRORATE_INVOICE };
static const char *const chg_behaviors[] = {"allow_incomplete", "error_if_incomplete",
                                            "default_incomplete", "pending_if_incomplete", NULL};
enum { CHG_ALLOW = 0, CHG_ERROR_IF, CHG_DEFAULT_INCOMPLETE, CHG_PENDING_IF };
static const char *const chg_collections[] = {"charge_automatically", "send_invoice", NULL};

/* "17 Aug 2023" (UTC), as Stripe dates its proration lines; month names not from the locale. */
static const char *chg_date(struct req *r, long long t)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11)
		return "?";
	return arena_printf(r->arena, "%d %s %d", tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900);
}

/* Locks the subscription and reads it: 404 when there is none. */
static int chg_load(struct req *r, struct chg *c, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &chg_lock, 1, &c->id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_subscription, c->id, "id");
	c->status = db_str(r->arena, res, 0, 0);
	c->customer = db_str(r->arena, res, 0, 1);
	c->currency = db_str(r->arena, res, 0, 2);
	c->interval = db_str(r->arena, res, 0, 3);
	c->interval_count = db_int(res, 0, 4);
	c->period_start = db_int(res, 0, 5);
	c->period_end = db_int(res, 0, 6);
	c->anchor = db_int(res, 0, 7);
	c->collection = db_str(r->arena, res, 0, 8);
	c->days_until_due = db_int(res, 0, 9);
	c->prev = db_str(r->arena, res, 0, 10);
	return 0;
}

static bool chg_ended(const struct chg *c)
{
	return strcmp(c->status, "canceled") == 0 || strcmp(c->status, "incomplete_expired") == 0;
}

/* Nothing of the current period was paid for: its changes make no prorations. */
static bool chg_unbilled(const struct chg *c)
{
	return strcmp(c->status, "trialing") == 0 || strcmp(c->status, "incomplete") == 0;
}

/* The subscription's items as they are. */
static int chg_load_items(struct req *r, struct chg *c, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &chg_items, 1, &c->id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) > CHG_ITEMS_MAX)
		return err_internal(e, "subscription %s has %d items", c->id, PQntuples(res));
	c->nitems = PQntuples(res);
	for (int k = 0; k < c->nitems; k++) {
		struct chg_item *it = &c->items[k];

		memset(it, 0, sizeof(*it));
		it->id = db_str(r->arena, res, k, 0);
		it->old_plan = it->plan = db_str(r->arena, res, k, 1);
		it->old_quantity = it->quantity = db_int(res, k, 2);
		it->old_amount = it->amount = db_int(res, k, 3);
		it->old_product = it->product = db_str(r->arena, res, k, 4);
	}
	return 0;
}

/* items[i][metadata] through obj_metadata()'s rules, named as the item's. */
static int chg_item_metadata(struct req *r, struct json_object *item, int i, const char **json,
                             struct err *e)
{
	struct req sub = *r;

	sub.in.root = item;
	if (obj_metadata(&sub, json, e) == 0)
		return 0;
	snprintf(e->param, sizeof(e->param), "items[%d][metadata]", i);
	return -1;
}

/* One entry of items[]: a change of an existing item (id), its removal, or a new item. */
static int chg_read_item(struct req *r, struct chg *c, int i, const char **named, struct err *e)
{
	static const char *const allowed[] = {"id",      "price",    "plan", "quantity",
	                                      "deleted", "metadata", NULL};
	struct json_object *obj =
	        json_object_array_get_idx(param_value(&r->in, "items"), (size_t)i);
	const char *id = NULL, *price = NULL, *plan = NULL, *metadata = NULL;
	char name[64];
	long long quantity = 0;
	bool deleted = false;
	struct chg_item *it = NULL;
	int has_quantity;

	snprintf(name, sizeof(name), "items[%d]", i);
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return err_invalid(e, name, "Invalid object: %s.", name);
	if (param_only_in(&r->in, name, allowed, e) != 0)
		return -1;
	snprintf(name, sizeof(name), "items[%d][id]", i);
	if (obj_id_param(r, name, &id, e) < 0)
		return -1;
	snprintf(name, sizeof(name), "items[%d][price]", i);
	if (obj_id_param(r, name, &price, e) < 0)
		return -1;
	snprintf(name, sizeof(name), "items[%d][plan]", i);
	if (obj_id_param(r, name, &plan, e) < 0)
		return -1;
	if (price != NULL && plan != NULL && strcmp(price, plan) != 0)
		return err_invalid(e, name, "You may pass either price or plan, not both.");
	if (price == NULL)
		price = plan;
	snprintf(name, sizeof(name), "items[%d][quantity]", i);
	has_quantity = param_int(&r->in, name, 1, CHG_QUANTITY_MAX, &quantity, e);
	if (has_quantity < 0)
		return -1;
	snprintf(name, sizeof(name), "items[%d][deleted]", i);
	if (param_bool(&r->in, name, &deleted, e) < 0 ||
	    chg_item_metadata(r, obj, i, &metadata, e) != 0)
		return -1;
	if (id != NULL) {
		for (int k = 0; k < c->nitems && it == NULL; k++)
			if (!c->items[k].added && strcmp(c->items[k].id, id) == 0)
				it = &c->items[k];
		snprintf(name, sizeof(name), "items[%d][id]", i);
		if (it == NULL)
			return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", name,
			               "No such subscription item: '%s'", id);
		if (it->touched)
			return err_invalid(e, name,
			                   "The subscription item %s is named more than once.", id);
	} else {
		snprintf(name, sizeof(name), "items[%d][price]", i);
		if (deleted) {
			snprintf(name, sizeof(name), "items[%d][id]", i);
			return err_missing(e, name);
		}
		if (price == NULL)
			return err_missing(e, name);
		it = &c->items[c->nitems++];
		memset(it, 0, sizeof(*it));
		it->added = true;
		it->quantity = 1;
	}
	if (deleted && (price != NULL || has_quantity == 1 || metadata != NULL)) {
		snprintf(name, sizeof(name), "items[%d][deleted]", i);
		return err_invalid(e, name,
		                   "A deleted item takes no price, plan, quantity or metadata.");
	}
	it->touched = true;
	it->deleted = deleted;
	it->metadata = metadata;
	if (has_quantity == 1)
		it->quantity = quantity;
	named[i] = price;
	if (price != NULL && !it->added && strcmp(price, it->plan) == 0)
		named[i] = NULL; /* its own plan: not a change */
	if (price != NULL)
		it->plan = price;
	return 0;
}

/*
 * The plans items[] names (named[i] for items[i], NULL: none): found,
 * active, of the subscription's currency and schedule.
 */
static int chg_load_plans(struct req *r, struct chg *c, const char *const *named, int n,
                          struct err *e)
{
	char *ids = arena_strdup(r->arena, "{");
	PGresult *res;
	char name[64];
	int k = 0;

	for (int i = 0; i < n; i++)
		if (named[i] != NULL)
			ids = arena_printf(r->arena, "%s%s%s", ids, k++ > 0 ? "," : "", named[i]);
	if (k == 0)
		return 0;
	ids = arena_printf(r->arena, "%s}", ids);
	res = db_exec(r->db, r->arena, &chg_plans, 1, (const char *const *)&ids, e);
	if (res == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		int row = -1;

		if (named[i] == NULL)
			continue;
		for (int j = 0; j < PQntuples(res) && row < 0; j++)
			if (strcmp(PQgetvalue(res, j, 0), named[i]) == 0)
				row = j;
		snprintf(name, sizeof(name), "items[%d][price]", i);
		if (row < 0)
			return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", name,
			               "No such price: '%s'", named[i]);
		if (!db_bool(res, row, 5))
			return err_invalid(e, name,
			                   "The price specified is inactive. This field only "
			                   "accepts active prices.");
		if (strcmp(PQgetvalue(res, row, 2), c->currency) != 0)
			return err_invalid(e, name,
			                   "All prices on a subscription must have the same "
			                   "currency.");
		if (strcmp(PQgetvalue(res, row, 3), c->interval) != 0 ||
		    db_int(res, row, 4) != c->interval_count)
			return err_invalid(e, name,
			                   "All prices on a subscription must have the same "
			                   "recurring interval and interval_count.");
		/* named[i] is the very string items[i] took as its plan (chg_read_item). */
		for (int j = 0; j < c->nitems; j++) {
			struct chg_item *it = &c->items[j];

			if (it->plan == named[i]) {
				it->amount = db_int(res, row, 1);
				it->product = db_str(r->arena, res, row, 6);
			}
		}
	}
	return 0;
}

/* items[]: the changes, removals and additions, checked whole. */
static int chg_read_items(struct req *r, struct chg *c, struct err *e)
{
	struct json_object *items = param_value(&r->in, "items");
	const char *named[2 * CHG_ITEMS_MAX];
	int n, live = 0;

	/* Loaded even without items[]: a trial ended now bills them. */
	if (chg_load_items(r, c, e) != 0)
		return -1;
	if (items == NULL)
		return 0;
	if (!json_object_is_type(items, json_type_array))
		return err_invalid(e, "items", "Invalid array: items.");
	if (json_object_array_length(items) > CHG_ITEMS_MAX)
		return err_invalid(e, "items", "A subscription may have at most %d items.",
		                   CHG_ITEMS_MAX);
	n = (int)json_object_array_length(items);
	for (int i = 0; i < n; i++)
		if (chg_read_item(r, c, i, named, e) != 0)
			return -1;
	if (chg_load_plans(r, c, named, n, e) != 0)
		return -1;
	for (int i = 0; i < c->nitems; i++) {
		if (c->items[i].deleted)
			continue;
		live++;
		for (int k = 0; k < i; k++)
			if (!c->items[k].deleted && strcmp(c->items[k].plan, c->items[i].plan) == 0)
				return err_invalid(
				        e, "items",
				        "Cannot add multiple subscription items with the "
				        "same plan: %s.",
				        c->items[i].plan);
	}
	if (live == 0)
		return err_invalid(e, "items",
		                   "A subscription must keep at least one item: add one before "
		                   "removing the last.");
	if (live > CHG_ITEMS_MAX)
		return err_invalid(e, "items", "A subscription may have at most %d items.",
		                   CHG_ITEMS_MAX);
	return 0;
}

/* trial_end: "now" ends a trial at once, a future time moves its end. */
static int chg_read_trial(struct req *r, struct chg *c, struct err *e)
{
	struct json_object *v = param_value(&r->in, "trial_end");

	if (v == NULL)
		return 0;
	if (strcmp(c->status, "trialing") != 0)
		return err_invalid(e, "trial_end",
		                   "The subscription is not trialing: only a trial's end can be "
		                   "changed.");
	if (json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "now") == 0) {
		c->trial_now = true;
		return 0;
	}
	return param_int(&r->in, "trial_end", r->now + 1, r->now + CHG_TRIAL_DAYS_MAX * 86400LL,
	                 &c->trial_end, e) < 0
	               ? -1
	               : 0;
}

/* default_payment_method: one attached to the customer, or "" to clear it. */
static int chg_read_pm(struct req *r, struct chg *c, struct err *e)
{
	const char *pm;
	int rc = param_str(&r->in, "default_payment_method", OBJ_ID_MAX_LEN, true, &pm, e);

	if (rc <= 0)
		return rc;
	if (pm[0] == '\0') {
		json_object_object_add(c->changes, "default_payment_method", NULL);
		return 0;
	}
	if (obj_id_param(r, "default_payment_method", &pm, e) < 0)
		return -1;
	if (payment_method_of_customer(r, pm, c->customer, "default_payment_method", e) != 0)
		return -1;
	json_object_object_add(c->changes, "default_payment_method", json_object_new_string(pm));
	return 0;
}

/* collection_method and days_until_due, checked against each other as they will be. */
static int chg_read_collection(struct req *r, struct chg *c, struct err *e)
{
	const char *was = c->collection;
	int collection = -1;
	long long days = 0;
	int has_days;

	if (param_enum(&r->in, "collection_method", chg_collections, &collection, e) < 0)
		return -1;
	has_days = param_int(&r->in, "days_until_due", 0, 730, &days, e);
	if (has_days < 0)
		return -1;
	if (collection >= 0) {
		c->collection = chg_collections[collection];
		json_object_object_add(c->changes, "collection_method",
		                       json_object_new_string(c->collection));
	}
	if (strcmp(c->collection, "send_invoice") == 0) {
		if (has_days == 1) {
			c->days_until_due = days;
			json_object_object_add(c->changes, "days_until_due",
			                       json_object_new_int64(days));
		} else if (strcmp(was, "send_invoice") != 0) {
			return err_missing(e, "days_until_due");
		}
		return 0;
	}
	if (has_days == 1)
		return err_invalid(
		        e, "days_until_due",
		        "days_until_due is only valid with collection_method send_invoice.");
	if (collection >= 0)
		json_object_object_add(c->changes, "days_until_due", NULL);
	return 0;
}

static int chg_read(struct req *r, struct chg *c, struct err *e)
{
	bool cancel;
	int rc;

	if (param_enum(&r->in, "payment_behavior", chg_behaviors, &c->behavior, e) < 0 ||
	    param_enum(&r->in, "proration_behavior", chg_prorations, &c->proration, e) < 0)
		return -1;
	if (c->behavior == CHG_PENDING_IF)
		return err_invalid(
		        e, "payment_behavior",
		        "payment_behavior pending_if_incomplete is not supported by levy "
		        "yet: use allow_incomplete or error_if_incomplete.");
	if (chg_load(r, c, e) != 0)
		return -1;
	if (chg_ended(c))
		return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL,
		               "You cannot update a subscription that is `canceled` or "
		               "`incomplete_expired`.");
	c->proration_date = r->now;
	if (param_int(&r->in, "proration_date", c->period_start, c->period_end - 1,
	              &c->proration_date, e) < 0)
		return -1;
	rc = param_bool(&r->in, "cancel_at_period_end", &cancel, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(c->changes, "cancel_at_period_end",
		                       json_object_new_boolean(cancel));
	if (obj_change_str(r, c->changes, "description", "description", CHG_DESCRIPTION_MAX_LEN,
	                   e) != 0 ||
	    obj_metadata(r, &c->metadata, e) != 0 || chg_read_collection(r, c, e) != 0 ||
	    chg_read_pm(r, c, e) != 0 || chg_read_trial(r, c, e) != 0)
		return -1;
	return chg_read_items(r, c, e);
}

/* The trial's end moves the period: "now" starts a full period now, a future end ends it. */
static int chg_trial(struct req *r, struct chg *c, struct err *e)
{
	enum interval iv;
	long long end;

	if (c->trial_end != 0) {
		json_object_object_add(c->changes, "trial_end",
		                       json_object_new_int64(c->trial_end));
		json_object_object_add(c->changes, "anchor", json_object_new_int64(c->trial_end));
		json_object_object_add(c->changes, "period_end",
		                       json_object_new_int64(c->trial_end));
		c->period_end = c->trial_end;
		return 0;
	}
	if (!c->trial_now)
		return 0;
	if (period_interval_parse(c->interval, &iv) != 0 ||
	    period_nth(r->now, iv, c->interval_count, 1, &end) != 0)
		return err_internal(e, "a period of %lld %s from %lld", c->interval_count,
		                    c->interval, r->now);
	json_object_object_add(c->changes, "status", json_object_new_string("active"));
	json_object_object_add(c->changes, "trial_end", json_object_new_int64(r->now));
	json_object_object_add(c->changes, "anchor", json_object_new_int64(r->now));
	json_object_object_add(c->changes, "period_start", json_object_new_int64(r->now));
	json_object_object_add(c->changes, "period_end", json_object_new_int64(end));
	c->period_start = r->now;
	c->period_end = end;
	return 0;
}

/* Writes the subscription's own fields and its items. */
static int chg_write(struct req *r, struct chg *c, struct err *e)
{
	struct json_object *upd = json_object_new_array(), *add = json_object_new_array();
	const char *params[3] = {c->id, NULL, NULL};
	PGresult *res = NULL;
	int rc = -1;

	params[1] = json_object_to_json_string_ext(c->changes, JSON_C_TO_STRING_PLAIN);
	params[2] = c->metadata;
	if (db_exec(r->db, r->arena, &chg_update, 3, params, e) == NULL)
		goto done;
	for (int i = 0; i < c->nitems; i++) {
		struct chg_item *it = &c->items[i];
		struct json_object *o;

		if (!it->touched)
			continue;
		o = json_object_new_object();
		if (!it->added)
			json_object_object_add(o, "id", json_object_new_string(it->id));
		json_object_object_add(o, "plan", json_object_new_string(it->plan));
		json_object_object_add(o, "quantity", json_object_new_int64(it->quantity));
		json_object_object_add(o, "metadata",
		                       it->metadata != NULL ? json_tokener_parse(it->metadata)
		                                            : NULL);
		json_object_object_add(o, "deleted", json_object_new_boolean(it->deleted));
		json_object_array_add(it->added ? add : upd, o);
	}
	params[1] = json_object_to_json_string_ext(upd, JSON_C_TO_STRING_PLAIN);
	if (json_object_array_length(upd) > 0 &&
	    db_exec(r->db, r->arena, &chg_items_update, 2, params, e) == NULL)
		goto done;
	params[1] = json_object_to_json_string_ext(add, JSON_C_TO_STRING_PLAIN);
	if (json_object_array_length(add) > 0) {
		res = db_exec(r->db, r->arena, &chg_items_insert, 2, params, e);
		if (res == NULL)
			goto done;
		for (int k = 0; k < PQntuples(res); k++)
			for (int i = 0; i < c->nitems; i++)
				if (c->items[i].added && c->items[i].id == NULL &&
				    strcmp(PQgetvalue(res, k, 0), c->items[i].plan) == 0)
					c->items[i].id = db_str(r->arena, res, k, 1);
	}
	rc = 0;
done:
	json_object_put(upd);
	json_object_put(add);
	return rc;
}

/* One proration line: an invoice item of amount for [t, period_end]. */
static int chg_line(struct req *r, struct json_object *lines, const struct chg *c,
                    const struct chg_item *it, bool credit, long long t, long long amount,
                    struct err *e)
{
	struct json_object *o;
	long long quantity = credit ? it->old_quantity : it->quantity;

	if (amount > CHG_ITEM_AMOUNT_MAX || amount < -CHG_ITEM_AMOUNT_MAX)
		return err_invalid(e, "items",
		                   "The change's proration is beyond what levy can bill on one "
		                   "invoice item.");
	o = json_object_new_object();
	json_object_object_add(o, "subscription_item", json_object_new_string(it->id));
	json_object_object_add(o, "plan", json_object_new_string(credit ? it->old_plan : it->plan));
	json_object_object_add(o, "unit_amount",
	                       quantity > 0 && amount % quantity == 0
	                               ? json_object_new_int64(amount / quantity)
	                               : NULL);
	json_object_object_add(o, "quantity", json_object_new_int64(quantity));
	json_object_object_add(o, "amount", json_object_new_int64(amount));
	json_object_object_add(
	        o, "description",
	        json_object_new_string(arena_printf(
	                r->arena, "%s time on %lld × %s after %s", credit ? "Unused" : "Remaining",
	                quantity, credit ? it->old_product : it->product, chg_date(r, t))));
	json_object_object_add(o, "period_start", json_object_new_int64(t));
	json_object_object_add(o, "period_end", json_object_new_int64(c->period_end));
	json_object_array_add(lines, o);
	return 0;
}

/*
 * The period prorations are computed over: the current one, or for the
 * short first period before a future billing_cycle_anchor (billed as a
 * share of the full period after the anchor) that full period, ending at
 * the anchor.  *start may then lie before the current period's start.
 */
static int chg_proration_period(const struct chg *c, long long *start, struct err *e)
{
	enum interval iv;
	long long next;

	*start = c->period_start;
	if (!(c->period_end == c->anchor && c->period_start < c->anchor))
		return 0;
	if (period_interval_parse(c->interval, &iv) != 0 ||
	    period_nth(c->anchor, iv, c->interval_count, 1, &next) != 0)
		return err_internal(e, "a period of %lld %s from %lld", c->interval_count,
		                    c->interval, c->anchor);
	*start = c->anchor - (next - c->anchor);
	return 0;
}

/*
 * The proration lines of the changed items at t (the file's head comment
 * has the rule), as invoice items; removing (cancel) credits every item.
 * *made: how many.
 */
static int chg_prorate(struct req *r, const struct chg *c, long long t, bool cancel, int *made,
                       struct err *e)
{
	struct json_object *lines;
	const char *params[4];
	long long start;
	int rc = -1;

	*made = 0;
	if (t >= c->period_end || chg_unbilled(c))
		return 0; /* nothing of the period is left, or nothing of it was paid */
	if (chg_proration_period(c, &start, e) != 0)
		return -1;
	lines = json_object_new_array();
	for (int i = 0; i < c->nitems; i++) {
		const struct chg_item *it = &c->items[i];
		bool gone = cancel || it->deleted;
		long long old_total = it->added ? 0 : it->old_amount * it->old_quantity;
		long long new_total = gone ? 0 : it->amount * it->quantity;
		long long credit, debit;

		if (!cancel && (!it->touched || (!it->added && !it->deleted &&
		                                 strcmp(it->plan, it->old_plan) == 0 &&
		                                 it->quantity == it->old_quantity)))
			continue; /* unchanged (metadata is not a change of price) */
		if (proration_change(old_total, new_total, start, c->period_end, t, &credit,
		                     &debit) != 0) {
			err_internal(e, "prorating %lld -> %lld in [%lld, %lld) at %lld", old_total,
			             new_total, start, c->period_end, t);
			goto done;
		}
		if (!it->added && chg_line(r, lines, c, it, true, t, credit, e) != 0)
			goto done;
		if (!gone && chg_line(r, lines, c, it, false, t, debit, e) != 0)
			goto done;
	}
	*made = (int)json_object_array_length(lines);
	rc = 0;
	if (*made == 0)
		goto done;
	params[0] = c->customer;
	params[1] = c->id;
	params[2] = c->currency;
	params[3] = json_object_to_json_string_ext(lines, JSON_C_TO_STRING_PLAIN);
	if (db_exec(r->db, r->arena, &chg_prorations_insert, 4, params, e) == NULL)
		rc = -1;
done:
	json_object_put(lines);
	return rc;
}

/*
 * An invoice of the subscription now (billing_reason subscription_update):
 * its pending items, and with full_period a line per item for the whole
 * new period (a trial ended now).  It becomes the latest invoice.
 */
static int chg_invoice(struct req *r, const struct chg *c, bool full_period, const char **invoice,
                       struct err *e)
{
	struct inv_line lines[CHG_ITEMS_MAX];
	struct inv_new n = {0};

	for (int i = 0; full_period && i < c->nitems; i++) {
		const struct chg_item *it = &c->items[i];

		if (it->deleted)
			continue;
		lines[n.nlines++] = (struct inv_line){
		        .type = "subscription",
		        .amount = it->amount * it->quantity, /* both bounded: no overflow */
		        .quantity = it->quantity,
		        .plan = it->plan,
		        .description =
		                arena_printf(r->arena, "%lld × %s", it->quantity, it->product),
		        .period_start = c->period_start,
		        .period_end = c->period_end,
		        .subscription_item = it->id};
	}
	n.customer = c->customer;
	n.subscription = c->id;
	n.billing_reason = "subscription_update";
	n.collection_method = c->collection;
	n.currency = c->currency;
	n.period_start = full_period ? c->period_start : r->now;
	n.period_end = full_period ? c->period_end : r->now;
	n.lines = lines;
	n.take_pending = true;
	n.days_until_due = c->days_until_due;
	return inv_create(r, &n, invoice, e);
}

/* Finalizes the update's invoice and collects it as payment_behavior says. */
static int chg_collect(struct req *r, const struct chg *c, const char *invoice, struct err *e)
{
	struct pay_outcome o;
	const char *prev;
	bool paid;

	if (inv_finalize(r, invoice, &paid, e) != 0)
		return -1;
	/* Nothing due: finalizing paid it. */
	if (paid || strcmp(c->collection, "charge_automatically") != 0)
		return 0;
	if (c->behavior == CHG_DEFAULT_INCOMPLETE) {
		/* No attempt: the subscription waits, past_due, for the invoice's payment. */
		prev = inv_object_text(r, "subscription", c->id, e);
		if (prev == NULL || db_exec(r->db, r->arena, &chg_past_due, 1, &c->id, e) == NULL)
			return -1;
		return inv_emit(r, "customer.subscription.updated", "subscription", c->id, prev, e);
	}
	if (inv_pay(r, invoice, NULL, false, true, &o, e) != 0)
		return -1;
	/* error_if_incomplete: a decline changes nothing (the transaction is undone). */
	if (o.attempted && !o.succeeded && c->behavior == CHG_ERROR_IF)
		return inv_card_error(&o, e);
	return 0;
}

int subscription_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"items",
	                                      "proration_behavior",
	                                      "proration_date",
	                                      "trial_end",
	                                      "cancel_at_period_end",
	                                      "default_payment_method",
	                                      "collection_method",
	                                      "days_until_due",
	                                      "description",
	                                      "metadata",
	                                      "payment_behavior",
	                                      NULL};
	struct chg *c = arena_alloc(r->arena, sizeof(*c));
	const char *invoice = NULL, *text;
	int made = 0, rc = -1;

	memset(c, 0, sizeof(*c));
	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_subscription, &c->id, e) != 0)
		return -1;
	c->changes = json_object_new_object();
	if (chg_read(r, c, e) != 0 || chg_trial(r, c, e) != 0 || chg_write(r, c, e) != 0)
		goto done;
	if (c->proration != CHG_PRORATE_NONE &&
	    chg_prorate(r, c, c->proration_date, false, &made, e) != 0)
		goto done;
	if (c->trial_now || (c->proration == CHG_PRORATE_INVOICE && made > 0)) {
		if (chg_invoice(r, c, c->trial_now, &invoice, e) != 0)
			goto done;
	}
	if (inv_emit(r, "customer.subscription.updated", "subscription", c->id, c->prev, e) != 0 ||
	    (invoice != NULL && chg_collect(r, c, invoice, e) != 0))
		goto done;
	text = inv_object_text(r, "subscription", c->id, e);
	rc = text != NULL ? obj_reply(r, out, 200, &obj_subscription, text, e) : -1;
done:
	json_object_put(c->changes);
	return rc;
}

int subscription_cancel(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"invoice_now", "prorate", NULL};
	struct chg *c = arena_alloc(r->arena, sizeof(*c));
	bool invoice_now = false, prorate = false;
	const char *invoice = NULL, *text, *params[3];
	PGresult *res;
	int made = 0;

	memset(c, 0, sizeof(*c));
	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_subscription, &c->id, e) != 0 ||
	    param_bool(&r->in, "invoice_now", &invoice_now, e) < 0 ||
	    param_bool(&r->in, "prorate", &prorate, e) < 0 || chg_load(r, c, e) != 0)
		return -1;
	/* As Stripe: an ended subscription is gone for cancellation. */
	if (chg_ended(c))
		return obj_missing(e, &obj_subscription, c->id, "id");
	if (prorate &&
	    (chg_load_items(r, c, e) != 0 || chg_prorate(r, c, r->now, true, &made, e) != 0))
		return -1;
	if (db_exec(r->db, r->arena, &chg_cancel, 1, &c->id, e) == NULL)
		return -1;
	if (invoice_now) {
		params[0] = c->customer;
		params[1] = c->currency;
		params[2] = c->id;
		res = db_exec(r->db, r->arena, &chg_pending, 3, params, e);
		if (res == NULL)
			return -1;
		/* A final invoice when something is pending; a credit goes to the balance. */
		if (db_int(res, 0, 0) > 0 && (chg_invoice(r, c, false, &invoice, e) != 0 ||
		                              inv_finalize(r, invoice, NULL, e) != 0))
			return -1;
	}
	if (inv_emit(r, "customer.subscription.deleted", "subscription", c->id, c->prev, e) != 0)
		return -1;
	text = inv_object_text(r, "subscription", c->id, e);
	return text != NULL ? obj_reply(r, out, 200, &obj_subscription, text, e) : -1;
}

int subscription_entitlements(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	struct json_object *body, *data;
	PGresult *res;

	if (param_only(&r->in, allowed, e) != 0 || obj_path_id(r, 0, &obj_customer, &id, e) != 0)
		return -1;
	db_final(r->db);
	res = db_exec(r->db, r->arena, &chg_entitlements, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, id, "id");
	data = json_tokener_parse(PQgetvalue(res, 0, 0));
	if (data == NULL)
		return err_internal(e, "entitlements of %s: unparsable JSON", id);
	body = json_object_new_object();
	json_object_object_add(body, "object", json_object_new_string("list"));
	json_object_object_add(body, "data", data);
	json_object_object_add(body, "has_more", json_object_new_boolean(0));
	json_object_object_add(body, "url",
	                       json_object_new_string(arena_printf(
	                               r->arena, "/v1/customers/%s/entitlements", id)));
	return reply_json(r, out, 200, body);
}
