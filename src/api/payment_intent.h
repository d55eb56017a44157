/*
 * Payment intents (pi_) made directly through the API: create (with
 * confirm), confirm, cancel, update, retrieve, list; Stripe's shapes and
 * statuses.  Charging is the engine's pay_attempt() (api/invoicing.h).
 */
#ifndef LEVY_API_PAYMENT_INTENT_H
#define LEVY_API_PAYMENT_INTENT_H

#include "core/err.h"

struct req;
struct reply;

int payment_intent_create(struct req *r, struct reply *out, struct err *e);
int payment_intent_retrieve(struct req *r, struct reply *out, struct err *e);
int payment_intent_update(struct req *r, struct reply *out, struct err *e);
int payment_intent_confirm(struct req *r, struct reply *out, struct err *e);
int payment_intent_cancel(struct req *r, struct reply *out, struct err *e);
int payment_intent_list(struct req *r, struct reply *out, struct err *e);

#endif
