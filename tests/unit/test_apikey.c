/*
 * API key format (src/crypto/apikey.c) and the randomness under it
 * (src/crypto/rand.c): round trips for the four prefixes, the checksum
 * catching typos, every malformed shape, the CRC32 reference vector,
 * SHA-256, redaction, and the base62 draw being unbiased.
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

#include "core/arena.h"
#include "crypto/apikey.h"
#include "crypto/rand.h"

static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool is_base62(char c)
{
	return c != '\0' && strchr(digits, c) != NULL;
}

/*
 * Builds PREFIX + body + a correct checksum, independently of
 * apikey_generate(), so that a refusal can be pinned on the prefix or the
 * alphabet rather than on the checksum.
 */
static void make_key(const char *prefix, const char *body, char out[APIKEY_LEN + 1])
{
	size_t n;
	unsigned long v;

	snprintf(out, APIKEY_LEN + 1, "%s%s", prefix, body);
	n = strlen(out);
	assert_int_equal(n, APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN);
	v = apikey_crc32((const unsigned char *)out, n);
	for (int i = APIKEY_CHECKSUM_LEN - 1; i >= 0; i--) {
		out[n + (size_t)i] = digits[v % 62];
		v /= 62;
	}
	out[APIKEY_LEN] = '\0';
}

static void test_crc32_vectors(void **state)
{
	(void)state;
	/* The CRC-32/ISO-HDLC check value, as zlib.crc32(b"123456789"). */
	assert_int_equal(apikey_crc32((const unsigned char *)"123456789", 9), 0xCBF43926UL);
	assert_int_equal(apikey_crc32((const unsigned char *)"", 0), 0UL);
	assert_int_equal(
	        apikey_crc32((const unsigned char *)"The quick brown fox jumps over the lazy dog",
	                     43),
	        0x414FA339UL);
}

static void test_generate_parse_all_prefixes(void **state)
{
	static const struct {
		bool secret, live;
		const char *prefix;
	} cases[] = {
	        {true, true, "sk_live_"},
	        {true, false, "sk_test_"},
	        {false, true, "pk_live_"},
	        {false, false, "pk_test_"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char key[APIKEY_LEN + 1];
		bool secret = !cases[i].secret, live = !cases[i].live;

		memset(key, 'x', sizeof(key));
		apikey_generate(cases[i].secret, cases[i].live, key);
		assert_int_equal(strlen(key), APIKEY_LEN);
		assert_memory_equal(key, cases[i].prefix, APIKEY_PREFIX_LEN);
		for (size_t j = APIKEY_PREFIX_LEN; j < APIKEY_LEN; j++)
			assert_true(is_base62(key[j]));
		assert_int_equal(apikey_parse(key, &secret, &live), 0);
		assert_int_equal(secret, cases[i].secret);
		assert_int_equal(live, cases[i].live);
	}
}

static void test_checksum_format(void **state)
{
	char key[APIKEY_LEN + 1], body[APIKEY_RANDOM_LEN + 1], again[APIKEY_LEN + 1];
	bool s, l, padded = false;

	(void)state;
	for (int i = 0; i < 1000 && !padded; i++) {
		unsigned long crc;

		apikey_generate(false, false, key);
		/* Our independent encoding of the CRC agrees with the generator's. */
		memcpy(body, key + APIKEY_PREFIX_LEN, APIKEY_RANDOM_LEN);
		body[APIKEY_RANDOM_LEN] = '\0';
		make_key("pk_test_", body, again);
		assert_string_equal(again, key);
		/* A CRC below 62^5 (about 1 in 5) needs the left '0' pad. */
		crc = apikey_crc32((const unsigned char *)key,
		                   APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN);
		if (crc < 916132832UL) {
			assert_int_equal(key[APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN], '0');
			assert_int_equal(apikey_parse(key, &s, &l), 0);
			padded = true;
		} else {
			assert_int_not_equal(key[APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN], '0');
		}
	}
	assert_true(padded);
}

static void test_single_typo_refused(void **state)
{
	char key[APIKEY_LEN + 1];
	bool s, l;

	(void)state;
	apikey_generate(true, true, key);
	/* Every substitution of every random or checksum character. */
	for (size_t i = APIKEY_PREFIX_LEN; i < APIKEY_LEN; i++) {
		char orig = key[i];

		for (const char *d = digits; *d != '\0'; d++) {
			if (*d == orig)
				continue;
			key[i] = *d;
			assert_int_equal(apikey_parse(key, &s, &l), -1);
		}
		key[i] = orig;
	}
	assert_int_equal(apikey_parse(key, &s, &l), 0);

	/* Two neighbours swapped. */
	for (size_t i = APIKEY_PREFIX_LEN; i + 1 < APIKEY_LEN; i++) {
		char t = key[i];

		if (key[i + 1] == t)
			continue;
		key[i] = key[i + 1];
		key[i + 1] = t;
		assert_int_equal(apikey_parse(key, &s, &l), -1);
		key[i + 1] = key[i];
		key[i] = t;
	}

	/* The prefix is inside the checksum: test <-> live is caught too. */
	memcpy(key, "sk_test_", APIKEY_PREFIX_LEN);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	memcpy(key, "pk_live_", APIKEY_PREFIX_LEN);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
}

static void test_malformed_refused(void **state)
{
	char key[APIKEY_LEN + 1], longer[APIKEY_LEN + 2];
	bool s = false, l = false;

	(void)state;
	/* A valid checksum but an unknown prefix. */
	make_key("rk_live_", "abcdefghijABCDEFGHIJ0123456789xy", key);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	make_key("SK_LIVE_", "abcdefghijABCDEFGHIJ0123456789xy", key);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	make_key("sk_live-", "abcdefghijABCDEFGHIJ0123456789xy", key);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	/* The same body under a real prefix is fine: the prefix was the fault. */
	make_key("sk_live_", "abcdefghijABCDEFGHIJ0123456789xy", key);
	assert_int_equal(apikey_parse(key, &s, &l), 0);
	assert_true(s);
	assert_true(l);

	/* A valid checksum over characters outside base62. */
	make_key("sk_test_", "abcdefghijABCDEFGHIJ0123456789x-", key);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	make_key("sk_test_", "abcdefghij ABCDEFGHIJ012345678xy", key);
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	make_key("sk_test_",
	         "abcdefghij\xc3\xa9"
	         "BCDEFGHIJ012345678xy",
	         key);
	assert_int_equal(apikey_parse(key, &s, &l), -1);

	/* Lengths. */
	apikey_generate(true, false, key);
	assert_int_equal(apikey_parse(key, &s, &l), 0);
	snprintf(longer, sizeof(longer), "%sA", key);
	assert_int_equal(apikey_parse(longer, &s, &l), -1);
	key[APIKEY_LEN - 1] = '\0';
	assert_int_equal(apikey_parse(key, &s, &l), -1);
	assert_int_equal(apikey_parse("", &s, &l), -1);
	assert_int_equal(apikey_parse("sk_test_", &s, &l), -1);
	assert_int_equal(apikey_parse(NULL, &s, &l), -1);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_uniqueness(void **state)
{
	enum { N = 2000 };
	char(*keys)[APIKEY_LEN + 1] = malloc(N * sizeof(*keys));

	(void)state;
	assert_non_null(keys);
	for (int i = 0; i < N; i++)
		apikey_generate(i % 2 == 0, i % 4 < 2, keys[i]);
	qsort(keys, N, sizeof(*keys), cmp_keys);
	for (int i = 1; i < N; i++)
		assert_true(strcmp(keys[i - 1] + APIKEY_PREFIX_LEN, keys[i] + APIKEY_PREFIX_LEN) !=
		            0);
	free(keys);
}

static void test_hash_hex(void **state)
{
	char out[65];

	(void)state;
	/* FIPS 180-2's "abc" vector. */
	apikey_hash_hex("abc", out);
	assert_string_equal(out,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	apikey_hash_hex("", out);
	assert_string_equal(out,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_redact(void **state)
{
	char key[APIKEY_LEN + 1], out[APIKEY_PREFIX_LEN + 8], small[6];

	(void)state;
	make_key("sk_live_", "abcdefghijABCDEFGHIJ0123456789xy", key);
	apikey_redact(key, out, sizeof(out));
	assert_int_equal(strlen(out), APIKEY_PREFIX_LEN + 7);
	assert_memory_equal(out, "sk_live_...", 11);
	assert_string_equal(out + 11, key + APIKEY_LEN - 4);
	/* Nothing of the random part survives. */
	assert_null(strstr(out, "abcd"));

	apikey_redact("pk_test_0123456789WXYZ", out, sizeof(out));
	assert_string_equal(out, "pk_test_...WXYZ");
	/* Too short to hide anything: nothing is shown. */
	apikey_redact("sk_live_ab", out, sizeof(out));
	assert_string_equal(out, "...");
	/* A small buffer is truncated, never overrun. */
	memset(small, 'Z', sizeof(small));
	apikey_redact(key, small, sizeof(small));
	assert_string_equal(small, "sk_li");
}

static void test_rand_base62_unbiased(void **state)
{
	/* 62 * 10000 draws: each character expected 10000 times (sd ~100).
	 * Without the rejection step, '0'..'7' would come 12109 times. */
	enum { N = 620000 };
	char *buf = malloc(N + 1);
	long counts[256] = {0};

	(void)state;
	assert_non_null(buf);
	buf[N] = 'x';
	rand_base62(buf, N);
	assert_int_equal(buf[N], '\0');
	for (size_t i = 0; i < N; i++)
		counts[(unsigned char)buf[i]]++;
	for (int c = 0; c < 256; c++) {
		if (is_base62((char)c)) {
			assert_in_range(counts[c], 9400, 10600);
		} else {
			assert_int_equal(counts[c], 0);
		}
	}
	free(buf);
}

static void test_rand_id(void **state)
{
	struct arena a;
	char *id, *id2;
	unsigned char zero[64] = {0}, bytes[64] = {0};

	(void)state;
	arena_init(&a);
	id = rand_id(&a, "req_", 24);
	id2 = rand_id(&a, "req_", 24);
	assert_int_equal(strlen(id), 28);
	assert_memory_equal(id, "req_", 4);
	for (size_t i = 4; i < 28; i++)
		assert_true(is_base62(id[i]));
	assert_string_not_equal(id, id2);
	assert_string_equal(rand_id(&a, "", 0), "");
	arena_destroy(&a);

	rand_bytes(bytes, sizeof(bytes));
	assert_memory_not_equal(bytes, zero, sizeof(bytes));
	rand_bytes(bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_crc32_vectors),
	        cmocka_unit_test(test_generate_parse_all_prefixes),
	        cmocka_unit_test(test_checksum_format),
	        cmocka_unit_test(test_single_typo_refused),
	        cmocka_unit_test(test_malformed_refused),
	        cmocka_unit_test(test_uniqueness),
	        cmocka_unit_test(test_hash_hex),
	        cmocka_unit_test(test_redact),
	        cmocka_unit_test(test_rand_base62_unbiased),
	        cmocka_unit_test(test_rand_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
