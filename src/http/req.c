/*
 * Request input: FastCGI params, headers, and the body or query string,
 * bounded and decoded into one JSON tree (JSON bodies through jsonin, form
 * bodies and query strings through form).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/jsonin.h"
#include "crypto/rand.h"
#include "http/form.h"
#include "http/req.h"

#define REQ_ID_PREFIX_LEN 13
#define REQ_ID_SERIAL_LEN 11 /* 62^11 > 2^64 */

/*
 * Request ids are names, not secrets, and must be unique.  Drawing each one
 * from the CSPRNG (its lock, its fork check's getpid(), its AES) cost more
 * than hashing the request's API key.  So a process draws once a random
 * prefix (13 base62 characters, 77 bits, which tells its ids from every
 * other process's) and a random key, and numbers its requests: each id is
 * the prefix and the request's serial number through a bijection of 64-bit
 * integers (SplitMix64's, keyed), so no two of a process's ids are equal
 * and none looks like its neighbour.
 */
_Static_assert(4 + REQ_ID_PREFIX_LEN + REQ_ID_SERIAL_LEN == REQ_ID_LEN, "req_ + prefix + serial");
static struct {
	bool ready;
	char prefix[REQ_ID_PREFIX_LEN + 1];
	uint64_t key;
	uint64_t serial;
} req_ids;

void req_id_init(void)
{
	unsigned char key[8];

	rand_base62(req_ids.prefix, REQ_ID_PREFIX_LEN);
	rand_bytes(key, sizeof(key));
	memcpy(&req_ids.key, key, sizeof(key));
	req_ids.serial = 0;
	req_ids.ready = true;
}

void req_id_new(char *out, size_t n)
{
	static const char digits[] =
	        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char id[REQ_ID_LEN + 1];
	uint64_t z;

	if (!req_ids.ready)
		req_id_init();
	/* Each step is invertible: distinct serials give distinct z. */
	z = req_ids.key + ++req_ids.serial * 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	memcpy(id, "req_", 4);
	memcpy(id + 4, req_ids.prefix, REQ_ID_PREFIX_LEN);
	for (int i = REQ_ID_LEN - 1; i >= 4 + REQ_ID_PREFIX_LEN; i--) {
		id[i] = digits[z % 62];
		z /= 62;
	}
	id[REQ_ID_LEN] = '\0';
	if (n > 0) {
		size_t len = n - 1 < REQ_ID_LEN ? n - 1 : REQ_ID_LEN;

		memcpy(out, id, len);
		out[len] = '\0';
	}
}

const char *req_env(const struct req *r, const char *name)
{
	if (r->fcgx == NULL)
		return NULL;
	return FCGX_GetParam(name, r->fcgx->envp);
}

const char *req_header(const struct req *r, const char *name)
{
	char key[128] = "HTTP_";
	size_t n = 5;

	for (; *name != '\0' && n < sizeof(key) - 1; name++, n++)
		key[n] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	key[n] = '\0';
	return req_env(r, key);
}

static void put_json(void *o)
{
	json_object_put(o);
}

/* "application/json; charset=utf-8" -> does the media type equal want? */
static bool media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int req_decode_body(struct arena *a, const char *content_type, const char *body, size_t len,
                    struct params *p, struct err *e)
{
	struct json_object *root;
	size_t i;

	for (i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
			break;
	if (i == len) {
		/* No body at all: no params, whatever the Content-Type. */
		p->root = json_object_new_object();
		p->form = content_type == NULL || !media_type_is(content_type, "application/json");
		arena_on_reset(a, put_json, p->root);
		return 0;
	}
	if (content_type == NULL || *content_type == '\0')
		return err_set(e, 415, E_INVALID_REQUEST, NULL, NULL,
		               "A request body needs a Content-Type: application/json or "
		               "application/x-www-form-urlencoded.");
	if (media_type_is(content_type, "application/json")) {
		root = jsonin_parse(body, len, e);
		if (root == NULL)
			return -1;
		arena_on_reset(a, put_json, root);
		if (!json_object_is_type(root, json_type_object))
			return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL,
			               "Invalid request: the JSON body must be an object.");
		p->form = false;
	} else if (media_type_is(content_type, "application/x-www-form-urlencoded")) {
		root = form_decode(body, len, e);
		if (root == NULL)
			return -1;
		arena_on_reset(a, put_json, root);
		p->form = true;
	} else {
		return err_set(e, 415, E_INVALID_REQUEST, NULL, NULL,
		               "Unsupported Content-Type. Use application/json or "
		               "application/x-www-form-urlencoded.");
	}
	p->root = root;
	return 0;
}

/* Reads the rest of the body and throws it away, so the server can answer cleanly. */
static void drain(FCGX_Stream *in)
{
	char buf[8192];

	while (FCGX_GetStr(buf, sizeof(buf), in) > 0)
		;
}

int req_decode_input(struct req *r, struct err *e)
{
	const char *m = r->method;
	const char *cl;
	long long len = 0;
	char *body;
	int got;

	if (strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0 && strcmp(m, "PUT") != 0) {
		const char *q = r->query != NULL ? r->query : "";
		struct json_object *root = form_decode(q, strlen(q), e);

		if (root == NULL)
			return -1;
		arena_on_reset(r->arena, put_json, root);
		r->in.root = root;
		r->in.form = true;
		return 0;
	}
	cl = req_env(r, "CONTENT_LENGTH");
	if (cl != NULL && *cl != '\0') {
		char *end;

		len = strtoll(cl, &end, 10);
		if (*end != '\0' || len < 0)
			return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL,
			               "Invalid Content-Length.");
	}
	if (len > r->conf->body_limit) {
		if (r->fcgx != NULL)
			drain(r->fcgx->in);
		return err_set(e, 413, E_INVALID_REQUEST, NULL, NULL,
		               "The request body is larger than the limit of %lld bytes.",
		               r->conf->body_limit);
	}
	body = arena_alloc(r->arena, (size_t)len + 1);
	got = 0;
	if (len > 0 && r->fcgx != NULL) {
		got = FCGX_GetStr(body, (int)len, r->fcgx->in);
		if (got < 0)
			got = 0;
	}
	if (got != len)
		return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL,
		               "The request body ended before its Content-Length.");
	return req_decode_body(r->arena, req_env(r, "CONTENT_TYPE"), body, (size_t)len, &r->in, e);
}
