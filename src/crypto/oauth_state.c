/*
 * The OAuth state (see oauth_state.h).  Fixed lengths throughout: a state
 * is exactly OAUTH_STATE_LEN characters, so nothing variable is parsed
 * before the MAC has been checked.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/str.h"
#include "crypto/oauth_state.h"
#include "crypto/rand.h"

#define OAUTH_STATE_VERSION 1
#define OAUTH_STATE_NONCE 16
#define OAUTH_STATE_PAYLOAD (1 + 8 + 8 + 8 + OAUTH_STATE_NONCE)
#define OAUTH_STATE_MAC 32
#define OAUTH_STATE_PAYLOAD_B64 55 /* unpadded base64url of 41 bytes */
#define OAUTH_STATE_MAC_B64 43     /* of 32 bytes */
/* The label that makes the state's key differ from the JWT key it is derived from. */
#define OAUTH_STATE_LABEL "levy/stripe-connect/oauth-state/v1"

static const char oauth_b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of n bytes into out (NUL-terminated); the characters written. */
static size_t oauth_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v =
		        ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];

		out[o++] = oauth_b64url[(v >> 18) & 63];
		out[o++] = oauth_b64url[(v >> 12) & 63];
		out[o++] = oauth_b64url[(v >> 6) & 63];
		out[o++] = oauth_b64url[v & 63];
	}
	if (n - i == 1) {
		out[o++] = oauth_b64url[in[i] >> 2];
		out[o++] = oauth_b64url[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		unsigned long v = ((unsigned long)in[i] << 8) | in[i + 1];

		out[o++] = oauth_b64url[(v >> 10) & 63];
		out[o++] = oauth_b64url[(v >> 4) & 63];
		out[o++] = oauth_b64url[(v << 2) & 63];
	}
	out[o] = '\0';
	return o;
}

/*
 * Unpadded base64url of exactly n characters into out; the bytes decoded,
 * or -1 for a bad character or stray bits (only the canonical encoding of
 * a value is accepted, so a state has one spelling).
 */
static long oauth_b64url_decode(const char *s, size_t n, unsigned char *out)
{
	unsigned long acc = 0;
	size_t bits = 0, o = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = s[i] != '\0' ? strchr(oauth_b64url, s[i]) : NULL;

		if (p == NULL)
			return -1;
		acc = (acc << 6) | (unsigned long)(p - oauth_b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1ul << bits) - 1;
		}
	}
	return acc != 0 ? -1 : (long)o;
}

static void oauth_put64(unsigned char *p, long long v)
{
	unsigned long long u = (unsigned long long)v;

	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static long long oauth_get64(const unsigned char *p)
{
	unsigned long long u = 0;

	for (int i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (long long)u;
}

/* HMAC-SHA256 of the payload with the key derived from secret. */
static int oauth_state_mac(const char *secret, const unsigned char *payload,
                           unsigned char mac[OAUTH_STATE_MAC])
{
	unsigned char key[EVP_MAX_MD_SIZE];
	unsigned int klen = 0, mlen = 0;
	int rc = -1;

	if (secret == NULL || secret[0] == '\0')
		return -1;
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	         (const unsigned char *)OAUTH_STATE_LABEL, strlen(OAUTH_STATE_LABEL), key,
	         &klen) != NULL &&
	    HMAC(EVP_sha256(), key, (int)klen, payload, OAUTH_STATE_PAYLOAD, mac, &mlen) != NULL &&
	    mlen == OAUTH_STATE_MAC)
		rc = 0;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int oauth_state_make(const char *secret, long long tenant_id, long long user_id, long long now,
                     int ttl, char *out, size_t outlen, long long *expires_at)
{
	unsigned char payload[OAUTH_STATE_PAYLOAD], mac[OAUTH_STATE_MAC];

	if (outlen < OAUTH_STATE_LEN + 1)
		return -1;
	*expires_at = now + ttl;
	payload[0] = OAUTH_STATE_VERSION;
	oauth_put64(payload + 1, tenant_id);
	oauth_put64(payload + 9, user_id);
	oauth_put64(payload + 17, *expires_at);
	rand_bytes(payload + 25, OAUTH_STATE_NONCE);
	if (oauth_state_mac(secret, payload, mac) != 0)
		return -1;
	oauth_b64url_encode(payload, sizeof(payload), out);
	out[OAUTH_STATE_PAYLOAD_B64] = '.';
	oauth_b64url_encode(mac, sizeof(mac), out + OAUTH_STATE_PAYLOAD_B64 + 1);
	return 0;
}

enum oauth_state_verdict oauth_state_check(const char *secret, const char *state,
                                           long long tenant_id, long long user_id, long long now)
{
	unsigned char payload[OAUTH_STATE_PAYLOAD + 2], mac[OAUTH_STATE_MAC + 2],
	        want[OAUTH_STATE_MAC];
	bool same;

	if (state == NULL || strnlen(state, OAUTH_STATE_LEN + 1) != OAUTH_STATE_LEN ||
	    state[OAUTH_STATE_PAYLOAD_B64] != '.')
		return OAUTH_STATE_MALFORMED;
	if (oauth_b64url_decode(state, OAUTH_STATE_PAYLOAD_B64, payload) != OAUTH_STATE_PAYLOAD ||
	    oauth_b64url_decode(state + OAUTH_STATE_PAYLOAD_B64 + 1, OAUTH_STATE_MAC_B64, mac) !=
	            OAUTH_STATE_MAC)
		return OAUTH_STATE_MALFORMED;
	if (oauth_state_mac(secret, payload, want) != 0)
		return OAUTH_STATE_BAD_MAC;
	same = str_ct_equal(mac, want, OAUTH_STATE_MAC);
	OPENSSL_cleanse(want, sizeof(want));
	if (!same)
		return OAUTH_STATE_BAD_MAC;
	if (payload[0] != OAUTH_STATE_VERSION)
		return OAUTH_STATE_MALFORMED;
	if (now >= oauth_get64(payload + 17))
		return OAUTH_STATE_EXPIRED;
	if (oauth_get64(payload + 1) != tenant_id)
		return OAUTH_STATE_OTHER_TENANT;
	if (oauth_get64(payload + 9) != user_id)
		return OAUTH_STATE_OTHER_USER;
	return OAUTH_STATE_OK;
}
