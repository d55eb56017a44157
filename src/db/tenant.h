/*
 * SQL of tenants: registration (tenant, owner user, four API keys, webhook
 * endpoints in one transaction), the tenant's own profile under RLS, and the
 * platform operator's commands (list, suspend, fee) run as the owner role.
 */
#ifndef LEVY_DB_TENANT_H
#define LEVY_DB_TENANT_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "db/apikey.h"

struct tenant_row {
	long long id;
	const char *company_name;
	const char *slug;
	const char *email;
	const char *domain;            /* NULL when unset */
	const char *logo_url;          /* branding; NULL when unset */
	const char *primary_color;     /* branding: "#RRGGBB"; NULL when unset */
	const char *webhook_url;       /* NULL when unset */
	int platform_fee_bp;           /* basis points: 1500 is "15.00" */
	const char *subscription_tier; /* "free" */
	const char *status;            /* "active" or "suspended" */
	const char *pk_live; /* publishable keys in full (newest unexpired); may be NULL */
	const char *pk_test;
	long long created; /* Unix seconds */
	long long updated;
};

struct tenant_new {
	const char *company_name;
	const char *email;
	const char *password_hash; /* Django pbkdf2_sha256 encoding */
	const char *first_name;    /* "" when not given */
	const char *last_name;
	const char *domain;         /* NULL when not given */
	const char *webhook_url;    /* NULL when not given: then no endpoints are made */
	const char *webhook_secret; /* whsec_...; kept in clear: signing needs it */
	int platform_fee_bp;
	struct apikey_new keys[4]; /* pk_live, sk_live, pk_test, sk_test */
};

/*
 * Inside a transaction begun without context: draws the tenant id, sets the
 * context to it, picks the slug (company name lowercased, runs of other
 * characters as one '-', trimmed, at most 50 characters, "tenant" when
 * empty; "-2", "-3", ... while taken), inserts the tenant, the owner user,
 * the keys and, when webhook_url is given, one endpoint per mode signed with
 * webhook_secret.  An email already registered -> 400 parameter_invalid,
 * param "email", "A user with this email address already exists.".
 * out is filled as tenant_get would; *user_id is the owner's id.
 */
int db_tenant_register(struct db *db, struct arena *a, const struct tenant_new *in,
                       struct tenant_row *out, long long *user_id, struct err *e);
/* The context's tenant; 404 resource_missing when RLS shows none.  pk_live, pk_test: NULL. */
int db_tenant_get(struct db *db, struct arena *a, struct tenant_row *out, struct err *e);
/* The same with pk_live and pk_test filled (login shows them). */
int db_tenant_get_with_keys(struct db *db, struct arena *a, struct tenant_row *out, struct err *e);

/* NULL: unchanged; "": cleared (not allowed for company_name). */
struct tenant_patch {
	const char *company_name;
	const char *domain;
	const char *logo_url;
	const char *primary_color;
	const char *webhook_url; /* also becomes the url of the tenant's default endpoints */
};
int db_tenant_update(struct db *db, struct arena *a, const struct tenant_patch *p,
                     struct tenant_row *out, struct err *e);

/* Operator commands, on a connection as the owner role (sees every tenant). */
int db_tenant_list_all(struct db *db, struct arena *a, struct tenant_row **rows, int *n,
                       struct err *e);
/* status: "active" or "suspended"; 404 when no such tenant. */
int db_tenant_set_status(struct db *db, struct arena *a, long long id, const char *status,
                         struct err *e);
int db_tenant_set_fee(struct db *db, struct arena *a, long long id, int fee_bp, struct err *e);

#endif
