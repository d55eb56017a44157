/*
 * Typed access to decoded request parameters.  json-c's getters convert
 * between types on request (json_object_get_int64 reads "2000" and 20.5 as
 * numbers), so every accessor here checks json_object_get_type first and
 * converts nothing it was not given; form values are parsed by hand.
 * Messages follow Stripe's wording, which its SDKs' users already know.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/err.h"
#include "core/param.h"

/* How much of a bad value is quoted back to the client. */
#define PARAM_SHOWN 40

/*
 * s[0..len) cut to at most `limit` bytes between characters, control
 * characters masked, "..." when cut; out holds limit + 4 bytes.
 */
static const char *param_cut(const char *s, size_t len, size_t limit, char *out)
{
	size_t n = len;

	if (n > limit) {
		n = limit;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = '?';
	if (n < len)
		memcpy(out + n, "...", 4);
	return out;
}

/* A bad value as a client would recognise it: the string itself, or its JSON text. */
static const char *param_show(struct json_object *v, char out[PARAM_SHOWN + 4])
{
	const char *s;

	if (json_object_is_type(v, json_type_string))
		return param_cut(json_object_get_string(v), (size_t)json_object_get_string_len(v),
		                 PARAM_SHOWN, out);
	s = json_object_to_json_string_ext(v,
	                                   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return param_cut(s, strlen(s), PARAM_SHOWN, out);
}

/*
 * The value at name, which is a key of the root or a path in Stripe's
 * bracket notation ("card[number]", "items[0][price]"), so that nested
 * params are read, and named in errors, as clients write them.  NULL when
 * absent, null, or when the path crosses something of another shape.
 */
static struct json_object *param_lookup(struct json_object *root, const char *name)
{
	struct json_object *v = root;
	const char *seg = name, *end;
	char key[128];

	while (v != NULL && *seg != '\0') {
		size_t len;

		end = seg == name ? strchr(seg, '[') : strchr(seg, ']');
		if (end == NULL)
			end = seg + strlen(seg);
		len = (size_t)(end - seg);
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, seg, len);
		key[len] = '\0';
		if (json_object_is_type(v, json_type_object)) {
			if (!json_object_object_get_ex(v, key, &v))
				return NULL;
		} else if (json_object_is_type(v, json_type_array) && len > 0 && len <= 4 &&
		           strspn(key, "0123456789") == len) {
			v = json_object_array_get_idx(v, (size_t)atoi(key));
		} else {
			return NULL;
		}
		if (*end == '\0')
			break;
		if (seg != name && *end == ']')
			end++;
		if (*end == '\0')
			break;
		if (*end != '[')
			return NULL;
		seg = end + 1;
	}
	return v;
}

/* 1 with *v set (never NULL), 0 when absent or null. */
static int param_get(const struct params *p, const char *name, struct json_object **v)
{
	*v = NULL;
	if (p->root == NULL || !json_object_is_type(p->root, json_type_object))
		return 0;
	*v = param_lookup(p->root, name);
	return *v != NULL ? 1 : 0;
}

static int param_empty(const char *name, struct err *e)
{
	return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid_empty", name,
	               "You passed an empty string for '%s'. Remove '%s' from your request or "
	               "supply a non-empty value.",
	               name, name);
}

int param_str(const struct params *p, const char *name, size_t maxlen, bool allow_empty,
              const char **out, struct err *e)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (param_get(p, name, &v) == 0)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return err_invalid(e, name, "Invalid string: %s.", name);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	/* Both decoders refuse NUL; a tree built elsewhere must not smuggle one past C strings. */
	if (memchr(s, '\0', len) != NULL)
		return err_invalid(e, name, "Invalid string: %s contains a NUL character.", name);
	if (len == 0 && !allow_empty)
		return param_empty(name, e);
	if (len > maxlen)
		return err_invalid(e, name, "Invalid string: %s must be at most %zu bytes long.",
		                   name, maxlen);
	*out = s;
	return 1;
}

/* Strict decimal: optional '-', then digits only; -1 on anything else or overflow. */
static int param_parse_int(const char *s, size_t len, long long *out)
{
	bool neg = false;
	uint64_t mag = 0, limit;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (mag > (limit - d) / 10)
			return -1;
		mag = mag * 10 + d;
	}
	if (neg)
		*out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(long long)mag;
	else
		*out = (long long)mag;
	return 0;
}

int param_int(const struct params *p, const char *name, long long min, long long max,
              long long *out, struct err *e)
{
	struct json_object *v;
	char shown[PARAM_SHOWN + 4];
	long long n;

	if (param_get(p, name, &v) == 0)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		/* json-c also holds uint64 values and clamps them to INT64_MAX here. */
		if (n == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
			goto invalid;
	} else if (p->form && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);

		if (len == 0)
			return param_empty(name, e);
		if (param_parse_int(s, len, &n) < 0)
			goto invalid;
	} else {
		goto invalid;
	}
	if (n < min)
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid_integer", name,
		               "This value must be greater than or equal to %lld.", min);
	if (n > max)
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid_integer", name,
		               "This value must be less than or equal to %lld.", max);
	*out = n;
	return 1;
invalid:
	return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid_integer", name,
	               "Invalid integer: %s", param_show(v, shown));
}

int param_bool(const struct params *p, const char *name, bool *out, struct err *e)
{
	struct json_object *v;
	char shown[PARAM_SHOWN + 4];

	if (param_get(p, name, &v) == 0)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v) != 0;
		return 1;
	}
	if (p->form && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		/* Python's SDK sends its booleans as str(True): "True", "False". */
		if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0) {
			*out = true;
			return 1;
		}
		if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0) {
			*out = false;
			return 1;
		}
		if (*s == '\0')
			return param_empty(name, e);
	}
	return err_invalid(e, name, "Invalid boolean: %s", param_show(v, shown));
}

int param_enum(const struct params *p, const char *name, const char *const *allowed, int *out,
               struct err *e)
{
	struct json_object *v;
	char list[160];
	size_t used = 0;
	const char *s;

	if (param_get(p, name, &v) == 0)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return err_invalid(e, name, "Invalid string: %s.", name);
	s = json_object_get_string(v);
	for (int i = 0; allowed[i] != NULL; i++)
		if (strcmp(s, allowed[i]) == 0 &&
		    strlen(allowed[i]) == (size_t)json_object_get_string_len(v)) {
			*out = i;
			return 1;
		}
	if (*s == '\0')
		return param_empty(name, e);
	list[0] = '\0';
	for (int i = 0; allowed[i] != NULL && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i == 0 ? "" : ", ",
		                 allowed[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return err_invalid(e, name, "Invalid %s: must be one of %s.", name, list);
}

int param_req_str(const struct params *p, const char *name, size_t maxlen, const char **out,
                  struct err *e)
{
	int rc = param_str(p, name, maxlen, false, out, e);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_missing(e, name);
	return 0;
}

/* Refuses the first key of obj not in allowed, named as prefix[key] (or key). */
static int param_only_keys(struct json_object *obj, const char *prefix, const char *const *allowed,
                           struct err *e)
{
	json_object_object_foreach(obj, key, val)
	{
		bool known = false;

		(void)val;
		for (int i = 0; allowed[i] != NULL && !known; i++)
			known = strcmp(key, allowed[i]) == 0;
		if (!known) {
			/* The param field holds the name whole when it fits, the message the same.
			 */
			char shown[sizeof(e->param)];
			char full[sizeof(e->param) + 8];

			if (prefix != NULL)
				snprintf(full, sizeof(full), "%s[%s]", prefix, key);
			else
				snprintf(full, sizeof(full), "%s", key);
			param_cut(full, strlen(full), sizeof(shown) - 4, shown);
			return err_set(e, 400, E_INVALID_REQUEST, "parameter_unknown", shown,
			               "Received unknown parameter: %s", shown);
		}
	}
	return 0;
}

int param_only(const struct params *p, const char *const *allowed, struct err *e)
{
	if (p->root == NULL || !json_object_is_type(p->root, json_type_object))
		return err_invalid(e, NULL, "Invalid request: the parameters must be an object.");
	return param_only_keys(p->root, NULL, allowed, e);
}

int param_only_in(const struct params *p, const char *name, const char *const *allowed,
                  struct err *e)
{
	struct json_object *v;

	if (param_get(p, name, &v) == 0)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return err_invalid(e, name, "Invalid object: %s.", name);
	return param_only_keys(v, name, allowed, e);
}

bool param_has(const struct params *p, const char *name)
{
	if (p->root == NULL || !json_object_is_type(p->root, json_type_object))
		return false;
	if (strchr(name, '[') != NULL) {
		struct json_object *v;

		return param_get(p, name, &v) == 1;
	}
	return json_object_object_get_ex(p->root, name, NULL);
}

struct json_object *param_value(const struct params *p, const char *name)
{
	struct json_object *v;

	return param_get(p, name, &v) == 1 ? v : NULL;
}
