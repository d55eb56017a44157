/*
 * levy's background jobs, run by `levy jobs NAME`, each by a systemd timer
 * (contrib/systemd/levy-*.timer).  A job works as the application role,
 * one object per transaction under that object's tenant and mode, so that
 * row-level security guards it as it guards a request.
 */
#ifndef LEVY_JOBS_H
#define LEVY_JOBS_H

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"

/*
 * `levy jobs expire-incomplete [--limit N]`: incomplete subscriptions
 * whose first invoice is still unpaid 23 hours on become
 * incomplete_expired, their open first invoice void (sql/011, sql/015).
 * Prints how many expired.  Exit status as admin_run()'s: 1 when any
 * subscription could not be expired (it stays due for the next run).
 */
int jobs_expire_incomplete(const struct conf *c, struct arena *a, int argc, char **argv);

/*
 * `levy jobs renew [--limit N]` (src/cli/jobs_renew.c): subscriptions
 * whose current period has ended renew as in Stripe (sql/012): those set
 * to cancel at period end end then; the others move to their next
 * anchored period, which is invoiced (subscription_cycle), finalized and,
 * for charge_automatically, paid off-session.  Prints how many renewed and
 * how many were canceled.  Exit status as admin_run()'s: 1 when any
 * subscription could not be renewed (it stays due for the next run).
 */
int jobs_renew(const struct conf *c, struct arena *a, int argc, char **argv);

/*
 * `levy jobs retry-payments [--limit N]` (src/cli/jobs_retry.c): open
 * charge_automatically invoices whose next_payment_attempt has come are
 * paid off-session again, on Stripe's retry schedule (sql/014: 3, 5, then
 * 7 days; after the 4th failed attempt none, and the subscription whose
 * latest invoice it is becomes unpaid).  Prints how many were retried,
 * paid and failed.  Exit status as admin_run()'s: 1 when any invoice could
 * not be collected (it stays due for the next run).
 */
int jobs_retry_payments(const struct conf *c, struct arena *a, int argc, char **argv);

/* What the jobs share: the batch size --limit sets, and its parsing. */
#define JOBS_BATCH_DEFAULT 100
#define JOBS_BATCH_MAX 1000

/* "--limit"'s value: 0 with *out set, or -1 unless an integer 1..JOBS_BATCH_MAX. */
int jobs_parse_limit(const char *s, int *out) __attribute__((warn_unused_result));
/* The usage error of `levy jobs JOB`: prints what and arg, then the usage; ADMIN_EXIT_USAGE. */
int jobs_usage(const char *job, const char *what, const char *arg);
/* A job's arguments ([--limit N]): ADMIN_EXIT_OK with *limit set, or the usage error's. */
int jobs_args(const char *job, int argc, char **argv, int *limit);

struct req;
struct stmt;

/* The outcomes a keyset job counts (0 .. JOBS_OUTCOMES - 1: what each means is the job's). */
#define JOBS_OUTCOMES 3

/*
 * A job over the due objects a keyset look-up names: due is
 * "SELECT tenant_id, livemode, id FROM f($1 limit, $2, $3, $4)", $2..$4
 * the last (tenant_id, livemode, id) of the previous batch (NULLs: from
 * the start), so that an object whose handling failed, and stays due, is
 * not met again in the same run.  fn handles one object inside its own
 * transaction under its tenant and mode, through a request built for the
 * billing engine (arena, configuration, connection, tenant and mode, a
 * Request-Id): an outcome, counted in counts[], or -1 with e set (rolled
 * back, named on stderr, the run goes on).
 */
struct jobs_keyset {
	const char *name; /* "renew": the messages' */
	struct stmt *due;
	int (*fn)(struct req *r, const char *id, struct err *e);
	int counts[JOBS_OUTCOMES];
};
/* Runs the job to the end of what is due: 0, or -1 when anything failed (or the look-up did). */
int jobs_keyset_run(const struct conf *c, struct arena *a, int limit, struct jobs_keyset *k);

#endif
