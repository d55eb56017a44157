-- levy schema, part 7: Stripe Connect, the live-mode processor.
--
-- A tenant connects its own Stripe account (OAuth, owner only); levy then
-- mirrors live customers and cards onto that account and charges there.
-- The account id lives in tenants.stripe_account_id, which the application
-- may not update directly (part 1): levy_tenant_stripe_account_set() below
-- is the one narrow way, for the current tenant and its owner only.

-- Which connected account a mirrored object lives on: after the tenant
-- connects another account, a customer is mirrored anew and a card (whose
-- token Stripe used up) must be attached again.
ALTER TABLE customers ADD COLUMN processor_account text
	CHECK (processor_account ~ '^acct_[0-9A-Za-z_]{1,250}$');
ALTER TABLE payment_methods ADD COLUMN processor_account text
	CHECK (processor_account ~ '^acct_[0-9A-Za-z_]{1,250}$');

-- A live card arrives as a Stripe token (Stripe.js, on the connected
-- account) and is kept as that until attached to a customer, when Stripe
-- makes the card (processor_id) and tells its brand, last4 and expiry: a
-- token is single-use, so it is cleared then.  Until then those fields are
-- unknown, and only then may they be.
ALTER TABLE payment_methods ADD COLUMN processor_token text
	CHECK (processor_token ~ '^tok_[0-9A-Za-z_]{1,250}$');
ALTER TABLE payment_methods
	ALTER COLUMN brand DROP NOT NULL,
	ALTER COLUMN last4 DROP NOT NULL,
	ALTER COLUMN exp_month DROP NOT NULL,
	ALTER COLUMN exp_year DROP NOT NULL,
	ALTER COLUMN fingerprint DROP NOT NULL;
ALTER TABLE payment_methods ADD CONSTRAINT payment_methods_card_known CHECK (
	(brand IS NOT NULL AND last4 IS NOT NULL AND exp_month IS NOT NULL AND exp_year IS NOT NULL
	 AND fingerprint IS NOT NULL)
	OR (livemode AND processor_token IS NOT NULL AND processor_id IS NULL AND customer IS NULL));

GRANT UPDATE (processor_account) ON customers TO levy_app;
GRANT UPDATE (brand, last4, funding, country, fingerprint, processor_token, processor_account)
	ON payment_methods TO levy_app;

-- Sets (p_account) or clears (NULL) the current tenant's connected Stripe
-- account, when the current user (app.user_id) is that tenant's active
-- owner.  Returns the tenant's account as it is now; no row when there is
-- no such tenant and owner, so the caller can tell.
CREATE FUNCTION levy_tenant_stripe_account_set(p_account text)
	RETURNS TABLE (stripe_account_id text)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	v_tenant bigint := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
	v_user bigint := NULLIF(current_setting('app.user_id', true), '')::bigint;
BEGIN
	IF p_account IS NOT NULL AND p_account !~ '^acct_[0-9A-Za-z_]{1,250}$' THEN
		RAISE EXCEPTION 'not a Stripe account id' USING ERRCODE = '22023';
	END IF;
	IF v_tenant IS NULL OR v_user IS NULL OR NOT EXISTS (
		SELECT 1 FROM public.tenant_users u
		 WHERE u.id = v_user AND u.tenant_id = v_tenant AND u.role = 'owner' AND u.is_active) THEN
		RETURN;
	END IF;
	RETURN QUERY UPDATE public.tenants t SET stripe_account_id = p_account, updated_at = now()
		WHERE t.id = v_tenant RETURNING t.stripe_account_id;
END
$$;
REVOKE EXECUTE ON FUNCTION levy_tenant_stripe_account_set(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_tenant_stripe_account_set(text) TO levy_app;
