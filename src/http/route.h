/*
 * The request path: one FastCGI request in, one JSON response out.
 * route_serve() parses the request (req.c), finds the route, authenticates
 * per the route's flags (auth.c), runs the handler inside the tenant's
 * transaction, writes the response or the error (reply.c) and the access log
 * line.  Routes come from the tables in src/api/routes.c.
 */
#ifndef LEVY_ROUTE_H
#define LEVY_ROUTE_H

#include <stdbool.h>

#include <fcgiapp.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "db/db.h"

struct req;
struct reply;

enum http_method { M_GET = 1, M_POST = 2, M_PATCH = 4, M_DELETE = 8, M_PUT = 16 };

/* Who may call a route (checked before the handler runs). */
enum route_flags {
	R_PUBLIC = 1 << 0,     /* no credentials (register, login, refresh) */
	R_API_KEY = 1 << 1,    /* an API key, secret or publishable */
	R_SECRET_KEY = 1 << 2, /* a secret API key */
	R_USER = 1 << 3,       /* a dashboard user's JWT access token */
	R_READONLY = 1 << 4,   /* BEGIN READ ONLY */
	R_NO_TX = 1 << 5,      /* the handler opens its own transaction */
	/*
	 * The answer holds a secret (a rolled key): it is never stored for an
	 * Idempotency-Key replay, since secrets are kept only as hashes.
	 */
	R_SECRET_ANSWER = 1 << 6,
	/* The handler answers with the tenant's profile: an API key's look-up returns it. */
	R_PROFILE = 1 << 7,
};

#define ROUTE_MAX_PARAMS 4

struct route {
	unsigned method;     /* one enum http_method */
	const char *pattern; /* "/v1/auth/users/:id" (no /api prefix, no trailing slash) */
	unsigned flags;      /* enum route_flags */
	int action;          /* enum role_action the caller needs; -1: none beyond flags */
	int (*fn)(struct req *r, struct reply *out, struct err *e);
	const char *name; /* for the log: "users.update" */
};

/*
 * Matches method and path against the table; path has had "/api" and the
 * trailing slash removed.  Returns the route, or NULL with e = 404, or 405
 * (with *allow the methods the path does take).
 */
const struct route *route_match(const struct route *table, const char *method, const char *path,
                                const char **params, int *nparams, unsigned *allow, struct err *e);
/* "/api/v1/x/" -> "/v1/x"; NULL when the path is outside the API. */
const char *route_normalize(struct arena *a, const char *path_info);

/* Per worker, kept across requests. */
struct route_ctx {
	const struct conf *conf;
	struct db db;
	struct arena arena;
	unsigned long long served;
};
void route_ctx_init(struct route_ctx *ctx, const struct conf *conf);
void route_ctx_free(struct route_ctx *ctx);
/* Serves one request completely, including FCGX_Finish_r's output flush; resets the arena. */
void route_serve(struct route_ctx *ctx, FCGX_Request *fcgx);

#endif
