/*
 * Time-based proration to the second: what part of a period's amount the
 * remaining seconds of the period are worth, and the credit and charge of a
 * plan change inside a period.
 */
#ifndef LEVY_PRORATION_H
#define LEVY_PRORATION_H

/*
 * The prorated part of amount (signed; minor units, already times quantity)
 * for `remaining` seconds of a period of `total` seconds:
 * amount * remaining / total rounded half to even.  0 <= remaining <= total,
 * total > 0; -1 otherwise or on overflow.
 */
int proration_share(long long amount, long long remaining, long long total, long long *out)
        __attribute__((warn_unused_result));
/*
 * A plan change at time t inside [period_start, period_end): the credit for
 * the unused time of the old price (negative: -proration_share(old_amount))
 * and the charge for the remaining time of the new one
 * (proration_share(new_amount)); amounts are unit amount * quantity.  -1 if
 * t is outside the period, period_end <= period_start, or on overflow.
 */
int proration_change(long long old_amount, long long new_amount, long long period_start,
                     long long period_end, long long t, long long *credit, long long *debit)
        __attribute__((warn_unused_result));

#endif
