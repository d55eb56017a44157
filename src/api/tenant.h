/*
 * The tenant endpoints: register, verify, tenants/me.
 */
#ifndef LEVY_API_TENANT_H
#define LEVY_API_TENANT_H

#include "core/err.h"

struct req;
struct reply;

int tenant_register(struct req *r, struct reply *out, struct err *e);
int tenant_verify(struct req *r, struct reply *out, struct err *e);
int tenant_me_get(struct req *r, struct reply *out, struct err *e);
int tenant_me_update(struct req *r, struct reply *out, struct err *e);

#endif
