/*
 * SQL of refresh tokens: one row per issued refresh token (jti), grouped in
 * families that rotation extends.  A token works once; presenting a used or
 * revoked one revokes its whole family (token theft detection).
 */
#ifndef LEVY_DB_TOKEN_H
#define LEVY_DB_TOKEN_H

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"

enum token_use {
	TOKEN_ROTATED, /* was unused: now marked used */
	TOKEN_REUSED,  /* already used or revoked: the family is now revoked */
	TOKEN_UNKNOWN, /* no such jti for this tenant, expired, or user inactive */
};

/* In the tenant's context. */
int db_token_insert(struct db *db, struct arena *a, const char *jti, const char *family,
                    long long user_id, long long expires_at, struct err *e);
int db_token_use(struct db *db, struct arena *a, const char *jti, long long user_id,
                 enum token_use *out, struct err *e);
int db_token_revoke_family(struct db *db, struct arena *a, const char *family, struct err *e);

#endif
