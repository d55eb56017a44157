/* Route matching, path normalization, and a walk of the real route table. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "api/role.h"
#include "api/routes.h"
#include "api/validate.h"
#include "http/route.h"

static int dummy(struct req *r, struct reply *out, struct err *e)
{
	return 0;
}

static const struct route table[] = {
        {.method = M_GET, .pattern = "/v1/items", .fn = dummy, .name = "list"},
        {.method = M_POST, .pattern = "/v1/items", .fn = dummy, .name = "create"},
        {.method = M_GET, .pattern = "/v1/items/me", .fn = dummy, .name = "me"},
        {.method = M_GET, .pattern = "/v1/items/:id", .fn = dummy, .name = "get"},
        {.method = M_DELETE, .pattern = "/v1/items/:id", .fn = dummy, .name = "delete"},
        {.method = M_GET, .pattern = "/v1/items/:id/parts/:part", .fn = dummy, .name = "part"},
        {0},
};

static void test_match(void **state)
{
	const char *params[ROUTE_MAX_PARAMS];
	int n;
	unsigned allow;
	struct err e;
	const struct route *rt;

	err_clear(&e);
	rt = route_match(table, "GET", "/v1/items", params, &n, &allow, &e);
	assert_string_equal(rt->name, "list");
	assert_int_equal(n, 0);
	rt = route_match(table, "POST", "/v1/items", params, &n, &allow, &e);
	assert_string_equal(rt->name, "create");
	rt = route_match(table, "GET", "/v1/items/me", params, &n, &allow, &e);
	assert_string_equal(rt->name, "me");
	rt = route_match(table, "GET", "/v1/items/cus_123", params, &n, &allow, &e);
	assert_string_equal(rt->name, "get");
	assert_int_equal(n, 1);
	assert_string_equal(params[0], "cus_123");
	rt = route_match(table, "GET", "/v1/items/a-b/parts/7", params, &n, &allow, &e);
	assert_string_equal(rt->name, "part");
	assert_int_equal(n, 2);
	assert_string_equal(params[0], "a-b");
	assert_string_equal(params[1], "7");
}

static void test_not_found_and_method(void **state)
{
	const char *params[ROUTE_MAX_PARAMS];
	int n;
	unsigned allow;
	struct err e;

	err_clear(&e);
	assert_null(route_match(table, "GET", "/v1/nothing", params, &n, &allow, &e));
	assert_int_equal(e.status, 404);
	assert_int_equal(e.type, E_INVALID_REQUEST);
	err_clear(&e);
	assert_null(route_match(table, "PATCH", "/v1/items/x", params, &n, &allow, &e));
	assert_int_equal(e.status, 405);
	assert_int_equal(allow, M_GET | M_DELETE);
	err_clear(&e);
	/* Characters outside an id's alphabet never match a parameter. */
	assert_null(route_match(table, "GET", "/v1/items/a%20b", params, &n, &allow, &e));
	assert_int_equal(e.status, 404);
	assert_null(route_match(table, "GET", "/v1/items/a.b", params, &n, &allow, &e));
	assert_null(route_match(table, "GET", "/v1/items/", params, &n, &allow, &e));
	assert_null(route_match(table, "GET", "/v1/items/x/parts", params, &n, &allow, &e));
	assert_null(route_match(table, "TRACE", "/v1/items", params, &n, &allow, &e));
	assert_int_equal(e.status, 405);
}

static void test_normalize(void **state)
{
	struct arena a;

	arena_init(&a);
	assert_string_equal(route_normalize(&a, "/api/v1/auth/users/"), "/v1/auth/users");
	assert_string_equal(route_normalize(&a, "/api/v1/auth/users"), "/v1/auth/users");
	assert_string_equal(route_normalize(&a, "/v1/customers/"), "/v1/customers");
	assert_string_equal(route_normalize(&a, "/v1/customers///"), "/v1/customers");
	assert_null(route_normalize(&a, "/api/v2/x"));
	assert_null(route_normalize(&a, "/other"));
	assert_null(route_normalize(&a, "v1/x"));
	assert_null(route_normalize(&a, NULL));
	arena_destroy(&a);
}

/* Every route of the real table: a handler, a name, credentials, an action; no two collide. */
static void test_api_table(void **state)
{
	int count = 0;

	for (const struct route *rt = api_routes; rt->pattern != NULL; rt++, count++) {
		assert_non_null(rt->fn);
		assert_non_null(rt->name);
		assert_true(strncmp(rt->pattern, "/v1/", 4) == 0);
		assert_true(rt->flags & (R_PUBLIC | R_API_KEY | R_SECRET_KEY | R_USER));
		if (!(rt->flags & R_PUBLIC) && !(rt->flags & R_NO_TX))
			assert_true(rt->action >= 0 && rt->action < ACT__MAX);
		for (const struct route *o = api_routes; o != rt; o++)
			assert_false(o->method == rt->method &&
			             strcmp(o->pattern, rt->pattern) == 0);
	}
	assert_true(count >= 15);
}

static void test_validate(void **state)
{
	assert_true(validate_email("owner@acme.com"));
	assert_true(validate_email("a.b+c@sub.example.org"));
	assert_false(validate_email("owner@acme"));
	assert_false(validate_email("@acme.com"));
	assert_false(validate_email("a@@acme.com"));
	assert_false(validate_email("a b@acme.com"));
	assert_false(validate_email("a..b@acme.com"));
	assert_false(validate_email("a@-acme.com"));
	assert_true(validate_hostname("acme.com"));
	assert_false(validate_hostname("acme..com"));
	assert_false(validate_hostname("-acme.com"));
	assert_false(validate_hostname(""));
	assert_null(validate_webhook_url("https://acme.com/webhooks/billing", false));
	assert_null(validate_webhook_url("https://acme.com:8443/x?y=1", false));
	assert_non_null(validate_webhook_url("http://acme.com/x", false));
	assert_non_null(validate_webhook_url("http://acme.com/x", true));
	assert_non_null(validate_webhook_url("http://127.0.0.1:9000/x", false));
	assert_null(validate_webhook_url("http://127.0.0.1:9000/x", true));
	assert_null(validate_webhook_url("http://localhost/x", true));
	assert_null(validate_webhook_url("http://[::1]:8/x", true));
	assert_non_null(validate_webhook_url("http://localhost.evil.com/x", true));
	assert_non_null(validate_webhook_url("http://127.0.0.1@evil.com/x", true));
	assert_non_null(validate_webhook_url("https://exa mple.com/", false));
	assert_non_null(validate_webhook_url("ftp://acme.com/", false));
	assert_non_null(validate_webhook_url("https://", false));
	assert_non_null(validate_webhook_url("https://acme.com:abc/", false));
	assert_true(validate_color("#12abEF"));
	assert_false(validate_color("#12abE"));
	assert_false(validate_color("12abEF0"));
	assert_false(validate_color("#12abEG"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_match),     cmocka_unit_test(test_not_found_and_method),
	        cmocka_unit_test(test_normalize), cmocka_unit_test(test_api_table),
	        cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
