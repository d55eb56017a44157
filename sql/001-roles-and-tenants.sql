-- levy schema, part 1: the privilege baseline, tenants, their dashboard
-- users and their webhook endpoints.
--
-- Roles are created beforehand by the DBA or the bootstrap script, never by
-- a migration, because creating roles needs CREATEROLE, which the owner of
-- the data should not hold:
--
--   CREATE ROLE levy_owner LOGIN;              -- owns the database and every object in it;
--                                              -- `levy migrate` and the operator commands
--                                              -- (database.owner_conninfo) connect as it
--   CREATE ROLE levy_app LOGIN NOSUPERUSER NOBYPASSRLS;
--                                              -- owns nothing; levy-fcgi (database.conninfo)
--   CREATE DATABASE levy OWNER levy_owner;
--
-- Migrations GRANT to levy_app by that fixed name.  `levy migrate` refuses
-- to run as a superuser, so no table, view or function here is ever owned by
-- one (a SECURITY DEFINER function owned by a superuser would run with every
-- right there is).
--
-- Row-level security: every tenant-owned table has ENABLE and FORCE ROW
-- LEVEL SECURITY, a policy for levy_app on
--   tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
-- (and on livemode where the table is mode-scoped), which fails closed: an
-- absent or empty setting compares with NULL and shows no row, and a
-- transaction-local setting reads back as '' once its transaction ended.  A
-- second, permissive policy lets levy_owner see every row, since FORCE
-- applies to the owner too and the operator commands list all tenants.
--
-- Each file runs in one transaction that `levy migrate` opens: no BEGIN or
-- COMMIT in these files.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'levy_app') THEN
		RAISE EXCEPTION 'role "levy_app" does not exist'
			USING HINT = 'Create it before migrating: CREATE ROLE levy_app LOGIN;';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
		    WHERE rolname = 'levy_app' AND (rolsuper OR rolbypassrls)) THEN
		RAISE EXCEPTION 'role "levy_app" is a superuser or has BYPASSRLS, which voids row-level security'
			USING HINT = 'ALTER ROLE levy_app NOSUPERUSER NOBYPASSRLS;';
	END IF;
END
$$;

-- Nobody but the owner creates objects; no function is callable unless
-- granted by name (PostgreSQL grants EXECUTE to PUBLIC by default).  On a
-- database whose public schema belongs to another role (PostgreSQL < 15)
-- the first REVOKE only warns.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO levy_app;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE levy_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Column checks keep PostgreSQL's default names (<table>_<column>_check), so
-- that db/*.c can name the offending param from the constraint alone.
CREATE TABLE tenants (
	id bigserial PRIMARY KEY,
	company_name text NOT NULL CHECK (length(company_name) BETWEEN 1 AND 255),
	slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 50),
	email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	domain text CHECK (length(domain) <= 253),
	logo_url text CHECK (length(logo_url) <= 2048),
	primary_color text CHECK (primary_color ~ '^#[0-9A-Fa-f]{6}$'),
	webhook_url text CHECK (length(webhook_url) <= 2048),
	-- In clear: signing a delivery needs the secret itself.  levy_app reads
	-- it only through the policy below, i.e. only its own tenant's.
	webhook_secret text NOT NULL CHECK (webhook_secret ~ '^whsec_[0-9A-Za-z]{16,128}$'),
	platform_fee_bp integer NOT NULL DEFAULT 1500 CHECK (platform_fee_bp BETWEEN 0 AND 10000),
	subscription_tier text NOT NULL DEFAULT 'free' CHECK (length(subscription_tier) <= 32),
	status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
	stripe_account_id text CHECK (length(stripe_account_id) <= 255),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenants_slug_key UNIQUE (slug)
);

-- Emails are unique across the platform (login names no tenant) and stored
-- lowercased by the SQL that writes them.  One owner per tenant is the API's
-- rule, not a constraint: an ownership transfer swaps two roles in one
-- transaction.
CREATE TABLE tenant_users (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
	password_hash text NOT NULL CHECK (length(password_hash) BETWEEN 1 AND 256),
	role text NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
	first_name text NOT NULL DEFAULT '' CHECK (length(first_name) <= 150),
	last_name text NOT NULL DEFAULT '' CHECK (length(last_name) <= 150),
	is_active boolean NOT NULL DEFAULT true,
	last_login_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenant_users_email_key UNIQUE (email),
	-- The target of composite foreign keys: a child row can only point at a
	-- user of its own tenant.  Also serves the newest-first list.
	CONSTRAINT tenant_users_tenant_id_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE webhook_endpoints (
	id text PRIMARY KEY CHECK (id ~ '^we_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL,
	url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
	secret text NOT NULL CHECK (secret ~ '^whsec_[0-9A-Za-z]{16,128}$'),
	-- The endpoint made from the tenant's webhook_url, one per mode.
	is_default boolean NOT NULL DEFAULT false,
	status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
	enabled_events text[] NOT NULL DEFAULT '{*}',
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT webhook_endpoints_tenant_id_id_key UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX webhook_endpoints_default_key ON webhook_endpoints (tenant_id, livemode)
	WHERE is_default;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_app ON tenants TO levy_app
	USING (id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
	WITH CHECK (id = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
CREATE POLICY tenants_owner ON tenants TO levy_owner USING (true) WITH CHECK (true);

ALTER TABLE tenant_users ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_users_app ON tenant_users TO levy_app
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
CREATE POLICY tenant_users_owner ON tenant_users TO levy_owner USING (true) WITH CHECK (true);

-- Endpoints belong to one mode: a test-mode request never sees live ones.
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_endpoints_app ON webhook_endpoints TO levy_app
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
	       AND livemode = NULLIF(current_setting('app.livemode', true), '')::boolean)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
		    AND livemode = NULLIF(current_setting('app.livemode', true), '')::boolean);
CREATE POLICY webhook_endpoints_owner ON webhook_endpoints TO levy_owner
	USING (true) WITH CHECK (true);

-- What the API needs and no more.  Registration draws the tenant id itself
-- (nextval), sets it as the context, then inserts under the policy.  The
-- platform fee, status, tier and Stripe account are the operator's: the
-- application may not update them.
GRANT SELECT, INSERT ON tenants TO levy_app;
GRANT UPDATE (company_name, domain, logo_url, primary_color, webhook_url, updated_at)
	ON tenants TO levy_app;
GRANT USAGE ON SEQUENCE tenants_id_seq TO levy_app;

GRANT SELECT, INSERT, DELETE ON tenant_users TO levy_app;
GRANT UPDATE (email, password_hash, role, first_name, last_name, is_active, last_login_at,
	      updated_at) ON tenant_users TO levy_app;
GRANT USAGE ON SEQUENCE tenant_users_id_seq TO levy_app;

GRANT SELECT, INSERT, DELETE ON webhook_endpoints TO levy_app;
GRANT UPDATE (url, status, enabled_events) ON webhook_endpoints TO levy_app;
