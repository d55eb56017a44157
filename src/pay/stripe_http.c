/*
 * The client of Stripe's HTTP API (see stripe_http.h).  One libcurl easy
 * handle per process, reset before each call, so that its connection to
 * Stripe is kept: a customer's first live payment makes up to three calls
 * (the customer's mirror, the card's, the PaymentIntent), and each new
 * connection would cost a TLS handshake.  The reset clears every option, so
 * nothing of one call (its account, its key) reaches the next.  No
 * redirects are followed, only http and https are spoken, and the body read
 * is bounded before it is parsed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "core/log.h"
#include "db/db.h"
#include "pay/stripe_http.h"

/* Nesting deeper than this in an answer is not one of Stripe's objects. */
#define STRIPE_JSON_DEPTH 32
/* What the client is told when an answer from Stripe cannot be used. */
#define STRIPE_UNREADABLE                                                                          \
	"The payment processor's answer could not be read. Retry the request later."
/* The connection's own share of the timeout, at most. */
#define STRIPE_CONNECT_TIMEOUT_MS 10000L

void stripe_form_init(struct stripe_form *f, struct arena *a)
{
	f->a = a;
	f->cap = 256;
	f->buf = arena_alloc(a, f->cap);
	f->len = 0;
}

/* Room for n more bytes and a NUL. */
static void stripe_form_reserve(struct stripe_form *f, size_t n)
{
	char *grown;

	if (f->len + n + 1 <= f->cap)
		return;
	while (f->len + n + 1 > f->cap)
		f->cap *= 2;
	grown = arena_alloc(f->a, f->cap);
	memcpy(grown, f->buf, f->len);
	f->buf = grown;
}

/* Percent-encodes s; brackets too unless keep_brackets. */
static void stripe_form_encode(struct stripe_form *f, const char *s, bool keep_brackets)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		stripe_form_reserve(f, 3);
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
		    (keep_brackets && (ch == '[' || ch == ']'))) {
			f->buf[f->len++] = (char)ch;
		} else {
			f->buf[f->len++] = '%';
			f->buf[f->len++] = hex[ch >> 4];
			f->buf[f->len++] = hex[ch & 15];
		}
	}
	f->buf[f->len] = '\0';
}

void stripe_form_add(struct stripe_form *f, const char *key, const char *value)
{
	if (value == NULL)
		return;
	if (f->len > 0) {
		stripe_form_reserve(f, 1);
		f->buf[f->len++] = '&';
	}
	stripe_form_encode(f, key, true);
	stripe_form_reserve(f, 1);
	f->buf[f->len++] = '=';
	f->buf[f->len] = '\0';
	stripe_form_encode(f, value, false);
}

void stripe_form_add_int(struct stripe_form *f, const char *key, long long value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", value);
	stripe_form_add(f, key, buf);
}

const char *stripe_form_body(const struct stripe_form *f)
{
	return f->len > 0 ? f->buf : "";
}

bool stripe_id_valid(const char *s, const char *prefix)
{
	size_t n = strlen(prefix), i;

	if (s == NULL || strncmp(s, prefix, n) != 0)
		return false;
	for (i = n; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return i > n && i - n <= 250;
}

const char *stripe_json_str(struct arena *a, struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return arena_strndup(a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

bool stripe_json_int(struct json_object *o, const char *key, long long *v)
{
	struct json_object *m;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int))
		return false;
	*v = (long long)json_object_get_int64(m);
	return true;
}

static void stripe_json_put(void *o)
{
	json_object_put(o);
}

/* 503 api_error with Retry-After: Stripe could not be asked, or did not answer. */
static int stripe_unavailable(struct err *e, int retry_after, const char *msg)
{
	err_set(e, 503, E_API, NULL, NULL, "%s", msg);
	if (retry_after <= 0)
		retry_after = STRIPE_RETRY_AFTER_DEFAULT;
	e->retry_after =
	        retry_after > STRIPE_RETRY_AFTER_MAX ? STRIPE_RETRY_AFTER_MAX : retry_after;
	return -1;
}

int stripe_http_unreadable(struct err *e, const char *what)
{
	stripe_unavailable(e, 0, STRIPE_UNREADABLE);
	err_detail(e, "stripe's %s is not as expected", what);
	return -1;
}

int stripe_http_answer(struct arena *a, long status, const char *body, size_t len, int retry_after,
                       struct stripe_answer *ans, struct err *e)
{
	struct json_tokener *tok;
	struct json_object *o;

	ans->status = status;
	ans->body = NULL;
	if (status == 429) {
		stripe_unavailable(
		        e, retry_after,
		        "The payment processor is limiting requests at the moment; nothing "
		        "was charged. Retry the request later.");
		err_detail(e, "stripe answered 429");
		return -1;
	}
	/* 409: the same Idempotency-Key is still being worked on; a retry gets its answer. */
	if (status == 409 || status >= 500 || status < 200) {
		stripe_unavailable(
		        e, retry_after,
		        "The payment processor is unavailable at the moment; nothing was "
		        "recorded. Retry the request later.");
		err_detail(e, "stripe answered %ld", status);
		return -1;
	}
	if (len > STRIPE_ANSWER_MAX || (tok = json_tokener_new_ex(STRIPE_JSON_DEPTH)) == NULL) {
		stripe_unavailable(e, retry_after, STRIPE_UNREADABLE);
		err_detail(e, "stripe answer of %zu bytes", len);
		return -1;
	}
	o = json_tokener_parse_ex(tok, body != NULL ? body : "", (int)len);
	if (o != NULL &&
	    (json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len ||
	     !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o == NULL) {
		stripe_unavailable(e, retry_after, STRIPE_UNREADABLE);
		err_detail(e, "stripe answered %ld with a body that is not a JSON object", status);
		return -1;
	}
	arena_on_reset(a, stripe_json_put, o);
	ans->body = o;
	return 0;
}

void stripe_http_error(struct arena *a, const struct stripe_answer *ans, struct stripe_error *se)
{
	struct json_object *err = NULL, *pi;

	memset(se, 0, sizeof(*se));
	if (ans->body != NULL)
		json_object_object_get_ex(ans->body, "error", &err);
	if (err != NULL && json_object_is_type(err, json_type_object)) {
		se->type = stripe_json_str(a, err, "type");
		se->code = stripe_json_str(a, err, "code");
		se->decline_code = stripe_json_str(a, err, "decline_code");
		se->message = stripe_json_str(a, err, "message");
		se->param = stripe_json_str(a, err, "param");
		se->charge = stripe_json_str(a, err, "charge");
		if (json_object_object_get_ex(err, "payment_intent", &pi))
			se->payment_intent = json_object_is_type(pi, json_type_string)
			                             ? stripe_json_str(a, err, "payment_intent")
			                             : stripe_json_str(a, pi, "id");
	} else if (err != NULL && json_object_is_type(err, json_type_string)) {
		/* OAuth: {"error": "invalid_grant", "error_description": "..."}. */
		se->type = stripe_json_str(a, ans->body, "error");
		se->message = stripe_json_str(a, ans->body, "error_description");
	}
	if (se->message == NULL || se->message[0] == '\0')
		se->message = arena_printf(a, "Stripe answered %ld.", ans->status);
}

int stripe_http_refused(const struct stripe_answer *ans, const struct stripe_error *se,
                        struct err *e)
{
	if (ans->status == 402) {
		err_set(e, 402, E_CARD, se->code != NULL ? se->code : "card_declined", NULL, "%s",
		        se->message);
		e->decline_code = se->decline_code;
		return -1;
	}
	if (ans->status == 401) {
		err_set(e, 500, E_API, NULL, NULL,
		        "levy could not authenticate with the payment processor. Contact the "
		        "platform operator.");
		err_detail(e, "stripe refused the platform's key: %s", se->message);
		return -1;
	}
	if (ans->status == 403 || (se->code != NULL && strcmp(se->code, "account_invalid") == 0))
		return err_set(e, 400, E_INVALID_REQUEST, "account_invalid", NULL,
		               "Stripe refused access to the connected account: reconnect the "
		               "Stripe account (owner only). Stripe said: %s",
		               se->message);
	return err_set(e, 400, E_INVALID_REQUEST, se->code, NULL, "Stripe: %s", se->message);
}

/* The answer being read: bounded, NUL-terminated. */
struct stripe_buf {
	char *data;
	size_t len;
	bool too_large;
	int retry_after;
};

static size_t stripe_http_write(char *p, size_t size, size_t n, void *arg)
{
	struct stripe_buf *b = arg;
	size_t add = size * n;
	char *grown;

	if (add > STRIPE_ANSWER_MAX - b->len) {
		b->too_large = true;
		return 0;
	}
	grown = realloc(b->data, b->len + add + 1);
	if (grown == NULL)
		abort();
	b->data = grown;
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* Retry-After in seconds, when Stripe sends one. */
static size_t stripe_http_header(char *p, size_t size, size_t n, void *arg)
{
	struct stripe_buf *b = arg;
	size_t len = size * n;
	int v = 0;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		for (size_t i = 12; i < len && (p[i] == ' ' || (p[i] >= '0' && p[i] <= '9')); i++)
			if (p[i] != ' ' && v < 100000)
				v = v * 10 + (p[i] - '0');
		b->retry_after = v;
	}
	return len;
}

/* A header line in the arena, appended to the list. */
static struct curl_slist *stripe_http_add_header(struct curl_slist *h, struct arena *a,
                                                 const char *name, const char *value)
{
	struct curl_slist *next;

	if (value == NULL || h == NULL)
		return h;
	next = curl_slist_append(h, arena_printf(a, "%s: %s", name, value));
	if (next == NULL) {
		curl_slist_free_all(h);
		return NULL;
	}
	return next;
}

/* Header values levy made or checked: no line breaks can reach the request. */
static bool stripe_http_header_safe(const char *v)
{
	return v == NULL || strpbrk(v, "\r\n") == NULL;
}

/* The process's handle (its connection cache with it); NULL until the first call. */
static CURL *stripe_http_handle;

static CURL *stripe_http_curl(void)
{
	if (stripe_http_handle == NULL)
		stripe_http_handle = curl_easy_init();
	else
		curl_easy_reset(stripe_http_handle);
	return stripe_http_handle;
}

void stripe_http_close(void)
{
	if (stripe_http_handle != NULL)
		curl_easy_cleanup(stripe_http_handle);
	stripe_http_handle = NULL;
}

int stripe_http_post(struct arena *a, const struct stripe_call *c, struct stripe_answer *ans,
                     struct err *e)
{
	struct stripe_buf b = {0};
	struct curl_slist *h;
	const char *body = c->form != NULL ? stripe_form_body(c->form) : "";
	long status = 0;
	CURLcode rc;
	CURL *curl;
	int ret;

	/* A charge must never leave on the strength of writes that may yet fail (db_defer()). */
	if (db_unconfirmed())
		return err_internal(
		        e, "BUG: a call to Stripe while deferred statements are unconfirmed");
	if (!stripe_http_header_safe(c->secret_key) ||
	    !stripe_http_header_safe(c->stripe_account) ||
	    !stripe_http_header_safe(c->idempotency_key))
		return err_internal(e, "a line break in a header for stripe");
	curl = stripe_http_curl();
	h = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	h = stripe_http_add_header(h, a, "Accept", "application/json");
	h = stripe_http_add_header(h, a, "Expect", "");
	h = stripe_http_add_header(h, a, "Stripe-Version", STRIPE_API_VERSION);
	h = stripe_http_add_header(h, a, "Authorization",
	                           arena_printf(a, "Bearer %s", c->secret_key));
	h = stripe_http_add_header(h, a, "Stripe-Account", c->stripe_account);
	h = stripe_http_add_header(h, a, "Idempotency-Key", c->idempotency_key);
	if (curl == NULL || h == NULL) {
		curl_slist_free_all(h);
		return stripe_unavailable(e, 0,
		                          "The payment processor could not be reached. Retry "
		                          "the request later.");
	}
	curl_easy_setopt(curl, CURLOPT_URL, arena_printf(a, "%s%s", c->base, c->path));
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	                 c->timeout_ms < STRIPE_CONNECT_TIMEOUT_MS ? c->timeout_ms
	                                                           : STRIPE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "levy/" PACKAGE_VERSION);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)STRIPE_ANSWER_MAX);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, stripe_http_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, stripe_http_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &b);
	/*
	 * libcurl sends a request again by itself when a kept connection turns
	 * out closed before any answer; only a call with an Idempotency-Key
	 * may be sent twice (an OAuth code is good once).
	 */
	if (c->idempotency_key == NULL) {
		curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	/* The headers must not outlive the call; the handle's options point at them until reset. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		bool too_large = b.too_large || rc == CURLE_FILESIZE_EXCEEDED;

		/* The path names no secret; the key travels only in a header. */
		stripe_unavailable(
		        e, 0,
		        too_large ? STRIPE_UNREADABLE
		        : rc == CURLE_OPERATION_TIMEDOUT
		                ? "The payment processor did not answer in time; nothing "
		                  "was recorded. Retry the request later."
		                : "The payment processor could not be reached; nothing was "
		                  "recorded. Retry the request later.");
		err_detail(e, "POST %s%s: %s%s", c->base, c->path, curl_easy_strerror(rc),
		           too_large ? " (answer larger than 1 MiB)" : "");
		free(b.data);
		return -1;
	}
	ret = stripe_http_answer(a, status, b.data, b.len, b.retry_after, ans, e);
	if (ret != 0)
		err_detail(e, " (POST %s)", c->path);
	else
		log_debug("stripe: POST %s -> %ld", c->path, status);
	free(b.data);
	return ret;
}
