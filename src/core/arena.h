/*
 * The per-request arena: every allocation a request makes lives here until
 * arena_reset(), after the response is written.  Handlers never free by hand;
 * foreign objects (json-c trees, PGresults) are released by cleanups that
 * arena_on_reset() registers.  Allocation never fails: on OOM the process
 * aborts and the master starts a new worker, as palloc does.
 */
#ifndef LEVY_ARENA_H
#define LEVY_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_block;
struct arena_cleanup;

struct arena {
	struct arena_block *blocks;     /* newest first */
	struct arena_block *first;      /* kept across resets */
	struct arena_cleanup *cleanups; /* run newest first */
	size_t total;                   /* bytes handed out since the last reset */
};

void arena_init(struct arena *a);
/* Zeroed memory, aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
void arena_on_reset(struct arena *a, void (*fn)(void *), void *arg);
/* Runs the cleanups and frees every block but the first. */
void arena_reset(struct arena *a);
void arena_destroy(struct arena *a);

#endif
