/*
 * The API's route table, gathered from the resources' handlers.
 */
#ifndef LEVY_API_ROUTES_H
#define LEVY_API_ROUTES_H

#include "http/route.h"

/* Terminated by an entry with a NULL pattern. */
extern const struct route api_routes[];

#endif
