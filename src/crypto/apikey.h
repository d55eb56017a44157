/*
 * API key format: PREFIX + APIKEY_RANDOM_LEN base62 characters from
 * RAND_bytes + a 6-character checksum (CRC32 of PREFIX+random, in base62,
 * left-padded with '0'), as GitHub's tokens do, so that a mistyped key is
 * refused without a database look-up.  PREFIX is sk_live_, sk_test_,
 * pk_live_ or pk_test_.  At rest a key is its SHA-256 plus prefix and last 4.
 */
#ifndef LEVY_APIKEY_H
#define LEVY_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#define APIKEY_PREFIX_LEN 8
#define APIKEY_RANDOM_LEN 32
#define APIKEY_CHECKSUM_LEN 6
#define APIKEY_LEN (APIKEY_PREFIX_LEN + APIKEY_RANDOM_LEN + APIKEY_CHECKSUM_LEN)

/* out holds APIKEY_LEN + 1. */
void apikey_generate(bool secret, bool livemode, char out[APIKEY_LEN + 1]);
/*
 * 0 when key is well formed with a valid checksum (then *secret and
 * *livemode are set), -1 otherwise.  Never reads past a NUL; keys longer than
 * APIKEY_LEN are malformed.
 */
int apikey_parse(const char *key, bool *secret, bool *livemode);
/* SHA-256 of the key, as 64 lowercase hex characters + NUL. */
void apikey_hash_hex(const char *key, char out[65]);
/* "sk_live_...WXYZ": prefix, "...", last 4. out holds APIKEY_PREFIX_LEN + 8. */
void apikey_redact(const char *key, char *out, size_t outlen);
/* CRC32 (IEEE 802.3, as zlib's crc32()) of n bytes. */
unsigned long apikey_crc32(const unsigned char *buf, size_t n);

#endif
