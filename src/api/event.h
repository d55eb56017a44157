/* Events (evt_): list (filters type, created[gte|gt|lte|lt]) and retrieve. */
#ifndef LEVY_API_EVENT_H
#define LEVY_API_EVENT_H

#include "core/err.h"

struct req;
struct reply;

int event_retrieve(struct req *r, struct reply *out, struct err *e);
int event_list(struct req *r, struct reply *out, struct err *e);

#endif
