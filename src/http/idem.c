/*
 * Idempotency keys, stored by levy_idem_begin() / levy_idem_finish() of
 * sql/005-billing-base.sql under the tenant's row-level security.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto/apikey.h"
#include "http/idem.h"
#include "http/reply.h"
#include "http/req.h"

STMT(idem_begin_stmt, "SELECT state, status, body FROM levy_idem_begin($1, $2)");
STMT(idem_finish_stmt, "SELECT levy_idem_finish($1, $2, $3, $4)");
int idem_prepare(struct req *r, struct idem *id, struct err *e)
{
	const char *key = req_header(r, "Idempotency-Key");
	const char *params;
	char *text;

	id->key = NULL;
	/* Keys are scoped to a tenant: public routes (register, login) have none. */
	if (key == NULL || strcmp(r->method, "POST") != 0 || r->who.kind == P_NONE ||
	    (r->route->flags & R_SECRET_ANSWER) != 0)
		return 0;
	if (key[0] == '\0' || strlen(key) > IDEM_KEY_MAX_LEN)
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid", "Idempotency-Key",
		               "Invalid Idempotency-Key: it must be 1 to %d characters long.",
		               IDEM_KEY_MAX_LEN);
	/*
	 * The parameters as decoded, so that a JSON body and the same form body
	 * are one request, and the order of the SDK's fields is kept (the same
	 * SDK call repeats it exactly).
	 */
	params = json_object_to_json_string_ext(r->in.root, JSON_C_TO_STRING_PLAIN);
	text = arena_printf(r->arena, "%s %s %s", r->method, r->path, params);
	apikey_hash_hex(text, id->hash);
	id->key = key;
	return 0;
}

int idem_begin(struct req *r, const struct idem *id, struct reply *out, bool *replayed,
               struct err *e)
{
	const char *params[2] = {id->key, id->hash};
	PGresult *res;
	const char *state;
	struct json_object *body;

	*replayed = false;
	res = db_exec(r->db, r->arena, &idem_begin_stmt, 2, params, e);
	if (res == NULL)
		return -1;
	state = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	if (strcmp(state, "new") == 0)
		return 0;
	if (strcmp(state, "in_use") == 0)
		return err_set(e, 409, E_IDEMPOTENCY, "idempotency_key_in_use", NULL,
		               "There is currently another in-progress request using this "
		               "Idempotent Key (that probably means you submitted twice, and the "
		               "other request is still going through): %s. Please try again later.",
		               id->key);
	if (strcmp(state, "mismatch") == 0)
		return err_set(e, 400, E_IDEMPOTENCY, NULL, NULL,
		               "Keys for idempotent requests can only be used with the same "
		               "parameters they were first used with. Try using a key other than "
		               "'%s' if you meant to execute a different request.",
		               id->key);
	if (strcmp(state, "replay") != 0)
		return err_internal(e, "levy_idem_begin answered state '%s'", state);
	body = json_tokener_parse(PQgetvalue(res, 0, 2));
	if (body == NULL)
		return err_internal(e, "a stored idempotent answer is not JSON");
	reply_json(r, out, (int)db_int(res, 0, 1), body);
	reply_header(r, out, "Idempotent-Replayed: true");
	*replayed = true;
	return 0;
}

int idem_finish(struct req *r, const struct idem *id, const struct reply *out,
                const struct err *handler_err, struct err *e)
{
	char status[16];
	const char *params[4] = {id->key, id->hash, status, NULL};
	struct json_object *err_body = NULL;
	PGresult *res;

	if (handler_err != NULL) {
		err_body = reply_error_body(handler_err);
		snprintf(status, sizeof(status), "%d", handler_err->status);
		params[3] = json_object_to_json_string_ext(
		        err_body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	} else {
		snprintf(status, sizeof(status), "%d", out->status);
		params[3] = out->body != NULL
		                    ? json_object_to_json_string_ext(
		                              out->body, JSON_C_TO_STRING_PLAIN |
		                                                 JSON_C_TO_STRING_NOSLASHESCAPE)
		            : out->text != NULL ? out->text
		                                : "{}";
	}
	res = db_exec(r->db, r->arena, &idem_finish_stmt, 4, params, e);
	if (err_body != NULL)
		json_object_put(err_body);
	return res != NULL ? 0 : -1;
}
