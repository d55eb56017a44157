/*
 * application/x-www-form-urlencoded with Stripe's bracket notation, for
 * request bodies and query strings, decoded into the same JSON tree shape a
 * JSON body gives (every leaf a json string):
 *   a=1                -> {"a": "1"}
 *   metadata[plan]=pro -> {"metadata": {"plan": "pro"}}
 *   expand[]=x&expand[]=y -> {"expand": ["x", "y"]}
 *   items[0][price]=p&items[1][price]=q -> {"items": [{"price": "p"}, {"price": "q"}]}
 *   items[1][x]=..&items[0][x]=.. : array order follows the indexes
 * '+' is a space.  Refused with 400 invalid_request_error naming the param
 * where there is one: a bad percent-escape, invalid UTF-8 or NUL after
 * decoding, an index above FORM_MAX_INDEX or not a decimal number, more than
 * FORM_MAX_PARAMS pairs, nesting deeper than FORM_MAX_DEPTH brackets, an
 * unbalanced bracket, one name used both as a scalar and as an object or
 * array, indexes that leave holes (items[0] and items[2] without items[1]),
 * a repeated scalar key (a=1&a=2).
 */
#ifndef LEVY_FORM_H
#define LEVY_FORM_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/err.h"

#define FORM_MAX_PARAMS 1000
#define FORM_MAX_INDEX 999
#define FORM_MAX_DEPTH 32

/* Returns a new reference (an object; {} for an empty input) or NULL with e set. */
struct json_object *form_decode(const char *buf, size_t len, struct err *e);

#endif
