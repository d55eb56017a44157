/*
 * Payment methods (pm_), cards only: create (test mode: Stripe's test card
 * numbers), retrieve, update, attach, detach, list a customer's.  In test
 * mode the built-in test processor (billing/testcard.c) judges cards as
 * Stripe's test cards behave: attaching a declining card answers 402.
 */
#ifndef LEVY_API_PAYMENT_METHOD_H
#define LEVY_API_PAYMENT_METHOD_H

#include "core/err.h"

struct req;
struct reply;

int payment_method_create(struct req *r, struct reply *out, struct err *e);
int payment_method_retrieve(struct req *r, struct reply *out, struct err *e);
int payment_method_update(struct req *r, struct reply *out, struct err *e);
int payment_method_attach(struct req *r, struct reply *out, struct err *e);
int payment_method_detach(struct req *r, struct reply *out, struct err *e);
/* GET /v1/customers/:id/payment_methods and GET /v1/payment_methods?customer= */
int payment_method_list(struct req *r, struct reply *out, struct err *e);

/*
 * 0 when pm is attached to customer, else -1 with Stripe's 400
 * resource_missing naming param ("payment_method", "default_payment_method").
 */
int payment_method_of_customer(struct req *r, const char *pm, const char *customer,
                               const char *param, struct err *e);
/*
 * Attaches a payment method to a customer inside the request's transaction,
 * for other endpoints (customer create's payment_method, subscription
 * create's default_payment_method): pm is a pm_ id of the tenant's mode, or
 * one of Stripe's test ids (pm_card_visa) in test mode, which makes a new
 * pm_ object as Stripe does.  *attached is the pm_ id now attached.
 * 0, or -1 with e set: 404 naming `param`, 402 card_error for a declining
 * test card (e->keep_tx is left to the caller).
 */
int payment_method_attach_id(struct req *r, const char *pm, const char *customer, const char *param,
                             const char **attached, struct err *e);
/*
 * For payment intents: one of Stripe's test ids (pm_card_visa,
 * pm_card_chargeDeclined) as a new, unattached pm_ object, as Stripe makes
 * one when a PaymentIntent names a test id.  No decline check: the card's
 * verdict comes when it is charged.  1 with *made its pm_ id; 0 when pm is
 * not a test id (nothing done); -1 with e = 404 naming `param` in live
 * mode, where test ids do not exist.
 */
int payment_method_from_test_id(struct req *r, const char *pm, const char *param, const char **made,
                                struct err *e);

#endif
