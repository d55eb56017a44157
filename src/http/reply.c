/*
 * Response writing.  Every response is JSON with a Request-Id header; CORS
 * headers are added when the request's Origin is one of the configured
 * origins.  JSON is serialized plain, without escaping slashes.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http/reply.h"
#include "http/req.h"

static void put_json(void *o)
{
	json_object_put(o);
}

int reply_json(struct req *r, struct reply *out, int status, struct json_object *body)
{
	out->status = status;
	out->body = body;
	out->text = NULL;
	if (body != NULL)
		arena_on_reset(r->arena, put_json, body);
	return 0;
}

int reply_text(struct reply *out, int status, const char *text)
{
	out->status = status;
	out->body = NULL;
	out->text = text;
	return 0;
}

void reply_header(struct req *r, struct reply *out, const char *fmt, ...)
{
	va_list ap;

	if (out->nheaders >= REPLY_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	out->headers[out->nheaders++] = arena_vprintf(r->arena, fmt, ap);
	va_end(ap);
}

struct json_object *reply_error_body(const struct err *e)
{
	struct json_object *root = json_object_new_object();
	struct json_object *inner = json_object_new_object();

	json_object_object_add(inner, "type", json_object_new_string(err_type_name(e->type)));
	if (e->code != NULL)
		json_object_object_add(inner, "code", json_object_new_string(e->code));
	if (e->decline_code != NULL)
		json_object_object_add(inner, "decline_code",
		                       json_object_new_string(e->decline_code));
	if (e->param[0] != '\0')
		json_object_object_add(inner, "param", json_object_new_string(e->param));
	json_object_object_add(inner, "message", json_object_new_string(e->message));
	if (e->charge != NULL)
		json_object_object_add(inner, "charge", json_object_new_string(e->charge));
	if (e->payment_intent != NULL) {
		struct json_object *pi = json_tokener_parse(e->payment_intent);

		if (pi != NULL)
			json_object_object_add(inner, "payment_intent", pi);
	}
	json_object_object_add(root, "error", inner);
	return root;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return status >= 500 ? "Internal Server Error" : "Error";
	}
}

static bool origin_allowed(const struct req *r, const char *origin)
{
	for (int i = 0; i < r->conf->ncors_origins; i++)
		if (strcmp(r->conf->cors_origins[i], origin) == 0)
			return true;
	return false;
}

size_t reply_write(struct req *r, const struct reply *out)
{
	const char *body = "";
	size_t len = 0;
	const char *origin;
	FCGX_Stream *s;
	char line[256];
	int n;

	if (out->body != NULL) {
		body = json_object_to_json_string_ext(
		        out->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(body);
	} else if (out->text != NULL) {
		body = out->text;
		len = strlen(body);
	}
	if (r->fcgx == NULL)
		return len;
	/* No configured origin, no CORS: spare the header's look-up. */
	origin = r->conf->ncors_origins > 0 ? req_header(r, "Origin") : NULL;
	/*
	 * Straight into libfcgi's buffered stream, which sends head and body
	 * together at FCGX_Finish_r: no copies of the head in the arena.
	 * libfcgi's own printf knows no %zu, hence snprintf.
	 */
	s = r->fcgx->out;
	n = snprintf(line, sizeof(line),
	             "Status: %d %s\r\n%sRequest-Id: %s\r\nCache-Control: no-store\r\n",
	             out->status, status_text(out->status),
	             out->status != 204 ? "Content-Type: application/json; charset=utf-8\r\n" : "",
	             r->id);
	FCGX_PutStr(line, n, s);
	if (origin != NULL && origin_allowed(r, origin)) {
		FCGX_PutS("Access-Control-Allow-Origin: ", s);
		FCGX_PutS(origin, s);
		FCGX_PutS("\r\nAccess-Control-Allow-Credentials: true\r\n"
		          "Access-Control-Expose-Headers: Request-Id, Idempotent-Replayed\r\n"
		          "Vary: Origin\r\n",
		          s);
	}
	for (int i = 0; i < out->nheaders; i++) {
		FCGX_PutS(out->headers[i], s);
		FCGX_PutStr("\r\n", 2, s);
	}
	n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n\r\n", len);
	FCGX_PutStr(line, n, s);
	if (len > 0)
		FCGX_PutStr(body, (int)len, s);
	return len;
}
