-- levy schema, part 9: a dashboard user's request opens the way an API
-- key's does (part 4).  The user comes from a verified JWT (its user and
-- tenant ids); levy_auth_user_open() reads the user's current role and
-- state and the tenant's profile, and sets the request's context, in one
-- call.  A read-only request then needs no BEGIN (its statements run in
-- the pipeline's implicit transaction) and GET tenants/me runs no
-- statement of its own: one round trip instead of four.
--
-- It returns no more than levy_app could read itself under the context it
-- sets: the profile only for an active user of an active tenant.  For an
-- inactive user or a suspended tenant it sets no context and returns the
-- role, the user's state and the tenant's status alone (the request is
-- refused with 401 or 403), and for a user not in that tenant one row of
-- NULLs.

CREATE FUNCTION levy_auth_user_open(p_user_id bigint, p_tenant_id bigint, p_livemode boolean,
	p_readonly boolean, p_request_id text,
	OUT role text, OUT is_active boolean, OUT tenant_status text,
	OUT company_name text, OUT slug text,
	OUT email text, OUT domain text, OUT logo_url text, OUT primary_color text,
	OUT webhook_url text, OUT platform_fee_bp integer, OUT subscription_tier text,
	OUT created bigint, OUT updated bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	v_ok boolean;
BEGIN
	SELECT u.role, u.is_active, t.status, t.company_name, t.slug, t.email, t.domain,
	       t.logo_url, t.primary_color, t.webhook_url, t.platform_fee_bp, t.subscription_tier,
	       floor(extract(epoch FROM t.created_at))::bigint,
	       floor(extract(epoch FROM t.updated_at))::bigint
	  INTO role, is_active, tenant_status, company_name, slug, email, domain,
	       logo_url, primary_color, webhook_url, platform_fee_bp, subscription_tier,
	       created, updated
	  FROM public.tenant_users u JOIN public.tenants t ON t.id = u.tenant_id
	 WHERE u.id = p_user_id AND u.tenant_id = p_tenant_id;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	v_ok := is_active AND tenant_status = 'active';
	IF NOT v_ok THEN
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
	PERFORM set_config('app.tenant_id', CASE WHEN v_ok THEN p_tenant_id::text ELSE '' END, true),
		set_config('app.livemode', CASE WHEN v_ok THEN p_livemode::text ELSE '' END, true),
		set_config('app.user_id', CASE WHEN v_ok THEN p_user_id::text ELSE '' END, true),
		CASE WHEN p_readonly THEN set_config('transaction_read_only', 'on', true) END,
		CASE WHEN p_request_id IS NOT NULL THEN set_config('app.request_id', p_request_id, true) END;
END
$$;

REVOKE ALL ON FUNCTION levy_auth_user_open(bigint, bigint, boolean, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_auth_user_open(bigint, bigint, boolean, boolean, text) TO levy_app;
