/*
 * The background jobs' shared arguments, and the expiry job (see jobs.h).
 * Each due object is handled in a transaction of its own (jobs_keyset.c):
 * one that fails is reported and the job goes on with the others, and the
 * exit status says something failed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/jobs.h"
#include "core/err.h"
#include "db/db.h"
#include "http/req.h"

STMT(jobs_incomplete_due, "SELECT tenant_id, livemode, id"
                          " FROM levy_job_incomplete_due($1::int, $2::bigint, $3::boolean, $4)");
STMT(jobs_subscription_expire, "SELECT levy_subscription_expire($1)");

/* What one subscription's expiry came to. */
#define JOBS_EXPIRE_SKIPPED 0 /* no longer due, or held by another runner */
#define JOBS_EXPIRE_EXPIRED 1

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

/* Under the subscription's context: JOBS_EXPIRE_*, or -1 with e set. */
static int jobs_expire_one(struct req *r, const char *id, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &jobs_subscription_expire, 1, &id, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_internal(e, "levy_subscription_expire() answered %d rows",
		                    PQntuples(res));
	return db_bool(res, 0, 0) ? JOBS_EXPIRE_EXPIRED : JOBS_EXPIRE_SKIPPED;
}

int jobs_expire_incomplete(const struct conf *c, struct arena *a, int argc, char **argv)
{
	struct jobs_keyset k = {
	        .name = "expire-incomplete", .due = &jobs_incomplete_due, .fn = jobs_expire_one};
	int limit, rc = jobs_args("expire-incomplete", argc, argv, &limit), expired;

	if (rc != ADMIN_EXIT_OK)
		return rc;
	rc = jobs_keyset_run(c, a, limit, &k);
	expired = k.counts[JOBS_EXPIRE_EXPIRED];
	printf("expired %d subscription%s\n", expired, expired == 1 ? "" : "s");
	return rc != 0 ? ADMIN_EXIT_RUNTIME : ADMIN_EXIT_OK;
}
