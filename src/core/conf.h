/*
 * levy's configuration (libconfig syntax), shared by levy-fcgi and levy.
 * One table in conf.c names every setting with its type, default and range;
 * the loader checks each one (libconfig 1.5 silently wraps integers that do
 * not fit) and refuses unknown settings.  Errors read
 *   "/etc/levy/levy.conf:12: workers: must be between 1 and 256"
 * and the programs exit with status 2 on them.
 */
#ifndef LEVY_CONF_H
#define LEVY_CONF_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

#define CONF_MAX_CORS 32

struct conf {
	char *path;              /* the file read; NULL for defaults only */
	char *db_conninfo;       /* database.conninfo: the application role */
	char *db_owner_conninfo; /* database.owner_conninfo: `levy migrate` and admin commands */
	char *listen;            /* "unix:/path", "HOST:PORT", "fd:0" or "systemd" */
	int socket_mode;         /* unix socket permissions, e.g. 0660 */
	int workers;             /* 1..256 */
	long long max_requests;  /* per worker before recycling; 0: never */
	long long body_limit;    /* bytes; 1 KiB .. 64 MiB; default 1 MiB */
	int request_timeout;     /* seconds a worker may spend on one request; SIGTERM grace */
	char *jwt_secret;        /* >= 32 bytes, required by levy-fcgi */
	int jwt_access_ttl;      /* seconds; default 900 */
	int jwt_refresh_ttl;     /* seconds; default 1209600 (14 days) */
	int password_iterations; /* PBKDF2 rounds; default 600000 */
	int platform_fee_bp;     /* default platform fee in basis points ("15.00" -> 1500) */
	char *cors_origins[CONF_MAX_CORS];
	int ncors_origins;
	int log_level;                    /* enum log_level */
	bool webhook_allow_http_loopback; /* http:// webhook URLs to 127.0.0.1/localhost/::1 */
	int login_max_failures;           /* failures per email before slowing down */
	/* stripe: Stripe Connect, the live-mode processor and the OAuth connect flow. */
	char *stripe_api_base;           /* "https://api.stripe.com", no path */
	char *stripe_connect_base;       /* "https://connect.stripe.com", no path */
	char *stripe_secret_key;         /* the platform's sk_/rk_ key; "" not configured */
	char *stripe_client_id;          /* the platform's Connect client id (ca_); "" unset */
	int stripe_timeout_ms;           /* per HTTP call to Stripe */
	char *stripe_oauth_redirect_uri; /* "" or the redirect_uri of the authorize URL */
};

/* Fills every setting with its default (strings strdup'd). */
void conf_defaults(struct conf *c);
/*
 * Reads `path` over the defaults.  Returns 0, or -1 with a message naming
 * the file, the line and the setting in errbuf.  c is always safe to free.
 */
int conf_load(const char *path, struct conf *c, char *errbuf, size_t errlen);
/* Checks what must hold before serving (JWT secret length). 0, or -1 with errbuf. */
int conf_check_server(const struct conf *c, char *errbuf, size_t errlen);
/* The effective configuration, secrets masked (levy-fcgi -t). */
void conf_print(const struct conf *c, FILE *out);
void conf_free(struct conf *c);

#endif
