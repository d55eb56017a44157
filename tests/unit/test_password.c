/*
 * Passwords (src/crypto/password.c): Django's pbkdf2_sha256 format both ways,
 * real hashes made by Django, every malformed encoding, the timing burn, and
 * each rule of the policy with Django's own messages.
 *
 * The Django vectors: "pbkdf2_sha256$260000$seasalt$..." and
 * "...$seasalt2$..." were made with Debian 12's python3-django (Django 3.2)
 * by
 *   /usr/bin/python3 -c 'from django.conf import settings; settings.configure();
 *     from django.contrib.auth.hashers import make_password;
 *     print(make_password("lètmein", "seasalt", "pbkdf2_sha256"))'
 * and are the values Django 3.2's own tests/auth_tests/test_hashers.py asserts
 * (test_pbkdf2, test_low_level_pbkdf2); the 10000-iteration one is the value
 * Django 1.5's test suite asserts for the same call, and python3-django
 * reproduces it with PBKDF2PasswordHasher().encode(..., iterations=10000).
 * python3-django was only how the vectors were obtained: it is not a
 * dependency of levy, its build or its tests.
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
#include <time.h>

#include <openssl/evp.h>

#include "crypto/common_passwords.h"
#include "crypto/password.h"

#define DJANGO_260K "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo="
#define DJANGO_260K_2 "pbkdf2_sha256$260000$seasalt2$UCGMhrOoaq1ghQPArIBK5RkI6IZLRxlIwHWA1dMy7y8="
#define DJANGO_10K "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_hash_format_and_roundtrip(void **state)
{
	char h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	const char *salt, *b64;

	(void)state;
	assert_int_equal(password_hash("correct horse", 1000, h, sizeof(h)), 0);
	assert_memory_equal(h, "pbkdf2_sha256$1000$", 19);
	salt = h + 19;
	b64 = strchr(salt, '$');
	assert_non_null(b64);
	assert_int_equal(b64 - salt, 22);
	for (const char *p = salt; p < b64; p++)
		assert_non_null(memchr(b62, *p, 62));
	b64++;
	assert_int_equal(strlen(b64), 44);
	assert_int_equal(b64[43], '=');

	assert_true(password_verify("correct horse", h));
	assert_false(password_verify("correct horsf", h));
	assert_false(password_verify("Correct horse", h));
	assert_false(password_verify("correct horse ", h));
	assert_false(password_verify("", h));

	/* A fresh salt each time. */
	assert_int_equal(password_hash("correct horse", 1000, h2, sizeof(h2)), 0);
	assert_string_not_equal(h, h2);
	assert_true(password_verify("correct horse", h2));

	/* Non-ASCII passwords are hashed as their UTF-8 bytes, as Django does. */
	assert_int_equal(password_hash("pässwörd✓", 1000, h, sizeof(h)), 0);
	assert_true(password_verify("pässwörd✓", h));
	assert_false(password_verify("passwörd✓", h));
}

static void test_django_vectors(void **state)
{
	(void)state;
	assert_true(password_verify("lètmein", DJANGO_10K));
	assert_true(password_verify("lètmein", DJANGO_260K));
	assert_true(password_verify("lètmein", DJANGO_260K_2));

	/* The wrong password, and a one-character change anywhere. */
	assert_false(password_verify("letmein", DJANGO_260K));
	assert_false(password_verify("lètmeiN", DJANGO_260K));
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQp="));
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$260000$seasalt$ZlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo="));
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$260000$seasalT$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo="));
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$260001$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo="));
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVZ="));
}

static void test_malformed_encodings(void **state)
{
	/* Each is DJANGO_10K bent one way: a lax parser would accept several
	 * of them (a sign, a leading zero, a different name for the same
	 * algorithm), so each refusal is the parser's, not the comparison's. */
	static const char *const bad[] = {
	        "",
	        "pbkdf2_sha256",
	        "pbkdf2_sha256$",
	        "pbkdf2_sha256$10000",
	        "pbkdf2_sha256$10000$seasalt",
	        "pbkdf2_sha256$10000$seasalt$",
	        "pbkdf2_sha1$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "PBKDF2_SHA256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha512$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "argon2$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "bcrypt_sha256$$2b$12$seasalt",
	        "!unusable",
	        /* iterations: non-numeric, signed, padded, zero, huge */
	        "pbkdf2_sha256$abc$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$1e4$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$+10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$010000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$ 10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$10000 $seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$0$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$-1$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$10000001$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$4294977296$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$99999999999999999999$seasalt$"
	        "CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        /* salt: empty, with a space, too long */
	        "pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$10000$sea salt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$10000$"
	        "seasaltseasaltseasaltseasaltseasaltseasaltseasaltseasaltseasalt12"
	        "$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        /* hash: bad base64, no padding, wrong length, trailing parts */
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArt*Y=",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7Hvk-qN9iA2T3KLW1cf2uZ5kvArtVY=",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY==",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=\n",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=$",
	        "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=$x",
	        "pbkdf2_sha256$10000$seasalt$extra$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	        " pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
	};
	char longenc[PASSWORD_HASH_MAX + 8];

	(void)state;
	assert_true(password_verify("lètmein", DJANGO_10K));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (password_verify("lètmein", bad[i]))
			fail_msg("accepted malformed encoding %zu: %s", i, bad[i]);
	}
	assert_false(password_verify("lètmein", NULL));
	assert_false(password_verify(NULL, DJANGO_10K));

	/* An encoding at PASSWORD_HASH_MAX is refused before any parsing. */
	memset(longenc, 'a', sizeof(longenc));
	memcpy(longenc, DJANGO_10K, strlen(DJANGO_10K));
	longenc[PASSWORD_HASH_MAX] = '\0';
	assert_false(password_verify("lètmein", longenc));
}

/*
 * "pbkdf2_sha256$ITER_TEXT$SALT$B64" where B64 is the true PBKDF2 of pw under
 * salt with iter iterations, computed here without password.c: a parser that
 * read ITER_TEXT as iter, or took SALT as it is, would accept it.
 */
static void forge(char *out, size_t outlen, const char *pw, const char *iter_text, int iter,
                  const char *salt)
{
	unsigned char dk[32];
	char b64[45];

	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), (const unsigned char *)salt,
	                                   (int)strlen(salt), iter, EVP_sha256(), sizeof(dk), dk),
	                 1);
	EVP_EncodeBlock((unsigned char *)b64, dk, sizeof(dk));
	snprintf(out, outlen, "pbkdf2_sha256$%s$%s$%s", iter_text, salt, b64);
}

static void test_malformed_but_matching(void **state)
{
	char enc[PASSWORD_HASH_MAX + 64];
	char salt65[66];
	double t0;

	(void)state;
	/* Control: the canonical form of each verifies. */
	forge(enc, sizeof(enc), "lètmein", "1010", 1010, "seasalt");
	assert_true(password_verify("lètmein", enc));
	forge(enc, sizeof(enc), "lètmein", "1000", 1000, "sea_salt");
	assert_true(password_verify("lètmein", enc));

	/* ':' is '0' + 10: "100:" read digit by digit without a check is 1010. */
	forge(enc, sizeof(enc), "lètmein", "100:", 1010, "seasalt");
	assert_false(password_verify("lètmein", enc));
	forge(enc, sizeof(enc), "lètmein", "01010", 1010, "seasalt");
	assert_false(password_verify("lètmein", enc));
	/* Salts with a blank or a control character, or longer than 64. */
	forge(enc, sizeof(enc), "lètmein", "1000", 1000, "sea salt");
	assert_false(password_verify("lètmein", enc));
	forge(enc, sizeof(enc), "lètmein", "1000", 1000, "sea\tsalt");
	assert_false(password_verify("lètmein", enc));
	forge(enc, sizeof(enc), "lètmein", "1000", 1000, "seasalt\x7f");
	assert_false(password_verify("lètmein", enc));
	memset(salt65, 's', 65);
	salt65[65] = '\0';
	forge(enc, sizeof(enc), "lètmein", "1000", 1000, salt65);
	assert_false(password_verify("lètmein", enc));
	salt65[64] = '\0';
	forge(enc, sizeof(enc), "lètmein", "1000", 1000, salt65);
	assert_true(password_verify("lètmein", enc));

	/* Iterations above 10,000,000 are refused before any work: 99,999,999
	 * rounds would take most of a minute. */
	t0 = now_sec();
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$99999999$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="));
	assert_false(password_verify(
	        "lètmein",
	        "pbkdf2_sha256$10000001$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="));
	assert_true(now_sec() - t0 < 1.0);
}

static void test_hash_errors(void **state)
{
	char h[PASSWORD_HASH_MAX], tiny[40];
	char *longpw = malloc(PASSWORD_MAX_LEN + 2);

	(void)state;
	assert_non_null(longpw);
	assert_int_equal(password_hash("whatever1", 0, h, sizeof(h)), -1);
	assert_int_equal(password_hash("whatever1", -5, h, sizeof(h)), -1);
	assert_int_equal(password_hash("whatever1", 10000001, h, sizeof(h)), -1);
	assert_int_equal(password_hash(NULL, 1000, h, sizeof(h)), -1);
	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(password_hash("whatever1", 1000, tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "");

	/* The longest accepted password hashes; one byte more is refused. */
	memset(longpw, 'p', PASSWORD_MAX_LEN);
	longpw[PASSWORD_MAX_LEN] = '\0';
	assert_int_equal(password_hash(longpw, 1000, h, sizeof(h)), 0);
	assert_true(password_verify(longpw, h));
	longpw[PASSWORD_MAX_LEN] = 'p';
	longpw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(password_hash(longpw, 1000, h, sizeof(h)), -1);
	free(longpw);
}

static void test_verify_refuses_overlong_password(void **state)
{
	/* A correct hash of a 1025-byte password, made without password.c:
	 * verify must refuse before hashing, whatever the stored hash says. */
	size_t n = PASSWORD_MAX_LEN + 1;
	char *pw = malloc(n + 1);
	unsigned char dk[32];
	char b64[45], enc[PASSWORD_HASH_MAX];

	(void)state;
	assert_non_null(pw);
	memset(pw, 'q', n);
	pw[n] = '\0';
	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)n, (const unsigned char *)"seasalt", 7, 1000,
	                                   EVP_sha256(), sizeof(dk), dk),
	                 1);
	EVP_EncodeBlock((unsigned char *)b64, dk, sizeof(dk));
	snprintf(enc, sizeof(enc), "pbkdf2_sha256$1000$seasalt$%s", b64);
	assert_false(password_verify(pw, enc));
	/* The same construction one byte shorter is accepted: the length was the reason. */
	pw[n - 1] = '\0';
	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)n - 1, (const unsigned char *)"seasalt", 7,
	                                   1000, EVP_sha256(), sizeof(dk), dk),
	                 1);
	EVP_EncodeBlock((unsigned char *)b64, dk, sizeof(dk));
	snprintf(enc, sizeof(enc), "pbkdf2_sha256$1000$seasalt$%s", b64);
	assert_true(password_verify(pw, enc));
	free(pw);
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

static void test_burn_costs_like_verify(void **state)
{
	char h[PASSWORD_HASH_MAX];
	double t0, verify_t = 1e9, burn_t = 1e9, cheap_t = 1e9;

	(void)state;
	assert_int_equal(password_hash("hunter2hunter2", 100000, h, sizeof(h)), 0);
	/* The fastest of three runs each, so that a preempted run cannot skew it. */
	for (int i = 0; i < 3; i++) {
		t0 = now_sec();
		assert_false(password_verify("wrong-password", h));
		verify_t = min_d(verify_t, now_sec() - t0);
		t0 = now_sec();
		password_burn("wrong-password", 100000);
		burn_t = min_d(burn_t, now_sec() - t0);
		t0 = now_sec();
		password_burn("wrong-password", 1);
		cheap_t = min_d(cheap_t, now_sec() - t0);
	}
	/* Generous bounds: the point is that burn does the same PBKDF2 work. */
	assert_true(burn_t > verify_t * 0.3);
	assert_true(burn_t < verify_t * 3.0);
	assert_true(burn_t > cheap_t * 10);
	/* Out-of-range inputs are clamped, never crash. */
	password_burn(NULL, 0);
	password_burn("x", -1);
}

#define SHORT "This password is too short. It must contain at least 8 characters."
#define NUMERIC "This password is entirely numeric."
#define COMMON "This password is too common."
#define SIMILAR "The password is too similar to the email address."

static void test_policy_length(void **state)
{
	char *longpw = malloc(PASSWORD_MAX_LEN + 2);

	(void)state;
	assert_non_null(longpw);
	assert_string_equal(password_policy("", NULL), SHORT);
	assert_string_equal(password_policy(NULL, NULL), SHORT);
	assert_string_equal(password_policy("Xq7#vLp", NULL), SHORT);
	assert_null(password_policy("Xq7#vLp2", NULL));
	/* Characters, not bytes: 7 characters in 8 bytes is short, 8 in 9 is not. */
	assert_string_equal(password_policy("Xq7#vLè", NULL), SHORT);
	assert_null(password_policy("Xq7#vLè2", NULL));

	memset(longpw, 'k', PASSWORD_MAX_LEN + 1);
	longpw[PASSWORD_MAX_LEN] = '\0';
	longpw[0] = 'Z';
	assert_null(password_policy(longpw, "someone@example.com"));
	longpw[PASSWORD_MAX_LEN] = 'k';
	longpw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_string_equal(password_policy(longpw, NULL),
	                    "This password is too long. It must contain at most 1024 characters.");
	free(longpw);
}

static void test_policy_numeric(void **state)
{
	(void)state;
	assert_string_equal(password_policy("4839201756", NULL), NUMERIC);
	assert_string_equal(password_policy("48392017569302", "a@b.c"), NUMERIC);
	assert_null(password_policy("4839201756a", NULL));
	assert_null(password_policy("4839 201756", NULL));
}

static void test_policy_common(void **state)
{
	(void)state;
	assert_string_equal(password_policy("password", NULL), COMMON);
	assert_string_equal(password_policy("qwerty123", NULL), COMMON);
	/* Common and numeric: Django's CommonPasswordValidator comes first. */
	assert_string_equal(password_policy("12345678", NULL), COMMON);
	/* Compared lowercase and stripped, as Django does. */
	assert_string_equal(password_policy("PassWord", NULL), COMMON);
	assert_string_equal(password_policy("  password1234\t", NULL), COMMON);
	/* The first and the last entries of the sorted list are found. */
	assert_string_equal(password_policy("        !       ", NULL), COMMON);
	assert_string_equal(password_policy("zzzzzzzzzz", NULL), COMMON);
	assert_null(password_policy("password-but-longer", NULL));
	assert_null(password_policy("passwor d", NULL));
}

static const char *common_entry(size_t i)
{
	return common_password_blob + common_password_at[i];
}

static void test_common_list_sorted(void **state)
{
	size_t n = COMMON_PASSWORDS_COUNT;
	size_t eight = 0;

	(void)state;
	/* bsearch() needs strict byte order; the compare needs lowercase. */
	assert_int_equal(n, 19727);
	/* Each entry starts where the one before ended, and the last fills the blob. */
	for (size_t i = 1; i < n; i++)
		assert_int_equal(common_password_at[i],
		                 common_password_at[i - 1] + strlen(common_entry(i - 1)) + 1);
	assert_int_equal(common_password_at[n - 1] + strlen(common_entry(n - 1)) + 2,
	                 sizeof(common_password_blob));
	for (size_t i = 0; i < n; i++) {
		for (const char *p = common_entry(i); *p != '\0'; p++)
			assert_false(*p >= 'A' && *p <= 'Z');
		if (i > 0 && strcmp(common_entry(i - 1), common_entry(i)) >= 0)
			fail_msg("not sorted at %zu: %s", i, common_entry(i));
		if (strlen(common_entry(i)) >= 8)
			eight++;
	}
	/* Every long-enough entry is refused as common through the policy. */
	for (size_t i = 0; i < n; i++) {
		const char *pw = common_entry(i);
		const char *msg = password_policy(pw, NULL);

		if (strlen(pw) >= 8 && (msg == NULL || strcmp(msg, COMMON) != 0))
			fail_msg("common password not refused: %s", pw);
	}
	assert_true(eight >= 1000);
}

static void test_policy_similarity(void **state)
{
	(void)state;
	/* Equal to the address, whatever the case. */
	assert_string_equal(password_policy("jo@example.com", "jo@example.com"), SIMILAR);
	assert_string_equal(password_policy("JO@Example.COM", "jo@example.com"), SIMILAR);
	/* Containing the local part. */
	assert_string_equal(password_policy("alice.smith2024!", "Alice.Smith@example.com"),
	                    SIMILAR);
	assert_string_equal(password_policy("xxALICE.SMITHxx", "alice.smith@example.com"), SIMILAR);
	assert_string_equal(password_policy("bobbobbob", "bob@example.com"), SIMILAR);
	/* Similarity is checked first, as in Django's settings template. */
	assert_string_equal(password_policy("bob", "bob@example.com"), SIMILAR);
	/* A local part under 3 characters is not looked for inside. */
	assert_null(password_policy("jo-rocks-the-house", "jo@example.com"));
	/* Unrelated addresses and a missing or empty one. */
	assert_null(password_policy("Xq7#vLp2", "alice@example.com"));
	assert_null(password_policy("Xq7#vLp2", ""));
	assert_null(password_policy("Xq7#vLp2", NULL));
	/* An address without '@': the whole of it is the local part. */
	assert_string_equal(password_policy("my-carol-pass", "carol"), SIMILAR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hash_format_and_roundtrip),
	        cmocka_unit_test(test_django_vectors),
	        cmocka_unit_test(test_malformed_encodings),
	        cmocka_unit_test(test_malformed_but_matching),
	        cmocka_unit_test(test_hash_errors),
	        cmocka_unit_test(test_verify_refuses_overlong_password),
	        cmocka_unit_test(test_burn_costs_like_verify),
	        cmocka_unit_test(test_policy_length),
	        cmocka_unit_test(test_policy_numeric),
	        cmocka_unit_test(test_policy_common),
	        cmocka_unit_test(test_common_list_sorted),
	        cmocka_unit_test(test_policy_similarity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
