/*
 * The processors.  Test mode: the built-in test processor, which answers
 * as Stripe answers for its test cards; the card's verdict was fixed when
 * the payment method was made from a test card (payment_methods.
 * test_decline_code), so charging the same card always ends the same way.
 * Live mode: Stripe Connect on the tenant's connected account.
 */
#include "config.h"

#include "billing/testcard.h"
#include "pay/processor.h"

static int pay_test_charge(struct pay_charge *c)
{
	const struct testcard *card;

	c->processor_id = NULL;
	if (c->test_decline_code == NULL) {
		c->succeeded = true;
		c->failure_code = c->decline_code = c->failure_message = NULL;
		return 0;
	}
	card = testcard_by_decline_code(c->test_decline_code);
	c->succeeded = false;
	c->decline_code = card != NULL ? card->decline_code : "generic_decline";
	c->failure_code =
	        card != NULL && card->error_code != NULL ? card->error_code : "card_declined";
	c->failure_message = card != NULL ? card->decline_message : "Your card was declined.";
	return 0;
}

/*
 * Live payments go through the tenant's own Stripe account; until one is
 * connected there is nothing that could move the money.  The Stripe
 * Connect processor is issue 4's next step: until it lands, levy refuses
 * live payments (charges and refunds alike) rather than pretend.
 */
static int pay_live_refused(const char *stripe_account, struct err *e)
{
	if (stripe_account != NULL)
		return err_set(e, 400, E_INVALID_REQUEST, "account_invalid", NULL,
		               "Live-mode payments through Stripe Connect are not available in "
		               "this version of levy yet; use a test-mode key.");
	return err_set(e, 400, E_INVALID_REQUEST, "account_invalid", NULL,
	               "Live-mode payments need a connected Stripe account. Connect your Stripe "
	               "account in the dashboard (owner only), or use a test-mode key.");
}

int pay_charge(struct arena *a, struct pay_charge *c, struct err *e)
{
	(void)a;
	if (!c->livemode)
		return pay_test_charge(c);
	return pay_live_refused(c->stripe_account, e);
}

int pay_refund(struct arena *a, struct pay_refund *f, struct err *e)
{
	(void)a;
	if (!f->livemode) {
		/* The test processor's money never left: a refund cannot fail. */
		f->status = "succeeded";
		f->processor_id = NULL;
		return 0;
	}
	return pay_live_refused(f->stripe_account, e);
}
