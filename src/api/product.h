/*
 * The catalog's products (prod_): create, retrieve, update, delete, list.
 * Publishable keys may list and retrieve active products (pricing pages).
 */
#ifndef LEVY_API_PRODUCT_H
#define LEVY_API_PRODUCT_H

#include "core/err.h"

struct req;
struct reply;

int product_create(struct req *r, struct reply *out, struct err *e);
int product_retrieve(struct req *r, struct reply *out, struct err *e);
int product_update(struct req *r, struct reply *out, struct err *e);
int product_delete(struct req *r, struct reply *out, struct err *e);
int product_list(struct req *r, struct reply *out, struct err *e);

/*
 * For plan create's inline product: creates a product inside the
 * request's transaction from the object param `prefix` ("product":
 * product[name], product[active], product[id], product[metadata],
 * product[statement_descriptor], product[unit_label]).  *id is the new
 * product's id.  0, or -1 with e naming the prefixed param.
 */
int product_create_inline(struct req *r, const char *prefix, const char **id, struct err *e);
/*
 * Holds product `id` against deletion until the transaction ends (a plan
 * is about to name it): 0, or -1 with e = 404 resource_missing naming
 * `param` when it is no product of the caller's tenant and mode, or deleted.
 */
int product_hold(struct req *r, const char *id, const char *param, struct err *e);

#endif
