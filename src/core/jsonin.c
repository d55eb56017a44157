/*
 * The strict JSON parser for request bodies (RFC 8259).  A hand-written
 * recursive descent: recursion is bounded by JSONIN_MAX_DEPTH and every byte
 * is looked at a constant number of times, so a body at the size limit costs
 * linear time.  json-c only holds the result, because its own tokener accepts
 * what the API must refuse (see jsonin.h).  Error offsets count bytes from 0,
 * which is what a client's editor or `head -c` shows.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/err.h"
#include "core/jsonin.h"
#include "core/str.h"

/* Longest key quoted back in a duplicate-key message: enough to recognise it. */
#define JSONIN_KEY_SHOWN 40

struct jsonin {
	const unsigned char *s;
	size_t n;
	size_t pos;
	struct err *e;
	char *buf; /* scratch for decoded strings, reused */
	size_t cap;
};

static int jsonin_value(struct jsonin *p, int depth, struct json_object **out);

static int jsonin_fail(struct jsonin *p, size_t at, const char *what)
{
	return err_set(p->e, 400, E_INVALID_REQUEST, NULL, NULL, "Invalid JSON: %s at byte %zu.",
	               what, at);
}

static int jsonin_eof(struct jsonin *p)
{
	return err_set(p->e, 400, E_INVALID_REQUEST, NULL, NULL,
	               "Invalid JSON: unexpected end of input.");
}

static int jsonin_unexpected(struct jsonin *p)
{
	unsigned char c;

	if (p->pos >= p->n)
		return jsonin_eof(p);
	c = p->s[p->pos];
	if (c >= 0x21 && c < 0x7f && c != '"' && c != '\\')
		return err_set(p->e, 400, E_INVALID_REQUEST, NULL, NULL,
		               "Invalid JSON: unexpected character '%c' at byte %zu.", c, p->pos);
	return err_set(p->e, 400, E_INVALID_REQUEST, NULL, NULL,
	               "Invalid JSON: unexpected byte 0x%02x at byte %zu.", c, p->pos);
}

static void jsonin_ws(struct jsonin *p)
{
	while (p->pos < p->n) {
		unsigned char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static void jsonin_reserve(struct jsonin *p, size_t need)
{
	size_t cap = p->cap != 0 ? p->cap : 64;
	char *nb;

	if (need <= p->cap)
		return;
	while (cap < need)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (nb == NULL)
		abort(); /* as the arena does: the master respawns the worker */
	p->buf = nb;
	p->cap = cap;
}

/* Four hex digits at p->pos; -1 when they are not there. */
static long jsonin_hex4(struct jsonin *p)
{
	long v = 0;

	if (p->n - p->pos < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p->s[p->pos + (size_t)i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	p->pos += 4;
	return v;
}

/* Length of the UTF-8 sequence a lead byte announces, 0 for a byte that leads none. */
static size_t jsonin_utf8_len(unsigned char c)
{
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

static size_t jsonin_put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* One \u escape (p->pos just after the 'u'), a surrogate pair as one code point. */
static int jsonin_unicode(struct jsonin *p, size_t start, unsigned long *cp)
{
	long hi, lo;

	hi = jsonin_hex4(p);
	if (hi < 0)
		return jsonin_fail(p, start, "invalid \\u escape");
	if (hi == 0)
		return jsonin_fail(p, start, "\\u0000 is not allowed in strings");
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return jsonin_fail(p, start, "lone low surrogate in \\u escape");
	if (hi < 0xD800 || hi > 0xDBFF) {
		*cp = (unsigned long)hi;
		return 0;
	}
	if (p->n - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
		return jsonin_fail(p, start, "lone high surrogate in \\u escape");
	p->pos += 2;
	lo = jsonin_hex4(p);
	if (lo < 0)
		return jsonin_fail(p, p->pos - 2, "invalid \\u escape");
	if (lo < 0xDC00 || lo > 0xDFFF)
		return jsonin_fail(p, start, "lone high surrogate in \\u escape");
	*cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
	return 0;
}

/*
 * A string (p->pos on the opening quote), decoded into p->buf[0..*len) and
 * NUL-terminated there; valid UTF-8 without NUL by construction.
 */
static int jsonin_string(struct jsonin *p, size_t *len)
{
	size_t o = 0;

	p->pos++;
	for (;;) {
		unsigned char c;
		size_t start = p->pos, run;

		/* Copy the plain run in one go: the common case. */
		while (p->pos < p->n && (c = p->s[p->pos]) >= 0x20 && c < 0x80 && c != '"' &&
		       c != '\\')
			p->pos++;
		run = p->pos - start;
		jsonin_reserve(p, o + run + 5);
		memcpy(p->buf + o, p->s + start, run);
		o += run;
		if (p->pos >= p->n)
			return jsonin_eof(p);
		c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			p->buf[o] = '\0';
			*len = o;
			return 0;
		}
		if (c < 0x20)
			return jsonin_fail(p, p->pos, "unescaped control character in string");
		if (c >= 0x80) {
			size_t ul = jsonin_utf8_len(c);

			if (ul == 0 || p->n - p->pos < ul ||
			    !str_utf8_valid((const char *)p->s + p->pos, ul))
				return jsonin_fail(p, p->pos, "invalid UTF-8");
			memcpy(p->buf + o, p->s + p->pos, ul);
			o += ul;
			p->pos += ul;
			continue;
		}
		/* A backslash. */
		start = p->pos;
		if (p->n - p->pos < 2) {
			p->pos = p->n;
			return jsonin_eof(p);
		}
		c = p->s[p->pos + 1];
		p->pos += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			p->buf[o++] = (char)c;
			break;
		case 'b':
			p->buf[o++] = '\b';
			break;
		case 'f':
			p->buf[o++] = '\f';
			break;
		case 'n':
			p->buf[o++] = '\n';
			break;
		case 'r':
			p->buf[o++] = '\r';
			break;
		case 't':
			p->buf[o++] = '\t';
			break;
		case 'u': {
			unsigned long cp = 0;

			if (jsonin_unicode(p, start, &cp) < 0)
				return -1;
			o += jsonin_put_utf8(p->buf + o, cp);
			break;
		}
		default:
			return jsonin_fail(p, start, "invalid escape in string");
		}
	}
}

static int jsonin_new_string(struct jsonin *p, size_t len, struct json_object **out)
{
	if (len > INT_MAX)
		return jsonin_fail(p, p->pos, "string too long");
	*out = json_object_new_string_len(p->buf, (int)len);
	if (*out == NULL)
		return err_internal(p->e, "json_object_new_string_len failed");
	return 0;
}

static bool jsonin_digit(struct jsonin *p)
{
	return p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

/* A number: int64 when it is an integer literal that fits, a double otherwise. */
static int jsonin_number(struct jsonin *p, struct json_object **out)
{
	size_t start = p->pos;
	bool neg = false, integral = true, overflow = false;
	uint64_t mag = 0;
	uint64_t limit;
	char *text;
	double d;

	if (p->s[p->pos] == '-') {
		neg = true;
		p->pos++;
	}
	if (!jsonin_digit(p)) {
		if (p->pos < p->n && p->s[p->pos] == 'I')
			return jsonin_fail(p, start, "NaN and Infinity are not allowed");
		return jsonin_unexpected(p);
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (p->s[p->pos] == '0') {
		p->pos++;
		if (jsonin_digit(p))
			return jsonin_fail(p, start, "leading zero in number");
	} else {
		while (jsonin_digit(p)) {
			unsigned dv = (unsigned)(p->s[p->pos] - '0');

			if (!overflow && (mag > (limit - dv) / 10))
				overflow = true;
			else if (!overflow)
				mag = mag * 10 + dv;
			p->pos++;
		}
	}
	if (p->pos < p->n && p->s[p->pos] == '.') {
		integral = false;
		p->pos++;
		if (!jsonin_digit(p))
			return jsonin_fail(p, p->pos, "digit expected after decimal point");
		while (jsonin_digit(p))
			p->pos++;
	}
	if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		integral = false;
		p->pos++;
		if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!jsonin_digit(p))
			return jsonin_fail(p, p->pos, "digit expected in exponent");
		while (jsonin_digit(p))
			p->pos++;
	}
	if (integral && !overflow) {
		int64_t v;

		if (neg)
			v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
		else
			v = (int64_t)mag;
		*out = json_object_new_int64(v);
		if (*out == NULL)
			return err_internal(p->e, "json_object_new_int64 failed");
		return 0;
	}
	/*
	 * strtod needs a terminated copy; the copy also becomes the number's
	 * serialization, so "1e3" is echoed (and named in errors) as written.
	 */
	text = malloc(p->pos - start + 1);
	if (text == NULL)
		abort();
	memcpy(text, p->s + start, p->pos - start);
	text[p->pos - start] = '\0';
	d = strtod(text, NULL);
	if (!isfinite(d)) {
		free(text);
		return jsonin_fail(p, start, "number out of range");
	}
	*out = json_object_new_double_s(d, text);
	free(text);
	if (*out == NULL)
		return err_internal(p->e, "json_object_new_double_s failed");
	return 0;
}

static int jsonin_literal(struct jsonin *p, const char *word, size_t wlen)
{
	if (p->n - p->pos < wlen || memcmp(p->s + p->pos, word, wlen) != 0)
		return jsonin_unexpected(p);
	p->pos += wlen;
	return 0;
}

/* A key for an error message: at most JSONIN_KEY_SHOWN bytes, cut between characters. */
static void jsonin_show_key(const char *key, size_t len, char *out, size_t outsz)
{
	size_t n = len, o = 0;

	if (n > JSONIN_KEY_SHOWN) {
		n = JSONIN_KEY_SHOWN;
		while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n && o + 4 < outsz; i++) {
		unsigned char c = (unsigned char)key[i];

		out[o++] = (c < 0x20 || c == '"' || c == '\\') ? '?' : (char)c;
	}
	if (n < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int jsonin_object(struct jsonin *p, int depth, struct json_object **out)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return err_internal(p->e, "json_object_new_object failed");
	p->pos++;
	jsonin_ws(p);
	if (p->pos < p->n && p->s[p->pos] == '}') {
		p->pos++;
		*out = obj;
		return 0;
	}
	for (;;) {
		struct json_object *val;
		size_t kstart, klen;
		char *key;

		if (p->pos >= p->n || p->s[p->pos] != '"') {
			if (p->pos < p->n)
				jsonin_fail(p, p->pos, "object key expected");
			else
				jsonin_eof(p);
			goto fail;
		}
		kstart = p->pos;
		if (jsonin_string(p, &klen) < 0)
			goto fail;
		if (json_object_object_get_ex(obj, p->buf, NULL)) {
			char shown[JSONIN_KEY_SHOWN + 8];

			jsonin_show_key(p->buf, klen, shown, sizeof(shown));
			err_set(p->e, 400, E_INVALID_REQUEST, NULL, NULL,
			        "Invalid JSON: duplicate key \"%s\" at byte %zu.", shown, kstart);
			goto fail;
		}
		/* p->buf is reused by the value, so the key needs its own copy. */
		key = strdup(p->buf);
		if (key == NULL)
			abort();
		jsonin_ws(p);
		if (p->pos >= p->n || p->s[p->pos] != ':') {
			free(key);
			if (p->pos < p->n)
				jsonin_fail(p, p->pos, "':' expected after object key");
			else
				jsonin_eof(p);
			goto fail;
		}
		p->pos++;
		if (jsonin_value(p, depth, &val) < 0) {
			free(key);
			goto fail;
		}
		if (json_object_object_add_ex(obj, key, val, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
			free(key);
			json_object_put(val);
			err_internal(p->e, "json_object_object_add_ex failed");
			goto fail;
		}
		free(key);
		jsonin_ws(p);
		if (p->pos >= p->n) {
			jsonin_eof(p);
			goto fail;
		}
		if (p->s[p->pos] == '}') {
			p->pos++;
			*out = obj;
			return 0;
		}
		if (p->s[p->pos] != ',') {
			jsonin_fail(p, p->pos, "',' or '}' expected");
			goto fail;
		}
		p->pos++;
		jsonin_ws(p);
	}
fail:
	json_object_put(obj);
	return -1;
}

static int jsonin_array(struct jsonin *p, int depth, struct json_object **out)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return err_internal(p->e, "json_object_new_array failed");
	p->pos++;
	jsonin_ws(p);
	if (p->pos < p->n && p->s[p->pos] == ']') {
		p->pos++;
		*out = arr;
		return 0;
	}
	for (;;) {
		struct json_object *val;

		if (jsonin_value(p, depth, &val) < 0)
			goto fail;
		if (json_object_array_add(arr, val) != 0) {
			json_object_put(val);
			err_internal(p->e, "json_object_array_add failed");
			goto fail;
		}
		jsonin_ws(p);
		if (p->pos >= p->n) {
			jsonin_eof(p);
			goto fail;
		}
		if (p->s[p->pos] == ']') {
			p->pos++;
			*out = arr;
			return 0;
		}
		if (p->s[p->pos] != ',') {
			jsonin_fail(p, p->pos, "',' or ']' expected");
			goto fail;
		}
		p->pos++;
	}
fail:
	json_object_put(arr);
	return -1;
}

/* Any value, leading whitespace included; depth counts the containers around it. */
static int jsonin_value(struct jsonin *p, int depth, struct json_object **out)
{
	size_t len;

	jsonin_ws(p);
	if (p->pos >= p->n)
		return jsonin_eof(p);
	*out = NULL;
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		if (depth >= JSONIN_MAX_DEPTH)
			return err_set(p->e, 400, E_INVALID_REQUEST, NULL, NULL,
			               "Invalid JSON: nesting deeper than %d levels at byte %zu.",
			               JSONIN_MAX_DEPTH, p->pos);
		if (p->s[p->pos] == '{')
			return jsonin_object(p, depth + 1, out);
		return jsonin_array(p, depth + 1, out);
	case '"':
		if (jsonin_string(p, &len) < 0)
			return -1;
		return jsonin_new_string(p, len, out);
	case 't':
		if (jsonin_literal(p, "true", 4) < 0)
			return -1;
		*out = json_object_new_boolean(1);
		break;
	case 'f':
		if (jsonin_literal(p, "false", 5) < 0)
			return -1;
		*out = json_object_new_boolean(0);
		break;
	case 'n':
		return jsonin_literal(p, "null", 4); /* json-c's null is NULL */
	case 'N':
	case 'I':
		return jsonin_fail(p, p->pos, "NaN and Infinity are not allowed");
	default:
		if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
			return jsonin_number(p, out);
		return jsonin_unexpected(p);
	}
	if (*out == NULL)
		return err_internal(p->e, "json_object_new_boolean failed");
	return 0;
}

struct json_object *jsonin_parse(const char *buf, size_t len, struct err *e)
{
	struct jsonin p = {.s = (const unsigned char *)buf, .n = len, .e = e};
	struct json_object *root = NULL;
	int rc;

	jsonin_ws(&p);
	if (p.pos >= p.n) {
		err_set(e, 400, E_INVALID_REQUEST, NULL, NULL, "Invalid JSON: the body is empty.");
		return NULL;
	}
	rc = jsonin_value(&p, 0, &root);
	free(p.buf);
	if (rc < 0)
		return NULL;
	jsonin_ws(&p);
	if (p.pos < p.n) {
		json_object_put(root);
		jsonin_fail(&p, p.pos, "unexpected data after the JSON value");
		return NULL;
	}
	if (root == NULL) {
		/* A bare null: NULL is this function's error return, and no endpoint takes null. */
		err_set(e, 400, E_INVALID_REQUEST, NULL, NULL,
		        "Invalid JSON: the body must be an object, not null.");
		return NULL;
	}
	return root;
}
