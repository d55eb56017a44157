/*
 * SQL of refresh tokens, in the tenant's context.  Rotation is one
 * conditional UPDATE: of two requests presenting the same token at once, the
 * second waits for the first's row lock, then finds the token used and
 * revokes the family, as for any replay.
 */
#include "config.h"

#include <stdio.h>

#include "db/token.h"

int db_token_insert(struct db *db, struct arena *a, const char *jti, const char *family,
                    long long user_id, long long expires_at, struct err *e)
{
	STMT(token_insert,
	     "INSERT INTO refresh_tokens (jti, tenant_id, user_id, family, expires_at)"
	     " VALUES ($1, NULLIF(current_setting('app.tenant_id', true), '')::bigint,"
	     " $2, $3, to_timestamp($4::bigint))");
	char uid[24], exp[24];
	const char *params[4] = {jti, uid, family, exp};

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(exp, sizeof(exp), "%lld", expires_at);
	return db_exec(db, a, &token_insert, 4, params, e) != NULL ? 0 : -1;
}

int db_token_use(struct db *db, struct arena *a, const char *jti, long long user_id,
                 enum token_use *out, struct err *e)
{
	/* Only an unused, unrevoked, unexpired token of an active user rotates. */
	STMT(token_rotate,
	     "UPDATE refresh_tokens t SET used_at = now()"
	     " WHERE t.jti = $1 AND t.user_id = $2"
	     " AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()"
	     " AND EXISTS (SELECT 1 FROM tenant_users u"
	     "  WHERE u.id = t.user_id AND u.tenant_id = t.tenant_id AND u.is_active)"
	     " RETURNING t.jti");
	/*
	 * Otherwise: a token that was used or revoked is a replay, so its
	 * family goes (even when it has expired since: a thief's copy).  An
	 * unknown jti, or a token merely expired or of an inactive user,
	 * revokes nothing.
	 */
	STMT(token_replay, "UPDATE refresh_tokens f SET revoked_at = now()"
	                   " WHERE f.revoked_at IS NULL AND (f.tenant_id, f.family) IN"
	                   " (SELECT t.tenant_id, t.family FROM refresh_tokens t"
	                   "  WHERE t.jti = $1 AND t.user_id = $2"
	                   "  AND (t.used_at IS NOT NULL OR t.revoked_at IS NOT NULL))"
	                   " RETURNING f.jti");
	STMT(token_reused, "SELECT 1 FROM refresh_tokens WHERE jti = $1 AND user_id = $2"
	                   " AND (used_at IS NOT NULL OR revoked_at IS NOT NULL)");
	char uid[24];
	const char *params[2] = {jti, uid};
	PGresult *r;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	r = db_exec(db, a, &token_rotate, 2, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		*out = TOKEN_ROTATED;
		return 0;
	}
	r = db_exec(db, a, &token_replay, 2, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*out = TOKEN_REUSED;
		return 0;
	}
	/* A replay whose family was already wholly revoked is still a replay. */
	r = db_exec(db, a, &token_reused, 2, params, e);
	if (r == NULL)
		return -1;
	*out = PQntuples(r) > 0 ? TOKEN_REUSED : TOKEN_UNKNOWN;
	return 0;
}

int db_token_revoke_family(struct db *db, struct arena *a, const char *family, struct err *e)
{
	STMT(token_revoke_family,
	     "UPDATE refresh_tokens SET revoked_at = now()"
	     " WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true),"
	     " '')::bigint AND family = $1 AND revoked_at IS NULL");
	const char *params[1] = {family};

	return db_exec(db, a, &token_revoke_family, 1, params, e) != NULL ? 0 : -1;
}
