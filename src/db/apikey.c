/*
 * SQL of API keys.  The look-ups by hash run before the tenant is known and
 * go through levy_auth_api_key() (SECURITY DEFINER, sql/002-auth.sql) and,
 * opening a transaction, levy_auth_api_key_open() (sql/004-auth-fast-path.sql);
 * everything else runs in the tenant's context, where row-level security
 * confines it to the tenant's own keys (of both modes: keys are listed
 * across modes).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db/apikey.h"
#include "db/tenant.h"

#define APIKEY_LIST_MAX 100

#define APIKEY_COLUMNS                                                                             \
	"id, secret, livemode, redacted, plain,"                                                   \
	" floor(extract(epoch FROM created_at))::bigint,"                                          \
	" floor(extract(epoch FROM last_used_at))::bigint,"                                        \
	" floor(extract(epoch FROM expires_at))::bigint"

static void apikey_row_read(struct arena *a, PGresult *r, int i, struct apikey_row *out)
{
	out->id = db_int(r, i, 0);
	out->secret = db_bool(r, i, 1);
	out->livemode = db_bool(r, i, 2);
	out->redacted = db_str(a, r, i, 3);
	out->plain = db_str(a, r, i, 4);
	out->created = db_int(r, i, 5);
	out->last_used = db_int(r, i, 6);
	out->expires_at = db_int(r, i, 7);
}

static bool apikey_hash_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return i == 64;
}

int db_apikey_lookup(struct db *db, struct arena *a, const char *hash_hex, struct apikey_auth *out,
                     bool *found, struct err *e)
{
	STMT(apikey_lookup, "SELECT key_id, tenant_id, secret, livemode, company_name, slug,"
	                    " tenant_status FROM levy_auth_api_key($1)");
	const char *params[1] = {hash_hex};
	PGresult *r;

	*found = false;
	if (hash_hex == NULL || !apikey_hash_ok(hash_hex))
		return 0;
	r = db_exec(db, a, &apikey_lookup, 1, params, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return 0;
	out->key_id = db_int(r, 0, 0);
	out->tenant_id = db_int(r, 0, 1);
	out->secret = db_bool(r, 0, 2);
	out->livemode = db_bool(r, 0, 3);
	out->company_name = db_str(a, r, 0, 4);
	out->slug = db_str(a, r, 0, 5);
	out->tenant_status = db_str(a, r, 0, 6);
	*found = true;
	return 0;
}

struct stmt *db_apikey_open_stmt(void)
{
	STMT(apikey_open, "SELECT key_id, tenant_id, secret, livemode, company_name, slug,"
	                  " tenant_status, email, domain, logo_url, primary_color, webhook_url,"
	                  " platform_fee_bp, subscription_tier, created, updated"
	                  " FROM levy_auth_api_key_open($1, $2, $3)");

	return &apikey_open;
}

struct stmt *db_apikey_enter_stmt(void)
{
	STMT(apikey_enter, "SELECT key_id, tenant_id, secret, livemode, tenant_status"
	                   " FROM levy_auth_api_key_enter($1, $2, $3)");

	return &apikey_enter;
}

void db_apikey_open_read(struct arena *a, PGresult *r, struct apikey_auth *out,
                         struct tenant_row *tenant, bool *found)
{
	bool profile = PQnfields(r) == 16;

	memset(tenant, 0, sizeof(*tenant));
	memset(out, 0, sizeof(*out));
	*found = PQntuples(r) == 1 && (profile || PQnfields(r) == 5) && !PQgetisnull(r, 0, 0);
	if (!*found)
		return;
	out->key_id = db_int(r, 0, 0);
	out->tenant_id = db_int(r, 0, 1);
	out->secret = db_bool(r, 0, 2);
	out->livemode = db_bool(r, 0, 3);
	if (!profile) {
		out->tenant_status = db_str(a, r, 0, 4);
		return;
	}
	out->company_name = db_str(a, r, 0, 4);
	out->slug = db_str(a, r, 0, 5);
	out->tenant_status = db_str(a, r, 0, 6);
	if (out->tenant_status == NULL || strcmp(out->tenant_status, "active") != 0)
		return;
	tenant->id = out->tenant_id;
	tenant->company_name = out->company_name;
	tenant->slug = out->slug;
	tenant->status = out->tenant_status;
	tenant->email = db_str(a, r, 0, 7);
	tenant->domain = db_str(a, r, 0, 8);
	tenant->logo_url = db_str(a, r, 0, 9);
	tenant->primary_color = db_str(a, r, 0, 10);
	tenant->webhook_url = db_str(a, r, 0, 11);
	tenant->platform_fee_bp = (int)db_int(r, 0, 12);
	tenant->subscription_tier = db_str(a, r, 0, 13);
	tenant->created = db_int(r, 0, 14);
	tenant->updated = db_int(r, 0, 15);
}

/* The new key's row, or NULL with e set. */
static PGresult *apikey_insert_row(struct db *db, struct arena *a, const struct apikey_new *k,
                                   struct err *e)
{
	STMT(apikey_insert,
	     "INSERT INTO api_keys (tenant_id, secret, livemode, key_hash, redacted, plain)"
	     " VALUES (NULLIF(current_setting('app.tenant_id', true), '')::bigint,"
	     " $1, $2, $3, $4, $5) RETURNING " APIKEY_COLUMNS);
	const char *params[5];
	PGresult *r;

	params[0] = k->secret ? "true" : "false";
	params[1] = k->livemode ? "true" : "false";
	params[2] = k->hash_hex;
	params[3] = k->redacted;
	params[4] = k->secret ? NULL : k->plain;
	r = db_exec(db, a, &apikey_insert, 5, params, e);
	if (r == NULL)
		return NULL;
	if (PQntuples(r) != 1) {
		err_internal(e, "api_keys insert returned %d rows", PQntuples(r));
		return NULL;
	}
	return r;
}

int db_apikey_insert(struct db *db, struct arena *a, const struct apikey_new *k, struct err *e)
{
	return apikey_insert_row(db, a, k, e) != NULL ? 0 : -1;
}

int db_apikey_list(struct db *db, struct arena *a, bool with_live, struct apikey_row **rows, int *n,
                   struct err *e)
{
	STMT(apikey_list, "SELECT " APIKEY_COLUMNS " FROM api_keys"
	                  " WHERE (expires_at IS NULL OR expires_at > now())"
	                  " AND ($1::boolean OR NOT livemode)"
	                  " ORDER BY id DESC LIMIT 100");
	const char *params[1] = {with_live ? "true" : "false"};
	PGresult *r;
	int i, count;

	*rows = NULL;
	*n = 0;
	r = db_exec(db, a, &apikey_list, 1, params, e);
	if (r == NULL)
		return -1;
	count = PQntuples(r);
	if (count > APIKEY_LIST_MAX)
		count = APIKEY_LIST_MAX;
	*rows = arena_alloc(a, sizeof(**rows) * (size_t)(count > 0 ? count : 1));
	for (i = 0; i < count; i++)
		apikey_row_read(a, r, i, &(*rows)[i]);
	*n = count;
	return 0;
}

int db_apikey_roll(struct db *db, struct arena *a, const struct apikey_new *k,
                   long long expire_old_in_seconds, struct apikey_row *out, struct err *e)
{
	/*
	 * least(): rolling never extends an old key that already expires
	 * sooner.  Runs before the insert, so the new key is not caught.
	 */
	STMT(apikey_expire_old,
	     "UPDATE api_keys SET expires_at = least(coalesce(expires_at, 'infinity'),"
	     " now() + make_interval(secs => $3::bigint))"
	     " WHERE secret = $1::boolean AND livemode = $2::boolean"
	     " AND (expires_at IS NULL OR expires_at > now())");
	const char *params[3];
	char secs[24];
	PGresult *r;

	if (expire_old_in_seconds < 0)
		return err_invalid(e, "expire_old_in_seconds",
		                   "Invalid expire_old_in_seconds: must be zero or more.");
	snprintf(secs, sizeof(secs), "%lld", expire_old_in_seconds);
	params[0] = k->secret ? "true" : "false";
	params[1] = k->livemode ? "true" : "false";
	params[2] = secs;
	if (db_exec(db, a, &apikey_expire_old, 3, params, e) == NULL)
		return -1;
	r = apikey_insert_row(db, a, k, e);
	if (r == NULL)
		return -1;
	apikey_row_read(a, r, 0, out);
	return 0;
}
