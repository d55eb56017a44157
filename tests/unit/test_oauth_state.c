/*
 * The Stripe Connect OAuth state (src/crypto/oauth_state.c): round trips,
 * its exact form, and every refusal: expiry to the second, another tenant,
 * another user, another secret, any character changed in the payload or the
 * MAC, malformed shapes, a non-canonical encoding, and a validly signed
 * state of another version (signed here with the documented key derivation,
 * which the test thereby pins down).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/oauth_state.h"

#define SECRET "0123456789abcdef0123456789abcdef-test-secret"
#define NOW 1700000000LL
#define TENANT 42LL
#define USER 7LL

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void make(char *out, long long *exp)
{
	assert_int_equal(oauth_state_make(SECRET, TENANT, USER, NOW, OAUTH_STATE_TTL, out,
	                                  OAUTH_STATE_LEN + 1, exp),
	                 0);
}

static void test_round_trip_and_form(void **state)
{
	char s[OAUTH_STATE_LEN + 1], t[OAUTH_STATE_LEN + 1];
	long long exp;

	(void)state;
	make(s, &exp);
	assert_int_equal(exp, NOW + OAUTH_STATE_TTL);
	assert_int_equal(OAUTH_STATE_TTL, 600);
	assert_int_equal(strlen(s), OAUTH_STATE_LEN);
	assert_int_equal(s[55], '.');
	for (int i = 0; i < OAUTH_STATE_LEN; i++)
		if (i != 55)
			assert_non_null(strchr(b64url, s[i]));
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, NOW), OAUTH_STATE_OK);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, NOW + OAUTH_STATE_TTL - 1),
	                 OAUTH_STATE_OK);
	/* A fresh nonce each time: two states for the same owner differ. */
	make(t, &exp);
	assert_string_not_equal(s, t);
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_OK);
}

static void test_expired(void **state)
{
	char s[OAUTH_STATE_LEN + 1];
	long long exp;

	(void)state;
	make(s, &exp);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, exp), OAUTH_STATE_EXPIRED);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, exp + 86400),
	                 OAUTH_STATE_EXPIRED);
}

static void test_other_tenant_or_user(void **state)
{
	char s[OAUTH_STATE_LEN + 1];
	long long exp;

	(void)state;
	make(s, &exp);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT + 1, USER, NOW),
	                 OAUTH_STATE_OTHER_TENANT);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER + 1, NOW),
	                 OAUTH_STATE_OTHER_USER);
	/* Expiry is judged before who it is for: an old state says only that. */
	assert_int_equal(oauth_state_check(SECRET, s, TENANT + 1, USER + 1, exp),
	                 OAUTH_STATE_EXPIRED);
}

static void test_other_secret_and_tampering(void **state)
{
	char s[OAUTH_STATE_LEN + 1], t[OAUTH_STATE_LEN + 1];
	long long exp;

	(void)state;
	make(s, &exp);
	assert_int_equal(oauth_state_check(SECRET "x", s, TENANT, USER, NOW), OAUTH_STATE_BAD_MAC);
	assert_int_equal(oauth_state_check("", s, TENANT, USER, NOW), OAUTH_STATE_BAD_MAC);
	assert_int_equal(oauth_state_check(NULL, s, TENANT, USER, NOW), OAUTH_STATE_BAD_MAC);
	/*
	 * Every character changed to another of the alphabet: a refusal.  The
	 * last one of each part carries padding bits; a change there is either
	 * a different value (bad MAC) or a non-canonical spelling (malformed).
	 */
	for (int i = 0; i < OAUTH_STATE_LEN; i++) {
		if (i == 55)
			continue;
		memcpy(t, s, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		enum oauth_state_verdict v = oauth_state_check(SECRET, t, TENANT, USER, NOW);
		assert_true(v == OAUTH_STATE_BAD_MAC || v == OAUTH_STATE_MALFORMED);
		if (i != 54 && i != OAUTH_STATE_LEN - 1)
			assert_int_equal(v, OAUTH_STATE_BAD_MAC);
	}
}

static void test_malformed(void **state)
{
	char s[OAUTH_STATE_LEN + 1], t[OAUTH_STATE_LEN + 2];
	long long exp;

	(void)state;
	make(s, &exp);
	assert_int_equal(oauth_state_check(SECRET, NULL, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	assert_int_equal(oauth_state_check(SECRET, "", TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	/* One character short, one too many. */
	memcpy(t, s, OAUTH_STATE_LEN - 1);
	t[OAUTH_STATE_LEN - 1] = '\0';
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	snprintf(t, sizeof(t), "%sA", s);
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	/* The dot elsewhere, or a character outside base64url. */
	memcpy(t, s, sizeof(s));
	t[55] = 'A';
	t[20] = '.';
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	memcpy(t, s, sizeof(s));
	t[3] = '+';
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	memcpy(t, s, sizeof(s));
	t[60] = '/';
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	/* Stray bits in the last character of the payload: not the canonical spelling. */
	memcpy(t, s, sizeof(s));
	t[54] = b64url[(strchr(b64url, t[54]) - b64url) ^ 1];
	assert_int_equal(oauth_state_check(SECRET, t, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
}

/* base64url, unpadded. */
static void enc(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64url[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* A state signed as the header documents, with any version and fields. */
static void forge(int version, long long tenant, long long user, long long exp, const char *secret,
                  char *out)
{
	unsigned char p[41] = {0}, key[32], mac[32];
	unsigned int klen, mlen;
	const char *label = "levy/stripe-connect/oauth-state/v1";

	p[0] = (unsigned char)version;
	for (int i = 0; i < 8; i++) {
		p[1 + i] = (unsigned char)((unsigned long long)tenant >> (56 - 8 * i));
		p[9 + i] = (unsigned char)((unsigned long long)user >> (56 - 8 * i));
		p[17 + i] = (unsigned char)((unsigned long long)exp >> (56 - 8 * i));
	}
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)label, strlen(label),
	     key, &klen);
	HMAC(EVP_sha256(), key, (int)klen, p, sizeof(p), mac, &mlen);
	enc(p, sizeof(p), out);
	out[55] = '.';
	enc(mac, sizeof(mac), out + 56);
}

static void test_forged_with_the_documented_key(void **state)
{
	char s[OAUTH_STATE_LEN + 1];

	(void)state;
	/* The derivation is as documented: a state signed that way is accepted. */
	forge(1, TENANT, USER, NOW + 5, SECRET, s);
	assert_int_equal(strlen(s), OAUTH_STATE_LEN);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, NOW), OAUTH_STATE_OK);
	/* Another version, validly signed: malformed, not believed. */
	forge(2, TENANT, USER, NOW + 5, SECRET, s);
	assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, NOW), OAUTH_STATE_MALFORMED);
	/* Signed with the JWT secret itself instead of the derived key: refused. */
	{
		unsigned char p[41] = {1}, mac[32];
		unsigned int mlen;

		for (int i = 0; i < 8; i++) {
			p[1 + i] = (unsigned char)((unsigned long long)TENANT >> (56 - 8 * i));
			p[9 + i] = (unsigned char)((unsigned long long)USER >> (56 - 8 * i));
			p[17 + i] = (unsigned char)((unsigned long long)(NOW + 5) >> (56 - 8 * i));
		}
		HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), p, sizeof(p), mac, &mlen);
		enc(p, sizeof(p), s);
		s[55] = '.';
		enc(mac, sizeof(mac), s + 56);
		assert_int_equal(oauth_state_check(SECRET, s, TENANT, USER, NOW),
		                 OAUTH_STATE_BAD_MAC);
	}
}

static void test_make_refusals(void **state)
{
	char s[OAUTH_STATE_LEN + 1];
	long long exp;

	(void)state;
	assert_int_equal(oauth_state_make(SECRET, TENANT, USER, NOW, 600, s, OAUTH_STATE_LEN, &exp),
	                 -1);
	assert_int_equal(oauth_state_make("", TENANT, USER, NOW, 600, s, sizeof(s), &exp), -1);
	assert_int_equal(oauth_state_make(NULL, TENANT, USER, NOW, 600, s, sizeof(s), &exp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip_and_form),
	        cmocka_unit_test(test_expired),
	        cmocka_unit_test(test_other_tenant_or_user),
	        cmocka_unit_test(test_other_secret_and_tampering),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_forged_with_the_documented_key),
	        cmocka_unit_test(test_make_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
