/*
 * One request as handlers see it: method, normalized path, route params,
 * headers, the decoded body or query (struct params), who is calling, and
 * the arena everything lives in.  Built by route_serve(); all strings live
 * in r->arena until the response is written.
 */
#ifndef LEVY_REQ_H
#define LEVY_REQ_H

#include <stdbool.h>
#include <time.h>

#include <fcgiapp.h>

#include "api/role.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/param.h"
#include "db/db.h"
#include "http/route.h"

struct tenant_row; /* db/tenant.h */

enum principal_kind { P_NONE = 0, P_API_KEY, P_USER };

struct principal {
	enum principal_kind kind;
	long long tenant_id;
	bool livemode;
	bool secret_key; /* P_API_KEY: sk_ (true) or pk_ */
	long long key_id;
	long long user_id; /* P_USER */
	enum role role;    /* P_USER: from the database, not the token */
	const char *company_name;
	const char *slug;
	/*
	 * P_API_KEY on a transactional route: the key's SHA-256, looked up in the
	 * transaction's opening pipeline.  Until the handler's first statement,
	 * only kind, secret_key and livemode are known (they come from the key's
	 * prefix); tenant_id, key_id, company_name and slug come with it.
	 */
	const char *key_hash;
	/*
	 * P_API_KEY on a transactional route, once the look-up has answered:
	 * the key's (active) tenant, profile and all, which the look-up returns
	 * so that a handler needing only that (tenants/me) runs no statement.
	 */
	const struct tenant_row *tenant;
};

struct req {
	struct arena *arena;
	FCGX_Request *fcgx; /* NULL in unit tests */
	const struct conf *conf;
	struct db *db;
	char id[32]; /* Request-Id: req_... */
	const char *method;
	const char *path; /* normalized: "/v1/auth/users/12" */
	const char *query;
	const struct route *route;
	const char *params[ROUTE_MAX_PARAMS];
	int nparams;
	struct params in; /* body (POST, PATCH) or query string (GET, DELETE) */
	struct principal who;
	struct db_check check; /* the opening pipeline's check (auth_begin) */
	long long now;         /* Unix seconds at the start of the request */
	struct timespec start;
	const char *idempotency_key; /* the client's Idempotency-Key (POST), or NULL */
	int processor_calls;         /* payments this request has asked a live processor for */
};

/* "req_" and 24 base62 characters: the Request-Id header and the log line's id. */
#define REQ_ID_LEN 28
/*
 * A new request id into out (n bytes, at least REQ_ID_LEN + 1): unique
 * within the process and, through a random per-process prefix, across
 * processes; not a secret, and not drawn from the CSPRNG each time.
 */
void req_id_new(char *out, size_t n);
/* Draws the process's prefix afresh: each worker calls it once after fork. */
void req_id_init(void);
/* A FastCGI param ("REQUEST_METHOD") or NULL. */
const char *req_env(const struct req *r, const char *name);
/* An HTTP header by its name ("Authorization"), or NULL. */
const char *req_header(const struct req *r, const char *name);
/*
 * Reads and decodes the body (POST, PATCH, PUT) or the query string into
 * r->in: 413 over the body limit (the body is drained), 415 for a missing or
 * other Content-Type on a non-empty body, 400 for malformed input or a JSON
 * body that is not an object.
 */
int req_decode_input(struct req *r, struct err *e);
/* Decodes raw bytes as the given Content-Type into p (unit-testable core). */
int req_decode_body(struct arena *a, const char *content_type, const char *body, size_t len,
                    struct params *p, struct err *e);

#endif
