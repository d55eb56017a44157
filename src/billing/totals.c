/* Invoice totals: see totals.h for the rule. */
#include "config.h"

#include <stddef.h>

#include "billing/totals.h"

static int totals_bounded(long long v)
{
	return v >= -TOTALS_MAX && v <= TOTALS_MAX;
}

int totals_compute(const long long *lines, int n, long long starting_balance,
                   struct invoice_totals *t)
{
	long long sum = 0, applied;

	if (n < 0 || (n > 0 && lines == NULL) || !totals_bounded(starting_balance))
		return -1;
	for (int i = 0; i < n; i++) {
		if (!totals_bounded(lines[i]))
			return -1;
		sum += lines[i]; /* both within 10^12: no overflow before the check */
		if (!totals_bounded(sum))
			return -1;
	}
	applied = sum + starting_balance;
	t->subtotal = sum;
	t->total = sum;
	t->starting_balance = starting_balance;
	t->amount_due = applied > 0 ? applied : 0;
	t->ending_balance = applied < 0 ? applied : 0;
	return 0;
}
