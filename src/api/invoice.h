/*
 * Invoices (in_) at /v1/invoices: one-off invoices of a customer's pending
 * invoice items, retrieve, update, delete (drafts), list, an invoice's
 * lines, the transitions finalize, pay, void and mark_uncollectible through
 * the billing engine (api/invoicing.h), and the preview of a customer's
 * next invoice (upcoming), which writes nothing.
 */
#ifndef LEVY_API_INVOICE_H
#define LEVY_API_INVOICE_H

#include "core/err.h"

struct req;
struct reply;

int invoice_create(struct req *r, struct reply *out, struct err *e);
int invoice_retrieve(struct req *r, struct reply *out, struct err *e);
int invoice_update(struct req *r, struct reply *out, struct err *e);
int invoice_delete(struct req *r, struct reply *out, struct err *e);
int invoice_list(struct req *r, struct reply *out, struct err *e);
int invoice_lines(struct req *r, struct reply *out, struct err *e);
int invoice_finalize(struct req *r, struct reply *out, struct err *e);
int invoice_pay(struct req *r, struct reply *out, struct err *e);
int invoice_void(struct req *r, struct reply *out, struct err *e);
int invoice_mark_uncollectible(struct req *r, struct reply *out, struct err *e);
/* GET /v1/invoices/upcoming?customer=&subscription= (a read-only route). */
int invoice_upcoming(struct req *r, struct reply *out, struct err *e);
int invoice_upcoming_lines(struct req *r, struct reply *out, struct err *e);

/* A draft that an invoice item is about to join, locked (invoice_lock_draft). */
struct invoice_draft {
	const char *id;
	const char *customer;
	const char *currency;
	const char *prev; /* its JSON before the item joins, for invoice.updated */
};

/*
 * Locks invoice `id` for an invoice item of `customer` to join: 0, or -1
 * with e = 404 naming `param` when it is not the caller's, 400 when it is
 * no longer a draft, belongs to another customer or is full.  The strings
 * live in r->arena.
 */
int invoice_lock_draft(struct req *r, const char *id, const char *customer, const char *param,
                       struct invoice_draft *d, struct err *e);
/*
 * Puts invoice item `item` (already inserted with invoice = d->id) on the
 * draft as a line, recomputes the draft's totals and records
 * invoice.updated.  0 or -1.
 */
int invoice_add_item(struct req *r, const struct invoice_draft *d, const char *item, struct err *e);

#endif
