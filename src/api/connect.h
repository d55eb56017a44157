/*
 * Connecting a tenant's own Stripe account (Standard, by OAuth), owner
 * only: GET /v1/connect/stripe (the connection), POST .../authorize (the
 * URL to send the owner to, with a signed, expiring state), POST
 * .../callback (code and state back from Stripe: the code is exchanged and
 * the acct_ id stored) and POST .../disconnect (deauthorized on Stripe,
 * then forgotten).  Live-mode payments go to the account connected here.
 */
#ifndef LEVY_API_CONNECT_H
#define LEVY_API_CONNECT_H

#include "core/err.h"

struct req;
struct reply;

int connect_stripe_get(struct req *r, struct reply *out, struct err *e);
int connect_stripe_authorize(struct req *r, struct reply *out, struct err *e);
int connect_stripe_callback(struct req *r, struct reply *out, struct err *e);
int connect_stripe_disconnect(struct req *r, struct reply *out, struct err *e);

#endif
