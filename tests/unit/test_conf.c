/*
 * core/conf: defaults, the shipped files, every range, integers that libconfig
 * would wrap, wrong types, unknown settings, the error message's file, line
 * and setting, the platform fee, listen forms, CORS origins, the server check
 * and masking in conf_print.  Each case writes a temporary file.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"

static char tmp_path[4096];
static char errbuf[512];

/* Writes text to a new temporary file; its name is left in tmp_path. */
static void write_tmp(const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(tmp_path, sizeof(tmp_path), "%s/test_conf.XXXXXX", dir);
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* conf_load of text; the temporary file is removed again. */
static int load(const char *text, struct conf *c)
{
	int rc;

	write_tmp(text, strlen(text));
	errbuf[0] = '\0';
	rc = conf_load(tmp_path, c, errbuf, sizeof(errbuf));
	unlink(tmp_path);
	if (rc == 0)
		assert_string_equal(errbuf, "");
	else
		assert_true(errbuf[0] != '\0');
	return rc;
}

static void expect_ok(const char *text, struct conf *c)
{
	if (load(text, c) != 0)
		fail_msg("refused: %s\n%s", errbuf, text);
}

/* Refused, with "PATH:LINE: " and then want somewhere in the message. */
static void expect_refused_at(const char *text, int line, const char *want)
{
	struct conf c;
	char prefix[4200];

	if (load(text, &c) == 0)
		fail_msg("accepted: %s", text);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", tmp_path, line);
	if (strncmp(errbuf, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", errbuf, prefix);
	if (want != NULL && strstr(errbuf, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", errbuf, want);
	conf_free(&c);
}

static void expect_refused(const char *text, const char *want)
{
	expect_refused_at(text, 1, want);
}

static void test_defaults(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_null(c.path);
	assert_string_equal(c.db_conninfo, "dbname=levy user=levy_app");
	assert_string_equal(c.db_owner_conninfo, "dbname=levy user=levy_owner");
	assert_string_equal(c.listen, "unix:/run/levy/levy-fcgi.sock");
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.max_requests, 10000);
	assert_int_equal(c.body_limit, 1048576);
	assert_int_equal(c.request_timeout, 30);
	assert_string_equal(c.jwt_secret, "");
	assert_int_equal(c.jwt_access_ttl, 900);
	assert_int_equal(c.jwt_refresh_ttl, 1209600);
	assert_int_equal(c.password_iterations, 600000);
	assert_int_equal(c.platform_fee_bp, 1500);
	assert_int_equal(c.ncors_origins, 0);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_false(c.webhook_allow_http_loopback);
	assert_int_equal(c.login_max_failures, 5);
	conf_free(&c);
	/* Freed twice is harmless: conf_free leaves the struct empty. */
	conf_free(&c);
	assert_null(c.db_conninfo);
}

static void test_empty_file_is_defaults(void **state)
{
	struct conf c;

	(void)state;
	expect_ok("# nothing\n", &c);
	assert_non_null(c.path);
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.listen, "unix:/run/levy/levy-fcgi.sock");
	assert_int_equal(c.platform_fee_bp, 1500);
	conf_free(&c);
}

/* The reference file documents the defaults, so loading it changes nothing. */
static void test_reference_file(void **state)
{
	struct conf c, d;

	(void)state;
	if (conf_load(TEST_SRCDIR "/etc/levy.conf", &c, errbuf, sizeof(errbuf)) != 0)
		fail_msg("etc/levy.conf: %s", errbuf);
	conf_defaults(&d);
	assert_string_equal(c.db_conninfo, d.db_conninfo);
	assert_string_equal(c.db_owner_conninfo, d.db_owner_conninfo);
	assert_string_equal(c.listen, d.listen);
	assert_int_equal(c.socket_mode, d.socket_mode);
	assert_int_equal(c.workers, d.workers);
	assert_int_equal(c.max_requests, d.max_requests);
	assert_int_equal(c.body_limit, d.body_limit);
	assert_int_equal(c.request_timeout, d.request_timeout);
	assert_int_equal(c.jwt_access_ttl, d.jwt_access_ttl);
	assert_int_equal(c.jwt_refresh_ttl, d.jwt_refresh_ttl);
	assert_int_equal(c.password_iterations, d.password_iterations);
	assert_int_equal(c.platform_fee_bp, d.platform_fee_bp);
	assert_int_equal(c.log_level, d.log_level);
	assert_int_equal(c.webhook_allow_http_loopback, d.webhook_allow_http_loopback);
	assert_int_equal(c.login_max_failures, d.login_max_failures);
	/* No secret ships: a server started on the file as it is refuses. */
	assert_int_equal(conf_check_server(&c, errbuf, sizeof(errbuf)), -1);
	conf_free(&c);
	conf_free(&d);

	if (conf_load(TEST_SRCDIR "/etc/levy-minimal.conf", &c, errbuf, sizeof(errbuf)) != 0)
		fail_msg("etc/levy-minimal.conf: %s", errbuf);
	assert_non_null(strstr(c.db_conninfo, "dbname="));
	assert_true(strncmp(c.listen, "unix:/", 6) == 0);
	conf_free(&c);
}

/* A file setting every value away from its default. */
static void test_full_file(void **state)
{
	struct conf c;

	(void)state;
	expect_ok("database = {\n"
	          "  conninfo = \"host=db.internal dbname=billing user=app\";\n"
	          "  owner_conninfo = \"postgresql://owner@db.internal/billing\";\n"
	          "};\n"
	          "listen = \"127.0.0.1:9000\";\n"
	          "socket_mode = 0600;\n"
	          "workers = 16; max_requests = 0;\n"
	          "body_limit = 0x10000;\n"
	          "request_timeout = 3600L;\n"
	          "jwt : { secret = \"0123456789abcdef0123456789abcdef\"; access_ttl = 60;\n"
	          "        refresh_ttl = 31536000 }\n"
	          "password = { iterations = 1000; };\n"
	          "platform_fee_percentage = \"2.9\";\n"
	          "cors_origins = [\"https://app.example.com\", \"http://localhost:5173\"];\n"
	          "log_level = \"debug\";\n"
	          "webhook_allow_http_loopback = true;\n"
	          "login_max_failures = 1000;\n",
	          &c);
	assert_string_equal(c.db_conninfo, "host=db.internal dbname=billing user=app");
	assert_string_equal(c.db_owner_conninfo, "postgresql://owner@db.internal/billing");
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.socket_mode, 0600);
	assert_int_equal(c.workers, 16);
	assert_int_equal(c.max_requests, 0);
	assert_int_equal(c.body_limit, 65536);
	assert_int_equal(c.request_timeout, 3600);
	assert_string_equal(c.jwt_secret, "0123456789abcdef0123456789abcdef");
	assert_int_equal(c.jwt_access_ttl, 60);
	assert_int_equal(c.jwt_refresh_ttl, 31536000);
	assert_int_equal(c.password_iterations, 1000);
	assert_int_equal(c.platform_fee_bp, 290);
	assert_int_equal(c.ncors_origins, 2);
	assert_string_equal(c.cors_origins[0], "https://app.example.com");
	assert_string_equal(c.cors_origins[1], "http://localhost:5173");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_true(c.webhook_allow_http_loopback);
	assert_int_equal(c.login_max_failures, 1000);
	assert_int_equal(conf_check_server(&c, errbuf, sizeof(errbuf)), 0);
	conf_free(&c);
}

struct range_case {
	const char *group; /* NULL: top level */
	const char *name;
	long long min, max;
};

static const struct range_case ranges[] = {
        {NULL, "workers", 1, 256},
        {NULL, "max_requests", 0, 1000000000},
        {NULL, "body_limit", 1024, 67108864},
        {NULL, "request_timeout", 1, 3600},
        {"jwt", "access_ttl", 60, 86400},
        {"jwt", "refresh_ttl", 300, 31536000},
        {"password", "iterations", 1000, 10000000},
        {NULL, "login_max_failures", 1, 1000},
};

static void range_file(char *buf, size_t len, const struct range_case *r, long long v)
{
	if (r->group != NULL)
		snprintf(buf, len, "\n%s = {\n  %s = %lld;\n};\n", r->group, r->name, v);
	else
		snprintf(buf, len, "\n\n%s = %lld;\n", r->name, v);
}

/* Both bounds load; one past either is refused naming the setting and the range. */
static void test_ranges(void **state)
{
	char text[256], want[128], name[64];
	struct conf c;

	(void)state;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range_case *r = &ranges[i];

		snprintf(name, sizeof(name), "%s%s%s", r->group ? r->group : "",
		         r->group ? "." : "", r->name);
		snprintf(want, sizeof(want), "%s: must be between %lld and %lld", name, r->min,
		         r->max);
		range_file(text, sizeof(text), r, r->min);
		expect_ok(text, &c);
		conf_free(&c);
		range_file(text, sizeof(text), r, r->max);
		expect_ok(text, &c);
		conf_free(&c);
		range_file(text, sizeof(text), r, r->min - 1);
		expect_refused_at(text, 3, want);
		range_file(text, sizeof(text), r, r->max + 1);
		expect_refused_at(text, 3, want);
	}
	expect_ok("workers = 1;", &c);
	assert_int_equal(c.workers, 1);
	conf_free(&c);
	expect_ok("workers = 256;", &c);
	assert_int_equal(c.workers, 256);
	conf_free(&c);
	expect_ok("jwt = { refresh_ttl = 300; }; password = { iterations = 10000000; };", &c);
	assert_int_equal(c.jwt_refresh_ttl, 300);
	assert_int_equal(c.password_iterations, 10000000);
	conf_free(&c);
	expect_ok("body_limit = 67108864; max_requests = 1000000000;", &c);
	assert_int_equal(c.body_limit, 67108864);
	assert_int_equal(c.max_requests, 1000000000);
	conf_free(&c);
}

/* libconfig 1.5 hands these back as 1, -1, ...: each must be refused, never wrapped. */
static void test_no_wrapping(void **state)
{
	(void)state;
	expect_refused("workers = 4294967297;", "workers: must be between 1 and 256");
	expect_refused("workers = 4294967300;", "workers: must be between 1 and 256");
	expect_refused("workers = 9223372036854775807;", "workers: must be between 1 and 256");
	expect_refused("workers = 9223372036854775808;", "workers: must be between 1 and 256");
	expect_refused("workers = 99999999999999999999999;", "workers: must be between");
	/* 2^64 + 4 and 2^63 * 2 + 4: an unchecked accumulator would land on 4. */
	expect_refused("workers = 18446744073709551620;", "workers: must be between");
	expect_refused("workers = 0x10000000000000004;", "workers: must be between");
	expect_refused("socket_mode = 02000000000000000000004;", "socket_mode: must be between");
	expect_refused("workers = -9223372036854775808;", "workers: must be between");
	expect_refused("workers = -9223372036854775809;", "workers: must be between");
	expect_refused("workers = -4294967292;", "workers: must be between");
	expect_refused("workers = 4294967297L;", "workers: must be between");
	expect_refused("workers = 0x100000004;", "workers: must be between");
	expect_refused("workers = 0xFFFFFFFF;", "workers: must be between");
	expect_refused("workers = 0x1FFFFFFFFFFFFFFFF;", "workers: must be between");
	expect_refused("max_requests = 4294967296;", "max_requests: must be between");
	expect_refused("body_limit = 4294968320;", "body_limit: must be between");
	expect_refused("jwt = { access_ttl = 4294967896; };", "jwt.access_ttl: must be between");
	expect_refused("password = { iterations = 4295567296; };",
	               "password.iterations: must be between");
	expect_refused("login_max_failures = 4294967301;", "login_max_failures: must be between");
	expect_refused("request_timeout = 4294967326;", "request_timeout: must be between");
	expect_refused("socket_mode = 040000000004;", "socket_mode: must be between 0 and 0777");
	expect_refused("socket_mode = 07777777777777777777777777;",
	               "socket_mode: must be between 0 and 0777");
}

/* The literal is found where libconfig found the setting, not in comments or strings. */
static void test_literal_scan_ok(void **state)
{
	struct conf c;

	(void)state;
	expect_ok(
	        "/* workers = 4294967297; */\n"
	        "# workers = 4294967297;\n"
	        "// workers = 4294967297;\n"
	        "jwt = { secret = \"workers = 4294967297 \\\" workers = 9\"; access_ttl = 120 };\n"
	        "database = { conninfo = \"dbname=x\" \" user=y\"; };\n"
	        "workers=7 max_requests=5L\n"
	        "login_max_failures:3,request_timeout = +9;\n",
	        &c);
	assert_int_equal(c.workers, 7);
	assert_int_equal(c.max_requests, 5);
	assert_int_equal(c.login_max_failures, 3);
	assert_int_equal(c.request_timeout, 9);
	assert_int_equal(c.jwt_access_ttl, 120);
	assert_string_equal(c.db_conninfo, "dbname=x user=y");
	assert_string_equal(c.jwt_secret, "workers = 4294967297 \" workers = 9");
	conf_free(&c);
	/* The other way round: a harmless value in a comment does not hide the real one. */
	expect_refused_at("# workers = 5;\n/* workers = 6; */ workers = 4294967297;\n", 2,
	                  "workers: must be between");
	/* A group's access_ttl is not the top-level one and the other way round. */
	expect_refused("access_ttl = 100;", "access_ttl: unknown setting");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_refused("workers = \"4\";", "workers: must be an integer");
	expect_refused("workers = 4.0;", "workers: must be an integer");
	expect_refused("workers = 4e0;", "workers: must be an integer");
	expect_refused("workers = true;", "workers: must be an integer");
	expect_refused("workers = [4];", "workers: must be an integer");
	expect_refused("workers = { n = 4; };", "workers: must be an integer");
	expect_refused("max_requests = 1.5;", "max_requests: must be an integer");
	expect_refused("jwt = { secret = 5; };", "jwt.secret: must be a string");
	expect_refused("listen = 9000;", "listen: must be a string");
	expect_refused("database = { conninfo = true; };", "database.conninfo: must be a string");
	expect_refused("platform_fee_percentage = 15.0;",
	               "platform_fee_percentage: must be a string");
	expect_refused("platform_fee_percentage = 15;",
	               "platform_fee_percentage: must be a string");
	expect_refused("log_level = 6;", "log_level: must be a string");
	expect_refused("webhook_allow_http_loopback = 1;",
	               "webhook_allow_http_loopback: must be true or false");
	expect_refused("webhook_allow_http_loopback = \"true\";",
	               "webhook_allow_http_loopback: must be true or false");
	expect_refused("cors_origins = \"https://a.example\";", "cors_origins: must be an array");
	expect_refused("cors_origins = [1, 2];", "cors_origins: origin 1 must be a string");
	expect_refused("cors_origins = (\"https://a.example\", 2);",
	               "cors_origins: origin 2 must be a string");
	expect_refused("socket_mode = \"0660\";", "socket_mode: must be an integer");
	expect_refused("database = 5;", "database: must be a group");
	expect_refused("jwt = \"secret\";", "jwt: must be a group");
}

static void test_unknown(void **state)
{
	(void)state;
	expect_refused_at("workers = 4;\nwokers = 4;\n", 2, "wokers: unknown setting");
	expect_refused_at("\n\nsmtp = { host = \"x\"; };\n", 3, "smtp: unknown group");
	expect_refused_at("database = {\n  conninfo = \"\";\n  pool = 5;\n};\n", 3,
	                  "database.pool: unknown setting");
	expect_refused_at("jwt = {\n  keys = { a = 1; };\n};\n", 2, "jwt.keys: unknown group");
	expect_refused("extra = [1, 2];", "extra: unknown setting");
	/* Names are case-sensitive, as libconfig's are. */
	expect_refused("Workers = 4;", "Workers: unknown setting");
}

static void test_syntax_errors(void **state)
{
	struct conf c;

	(void)state;
	expect_refused_at("workers = 4;\n\n\nlisten = ;\n", 4, "syntax error");
	expect_refused_at("jwt = {\n  access_ttl = 900;\n", 3, NULL);
	expect_refused_at("workers = 4;\nworkers = 5;\n", 2, "duplicate setting");
	expect_refused_at("\n\n\n\n\nworkers = 4 @;\n", 6, "syntax error");
	expect_refused_at("a\n", 2, NULL);
	expect_refused_at("\n@include \"/etc/passwd\"\n", 2, "@include: not supported");
	/* An @include inside a comment or a string is just text. */
	expect_ok("/*\n@include \"/etc/passwd\"\n*/\njwt = { secret = \"\n@include \"; };\n", &c);
	conf_free(&c);
}

/* The exact shape of a message: file, line, setting, what is wrong. */
static void test_message_shape(void **state)
{
	struct conf c;
	char want[4300];

	(void)state;
	assert_int_equal(load("# levy\n\nworkers = 300;\n", &c), -1);
	snprintf(want, sizeof(want), "%s:3: workers: must be between 1 and 256", tmp_path);
	assert_string_equal(errbuf, want);
	conf_free(&c);

	assert_int_equal(load("jwt = {\n\n  access_ttl = 10;\n};\n", &c), -1);
	snprintf(want, sizeof(want), "%s:3: jwt.access_ttl: must be between 60 and 86400",
	         tmp_path);
	assert_string_equal(errbuf, want);
	conf_free(&c);

	/* A short buffer truncates but stays a string. */
	write_tmp("workers = 0;\n", 13);
	assert_int_equal(conf_load(tmp_path, &c, errbuf, 8), -1);
	assert_int_equal(strlen(errbuf), 7);
	conf_free(&c);
	assert_int_equal(conf_load(tmp_path, &c, NULL, 0), -1);
	conf_free(&c);
	unlink(tmp_path);
}

static void test_file_errors(void **state)
{
	struct conf c;
	char *big;
	size_t n = 1024 * 1024 + 10;

	(void)state;
	assert_int_equal(conf_load("/nonexistent/levy.conf", &c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "/nonexistent/levy.conf: could not open"));
	/* c holds the defaults and is safe to free. */
	assert_int_equal(c.workers, 4);
	conf_free(&c);

	assert_int_equal(conf_load("/", &c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "/: could not read"));
	conf_free(&c);

	write_tmp("workers = 4;\n\0workers = 5;\n", 27);
	assert_int_equal(conf_load(tmp_path, &c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "NUL byte"));
	conf_free(&c);
	unlink(tmp_path);

	big = malloc(n);
	assert_non_null(big);
	memset(big, '\n', n);
	write_tmp(big, n);
	free(big);
	assert_int_equal(conf_load(tmp_path, &c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "larger than"));
	conf_free(&c);
	unlink(tmp_path);
}

static int fee_of(const char *fee)
{
	char text[128];
	struct conf c;
	int bp;

	snprintf(text, sizeof(text), "platform_fee_percentage = \"%s\";\n", fee);
	if (load(text, &c) != 0)
		fail_msg("fee \"%s\" refused: %s", fee, errbuf);
	bp = c.platform_fee_bp;
	conf_free(&c);
	return bp;
}

static void test_platform_fee(void **state)
{
	static const char *const bad[] = {"100.01", "-1",  "1.234", "abc",  "",     "1e2",
	                                  "101",    "1.",  ".5",    "+5",   " 5",   "5 ",
	                                  "1000",   "0x1", "5,5",   "5.-1", "100.1"};
	char text[128];

	(void)state;
	assert_int_equal(fee_of("15.00"), 1500);
	assert_int_equal(fee_of("0"), 0);
	assert_int_equal(fee_of("100"), 10000);
	assert_int_equal(fee_of("100.00"), 10000);
	assert_int_equal(fee_of("7.5"), 750);
	assert_int_equal(fee_of("2.99"), 299);
	assert_int_equal(fee_of("0.01"), 1);
	assert_int_equal(fee_of("007"), 700);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "platform_fee_percentage = \"%s\";\n", bad[i]);
		expect_refused(text, "platform_fee_percentage: must be a percentage");
	}
}

static void test_listen(void **state)
{
	static const char *const good[] = {
	        "unix:/run/levy/levy-fcgi.sock",
	        "unix:/tmp/x",
	        "127.0.0.1:9000",
	        "0.0.0.0:1",
	        "localhost:65535",
	        "fcgi-1.internal.example:9000",
	        "[::1]:9000",
	        "[::]:9000",
	        "[2001:db8::1]:443",
	        "fd:0",
	        "systemd",
	};
	static const char *const bad[] = {
	        "",
	        "unix:",
	        "unix:relative.sock",
	        "unix:/run/\x01x",
	        "127.0.0.1",
	        "127.0.0.1:",
	        "127.0.0.1:0",
	        "127.0.0.1:65536",
	        "127.0.0.1:99999999",
	        "127.0.0.1:90a",
	        "127.0.0.1:-1",
	        ":9000",
	        "host_name:9000",
	        "-host:9000",
	        "host-:9000",
	        "a..b:9000",
	        "::1:9000",
	        "[::1]",
	        "[::1]9000",
	        "[::g]:9000",
	        "[]:9000",
	        "[::1:9000",
	        "fd:1",
	        "fd:",
	        "systemd:",
	        "fd:0:1",
	        "tcp://127.0.0.1:9000",
	        "http://localhost:9000",
	};
	char text[512];
	struct conf c;
	char longpath[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "listen = \"%s\";\n", good[i]);
		expect_ok(text, &c);
		assert_string_equal(c.listen, good[i]);
		conf_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "listen = \"%s\";\n", bad[i]);
		expect_refused(text, "listen: ");
	}
	/* sun_path holds 107 bytes and a NUL. */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[108] = '\0';
	snprintf(text, sizeof(text), "listen = \"unix:%s\";\n", longpath);
	expect_refused(text, "listen: the socket path is longer");
	longpath[107] = '\0';
	snprintf(text, sizeof(text), "listen = \"unix:%s\";\n", longpath);
	expect_ok(text, &c);
	conf_free(&c);
}

static void test_cors(void **state)
{
	static const char *const good[] = {
	        "https://app.example.com", "http://localhost:5173", "http://127.0.0.1:8080",
	        "https://[::1]:8443",      "https://[::1]",         "https://x",
	};
	static const char *const bad[] = {
	        "app.example.com",
	        "https://app.example.com/",
	        "https://app.example.com/path",
	        "https://app.example.com?x=1",
	        "https://app.example.com#x",
	        "https://user@app.example.com",
	        "https://App.Example.com",
	        "ftp://app.example.com",
	        "https://",
	        "https://app.example.com:0",
	        "https://app.example.com:65536",
	        "https://app.example.com:",
	        "https://[::1",
	        "https://a_b.example",
	        "*",
	        "null",
	};
	char text[600];
	struct conf c;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "cors_origins = [\"%s\"];\n", good[i]);
		expect_ok(text, &c);
		assert_int_equal(c.ncors_origins, 1);
		assert_string_equal(c.cors_origins[0], good[i]);
		conf_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		         "cors_origins = [\n\"https://ok.example\",\n\"%s\"];\n", bad[i]);
		/* The line is the bad element's. */
		expect_refused_at(text, 3, "cors_origins: ");
	}
	expect_refused("cors_origins = [\"https://a.example/\"];", "with no path");
	expect_refused("cors_origins = [\"https://App.example\"];", "lowercase");
	expect_ok("cors_origins = [];\n", &c);
	assert_int_equal(c.ncors_origins, 0);
	conf_free(&c);

	/* CONF_MAX_CORS origins load; one more is refused. */
	for (int extra = 0; extra <= 1; extra++) {
		n = snprintf(text, sizeof(text), "cors_origins = [");
		for (int i = 0; i < CONF_MAX_CORS + extra; i++)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\"http://h%d\"",
			              i ? "," : "", i);
		snprintf(text + n, sizeof(text) - (size_t)n, "];\n");
		if (extra == 0) {
			expect_ok(text, &c);
			assert_int_equal(c.ncors_origins, CONF_MAX_CORS);
			assert_string_equal(c.cors_origins[CONF_MAX_CORS - 1], "http://h31");
			conf_free(&c);
		} else {
			expect_refused(text, "cors_origins: at most 32 origins");
		}
	}
}

static void test_socket_mode(void **state)
{
	struct conf c;

	(void)state;
	expect_ok("socket_mode = 0660;", &c);
	assert_int_equal(c.socket_mode, 0660);
	conf_free(&c);
	expect_ok("socket_mode = 0777;", &c);
	assert_int_equal(c.socket_mode, 0777);
	conf_free(&c);
	expect_ok("socket_mode = 0;", &c);
	assert_int_equal(c.socket_mode, 0);
	conf_free(&c);
	expect_ok("socket_mode = 0600L;", &c);
	assert_int_equal(c.socket_mode, 0600);
	conf_free(&c);
	expect_refused("socket_mode = 01000;", "socket_mode: must be between 0 and 0777");
	expect_refused("socket_mode = 660;", "socket_mode: must be an octal number like 0660");
	expect_refused("socket_mode = 0668;", "socket_mode: must be an octal number");
	expect_refused("socket_mode = 0x1B0;", "socket_mode: must be an octal number");
	expect_refused("socket_mode = -0660;", "socket_mode: must be an octal number");
}

static void test_other_settings(void **state)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	static const int values[] = {LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG};
	char text[128];
	struct conf c;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "log_level = \"%s\";", levels[i]);
		expect_ok(text, &c);
		assert_int_equal(c.log_level, values[i]);
		conf_free(&c);
	}
	expect_refused("log_level = \"verbose\";", "log_level: must be \"error\"");
	expect_refused("log_level = \"INFO\";", "log_level: must be");
	expect_ok("webhook_allow_http_loopback = false;", &c);
	assert_false(c.webhook_allow_http_loopback);
	conf_free(&c);
	expect_refused("database = { conninfo = \"dbname\"; };",
	               "database.conninfo: not a valid connection string: a keyword is missing");
	expect_refused("database = { conninfo = \"dbname=levy user\"; };",
	               "database.conninfo: not a valid connection string: a keyword is missing");
	expect_refused("database = { owner_conninfo = \"=levy\"; };",
	               "database.owner_conninfo: not a valid connection string: ");
	expect_refused("database = { conninfo = \"host='db\"; };",
	               "database.conninfo: not a valid connection string: a quoted value");
	expect_refused("database = { conninfo = \"host='db\\\\'\"; };",
	               "database.conninfo: not a valid connection string: a quoted value");
	expect_ok("database = { conninfo = \" host = 'a b'  port=5432 password=\\\\ \"; "
	          "owner_conninfo = \"\"; };",
	          &c);
	assert_string_equal(c.db_conninfo, " host = 'a b'  port=5432 password=\\ ");
	assert_string_equal(c.db_owner_conninfo, "");
	conf_free(&c);
	expect_ok("database = { conninfo = \"postgres://u@h/db?sslmode=require\"; };", &c);
	conf_free(&c);
}

static void test_check_server(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_check_server(&c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "jwt.secret: is not set"));
	free(c.jwt_secret);
	c.jwt_secret = NULL;
	assert_int_equal(conf_check_server(&c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "jwt.secret"));
	conf_free(&c);

	expect_ok("jwt = { secret = \"0123456789abcdef0123456789abcde\"; };", &c);
	assert_int_equal(conf_check_server(&c, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "jwt.secret: must be at least 32 bytes"));
	/* The message names the file. */
	assert_non_null(strstr(errbuf, c.path));
	conf_free(&c);

	expect_ok("jwt = { secret = \"0123456789abcdef0123456789abcdef\"; };", &c);
	assert_int_equal(conf_check_server(&c, errbuf, sizeof(errbuf)), 0);
	conf_free(&c);
}

/* conf_print into a string (malloc'd). */
static char *print_conf(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	conf_print(c, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_print(void **state)
{
	struct conf c;
	char *out;

	(void)state;
	expect_ok(
	        "database = {\n"
	        "  conninfo = \"host=db user=app password=hunter2secret dbname=levy\";\n"
	        "  owner_conninfo = "
	        "\"postgresql://owner:0wnerPass@db:5433/levy?sslmode=require&pass%77ord=zz9&x=\";\n"
	        "};\n"
	        "jwt = { secret = \"supersecretsupersecretsupersecret!\"; };\n"
	        "socket_mode = 0640; workers = 9; platform_fee_percentage = \"7.5\";\n"
	        "cors_origins = [\"https://a.example\", \"http://localhost:5173\"];\n"
	        "log_level = \"warning\"; webhook_allow_http_loopback = true;\n",
	        &c);
	out = print_conf(&c);
	assert_null(strstr(out, "hunter2secret"));
	assert_null(strstr(out, "0wnerPass"));
	assert_null(strstr(out, "supersecret"));
	assert_non_null(strstr(out, "jwt.secret = \"********\"\n"));
	assert_null(strstr(out, "zz9"));
	assert_non_null(strstr(out, "database.conninfo = \"host=db user=app password=******** "
	                            "dbname=levy\"\n"));
	assert_non_null(strstr(out,
	                       "database.owner_conninfo = \"postgresql://owner:********@db:5433/"
	                       "levy?sslmode=require&pass%77ord=********&x=\"\n"));
	assert_non_null(strstr(out, "socket_mode = 0640\n"));
	assert_non_null(strstr(out, "workers = 9\n"));
	assert_non_null(strstr(out, "max_requests = 10000\n"));
	assert_non_null(strstr(out, "body_limit = 1048576\n"));
	assert_non_null(strstr(out, "request_timeout = 30\n"));
	assert_non_null(strstr(out, "jwt.access_ttl = 900\n"));
	assert_non_null(strstr(out, "jwt.refresh_ttl = 1209600\n"));
	assert_non_null(strstr(out, "password.iterations = 600000\n"));
	assert_non_null(strstr(out, "platform_fee_percentage = \"7.50\"\n"));
	assert_non_null(
	        strstr(out, "cors_origins = [\"https://a.example\", \"http://localhost:5173\"]\n"));
	assert_non_null(strstr(out, "log_level = \"warning\"\n"));
	assert_non_null(strstr(out, "webhook_allow_http_loopback = true\n"));
	assert_non_null(strstr(out, "login_max_failures = 5\n"));
	assert_non_null(strstr(out, "listen = \"unix:/run/levy/levy-fcgi.sock\"\n"));
	free(out);
	conf_free(&c);

	/* Without a password the connection string prints as written; an unset secret as "". */
	conf_defaults(&c);
	out = print_conf(&c);
	assert_non_null(strstr(out, "database.conninfo = \"dbname=levy user=levy_app\"\n"));
	assert_non_null(strstr(out, "database.owner_conninfo = \"dbname=levy user=levy_owner\"\n"));
	assert_non_null(strstr(out, "jwt.secret = \"\"\n"));
	assert_non_null(strstr(out, "platform_fee_percentage = \"15.00\"\n"));
	assert_non_null(strstr(out, "cors_origins = []\n"));
	assert_non_null(strstr(out, "log_level = \"info\"\n"));
	free(out);

	/* Quoted and escaped values, and a string that cannot be read (masked whole). */
	free(c.db_conninfo);
	c.db_conninfo = strdup("password = 'it\\'s a secret' application_name='a\\'b\"c'");
	free(c.db_owner_conninfo);
	c.db_owner_conninfo = strdup("sslpassword=x =broken");
	out = print_conf(&c);
	assert_non_null(strstr(out, "database.conninfo = \"password = '********' "
	                            "application_name='a\\\\'b\\\"c'\"\n"));
	assert_non_null(strstr(out, "database.owner_conninfo = \"********\"\n"));
	assert_null(strstr(out, "a secret"));
	assert_null(strstr(out, "sslpassword=x"));
	free(out);

	/* URIs: a password in the user part only, none at all, and one after "?". */
	free(c.db_conninfo);
	c.db_conninfo = strdup("postgresql://u:p%40ss@h/db");
	free(c.db_owner_conninfo);
	c.db_owner_conninfo = strdup("postgres://h/db?password=a&sslmode=disable");
	out = print_conf(&c);
	assert_non_null(strstr(out, "database.conninfo = \"postgresql://u:********@h/db\"\n"));
	assert_non_null(strstr(out, "database.owner_conninfo = "
	                            "\"postgres://h/db?password=********&sslmode=disable\"\n"));
	free(out);
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_empty_file_is_defaults),
	        cmocka_unit_test(test_reference_file),
	        cmocka_unit_test(test_full_file),
	        cmocka_unit_test(test_ranges),
	        cmocka_unit_test(test_no_wrapping),
	        cmocka_unit_test(test_literal_scan_ok),
	        cmocka_unit_test(test_wrong_types),
	        cmocka_unit_test(test_unknown),
	        cmocka_unit_test(test_syntax_errors),
	        cmocka_unit_test(test_message_shape),
	        cmocka_unit_test(test_file_errors),
	        cmocka_unit_test(test_platform_fee),
	        cmocka_unit_test(test_listen),
	        cmocka_unit_test(test_cors),
	        cmocka_unit_test(test_socket_mode),
	        cmocka_unit_test(test_other_settings),
	        cmocka_unit_test(test_check_server),
	        cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
