/*
 * The billing engine: invoices from lines and pending invoice items,
 * finalization (totals, the customer's balance, the gapless number),
 * payment through the mode's processor with the platform's fee, and what
 * a payment's outcome does to the invoice, its payment intent and its
 * subscription.  Everything runs in the request's transaction (the job
 * runner will call the same functions), and records its events through
 * levy_emit() once each object is whole.
 *
 * Rows a function changes are locked first (SELECT ... FOR UPDATE), so two
 * requests paying one invoice at once queue, and the second finds it paid.
 */
#ifndef LEVY_INVOICING_H
#define LEVY_INVOICING_H

#include <stdbool.h>

#include "core/err.h"

struct req;

/* One line a caller puts on a new invoice (subscription periods, prorations). */
struct inv_line {
	const char *type; /* "subscription" or "invoiceitem" */
	long long amount;
	long long quantity;
	const char *plan;
	const char *description;
	long long period_start;
	long long period_end;
	bool proration;
	const char *subscription_item;
};

struct inv_new {
	const char *customer;
	const char *subscription; /* NULL: a one-off invoice */
	const char *billing_reason;
	const char *collection_method; /* "charge_automatically" or "send_invoice" */
	long long days_until_due;      /* send_invoice */
	const char *currency;
	long long period_start;
	long long period_end;
	const char *description;            /* NULL: none */
	const char *metadata;               /* JSON for levy_metadata_merge(), NULL: none */
	const char *default_payment_method; /* NULL: none */
	const char *auto_advance;           /* "true" or "false"; NULL: the default (true) */
	const struct inv_line *lines;
	int nlines;
	/*
	 * Take the customer's pending invoice items: for a subscription's
	 * invoice those of that subscription and those of none.
	 */
	bool take_pending;
};

/*
 * Creates a draft invoice (event invoice.created); *id its id.  A
 * subscription's invoice becomes its latest_invoice (the caller records
 * the subscription's change).
 */
int inv_create(struct req *r, const struct inv_new *n, const char **id, struct err *e);
/*
 * Finalizes a draft: totals with the customer's balance, the number, due
 * date; an invoice with nothing due is paid at once (*paid true, when paid
 * is not NULL).  400 when not a draft.
 */
int inv_finalize(struct req *r, const char *id, bool *paid, struct err *e);
/*
 * The subscription's status from `from` to `to` (its row locked by the
 * caller), with customer.subscription.updated whose previous_attributes is
 * the status alone: no other field of a subscription's rendering depends
 * on it.
 */
int inv_sub_status_change(struct req *r, const char *sub, const char *from, const char *to,
                          struct err *e);

/* What an attempt to pay ended in. */
struct pay_outcome {
	bool attempted; /* false: nothing was due */
	bool succeeded;
	const char *payment_intent;
	const char *failure_code;
	const char *decline_code;
	const char *failure_message;
	const char *payment_method;
};

/*
 * Pays an open invoice (finalizing a draft first) with payment_method, or
 * else the invoice's, its subscription's or its customer's default.  A
 * decline is an outcome (o->succeeded false; the invoice stays open, the
 * events recorded), not an error; errors are 400s (paid, void, no payment
 * method) and the processor's.  automatic: the attempt is levy's own (a
 * subscription's first payment, a renewal, a retry), which counts in
 * attempt_count and moves the retry schedule; a manual one (POST
 * /v1/invoices/:id/pay) counts only as an invoice's first attempt, as in
 * Stripe, and a decline of one that does not count leaves the invoice's
 * schedule and its subscription's status as they were.
 */
int inv_pay(struct req *r, const char *id, const char *payment_method, bool off_session,
            bool automatic, struct pay_outcome *o, struct err *e);
/*
 * An automatic collection of an open invoice that found no payment method
 * (inv_pay()'s 400 invoice_no_customer_payment_method): as in Stripe, a
 * failed attempt all the same (attempt_count, next_payment_attempt and
 * invoice.payment_failed as after a decline; the subscription whose latest
 * invoice it is becomes past_due, or unpaid after the last scheduled
 * attempt).  The renewal and retry jobs call it.
 */
int inv_pay_missed(struct req *r, const char *id, struct err *e);
/* open -> void (event invoice.voided); 400 otherwise. */
int inv_void(struct req *r, const char *id, struct err *e);
/* open -> uncollectible (event invoice.marked_uncollectible); 400 otherwise. */
int inv_mark_uncollectible(struct req *r, const char *id, struct err *e);

/*
 * One attempt to collect a payment intent: the charge through the
 * processor with the platform's fee (money_platform_fee, half to even),
 * the charge row, the intent's new status, and events
 * (charge.succeeded|failed, payment_intent.succeeded|payment_failed).
 * pm must be a pm_ of the tenant's mode; o is filled either way.
 */
int pay_attempt(struct req *r, const char *payment_intent, const char *pm, bool off_session,
                struct pay_outcome *o, struct err *e);

/*
 * Fills e with the 402 card_error Stripe answers for a declined outcome
 * (code, decline_code, message; param payment_method... none) and returns -1.
 */
int inv_card_error(const struct pay_outcome *o, struct err *e);

/* The object's current JSON text (levy_object_json), for answers. */
const char *inv_object_text(struct req *r, const char *type, const char *id, struct err *e);
/* levy_emit(): records event `event` of object (type, id); prev NULL for a creation. */
int inv_emit(struct req *r, const char *event, const char *type, const char *id, const char *prev,
             struct err *e);

#endif
