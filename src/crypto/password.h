/*
 * Passwords in Django's own format, so that users of the Django original
 * import as they are: "pbkdf2_sha256$ITERATIONS$SALT$BASE64(HASH)", PBKDF2-
 * HMAC-SHA256 through OpenSSL, 32-byte hash, salt of 22 base62 characters.
 */
#ifndef LEVY_PASSWORD_H
#define LEVY_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX 160
#define PASSWORD_MAX_LEN 1024 /* longer inputs are refused before hashing */

/* 0, or -1 if the salt could not be drawn or outlen is too small. */
int password_hash(const char *password, int iterations, char *out, size_t outlen);
/*
 * Constant-time comparison of the derived hash.  False for a malformed
 * encoding or an algorithm other than pbkdf2_sha256; iterations are taken
 * from the encoding (bounded to 1..10,000,000).
 */
bool password_verify(const char *password, const char *encoded);
/*
 * Spends the same time as password_verify() of a real hash with these
 * iterations, so that an unknown email and a wrong password take as long.
 */
void password_burn(const char *password, int iterations);
/*
 * Django's default validators: NULL when acceptable, else a message for the
 * client: at least 8 characters, not entirely numeric, not a common password,
 * not too similar to the email (its local part, or the whole address).
 */
const char *password_policy(const char *password, const char *email);

#endif
