/*
 * Object renderings.  Money-like values (the platform fee) are formatted from
 * integers; timestamps are Unix seconds or null.
 */
#include "config.h"

#include <stdio.h>

#include "api/render.h"

void render_fee(int bp, char out[16])
{
	if (bp < 0)
		bp = 0;
	snprintf(out, 16, "%d.%02d", bp / 100, bp % 100);
}

struct json_object *render_str(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *render_time(long long t)
{
	return t != 0 ? json_object_new_int64(t) : NULL;
}

struct json_object *render_list(struct json_object *data, bool has_more, const char *url)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "object", json_object_new_string("list"));
	json_object_object_add(o, "data", data);
	json_object_object_add(o, "has_more", json_object_new_boolean(has_more));
	json_object_object_add(o, "url", json_object_new_string(url));
	return o;
}

struct json_object *render_deleted(struct json_object *id, const char *object)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", id);
	json_object_object_add(o, "object", json_object_new_string(object));
	json_object_object_add(o, "deleted", json_object_new_boolean(1));
	return o;
}

struct json_object *render_user(const struct user_row *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "object", json_object_new_string("user"));
	json_object_object_add(o, "email", render_str(u->email));
	json_object_object_add(o, "role", render_str(u->role));
	json_object_object_add(o, "first_name",
	                       json_object_new_string(u->first_name ? u->first_name : ""));
	json_object_object_add(o, "last_name",
	                       json_object_new_string(u->last_name ? u->last_name : ""));
	json_object_object_add(o, "is_active", json_object_new_boolean(u->is_active));
	json_object_object_add(o, "last_login", render_time(u->last_login));
	json_object_object_add(o, "created", json_object_new_int64(u->created));
	return o;
}

struct json_object *render_tenant_profile(const struct tenant_row *t, bool livemode)
{
	struct json_object *o = json_object_new_object();
	struct json_object *branding = json_object_new_object();
	char fee[16];

	render_fee(t->platform_fee_bp, fee);
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "object", json_object_new_string("tenant"));
	json_object_object_add(o, "company_name", render_str(t->company_name));
	json_object_object_add(o, "slug", render_str(t->slug));
	json_object_object_add(o, "email", render_str(t->email));
	json_object_object_add(o, "domain", render_str(t->domain));
	json_object_object_add(branding, "logo_url", render_str(t->logo_url));
	json_object_object_add(branding, "primary_color", render_str(t->primary_color));
	json_object_object_add(o, "branding", branding);
	json_object_object_add(o, "webhook_url", render_str(t->webhook_url));
	json_object_object_add(o, "platform_fee_percentage", json_object_new_string(fee));
	json_object_object_add(o, "subscription_tier", render_str(t->subscription_tier));
	json_object_object_add(o, "status", render_str(t->status));
	json_object_object_add(o, "livemode", json_object_new_boolean(livemode));
	json_object_object_add(o, "created", json_object_new_int64(t->created));
	return o;
}

struct json_object *render_apikey(const struct apikey_row *k, const char *full_key)
{
	struct json_object *o = json_object_new_object();
	const char *shown =
	        full_key != NULL ? full_key : (k->plain != NULL ? k->plain : k->redacted);

	json_object_object_add(o, "id", json_object_new_int64(k->id));
	json_object_object_add(o, "object", json_object_new_string("api_key"));
	json_object_object_add(o, "type",
	                       json_object_new_string(k->secret ? "secret" : "publishable"));
	json_object_object_add(o, "livemode", json_object_new_boolean(k->livemode));
	json_object_object_add(o, "key", render_str(shown));
	json_object_object_add(o, "redacted", json_object_new_boolean(shown == k->redacted));
	json_object_object_add(o, "created", json_object_new_int64(k->created));
	json_object_object_add(o, "last_used", render_time(k->last_used));
	json_object_object_add(o, "expires_at", render_time(k->expires_at));
	return o;
}
