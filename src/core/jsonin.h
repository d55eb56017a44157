/*
 * Strict JSON decoding into json-c objects.  json-c 0.16's own parser is
 * lenient (duplicate keys, NaN, trailing bytes, clamped integers, invalid
 * UTF-8), so levy parses request bodies itself (RFC 8259) and only uses json-c
 * as the tree.  Refused with 400 invalid_request_error (param ""):
 *   malformed JSON, bytes after the value (whitespace aside), invalid UTF-8,
 *   duplicate keys in one object, "\u0000" in a string, lone surrogates in
 *   \u escapes, NaN/Infinity, nesting deeper than JSONIN_MAX_DEPTH.
 * Numbers: an integer literal (no fraction, no exponent) that fits int64
 * becomes json_type_int; every other number (20.5, 1e3, integers beyond
 * int64) becomes json_type_double, which param_int() refuses by name.
 */
#ifndef LEVY_JSONIN_H
#define LEVY_JSONIN_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/err.h"

#define JSONIN_MAX_DEPTH 32

/*
 * Parses buf[0..len) (need not be NUL-terminated).  Returns a new reference
 * that the caller puts (or hands to arena_on_reset), or NULL with e set.
 * An empty body (only whitespace) is malformed.
 */
struct json_object *jsonin_parse(const char *buf, size_t len, struct err *e);

#endif
