/*
 * Register, verify and the tenant's own profile, in the seed's shapes
 * (../shared/seed/README.seed.md): register answers the four API keys and
 * the webhook secret once; verify answers {valid, tenant, mode}.
 */
#include "config.h"

#include <string.h>

#include "api/render.h"
#include "api/session.h"
#include "api/tenant.h"
#include "api/validate.h"
#include "core/str.h"
#include "crypto/apikey.h"
#include "crypto/password.h"
#include "crypto/rand.h"
#include "db/tenant.h"
#include "http/reply.h"
#include "http/req.h"

#define NAME_MAX_LEN 200
#define PERSON_NAME_MAX_LEN 150
#define EMAIL_MAX_LEN 254
#define URL_MAX_LEN 2048

/* A lowercased copy of an email (ASCII; the address was validated first). */
static char *email_normalize(struct req *r, const char *email)
{
	char *s = arena_strdup(r->arena, email);

	str_lower_ascii(s);
	return s;
}

/* Reads and checks "email"; *out lowercased. */
static int read_email(struct req *r, const char **out, struct err *e)
{
	const char *email;

	if (param_req_str(&r->in, "email", EMAIL_MAX_LEN, &email, e) != 0)
		return -1;
	if (!validate_email(email))
		return err_invalid(e, "email", "Invalid email address: %s.", email);
	*out = email_normalize(r, email);
	return 0;
}

static int read_webhook_url(struct req *r, const char **out, bool allow_empty, struct err *e)
{
	const char *msg;
	int rc = param_str(&r->in, "webhook_url", URL_MAX_LEN, allow_empty, out, e);

	if (rc <= 0 || **out == '\0')
		return rc < 0 ? -1 : 0;
	msg = validate_webhook_url(*out, r->conf->webhook_allow_http_loopback);
	if (msg != NULL)
		return err_invalid(e, "webhook_url", "%s", msg);
	return 0;
}

static int read_domain(struct req *r, const char **out, bool allow_empty, struct err *e)
{
	int rc = param_str(&r->in, "domain", 253, allow_empty, out, e);

	if (rc <= 0 || **out == '\0')
		return rc < 0 ? -1 : 0;
	if (!validate_hostname(*out))
		return err_invalid(e, "domain", "Invalid domain: %s.", *out);
	return 0;
}

/* Makes one key, filling its stored form and keeping the full key in the arena. */
static const char *make_key(struct req *r, struct apikey_new *k, bool secret, bool livemode)
{
	char key[APIKEY_LEN + 1];
	char *hash = arena_alloc(r->arena, 65);
	char *redacted = arena_alloc(r->arena, APIKEY_PREFIX_LEN + 8);
	const char *full;

	apikey_generate(secret, livemode, key);
	apikey_hash_hex(key, hash);
	apikey_redact(key, redacted, APIKEY_PREFIX_LEN + 8);
	full = arena_strdup(r->arena, key);
	k->secret = secret;
	k->livemode = livemode;
	k->hash_hex = hash;
	k->redacted = redacted;
	k->plain = secret ? NULL : full;
	return full;
}

int tenant_register(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"company_name", "email",  "password",    "first_name",
	                                      "last_name",    "domain", "webhook_url", NULL};
	struct tenant_new in = {0};
	struct tenant_row t;
	struct json_object *body, *tj, *uj, *tokens;
	const char *password, *policy, *keys[4];
	char *hash, fee[16];
	long long user_id;

	if (param_only(&r->in, allowed, e) != 0)
		return -1;
	if (param_req_str(&r->in, "company_name", NAME_MAX_LEN, &in.company_name, e) != 0)
		return -1;
	if (read_email(r, &in.email, e) != 0)
		return -1;
	if (param_req_str(&r->in, "password", PASSWORD_MAX_LEN, &password, e) != 0)
		return -1;
	in.first_name = in.last_name = "";
	if (param_str(&r->in, "first_name", PERSON_NAME_MAX_LEN, true, &in.first_name, e) < 0 ||
	    param_str(&r->in, "last_name", PERSON_NAME_MAX_LEN, true, &in.last_name, e) < 0)
		return -1;
	if (read_domain(r, &in.domain, true, e) != 0 ||
	    read_webhook_url(r, &in.webhook_url, true, e) != 0)
		return -1;
	if (in.domain != NULL && *in.domain == '\0')
		in.domain = NULL;
	if (in.webhook_url != NULL && *in.webhook_url == '\0')
		in.webhook_url = NULL;
	policy = password_policy(password, in.email);
	if (policy != NULL)
		return err_invalid(e, "password", "%s", policy);

	hash = arena_alloc(r->arena, PASSWORD_HASH_MAX);
	if (password_hash(password, r->conf->password_iterations, hash, PASSWORD_HASH_MAX) != 0)
		return err_internal(e, "could not hash a password");
	in.password_hash = hash;
	in.platform_fee_bp = r->conf->platform_fee_bp;
	in.webhook_secret = rand_id(r->arena, "whsec_", 32);
	keys[0] = make_key(r, &in.keys[0], false, true);
	keys[1] = make_key(r, &in.keys[1], true, true);
	keys[2] = make_key(r, &in.keys[2], false, false);
	keys[3] = make_key(r, &in.keys[3], true, false);

	if (db_tenant_register(r->db, r->arena, &in, &t, &user_id, e) != 0)
		return -1;
	r->who.tenant_id = t.id;
	if (session_issue(r, t.id, user_id, "owner", NULL, &tokens, e) != 0)
		return -1;

	render_fee(t.platform_fee_bp, fee);
	tj = json_object_new_object();
	json_object_object_add(tj, "id", json_object_new_int64(t.id));
	json_object_object_add(tj, "company_name", json_object_new_string(t.company_name));
	json_object_object_add(tj, "slug", json_object_new_string(t.slug));
	json_object_object_add(tj, "email", json_object_new_string(t.email));
	json_object_object_add(tj, "api_key_public", json_object_new_string(keys[0]));
	json_object_object_add(tj, "api_key_secret", json_object_new_string(keys[1]));
	json_object_object_add(tj, "api_key_test_public", json_object_new_string(keys[2]));
	json_object_object_add(tj, "api_key_test_secret", json_object_new_string(keys[3]));
	json_object_object_add(tj, "webhook_secret", json_object_new_string(in.webhook_secret));
	json_object_object_add(tj, "platform_fee_percentage", json_object_new_string(fee));
	json_object_object_add(tj, "subscription_tier",
	                       json_object_new_string(t.subscription_tier));
	uj = json_object_new_object();
	json_object_object_add(uj, "id", json_object_new_int64(user_id));
	json_object_object_add(uj, "email", json_object_new_string(in.email));
	json_object_object_add(uj, "role", json_object_new_string("owner"));
	body = json_object_new_object();
	json_object_object_add(body, "message",
	                       json_object_new_string("Tenant registered successfully"));
	json_object_object_add(body, "tenant", tj);
	json_object_object_add(body, "user", uj);
	json_object_object_add(body, "tokens", tokens);
	return reply_json(r, out, 201, body);
}

int tenant_verify(struct req *r, struct reply *out, struct err *e)
{
	struct json_object *body = json_object_new_object();
	struct json_object *t = json_object_new_object();

	json_object_object_add(body, "valid", json_object_new_boolean(1));
	json_object_object_add(t, "id", json_object_new_int64(r->who.tenant_id));
	json_object_object_add(t, "company_name", render_str(r->who.company_name));
	json_object_object_add(t, "slug", render_str(r->who.slug));
	json_object_object_add(body, "tenant", t);
	json_object_object_add(body, "mode",
	                       json_object_new_string(r->who.livemode ? "live" : "test"));
	return reply_json(r, out, 200, body);
}

int tenant_me_get(struct req *r, struct reply *out, struct err *e)
{
	struct tenant_row t;

	db_final(r->db);
	/*
	 * The look-up of an API key or a user answers with the tenant
	 * (r->who.tenant): settling it is the whole transaction.
	 */
	if (db_settle(r->db, e) != 0)
		return -1;
	if (r->who.tenant != NULL)
		return reply_json(r, out, 200,
		                  render_tenant_profile(r->who.tenant, r->who.livemode));
	if (db_tenant_get(r->db, r->arena, &t, e) != 0)
		return -1;
	return reply_json(r, out, 200, render_tenant_profile(&t, r->who.livemode));
}

/* Names a nested param as the client wrote it: "logo_url" -> "branding[logo_url]". */
static int branding_param(struct err *e)
{
	char inner[sizeof(e->param)];

	snprintf(inner, sizeof(inner), "%s", e->param);
	snprintf(e->param, sizeof(e->param), "branding[%.100s]", inner);
	return -1;
}

/* branding[logo_url], branding[primary_color]: an object with only those keys. */
static int read_branding(struct req *r, struct tenant_patch *p, struct err *e)
{
	static const char *const allowed[] = {"logo_url", "primary_color", NULL};
	struct json_object *b;
	struct params sub;

	if (!json_object_object_get_ex(r->in.root, "branding", &b) || b == NULL)
		return 0;
	if (!json_object_is_type(b, json_type_object))
		return err_invalid(e, "branding", "Invalid object: branding.");
	sub.root = b;
	sub.form = r->in.form;
	if (param_only(&sub, allowed, e) != 0 ||
	    param_str(&sub, "logo_url", URL_MAX_LEN, true, &p->logo_url, e) < 0 ||
	    param_str(&sub, "primary_color", 7, true, &p->primary_color, e) < 0)
		return branding_param(e);
	if (p->logo_url != NULL && *p->logo_url != '\0' &&
	    validate_webhook_url(p->logo_url, false) != NULL)
		return err_invalid(e, "branding[logo_url]",
		                   "Invalid URL: a logo URL must be https.");
	if (p->primary_color != NULL && *p->primary_color != '\0' &&
	    !validate_color(p->primary_color))
		return err_invalid(e, "branding[primary_color]",
		                   "Invalid color: use the form #RRGGBB.");
	return 0;
}

int tenant_me_update(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"company_name", "domain", "branding", "webhook_url",
	                                      NULL};
	struct tenant_patch p = {0};
	struct tenant_row t;

	if (param_has(&r->in, "platform_fee_percentage"))
		return err_set(e, 403, E_PERMISSION, NULL, "platform_fee_percentage",
		               "The platform fee is set by the platform operator and cannot be "
		               "changed by the tenant.");
	if (param_only(&r->in, allowed, e) != 0)
		return -1;
	if (param_str(&r->in, "company_name", NAME_MAX_LEN, false, &p.company_name, e) < 0)
		return -1;
	if (read_domain(r, &p.domain, true, e) != 0 ||
	    read_webhook_url(r, &p.webhook_url, true, e) != 0)
		return -1;
	if (read_branding(r, &p, e) != 0)
		return -1;
	if (db_tenant_update(r->db, r->arena, &p, &t, e) != 0)
		return -1;
	return reply_json(r, out, 200, render_tenant_profile(&t, r->who.livemode));
}
