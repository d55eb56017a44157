/*
 * Refunds (re_) of succeeded charges, full or partial, never more than was
 * paid, each returning its share of the platform's fee: create, retrieve,
 * update (metadata), list.
 */
#ifndef LEVY_API_REFUND_H
#define LEVY_API_REFUND_H

#include "core/err.h"

struct req;
struct reply;

int refund_create(struct req *r, struct reply *out, struct err *e);
int refund_retrieve(struct req *r, struct reply *out, struct err *e);
int refund_update(struct req *r, struct reply *out, struct err *e);
int refund_list(struct req *r, struct reply *out, struct err *e);

#endif
