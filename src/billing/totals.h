/*
 * An invoice's totals from its lines and the customer's balance, the way
 * Stripe applies a customer balance: a credit (negative balance) reduces
 * what is due, a debt (positive) adds to it, and what an invoice cannot
 * use stays on the balance.  No taxes or discounts yet, so subtotal and
 * total are the sum of the lines.
 *
 *   subtotal = total = sum(lines)
 *   applied = total + starting_balance
 *   amount_due = max(0, applied)       (nothing is ever due below zero)
 *   ending_balance = min(0, applied)   (credit left over, or 0)
 */
#ifndef LEVY_TOTALS_H
#define LEVY_TOTALS_H

struct invoice_totals {
	long long subtotal;
	long long total;
	long long starting_balance;
	long long amount_due;
	long long ending_balance;
};

/* Bound on any one figure: twelve digits of minor units, as a customer balance. */
#define TOTALS_MAX 999999999999LL

/* 0, or -1 when n < 0, a line or the balance is beyond TOTALS_MAX, or a sum would be. */
int totals_compute(const long long *lines, int n, long long starting_balance,
                   struct invoice_totals *t) __attribute__((warn_unused_result));

#endif
