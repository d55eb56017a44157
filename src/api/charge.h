/*
 * Charges (ch_), one per payment attempt, made by the engine's
 * pay_attempt(): read-only here (retrieve, list).
 */
#ifndef LEVY_API_CHARGE_H
#define LEVY_API_CHARGE_H

#include "core/err.h"

struct req;
struct reply;

int charge_retrieve(struct req *r, struct reply *out, struct err *e);
int charge_list(struct req *r, struct reply *out, struct err *e);

#endif
