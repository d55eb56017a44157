/*
 * JSON renderings of levy's objects, in one place so that every endpoint
 * shows an object the same way.  Each returns a new json-c reference.
 */
#ifndef LEVY_RENDER_H
#define LEVY_RENDER_H

#include <stdbool.h>

#include <json-c/json.h>

#include "db/apikey.h"
#include "db/tenant.h"
#include "db/user.h"

/* Basis points as a percentage string: 1500 -> "15.00" (integer arithmetic only). */
void render_fee(int bp, char out[16]);
struct json_object *render_str(const char *s);        /* null for NULL */
struct json_object *render_time(long long unix_secs); /* null for 0 */
struct json_object *render_list(struct json_object *data, bool has_more, const char *url);
struct json_object *render_deleted(struct json_object *id, const char *object);
struct json_object *render_user(const struct user_row *u);
/* GET/PATCH tenants/me. */
struct json_object *render_tenant_profile(const struct tenant_row *t, bool livemode);
/* The api_key object; full_key set only right after a roll. */
struct json_object *render_apikey(const struct apikey_row *k, const char *full_key);

#endif
