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
	if (inv_pay(r, id, NULL, true, true, &o, e) == 0)
		return o.attempted && !o.succeeded ? JOBS_RETRY_FAILED : JOBS_RETRY_PAID;
	if (e->code == NULL || strcmp(e->code, "invoice_no_customer_payment_method") != 0)
		return -1;
	err_clear(e);
	if (inv_pay_missed(r, id, e) != 0)
		return -1;
	return JOBS_RETRY_FAILED;
}

int jobs_retry_payments(const struct conf *c, struct arena *a, int argc, char **argv)
{
	struct jobs_keyset k = {
	        .name = "retry-payments", .due = &jobs_retry_due, .fn = jobs_retry_invoice};
	int limit, rc = jobs_args("retry-payments", argc, argv, &limit), retried;

	if (rc != ADMIN_EXIT_OK)
		return rc;
	rc = jobs_keyset_run(c, a, limit, &k);
	retried = k.counts[JOBS_RETRY_PAID] + k.counts[JOBS_RETRY_FAILED];
	printf("retried %d invoice%s: %d paid, %d failed\n", retried, retried == 1 ? "" : "s",
	       k.counts[JOBS_RETRY_PAID], k.counts[JOBS_RETRY_FAILED]);
	return rc != 0 ? ADMIN_EXIT_RUNTIME : ADMIN_EXIT_OK;
}
