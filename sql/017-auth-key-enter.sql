-- levy schema, part 17: an API key's look-up without its tenant's profile.
--
-- levy_auth_api_key_open() (part 4) opens every API-key request and
-- returns the tenant's profile, which only GET tenants/me uses.  Filling
-- and returning its eleven profile columns costs PostgreSQL about 4 us of
-- the 34 the look-up costs (pgbench, two clients): every other route now
-- opens with this function, which does the same with the key alone.  What
-- it does is part 4's, word for word but the profile: stamps last_used at
-- most once a minute, sets the context only for an active tenant, read-only
-- mode when asked and the request's id for a write, and answers one row of
-- NULLs for an unknown, revoked or expired key.  Part 4's function stays
-- for tenants/me.  (Calling this one from it would cost tenants/me about 9
-- us: a nested definer function is a second function call with its own
-- settings level.)

CREATE FUNCTION levy_auth_api_key_enter(p_hash text, p_readonly boolean, p_request_id text,
	OUT key_id bigint, OUT tenant_id bigint, OUT secret boolean, OUT livemode boolean,
	OUT tenant_status text)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	v_last_used timestamptz;
BEGIN
	SELECT a.id, a.tenant_id, a.secret, a.livemode, a.last_used_at, t.status
	  INTO key_id, tenant_id, secret, livemode, v_last_used, tenant_status
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
	PERFORM set_config('app.tenant_id', CASE WHEN tenant_status = 'active'
						 THEN tenant_id::text ELSE '' END, true),
		set_config('app.livemode', CASE WHEN tenant_status = 'active'
						THEN livemode::text ELSE '' END, true),
		set_config('app.user_id', '', true),
		CASE WHEN p_readonly THEN set_config('transaction_read_only', 'on', true) END,
		CASE WHEN p_request_id IS NOT NULL THEN set_config('app.request_id', p_request_id, true) END;
END
$$;

REVOKE ALL ON FUNCTION levy_auth_api_key_enter(text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_auth_api_key_enter(text, boolean, text) TO levy_app;
