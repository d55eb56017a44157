/*
 * The form decoder: application/x-www-form-urlencoded bodies and query
 * strings in Stripe's bracket notation, turned into the JSON tree a JSON body
 * would give, so that handlers read one shape.  Every name is checked whole
 * (percent-escapes, UTF-8, brackets) before it touches the tree, and the
 * tree's array slots are counted, because an index can reserve slots that no
 * later pair fills: a hole-free result has at most one slot per created node,
 * so more slots than that bound can only end in the hole refusal anyway.
 *
 * Rules beyond the header: a segment of digits without a leading zero is an
 * array index, any other non-empty segment an object key (so an array
 * addressed as items[x] or items[01] is refused as a non-numeric index), "[]"
 * appends a new element; a pair without '=' has the value ""; empty pairs ("a=1&&b=2")
 * are skipped and not counted.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/err.h"
#include "core/str.h"
#include "http/form.h"

/* At most this many array slots in one tree; see above. */
#define FORM_MAX_SLOTS ((FORM_MAX_DEPTH + 1) * FORM_MAX_PARAMS)

enum form_seg_kind { SEG_KEY, SEG_INDEX, SEG_APPEND };

struct form_seg {
	enum form_seg_kind kind;
	const char *key; /* SEG_KEY: NUL-terminated copy */
	size_t index;    /* SEG_INDEX */
};

struct form {
	struct err *e;
	struct json_object *root;
	size_t slots;
	char *name;  /* decoded name of the current pair */
	char *value; /* its decoded value */
	char *keys;  /* the name's segments, each NUL-terminated */
	char shown[sizeof(((struct err *)0)->param)];
};

/* Copies s into f->shown, cut between characters so the param stays valid UTF-8. */
static const char *form_show(struct form *f, const char *s)
{
	size_t n = strlen(s);

	if (n >= sizeof(f->shown)) {
		n = sizeof(f->shown) - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(f->shown, s, n);
	f->shown[n] = '\0';
	return f->shown;
}

static int form_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes s[0..n) into out (n + 1 bytes), '+' as a space.  Returns the
 * decoded length, or -1 with *bad set to the offset of the broken escape.
 */
static long form_unescape(const char *s, size_t n, char *out, size_t *bad)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			out[o++] = ' ';
		} else if (c == '%') {
			int hi = -1, lo = -1;

			if (n - i >= 3) {
				hi = form_hexval((unsigned char)s[i + 1]);
				lo = form_hexval((unsigned char)s[i + 2]);
			}
			if (hi < 0 || lo < 0) {
				*bad = i;
				return -1;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return (long)o;
}

/* Digits without a leading zero ("0", "12"); anything else is an object key. */
static bool form_is_index(const char *s, size_t len)
{
	if (len == 0 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * Splits the decoded name into base and bracket segments.  Returns the
 * number of segments (the base is segs[0]) or -1 with e set.
 */
static int form_split(struct form *f, size_t namelen, struct form_seg *segs)
{
	const char *name = f->name;
	char *k = f->keys;
	size_t i = 0;
	int nseg = 0;

	while (i < namelen && name[i] != '[' && name[i] != ']')
		i++;
	if (namelen == 0)
		return err_invalid(f->e, NULL, "Invalid form data: a parameter name is empty.");
	if (i == 0)
		return err_invalid(f->e, form_show(f, name),
		                   "Invalid parameter name: %s starts with a bracket.",
		                   form_show(f, name));
	if (i < namelen && name[i] == ']')
		goto unbalanced;
	memcpy(k, name, i);
	k[i] = '\0';
	segs[nseg++] = (struct form_seg){.kind = SEG_KEY, .key = k};
	k += i + 1;
	while (i < namelen) {
		size_t start, len;

		if (name[i] != '[')
			goto unbalanced;
		start = ++i;
		while (i < namelen && name[i] != '[' && name[i] != ']')
			i++;
		if (i >= namelen || name[i] != ']')
			goto unbalanced;
		len = i - start;
		i++;
		if (nseg > FORM_MAX_DEPTH)
			return err_invalid(f->e, form_show(f, name),
			                   "Invalid parameter name: %s is nested deeper than %d "
			                   "brackets.",
			                   form_show(f, name), FORM_MAX_DEPTH);
		if (len == 0) {
			segs[nseg++] = (struct form_seg){.kind = SEG_APPEND};
		} else if (form_is_index(name + start, len)) {
			size_t idx = 0;

			for (size_t j = start; j < start + len && idx <= FORM_MAX_INDEX; j++)
				idx = idx * 10 + (size_t)(name[j] - '0');
			if (idx > FORM_MAX_INDEX)
				return err_invalid(
				        f->e, form_show(f, name),
				        "Invalid array index in %s: an index must be at most "
				        "%d.",
				        form_show(f, name), FORM_MAX_INDEX);
			segs[nseg++] = (struct form_seg){.kind = SEG_INDEX, .index = idx};
		} else {
			memcpy(k, name + start, len);
			k[len] = '\0';
			segs[nseg++] = (struct form_seg){.kind = SEG_KEY, .key = k};
			k += len + 1;
		}
	}
	return nseg;
unbalanced:
	return err_invalid(f->e, form_show(f, name),
	                   "Invalid parameter name: %s has unbalanced brackets.",
	                   form_show(f, name));
}

static int form_conflict(struct form *f)
{
	return err_invalid(f->e, form_show(f, f->name),
	                   "Invalid parameter: %s is given both as a value and as an object or "
	                   "array.",
	                   form_show(f, f->name));
}

/* A new child for the segment after `next`: the container `next` indexes, or the leaf. */
static struct json_object *form_new_node(const struct form_seg *next, const char *value,
                                         size_t vlen)
{
	if (next == NULL)
		return json_object_new_string_len(value, (int)vlen);
	if (next->kind == SEG_KEY)
		return json_object_new_object();
	return json_object_new_array();
}

/* Stores the current pair's value in the tree along its segments. */
static int form_insert(struct form *f, const struct form_seg *segs, int nseg, size_t vlen)
{
	struct json_object *cur = f->root;

	for (int i = 0; i < nseg; i++) {
		const struct form_seg *seg = &segs[i], *next = i + 1 < nseg ? &segs[i + 1] : NULL;
		struct json_object *child = NULL;
		size_t idx = 0;

		if (seg->kind == SEG_KEY) {
			if (!json_object_is_type(cur, json_type_object))
				return err_invalid(f->e, form_show(f, f->name),
				                   "Invalid array index in %s: an index must be a "
				                   "decimal number from 0 to %d.",
				                   form_show(f, f->name), FORM_MAX_INDEX);
			json_object_object_get_ex(cur, seg->key, &child);
		} else {
			if (!json_object_is_type(cur, json_type_array))
				return err_invalid(
				        f->e, form_show(f, f->name),
				        "Invalid parameter: %s is given both as an object "
				        "and as an array.",
				        form_show(f, f->name));
			idx = seg->kind == SEG_APPEND ? json_object_array_length(cur) : seg->index;
			/* Unreachable while FORM_MAX_PARAMS <= FORM_MAX_INDEX + 1: a guard. */
			if (idx > FORM_MAX_INDEX)
				return err_invalid(
				        f->e, form_show(f, f->name),
				        "Invalid array index in %s: an array holds at most "
				        "%d elements.",
				        form_show(f, f->name), FORM_MAX_INDEX + 1);
			if (idx < json_object_array_length(cur))
				child = json_object_array_get_idx(cur, idx);
		}
		if (child != NULL) {
			if (next == NULL) {
				if (json_object_is_type(child, json_type_string))
					return err_invalid(
					        f->e, form_show(f, f->name),
					        "Invalid parameter: %s is given more than "
					        "once.",
					        form_show(f, f->name));
				return form_conflict(f);
			}
			if (json_object_is_type(child, json_type_string))
				return form_conflict(f);
			cur = child;
			continue;
		}
		child = form_new_node(next, f->value, vlen);
		if (child == NULL)
			return err_internal(f->e, "json-c allocation failed");
		if (seg->kind == SEG_KEY) {
			if (json_object_object_add(cur, seg->key, child) != 0) {
				json_object_put(child);
				return err_internal(f->e, "json_object_object_add failed");
			}
		} else {
			size_t before = json_object_array_length(cur);

			if (idx >= before) {
				f->slots += idx + 1 - before;
				if (f->slots > FORM_MAX_SLOTS) {
					json_object_put(child);
					return err_invalid(
					        f->e, form_show(f, f->name),
					        "Invalid array index in %s: array indexes "
					        "must run from 0 without gaps.",
					        form_show(f, f->name));
				}
			}
			if (json_object_array_put_idx(cur, idx, child) != 0) {
				json_object_put(child);
				return err_internal(f->e, "json_object_array_put_idx failed");
			}
		}
		cur = child;
	}
	return 0;
}

/* Refuses arrays with holes, naming the first missing element. */
static int form_holes(struct form *f, struct json_object *node, char *path, size_t plen,
                      size_t pcap)
{
	if (json_object_is_type(node, json_type_object)) {
		json_object_object_foreach(node, key, val)
		{
			int n = snprintf(path + plen, pcap - plen, plen == 0 ? "%s" : "[%s]", key);
			size_t nlen = plen + (size_t)n;

			if (n < 0)
				return err_internal(f->e, "snprintf failed");
			if (nlen >= pcap)
				nlen = pcap - 1;
			if (form_holes(f, val, path, nlen, pcap) < 0)
				return -1;
			path[plen] = '\0';
		}
	} else if (json_object_is_type(node, json_type_array)) {
		size_t len = json_object_array_length(node);

		for (size_t i = 0; i < len; i++) {
			struct json_object *val = json_object_array_get_idx(node, i);
			int n = snprintf(path + plen, pcap - plen, "[%zu]", i);
			size_t nlen = plen + (size_t)n;

			if (n < 0)
				return err_internal(f->e, "snprintf failed");
			if (nlen >= pcap)
				nlen = pcap - 1;
			if (val == NULL)
				return err_invalid(
				        f->e, form_show(f, path),
				        "Invalid array: %s is missing; array indexes must run "
				        "from 0 without gaps.",
				        form_show(f, path));
			if (form_holes(f, val, path, nlen, pcap) < 0)
				return -1;
			path[plen] = '\0';
		}
	}
	return 0;
}

/* One name=value pair, s[0..n) undecoded. */
static int form_pair(struct form *f, const char *s, size_t n, size_t at)
{
	struct form_seg segs[FORM_MAX_DEPTH + 1];
	const char *eq = memchr(s, '=', n);
	size_t rawname = eq != NULL ? (size_t)(eq - s) : n, bad;
	long namelen, vlen;
	int nseg;

	namelen = form_unescape(s, rawname, f->name, &bad);
	if (namelen < 0)
		return err_invalid(f->e, NULL,
		                   "Invalid form data: bad percent-escape in a parameter name at "
		                   "byte %zu.",
		                   at + bad);
	if (memchr(f->name, '\0', (size_t)namelen) != NULL)
		return err_invalid(
		        f->e, NULL,
		        "Invalid form data: a parameter name contains a NUL byte (at byte "
		        "%zu).",
		        at);
	if (!str_utf8_valid(f->name, (size_t)namelen))
		return err_invalid(
		        f->e, NULL,
		        "Invalid form data: a parameter name is not valid UTF-8 (at byte "
		        "%zu).",
		        at);
	nseg = form_split(f, (size_t)namelen, segs);
	if (nseg < 0)
		return -1;
	if (eq != NULL)
		vlen = form_unescape(eq + 1, n - rawname - 1, f->value, &bad);
	else
		vlen = form_unescape("", 0, f->value, &bad);
	if (vlen < 0)
		return err_invalid(f->e, form_show(f, f->name),
		                   "Invalid form data: bad percent-escape in the value of %s.",
		                   form_show(f, f->name));
	if (memchr(f->value, '\0', (size_t)vlen) != NULL)
		return err_invalid(f->e, form_show(f, f->name),
		                   "Invalid form data: the value of %s contains a NUL byte.",
		                   form_show(f, f->name));
	if (!str_utf8_valid(f->value, (size_t)vlen))
		return err_invalid(f->e, form_show(f, f->name),
		                   "Invalid form data: the value of %s is not valid UTF-8.",
		                   form_show(f, f->name));
	return form_insert(f, segs, nseg, (size_t)vlen);
}

struct json_object *form_decode(const char *buf, size_t len, struct err *e)
{
	struct form f = {.e = e};
	size_t i = 0, count = 0;
	char *scratch;

	if (len > (size_t)INT_MAX / 4) {
		err_invalid(e, NULL, "Invalid form data: the input is too large.");
		return NULL;
	}
	f.root = json_object_new_object();
	if (f.root == NULL) {
		err_internal(e, "json_object_new_object failed");
		return NULL;
	}
	/* name, value and keys of one pair each fit in len + 1 bytes. */
	scratch = malloc(3 * (len + 1));
	if (scratch == NULL)
		abort();
	f.name = scratch;
	f.value = scratch + len + 1;
	f.keys = scratch + 2 * (len + 1);
	while (i < len) {
		const char *amp = memchr(buf + i, '&', len - i);
		size_t end = amp != NULL ? (size_t)(amp - buf) : len;

		if (end > i) {
			if (++count > FORM_MAX_PARAMS) {
				err_invalid(e, NULL, "Invalid form data: more than %d parameters.",
				            FORM_MAX_PARAMS);
				goto fail;
			}
			if (form_pair(&f, buf + i, end - i, i) < 0)
				goto fail;
		}
		i = end + 1;
	}
	free(scratch);
	{
		char path[sizeof(e->param) * 2];

		path[0] = '\0';
		if (form_holes(&f, f.root, path, 0, sizeof(path)) < 0) {
			json_object_put(f.root);
			return NULL;
		}
	}
	return f.root;
fail:
	free(scratch);
	json_object_put(f.root);
	return NULL;
}
