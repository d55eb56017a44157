/*
 * The payment-retry job, `levy jobs retry-payments` (see jobs.h and
 * sql/014-job-retry-payments.sql): Stripe's automatic collection of open
 * invoices on their retry schedule.  Like the renewal job (jobs_renew.c),
 * each due invoice is handled in a transaction of its own, under its
 * tenant and mode, through the billing engine the API uses
 * (src/api/invoicing.c), with a request built for it.
 *
 * Per invoice, paid off-session with the invoice's, its subscription's or
 * its customer's default payment method (inv_pay() chooses, and skips a
 * card detached since):
 * - paid: invoice.paid, and a past_due or unpaid subscription whose latest
 *   invoice it is becomes active again (the engine's recovery);
 * - declined, or no payment method at all (inv_pay_missed()): a failed
 *   attempt, attempt_count + 1, next_payment_attempt per the schedule
 *   (3, 5, 7 days, then none: levy_invoice_retry_delay()), and
 *   invoice.payment_failed.  After the last attempt the subscription
 *   whose latest invoice it is becomes unpaid (inv_subscription_outcome()).
 *
 * An invoice whose collection fails (Stripe down: the processor's 503, or
 * any other error) is rolled back whole and stays due: the next run
 * retries it.  A live retry of a charge sends Stripe the same
 * Idempotency-Key: the invoice's payment intent and the attempt's number
 * when the intent exists (pay_live_prepare()), else the key set here from
 * the invoice and its attempt number, so it never charges twice.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/invoicing.h"
#include "cli/admin.h"
#include "cli/jobs.h"
#include "core/err.h"
#include "db/db.h"
#include "http/req.h"

/* What one invoice's collection came to. */
#define JOBS_RETRY_SKIPPED 0 /* no longer due, or held by another runner */
#define JOBS_RETRY_PAID 1
#define JOBS_RETRY_FAILED 2 /* declined, or no payment method: a failed attempt */

STMT(jobs_retry_due, "SELECT tenant_id, livemode, id"
                     " FROM levy_job_retry_due($1::int, $2::bigint, $3::boolean, $4)");
/* Due again under the lock: another runner, or a request, may have paid it since. */
STMT(jobs_retry_lock, "SELECT t.attempt_count, levy_epoch(now()) FROM invoices t"
                      " WHERE t.id = $1 AND levy_invoice_collect_due(t)"
                      " FOR UPDATE OF t SKIP LOCKED");

/* Under the invoice's context: JOBS_RETRY_*, or -1 with e set. */
static int jobs_retry_invoice(struct req *r, const char *id, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &jobs_retry_lock, 1, &id, e);
	struct pay_outcome o;

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return JOBS_RETRY_SKIPPED;
	r->now = db_int(res, 0, 1);
	/* A Stripe-side key of this invoice's attempt (see the top). */
	r->idempotency_key = arena_printf(r->arena, "retry_%s_%lld", id, db_int(res, 0, 0) + 1);
	if (inv_pay(r, id, NULL, true, &o, e) == 0)
		return o.attempted && !o.succeeded ? JOBS_RETRY_FAILED : JOBS_RETRY_PAID;
	if (e->code == NULL || strcmp(e->code, "invoice_no_customer_payment_method") != 0)
		return -1;
	err_clear(e);
	if (inv_pay_missed(r, id, e) != 0)
		return -1;
	return JOBS_RETRY_FAILED;
}

/* One invoice in its own transaction: JOBS_RETRY_*, or -1 (rolled back). */
static int jobs_retry_one(const struct conf *c, struct db *db, struct arena *a, PGresult *due,
                          int row, struct err *e)
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
	rc = jobs_retry_invoice(&r, PQgetvalue(due, row, 2), e);
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db, e) != 0)
		return -1;
	return rc;
}

static void jobs_retry_report(const char *id, const struct err *e)
{
	if (e->status >= 500 && e->detail[0] != '\0')
		fprintf(stderr, "levy: jobs retry-payments: %s: %s (%s)\n", id, e->message,
		        e->detail);
	else
		fprintf(stderr, "levy: jobs retry-payments: %s: %s\n", id, e->message);
}

int jobs_retry_payments(const struct conf *c, struct arena *a, int argc, char **argv)
{
	/* The keyset: the last (tenant_id, livemode, id) of the previous batch. */
	char limit_text[16], after_tenant[24], after_mode[2], after_id[128];
	const char *params[4] = {limit_text, NULL, NULL, NULL};
	int limit = JOBS_BATCH_DEFAULT, paid = 0, declined = 0, failed = 0, rc;
	struct arena work;
	struct db db;
	struct err e;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			if (jobs_parse_limit(argv[++i], &limit) != 0)
				return jobs_usage("retry-payments", "bad --limit", argv[i]);
		} else {
			return jobs_usage("retry-payments", "unexpected argument", argv[i]);
		}
	}
	snprintf(limit_text, sizeof(limit_text), "%d", limit);
	db_init(&db, c->db_conninfo);
	arena_init(&work);
	err_clear(&e);
	for (;;) {
		PGresult *due = db_exec(&db, a, &jobs_retry_due, 4, params, &e);
		int n;

		if (due == NULL) {
			fprintf(stderr, "levy: jobs retry-payments: %s\n",
			        e.detail[0] != '\0' ? e.detail : e.message);
			failed++;
			break;
		}
		n = PQntuples(due);
		for (int i = 0; i < n; i++) {
			err_clear(&e);
			rc = jobs_retry_one(c, &db, &work, due, i, &e);
			if (rc < 0) {
				jobs_retry_report(PQgetvalue(due, i, 2), &e);
				failed++;
			}
			paid += rc == JOBS_RETRY_PAID;
			declined += rc == JOBS_RETRY_FAILED;
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
	printf("retried %d invoice%s: %d paid, %d failed\n", paid + declined,
	       paid + declined == 1 ? "" : "s", paid, declined);
	return failed > 0 ? ADMIN_EXIT_RUNTIME : ADMIN_EXIT_OK;
}
