/*
 * The Stripe client (src/pay/stripe_http.c) without the network: the form
 * encoder (checked against levy's own decoder of Stripe's bracket
 * notation), the judgement of answers (statuses, bodies, Retry-After),
 * Stripe's and OAuth's error shapes and their mapping to levy's errors,
 * ids; then the transport against peers on this machine's loopback
 * (a forked one-shot HTTP server, a port nobody answers, a listener that
 * never replies): the exact request sent, a bounded answer, timeouts and
 * refused connections as 503s.  Last, the `stripe` group of the
 * configuration (src/core/conf.c): defaults, accepted forms, every
 * refusal, and the key masked by conf_print.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/param.h"
#include "db/db.h"
#include "http/req.h"
#include "pay/stripe_http.h"

/*
 * The database's word on the transaction's deferred writes, as the
 * transport asks for it (src/db/db.c's db_unconfirmed(), which this test
 * does not link): true makes every call a bug the transport refuses.
 */
static bool writes_unconfirmed;

bool db_unconfirmed(void)
{
	return writes_unconfirmed;
}

static struct arena A;

static int setup(void **state)
{
	(void)state;
	arena_init(&A);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_destroy(&A);
	return 0;
}

/* ------------------------------------------------------------------ form */

static void test_form_encoding(void **state)
{
	struct stripe_form f;

	(void)state;
	stripe_form_init(&f, &A);
	assert_string_equal(stripe_form_body(&f), "");
	stripe_form_add(&f, "amount", "2000");
	stripe_form_add(&f, "skipped", NULL);
	stripe_form_add(&f, "metadata[levy_id]", "cus_123");
	stripe_form_add(&f, "payment_method_types[0]", "card");
	stripe_form_add(&f, "email", "a+b@example.com");
	stripe_form_add(&f, "name", "Ada & Co = 100% \"x\"/~.-_");
	stripe_form_add(&f, "description", "caf\xc3\xa9 \n");
	stripe_form_add_int(&f, "application_fee_amount", -15);
	stripe_form_add(&f, "a b", "");
	assert_string_equal(stripe_form_body(&f),
	                    "amount=2000&metadata[levy_id]=cus_123&payment_method_types[0]=card"
	                    "&email=a%2Bb%40example.com"
	                    "&name=Ada%20%26%20Co%20%3D%20100%25%20%22x%22%2F~.-_"
	                    "&description=caf%C3%A9%20%0A&application_fee_amount=-15&a%20b=");
}

/* What levy sends decodes, with levy's own parser of Stripe's notation, to what was meant. */
static void test_form_round_trip(void **state)
{
	struct stripe_form f;
	struct params p;
	struct err e;
	const char *s;
	char big[3001];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[7] = '&';
	big[1500] = '[';
	stripe_form_init(&f, &A);
	stripe_form_add(&f, "metadata[levy_payment_intent]", "pi_1");
	stripe_form_add(&f, "metadata[levy_invoice]", "in_2 & more");
	stripe_form_add(&f, "payment_method_types[0]", "card");
	stripe_form_add(&f, "description", big);
	err_clear(&e);
	assert_int_equal(req_decode_body(&A, "application/x-www-form-urlencoded",
	                                 stripe_form_body(&f), strlen(stripe_form_body(&f)), &p,
	                                 &e),
	                 0);
	assert_int_equal(param_str(&p, "metadata[levy_payment_intent]", 100, false, &s, &e), 1);
	assert_string_equal(s, "pi_1");
	assert_int_equal(param_str(&p, "metadata[levy_invoice]", 100, false, &s, &e), 1);
	assert_string_equal(s, "in_2 & more");
	assert_int_equal(param_str(&p, "payment_method_types[0]", 100, false, &s, &e), 1);
	assert_string_equal(s, "card");
	assert_int_equal(param_str(&p, "description", 4000, false, &s, &e), 1);
	assert_string_equal(s, big);
}

/* ---------------------------------------------------------------- answers */

static int answer(long status, const char *body, int retry_after, struct stripe_answer *ans,
                  struct err *e)
{
	err_clear(e);
	return stripe_http_answer(&A, status, body, body != NULL ? strlen(body) : 0, retry_after,
	                          ans, e);
}

static void assert_unavailable(struct err *e, int retry_after, const char *msg)
{
	assert_int_equal(e->status, 503);
	assert_int_equal(e->type, E_API);
	assert_int_equal(e->retry_after, retry_after);
	assert_non_null(strstr(e->message, msg));
}

static void test_answers_judged(void **state)
{
	struct stripe_answer ans;
	struct err e;
	long long v;

	(void)state;
	assert_int_equal(answer(200, "{\"id\":\"pi_1\",\"amount\":2000}", 0, &ans, &e), 0);
	assert_int_equal(ans.status, 200);
	assert_string_equal(stripe_json_str(&A, ans.body, "id"), "pi_1");
	assert_true(stripe_json_int(ans.body, "amount", &v));
	assert_int_equal(v, 2000);
	/* Errors Stripe decided are answers too: the caller judges them. */
	for (long st = 400; st <= 404; st++) {
		assert_int_equal(answer(st, "{\"error\":{\"message\":\"m\"}}", 0, &ans, &e), 0);
		assert_int_equal(ans.status, st);
	}
	/* Rate limits, conflicts and server errors: retry later, with Retry-After. */
	assert_int_equal(answer(429, "{\"error\":{}}", 0, &ans, &e), -1);
	assert_unavailable(&e, 1, "limiting requests");
	assert_non_null(strstr(e.detail, "429"));
	assert_int_equal(answer(429, "{}", 7, &ans, &e), -1);
	assert_unavailable(&e, 7, "limiting");
	assert_int_equal(answer(429, "{}", 3600, &ans, &e), -1);
	assert_unavailable(&e, STRIPE_RETRY_AFTER_MAX, "limiting");
	assert_int_equal(answer(500, "{\"error\":{\"type\":\"api_error\"}}", 0, &ans, &e), -1);
	assert_unavailable(&e, 1, "unavailable");
	assert_non_null(strstr(e.detail, "500"));
	assert_int_equal(answer(502, "<html>", 0, &ans, &e), -1);
	assert_unavailable(&e, 1, "unavailable");
	assert_int_equal(answer(503, "", 2, &ans, &e), -1);
	assert_unavailable(&e, 2, "unavailable");
	assert_int_equal(answer(409, "{}", 0, &ans, &e), -1);
	assert_unavailable(&e, 1, "unavailable");
	assert_int_equal(answer(101, "{}", 0, &ans, &e), -1);
	assert_unavailable(&e, 1, "unavailable");
	assert_null(ans.body);
}

static void test_answers_unreadable(void **state)
{
	static const char *const bodies[] = {"",        "not json", "[1,2]", "\"s\"", "{\"a\":1} x",
	                                     "{\"a\":", "null",     NULL};
	struct stripe_answer ans;
	struct err e;
	char *deep;

	(void)state;
	for (int i = 0; bodies[i] != NULL; i++) {
		assert_int_equal(answer(200, bodies[i], 0, &ans, &e), -1);
		assert_unavailable(&e, 1, "could not be read");
	}
	assert_int_equal(answer(200, NULL, 0, &ans, &e), -1);
	/* Deeper than any of Stripe's objects: {"a": [[[...]]]} 40 levels down. */
	deep = arena_alloc(&A, 100);
	strcpy(deep, "{\"a\":");
	memset(deep + 5, '[', 40);
	memset(deep + 45, ']', 40);
	strcpy(deep + 85, "}");
	assert_int_equal(answer(200, deep, 0, &ans, &e), -1);
	/* Larger than the bound: refused before it is parsed. */
	err_clear(&e);
	assert_int_equal(stripe_http_answer(&A, 200, "{}", STRIPE_ANSWER_MAX + 1, 0, &ans, &e), -1);
	assert_unavailable(&e, 1, "could not be read");
}

static struct stripe_answer error_answer(long status, const char *body)
{
	struct stripe_answer ans;
	struct err e;

	assert_int_equal(answer(status, body, 0, &ans, &e), 0);
	return ans;
}

static void test_error_shapes(void **state)
{
	struct stripe_answer ans;
	struct stripe_error se;

	(void)state;
	ans = error_answer(402,
	                   "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\","
	                   "\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has "
	                   "insufficient funds.\",\"param\":\"\",\"charge\":\"ch_1\","
	                   "\"payment_intent\":{\"id\":\"pi_9\",\"status\":"
	                   "\"requires_payment_method\"}}}");
	stripe_http_error(&A, &ans, &se);
	assert_string_equal(se.type, "card_error");
	assert_string_equal(se.code, "card_declined");
	assert_string_equal(se.decline_code, "insufficient_funds");
	assert_string_equal(se.message, "Your card has insufficient funds.");
	assert_string_equal(se.param, "");
	assert_string_equal(se.charge, "ch_1");
	assert_string_equal(se.payment_intent, "pi_9");
	/* payment_intent as an id, fields absent or null. */
	ans = error_answer(400, "{\"error\":{\"type\":\"invalid_request_error\",\"payment_intent\":"
	                        "\"pi_8\",\"code\":null,\"message\":\"No such customer\"}}");
	stripe_http_error(&A, &ans, &se);
	assert_string_equal(se.payment_intent, "pi_8");
	assert_null(se.code);
	assert_null(se.decline_code);
	assert_null(se.charge);
	/* OAuth's shape. */
	ans = error_answer(400,
	                   "{\"error\":\"invalid_grant\",\"error_description\":\"Authorization "
	                   "code does not exist: ac_1\"}");
	stripe_http_error(&A, &ans, &se);
	assert_string_equal(se.type, "invalid_grant");
	assert_string_equal(se.message, "Authorization code does not exist: ac_1");
	assert_null(se.code);
	/* No error at all, or an empty message: the status speaks. */
	ans = error_answer(404, "{\"message\":\"x\"}");
	stripe_http_error(&A, &ans, &se);
	assert_null(se.type);
	assert_string_equal(se.message, "Stripe answered 404.");
	ans = error_answer(400, "{\"error\":{\"message\":\"\"}}");
	stripe_http_error(&A, &ans, &se);
	assert_string_equal(se.message, "Stripe answered 400.");
	ans = error_answer(400, "{\"error\":42}");
	stripe_http_error(&A, &ans, &se);
	assert_null(se.type);
	assert_string_equal(se.message, "Stripe answered 400.");
}

static struct err refused(long status, const char *body)
{
	struct stripe_answer ans = error_answer(status, body);
	struct stripe_error se;
	struct err e;

	stripe_http_error(&A, &ans, &se);
	err_clear(&e);
	assert_int_equal(stripe_http_refused(&ans, &se, &e), -1);
	return e;
}

static void test_refusals_mapped(void **state)
{
	struct err e;

	(void)state;
	e = refused(402, "{\"error\":{\"type\":\"card_error\",\"code\":\"expired_card\","
	                 "\"message\":\"Your card has expired.\"}}");
	assert_int_equal(e.status, 402);
	assert_int_equal(e.type, E_CARD);
	assert_string_equal(e.code, "expired_card");
	assert_null(e.decline_code);
	assert_string_equal(e.message, "Your card has expired.");
	e = refused(402, "{\"error\":{\"type\":\"card_error\",\"decline_code\":\"generic_decline\","
	                 "\"message\":\"Your card was declined.\"}}");
	assert_string_equal(e.code, "card_declined");
	assert_string_equal(e.decline_code, "generic_decline");
	/* The platform's key refused: levy's problem, never the caller's, and no detail shown. */
	e = refused(401, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API "
	                 "Key provided: sk_test_****1234\"}}");
	assert_int_equal(e.status, 500);
	assert_int_equal(e.type, E_API);
	assert_null(strstr(e.message, "sk_test"));
	assert_non_null(strstr(e.detail, "Invalid API Key"));
	e = refused(403,
	            "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"account_invalid\","
	            "\"message\":\"The provided key does not have access to account "
	            "'acct_1'.\"}}");
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "account_invalid");
	assert_non_null(strstr(e.message, "does not have access to account 'acct_1'."));
	assert_non_null(
	        strstr(e.message, "reconnect the Stripe account (owner only). Stripe said: "));
	e = refused(400, "{\"error\":{\"code\":\"account_invalid\",\"message\":\"gone\"}}");
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "account_invalid");
	e = refused(404, "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
	                 "\"resource_missing\",\"param\":\"customer\",\"message\":\"No such "
	                 "customer: 'cus_1'\"}}");
	assert_int_equal(e.status, 400);
	assert_int_equal(e.type, E_INVALID_REQUEST);
	assert_string_equal(e.code, "resource_missing");
	assert_string_equal(e.param, "");
	assert_string_equal(e.message, "Stripe: No such customer: 'cus_1'");
	e = refused(400, "{\"error\":\"invalid_request\",\"error_description\":\"bad\"}");
	assert_null(e.code);
	assert_string_equal(e.message, "Stripe: bad");
}

static void test_json_members_and_ids(void **state)
{
	struct json_object *o = json_tokener_parse(
	        "{\"s\":\"v\",\"n\":null,\"i\":12,\"f\":1.5,\"b\":true,\"big\":9007199254740993}");
	long long v = 0;
	char longid[300];

	(void)state;
	assert_string_equal(stripe_json_str(&A, o, "s"), "v");
	assert_null(stripe_json_str(&A, o, "n"));
	assert_null(stripe_json_str(&A, o, "i"));
	assert_null(stripe_json_str(&A, o, "absent"));
	assert_null(stripe_json_str(&A, NULL, "s"));
	assert_true(stripe_json_int(o, "i", &v));
	assert_int_equal(v, 12);
	assert_true(stripe_json_int(o, "big", &v));
	assert_true(v == 9007199254740993LL);
	assert_false(stripe_json_int(o, "f", &v));
	assert_false(stripe_json_int(o, "b", &v));
	assert_false(stripe_json_int(o, "s", &v));
	assert_false(stripe_json_int(o, "absent", &v));
	assert_false(stripe_json_int(NULL, "i", &v));
	json_object_put(o);

	assert_true(stripe_id_valid("acct_1Abc_xyz", "acct_"));
	assert_true(stripe_id_valid("card_1NfQ", "card_"));
	assert_false(stripe_id_valid("acct_", "acct_"));
	assert_false(stripe_id_valid("cus_1", "acct_"));
	assert_false(stripe_id_valid("acct_1\r\nX-Evil: 1", "acct_"));
	assert_false(stripe_id_valid("acct_1/../x", "acct_"));
	assert_false(stripe_id_valid("acct_1 ", "acct_"));
	assert_false(stripe_id_valid(NULL, "acct_"));
	memset(longid, 'a', sizeof(longid));
	memcpy(longid, "acct_", 5);
	longid[5 + 250] = '\0';
	assert_true(stripe_id_valid(longid, "acct_"));
	longid[5 + 250] = 'a';
	longid[5 + 251] = '\0';
	assert_false(stripe_id_valid(longid, "acct_"));
}

/* -------------------------------------------------------------- transport */

/* A listening socket on 127.0.0.1 and its port. */
static int listen_loopback(int *port)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A one-shot HTTP peer: the request it got (through a pipe) and its pid. */
struct peer {
	pid_t pid;
	int port;
	int req_fd;
};

/*
 * Accepts one connection, reads the request (headers, then Content-Length
 * bytes), sends it back to the test through a pipe, answers with `head`
 * and then `body_len` bytes of `fill` (or body), and exits.
 */
static void peer_start(struct peer *p, const char *head, const char *body, size_t body_len,
                       char fill)
{
	int lfd = listen_loopback(&p->port), pfd[2];

	assert_int_equal(pipe(pfd), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		char buf[65536], chunk[8192];
		size_t n = 0, want = 0;
		int c;

		signal(SIGPIPE, SIG_IGN);
		close(pfd[0]);
		c = accept(lfd, NULL, NULL);
		if (c < 0)
			_exit(1);
		for (;;) {
			ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);
			char *end;

			if (k <= 0)
				break;
			n += (size_t)k;
			buf[n] = '\0';
			end = strstr(buf, "\r\n\r\n");
			if (end != NULL) {
				const char *cl = strcasestr(buf, "\r\nContent-Length:");

				want = (size_t)(end + 4 - buf) +
				       (cl != NULL ? strtoul(cl + 17, NULL, 10) : 0);
				if (n >= want)
					break;
			}
		}
		if (write(pfd[1], buf, n) < 0)
			_exit(1);
		close(pfd[1]);
		if (write(c, head, strlen(head)) < 0)
			_exit(0);
		if (body != NULL) {
			if (write(c, body, body_len) < 0)
				_exit(0);
		} else {
			memset(chunk, fill, sizeof(chunk));
			for (size_t sent = 0; sent < body_len; sent += sizeof(chunk))
				if (write(c, chunk, sizeof(chunk)) < 0)
					break;
		}
		close(c);
		_exit(0);
	}
	close(lfd);
	close(pfd[1]);
	p->req_fd = pfd[0];
}

/* The request the peer got (in the arena), after it has exited. */
static const char *peer_end(struct peer *p)
{
	char *buf = arena_alloc(&A, 65536);
	size_t n = 0;
	ssize_t k;
	int status;

	while ((k = read(p->req_fd, buf + n, 65535 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(p->req_fd);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	return buf;
}

static struct stripe_call call_to(int port, const struct stripe_form *f)
{
	struct stripe_call c = {
	        .base = arena_printf(&A, "http://127.0.0.1:%d", port),
	        .path = "/v1/payment_intents",
	        .secret_key = "sk_test_abcDEF123",
	        .stripe_account = "acct_1Conn",
	        .idempotency_key = "levy_pi_1_attempt_2",
	        .form = f,
	        .timeout_ms = 5000,
	};
	return c;
}

static void test_transport_request_and_answer(void **state)
{
	static const char body[] = "{\"id\":\"pi_X\",\"status\":\"succeeded\"}";
	struct stripe_answer ans;
	struct stripe_form f;
	struct stripe_call c;
	struct peer p;
	struct err e;
	const char *req;
	char head[256];

	(void)state;
	snprintf(head, sizeof(head),
	         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n",
	         strlen(body));
	peer_start(&p, head, body, strlen(body), 0);
	stripe_form_init(&f, &A);
	stripe_form_add(&f, "amount", "2000");
	stripe_form_add(&f, "metadata[levy_payment_intent]", "pi_1");
	c = call_to(p.port, &f);
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), 0);
	req = peer_end(&p);
	assert_int_equal(ans.status, 200);
	assert_string_equal(stripe_json_str(&A, ans.body, "id"), "pi_X");
	assert_true(strncmp(req, "POST /v1/payment_intents HTTP/1.1\r\n", 35) == 0);
	assert_non_null(strstr(req, "\r\nAuthorization: Bearer sk_test_abcDEF123\r\n"));
	assert_non_null(strstr(req, "\r\nStripe-Version: 2023-08-16\r\n"));
	assert_non_null(strstr(req, "\r\nStripe-Account: acct_1Conn\r\n"));
	assert_non_null(strstr(req, "\r\nIdempotency-Key: levy_pi_1_attempt_2\r\n"));
	assert_non_null(strstr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
	assert_non_null(strstr(req, "\r\nUser-Agent: levy/"));
	assert_null(strstr(req, "Expect:"));
	assert_non_null(strstr(req, "\r\n\r\namount=2000&metadata[levy_payment_intent]=pi_1"));
}

static void test_transport_optional_headers_and_retry_after(void **state)
{
	struct stripe_answer ans;
	struct stripe_call c;
	struct peer p;
	struct err e;
	const char *req;

	(void)state;
	peer_start(&p,
	           "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 9\r\nContent-Length: 2\r\n"
	           "Connection: close\r\n\r\n",
	           "{}", 2, 0);
	c = call_to(p.port, NULL);
	c.stripe_account = NULL;
	c.idempotency_key = NULL;
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	req = peer_end(&p);
	assert_unavailable(&e, 9, "limiting");
	assert_null(strstr(req, "Stripe-Account"));
	assert_null(strstr(req, "Idempotency-Key"));
	assert_non_null(strstr(req, "\r\nContent-Length: 0\r\n"));
	/* The secret never reaches what is logged. */
	assert_null(strstr(e.detail, "sk_test"));
}

static void test_transport_bounded_answer(void **state)
{
	struct stripe_answer ans;
	struct stripe_call c;
	struct peer p;
	struct err e;

	(void)state;
	/* Announced too large: refused before it is read. */
	peer_start(&p, "HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\nConnection: close\r\n\r\n",
	           NULL, 2097152, ' ');
	c = call_to(p.port, NULL);
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	peer_end(&p);
	assert_unavailable(&e, 1, "could not be read");
	assert_non_null(strstr(e.detail, "larger than 1 MiB"));
	/* Not announced (read to the close): cut at the bound. */
	peer_start(&p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", NULL,
	           STRIPE_ANSWER_MAX + 65536, ' ');
	c = call_to(p.port, NULL);
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	peer_end(&p);
	assert_unavailable(&e, 1, "could not be read");
	assert_non_null(strstr(e.detail, "larger than 1 MiB"));
	/* Just under the bound: read and judged (spaces are not a JSON object). */
	peer_start(&p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", NULL, 8192 * 120, ' ');
	c = call_to(p.port, NULL);
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	peer_end(&p);
	assert_unavailable(&e, 1, "could not be read");
}

static void test_transport_unreachable_and_timeout(void **state)
{
	struct stripe_answer ans;
	struct stripe_call c;
	struct err e;
	int port, fd;

	(void)state;
	/* A port nobody listens on. */
	fd = listen_loopback(&port);
	close(fd);
	c = call_to(port, NULL);
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	assert_unavailable(&e, 1, "could not be reached");
	assert_non_null(strstr(e.detail, "/v1/payment_intents"));
	/* A peer that takes the connection and never answers. */
	fd = listen_loopback(&port);
	c = call_to(port, NULL);
	c.timeout_ms = 300;
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	assert_unavailable(&e, 1, "did not answer in time");
	close(fd);
	/* Only http and https are spoken. */
	c = call_to(port, NULL);
	c.base = "file:///etc";
	c.path = "/passwd";
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	assert_int_equal(e.status, 503);
}

/*
 * Nothing leaves while the transaction's deferred writes may yet fail: a
 * 500 (a bug in the caller), and the peer never sees a connection.
 */
static void test_transport_refused_with_unconfirmed_writes(void **state)
{
	struct stripe_answer ans;
	struct stripe_call c;
	struct pollfd pfd;
	struct err e;
	int port;

	(void)state;
	pfd.fd = listen_loopback(&port);
	pfd.events = POLLIN;
	c = call_to(port, NULL);
	c.timeout_ms = 300;
	writes_unconfirmed = true;
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	writes_unconfirmed = false;
	assert_int_equal(e.status, 500);
	assert_non_null(strstr(e.detail, "deferred statements are unconfirmed"));
	assert_int_equal(poll(&pfd, 1, 0), 0);
	close(pfd.fd);
}

static void test_transport_header_injection_refused(void **state)
{
	struct stripe_answer ans;
	struct stripe_call c = call_to(1, NULL);
	struct err e;

	(void)state;
	c.stripe_account = "acct_1\r\nX-Evil: 1";
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	assert_int_equal(e.status, 500);
	c = call_to(1, NULL);
	c.idempotency_key = "k\n";
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	assert_int_equal(e.status, 500);
	c = call_to(1, NULL);
	c.secret_key = "sk_test_1\r";
	err_clear(&e);
	assert_int_equal(stripe_http_post(&A, &c, &ans, &e), -1);
	assert_int_equal(e.status, 500);
}

/* ------------------------------------------------------ the stripe config */

static char tmp_path[64];
static char errbuf[4096];

static int load(const char *text, struct conf *c)
{
	FILE *f;
	int fd, rc;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/levy-test-stripe-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	errbuf[0] = '\0';
	rc = conf_load(tmp_path, c, errbuf, sizeof(errbuf));
	unlink(tmp_path);
	return rc;
}

static void expect_refused(const char *text, const char *want)
{
	struct conf c;

	if (load(text, &c) == 0)
		fail_msg("accepted: %s", text);
	if (strstr(errbuf, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", errbuf, want);
	conf_free(&c);
}

static void test_conf_defaults_and_forms(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_string_equal(c.stripe_api_base, "https://api.stripe.com");
	assert_string_equal(c.stripe_connect_base, "https://connect.stripe.com");
	assert_string_equal(c.stripe_secret_key, "");
	assert_string_equal(c.stripe_client_id, "");
	assert_int_equal(c.stripe_timeout_ms, 8000);
	assert_string_equal(c.stripe_oauth_redirect_uri, "");
	conf_free(&c);

	assert_int_equal(load("stripe = { api_base = \"http://127.0.0.1:12345\";\n"
	                      " connect_base = \"http://localhost:9\";\n"
	                      " secret_key = \"sk_live_51Habc\"; client_id = \"ca_XyZ09\";\n"
	                      " timeout_ms = 100;\n"
	                      " oauth_redirect_uri = \"https://app.example.com/connect?x=1\"; };\n",
	                      &c),
	                 0);
	assert_string_equal(c.stripe_api_base, "http://127.0.0.1:12345");
	assert_string_equal(c.stripe_connect_base, "http://localhost:9");
	assert_string_equal(c.stripe_secret_key, "sk_live_51Habc");
	assert_string_equal(c.stripe_client_id, "ca_XyZ09");
	assert_int_equal(c.stripe_timeout_ms, 100);
	assert_string_equal(c.stripe_oauth_redirect_uri, "https://app.example.com/connect?x=1");
	conf_free(&c);
	assert_int_equal(load("stripe = { api_base = \"http://[::1]:8\"; connect_base = "
	                      "\"https://connect.example.com:8443\"; secret_key = \"rk_test_A1\";"
	                      " timeout_ms = 120000; oauth_redirect_uri = "
	                      "\"http://127.9.9.9/cb\"; };\n",
	                      &c),
	                 0);
	assert_string_equal(c.stripe_api_base, "http://[::1]:8");
	conf_free(&c);
}

static void test_conf_refusals(void **state)
{
	(void)state;
	expect_refused("stripe = { api_base = \"http://api.stripe.com\"; };",
	               "stripe.api_base: http:// is allowed only to a loopback host");
	expect_refused("stripe = { api_base = \"http://10.0.0.1:80\"; };", "loopback");
	expect_refused("stripe = { api_base = \"http://127.0.0.1.example.com\"; };", "loopback");
	expect_refused("stripe = { connect_base = \"https://connect.stripe.com/\"; };",
	               "stripe.connect_base: must be scheme, host and port only");
	expect_refused("stripe = { api_base = \"https://api.stripe.com/v1\"; };", "no path");
	expect_refused("stripe = { api_base = \"ftp://api.stripe.com\"; };",
	               "must start with https://");
	expect_refused("stripe = { api_base = \"https://\"; };", "must name a host");
	expect_refused("stripe = { api_base = \"https://u:p@api.stripe.com\"; };",
	               "user name or password");
	expect_refused("stripe = { api_base = \"https://API.stripe.com\"; };", "lowercase");
	expect_refused("stripe = { api_base = \"https://api.stripe.com:99999\"; };", "port");
	expect_refused("stripe = { api_base = \"\"; };", "must start with https://");
	expect_refused("stripe = { secret_key = \"pk_live_abc\"; };",
	               "stripe.secret_key: must be the platform's Stripe secret key");
	expect_refused("stripe = { secret_key = \"sk_live_\"; };", "secret key");
	expect_refused("stripe = { secret_key = \"sk_live_ab\\ncd\"; };", "secret key");
	expect_refused("stripe = { secret_key = \"sk_live_ab-cd\"; };", "secret key");
	expect_refused("stripe = { client_id = \"acct_1\"; };",
	               "stripe.client_id: must be the platform's Connect client id");
	expect_refused("stripe = { client_id = \"ca_\"; };", "client id");
	expect_refused("stripe = { timeout_ms = 99; };",
	               "stripe.timeout_ms: must be between 100 and 120000");
	expect_refused("stripe = { timeout_ms = 120001; };", "between 100 and 120000");
	expect_refused("stripe = { oauth_redirect_uri = \"https://app.example.com/cb#x\"; };",
	               "stripe.oauth_redirect_uri: must not have a fragment");
	expect_refused("stripe = { oauth_redirect_uri = \"https://app.example.com/a b\"; };",
	               "may not hold unencoded");
	expect_refused("stripe = { oauth_redirect_uri = \"https://app.example.com/<x>\"; };",
	               "may not hold unencoded");
	expect_refused("stripe = { oauth_redirect_uri = \"http://app.example.com/cb\"; };",
	               "loopback");
	expect_refused("stripe = { oauth_redirect_uri = \"/cb\"; };", "must start with https://");
	expect_refused("stripe = { unknown = 1; };", "stripe.unknown: unknown setting");
	expect_refused("stripe = 1;", "must be a group");
}

static void test_conf_print_masks_the_key(void **state)
{
	struct conf c;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(load("stripe = { secret_key = \"sk_live_TopSecret42\"; client_id = "
	                      "\"ca_Visible1\"; };\n",
	                      &c),
	                 0);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	conf_print(&c, f);
	fclose(f);
	assert_null(strstr(out, "TopSecret42"));
	assert_non_null(strstr(out, "stripe.secret_key = \"********\"\n"));
	assert_non_null(strstr(out, "stripe.client_id = \"ca_Visible1\"\n"));
	assert_non_null(strstr(out, "stripe.api_base = \"https://api.stripe.com\"\n"));
	assert_non_null(strstr(out, "stripe.timeout_ms = 8000\n"));
	assert_non_null(strstr(out, "stripe.oauth_redirect_uri = \"\"\n"));
	free(out);
	conf_free(&c);
	/* Unset, it shows as unset. */
	conf_defaults(&c);
	out = NULL;
	f = open_memstream(&out, &len);
	conf_print(&c, f);
	fclose(f);
	assert_non_null(strstr(out, "stripe.secret_key = \"\"\n"));
	free(out);
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_form_encoding),
	        cmocka_unit_test(test_form_round_trip),
	        cmocka_unit_test(test_answers_judged),
	        cmocka_unit_test(test_answers_unreadable),
	        cmocka_unit_test(test_error_shapes),
	        cmocka_unit_test(test_refusals_mapped),
	        cmocka_unit_test(test_json_members_and_ids),
	        cmocka_unit_test(test_transport_request_and_answer),
	        cmocka_unit_test(test_transport_optional_headers_and_retry_after),
	        cmocka_unit_test(test_transport_bounded_answer),
	        cmocka_unit_test(test_transport_unreachable_and_timeout),
	        cmocka_unit_test(test_transport_refused_with_unconfirmed_writes),
	        cmocka_unit_test(test_transport_header_injection_refused),
	        cmocka_unit_test(test_conf_defaults_and_forms),
	        cmocka_unit_test(test_conf_refusals),
	        cmocka_unit_test(test_conf_print_masks_the_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
