/*
 * The renewal job, `levy jobs renew` (see jobs.h and sql/012-job-renew.sql):
 * what Stripe does when a subscription's period ends.  Each due subscription
 * is handled in a transaction of its own, under its tenant and mode, through
 * the billing engine the API uses (src/api/invoicing.c), which takes a
 * request: the job builds one per subscription with what the engine reads
 * (arena, configuration, connection, tenant and mode, a Request-Id for
 * the test processor's keys) and no FastCGI request.
 *
 * Per subscription:
 * - cancel_at_period_end: it ends at its period's end (canceled, with
 *   canceled_at and ended_at then; customer.subscription.deleted), no invoice.
 * - Otherwise its period advances on its anchored schedule
 *   (period_containing(), src/billing/period.c).  One whose runner was down
 *   for several periods moves straight to the period that contains now and
 *   is invoiced once, for that period only, as Stripe does: the periods it
 *   missed are not billed.  A trial that has run out becomes active.  The
 *   invoice (subscription_cycle) has one line per item for the new period
 *   (plan amount x quantity) and the customer's pending invoice items; its
 *   own period_start/period_end span the time those items accrued, from the
 *   old period's start to the new one's, as Stripe's (and levy's upcoming
 *   invoice) do.  Events: invoice.created, customer.subscription.updated
 *   (previous_attributes: the old period, latest_invoice, a trial's status),
 *   invoice.finalized, then the payment's.
 * - charge_automatically: paid off-session with the subscription's or else
 *   the customer's default payment method (inv_pay() chooses).  A decline,
 *   or no payment method at all, leaves the invoice open with its attempt
 *   counted and the subscription past_due.  send_invoice: finalized with a
 *   due date, no attempt.  unpaid: renewed, its invoice left a draft with
 *   auto_advance false (Stripe's behaviour for unpaid subscriptions).
 *
 * A subscription whose renewal fails (Stripe down: the processor's 503,
 * or any other error) is rolled back whole and stays due: the next run
 * retries it.  A live retry sends Stripe the same Idempotency-Key, derived
 * from the subscription and its new period (pay_live_prepare() hashes
 * request.idempotency_key), so a charge Stripe made before levy stopped
 * waiting is answered again, never made twice.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/invoicing.h"
#include "billing/period.h"
#include "cli/admin.h"
#include "cli/jobs.h"
#include "core/err.h"
#include "db/db.h"
#include "http/req.h"

/* What one subscription's renewal came to. */
#define JOBS_RENEW_SKIPPED 0 /* no longer due, or held by another runner */
#define JOBS_RENEW_RENEWED 1
#define JOBS_RENEW_CANCELED 2

/* As many lines as an invoice may hold (src/api/invoicing.c); creation allows 20 items. */
#define JOBS_RENEW_ITEMS_MAX 250

STMT(jobs_renew_due, "SELECT tenant_id, livemode, id"
                     " FROM levy_job_renew_due($1::int, $2::bigint, $3::boolean, $4)");
/* Due again under the lock: another runner may have renewed it since the look-up. */
STMT(jobs_renew_lock,
     "SELECT s.status, s.customer, s.currency, s.interval, s.interval_count,"
     " levy_epoch(s.billing_cycle_anchor), levy_epoch(s.current_period_start),"
     " levy_epoch(s.current_period_end), s.cancel_at_period_end, levy_epoch(s.trial_end),"
     " s.collection_method, s.days_until_due, levy_subscription_json(s)::text,"
     " levy_epoch(now()) FROM subscriptions s WHERE s.id = $1"
     " AND s.status IN ('trialing', 'active', 'past_due', 'unpaid')"
     " AND s.current_period_end <= now() FOR UPDATE SKIP LOCKED");
STMT(jobs_renew_end, "UPDATE subscriptions s SET status = 'canceled',"
                     " canceled_at = s.current_period_end, ended_at = s.current_period_end"
                     " WHERE s.id = $1");
STMT(jobs_renew_advance,
     "UPDATE subscriptions s SET current_period_start = to_timestamp($2::bigint),"
     " current_period_end = to_timestamp($3::bigint), status = $4 WHERE s.id = $1");
STMT(jobs_renew_items,
     "SELECT i.id, i.plan, i.quantity, p.amount, coalesce(pr.name, p.nickname, p.id)"
     " FROM subscription_items i JOIN plans p ON p.id = i.plan"
     " LEFT JOIN products pr ON pr.id = p.product"
     " WHERE i.subscription = $1 AND NOT i.deleted ORDER BY i.seq");

/* A due subscription as locked. */
struct jobs_renew_sub {
	const char *id;
	const char *status;
	const char *customer;
	const char *currency;
	enum interval iv;
	long long interval_count;
	long long anchor;
	long long period_start, period_end; /* the period that ended */
	bool cancel_at_period_end;
	long long trial_end; /* 0: none */
	const char *collection_method;
	long long days_until_due;
	const char *prev; /* its JSON before the renewal */
};

static int jobs_renew_read(struct req *r, PGresult *res, const char *id, struct jobs_renew_sub *s,
                           struct err *e)
{
	s->id = id;
	s->status = db_str(r->arena, res, 0, 0);
	s->customer = db_str(r->arena, res, 0, 1);
	s->currency = db_str(r->arena, res, 0, 2);
	if (period_interval_parse(PQgetvalue(res, 0, 3), &s->iv) != 0)
		return err_internal(e, "subscription %s has interval '%s'", id,
		                    PQgetvalue(res, 0, 3));
	s->interval_count = db_int(res, 0, 4);
	s->anchor = db_int(res, 0, 5);
	s->period_start = db_int(res, 0, 6);
	s->period_end = db_int(res, 0, 7);
	s->cancel_at_period_end = db_bool(res, 0, 8);
	s->trial_end = db_int(res, 0, 9);
	s->collection_method = db_str(r->arena, res, 0, 10);
	s->days_until_due = db_int(res, 0, 11);
	s->prev = db_str(r->arena, res, 0, 12);
	r->now = db_int(res, 0, 13);
	return 0;
}

/* One line per item for the period [start, end): *lines in the arena, *n of them. */
static int jobs_renew_lines(struct req *r, const struct jobs_renew_sub *s, long long start,
                            long long end, struct inv_line **lines, int *n, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &jobs_renew_items, 1, &s->id, e);

	if (res == NULL)
		return -1;
	*n = PQntuples(res);
	if (*n == 0)
		return err_internal(e, "subscription %s has no items to renew", s->id);
	if (*n > JOBS_RENEW_ITEMS_MAX)
		return err_internal(e, "subscription %s has %d items", s->id, *n);
	*lines = arena_alloc(r->arena, sizeof(**lines) * (size_t)*n);
	for (int i = 0; i < *n; i++) {
		long long quantity = db_int(res, i, 2), amount;

		/* Bounded by their tables' checks; a row beyond them is refused, not wrapped. */
		if (__builtin_mul_overflow(db_int(res, i, 3), quantity, &amount))
			return err_internal(e, "subscription item %s: amount x quantity overflows",
			                    PQgetvalue(res, i, 0));
		(*lines)[i] = (struct inv_line){
		        .type = "subscription",
		        .amount = amount,
		        .quantity = quantity,
		        .plan = db_str(r->arena, res, i, 1),
		        /* As the upcoming invoice previews it (src/api/invoice.c). */
		        .description = arena_printf(r->arena, "%lld \xc3\x97 %s", quantity,
		                                    PQgetvalue(res, i, 4)),
		        .period_start = start,
		        .period_end = end,
		        .proration = false,
		        .subscription_item = db_str(r->arena, res, i, 0)};
	}
	return 0;
}

/*
 * Collects the finalized invoice: inv_pay() off-session; no payment
 * method is a failed attempt (inv_pay_missed()), not a failed renewal.
 */
static int jobs_renew_collect(struct req *r, const char *invoice, struct err *e)
{
	struct pay_outcome o;

	if (inv_pay(r, invoice, NULL, true, true, &o, e) == 0)
		return 0;
	if (e->code == NULL || strcmp(e->code, "invoice_no_customer_payment_method") != 0)
		return -1;
	err_clear(e);
	return inv_pay_missed(r, invoice, e);
}

/* The new period, its invoice, and the invoice's collection. */
static int jobs_renew_advance_and_invoice(struct req *r, const struct jobs_renew_sub *s,
                                          struct err *e)
{
	long long start, end, t = r->now > s->period_end ? r->now : s->period_end;
	bool unpaid = strcmp(s->status, "unpaid") == 0, paid;
	const char *status = s->status, *invoice, *params[4];
	struct inv_new n = {0};
	struct inv_line *lines = NULL;
	int nlines = 0;

	if (period_containing(s->anchor, s->iv, s->interval_count, t, &start, &end) != 0)
		return err_internal(e, "subscription %s has no period after %lld", s->id,
		                    s->period_end);
	/* A period end off the anchor's schedule (never made by levy): no overlap. */
	if (start < s->period_end)
		start = s->period_end;
	if (strcmp(status, "trialing") == 0 && s->trial_end <= r->now)
		status = "active";
	params[0] = s->id;
	params[1] = arena_printf(r->arena, "%lld", start);
	params[2] = arena_printf(r->arena, "%lld", end);
	params[3] = status;
	if (db_exec(r->db, r->arena, &jobs_renew_advance, 4, params, e) == NULL ||
	    jobs_renew_lines(r, s, start, end, &lines, &nlines, e) != 0)
		return -1;
	n.customer = s->customer;
	n.subscription = s->id;
	n.billing_reason = "subscription_cycle";
	n.collection_method = s->collection_method;
	n.days_until_due = s->days_until_due;
	n.currency = s->currency;
	n.period_start = s->period_start;
	n.period_end = start;
	n.auto_advance = unpaid ? "false" : NULL;
	n.lines = lines;
	n.nlines = nlines;
	n.take_pending = true;
	if (inv_create(r, &n, &invoice, e) != 0)
		return -1;
	if (inv_emit(r, "customer.subscription.updated", "subscription", s->id, s->prev, e) != 0)
		return -1;
	if (unpaid)
		return 0;
	if (inv_finalize(r, invoice, &paid, e) != 0)
		return -1;
	/* Nothing due (a credit balance, a free plan): finalizing paid it. */
	if (paid || strcmp(s->collection_method, "charge_automatically") != 0)
		return 0;
	/* A Stripe-side key of this subscription's renewal into this period (see the top). */
	r->idempotency_key = arena_printf(r->arena, "renew_%s_%lld", s->id, start);
	return jobs_renew_collect(r, invoice, e);
}

/* Under the subscription's context: JOBS_RENEW_*, or -1 with e set. */
static int jobs_renew_sub(struct req *r, const char *id, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &jobs_renew_lock, 1, &id, e);
	struct jobs_renew_sub s;

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return JOBS_RENEW_SKIPPED;
	if (jobs_renew_read(r, res, id, &s, e) != 0)
		return -1;
	if (s.cancel_at_period_end) {
		if (db_exec(r->db, r->arena, &jobs_renew_end, 1, &id, e) == NULL ||
		    inv_emit(r, "customer.subscription.deleted", "subscription", id, NULL, e) != 0)
			return -1;
		return JOBS_RENEW_CANCELED;
	}
	if (jobs_renew_advance_and_invoice(r, &s, e) != 0)
		return -1;
	return JOBS_RENEW_RENEWED;
}

int jobs_renew(const struct conf *c, struct arena *a, int argc, char **argv)
{
	struct jobs_keyset k = {.name = "renew", .due = &jobs_renew_due, .fn = jobs_renew_sub};
	int limit, rc = jobs_args("renew", argc, argv, &limit);

	if (rc != ADMIN_EXIT_OK)
		return rc;
	rc = jobs_keyset_run(c, a, limit, &k);
	printf("renewed %d subscription%s, canceled %d\n", k.counts[JOBS_RENEW_RENEWED],
	       k.counts[JOBS_RENEW_RENEWED] == 1 ? "" : "s", k.counts[JOBS_RENEW_CANCELED]);
	return rc != 0 ? ADMIN_EXIT_RUNTIME : ADMIN_EXIT_OK;
}
