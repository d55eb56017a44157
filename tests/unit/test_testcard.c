/* The test processor's cards: every documented id and number with Stripe's outcome, and Luhn. */
#include "config.h"

#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "billing/testcard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct testcard want[] = {
        {"pm_card_visa", "4242424242424242", "visa", "credit", "US", TESTCARD_SUCCEEDS, NULL, NULL,
         NULL},
        {"pm_card_visa_debit", "4000056655665556", "visa", "debit", "US", TESTCARD_SUCCEEDS, NULL,
         NULL, NULL},
        {"pm_card_mastercard", "5555555555554444", "mastercard", "credit", "US", TESTCARD_SUCCEEDS,
         NULL, NULL, NULL},
        {"pm_card_mastercard_debit", "5200828282828210", "mastercard", "debit", "US",
         TESTCARD_SUCCEEDS, NULL, NULL, NULL},
        {"pm_card_mastercard_prepaid", "5105105105105100", "mastercard", "prepaid", "US",
         TESTCARD_SUCCEEDS, NULL, NULL, NULL},
        {"pm_card_amex", "378282246310005", "amex", "credit", "US", TESTCARD_SUCCEEDS, NULL, NULL,
         NULL},
        {"pm_card_discover", "6011111111111117", "discover", "credit", "US", TESTCARD_SUCCEEDS,
         NULL, NULL, NULL},
        {"pm_card_diners", "3056930009020004", "diners", "credit", "US", TESTCARD_SUCCEEDS, NULL,
         NULL, NULL},
        {"pm_card_gb", "4000008260000000", "visa", "credit", "GB", TESTCARD_SUCCEEDS, NULL, NULL,
         NULL},
        {"pm_card_de", "4000002760000016", "visa", "credit", "DE", TESTCARD_SUCCEEDS, NULL, NULL,
         NULL},
        {"pm_card_fr", "4000002500000003", "visa", "credit", "FR", TESTCARD_SUCCEEDS, NULL, NULL,
         NULL},
        {"pm_card_ca", "4000001240000000", "visa", "credit", "CA", TESTCARD_SUCCEEDS, NULL, NULL,
         NULL},
        {"pm_card_chargeDeclined", "4000000000000002", "visa", "credit", "US", TESTCARD_DECLINES,
         "generic_decline", "Your card was declined.", "card_declined"},
        {"pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", "visa", "credit", "US",
         TESTCARD_DECLINES, "insufficient_funds", "Your card has insufficient funds.",
         "card_declined"},
        {"pm_card_chargeDeclinedLostCard", "4000000000009987", "visa", "credit", "US",
         TESTCARD_DECLINES, "lost_card", "Your card was declined.", "card_declined"},
        {"pm_card_chargeDeclinedStolenCard", "4000000000009979", "visa", "credit", "US",
         TESTCARD_DECLINES, "stolen_card", "Your card was declined.", "card_declined"},
        {"pm_card_chargeDeclinedExpiredCard", "4000000000000069", "visa", "credit", "US",
         TESTCARD_DECLINES, "expired_card", "Your card has expired.", "expired_card"},
        {"pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", "visa", "credit", "US",
         TESTCARD_DECLINES, "incorrect_cvc", "Your card's security code is incorrect.",
         "incorrect_cvc"},
        {"pm_card_chargeDeclinedProcessingError", "4000000000000119", "visa", "credit", "US",
         TESTCARD_DECLINES, "processing_error",
         "An error occurred while processing your card. Try again in a little bit.",
         "processing_error"},
        {"pm_card_chargeCustomerFail", "4000000000000341", "visa", "credit", "US",
         TESTCARD_CHARGE_DECLINES, "generic_decline", "Your card was declined.", "card_declined"},
};

static void assert_str_or_null(const char *got, const char *expected)
{
	if (expected == NULL)
		assert_null(got);
	else
		assert_string_equal(got, expected);
}

static void test_every_card(void **state)
{
	for (size_t i = 0; i < N(want); i++) {
		const struct testcard *c = testcard_by_pm_id(want[i].pm_id);

		assert_non_null(c);
		/* The id and the number name the same card. */
		assert_ptr_equal(testcard_by_number(want[i].number), c);
		assert_string_equal(c->pm_id, want[i].pm_id);
		assert_string_equal(c->number, want[i].number);
		assert_string_equal(c->brand, want[i].brand);
		assert_string_equal(c->funding, want[i].funding);
		assert_string_equal(c->country, want[i].country);
		assert_int_equal(c->outcome, want[i].outcome);
		assert_str_or_null(c->decline_code, want[i].decline_code);
		assert_str_or_null(c->decline_message, want[i].decline_message);
		assert_str_or_null(c->error_code, want[i].error_code);
		/* A decline always says why; a success never does. */
		assert_int_equal(c->decline_code == NULL, c->outcome == TESTCARD_SUCCEEDS);
		/* Every test number is a well-formed card number with a last4. */
		assert_true(testcard_luhn_valid(c->number));
		assert_true(strlen(c->number) >= 12);
	}
}

static void test_unknown(void **state)
{
	static const char *const ids[] = {
	        "pm_card_unknown",  "",        "PM_CARD_VISA", "pm_card_visa ", "pm_card_vis",
	        "4242424242424242", "tok_visa"};
	static const char *const numbers[] = {
	        "4242 4242 4242 4242", "4242-4242-4242-4242", "4242424242424241",
	        "424242424242424",     "42424242424242424",   "",
	        "pm_card_visa",        "4111111111111111", /* Luhn-valid, not Stripe's */
	};

	for (size_t i = 0; i < N(ids); i++)
		assert_null(testcard_by_pm_id(ids[i]));
	for (size_t i = 0; i < N(numbers); i++)
		assert_null(testcard_by_number(numbers[i]));
	assert_null(testcard_by_pm_id(NULL));
	assert_null(testcard_by_number(NULL));
}

static void test_luhn(void **state)
{
	static const struct {
		const char *digits;
		bool ok;
	} t[] = {
	        {"4242424242424242", true},
	        {"378282246310005", true}, /* 15 digits */
	        {"4111111111111111", true},
	        {"000000000000", true},        /* 12 digits, sum 0 */
	        {"100000000008", true},        /* 12 digits: the 1 doubled, plus 8 */
	        {"4000000000000000006", true}, /* 19 digits */
	        {"4242424242424241", false},   /* checksum off by one */
	        {"4242424242424243", false},
	        {"2424242424242424", false},     /* digits swapped */
	        {"79927398713", false},          /* Luhn-valid but 11 digits */
	        {"40000000000000000002", false}, /* Luhn-valid but 20 digits */
	        {"00000000000", false},          /* Luhn-valid but 11 digits */
	        {"4242 4242 4242 4242", false},
	        {"424242424242424a", false},
	        {"4242424242424242\n", false},
	        {"-242424242424242", false},
	        {"", false},
	};

	for (size_t i = 0; i < N(t); i++)
		if (testcard_luhn_valid(t[i].digits) != t[i].ok)
			fail_msg("luhn(\"%s\") should be %d", t[i].digits, t[i].ok);
	assert_false(testcard_luhn_valid(NULL));
}

static void test_by_decline_code(void **state)
{
	const struct testcard *c;

	(void)state;
	c = testcard_by_decline_code("generic_decline");
	assert_non_null(c);
	assert_string_equal(c->decline_code, "generic_decline");
	assert_string_equal(c->decline_message, "Your card was declined.");
	c = testcard_by_decline_code("insufficient_funds");
	assert_non_null(c);
	assert_string_equal(c->pm_id, "pm_card_chargeDeclinedInsufficientFunds");
	assert_string_equal(c->decline_message, "Your card has insufficient funds.");
	assert_null(testcard_by_decline_code("no_such_code"));
	assert_null(testcard_by_decline_code(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_card),
	        cmocka_unit_test(test_unknown),
	        cmocka_unit_test(test_luhn),
	        cmocka_unit_test(test_by_decline_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
