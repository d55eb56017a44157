/*
 * API keys for dashboard users.  Listing shows publishable keys in full and
 * secret keys redacted; live keys only to those who may read them (owner).
 * Rolling makes a new key, shown once, and schedules the old keys of that
 * type and mode to expire (at once by default).
 */
#include "config.h"

#include <string.h>

#include "api/apikey.h"
#include "api/render.h"
#include "api/role.h"
#include "crypto/apikey.h"
#include "db/apikey.h"
#include "http/auth.h"
#include "http/reply.h"
#include "http/req.h"

#define ROLL_MAX_GRACE (7 * 24 * 3600)

int apikey_list_handler(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	struct apikey_row *rows;
	struct json_object *data;
	int n;

	/* The role decides what the list holds: know it first. */
	if (param_only(&r->in, allowed, e) != 0 || db_settle(r->db, e) != 0)
		return -1;
	if (db_apikey_list(r->db, r->arena, role_allows(r->who.role, ACT_KEY_READ_LIVE), &rows, &n,
	                   e) != 0)
		return -1;
	data = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(data, render_apikey(&rows[i], NULL));
	return reply_json(r, out, 200, render_list(data, false, "/v1/auth/api_keys"));
}

int apikey_roll_handler(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"mode", "type", "expire_old_in_seconds", NULL};
	static const char *const modes[] = {"test", "live", NULL};
	static const char *const types[] = {"secret", "publishable", NULL};
	struct apikey_new k;
	struct apikey_row row;
	char key[APIKEY_LEN + 1], hash[65], redacted[APIKEY_PREFIX_LEN + 8];
	long long grace = 0;
	int mode, type;

	if (param_only(&r->in, allowed, e) != 0)
		return -1;
	if (param_enum(&r->in, "mode", modes, &mode, e) <= 0 ||
	    param_enum(&r->in, "type", types, &type, e) <= 0) {
		if (e->status == 0)
			return err_missing(e, param_has(&r->in, "mode") ? "type" : "mode");
		return -1;
	}
	if (param_int(&r->in, "expire_old_in_seconds", 0, ROLL_MAX_GRACE, &grace, e) < 0)
		return -1;
	if (auth_authorize(r, mode == 1 ? ACT_KEY_ROLL_LIVE : ACT_KEY_ROLL_TEST, e) != 0)
		return -1;
	apikey_generate(type == 0, mode == 1, key);
	apikey_hash_hex(key, hash);
	apikey_redact(key, redacted, sizeof(redacted));
	k.secret = type == 0;
	k.livemode = mode == 1;
	k.hash_hex = hash;
	k.redacted = redacted;
	k.plain = k.secret ? NULL : key;
	if (db_apikey_roll(r->db, r->arena, &k, grace, &row, e) != 0)
		return -1;
	return reply_json(r, out, 201, render_apikey(&row, key));
}
