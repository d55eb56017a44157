/*
 * Password hashing and policy, byte for byte as Django does it, so that a
 * user table exported from the Django original imports as it is and a hash
 * made here verifies there.  Verification re-derives the hash and compares
 * its base64 text in constant time, which is exactly Django's check: an
 * encoding that is not the canonical one (leading zeros in the iteration
 * count, other padding) never matches.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/common_passwords.h"
#include "crypto/password.h"
#include "crypto/rand.h"

#define PASSWORD_ALGO "pbkdf2_sha256"
#define PASSWORD_DK_LEN 32
#define PASSWORD_B64_LEN 44 /* base64 of 32 bytes, with its one '=' */
#define PASSWORD_SALT_LEN 22
#define PASSWORD_SALT_MAX 64
#define PASSWORD_ITER_MAX 10000000
#define PASSWORD_MIN_CHARS 8

/* Any fixed salt will do: password_burn() only has to cost the same. */
static const char password_dummy_salt[] = "levyDummySaltForTiming";

/* PBKDF2 of password under salt, as base64 with padding into b64 (45 bytes). */
static int password_derive(const char *password, size_t plen, const char *salt, size_t slen,
                           int iterations, char b64[PASSWORD_B64_LEN + 1])
{
	unsigned char dk[PASSWORD_DK_LEN];
	int ok;

	ok = PKCS5_PBKDF2_HMAC(password, (int)plen, (const unsigned char *)salt, (int)slen,
	                       iterations, EVP_sha256(), sizeof(dk), dk);
	if (ok == 1)
		EVP_EncodeBlock((unsigned char *)b64, dk, sizeof(dk));
	OPENSSL_cleanse(dk, sizeof(dk));
	return ok == 1 ? 0 : -1;
}

int password_hash(const char *password, int iterations, char *out, size_t outlen)
{
	char salt[PASSWORD_SALT_LEN + 1];
	char b64[PASSWORD_B64_LEN + 1];
	size_t plen;
	int n;

	if (password == NULL || iterations < 1 || iterations > PASSWORD_ITER_MAX)
		return -1;
	plen = strnlen(password, PASSWORD_MAX_LEN + 1);
	if (plen > PASSWORD_MAX_LEN)
		return -1;
	rand_base62(salt, PASSWORD_SALT_LEN);
	if (password_derive(password, plen, salt, PASSWORD_SALT_LEN, iterations, b64) != 0)
		return -1;
	n = snprintf(out, outlen, PASSWORD_ALGO "$%d$%s$%s", iterations, salt, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Canonical decimal 1..PASSWORD_ITER_MAX: digits only, no sign, no leading zero. */
static int password_parse_iterations(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 8 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > PASSWORD_ITER_MAX ? -1 : (int)v;
}

static bool password_is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

bool password_verify(const char *password, const char *encoded)
{
	const char *iter, *salt, *hash, *end;
	char b64[PASSWORD_B64_LEN + 1];
	size_t plen, elen, slen;
	int iterations;
	bool match;

	if (password == NULL || encoded == NULL)
		return false;
	plen = strnlen(password, PASSWORD_MAX_LEN + 1);
	elen = strnlen(encoded, PASSWORD_HASH_MAX);
	if (plen > PASSWORD_MAX_LEN || elen >= PASSWORD_HASH_MAX)
		return false;
	end = encoded + elen;
	if (strncmp(encoded, PASSWORD_ALGO "$", sizeof(PASSWORD_ALGO)) != 0)
		return false;
	iter = encoded + sizeof(PASSWORD_ALGO);
	salt = memchr(iter, '$', (size_t)(end - iter));
	if (salt == NULL)
		return false;
	iterations = password_parse_iterations(iter, (size_t)(salt - iter));
	if (iterations < 0)
		return false;
	salt++;
	hash = memchr(salt, '$', (size_t)(end - salt));
	if (hash == NULL)
		return false;
	slen = (size_t)(hash - salt);
	if (slen == 0 || slen > PASSWORD_SALT_MAX)
		return false;
	for (size_t i = 0; i < slen; i++)
		if (salt[i] <= ' ' || salt[i] > '~')
			return false;
	hash++;
	if ((size_t)(end - hash) != PASSWORD_B64_LEN || hash[PASSWORD_B64_LEN - 1] != '=')
		return false;
	for (size_t i = 0; i < PASSWORD_B64_LEN - 1; i++)
		if (!password_is_b64(hash[i]))
			return false;
	if (password_derive(password, plen, salt, slen, iterations, b64) != 0)
		return false;
	match = CRYPTO_memcmp(b64, hash, PASSWORD_B64_LEN) == 0;
	OPENSSL_cleanse(b64, sizeof(b64));
	return match;
}

void password_burn(const char *password, int iterations)
{
	static const char target[PASSWORD_B64_LEN + 1] =
	        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	char b64[PASSWORD_B64_LEN + 1];
	volatile int sink;
	size_t plen;

	if (password == NULL)
		password = "";
	plen = strnlen(password, PASSWORD_MAX_LEN + 1);
	if (plen > PASSWORD_MAX_LEN)
		plen = PASSWORD_MAX_LEN;
	if (iterations < 1)
		iterations = 1;
	if (iterations > PASSWORD_ITER_MAX)
		iterations = PASSWORD_ITER_MAX;
	if (password_derive(password, plen, password_dummy_salt, sizeof(password_dummy_salt) - 1,
	                    iterations, b64) != 0)
		return;
	/* The comparison too, so that nothing but the outcome differs. */
	sink = CRYPTO_memcmp(b64, target, PASSWORD_B64_LEN);
	(void)sink;
	OPENSSL_cleanse(b64, sizeof(b64));
}

static int password_cmp(const void *key, const void *elem)
{
	return strcmp(key, common_password_blob + *(const unsigned *)elem);
}

static void password_lower(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[n] = '\0';
}

/* The ASCII part of what Python's str.strip() removes. */
static bool password_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

static bool password_is_common(const char *lower, size_t n)
{
	char key[PASSWORD_MAX_LEN + 1];

	while (n > 0 && password_is_space(lower[n - 1]))
		n--;
	while (n > 0 && password_is_space(*lower)) {
		lower++;
		n--;
	}
	memcpy(key, lower, n);
	key[n] = '\0';
	return bsearch(key, common_password_at, COMMON_PASSWORDS_COUNT,
	               sizeof(common_password_at[0]), password_cmp) != NULL;
}

static bool password_too_similar(const char *lower, size_t n, const char *email)
{
	char em[PASSWORD_MAX_LEN + 1];
	size_t elen = strnlen(email, PASSWORD_MAX_LEN + 1);
	char *at;

	/* An address longer than any accepted password can neither equal
	 * the password nor have a local part inside it. */
	if (elen > PASSWORD_MAX_LEN || elen == 0)
		return false;
	password_lower(em, email, elen);
	if (elen == n && memcmp(lower, em, n) == 0)
		return true;
	at = strrchr(em, '@');
	if (at != NULL)
		*at = '\0';
	return strlen(em) >= 3 && strstr(lower, em) != NULL;
}

const char *password_policy(const char *password, const char *email)
{
	char lower[PASSWORD_MAX_LEN + 1];
	size_t n, chars = 0;
	bool numeric = true;

	if (password == NULL)
		password = "";
	n = strnlen(password, PASSWORD_MAX_LEN + 1);
	if (n > PASSWORD_MAX_LEN)
		return "This password is too long. It must contain at most 1024 characters.";
	for (size_t i = 0; i < n; i++) {
		/* Django counts characters, not bytes: skip UTF-8 continuations. */
		if (((unsigned char)password[i] & 0xC0) != 0x80)
			chars++;
		if (password[i] < '0' || password[i] > '9')
			numeric = false;
	}
	password_lower(lower, password, n);
	/* Django's default validators, in the order of its settings template. */
	if (email != NULL && password_too_similar(lower, n, email))
		return "The password is too similar to the email address.";
	if (chars < PASSWORD_MIN_CHARS)
		return "This password is too short. It must contain at least 8 characters.";
	if (password_is_common(lower, n))
		return "This password is too common.";
	if (numeric)
		return "This password is entirely numeric.";
	return NULL;
}
