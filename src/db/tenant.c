/*
 * SQL of tenants: registration, the tenant's own profile, and the
 * operator's commands.  Registration runs as the application role under
 * row-level security like everything else: it draws the new tenant's id
 * from the sequence, makes that id the transaction's context, and only then
 * inserts, so the policies' WITH CHECK holds for every row it writes.  The
 * slug is picked before the tenant exists, when the policy hides the other
 * tenants, hence levy_slug_available() (SECURITY DEFINER); the unique
 * constraint settles a race between two registrations (ON CONFLICT DO
 * NOTHING, then the next candidate).
 *
 * Webhook endpoints are mode-scoped rows, so writing the default endpoint
 * of both modes switches app.livemode inside the transaction and puts the
 * caller's value back afterwards.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "crypto/rand.h"
#include "db/tenant.h"

#define TENANT_SLUG_MAX 50
/* Numbered candidates tried before a random suffix. */
#define TENANT_SLUG_NUMBERED 100
#define TENANT_SLUG_RANDOM 5

/* The publishable keys in full: the newest unexpired one of each mode. */
#define TENANT_COLUMNS_HEAD                                                                        \
	"t.id, t.company_name, t.slug, t.email, t.domain, t.logo_url, t.primary_color,"            \
	" t.webhook_url, t.platform_fee_bp, t.subscription_tier, t.status,"
#define TENANT_COLUMNS_TAIL                                                                        \
	" floor(extract(epoch FROM t.created_at))::bigint,"                                        \
	" floor(extract(epoch FROM t.updated_at))::bigint"
/* The newest unexpired publishable keys, which only login shows. */
#define TENANT_COLUMNS_KEYS                                                                        \
	" (SELECT k.plain FROM api_keys k WHERE k.tenant_id = t.id AND NOT k.secret"               \
	"  AND k.livemode AND (k.expires_at IS NULL OR k.expires_at > now())"                      \
	"  ORDER BY k.id DESC LIMIT 1),"                                                           \
	" (SELECT k.plain FROM api_keys k WHERE k.tenant_id = t.id AND NOT k.secret"               \
	"  AND NOT k.livemode AND (k.expires_at IS NULL OR k.expires_at > now())"                  \
	"  ORDER BY k.id DESC LIMIT 1),"
#define TENANT_COLUMNS TENANT_COLUMNS_HEAD TENANT_COLUMNS_KEYS TENANT_COLUMNS_TAIL
#define TENANT_COLUMNS_NO_KEYS TENANT_COLUMNS_HEAD " NULL, NULL," TENANT_COLUMNS_TAIL

static void tenant_row_read(struct arena *a, PGresult *r, int i, struct tenant_row *out)
{
	out->id = db_int(r, i, 0);
	out->company_name = db_str(a, r, i, 1);
	out->slug = db_str(a, r, i, 2);
	out->email = db_str(a, r, i, 3);
	out->domain = db_str(a, r, i, 4);
	out->logo_url = db_str(a, r, i, 5);
	out->primary_color = db_str(a, r, i, 6);
	out->webhook_url = db_str(a, r, i, 7);
	out->platform_fee_bp = (int)db_int(r, i, 8);
	out->subscription_tier = db_str(a, r, i, 9);
	out->status = db_str(a, r, i, 10);
	out->pk_live = db_str(a, r, i, 11);
	out->pk_test = db_str(a, r, i, 12);
	out->created = db_int(r, i, 13);
	out->updated = db_int(r, i, 14);
}

static int tenant_missing(struct err *e, long long id)
{
	if (id > 0)
		return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", "id",
		               "No such tenant: '%lld'.", id);
	return err_set(e, 404, E_INVALID_REQUEST, "resource_missing", NULL, "No such tenant.");
}

/*
 * U+00C0..U+00FF (UTF-8 C3 80..C3 BF) to the letter they decompose to, as
 * Django's slugify keeps them ("Café" -> "cafe"); '-' for the others.
 */
static const char tenant_latin1[] = "aaaaaa-ceeeeiiii-nooooo--uuuuy--"
                                    "aaaaaa-ceeeeiiii-nooooo--uuuuy-y";

/*
 * Company name -> slug: ASCII letters and digits lowercased (and accented
 * Latin-1 letters as their base letter), every run of anything else one
 * '-', no '-' at either end, at most max characters; "tenant" when nothing
 * is left.  out holds max + 1.
 */
static void tenant_slugify(const char *name, char *out, size_t max)
{
	size_t n = 0;
	bool dash = false;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0' && n < max; p++) {
		unsigned char c = *p;

		if (c == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF)
			c = (unsigned char)tenant_latin1[*++p - 0x80];
		else if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && n > 0 && n + 1 < max)
				out[n++] = '-';
			else if (dash && n > 0)
				break;
			dash = false;
			out[n++] = (char)c;
		} else {
			dash = true;
		}
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, max + 1, "tenant");
}

/* base + suffix, cutting base (and a '-' left at its end) to stay within the maximum. */
static void tenant_slug_candidate(const char *base, const char *suffix, char *out, size_t outlen)
{
	size_t room = TENANT_SLUG_MAX - strlen(suffix), n = strlen(base);

	if (n > room)
		n = room;
	while (n > 1 && base[n - 1] == '-')
		n--;
	snprintf(out, outlen, "%.*s%s", (int)n, base, suffix);
}

/* Sets app.livemode alone ("true", "false" or ""). */
static int tenant_set_livemode(struct db *db, struct arena *a, const char *mode, struct err *e)
{
	STMT(tenant_livemode_set, "SELECT set_config('app.livemode', $1, true)");
	const char *params[1] = {mode};

	return db_exec(db, a, &tenant_livemode_set, 1, params, e) != NULL ? 0 : -1;
}

/*
 * Points the tenant's default endpoint of each mode at url (creating it,
 * signed with the tenant's webhook secret, when there is none), or disables
 * them when url is "".  The caller's app.livemode is restored on success;
 * on failure the transaction is to be rolled back anyway.
 */
static int tenant_endpoints_sync(struct db *db, struct arena *a, long long tenant_id,
                                 const char *url, struct err *e)
{
	STMT(tenant_livemode_get, "SELECT coalesce(current_setting('app.livemode', true), '')");
	STMT(tenant_endpoint_upsert,
	     "WITH upd AS (UPDATE webhook_endpoints SET url = $1, status = 'enabled'"
	     " WHERE is_default RETURNING id)"
	     " INSERT INTO webhook_endpoints (id, tenant_id, livemode, url, secret, is_default)"
	     " SELECT $2, t.id, NULLIF(current_setting('app.livemode', true), '')::boolean, $1,"
	     " t.webhook_secret, true FROM tenants t"
	     " WHERE t.id = $3::bigint AND NOT EXISTS (SELECT 1 FROM upd)");
	STMT(tenant_endpoint_disable,
	     "UPDATE webhook_endpoints SET status = 'disabled' WHERE is_default");
	static const char *const modes[] = {"false", "true"};
	char tid[24];
	const char *saved;
	PGresult *r;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	r = db_exec(db, a, &tenant_livemode_get, 0, NULL, e);
	if (r == NULL)
		return -1;
	saved = db_str(a, r, 0, 0);
	for (int m = 0; m < 2; m++) {
		if (tenant_set_livemode(db, a, modes[m], e) != 0)
			return -1;
		if (url[0] == '\0') {
			r = db_exec(db, a, &tenant_endpoint_disable, 0, NULL, e);
		} else {
			const char *params[3] = {url, rand_id(a, "we_", 24), tid};

			r = db_exec(db, a, &tenant_endpoint_upsert, 3, params, e);
		}
		if (r == NULL)
			return -1;
	}
	return tenant_set_livemode(db, a, saved != NULL ? saved : "", e);
}

/* The tenant of the context, as tenant_get returns it (with_keys: and its publishable keys). */
static int tenant_read_current(struct db *db, struct arena *a, bool with_keys,
                               struct tenant_row *out, struct err *e)
{
	STMT(tenant_get,
	     "SELECT " TENANT_COLUMNS_NO_KEYS " FROM tenants t"
	     " WHERE t.id = NULLIF(current_setting('app.tenant_id', true), '')::bigint");
	STMT(tenant_get_with_keys,
	     "SELECT " TENANT_COLUMNS " FROM tenants t"
	     " WHERE t.id = NULLIF(current_setting('app.tenant_id', true), '')::bigint");
	PGresult *r = db_exec(db, a, with_keys ? &tenant_get_with_keys : &tenant_get, 0, NULL, e);

	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return tenant_missing(e, 0);
	tenant_row_read(a, r, 0, out);
	return 0;
}

/* Inserts the tenant under the first free slug; 0, or -1 with e. */
static int tenant_insert(struct db *db, struct arena *a, const struct tenant_new *in,
                         const char *tid, struct err *e)
{
	STMT(tenant_slug_available, "SELECT levy_slug_available($1)");
	STMT(tenant_insert_row,
	     "INSERT INTO tenants (id, company_name, slug, email, domain, webhook_url,"
	     " webhook_secret, platform_fee_bp) VALUES ($1::bigint, $2, $3, lower($4), $5, $6,"
	     " $7, $8::int) ON CONFLICT (slug) DO NOTHING RETURNING id");
	char base[TENANT_SLUG_MAX + 1], slug[TENANT_SLUG_MAX + 1], suffix[16], fee[16];
	const char *params[8];
	PGresult *r;

	tenant_slugify(in->company_name, base, TENANT_SLUG_MAX);
	snprintf(fee, sizeof(fee), "%d", in->platform_fee_bp);
	params[0] = tid;
	params[1] = in->company_name;
	params[2] = slug;
	params[3] = in->email;
	params[4] = in->domain;
	params[5] = in->webhook_url;
	params[6] = in->webhook_secret;
	params[7] = fee;
	for (int i = 1; i <= TENANT_SLUG_NUMBERED + TENANT_SLUG_RANDOM; i++) {
		if (i == 1) {
			suffix[0] = '\0';
		} else if (i <= TENANT_SLUG_NUMBERED) {
			snprintf(suffix, sizeof(suffix), "-%d", i);
		} else {
			/* Past a hundred namesakes, numbering costs a query each. */
			suffix[0] = '-';
			rand_base62(suffix + 1, 8);
			for (char *c = suffix + 1; *c != '\0'; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
		}
		tenant_slug_candidate(base, suffix, slug, sizeof(slug));
		r = db_exec(db, a, &tenant_slug_available, 1, (const char *const[]){slug}, e);
		if (r == NULL)
			return -1;
		if (!db_bool(r, 0, 0))
			continue;
		r = db_exec(db, a, &tenant_insert_row, 8, params, e);
		if (r == NULL)
			return -1;
		if (PQntuples(r) == 1)
			return 0;
	}
	return err_internal(e, "no free slug for \"%s\"", base);
}

int db_tenant_register(struct db *db, struct arena *a, const struct tenant_new *in,
                       struct tenant_row *out, long long *user_id, struct err *e)
{
	STMT(tenant_next_id, "SELECT nextval('tenants_id_seq')");
	STMT(tenant_owner_insert,
	     "INSERT INTO tenant_users (tenant_id, email, password_hash, role, first_name,"
	     " last_name) VALUES ($1::bigint, lower($2), $3, 'owner', coalesce($4, ''),"
	     " coalesce($5, '')) RETURNING id");
	struct db_ctx ctx = {.tenant_id = 0, .livemode = -1, .user_id = 0};
	char tid[24];
	PGresult *r;

	r = db_exec(db, a, &tenant_next_id, 0, NULL, e);
	if (r == NULL)
		return -1;
	ctx.tenant_id = db_int(r, 0, 0);
	if (ctx.tenant_id <= 0)
		return err_internal(e, "tenants_id_seq returned %s", PQgetvalue(r, 0, 0));
	snprintf(tid, sizeof(tid), "%lld", ctx.tenant_id);
	if (db_set_context(db, &ctx, e) != 0)
		return -1;
	if (tenant_insert(db, a, in, tid, e) != 0)
		return -1;

	r = db_exec(db, a, &tenant_owner_insert, 5,
	            (const char *const[]){tid, in->email, in->password_hash, in->first_name,
	                                  in->last_name},
	            e);
	if (r == NULL)
		return -1;
	ctx.user_id = db_int(r, 0, 0);

	for (int i = 0; i < 4; i++)
		if (db_apikey_insert(db, a, &in->keys[i], e) != 0)
			return -1;
	if (in->webhook_url != NULL && in->webhook_url[0] != '\0' &&
	    tenant_endpoints_sync(db, a, ctx.tenant_id, in->webhook_url, e) != 0)
		return -1;
	if (db_set_context(db, &ctx, e) != 0)
		return -1;
	if (user_id != NULL)
		*user_id = ctx.user_id;
	return tenant_read_current(db, a, false, out, e);
}

int db_tenant_get(struct db *db, struct arena *a, struct tenant_row *out, struct err *e)
{
	return tenant_read_current(db, a, false, out, e);
}

int db_tenant_get_with_keys(struct db *db, struct arena *a, struct tenant_row *out, struct err *e)
{
	return tenant_read_current(db, a, true, out, e);
}

int db_tenant_update(struct db *db, struct arena *a, const struct tenant_patch *p,
                     struct tenant_row *out, struct err *e)
{
	/* NULL: unchanged; "": cleared (company_name's check refuses that). */
	STMT(tenant_update,
	     "UPDATE tenants SET company_name = coalesce($1, company_name),"
	     " domain = CASE WHEN $2::text IS NULL THEN domain ELSE NULLIF($2, '') END,"
	     " logo_url = CASE WHEN $3::text IS NULL THEN logo_url ELSE NULLIF($3, '') END,"
	     " primary_color = CASE WHEN $4::text IS NULL THEN primary_color"
	     "  ELSE NULLIF($4, '') END,"
	     " webhook_url = CASE WHEN $5::text IS NULL THEN webhook_url ELSE NULLIF($5, '') END,"
	     " updated_at = now()"
	     " WHERE id = NULLIF(current_setting('app.tenant_id', true), '')::bigint RETURNING id");
	const char *params[5] = {p->company_name, p->domain, p->logo_url, p->primary_color,
	                         p->webhook_url};
	PGresult *r = db_exec(db, a, &tenant_update, 5, params, e);

	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return tenant_missing(e, 0);
	if (p->webhook_url != NULL &&
	    tenant_endpoints_sync(db, a, db_int(r, 0, 0), p->webhook_url, e) != 0)
		return -1;
	return tenant_read_current(db, a, false, out, e);
}

int db_tenant_list_all(struct db *db, struct arena *a, struct tenant_row **rows, int *n,
                       struct err *e)
{
	STMT(tenant_list_all, "SELECT " TENANT_COLUMNS " FROM tenants t ORDER BY t.id");
	PGresult *r = db_exec(db, a, &tenant_list_all, 0, NULL, e);
	int count;

	*rows = NULL;
	*n = 0;
	if (r == NULL)
		return -1;
	count = PQntuples(r);
	*rows = arena_alloc(a, sizeof(**rows) * (size_t)(count > 0 ? count : 1));
	for (int i = 0; i < count; i++)
		tenant_row_read(a, r, i, &(*rows)[i]);
	*n = count;
	return 0;
}

int db_tenant_set_status(struct db *db, struct arena *a, long long id, const char *status,
                         struct err *e)
{
	STMT(tenant_set_status, "UPDATE tenants SET status = $2, updated_at = now()"
	                        " WHERE id = $1::bigint RETURNING id");
	char sid[24];
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", id);
	r = db_exec(db, a, &tenant_set_status, 2, (const char *const[]){sid, status}, e);
	if (r == NULL) {
		if (strcmp(db->last_constraint, "tenants_status_check") == 0)
			return err_invalid(e, "status", "Invalid status: %s.", status);
		return -1;
	}
	if (PQntuples(r) != 1)
		return tenant_missing(e, id);
	return 0;
}

int db_tenant_set_fee(struct db *db, struct arena *a, long long id, int fee_bp, struct err *e)
{
	STMT(tenant_set_fee, "UPDATE tenants SET platform_fee_bp = $2::int, updated_at = now()"
	                     " WHERE id = $1::bigint RETURNING id");
	char sid[24], fee[16];
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(fee, sizeof(fee), "%d", fee_bp);
	r = db_exec(db, a, &tenant_set_fee, 2, (const char *const[]){sid, fee}, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
		return tenant_missing(e, id);
	return 0;
}
