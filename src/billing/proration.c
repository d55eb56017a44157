/*
 * Proration.  The rule, for a period of `total` seconds of which `remaining`
 * are left: part = amount * remaining / total, computed exactly in 128 bits
 * and rounded once to the minor unit, half to even (money_div_half_even).
 * Half to even is symmetric around zero, so the credit for the old price is
 * exactly the negation of the charge the same price would make for the same
 * seconds: a change to the same plan and quantity nets to zero.  Credit and
 * charge are rounded separately, each as it appears on its own invoice line.
 */
#include "config.h"

#include <limits.h>

#include "billing/money.h"
#include "billing/proration.h"

int proration_share(long long amount, long long remaining, long long total, long long *out)
{
	if (total <= 0 || remaining < 0 || remaining > total)
		return -1;
	/* |amount * remaining| <= 2^126, and the quotient is at most |amount|. */
	return money_div_half_even((__int128)amount * remaining, total, out);
}

int proration_change(long long old_amount, long long new_amount, long long period_start,
                     long long period_end, long long t, long long *credit, long long *debit)
{
	long long total, remaining, old_part, new_part;

	if (t < period_start || t >= period_end)
		return -1;
	if (__builtin_sub_overflow(period_end, period_start, &total))
		return -1;
	/* period_start <= t < period_end, so this is below total and cannot overflow. */
	remaining = period_end - t;
	if (proration_share(old_amount, remaining, total, &old_part) != 0 ||
	    proration_share(new_amount, remaining, total, &new_part) != 0)
		return -1;
	/* -LLONG_MIN does not exist: only an old amount of LLONG_MIN for the whole period. */
	if (old_part == LLONG_MIN)
		return -1;
	*credit = -old_part;
	*debit = new_part;
	return 0;
}
