/*
 * The built-in test processor's cards: Stripe's documented test payment
 * method ids and card numbers, each with the outcome Stripe gives it.
 */
#ifndef LEVY_TESTCARD_H
#define LEVY_TESTCARD_H

#include <stdbool.h>

enum testcard_outcome {
	TESTCARD_SUCCEEDS,        /* attaches, every charge succeeds */
	TESTCARD_DECLINES,        /* attaching declines (402), and so does every charge */
	TESTCARD_CHARGE_DECLINES, /* attaches, then every charge declines
	                             (pm_card_chargeCustomerFail) */
};

struct testcard {
	const char *pm_id;   /* "pm_card_visa" */
	const char *number;  /* "4242424242424242" */
	const char *brand;   /* Stripe's card.brand: "visa", "mastercard", "amex", ... */
	const char *funding; /* "credit", "debit", "prepaid" */
	const char *country; /* "US" */
	enum testcard_outcome outcome;
	const char *decline_code;    /* "generic_decline", "insufficient_funds", ...; NULL when it
	                                succeeds */
	const char *decline_message; /* Stripe's message, e.g. "Your card was declined." */
	/*
	 * The error's `code` as Stripe sends it with this decline: "card_declined"
	 * for most, "expired_card", "incorrect_cvc", "processing_error" for those;
	 * NULL when it succeeds.
	 */
	const char *error_code;
};

const struct testcard *testcard_by_pm_id(const char *pm_id); /* NULL if unknown */
const struct testcard *
testcard_by_number(const char *number);       /* digits only; NULL if not a test number */
bool testcard_luhn_valid(const char *digits); /* 12..19 digits, Luhn checksum */
/*
 * The first card that declines with decline_code: how the test processor
 * words a decline it stored as a code (payment_methods.test_decline_code).
 */
const struct testcard *testcard_by_decline_code(const char *decline_code);

#endif
