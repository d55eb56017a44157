-- levy schema, part 3: authenticating an API key inside the request's own
-- transaction.  levy-fcgi sends BEGIN, this function and the handler's
-- first statement in one pipeline (one round trip), so the function sets
-- the tenant context itself: transaction-local, and only for a usable key
-- of an active tenant.  The context it sets is exactly what levy_app could
-- set itself, narrowed to the key's own tenant and mode.

CREATE FUNCTION levy_auth_api_key_begin(p_hash text, p_readonly boolean)
	RETURNS TABLE (key_id bigint, tenant_id bigint, secret boolean, livemode boolean,
		       company_name text, slug text, tenant_status text)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
DECLARE
	k record;
	v_found boolean;
BEGIN
	SELECT * INTO k FROM public.levy_auth_api_key(p_hash);
	-- PERFORM sets FOUND too: keep the look-up's answer.
	v_found := FOUND;
	IF v_found AND k.tenant_status = 'active' THEN
		PERFORM set_config('app.tenant_id', k.tenant_id::text, true),
			set_config('app.livemode', k.livemode::text, true),
			set_config('app.user_id', '', true);
	END IF;
	-- A read-only route becomes read-only once the key is stamped.
	IF p_readonly THEN
		PERFORM set_config('transaction_read_only', 'on', true);
	END IF;
	IF v_found THEN
		key_id := k.key_id;
		tenant_id := k.tenant_id;
		secret := k.secret;
		livemode := k.livemode;
		company_name := k.company_name;
		slug := k.slug;
		tenant_status := k.tenant_status;
		RETURN NEXT;
	END IF;
END
$$;

REVOKE ALL ON FUNCTION levy_auth_api_key_begin(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_auth_api_key_begin(text, boolean) TO levy_app;
