/*
 * The form decoder: Stripe's bracket notation into the JSON tree, and every
 * refusal form.h lists, each with the param it names.
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
#include "http/form.h"

/* Decodes s and compares the tree's compact JSON text with want. */
static void tree_n(const char *s, size_t n, const char *want)
{
	struct err e;
	struct json_object *o;

	err_clear(&e);
	o = form_decode(s, n, &e);
	if (o == NULL)
		fail_msg("refused %.*s: %s", (int)n, s, e.message);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), want);
	json_object_put(o);
}

static void tree(const char *s, const char *want)
{
	tree_n(s, strlen(s), want);
}

/* Refused with 400 parameter_invalid naming `param`, `want` in the message. */
static void bad_n(const char *s, size_t n, const char *param, const char *want)
{
	struct err e;
	struct json_object *o;

	err_clear(&e);
	o = form_decode(s, n, &e);
	if (o != NULL) {
		json_object_put(o);
		fail_msg("accepted %.*s", (int)n, s);
	}
	assert_int_equal(e.status, 400);
	assert_int_equal(e.type, E_INVALID_REQUEST);
	assert_string_equal(e.code, "parameter_invalid");
	assert_string_equal(e.param, param);
	if (strstr(e.message, want) == NULL)
		fail_msg("input %.*s: message \"%s\" lacks \"%s\"", (int)n, s, e.message, want);
}

static void bad(const char *s, const char *param, const char *want)
{
	bad_n(s, strlen(s), param, want);
}

static void test_flat(void **state)
{
	(void)state;
	tree("", "{}");
	tree("&", "{}");
	tree("a=1", "{\"a\":\"1\"}");
	tree("a=1&b=two", "{\"a\":\"1\",\"b\":\"two\"}");
	tree("&a=1&&b=2&", "{\"a\":\"1\",\"b\":\"2\"}");
	tree("a", "{\"a\":\"\"}");
	tree("a=", "{\"a\":\"\"}");
	tree("a=b=c", "{\"a\":\"b=c\"}");
	/* Only len bytes are read. */
	tree_n("a=1&b=2", 3, "{\"a\":\"1\"}");
}

static void test_escapes(void **state)
{
	(void)state;
	tree("q=a+b", "{\"q\":\"a b\"}");
	tree("q=a%20b%2Bc", "{\"q\":\"a b+c\"}");
	tree("q=%26%3d%25", "{\"q\":\"&=%\"}");
	tree("first+name=Ann", "{\"first name\":\"Ann\"}");
	tree("name=caf%C3%A9", "{\"name\":\"caf\xc3\xa9\"}");
	tree("name=caf\xc3\xa9", "{\"name\":\"caf\xc3\xa9\"}");
	tree("e=%F0%9F%98%80", "{\"e\":\"\xf0\x9f\x98\x80\"}");
	/* Encoded brackets are brackets: the name is decoded before it is split. */
	tree("metadata%5Bplan%5D=pro", "{\"metadata\":{\"plan\":\"pro\"}}");
	/* A control character other than NUL is kept (and JSON-escaped on output). */
	tree("a=%0A", "{\"a\":\"\\n\"}");
}

static void test_bad_escapes(void **state)
{
	(void)state;
	bad("a=%G1", "a", "bad percent-escape in the value of a");
	bad("a=%1G", "a", "bad percent-escape");
	bad("a=x%", "a", "bad percent-escape");
	bad("a=%4", "a", "bad percent-escape");
	bad("a=%4&b=1", "a", "bad percent-escape");
	bad("items[0][price]=%zz", "items[0][price]", "the value of items[0][price]");
	/* In a name there is no decoded name to report yet: the offset instead. */
	bad("b=1&a%G1=1", "", "bad percent-escape in a parameter name at byte 5");
	bad("a%=1", "", "bad percent-escape in a parameter name at byte 1");
	bad("a%4", "", "bad percent-escape in a parameter name");
}

static void test_bad_bytes(void **state)
{
	(void)state;
	bad("a=%00", "a", "the value of a contains a NUL byte");
	bad_n("a=x\0y", 5, "a", "contains a NUL byte");
	bad("a%00b=1", "", "a parameter name contains a NUL byte");
	bad("a=%C3", "a", "the value of a is not valid UTF-8");
	bad("a=%C3%28", "a", "not valid UTF-8");
	bad("a=%C0%AF", "a", "not valid UTF-8");       /* overlong */
	bad("a=%E0%80%AF", "a", "not valid UTF-8");    /* overlong */
	bad("a=%ED%A0%80", "a", "not valid UTF-8");    /* surrogate */
	bad("a=%F4%90%80%80", "a", "not valid UTF-8"); /* above U+10FFFF */
	bad("a=%FF", "a", "not valid UTF-8");
	bad("a=\xff", "a", "not valid UTF-8");
	bad("a=\xe2\x82", "a", "not valid UTF-8");
	bad("x=1&%FF=1", "", "a parameter name is not valid UTF-8 (at byte 4)");
	bad("a[\xc3]=1", "", "a parameter name is not valid UTF-8");
}

static void test_brackets(void **state)
{
	(void)state;
	tree("metadata[plan]=pro&metadata[seats]=3",
	     "{\"metadata\":{\"plan\":\"pro\",\"seats\":\"3\"}}");
	tree("expand[]=customer&expand[]=invoice", "{\"expand\":[\"customer\",\"invoice\"]}");
	tree("items[0][price]=p&items[1][price]=q&items[0][quantity]=2",
	     "{\"items\":[{\"price\":\"p\",\"quantity\":\"2\"},{\"price\":\"q\"}]}");
	tree("items[1][x]=b&items[0][x]=a", "{\"items\":[{\"x\":\"a\"},{\"x\":\"b\"}]}");
	tree("a[2]=c&a[0]=a&a[1]=b", "{\"a\":[\"a\",\"b\",\"c\"]}");
	tree("items[0][price_data][recurring][interval]=month",
	     "{\"items\":[{\"price_data\":{\"recurring\":{\"interval\":\"month\"}}}]}");
	tree("a[][x]=1&a[][x]=2", "{\"a\":[{\"x\":\"1\"},{\"x\":\"2\"}]}");
	tree("m[0][]=a&m[0][]=b&m[1][]=c", "{\"m\":[[\"a\",\"b\"],[\"c\"]]}");
	/* Keys that are not canonical indexes stay object keys. */
	tree("metadata[007]=x&metadata[-1]=y&metadata[2fa]=z",
	     "{\"metadata\":{\"007\":\"x\",\"-1\":\"y\",\"2fa\":\"z\"}}");
	tree("a[b c]=1", "{\"a\":{\"b c\":\"1\"}}");
}

static void test_bad_names(void **state)
{
	(void)state;
	bad("=1", "", "Invalid form data: a parameter name is empty.");
	bad("a=1&=", "", "a parameter name is empty");
	bad("[a]=1", "[a]", "Invalid parameter name: [a] starts with a bracket.");
	bad("[]=1", "[]", "starts with a bracket");
	bad("a[b=1", "a[b", "a[b has unbalanced brackets");
	bad("a]=1", "a]", "unbalanced brackets");
	bad("a[b]]=1", "a[b]]", "unbalanced brackets");
	bad("a[b]c=1", "a[b]c", "unbalanced brackets");
	bad("a[b[c]]=1", "a[b[c]]", "unbalanced brackets");
	bad("a[=1", "a[", "unbalanced brackets");
	bad("a[b][=1", "a[b][", "unbalanced brackets");
}

static char *repeat_name(const char *base, int n, const char *seg, const char *tail)
{
	size_t len = strlen(base) + (size_t)n * strlen(seg) + strlen(tail) + 1;
	char *s = malloc(len);

	assert_non_null(s);
	strcpy(s, base);
	for (int i = 0; i < n; i++)
		strcat(s, seg);
	strcat(s, tail);
	return s;
}

static void test_depth(void **state)
{
	char *s;
	struct err e;
	struct json_object *o;

	(void)state;
	s = repeat_name("a", FORM_MAX_DEPTH, "[x]", "=1");
	err_clear(&e);
	o = form_decode(s, strlen(s), &e);
	assert_non_null(o);
	json_object_put(o);
	free(s);
	s = repeat_name("a", FORM_MAX_DEPTH + 1, "[x]", "=1");
	bad(s,
	    "a[x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x]"
	    "[x][x][x][x][x]",
	    "nested deeper than 32 brackets");
	free(s);
	s = repeat_name("a", 100, "[]", "=1");
	err_clear(&e);
	assert_null(form_decode(s, strlen(s), &e));
	assert_non_null(strstr(e.message, "nested deeper than 32 brackets"));
	free(s);
}

static void test_index_limit(void **state)
{
	size_t cap = 20000, len = 0;
	char *s = malloc(cap);
	struct err e;
	struct json_object *o, *arr;

	(void)state;
	assert_non_null(s);
	/* Written from the top down, so the array grows to 1000 at once and then fills. */
	for (int i = FORM_MAX_INDEX; i >= 0; i--)
		len += (size_t)snprintf(s + len, cap - len, "%sa[%d]=%d", len ? "&" : "", i, i);
	err_clear(&e);
	o = form_decode(s, len, &e);
	if (o == NULL)
		fail_msg("%s", e.message);
	assert_true(json_object_object_get_ex(o, "a", &arr));
	assert_int_equal(json_object_array_length(arr), 1000);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 999)), "999");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 0)), "0");
	json_object_put(o);
	free(s);

	bad("items[1000][price]=p", "items[1000][price]",
	    "Invalid array index in items[1000][price]: an index must be at most 999.");
	bad("items[1000]=p", "items[1000]", "at most 999");
	bad("items[99999999999999999999999]=p", "items[99999999999999999999999]", "at most 999");
}

static void test_non_numeric_index(void **state)
{
	(void)state;
	bad("items[0]=a&items[x]=b", "items[x]",
	    "Invalid array index in items[x]: an index must be a decimal number");
	bad("items[0]=a&items[01]=b", "items[01]", "must be a decimal number");
	bad("items[]=a&items[-1]=b", "items[-1]", "must be a decimal number");
	bad("items[0][price]=a&items[ 1][price]=b", "items[ 1][price]", "must be a decimal number");
	/* The other way round: an object addressed by index. */
	bad("metadata[a]=1&metadata[0]=2", "metadata[0]",
	    "metadata[0] is given both as an object and as an array");
	bad("metadata[a]=1&metadata[]=2", "metadata[]", "both as an object and as an array");
}

static void test_holes(void **state)
{
	(void)state;
	bad("items[0]=a&items[2]=b", "items[1]",
	    "Invalid array: items[1] is missing; array indexes must run from 0 without gaps.");
	bad("items[1]=a", "items[0]", "items[0] is missing");
	bad("items[0][tiers][1][up_to]=5", "items[0][tiers][0]", "items[0][tiers][0] is missing");
	bad("x=1&m[a][b][3]=1&m[a][b][0]=1&m[a][b][1]=1", "m[a][b][2]", "is missing");
}

/* Indexes that reserve more slots than any hole-free tree could use are refused early. */
static void test_slot_bound(void **state)
{
	size_t cap = 40000, len = 0;
	char *s = malloc(cap);
	struct err e;

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(s + len, cap - len, "%sa%d[999]=x", i ? "&" : "", i);
	err_clear(&e);
	assert_null(form_decode(s, len, &e));
	assert_string_equal(e.param, "a33[999]");
	assert_non_null(strstr(e.message, "must run from 0 without gaps"));
	free(s);
}

static void test_conflicts(void **state)
{
	(void)state;
	bad("a=1&a=2", "a", "Invalid parameter: a is given more than once.");
	bad("a[b]=1&a[b]=2", "a[b]", "given more than once");
	bad("a[0]=1&a[0]=2", "a[0]", "given more than once");
	bad("a[]=1&a[0]=2", "a[0]", "given more than once");
	bad("a=1&a[b]=2", "a[b]",
	    "Invalid parameter: a[b] is given both as a value and as an object or array.");
	bad("a[b]=2&a=1", "a", "both as a value and as an object or array");
	bad("a=1&a[]=2", "a[]", "both as a value and as an object or array");
	bad("a[]=2&a=1", "a", "both as a value and as an object or array");
	bad("a[b]=1&a[b][c]=2", "a[b][c]", "both as a value");
	bad("a[b][c]=1&a[b]=2", "a[b]", "both as a value");
	bad("a[0]=1&a[0][x]=2", "a[0][x]", "both as a value");
}

static void test_param_count(void **state)
{
	size_t cap = 20000, len = 0;
	char *s = malloc(cap);
	struct err e;
	struct json_object *o;

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < FORM_MAX_PARAMS; i++)
		len += (size_t)snprintf(s + len, cap - len, "%sp%d=1", i ? "&" : "", i);
	err_clear(&e);
	o = form_decode(s, len, &e);
	assert_non_null(o);
	assert_int_equal(json_object_object_length(o), FORM_MAX_PARAMS);
	json_object_put(o);
	/* Empty pairs are not parameters. */
	len += (size_t)snprintf(s + len, cap - len, "&&&");
	o = form_decode(s, len, &e);
	assert_non_null(o);
	json_object_put(o);
	len += (size_t)snprintf(s + len, cap - len, "&p1000=1");
	bad_n(s, len, "", "Invalid form data: more than 1000 parameters.");
	free(s);
}

static void test_long_param_cut(void **state)
{
	char s[400];
	struct err e;

	(void)state;
	/* 126 ASCII bytes then two 'é': the param is cut below 128 bytes, never inside a character.
	 */
	memset(s, 'k', 126);
	memcpy(s + 126, "\xc3\xa9\xc3\xa9=%zz", 8);
	err_clear(&e);
	assert_null(form_decode(s, 134, &e));
	assert_int_equal(strlen(e.param), 126);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_flat),
	        cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_bad_escapes),
	        cmocka_unit_test(test_bad_bytes),
	        cmocka_unit_test(test_brackets),
	        cmocka_unit_test(test_bad_names),
	        cmocka_unit_test(test_depth),
	        cmocka_unit_test(test_index_limit),
	        cmocka_unit_test(test_non_numeric_index),
	        cmocka_unit_test(test_holes),
	        cmocka_unit_test(test_slot_bound),
	        cmocka_unit_test(test_conflicts),
	        cmocka_unit_test(test_param_count),
	        cmocka_unit_test(test_long_param_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
