/*
 * Money as integers in the currency's minor unit: which currencies levy
 * takes, and the rounding of every amount levy derives from another (the
 * platform fee, its return on refunds).  No floating point, no I/O.
 */
#ifndef LEVY_MONEY_H
#define LEVY_MONEY_H

#include <stdbool.h>

/* Largest amount levy accepts in one price/charge: 99999999 minor units, as Stripe (8 digits). */
#define MONEY_AMOUNT_MAX 99999999LL
/* Largest total the fee arithmetic takes: a thousand maximal charges. */
#define MONEY_TOTAL_MAX (MONEY_AMOUNT_MAX * 1000)
/* Basis points in one whole: 15.00% is 1500. */
#define MONEY_BP_ONE 10000

/*
 * Currencies levy accepts: Stripe's list of presentment currencies, lowercase
 * ISO 4217 (usd, eur, gbp, jpy, ...).  Exactly lowercase: callers lowercase
 * the client's value first, so that what is stored is what Stripe shows.
 */
bool money_currency_valid(const char *code);
/* Stripe's zero-decimal currencies: bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof
 * xpf. */
bool money_currency_zero_decimal(const char *code);
/*
 * Digits after the decimal point in the API's amounts for the currency:
 * 0 (zero-decimal), 3 (bhd jod kwd omr tnd), 2 (every other accepted
 * currency, including isk and huf, which Stripe keeps two-decimal in the API),
 * -1 when the currency is not accepted.
 */
int money_currency_exponent(const char *code);

/*
 * num/den rounded to the nearest integer, halves to the even neighbour
 * (banker's rounding); den > 0, num may be negative (-2.5 -> -2, -3.5 -> -4).
 * 0, or -1 when den <= 0 or the result does not fit a long long.
 */
int money_div_half_even(__int128 num, long long den, long long *out)
        __attribute__((warn_unused_result));
/*
 * The platform fee on amount: amount * fee_bp / 10000 rounded half to even;
 * fee_bp is basis points 0..10000 (15.00% = 1500).  amount 0..MONEY_TOTAL_MAX
 * (a total).  -1 outside.
 */
int money_platform_fee(long long amount, int fee_bp, long long *fee)
        __attribute__((warn_unused_result));
/*
 * The part of a payment's fee returned by a refund, in proportion, so that
 * partial refunds add up exactly:
 *   share = round(fee * (refunded_before + refund) / amount)
 *         - round(fee * refunded_before / amount), both half to even.
 * A full refund (refunded_before + refund == amount) returns exactly the fee
 * not yet returned.  -1 when refund <= 0, refunded_before < 0,
 * refunded_before + refund > amount, amount <= 0, or fee < 0.
 */
int money_fee_refund_share(long long fee, long long amount, long long refunded_before,
                           long long refund, long long *share) __attribute__((warn_unused_result));

#endif
