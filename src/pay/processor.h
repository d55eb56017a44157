/*
 * Processors behind one interface: what moves money.  A charge goes to the
 * built-in test processor in test mode (deterministic: a card's verdict is
 * the Stripe test card it was made from) and to Stripe Connect in live
 * mode, on the tenant's connected account.  A decline is an outcome, not
 * an error: pay_charge() fails only when the processor could not be asked.
 */
#ifndef LEVY_PROCESSOR_H
#define LEVY_PROCESSOR_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"

struct pay_charge {
	/* What to charge. */
	bool livemode;
	long long amount; /* minor units, > 0 */
	const char *currency;
	long long application_fee_amount; /* the platform's fee, already rounded */
	const char *customer;             /* cus_ */
	const char *payment_method;       /* pm_ */
	const char *test_decline_code;    /* the test card's verdict: NULL succeeds */
	const char *stripe_account;       /* the tenant's acct_, NULL when not connected */
	/*
	 * Derived from levy's own object and attempt, so a retried charge never
	 * charges twice: levy_<pi>_attempt_<n> in live mode.
	 */
	const char *idempotency_key;
	bool off_session;
	/* Live mode: the stripe.* settings and what the PaymentIntent names on Stripe. */
	const struct conf *conf;
	const char *processor_customer;       /* the mirrored customer (cus_ on the account) */
	const char *processor_payment_method; /* the mirrored card (card_ or pm_) */
	const char *payment_intent;           /* levy's pi_, in Stripe's metadata */
	const char *invoice;                  /* levy's in_, in Stripe's metadata; NULL: none */
	/*
	 * Set when the key comes from the client's request (an intent made by
	 * this request): Stripe's metadata then names this reference, not
	 * levy's ids, which a retry of the request draws afresh.
	 */
	const char *request_ref;
	/* The outcome. */
	bool succeeded;
	const char *processor_id;     /* the processor's own id of the payment (ch_), or NULL */
	const char *processor_intent; /* live: Stripe's PaymentIntent (pi_), or NULL */
	const char *failure_code;     /* Stripe's error code: "card_declined", "expired_card" */
	const char *decline_code;     /* "generic_decline", "insufficient_funds" */
	const char *failure_message;  /* Stripe's message: "Your card was declined." */
};

/*
 * Asks the mode's processor: 0 with c->succeeded and the outcome fields
 * set, or -1 with e set: 400 for a live-mode payment without a connected
 * Stripe account or on a platform without stripe.secret_key, 503 (with
 * Retry-After) when Stripe could not be asked or did not answer.
 */
int pay_charge(struct arena *a, struct pay_charge *c, struct err *e);

/* A refund of (part of) a succeeded charge, with its share of the platform fee. */
struct pay_refund {
	bool livemode;
	long long amount; /* minor units, > 0, at most what the charge has left */
	const char *currency;
	const char *charge_processor_id;    /* the charge's processor id, or NULL */
	long long application_fee_refunded; /* the fee's share this refund returns */
	const char *stripe_account;         /* the tenant's acct_, NULL when not connected */
	const char *idempotency_key;
	/* Live mode: the stripe.* settings, levy's ch_ (in Stripe's metadata). */
	const struct conf *conf;
	const char *charge;
	/* The outcome. */
	const char *status;       /* "succeeded", "pending", "failed" */
	const char *processor_id; /* the processor's own id of the refund, or NULL */
};

/*
 * Asks the mode's processor to refund: the test processor refunds at once
 * (status "succeeded"); Stripe refunds the charge with
 * refund_application_fee=true.  0, or -1 with e set as pay_charge().
 */
int pay_refund(struct arena *a, struct pay_refund *f, struct err *e);

/*
 * Whether live money can move for this tenant: 400 account_invalid
 * without a connected account, 400 when the platform has no
 * stripe.secret_key.  0 or -1.
 */
int pay_live_ready(const struct conf *conf, const char *stripe_account, struct err *e);

#endif
