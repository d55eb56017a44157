/* Invoice totals: a table of lines, balances and the figures Stripe would show. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include "billing/totals.h"

struct totals_case {
	long long lines[4];
	int n;
	long long balance;
	long long total, amount_due, ending_balance;
};

static void test_table(void **state)
{
	static const struct totals_case cases[] = {
	        /* plain: no balance */
	        {{2000}, 1, 0, 2000, 2000, 0},
	        {{2000, 500}, 2, 0, 2500, 2500, 0},
	        /* a trial: nothing due */
	        {{0}, 1, 0, 0, 0, 0},
	        {{0}, 0, 0, 0, 0, 0},
	        /* credit smaller than the total is used up */
	        {{2000}, 1, -500, 2000, 1500, 0},
	        /* credit larger than the total: nothing due, the rest stays */
	        {{2000}, 1, -2500, 2000, 0, -500},
	        /* credit exactly the total */
	        {{2000}, 1, -2000, 2000, 0, 0},
	        /* a debt is added */
	        {{2000}, 1, 300, 2000, 2300, 0},
	        /* a proration credit bigger than the charge becomes balance */
	        {{-3000, 1000}, 2, 0, -2000, 0, -2000},
	        {{-3000, 1000}, 2, 500, -2000, 0, -1500},
	        {{-3000, 1000}, 2, 2500, -2000, 500, 0},
	        /* the largest figures */
	        {{TOTALS_MAX}, 1, 0, TOTALS_MAX, TOTALS_MAX, 0},
	        {{TOTALS_MAX}, 1, -TOTALS_MAX, TOTALS_MAX, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct totals_case *c = &cases[i];
		struct invoice_totals t;

		assert_int_equal(totals_compute(c->lines, c->n, c->balance, &t), 0);
		assert_int_equal(t.subtotal, c->total);
		assert_int_equal(t.total, c->total);
		assert_int_equal(t.starting_balance, c->balance);
		assert_int_equal(t.amount_due, c->amount_due);
		assert_int_equal(t.ending_balance, c->ending_balance);
		/* What is due and what is left always account for the whole. */
		assert_int_equal(t.amount_due + t.ending_balance, c->total + c->balance);
	}
}

static void test_refusals(void **state)
{
	struct invoice_totals t;
	long long big[2] = {TOTALS_MAX, 1};
	long long over[1] = {TOTALS_MAX + 1};
	long long under[1] = {-TOTALS_MAX - 1};

	(void)state;
	assert_int_equal(totals_compute(big, 2, 0, &t), -1);
	assert_int_equal(totals_compute(over, 1, 0, &t), -1);
	assert_int_equal(totals_compute(under, 1, 0, &t), -1);
	assert_int_equal(totals_compute(big, 1, TOTALS_MAX + 1, &t), -1);
	assert_int_equal(totals_compute(big, -1, 0, &t), -1);
	assert_int_equal(totals_compute(NULL, 1, 0, &t), -1);
	assert_int_equal(totals_compute(NULL, 0, 0, &t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
