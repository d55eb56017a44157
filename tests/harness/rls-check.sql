-- Row-level security check, run as the application role after two tenants
-- were registered (each with users, keys and, for the endpoint lines, a
-- webhook_url; refresh tokens after a login):
--
--   psql "dbname=levy user=levy_app ..." -X -v tenant_a=1 -v tenant_b=2 \
--        -f tests/harness/rls-check.sql
--
-- Prints one line per table, "TABLE<TAB>N", N being the number of tenant
-- A's rows visible in tenant B's context when reading the whole table
-- without a WHERE clause (must be 0), then "rls-check: ok".  Any failure
-- (a count above 0, a refused check below) stops psql with a non-zero exit
-- status and an ERROR naming what went wrong.  Changes are rolled back.

\set QUIET on
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\pset fieldsep '\t'

\if :{?tenant_a}
\else
	\echo 'rls-check: set -v tenant_a=ID -v tenant_b=ID'
	SELECT 1/0 AS missing_tenant_variables;
\endif
\if :{?tenant_b}
\else
	\echo 'rls-check: set -v tenant_a=ID -v tenant_b=ID'
	SELECT 1/0 AS missing_tenant_variables;
\endif

-- The DO blocks below read the ids from these session settings (psql does
-- not substitute variables inside dollar quotes).
SELECT set_config('rlscheck.tenant_a', :'tenant_a', false) AS _a,
       set_config('rlscheck.tenant_b', :'tenant_b', false) AS _b \gset

-- The role itself: the application role, no superuser, no BYPASSRLS,
-- owning nothing, executing only the definer functions it was granted.
DO $$
DECLARE
	n bigint;
	bad text;
BEGIN
	IF current_user <> 'levy_app' THEN
		RAISE EXCEPTION 'rls-check: run as levy_app, not %', current_user;
	END IF;
	IF (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'rls-check: levy_app is a superuser or has BYPASSRLS';
	END IF;
	SELECT count(*) INTO n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	 WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
	   AND s.nspname NOT LIKE 'pg\_temp%' AND s.nspname NOT LIKE 'pg\_toast%';
	IF n > 0 THEN
		RAISE EXCEPTION 'rls-check: levy_app owns % relations', n;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_proc WHERE proowner =
		   (SELECT oid FROM pg_roles WHERE rolname = current_user)) THEN
		RAISE EXCEPTION 'rls-check: levy_app owns functions';
	END IF;
	IF has_table_privilege('public.login_failures', 'SELECT')
	   OR has_table_privilege('public.login_failures', 'INSERT')
	   OR has_table_privilege('public.login_failures', 'UPDATE')
	   OR has_table_privilege('public.login_failures', 'DELETE') THEN
		RAISE EXCEPTION 'rls-check: levy_app has a right on login_failures';
	END IF;
	IF has_table_privilege('public.levy_schema_migrations', 'SELECT') THEN
		RAISE EXCEPTION 'rls-check: levy_app can read levy_schema_migrations';
	END IF;
	SELECT string_agg(p.proname, ', ') INTO bad FROM pg_proc p JOIN pg_namespace s
	    ON s.oid = p.pronamespace
	 WHERE s.nspname = 'public' AND has_function_privilege(p.oid, 'EXECUTE')
	   AND p.proname NOT IN ('levy_auth_api_key', 'levy_auth_login', 'levy_login_failures',
				 'levy_login_failure_record', 'levy_login_failure_clear',
				 'levy_slug_available');
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'rls-check: levy_app may execute functions it was not granted: %', bad;
	END IF;
	-- Nothing in the schema belongs to a superuser; every definer function
	-- has a fixed search_path.
	SELECT string_agg(c.relname, ', ') INTO bad FROM pg_class c
	  JOIN pg_namespace s ON s.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
	 WHERE s.nspname = 'public' AND r.rolsuper;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'rls-check: relations owned by a superuser: %', bad;
	END IF;
	SELECT string_agg(p.proname, ', ') INTO bad FROM pg_proc p
	  JOIN pg_namespace s ON s.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
	 WHERE s.nspname = 'public' AND (r.rolsuper OR (p.prosecdef AND NOT EXISTS
		(SELECT 1 FROM unnest(p.proconfig) AS c WHERE c LIKE 'search\_path=%')));
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'rls-check: functions owned by a superuser or without search_path: %', bad;
	END IF;
	-- Every tenant-owned table has its policies forced.
	SELECT string_agg(c.relname, ', ') INTO bad FROM pg_class c
	 WHERE c.relname IN ('tenants', 'tenant_users', 'api_keys', 'refresh_tokens',
			     'webhook_endpoints')
	   AND c.relnamespace = 'public'::regnamespace
	   AND NOT (c.relrowsecurity AND c.relforcerowsecurity);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'rls-check: row-level security not enabled and forced on: %', bad;
	END IF;
END
$$;

-- No context at all: every table reads empty, whatever rows exist.
BEGIN;
DO $$
DECLARE
	t text;
	n bigint;
BEGIN
	FOREACH t IN ARRAY ARRAY['tenants', 'tenant_users', 'api_keys', 'refresh_tokens',
				 'webhook_endpoints'] LOOP
		EXECUTE format('SELECT count(*) FROM public.%I', t) INTO n;
		IF n > 0 THEN
			RAISE EXCEPTION 'rls-check: % shows % rows without app.tenant_id', t, n;
		END IF;
	END LOOP;
END
$$;
-- An empty setting fails closed too (what a transaction-local setting reads back as).
SELECT set_config('app.tenant_id', '', true) AS _t, set_config('app.livemode', '', true) AS _m \gset
DO $$
DECLARE
	t text;
	n bigint;
BEGIN
	FOREACH t IN ARRAY ARRAY['tenants', 'tenant_users', 'api_keys', 'refresh_tokens',
				 'webhook_endpoints'] LOOP
		EXECUTE format('SELECT count(*) FROM public.%I', t) INTO n;
		IF n > 0 THEN
			RAISE EXCEPTION 'rls-check: % shows % rows with an empty app.tenant_id', t, n;
		END IF;
	END LOOP;
END
$$;
ROLLBACK;

-- Tenant A's context sees A's rows only.
BEGIN;
SELECT set_config('app.tenant_id', :'tenant_a', true) AS _t,
       set_config('app.livemode', 'false', true) AS _m \gset
DO $$
DECLARE
	a bigint := current_setting('rlscheck.tenant_a')::bigint;
	t text;
	n bigint;
BEGIN
	IF (SELECT count(*) FROM public.tenants) <> 1
	   OR NOT EXISTS (SELECT 1 FROM public.tenants WHERE id = a) THEN
		RAISE EXCEPTION 'rls-check: tenant A does not see exactly itself';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM public.tenant_users) OR NOT EXISTS (SELECT 1 FROM public.api_keys) THEN
		RAISE EXCEPTION 'rls-check: tenant A sees none of its own users or keys';
	END IF;
	FOREACH t IN ARRAY ARRAY['tenant_users', 'api_keys', 'refresh_tokens',
				 'webhook_endpoints'] LOOP
		EXECUTE format('SELECT count(*) FROM public.%I WHERE tenant_id <> $1', t) INTO n USING a;
		IF n > 0 THEN
			RAISE EXCEPTION 'rls-check: tenant A sees % rows of other tenants in %', n, t;
		END IF;
	END LOOP;
	IF EXISTS (SELECT 1 FROM public.webhook_endpoints WHERE livemode) THEN
		RAISE EXCEPTION 'rls-check: test mode sees live webhook endpoints';
	END IF;
END
$$;
ROLLBACK;

-- Tenant B's context, test mode, then live mode: A's rows, read without a
-- WHERE clause, counted.
BEGIN;
SELECT set_config('app.tenant_id', :'tenant_b', true) AS _t,
       set_config('app.livemode', 'false', true) AS _m \gset
SELECT count(*) FILTER (WHERE id = :'tenant_a'::bigint) AS n_tenants FROM tenants \gset
SELECT count(*) FILTER (WHERE tenant_id = :'tenant_a'::bigint) AS n_users FROM tenant_users \gset
SELECT count(*) FILTER (WHERE tenant_id = :'tenant_a'::bigint) AS n_keys FROM api_keys \gset
SELECT count(*) FILTER (WHERE tenant_id = :'tenant_a'::bigint) AS n_tokens FROM refresh_tokens \gset
SELECT count(*) FILTER (WHERE tenant_id = :'tenant_a'::bigint) AS n_we_test FROM webhook_endpoints \gset
-- Test and live never cross: B's own live endpoints are invisible in test mode.
SELECT count(*) FILTER (WHERE livemode) AS n_we_cross FROM webhook_endpoints \gset
SELECT set_config('app.livemode', 'true', true) AS _m \gset
SELECT count(*) FILTER (WHERE tenant_id = :'tenant_a'::bigint) AS n_we_live FROM webhook_endpoints \gset
\echo 'tenants\t':n_tenants
\echo 'tenant_users\t':n_users
\echo 'api_keys\t':n_keys
\echo 'refresh_tokens\t':n_tokens
\echo 'webhook_endpoints (test)\t':n_we_test
\echo 'webhook_endpoints (live)\t':n_we_live
\echo 'webhook_endpoints live seen in test mode\t':n_we_cross

-- B may neither write rows for A nor touch A's rows.
DO $$
DECLARE
	a bigint := current_setting('rlscheck.tenant_a')::bigint;
	n bigint;
BEGIN
	BEGIN
		INSERT INTO public.tenant_users (tenant_id, email, password_hash, role)
		VALUES (a, 'rls-check@example.invalid', 'x', 'developer');
		RAISE EXCEPTION 'rls-check: B inserted a user into A';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		INSERT INTO public.api_keys (tenant_id, secret, livemode, key_hash, redacted)
		VALUES (a, true, false, repeat('0', 64), 'sk_test_...0000');
		RAISE EXCEPTION 'rls-check: B inserted a key into A';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		INSERT INTO public.webhook_endpoints (id, tenant_id, livemode, url, secret)
		VALUES ('we_rlscheck0000000000', a, true, 'https://example.invalid/',
			'whsec_rlscheck0000000000');
		RAISE EXCEPTION 'rls-check: B inserted a webhook endpoint into A';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		INSERT INTO public.refresh_tokens (jti, tenant_id, user_id, family, expires_at)
		VALUES ('rls-check', a, 0, 'rls-check', now() + interval '1 hour');
		RAISE EXCEPTION 'rls-check: B inserted a refresh token into A';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		INSERT INTO public.tenants (id, company_name, slug, email, webhook_secret)
		VALUES (nextval('public.tenants_id_seq'), 'x', 'rls-check-x', 'x@example.invalid',
			'whsec_rlscheck0000000000');
		RAISE EXCEPTION 'rls-check: B inserted a tenant other than itself';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	-- In live mode now: a test-mode endpoint of B's own is refused too.
	BEGIN
		INSERT INTO public.webhook_endpoints (id, tenant_id, livemode, url, secret)
		VALUES ('we_rlscheck0000000001', current_setting('rlscheck.tenant_b')::bigint,
			false, 'https://example.invalid/', 'whsec_rlscheck0000000000');
		RAISE EXCEPTION 'rls-check: a live-mode context inserted a test-mode endpoint';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	UPDATE public.tenants SET company_name = 'rls-check' WHERE id = a;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE EXCEPTION 'rls-check: B updated tenant A';
	END IF;
	UPDATE public.tenant_users SET first_name = 'rls-check' WHERE tenant_id = a;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE EXCEPTION 'rls-check: B updated A''s users';
	END IF;
	DELETE FROM public.tenant_users WHERE tenant_id = a;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE EXCEPTION 'rls-check: B deleted A''s users';
	END IF;
	UPDATE public.api_keys SET expires_at = now() WHERE tenant_id = a;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE EXCEPTION 'rls-check: B expired A''s keys';
	END IF;
	-- The platform fee and the status are the operator's, even for B's own row.
	BEGIN
		UPDATE public.tenants SET platform_fee_bp = 0;
		RAISE EXCEPTION 'rls-check: the application changed a platform fee';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		UPDATE public.tenants SET status = 'active';
		RAISE EXCEPTION 'rls-check: the application changed a tenant status';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
	BEGIN
		PERFORM count(*) FROM public.login_failures;
		RAISE EXCEPTION 'rls-check: the application read login_failures';
	EXCEPTION WHEN insufficient_privilege THEN NULL;
	END;
END
$$;
ROLLBACK;

SELECT (:n_tenants + :n_users + :n_keys + :n_tokens + :n_we_test + :n_we_live + :n_we_cross) = 0
	AS rls_ok \gset
\if :rls_ok
	\echo 'rls-check: ok'
\else
	DO $$ BEGIN RAISE EXCEPTION 'rls-check: tenant B sees rows of tenant A (or of the other mode)'; END $$;
\endif
