/*
 * Every random byte levy hands out (keys, salts, token ids, request ids)
 * comes from OpenSSL's CSPRNG here.  A failure aborts rather than returning:
 * a caller that forgot to check would otherwise mint a predictable key.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/arena.h"
#include "crypto/rand.h"

static const char rand_alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* The largest multiple of 62 that fits in a byte: bytes at or above it are
 * redrawn, so that every character is equally likely. */
#define RAND_BASE62_LIMIT (256 - 256 % 62)

void rand_bytes(unsigned char *buf, size_t n)
{
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;

		if (RAND_bytes(buf, chunk) != 1) {
			fputs("levy: RAND_bytes failed: no randomness for key material\n", stderr);
			abort();
		}
		buf += chunk;
		n -= (size_t)chunk;
	}
}

void rand_base62(char *out, size_t n)
{
	unsigned char pool[64];
	size_t used = sizeof(pool), i = 0;

	while (i < n) {
		if (used == sizeof(pool)) {
			rand_bytes(pool, sizeof(pool));
			used = 0;
		}
		unsigned char b = pool[used++];
		if (b >= RAND_BASE62_LIMIT)
			continue;
		out[i++] = rand_alphabet[b % 62];
	}
	out[n] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
}

char *rand_id(struct arena *a, const char *prefix, size_t n)
{
	size_t plen = strlen(prefix);
	char *s = arena_alloc(a, plen + n + 1);

	memcpy(s, prefix, plen);
	rand_base62(s + plen, n);
	return s;
}

void rand_preload(void)
{
	static const unsigned char salt[8] = "levysalt";
	unsigned char buf[32];
	unsigned int len = sizeof(buf);

	rand_bytes(buf, sizeof(buf));
	EVP_Digest("levy", 4, buf, &len, EVP_sha256(), NULL);
	HMAC(EVP_sha256(), salt, sizeof(salt), buf, sizeof(buf), buf, &len);
	PKCS5_PBKDF2_HMAC("levy", 4, salt, sizeof(salt), 1, EVP_sha256(), sizeof(buf), buf);
	OPENSSL_cleanse(buf, sizeof(buf));
}
