/*
 * The configuration file: one table (conf_keys) names every setting with its
 * type, place in struct conf, default and range, and drives the defaults, the
 * loader, the checks, the refusal of unknown settings and conf_print.
 *
 * libconfig 1.5 wraps integers that do not fit while it parses (4294967297
 * arrives as an int holding 1, 9223372036854775807 as -1) and reads 0660 as
 * decimal 660, so the value it hands back cannot be trusted for integers.
 * conf_scan() therefore finds the literal text of each integer setting in the
 * file itself and conf_int_parse() reads it with overflow checks.  libconfig
 * still does the parsing proper; the scan follows its lexical rules
 * (comments, strings, names, numbers) so that text inside a comment or a
 * string is never taken for a setting.  The same scan refuses @include before
 * libconfig would open the file it names: levy reads one file.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <libconfig.h>

#include "core/conf.h"
#include "core/file.h"
#include "core/log.h"
#include "crypto/jwt.h"

/* A configuration file is a few KiB; anything this large is a mistake. */
#define CONF_MAX_FILE (1024 * 1024)
#define CONF_MAX_STRING 4096
#define CONF_MAX_ORIGIN 255
#define CONF_MASK "********"

enum conf_type {
	CONF_CONNINFO, /* char *, a libpq connection string; passwords masked in conf_print */
	CONF_SECRET,   /* char *, never printed */
	CONF_LISTEN,   /* char *, one of the listen forms */
	CONF_INT,      /* int in [min, max] */
	CONF_LLONG,    /* long long in [min, max] */
	CONF_MODE,     /* int in [min, max], written in octal */
	CONF_BOOL,     /* bool */
	CONF_FEE,      /* int basis points, written as a percentage string "15.00" */
	CONF_LOGLEVEL, /* int (enum log_level), written as its name */
	CONF_ORIGINS,  /* cors_origins[] and ncors_origins */
	CONF_BASE_URL, /* char *, https://host[:port] (http:// only to a loopback host), no path */
	CONF_URL,      /* char *, "" or an https:// URL (http:// only to a loopback host) */
	CONF_KEY,      /* char *, "" or a Stripe secret or restricted key; never printed */
	CONF_CLIENT,   /* char *, "" or a Stripe Connect client id (ca_...) */
};

struct conf_key {
	const char *name; /* libconfig path: "jwt.secret" lives in the group jwt */
	enum conf_type type;
	size_t offset;
	const char *def_str; /* strings, fee, log level */
	long long def_num;   /* integers, bools */
	long long min, max;
};

#define CONF_OFF(field) offsetof(struct conf, field)

/*
 * Every setting levy knows.  min and max bound integers (basis points for the
 * fee, a count for cors_origins); def_str is the default of strings, the fee
 * and the log level, def_num that of integers and bools.  Laid out by hand:
 * two lines a setting read better than the formatter's layout.
 */
/* clang-format off */
static const struct conf_key conf_keys[] = {
	{"database.conninfo",           CONF_CONNINFO,  CONF_OFF(db_conninfo),
	 "dbname=levy user=levy_app",    0, 0, 0},
	{"database.owner_conninfo",     CONF_CONNINFO,  CONF_OFF(db_owner_conninfo),
	 "dbname=levy user=levy_owner",  0, 0, 0},
	{"listen",                      CONF_LISTEN,    CONF_OFF(listen),
	 "unix:/run/levy/levy-fcgi.sock", 0, 0, 0},
	{"socket_mode",                 CONF_MODE,      CONF_OFF(socket_mode),
	 NULL,                           0660, 0, 0777},
	{"workers",                     CONF_INT,       CONF_OFF(workers),
	 NULL,                           4, 1, 256},
	{"max_requests",                CONF_LLONG,     CONF_OFF(max_requests),
	 NULL,                           10000, 0, 1000000000},
	{"body_limit",                  CONF_LLONG,     CONF_OFF(body_limit),
	 NULL,                           1048576, 1024, 67108864},
	{"request_timeout",             CONF_INT,       CONF_OFF(request_timeout),
	 NULL,                           30, 1, 3600},
	{"jwt.secret",                  CONF_SECRET,    CONF_OFF(jwt_secret),
	 "",                             0, 0, 0},
	{"jwt.access_ttl",              CONF_INT,       CONF_OFF(jwt_access_ttl),
	 NULL,                           900, 60, 86400},
	{"jwt.refresh_ttl",             CONF_INT,       CONF_OFF(jwt_refresh_ttl),
	 NULL,                           1209600, 300, 31536000},
	{"password.iterations",         CONF_INT,       CONF_OFF(password_iterations),
	 NULL,                           600000, 1000, 10000000},
	{"platform_fee_percentage",     CONF_FEE,       CONF_OFF(platform_fee_bp),
	 "15.00",                        0, 0, 10000},
	{"cors_origins",                CONF_ORIGINS,   CONF_OFF(cors_origins),
	 NULL,                           0, 0, CONF_MAX_CORS},
	{"log_level",                   CONF_LOGLEVEL,  CONF_OFF(log_level),
	 "info",                         0, 0, 0},
	{"webhook_allow_http_loopback", CONF_BOOL,      CONF_OFF(webhook_allow_http_loopback),
	 NULL,                           0, 0, 1},
	{"login_max_failures",          CONF_INT,       CONF_OFF(login_max_failures),
	 NULL,                           5, 1, 1000},
	{"stripe.api_base",             CONF_BASE_URL,  CONF_OFF(stripe_api_base),
	 "https://api.stripe.com",       0, 0, 0},
	{"stripe.connect_base",         CONF_BASE_URL,  CONF_OFF(stripe_connect_base),
	 "https://connect.stripe.com",   0, 0, 0},
	{"stripe.secret_key",           CONF_KEY,       CONF_OFF(stripe_secret_key),
	 "",                             0, 0, 0},
	{"stripe.client_id",            CONF_CLIENT,    CONF_OFF(stripe_client_id),
	 "",                             0, 0, 0},
	{"stripe.timeout_ms",           CONF_INT,       CONF_OFF(stripe_timeout_ms),
	 NULL,                           8000, 100, 120000},
	{"stripe.oauth_redirect_uri",   CONF_URL,       CONF_OFF(stripe_oauth_redirect_uri),
	 "",                             0, 0, 0},
};
/* clang-format on */

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* What one load needs to report an error. */
struct conf_ctx {
	const char *path;
	const char *text; /* the file as read, NUL-terminated */
	size_t len;
	char *errbuf;
	size_t errlen;
};

static char *conf_strdup(const char *s)
{
	char *p = strdup(s);

	/* As everywhere in levy: out of memory aborts and the master respawns. */
	if (p == NULL)
		abort();
	return p;
}

static char **conf_str_field(struct conf *c, const struct conf_key *k)
{
	return (char **)(void *)((char *)c + k->offset);
}

static int *conf_int_field(struct conf *c, const struct conf_key *k)
{
	return (int *)(void *)((char *)c + k->offset);
}

static const void *conf_cfield(const struct conf *c, const struct conf_key *k)
{
	return (const char *)c + k->offset;
}

static void conf_errf(char *errbuf, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void conf_errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static int conf_fail(struct conf_ctx *x, const config_setting_t *s, const char *name,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "PATH:LINE: SETTING: what is wrong"; always -1. */
static int conf_fail(struct conf_ctx *x, const config_setting_t *s, const char *name,
                     const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->errbuf == NULL || x->errlen == 0)
		return -1;
	n = snprintf(x->errbuf, x->errlen, "%s:%u: %s: ", x->path,
	             (unsigned)config_setting_source_line(s), name);
	if (n < 0 || (size_t)n >= x->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(x->errbuf + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The percentage "D[.F[F]]", 0 to 100, as basis points, without floating
 * point: "15.00" -> 1500, "7.5" -> 750.  -1 when malformed or out of range.
 */
static int conf_fee_parse(const char *s)
{
	int whole = 0, frac = 0, nwhole = 0, nfrac = 0;

	while (*s >= '0' && *s <= '9') {
		if (++nwhole > 3)
			return -1;
		whole = whole * 10 + (*s++ - '0');
	}
	if (nwhole == 0)
		return -1;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (++nfrac > 2)
				return -1;
			frac = frac * 10 + (*s++ - '0');
		}
		if (nfrac == 0)
			return -1;
		if (nfrac == 1)
			frac *= 10;
	}
	if (*s != '\0')
		return -1;
	if (whole * 100 + frac > 10000)
		return -1;
	return whole * 100 + frac;
}

/* A DNS name or an IPv4 address: letters, digits, '-' and '.', in labels. */
static bool conf_host_valid(const char *h, size_t n, bool lower_only)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];

		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      (!lower_only && ch >= 'A' && ch <= 'Z')))
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && h[n - 1] != '-';
}

static bool conf_ipv6_valid(const char *h, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr addr;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &addr) == 1;
}

/* A TCP port, 1..65535, decimal digits only. */
static bool conf_port_valid(const char *s)
{
	long port = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		if (n >= 5)
			return false;
		port = port * 10 + (s[n] - '0');
	}
	return n > 0 && s[n] == '\0' && port >= 1 && port <= 65535;
}

/* HOST:PORT or [IPv6]:PORT; why is set when false. */
static bool conf_hostport_valid(const char *s, bool lower_only, const char **why)
{
	const char *colon;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || !conf_ipv6_valid(s + 1, (size_t)(end - s - 1))) {
			*why = "not a valid IPv6 address in brackets";
			return false;
		}
		if (end[1] == '\0' && lower_only)
			return true; /* an origin's port is optional */
		if (end[1] != ':' || !conf_port_valid(end + 2)) {
			*why = "the port must be a number from 1 to 65535";
			return false;
		}
		return true;
	}
	colon = strchr(s, ':');
	if (colon == NULL && lower_only) {
		colon = s + strlen(s);
	} else if (colon == NULL || strchr(colon + 1, ':') != NULL) {
		*why = colon == NULL ? "a port is missing"
		                     : "IPv6 addresses go in brackets: [::1]:9000";
		return false;
	}
	if (!conf_host_valid(s, (size_t)(colon - s), lower_only)) {
		*why = lower_only ? "the host must be a lowercase name or an address"
		                  : "the host must be a name or an IPv4 address";
		return false;
	}
	if (*colon != '\0' && !conf_port_valid(colon + 1)) {
		*why = "the port must be a number from 1 to 65535";
		return false;
	}
	return true;
}

/* NULL when s is a listen address levy-fcgi understands, else why not. */
static const char *conf_listen_check(const char *s)
{
	const char *why = NULL;

	if (strcmp(s, "systemd") == 0 || strcmp(s, "fd:0") == 0)
		return NULL;
	if (strncmp(s, "fd:", 3) == 0)
		return "only fd:0 can be inherited";
	if (strncmp(s, "unix:", 5) == 0) {
		const char *p = s + 5;

		if (p[0] != '/')
			return "the socket path must be absolute: unix:/run/levy/levy-fcgi.sock";
		if (strlen(p) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return "the socket path is longer than a unix socket allows (107 bytes)";
		for (; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return "the socket path contains a control character";
		return NULL;
	}
	if (!conf_hostport_valid(s, false, &why))
		return why;
	return NULL;
}

/* NULL when s is an origin ("https://app.example.com", "http://localhost:5173"). */
static const char *conf_origin_check(const char *s)
{
	const char *why = NULL;
	const char *rest;

	if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else
		return "must start with https:// or http://";
	if (strlen(s) > CONF_MAX_ORIGIN)
		return "is longer than 255 bytes";
	if (strpbrk(rest, "/?#@") != NULL)
		return "must be scheme, host and port only, with no path (not even a trailing /)";
	if (!conf_hostport_valid(rest, true, &why))
		return why;
	return NULL;
}

/* 127.0.0.0/8, localhost or [::1]: the hosts a plain http:// URL may name. */
static bool conf_host_loopback(const char *host, size_t n)
{
	unsigned a, b, c, d;
	char buf[16], tail;

	if ((n == 9 && memcmp(host, "localhost", 9) == 0) ||
	    (n == 5 && memcmp(host, "[::1]", 5) == 0))
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, host, n);
	buf[n] = '\0';
	return sscanf(buf, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
	       b <= 255 && c <= 255 && d <= 255;
}

/*
 * A URL's scheme and authority: https://, or http:// when the host is a
 * loopback one (a development stack, a test's Stripe stand-in).  *rest
 * points past the authority.  NULL when acceptable, else why not.
 */
static const char *conf_url_authority(const char *s, const char **rest)
{
	const char *why = NULL, *host, *end;
	bool plain;
	char authority[CONF_MAX_ORIGIN + 1];
	size_t n;

	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return "must start with https:// (or http:// to a loopback host)";
	plain = host == s + 7;
	end = host + strcspn(host, "/?#");
	n = (size_t)(end - host);
	if (n == 0 || n > CONF_MAX_ORIGIN)
		return "must name a host";
	memcpy(authority, host, n);
	authority[n] = '\0';
	if (strchr(authority, '@') != NULL)
		return "must not carry a user name or password";
	if (!conf_hostport_valid(authority, true, &why))
		return why;
	if (plain) {
		const char *colon = authority[0] == '[' ? strchr(authority, ']') + 1
		                                        : authority + strcspn(authority, ":");

		if (!conf_host_loopback(authority, (size_t)(colon - authority)))
			return "http:// is allowed only to a loopback host (127.0.0.1, localhost, "
			       "[::1]); use https://";
	}
	*rest = end;
	return NULL;
}

/* NULL when s is a base URL for Stripe's API ("https://api.stripe.com"), else why not. */
static const char *conf_base_url_check(const char *s)
{
	const char *rest, *why = conf_url_authority(s, &rest);

	if (why != NULL)
		return why;
	if (*rest != '\0')
		return "must be scheme, host and port only, with no path (not even a trailing /)";
	return NULL;
}

/* NULL when s is "" or an absolute URL without a fragment, in printable ASCII. */
static const char *conf_url_check(const char *s)
{
	const char *rest, *why;

	if (s[0] == '\0')
		return NULL;
	if (strlen(s) > 2048)
		return "is longer than 2048 bytes";
	if ((why = conf_url_authority(s, &rest)) != NULL)
		return why;
	for (; *rest != '\0'; rest++) {
		unsigned char ch = (unsigned char)*rest;

		if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>\\^`{|}", ch) != NULL)
			return "contains a character a URL may not hold unencoded";
		if (ch == '#')
			return "must not have a fragment (#...)";
	}
	return NULL;
}

/* n characters of [0-9A-Za-z] and nothing after them. */
static bool conf_base62_only(const char *s, size_t min, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= 'a' && s[n] <= 'z')))
			return false;
	return n >= min && n <= max;
}

/* NULL when s is "" or a Stripe secret (sk_) or restricted (rk_) key. */
static const char *conf_stripe_key_check(const char *s)
{
	static const char *const prefixes[] = {"sk_live_", "sk_test_", "rk_live_", "rk_test_"};

	if (s[0] == '\0')
		return NULL;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(s, prefixes[i], 8) == 0 && conf_base62_only(s + 8, 1, 247))
			return NULL;
	return "must be the platform's Stripe secret key: sk_live_..., sk_test_... (or a "
	       "restricted rk_ key), letters and digits after the prefix";
}

/* NULL when s is "" or a Connect client id. */
static const char *conf_client_id_check(const char *s)
{
	if (s[0] == '\0' || (strncmp(s, "ca_", 3) == 0 && conf_base62_only(s + 3, 1, 252)))
		return NULL;
	return "must be the platform's Connect client id: ca_ then letters and digits";
}

/*
 * Connection strings are read here without libpq (core/ stays free of it):
 * enough of libpq's own grammar to refuse a malformed keyword/value string at
 * load time and to find every password for conf_print to mask.  Keywords
 * themselves are libpq's business, checked when it connects.
 */
#define CONF_MAX_MASKS 32

struct conf_spans {
	size_t start[CONF_MAX_MASKS], end[CONF_MAX_MASKS]; /* value spans to mask */
	int n;
	bool overflow;
};

/* Any keyword that carries a secret ("password", "sslpassword"). */
static bool conf_conninfo_secret(const char *key, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++)
		if (memcmp(key + i, "password", 8) == 0)
			return true;
	return false;
}

static void conf_spans_add(struct conf_spans *sp, size_t start, size_t end)
{
	if (sp->n >= CONF_MAX_MASKS) {
		sp->overflow = true;
		return;
	}
	sp->start[sp->n] = start;
	sp->end[sp->n] = end;
	sp->n++;
}

static bool conf_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool conf_is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/*
 * "key = value ..." as libpq's conninfo_parse reads it: values unquoted up to
 * white space, or in single quotes; a backslash escapes the next character in
 * both.  Secret values go to sp; NULL when well formed, else why not.
 */
static const char *conf_conninfo_kv(const char *s, struct conf_spans *sp)
{
	const char *p = s;

	for (;;) {
		const char *key, *val;
		size_t keylen;

		while (conf_is_space(*p))
			p++;
		if (*p == '\0')
			return NULL;
		key = p;
		while (*p != '\0' && *p != '=' && !conf_is_space(*p))
			p++;
		keylen = (size_t)(p - key);
		while (conf_is_space(*p))
			p++;
		if (*p != '=')
			return "a keyword is missing its \"=\" (keyword=value, or a "
			       "postgresql:// URI)";
		if (keylen == 0)
			return "\"=\" without a keyword before it";
		p++;
		while (conf_is_space(*p))
			p++;
		if (*p == '\'') {
			val = ++p;
			while (*p != '\'') {
				if (*p == '\0')
					return "a quoted value has no closing quote";
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
		} else {
			val = p;
			while (*p != '\0' && !conf_is_space(*p)) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
		}
		if (conf_conninfo_secret(key, keylen))
			conf_spans_add(sp, (size_t)(val - s), (size_t)(p - s));
		if (*p == '\'')
			p++;
	}
}

static int conf_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * The secrets of a postgresql:// URI: the password in user:password@ (libpq
 * looks for the @ before the first /) and any ?...password=... parameter,
 * whose name libpq percent-decodes.
 */
static void conf_conninfo_uri(const char *s, struct conf_spans *sp)
{
	const char *rest = strstr(s, "://") + 3, *p = rest, *q;

	while (*p != '\0' && *p != '@' && *p != '/')
		p++;
	if (*p == '@' && (q = memchr(rest, ':', (size_t)(p - rest))) != NULL)
		conf_spans_add(sp, (size_t)(q + 1 - s), (size_t)(p - s));
	if ((q = strchr(*p == '@' ? p : rest, '?')) == NULL)
		return;
	for (p = q + 1; *p != '\0';) {
		const char *end = p + strcspn(p, "&"), *eq = memchr(p, '=', (size_t)(end - p));
		char key[64];
		size_t n = 0;

		for (const char *k = p; eq != NULL && k < eq && n < sizeof(key); n++) {
			if (k[0] == '%' && k + 2 < eq && conf_hexval(k[1]) >= 0 &&
			    conf_hexval(k[2]) >= 0) {
				key[n] = (char)(conf_hexval(k[1]) * 16 + conf_hexval(k[2]));
				k += 3;
			} else {
				key[n] = *k++;
			}
		}
		if (eq != NULL && conf_conninfo_secret(key, n))
			conf_spans_add(sp, (size_t)(eq + 1 - s), (size_t)(end - s));
		p = *end == '&' ? end + 1 : end;
	}
}

/* NULL when s reads as a connection string, else why not. */
static const char *conf_conninfo_check(const char *s)
{
	struct conf_spans sp = {0};

	if (conf_is_uri(s))
		return NULL;
	return conf_conninfo_kv(s, &sp);
}

/*
 * The lexer below follows libconfig 1.5's scanner.l: comments (#, //, / * * /),
 * strings with backslash escapes, names [A-Za-z*][-A-Za-z0-9_*]*, and the
 * longest of integer, integer64 (L, LL), hex (no sign) and float.
 */
static bool conf_is_name_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '*';
}

static bool conf_is_name_char(char ch)
{
	return conf_is_name_start(ch) || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static bool conf_is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool conf_is_xdigit(char ch)
{
	return conf_is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Length of the number token at p, 0 when none starts there. */
static size_t conf_number_len(const char *p)
{
	const char *q = p, *e;
	size_t ndig = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && conf_is_xdigit(p[2])) {
		q = p + 2;
		while (conf_is_xdigit(*q))
			q++;
		if (*q == 'L')
			q += q[1] == 'L' ? 2 : 1;
		return (size_t)(q - p);
	}
	if (*q == '-' || *q == '+')
		q++;
	while (conf_is_digit(q[ndig]))
		ndig++;
	q += ndig;
	if (*q == '.') {
		q++;
		while (conf_is_digit(*q))
			q++;
	} else if (ndig == 0) {
		return 0;
	} else if (*q != 'e' && *q != 'E') {
		if (*q == 'L')
			q += q[1] == 'L' ? 2 : 1;
		return (size_t)(q - p);
	}
	/* An exponent counts only when complete. */
	if (*q == 'e' || *q == 'E') {
		e = q + 1;
		if (*e == '-' || *e == '+')
			e++;
		if (conf_is_digit(*e)) {
			while (conf_is_digit(*e))
				e++;
			q = e;
		}
	}
	return (size_t)(q - p);
}

#define CONF_SCAN_DEPTH 16

struct conf_scan {
	const char *want; /* the dotted path looked for; NULL: none */
	const char *lit;  /* out: the value's text */
	size_t litlen;
	unsigned include_line; /* out: line of an @include, 0 if none */
};

/*
 * Walks the text as libconfig tokenizes it, keeping the path of the groups
 * it is in, and stops at the scalar assigned to sc->want (1) or at an
 * @include (-1); 0 when neither was found.
 */
static int conf_scan(const char *text, struct conf_scan *sc)
{
	char path[256] = "";
	size_t stack[CONF_SCAN_DEPTH]; /* path length before each open bracket */
	char kinds[CONF_SCAN_DEPTH];
	int depth = 0, overflow = 0, in_list = 0;
	const char *name = NULL, *p = text;
	size_t namelen = 0;
	bool assign = false, bol = true;
	unsigned line = 1;

	while (*p != '\0') {
		char ch = *p;

		if (ch == '\n') {
			line++;
			bol = true;
			p++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f') {
			p++;
			continue;
		}
		if (ch == '@' && bol && strncmp(p, "@include", 8) == 0 &&
		    (p[8] == ' ' || p[8] == '\t')) {
			const char *q = p + 8;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '"') {
				sc->include_line = line;
				return -1;
			}
		}
		bol = false;
		if (ch == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			p += *p != '\0' ? 2 : 0;
			continue;
		}
		if (ch == '#' || (ch == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (ch == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\n')
					line++;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
			}
			p += *p != '\0' ? 1 : 0;
			assign = false;
			name = NULL;
			continue;
		}
		if (conf_is_name_start(ch)) {
			const char *start = p;

			while (conf_is_name_char(*p))
				p++;
			if (assign) {
				assign = false; /* a boolean value */
				name = NULL;
			} else {
				name = start;
				namelen = (size_t)(p - start);
			}
			continue;
		}
		if (ch == '=' || ch == ':') {
			assign = name != NULL;
			p++;
			continue;
		}
		if (ch == '{' || ch == '[' || ch == '(') {
			if (depth >= CONF_SCAN_DEPTH) {
				overflow++;
			} else {
				size_t len = strlen(path);

				stack[depth] = len;
				kinds[depth] = ch;
				depth++;
				if (ch != '{') {
					in_list++;
				} else if (in_list == 0 && name != NULL && assign &&
				           len + namelen + 2 < sizeof(path)) {
					snprintf(path + len, sizeof(path) - len, "%s%.*s",
					         len > 0 ? "." : "", (int)namelen, name);
				} else {
					in_list++; /* an unnamed group: nothing inside is looked for
					            */
					kinds[depth - 1] = '(';
				}
			}
			assign = false;
			name = NULL;
			p++;
			continue;
		}
		if (ch == '}' || ch == ']' || ch == ')') {
			if (overflow > 0) {
				overflow--;
			} else if (depth > 0) {
				depth--;
				path[stack[depth]] = '\0';
				if (kinds[depth] != '{')
					in_list--;
			}
			assign = false;
			name = NULL;
			p++;
			continue;
		}
		if (ch == '-' || ch == '+' || ch == '.' || conf_is_digit(ch)) {
			size_t n = conf_number_len(p);

			if (n == 0) {
				p++;
				continue;
			}
			if (assign && in_list == 0 && overflow == 0 && sc->want != NULL) {
				size_t len = strlen(path);
				const char *w = sc->want;

				if ((len == 0 || (strncmp(w, path, len) == 0 && w[len] == '.')) &&
				    strlen(w + (len ? len + 1 : 0)) == namelen &&
				    strncmp(w + (len ? len + 1 : 0), name, namelen) == 0) {
					sc->lit = p;
					sc->litlen = n;
					return 1;
				}
			}
			assign = false;
			name = NULL;
			p += n;
			continue;
		}
		/* ; , and anything libconfig would have called garbage. */
		assign = false;
		name = NULL;
		p++;
	}
	return 0;
}

/*
 * A libconfig integer literal ("42", "-1", "0x1F", "8L", "0660") as a
 * long long.  With octal, only 0-prefixed octal is accepted.  Returns 0, -1
 * when malformed (or not octal when octal is wanted), -2 when it overflows.
 */
static int conf_int_parse(const char *lit, size_t n, bool octal, long long *out)
{
	unsigned long long v = 0, limit;
	bool neg = false;
	unsigned base = 10;
	size_t i = 0;

	while (n > 0 && lit[n - 1] == 'L')
		n--;
	if (i < n && (lit[i] == '-' || lit[i] == '+'))
		neg = lit[i++] == '-';
	if (n - i > 2 && lit[i] == '0' && (lit[i + 1] == 'x' || lit[i + 1] == 'X')) {
		base = 16;
		i += 2;
	} else if (octal && n - i >= 1 && lit[i] == '0') {
		base = 8;
	}
	if (octal && (base != 8 || neg))
		return -1;
	if (i >= n)
		return -1;
	limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < n; i++) {
		unsigned d;
		char ch = lit[i];

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return -1;
		if (d >= base)
			return -1;
		if (v > (limit - d) / base)
			return -2;
		v = v * base + d;
	}
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

static int conf_range_fail(struct conf_ctx *x, const config_setting_t *s, const struct conf_key *k)
{
	if (k->type == CONF_MODE)
		return conf_fail(x, s, k->name, "must be between %#llo and %#llo", k->min, k->max);
	return conf_fail(x, s, k->name, "must be between %lld and %lld", k->min, k->max);
}

static int conf_apply_int(struct conf_ctx *x, const struct conf_key *k, config_setting_t *s,
                          struct conf *c)
{
	struct conf_scan sc = {.want = k->name};
	long long v;
	int rc;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return conf_fail(x, s, k->name, "must be an integer%s",
		                 k->type == CONF_MODE ? " in octal, like 0660" : "");
	if (conf_scan(x->text, &sc) != 1)
		return conf_fail(x, s, k->name, "could not find the value's text");
	rc = conf_int_parse(sc.lit, sc.litlen, k->type == CONF_MODE, &v);
	if (rc == -1)
		return conf_fail(x, s, k->name, "must be %s",
		                 k->type == CONF_MODE ? "an octal number like 0660" : "an integer");
	if (rc == -2 || v < k->min || v > k->max)
		return conf_range_fail(x, s, k);
	if (k->type == CONF_LLONG)
		*(long long *)(void *)((char *)c + k->offset) = v;
	else
		*conf_int_field(c, k) = (int)v;
	return 0;
}

static int conf_apply_origins(struct conf_ctx *x, const struct conf_key *k, config_setting_t *s,
                              struct conf *c)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return conf_fail(x, s, k->name,
		                 "must be an array of strings, like [\"https://app.example.com\"]");
	n = config_setting_length(s);
	if (n > CONF_MAX_CORS)
		return conf_fail(x, s, k->name, "at most %d origins are allowed", CONF_MAX_CORS);
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v, *why;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_fail(x, e, k->name, "origin %d must be a string", i + 1);
		v = config_setting_get_string(e);
		if ((why = conf_origin_check(v)) != NULL)
			return conf_fail(x, e, k->name, "\"%.100s\" is not an origin: %s", v, why);
	}
	for (int i = 0; i < c->ncors_origins; i++) {
		free(c->cors_origins[i]);
		c->cors_origins[i] = NULL;
	}
	c->ncors_origins = 0;
	for (int i = 0; i < n; i++)
		c->cors_origins[c->ncors_origins++] = conf_strdup(
		        config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
	return 0;
}

static int conf_apply(struct conf_ctx *x, const struct conf_key *k, config_setting_t *s,
                      struct conf *c)
{
	const char *v, *why;
	int n;

	switch (k->type) {
	case CONF_INT:
	case CONF_LLONG:
	case CONF_MODE:
		return conf_apply_int(x, k, s, c);
	case CONF_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return conf_fail(x, s, k->name, "must be true or false");
		*(bool *)(void *)((char *)c + k->offset) = config_setting_get_bool(s) != 0;
		return 0;
	case CONF_ORIGINS:
		return conf_apply_origins(x, k, s, c);
	default:
		break;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_fail(x, s, k->name, "must be a string in double quotes");
	v = config_setting_get_string(s);
	if (strlen(v) > CONF_MAX_STRING)
		return conf_fail(x, s, k->name, "is longer than %d bytes", CONF_MAX_STRING);
	switch (k->type) {
	case CONF_FEE:
		if ((n = conf_fee_parse(v)) < 0)
			return conf_fail(x, s, k->name,
			                 "must be a percentage from \"0\" to \"100\" with at most "
			                 "2 decimals, like \"15.00\"");
		*conf_int_field(c, k) = n;
		return 0;
	case CONF_LOGLEVEL:
		if ((n = log_level_parse(v)) < 0)
			return conf_fail(x, s, k->name,
			                 "must be \"error\", \"warning\", \"info\" or \"debug\"");
		*conf_int_field(c, k) = n;
		return 0;
	case CONF_LISTEN:
		if ((why = conf_listen_check(v)) != NULL)
			return conf_fail(
			        x, s, k->name,
			        "%s (forms: \"unix:/path\", \"HOST:PORT\", \"[::1]:PORT\", "
			        "\"fd:0\", \"systemd\")",
			        why);
		break;
	case CONF_CONNINFO:
		if ((why = conf_conninfo_check(v)) != NULL)
			return conf_fail(x, s, k->name, "not a valid connection string: %s", why);
		break;
	case CONF_BASE_URL:
		if ((why = conf_base_url_check(v)) != NULL)
			return conf_fail(x, s, k->name, "%s", why);
		break;
	case CONF_URL:
		if ((why = conf_url_check(v)) != NULL)
			return conf_fail(x, s, k->name, "%s", why);
		break;
	case CONF_KEY:
		/* Never echoed: a key pasted into the wrong setting must not reach a log. */
		if ((why = conf_stripe_key_check(v)) != NULL)
			return conf_fail(x, s, k->name, "%s", why);
		break;
	case CONF_CLIENT:
		if ((why = conf_client_id_check(v)) != NULL)
			return conf_fail(x, s, k->name, "%s", why);
		break;
	default:
		break;
	}
	free(*conf_str_field(c, k));
	*conf_str_field(c, k) = conf_strdup(v);
	return 0;
}

static const struct conf_key *conf_key_find(const char *name)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* A group that holds settings of the table ("database", "jwt", "password"). */
static bool conf_group_known(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strncmp(conf_keys[i].name, name, n) == 0 && conf_keys[i].name[n] == '.')
			return true;
	return false;
}

static int conf_walk_group(struct conf_ctx *x, config_setting_t *g, const char *gname,
                           struct conf *c)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		char full[256];
		const struct conf_key *k;

		snprintf(full, sizeof(full), "%s.%s", gname, name != NULL ? name : "?");
		if ((k = conf_key_find(full)) == NULL)
			return conf_fail(x, s, full, "unknown %s",
			                 config_setting_is_group(s) ? "group" : "setting");
		if (conf_apply(x, k, s, c) < 0)
			return -1;
	}
	return 0;
}

static int conf_walk(struct conf_ctx *x, config_t *cfg, struct conf *c)
{
	config_setting_t *root = config_root_setting(cfg);
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct conf_key *k = conf_key_find(name);

		if (k != NULL) {
			if (conf_apply(x, k, s, c) < 0)
				return -1;
		} else if (conf_group_known(name)) {
			if (!config_setting_is_group(s))
				return conf_fail(x, s, name, "must be a group: %s = { ... };",
				                 name);
			if (conf_walk_group(x, s, name, c) < 0)
				return -1;
		} else {
			return conf_fail(x, s, name, "unknown %s",
			                 config_setting_is_group(s) ? "group" : "setting");
		}
	}
	return 0;
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		switch (k->type) {
		case CONF_CONNINFO:
		case CONF_SECRET:
		case CONF_LISTEN:
		case CONF_BASE_URL:
		case CONF_URL:
		case CONF_KEY:
		case CONF_CLIENT:
			*conf_str_field(c, k) = conf_strdup(k->def_str);
			break;
		case CONF_INT:
		case CONF_MODE:
			*conf_int_field(c, k) = (int)k->def_num;
			break;
		case CONF_LLONG:
			*(long long *)(void *)((char *)c + k->offset) = k->def_num;
			break;
		case CONF_BOOL:
			*(bool *)(void *)((char *)c + k->offset) = k->def_num != 0;
			break;
		case CONF_FEE:
			*conf_int_field(c, k) = conf_fee_parse(k->def_str);
			break;
		case CONF_LOGLEVEL:
			*conf_int_field(c, k) = log_level_parse(k->def_str);
			break;
		case CONF_ORIGINS:
			break;
		}
	}
}

/*
 * c need not be initialised: it starts from conf_defaults(), so one that holds
 * an earlier configuration is conf_free()d first (SIGHUP loads into a fresh one).
 */
int conf_load(const char *path, struct conf *c, char *errbuf, size_t errlen)
{
	struct conf_ctx x = {.path = path, .errbuf = errbuf, .errlen = errlen};
	struct conf_scan sc = {0};
	config_t cfg;
	char *text;
	int rc = -1;

	conf_defaults(c);
	c->path = conf_strdup(path);
	if ((text = file_read(path, CONF_MAX_FILE, &x.len, errbuf, errlen)) == NULL)
		return -1;
	x.text = text;
	/* libconfig would read any file named by @include; levy reads one file. */
	if (conf_scan(text, &sc) < 0) {
		conf_errf(errbuf, errlen, "%s:%u: @include: not supported", path, sc.include_line);
		free(text);
		return -1;
	}
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		const char *file = config_error_file(&cfg);

		conf_errf(errbuf, errlen, "%s:%d: %s", file != NULL ? file : path,
		          config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	rc = conf_walk(&x, &cfg, c);
out:
	config_destroy(&cfg);
	free(text);
	return rc;
}

int conf_check_server(const struct conf *c, char *errbuf, size_t errlen)
{
	const char *path = c->path != NULL ? c->path : "(defaults)";

	if (c->jwt_secret == NULL || c->jwt_secret[0] == '\0') {
		conf_errf(errbuf, errlen,
		          "%s: jwt.secret: is not set; levy-fcgi needs at least %d bytes "
		          "(openssl rand -base64 48)",
		          path, JWT_MIN_SECRET);
		return -1;
	}
	if (strlen(c->jwt_secret) < JWT_MIN_SECRET) {
		conf_errf(errbuf, errlen,
		          "%s: jwt.secret: must be at least %d bytes (openssl rand -base64 48)",
		          path, JWT_MIN_SECRET);
		return -1;
	}
	return 0;
}

/* n bytes of s with libconfig's string escapes, without the quotes. */
static void conf_put_escaped_n(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", out);
		else if (ch == '\t')
			fputs("\\t", out);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
}

/*
 * A connection string with every password value replaced by the mask; the
 * rest as written.  One that cannot be read is masked whole.
 */
static void conf_print_conninfo(FILE *out, const char *ci)
{
	struct conf_spans sp = {0};
	size_t at = 0;

	if (conf_is_uri(ci))
		conf_conninfo_uri(ci, &sp);
	else if (conf_conninfo_kv(ci, &sp) != NULL)
		sp.overflow = true;
	if (sp.overflow) {
		fputs("\"" CONF_MASK "\"", out);
		return;
	}
	fputc('"', out);
	for (int i = 0; i < sp.n; i++) {
		conf_put_escaped_n(out, ci + at, sp.start[i] - at);
		fputs(CONF_MASK, out);
		at = sp.end[i];
	}
	conf_put_escaped_n(out, ci + at, strlen(ci + at));
	fputc('"', out);
}

void conf_print(const struct conf *c, FILE *out)
{
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		const void *f = conf_cfield(c, k);
		const char *s;
		int n;

		fprintf(out, "%s = ", k->name);
		switch (k->type) {
		case CONF_LISTEN:
		case CONF_BASE_URL:
		case CONF_URL:
		case CONF_CLIENT:
			s = *(char *const *)f;
			fputc('"', out);
			s = s != NULL ? s : "";
			conf_put_escaped_n(out, s, strlen(s));
			fputc('"', out);
			break;
		case CONF_SECRET:
		case CONF_KEY:
			s = *(char *const *)f;
			/* Whether it is set is worth knowing; its value never. */
			fputs(s != NULL && s[0] != '\0' ? "\"" CONF_MASK "\"" : "\"\"", out);
			break;
		case CONF_CONNINFO:
			s = *(char *const *)f;
			conf_print_conninfo(out, s != NULL ? s : "");
			break;
		case CONF_INT:
			fprintf(out, "%d", *(const int *)f);
			break;
		case CONF_MODE:
			fprintf(out, "%#o", (unsigned)*(const int *)f);
			break;
		case CONF_LLONG:
			fprintf(out, "%lld", *(const long long *)f);
			break;
		case CONF_BOOL:
			fputs(*(const bool *)f ? "true" : "false", out);
			break;
		case CONF_FEE:
			n = *(const int *)f;
			fprintf(out, "\"%d.%02d\"", n / 100, n % 100);
			break;
		case CONF_LOGLEVEL:
			n = *(const int *)f;
			fprintf(out, "\"%s\"",
			        n == LOG_LVL_ERROR     ? "error"
			        : n == LOG_LVL_WARNING ? "warning"
			        : n == LOG_LVL_DEBUG   ? "debug"
			                               : "info");
			break;
		case CONF_ORIGINS:
			fputc('[', out);
			for (int j = 0; j < c->ncors_origins; j++) {
				fprintf(out, "%s\"", j > 0 ? ", " : "");
				conf_put_escaped_n(out, c->cors_origins[j],
				                   strlen(c->cors_origins[j]));
				fputc('"', out);
			}
			fputc(']', out);
			break;
		}
		fputc('\n', out);
	}
}

void conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		switch (k->type) {
		case CONF_CONNINFO:
		case CONF_SECRET:
		case CONF_LISTEN:
		case CONF_BASE_URL:
		case CONF_URL:
		case CONF_KEY:
		case CONF_CLIENT:
			free(*conf_str_field(c, k));
			*conf_str_field(c, k) = NULL;
			break;
		default:
			break;
		}
	}
	for (int i = 0; i < c->ncors_origins && i < CONF_MAX_CORS; i++)
		free(c->cors_origins[i]);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
