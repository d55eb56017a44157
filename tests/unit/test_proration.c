/* Time-based proration to the second: shares and plan changes on hand-computed tables. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "billing/proration.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 0x5EED5EEDLL
#define DAY 86400LL

static void test_share(void **state)
{
	static const struct {
		long long amount, remaining, total;
		int rc;
		long long out;
	} t[] = {
	        {3000, 15 * DAY, 30 * DAY, 0, 1500}, /* half of a 30-day month */
	        {2000, 10 * DAY, 31 * DAY, 0, 645},  /* 645.16 */
	        {2000, 21 * DAY, 31 * DAY, 0, 1355}, /* 1354.84 */
	        {1000, 1, 3, 0, 333},                /* 333.33 */
	        {1000, 2, 3, 0, 667},                /* 666.67 */
	        {2000, 1, 30 * DAY, 0, 0},           /* one second of a month */
	        {1000, 0, 100, 0, 0},                /* nothing left */
	        {1000, 100, 100, 0, 1000},           /* the whole period */
	        {0, 5, 10, 0, 0},
	        /* halves to even, both signs */
	        {1, 1, 2, 0, 0},               /* 0.5 -> 0 */
	        {3, 1, 2, 0, 2},               /* 1.5 -> 2 */
	        {5, 1, 2, 0, 2},               /* 2.5 -> 2 */
	        {7, 1, 2, 0, 4},               /* 3.5 -> 4 */
	        {1, 15 * DAY, 30 * DAY, 0, 0}, /* 0.5 -> 0 */
	        {3, 15 * DAY, 30 * DAY, 0, 2}, /* 1.5 -> 2 */
	        {-1, 1, 2, 0, 0},              /* -0.5 -> 0 */
	        {-3, 1, 2, 0, -2},             /* -1.5 -> -2 */
	        {-5, 1, 2, 0, -2},             /* -2.5 -> -2 */
	        {-7, 1, 2, 0, -4},             /* -3.5 -> -4 */
	        {-1000, 1, 3, 0, -333},
	        {-1000, 2, 3, 0, -667},
	        {-1000, 100, 100, 0, -1000},
	        /* 128-bit intermediates at the edges */
	        {LLONG_MAX, 1, 2, 0, 4611686018427387904LL}, /* 2^62 - 0.5 -> even 2^62 */
	        {LLONG_MIN, 1, 2, 0, -4611686018427387904LL},
	        {LLONG_MAX, LLONG_MAX, LLONG_MAX, 0, LLONG_MAX},
	        {LLONG_MAX, LLONG_MAX - 1, LLONG_MAX, 0, LLONG_MAX - 1},
	        {LLONG_MIN, LLONG_MAX, LLONG_MAX, 0, LLONG_MIN},
	        {99999999LL * 10000, 1, 3, 0, 333333330000LL},
	        /* refused */
	        {1000, 1, 0, -1, 0}, /* total <= 0 */
	        {1000, 0, 0, -1, 0},
	        {1000, 1, -5, -1, 0},
	        {1000, -1, 10, -1, 0}, /* remaining < 0 */
	        {1000, LLONG_MIN, 10, -1, 0},
	        {1000, 11, 10, -1, 0}, /* remaining > total */
	        {1000, LLONG_MAX, 10, -1, 0},
	};

	for (size_t i = 0; i < N(t); i++) {
		long long out = SENTINEL;
		int rc = proration_share(t[i].amount, t[i].remaining, t[i].total, &out);

		if (rc != t[i].rc || out != (rc == 0 ? t[i].out : SENTINEL))
			fail_msg("case %zu: rc %d out %lld, want rc %d out %lld", i, rc, out,
			         t[i].rc, t[i].out);
	}
}

static void test_change(void **state)
{
	/* January 2024: 31 days from 1704067200; the change on January 11, 21 days before the end.
	 */
	const long long jan = 1704067200, feb = jan + 31 * DAY, jan11 = jan + 10 * DAY;
	const struct {
		long long old_amount, new_amount, start, end, t;
		int rc;
		long long credit, debit;
	} t[] = {
	        /* upgrade and downgrade at mid-period */
	        {1000, 3000, 0, 30 * DAY, 15 * DAY, 0, -500, 1500},
	        {3000, 1000, 0, 30 * DAY, 15 * DAY, 0, -1500, 500},
	        /* a real month: 2000 * 21/31 = 1354.84, 5000 * 21/31 = 3387.10 */
	        {2000, 5000, jan, feb, jan11, 0, -1355, 3387},
	        /* quantity 1 -> 3 of a 2000 plan: the amounts are already times quantity */
	        {2000, 6000, jan, feb, jan11, 0, -1355, 4065}, /* 4064.52 */
	        /* at the very start: the whole old price back, the whole new one due */
	        {2000, 5000, jan, feb, jan, 0, -2000, 5000},
	        /* one second before the end: nothing either way */
	        {2000, 5000, jan, feb, feb - 1, 0, 0, 0},
	        /* the same price nets to exactly zero, rounding included (1333.33) */
	        {2000, 2000, 0, 3, 1, 0, -1333, 1333},
	        {2001, 2001, 0, 2, 1, 0, -1000, 1000}, /* 1000.5 -> 1000 both ways */
	        /* halves, to even */
	        {1, 3, 0, 2, 1, 0, 0, 2},
	        {5, 7, 0, 2, 1, 0, -2, 4},
	        /* to or from a free plan */
	        {0, 2000, 0, 4, 1, 0, 0, 1500},
	        {2000, 0, 0, 4, 1, 0, -1500, 0},
	        /* negative amounts (a credit price) mirror positive ones */
	        {-3, -5, 0, 2, 1, 0, 2, -2},
	        /* LLONG_MIN as the new amount over the whole period is representable */
	        {0, LLONG_MIN, 0, 10, 0, 0, 0, LLONG_MIN},
	        /* t outside [start, end) */
	        {1000, 3000, 100, 200, 99, -1, 0, 0},
	        {1000, 3000, 100, 200, 200, -1, 0, 0},
	        {1000, 3000, 100, 200, 201, -1, 0, 0},
	        {1000, 3000, 100, 100, 100, -1, 0, 0}, /* empty period */
	        {1000, 3000, 200, 100, 150, -1, 0, 0}, /* reversed period */
	        /* the period's length overflows */
	        {1000, 3000, LLONG_MIN, LLONG_MAX, 0, -1, 0, 0},
	        /* the credit for LLONG_MIN over the whole period cannot be negated */
	        {LLONG_MIN, 0, 0, 10, 0, -1, 0, 0},
	};

	for (size_t i = 0; i < N(t); i++) {
		long long credit = SENTINEL, debit = SENTINEL;
		int rc = proration_change(t[i].old_amount, t[i].new_amount, t[i].start, t[i].end,
		                          t[i].t, &credit, &debit);

		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, t[i].rc);
		if (rc == 0 && (credit != t[i].credit || debit != t[i].debit))
			fail_msg("case %zu: credit %lld debit %lld, want %lld %lld", i, credit,
			         debit, t[i].credit, t[i].debit);
		if (rc != 0 && (credit != SENTINEL || debit != SENTINEL))
			fail_msg("case %zu: outputs written on failure", i);
	}
}

/* Changing to the same price at any second of a period nets to zero. */
static void test_change_same_price_nets_zero(void **state)
{
	const long long start = 1704067200, end = start + 29 * DAY;

	for (long long t = start; t < end; t += 7919) {
		long long credit, debit;

		assert_int_equal(proration_change(1999, 1999, start, end, t, &credit, &debit), 0);
		assert_int_equal(credit + debit, 0);
		assert_true(debit >= 0 && debit <= 1999);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_share),
	        cmocka_unit_test(test_change),
	        cmocka_unit_test(test_change_same_price_nets_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
