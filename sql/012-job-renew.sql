-- levy schema, part 12: the renewal job (`levy jobs renew`, run hourly by
-- levy-renew.timer).  A subscription whose current period has ended
-- renews as in Stripe: it ends instead when cancel_at_period_end is set;
-- otherwise its period advances on its anchored schedule, a trial that
-- has run out becomes active, and the new period is invoiced
-- (billing_reason subscription_cycle), finalized and, for
-- charge_automatically, paid off-session.  The C side
-- (src/cli/jobs_renew.c) does the work through the billing engine
-- (src/api/invoicing.c), one subscription per transaction.
--
-- Which statuses renew: trialing, active and past_due; and unpaid, as in
-- Stripe, whose unpaid subscriptions go on renewing but leave their new
-- invoices as drafts (no finalization, no payment attempt, auto_advance
-- false).  incomplete subscriptions wait for their first payment or for
-- expire-incomplete; canceled and incomplete_expired ones are over.
--
-- As for expire-incomplete (sql/011), the job works as the application
-- role: the SECURITY DEFINER look-up below names due subscriptions (ids
-- only), and each is renewed in a transaction under its own tenant's and
-- mode's context, which locks it FOR UPDATE SKIP LOCKED and checks again
-- that it is due: runners on several hosts never renew one twice.

-- Due subscriptions in id order, after the (tenant_id, livemode, id) the
-- previous batch ended with (NULLs: from the start).  A keyset rather
-- than "the first N still due": one whose renewal failed stays due, and a
-- batch starting over would meet it again in the same run.
CREATE FUNCTION levy_job_renew_due(p_limit integer, p_after_tenant bigint,
	p_after_livemode boolean, p_after_id text)
	RETURNS TABLE (tenant_id bigint, livemode boolean, id text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT s.tenant_id, s.livemode, s.id
	  FROM public.subscriptions s
	 WHERE s.status IN ('trialing', 'active', 'past_due', 'unpaid')
	   AND s.current_period_end <= now()
	   AND (p_after_id IS NULL
		OR (s.tenant_id, s.livemode, s.id) > (p_after_tenant, p_after_livemode, p_after_id))
	 ORDER BY s.tenant_id, s.livemode, s.id
	 LIMIT least(greatest(p_limit, 1), 1000)
$$;

REVOKE ALL ON FUNCTION levy_job_renew_due(integer, bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_job_renew_due(integer, bigint, boolean, text) TO levy_app;

-- The look-up's filter (sql/006's subscriptions_due leaves out unpaid).
CREATE INDEX subscriptions_renew_due ON subscriptions (current_period_end)
	WHERE status IN ('trialing', 'active', 'past_due', 'unpaid');
