-- levy schema, part 3: authenticating an API key inside the request's own
-- transaction.  levy-fcgi sends BEGIN, this function and the handler's
-- first statement in one pipeline (one round trip), so the function sets
-- the tenant context itself: transaction-local, and only for a usable key
-- of an active tenant.  The context it sets is exactly what levy_app could
-- set itself, narrowed to the key's own tenant and mode.

-- One row always (not a set, which would cost a tuplestore per call): all
-- NULL for an unknown, revoked or expired key.
CREATE FUNCTION levy_auth_api_key_begin(p_hash text, p_readonly boolean,
	OUT key_id bigint, OUT tenant_id bigint, OUT secret boolean, OUT livemode boolean,
	OUT company_name text, OUT slug text, OUT tenant_status text)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	k record;
BEGIN
	-- The look-up of levy_auth_api_key(), inlined: a nested call costs as
	-- much as the look-up itself, and this runs on every API request.
	SELECT a.id, a.tenant_id, a.secret, a.livemode, a.last_used_at,
	       t.company_name, t.slug, t.status
	  INTO k
	  FROM public.api_keys a JOIN public.tenants t ON t.id = a.tenant_id
	 WHERE a.key_hash = p_hash AND (a.expires_at IS NULL OR a.expires_at > now());
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 seconds' THEN
		UPDATE public.api_keys SET last_used_at = now()
		 WHERE id IN (SELECT l.id FROM public.api_keys l WHERE l.id = k.id
				FOR UPDATE SKIP LOCKED);
	END IF;
	-- One statement sets the context (only for an active tenant) and, for a
	-- read-only route, read-only mode, now that the key is stamped.
	PERFORM set_config('app.tenant_id', CASE WHEN k.status = 'active'
						 THEN k.tenant_id::text ELSE '' END, true),
		set_config('app.livemode', CASE WHEN k.status = 'active'
						THEN k.livemode::text ELSE '' END, true),
		set_config('app.user_id', '', true),
		set_config('transaction_read_only', CASE WHEN p_readonly THEN 'on'
			   ELSE current_setting('transaction_read_only') END, true);
	key_id := k.id;
	tenant_id := k.tenant_id;
	secret := k.secret;
	livemode := k.livemode;
	company_name := k.company_name;
	slug := k.slug;
	tenant_status := k.status;
END
$$;

REVOKE ALL ON FUNCTION levy_auth_api_key_begin(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_auth_api_key_begin(text, boolean) TO levy_app;
