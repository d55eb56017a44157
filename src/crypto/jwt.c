/*
 * Dashboard tokens on top of libjwt 1.10.  libjwt signs and checks the
 * signature with whatever algorithm the token's own header names, alg none
 * included, and looks at no claim: so levy reads the header itself first and
 * accepts HS256 alone, then checks every claim's presence, type and value.
 * Every refusal is the same 401 to the client; which check failed goes to
 * the log-only detail.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <jwt.h>

#include "core/arena.h"
#include "core/err.h"
#include "crypto/jwt.h"
#include "crypto/rand.h"

#define JWT_JTI_LEN 22 /* 128 bits of base62 */
#define JWT_IAT_LEEWAY 60
#define JWT_MSG "Invalid or expired token."

/* libjwt 1.10 takes integer claims as long: ids and times need 64 bits. */
_Static_assert(sizeof(long) >= 8, "libjwt integer claims need a 64-bit long");

static const char *const jwt_roles[] = {"owner", "admin", "developer"};

static bool jwt_role_valid(const char *role)
{
	for (size_t i = 0; i < sizeof(jwt_roles) / sizeof(jwt_roles[0]); i++)
		if (strcmp(role, jwt_roles[i]) == 0)
			return true;
	return false;
}

static const char *jwt_typ_name(enum jwt_typ t)
{
	return t == JWT_REFRESH ? "refresh" : "access";
}

char *jwt_issue_token(struct arena *a, const char *secret, struct jwt_claims *c, long long now,
                      int ttl, struct err *e)
{
	jwt_t *jwt = NULL;
	char *raw = NULL, *tok;
	size_t slen;
	int rc;

	slen = secret != NULL ? strnlen(secret, JWT_MAX_TOKEN) : 0;
	if (slen < JWT_MIN_SECRET) {
		err_internal(e, "JWT secret shorter than %d bytes", JWT_MIN_SECRET);
		return NULL;
	}
	if (ttl <= 0 || c->sub <= 0 || c->tid <= 0 ||
	    strnlen(c->role, sizeof(c->role)) == sizeof(c->role) || !jwt_role_valid(c->role) ||
	    (c->typ != JWT_ACCESS && c->typ != JWT_REFRESH) ||
	    strnlen(c->fam, sizeof(c->fam)) == sizeof(c->fam)) {
		err_internal(e, "jwt_issue_token: invalid claims (sub %lld, tid %lld, ttl %d)",
		             c->sub, c->tid, ttl);
		return NULL;
	}

	rand_base62(c->jti, JWT_JTI_LEN);
	if (c->typ == JWT_REFRESH) {
		if (c->fam[0] == '\0')
			memcpy(c->fam, c->jti, JWT_JTI_LEN + 1);
	} else {
		c->fam[0] = '\0';
	}
	c->iat = now;
	c->exp = now + ttl;

	if (jwt_new(&jwt) != 0) {
		err_internal(e, "jwt_new failed");
		return NULL;
	}
	rc = jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)slen);
	rc = rc ? rc : jwt_add_grant_int(jwt, "sub", (long)c->sub);
	rc = rc ? rc : jwt_add_grant_int(jwt, "tid", (long)c->tid);
	rc = rc ? rc : jwt_add_grant(jwt, "role", c->role);
	rc = rc ? rc : jwt_add_grant(jwt, "typ", jwt_typ_name(c->typ));
	rc = rc ? rc : jwt_add_grant(jwt, "jti", c->jti);
	if (c->typ == JWT_REFRESH)
		rc = rc ? rc : jwt_add_grant(jwt, "fam", c->fam);
	rc = rc ? rc : jwt_add_grant_int(jwt, "iat", (long)c->iat);
	rc = rc ? rc : jwt_add_grant_int(jwt, "exp", (long)c->exp);
	if (rc == 0)
		raw = jwt_encode_str(jwt);
	jwt_free(jwt);
	if (raw == NULL) {
		err_internal(e, "could not encode JWT (error %d)", rc);
		return NULL;
	}
	/* libjwt 1.10 has no jwt_free_str(): its strings come from malloc. */
	tok = arena_strdup(a, raw);
	free(raw);
	return tok;
}

static int jwt_fail(struct err *e, const char *why)
{
	err_set(e, 401, E_AUTHENTICATION, NULL, NULL, JWT_MSG);
	snprintf(e->detail, sizeof(e->detail), "JWT refused: %s", why);
	return -1;
}

static int jwt_b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Unpadded base64url of n characters into out (room for n * 3 / 4 bytes);
 * returns the decoded length, or -1 for a bad character, an impossible
 * length or stray bits in the last character (a non-canonical encoding).
 */
static long jwt_b64url_decode(const char *s, size_t n, unsigned char *out)
{
	unsigned long acc = 0;
	size_t bits = 0, o = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = jwt_b64url_value(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1ul << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	return (long)o;
}

/* A JSON object from one segment, parsed strictly; NULL when it is none. */
static struct json_object *jwt_segment_json(const char *s, size_t n)
{
	unsigned char buf[JWT_MAX_TOKEN];
	struct json_tokener *tok;
	struct json_object *obj;
	long len;

	len = jwt_b64url_decode(s, n, buf);
	if (len <= 0)
		return NULL;
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	                    json_tokener_get_parse_end(tok) != (size_t)len ||
	                    !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* An integer claim, or false when it is absent or of another type. */
static bool jwt_claim_int(struct json_object *p, const char *name, long long *v)
{
	struct json_object *o;

	if (!json_object_object_get_ex(p, name, &o) || !json_object_is_type(o, json_type_int))
		return false;
	*v = (long long)json_object_get_int64(o);
	return true;
}

/* A string claim that fits in size bytes with its NUL, non-empty. */
static bool jwt_claim_str(struct json_object *p, const char *name, char *dst, size_t size)
{
	struct json_object *o;
	const char *s;
	int len;

	if (!json_object_object_get_ex(p, name, &o) || !json_object_is_type(o, json_type_string))
		return false;
	s = json_object_get_string(o);
	len = json_object_get_string_len(o);
	if (len <= 0 || (size_t)len >= size || strlen(s) != (size_t)len)
		return false;
	memcpy(dst, s, (size_t)len + 1);
	return true;
}

static int jwt_check_claims(struct json_object *p, enum jwt_typ want, long long now,
                            struct jwt_claims *c, struct err *e)
{
	char typ[16];

	if (!jwt_claim_int(p, "sub", &c->sub) || c->sub <= 0)
		return jwt_fail(e, "sub missing, not an integer or not positive");
	if (!jwt_claim_int(p, "tid", &c->tid) || c->tid <= 0)
		return jwt_fail(e, "tid missing, not an integer or not positive");
	if (!jwt_claim_str(p, "role", c->role, sizeof(c->role)) || !jwt_role_valid(c->role))
		return jwt_fail(e, "role missing or unknown");
	if (!jwt_claim_str(p, "typ", typ, sizeof(typ)))
		return jwt_fail(e, "typ missing");
	if (strcmp(typ, "access") == 0)
		c->typ = JWT_ACCESS;
	else if (strcmp(typ, "refresh") == 0)
		c->typ = JWT_REFRESH;
	else
		return jwt_fail(e, "typ unknown");
	if (c->typ != want)
		return jwt_fail(e, "typ is not the one wanted here");
	if (!jwt_claim_str(p, "jti", c->jti, sizeof(c->jti)))
		return jwt_fail(e, "jti missing or malformed");
	if (c->typ == JWT_REFRESH) {
		if (!jwt_claim_str(p, "fam", c->fam, sizeof(c->fam)))
			return jwt_fail(e, "fam missing or malformed");
	} else {
		c->fam[0] = '\0';
	}
	if (!jwt_claim_int(p, "iat", &c->iat))
		return jwt_fail(e, "iat missing or not an integer");
	if (!jwt_claim_int(p, "exp", &c->exp))
		return jwt_fail(e, "exp missing or not an integer");
	if (c->exp <= now)
		return jwt_fail(e, "expired");
	if (c->iat > now + JWT_IAT_LEEWAY)
		return jwt_fail(e, "iat in the future");
	return 0;
}

int jwt_verify_token(const char *token, const char *secret, enum jwt_typ want, long long now,
                     struct jwt_claims *out, struct err *e)
{
	const char *dot1, *dot2, *alg;
	struct json_object *hdr, *payload, *o;
	struct jwt_claims c;
	jwt_t *jwt = NULL;
	size_t n, slen;
	int rc;

	if (token == NULL)
		return jwt_fail(e, "no token");
	n = strnlen(token, JWT_MAX_TOKEN + 1);
	if (n > JWT_MAX_TOKEN)
		return jwt_fail(e, "token too long");
	slen = secret != NULL ? strnlen(secret, JWT_MAX_TOKEN) : 0;
	if (slen < JWT_MIN_SECRET)
		return jwt_fail(e, "server JWT secret too short");
	for (size_t i = 0; i < n; i++)
		if (token[i] != '.' && jwt_b64url_value(token[i]) < 0)
			return jwt_fail(e, "character outside base64url");
	dot1 = memchr(token, '.', n);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', (size_t)(token + n - dot1 - 1)) : NULL;
	if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(token + n - dot2 - 1)))
		return jwt_fail(e, "not three segments");
	if (dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == token + n)
		return jwt_fail(e, "empty segment");

	hdr = jwt_segment_json(token, (size_t)(dot1 - token));
	if (hdr == NULL)
		return jwt_fail(e, "header is not a base64url JSON object");
	alg = json_object_object_get_ex(hdr, "alg", &o) && json_object_is_type(o, json_type_string)
	              ? json_object_get_string(o)
	              : NULL;
	rc = alg != NULL && strcmp(alg, "HS256") == 0 &&
	     (size_t)json_object_get_string_len(o) == strlen("HS256");
	json_object_put(hdr);
	if (!rc)
		return jwt_fail(e, "alg missing or not HS256");

	if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)slen) != 0 || jwt == NULL)
		return jwt_fail(e, "bad signature or unparsable token");
	rc = jwt_get_alg(jwt) == JWT_ALG_HS256;
	jwt_free(jwt);
	if (!rc)
		return jwt_fail(e, "libjwt saw another algorithm");

	/* The signature is good: the payload is our own, read it strictly. */
	payload = jwt_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (payload == NULL)
		return jwt_fail(e, "payload is not a base64url JSON object");
	memset(&c, 0, sizeof(c));
	rc = jwt_check_claims(payload, want, now, &c, e);
	json_object_put(payload);
	if (rc != 0)
		return -1;
	*out = c;
	return 0;
}
