/*
 * The run of a job over due objects named by a keyset look-up (see
 * jobs.h): batches of ids, each object in a transaction of its own under
 * its tenant and mode, through the billing engine, which takes a request.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/jobs.h"
#include "core/err.h"
#include "db/db.h"
#include "http/req.h"

/* One object in its own transaction: its outcome, or -1 (rolled back). */
static int jobs_keyset_one(const struct conf *c, struct db *db, struct arena *a,
                           const struct jobs_keyset *k, PGresult *due, int row, struct err *e)
{
	struct db_ctx ctx = {db_int(due, row, 0), db_bool(due, row, 1) ? 1 : 0, 0, NULL};
	struct req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.arena = a;
	r.conf = c;
	r.db = db;
	r.who.tenant_id = ctx.tenant_id;
	r.who.livemode = ctx.livemode == 1;
	/* The test processor names its payments after the request (levy-<pi>-<req>). */
	req_id_new(r.id, sizeof(r.id));
	if (db_begin(db, false, &ctx, e) != 0)
		return -1;
	rc = k->fn(&r, PQgetvalue(due, row, 2), e);
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db, e) != 0)
		return -1;
	return rc;
}

static void jobs_keyset_report(const struct jobs_keyset *k, const char *id, const struct err *e)
{
	if (e->status >= 500 && e->detail[0] != '\0')
		fprintf(stderr, "levy: jobs %s: %s: %s (%s)\n", k->name, id, e->message, e->detail);
	else
		fprintf(stderr, "levy: jobs %s: %s: %s\n", k->name, id, e->message);
}

int jobs_keyset_run(const struct conf *c, struct arena *a, int limit, struct jobs_keyset *k)
{
	/* The keyset: the last (tenant_id, livemode, id) of the previous batch. */
	char limit_text[16], after_tenant[24], after_mode[2], after_id[128];
	const char *params[4] = {limit_text, NULL, NULL, NULL};
	int failed = 0, rc;
	struct arena work;
	struct db db;
	struct err e;

	memset(k->counts, 0, sizeof(k->counts));
	snprintf(limit_text, sizeof(limit_text), "%d", limit);
	db_init(&db, c->db_conninfo);
	arena_init(&work);
	err_clear(&e);
	for (;;) {
		PGresult *due = db_exec(&db, a, k->due, 4, params, &e);
		int n;

		if (due == NULL) {
			fprintf(stderr, "levy: jobs %s: %s\n", k->name,
			        e.detail[0] != '\0' ? e.detail : e.message);
			failed++;
			break;
		}
		n = PQntuples(due);
		for (int i = 0; i < n; i++) {
			err_clear(&e);
			rc = jobs_keyset_one(c, &db, &work, k, due, i, &e);
			if (rc < 0) {
				jobs_keyset_report(k, PQgetvalue(due, i, 2), &e);
				failed++;
			} else {
				k->counts[rc]++;
			}
			arena_reset(&work);
		}
		if (n < limit) {
			arena_reset(a);
			break;
		}
		snprintf(after_tenant, sizeof(after_tenant), "%s", PQgetvalue(due, n - 1, 0));
		snprintf(after_mode, sizeof(after_mode), "%s", PQgetvalue(due, n - 1, 1));
		snprintf(after_id, sizeof(after_id), "%s", PQgetvalue(due, n - 1, 2));
		params[1] = after_tenant;
		params[2] = after_mode;
		params[3] = after_id;
		arena_reset(a);
	}
	arena_destroy(&work);
	db_close(&db);
	return failed > 0 ? -1 : 0;
}
