/*
 * Typed, bounded access to a decoded request (a JSON object from jsonin or
 * form).  A JSON body must carry the JSON type itself; a form body or query
 * string carries strings only, so with `form` set, integers and booleans are
 * parsed from strings, strictly ("20", "-3"; "true"/"false").  Every failure
 * is a 400 invalid_request_error whose param is `name`:
 *   wrong type                 -> parameter_invalid ("Invalid string: email.")
 *   not an integer / too large -> parameter_invalid_integer
 *   out of [min, max]          -> parameter_invalid_integer
 *   "" where not allowed       -> parameter_invalid_empty
 *   over maxlen bytes          -> parameter_invalid
 * A name is a key of the root, or a path in Stripe's bracket notation
 * ("card[number]", "items[0][price]") that is looked up and named as such.
 * Each getter returns 1 when the param is present and valid (*out set),
 * 0 when absent (or JSON null: a null means "not given"; *out untouched),
 * -1 with e set.
 */
#ifndef LEVY_PARAM_H
#define LEVY_PARAM_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "core/err.h"

struct params {
	struct json_object *root; /* an object; never NULL once decoded */
	bool form;                /* leaves are strings */
};

/* out points into the tree (lives as long as the tree). allow_empty: "" accepted. */
int param_str(const struct params *p, const char *name, size_t maxlen, bool allow_empty,
              const char **out, struct err *e);
int param_int(const struct params *p, const char *name, long long min, long long max,
              long long *out, struct err *e);
int param_bool(const struct params *p, const char *name, bool *out, struct err *e);
/* *out = index in `allowed` (NULL-terminated); other values -> parameter_invalid. */
int param_enum(const struct params *p, const char *name, const char *const *allowed, int *out,
               struct err *e);
/* Required variants: absence -> parameter_missing. Return 0 on success, -1 on error. */
int param_req_str(const struct params *p, const char *name, size_t maxlen, const char **out,
                  struct err *e);
/* 400 parameter_unknown naming the first key of the root not in `allowed` (NULL-terminated). */
int param_only(const struct params *p, const char *const *allowed, struct err *e);
/* The same for the keys of the object at name ("card"), named "card[key]"; 0 when absent. */
int param_only_in(const struct params *p, const char *name, const char *const *allowed,
                  struct err *e);
/* True when the root has the key (even with a null value; a bracket path: not null). */
bool param_has(const struct params *p, const char *name);
/* The value at name (a key or a bracket path), NULL when absent or null; owned by the tree. */
struct json_object *param_value(const struct params *p, const char *name);

#endif
