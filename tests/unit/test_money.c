/* Currencies, half-to-even division, platform fees and their return on refunds, on hand-computed
 * tables. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "billing/money.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 0x5EED5EEDLL

static void test_currency_valid(void **state)
{
	static const char *const valid[] = {"usd", "eur", "gbp", "jpy", "krw", "chf", "aud", "cad",
	                                    "bhd", "kwd", "isk", "huf", "aed", "zmw", "xpf", "sle"};
	static const char *const invalid[] = {"USD", "Usd", "us",  "usdd", "",    "xyz", "eek",
	                                      "hrk", "u1d", "us ", " us",  "xxx", "zzz", "aaa"};

	for (size_t i = 0; i < N(valid); i++)
		assert_true(money_currency_valid(valid[i]));
	for (size_t i = 0; i < N(invalid); i++)
		assert_false(money_currency_valid(invalid[i]));
	assert_false(money_currency_valid(NULL));
	/* A longer string that starts with a valid code is not that code. */
	assert_false(money_currency_valid("usdollar"));
}

static void test_currency_zero_decimal(void **state)
{
	static const char *const zero[] = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
	                                   "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"};
	static const char *const not_zero[] = {"usd", "eur", "gbp", "isk", "huf",
	                                       "kwd", "JPY", "",    "jp"};

	for (size_t i = 0; i < N(zero); i++) {
		assert_true(money_currency_zero_decimal(zero[i]));
		/* Every zero-decimal currency is an accepted one. */
		assert_true(money_currency_valid(zero[i]));
		assert_int_equal(money_currency_exponent(zero[i]), 0);
	}
	for (size_t i = 0; i < N(not_zero); i++)
		assert_false(money_currency_zero_decimal(not_zero[i]));
	assert_false(money_currency_zero_decimal(NULL));
}

static void test_currency_exponent(void **state)
{
	static const struct {
		const char *code;
		int exp;
	} t[] = {
	        {"usd", 2}, {"eur", 2},  {"isk", 2},  {"huf", 2}, {"jpy", 0},
	        {"krw", 0}, {"bhd", 3},  {"jod", 3},  {"kwd", 3}, {"omr", 3},
	        {"tnd", 3}, {"xyz", -1}, {"KWD", -1}, {"", -1},
	};

	for (size_t i = 0; i < N(t); i++)
		assert_int_equal(money_currency_exponent(t[i].code), t[i].exp);
	assert_int_equal(money_currency_exponent(NULL), -1);
}

static void test_div_half_even(void **state)
{
	const __int128 max = LLONG_MAX, min = LLONG_MIN;
	const struct {
		__int128 num;
		long long den;
		int rc;
		long long out;
	} t[] = {
	        /* halves go to the even neighbour, both ways and on both signs */
	        {1, 2, 0, 0},     /* 0.5 -> 0 */
	        {3, 2, 0, 2},     /* 1.5 -> 2 */
	        {5, 2, 0, 2},     /* 2.5 -> 2 */
	        {7, 2, 0, 4},     /* 3.5 -> 4 */
	        {-1, 2, 0, 0},    /* -0.5 -> 0 */
	        {-3, 2, 0, -2},   /* -1.5 -> -2 */
	        {-5, 2, 0, -2},   /* -2.5 -> -2 */
	        {-7, 2, 0, -4},   /* -3.5 -> -4 */
	        {25, 10, 0, 2},   /* 2.5 -> 2 */
	        {35, 10, 0, 4},   /* 3.5 -> 4 */
	        {-25, 10, 0, -2}, /* -2.5 -> -2 */
	        {-35, 10, 0, -4}, /* -3.5 -> -4 */
	        /* not halves: nearest */
	        {24, 10, 0, 2},   /* 2.4 */
	        {26, 10, 0, 3},   /* 2.6 */
	        {-24, 10, 0, -2}, /* -2.4 */
	        {-26, 10, 0, -3}, /* -2.6 */
	        {1, 3, 0, 0},     /* 0.333 */
	        {2, 3, 0, 1},     /* 0.667 */
	        {-1, 3, 0, 0},    /* -0.333 */
	        {-2, 3, 0, -1},   /* -0.667 */
	        {0, 7, 0, 0},
	        {10, 5, 0, 2},   /* exact */
	        {-10, 5, 0, -2}, /* exact */
	        {42, 1, 0, 42},
	        /* den at its largest: just under and just over one half */
	        {4611686018427387903LL, LLONG_MAX, 0, 0},
	        {4611686018427387904LL, LLONG_MAX, 0, 1},
	        /* results at the edges of long long */
	        {max * 2, 2, 0, LLONG_MAX},
	        {min * 2, 2, 0, LLONG_MIN},
	        {max * 3 + 1, 3, 0, LLONG_MAX},    /* LLONG_MAX + 1/3 */
	        {-(max * 2 + 1), 2, 0, LLONG_MIN}, /* -(2^63 - 0.5): to even -2^63 */
	        {max * 2 + 1, 2, -1, 0},           /* 2^63 - 0.5: to even 2^63, too big */
	        {max * 2 + 2, 2, -1, 0},           /* 2^63 */
	        {min * 2 - 2, 2, -1, 0},           /* -2^63 - 1 */
	        /* den must be positive */
	        {1, 0, -1, 0},
	        {1, -1, -1, 0},
	        {-4, -2, -1, 0},
	        {1, LLONG_MIN, -1, 0},
	};

	for (size_t i = 0; i < N(t); i++) {
		long long out = SENTINEL;
		int rc = money_div_half_even(t[i].num, t[i].den, &out);

		assert_int_equal(rc, t[i].rc);
		if (rc == 0)
			assert_int_equal(out, t[i].out);
		else
			assert_int_equal(out, SENTINEL); /* untouched on failure */
	}
}

static void test_platform_fee(void **state)
{
	static const struct {
		const char *currency; /* documents the minor unit; the arithmetic is the same */
		long long amount;
		int bp;
		int rc;
		long long fee;
	} t[] = {
	        {"usd", 1000, 1500, 0, 150},   /* 15% of $10.00 */
	        {"usd", 1003, 1500, 0, 150},   /* 150.45 -> 150 */
	        {"usd", 1010, 1500, 0, 152},   /* 151.5 -> 152 (even, up) */
	        {"usd", 1030, 1500, 0, 154},   /* 154.5 -> 154 (even, down) */
	        {"usd", 1, 5000, 0, 0},        /* 0.5 -> 0 */
	        {"usd", 3, 5000, 0, 2},        /* 1.5 -> 2 */
	        {"usd", 5, 5000, 0, 2},        /* 2.5 -> 2 */
	        {"usd", 7, 5000, 0, 4},        /* 3.5 -> 4 */
	        {"usd", 5000, 1, 0, 0},        /* 0.01% of 5000 = 0.5 -> 0 */
	        {"usd", 15000, 1, 0, 2},       /* 1.5 -> 2 */
	        {"usd", 25000, 1, 0, 2},       /* 2.5 -> 2 */
	        {"usd", 35000, 1, 0, 4},       /* 3.5 -> 4 */
	        {"usd", 150, 1, 0, 0},         /* 0.015 */
	        {"usd", 2000, 290, 0, 58},     /* 2.9% of $20.00 */
	        {"usd", 2050, 250, 0, 51},     /* 51.25 -> 51 */
	        {"usd", 2070, 250, 0, 52},     /* 51.75 -> 52 */
	        {"usd", 1999, 1000, 0, 200},   /* 199.9 -> 200 */
	        {"usd", 0, 1500, 0, 0},        /* nothing paid, no fee */
	        {"usd", 1000, 0, 0, 0},        /* no fee configured */
	        {"usd", 1000, 10000, 0, 1000}, /* 100% */
	        {"usd", 99999999, 10000, 0, 99999999},
	        {"usd", 99999999, 1, 0, 10000},                  /* 9999.9999 -> 10000 */
	        {"usd", 99999999, 1500, 0, 15000000},            /* 14999999.85 -> 15000000 */
	        {"usd", 99999999000LL, 10000, 0, 99999999000LL}, /* the largest total */
	        {"usd", 99999999000LL, 1500, 0, 14999999850LL},
	        {"jpy", 500, 1500, 0, 75},   /* 15% of 500 yen */
	        {"jpy", 1003, 1500, 0, 150}, /* 150.45 yen -> 150 */
	        {"jpy", 1010, 1500, 0, 152}, /* 151.5 yen -> 152 */
	        {"jpy", 1030, 1500, 0, 154}, /* 154.5 yen -> 154 */
	        {"jpy", 1, 5000, 0, 0},      /* half a yen -> 0 */
	        {"krw", 3, 5000, 0, 2},      /* one and a half won -> 2 */
	        {"kwd", 5120, 1500, 0, 768}, /* 5.120 KWD, three decimals */
	        /* outside the domain */
	        {"usd", -1, 1500, -1, 0},
	        {"usd", 99999999001LL, 1500, -1, 0},
	        {"usd", LLONG_MAX, 1500, -1, 0},
	        {"usd", LLONG_MIN, 1500, -1, 0},
	        {"usd", 1000, -1, -1, 0},
	        {"usd", 1000, 10001, -1, 0},
	        {"usd", 1000, INT_MAX, -1, 0},
	};

	for (size_t i = 0; i < N(t); i++) {
		long long fee = SENTINEL;
		int rc = money_platform_fee(t[i].amount, t[i].bp, &fee);

		assert_true(money_currency_valid(t[i].currency));
		assert_int_equal(rc, t[i].rc);
		assert_int_equal(fee, rc == 0 ? t[i].fee : SENTINEL);
	}
	assert_true(money_currency_zero_decimal("jpy"));
}

/* A payment, its fee, and a sequence of partial refunds with the fee share each returns. */
struct refund_seq {
	long long amount, fee;
	int n;
	long long refund[10], share[10];
};

static void test_fee_refund_sequences(void **state)
{
	static const struct refund_seq t[] = {
	        /* $10.00, fee 150 (15%): thirds. 49.95 -> 50, 99.9 -> 100, 150 */
	        {1000, 150, 3, {333, 333, 334}, {50, 50, 50}},
	        /* fee 3 on 4: cumulative 0.75 -> 1, 1.5 -> 2, 2.25 -> 2, 3 */
	        {4, 3, 4, {1, 1, 1, 1}, {1, 1, 0, 1}},
	        /* fee 1 on 4: cumulative 0.5 -> 0 (even), then the whole fee */
	        {4, 1, 2, {2, 2}, {0, 1}},
	        /* fee 3 on 2: cumulative 1.5 -> 2 (even), then 3 */
	        {2, 3, 2, {1, 1}, {2, 1}},
	        /* fee 5 on 10 in ten steps: cumulative k/2 rounded half to even:
	         * 0.5->0, 1, 1.5->2, 2, 2.5->2, 3, 3.5->4, 4, 4.5->4, 5 */
	        {10, 5, 10, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {0, 1, 1, 0, 0, 1, 1, 0, 0, 1}},
	        /* fee 152 on 1010: 0.1505 -> 0, 76.15 -> 76, 152 */
	        {1010, 152, 3, {1, 505, 504}, {0, 76, 76}},
	        /* one full refund returns the whole fee */
	        {1000, 150, 1, {1000}, {150}},
	        /* no fee: nothing to return */
	        {1000, 0, 2, {400, 600}, {0, 0}},
	        /* fee equal to the amount (100%): every refund returns itself */
	        {7, 7, 3, {1, 2, 4}, {1, 2, 4}},
	        /* a large total: 0.15 -> 0, then the rest */
	        {99999999000LL, 14999999850LL, 2, {1, 99999998999LL}, {0, 14999999850LL}},
	        /* zero-decimal: 1003 yen, fee 150; 500 -> 74.78 -> 75, then 75 */
	        {1003, 150, 2, {500, 503}, {75, 75}},
	};

	for (size_t i = 0; i < N(t); i++) {
		long long before = 0, returned = 0;

		for (int j = 0; j < t[i].n; j++) {
			long long share = SENTINEL;

			assert_int_equal(money_fee_refund_share(t[i].fee, t[i].amount, before,
			                                        t[i].refund[j], &share),
			                 0);
			assert_int_equal(share, t[i].share[j]);
			before += t[i].refund[j];
			returned += share;
		}
		assert_int_equal(before, t[i].amount);
		assert_int_equal(returned, t[i].fee);
	}
}

/* Any sequence of partial refunds that ends in a full refund returns exactly the fee. */
static void test_fee_refund_sum_exact(void **state)
{
	unsigned long long seed = 88172645463325252ULL;

	for (int round = 0; round < 2000; round++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		long long amount = (long long)(seed >> 33) % 100000 + 1;
		long long fee;
		assert_int_equal(money_platform_fee(amount, (int)((seed >> 20) % 10001), &fee), 0);
		long long before = 0, returned = 0;

		while (before < amount) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			long long left = amount - before;
			long long refund = (long long)(seed >> 33) % left + 1;
			long long share;

			assert_int_equal(
			        money_fee_refund_share(fee, amount, before, refund, &share), 0);
			assert_true(share >= 0 && share <= fee - returned);
			before += refund;
			returned += share;
		}
		assert_int_equal(returned, fee);
	}
}

static void test_fee_refund_errors(void **state)
{
	static const struct {
		long long fee, amount, before, refund;
	} t[] = {
	        {150, 1000, 0, 0}, /* refund <= 0 */
	        {150, 1000, 0, -1},
	        {150, 1000, 0, LLONG_MIN},
	        {150, 1000, -1, 100}, /* refunded_before < 0 */
	        {150, 1000, LLONG_MIN, 100},
	        {150, 1000, 900, 101}, /* more than was paid */
	        {150, 1000, 0, 1001},
	        {150, 1000, 1000, 1},      /* already fully refunded */
	        {150, 1000, 1001, 1},      /* before beyond the amount */
	        {150, 1000, LLONG_MAX, 1}, /* before + refund would overflow */
	        {150, 1000, 1, LLONG_MAX},
	        {150, 0, 0, 1}, /* amount <= 0 */
	        {150, -5, 0, 1},
	        {-1, 1000, 0, 100}, /* a negative fee is a caller's bug */
	};

	for (size_t i = 0; i < N(t); i++) {
		long long share = SENTINEL;

		assert_int_equal(money_fee_refund_share(t[i].fee, t[i].amount, t[i].before,
		                                        t[i].refund, &share),
		                 -1);
		assert_int_equal(share, SENTINEL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_currency_valid),
	        cmocka_unit_test(test_currency_zero_decimal),
	        cmocka_unit_test(test_currency_exponent),
	        cmocka_unit_test(test_div_half_even),
	        cmocka_unit_test(test_platform_fee),
	        cmocka_unit_test(test_fee_refund_sequences),
	        cmocka_unit_test(test_fee_refund_sum_exact),
	        cmocka_unit_test(test_fee_refund_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
