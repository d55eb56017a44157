/*
 * Tenant users.  Who may touch whom: the route needs user_manage (owner,
 * admin); touching the owner, or making someone owner, needs
 * user_manage_owner (the owner alone).  Making another user owner is the
 * ownership transfer: they become owner and the caller admin, in one
 * transaction.  The owner can neither demote, deactivate nor delete
 * themselves, so a tenant always keeps its owner.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/role.h"
#include "api/user.h"
#include "api/validate.h"
#include "core/str.h"
#include "crypto/password.h"
#include "db/user.h"
#include "http/auth.h"
#include "http/reply.h"
#include "http/req.h"

#define USER_NAME_MAX_LEN 150

static const char *const assignable_roles[] = {"owner", "admin", "developer", NULL};

/* The :id of the route: a positive decimal id; anything else is simply not found. */
static int user_id_param(struct req *r, long long *id, struct err *e)
{
	const char *s = r->params[0];
	char *end;

	*id = 0;
	if (s != NULL && s[0] >= '1' && s[0] <= '9' && strlen(s) <= 18)
		*id = strtoll(s, &end, 10);
	if (*id <= 0 || *end != '\0')
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such user: '%s'", s != NULL ? s : "");
	return 0;
}

static char *lowercase(struct req *r, const char *s)
{
	char *p = arena_strdup(r->arena, s);

	str_lower_ascii(p);
	return p;
}

/* Reads "password" when present: policy-checked and hashed into *hash. */
static int read_password(struct req *r, const char *email, bool required, const char **hash,
                         struct err *e)
{
	const char *pw, *policy;
	char *h;
	int rc = required ? param_req_str(&r->in, "password", PASSWORD_MAX_LEN, &pw, e)
	                  : param_str(&r->in, "password", PASSWORD_MAX_LEN, false, &pw, e);

	if (rc < 0 || (!required && rc == 0))
		return rc < 0 ? -1 : 0;
	policy = password_policy(pw, email);
	if (policy != NULL)
		return err_invalid(e, "password", "%s", policy);
	h = arena_alloc(r->arena, PASSWORD_HASH_MAX);
	if (password_hash(pw, r->conf->password_iterations, h, PASSWORD_HASH_MAX) != 0)
		return err_internal(e, "could not hash a password");
	*hash = h;
	return 0;
}

int user_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit", "starting_after", "ending_before", NULL};
	long long limit = 10, after = 0, before = 0;
	struct user_row *rows;
	struct json_object *data;
	bool has_more;
	int n;

	if (param_only(&r->in, allowed, e) != 0 ||
	    param_int(&r->in, "limit", 1, 100, &limit, e) < 0 ||
	    param_int(&r->in, "starting_after", 1, (1LL << 62), &after, e) < 0 ||
	    param_int(&r->in, "ending_before", 1, (1LL << 62), &before, e) < 0)
		return -1;
	if (db_user_list(r->db, r->arena, (int)limit, after, before, &rows, &n, &has_more, e) != 0)
		return -1;
	data = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(data, render_user(&rows[i]));
	return reply_json(r, out, 200, render_list(data, has_more, "/v1/auth/users"));
}

int user_create(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"email",      "password",  "role",
	                                      "first_name", "last_name", NULL};
	const char *email, *hash = NULL, *first = "", *last = "";
	struct user_row u;
	int role = 2; /* developer */

	if (param_only(&r->in, allowed, e) != 0)
		return -1;
	if (param_req_str(&r->in, "email", 254, &email, e) != 0)
		return -1;
	if (!validate_email(email))
		return err_invalid(e, "email", "Invalid email address: %s.", email);
	email = lowercase(r, email);
	if (read_password(r, email, true, &hash, e) != 0)
		return -1;
	if (param_enum(&r->in, "role", assignable_roles, &role, e) < 0)
		return -1;
	if (role == 0)
		return err_invalid(e, "role",
		                   "A new user cannot be the owner: create the user, "
		                   "then transfer ownership to them.");
	if (param_str(&r->in, "first_name", USER_NAME_MAX_LEN, true, &first, e) < 0 ||
	    param_str(&r->in, "last_name", USER_NAME_MAX_LEN, true, &last, e) < 0)
		return -1;
	if (db_user_create(r->db, r->arena, email, hash, assignable_roles[role], first, last, &u,
	                   e) != 0)
		return -1;
	return reply_json(r, out, 201, render_user(&u));
}

int user_me(struct req *r, struct reply *out, struct err *e)
{
	struct user_row u;

	if (db_user_get(r->db, r->arena, r->who.user_id, &u, e) != 0)
		return -1;
	return reply_json(r, out, 200, render_user(&u));
}

int user_retrieve(struct req *r, struct reply *out, struct err *e)
{
	struct user_row u;
	long long id;

	if (user_id_param(r, &id, e) != 0 || db_user_get(r->db, r->arena, id, &u, e) != 0)
		return -1;
	return reply_json(r, out, 200, render_user(&u));
}

/* Loads the target; touching the owner (other than oneself) needs the owner's right. */
static int load_target(struct req *r, long long *id, struct user_row *u, struct err *e)
{
	if (user_id_param(r, id, e) != 0 || db_user_get(r->db, r->arena, *id, u, e) != 0)
		return -1;
	if (role_parse(u->role) == ROLE_OWNER && *id != r->who.user_id)
		return auth_authorize(r, ACT_USER_MANAGE_OWNER, e);
	return 0;
}

int user_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"password",  "role",      "first_name",
	                                      "last_name", "is_active", NULL};
	struct user_patch p = {.is_active = -1};
	struct user_row target, u;
	long long id;
	bool self, active;
	int role = -1, rc;

	if (param_only(&r->in, allowed, e) != 0 || load_target(r, &id, &target, e) != 0)
		return -1;
	self = id == r->who.user_id;
	if (read_password(r, target.email, false, &p.password_hash, e) != 0)
		return -1;
	if (param_str(&r->in, "first_name", USER_NAME_MAX_LEN, true, &p.first_name, e) < 0 ||
	    param_str(&r->in, "last_name", USER_NAME_MAX_LEN, true, &p.last_name, e) < 0)
		return -1;
	rc = param_bool(&r->in, "is_active", &active, e);
	if (rc < 0)
		return -1;
	if (rc == 1)
		p.is_active = active;
	if (param_enum(&r->in, "role", assignable_roles, &role, e) < 0)
		return -1;
	if (role >= 0)
		p.role = assignable_roles[role];

	if (self && role_parse(target.role) == ROLE_OWNER) {
		if (p.role != NULL && role != 0)
			return err_invalid(e, "role",
			                   "The owner cannot change their own role: "
			                   "transfer ownership to another user instead.");
		if (p.is_active == 0)
			return err_invalid(e, "is_active",
			                   "The owner cannot deactivate themselves.");
	}
	if (role == 0 && role_parse(target.role) != ROLE_OWNER) {
		struct user_patch demote = {.role = "admin", .is_active = -1};

		/* Ownership transfer: only the owner, only to an active user (an admin
		 * naming themselves owner is refused here too). */
		if (auth_authorize(r, ACT_USER_MANAGE_OWNER, e) != 0)
			return -1;
		if (!target.is_active || p.is_active == 0)
			return err_invalid(e, "role", "Ownership can only go to an active user.");
		if (db_user_update(r->db, r->arena, r->who.user_id, &demote, &u, e) != 0)
			return -1;
	}
	if (db_user_update(r->db, r->arena, id, &p, &u, e) != 0)
		return -1;
	return reply_json(r, out, 200, render_user(&u));
}

int user_delete(struct req *r, struct reply *out, struct err *e)
{
	struct user_row target;
	long long id;

	if (load_target(r, &id, &target, e) != 0)
		return -1;
	if (role_parse(target.role) == ROLE_OWNER)
		return err_invalid(e, "id",
		                   "The owner cannot be deleted: transfer ownership "
		                   "to another user first.");
	if (db_user_delete(r->db, r->arena, id, e) != 0)
		return -1;
	return reply_json(r, out, 200, render_deleted(json_object_new_int64(id), "user"));
}
