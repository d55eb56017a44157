/*
 * API key management for dashboard users: list and roll.
 */
#ifndef LEVY_API_APIKEY_H
#define LEVY_API_APIKEY_H

#include "core/err.h"

struct req;
struct reply;

int apikey_list_handler(struct req *r, struct reply *out, struct err *e);
int apikey_roll_handler(struct req *r, struct reply *out, struct err *e);

#endif
