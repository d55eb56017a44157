/*
 * Tenant users: list, create, retrieve, update (ownership transfer), delete.
 */
#ifndef LEVY_API_USER_H
#define LEVY_API_USER_H

#include "core/err.h"

struct req;
struct reply;

int user_list(struct req *r, struct reply *out, struct err *e);
int user_create(struct req *r, struct reply *out, struct err *e);
int user_me(struct req *r, struct reply *out, struct err *e);
int user_retrieve(struct req *r, struct reply *out, struct err *e);
int user_update(struct req *r, struct reply *out, struct err *e);
int user_delete(struct req *r, struct reply *out, struct err *e);

#endif
