/*
 * Customers.  Each billing resource is one file holding its handlers and
 * its statements: the statements return the object rendered by
 * levy_customer_json() (sql/005-billing-base.sql), so there is no row
 * struct to fill.  Deletion is soft, as Stripe's is seen from outside: a
 * deleted customer retrieves as {"id", "object", "deleted": true}, is
 * missing from lists and can no longer be changed or used.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "api/customer.h"
#include "api/object.h"
#include "api/payment_method.h"
#include "api/validate.h"
#include "http/reply.h"
#include "http/req.h"

#define CUSTOMER_EMAIL_MAX_LEN 512
#define CUSTOMER_NAME_MAX_LEN 256
#define CUSTOMER_DESCRIPTION_MAX_LEN 350
#define CUSTOMER_PHONE_MAX_LEN 20
/* Stripe's bound on a customer balance: 12 digits of minor units. */
#define CUSTOMER_BALANCE_MAX 99999999999LL

STMT(customer_insert, "INSERT INTO customers AS t (email, name, description, phone, balance,"
                      " metadata)"
                      " VALUES ($1, $2, $3, $4, coalesce($5::bigint, 0),"
                      " levy_metadata_merge('{}', $6::jsonb))"
                      " RETURNING t.id, t.rendered");
STMT(customer_get, "SELECT t.rendered FROM customers t WHERE t.id = $1");
STMT(customer_change,
     "UPDATE customers t SET"
     " email = CASE WHEN $2::jsonb ? 'email' THEN $2::jsonb ->> 'email' ELSE t.email END,"
     " name = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb ->> 'name' ELSE t.name END,"
     " description = CASE WHEN $2::jsonb ? 'description' THEN $2::jsonb ->> 'description'"
     "  ELSE t.description END,"
     " phone = CASE WHEN $2::jsonb ? 'phone' THEN $2::jsonb ->> 'phone' ELSE t.phone END,"
     " balance = coalesce(($2::jsonb ->> 'balance')::bigint, t.balance),"
     " default_payment_method = CASE WHEN $2::jsonb ? 'default_payment_method'"
     "  THEN $2::jsonb ->> 'default_payment_method' ELSE t.default_payment_method END,"
     " metadata = levy_metadata_merge(t.metadata, $3::jsonb)"
     " WHERE t.id = $1 AND NOT t.deleted RETURNING t.rendered");
STMT(customer_soft_delete, "UPDATE customers t SET deleted = true, default_payment_method = NULL"
                           " WHERE t.id = $1 AND NOT t.deleted RETURNING t.id");
STMT(customer_detach_all, "UPDATE payment_methods m SET customer = NULL WHERE m.customer = $1");
STMT(customer_list_stmt, OBJ_LIST_SQL("t.rendered", "customers t",
                                      "NOT t.deleted AND ($4::text IS NULL OR t.email = $4)"));

/* The fields create and update share, into changes (JSON) and metadata. */
static int customer_fields(struct req *r, struct json_object *changes, struct err *e)
{
	const char *email;
	long long balance;
	int rc;

	if (obj_change_str(r, changes, "email", "email", CUSTOMER_EMAIL_MAX_LEN, e) != 0 ||
	    obj_change_str(r, changes, "name", "name", CUSTOMER_NAME_MAX_LEN, e) != 0 ||
	    obj_change_str(r, changes, "description", "description", CUSTOMER_DESCRIPTION_MAX_LEN,
	                   e) != 0 ||
	    obj_change_str(r, changes, "phone", "phone", CUSTOMER_PHONE_MAX_LEN, e) != 0)
		return -1;
	email = json_object_get_string(json_object_object_get(changes, "email"));
	if (email != NULL && !validate_email(email))
		return err_invalid(e, "email", "Invalid email address: %s", email);
	rc = param_int(&r->in, "balance", -CUSTOMER_BALANCE_MAX, CUSTOMER_BALANCE_MAX, &balance, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		json_object_object_add(changes, "balance", json_object_new_int64(balance));
	return 0;
}

static const char *changes_text(struct req *r, struct json_object *changes, const char *key)
{
	struct json_object *v = json_object_object_get(changes, key);

	return v != NULL ? arena_strdup(r->arena, json_object_get_string(v)) : NULL;
}

/*
 * invoice_settings[default_payment_method]: a payment method attached to this
 * customer.  On create, naming the payment_method just attached (a test id
 * such as pm_card_visa becomes a new pm_) means the attached one.
 */
static int customer_default_pm(struct req *r, const char *customer, struct json_object *changes,
                               const char *named, const char *attached, struct err *e)
{
	static const char *const allowed[] = {"default_payment_method", NULL};
	const char *param = "invoice_settings[default_payment_method]";
	const char *pm;
	int rc;

	if (param_only_in(&r->in, "invoice_settings", allowed, e) != 0)
		return -1;
	rc = param_str(&r->in, param, OBJ_ID_MAX_LEN, true, &pm, e);
	if (rc <= 0)
		return rc;
	if (pm[0] == '\0') {
		json_object_object_add(changes, "default_payment_method", NULL);
		return 0;
	}
	if (named != NULL && strcmp(pm, named) == 0)
		pm = attached;
	if (payment_method_of_customer(r, pm, customer, param, e) != 0)
		return -1;
	json_object_object_add(changes, "default_payment_method", json_object_new_string(pm));
	return 0;
}

static int customer_apply(struct req *r, struct reply *out, const char *id,
                          struct json_object *changes, const char *metadata, int status,
                          struct err *e)
{
	const char *params[3] = {
	        id, json_object_to_json_string_ext(changes, JSON_C_TO_STRING_PLAIN), metadata};
	PGresult *res = db_exec(r->db, r->arena, &customer_change, 3, params, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, id, "id");
	return obj_reply(r, out, status, &obj_customer, PQgetvalue(res, 0, 0), e);
}

int customer_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "email",    "name",           "description",      "phone", "balance",
	        "metadata", "payment_method", "invoice_settings", NULL};
	struct json_object *changes = json_object_new_object();
	const char *metadata, *pm = NULL, *id, *attached = NULL;
	const char *params[6];
	PGresult *res;
	int rc = -1;

	if (obj_only(r, allowed, e) != 0 || customer_fields(r, changes, e) != 0 ||
	    obj_metadata(r, &metadata, e) != 0 || obj_id_param(r, "payment_method", &pm, e) < 0)
		goto done;
	params[0] = changes_text(r, changes, "email");
	params[1] = changes_text(r, changes, "name");
	params[2] = changes_text(r, changes, "description");
	params[3] = changes_text(r, changes, "phone");
	params[4] = changes_text(r, changes, "balance");
	params[5] = metadata;
	res = db_exec(r->db, r->arena, &customer_insert, 6, params, e);
	if (res == NULL)
		goto done;
	id = db_str(r->arena, res, 0, 0);
	if (pm == NULL && !param_has(&r->in, "invoice_settings")) {
		rc = obj_reply(r, out, 200, &obj_customer, PQgetvalue(res, 0, 1), e);
		goto done;
	}
	/* As Stripe: payment_method is attached first, so that it can be the default. */
	json_object_put(changes);
	changes = json_object_new_object();
	if (pm != NULL && payment_method_attach_id(r, pm, id, "payment_method", &attached, e) != 0)
		goto done;
	if (customer_default_pm(r, id, changes, pm, pm != NULL ? attached : NULL, e) != 0)
		goto done;
	rc = customer_apply(r, out, id, changes, NULL, 200, e);
done:
	json_object_put(changes);
	return rc;
}

int customer_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_customer, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &customer_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, id, "id");
	return obj_reply(r, out, 200, &obj_customer, PQgetvalue(res, 0, 0), e);
}

int customer_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"email",   "name",     "description",      "phone",
	                                      "balance", "metadata", "invoice_settings", NULL};
	struct json_object *changes = json_object_new_object();
	const char *id, *metadata;
	int rc = -1;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_customer, &id, e) != 0 ||
	    customer_fields(r, changes, e) != 0 || obj_metadata(r, &metadata, e) != 0 ||
	    customer_default_pm(r, id, changes, NULL, NULL, e) != 0)
		goto done;
	rc = customer_apply(r, out, id, changes, metadata, 200, e);
done:
	json_object_put(changes);
	return rc;
}

int customer_delete(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;
	struct json_object *body;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_customer, &id, e) != 0)
		return -1;
	res = db_exec(r->db, r->arena, &customer_soft_delete, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_customer, id, "id");
	/* As Stripe: a deleted customer keeps no payment methods. */
	if (db_exec(r->db, r->arena, &customer_detach_all, 1, &id, e) == NULL)
		return -1;
	body = json_object_new_object();
	json_object_object_add(body, "id", json_object_new_string(id));
	json_object_object_add(body, "object", json_object_new_string("customer"));
	json_object_object_add(body, "deleted", json_object_new_boolean(1));
	return reply_json(r, out, 200, body);
}

int customer_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit", "starting_after", "ending_before", "email",
	                                      NULL};
	struct obj_list l;
	const char *email = NULL;

	if (obj_only(r, allowed, e) != 0 ||
	    param_str(&r->in, "email", CUSTOMER_EMAIL_MAX_LEN, false, &email, e) < 0 ||
	    obj_list_parse(r, &obj_customer, &l, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_customer, &l, &customer_list_stmt, 1, &email,
	                      "/v1/customers", e);
}
