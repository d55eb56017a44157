/*
 * The billing endpoints' shared machinery: see object.h.  Expansion
 * follows Stripe: expand[] holds dotted paths ("customer",
 * "invoice_settings.default_payment_method", "latest_invoice.payment_intent",
 * "data.customer" in lists); each step must be an expandable field of the
 * object it is in, at most four expansions deep, and an id is replaced by
 * the object as the caller's tenant and mode can see it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/object.h"
#include "crypto/rand.h"
#include "http/reply.h"
#include "http/req.h"

#define OBJ_EXPAND_MAX 20
#define OBJ_EXPAND_PATH_MAX 200
#define OBJ_EXPAND_DEPTH_MAX 4

#define METADATA_KEYS_MAX 50
#define METADATA_KEY_MAX_LEN 40
#define METADATA_VALUE_MAX_LEN 500

static const struct obj_expandable customer_expandable[] = {
        {"invoice_settings.default_payment_method", &obj_payment_method},
        {NULL, NULL},
};
static const struct obj_expandable plan_expandable[] = {
        {"product", &obj_product},
        {NULL, NULL},
};
static const struct obj_expandable payment_method_expandable[] = {
        {"customer", &obj_customer},
        {NULL, NULL},
};
static const struct obj_expandable subscription_expandable[] = {
        {"customer", &obj_customer},
        {"default_payment_method", &obj_payment_method},
        {"latest_invoice", &obj_invoice},
        {NULL, NULL},
};
static const struct obj_expandable invoice_expandable[] = {
        {"customer", &obj_customer},
        {"subscription", &obj_subscription},
        {"payment_intent", &obj_payment_intent},
        {"default_payment_method", &obj_payment_method},
        {"charge", &obj_charge},
        {NULL, NULL},
};
static const struct obj_expandable invoiceitem_expandable[] = {
        {"customer", &obj_customer},
        {"invoice", &obj_invoice},
        {"subscription", &obj_subscription},
        {NULL, NULL},
};
static const struct obj_expandable payment_intent_expandable[] = {
        {"customer", &obj_customer},
        {"payment_method", &obj_payment_method},
        {"invoice", &obj_invoice},
        {"latest_charge", &obj_charge},
        {NULL, NULL},
};
static const struct obj_expandable charge_expandable[] = {
        {"customer", &obj_customer},
        {"payment_intent", &obj_payment_intent},
        {"invoice", &obj_invoice},
        {"payment_method", &obj_payment_method},
        {NULL, NULL},
};
static const struct obj_expandable refund_expandable[] = {
        {"charge", &obj_charge},
        {"payment_intent", &obj_payment_intent},
        {NULL, NULL},
};
static const struct obj_expandable nothing_expandable[] = {
        {NULL, NULL},
};

const struct obj_type obj_customer = {"customer", customer_expandable};
const struct obj_type obj_product = {"product", nothing_expandable};
const struct obj_type obj_plan = {"plan", plan_expandable};
const struct obj_type obj_payment_method = {"payment_method", payment_method_expandable};
const struct obj_type obj_event = {"event", nothing_expandable};
const struct obj_type obj_subscription = {"subscription", subscription_expandable};
const struct obj_type obj_invoice = {"invoice", invoice_expandable};
const struct obj_type obj_invoiceitem = {"invoiceitem", invoiceitem_expandable};
const struct obj_type obj_payment_intent = {"payment_intent", payment_intent_expandable};
const struct obj_type obj_charge = {"charge", charge_expandable};
const struct obj_type obj_refund = {"refund", refund_expandable};

STMT(obj_fetch, "SELECT levy_object_json($1, $2)::text");
STMT(obj_position, "SELECT levy_list_position($1, $2)");

int obj_missing(struct err *e, const struct obj_type *t, const char *id, const char *param)
{
	return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", param, "No such %s: '%.*s'",
	               t->name, OBJ_ID_MAX_LEN, id);
}

/* Ids are printable ASCII without quotes or spaces; anything else names nothing. */
static bool obj_id_plausible(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > OBJ_ID_MAX_LEN)
		return false;
	return strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") == n;
}

int obj_path_id(struct req *r, int i, const struct obj_type *t, const char **id, struct err *e)
{
	const char *s = i < r->nparams ? r->params[i] : NULL;

	if (s == NULL || !obj_id_plausible(s))
		return obj_missing(e, t, s != NULL ? s : "", "id");
	*id = s;
	return 0;
}

int obj_id_param(struct req *r, const char *name, const char **id, struct err *e)
{
	int rc = param_str(&r->in, name, OBJ_ID_MAX_LEN, false, id, e);

	if (rc == 1 && !obj_id_plausible(*id))
		return err_invalid(e, name, "Invalid %s: '%s' is not an id.", name, *id);
	return rc;
}

int obj_only(struct req *r, const char *const *allowed, struct err *e)
{
	const char *all[48];
	int n = 0;

	while (allowed[n] != NULL && n < 46) {
		all[n] = allowed[n];
		n++;
	}
	all[n++] = "expand";
	all[n] = NULL;
	return param_only(&r->in, all, e);
}

int obj_metadata(struct req *r, const char **json, struct err *e)
{
	struct json_object *m = param_value(&r->in, "metadata"), *patch;
	int n = 0;

	*json = NULL;
	if (m == NULL)
		return 0;
	if (json_object_is_type(m, json_type_string) && json_object_get_string_len(m) == 0) {
		*json = "\"\"";
		return 0;
	}
	if (!json_object_is_type(m, json_type_object))
		return err_invalid(e, "metadata",
		                   "Invalid metadata: must be an object of strings.");
	patch = json_object_new_object();
	json_object_object_foreach(m, key, val)
	{
		if (++n > METADATA_KEYS_MAX) {
			json_object_put(patch);
			return err_invalid(e, "metadata",
			                   "Invalid metadata: at most %d keys are allowed.",
			                   METADATA_KEYS_MAX);
		}
		if (key[0] == '\0' || strlen(key) > METADATA_KEY_MAX_LEN) {
			json_object_put(patch);
			return err_invalid(
			        e, "metadata",
			        "Invalid metadata: keys must be 1 to %d characters long.",
			        METADATA_KEY_MAX_LEN);
		}
		if (val != NULL && !json_object_is_type(val, json_type_string)) {
			json_object_put(patch);
			return err_invalid(e, "metadata",
			                   "Invalid metadata[%s]: metadata values must be strings.",
			                   key);
		}
		if (val != NULL && json_object_get_string_len(val) > METADATA_VALUE_MAX_LEN) {
			json_object_put(patch);
			return err_invalid(
			        e, "metadata",
			        "Invalid metadata[%s]: values must be at most %d characters.", key,
			        METADATA_VALUE_MAX_LEN);
		}
		json_object_object_add(patch, key,
		                       val == NULL || json_object_get_string_len(val) == 0
		                               ? NULL
		                               : json_object_get(val));
	}
	*json = arena_strdup(
	        r->arena, json_object_to_json_string_ext(
	                          patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(patch);
	return 0;
}

int obj_change_str(struct req *r, struct json_object *changes, const char *name, const char *key,
                   size_t maxlen, struct err *e)
{
	const char *v;
	int rc = param_str(&r->in, name, maxlen, true, &v, e);

	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, key,
		                       v[0] != '\0' ? json_object_new_string(v) : NULL);
	return 0;
}

void obj_final(struct req *r)
{
	if (param_value(&r->in, "expand") == NULL)
		db_final(r->db);
}

/* The request's expand[] paths (at most OBJ_EXPAND_MAX): 0, or -1 with e set. */
static int obj_expand_list(struct req *r, const char **paths, int *n, struct err *e)
{
	struct json_object *v = param_value(&r->in, "expand");

	*n = 0;
	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return err_invalid(e, "expand",
		                   "Invalid array: expand must be an array of strings.");
	if (json_object_array_length(v) > OBJ_EXPAND_MAX)
		return err_invalid(e, "expand", "You may expand at most %d paths.", OBJ_EXPAND_MAX);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *p = json_object_array_get_idx(v, i);

		if (p == NULL || !json_object_is_type(p, json_type_string) ||
		    json_object_get_string_len(p) == 0 ||
		    json_object_get_string_len(p) > OBJ_EXPAND_PATH_MAX)
			return err_invalid(e, "expand",
			                   "Invalid expand: each path must be a string of 1 to %d "
			                   "characters.",
			                   OBJ_EXPAND_PATH_MAX);
		paths[(*n)++] = json_object_get_string(p);
	}
	return 0;
}

/* The field at a dotted path inside obj: its parent object and last key. */
static struct json_object *obj_field(struct json_object *obj, const char *path, char *last,
                                     size_t lastlen)
{
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		char key[OBJ_EXPAND_PATH_MAX + 1];
		size_t len = (size_t)(dot - path);

		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_is_type(obj, json_type_object) ||
		    !json_object_object_get_ex(obj, key, &obj) || obj == NULL)
			return NULL;
		path = dot + 1;
	}
	snprintf(last, lastlen, "%s", path);
	return json_object_is_type(obj, json_type_object) ? obj : NULL;
}

static int obj_cannot_expand(const char *path, struct err *e)
{
	return err_invalid(e, "expand", "This property cannot be expanded (%s).", path);
}

static int obj_expand_one(struct req *r, struct json_object *obj, const struct obj_type *t,
                          const char *path, const char *whole, int depth, struct err *e)
{
	const struct obj_expandable *x;
	size_t len = 0;
	struct json_object *parent, *value;
	char last[OBJ_EXPAND_PATH_MAX + 1];

	if (depth >= OBJ_EXPAND_DEPTH_MAX)
		return err_invalid(e, "expand",
		                   "You cannot expand more than %d levels of a property (%s).",
		                   OBJ_EXPAND_DEPTH_MAX, whole);
	for (x = t->expandable; x->path != NULL; x++) {
		len = strlen(x->path);
		if (strncmp(path, x->path, len) == 0 && (path[len] == '\0' || path[len] == '.'))
			break;
	}
	if (x->path == NULL)
		return obj_cannot_expand(whole, e);
	parent = obj_field(obj, x->path, last, sizeof(last));
	if (parent == NULL || !json_object_object_get_ex(parent, last, &value) || value == NULL)
		return 0; /* null stays null */
	if (json_object_is_type(value, json_type_string)) {
		const char *params[2] = {x->type->name, json_object_get_string(value)};
		PGresult *res = db_exec(r->db, r->arena, &obj_fetch, 2, params, e);
		struct json_object *found;

		if (res == NULL)
			return -1;
		if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
			return 0; /* not visible: the id stays */
		found = json_tokener_parse(PQgetvalue(res, 0, 0));
		if (found == NULL)
			return err_internal(e, "levy_object_json(%s) is not JSON", x->type->name);
		json_object_object_add(parent, last, found);
		value = found;
	}
	if (path[len] == '\0')
		return 0;
	return obj_expand_one(r, value, x->type, path + len + 1, whole, depth + 1, e);
}

/* Expands each path in obj (list: in each of data[], for paths under "data."). */
static int obj_expand_paths(struct req *r, struct json_object *obj, const struct obj_type *t,
                            bool list, const char *const *paths, int n, struct err *e)
{
	for (int i = 0; i < n; i++) {
		if (!list) {
			if (obj_expand_one(r, obj, t, paths[i], paths[i], 0, e) != 0)
				return -1;
			continue;
		}
		if (strncmp(paths[i], "data.", 5) != 0)
			return obj_cannot_expand(paths[i], e);
		for (size_t k = 0; k < json_object_array_length(obj); k++)
			if (obj_expand_one(r, json_object_array_get_idx(obj, k), t, paths[i] + 5,
			                   paths[i], 0, e) != 0)
				return -1;
	}
	return 0;
}

/* The request's expand[] paths, applied to obj. */
static int obj_expand(struct req *r, struct json_object *obj, const struct obj_type *t, bool list,
                      struct err *e)
{
	const char *paths[OBJ_EXPAND_MAX];
	int n;

	if (obj_expand_list(r, paths, &n, e) != 0)
		return -1;
	return obj_expand_paths(r, obj, t, list, paths, n, e);
}

int obj_reply(struct req *r, struct reply *out, int status, const struct obj_type *t,
              const char *json_text, struct err *e)
{
	const char *paths[OBJ_EXPAND_MAX];
	struct json_object *o;
	int n;

	if (json_text == NULL)
		return err_internal(e, "a %s rendered by PostgreSQL is not JSON", t->name);
	if (obj_expand_list(r, paths, &n, e) != 0)
		return -1;
	/* Nothing to expand: PostgreSQL's rendering is the answer as it is. */
	if (n == 0)
		return reply_text(out, status, json_text);
	o = json_tokener_parse(json_text);
	if (o == NULL)
		return err_internal(e, "a %s rendered by PostgreSQL is not JSON", t->name);
	reply_json(r, out, status, o);
	return obj_expand_paths(r, o, t, false, paths, n, e);
}

static int obj_cursor(struct req *r, const struct obj_type *t, const char *param, const char *id,
                      char pos[24], struct err *e)
{
	const char *params[2] = {t->name, id};
	PGresult *res;

	pos[0] = '\0';
	if (id == NULL)
		return 0;
	res = db_exec(r->db, r->arena, &obj_position, 2, params, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return obj_missing(e, t, id, param);
	snprintf(pos, 24, "%s", PQgetvalue(res, 0, 0));
	return 0;
}

int obj_list_parse(struct req *r, const struct obj_type *t, struct obj_list *l, struct err *e)
{
	l->limit = 10;
	l->after = l->before = NULL;
	if (param_int(&r->in, "limit", 1, 100, &l->limit, e) < 0 ||
	    obj_id_param(r, "starting_after", &l->after, e) < 0 ||
	    obj_id_param(r, "ending_before", &l->before, e) < 0)
		return -1;
	if (l->after != NULL && l->before != NULL)
		return err_invalid(e, "ending_before",
		                   "You may only specify one of these parameters: ending_before, "
		                   "starting_after.");
	if (obj_cursor(r, t, "starting_after", l->after, l->after_pos, e) != 0)
		return -1;
	return obj_cursor(r, t, "ending_before", l->before, l->before_pos, e);
}

int obj_list_reply(struct req *r, struct reply *out, const struct obj_type *t,
                   const struct obj_list *l, struct stmt *s, int nfilters,
                   const char *const *filters, const char *url, struct err *e)
{
	const char *params[12];
	char limit[24];
	struct json_object *body, *data;
	PGresult *res;
	int rows, shown;
	bool backwards = l->before_pos[0] != '\0';

	if (nfilters > 9)
		return err_internal(e, "a list statement with %d filters", nfilters);
	snprintf(limit, sizeof(limit), "%lld", l->limit + 1); /* one more tells has_more */
	params[0] = l->after_pos[0] != '\0' ? l->after_pos : NULL;
	params[1] = backwards ? l->before_pos : NULL;
	params[2] = limit;
	for (int i = 0; i < nfilters; i++)
		params[3 + i] = filters[i];
	res = db_exec(r->db, r->arena, s, 3 + nfilters, params, e);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	shown = rows > l->limit ? (int)l->limit : rows;
	data = json_object_new_array_ext(shown);
	for (int i = 0; i < shown; i++) {
		/* Backwards, rows come oldest first: the list is still newest first. */
		int row = backwards ? shown - 1 - i : i;
		struct json_object *o = json_tokener_parse(PQgetvalue(res, row, 0));

		if (o == NULL) {
			json_object_put(data);
			return err_internal(e, "a %s rendered by PostgreSQL is not JSON", t->name);
		}
		json_object_array_add(data, o);
	}
	body = json_object_new_object();
	json_object_object_add(body, "object", json_object_new_string("list"));
	json_object_object_add(body, "data", data);
	json_object_object_add(body, "has_more", json_object_new_boolean(rows > l->limit));
	json_object_object_add(body, "url", json_object_new_string(url));
	reply_json(r, out, 200, body);
	return obj_expand(r, data, t, true, e);
}

/* The index in `all` of the object whose id is `id`, or -1. */
static int obj_array_find(struct json_object *all, const char *id)
{
	size_t n = json_object_array_length(all);

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(all, i), *v;

		if (json_object_object_get_ex(o, "id", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), id) == 0)
			return (int)i;
	}
	return -1;
}

int obj_list_reply_array(struct req *r, struct reply *out, const struct obj_type *t,
                         struct json_object *all, const char *url, struct err *e)
{
	struct obj_list l = {.limit = 10};
	struct json_object *body, *data;
	int n = (int)json_object_array_length(all), from = 0, to = n, at;

	if (param_int(&r->in, "limit", 1, 100, &l.limit, e) < 0 ||
	    obj_id_param(r, "starting_after", &l.after, e) < 0 ||
	    obj_id_param(r, "ending_before", &l.before, e) < 0)
		goto fail;
	if (l.after != NULL && l.before != NULL) {
		err_invalid(e, "ending_before",
		            "You may only specify one of these parameters: ending_before, "
		            "starting_after.");
		goto fail;
	}
	if (l.after != NULL) {
		if ((at = obj_array_find(all, l.after)) < 0) {
			obj_missing(e, t, l.after, "starting_after");
			goto fail;
		}
		from = at + 1;
	}
	if (l.before != NULL) {
		if ((at = obj_array_find(all, l.before)) < 0) {
			obj_missing(e, t, l.before, "ending_before");
			goto fail;
		}
		to = at;
		/* Before a cursor: the page that ends right there. */
		from = to - (int)l.limit > 0 ? to - (int)l.limit : 0;
	}
	if (to - from > (int)l.limit)
		to = from + (int)l.limit;
	data = json_object_new_array_ext(to - from > 0 ? to - from : 0);
	for (int i = from; i < to; i++)
		json_object_array_add(data, json_object_get(json_object_array_get_idx(all, i)));
	body = json_object_new_object();
	json_object_object_add(body, "object", json_object_new_string("list"));
	json_object_object_add(body, "data", data);
	json_object_object_add(body, "has_more",
	                       json_object_new_boolean(l.before != NULL ? from > 0 : to < n));
	json_object_object_add(body, "url", json_object_new_string(url));
	json_object_put(all);
	reply_json(r, out, 200, body);
	return obj_expand(r, data, t, true, e);
fail:
	json_object_put(all);
	return -1;
}

const char *obj_new_id(struct req *r, const char *prefix)
{
	return rand_id(r->arena, prefix, 24);
}
