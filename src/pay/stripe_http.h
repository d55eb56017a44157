/*
 * Stripe's HTTP API as levy calls it (libcurl): form bodies in Stripe's
 * bracket notation, the platform's secret key, Stripe-Version, the
 * connected account (Stripe-Account) and an Idempotency-Key; the answer
 * read into at most STRIPE_ANSWER_MAX bytes and parsed as a JSON object.
 *
 * What is not an answer levy can judge (no connection, a timeout, 429,
 * 409, 5xx, a body that is not JSON) is a 503 api_error with Retry-After:
 * the caller's transaction rolls back, nothing is recorded, and a retry
 * sends the same Idempotency-Key, so Stripe does the work at most once.
 * The secret key is never logged.
 */
#ifndef LEVY_STRIPE_HTTP_H
#define LEVY_STRIPE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"

#define STRIPE_API_VERSION "2023-08-16"
/* The largest answer read; Stripe's objects are a few KiB. */
#define STRIPE_ANSWER_MAX (1024 * 1024)
/* Retry-After bounds (seconds) for what levy answers when Stripe could not be asked. */
#define STRIPE_RETRY_AFTER_DEFAULT 1
#define STRIPE_RETRY_AFTER_MAX 60

/* A form body being built: key=value pairs joined by '&'. */
struct stripe_form {
	struct arena *a;
	char *buf;
	size_t len, cap;
};

void stripe_form_init(struct stripe_form *f, struct arena *a);
/*
 * Adds key=value, percent-encoded (the brackets of a key such as
 * "metadata[levy_id]" are kept, as Stripe's own examples write them).
 * A NULL value adds nothing.
 */
void stripe_form_add(struct stripe_form *f, const char *key, const char *value);
void stripe_form_add_int(struct stripe_form *f, const char *key, long long value);
/* The body so far ("" when empty); lives in the arena. */
const char *stripe_form_body(const struct stripe_form *f);

struct stripe_call {
	const char *base;            /* stripe.api_base or stripe.connect_base */
	const char *path;            /* "/v1/payment_intents", "/oauth/token" */
	const char *secret_key;      /* the platform's key (Authorization: Bearer) */
	const char *stripe_account;  /* the connected account (acct_), NULL: the platform */
	const char *idempotency_key; /* NULL: none */
	const struct stripe_form *form;
	long timeout_ms;
};

/* An answer Stripe gave: its HTTP status and its JSON object (freed at arena reset). */
struct stripe_answer {
	long status;
	struct json_object *body;
};

/*
 * The error of a non-2xx answer: the API's {"error": {type, code,
 * decline_code, message, param, charge, payment_intent: {id}}}, or
 * OAuth's {"error": "invalid_grant", "error_description": "..."} (type
 * then holds the OAuth error, message its description).  Strings live in
 * the arena; NULL when absent.  message is never NULL.
 */
struct stripe_error {
	const char *type;
	const char *code;
	const char *decline_code;
	const char *message;
	const char *param;
	const char *charge;
	const char *payment_intent;
};

/*
 * POSTs the form to base + path over the process's kept connection (a
 * call without an Idempotency-Key gets a connection of its own).  0 with
 * *ans when Stripe answered with a JSON object and a status the caller
 * judges (2xx, and 4xx other than 409 and 429); -1 with e set otherwise
 * (503 api_error with Retry-After).
 */
int stripe_http_post(struct arena *a, const struct stripe_call *c, struct stripe_answer *ans,
                     struct err *e);
/* Closes the process's kept connection (before the process exits). */
void stripe_http_close(void);

/*
 * The judgement of stripe_http_post() once the bytes are in: status, body
 * and the Retry-After Stripe sent (0: none).  Separate so that it can be
 * tested without a network.
 */
int stripe_http_answer(struct arena *a, long status, const char *body, size_t len, int retry_after,
                       struct stripe_answer *ans, struct err *e);

/*
 * A 2xx answer without what levy stores from it (an id, a card's fields):
 * Stripe's fault, so e = 503 api_error with Retry-After, what named in the
 * log detail.  Always -1.
 */
int stripe_http_unreadable(struct err *e, const char *what);

/* Reads the error of a non-2xx answer (see struct stripe_error). */
void stripe_http_error(struct arena *a, const struct stripe_answer *ans, struct stripe_error *se);

/*
 * An error answer that the caller does not handle itself, as levy's error:
 * 402 card_error with Stripe's code, decline_code and message; 401 (the
 * platform's key refused) 500 api_error; 403 or account_invalid 400
 * account_invalid; any other 400 invalid_request_error with Stripe's code
 * and message.  Always -1.
 */
int stripe_http_refused(const struct stripe_answer *ans, const struct stripe_error *se,
                        struct err *e);

/* A string member of o in the arena, or NULL when absent, null or not a string. */
const char *stripe_json_str(struct arena *a, struct json_object *o, const char *key);
/* An integer member of o: true with *v, false when absent or not an integer. */
bool stripe_json_int(struct json_object *o, const char *key, long long *v);

/*
 * True when s is a Stripe object id with this prefix ("acct_", "cus_",
 * "card_"...): the prefix, then 1 to 250 characters of [0-9A-Za-z_].
 * Ids from Stripe's answers go into URLs and headers only once checked.
 */
bool stripe_id_valid(const char *s, const char *prefix);

#endif
