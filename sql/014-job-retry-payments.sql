-- levy schema, part 14: payment retries (`levy jobs retry-payments`, run
-- hourly by levy-retry-payments.timer) and the schedule they follow.
--
-- The schedule is Stripe's classic custom retry schedule for
-- subscriptions (Billing settings -> "Retry up to 3 times"): a failed
-- automatic payment is retried 3 days after the first attempt, 5 days
-- after the second and 7 days after the third; 4 attempts in all, and
-- after the fourth fails next_payment_attempt is NULL.  It is written
-- once, here: the engine's failed-attempt statement (inv_failed in
-- src/api/invoicing.c) asks levy_invoice_retry_delay() for the next gap.
-- A subscription's first invoice (subscription_create) is never retried
-- (the subscription stays incomplete until paid or expired, sql/011),
-- and send_invoice invoices are paid by the customer, not retried.
--
-- When the last attempt fails, the subscription whose latest invoice it
-- is becomes unpaid (Stripe's "mark the subscription as unpaid" setting;
-- Stripe also offers "cancel the subscription" and "leave it past_due").
-- The engine does that (inv_subscription_outcome), however the attempt
-- was made: the job, POST /v1/invoices/:id/pay, a renewal.
--
-- Which invoices the job collects (levy_invoice_collect_due): open,
-- charge_automatically, auto_advance (as in Stripe, auto_advance false
-- stops automatic collection), not a first invoice, next_payment_attempt
-- reached, and not of a subscription that has ended (Stripe stops the
-- automatic collection of a canceled subscription's invoices).  Besides
-- retries after a decline, that includes an invoice finalized through the
-- API and never attempted (next_payment_attempt = its finalization), which
-- Stripe's automatic collection charges too.
--
-- As for the other jobs (sql/011, sql/012), the job works as the
-- application role: the SECURITY DEFINER look-up below names due invoices
-- (ids only), and each is collected in a transaction under its own
-- tenant's and mode's context, which locks it FOR UPDATE SKIP LOCKED and
-- checks again that it is due.

-- The gap after attempt p_attempts failed; NULL: no retry left.
CREATE FUNCTION levy_invoice_retry_delay(p_attempts integer) RETURNS interval
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE p_attempts
		WHEN 1 THEN interval '3 days'
		WHEN 2 THEN interval '5 days'
		WHEN 3 THEN interval '7 days'
	END
$$;

REVOKE ALL ON FUNCTION levy_invoice_retry_delay(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_invoice_retry_delay(integer) TO levy_app;

-- Whether the job collects the invoice now.  Runs as its caller: under
-- the application role's context, the subscription it reads is the
-- invoice's own tenant's and mode's.
CREATE FUNCTION levy_invoice_collect_due(i public.invoices) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, public
AS $$
	SELECT i.status = 'open' AND i.collection_method = 'charge_automatically'
	   AND i.auto_advance AND i.billing_reason <> 'subscription_create'
	   AND i.next_payment_attempt <= now()
	   AND NOT EXISTS (SELECT 1 FROM public.subscriptions s
			    WHERE s.id = i.subscription
			      AND s.status IN ('canceled', 'incomplete_expired'))
$$;

REVOKE ALL ON FUNCTION levy_invoice_collect_due(public.invoices) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_invoice_collect_due(public.invoices) TO levy_app;

-- Due invoices in id order, after the (tenant_id, livemode, id) the
-- previous batch ended with (NULLs: from the start): a keyset, so that an
-- invoice whose collection failed, and stays due, is not met again in the
-- same run.  The first three conditions repeat levy_invoice_collect_due's
-- for the partial index below.
CREATE FUNCTION levy_job_retry_due(p_limit integer, p_after_tenant bigint,
	p_after_livemode boolean, p_after_id text)
	RETURNS TABLE (tenant_id bigint, livemode boolean, id text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT i.tenant_id, i.livemode, i.id
	  FROM public.invoices i
	 WHERE i.status = 'open' AND i.collection_method = 'charge_automatically'
	   AND i.next_payment_attempt <= now()
	   AND public.levy_invoice_collect_due(i)
	   AND (p_after_id IS NULL
		OR (i.tenant_id, i.livemode, i.id) > (p_after_tenant, p_after_livemode, p_after_id))
	 ORDER BY i.tenant_id, i.livemode, i.id
	 LIMIT least(greatest(p_limit, 1), 1000)
$$;

REVOKE ALL ON FUNCTION levy_job_retry_due(integer, bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_job_retry_due(integer, bigint, boolean, text) TO levy_app;

CREATE INDEX invoices_retry_due ON invoices (next_payment_attempt)
	WHERE status = 'open' AND collection_method = 'charge_automatically';
