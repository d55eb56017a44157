/*
 * The one error type.  Whoever detects a failure fills a struct err with
 * err_set() and returns -1; only the dispatcher turns it into the API's
 * {"error": {...}} body (see ../shared/API.md).  `message` goes to the client;
 * `detail` only to the log, and 5xx answers never show it.
 */
#ifndef LEVY_ERR_H
#define LEVY_ERR_H

#include <stdarg.h>
#include <stdbool.h>

enum err_type {
	E_NONE = 0,
	E_INVALID_REQUEST, /* 400, 404, 405, 413, 415 */
	E_AUTHENTICATION,  /* 401 */
	E_PERMISSION,      /* 403 */
	E_IDEMPOTENCY,     /* 400, 409 */
	E_CARD,            /* 402 */
	E_RATE_LIMIT,      /* 429 */
	E_API,             /* 500, 503 */
	E_TYPE__MAX
};

struct err {
	int status;
	enum err_type type;
	const char *code;  /* static string or NULL: "parameter_missing" */
	char param[128];   /* "" when none: "email", "items[0][price]" */
	char message[256]; /* to the client: a sentence with a period */
	char detail[512];  /* log only: libpq text, context */
	char sqlstate[6];
	int retry_after;          /* seconds, for 429 and 503; 0: no header */
	const char *decline_code; /* card_error: Stripe's decline_code, a static string */
	/*
	 * card_error of a payment intent's confirmation, as Stripe adds them:
	 * the charge's id and the intent's JSON text (its state after the
	 * decline).  NULL: none.  They live as long as the request's arena.
	 */
	const char *charge;
	const char *payment_intent;
	/*
	 * The transaction's writes stand although the answer is an error: a
	 * declined payment leaves its attempt, its invoice and subscription
	 * states and their events behind, as in Stripe.
	 */
	bool keep_tx;
	const char *file;
	int line;
};

/* Always returns -1, so that `return err_set(...)` reads naturally. */
int err_set_at(struct err *e, const char *file, int line, int status, enum err_type type,
               const char *code, const char *param, const char *fmt, ...)
        __attribute__((format(printf, 8, 9)));
#define err_set(e, status, type, code, param, ...)                                                 \
	err_set_at((e), __FILE__, __LINE__, (status), (type), (code), (param), __VA_ARGS__)

/* Shorthands for the common client errors. */
#define err_missing(e, p)                                                                          \
	err_set((e), 400, E_INVALID_REQUEST, "parameter_missing", (p),                             \
	        "Missing required param: %s.", (p))
#define err_invalid(e, p, ...)                                                                     \
	err_set((e), 400, E_INVALID_REQUEST, "parameter_invalid", (p), __VA_ARGS__)
/* A 500 whose client message says nothing of the cause; fmt goes to detail. */
int err_internal_at(struct err *e, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
#define err_internal(e, ...) err_internal_at((e), __FILE__, __LINE__, __VA_ARGS__)

/* Appends log-only detail; returns 0.  Never shown to the client. */
int err_detail(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
const char *err_type_name(enum err_type t);

#endif
