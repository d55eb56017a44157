/*
 * Currencies and the rounding of derived amounts.  One rule for every
 * derived amount: exact integer arithmetic in 128 bits, then one rounding to
 * the minor unit, half to even, so no systematic drift in either direction
 * over many payments and the tenant and the platform are treated alike.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "billing/money.h"

/*
 * Stripe's presentment currencies (docs.stripe.com/currencies), sorted for
 * bsearch.  Retired codes Stripe no longer takes (eek, hrk, ltl, lvl, mro,
 * svc, vef) are left out on purpose.
 */
static const char currencies[][4] = {
        "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
        "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf",
        "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb",
        "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg",
        "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw",
        "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk",
        "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
        "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub",
        "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sll", "sos", "srd", "std", "szl",
        "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs",
        "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
};

/* Amounts in these are whole units: 500 jpy is amount 500. */
static const char zero_decimal[][4] = {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
};

/* Amounts in these have three decimals: 5.120 kwd is amount 5120. */
static const char three_decimal[][4] = {"bhd", "jod", "kwd", "omr", "tnd"};

static int money_code_cmp(const void *key, const void *elem)
{
	return strcmp(key, elem);
}

/* Exactly three lowercase letters found in the sorted table. */
static bool money_code_in(const char *code, const char (*table)[4], size_t n)
{
	if (code == NULL || strnlen(code, 4) != 3)
		return false;
	for (int i = 0; i < 3; i++)
		if (code[i] < 'a' || code[i] > 'z')
			return false;
	return bsearch(code, table, n, sizeof(table[0]), money_code_cmp) != NULL;
}

#define MONEY_TABLE(t) (t), sizeof(t) / sizeof((t)[0])

bool money_currency_valid(const char *code)
{
	return money_code_in(code, MONEY_TABLE(currencies));
}

bool money_currency_zero_decimal(const char *code)
{
	return money_code_in(code, MONEY_TABLE(zero_decimal));
}

int money_currency_exponent(const char *code)
{
	if (!money_currency_valid(code))
		return -1;
	if (money_currency_zero_decimal(code))
		return 0;
	if (money_code_in(code, MONEY_TABLE(three_decimal)))
		return 3;
	return 2;
}

/*
 * C division truncates toward zero, so q is num/den with its fraction
 * dropped and r carries num's sign.  Compare twice the remainder's
 * magnitude with den: more than half moves q one away from zero, exactly
 * half moves it only when q is odd (to the even neighbour), less stays.
 * |2r| < 2*den <= 2^64 fits in 128 bits, so nothing here can overflow.
 */
int money_div_half_even(__int128 num, long long den, long long *out)
{
	if (den <= 0)
		return -1;
	__int128 q = num / den;
	__int128 r = num % den;
	__int128 twice = 2 * (r < 0 ? -r : r);

	if (twice > den || (twice == den && (q & 1) != 0))
		q += num < 0 ? -1 : 1;
	if (q < LLONG_MIN || q > LLONG_MAX)
		return -1;
	*out = (long long)q;
	return 0;
}

/*
 * fee = amount * fee_bp / 10000, half to even in the minor unit: 15% of 1003
 * is 150.45 -> 150, 50% of 1 is 0.5 -> 0, 50% of 3 is 1.5 -> 2.  The product
 * is at most 10^14 * 10^4, far inside 128 bits.
 */
int money_platform_fee(long long amount, int fee_bp, long long *fee)
{
	if (amount < 0 || amount > MONEY_TOTAL_MAX || fee_bp < 0 || fee_bp > MONEY_BP_ONE)
		return -1;
	return money_div_half_even((__int128)amount * fee_bp, MONEY_BP_ONE, fee);
}

/*
 * Returning fee in proportion to each refund, rounded on its own, would let
 * the rounding errors of several partial refunds add up to more or less than
 * the fee.  Instead the fee returned once refunds total R is always
 * round(fee * R / amount), and a refund's share is that figure after it minus
 * that figure before it.  The shares telescope:
 * whatever the sequence, their sum is round(fee * total_refunded / amount),
 * which is exactly fee once everything is refunded.
 */
int money_fee_refund_share(long long fee, long long amount, long long refunded_before,
                           long long refund, long long *share)
{
	long long after, before;

	if (amount <= 0 || fee < 0 || refund <= 0 || refunded_before < 0 ||
	    refunded_before > amount || refund > amount - refunded_before)
		return -1;
	if (money_div_half_even((__int128)fee * (refunded_before + refund), amount, &after) != 0 ||
	    money_div_half_even((__int128)fee * refunded_before, amount, &before) != 0)
		return -1;
	*share = after - before;
	return 0;
}
