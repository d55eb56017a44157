/*
 * SQL of API keys: stored as SHA-256 hex with prefix and last 4 (and the
 * publishable ones also in full, since they are public).  The look-up by
 * hash happens before the tenant is known and goes through the SECURITY
 * DEFINER function levy_auth_api_key(), which also stamps last_used_at (at
 * most once a minute, so that verifying a key stays a read in practice).
 */
#ifndef LEVY_DB_APIKEY_H
#define LEVY_DB_APIKEY_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"

struct tenant_row; /* db/tenant.h */

struct apikey_new {
	bool secret;
	bool livemode;
	const char *hash_hex; /* apikey_hash_hex() */
	const char *redacted; /* apikey_redact(): "sk_live_...WXYZ" */
	const char *plain;    /* the key itself for publishable keys; NULL for secret ones */
};

struct apikey_row {
	long long id;
	bool secret;
	bool livemode;
	const char *redacted;
	const char *plain; /* publishable only */
	long long created;
	long long last_used;  /* 0: never */
	long long expires_at; /* 0: does not expire */
};

struct apikey_auth {
	long long key_id;
	long long tenant_id;
	bool secret;
	bool livemode;
	const char *company_name;
	const char *slug;
	const char *tenant_status;
};

/* *found false when no usable key has this hash (unknown, revoked or expired). */
int db_apikey_lookup(struct db *db, struct arena *a, const char *hash_hex, struct apikey_auth *out,
                     bool *found, struct err *e);
/*
 * The look-up that opens an API-key request's transaction, as the opening
 * pipeline's check (struct db_check): levy_auth_api_key_open($1 hash,
 * $2 read-only) of sql/004 stamps last_used, sets the context for an active
 * tenant and read-only mode when asked, and returns the key with its
 * tenant's profile, so that a handler that needs only the tenant runs no
 * statement of its own.
 */
struct stmt *db_apikey_open_stmt(void);
/*
 * The same look-up without the tenant's profile (levy_auth_api_key_enter()
 * of sql/017, same parameters), for every route that does not answer with
 * it: about 4 us less of PostgreSQL's time.
 */
struct stmt *db_apikey_enter_stmt(void);
/*
 * Reads either statement's result: *found false when no usable key has the
 * hash.  *tenant is filled for an active tenant only (else its id is 0),
 * and only from db_apikey_open_stmt()'s.
 */
void db_apikey_open_read(struct arena *a, PGresult *r, struct apikey_auth *out,
                         struct tenant_row *tenant, bool *found);
/* In the tenant's context. */
int db_apikey_insert(struct db *db, struct arena *a, const struct apikey_new *k, struct err *e);
/* The tenant's unexpired keys, newest first; with_live false hides live keys. */
int db_apikey_list(struct db *db, struct arena *a, bool with_live, struct apikey_row **rows, int *n,
                   struct err *e);
/*
 * Inserts k and sets expires_at = now() + expire_old_in_seconds on the
 * tenant's current unexpired keys of the same type and mode (0: at once).
 * out: the new key's row.
 */
int db_apikey_roll(struct db *db, struct arena *a, const struct apikey_new *k,
                   long long expire_old_in_seconds, struct apikey_row *out, struct err *e);

#endif
