/*
 * SQL of tenant users.  Login and its failure counter run before the tenant
 * is known, through the SECURITY DEFINER functions of sql/002-auth.sql; the
 * rest runs in the tenant's context under row-level security.  Emails are
 * lowercased by the SQL that stores them, so the unique constraint and the
 * login look-up agree.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db/user.h"

#define USER_COLUMNS                                                                               \
	"id, tenant_id, email, role, first_name, last_name, is_active,"                            \
	" floor(extract(epoch FROM last_login_at))::bigint,"                                       \
	" floor(extract(epoch FROM created_at))::bigint"

static void user_row_read(struct arena *a, PGresult *r, int i, struct user_row *out)
{
	out->id = db_int(r, i, 0);
	out->tenant_id = db_int(r, i, 1);
	out->email = db_str(a, r, i, 2);
	out->role = db_str(a, r, i, 3);
	out->first_name = db_str(a, r, i, 4);
	out->last_name = db_str(a, r, i, 5);
	out->is_active = db_bool(r, i, 6);
	out->last_login = db_int(r, i, 7);
	out->created = db_int(r, i, 8);
}

static int user_missing(struct err *e, long long id)
{
	return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id", "No such user: '%lld'.",
	               id);
}

int db_user_login_lookup(struct db *db, struct arena *a, const char *email, struct login_row *out,
                         bool *found, struct err *e)
{
	STMT(user_login_lookup, "SELECT user_id, tenant_id, password_hash, role, is_active,"
	                        " tenant_status FROM levy_auth_login($1)");
	const char *params[1] = {email};
	PGresult *r;

	*found = false;
	r = db_exec(db, a, &user_login_lookup, 1, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return 0;
	out->user_id = db_int(r, 0, 0);
	out->tenant_id = db_int(r, 0, 1);
	out->password_hash = db_str(a, r, 0, 2);
	out->role = db_str(a, r, 0, 3);
	out->is_active = db_bool(r, 0, 4);
	out->tenant_status = db_str(a, r, 0, 5);
	*found = true;
	return 0;
}

int db_login_failures(struct db *db, struct arena *a, const char *email, int *failures,
                      struct err *e)
{
	STMT(user_login_failures, "SELECT levy_login_failures($1)");
	const char *params[1] = {email};
	PGresult *r = db_exec(db, a, &user_login_failures, 1, params, e);

	if (r == NULL)
		return -1;
	*failures = PQntuples(r) == 1 ? (int)db_int(r, 0, 0) : 0;
	return 0;
}

int db_login_failure_record(struct db *db, struct arena *a, const char *email, struct err *e)
{
	STMT(user_login_failure_record, "SELECT levy_login_failure_record($1)");
	const char *params[1] = {email};

	return db_exec(db, a, &user_login_failure_record, 1, params, e) != NULL ? 0 : -1;
}

int db_login_failure_clear(struct db *db, struct arena *a, const char *email, struct err *e)
{
	STMT(user_login_failure_clear, "SELECT levy_login_failure_clear($1)");
	const char *params[1] = {email};

	return db_exec(db, a, &user_login_failure_clear, 1, params, e) != NULL ? 0 : -1;
}

int db_user_get(struct db *db, struct arena *a, long long id, struct user_row *out, struct err *e)
{
	STMT(user_get, "SELECT " USER_COLUMNS " FROM tenant_users WHERE id = $1");
	char sid[24];
	const char *params[1] = {sid};
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", id);
	r = db_exec(db, a, &user_get, 1, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return user_missing(e, id);
	user_row_read(a, r, 0, out);
	return 0;
}

int db_user_list(struct db *db, struct arena *a, int limit, long long starting_after,
                 long long ending_before, struct user_row **rows, int *n, bool *has_more,
                 struct err *e)
{
	/* One more than asked for tells whether there is more. */
	STMT(user_list_after, "SELECT " USER_COLUMNS " FROM tenant_users"
	                      " WHERE ($1::bigint = 0 OR id < $1::bigint)"
	                      " ORDER BY id DESC LIMIT $2::int + 1");
	/* The page just newer than the cursor, nearest first, turned around below. */
	STMT(user_list_before, "SELECT " USER_COLUMNS " FROM tenant_users"
	                       " WHERE id > $1::bigint ORDER BY id ASC LIMIT $2::int + 1");
	char cursor[24], lim[16];
	const char *params[2] = {cursor, lim};
	PGresult *r;
	int count, i;
	bool before = ending_before > 0 && starting_after <= 0;

	*rows = NULL;
	*n = 0;
	*has_more = false;
	if (limit < 1 || limit > 100)
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid_integer", "limit",
		               "Invalid limit: must be between 1 and 100.");
	snprintf(cursor, sizeof(cursor), "%lld",
	         before ? ending_before : (starting_after > 0 ? starting_after : 0));
	snprintf(lim, sizeof(lim), "%d", limit);
	r = db_exec(db, a, before ? &user_list_before : &user_list_after, 2, params, e);
	if (r == NULL)
		return -1;
	count = PQntuples(r);
	if (count > limit) {
		*has_more = true;
		count = limit;
	}
	*rows = arena_alloc(a, sizeof(**rows) * (size_t)(count > 0 ? count : 1));
	for (i = 0; i < count; i++)
		user_row_read(a, r, i, &(*rows)[before ? count - 1 - i : i]);
	*n = count;
	return 0;
}

int db_user_create(struct db *db, struct arena *a, const char *email, const char *password_hash,
                   const char *role, const char *first_name, const char *last_name,
                   struct user_row *out, struct err *e)
{
	STMT(user_create, "INSERT INTO tenant_users"
	                  " (tenant_id, email, password_hash, role, first_name, last_name)"
	                  " VALUES (NULLIF(current_setting('app.tenant_id', true), '')::bigint,"
	                  " lower($1), $2, $3, coalesce($4, ''), coalesce($5, ''))"
	                  " RETURNING " USER_COLUMNS);
	const char *params[5] = {email, password_hash, role, first_name, last_name};
	PGresult *r = db_exec(db, a, &user_create, 5, params, e);

	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return err_internal(e, "tenant_users insert returned %d rows", PQntuples(r));
	user_row_read(a, r, 0, out);
	return 0;
}

int db_user_update(struct db *db, struct arena *a, long long id, const struct user_patch *p,
                   struct user_row *out, struct err *e)
{
	/*
	 * A new password or a deactivation ends the user's sessions: their
	 * refresh tokens stop working (access tokens run out on their own).
	 */
	STMT(user_update, "WITH u AS (UPDATE tenant_users SET"
	                  " email = coalesce(lower($2), email),"
	                  " password_hash = coalesce($3, password_hash),"
	                  " role = coalesce($4, role),"
	                  " first_name = coalesce($5, first_name),"
	                  " last_name = coalesce($6, last_name),"
	                  " is_active = coalesce($7::boolean, is_active),"
	                  " updated_at = now()"
	                  " WHERE id = $1::bigint RETURNING " USER_COLUMNS "),"
	                  " r AS (UPDATE refresh_tokens t SET revoked_at = now()"
	                  "  FROM u WHERE t.user_id = u.id AND t.tenant_id = u.tenant_id"
	                  "  AND t.revoked_at IS NULL AND ($3 IS NOT NULL OR $7::boolean = false))"
	                  " SELECT * FROM u");
	char sid[24];
	const char *params[7];
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", id);
	params[0] = sid;
	params[1] = p->email;
	params[2] = p->password_hash;
	params[3] = p->role;
	params[4] = p->first_name;
	params[5] = p->last_name;
	params[6] = p->is_active < 0 ? NULL : (p->is_active ? "true" : "false");
	r = db_exec(db, a, &user_update, 7, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return user_missing(e, id);
	user_row_read(a, r, 0, out);
	return 0;
}

int db_user_delete(struct db *db, struct arena *a, long long id, struct err *e)
{
	/* Its refresh tokens go with it (ON DELETE CASCADE), so they stop working. */
	STMT(user_delete, "DELETE FROM tenant_users WHERE id = $1::bigint RETURNING id");
	char sid[24];
	const char *params[1] = {sid};
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", id);
	r = db_exec(db, a, &user_delete, 1, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return user_missing(e, id);
	return 0;
}

int db_user_touch_login(struct db *db, struct arena *a, long long id, struct err *e)
{
	STMT(user_touch_login,
	     "UPDATE tenant_users SET last_login_at = now() WHERE id = $1::bigint");
	char sid[24];
	const char *params[1] = {sid};

	snprintf(sid, sizeof(sid), "%lld", id);
	return db_exec(db, a, &user_touch_login, 1, params, e) != NULL ? 0 : -1;
}

int db_user_set_password(struct db *db, struct arena *a, const char *email,
                         const char *password_hash, long long *user_id, struct err *e)
{
	STMT(user_set_password,
	     "WITH u AS (UPDATE tenant_users SET password_hash = $2, updated_at = now()"
	     " WHERE email = lower($1) RETURNING id, tenant_id),"
	     " r AS (UPDATE refresh_tokens t SET revoked_at = now()"
	     "  FROM u WHERE t.user_id = u.id AND t.tenant_id = u.tenant_id"
	     "  AND t.revoked_at IS NULL)"
	     " SELECT id FROM u");
	const char *params[2] = {email, password_hash};
	PGresult *r = db_exec(db, a, &user_set_password, 2, params, e);

	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "email",
		               "No such user: '%s'.", email);
	if (user_id != NULL)
		*user_id = db_int(r, 0, 0);
	return 0;
}
