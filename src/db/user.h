/*
 * SQL of tenant users (the dashboard's people).  Emails are unique across
 * the platform, because login names no tenant; the look-up at login goes
 * through the SECURITY DEFINER function levy_auth_login().  Failed logins
 * are counted per email (hashed) through levy_login_failure_*().
 */
#ifndef LEVY_DB_USER_H
#define LEVY_DB_USER_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"

struct user_row {
	long long id;
	long long tenant_id;
	const char *email;
	const char *role; /* "owner", "admin", "developer" */
	const char *first_name;
	const char *last_name;
	bool is_active;
	long long last_login; /* 0: never */
	long long created;
};

struct login_row {
	long long user_id;
	long long tenant_id;
	const char *password_hash;
	const char *role;
	bool is_active;
	const char *tenant_status;
};

/* Before the tenant is known.  *found false for an unknown email. */
int db_user_login_lookup(struct db *db, struct arena *a, const char *email, struct login_row *out,
                         bool *found, struct err *e);
/* Recent failures for this email (within 15 minutes) before this attempt. */
int db_login_failures(struct db *db, struct arena *a, const char *email, int *failures,
                      struct err *e);
int db_login_failure_record(struct db *db, struct arena *a, const char *email, struct err *e);
int db_login_failure_clear(struct db *db, struct arena *a, const char *email, struct err *e);

/* In the tenant's context.  404 resource_missing when not visible. */
int db_user_get(struct db *db, struct arena *a, long long id, struct user_row *out, struct err *e);
/* Newest first; cursor ids 0 when absent; *has_more set. */
int db_user_list(struct db *db, struct arena *a, int limit, long long starting_after,
                 long long ending_before, struct user_row **rows, int *n, bool *has_more,
                 struct err *e);
/* Email taken -> 400 parameter_invalid, param "email". */
int db_user_create(struct db *db, struct arena *a, const char *email, const char *password_hash,
                   const char *role, const char *first_name, const char *last_name,
                   struct user_row *out, struct err *e);

/* NULL: unchanged. */
struct user_patch {
	const char *email;
	const char *password_hash;
	const char *role;
	const char *first_name;
	const char *last_name;
	int is_active; /* -1: unchanged */
};
int db_user_update(struct db *db, struct arena *a, long long id, const struct user_patch *p,
                   struct user_row *out, struct err *e);
/* Also revokes the user's refresh tokens. */
int db_user_delete(struct db *db, struct arena *a, long long id, struct err *e);
int db_user_touch_login(struct db *db, struct arena *a, long long id, struct err *e);
/*
 * Operator recovery (`levy user set-password`, on the owner's connection):
 * sets the password of the user with this email and revokes their refresh
 * tokens.  404 resource_missing, param "email", when there is none.
 * *user_id (may be NULL) is the user's id.
 */
int db_user_set_password(struct db *db, struct arena *a, const char *email,
                         const char *password_hash, long long *user_id, struct err *e);

#endif
