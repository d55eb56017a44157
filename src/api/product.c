/*
 * The catalog's products (prod_): create (with a custom id, as Stripe
 * allows), retrieve, update, delete, list, and the inline product of plan
 * create.  Deletion is soft and refused while a plan names the product, as
 * Stripe refuses to delete a product with prices.  Publishable keys see
 * active products only: anything else is a 404 to them, so a pricing page
 * learns nothing of the rest of the catalog.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/object.h"
#include "api/product.h"
#include "http/reply.h"
#include "http/req.h"

/* The table's bounds (sql/005-billing-base.sql), tighter than Stripe's 5000. */
#define PRODUCT_NAME_MAX_LEN 250
#define PRODUCT_DESCRIPTION_MAX_LEN 5000
#define PRODUCT_DESCRIPTOR_MAX_LEN 22
#define PRODUCT_UNIT_LABEL_MAX_LEN 12
#define PRODUCT_URL_MAX_LEN 2048
/* How many ids[] one list request may name. */
#define PRODUCT_IDS_MAX 100

/*
 * ON CONFLICT: a custom id that the tenant already uses in this mode
 * answers "already exists" rather than a constraint error.
 */
STMT(product_insert, "INSERT INTO products AS t (id, name, description, active,"
                     " statement_descriptor, unit_label, url, metadata)"
                     " VALUES (coalesce($1, levy_new_id('prod_')), $2, $3,"
                     " coalesce($4::boolean, true), $5, $6, $7,"
                     " levy_metadata_merge('{}', $8::jsonb))"
                     " ON CONFLICT (tenant_id, livemode, id) DO NOTHING"
                     " RETURNING t.id, levy_product_json(t)::text");
/* The second column: may a publishable key see it. */
STMT(product_get, "SELECT levy_product_json(t)::text, t.active AND NOT t.deleted"
                  " FROM products t WHERE t.id = $1");
/* products_touch moves `updated` when something changed. */
STMT(product_change,
     "UPDATE products t SET"
     " name = coalesce($2::jsonb ->> 'name', t.name),"
     " description = CASE WHEN $2::jsonb ? 'description' THEN $2::jsonb ->> 'description'"
     "  ELSE t.description END,"
     " active = coalesce(($2::jsonb ->> 'active')::boolean, t.active),"
     " statement_descriptor = CASE WHEN $2::jsonb ? 'statement_descriptor'"
     "  THEN $2::jsonb ->> 'statement_descriptor' ELSE t.statement_descriptor END,"
     " unit_label = CASE WHEN $2::jsonb ? 'unit_label' THEN $2::jsonb ->> 'unit_label'"
     "  ELSE t.unit_label END,"
     " url = CASE WHEN $2::jsonb ? 'url' THEN $2::jsonb ->> 'url' ELSE t.url END,"
     " metadata = levy_metadata_merge(t.metadata, $3::jsonb)"
     " WHERE t.id = $1 AND NOT t.deleted RETURNING levy_product_json(t)::text");
/*
 * FOR SHARE conflicts with the soft delete's row lock: a plan being created
 * and its product being deleted wait for each other, so neither a plan of a
 * deleted product nor a deleted product with a plan can come of the race.
 */
STMT(product_lock, "SELECT 1 FROM products t WHERE t.id = $1 AND NOT t.deleted FOR SHARE");
STMT(product_soft_delete,
     "UPDATE products t SET deleted = true WHERE t.id = $1 AND NOT t.deleted RETURNING t.id");
STMT(product_in_use, "SELECT 1 FROM plans p WHERE p.product = $1 AND NOT p.deleted LIMIT 1");
STMT(product_list_stmt,
     OBJ_LIST_SQL(
             "levy_product_json(t)", "products t",
             "NOT t.deleted AND ($4::boolean IS NULL OR t.active = $4::boolean)"
             " AND ($5::jsonb IS NULL OR t.id IN (SELECT jsonb_array_elements_text($5::jsonb)))"
             " AND (NOT $6::boolean OR t.active)"));

/* A publishable key (pricing pages): active products only. */
static bool product_public_only(const struct req *r)
{
	return r->who.kind == P_API_KEY && !r->who.secret_key;
}

/* The param `field`, or `prefix[field]` for an inline product. */
static const char *product_pname(struct req *r, const char *prefix, const char *field)
{
	return prefix != NULL ? arena_printf(r->arena, "%s[%s]", prefix, field) : field;
}

/*
 * Stripe's rule for statement descriptors: printable ASCII (banks print
 * nothing else), none of < > \ ' ", and at least one letter.
 */
static bool product_descriptor_ok(const char *s)
{
	bool letter = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || strchr("<>\\'\"", c) != NULL)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letter = true;
	}
	return letter;
}

/*
 * The fields create, update and an inline product share, into changes
 * (JSON: a string, null to clear, a boolean for active).  With a prefix
 * (an inline product) only what Stripe's inline product takes.
 */
static int product_fields(struct req *r, const char *prefix, struct json_object *changes,
                          struct err *e)
{
	const char *name, *sd_param = product_pname(r, prefix, "statement_descriptor");
	struct json_object *sd;
	bool active;
	int rc;

	rc = param_str(&r->in, product_pname(r, prefix, "name"), PRODUCT_NAME_MAX_LEN, false, &name,
	               e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "name", json_object_new_string(name));
	rc = param_bool(&r->in, product_pname(r, prefix, "active"), &active, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "active", json_object_new_boolean(active));
	if (obj_change_str(r, changes, sd_param, "statement_descriptor", PRODUCT_DESCRIPTOR_MAX_LEN,
	                   e) != 0 ||
	    obj_change_str(r, changes, product_pname(r, prefix, "unit_label"), "unit_label",
	                   PRODUCT_UNIT_LABEL_MAX_LEN, e) != 0)
		return -1;
	sd = json_object_object_get(changes, "statement_descriptor");
	if (sd != NULL && !product_descriptor_ok(json_object_get_string(sd)))
		return err_invalid(e, sd_param,
		                   "Invalid %s: it must contain at least one letter and only "
		                   "printable ASCII characters other than < > \\ ' \".",
		                   sd_param);
	if (prefix != NULL)
		return 0;
	if (obj_change_str(r, changes, "description", "description", PRODUCT_DESCRIPTION_MAX_LEN,
	                   e) != 0 ||
	    obj_change_str(r, changes, "url", "url", PRODUCT_URL_MAX_LEN, e) != 0)
		return -1;
	return 0;
}

/*
 * obj_metadata() of the object param `prefix` ("product[metadata]"): it
 * reads a request's root, so it is given a copy of the request whose root
 * is that object, and its error is renamed for the client.
 */
static int product_metadata(struct req *r, const char *prefix, const char **json, struct err *e)
{
	struct req sub;

	if (prefix == NULL)
		return obj_metadata(r, json, e);
	sub = *r;
	sub.in.root = param_value(&r->in, prefix);
	if (obj_metadata(&sub, json, e) == 0)
		return 0;
	snprintf(e->param, sizeof(e->param), "%s[metadata]", prefix);
	return -1;
}

static const char *product_text(struct req *r, struct json_object *changes, const char *key)
{
	struct json_object *v = json_object_object_get(changes, key);

	return v != NULL ? arena_strdup(r->arena, json_object_get_string(v)) : NULL;
}

/* Validates and inserts; *id and *json the new product. */
static int product_insert_from(struct req *r, const char *prefix, const char **id,
                               const char **json, struct err *e)
{
	struct json_object *changes = json_object_new_object();
	const char *params[8], *custom = NULL, *name_param = product_pname(r, prefix, "name");
	PGresult *res;
	int rc = -1;

	if (obj_id_param(r, product_pname(r, prefix, "id"), &custom, e) < 0 ||
	    product_fields(r, prefix, changes, e) != 0 ||
	    product_metadata(r, prefix, &params[7], e) != 0)
		goto done;
	if (json_object_object_get(changes, "name") == NULL) {
		err_missing(e, name_param);
		goto done;
	}
	params[0] = custom;
	params[1] = product_text(r, changes, "name");
	params[2] = product_text(r, changes, "description");
	params[3] = product_text(r, changes, "active");
	params[4] = product_text(r, changes, "statement_descriptor");
	params[5] = product_text(r, changes, "unit_label");
	params[6] = product_text(r, changes, "url");
	res = db_exec(r->db, r->arena, &product_insert, 8, params, e);
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1) {
		err_set(e, 400, E_INVALID_REQUEST, "resource_already_exists",
		        product_pname(r, prefix, "id"), "Product already exists.");
		goto done;
	}
	*id = db_str(r->arena, res, 0, 0);
	*json = db_str(r->arena, res, 0, 1);
	rc = 0;
done:
	json_object_put(changes);
	return rc;
}

int product_create_inline(struct req *r, const char *prefix, const char **id, struct err *e)
{
	static const char *const allowed[] = {
	        "id", "name", "active", "statement_descriptor", "metadata", "unit_label", NULL};
	const char *json;

	if (param_only_in(&r->in, prefix, allowed, e) != 0)
		return -1;
	return product_insert_from(r, prefix, id, &json, e);
}

int product_hold(struct req *r, const char *id, const char *param, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &product_lock, 1, &id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_product, id, param);
	return 0;
}

int product_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "id",         "name", "active",   "description", "statement_descriptor",
	        "unit_label", "url",  "metadata", NULL};
	const char *id, *json;

	if (obj_only(r, allowed, e) != 0 || product_insert_from(r, NULL, &id, &json, e) != 0)
		return -1;
	return obj_reply(r, out, 200, &obj_product, json, e);
}

/*
 * The product as the caller may see it: NULL with e = 404 when it does not
 * exist, or the caller has a publishable key and it is not active.
 */
static const char *product_visible(struct req *r, const char *id, const char *param, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &product_get, 1, &id, e);

	if (res == NULL)
		return NULL;
	if (PQntuples(res) != 1 || (product_public_only(r) && !db_bool(res, 0, 1))) {
		obj_missing(e, &obj_product, id, param);
		return NULL;
	}
	return PQgetvalue(res, 0, 0);
}

int product_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id, *json;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_product, &id, e) != 0)
		return -1;
	obj_final(r);
	json = product_visible(r, id, "id", e);
	if (json == NULL)
		return -1;
	return obj_reply(r, out, 200, &obj_product, json, e);
}

int product_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "name",       "active", "description", "statement_descriptor",
	        "unit_label", "url",    "metadata",    NULL};
	struct json_object *changes = json_object_new_object();
	const char *id, *params[3];
	PGresult *res;
	int rc = -1;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_product, &id, e) != 0 ||
	    product_fields(r, NULL, changes, e) != 0 || obj_metadata(r, &params[2], e) != 0)
		goto done;
	params[0] = id;
	params[1] = json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN);
	res = db_exec(r->db, r->arena, &product_change, 3, params, e);
	if (res == NULL)
		goto done;
	if (PQntuples(res) != 1) {
		obj_missing(e, &obj_product, id, "id");
		goto done;
	}
	rc = obj_reply(r, out, 200, &obj_product, PQgetvalue(res, 0, 0), e);
done:
	json_object_put(changes);
	return rc;
}

int product_delete(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;
	struct json_object *body;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_product, &id, e) != 0)
		return -1;
	/* Deleted first, so that the row lock makes a concurrent plan create wait (product_lock).
	 */
	res = db_exec(r->db, r->arena, &product_soft_delete, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_product, id, "id");
	res = db_exec(r->db, r->arena, &product_in_use, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 0) /* the dispatcher rolls the deletion back */
		return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL,
		               "This product cannot be deleted because it has one or more "
		               "user-created prices.");
	body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	json_object_object_add(body, "object", json_object_new_string("product"));
	json_object_object_add(body, "deleted", json_object_new_boolean(1));
	return reply_json(r, out, 200, body);
}

/* ids[]: at most PRODUCT_IDS_MAX ids, as a JSON array for the list statement; NULL when absent. */
static int product_ids(struct req *r, const char **json, struct err *e)
{
	struct json_object *v = param_value(&r->in, "ids"), *ids;
	size_t n;

	*json = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return err_invalid(e, "ids", "Invalid array: ids must be an array of product ids.");
	n = json_object_array_length(v);
	if (n > PRODUCT_IDS_MAX)
		return err_invalid(e, "ids", "Invalid ids: at most %d ids may be given.",
		                   PRODUCT_IDS_MAX);
	ids = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		const char *id;
		int rc = obj_id_param(r, arena_printf(r->arena, "ids[%zu]", i), &id, e);

		if (rc < 0) {
			json_object_put(ids);
			return -1;
		}
		if (rc == 1) /* a null (JSON only) names nothing, as everywhere */
			json_object_array_add(ids, json_object_new_string(id));
	}
	*json = arena_strdup(r->arena, json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN));
	json_object_put(ids);
	return 0;
}

int product_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "limit", "starting_after", "ending_before", "active", "ids", NULL};
	struct obj_list l;
	const char *filters[3] = {NULL, NULL, product_public_only(r) ? "true" : "false"};
	bool active;
	int rc;

	if (obj_only(r, allowed, e) != 0)
		return -1;
	rc = param_bool(&r->in, "active", &active, e);
	if (rc < 0 || product_ids(r, &filters[1], e) != 0 ||
	    obj_list_parse(r, &obj_product, &l, e) != 0)
		return -1;
	if (rc == 1)
		filters[0] = active ? "true" : "false";
	/* A cursor must be visible too, or its 404/200 would tell a publishable key it exists. */
	if (product_public_only(r) &&
	    ((l.after != NULL && product_visible(r, l.after, "starting_after", e) == NULL) ||
	     (l.before != NULL && product_visible(r, l.before, "ending_before", e) == NULL)))
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_product, &l, &product_list_stmt, 3, filters,
	                      "/v1/products", e);
}
