/*
 * Stripe's test cards (docs.stripe.com/testing) with Stripe's outcomes, so
 * that code written against Stripe's test mode behaves the same against
 * levy's.  Stripe checks a card when it is attached to a customer, so the
 * cards that always decline refuse to attach too; pm_card_chargeCustomerFail
 * is the one that attaches and then declines every charge.
 */
#include "config.h"

#include <string.h>

#include "billing/testcard.h"

#define TC_OK(pm, num, brand, funding, country)                                                    \
	{                                                                                          \
		pm, num, brand, funding, country, TESTCARD_SUCCEEDS, NULL, NULL, NULL              \
	}
#define TC_DECLINE(pm, num, outcome, decline, message, code)                                       \
	{                                                                                          \
		pm, num, "visa", "credit", "US", outcome, decline, message, code                   \
	}

#define MSG_DECLINED "Your card was declined."

static const struct testcard testcards[] = {
        TC_OK("pm_card_visa", "4242424242424242", "visa", "credit", "US"),
        TC_OK("pm_card_visa_debit", "4000056655665556", "visa", "debit", "US"),
        TC_OK("pm_card_mastercard", "5555555555554444", "mastercard", "credit", "US"),
        TC_OK("pm_card_mastercard_debit", "5200828282828210", "mastercard", "debit", "US"),
        TC_OK("pm_card_mastercard_prepaid", "5105105105105100", "mastercard", "prepaid", "US"),
        TC_OK("pm_card_amex", "378282246310005", "amex", "credit", "US"),
        TC_OK("pm_card_discover", "6011111111111117", "discover", "credit", "US"),
        TC_OK("pm_card_diners", "3056930009020004", "diners", "credit", "US"),
        TC_OK("pm_card_gb", "4000008260000000", "visa", "credit", "GB"),
        TC_OK("pm_card_de", "4000002760000016", "visa", "credit", "DE"),
        TC_OK("pm_card_fr", "4000002500000003", "visa", "credit", "FR"),
        TC_OK("pm_card_ca", "4000001240000000", "visa", "credit", "CA"),
        TC_DECLINE("pm_card_chargeDeclined", "4000000000000002", TESTCARD_DECLINES,
                   "generic_decline", MSG_DECLINED, "card_declined"),
        TC_DECLINE("pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", TESTCARD_DECLINES,
                   "insufficient_funds", "Your card has insufficient funds.", "card_declined"),
        TC_DECLINE("pm_card_chargeDeclinedLostCard", "4000000000009987", TESTCARD_DECLINES,
                   "lost_card", MSG_DECLINED, "card_declined"),
        TC_DECLINE("pm_card_chargeDeclinedStolenCard", "4000000000009979", TESTCARD_DECLINES,
                   "stolen_card", MSG_DECLINED, "card_declined"),
        TC_DECLINE("pm_card_chargeDeclinedExpiredCard", "4000000000000069", TESTCARD_DECLINES,
                   "expired_card", "Your card has expired.", "expired_card"),
        TC_DECLINE("pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", TESTCARD_DECLINES,
                   "incorrect_cvc", "Your card's security code is incorrect.", "incorrect_cvc"),
        TC_DECLINE("pm_card_chargeDeclinedProcessingError", "4000000000000119", TESTCARD_DECLINES,
                   "processing_error",
                   "An error occurred while processing your card. Try again in a little bit.",
                   "processing_error"),
        TC_DECLINE("pm_card_chargeCustomerFail", "4000000000000341", TESTCARD_CHARGE_DECLINES,
                   "generic_decline", MSG_DECLINED, "card_declined"),
};

#define TESTCARD_COUNT (sizeof(testcards) / sizeof(testcards[0]))

const struct testcard *testcard_by_pm_id(const char *pm_id)
{
	if (pm_id == NULL)
		return NULL;
	for (size_t i = 0; i < TESTCARD_COUNT; i++)
		if (strcmp(testcards[i].pm_id, pm_id) == 0)
			return &testcards[i];
	return NULL;
}

const struct testcard *testcard_by_decline_code(const char *decline_code)
{
	if (decline_code == NULL)
		return NULL;
	for (size_t i = 0; i < TESTCARD_COUNT; i++)
		if (testcards[i].decline_code != NULL &&
		    strcmp(testcards[i].decline_code, decline_code) == 0)
			return &testcards[i];
	return NULL;
}

const struct testcard *testcard_by_number(const char *number)
{
	if (number == NULL)
		return NULL;
	for (size_t i = 0; i < TESTCARD_COUNT; i++)
		if (strcmp(testcards[i].number, number) == 0)
			return &testcards[i];
	return NULL;
}

/*
 * Luhn: from the rightmost digit leftwards, double every second digit and
 * subtract 9 from doubles above 9; the sum is a multiple of 10.  The length
 * bound (card numbers are 12 to 19 digits, ISO/IEC 7812) is checked before
 * anything is read past it.
 */
bool testcard_luhn_valid(const char *digits)
{
	if (digits == NULL)
		return false;
	size_t n = strnlen(digits, 20);
	if (n < 12 || n > 19)
		return false;
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		char c = digits[n - 1 - i];
		if (c < '0' || c > '9')
			return false;
		int v = c - '0';
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}
