/*
 * Anchored billing periods on tables of hand-picked dates: month ends in
 * leap and non-leap years, year changes, multi-month and multi-week counts,
 * yearly schedules from February 29, the far-future limit, and every refusal.
 * Dates are written as ISO strings and converted by a deliberately naive
 * day counter here, independent of the code under test.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "billing/period.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 0x5EED5EEDLL

/* "YYYY-MM-DDTHH:MM:SSZ" -> Unix seconds, by counting every year and month from 1970. */
static long long iso(const char *s)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se;
	long long days = 0;

	if (sscanf(s, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &se) != 6)
		fail_msg("bad date in test table: %s", s);
	for (int yy = 1970; yy < y; yy++)
		days += (yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0)) ? 366 : 365;
	for (int mm = 1; mm < mo; mm++)
		days += mdays[mm - 1] + (mm == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
	days += d - 1;
	return days * 86400 + h * 3600 + mi * 60 + se;
}

static void test_iso_oracle(void **state)
{
	/* The helper against values known independently (date -u -d ... +%s). */
	assert_int_equal(iso("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(iso("2000-03-01T00:00:00Z"), 951868800);
	assert_int_equal(iso("2024-01-01T00:00:00Z"), 1704067200);
	assert_int_equal(iso("2024-01-31T00:00:00Z"), 1706659200);
	assert_int_equal(iso("2038-01-19T03:14:08Z"), 2147483648LL);
	assert_int_equal(iso("9999-12-31T23:59:59Z"), PERIOD_TIME_MAX);
}

static void test_interval_names(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum interval iv;
	} t[] = {
	        {"day", 0, INTERVAL_DAY},
	        {"week", 0, INTERVAL_WEEK},
	        {"month", 0, INTERVAL_MONTH},
	        {"year", 0, INTERVAL_YEAR},
	        {"Day", -1, 0},
	        {"days", -1, 0},
	        {"", -1, 0},
	        {"month ", -1, 0},
	        {"yearly", -1, 0},
	        {"quarter", -1, 0},
	};

	for (size_t i = 0; i < N(t); i++) {
		enum interval iv = (enum interval)77;

		assert_int_equal(period_interval_parse(t[i].s, &iv), t[i].rc);
		if (t[i].rc == 0) {
			assert_int_equal(iv, t[i].iv);
			assert_string_equal(period_interval_name(iv), t[i].s);
		} else {
			assert_int_equal(iv, 77);
		}
	}
	enum interval iv = INTERVAL_DAY;
	assert_int_equal(period_interval_parse(NULL, &iv), -1);
	assert_string_equal(period_interval_name(INTERVAL__MAX), "");
	assert_string_equal(period_interval_name((enum interval) - 1), "");
}

static void test_interval_valid(void **state)
{
	static const struct {
		enum interval iv;
		long long count;
		bool ok;
	} t[] = {
	        {INTERVAL_DAY, 1, true},           {INTERVAL_DAY, 1095, true},
	        {INTERVAL_DAY, 1096, false},       {INTERVAL_DAY, 0, false},
	        {INTERVAL_DAY, -1, false},         {INTERVAL_WEEK, 1, true},
	        {INTERVAL_WEEK, 156, true},        {INTERVAL_WEEK, 157, false},
	        {INTERVAL_MONTH, 1, true},         {INTERVAL_MONTH, 36, true},
	        {INTERVAL_MONTH, 37, false},       {INTERVAL_MONTH, 0, false},
	        {INTERVAL_YEAR, 1, true},          {INTERVAL_YEAR, 3, true},
	        {INTERVAL_YEAR, 4, false},         {INTERVAL_YEAR, LLONG_MAX, false},
	        {INTERVAL_YEAR, LLONG_MIN, false}, {INTERVAL__MAX, 1, false},
	        {(enum interval) - 1, 1, false},
	};

	for (size_t i = 0; i < N(t); i++)
		assert_int_equal(period_interval_valid(t[i].iv, t[i].count), t[i].ok);
}

struct nth_case {
	const char *anchor;
	enum interval iv;
	long long count, k;
	const char *want; /* NULL: refused */
};

static const struct nth_case nth_cases[] = {
        /* Monthly from January 31 in a non-leap year: clamp, then back to the 31st. */
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 0, "2023-01-31T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 1, "2023-02-28T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 2, "2023-03-31T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 3, "2023-04-30T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 4, "2023-05-31T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 5, "2023-06-30T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 8, "2023-09-30T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 11, "2023-12-31T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 12, "2024-01-31T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 13, "2024-02-29T12:00:00Z"},
        {"2023-01-31T12:00:00Z", INTERVAL_MONTH, 1, 14, "2024-03-31T12:00:00Z"},
        /* ... and in a leap year. */
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, 1, "2024-02-29T00:00:00Z"},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, 2, "2024-03-31T00:00:00Z"},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, 3, "2024-04-30T00:00:00Z"},
        {"2024-01-30T00:00:00Z", INTERVAL_MONTH, 1, 1, "2024-02-29T00:00:00Z"},
        {"2024-01-29T00:00:00Z", INTERVAL_MONTH, 1, 1, "2024-02-29T00:00:00Z"},
        {"2023-01-29T00:00:00Z", INTERVAL_MONTH, 1, 1, "2023-02-28T00:00:00Z"},
        {"2024-01-28T00:00:00Z", INTERVAL_MONTH, 1, 1, "2024-02-28T00:00:00Z"},
        /* 2000 is a leap year, 2100 is not. */
        {"2000-01-31T00:00:00Z", INTERVAL_MONTH, 1, 1, "2000-02-29T00:00:00Z"},
        {"2100-01-31T00:00:00Z", INTERVAL_MONTH, 1, 1, "2100-02-28T00:00:00Z"},
        /* The time of day is kept to the second. */
        {"2023-01-31T23:59:59Z", INTERVAL_MONTH, 1, 1, "2023-02-28T23:59:59Z"},
        {"2023-03-31T00:00:01Z", INTERVAL_MONTH, 1, 1, "2023-04-30T00:00:01Z"},
        /* December to January. */
        {"2023-12-15T08:30:00Z", INTERVAL_MONTH, 1, 1, "2024-01-15T08:30:00Z"},
        {"2023-12-31T23:59:59Z", INTERVAL_MONTH, 1, 1, "2024-01-31T23:59:59Z"},
        {"2023-12-31T23:59:59Z", INTERVAL_MONTH, 1, 2, "2024-02-29T23:59:59Z"},
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 2, 1, "2024-01-30T00:00:00Z"},
        /* Every three months. */
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 3, 1, "2024-02-29T00:00:00Z"},
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 3, 2, "2024-05-30T00:00:00Z"},
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 3, 3, "2024-08-30T00:00:00Z"},
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 3, 4, "2024-11-30T00:00:00Z"},
        {"2023-08-31T00:00:00Z", INTERVAL_MONTH, 3, 1, "2023-11-30T00:00:00Z"},
        {"2023-08-31T00:00:00Z", INTERVAL_MONTH, 3, 2, "2024-02-29T00:00:00Z"},
        {"2023-08-31T00:00:00Z", INTERVAL_MONTH, 3, 3, "2024-05-31T00:00:00Z"},
        {"2020-01-31T00:00:00Z", INTERVAL_MONTH, 36, 1, "2023-01-31T00:00:00Z"},
        /* Yearly from February 29. */
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 1, 1, "2025-02-28T06:00:00Z"},
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 1, 2, "2026-02-28T06:00:00Z"},
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 1, 3, "2027-02-28T06:00:00Z"},
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 1, 4, "2028-02-29T06:00:00Z"},
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 2, 1, "2026-02-28T06:00:00Z"},
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 2, 2, "2028-02-29T06:00:00Z"},
        {"2024-02-29T06:00:00Z", INTERVAL_YEAR, 3, 1, "2027-02-28T06:00:00Z"},
        {"2096-02-29T00:00:00Z", INTERVAL_YEAR, 1, 4, "2100-02-28T00:00:00Z"},
        {"2096-02-29T00:00:00Z", INTERVAL_YEAR, 1, 8, "2104-02-29T00:00:00Z"},
        {"1996-02-29T00:00:00Z", INTERVAL_YEAR, 1, 4, "2000-02-29T00:00:00Z"},
        {"2023-03-01T00:00:00Z", INTERVAL_YEAR, 1, 1, "2024-03-01T00:00:00Z"},
        {"2023-12-31T10:00:00Z", INTERVAL_YEAR, 1, 1, "2024-12-31T10:00:00Z"},
        /* Days and weeks are fixed lengths in seconds. */
        {"2024-02-28T10:00:00Z", INTERVAL_DAY, 1, 1, "2024-02-29T10:00:00Z"},
        {"2024-02-28T10:00:00Z", INTERVAL_DAY, 1, 2, "2024-03-01T10:00:00Z"},
        {"2023-02-28T10:00:00Z", INTERVAL_DAY, 1, 1, "2023-03-01T10:00:00Z"},
        {"2023-12-31T23:00:00Z", INTERVAL_DAY, 1, 1, "2024-01-01T23:00:00Z"},
        {"2024-01-01T00:00:00Z", INTERVAL_DAY, 30, 2, "2024-03-01T00:00:00Z"},
        {"2024-01-01T00:00:00Z", INTERVAL_DAY, 1095, 1, "2026-12-31T00:00:00Z"},
        {"2023-12-25T00:00:00Z", INTERVAL_WEEK, 1, 1, "2024-01-01T00:00:00Z"},
        {"2023-12-25T00:00:00Z", INTERVAL_WEEK, 2, 1, "2024-01-08T00:00:00Z"},
        {"2023-12-25T00:00:00Z", INTERVAL_WEEK, 2, 3, "2024-02-05T00:00:00Z"},
        {"2024-01-01T00:00:00Z", INTERVAL_WEEK, 156, 1, "2026-12-28T00:00:00Z"},
        /* The epoch, and 2038 passes unnoticed. */
        {"1970-01-01T00:00:00Z", INTERVAL_MONTH, 1, 1, "1970-02-01T00:00:00Z"},
        {"2038-01-19T03:14:07Z", INTERVAL_MONTH, 1, 1, "2038-02-19T03:14:07Z"},
        {"2037-12-31T00:00:00Z", INTERVAL_YEAR, 1, 1, "2038-12-31T00:00:00Z"},
        /* The far-future limit: nothing after 9999-12-31T23:59:59Z. */
        {"9999-11-30T00:00:00Z", INTERVAL_MONTH, 1, 1, "9999-12-30T00:00:00Z"},
        {"9999-11-30T00:00:00Z", INTERVAL_MONTH, 1, 2, NULL},
        {"9999-12-31T23:59:59Z", INTERVAL_DAY, 1, 0, "9999-12-31T23:59:59Z"},
        {"9999-12-31T23:59:59Z", INTERVAL_DAY, 1, 1, NULL},
        {"9999-12-30T23:59:59Z", INTERVAL_DAY, 1, 1, "9999-12-31T23:59:59Z"},
        {"1970-01-31T00:00:00Z", INTERVAL_MONTH, 1, 96359, "9999-12-31T00:00:00Z"},
        {"1970-01-31T00:00:00Z", INTERVAL_MONTH, 1, 96360, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_YEAR, 1, 8029, "9999-01-01T00:00:00Z"},
        {"1970-01-01T00:00:00Z", INTERVAL_YEAR, 1, 8030, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_YEAR, 3, LLONG_MAX / 36, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_YEAR, 3, LLONG_MAX, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_DAY, 1, LLONG_MAX / 86400, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_WEEK, 156, LLONG_MAX, NULL},
        /* Bad arguments. */
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, -1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, LLONG_MIN, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 0, 1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 37, 1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_DAY, 1096, 1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_WEEK, 157, 1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_YEAR, 4, 1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_YEAR, -1, 1, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL__MAX, 1, 1, NULL},
};

static void test_nth(void **state)
{
	for (size_t i = 0; i < N(nth_cases); i++) {
		const struct nth_case *c = &nth_cases[i];
		long long out = SENTINEL;
		int rc = period_nth(iso(c->anchor), c->iv, c->count, c->k, &out);

		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("case %zu: %s +%lld x %lld accepted", i, c->anchor, c->k,
				         c->count);
			assert_int_equal(out, SENTINEL);
		} else {
			if (rc != 0 || out != iso(c->want))
				fail_msg("case %zu: %s +%lld x %lld: rc %d, %lld, want %s (%lld)",
				         i, c->anchor, c->k, c->count, rc, out, c->want,
				         iso(c->want));
		}
	}
}

static void test_nth_anchor_range(void **state)
{
	long long out = SENTINEL;

	assert_int_equal(period_nth(-1, INTERVAL_DAY, 1, 0, &out), -1);
	assert_int_equal(period_nth(LLONG_MIN, INTERVAL_MONTH, 1, 0, &out), -1);
	assert_int_equal(period_nth(PERIOD_TIME_MAX + 1, INTERVAL_DAY, 1, 0, &out), -1);
	assert_int_equal(period_nth(LLONG_MAX, INTERVAL_YEAR, 1, 0, &out), -1);
	assert_int_equal(out, SENTINEL);
	assert_int_equal(period_nth(PERIOD_TIME_MIN, INTERVAL_DAY, 1, 0, &out), 0);
	assert_int_equal(out, 0);
}

/* Every boundary of a schedule is computed from the anchor, never from the one before. */
static void test_nth_never_drifts(void **state)
{
	long long anchor = iso("2024-01-31T09:15:00Z"), prev = anchor;
	static const int want_day[24] = {29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31,
	                                 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31};

	for (int k = 1; k <= 24; k++) {
		long long b;
		char want[32];
		int year = 2024 + k / 12, month = 1 + k % 12;

		assert_int_equal(period_nth(anchor, INTERVAL_MONTH, 1, k, &b), 0);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT09:15:00Z", year, month,
		         want_day[k - 1]);
		assert_int_equal(b, iso(want));
		assert_true(b > prev);
		prev = b;
	}
}

struct containing_case {
	const char *anchor;
	enum interval iv;
	long long count;
	const char *t, *start, *end; /* start NULL: refused */
};

static const struct containing_case containing_cases[] = {
        /* Monthly from January 31 of a leap year. */
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-01-31T00:00:00Z", "2024-01-31T00:00:00Z",
         "2024-02-29T00:00:00Z"},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-02-28T23:59:59Z", "2024-01-31T00:00:00Z",
         "2024-02-29T00:00:00Z"},
        /* A boundary starts the next period. */
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z",
         "2024-03-31T00:00:00Z"},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-03-15T12:00:00Z", "2024-02-29T00:00:00Z",
         "2024-03-31T00:00:00Z"},
        /* t in the same month as a later boundary. */
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-03-30T00:00:00Z", "2024-02-29T00:00:00Z",
         "2024-03-31T00:00:00Z"},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-04-30T00:00:00Z", "2024-04-30T00:00:00Z",
         "2024-05-31T00:00:00Z"},
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 1, "2025-02-28T00:00:00Z", "2025-02-28T00:00:00Z",
         "2025-03-31T00:00:00Z"},
        /* The time of day decides, to the second. */
        {"2024-01-15T12:00:00Z", INTERVAL_MONTH, 1, "2024-02-15T11:59:59Z", "2024-01-15T12:00:00Z",
         "2024-02-15T12:00:00Z"},
        {"2024-01-15T12:00:00Z", INTERVAL_MONTH, 1, "2024-02-15T12:00:00Z", "2024-02-15T12:00:00Z",
         "2024-03-15T12:00:00Z"},
        /* December to January. */
        {"2023-12-31T00:00:00Z", INTERVAL_MONTH, 1, "2024-01-10T00:00:00Z", "2023-12-31T00:00:00Z",
         "2024-01-31T00:00:00Z"},
        /* Every three months, every two weeks, every ten days. */
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 3, "2024-06-01T00:00:00Z", "2024-05-30T00:00:00Z",
         "2024-08-30T00:00:00Z"},
        {"2023-11-30T00:00:00Z", INTERVAL_MONTH, 3, "2024-05-29T23:59:59Z", "2024-02-29T00:00:00Z",
         "2024-05-30T00:00:00Z"},
        {"2023-12-25T00:00:00Z", INTERVAL_WEEK, 2, "2024-01-08T00:00:00Z", "2024-01-08T00:00:00Z",
         "2024-01-22T00:00:00Z"},
        {"2023-12-25T00:00:00Z", INTERVAL_WEEK, 2, "2024-01-07T23:59:59Z", "2023-12-25T00:00:00Z",
         "2024-01-08T00:00:00Z"},
        {"2024-01-01T00:00:00Z", INTERVAL_DAY, 10, "2024-01-25T00:00:00Z", "2024-01-21T00:00:00Z",
         "2024-01-31T00:00:00Z"},
        /* Yearly from February 29. */
        {"2024-02-29T00:00:00Z", INTERVAL_YEAR, 1, "2025-03-01T00:00:00Z", "2025-02-28T00:00:00Z",
         "2026-02-28T00:00:00Z"},
        {"2024-02-29T00:00:00Z", INTERVAL_YEAR, 1, "2028-02-28T12:00:00Z", "2027-02-28T00:00:00Z",
         "2028-02-29T00:00:00Z"},
        {"2024-02-29T00:00:00Z", INTERVAL_YEAR, 1, "2025-02-27T00:00:00Z", "2024-02-29T00:00:00Z",
         "2025-02-28T00:00:00Z"},
        /* A billing_cycle_anchor in the future: the first period runs from t to the anchor. */
        {"2024-05-01T00:00:00Z", INTERVAL_MONTH, 1, "2024-04-10T08:00:00Z", "2024-04-10T08:00:00Z",
         "2024-05-01T00:00:00Z"},
        {"2024-05-01T00:00:00Z", INTERVAL_DAY, 1, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
         "2024-05-01T00:00:00Z"},
        /* Thousands of periods away, found without walking them. */
        {"1970-01-01T00:00:00Z", INTERVAL_DAY, 1, "9999-12-30T12:00:00Z", "9999-12-30T00:00:00Z",
         "9999-12-31T00:00:00Z"},
        {"1970-01-31T00:00:00Z", INTERVAL_MONTH, 1, "9999-11-15T00:00:00Z", "9999-10-31T00:00:00Z",
         "9999-11-30T00:00:00Z"},
        /* The period's end would pass 9999-12-31T23:59:59Z. */
        {"1970-01-01T00:00:00Z", INTERVAL_DAY, 1, "9999-12-31T00:00:00Z", NULL, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_MONTH, 1, "9999-12-15T00:00:00Z", NULL, NULL},
        {"1970-01-01T00:00:00Z", INTERVAL_YEAR, 3, "9999-12-31T23:59:59Z", NULL, NULL},
        /* Bad arguments. */
        {"2024-01-31T00:00:00Z", INTERVAL_MONTH, 0, "2024-03-01T00:00:00Z", NULL, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL_WEEK, 157, "2024-03-01T00:00:00Z", NULL, NULL},
        {"2024-01-31T00:00:00Z", INTERVAL__MAX, 1, "2024-03-01T00:00:00Z", NULL, NULL},
};

static void test_containing(void **state)
{
	for (size_t i = 0; i < N(containing_cases); i++) {
		const struct containing_case *c = &containing_cases[i];
		long long s = SENTINEL, e = SENTINEL;
		int rc = period_containing(iso(c->anchor), c->iv, c->count, iso(c->t), &s, &e);

		if (c->start == NULL) {
			if (rc != -1)
				fail_msg("case %zu: %s at %s accepted", i, c->anchor, c->t);
			assert_int_equal(s, SENTINEL);
			assert_int_equal(e, SENTINEL);
		} else if (rc != 0 || s != iso(c->start) || e != iso(c->end)) {
			fail_msg("case %zu: %s at %s: rc %d [%lld, %lld), want [%s, %s)", i,
			         c->anchor, c->t, rc, s, e, c->start, c->end);
		}
	}
}

static void test_containing_range(void **state)
{
	long long s = SENTINEL, e = SENTINEL, a = iso("2024-01-31T00:00:00Z");

	assert_int_equal(period_containing(a, INTERVAL_MONTH, 1, -1, &s, &e), -1);
	assert_int_equal(period_containing(a, INTERVAL_MONTH, 1, PERIOD_TIME_MAX + 1, &s, &e), -1);
	assert_int_equal(period_containing(a, INTERVAL_MONTH, 1, LLONG_MIN, &s, &e), -1);
	assert_int_equal(period_containing(-1, INTERVAL_MONTH, 1, a, &s, &e), -1);
	assert_int_equal(period_containing(PERIOD_TIME_MAX + 1, INTERVAL_DAY, 1, a, &s, &e), -1);
	assert_int_equal(s, SENTINEL);
	assert_int_equal(e, SENTINEL);
}

/*
 * period_containing against the definition, by walking k up from 0, for
 * anchors on awkward days and t spread irregularly over several years.
 */
static void test_containing_matches_walk(void **state)
{
	static const char *const anchors[] = {"2023-01-31T23:59:59Z", "2024-02-29T12:00:00Z",
	                                      "2023-08-31T00:00:00Z", "2024-03-30T06:30:00Z",
	                                      "2023-12-31T00:00:00Z", "2024-01-01T00:00:00Z"};
	static const struct {
		enum interval iv;
		long long count;
	} schedules[] = {{INTERVAL_DAY, 1},   {INTERVAL_DAY, 45},   {INTERVAL_WEEK, 1},
	                 {INTERVAL_WEEK, 3},  {INTERVAL_MONTH, 1},  {INTERVAL_MONTH, 2},
	                 {INTERVAL_MONTH, 5}, {INTERVAL_MONTH, 12}, {INTERVAL_YEAR, 1},
	                 {INTERVAL_YEAR, 3}};

	for (size_t a = 0; a < N(anchors); a++) {
		long long anchor = iso(anchors[a]);

		for (size_t sc = 0; sc < N(schedules); sc++) {
			/* 7919 s + 3 days: hits every time of day and every day of month. */
			for (long long t = anchor; t < anchor + 6LL * 366 * 86400;
			     t += 3 * 86400 + 7919) {
				long long s, e, k = 0, b, next;

				assert_int_equal(period_containing(anchor, schedules[sc].iv,
				                                   schedules[sc].count, t, &s, &e),
				                 0);
				for (;;) {
					assert_int_equal(period_nth(anchor, schedules[sc].iv,
					                            schedules[sc].count, k + 1,
					                            &next),
					                 0);
					if (next > t)
						break;
					k++;
				}
				assert_int_equal(period_nth(anchor, schedules[sc].iv,
				                            schedules[sc].count, k, &b),
				                 0);
				assert_int_equal(s, b);
				assert_int_equal(e, next);
				assert_true(s <= t && t < e);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_iso_oracle),
	        cmocka_unit_test(test_interval_names),
	        cmocka_unit_test(test_interval_valid),
	        cmocka_unit_test(test_nth),
	        cmocka_unit_test(test_nth_anchor_range),
	        cmocka_unit_test(test_nth_never_drifts),
	        cmocka_unit_test(test_containing),
	        cmocka_unit_test(test_containing_range),
	        cmocka_unit_test(test_containing_matches_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
