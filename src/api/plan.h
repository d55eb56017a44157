/*
 * Plans (plan_, the seed's BillingPlan in the shape of Stripe's Plans API):
 * create (product as an id or inline {name}), retrieve, update (never the
 * price fields), delete, list; features are levy's addition.  Publishable
 * keys may list and retrieve active plans (pricing pages).
 */
#ifndef LEVY_API_PLAN_H
#define LEVY_API_PLAN_H

#include "core/err.h"

struct req;
struct reply;

int plan_create(struct req *r, struct reply *out, struct err *e);
int plan_retrieve(struct req *r, struct reply *out, struct err *e);
int plan_update(struct req *r, struct reply *out, struct err *e);
int plan_delete(struct req *r, struct reply *out, struct err *e);
int plan_list(struct req *r, struct reply *out, struct err *e);

#endif
