/*
 * API key format, checksum, hash and redaction.  The checksum is CRC32 (the
 * IEEE polynomial, as zlib's crc32()) of prefix + random, written as 6 base62
 * digits (0-9A-Za-z, most significant first, left-padded with '0'); 62^6
 * exceeds 2^32, so every CRC fits.  It catches typos before any database
 * look-up; it is no defence against forgery, which the 190 bits of random and
 * the hash compare in the database provide.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/apikey.h"
#include "crypto/rand.h"

static const char apikey_digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const struct {
	const char *prefix;
	bool secret;
	bool livemode;
} apikey_prefixes[] = {
        {"sk_live_", true, true},
        {"sk_test_", true, false},
        {"pk_live_", false, true},
        {"pk_test_", false, false},
};

unsigned long apikey_crc32(const unsigned char *buf, size_t n)
{
	/* Bitwise, reflected polynomial 0xEDB88320: keys are 40 bytes, so a
	 * table buys nothing worth its 1 KiB. */
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= buf[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return (unsigned long)(crc ^ 0xFFFFFFFFu);
}

static void apikey_checksum(const char *body, size_t n, char out[APIKEY_CHECKSUM_LEN + 1])
{
	unsigned long v = apikey_crc32((const unsigned char *)body, n);

	for (int i = APIKEY_CHECKSUM_LEN - 1; i >= 0; i--) {
		out[i] = apikey_digits[v % 62];
		v /= 62;
	}
	out[APIKEY_CHECKSUM_LEN] = '\0';
}

static bool apikey_is_base62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void apikey_generate(bool secret, bool livemode, char out[APIKEY_LEN + 1])
{
	const char *prefix = NULL;

	for (size_t i = 0; i < sizeof(apikey_prefixes) / sizeof(apikey_prefixes[0]); i++)
		if (apikey_prefixes[i].secret == secret && apikey_prefixes[i].livemode == livemode)
			prefix = apikey_prefixes[i].prefix;
	memcpy(out, prefix, APIKEY_PREFIX_LEN);
	rand_base62(out + APIKEY_PREFIX_LEN, APIKEY_RANDOM_LEN);
	apikey_checksum(out, APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN,
	                out + APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN);
}

int apikey_parse(const char *key, bool *secret, bool *livemode)
{
	char sum[APIKEY_CHECKSUM_LEN + 1];
	size_t i, p, np = sizeof(apikey_prefixes) / sizeof(apikey_prefixes[0]);

	if (key == NULL || strnlen(key, APIKEY_LEN + 1) != APIKEY_LEN)
		return -1;
	for (p = 0; p < np; p++)
		if (memcmp(key, apikey_prefixes[p].prefix, APIKEY_PREFIX_LEN) == 0)
			break;
	if (p == np)
		return -1;
	for (i = APIKEY_PREFIX_LEN; i < APIKEY_LEN; i++)
		if (!apikey_is_base62(key[i]))
			return -1;
	apikey_checksum(key, APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN, sum);
	if (CRYPTO_memcmp(sum, key + APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN, APIKEY_CHECKSUM_LEN) !=
	    0)
		return -1;
	*secret = apikey_prefixes[p].secret;
	*livemode = apikey_prefixes[p].livemode;
	return 0;
}

void apikey_hash_hex(const char *key, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	/*
	 * Fetched once: EVP_sha256() looks the implementation up in OpenSSL 3's
	 * provider tables on every call, a fair share of an API request's cost.
	 */
	static EVP_MD *sha256;

	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256 == NULL || EVP_Digest(key, strlen(key), md, &mdlen, sha256, NULL) != 1 ||
	    mdlen != sizeof(md)) {
		/* Only a broken libcrypto gets here; a wrong hash would
		 * silently lock every key out, or worse. */
		fputs("levy: SHA-256 failed\n", stderr);
		abort();
	}
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[64] = '\0';
}

void apikey_redact(const char *key, char *out, size_t outlen)
{
	size_t n = strlen(key);

	if (outlen == 0)
		return;
	/* Too short to hide anything: show nothing of it. */
	if (n < APIKEY_PREFIX_LEN + 4) {
		snprintf(out, outlen, "...");
		return;
	}
	snprintf(out, outlen, "%.*s...%.4s", APIKEY_PREFIX_LEN, key, key + n - 4);
}
