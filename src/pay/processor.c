/*
 * The processors.  Test mode: the built-in test processor, which answers
 * as Stripe answers for its test cards; the card's verdict was fixed when
 * the payment method was made from a test card (payment_methods.
 * test_decline_code), so charging the same card always ends the same way.
 * Live mode: Stripe Connect on the tenant's connected account, one
 * PaymentIntent created and confirmed per attempt (stripe_http.c); the
 * customer and card it names were mirrored first (mirror.c).
 */
#include "config.h"

#include <string.h>

#include "billing/testcard.h"
#include "pay/processor.h"
#include "pay/stripe_http.h"

#define MSG_NO_ACCOUNT                                                                             \
	"Live-mode payments need a connected Stripe account. Connect your Stripe account in "      \
	"the dashboard (owner only), or use a test-mode key."
#define MSG_NOT_CONFIGURED                                                                         \
	"Live-mode payments through Stripe Connect are not configured on this levy platform "      \
	"(it has no Stripe secret key). Contact the platform operator, or use a test-mode key."

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
 * Live payments go through the tenant's own Stripe account, with the
 * platform's key: without either there is nothing that could move money.
 * The tenant's part is told first, since the tenant can fix it.
 */
int pay_live_ready(const struct conf *conf, const char *stripe_account, struct err *e)
{
	if (stripe_account == NULL || stripe_account[0] == '\0')
		return err_set(e, 400, E_INVALID_REQUEST, "account_invalid", NULL, MSG_NO_ACCOUNT);
	if (conf == NULL || conf->stripe_secret_key == NULL || conf->stripe_secret_key[0] == '\0')
		return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL, MSG_NOT_CONFIGURED);
	return 0;
}

/* A POST to Stripe's API on the tenant's account. */
static int pay_live_post(struct arena *a, const struct conf *conf, const char *account,
                         const char *path, const char *key, const struct stripe_form *f,
                         struct stripe_answer *ans, struct err *e)
{
	struct stripe_call call = {
	        .base = conf->stripe_api_base,
	        .path = path,
	        .secret_key = conf->stripe_secret_key,
	        .stripe_account = account,
	        .idempotency_key = key,
	        .form = f,
	        .timeout_ms = conf->stripe_timeout_ms,
	};

	return stripe_http_post(a, &call, ans, e);
}

/* A PaymentIntent that Stripe left in another state than succeeded: not paid. */
static void pay_live_not_succeeded(struct arena *a, struct pay_charge *c, const char *status)
{
	c->succeeded = false;
	if (status != NULL && strcmp(status, "requires_action") == 0) {
		c->failure_code = c->decline_code = "authentication_required";
		c->failure_message =
		        "This payment requires the customer's authentication (3D Secure), "
		        "which an off-session payment through levy cannot complete.";
	} else {
		c->failure_code = "payment_intent_unexpected_state";
		c->decline_code = NULL;
		c->failure_message =
		        arena_printf(a, "The payment was not completed (Stripe's status: %s).",
		                     status != NULL ? status : "unknown");
	}
}

static int pay_live_charge(struct arena *a, struct pay_charge *c, struct err *e)
{
	struct stripe_answer ans;
	struct stripe_error se;
	struct stripe_form f;
	const char *status;

	if (pay_live_ready(c->conf, c->stripe_account, e) != 0)
		return -1;
	if (c->processor_payment_method == NULL || c->idempotency_key == NULL)
		return err_internal(e, "a live charge of %s without its mirrored card or key",
		                    c->payment_intent != NULL ? c->payment_intent : "?");
	stripe_form_init(&f, a);
	stripe_form_add_int(&f, "amount", c->amount);
	stripe_form_add(&f, "currency", c->currency);
	stripe_form_add(&f, "customer", c->processor_customer);
	stripe_form_add(&f, "payment_method", c->processor_payment_method);
	/* Stripe refuses an application fee of 0: no fee is no parameter. */
	if (c->application_fee_amount > 0)
		stripe_form_add_int(&f, "application_fee_amount", c->application_fee_amount);
	stripe_form_add(&f, "confirm", "true");
	if (c->off_session)
		stripe_form_add(&f, "off_session", "true");
	stripe_form_add(&f, "payment_method_types[0]", "card");
	if (c->request_ref != NULL) {
		stripe_form_add(&f, "metadata[levy_request]", c->request_ref);
	} else {
		stripe_form_add(&f, "metadata[levy_payment_intent]", c->payment_intent);
		stripe_form_add(&f, "metadata[levy_invoice]", c->invoice);
	}
	if (pay_live_post(a, c->conf, c->stripe_account, "/v1/payment_intents", c->idempotency_key,
	                  &f, &ans, e) != 0)
		return -1;
	c->processor_id = c->processor_intent = NULL;
	c->failure_code = c->decline_code = c->failure_message = NULL;
	if (ans.status >= 200 && ans.status < 300) {
		c->processor_intent = stripe_json_str(a, ans.body, "id");
		status = stripe_json_str(a, ans.body, "status");
		if (!stripe_id_valid(c->processor_intent, "pi_"))
			return stripe_http_unreadable(e, "PaymentIntent");
		if (status == NULL || strcmp(status, "succeeded") != 0) {
			pay_live_not_succeeded(a, c, status);
			return 0;
		}
		c->processor_id = stripe_json_str(a, ans.body, "latest_charge");
		if (!stripe_id_valid(c->processor_id, "ch_") &&
		    !stripe_id_valid(c->processor_id, "py_"))
			return stripe_http_unreadable(e, "PaymentIntent's latest_charge");
		c->succeeded = true;
		return 0;
	}
	stripe_http_error(a, &ans, &se);
	if (ans.status != 402)
		return stripe_http_refused(&ans, &se, e);
	/* A decline: Stripe's words, and the failed charge and intent it made. */
	c->succeeded = false;
	c->failure_code = se.code != NULL ? se.code : "card_declined";
	c->decline_code = se.decline_code;
	c->failure_message = se.message;
	if (stripe_id_valid(se.charge, "ch_"))
		c->processor_id = se.charge;
	if (stripe_id_valid(se.payment_intent, "pi_"))
		c->processor_intent = se.payment_intent;
	return 0;
}

int pay_charge(struct arena *a, struct pay_charge *c, struct err *e)
{
	if (!c->livemode)
		return pay_test_charge(c);
	return pay_live_charge(a, c, e);
}

/* Stripe's refund statuses, as levy's refunds table keeps them. */
static const char *pay_refund_status(const char *s)
{
	static const char *const known[] = {"pending", "succeeded", "failed", "canceled"};

	for (size_t i = 0; s != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	/* requires_action and whatever comes later: not final yet. */
	return "pending";
}

static int pay_live_refund(struct arena *a, struct pay_refund *f, struct err *e)
{
	struct stripe_answer ans;
	struct stripe_error se;
	struct stripe_form form;

	if (pay_live_ready(f->conf, f->stripe_account, e) != 0)
		return -1;
	if (!stripe_id_valid(f->charge_processor_id, "ch_") &&
	    !stripe_id_valid(f->charge_processor_id, "py_"))
		return err_set(e, 400, E_INVALID_REQUEST, "charge_not_refundable", "charge",
		               "This charge was not made through Stripe, so levy cannot refund it "
		               "there.");
	stripe_form_init(&form, a);
	stripe_form_add(&form, "charge", f->charge_processor_id);
	stripe_form_add_int(&form, "amount", f->amount);
	/* The platform gives back its fee in proportion, as levy's own records do. */
	stripe_form_add(&form, "refund_application_fee", "true");
	stripe_form_add(&form, "metadata[levy_charge]", f->charge);
	if (pay_live_post(a, f->conf, f->stripe_account, "/v1/refunds", f->idempotency_key, &form,
	                  &ans, e) != 0)
		return -1;
	if (ans.status < 200 || ans.status >= 300) {
		stripe_http_error(a, &ans, &se);
		return stripe_http_refused(&ans, &se, e);
	}
	f->processor_id = stripe_json_str(a, ans.body, "id");
	if (!stripe_id_valid(f->processor_id, "re_") && !stripe_id_valid(f->processor_id, "pyr_"))
		return stripe_http_unreadable(e, "refund");
	f->status = pay_refund_status(stripe_json_str(a, ans.body, "status"));
	return 0;
}

int pay_refund(struct arena *a, struct pay_refund *f, struct err *e)
{
	if (!f->livemode) {
		/* The test processor's money never left: a refund cannot fail. */
		f->status = "succeeded";
		f->processor_id = NULL;
		return 0;
	}
	return pay_live_refund(a, f, e);
}
