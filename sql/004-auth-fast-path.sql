-- levy schema, part 4: an API key's look-up that also answers for its
-- tenant.  levy_auth_api_key_begin() (part 3) opens every API-key request's
-- transaction; this function does the same and returns, besides the key,
-- its tenant's profile, so that a handler that needs only the tenant
-- (GET tenants/me) runs no statement of its own: one statement per request
-- instead of two, which is most of what such a request costs PostgreSQL.
--
-- Why a new function rather than CREATE OR REPLACE of part 3's: its result
-- has more columns, which CREATE OR REPLACE cannot change.  Part 3's
-- function stays as it is, so that a levy-fcgi still running during an
-- upgrade keeps working; levy-fcgi from this version on calls only this one.
--
-- What it may return is no more than levy_app may read itself: the profile
-- only for an active tenant, whose row the context it sets makes visible
-- to levy_app under the policy anyway (no webhook secret, no Stripe
-- account).  For a suspended tenant it sets no context and returns the key
-- and the status alone (the request is refused with 403), and for an
-- unknown, revoked or expired key one row of NULLs.
--
-- PL/pgSQL rather than SQL: a SQL function with a SET clause is planned
-- again on every call, while PL/pgSQL keeps its plans for the session.  The
-- SET search_path stays, as on every definer function (part 2).

CREATE FUNCTION levy_auth_api_key_open(p_hash text, p_readonly boolean, p_request_id text,
	OUT key_id bigint, OUT tenant_id bigint, OUT secret boolean, OUT livemode boolean,
	OUT company_name text, OUT slug text, OUT tenant_status text,
	OUT email text, OUT domain text, OUT logo_url text, OUT primary_color text,
	OUT webhook_url text, OUT platform_fee_bp integer, OUT subscription_tier text,
	OUT created bigint, OUT updated bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	v_last_used timestamptz;
BEGIN
	SELECT a.id, a.tenant_id, a.secret, a.livemode, a.last_used_at, t.status,
	       t.company_name, t.slug, t.email, t.domain, t.logo_url, t.primary_color,
	       t.webhook_url, t.platform_fee_bp, t.subscription_tier,
	       floor(extract(epoch FROM t.created_at))::bigint,
	       floor(extract(epoch FROM t.updated_at))::bigint
	  INTO key_id, tenant_id, secret, livemode, v_last_used, tenant_status,
	       company_name, slug, email, domain, logo_url, primary_color,
	       webhook_url, platform_fee_bp, subscription_tier, created, updated
	  FROM public.api_keys a JOIN public.tenants t ON t.id = a.tenant_id
	 WHERE a.key_hash = p_hash AND (a.expires_at IS NULL OR a.expires_at > now());
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF v_last_used IS NULL OR v_last_used < now() - interval '60 seconds' THEN
		UPDATE public.api_keys SET last_used_at = now()
		 WHERE id IN (SELECT l.id FROM public.api_keys l WHERE l.id = key_id
				FOR UPDATE SKIP LOCKED);
	END IF;
	IF tenant_status <> 'active' THEN
		-- The key and the status only (the request gets its 403), and no
		-- context, under which every policy hides every row.
		company_name := NULL;
		slug := NULL;
		email := NULL;
		domain := NULL;
		logo_url := NULL;
		primary_color := NULL;
		webhook_url := NULL;
		platform_fee_bp := NULL;
		subscription_tier := NULL;
		created := NULL;
		updated := NULL;
	END IF;
	-- One statement sets the context (only for an active tenant) and, for a
	-- read-only route, read-only mode, now that the key is stamped.  Every
	-- set_config() costs (PostgreSQL 15 walks all its settings at the end of
	-- the function and of the transaction): read-only mode only when asked.
	PERFORM set_config('app.tenant_id', CASE WHEN tenant_status = 'active'
						 THEN tenant_id::text ELSE '' END, true),
		set_config('app.livemode', CASE WHEN tenant_status = 'active'
						THEN livemode::text ELSE '' END, true),
		set_config('app.user_id', '', true),
		CASE WHEN p_readonly THEN set_config('transaction_read_only', 'on', true) END,
		-- A write names its request for the events it records (event.request.id).
		CASE WHEN p_request_id IS NOT NULL THEN set_config('app.request_id', p_request_id, true) END;
END
$$;

REVOKE ALL ON FUNCTION levy_auth_api_key_open(text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_auth_api_key_open(text, boolean, text) TO levy_app;
