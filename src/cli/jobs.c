/*
 * The background jobs (see jobs.h).  Each due object is handled in a
 * transaction of its own: one that fails is reported and the job goes on
 * with the others, and the exit status says something failed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/jobs.h"
#include "core/err.h"
#include "db/db.h"

STMT(jobs_incomplete_due, "SELECT tenant_id, livemode, id FROM levy_job_incomplete_due($1::int)");
STMT(jobs_subscription_expire, "SELECT levy_subscription_expire($1)");

int jobs_usage(const char *job, const char *what, const char *arg)
{
	fprintf(stderr,
	        "levy: jobs %s: %s: %s\n"
	        "usage: levy jobs %s [--limit N]   (N: 1 to %d)\n",
	        job, what, arg, job, JOBS_BATCH_MAX);
	return ADMIN_EXIT_USAGE;
}

int jobs_parse_limit(const char *s, int *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > JOBS_BATCH_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int jobs_args(const char *job, int argc, char **argv, int *limit)
{
	*limit = JOBS_BATCH_DEFAULT;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			if (jobs_parse_limit(argv[++i], limit) != 0)
				return jobs_usage(job, "bad --limit", argv[i]);
		} else {
			return jobs_usage(job, "unexpected argument", argv[i]);
		}
	}
	return ADMIN_EXIT_OK;
}

/* One subscription, in its own transaction under its tenant and mode: 1 expired, 0 not due, -1. */
static int jobs_expire_one(struct db *db, struct arena *a, PGresult *due, int row, struct err *e)
{
	struct db_ctx ctx = {db_int(due, row, 0), db_bool(due, row, 1) ? 1 : 0, 0, NULL};
	const char *id = PQgetvalue(due, row, 2);
	PGresult *res;
	bool expired;

	if (db_begin(db, false, &ctx, e) != 0)
		return -1;
	res = db_exec(db, a, &jobs_subscription_expire, 1, &id, e);
	if (res == NULL || PQntuples(res) != 1) {
		db_rollback(db);
		return -1;
	}
	expired = db_bool(res, 0, 0);
	if (db_commit(db, e) != 0)
		return -1;
	return expired ? 1 : 0;
}

int jobs_expire_incomplete(const struct conf *c, struct arena *a, int argc, char **argv)
{
	char limit_text[16];
	const char *params[1] = {limit_text};
	int limit, expired = 0, failed = 0, rc;
	struct db db;
	struct err e;

	rc = jobs_args("expire-incomplete", argc, argv, &limit);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	snprintf(limit_text, sizeof(limit_text), "%d", limit);
	db_init(&db, c->db_conninfo);
	err_clear(&e);
	for (;;) {
		PGresult *due = db_exec(&db, a, &jobs_incomplete_due, 1, params, &e);
		int n, batch = 0;

		if (due == NULL) {
			fprintf(stderr, "levy: jobs expire-incomplete: %s\n", e.message);
			db_close(&db);
			return ADMIN_EXIT_RUNTIME;
		}
		n = PQntuples(due);
		for (int i = 0; i < n; i++) {
			err_clear(&e);
			rc = jobs_expire_one(&db, a, due, i, &e);
			if (rc < 0) {
				fprintf(stderr, "levy: jobs expire-incomplete: %s: %s\n",
				        PQgetvalue(due, i, 2), e.message);
				failed++;
			}
			batch += rc > 0;
		}
		expired += batch;
		arena_reset(a);
		/* A short batch was the last; one that expired nothing would repeat itself. */
		if (n < limit || batch == 0)
			break;
	}
	db_close(&db);
	printf("expired %d subscription%s\n", expired, expired == 1 ? "" : "s");
	return failed > 0 ? ADMIN_EXIT_RUNTIME : ADMIN_EXIT_OK;
}
