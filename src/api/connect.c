/*
 * The Stripe Connect OAuth flow (see connect.h).  Only a dashboard user
 * whose role is owner may connect or see the connection: routes.c lets
 * dashboard users through (API keys never reach these handlers) and
 * connect_owner() refuses the other roles, since connecting decides where
 * the tenant's money goes.
 *
 * The state binds the flow to the tenant and the user who started it
 * (crypto/oauth_state.c): a code is accepted only with a state this
 * owner was given in the last ten minutes.  Stripe's access and refresh
 * tokens are not kept: levy acts on a Standard account with the
 * platform's key and the Stripe-Account header, so the acct_ id is all it
 * stores, through levy_tenant_stripe_account_set() (the application may
 * not write tenants.stripe_account_id itself).
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "api/connect.h"
#include "api/role.h"
#include "crypto/oauth_state.h"
#include "http/reply.h"
#include "http/req.h"
#include "pay/stripe_http.h"

#define CONNECT_CODE_MAX_LEN 255
#define MSG_NOT_CONFIGURED                                                                         \
	"Stripe Connect is not configured on this levy platform (it has no Stripe %s). Contact "   \
	"the platform operator."

STMT(connect_tenant, "SELECT t.stripe_account_id FROM tenants t");
STMT(connect_set, "SELECT a.stripe_account_id FROM levy_tenant_stripe_account_set($1) a");

static int connect_owner(struct req *r, struct err *e)
{
	if (db_settle(r->db, e) != 0)
		return -1;
	if (r->who.kind == P_USER && r->who.role == ROLE_OWNER)
		return 0;
	return err_set(e, 403, E_PERMISSION, NULL, NULL,
	               "Your role (%s) may not perform this action (stripe_connect): only the "
	               "owner connects the tenant's Stripe account.",
	               r->who.kind == P_USER ? role_name(r->who.role) : "api key");
}

/* The platform's side of Connect: its secret key, and for the authorize URL its client id. */
static int connect_configured(struct req *r, bool client_id, struct err *e)
{
	if (r->conf->stripe_secret_key == NULL || r->conf->stripe_secret_key[0] == '\0')
		return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL, MSG_NOT_CONFIGURED,
		               "secret key");
	if (client_id &&
	    (r->conf->stripe_client_id == NULL || r->conf->stripe_client_id[0] == '\0'))
		return err_set(e, 400, E_INVALID_REQUEST, NULL, NULL, MSG_NOT_CONFIGURED,
		               "Connect client id");
	return 0;
}

/* The tenant's connected account, or NULL. */
static int connect_account(struct req *r, const char **account, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &connect_tenant, 0, NULL, e);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return err_internal(e, "the tenant's own row is not visible");
	*account = db_str(r->arena, res, 0, 0);
	return 0;
}

/* Stores (or clears, account NULL) the connection through the definer function. */
static int connect_store(struct req *r, const char *account, struct err *e)
{
	PGresult *res = db_exec(r->db, r->arena, &connect_set, 1, &account, e);

	if (res == NULL)
		return -1;
	/* The function checks the owner itself: a role changed since auth_begin() refuses. */
	if (PQntuples(res) != 1)
		return err_set(e, 403, E_PERMISSION, NULL, NULL,
		               "Only the tenant's owner may connect its Stripe account.");
	return 0;
}

/* {"object": "stripe_connection", "connected": bool, "stripe_account": "acct_..." | null} */
static int connect_reply(struct req *r, struct reply *out, const char *account)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "object", json_object_new_string("stripe_connection"));
	json_object_object_add(o, "connected", json_object_new_boolean(account != NULL));
	json_object_object_add(o, "stripe_account",
	                       account != NULL ? json_object_new_string(account) : NULL);
	return reply_json(r, out, 200, o);
}

/* A POST to Stripe's OAuth host with the platform's key. */
static int connect_post(struct req *r, const char *path, const struct stripe_form *f,
                        struct stripe_answer *ans, struct err *e)
{
	struct stripe_call call = {
	        .base = r->conf->stripe_connect_base,
	        .path = path,
	        .secret_key = r->conf->stripe_secret_key,
	        .form = f,
	        .timeout_ms = r->conf->stripe_timeout_ms,
	};

	return stripe_http_post(r->arena, &call, ans, e);
}

int connect_stripe_get(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *account;

	if (connect_owner(r, e) != 0 || param_only(&r->in, allowed, e) != 0 ||
	    connect_account(r, &account, e) != 0)
		return -1;
	return connect_reply(r, out, account);
}

int connect_stripe_authorize(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	char state[OAUTH_STATE_LEN + 1];
	struct stripe_form q;
	struct json_object *o;
	long long expires_at;

	if (connect_owner(r, e) != 0 || param_only(&r->in, allowed, e) != 0 ||
	    connect_configured(r, true, e) != 0)
		return -1;
	if (oauth_state_make(r->conf->jwt_secret, r->who.tenant_id, r->who.user_id, r->now,
	                     OAUTH_STATE_TTL, state, sizeof(state), &expires_at) != 0)
		return err_internal(e, "could not make an OAuth state");
	/* The query is form-encoded as a request body is. */
	stripe_form_init(&q, r->arena);
	stripe_form_add(&q, "response_type", "code");
	stripe_form_add(&q, "client_id", r->conf->stripe_client_id);
	stripe_form_add(&q, "scope", "read_write");
	stripe_form_add(&q, "state", state);
	if (r->conf->stripe_oauth_redirect_uri[0] != '\0')
		stripe_form_add(&q, "redirect_uri", r->conf->stripe_oauth_redirect_uri);
	o = json_object_new_object();
	json_object_object_add(o, "object", json_object_new_string("stripe_oauth_link"));
	json_object_object_add(o, "url",
	                       json_object_new_string(arena_printf(
	                               r->arena, "%s/oauth/authorize?%s",
	                               r->conf->stripe_connect_base, stripe_form_body(&q))));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "expires_at", json_object_new_int64(expires_at));
	return reply_json(r, out, 200, o);
}

/* The state back from Stripe: this owner's, made here, not expired. */
static int connect_check_state(struct req *r, const char *state, struct err *e)
{
	switch (oauth_state_check(r->conf->jwt_secret, state, r->who.tenant_id, r->who.user_id,
	                          r->now)) {
	case OAUTH_STATE_OK:
		return 0;
	case OAUTH_STATE_EXPIRED:
		return err_invalid(e, "state",
		                   "This OAuth state has expired: connect Stripe again from the "
		                   "start.");
	case OAUTH_STATE_OTHER_TENANT:
	case OAUTH_STATE_OTHER_USER:
		return err_invalid(e, "state",
		                   "This OAuth state was issued to another user: connect Stripe "
		                   "again from the start.");
	case OAUTH_STATE_MALFORMED:
	case OAUTH_STATE_BAD_MAC:
	default:
		return err_invalid(e, "state",
		                   "Invalid OAuth state: connect Stripe again from the "
		                   "start.");
	}
}

int connect_stripe_callback(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"code", "state", NULL};
	const char *code, *state, *account;
	struct stripe_answer ans;
	struct stripe_error se;
	struct stripe_form f;

	if (connect_owner(r, e) != 0 || param_only(&r->in, allowed, e) != 0 ||
	    param_req_str(&r->in, "code", CONNECT_CODE_MAX_LEN, &code, e) != 0 ||
	    param_req_str(&r->in, "state", OAUTH_STATE_LEN + 1, &state, e) != 0 ||
	    connect_check_state(r, state, e) != 0)
		return -1;
	if (!stripe_id_valid(code, "ac_"))
		return err_invalid(e, "code",
		                   "Invalid authorization code: Stripe's codes start with ac_.");
	if (connect_configured(r, false, e) != 0)
		return -1;
	stripe_form_init(&f, r->arena);
	stripe_form_add(&f, "grant_type", "authorization_code");
	stripe_form_add(&f, "code", code);
	if (connect_post(r, "/oauth/token", &f, &ans, e) != 0)
		return -1;
	if (ans.status < 200 || ans.status >= 300) {
		stripe_http_error(r->arena, &ans, &se);
		/* invalid_grant and friends: the code is spent, expired or someone else's. */
		if (ans.status == 400)
			return err_invalid(e, "code", "Stripe refused the authorization code: %s",
			                   se.message);
		return stripe_http_refused(&ans, &se, e);
	}
	account = stripe_json_str(r->arena, ans.body, "stripe_user_id");
	if (!stripe_id_valid(account, "acct_")) {
		err_set(e, 503, E_API, NULL, NULL,
		        "Stripe's answer could not be read. Connect Stripe again later.");
		e->retry_after = STRIPE_RETRY_AFTER_DEFAULT;
		err_detail(e, "stripe's OAuth token answer has no valid stripe_user_id");
		return -1;
	}
	if (connect_store(r, account, e) != 0)
		return -1;
	return connect_reply(r, out, account);
}

int connect_stripe_disconnect(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *account;
	struct stripe_answer ans;
	struct stripe_error se;
	struct stripe_form f;

	if (connect_owner(r, e) != 0 || param_only(&r->in, allowed, e) != 0 ||
	    connect_account(r, &account, e) != 0)
		return -1;
	/* Nothing connected: nothing to undo, and the answer says so. */
	if (account == NULL)
		return connect_reply(r, out, NULL);
	if (connect_configured(r, true, e) != 0)
		return -1;
	stripe_form_init(&f, r->arena);
	stripe_form_add(&f, "client_id", r->conf->stripe_client_id);
	stripe_form_add(&f, "stripe_user_id", account);
	if (connect_post(r, "/oauth/deauthorize", &f, &ans, e) != 0)
		return -1;
	if (ans.status < 200 || ans.status >= 300) {
		stripe_http_error(r->arena, &ans, &se);
		/*
		 * invalid_client: Stripe no longer links the account to the platform
		 * (the tenant revoked access on Stripe's side): already disconnected.
		 */
		if (se.type == NULL || strcmp(se.type, "invalid_client") != 0)
			return stripe_http_refused(&ans, &se, e);
	}
	if (connect_store(r, NULL, e) != 0)
		return -1;
	return connect_reply(r, out, NULL);
}
