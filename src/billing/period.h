/*
 * Billing periods in UTC, anchored: every boundary is computed from the
 * anchor, never from the previous boundary, so a schedule anchored on the
 * 31st comes back to the 31st after a short month.
 */
#ifndef LEVY_PERIOD_H
#define LEVY_PERIOD_H

#include <stdbool.h>

enum interval { INTERVAL_DAY = 0, INTERVAL_WEEK, INTERVAL_MONTH, INTERVAL_YEAR, INTERVAL__MAX };

/* The range every time here stays in: 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define PERIOD_TIME_MIN 0LL
#define PERIOD_TIME_MAX 253402300799LL

/* "day"|"week"|"month"|"year" -> 0 with *iv set; -1 otherwise. */
int period_interval_parse(const char *s, enum interval *iv) __attribute__((warn_unused_result));
/* "day", "week", "month", "year"; "" for anything else. */
const char *period_interval_name(enum interval iv);
/* Stripe's limit: at most 3 years (3 years, 36 months, 156 weeks, 1095 days); count >= 1. */
bool period_interval_valid(enum interval iv, long long count);
/*
 * The k-th boundary (k >= 0; k = 0 is the anchor itself) of the schedule
 * anchored at `anchor` (Unix seconds, UTC): anchor + k*count intervals.
 * Days and weeks add 86400/604800 s.  Months and years keep the anchor's day
 * of month, clamped to the last day of the target month (Jan 31 -> Feb 28
 * (29) -> Mar 31 -> Apr 30), and the anchor's time of day; Feb 29 + 1 year
 * -> Feb 28, + 4 years -> Feb 29.  0, or -1 when an argument is invalid or
 * anchor or the result lies outside PERIOD_TIME_MIN..PERIOD_TIME_MAX.
 */
int period_nth(long long anchor, enum interval iv, long long count, long long k, long long *out)
        __attribute__((warn_unused_result));
/*
 * The period that contains t.  For t >= anchor: the smallest k >= 1 with
 * period_nth(k) > t gives *end = period_nth(k) and *start = period_nth(k-1).
 * For t < anchor (a billing_cycle_anchor in the future): *start = t and
 * *end = anchor, the first, shorter period.  0, or -1 when an argument is
 * invalid or a time lies outside PERIOD_TIME_MIN..PERIOD_TIME_MAX.
 */
int period_containing(long long anchor, enum interval iv, long long count, long long t,
                      long long *start, long long *end) __attribute__((warn_unused_result));

#endif
