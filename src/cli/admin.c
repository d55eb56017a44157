/*
 * The operator's commands, one function per command and one table that
 * names them (tmux's cmd_table).  They connect as the owner role
 * (database.owner_conninfo): the schema's owner policies let it see and
 * change every tenant, which the application role never can.  Secrets made
 * here (API keys, the webhook secret) are printed once, to stdout, for the
 * operator or a script to keep; never to the log.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/admin.h"
#include "cli/jobs.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "crypto/apikey.h"
#include "crypto/password.h"
#include "crypto/rand.h"
#include "db/db.h"
#include "db/migrate.h"
#include "db/tenant.h"
#include "db/user.h"

struct admin_cmd;

/* What every command gets: its entry, the configuration, an owner connection, an arena. */
struct admin_ctx {
	const struct admin_cmd *cmd;
	const struct conf *conf;
	struct db db;
	struct arena arena;
};

struct admin_cmd {
	const char *name;
	const char *sub; /* NULL: none */
	const char *args;
	int (*fn)(struct admin_ctx *, int, char **);
};

static int admin_migrate(struct admin_ctx *, int, char **);
static int admin_tenant_list(struct admin_ctx *, int, char **);
static int admin_tenant_create(struct admin_ctx *, int, char **);
static int admin_tenant_suspend(struct admin_ctx *, int, char **);
static int admin_tenant_unsuspend(struct admin_ctx *, int, char **);
static int admin_tenant_set_fee(struct admin_ctx *, int, char **);
static int admin_user_set_password(struct admin_ctx *, int, char **);
static int admin_jobs_expire_incomplete(struct admin_ctx *, int, char **);
static int admin_jobs_renew(struct admin_ctx *, int, char **);
static int admin_jobs_retry_payments(struct admin_ctx *, int, char **);

static const struct admin_cmd admin_cmds[] = {
        {.name = "migrate", .args = "[--sqldir DIR]", .fn = admin_migrate},
        {.name = "tenant", .sub = "list", .args = "", .fn = admin_tenant_list},
        {.name = "tenant",
         .sub = "create",
         .args = "--company NAME --email EMAIL --password PASSWORD|- [--fee PERCENT]",
         .fn = admin_tenant_create},
        {.name = "tenant", .sub = "suspend", .args = "ID", .fn = admin_tenant_suspend},
        {.name = "tenant", .sub = "unsuspend", .args = "ID", .fn = admin_tenant_unsuspend},
        {.name = "tenant", .sub = "set-fee", .args = "ID PERCENT", .fn = admin_tenant_set_fee},
        {.name = "user",
         .sub = "set-password",
         .args = "EMAIL   (the new password on stdin)",
         .fn = admin_user_set_password},
        {.name = "jobs",
         .sub = "expire-incomplete",
         .args = "[--limit N]",
         .fn = admin_jobs_expire_incomplete},
        {.name = "jobs", .sub = "renew", .args = "[--limit N]", .fn = admin_jobs_renew},
        {.name = "jobs",
         .sub = "retry-payments",
         .args = "[--limit N]",
         .fn = admin_jobs_retry_payments},
};
#define ADMIN_NCMDS (sizeof(admin_cmds) / sizeof(admin_cmds[0]))

#define ADMIN_COMPANY_MAX 200 /* as the API: src/api/tenant.c */
#define ADMIN_EMAIL_MAX 254

void admin_usage(FILE *out)
{
	fprintf(out, "usage: levy [-c CONFIG] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ADMIN_NCMDS; i++)
		fprintf(out, "  %s%s%s%s%s\n", admin_cmds[i].name, admin_cmds[i].sub ? " " : "",
		        admin_cmds[i].sub ? admin_cmds[i].sub : "",
		        admin_cmds[i].args[0] ? " " : "", admin_cmds[i].args);
	fprintf(out, "  version\n  help\n");
}

static const struct admin_cmd *admin_find(int argc, char **argv)
{
	if (argc < 1)
		return NULL;
	for (size_t i = 0; i < ADMIN_NCMDS; i++) {
		if (strcmp(argv[0], admin_cmds[i].name) != 0)
			continue;
		if (admin_cmds[i].sub == NULL ||
		    (argc > 1 && strcmp(argv[1], admin_cmds[i].sub) == 0))
			return &admin_cmds[i];
	}
	return NULL;
}

bool admin_known(int argc, char **argv)
{
	return admin_find(argc, argv) != NULL;
}

static int admin_usage_error(const struct admin_ctx *ctx, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int admin_usage_error(const struct admin_ctx *ctx, const char *fmt, ...)
{
	const struct admin_cmd *cmd = ctx->cmd;
	va_list ap;

	fprintf(stderr, "levy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: levy %s%s%s %s\n", cmd->name, cmd->sub ? " " : "",
	        cmd->sub ? cmd->sub : "", cmd->args);
	return ADMIN_EXIT_USAGE;
}

/* A failed database call: the client-facing message, and for our own faults the detail. */
static int admin_fail(const struct err *e)
{
	if (e->status >= 500 && e->detail[0] != '\0')
		fprintf(stderr, "levy: %s\n", e->detail);
	else
		fprintf(stderr, "levy: %s\n", e->message);
	return ADMIN_EXIT_RUNTIME;
}

static int admin_connect(struct admin_ctx *ctx)
{
	struct err e;

	err_clear(&e);
	if (db_connect(&ctx->db, &e) != 0)
		return admin_fail(&e);
	return ADMIN_EXIT_OK;
}

int admin_percent_parse(const char *s, int *bp)
{
	int whole = 0, frac = 0, i = 0, digits;

	for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (digits == 3)
			return -1;
		whole = whole * 10 + (s[i] - '0');
	}
	if (digits == 0)
		return -1;
	if (s[i] == '.') {
		i++;
		for (digits = 0; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
			if (digits == 2)
				return -1;
			frac = frac * 10 + (s[i] - '0');
		}
		if (digits == 0)
			return -1;
		if (digits == 1)
			frac *= 10;
	}
	if (s[i] != '\0' || whole * 100 + frac > 10000)
		return -1;
	*bp = whole * 100 + frac;
	return 0;
}

void admin_percent_format(int bp, char *out, size_t outlen)
{
	if (bp < 0)
		bp = 0;
	snprintf(out, outlen, "%d.%02d", bp / 100, bp % 100);
}

/* A tenant id: decimal digits only, 1 .. 2^63-1. */
static int admin_parse_id(const char *s, long long *id)
{
	long long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 18)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v <= 0)
		return -1;
	*id = v;
	return 0;
}

/* Printable UTF-8 of at most max bytes: no control characters. */
static bool admin_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !str_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* local@domain, no spaces, one '@'; deliverability is the owner's business. */
static bool admin_email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!admin_text_ok(s, ADMIN_EMAIL_MAX) || at == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (*p == ' ')
			return false;
	return true;
}

/* Names may hold anything printable; a tab or newline would break the list's columns. */
static void admin_print_field(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

/*
 * One line of stdin, without its newline, into buf (PASSWORD_MAX_LEN + 2).
 * On a terminal, prompts on stderr with echo off.  0, or -1 with a message.
 */
static int admin_read_password(char *buf, size_t buflen)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t n;
	char *got;

	if (tty) {
		fprintf(stderr, "New password: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	got = fgets(buf, (int)buflen, stdin);
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (got == NULL) {
		fprintf(stderr, "levy: no password on standard input\n");
		return -1;
	}
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n + 1 == buflen) {
		fprintf(stderr, "levy: password longer than %d bytes\n", PASSWORD_MAX_LEN);
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

static int admin_migrate(struct admin_ctx *ctx, int argc, char **argv)
{
	const char *sqldir = getenv("LEVY_SQLDIR");
	char errbuf[1024];
	int rc;

	if (sqldir == NULL || sqldir[0] == '\0')
		sqldir = PKGDATADIR "/sql";
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--sqldir") == 0 && i + 1 < argc)
			sqldir = argv[++i];
		else if (strncmp(argv[i], "--sqldir=", 9) == 0)
			sqldir = argv[i] + 9;
		else
			return admin_usage_error(ctx, "unexpected argument: %s", argv[i]);
	}
	rc = admin_connect(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	if (migrate_run(ctx->db.conn, sqldir, stdout, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "levy: migrate: %s\n", errbuf);
		return ADMIN_EXIT_RUNTIME;
	}
	return ADMIN_EXIT_OK;
}

static int admin_tenant_list(struct admin_ctx *ctx, int argc, char **argv)
{
	struct tenant_row *rows;
	struct err e;
	char fee[16];
	int n, rc;

	if (argc > 0)
		return admin_usage_error(ctx, "unexpected argument: %s", argv[0]);
	rc = admin_connect(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	err_clear(&e);
	if (db_begin(&ctx->db, true, NULL, &e) != 0 ||
	    db_tenant_list_all(&ctx->db, &ctx->arena, &rows, &n, &e) != 0) {
		db_rollback(&ctx->db);
		return admin_fail(&e);
	}
	db_rollback(&ctx->db);
	for (int i = 0; i < n; i++) {
		admin_percent_format(rows[i].platform_fee_bp, fee, sizeof(fee));
		printf("%lld\t", rows[i].id);
		admin_print_field(rows[i].slug);
		putchar('\t');
		admin_print_field(rows[i].company_name);
		putchar('\t');
		admin_print_field(rows[i].email);
		printf("\t%s\t%s\n", rows[i].status, fee);
	}
	return ADMIN_EXIT_OK;
}

static int admin_tenant_create(struct admin_ctx *ctx, int argc, char **argv)
{
	const char *company = NULL, *email = NULL, *password = NULL, *fee = NULL, *why;
	char pwbuf[PASSWORD_MAX_LEN + 2], pwhash[PASSWORD_HASH_MAX];
	char keys[4][APIKEY_LEN + 1], hashes[4][65], redacted[4][APIKEY_PREFIX_LEN + 8];
	struct tenant_new in;
	struct tenant_row out;
	long long user_id;
	struct err e;
	int rc;

	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--company") == 0)
			slot = &company;
		else if (strcmp(argv[i], "--email") == 0)
			slot = &email;
		else if (strcmp(argv[i], "--password") == 0)
			slot = &password;
		else if (strcmp(argv[i], "--fee") == 0)
			slot = &fee;
		else
			return admin_usage_error(ctx, "unexpected argument: %s", argv[i]);
		if (i + 1 >= argc)
			return admin_usage_error(ctx, "%s needs a value", argv[i]);
		*slot = argv[++i];
	}
	if (company == NULL || email == NULL || password == NULL)
		return admin_usage_error(ctx, "--company, --email and --password are required");
	if (!admin_text_ok(company, ADMIN_COMPANY_MAX))
		return admin_usage_error(ctx, "%s",
		                         "--company: 1 to 200 bytes of printable UTF-8 expected");
	if (!admin_email_ok(email))
		return admin_usage_error(ctx, "--email: not an email address: %s", email);
	memset(&in, 0, sizeof(in));
	in.platform_fee_bp = ctx->conf->platform_fee_bp;
	if (fee != NULL && admin_percent_parse(fee, &in.platform_fee_bp) != 0)
		return admin_usage_error(ctx,
		                         "--fee: a percentage from 0 to 100 with at most two"
		                         " decimals expected, not \"%s\"",
		                         fee);
	if (strcmp(password, "-") == 0) {
		if (admin_read_password(pwbuf, sizeof(pwbuf)) != 0)
			return ADMIN_EXIT_USAGE;
		password = pwbuf;
	}
	if (strlen(password) > PASSWORD_MAX_LEN)
		return admin_usage_error(ctx, "--password: too long");
	why = password_policy(password, email);
	if (why != NULL)
		return admin_usage_error(ctx, "--password: %s", why);
	if (password_hash(password, ctx->conf->password_iterations, pwhash, sizeof(pwhash)) != 0) {
		fprintf(stderr, "levy: could not hash the password\n");
		return ADMIN_EXIT_RUNTIME;
	}

	/* keys[] in tenant_new's order: pk_live, sk_live, pk_test, sk_test. */
	for (int i = 0; i < 4; i++) {
		bool secret = i % 2 == 1, live = i < 2;

		apikey_generate(secret, live, keys[i]);
		apikey_hash_hex(keys[i], hashes[i]);
		apikey_redact(keys[i], redacted[i], sizeof(redacted[i]));
		in.keys[i].secret = secret;
		in.keys[i].livemode = live;
		in.keys[i].hash_hex = hashes[i];
		in.keys[i].redacted = redacted[i];
		in.keys[i].plain = secret ? NULL : keys[i];
	}
	in.company_name = company;
	in.email = email;
	in.password_hash = pwhash;
	in.first_name = "";
	in.last_name = "";
	in.webhook_secret = rand_id(&ctx->arena, "whsec_", 32);

	rc = admin_connect(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	err_clear(&e);
	if (db_begin(&ctx->db, false, NULL, &e) != 0 ||
	    db_tenant_register(&ctx->db, &ctx->arena, &in, &out, &user_id, &e) != 0 ||
	    db_commit(&ctx->db, &e) != 0) {
		db_rollback(&ctx->db);
		return admin_fail(&e);
	}
	/* Shell-safe values (digits, [a-z0-9-], base62): `. file` works. */
	printf("LEVY_TENANT_ID=%lld\n", out.id);
	printf("LEVY_TENANT_SLUG=%s\n", out.slug);
	printf("LEVY_PK_TEST=%s\n", keys[2]);
	printf("LEVY_SK_TEST=%s\n", keys[3]);
	printf("LEVY_PK_LIVE=%s\n", keys[0]);
	printf("LEVY_SK_LIVE=%s\n", keys[1]);
	printf("LEVY_WEBHOOK_SECRET=%s\n", in.webhook_secret);
	memset(keys, 0, sizeof(keys));
	memset(pwbuf, 0, sizeof(pwbuf));
	return ADMIN_EXIT_OK;
}

static int admin_tenant_status(struct admin_ctx *ctx, int argc, char **argv, const char *status)
{
	long long id;
	struct err e;
	int rc;

	if (argc != 1)
		return admin_usage_error(ctx, "one tenant id expected");
	if (admin_parse_id(argv[0], &id) != 0)
		return admin_usage_error(ctx, "not a tenant id: %s", argv[0]);
	rc = admin_connect(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	err_clear(&e);
	if (db_begin(&ctx->db, false, NULL, &e) != 0 ||
	    db_tenant_set_status(&ctx->db, &ctx->arena, id, status, &e) != 0 ||
	    db_commit(&ctx->db, &e) != 0) {
		db_rollback(&ctx->db);
		return admin_fail(&e);
	}
	printf("tenant %lld %s\n", id, status);
	return ADMIN_EXIT_OK;
}

static int admin_tenant_suspend(struct admin_ctx *ctx, int argc, char **argv)
{
	return admin_tenant_status(ctx, argc, argv, "suspended");
}

static int admin_tenant_unsuspend(struct admin_ctx *ctx, int argc, char **argv)
{
	return admin_tenant_status(ctx, argc, argv, "active");
}

static int admin_tenant_set_fee(struct admin_ctx *ctx, int argc, char **argv)
{
	long long id;
	int bp, rc;
	char fee[16];
	struct err e;

	if (argc != 2)
		return admin_usage_error(ctx, "a tenant id and a percentage expected");
	if (admin_parse_id(argv[0], &id) != 0)
		return admin_usage_error(ctx, "not a tenant id: %s", argv[0]);
	if (admin_percent_parse(argv[1], &bp) != 0)
		return admin_usage_error(ctx,
		                         "a percentage from 0 to 100 with at most two decimals"
		                         " expected, not \"%s\"",
		                         argv[1]);
	rc = admin_connect(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	err_clear(&e);
	if (db_begin(&ctx->db, false, NULL, &e) != 0 ||
	    db_tenant_set_fee(&ctx->db, &ctx->arena, id, bp, &e) != 0 ||
	    db_commit(&ctx->db, &e) != 0) {
		db_rollback(&ctx->db);
		return admin_fail(&e);
	}
	admin_percent_format(bp, fee, sizeof(fee));
	printf("tenant %lld platform fee %s%%\n", id, fee);
	return ADMIN_EXIT_OK;
}

static int admin_user_set_password(struct admin_ctx *ctx, int argc, char **argv)
{
	char pwbuf[PASSWORD_MAX_LEN + 2], pwhash[PASSWORD_HASH_MAX];
	const char *why;
	long long user_id;
	struct err e;
	int rc;

	if (argc != 1)
		return admin_usage_error(ctx, "one email expected");
	if (!admin_email_ok(argv[0]))
		return admin_usage_error(ctx, "not an email address: %s", argv[0]);
	if (admin_read_password(pwbuf, sizeof(pwbuf)) != 0)
		return ADMIN_EXIT_USAGE;
	why = password_policy(pwbuf, argv[0]);
	if (why != NULL) {
		memset(pwbuf, 0, sizeof(pwbuf));
		fprintf(stderr, "levy: password refused: %s\n", why);
		return ADMIN_EXIT_USAGE;
	}
	rc = password_hash(pwbuf, ctx->conf->password_iterations, pwhash, sizeof(pwhash));
	memset(pwbuf, 0, sizeof(pwbuf));
	if (rc != 0) {
		fprintf(stderr, "levy: could not hash the password\n");
		return ADMIN_EXIT_RUNTIME;
	}
	rc = admin_connect(ctx);
	if (rc != ADMIN_EXIT_OK)
		return rc;
	err_clear(&e);
	/* Recovery also lifts the login slow-down the forgotten password earned. */
	if (db_begin(&ctx->db, false, NULL, &e) != 0 ||
	    db_user_set_password(&ctx->db, &ctx->arena, argv[0], pwhash, &user_id, &e) != 0 ||
	    db_login_failure_clear(&ctx->db, &ctx->arena, argv[0], &e) != 0 ||
	    db_commit(&ctx->db, &e) != 0) {
		db_rollback(&ctx->db);
		return admin_fail(&e);
	}
	printf("password of user %lld set; their sessions are revoked\n", user_id);
	return ADMIN_EXIT_OK;
}

/* Jobs connect as the application role (database.conninfo), not as the owner. */
static int admin_jobs_expire_incomplete(struct admin_ctx *ctx, int argc, char **argv)
{
	return jobs_expire_incomplete(ctx->conf, &ctx->arena, argc, argv);
}

static int admin_jobs_renew(struct admin_ctx *ctx, int argc, char **argv)
{
	return jobs_renew(ctx->conf, &ctx->arena, argc, argv);
}

static int admin_jobs_retry_payments(struct admin_ctx *ctx, int argc, char **argv)
{
	return jobs_retry_payments(ctx->conf, &ctx->arena, argc, argv);
}

int admin_run(const struct conf *c, int argc, char **argv)
{
	const struct admin_cmd *cmd = admin_find(argc, argv);
	struct admin_ctx ctx;
	int skip, rc;

	if (cmd == NULL) {
		fprintf(stderr, "levy: unknown command\n");
		admin_usage(stderr);
		return ADMIN_EXIT_USAGE;
	}
	skip = cmd->sub != NULL ? 2 : 1;
	ctx.cmd = cmd;
	ctx.conf = c;
	db_init(&ctx.db, c->db_owner_conninfo);
	arena_init(&ctx.arena);
	rc = cmd->fn(&ctx, argc - skip, argv + skip);
	arena_destroy(&ctx.arena);
	db_close(&ctx.db);
	return rc;
}
