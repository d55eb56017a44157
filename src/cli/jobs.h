/*
 * levy's background jobs, run by `levy jobs NAME` (a systemd timer runs
 * them; the job runner of renewals and retries will join them).  A job
 * works as the application role, one object per transaction under that
 * object's tenant and mode, so that row-level security guards it as it
 * guards a request.
 */
#ifndef LEVY_JOBS_H
#define LEVY_JOBS_H

#include "core/arena.h"
#include "core/conf.h"

/*
 * `levy jobs expire-incomplete [--limit N]`: incomplete subscriptions
 * whose first invoice is still unpaid 23 hours on become
 * incomplete_expired, their open first invoice void (sql/011).  Prints how
 * many expired.  Exit status as admin_run()'s.
 */
int jobs_expire_incomplete(const struct conf *c, struct arena *a, int argc, char **argv);

#endif
