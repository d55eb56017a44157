/*
 * The strict JSON parser: what it builds and every refusal jsonin.h lists.
 * Each input is passed with its exact length, so NUL bytes and unterminated
 * buffers are tested too.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/err.h"
#include "core/jsonin.h"

#define K10 "kkkkkkkkkk"
#define K50 K10 K10 K10 K10 K10

static struct json_object *ok_n(const char *s, size_t n)
{
	struct err e;
	struct json_object *o;

	err_clear(&e);
	o = jsonin_parse(s, n, &e);
	if (o == NULL)
		fail_msg("refused %.*s: %s", (int)n, s, e.message);
	return o;
}

static struct json_object *ok(const char *s)
{
	return ok_n(s, strlen(s));
}

/* Refused with 400 invalid_request_error, no param, and `want` in the message. */
static void bad_n(const char *s, size_t n, const char *want)
{
	struct err e;
	struct json_object *o;

	err_clear(&e);
	o = jsonin_parse(s, n, &e);
	if (o != NULL) {
		json_object_put(o);
		fail_msg("accepted %.*s", (int)n, s);
	}
	assert_int_equal(e.status, 400);
	assert_int_equal(e.type, E_INVALID_REQUEST);
	assert_string_equal(e.param, "");
	assert_true(strncmp(e.message, "Invalid JSON: ", 14) == 0);
	if (strstr(e.message, want) == NULL)
		fail_msg("input %.*s: message \"%s\" lacks \"%s\"", (int)n, s, e.message, want);
}

static void bad(const char *s, const char *want)
{
	bad_n(s, strlen(s), want);
}

/* The decoded value of a one-string array ["..."], compared byte for byte. */
static void string_is(const char *json, const char *want, size_t wantlen)
{
	struct json_object *o = ok(json), *s;

	assert_true(json_object_is_type(o, json_type_array));
	s = json_object_array_get_idx(o, 0);
	assert_true(json_object_is_type(s, json_type_string));
	assert_int_equal(json_object_get_string_len(s), wantlen);
	assert_memory_equal(json_object_get_string(s), want, wantlen);
	json_object_put(o);
}

static char *nested(int depth, char open, char close, const char *inner)
{
	size_t il = strlen(inner);
	char *s = malloc((size_t)depth * 6 + il + 1);
	size_t o = 0;

	assert_non_null(s);
	for (int i = 0; i < depth; i++) {
		if (open == '{') {
			memcpy(s + o, "{\"a\":", 5);
			o += 5;
		} else {
			s[o++] = open;
		}
	}
	memcpy(s + o, inner, il);
	o += il;
	for (int i = 0; i < depth; i++)
		s[o++] = close;
	s[o] = '\0';
	return s;
}

static void test_values(void **state)
{
	struct json_object
	        *o = ok(" {\"a\": 1, \"b\": -2, \"c\": \"x\", \"d\": true, \"e\": false, "
	                "\"f\": null, \"g\": [1, \"two\", []], \"h\": {\"i\": {}}}\r\n\t "),
	        *v;

	(void)state;
	assert_true(json_object_is_type(o, json_type_object));
	assert_int_equal(json_object_object_length(o), 8);
	assert_true(json_object_object_get_ex(o, "a", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(o, "b", &v));
	assert_int_equal(json_object_get_int64(v), -2);
	assert_true(json_object_object_get_ex(o, "c", &v));
	assert_string_equal(json_object_get_string(v), "x");
	assert_true(json_object_object_get_ex(o, "d", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "e", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "f", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "g", &v));
	assert_true(json_object_is_type(v, json_type_array));
	assert_int_equal(json_object_array_length(v), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "two");
	assert_true(json_object_object_get_ex(o, "h", &v));
	assert_true(json_object_object_get_ex(v, "i", &v));
	assert_true(json_object_is_type(v, json_type_object));
	assert_int_equal(json_object_object_length(v), 0);
	/* Insertion order is kept, so param_only names the first unknown key. */
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	                    "{\"a\":1,\"b\":-2,\"c\":\"x\",\"d\":true,\"e\":false,\"f\":null,"
	                    "\"g\":[1,\"two\",[]],\"h\":{\"i\":{}}}");
	json_object_put(o);
}

static void test_top_level_scalars(void **state)
{
	struct json_object *o;

	(void)state;
	o = ok("42");
	assert_int_equal(json_object_get_int64(o), 42);
	json_object_put(o);
	o = ok("\"x\"");
	assert_string_equal(json_object_get_string(o), "x");
	json_object_put(o);
	o = ok("true");
	assert_true(json_object_get_boolean(o));
	json_object_put(o);
	o = ok("[]");
	assert_int_equal(json_object_array_length(o), 0);
	json_object_put(o);
	/* null is the error return, so a bare null is refused by name. */
	bad("null", "must be an object, not null");
	bad(" null ", "not null");
}

static void test_empty_and_trailing(void **state)
{
	struct json_object *o;

	(void)state;
	bad("", "the body is empty");
	bad(" \t\r\n", "the body is empty");
	bad("{} x", "unexpected data after the JSON value at byte 3");
	bad("{}{}", "unexpected data after the JSON value at byte 2");
	bad("1 2", "unexpected data after the JSON value at byte 2");
	bad("[1]]", "unexpected data after");
	bad_n("{}\0", 3, "unexpected data after");
	/* Form feed and vertical tab are not JSON whitespace. */
	bad("{}\f", "unexpected data after");
	bad("\v{}", "unexpected byte 0x0b at byte 0");
	o = ok("{}  \n\r\t");
	json_object_put(o);
	/* The buffer need not be terminated: only len bytes are read. */
	o = ok_n("{\"a\":1}garbage", 7);
	assert_int_equal(json_object_object_length(o), 1);
	json_object_put(o);
}

static void test_duplicate_keys(void **state)
{
	struct err e;
	struct json_object *o;

	(void)state;
	err_clear(&e);
	assert_null(jsonin_parse("{\"email\":\"a\",\"email\":\"b\"}", 25, &e));
	assert_string_equal(e.message, "Invalid JSON: duplicate key \"email\" at byte 13.");
	assert_int_equal(e.status, 400);
	assert_null(e.code);
	bad("{\"a\":{\"x\":1,\"y\":2,\"x\":3}}", "duplicate key \"x\" at byte 18");
	/* The same key decoded from an escape is still the same key. */
	bad("{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\"");
	/* A null value still occupies its key. */
	bad("{\"a\":null,\"a\":1}", "duplicate key \"a\"");
	/* Quotes and control characters are masked, long keys cut. */
	bad("{\"a\\\"b\\n\":1,\"a\\\"b\\n\":2}", "duplicate key \"a?b?\"");
	bad("{\"" K50 "\":1,\"" K50 "\":2}", "duplicate key \"" K10 K10 K10 K10 "...\"");
	/* A cut never splits a character: 39 ASCII bytes then a 2-byte one. */
	bad("{\"" K10 K10 K10 "kkkkkkkkk\xc3\xa9z\":1,\"" K10 K10 K10 "kkkkkkkkk\xc3\xa9z\":2}",
	    "\"" K10 K10 K10 "kkkkkkkkk...\"");
	/* Same key in different objects, and keys differing only in case, are fine. */
	o = ok("{\"a\":{\"x\":1},\"b\":{\"x\":2},\"A\":3}");
	json_object_put(o);
	o = ok("[{\"x\":1},{\"x\":2}]");
	json_object_put(o);
}

static void test_escapes(void **state)
{
	(void)state;
	string_is("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "\"\\/\b\f\n\r\t", 8);
	string_is("[\"\\u0041\\u00e9\\u20AC\"]", "A\xc3\xa9\xe2\x82\xac", 6);
	string_is("[\"\\u0001\\u001f\"]", "\x01\x1f", 2);
	string_is("[\"\\uD83D\\uDE00\"]", "\xf0\x9f\x98\x80", 4);
	string_is("[\"\\udbff\\udfff\"]", "\xf4\x8f\xbf\xbf", 4);
	string_is("[\"\\uFFFF\"]", "\xef\xbf\xbf", 3);
	string_is("[\"\"]", "", 0);
	bad("[\"\\x\"]", "invalid escape in string at byte 2");
	bad("[\"\\'\"]", "invalid escape");
	bad("[\"\\u12\"]", "invalid \\u escape at byte 2");
	bad("[\"\\u12G4\"]", "invalid \\u escape");
	bad("[\"\\U0041\"]", "invalid escape");
	bad("[\"\\", "unexpected end of input");
	bad("[\"abc", "unexpected end of input");
	bad("[\"\\u00", "invalid \\u escape");
}

static void test_nul_and_surrogates(void **state)
{
	(void)state;
	bad("[\"\\u0000\"]", "\\u0000 is not allowed in strings at byte 2");
	bad("{\"a\\u0000b\":1}", "\\u0000 is not allowed");
	bad("[\"\\uD800\"]", "lone high surrogate");
	bad("[\"\\uDBFFx\"]", "lone high surrogate");
	bad("[\"\\uD800\\n\"]", "lone high surrogate");
	bad("[\"\\uD800\\u0041\"]", "lone high surrogate");
	bad("[\"\\uD800\\uD800\"]", "lone high surrogate");
	bad("[\"\\uD800\\u00\"]", "invalid \\u escape");
	bad("[\"\\uDC00\"]", "lone low surrogate");
	bad("[\"\\uDFFF\\uD800\"]", "lone low surrogate");
	bad("[\"\\uDE00\\uD83D\"]", "lone low surrogate");
	bad("[\"x\\uD800", "lone high surrogate");
}

static void test_control_chars(void **state)
{
	(void)state;
	bad("[\"a\tb\"]", "unescaped control character in string at byte 3");
	bad("[\"a\nb\"]", "unescaped control character");
	bad("[\"\x01\"]", "unescaped control character");
	bad("[\"\x1f\"]", "unescaped control character");
	bad_n("[\"a\0b\"]", 6, "unescaped control character in string at byte 3");
	bad("{\"a\rb\":1}", "unescaped control character");
	/* DEL is not a control character for JSON. */
	string_is("[\"\x7f\"]", "\x7f", 1);
}

static void test_utf8(void **state)
{
	(void)state;
	string_is("[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]",
	          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14);
	string_is("[\"\xf4\x8f\xbf\xbf\"]", "\xf4\x8f\xbf\xbf", 4);
	bad("[\"\x80\"]", "invalid UTF-8 at byte 2");
	bad("[\"\xbf\"]", "invalid UTF-8");
	bad("[\"\xc3\"]", "invalid UTF-8");
	bad("[\"\xc3", "invalid UTF-8");
	bad("[\"\xc3(\"]", "invalid UTF-8");
	bad("[\"\xe2\x82\"]", "invalid UTF-8");
	bad("[\"\xe2\x82", "invalid UTF-8");
	bad("[\"\xc0\xaf\"]", "invalid UTF-8");         /* overlong '/' */
	bad("[\"\xc1\xbf\"]", "invalid UTF-8");         /* overlong */
	bad("[\"\xe0\x80\xaf\"]", "invalid UTF-8");     /* overlong, 3 bytes */
	bad("[\"\xf0\x80\x80\xaf\"]", "invalid UTF-8"); /* overlong, 4 bytes */
	bad("[\"\xed\xa0\x80\"]", "invalid UTF-8");     /* U+D800 encoded */
	bad("[\"\xed\xbf\xbf\"]", "invalid UTF-8");     /* U+DFFF encoded */
	bad("[\"\xf4\x90\x80\x80\"]", "invalid UTF-8"); /* above U+10FFFF */
	bad("[\"\xf5\x80\x80\x80\"]", "invalid UTF-8");
	bad("[\"\xfe\"]", "invalid UTF-8");
	bad("[\"\xff\"]", "invalid UTF-8");
	bad("{\"k\xff\":1}", "invalid UTF-8 at byte 3");
	/* Outside strings a non-ASCII byte is simply not JSON. */
	bad("[\xc3\xa9]", "unexpected byte 0xc3 at byte 1");
	bad("\xef\xbb\xbf{}", "unexpected byte 0xef at byte 0"); /* no BOM */
}

static void test_numbers(void **state)
{
	struct json_object *o, *v;

	(void)state;
	o = ok("[0, -0, 123, 9223372036854775807, -9223372036854775808, "
	       "9223372036854775808, -9223372036854775809, 99999999999999999999, "
	       "20.5, 1e3, 1E+3, 2.5e-3, -0.0]");
	for (size_t i = 0; i < 5; i++)
		assert_true(json_object_is_type(json_object_array_get_idx(o, i), json_type_int));
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(o, 0)), 0);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(o, 1)), 0);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(o, 2)), 123);
	assert_true(json_object_get_int64(json_object_array_get_idx(o, 3)) == INT64_MAX);
	assert_true(json_object_get_int64(json_object_array_get_idx(o, 4)) == INT64_MIN);
	for (size_t i = 5; i < 13; i++)
		assert_true(json_object_is_type(json_object_array_get_idx(o, i), json_type_double));
	/* Doubles keep their literal, so errors quote what the client sent. */
	v = json_object_array_get_idx(o, 7);
	assert_string_equal(json_object_get_string(v), "99999999999999999999");
	v = json_object_array_get_idx(o, 8);
	assert_true(json_object_get_double(v) == 20.5);
	v = json_object_array_get_idx(o, 9);
	assert_true(json_object_get_double(v) == 1000.0);
	assert_string_equal(json_object_get_string(v), "1e3");
	v = json_object_array_get_idx(o, 11);
	assert_true(json_object_get_double(v) == 2.5e-3);
	json_object_put(o);

	bad("[01]", "leading zero in number at byte 1");
	bad("[-01]", "leading zero");
	bad("[1.]", "digit expected after decimal point at byte 3");
	bad("[1.e3]", "digit expected after decimal point");
	bad("[.5]", "unexpected character '.' at byte 1");
	bad("[+1]", "unexpected character '+'");
	bad("[-]", "unexpected character ']'");
	bad("[-", "unexpected end of input");
	bad("[1e]", "digit expected in exponent");
	bad("[1e+]", "digit expected in exponent");
	bad("[0x10]", "',' or ']' expected at byte 2");
	bad("[1e999]", "number out of range at byte 1");
	bad("[-1e999]", "number out of range");
}

static void test_nan_infinity(void **state)
{
	(void)state;
	bad("[NaN]", "NaN and Infinity are not allowed at byte 1");
	bad("[Infinity]", "NaN and Infinity are not allowed");
	bad("[-Infinity]", "NaN and Infinity are not allowed at byte 1");
	bad("{\"a\":NaN}", "NaN and Infinity");
	bad("[nan]", "unexpected character 'n'");
	bad("[inf]", "unexpected character 'i'");
}

static void test_literals_and_syntax(void **state)
{
	(void)state;
	bad("[tru]", "unexpected character 't' at byte 1");
	bad("[True]", "unexpected character 'T'");
	bad("[nul]", "unexpected character 'n'");
	bad("[falsey]", "',' or ']' expected");
	bad("{\"a\" 1}", "':' expected after object key at byte 5");
	bad("{\"a\":1,}", "object key expected at byte 7");
	bad("{,}", "object key expected at byte 1");
	bad("{1:2}", "object key expected");
	bad("{'a':1}", "object key expected");
	bad("{\"a\":1 \"b\":2}", "',' or '}' expected at byte 7");
	bad("[1,]", "unexpected character ']' at byte 3");
	bad("[1 2]", "',' or ']' expected at byte 3");
	bad("[,1]", "unexpected character ','");
	bad("[", "unexpected end of input");
	bad("{", "unexpected end of input");
	bad("{\"a\"", "unexpected end of input");
	bad("{\"a\":", "unexpected end of input");
	bad("{\"a\":1", "unexpected end of input");
	bad("{\"a\":1,", "unexpected end of input");
	bad("[1", "unexpected end of input");
	bad("[1,", "unexpected end of input");
	bad("]", "unexpected character ']' at byte 0");
	bad("\"", "unexpected end of input");
	bad("/* c */ {}", "unexpected character '/'");
}

static void test_depth(void **state)
{
	char *s;
	struct json_object *o;

	(void)state;
	s = nested(JSONIN_MAX_DEPTH, '[', ']', "1");
	o = ok(s);
	json_object_put(o);
	free(s);
	s = nested(JSONIN_MAX_DEPTH + 1, '[', ']', "1");
	bad(s, "nesting deeper than 32 levels at byte 32");
	free(s);
	s = nested(JSONIN_MAX_DEPTH, '{', '}', "{}");
	bad(s, "nesting deeper than 32 levels");
	free(s);
	s = nested(JSONIN_MAX_DEPTH - 1, '{', '}', "[]");
	o = ok(s);
	json_object_put(o);
	free(s);
	s = nested(100, '[', ']', "");
	bad(s, "nesting deeper than 32 levels");
	free(s);
	/* Deep but unterminated: the depth refusal comes first, nothing leaks. */
	s = nested(100000, '[', '[', "");
	bad(s, "nesting deeper than 32 levels");
	free(s);
}

static void test_large(void **state)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 8);
	struct json_object *o;
	size_t len;

	(void)state;
	assert_non_null(s);
	/* A 1 MiB string of escapes and plain runs. */
	s[0] = '[';
	s[1] = '"';
	len = 2;
	while (len < n) {
		memcpy(s + len, "ab\\n\xc3\xa9", 6);
		len += 6;
	}
	memcpy(s + len, "\"]", 2);
	len += 2;
	o = ok_n(s, len);
	assert_int_equal(json_object_get_string_len(json_object_array_get_idx(o, 0)),
	                 (len - 4) / 6 * 5);
	json_object_put(o);
	/* 100k small elements. */
	len = 0;
	s[len++] = '[';
	for (int i = 0; i < 100000; i++) {
		memcpy(s + len, "1,", 2);
		len += 2;
	}
	s[len - 1] = ']';
	o = ok_n(s, len);
	assert_int_equal(json_object_array_length(o), 100000);
	json_object_put(o);
	free(s);
}

/* Failures deep inside a tree free what was built (ASan's leak check sees it). */
static void test_cleanup_on_error(void **state)
{
	(void)state;
	bad("{\"a\":[1,{\"b\":\"x\",\"c\":[true,false,null,\"\\uD800\"]}]}", "lone high");
	bad("{\"a\":[1,{\"b\":\"x\"}],\"a\":2}", "duplicate key");
	bad("[{\"a\":\"x\"},[\"y\"],\"z\" 1]", "',' or ']' expected");
	bad("{\"k\":\"v\",\"n\":1.5,\"big\":123456789012345678901234} x", "unexpected data");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_values),
	        cmocka_unit_test(test_top_level_scalars),
	        cmocka_unit_test(test_empty_and_trailing),
	        cmocka_unit_test(test_duplicate_keys),
	        cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_nul_and_surrogates),
	        cmocka_unit_test(test_control_chars),
	        cmocka_unit_test(test_utf8),
	        cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_nan_infinity),
	        cmocka_unit_test(test_literals_and_syntax),
	        cmocka_unit_test(test_depth),
	        cmocka_unit_test(test_large),
	        cmocka_unit_test(test_cleanup_on_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
