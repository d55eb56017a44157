/*
 * The typed accessors over trees from the real decoders (jsonin and form):
 * types are never converted, form strings are parsed strictly, and every
 * refusal names its param with Stripe's code.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/err.h"
#include "core/jsonin.h"
#include "core/param.h"
#include "http/form.h"

static struct params json_params(const char *s)
{
	struct err e;
	struct params p = {.form = false};

	err_clear(&e);
	p.root = jsonin_parse(s, strlen(s), &e);
	if (p.root == NULL)
		fail_msg("%s: %s", s, e.message);
	return p;
}

static struct params form_params(const char *s)
{
	struct err e;
	struct params p = {.form = true};

	err_clear(&e);
	p.root = form_decode(s, strlen(s), &e);
	if (p.root == NULL)
		fail_msg("%s: %s", s, e.message);
	return p;
}

static void expect_err(const struct err *e, const char *code, const char *param,
                       const char *message)
{
	assert_int_equal(e->status, 400);
	assert_int_equal(e->type, E_INVALID_REQUEST);
	assert_string_equal(e->code, code);
	assert_string_equal(e->param, param);
	assert_string_equal(e->message, message);
}

/* param_int on {"n": <literal>} in JSON mode, or n=<value> in form mode. */
static int int_of(bool form, const char *lit, long long min, long long max, long long *out,
                  struct err *e)
{
	char buf[256];
	struct params p;
	int rc;

	if (form) {
		snprintf(buf, sizeof(buf), "n=%s", lit);
		p = form_params(buf);
	} else {
		snprintf(buf, sizeof(buf), "{\"n\": %s}", lit);
		p = json_params(buf);
	}
	err_clear(e);
	rc = param_int(&p, "n", min, max, out, e);
	json_object_put(p.root);
	return rc;
}

static void int_ok(bool form, const char *lit, long long want)
{
	struct err e;
	long long v = 12345;

	if (int_of(form, lit, LLONG_MIN, LLONG_MAX, &v, &e) != 1)
		fail_msg("%s refused: %s", lit, e.message);
	assert_true(v == want);
}

static void int_bad(bool form, const char *lit, const char *message)
{
	struct err e;
	long long v = 12345;

	assert_int_equal(int_of(form, lit, LLONG_MIN, LLONG_MAX, &v, &e), -1);
	expect_err(&e, "parameter_invalid_integer", "n", message);
	assert_true(v == 12345);
}

static void test_str(void **state)
{
	struct params p = json_params("{\"email\": \"a@b.c\", \"n\": 1, \"b\": true, \"o\": {}, "
	                              "\"arr\": [\"x\"], \"nul\": null, \"empty\": \"\", "
	                              "\"d\": 1.5}");
	const char *s = "untouched";
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(param_str(&p, "email", 5, false, &s, &e), 1);
	assert_string_equal(s, "a@b.c");
	/* maxlen counts bytes: 5 is the limit, 4 is one short. */
	s = "untouched";
	assert_int_equal(param_str(&p, "email", 4, false, &s, &e), -1);
	expect_err(&e, "parameter_invalid", "email",
	           "Invalid string: email must be at most 4 bytes long.");
	assert_string_equal(s, "untouched");
	assert_int_equal(param_str(&p, "absent", 10, false, &s, &e), 0);
	assert_int_equal(param_str(&p, "nul", 10, false, &s, &e), 0);
	assert_string_equal(s, "untouched");
	for (const char *const *k = (const char *const[]){"n", "b", "o", "arr", "d", NULL}; *k;
	     k++) {
		char want[64];

		err_clear(&e);
		assert_int_equal(param_str(&p, *k, 10, true, &s, &e), -1);
		snprintf(want, sizeof(want), "Invalid string: %s.", *k);
		expect_err(&e, "parameter_invalid", *k, want);
	}
	assert_int_equal(param_str(&p, "empty", 10, false, &s, &e), -1);
	expect_err(&e, "parameter_invalid_empty", "empty",
	           "You passed an empty string for 'empty'. Remove 'empty' from your request or "
	           "supply a non-empty value.");
	assert_int_equal(param_str(&p, "empty", 10, true, &s, &e), 1);
	assert_string_equal(s, "");
	json_object_put(p.root);

	/* Form values are strings; an object or array from brackets is not. */
	p = form_params("name=Ann+Lee&m[a]=1&l[]=x&empty=");
	assert_int_equal(param_str(&p, "name", 100, false, &s, &e), 1);
	assert_string_equal(s, "Ann Lee");
	assert_int_equal(param_str(&p, "m", 100, false, &s, &e), -1);
	expect_err(&e, "parameter_invalid", "m", "Invalid string: m.");
	assert_int_equal(param_str(&p, "l", 100, false, &s, &e), -1);
	assert_int_equal(param_str(&p, "empty", 100, false, &s, &e), -1);
	assert_string_equal(e.code, "parameter_invalid_empty");
	json_object_put(p.root);
}

static void test_str_nul_in_tree(void **state)
{
	struct params p = {.root = json_object_new_object()};
	const char *s = NULL;
	struct err e;

	(void)state;
	/* Neither decoder makes this, but a tree built by hand must not pass it. */
	json_object_object_add(p.root, "s", json_object_new_string_len("a\0b", 3));
	err_clear(&e);
	assert_int_equal(param_str(&p, "s", 10, false, &s, &e), -1);
	expect_err(&e, "parameter_invalid", "s", "Invalid string: s contains a NUL character.");
	json_object_put(p.root);
}

static void test_req_str(void **state)
{
	struct params p =
	        json_params("{\"email\": \"a@b.c\", \"nul\": null, \"n\": 3, \"e\": \"\"}");
	const char *s = NULL;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(param_req_str(&p, "email", 100, &s, &e), 0);
	assert_string_equal(s, "a@b.c");
	assert_int_equal(param_req_str(&p, "password", 100, &s, &e), -1);
	expect_err(&e, "parameter_missing", "password", "Missing required param: password.");
	assert_int_equal(param_req_str(&p, "nul", 100, &s, &e), -1);
	expect_err(&e, "parameter_missing", "nul", "Missing required param: nul.");
	assert_int_equal(param_req_str(&p, "n", 100, &s, &e), -1);
	expect_err(&e, "parameter_invalid", "n", "Invalid string: n.");
	assert_int_equal(param_req_str(&p, "e", 100, &s, &e), -1);
	assert_string_equal(e.code, "parameter_invalid_empty");
	assert_int_equal(param_req_str(&p, "email", 2, &s, &e), -1);
	assert_string_equal(e.code, "parameter_invalid");
	json_object_put(p.root);
}

static void test_int_json(void **state)
{
	(void)state;
	int_ok(false, "2000", 2000);
	int_ok(false, "-3", -3);
	int_ok(false, "0", 0);
	int_ok(false, "9223372036854775807", LLONG_MAX);
	int_ok(false, "-9223372036854775808", LLONG_MIN);
	/* json-c would convert each of these; levy refuses them. */
	int_bad(false, "20.5", "Invalid integer: 20.5");
	int_bad(false, "1e3", "Invalid integer: 1e3");
	int_bad(false, "2000.0", "Invalid integer: 2000.0");
	int_bad(false, "\"2000\"", "Invalid integer: 2000");
	int_bad(false, "9223372036854775808", "Invalid integer: 9223372036854775808");
	int_bad(false, "-9223372036854775809", "Invalid integer: -9223372036854775809");
	int_bad(false, "99999999999999999999999999999999999999999999999999",
	        "Invalid integer: 9999999999999999999999999999999999999999...");
	int_bad(false, "true", "Invalid integer: true");
	int_bad(false, "[1]", "Invalid integer: [1]");
	int_bad(false, "{\"a\":1}", "Invalid integer: {\"a\":1}");
	int_bad(false, "\"\"", "Invalid integer: ");
	int_bad(false, "\"a\\nb\"", "Invalid integer: a?b");
}

static void test_int_form(void **state)
{
	struct err e;
	long long v = 7;

	(void)state;
	int_ok(true, "2000", 2000);
	int_ok(true, "-3", -3);
	int_ok(true, "0", 0);
	int_ok(true, "-0", 0);
	int_ok(true, "007", 7);
	int_ok(true, "9223372036854775807", LLONG_MAX);
	int_ok(true, "-9223372036854775808", LLONG_MIN);
	int_bad(true, "9223372036854775808", "Invalid integer: 9223372036854775808");
	int_bad(true, "-9223372036854775809", "Invalid integer: -9223372036854775809");
	int_bad(true, "18446744073709551616", "Invalid integer: 18446744073709551616");
	int_bad(true, "20.5", "Invalid integer: 20.5");
	int_bad(true, "1e3", "Invalid integer: 1e3");
	int_bad(true, "%2B3", "Invalid integer: +3");
	int_bad(true, "+3", "Invalid integer:  3"); /* '+' is a space in forms */
	int_bad(true, "3+", "Invalid integer: 3 ");
	int_bad(true, "-", "Invalid integer: -");
	int_bad(true, "--1", "Invalid integer: --1");
	int_bad(true, "0x10", "Invalid integer: 0x10");
	int_bad(true, "1%0A", "Invalid integer: 1?");
	int_bad(true, "abc", "Invalid integer: abc");
	assert_int_equal(int_of(true, "", 0, 10, &v, &e), -1);
	expect_err(&e, "parameter_invalid_empty", "n",
	           "You passed an empty string for 'n'. Remove 'n' from your request or supply "
	           "a non-empty value.");
	assert_true(v == 7);
	{
		struct params p = form_params("n[]=1&m[a]=1");

		err_clear(&e);
		assert_int_equal(param_int(&p, "n", 0, 10, &v, &e), -1);
		expect_err(&e, "parameter_invalid_integer", "n", "Invalid integer: [\"1\"]");
		assert_int_equal(param_int(&p, "m", 0, 10, &v, &e), -1);
		assert_int_equal(param_int(&p, "absent", 0, 10, &v, &e), 0);
		assert_true(v == 7);
		json_object_put(p.root);
	}
}

static void test_int_range(void **state)
{
	struct err e;
	long long v = 99;

	(void)state;
	assert_int_equal(int_of(false, "0", 1, 100, &v, &e), -1);
	expect_err(&e, "parameter_invalid_integer", "n",
	           "This value must be greater than or equal to 1.");
	assert_int_equal(int_of(false, "101", 1, 100, &v, &e), -1);
	expect_err(&e, "parameter_invalid_integer", "n",
	           "This value must be less than or equal to 100.");
	assert_int_equal(int_of(true, "-5", -4, 100, &v, &e), -1);
	expect_err(&e, "parameter_invalid_integer", "n",
	           "This value must be greater than or equal to -4.");
	assert_true(v == 99);
	assert_int_equal(int_of(false, "1", 1, 100, &v, &e), 1);
	assert_true(v == 1);
	assert_int_equal(int_of(true, "100", 1, 100, &v, &e), 1);
	assert_true(v == 100);
	assert_int_equal(int_of(false, "null", 1, 100, &v, &e), 0);
	assert_true(v == 100);
}

static void test_int_uint64(void **state)
{
	struct params p = {.root = json_object_new_object()};
	struct err e;
	long long v = 5;

	(void)state;
	/* json-c's own uint64 values clamp to INT64_MAX in json_object_get_int64. */
	json_object_object_add(p.root, "big", json_object_new_uint64(UINT64_MAX));
	json_object_object_add(p.root, "max", json_object_new_uint64((uint64_t)INT64_MAX));
	err_clear(&e);
	assert_int_equal(param_int(&p, "big", LLONG_MIN, LLONG_MAX, &v, &e), -1);
	expect_err(&e, "parameter_invalid_integer", "big", "Invalid integer: 18446744073709551615");
	assert_true(v == 5);
	assert_int_equal(param_int(&p, "max", LLONG_MIN, LLONG_MAX, &v, &e), 1);
	assert_true(v == LLONG_MAX);
	json_object_put(p.root);
}

static void test_bool(void **state)
{
	struct params p = json_params("{\"t\": true, \"f\": false, \"s\": \"true\", \"n\": 1, "
	                              "\"nul\": null}");
	struct err e;
	bool b = false;

	(void)state;
	err_clear(&e);
	assert_int_equal(param_bool(&p, "t", &b, &e), 1);
	assert_true(b);
	assert_int_equal(param_bool(&p, "f", &b, &e), 1);
	assert_false(b);
	assert_int_equal(param_bool(&p, "s", &b, &e), -1);
	expect_err(&e, "parameter_invalid", "s", "Invalid boolean: true");
	assert_int_equal(param_bool(&p, "n", &b, &e), -1);
	expect_err(&e, "parameter_invalid", "n", "Invalid boolean: 1");
	b = true;
	assert_int_equal(param_bool(&p, "nul", &b, &e), 0);
	assert_int_equal(param_bool(&p, "absent", &b, &e), 0);
	assert_true(b);
	json_object_put(p.root);

	p = form_params("t=true&f=false&one=1&yes=yes&cap=TRUE&sp=true+&e=&o[a]=true&py=True&"
	                "pn=False");
	assert_int_equal(param_bool(&p, "t", &b, &e), 1);
	assert_true(b);
	assert_int_equal(param_bool(&p, "f", &b, &e), 1);
	assert_false(b);
	assert_int_equal(param_bool(&p, "one", &b, &e), -1);
	expect_err(&e, "parameter_invalid", "one", "Invalid boolean: 1");
	assert_int_equal(param_bool(&p, "yes", &b, &e), -1);
	assert_int_equal(param_bool(&p, "cap", &b, &e), -1);
	expect_err(&e, "parameter_invalid", "cap", "Invalid boolean: TRUE");
	assert_int_equal(param_bool(&p, "py", &b, &e), 1);
	assert_true(b);
	assert_int_equal(param_bool(&p, "pn", &b, &e), 1);
	assert_false(b);
	assert_int_equal(param_bool(&p, "sp", &b, &e), -1);
	assert_int_equal(param_bool(&p, "e", &b, &e), -1);
	assert_string_equal(e.code, "parameter_invalid_empty");
	assert_int_equal(param_bool(&p, "o", &b, &e), -1);
	expect_err(&e, "parameter_invalid", "o", "Invalid boolean: {\"a\":\"true\"}");
	assert_false(b);
	json_object_put(p.root);
}

static void test_enum(void **state)
{
	static const char *const modes[] = {"test", "live", NULL};
	struct params p = json_params("{\"a\": \"live\", \"b\": \"LIVE\", \"c\": 1, \"d\": \"\", "
	                              "\"e\": \"test\"}");
	struct err e;
	int i = -1;

	(void)state;
	err_clear(&e);
	assert_int_equal(param_enum(&p, "a", modes, &i, &e), 1);
	assert_int_equal(i, 1);
	assert_int_equal(param_enum(&p, "e", modes, &i, &e), 1);
	assert_int_equal(i, 0);
	assert_int_equal(param_enum(&p, "b", modes, &i, &e), -1);
	expect_err(&e, "parameter_invalid", "b", "Invalid b: must be one of test, live.");
	assert_int_equal(param_enum(&p, "c", modes, &i, &e), -1);
	expect_err(&e, "parameter_invalid", "c", "Invalid string: c.");
	assert_int_equal(param_enum(&p, "d", modes, &i, &e), -1);
	assert_string_equal(e.code, "parameter_invalid_empty");
	i = 42;
	assert_int_equal(param_enum(&p, "absent", modes, &i, &e), 0);
	assert_int_equal(i, 42);
	json_object_put(p.root);

	p = form_params("mode=live&type=secrets");
	assert_int_equal(param_enum(&p, "mode", modes, &i, &e), 1);
	assert_int_equal(i, 1);
	assert_int_equal(param_enum(&p, "type",
	                            (const char *const[]){"secret", "publishable", NULL}, &i, &e),
	                 -1);
	expect_err(&e, "parameter_invalid", "type",
	           "Invalid type: must be one of secret, publishable.");
	json_object_put(p.root);
}

static void test_only_and_has(void **state)
{
	static const char *const allowed[] = {"email", "password", NULL};
	struct params p = json_params("{\"email\": \"x\", \"password\": null, \"role\": \"x\", "
	                              "\"zzz\": 1}");
	struct err e;
	char body[400], longkey[200];

	(void)state;
	err_clear(&e);
	assert_int_equal(param_only(&p, allowed, &e), -1);
	expect_err(&e, "parameter_unknown", "role", "Received unknown parameter: role");
	assert_true(param_has(&p, "email"));
	assert_true(param_has(&p, "password")); /* present even though null */
	assert_false(param_has(&p, "pass"));
	json_object_put(p.root);

	p = json_params("{\"password\": \"x\", \"email\": \"y\"}");
	assert_int_equal(param_only(&p, allowed, &e), 0);
	json_object_put(p.root);
	p = json_params("{}");
	assert_int_equal(param_only(&p, allowed, &e), 0);
	assert_false(param_has(&p, "email"));
	json_object_put(p.root);

	/* Form brackets: the unknown name is the base key. */
	p = form_params("email=a&metadata[x]=1");
	assert_int_equal(param_only(&p, allowed, &e), -1);
	expect_err(&e, "parameter_unknown", "metadata", "Received unknown parameter: metadata");
	json_object_put(p.root);

	/* A long key is cut to fit the param field, the same text in the message. */
	memset(longkey, 'k', 150);
	longkey[150] = '\0';
	snprintf(body, sizeof(body), "{\"%s\": 1}", longkey);
	p = json_params(body);
	assert_int_equal(param_only(&p, allowed, &e), -1);
	assert_int_equal(strlen(e.param), 127);
	assert_memory_equal(e.param + 124, "...", 3);
	assert_non_null(strstr(e.message, e.param));
	json_object_put(p.root);

	/* A JSON body that is not an object has no params. */
	p = json_params("[1]");
	assert_int_equal(param_only(&p, allowed, &e), -1);
	expect_err(&e, "parameter_invalid", "",
	           "Invalid request: the parameters must be an object.");
	assert_false(param_has(&p, "email"));
	{
		const char *s = NULL;

		assert_int_equal(param_str(&p, "email", 10, false, &s, &e), 0);
	}
	json_object_put(p.root);
}

/*
 * Bodies and query strings exactly as Debian's python3-stripe 5.0 sends them
 * (captured from the SDK): indexed arrays, nested objects, "True", an empty
 * metadata value, percent-encoded brackets in a query string, read through
 * the bracket-path accessors the billing endpoints use.
 */
static void test_sdk_bodies(void **state)
{
	struct params p;
	struct err e;
	const char *s;
	long long n;
	bool b;

	(void)state;
	err_clear(&e);
	p = form_params("email=jenny.rosen%40example.com&name=Jenny+Rosen&metadata[plan]=pro&"
	                "metadata[n]=&invoice_settings[default_payment_method]=pm_1&"
	                "expand[0]=invoice_settings.default_payment_method");
	assert_string_equal(json_object_to_json_string_ext(p.root, JSON_C_TO_STRING_PLAIN),
	                    "{\"email\":\"jenny.rosen@example.com\",\"name\":\"Jenny Rosen\","
	                    "\"metadata\":{\"plan\":\"pro\",\"n\":\"\"},\"invoice_settings\":{"
	                    "\"default_payment_method\":\"pm_1\"},\"expand\":["
	                    "\"invoice_settings.default_payment_method\"]}");
	assert_int_equal(
	        param_str(&p, "invoice_settings[default_payment_method]", 64, false, &s, &e), 1);
	assert_string_equal(s, "pm_1");
	assert_int_equal(param_str(&p, "metadata[n]", 500, true, &s, &e), 1);
	assert_string_equal(s, "");
	assert_string_equal(json_object_get_string(param_value(&p, "expand[0]")),
	                    "invoice_settings.default_payment_method");
	json_object_put(p.root);

	p = form_params("customer=cus_1&items[0][price]=plan_a&items[0][quantity]=2&items[1][plan]="
	                "plan_b&trial_end=now&cancel_at_period_end=True&payment_behavior=default_"
	                "incomplete&metadata[k]=v+w%26x%3Dy");
	assert_int_equal(param_str(&p, "items[0][price]", 64, false, &s, &e), 1);
	assert_string_equal(s, "plan_a");
	assert_int_equal(param_int(&p, "items[0][quantity]", 1, 10000, &n, &e), 1);
	assert_int_equal(n, 2);
	assert_int_equal(param_str(&p, "items[1][plan]", 64, false, &s, &e), 1);
	assert_string_equal(s, "plan_b");
	assert_int_equal(param_str(&p, "items[2][plan]", 64, false, &s, &e), 0);
	assert_int_equal(param_bool(&p, "cancel_at_period_end", &b, &e), 1);
	assert_true(b);
	assert_int_equal(param_str(&p, "metadata[k]", 500, false, &s, &e), 1);
	assert_string_equal(s, "v w&x=y");
	/* A bad nested value is named as the client wrote it. */
	assert_int_equal(param_int(&p, "items[0][price]", 1, 10, &n, &e), -1);
	expect_err(&e, "parameter_invalid_integer", "items[0][price]", "Invalid integer: plan_a");
	json_object_put(p.root);

	p = form_params("amount=2000&currency=usd&interval=month&product[name]=Gold+plan&"
	                "features[0][key]=seats&features[0][name]=Seats&features[0][value]=10");
	assert_int_equal(param_str(&p, "product[name]", 250, false, &s, &e), 1);
	assert_string_equal(s, "Gold plan");
	assert_int_equal(param_str(&p, "features[0][value]", 500, false, &s, &e), 1);
	assert_string_equal(s, "10");
	assert_true(param_has(&p, "features[0][key]"));
	assert_false(param_has(&p, "features[1][key]"));
	/* Paths that cross a value of another shape name nothing. */
	assert_false(param_has(&p, "amount[x]"));
	assert_false(param_has(&p, "product[0]"));
	assert_false(param_has(&p, "features[x][key]"));
	assert_false(param_has(&p, "features[99999][key]"));
	json_object_put(p.root);

	p = form_params("email=a%2Bb%40example.com&limit=3&expand%5B0%5D=data.invoice_settings."
	                "default_payment_method&created%5Bgte%5D=1700000000");
	assert_int_equal(param_str(&p, "email", 512, false, &s, &e), 1);
	assert_string_equal(s, "a+b@example.com");
	assert_int_equal(param_int(&p, "created[gte]", 0, 1LL << 40, &n, &e), 1);
	assert_int_equal(n, 1700000000);
	assert_string_equal(json_object_get_string(param_value(&p, "expand[0]")),
	                    "data.invoice_settings.default_payment_method");
	json_object_put(p.root);

	p = form_params("amount=1999&currency=usd&customer=cus_1&payment_method=pm_card_visa&"
	                "confirm=True&off_session=False");
	assert_int_equal(param_bool(&p, "confirm", &b, &e), 1);
	assert_true(b);
	assert_int_equal(param_bool(&p, "off_session", &b, &e), 1);
	assert_false(b);
	json_object_put(p.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_str),          cmocka_unit_test(test_str_nul_in_tree),
	        cmocka_unit_test(test_req_str),      cmocka_unit_test(test_int_json),
	        cmocka_unit_test(test_int_form),     cmocka_unit_test(test_int_range),
	        cmocka_unit_test(test_int_uint64),   cmocka_unit_test(test_bool),
	        cmocka_unit_test(test_enum),         cmocka_unit_test(test_sdk_bodies),
	        cmocka_unit_test(test_only_and_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
