/*
 * Invoice items (ii_) at /v1/invoiceitems: charges and credits waiting for
 * a customer's next invoice, or put on a draft invoice directly.  Create,
 * retrieve, update and delete while pending, list (customer, invoice,
 * pending).
 */
#ifndef LEVY_API_INVOICEITEM_H
#define LEVY_API_INVOICEITEM_H

#include "core/err.h"

struct req;
struct reply;

int invoiceitem_create(struct req *r, struct reply *out, struct err *e);
int invoiceitem_retrieve(struct req *r, struct reply *out, struct err *e);
int invoiceitem_update(struct req *r, struct reply *out, struct err *e);
int invoiceitem_delete(struct req *r, struct reply *out, struct err *e);
int invoiceitem_list(struct req *r, struct reply *out, struct err *e);

#endif
