/*
 * Route matching and the request path: parse, match, authenticate,
 * authorize, run the handler in the tenant's transaction, answer, log.
 * This is the only place that turns a struct err into a response.
 */
#include "config.h"

#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/routes.h"
#include "core/log.h"
#include "http/auth.h"
#include "http/idem.h"
#include "http/reply.h"
#include "http/req.h"
#include "http/route.h"

#define ROUTE_MAX_PATH 2048

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
        {"GET", M_GET}, {"POST", M_POST}, {"PATCH", M_PATCH}, {"DELETE", M_DELETE}, {"PUT", M_PUT},
};

static unsigned method_bit(const char *m)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, m) == 0)
			return methods[i].bit;
	return 0;
}

/* A path parameter: an id such as 12 or cus_AbC123 — letters, digits, '_' and '-'. */
static bool param_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Does path match pattern?  Fills params with pointers into a copy in buf. */
static bool pattern_match(const char *pattern, const char *path, char *buf, size_t buflen,
                          const char **params, int *nparams)
{
	const char *p = pattern, *s = path;
	size_t used = 0;

	*nparams = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == ':') {
			size_t n = 0;

			while (*p != '\0' && *p != '/')
				p++;
			while (s[n] != '\0' && s[n] != '/') {
				if (!param_char_ok(s[n]))
					return false;
				n++;
			}
			if (n == 0 || n > 64 || *nparams >= ROUTE_MAX_PARAMS ||
			    used + n + 1 > buflen)
				return false;
			memcpy(buf + used, s, n);
			buf[used + n] = '\0';
			params[(*nparams)++] = buf + used;
			used += n + 1;
			s += n;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

const struct route *route_match(const struct route *table, const char *method, const char *path,
                                const char **params, int *nparams, unsigned *allow, struct err *e)
{
	static char buf[ROUTE_MAX_PATH];
	unsigned want = method_bit(method);
	const struct route *found = NULL;

	*allow = 0;
	for (const struct route *rt = table; rt->pattern != NULL; rt++) {
		const char *tmp[ROUTE_MAX_PARAMS];
		int n;

		if (!pattern_match(rt->pattern, path, buf, sizeof(buf), tmp, &n))
			continue;
		*allow |= rt->method;
		if (found == NULL && rt->method == want) {
			found = rt;
			memcpy(params, tmp, sizeof(tmp));
			*nparams = n;
		}
	}
	if (found != NULL)
		return found;
	if (*allow != 0)
		err_set(e, 405, E_INVALID_REQUEST, NULL, NULL,
		        "The method %s is not allowed on %s.", method, path);
	else
		err_set(e, 404, E_INVALID_REQUEST, NULL, NULL, "Unrecognized request URL (%s %s).",
		        method, path);
	return NULL;
}

const char *route_normalize(struct arena *a, const char *path_info)
{
	size_t n;
	char *p;

	if (path_info == NULL || path_info[0] != '/')
		return NULL;
	n = strlen(path_info);
	if (n > ROUTE_MAX_PATH)
		return NULL;
	if (strncmp(path_info, "/api/", 5) == 0) {
		path_info += 4;
		n -= 4;
	}
	if (strncmp(path_info, "/v1/", 4) != 0 && strcmp(path_info, "/v1") != 0)
		return NULL;
	p = arena_strndup(a, path_info, n);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	return p;
}

void route_ctx_init(struct route_ctx *ctx, const struct conf *conf)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = conf;
	db_init(&ctx->db, conf->db_conninfo);
	arena_init(&ctx->arena);
}

void route_ctx_free(struct route_ctx *ctx)
{
	db_close(&ctx->db);
	arena_destroy(&ctx->arena);
}

static long long elapsed_us(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - start->tv_sec) * 1000000 +
	       (now.tv_nsec - start->tv_nsec) / 1000;
}

static void allow_header(struct req *r, struct reply *out, unsigned allow)
{
	char buf[64] = "";

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if ((allow & methods[i].bit) == 0)
			continue;
		if (buf[0] != '\0')
			strcat(buf, ", ");
		strcat(buf, methods[i].name);
	}
	reply_header(r, out, "Allow: %s", buf);
}

/* CORS preflight for configured origins; 204 with the allowed methods and headers. */
static void preflight(struct req *r, struct reply *out)
{
	out->status = 204;
	reply_header(r, out, "Access-Control-Allow-Methods: GET, POST, PATCH, DELETE");
	reply_header(r, out,
	             "Access-Control-Allow-Headers: Authorization, Content-Type, "
	             "Idempotency-Key, Levy-Mode, X-API-Key");
	reply_header(r, out, "Access-Control-Max-Age: 600");
}

/* The handler, in its transaction, with the request's Idempotency-Key honoured. */
static int run_idempotent(struct req *r, const struct idem *id, struct reply *out, struct err *e)
{
	bool replayed;

	if (id->key == NULL)
		return r->route->fn(r, out, e);
	if (idem_begin(r, id, out, &replayed, e) != 0)
		return -1;
	if (replayed)
		return 0;
	if (r->route->fn(r, out, e) != 0) {
		struct err store;

		err_clear(&store);
		/* A refusal whose writes stand (a decline) is an answer like any other. */
		if (e->keep_tx && idem_finish(r, id, NULL, e, &store) != 0)
			*e = store;
		return -1;
	}
	return idem_finish(r, id, out, NULL, e);
}

/*
 * Runs the handler inside the request's transaction: 0, or -1 with e set.
 * Who is calling is settled before any answer: an unauthenticated caller
 * gets its 401, never a handler's 400.
 */
static int run_handler(struct req *r, struct reply *out, struct err *e)
{
	const struct route *rt = r->route;
	struct idem id;

	if (rt->flags & R_NO_TX)
		return rt->fn(r, out, e);
	if (idem_prepare(r, &id, e) != 0)
		return -1;
	r->idempotency_key = id.key;
	if (auth_begin(r, e) != 0)
		return -1;
	if (run_idempotent(r, &id, out, e) != 0) {
		struct err who;

		err_clear(&who);
		if (db_settle(r->db, &who) != 0) {
			*e = who;
		} else if (e->keep_tx) {
			struct err commit;

			err_clear(&commit);
			if (db_commit(r->db, &commit) != 0)
				*e = commit;
			return -1;
		}
		db_rollback(r->db);
		return -1;
	}
	return db_commit(r->db, e);
}

static void serve(struct req *r, struct reply *out, struct err *e)
{
	unsigned allow = 0;
	const char *path_info = req_env(r, "PATH_INFO");

	if (path_info == NULL || *path_info == '\0')
		path_info = req_env(r, "DOCUMENT_URI");
	r->path = route_normalize(r->arena, path_info);
	if (r->path == NULL) {
		err_set(e, 404, E_INVALID_REQUEST, NULL, NULL, "Unrecognized request URL (%s %s).",
		        r->method, path_info != NULL ? path_info : "");
		return;
	}
	if (strcmp(r->method, "OPTIONS") == 0) {
		preflight(r, out);
		return;
	}
	r->route = route_match(api_routes, r->method, r->path, r->params, &r->nparams, &allow, e);
	if (r->route == NULL) {
		if (e->status == 405)
			allow_header(r, out, allow);
		return;
	}
	if (req_decode_input(r, e) != 0)
		return;
	if (auth_identify(r, e) != 0)
		return;
	if (run_handler(r, out, e) != 0)
		return;
}

/*
 * libfcgi closes a connection by shutting down its write side and waiting
 * for the web server to close first, so that unread input cannot turn the
 * close into a reset that loses the response: a sleep and a wake-up per
 * request.  Having read the request to its end ourselves, nothing is left
 * unread, so the connection may simply be closed (libfcgi does that for a
 * detached request).  Bounded: a client still sending is not waited for.
 */
static void close_promptly(FCGX_Request *fcgx)
{
	char buf[4096];
	int i;

	for (i = 0; i < 16; i++)
		if (FCGX_GetStr(buf, sizeof(buf), fcgx->in) <= 0)
			break;
	/* A connection nginx keeps open is not closed at all: leave it to libfcgi. */
	if (i < 16 && FCGX_HasSeenEOF(fcgx->in) == EOF && !fcgx->keepConnection)
		FCGX_Detach(fcgx);
}

/* A request or answer larger than this is followed by returning freed heap to the system. */
#define ROUTE_TRIM_BYTES 32768

void route_serve(struct route_ctx *ctx, FCGX_Request *fcgx)
{
	struct req *r = arena_alloc(&ctx->arena, sizeof(*r));
	struct reply out = {0};
	struct err e;
	size_t bytes;
	const char *length;
	bool large;

	err_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->now = (long long)time(NULL);
	r->arena = &ctx->arena;
	r->fcgx = fcgx;
	r->conf = ctx->conf;
	r->db = &ctx->db;
	req_id_new(r->id, sizeof(r->id));
	/* FastCGI params die at FCGX_Finish_r, before the log line: keep copies. */
	r->method = req_env(r, "REQUEST_METHOD");
	r->method = arena_strdup(r->arena, r->method != NULL ? r->method : "GET");
	r->query = req_env(r, "QUERY_STRING");

	serve(r, &out, &e);
	if (e.status != 0) {
		if (e.status >= 500)
			log_error("%s: %s (%s:%d)", r->id, e.detail[0] ? e.detail : e.message,
			          e.file != NULL ? e.file : "", e.line);
		out.status = e.status;
		out.body = NULL;
		reply_json(r, &out, e.status, reply_error_body(&e));
		if (e.retry_after > 0)
			reply_header(r, &out, "Retry-After: %d", e.retry_after);
	}
	bytes = reply_write(r, &out);
	length = req_env(r, "CONTENT_LENGTH");
	large = bytes > ROUTE_TRIM_BYTES ||
	        (length != NULL && strtoull(length, NULL, 10) > ROUTE_TRIM_BYTES);
	close_promptly(fcgx);
	FCGX_Finish_r(fcgx);
	log_info(
	        "request id=%s method=%s route=%s status=%d bytes=%zu duration_us=%lld tenant=%lld",
	        r->id, r->method, r->route != NULL ? r->route->name : "-", out.status, bytes,
	        elapsed_us(&r->start), r->who.tenant_id);
	ctx->served++;
	arena_reset(&ctx->arena);
#ifdef __GLIBC__
	/*
	 * A large request or answer (a list of invoices, a 1 MiB body) leaves
	 * freed heap that glibc keeps for later: give it back, so that a
	 * worker's memory stays that of its usual requests.
	 */
	if (large)
		malloc_trim(0);
#else
	(void)large;
#endif
}
