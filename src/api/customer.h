/* Customers (cus_): create, retrieve, update, delete, list; Stripe's shapes. */
#ifndef LEVY_API_CUSTOMER_H
#define LEVY_API_CUSTOMER_H

#include "core/err.h"

struct req;
struct reply;

int customer_create(struct req *r, struct reply *out, struct err *e);
int customer_retrieve(struct req *r, struct reply *out, struct err *e);
int customer_update(struct req *r, struct reply *out, struct err *e);
int customer_delete(struct req *r, struct reply *out, struct err *e);
int customer_list(struct req *r, struct reply *out, struct err *e);

#endif
