/*
 * Small string helpers shared by the parsers and the auth code.
 */
#ifndef LEVY_STR_H
#define LEVY_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Constant-time equality of two buffers of the same length. */
bool str_ct_equal(const void *a, const void *b, size_t n);
/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF); NUL bytes refused. */
bool str_utf8_valid(const char *s, size_t n);
bool str_has_prefix(const char *s, const char *prefix);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void str_hex(const unsigned char *in, size_t n, char *out);
/* Lowercases ASCII letters in place (emails are stored lowercased). */
void str_lower_ascii(char *s);
/* ASCII case-insensitive equality. */
bool str_ieq(const char *a, const char *b);

#endif
