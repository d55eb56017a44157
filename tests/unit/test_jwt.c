/*
 * Dashboard tokens (src/crypto/jwt.c): issue and verify round trips, and
 * every refusal: expiry, a future iat, the wrong secret, a tampered payload,
 * alg none, HS512 and other algorithms signed with the same secret, the wrong
 * typ, each claim missing or mistyped, bad shapes, an overlong token and a
 * short secret.  Tokens with odd claims are signed with libjwt itself, so a
 * refusal is levy's claim check and not a bad signature.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/evp.h>

#include "core/arena.h"
#include "core/err.h"
#include "crypto/jwt.h"

#define SECRET "0123456789abcdef0123456789abcdef-test-secret"
#define NOW 1700000000LL

static struct arena A;

static int setup(void **state)
{
	(void)state;
	arena_init(&A);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_destroy(&A);
	return 0;
}

static struct jwt_claims claims(enum jwt_typ typ)
{
	struct jwt_claims c;

	memset(&c, 0, sizeof(c));
	c.sub = 7;
	c.tid = 3;
	snprintf(c.role, sizeof(c.role), "admin");
	c.typ = typ;
	return c;
}

static char *issue(enum jwt_typ typ, long long now, int ttl, struct jwt_claims *c)
{
	struct err e;
	char *tok;

	err_clear(&e);
	*c = claims(typ);
	tok = jwt_issue_token(&A, SECRET, c, now, ttl, &e);
	assert_non_null(tok);
	return tok;
}

/* The one refusal every failure must look like to the client. */
static void assert_refused(const char *tok, const char *secret, enum jwt_typ want, long long now)
{
	struct err e;
	struct jwt_claims out;

	err_clear(&e);
	memset(&out, 0x5a, sizeof(out));
	if (jwt_verify_token(tok, secret, want, now, &out, &e) != -1)
		fail_msg("token accepted: %.200s", tok != NULL ? tok : "(null)");
	assert_int_equal(e.status, 401);
	assert_int_equal(e.type, E_AUTHENTICATION);
	assert_null(e.code);
	assert_string_equal(e.param, "");
	assert_string_equal(e.message, "Invalid or expired token.");
	assert_true(e.detail[0] != '\0');
	/* Nothing is handed out on failure. */
	assert_int_equal(out.sub, 0x5a5a5a5a5a5a5a5aLL);
}

static void assert_accepted(const char *tok, enum jwt_typ want, long long now,
                            struct jwt_claims *out)
{
	struct err e;

	err_clear(&e);
	if (jwt_verify_token(tok, SECRET, want, now, out, &e) != 0)
		fail_msg("token refused: %s (%s)", e.detail, tok);
}

/* Unpadded base64url of n bytes, malloc'd. */
static char *b64url(const void *data, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	int len;

	assert_non_null(out);
	len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

/* A token with exactly these grants, signed by libjwt with alg and key. */
static char *sign(jwt_alg_t alg, const char *key, const char *grants_json)
{
	jwt_t *j = NULL;
	char *tok;

	assert_int_equal(jwt_new(&j), 0);
	assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key, (int)strlen(key)), 0);
	assert_int_equal(jwt_add_grants_json(j, grants_json), 0);
	tok = jwt_encode_str(j);
	jwt_free(j);
	assert_non_null(tok);
	return tok;
}

/* header.payload.sig from raw JSON texts and a raw signature segment. */
static char *assemble(const char *header, const char *payload, const char *sig)
{
	char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
	char *tok = malloc(n);

	assert_non_null(tok);
	snprintf(tok, n, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return tok;
}

#define GOOD_ACCESS                                                                                \
	"{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"abcDEF123\","        \
	"\"iat\":1700000000,\"exp\":1700000900}"

static void test_roundtrip_access(void **state)
{
	struct jwt_claims c, out;
	char *tok;

	(void)state;
	tok = issue(JWT_ACCESS, NOW, 900, &c);
	assert_memory_equal(tok, "eyJ", 3);
	assert_int_equal(strlen(c.jti), 22);
	assert_string_equal(c.fam, "");
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + 900);

	assert_accepted(tok, JWT_ACCESS, NOW, &out);
	assert_int_equal(out.sub, 7);
	assert_int_equal(out.tid, 3);
	assert_string_equal(out.role, "admin");
	assert_int_equal(out.typ, JWT_ACCESS);
	assert_string_equal(out.jti, c.jti);
	assert_string_equal(out.fam, "");
	assert_int_equal(out.iat, NOW);
	assert_int_equal(out.exp, NOW + 900);

	/* Each token gets its own jti. */
	struct jwt_claims c2;
	char *tok2 = issue(JWT_ACCESS, NOW, 900, &c2);
	assert_string_not_equal(c.jti, c2.jti);
	assert_string_not_equal(tok, tok2);

	/* Every role round-trips; large ids survive as integers. */
	static const char *const roles[] = {"owner", "admin", "developer"};
	for (size_t i = 0; i < 3; i++) {
		struct err e;

		err_clear(&e);
		c = claims(JWT_ACCESS);
		snprintf(c.role, sizeof(c.role), "%s", roles[i]);
		c.sub = 9007199254740993LL;
		tok = jwt_issue_token(&A, SECRET, &c, NOW, 60, &e);
		assert_non_null(tok);
		assert_accepted(tok, JWT_ACCESS, NOW, &out);
		assert_string_equal(out.role, roles[i]);
		assert_int_equal(out.sub, 9007199254740993LL);
	}
}

static void test_roundtrip_refresh(void **state)
{
	struct jwt_claims c, out;
	struct err e;
	char *tok;

	(void)state;
	tok = issue(JWT_REFRESH, NOW, 86400, &c);
	assert_string_equal(c.fam, c.jti);
	assert_accepted(tok, JWT_REFRESH, NOW, &out);
	assert_int_equal(out.typ, JWT_REFRESH);
	assert_string_equal(out.fam, c.jti);
	assert_string_equal(out.jti, c.jti);

	/* A rotation keeps the family it is given. */
	err_clear(&e);
	c = claims(JWT_REFRESH);
	snprintf(c.fam, sizeof(c.fam), "family42");
	tok = jwt_issue_token(&A, SECRET, &c, NOW, 86400, &e);
	assert_non_null(tok);
	assert_string_equal(c.fam, "family42");
	assert_string_not_equal(c.jti, "family42");
	assert_accepted(tok, JWT_REFRESH, NOW, &out);
	assert_string_equal(out.fam, "family42");

	/* A refresh token without fam is refused. */
	char *t = sign(JWT_ALG_HS256, SECRET,
	               "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"refresh\",\"jti\":\"j1\","
	               "\"iat\":1700000000,\"exp\":1700000900}");
	assert_refused(t, SECRET, JWT_REFRESH, NOW);
	free(t);
	t = sign(JWT_ALG_HS256, SECRET,
	         "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"refresh\",\"jti\":\"j1\","
	         "\"fam\":5,\"iat\":1700000000,\"exp\":1700000900}");
	assert_refused(t, SECRET, JWT_REFRESH, NOW);
	free(t);
	t = sign(JWT_ALG_HS256, SECRET,
	         "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"refresh\",\"jti\":\"j1\","
	         "\"fam\":\"f1\",\"iat\":1700000000,\"exp\":1700000900}");
	assert_accepted(t, JWT_REFRESH, NOW, &out);
	assert_string_equal(out.fam, "f1");
	free(t);
}

static void test_wrong_typ(void **state)
{
	struct jwt_claims c;
	char *access, *refresh;

	(void)state;
	access = issue(JWT_ACCESS, NOW, 900, &c);
	refresh = issue(JWT_REFRESH, NOW, 900, &c);
	assert_refused(access, SECRET, JWT_REFRESH, NOW);
	assert_refused(refresh, SECRET, JWT_ACCESS, NOW);
}

static void test_expiry_and_iat(void **state)
{
	struct jwt_claims c, out;
	char *tok;

	(void)state;
	tok = issue(JWT_ACCESS, NOW, 900, &c);
	assert_accepted(tok, JWT_ACCESS, NOW + 899, &out);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW + 900);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW + 100000);
	/* Issued up to 60 s in the future (clock skew between workers) is fine; more is not. */
	assert_accepted(tok, JWT_ACCESS, NOW - 60, &out);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW - 61);
}

static void test_wrong_secret(void **state)
{
	struct jwt_claims c;
	char *tok;

	(void)state;
	tok = issue(JWT_ACCESS, NOW, 900, &c);
	assert_refused(tok, "0123456789abcdef0123456789abcdef-test-secreT", JWT_ACCESS, NOW);
	assert_refused(tok, SECRET "x", JWT_ACCESS, NOW);
}

static void test_tampered(void **state)
{
	struct jwt_claims c, out;
	char *tok, *dot1, *dot2, *forged, *p;
	size_t n;

	(void)state;
	tok = issue(JWT_ACCESS, NOW, 900, &c);
	dot1 = strchr(tok, '.');
	dot2 = strchr(dot1 + 1, '.');

	/* Another tenant's id in the payload, the original header and signature. */
	char payload[256];
	snprintf(payload, sizeof(payload),
	         "{\"sub\":7,\"tid\":4,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"%s\","
	         "\"iat\":%lld,\"exp\":%lld}",
	         c.jti, c.iat, c.exp);
	p = b64url(payload, strlen(payload));
	n = (size_t)(dot1 - tok) + strlen(p) + strlen(dot2) + 2;
	forged = malloc(n);
	assert_non_null(forged);
	snprintf(forged, n, "%.*s.%s%s", (int)(dot1 - tok), tok, p, dot2);
	assert_refused(forged, SECRET, JWT_ACCESS, NOW);
	free(forged);
	free(p);

	/* One character changed in each segment. */
	for (char *q = tok; *q != '\0'; q += 7) {
		char orig = *q;

		if (orig == '.')
			continue;
		*q = orig == 'A' ? 'B' : 'A';
		assert_refused(tok, SECRET, JWT_ACCESS, NOW);
		*q = orig;
	}
	assert_accepted(tok, JWT_ACCESS, NOW, &out);

	/* The signature dropped or truncated. */
	dot2[1] = '\0';
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	dot2[0] = '\0';
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
}

static void test_alg_none(void **state)
{
	struct jwt_claims c;
	char *tok, *real, *sig;

	(void)state;
	tok = assemble("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_ACCESS, "");
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	/* An empty third segment with the dot dropped as well. */
	tok[strlen(tok) - 1] = '\0';
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	free(tok);

	/* With a signature borrowed from a real token. */
	real = issue(JWT_ACCESS, NOW, 900, &c);
	sig = strrchr(real, '.') + 1;
	tok = assemble("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_ACCESS, sig);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	free(tok);
	tok = assemble("{\"alg\":\"None\",\"typ\":\"JWT\"}", GOOD_ACCESS, sig);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	free(tok);
	/* libjwt's own alg none token. */
	jwt_t *j = NULL;
	assert_int_equal(jwt_new(&j), 0);
	assert_int_equal(jwt_add_grants_json(j, GOOD_ACCESS), 0);
	tok = jwt_encode_str(j);
	jwt_free(j);
	assert_non_null(tok);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	free(tok);
}

static void test_other_algorithms(void **state)
{
	struct jwt_claims out;
	char *tok;

	(void)state;
	/* Control: the same grants signed HS256 are accepted. */
	tok = sign(JWT_ALG_HS256, SECRET, GOOD_ACCESS);
	assert_accepted(tok, JWT_ACCESS, NOW, &out);
	free(tok);
	/* HS512 and HS384 with the very same secret: libjwt alone would accept them. */
	tok = sign(JWT_ALG_HS512, SECRET, GOOD_ACCESS);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	free(tok);
	tok = sign(JWT_ALG_HS384, SECRET, GOOD_ACCESS);
	assert_refused(tok, SECRET, JWT_ACCESS, NOW);
	free(tok);
}

static void test_bad_headers(void **state)
{
	static const char *const headers[] = {
	        "{\"typ\":\"JWT\"}",
	        "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
	        "{\"alg\":\"HS256 \",\"typ\":\"JWT\"}",
	        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	        "{\"alg\":256,\"typ\":\"JWT\"}",
	        "{\"alg\":null}",
	        "{\"alg\":[\"HS256\"]}",
	        "{\"alg\":\"HS256\\u0000x\"}",
	        "[\"HS256\"]",
	        "\"HS256\"",
	        "{\"alg\":\"HS256\"",
	        "{\"alg\":\"HS256\"} x",
	        "{'alg':'HS256'}",
	        "not json",
	};
	struct jwt_claims c;
	char *real, *tok;

	(void)state;
	real = issue(JWT_ACCESS, NOW, 900, &c);
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		tok = assemble(headers[i], GOOD_ACCESS, strrchr(real, '.') + 1);
		assert_refused(tok, SECRET, JWT_ACCESS, NOW);
		free(tok);
	}
}

static void test_claims_missing_or_mistyped(void **state)
{
	static const char *const bad[] = {
	        /* each claim missing */
	        "{\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\",\"iat\":1700000000,"
	        "\"exp\":1700000900}",
	        "{\"sub\":7,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\",\"iat\":1700000000,"
	        "\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"typ\":\"access\",\"jti\":\"j\",\"iat\":1700000000,"
	        "\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"jti\":\"j\",\"iat\":1700000000,"
	        "\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"iat\":1700000000,"
	        "\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000}",
	        /* mistyped or out of range */
	        "{\"sub\":\"7\",\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":0,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":-7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7.5,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":true,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":0,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"root\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"Admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"administrator-of-everything\",\"typ\":\"access\","
	        "\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":1,\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"id\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":1,\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":42,"
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\","
	        "\"jti\":\"0123456789012345678901234567890123456789\","
	        "\"iat\":1700000000,\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":\"1700000000\",\"exp\":1700000900}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":1700000900.5}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":\"1700000900\"}",
	        "{\"sub\":7,\"tid\":3,\"role\":\"admin\",\"typ\":\"access\",\"jti\":\"j\","
	        "\"iat\":1700000000,\"exp\":null}",
	};
	struct jwt_claims out;
	char *tok;

	(void)state;
	tok = sign(JWT_ALG_HS256, SECRET, GOOD_ACCESS);
	assert_accepted(tok, JWT_ACCESS, NOW, &out);
	assert_string_equal(out.jti, "abcDEF123");
	free(tok);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = sign(JWT_ALG_HS256, SECRET, bad[i]);
		assert_refused(tok, SECRET, JWT_ACCESS, NOW);
		free(tok);
	}
}

static void test_shapes_and_length(void **state)
{
	static const char *const shapes[] = {
	        "",     "abc",     "a.b",
	        "..",   "a..c",    ".b.c",
	        "a.b.", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9.e30.",
	};
	struct jwt_claims c, out;
	char *real, *tok, *junk;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		assert_refused(shapes[i], SECRET, JWT_ACCESS, NOW);
	assert_refused(NULL, SECRET, JWT_ACCESS, NOW);

	/* Characters outside base64url, around a real token. */
	real = issue(JWT_ACCESS, NOW, 900, &c);
	n = strlen(real);
	junk = malloc(n + 2);
	assert_non_null(junk);
	snprintf(junk, n + 2, "%s ", real);
	assert_refused(junk, SECRET, JWT_ACCESS, NOW);
	snprintf(junk, n + 2, "%s=", real);
	assert_refused(junk, SECRET, JWT_ACCESS, NOW);
	snprintf(junk, n + 2, "%s", real);
	junk[5] = '+';
	assert_refused(junk, SECRET, JWT_ACCESS, NOW);
	free(junk);

	/* A correctly signed token just under the limit passes; over it, no. */
	char grants[JWT_MAX_TOKEN + 256];
	size_t pad;
	bool near = false;
	for (pad = 2800;; pad++) {
		snprintf(grants, sizeof(grants), "%.*s,\"pad\":\"%0*d\"}",
		         (int)strlen(GOOD_ACCESS) - 1, GOOD_ACCESS, (int)pad, 0);
		tok = sign(JWT_ALG_HS256, SECRET, grants);
		n = strlen(tok);
		if (n > JWT_MAX_TOKEN) {
			assert_refused(tok, SECRET, JWT_ACCESS, NOW);
			free(tok);
			break;
		}
		if (n > JWT_MAX_TOKEN - 8) {
			assert_accepted(tok, JWT_ACCESS, NOW, &out);
			near = true;
		}
		free(tok);
	}
	assert_true(near);

	/* Far beyond the limit: refused without reading it all. */
	junk = malloc(100000);
	assert_non_null(junk);
	memset(junk, 'A', 99999);
	junk[99999] = '\0';
	junk[10] = '.';
	junk[20] = '.';
	assert_refused(junk, SECRET, JWT_ACCESS, NOW);
	free(junk);
}

static void test_short_secret(void **state)
{
	struct jwt_claims c, out;
	struct err e;
	char *tok;
	char s31[] = "0123456789abcdef0123456789abcde";
	char s32[] = "0123456789abcdef0123456789abcdef";

	(void)state;
	assert_int_equal(strlen(s31), JWT_MIN_SECRET - 1);
	err_clear(&e);
	c = claims(JWT_ACCESS);
	assert_null(jwt_issue_token(&A, s31, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);
	assert_int_equal(e.type, E_API);
	assert_null(strstr(e.message, s31));
	err_clear(&e);
	assert_null(jwt_issue_token(&A, "", &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);
	err_clear(&e);
	assert_null(jwt_issue_token(&A, NULL, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);

	/* Exactly the minimum works both ways. */
	err_clear(&e);
	tok = jwt_issue_token(&A, s32, &c, NOW, 900, &e);
	assert_non_null(tok);
	err_clear(&e);
	assert_int_equal(jwt_verify_token(tok, s32, JWT_ACCESS, NOW, &out, &e), 0);

	/* A token signed with a short secret is never accepted under it. */
	tok = sign(JWT_ALG_HS256, s31, GOOD_ACCESS);
	assert_refused(tok, s31, JWT_ACCESS, NOW);
	free(tok);
}

static void test_issue_invalid_claims(void **state)
{
	struct jwt_claims c;
	struct err e;

	(void)state;
	c = claims(JWT_ACCESS);
	c.sub = 0;
	err_clear(&e);
	assert_null(jwt_issue_token(&A, SECRET, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);

	c = claims(JWT_ACCESS);
	c.tid = -1;
	err_clear(&e);
	assert_null(jwt_issue_token(&A, SECRET, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);

	c = claims(JWT_ACCESS);
	snprintf(c.role, sizeof(c.role), "root");
	err_clear(&e);
	assert_null(jwt_issue_token(&A, SECRET, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);

	c = claims(JWT_ACCESS);
	memset(c.role, 'a', sizeof(c.role));
	err_clear(&e);
	assert_null(jwt_issue_token(&A, SECRET, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);

	c = claims(JWT_ACCESS);
	err_clear(&e);
	assert_null(jwt_issue_token(&A, SECRET, &c, NOW, 0, &e));
	assert_int_equal(e.status, 500);

	c = claims(JWT_ACCESS);
	c.typ = (enum jwt_typ)7;
	err_clear(&e);
	assert_null(jwt_issue_token(&A, SECRET, &c, NOW, 900, &e));
	assert_int_equal(e.status, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_roundtrip_access),
	        cmocka_unit_test(test_roundtrip_refresh),
	        cmocka_unit_test(test_wrong_typ),
	        cmocka_unit_test(test_expiry_and_iat),
	        cmocka_unit_test(test_wrong_secret),
	        cmocka_unit_test(test_tampered),
	        cmocka_unit_test(test_alg_none),
	        cmocka_unit_test(test_other_algorithms),
	        cmocka_unit_test(test_bad_headers),
	        cmocka_unit_test(test_claims_missing_or_mistyped),
	        cmocka_unit_test(test_shapes_and_length),
	        cmocka_unit_test(test_short_secret),
	        cmocka_unit_test(test_issue_invalid_claims),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
