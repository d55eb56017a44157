/*
 * Dashboard tokens: HS256 JWTs through libjwt with claims sub (user id),
 * tid (tenant id), role, typ ("access" or "refresh"), jti, iat, exp, and for
 * refresh tokens fam (the rotation family).  libjwt 1.10 checks neither the
 * algorithm nor exp by itself: jwt_verify_token() does, and refuses alg none,
 * any algorithm but HS256 (HS512 too), a bad signature, a past exp, a missing
 * or mistyped claim and a token of the other typ.
 */
#ifndef LEVY_JWT_H
#define LEVY_JWT_H

#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"

#define JWT_MIN_SECRET 32
#define JWT_MAX_TOKEN 4096

enum jwt_typ { JWT_ACCESS, JWT_REFRESH };

struct jwt_claims {
	long long sub;
	long long tid;
	char role[16];
	enum jwt_typ typ;
	char jti[40];
	char fam[40]; /* refresh only; "" for access */
	long long iat;
	long long exp;
};

/*
 * Sets c->jti to a fresh random id (and c->fam to c->jti when typ is refresh
 * and fam is empty), iat = now, exp = now + ttl; returns the token in the
 * arena, or NULL with e set (500).
 */
char *jwt_issue_token(struct arena *a, const char *secret, struct jwt_claims *c, long long now,
                      int ttl, struct err *e);
/* 0 with *out filled, or -1 with e = 401 authentication_error. */
int jwt_verify_token(const char *token, const char *secret, enum jwt_typ want, long long now,
                     struct jwt_claims *out, struct err *e);

#endif
