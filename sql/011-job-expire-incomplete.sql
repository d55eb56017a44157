-- levy schema, part 11: the first background job.  A subscription whose
-- first payment failed is incomplete; as in Stripe, if its first invoice
-- is still unpaid 23 hours after the subscription was created, the
-- subscription becomes incomplete_expired (a terminal state, ended then)
-- and that open invoice is voided, its PaymentIntent canceled.  `levy jobs expire-incomplete` runs it
-- (under a systemd timer).
--
-- The job works as the application role, like a request: a narrow
-- SECURITY DEFINER look-up names the subscriptions that are due (ids
-- only), and each is expired in a transaction of its own under its
-- tenant's and mode's context, so row-level security guards the job as it
-- guards the API, and the objects and events it renders are that tenant's
-- alone.  A subscription another runner holds is skipped (SKIP LOCKED):
-- runners on several hosts never expire the same one twice.

CREATE FUNCTION levy_job_incomplete_due(p_limit integer)
	RETURNS TABLE (tenant_id bigint, livemode boolean, id text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT s.tenant_id, s.livemode, s.id
	  FROM public.subscriptions s
	 WHERE s.status = 'incomplete' AND s.created <= now() - interval '23 hours'
	 ORDER BY s.created
	 LIMIT least(greatest(p_limit, 1), 1000)
$$;

REVOKE ALL ON FUNCTION levy_job_incomplete_due(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_job_incomplete_due(integer) TO levy_app;

-- Voiding an invoice cancels its PaymentIntent, as Stripe does
-- (cancellation_reason void_invoice), unless it already succeeded or was
-- canceled; payment_intent.canceled is recorded.  The API's void
-- (src/api/invoicing.c) and the job below both call it.
CREATE FUNCTION levy_invoice_void_intent(p_invoice text) RETURNS void
	LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	v_pi text;
BEGIN
	UPDATE public.payment_intents p
	   SET status = 'canceled', canceled_at = now(), cancellation_reason = 'void_invoice'
	 WHERE p.id = (SELECT i.payment_intent FROM public.invoices i WHERE i.id = p_invoice)
	   AND p.status NOT IN ('succeeded', 'canceled')
	RETURNING p.id INTO v_pi;
	IF v_pi IS NOT NULL THEN
		PERFORM levy_emit('payment_intent.canceled', 'payment_intent', v_pi, NULL);
	END IF;
END
$$;

REVOKE ALL ON FUNCTION levy_invoice_void_intent(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_invoice_void_intent(text) TO levy_app;

-- Under the subscription's context: true when it expired now, false when
-- it was no longer due (paid meanwhile, or held by another runner).
CREATE FUNCTION levy_subscription_expire(p_id text) RETURNS boolean
	LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	v_invoice text;
	prev jsonb;
BEGIN
	SELECT s.latest_invoice INTO v_invoice
	  FROM public.subscriptions s
	 WHERE s.id = p_id AND s.status = 'incomplete' AND s.created <= now() - interval '23 hours'
	   FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	prev := levy_object_json('subscription', p_id);
	UPDATE public.subscriptions s SET status = 'incomplete_expired', ended_at = now()
	 WHERE s.id = p_id;
	PERFORM levy_emit('customer.subscription.updated', 'subscription', p_id, prev);
	UPDATE public.invoices i SET status = 'void', voided_at = now(), next_payment_attempt = NULL
	 WHERE i.id = v_invoice AND i.status = 'open';
	IF FOUND THEN
		PERFORM levy_emit('invoice.voided', 'invoice', v_invoice, NULL);
		PERFORM levy_invoice_void_intent(v_invoice);
	END IF;
	RETURN true;
END
$$;

REVOKE ALL ON FUNCTION levy_subscription_expire(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_subscription_expire(text) TO levy_app;

-- The job's look-up: incomplete subscriptions, oldest first.
CREATE INDEX subscriptions_incomplete ON subscriptions (created) WHERE status = 'incomplete';
