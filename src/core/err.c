/*
 * Filling struct err.  The message is formatted once, bounded by its buffer;
 * the type names are the API's (invalid_request_error, ...).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const char *const err_type_names[E_TYPE__MAX] = {
        [E_NONE] = "",
        [E_INVALID_REQUEST] = "invalid_request_error",
        [E_AUTHENTICATION] = "authentication_error",
        [E_PERMISSION] = "permission_error",
        [E_IDEMPOTENCY] = "idempotency_error",
        [E_CARD] = "card_error",
        [E_RATE_LIMIT] = "rate_limit_error",
        [E_API] = "api_error",
};

const char *err_type_name(enum err_type t)
{
	if ((int)t < 0 || t >= E_TYPE__MAX)
		return "api_error";
	return err_type_names[t];
}

void err_clear(struct err *e)
{
	memset(e, 0, sizeof(*e));
}

int err_set_at(struct err *e, const char *file, int line, int status, enum err_type type,
               const char *code, const char *param, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->type = type;
	e->code = code;
	snprintf(e->param, sizeof(e->param), "%s", param != NULL ? param : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->file = file;
	e->line = line;
	return -1;
}

int err_detail(struct err *e, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(e->detail);

	if (n >= sizeof(e->detail) - 1)
		return 0;
	va_start(ap, fmt);
	vsnprintf(e->detail + n, sizeof(e->detail) - n, fmt, ap);
	va_end(ap);
	return 0;
}

int err_internal_at(struct err *e, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	err_set_at(e, file, line, 500, E_API, NULL, NULL,
	           "An internal error occurred. Please try again later.");
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return -1;
}
