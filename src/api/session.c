/*
 * Dashboard sessions.  Login spends the same time on an unknown email as on
 * a wrong password (password_burn) and answers both alike; failures are
 * counted per email and, past conf->login_max_failures within 15 minutes,
 * every further attempt waits (doubling, at most LOGIN_MAX_DELAY_MS) before
 * it is answered.  Refresh tokens rotate: each works once, and presenting a
 * used one revokes its whole family.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "api/render.h"
#include "api/session.h"
#include "core/str.h"
#include "crypto/jwt.h"
#include "crypto/password.h"
#include "db/apikey.h"
#include "db/tenant.h"
#include "db/token.h"
#include "db/user.h"
#include "http/auth.h"
#include "http/reply.h"
#include "http/req.h"

#define LOGIN_BASE_DELAY_MS 500
#define LOGIN_MAX_DELAY_MS 4000

int session_issue(struct req *r, long long tenant_id, long long user_id, const char *role,
                  const char *family, struct json_object **tokens, struct err *e)
{
	struct jwt_claims access = {0}, refresh = {0};
	const char *at, *rt;

	access.sub = refresh.sub = user_id;
	access.tid = refresh.tid = tenant_id;
	snprintf(access.role, sizeof(access.role), "%s", role);
	snprintf(refresh.role, sizeof(refresh.role), "%s", role);
	access.typ = JWT_ACCESS;
	refresh.typ = JWT_REFRESH;
	if (family != NULL)
		snprintf(refresh.fam, sizeof(refresh.fam), "%s", family);
	at = jwt_issue_token(r->arena, r->conf->jwt_secret, &access, r->now,
	                     r->conf->jwt_access_ttl, e);
	if (at == NULL)
		return -1;
	rt = jwt_issue_token(r->arena, r->conf->jwt_secret, &refresh, r->now,
	                     r->conf->jwt_refresh_ttl, e);
	if (rt == NULL)
		return -1;
	if (db_token_insert(r->db, r->arena, refresh.jti, refresh.fam, user_id, refresh.exp, e) !=
	    0)
		return -1;
	*tokens = json_object_new_object();
	json_object_object_add(*tokens, "access", json_object_new_string(at));
	json_object_object_add(*tokens, "refresh", json_object_new_string(rt));
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int login_failed(struct req *r, const char *email, struct err *e)
{
	struct err ignored;

	err_clear(&ignored);
	/* Counting must not turn a 401 into a 5xx: the answer is the same either way. */
	db_login_failure_record(r->db, r->arena, email, &ignored);
	return err_set(e, 401, E_AUTHENTICATION, NULL, NULL, "Invalid email or password.");
}

int session_login(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"email", "password", NULL};
	struct login_row u;
	struct tenant_row t;
	struct json_object *body, *tj, *uj, *tokens;
	const char *email, *password;
	char *lower, fee[16];
	bool found, ok;
	int failures = 0;

	if (param_only(&r->in, allowed, e) != 0)
		return -1;
	if (param_req_str(&r->in, "email", 254, &email, e) != 0 ||
	    param_req_str(&r->in, "password", PASSWORD_MAX_LEN, &password, e) != 0)
		return -1;
	lower = arena_strdup(r->arena, email);
	str_lower_ascii(lower);

	if (db_login_failures(r->db, r->arena, lower, &failures, e) != 0)
		return -1;
	if (db_user_login_lookup(r->db, r->arena, lower, &u, &found, e) != 0)
		return -1;
	if (found) {
		ok = password_verify(password, u.password_hash);
	} else {
		password_burn(password, r->conf->password_iterations);
		ok = false;
	}
	if (failures >= r->conf->login_max_failures) {
		int extra = failures - r->conf->login_max_failures;
		long delay = LOGIN_BASE_DELAY_MS;

		while (extra-- > 0 && delay < LOGIN_MAX_DELAY_MS)
			delay *= 2;
		sleep_ms(delay < LOGIN_MAX_DELAY_MS ? delay : LOGIN_MAX_DELAY_MS);
	}
	if (!ok || !u.is_active || strcmp(u.tenant_status, "active") != 0)
		return login_failed(r, lower, e);
	if (failures > 0 && db_login_failure_clear(r->db, r->arena, lower, e) != 0)
		return -1;

	struct db_ctx ctx = {.tenant_id = u.tenant_id, .livemode = 0, .user_id = u.user_id};
	r->who.tenant_id = u.tenant_id;
	if (db_begin(r->db, false, &ctx, e) != 0)
		return -1;
	if (db_user_touch_login(r->db, r->arena, u.user_id, e) != 0 ||
	    db_tenant_get_with_keys(r->db, r->arena, &t, e) != 0 ||
	    session_issue(r, u.tenant_id, u.user_id, u.role, NULL, &tokens, e) != 0) {
		db_rollback(r->db);
		return -1;
	}
	struct user_row ur;
	if (db_user_get(r->db, r->arena, u.user_id, &ur, e) != 0) {
		json_object_put(tokens);
		db_rollback(r->db);
		return -1;
	}
	if (db_commit(r->db, e) != 0) {
		json_object_put(tokens);
		return -1;
	}
	render_fee(t.platform_fee_bp, fee);
	tj = json_object_new_object();
	json_object_object_add(tj, "id", json_object_new_int64(t.id));
	json_object_object_add(tj, "company_name", render_str(t.company_name));
	json_object_object_add(tj, "slug", render_str(t.slug));
	json_object_object_add(tj, "email", render_str(t.email));
	json_object_object_add(tj, "api_key_public", render_str(t.pk_live));
	json_object_object_add(tj, "api_key_test_public", render_str(t.pk_test));
	json_object_object_add(tj, "platform_fee_percentage", json_object_new_string(fee));
	json_object_object_add(tj, "subscription_tier", render_str(t.subscription_tier));
	uj = json_object_new_object();
	json_object_object_add(uj, "id", json_object_new_int64(ur.id));
	json_object_object_add(uj, "email", render_str(ur.email));
	json_object_object_add(uj, "role", render_str(ur.role));
	json_object_object_add(uj, "first_name", render_str(ur.first_name));
	json_object_object_add(uj, "last_name", render_str(ur.last_name));
	body = json_object_new_object();
	json_object_object_add(body, "tenant", tj);
	json_object_object_add(body, "user", uj);
	json_object_object_add(body, "tokens", tokens);
	return reply_json(r, out, 200, body);
}

static int read_refresh(struct req *r, struct jwt_claims *c, struct err *e)
{
	const char *token;

	if (param_req_str(&r->in, "refresh", JWT_MAX_TOKEN, &token, e) != 0)
		return -1;
	return jwt_verify_token(token, r->conf->jwt_secret, JWT_REFRESH, r->now, c, e);
}

int session_refresh(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"refresh", NULL};
	struct jwt_claims c;
	struct db_ctx ctx;
	struct json_object *tokens;
	enum token_use use;

	if (param_only(&r->in, allowed, e) != 0 || read_refresh(r, &c, e) != 0)
		return -1;
	ctx = (struct db_ctx){.tenant_id = c.tid, .livemode = 0, .user_id = c.sub};
	r->who.tenant_id = c.tid;
	if (db_begin(r->db, false, &ctx, e) != 0)
		return -1;
	if (db_token_use(r->db, r->arena, c.jti, c.sub, &use, e) != 0)
		goto fail;
	if (use != TOKEN_ROTATED) {
		/* The revocation of a reused token's family must stick: commit it. */
		if (use == TOKEN_REUSED && db_commit(r->db, e) != 0)
			return -1;
		db_rollback(r->db);
		return err_set(e, 401, E_AUTHENTICATION, NULL, NULL, "Invalid or expired token.");
	}
	r->who.kind = P_USER;
	r->who.user_id = c.sub;
	if (auth_load_user(r, e) != 0)
		goto fail;
	if (session_issue(r, c.tid, c.sub, role_name(r->who.role), c.fam, &tokens, e) != 0)
		goto fail;
	if (db_commit(r->db, e) != 0) {
		json_object_put(tokens);
		return -1;
	}
	return reply_json(r, out, 200, tokens);
fail:
	db_rollback(r->db);
	return -1;
}

int session_logout(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"refresh", NULL};
	struct jwt_claims c;
	struct json_object *body;

	if (param_only(&r->in, allowed, e) != 0 || read_refresh(r, &c, e) != 0)
		return -1;
	if (c.sub != r->who.user_id || c.tid != r->who.tenant_id)
		return err_invalid(e, "refresh", "This refresh token belongs to another session.");
	if (db_token_revoke_family(r->db, r->arena, c.fam, e) != 0)
		return -1;
	body = json_object_new_object();
	json_object_object_add(body, "logged_out", json_object_new_boolean(1));
	return reply_json(r, out, 200, body);
}
