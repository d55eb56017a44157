/*
 * Period arithmetic on proleptic Gregorian civil dates in UTC.  Our own
 * days <-> (year, month, day) conversion instead of timegm/gmtime: no time
 * zone or locale state, and no 32-bit time_t anywhere.  Every boundary is
 * anchor + k intervals computed afresh, so clamping one short month never
 * shifts the months after it.
 */
#include "config.h"

#include <string.h>

#include "billing/period.h"

#define PERIOD_DAY 86400LL
#define PERIOD_WEEK (7 * PERIOD_DAY)
/* Months from year 0 to December 9999, the last month a boundary may fall in. */
#define PERIOD_MONTH_LAST (9999LL * 12 + 11)

static const char *const interval_names[INTERVAL__MAX] = {
        [INTERVAL_DAY] = "day",
        [INTERVAL_WEEK] = "week",
        [INTERVAL_MONTH] = "month",
        [INTERVAL_YEAR] = "year",
};

/* Stripe's longest interval is three years, in each unit. */
static const long long interval_max_count[INTERVAL__MAX] = {
        [INTERVAL_DAY] = 1095,
        [INTERVAL_WEEK] = 156,
        [INTERVAL_MONTH] = 36,
        [INTERVAL_YEAR] = 3,
};

int period_interval_parse(const char *s, enum interval *iv)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < INTERVAL__MAX; i++)
		if (strcmp(s, interval_names[i]) == 0) {
			*iv = (enum interval)i;
			return 0;
		}
	return -1;
}

const char *period_interval_name(enum interval iv)
{
	if ((int)iv < 0 || iv >= INTERVAL__MAX)
		return "";
	return interval_names[iv];
}

bool period_interval_valid(enum interval iv, long long count)
{
	if ((int)iv < 0 || iv >= INTERVAL__MAX)
		return false;
	return count >= 1 && count <= interval_max_count[iv];
}

static bool period_in_range(long long t)
{
	return t >= PERIOD_TIME_MIN && t <= PERIOD_TIME_MAX;
}

static bool period_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int period_month_days(long long y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && period_leap(y) ? 29 : days[m - 1];
}

/*
 * Days since 1970-01-01 of a civil date.  The year is counted from March so
 * that the leap day is the last day of its year; then a year is 365 days
 * plus the leap rule, and a 400-year era is exactly 146097 days.  The month
 * term (153 * mp + 2) / 5 is the day of the year on which month mp (March =
 * 0) starts: the 31/30 pattern from March to January repeats every 5 months.
 * 719468 is the day number of 1970-01-01 counted from 0000-03-01.  Only
 * years >= 0 reach here, so the divisions never see a negative value.
 */
static long long period_days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = y / 400;
	long long yoe = y - era * 400;
	long long mp = m > 2 ? m - 3 : m + 9;
	long long doy = (153 * mp + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* The inverse of period_days_from_civil for days >= 0. */
static void period_civil_from_days(long long days, long long *y, int *m, int *d)
{
	long long z = days + 719468;
	long long era = z / 146097;
	long long doe = z - era * 146097;
	/* The year of the era: 1460, 36524 and 146096 remove the leap days so far. */
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* t's month counted from year 0 (y * 12 + month - 1), and its day of month. */
static long long period_month_index(long long t, int *day)
{
	long long y;
	int m, d;

	period_civil_from_days(t / PERIOD_DAY, &y, &m, &d);
	if (day != NULL)
		*day = d;
	return y * 12 + (m - 1);
}

/*
 * t plus n calendar months: the same day of month, clamped to the target
 * month's last day, at the same time of day.  t >= 0, n >= 0.
 */
static int period_add_months(long long t, long long n, long long *out)
{
	int d;
	long long idx = period_month_index(t, &d);

	if (n > PERIOD_MONTH_LAST - idx)
		return -1;
	idx += n;
	long long y = idx / 12;
	int m = (int)(idx % 12) + 1;
	int last = period_month_days(y, m);

	*out = period_days_from_civil(y, m, d < last ? d : last) * PERIOD_DAY + t % PERIOD_DAY;
	return 0;
}

/* Seconds per step for days and weeks, months per step for months and years. */
static long long period_step(enum interval iv, long long count)
{
	switch (iv) {
	case INTERVAL_DAY:
		return count * PERIOD_DAY;
	case INTERVAL_WEEK:
		return count * PERIOD_WEEK;
	case INTERVAL_MONTH:
		return count;
	default:
		return count * 12;
	}
}

int period_nth(long long anchor, enum interval iv, long long count, long long k, long long *out)
{
	long long n;

	if (!period_interval_valid(iv, count) || k < 0 || !period_in_range(anchor))
		return -1;
	if (__builtin_mul_overflow(k, period_step(iv, count), &n))
		return -1;
	if (iv == INTERVAL_DAY || iv == INTERVAL_WEEK) {
		if (n > PERIOD_TIME_MAX - anchor)
			return -1;
		*out = anchor + n;
		return 0;
	}
	return period_add_months(anchor, n, out);
}

/*
 * k is found by division, not by walking the schedule.  Days and weeks are
 * exact: k = (t - anchor) / step.  For months and years, k = (months from
 * the anchor's month to t's month) / step puts boundary k in t's month or
 * earlier and boundary k + 1 in a later month than t's; only when boundary k
 * falls in t's own month on a later day or time is it after t, and then k - 1
 * is the answer (k > 0 there, as boundary 0 is the anchor, <= t).
 */
int period_containing(long long anchor, enum interval iv, long long count, long long t,
                      long long *start, long long *end)
{
	long long k, s, e;

	if (!period_interval_valid(iv, count) || !period_in_range(anchor) || !period_in_range(t))
		return -1;
	if (t < anchor) {
		*start = t;
		*end = anchor;
		return 0;
	}
	if (iv == INTERVAL_DAY || iv == INTERVAL_WEEK)
		k = (t - anchor) / period_step(iv, count);
	else
		k = (period_month_index(t, NULL) - period_month_index(anchor, NULL)) /
		    period_step(iv, count);
	if (period_nth(anchor, iv, count, k, &s) != 0)
		return -1;
	if (s > t) {
		k--;
		if (period_nth(anchor, iv, count, k, &s) != 0)
			return -1;
	}
	if (period_nth(anchor, iv, count, k + 1, &e) != 0)
		return -1;
	*start = s;
	*end = e;
	return 0;
}
