/*
 * Randomness from OpenSSL's RAND_bytes.  A failure of the CSPRNG aborts:
 * there is no safe fallback for key material.
 */
#ifndef LEVY_RAND_H
#define LEVY_RAND_H

#include <stddef.h>

#include "core/arena.h"

void rand_bytes(unsigned char *buf, size_t n);
/* n characters of [0-9A-Za-z], unbiased (rejection sampling), then NUL: out holds n + 1. */
void rand_base62(char *out, size_t n);
/* prefix + n base62 characters, in the arena: rand_id(a, "req_", 24). */
char *rand_id(struct arena *a, const char *prefix, size_t n);

/*
 * Initializes OpenSSL's tables (providers, digests, the DRBG) in the master
 * before it forks, so that workers share those pages instead of each
 * building its own copy.
 */
void rand_preload(void);

#endif
