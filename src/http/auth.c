/*
 * Credentials -> principal.  API keys are checked for format and checksum
 * first, so that a mistyped key costs no database round trip; then looked up
 * by SHA-256 through levy_auth_api_key() (verify, outside any transaction)
 * or levy_auth_api_key_open() (opening the request's transaction, with the
 * tenant's profile in the same answer).  JWTs are verified offline (alg,
 * signature, exp, typ); the user's current role is loaded inside the
 * transaction by auth_load_user().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/role.h"
#include "core/str.h"
#include "crypto/apikey.h"
#include "crypto/jwt.h"
#include "db/apikey.h"
#include "db/tenant.h"
#include "http/auth.h"
#include "http/req.h"

#define AUTH_MAX_CREDENTIAL 8192

enum cred_kind { CRED_NONE, CRED_KEY, CRED_JWT, CRED_BAD };

static int unauthenticated(struct err *e, const char *msg)
{
	return err_set(e, 401, E_AUTHENTICATION, NULL, NULL, "%s", msg);
}

/* Decodes HTTP Basic "user:pass" and returns the user part in the arena. */
static const char *basic_user(struct req *r, const char *b64)
{
	size_t n = strlen(b64);
	unsigned char *out;
	int len;
	char *colon;

	if (n == 0 || n > AUTH_MAX_CREDENTIAL || n % 4 != 0)
		return NULL;
	out = arena_alloc(r->arena, n / 4 * 3 + 1);
	len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return NULL;
	/* EVP_DecodeBlock counts padding as zero bytes. */
	while (n > 0 && b64[n - 1] == '=' && len > 0) {
		len--;
		n--;
	}
	out[len] = '\0';
	if (strlen((char *)out) != (size_t)len)
		return NULL;
	colon = strchr((char *)out, ':');
	if (colon != NULL)
		*colon = '\0';
	return (const char *)out;
}

/* Finds the credential in the headers; *value points to the key or token. */
static enum cred_kind find_credential(struct req *r, const char **value)
{
	const char *h = req_header(r, "Authorization");
	const char *x;

	*value = NULL;
	if (h != NULL && *h != '\0') {
		if (strlen(h) > AUTH_MAX_CREDENTIAL)
			return CRED_BAD;
		if (strncasecmp(h, "Bearer ", 7) == 0) {
			h += 7;
			while (*h == ' ')
				h++;
			*value = h;
			return str_has_prefix(h, "eyJ") ? CRED_JWT : CRED_KEY;
		}
		if (strncasecmp(h, "Basic ", 6) == 0) {
			*value = basic_user(r, h + 6);
			return *value != NULL ? CRED_KEY : CRED_BAD;
		}
		return CRED_BAD;
	}
	x = req_header(r, "X-API-Key");
	if (x != NULL && *x != '\0') {
		if (strlen(x) > AUTH_MAX_CREDENTIAL)
			return CRED_BAD;
		*value = x;
		return CRED_KEY;
	}
	return CRED_NONE;
}

/* The route's flags against the kind of key: publishable keys only where R_API_KEY. */
static int key_allowed(struct req *r, struct err *e)
{
	unsigned flags = r->route->flags;

	if (flags & R_API_KEY)
		return 0;
	if (r->who.secret_key && (flags & R_SECRET_KEY))
		return 0;
	if (r->who.secret_key)
		return err_set(e, 403, E_PERMISSION, NULL, NULL,
		               "This endpoint is for dashboard users: log in and use the access "
		               "token.");
	return err_set(e, 403, E_PERMISSION, NULL, NULL,
	               "This request needs a secret API key; publishable keys may only verify "
	               "themselves and read the public catalog.");
}

/* A looked-up key (found or not) becomes the principal, or a 401/403. */
static int key_judge(struct req *r, bool found, const struct apikey_auth *a, struct err *e)
{
	if (!found)
		return unauthenticated(e, "Invalid API key provided.");
	if (strcmp(a->tenant_status, "active") != 0)
		return err_set(e, 403, E_PERMISSION, "account_suspended", NULL,
		               "This account is suspended. Contact the platform operator.");
	r->who.kind = P_API_KEY;
	r->who.tenant_id = a->tenant_id;
	r->who.livemode = a->livemode;
	r->who.secret_key = a->secret;
	r->who.key_id = a->key_id;
	r->who.company_name = a->company_name;
	r->who.slug = a->slug;
	return key_allowed(r, e);
}

/* Parses a key offline: 401 for a malformed one or a bad checksum. */
static int parse_key(struct req *r, const char *key, struct err *e)
{
	char *hash = arena_alloc(r->arena, 65);
	bool secret, livemode;

	if (apikey_parse(key, &secret, &livemode) != 0)
		return unauthenticated(e, "Invalid API key provided.");
	apikey_hash_hex(key, hash);
	r->who.kind = P_API_KEY;
	r->who.secret_key = secret;
	r->who.livemode = livemode;
	r->who.key_hash = hash;
	return 0;
}

/* Routes without a transaction (verify) look the key up at once, in autocommit. */
static int identify_key_now(struct req *r, struct err *e)
{
	struct apikey_auth a;
	bool found;

	if (db_apikey_lookup(r->db, r->arena, r->who.key_hash, &a, &found, e) != 0)
		return -1;
	return key_judge(r, found, &a, e);
}

static int identify_jwt(struct req *r, const char *token, struct err *e)
{
	struct jwt_claims c;
	const char *mode = req_header(r, "Levy-Mode");

	if (jwt_verify_token(token, r->conf->jwt_secret, JWT_ACCESS, r->now, &c, e) != 0)
		return -1;
	r->who.kind = P_USER;
	r->who.tenant_id = c.tid;
	r->who.user_id = c.sub;
	r->who.role = ROLE_NONE; /* auth_load_user reads the current one */
	if (mode == NULL || strcmp(mode, "test") == 0)
		r->who.livemode = false;
	else if (strcmp(mode, "live") == 0)
		r->who.livemode = true;
	else
		return err_set(e, 400, E_INVALID_REQUEST, "parameter_invalid", "Levy-Mode",
		               "Invalid Levy-Mode header: use test or live.");
	return 0;
}

int auth_identify(struct req *r, struct err *e)
{
	unsigned flags = r->route->flags;
	const char *value;
	enum cred_kind kind;

	if (flags & R_PUBLIC)
		return 0;
	kind = find_credential(r, &value);
	if (kind == CRED_NONE)
		return unauthenticated(e, "You did not provide an API key. Provide it in the "
		                          "Authorization header as a Bearer token.");
	if (kind == CRED_BAD)
		return unauthenticated(e, "Invalid credentials in the Authorization header.");
	if (kind == CRED_JWT) {
		if ((flags & R_USER) == 0)
			return unauthenticated(e, "This endpoint takes an API key, not a "
			                          "dashboard token.");
		return identify_jwt(r, value, e);
	}
	if (parse_key(r, value, e) != 0)
		return -1;
	if (flags & R_NO_TX)
		return identify_key_now(r, e);
	/* The kind of key is known from its prefix: refuse before any statement runs. */
	return key_allowed(r, e);
}

STMT(auth_user_load, "SELECT u.role, u.is_active, t.status, t.company_name, t.slug"
                     " FROM tenant_users u JOIN tenants t ON t.id = u.tenant_id"
                     " WHERE u.id = $1");

/*
 * The user's current role and state become the principal, or a 401/403:
 * from auth_user_load (role, is_active, status, company_name, slug), or
 * from levy_auth_user_open(), whose first five columns are the same.
 */
static int user_judge(struct req *r, PGresult *res, struct err *e)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1) || !db_bool(res, 0, 1))
		return unauthenticated(e, "Invalid or expired token.");
	if (strcmp(PQgetvalue(res, 0, 2), "active") != 0)
		return err_set(e, 403, E_PERMISSION, "account_suspended", NULL,
		               "This account is suspended. Contact the platform operator.");
	r->who.role = role_parse(PQgetvalue(res, 0, 0));
	r->who.company_name = db_str(r->arena, res, 0, 3);
	r->who.slug = db_str(r->arena, res, 0, 4);
	return 0;
}

STMT(auth_user_open, "SELECT role, is_active, tenant_status, company_name, slug, email, domain,"
                     " logo_url, primary_color, webhook_url, platform_fee_bp, subscription_tier,"
                     " created, updated FROM levy_auth_user_open($1, $2, $3, $4, $5)");

/* levy_auth_user_open()'s tenant profile (an active user of an active tenant only). */
static struct tenant_row *user_tenant(struct req *r, PGresult *res)
{
	struct tenant_row *t = arena_alloc(r->arena, sizeof(*t));

	memset(t, 0, sizeof(*t));
	t->id = r->who.tenant_id;
	t->company_name = r->who.company_name;
	t->slug = r->who.slug;
	t->status = db_str(r->arena, res, 0, 2);
	t->email = db_str(r->arena, res, 0, 5);
	t->domain = db_str(r->arena, res, 0, 6);
	t->logo_url = db_str(r->arena, res, 0, 7);
	t->primary_color = db_str(r->arena, res, 0, 8);
	t->webhook_url = db_str(r->arena, res, 0, 9);
	t->platform_fee_bp = (int)db_int(res, 0, 10);
	t->subscription_tier = db_str(r->arena, res, 0, 11);
	t->created = db_int(res, 0, 12);
	t->updated = db_int(res, 0, 13);
	return t;
}

int auth_load_user(struct req *r, struct err *e)
{
	char id[24];
	const char *params[1] = {id};
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", r->who.user_id);
	res = db_exec(r->db, r->arena, &auth_user_load, 1, params, e);
	if (res == NULL)
		return -1;
	return user_judge(r, res, e);
}

static int route_action(struct req *r, struct err *e)
{
	return r->route->action >= 0 ? auth_authorize(r, r->route->action, e) : 0;
}

static int user_checked(void *arg, PGresult *res, struct err *e)
{
	struct req *r = arg;

	if (user_judge(r, res, e) != 0)
		return -1;
	if (PQnfields(res) == 14)
		r->who.tenant = user_tenant(r, res);
	return route_action(r, e);
}

static int key_checked(void *arg, PGresult *res, struct err *e)
{
	struct req *r = arg;
	struct apikey_auth a;
	struct tenant_row *t = arena_alloc(r->arena, sizeof(*t));
	bool found;

	db_apikey_open_read(r->arena, res, &a, t, &found);
	if (key_judge(r, found, &a, e) != 0)
		return -1;
	if (t->id > 0)
		r->who.tenant = t;
	return route_action(r, e);
}

int auth_begin(struct req *r, struct err *e)
{
	bool readonly = (r->route->flags & R_READONLY) != 0;
	char *uid, *tid;

	switch (r->who.kind) {
	case P_USER:
		/*
		 * As for a key: the look-up sets the context (and read-only mode,
		 * so that a read-only route needs no BEGIN) and answers with the
		 * tenant's profile.  A read-only route's look-up travels with its
		 * first statement (a handler that reads the role before any
		 * statement settles first); a write's handler may need the role
		 * before its first statement: settle now.
		 */
		uid = arena_printf(r->arena, "%lld", r->who.user_id);
		tid = arena_printf(r->arena, "%lld", r->who.tenant_id);
		r->check = (struct db_check){
		        .stmt = &auth_user_open,
		        .n = 5,
		        .params = {uid, tid, r->who.livemode ? "true" : "false",
		                   readonly ? "true" : "false", readonly ? NULL : r->id},
		        .fn = user_checked,
		        .arg = r,
		        .implicit = readonly};
		if (db_begin_checked(r->db, false, NULL, &r->check, e) != 0)
			return -1;
		if (!readonly && db_settle(r->db, e) != 0) {
			db_rollback(r->db);
			return -1;
		}
		return 0;
	case P_API_KEY:
		/*
		 * The look-up stamps last_used, then sets the context and, for a
		 * read-only route, read-only mode: such a route needs no BEGIN.  For
		 * a route that answers with it, it returns the tenant's profile too
		 * (r->who.tenant).
		 */
		r->check = (struct db_check){
		        .stmt = (r->route->flags & R_PROFILE) != 0 ? db_apikey_open_stmt()
		                                                   : db_apikey_enter_stmt(),
		        .n = 3,
		        .params = {r->who.key_hash, readonly ? "true" : "false",
		                   readonly ? NULL : r->id},
		        .fn = key_checked,
		        .arg = r,
		        .implicit = readonly};
		return db_begin_checked(r->db, false, NULL, &r->check, e);
	case P_NONE:
	default:
		return db_begin(r->db, readonly, NULL, e);
	}
}

int auth_authorize(struct req *r, int action, struct err *e)
{
	enum role_action a = (enum role_action)action;

	if (a == ACT_WRITE_TEST_DATA && r->who.livemode)
		a = ACT_WRITE_LIVE_DATA;
	if (r->who.kind == P_API_KEY) {
		/* A secret key acts for the tenant in its own mode, but manages no users or keys.
		 */
		if (r->who.secret_key && a != ACT_USER_MANAGE && a != ACT_USER_MANAGE_OWNER &&
		    a != ACT_KEY_READ_LIVE && a != ACT_KEY_ROLL_TEST && a != ACT_KEY_ROLL_LIVE)
			return 0;
		/* key_allowed() kept publishable keys to R_API_KEY routes: catalog reads. */
		if (!r->who.secret_key && a == ACT_READ)
			return 0;
	} else if (r->who.kind == P_USER && role_allows(r->who.role, a)) {
		return 0;
	}
	return err_set(e, 403, E_PERMISSION, NULL, NULL,
	               "Your role (%s) may not perform this action (%s).",
	               r->who.kind == P_USER ? role_name(r->who.role) : "api key",
	               role_action_name(a));
}
