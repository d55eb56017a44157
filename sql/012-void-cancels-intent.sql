-- levy schema, part 12: voiding an invoice cancels its PaymentIntent, as
-- Stripe does (cancellation_reason void_invoice), unless it already
-- succeeded or was canceled; payment_intent.canceled is recorded.  The
-- API's void and the expiry job (part 11) both do it.

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

CREATE OR REPLACE FUNCTION levy_subscription_expire(p_id text) RETURNS boolean
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
