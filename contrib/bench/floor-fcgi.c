/*
 * The benchmark's floor: the least a FastCGI responder can do to answer
 * GET /api/v1/auth/tenants/verify/, so that contrib/bench/run can measure
 * levy against it in the same run, behind the same nginx.  It owns nothing
 * of levy's: pre-forked workers in an FCGX_Accept_r loop, each with one
 * libpq connection and its prepared statements, hashing the key and making
 * the same single indexed look-up (levy_auth_api_key) levy makes, then
 * writing a small JSON answer, and closing the connection as promptly as
 * levy does.  No routing, no parsing beyond the header,
 * no arena, no logging: whatever levy spends above this is its overhead.
 * A POST is the least create instead (floor_connect()): one statement that
 * makes a customer and, through the schema's trigger, its event, so that
 * the benchmark can show how far levy's create stands from what the
 * database alone allows.
 *
 * usage: floor-fcgi -s SOCKET -d CONNINFO [-w WORKERS] [-p PIDFILE]
 *
 * SHA-256 is written out here because the program links only libfcgi and
 * libpq (FIPS 180-4; checked against OpenSSL by contrib/bench/run through
 * the look-up succeeding).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

#define FLOOR_MAX_WORKERS 64
#define FLOOR_MAX_KEY 128

static const uint32_t floor_sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
};

static volatile sig_atomic_t floor_stop;

static uint32_t floor_ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void floor_sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = floor_ror(w[i - 15], 7) ^ floor_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = floor_ror(w[i - 2], 17) ^ floor_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (floor_ror(e, 6) ^ floor_ror(e, 11) ^ floor_ror(e, 25)) +
		     ((e & f) ^ (~e & g)) + floor_sha256_k[i] + w[i];
		t2 = (floor_ror(a, 2) ^ floor_ror(a, 13) ^ floor_ror(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* SHA-256 of a short message (at most FLOOR_MAX_KEY bytes) as lowercase hex. */
static void floor_sha256_hex(const char *msg, size_t n, char out[65])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	unsigned char buf[FLOOR_MAX_KEY + 72];
	size_t len, i;
	uint64_t bits = (uint64_t)n * 8;

	memcpy(buf, msg, n);
	buf[n] = 0x80;
	len = n + 1;
	while (len % 64 != 56)
		buf[len++] = 0;
	for (i = 0; i < 8; i++)
		buf[len++] = (unsigned char)(bits >> (56 - 8 * i));
	for (i = 0; i < len; i += 64)
		floor_sha256_block(h, buf + i);
	for (i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
}

/* The key from "Authorization: Bearer KEY" or "X-API-Key: KEY"; NULL if none. */
static const char *floor_key(FCGX_ParamArray envp)
{
	const char *v = FCGX_GetParam("HTTP_AUTHORIZATION", envp);

	if (v != NULL && strncmp(v, "Bearer ", 7) == 0)
		return v + 7;
	return FCGX_GetParam("HTTP_X_API_KEY", envp);
}

static void floor_json_string(FCGX_Stream *out, const char *s)
{
	FCGX_PutChar('"', out);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			FCGX_FPrintF(out, "\\%c", ch);
		else if (ch < 0x20)
			FCGX_FPrintF(out, "\\u%04x", ch);
		else
			FCGX_PutChar(ch, out);
	}
	FCGX_PutChar('"', out);
}

static void floor_error(FCGX_Stream *out, int status, const char *reason, const char *type,
                        const char *message)
{
	FCGX_FPrintF(out,
	             "Status: %d %s\r\nContent-Type: application/json\r\n\r\n"
	             "{\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}",
	             status, reason, type, message);
}

/* Prepares one statement; false (said on stderr) when it cannot. */
static bool floor_prepare(PGconn *conn, const char *name, const char *sql)
{
	PGresult *res = PQprepare(conn, name, sql, 1, NULL);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "floor-fcgi: could not prepare %s: %s", name, PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

static PGconn *floor_connect(const char *conninfo)
{
	PGconn *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "floor-fcgi: could not connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	/*
	 * "create" is the least create: a POST makes a customer (the
	 * benchmark's fixed one; the body is not parsed) in one statement and
	 * one implicit transaction.  The key's look-up (levy's own, without the
	 * profile) sets the tenant's context before the row exists (the row is
	 * made from its result), so the policy admits it and the schema's own
	 * trigger records customer.created, as for levy: the same row, event
	 * and commit, at the least a responder pays.
	 */
	if (!floor_prepare(conn, "auth", "SELECT * FROM levy_auth_api_key($1)") ||
	    !floor_prepare(conn, "create",
	                   "WITH k AS (SELECT tenant_id, livemode"
	                   " FROM levy_auth_api_key_enter($1, false, NULL)"
	                   " WHERE tenant_status = 'active')"
	                   " INSERT INTO customers (tenant_id, livemode, email, name, metadata)"
	                   " SELECT k.tenant_id, k.livemode, 'jenny@example.com', 'Jenny Rosen',"
	                   " '{\"source\": \"bench\"}' FROM k RETURNING rendered")) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static void floor_answer(FCGX_Request *req, PGconn **conn, const char *conninfo)
{
	const char *key = floor_key(req->envp), *params[1], *method;
	char hash[65];
	PGresult *res;
	size_t n;
	int tenant, company, slug, livemode;
	bool create;

	if (key == NULL || (n = strlen(key)) == 0 || n > FLOOR_MAX_KEY) {
		floor_error(req->out, 401, "Unauthorized", "authentication_error",
		            "Invalid API key provided.");
		return;
	}
	floor_sha256_hex(key, n, hash);
	if (*conn == NULL && (*conn = floor_connect(conninfo)) == NULL) {
		floor_error(req->out, 503, "Service Unavailable", "api_error",
		            "The database is unavailable.");
		return;
	}
	params[0] = hash;
	method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	create = method != NULL && strcmp(method, "POST") == 0;
	res = PQexecPrepared(*conn, create ? "create" : "auth", 1, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "floor-fcgi: query failed: %s", PQerrorMessage(*conn));
		PQclear(res);
		PQfinish(*conn);
		*conn = NULL;
		floor_error(req->out, 503, "Service Unavailable", "api_error",
		            "The database is unavailable.");
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		floor_error(req->out, 401, "Unauthorized", "authentication_error",
		            "Invalid API key provided.");
		return;
	}
	if (create) {
		FCGX_FPrintF(req->out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n");
		FCGX_PutS(PQgetvalue(res, 0, 0), req->out);
		PQclear(res);
		return;
	}
	tenant = PQfnumber(res, "tenant_id");
	company = PQfnumber(res, "company_name");
	slug = PQfnumber(res, "slug");
	livemode = PQfnumber(res, "livemode");
	FCGX_FPrintF(req->out,
	             "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
	             "{\"valid\":true,\"tenant\":{\"id\":%s,\"company_name\":",
	             tenant >= 0 ? PQgetvalue(res, 0, tenant) : "0");
	floor_json_string(req->out, company >= 0 ? PQgetvalue(res, 0, company) : "");
	FCGX_PutS(",\"slug\":", req->out);
	floor_json_string(req->out, slug >= 0 ? PQgetvalue(res, 0, slug) : "");
	FCGX_FPrintF(req->out, "},\"mode\":\"%s\"}",
	             livemode >= 0 && PQgetvalue(res, 0, livemode)[0] == 't' ? "live" : "test");
	PQclear(res);
}

static void floor_worker(int fd, const char *conninfo)
{
	FCGX_Request req;
	PGconn *conn = NULL;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (FCGX_InitRequest(&req, fd, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&req) >= 0) {
		char buf[4096];

		floor_answer(&req, &conn, conninfo);
		/* Close as levy does (src/http/route.c): read the request to its end,
		 * then close without libfcgi's wait for the web server to close first;
		 * a floor that lingered would flatter levy. */
		while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
			;
		if (FCGX_HasSeenEOF(req.in) == EOF && !req.keepConnection)
			FCGX_Detach(&req);
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

static void floor_on_signal(int sig)
{
	(void)sig;
	floor_stop = 1;
}

static pid_t floor_spawn(int fd, const char *conninfo)
{
	pid_t pid = fork();

	if (pid == 0)
		floor_worker(fd, conninfo);
	if (pid < 0)
		fprintf(stderr, "floor-fcgi: fork: %s\n", strerror(errno));
	return pid;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *conninfo = NULL, *pidfile = NULL;
	pid_t workers[FLOOR_MAX_WORKERS];
	struct sigaction sa;
	int nworkers = 2, fd, opt, i;

	while ((opt = getopt(argc, argv, "s:d:w:p:")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'd':
			conninfo = optarg;
			break;
		case 'w':
			nworkers = atoi(optarg);
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (sock == NULL || conninfo == NULL || nworkers < 1 || nworkers > FLOOR_MAX_WORKERS)
		goto usage;

	if (FCGX_Init() != 0) {
		fputs("floor-fcgi: FCGX_Init failed\n", stderr);
		return 1;
	}
	unlink(sock);
	if ((fd = FCGX_OpenSocket(sock, 1024)) < 0) {
		fprintf(stderr, "floor-fcgi: cannot listen on %s\n", sock);
		return 1;
	}
	chmod(sock, 0660);
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f == NULL) {
			fprintf(stderr, "floor-fcgi: %s: %s\n", pidfile, strerror(errno));
			return 1;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = floor_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < nworkers; i++)
		workers[i] = floor_spawn(fd, conninfo);

	/* Respawn a worker that dies until told to stop. */
	while (!floor_stop) {
		pid_t pid = wait(NULL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < nworkers; i++)
			if (workers[i] == pid && !floor_stop)
				workers[i] = floor_spawn(fd, conninfo);
	}
	for (i = 0; i < nworkers; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(sock);
	if (pidfile != NULL)
		unlink(pidfile);
	return 0;

usage:
	fputs("usage: floor-fcgi -s SOCKET -d CONNINFO [-w WORKERS] [-p PIDFILE]\n", stderr);
	return 2;
}
