/*
 * Writing responses: status line, headers (Content-Type, Request-Id, CORS,
 * extras a handler set), and the JSON body serialized once.  The body
 * object is put at arena reset.
 */
#ifndef LEVY_REPLY_H
#define LEVY_REPLY_H

#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"

struct req;

#define REPLY_MAX_HEADERS 8

struct reply {
	int status;
	struct json_object *body;
	/* Or the body already serialized (an object PostgreSQL rendered): used when body is NULL.
	 */
	const char *text;
	const char *headers[REPLY_MAX_HEADERS]; /* "Name: value" */
	int nheaders;
};

/* Sets status and body; the reply owns body from now on (put at arena reset). */
int reply_json(struct req *r, struct reply *out, int status, struct json_object *body);
/*
 * Sets status and a body that is JSON text already, sent as it is; text
 * must live until the request ends (the arena's, or a result the arena clears).
 */
int reply_text(struct reply *out, int status, const char *text);
void reply_header(struct req *r, struct reply *out, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* {"error": {"type", "code"?, "param"?, "message"}} */
struct json_object *reply_error_body(const struct err *e);
/* Status + headers + body on the FastCGI stream; returns the byte count of the body. */
size_t reply_write(struct req *r, const struct reply *out);

#endif
