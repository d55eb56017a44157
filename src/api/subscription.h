/*
 * Subscriptions (sub_, items si_): create (the first invoice and its
 * payment through the billing engine), retrieve, list, update (plan and
 * quantity changes with prorations, trial end, cancel at period end),
 * cancel; and a customer's entitlements through them.
 */
#ifndef LEVY_API_SUBSCRIPTION_H
#define LEVY_API_SUBSCRIPTION_H

#include "core/err.h"

struct req;
struct reply;

int subscription_create(struct req *r, struct reply *out, struct err *e);
int subscription_retrieve(struct req *r, struct reply *out, struct err *e);
int subscription_list(struct req *r, struct reply *out, struct err *e);
int subscription_update(struct req *r, struct reply *out, struct err *e);
int subscription_cancel(struct req *r, struct reply *out, struct err *e);
/* GET /v1/customers/:id/entitlements */
int subscription_entitlements(struct req *r, struct reply *out, struct err *e);

#endif
