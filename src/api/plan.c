/*
 * Plans (plan_), in the shape of Stripe's Plans API.  The price (amount,
 * currency, interval, interval_count, product) is fixed at creation, as in
 * Stripe: update does not take those params at all, so it answers them as
 * unknown, which is what Stripe answers.  Features are levy's addition:
 * what a subscriber to the plan is entitled to.  Deletion is soft: a
 * deleted plan retrieves as {"id", "object", "deleted": true}, is missing
 * from lists and can no longer be changed or subscribed to.
 *
 * Publishable keys (pricing pages) see a plan only when it could be
 * bought: the plan is active and so is its product.  Anything else is a
 * 404 to them, so that expanding the product shows nothing inactive either.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/object.h"
#include "api/plan.h"
#include "api/product.h"
#include "billing/money.h"
#include "billing/period.h"
#include "core/str.h"
#include "http/reply.h"
#include "http/req.h"

#define PLAN_NICKNAME_MAX_LEN 250
/* Stripe's limit on a plan's default trial. */
#define PLAN_TRIAL_DAYS_MAX 730
/* Longer than any currency code: what is bounded before the code is checked. */
#define PLAN_CURRENCY_MAX_LEN 16
/* Bounds what is parsed; period_interval_valid() then holds Stripe's 3-year limit. */
#define PLAN_INTERVAL_COUNT_MAX 1000000

/* Features (levy's addition). */
#define PLAN_FEATURES_MAX 100
#define PLAN_FEATURE_KEY_MAX_LEN 64
#define PLAN_FEATURE_NAME_MAX_CHARS 250
#define PLAN_FEATURE_VALUE_MAX_CHARS 500
/* A UTF-8 character is at most 4 bytes: the byte bound before characters are counted. */
#define PLAN_UTF8_MAX_BYTES 4

STMT(plan_insert, "INSERT INTO plans AS t (id, product, amount, currency, interval, interval_count,"
                  " trial_period_days, nickname, active, features, metadata)"
                  " VALUES (coalesce($1, levy_new_id('plan_')), $2, $3::bigint, $4, $5,"
                  " $6::integer, $7::integer, $8, coalesce($9::boolean, true),"
                  " coalesce($10::jsonb, '[]'), levy_metadata_merge('{}', $11::jsonb))"
                  " ON CONFLICT (tenant_id, livemode, id) DO NOTHING"
                  " RETURNING levy_plan_json(t)::text");
/* The second column: may a publishable key see it (the plan and its product active). */
STMT(plan_get, "SELECT levy_plan_json(t)::text, t.active AND NOT t.deleted AND EXISTS"
               " (SELECT 1 FROM products p WHERE p.id = t.product AND p.active AND NOT p.deleted)"
               " FROM plans t WHERE t.id = $1");
STMT(plan_change, "UPDATE plans t SET"
                  " nickname = CASE WHEN $2::jsonb ? 'nickname' THEN $2::jsonb ->> 'nickname'"
                  "  ELSE t.nickname END,"
                  " active = coalesce(($2::jsonb ->> 'active')::boolean, t.active),"
                  " trial_period_days = coalesce(($2::jsonb ->> 'trial_period_days')::integer,"
                  "  t.trial_period_days),"
                  " features = coalesce($2::jsonb -> 'features', t.features),"
                  " metadata = levy_metadata_merge(t.metadata, $3::jsonb)"
                  " WHERE t.id = $1 AND NOT t.deleted RETURNING levy_plan_json(t)::text");
STMT(plan_soft_delete,
     "UPDATE plans t SET deleted = true WHERE t.id = $1 AND NOT t.deleted RETURNING t.id");
STMT(plan_list_stmt,
     OBJ_LIST_SQL("levy_plan_json(t)", "plans t",
                  "NOT t.deleted AND ($4::boolean IS NULL OR t.active = $4::boolean)"
                  " AND ($5::text IS NULL OR t.product = $5::text)"
                  " AND (NOT $6::boolean OR (t.active AND EXISTS (SELECT 1 FROM products p"
                  " WHERE p.id = t.product AND p.active AND NOT p.deleted)))"));

static const char *const plan_intervals[] = {"day", "week", "month", "year", NULL};

/* A publishable key (pricing pages): plans that can be bought only. */
static bool plan_public_only(const struct req *r)
{
	return r->who.kind == P_API_KEY && !r->who.secret_key;
}

/* Characters, not bytes: the decoders have already refused invalid UTF-8. */
static size_t plan_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * ^[a-z0-9][a-z0-9_.-]{0,63}$: keys are what a tenant's code compares when it
 * checks an entitlement, so one spelling per feature (no case, no spaces).
 */
static bool plan_feature_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > PLAN_FEATURE_KEY_MAX_LEN || strchr("_.-", k[0]) != NULL)
		return false;
	return strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Does the features array hold key already? */
static bool plan_feature_has(struct json_object *features, const char *key)
{
	for (size_t k = 0; k < json_object_array_length(features); k++) {
		struct json_object *f = json_object_array_get_idx(features, k);

		if (strcmp(json_object_get_string(json_object_object_get(f, "key")), key) == 0)
			return true;
	}
	return false;
}

/* One feature, features[i], appended to out. */
static int plan_feature(struct req *r, size_t i, struct json_object *out, struct err *e)
{
	static const char *const allowed[] = {"key", "name", "value", NULL};
	const char *base = arena_printf(r->arena, "features[%zu]", i);
	const char *kp = arena_printf(r->arena, "%s[key]", base);
	const char *np = arena_printf(r->arena, "%s[name]", base);
	const char *vp = arena_printf(r->arena, "%s[value]", base);
	const char *key, *name, *value = "";
	struct json_object *f;
	int rc;

	if (param_value(&r->in, base) == NULL ||
	    !json_object_is_type(param_value(&r->in, base), json_type_object))
		return err_invalid(e, base,
		                   "Invalid %s: a feature is an object {key, name, value}.", base);
	if (param_only_in(&r->in, base, allowed, e) != 0 ||
	    param_req_str(&r->in, kp, PLAN_FEATURE_KEY_MAX_LEN, &key, e) != 0)
		return -1;
	if (!plan_feature_key_ok(key))
		return err_invalid(
		        e, kp,
		        "Invalid %s: a key is 1 to %d characters of a-z, 0-9, '_', '.' and "
		        "'-', starting with a letter or digit.",
		        kp, PLAN_FEATURE_KEY_MAX_LEN);
	if (plan_feature_has(out, key))
		return err_invalid(e, kp, "Invalid %s: the plan already has a feature %s.", kp,
		                   key);
	if (param_req_str(&r->in, np, PLAN_FEATURE_NAME_MAX_CHARS * PLAN_UTF8_MAX_BYTES, &name,
	                  e) != 0)
		return -1;
	if (plan_utf8_chars(name) > PLAN_FEATURE_NAME_MAX_CHARS)
		return err_invalid(e, np, "Invalid %s: at most %d characters.", np,
		                   PLAN_FEATURE_NAME_MAX_CHARS);
	rc = param_str(&r->in, vp, PLAN_FEATURE_VALUE_MAX_CHARS * PLAN_UTF8_MAX_BYTES, true, &value,
	               e);
	if (rc < 0)
		return -1;
	if (plan_utf8_chars(value) > PLAN_FEATURE_VALUE_MAX_CHARS)
		return err_invalid(e, vp, "Invalid %s: at most %d characters.", vp,
		                   PLAN_FEATURE_VALUE_MAX_CHARS);
	f = json_object_new_object();
	json_object_object_add(f, "key", json_object_new_string(key));
	json_object_object_add(f, "name", json_object_new_string(name));
	json_object_object_add(f, "value", json_object_new_string(value));
	json_object_array_add(out, f);
	return 0;
}

/*
 * features: an array of {key, name, value} (value optional: ""), or ""
 * (Stripe's way of clearing a list): *features a new array, or NULL when
 * absent.
 */
static int plan_features(struct req *r, struct json_object **features, struct err *e)
{
	struct json_object *v = param_value(&r->in, "features"), *out;
	size_t n;

	*features = NULL;
	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) {
		*features = json_object_new_array();
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return err_invalid(
		        e, "features",
		        "Invalid array: features must be an array of {key, name, value}.");
	n = json_object_array_length(v);
	if (n > PLAN_FEATURES_MAX)
		return err_invalid(e, "features",
		                   "Invalid features: a plan has at most %d features.",
		                   PLAN_FEATURES_MAX);
	out = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		if (plan_feature(r, i, out, e) != 0) {
			json_object_put(out);
			return -1;
		}
	*features = out;
	return 0;
}

/* The fields create and update share: nickname, active, trial_period_days, features. */
static int plan_fields(struct req *r, struct json_object *changes, struct err *e)
{
	struct json_object *features;
	long long trial;
	bool active;
	int rc;

	if (obj_change_str(r, changes, "nickname", "nickname", PLAN_NICKNAME_MAX_LEN, e) != 0)
		return -1;
	rc = param_bool(&r->in, "active", &active, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "active", json_object_new_boolean(active));
	rc = param_int(&r->in, "trial_period_days", 0, PLAN_TRIAL_DAYS_MAX, &trial, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "trial_period_days", json_object_new_int64(trial));
	if (plan_features(r, &features, e) != 0)
		return -1;
	if (features != NULL)
		json_object_object_add(changes, "features", features);
	return 0;
}

/* The price: amount, currency (lowercased, as Stripe stores it), interval, interval_count. */
static int plan_price(struct req *r, const char **params, struct err *e)
{
	const char *cur;
	char *lower;
	long long amount, count = 1;
	enum interval iv;
	int rc, which;

	rc = param_int(&r->in, "amount", 0, MONEY_AMOUNT_MAX, &amount, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_missing(e, "amount");
	if (param_req_str(&r->in, "currency", PLAN_CURRENCY_MAX_LEN, &cur, e) != 0)
		return -1;
	lower = arena_strdup(r->arena, cur);
	str_lower_ascii(lower);
	if (!money_currency_valid(lower))
		return err_invalid(e, "currency", "Invalid currency: %s.", cur);
	rc = param_enum(&r->in, "interval", plan_intervals, &which, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_missing(e, "interval");
	if (period_interval_parse(plan_intervals[which], &iv) != 0)
		return err_internal(e, "interval %s has no period", plan_intervals[which]);
	if (param_int(&r->in, "interval_count", 1, PLAN_INTERVAL_COUNT_MAX, &count, e) < 0)
		return -1;
	if (!period_interval_valid(iv, count))
		return err_invalid(e, "interval_count",
		                   "Invalid interval_count: the maximum billing period is 3 years "
		                   "(3 years, 36 months, 156 weeks or 1095 days).");
	params[0] = arena_printf(r->arena, "%lld", amount);
	params[1] = lower;
	params[2] = plan_intervals[which];
	params[3] = arena_printf(r->arena, "%lld", count);
	return 0;
}

/* product: an id (held against deletion until commit) or an inline {name, ...}. */
static int plan_product(struct req *r, const char **product, struct err *e)
{
	struct json_object *v = param_value(&r->in, "product");

	if (v == NULL)
		return err_missing(e, "product");
	if (json_object_is_type(v, json_type_object))
		return product_create_inline(r, "product", product, e);
	if (obj_id_param(r, "product", product, e) < 0)
		return -1;
	return product_hold(r, *product, "product", e);
}

/* A field of changes as a statement param: a string, or JSON text for features. */
static const char *plan_text(struct req *r, struct json_object *changes, const char *key)
{
	struct json_object *v = json_object_object_get(changes, key);

	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_array))
		return arena_strdup(r->arena, json_object_to_json_string_ext(
		                                      v, JSON_C_TO_STRING_PLAIN |
		                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	return arena_strdup(r->arena, json_object_get_string(v));
}

int plan_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "id",       "amount", "currency", "interval", "interval_count",    "product",
	        "nickname", "active", "features", "metadata", "trial_period_days", NULL};
	struct json_object *changes = json_object_new_object();
	const char *params[11] = {NULL};
	PGresult *res;
	int rc = -1;

	/* Everything that needs no statement is checked before the inline product is made. */
	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "id", &params[0], e) < 0 ||
	    plan_price(r, &params[2], e) != 0 || plan_fields(r, changes, e) != 0 ||
	    obj_metadata(r, &params[10], e) != 0 || plan_product(r, &params[1], e) != 0)
		goto done;
	params[6] = plan_text(r, changes, "trial_period_days");
	params[7] = plan_text(r, changes, "nickname");
	params[8] = plan_text(r, changes, "active");
	params[9] = plan_text(r, changes, "features");
	res = db_exec(r->db, r->arena, &plan_insert, 11, params, e);
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1) {
		err_set(e, 400, E_INVALID_REQUEST, "resource_already_exists", "id",
		        "Plan already exists.");
		goto done;
	}
	rc = obj_reply(r, out, 200, &obj_plan, PQgetvalue(res, 0, 0), e);
done:
	json_object_put(changes);
	return rc;
}

/*
 * The plan as the caller may see it: NULL with e = 404 when it does not
 * exist, or the caller has a publishable key and it cannot be bought.
 */
static const char *plan_visible(struct req *r, const char *id, const char *param, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &plan_get, 1, &id, e);

	if (res == NULL)
		return NULL;
	if (PQntuples(res) != 1 || (plan_public_only(r) && !db_bool(res, 0, 1))) {
		obj_missing(e, &obj_plan, id, param);
		return NULL;
	}
	return PQgetvalue(res, 0, 0);
}

int plan_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id, *json;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_plan, &id, e) != 0)
		return -1;
	obj_final(r);
	json = plan_visible(r, id, "id", e);
	if (json == NULL)
		return -1;
	return obj_reply(r, out, 200, &obj_plan, json, e);
}

int plan_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"nickname", "active",   "trial_period_days",
	                                      "metadata", "features", NULL};
	struct json_object *changes = json_object_new_object();
	const char *id, *params[3];
	PGresult *res;
	int rc = -1;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_plan, &id, e) != 0 ||
	    plan_fields(r, changes, e) != 0 || obj_metadata(r, &params[2], e) != 0)
		goto done;
	params[0] = id;
	params[1] = json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN |
	                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
	res = db_exec(r->db, r->arena, &plan_change, 3, params, e);
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1) {
		obj_missing(e, &obj_plan, id, "id");
		goto done;
	}
	rc = obj_reply(r, out, 200, &obj_plan, PQgetvalue(res, 0, 0), e);
done:
	json_object_put(changes);
	return rc;
}

int plan_delete(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;
	struct json_object *body;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_plan, &id, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &plan_soft_delete, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_plan, id, "id");
	body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	json_object_object_add(body, "object", json_object_new_string("plan"));
	json_object_object_add(body, "deleted", json_object_new_boolean(1));
	return reply_json(r, out, 200, body);
}

int plan_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit",  "starting_after", "ending_before",
	                                      "active", "product",        NULL};
	struct obj_list l;
	const char *filters[3] = {NULL, NULL, plan_public_only(r) ? "true" : "false"};
	bool active;
	int rc;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	rc = param_bool(&r->in, "active", &active, e);
	if (rc < 0 || obj_id_param(r, "product", &filters[1], e) < 0 ||
	    obj_list_parse(r, &obj_plan, &l, e) != 0)
		return -1;
	if (rc == 1)
		filters[0] = active ? "true" : "false";
	/* A cursor must be visible too, or its 404/200 would tell a publishable key it exists. */
	if (plan_public_only(r) &&
	    ((l.after != NULL && plan_visible(r, l.after, "starting_after", e) == NULL) ||
	     (l.before != NULL && plan_visible(r, l.before, "ending_before", e) == NULL)))
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_plan, &l, &plan_list_stmt, 3, filters, "/v1/plans", e);
}
