-- levy schema, part 13: renderings in one query each.
--
-- An invoice's rendering ran a query per line for the line's plan (twice:
-- as plan and as price), two for its charges, and the subscription's one
-- per item; each such query costs PostgreSQL an executor start, which made
-- rendering an invoice with one line about 115 us and most of what an
-- event costs.  Lines and items are now rendered by pure functions of the
-- row and its plan row (levy_invoice_line_plan_json,
-- levy_subscription_item_plan_json), which PostgreSQL inlines into the one
-- query that joins them; the charges, and a charge's payment method, are
-- read once.  The answers are the same, key for key (the test suites
-- compare them).

CREATE FUNCTION levy_invoice_line_plan_json(l invoice_lines, p plans) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
			'id', l.id, 'object', 'line_item', 'amount', l.amount,
			'amount_excluding_tax', l.amount, 'currency', l.currency, 'description', l.description,
			'discount_amounts', '[]'::jsonb, 'discountable', true, 'discounts', '[]'::jsonb,
			'invoice_item', l.invoice_item, 'livemode', l.livemode, 'metadata', l.metadata,
			'period', jsonb_build_object('end', levy_epoch(l.period_end), 'start', levy_epoch(l.period_start)),
			'plan', CASE WHEN p.id IS NOT NULL THEN levy_plan_json(p) END,
			'price', CASE WHEN p.id IS NOT NULL THEN levy_plan_price_json(p) END,
			'proration', l.proration,
			'proration_details', jsonb_build_object('credited_items', NULL),
			'quantity', l.quantity, 'subscription', l.subscription,
			'subscription_item', l.subscription_item, 'tax_amounts', '[]'::jsonb,
			'tax_rates', '[]'::jsonb, 'type', l.type,
			'unit_amount_excluding_tax', CASE WHEN l.quantity > 0 THEN (l.amount / l.quantity)::text END)
$$;

CREATE OR REPLACE FUNCTION levy_invoice_line_json(l invoice_lines) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT levy_invoice_line_plan_json(l, p)
		  FROM (SELECT) one LEFT JOIN public.plans p ON p.id = l.plan);
END
$$;

CREATE FUNCTION levy_subscription_item_plan_json(i subscription_items, p plans) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
			'id', i.id, 'object', 'subscription_item', 'billing_thresholds', NULL,
			'created', levy_epoch(i.created), 'metadata', i.metadata,
			'plan', levy_plan_json(p), 'price', levy_plan_price_json(p), 'quantity', i.quantity,
			'subscription', i.subscription, 'tax_rates', '[]'::jsonb)
$$;

CREATE OR REPLACE FUNCTION levy_subscription_item_json(i subscription_items) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT levy_subscription_item_plan_json(i, p) FROM public.plans p WHERE p.id = i.plan);
END
$$;

CREATE OR REPLACE FUNCTION levy_invoice_json(i invoices) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (
		SELECT jsonb_build_object(
			'id', i.id, 'object', 'invoice', 'account_country', NULL, 'account_name', t.company_name,
			'account_tax_ids', NULL, 'amount_due', i.amount_due, 'amount_paid', i.amount_paid,
			'amount_remaining', CASE WHEN i.status IN ('void') THEN 0 ELSE i.amount_due - i.amount_paid END,
			'amount_shipping', 0, 'application', NULL,
			'application_fee_amount', ch.fee,
			'attempt_count', i.attempt_count, 'attempted', i.attempt_count > 0,
			'auto_advance', i.auto_advance,
			'automatic_tax', jsonb_build_object('enabled', false, 'status', NULL),
			'billing_reason', i.billing_reason,
			'charge', ch.id,
			'collection_method', i.collection_method, 'created', levy_epoch(i.created),
			'currency', i.currency, 'custom_fields', NULL, 'customer', i.customer,
			'customer_address', NULL, 'customer_email', c.email, 'customer_name', c.name,
			'customer_phone', c.phone, 'customer_shipping', NULL, 'customer_tax_exempt', 'none',
			'customer_tax_ids', '[]'::jsonb, 'default_payment_method', i.default_payment_method,
			'default_source', NULL, 'default_tax_rates', '[]'::jsonb, 'description', i.description,
			'discount', NULL, 'discounts', '[]'::jsonb, 'due_date', levy_epoch(i.due_date),
			'effective_at', levy_epoch(i.finalized_at), 'ending_balance', i.ending_balance,
			'footer', NULL, 'from_invoice', NULL, 'hosted_invoice_url', NULL, 'invoice_pdf', NULL,
			'last_finalization_error', NULL, 'latest_revision', NULL)
		-- jsonb_build_object() takes at most 100 arguments.
		|| jsonb_build_object(
			'lines', jsonb_build_object('object', 'list', 'data', lines.data, 'has_more', false,
				'total_count', lines.n, 'url', '/v1/invoices/' || i.id || '/lines'),
			'livemode', i.livemode, 'metadata', i.metadata,
			'next_payment_attempt', levy_epoch(i.next_payment_attempt), 'number', i.number,
			'on_behalf_of', NULL, 'paid', i.status = 'paid', 'paid_out_of_band', false,
			'payment_intent', i.payment_intent,
			'payment_settings', jsonb_build_object('default_mandate', NULL,
				'payment_method_options', NULL, 'payment_method_types', NULL),
			'period_end', levy_epoch(i.period_end), 'period_start', levy_epoch(i.period_start),
			'post_payment_credit_notes_amount', 0, 'pre_payment_credit_notes_amount', 0,
			'quote', NULL, 'receipt_number', NULL, 'rendering_options', NULL,
			'shipping_cost', NULL, 'shipping_details', NULL,
			'starting_balance', i.starting_balance, 'statement_descriptor', NULL,
			'status', i.status,
			'status_transitions', jsonb_build_object('finalized_at', levy_epoch(i.finalized_at),
				'marked_uncollectible_at', levy_epoch(i.marked_uncollectible_at),
				'paid_at', levy_epoch(i.paid_at), 'voided_at', levy_epoch(i.voided_at)),
			'subscription', i.subscription, 'subscription_details', jsonb_build_object('metadata', NULL),
			'subtotal', i.subtotal, 'subtotal_excluding_tax', i.subtotal, 'tax', NULL,
			'test_clock', NULL, 'total', i.total, 'total_discount_amounts', '[]'::jsonb,
			'total_excluding_tax', i.total, 'total_tax_amounts', '[]'::jsonb, 'transfer_data', NULL,
			'webhooks_delivered_at', NULL)
		  FROM public.customers c, public.tenants t,
		       LATERAL (SELECT coalesce(jsonb_agg(levy_invoice_line_plan_json(l, p) ORDER BY l.seq),
						'[]') AS data, count(*) AS n
				  FROM public.invoice_lines l LEFT JOIN public.plans p ON p.id = l.plan
				 WHERE l.invoice = i.id) lines,
		       LATERAL (SELECT (array_agg(x.id ORDER BY x.seq DESC))[1] AS id,
				       (array_agg(x.application_fee_amount ORDER BY x.seq DESC)
					  FILTER (WHERE x.status = 'succeeded'))[1] AS fee
				  FROM public.charges x WHERE x.invoice = i.id) ch
		 WHERE c.id = i.customer AND t.id = i.tenant_id
	);
END
$$;

CREATE OR REPLACE FUNCTION levy_subscription_json(s subscriptions) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (
		SELECT jsonb_build_object(
			'id', s.id, 'object', 'subscription', 'application', NULL,
			'application_fee_percent', NULL,
			'automatic_tax', jsonb_build_object('enabled', false),
			'billing_cycle_anchor', levy_epoch(s.billing_cycle_anchor), 'billing_thresholds', NULL,
			'cancel_at', levy_epoch(s.cancel_at), 'cancel_at_period_end', s.cancel_at_period_end,
			'canceled_at', levy_epoch(s.canceled_at),
			'cancellation_details', jsonb_build_object('comment', NULL, 'feedback', NULL,
				'reason', CASE WHEN s.canceled_at IS NOT NULL THEN 'cancellation_requested' END),
			'collection_method', s.collection_method, 'created', levy_epoch(s.created),
			'currency', s.currency, 'current_period_end', levy_epoch(s.current_period_end),
			'current_period_start', levy_epoch(s.current_period_start), 'customer', s.customer,
			'days_until_due', s.days_until_due, 'default_payment_method', s.default_payment_method,
			'default_source', NULL, 'default_tax_rates', '[]'::jsonb, 'description', s.description,
			'discount', NULL, 'ended_at', levy_epoch(s.ended_at),
			'items', jsonb_build_object('object', 'list', 'data', items.data, 'has_more', false,
				'total_count', items.n, 'url', '/v1/subscription_items?subscription=' || s.id),
			'latest_invoice', s.latest_invoice, 'livemode', s.livemode, 'metadata', s.metadata,
			'next_pending_invoice_item_invoice', NULL, 'on_behalf_of', NULL,
			'pause_collection', NULL,
			'payment_settings', jsonb_build_object('payment_method_options', NULL,
				'payment_method_types', NULL, 'save_default_payment_method', 'off'),
			'pending_invoice_item_interval', NULL, 'pending_setup_intent', NULL,
			'pending_update', NULL,
			'plan', CASE WHEN items.n = 1 THEN items.plan END,
			'quantity', CASE WHEN items.n = 1 THEN items.quantity END,
			'schedule', NULL, 'start_date', levy_epoch(s.start_date), 'status', s.status,
			'test_clock', NULL, 'transfer_data', NULL, 'trial_end', levy_epoch(s.trial_end),
			'trial_settings', jsonb_build_object('end_behavior',
				jsonb_build_object('missing_payment_method', 'create_invoice')),
			'trial_start', levy_epoch(s.trial_start))
		  FROM (SELECT coalesce(jsonb_agg(levy_subscription_item_plan_json(i, p) ORDER BY i.seq),
				  '[]') AS data, count(*) AS n, (array_agg(levy_plan_json(p)))[1] AS plan,
				min(i.quantity) AS quantity
			  FROM public.subscription_items i JOIN public.plans p ON p.id = i.plan
			 WHERE i.subscription = s.id AND NOT i.deleted) items
	);
END
$$;

CREATE OR REPLACE FUNCTION levy_charge_json(c charges) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT jsonb_build_object(
			'id', c.id, 'object', 'charge', 'amount', c.amount,
			'amount_captured', CASE WHEN c.status = 'succeeded' THEN c.amount ELSE 0 END,
			'amount_refunded', c.amount_refunded, 'application', NULL, 'application_fee', NULL,
			'application_fee_amount', c.application_fee_amount,
			'application_fee_refunded', c.application_fee_refunded,
			'balance_transaction', NULL,
			'billing_details', coalesce(pm.j -> 'billing_details', '{}'::jsonb),
			'calculated_statement_descriptor', NULL, 'captured', c.status = 'succeeded',
			'created', levy_epoch(c.created), 'currency', c.currency, 'customer', c.customer,
			'description', NULL, 'disputed', false, 'failure_balance_transaction', NULL,
			'failure_code', c.failure_code, 'failure_message', c.failure_message,
			'fraud_details', '{}'::jsonb, 'invoice', c.invoice, 'livemode', c.livemode,
			'metadata', '{}'::jsonb, 'on_behalf_of', NULL,
			'outcome', jsonb_build_object(
				'network_status', CASE WHEN c.status = 'succeeded' THEN 'approved_by_network'
						       ELSE 'declined_by_network' END,
				'reason', c.decline_code, 'risk_level', 'normal', 'seller_message',
				CASE WHEN c.status = 'succeeded' THEN 'Payment complete.'
				     ELSE 'The bank did not return any further details with this decline.' END,
				'type', CASE WHEN c.status = 'succeeded' THEN 'authorized' ELSE 'issuer_declined' END),
			'paid', c.status = 'succeeded', 'payment_intent', c.payment_intent,
			'payment_method', c.payment_method,
			'payment_method_details', CASE WHEN pm.j IS NOT NULL THEN
				jsonb_build_object('type', 'card', 'card', pm.j -> 'card') END,
			'receipt_email', NULL, 'receipt_number', NULL, 'receipt_url', NULL,
			'refunded', c.amount_refunded = c.amount,
			'refunds', jsonb_build_object('object', 'list', 'has_more', false,
				'url', '/v1/charges/' || c.id || '/refunds',
				'data', (SELECT coalesce(jsonb_agg(levy_refund_json(r) ORDER BY r.seq DESC), '[]')
					   FROM public.refunds r WHERE r.charge = c.id)),
			'review', NULL, 'shipping', NULL, 'source_transfer', NULL, 'statement_descriptor', NULL,
			'statement_descriptor_suffix', NULL, 'status', c.status, 'transfer', NULL,
			'transfer_data', NULL, 'transfer_group', NULL)
		  FROM (SELECT) one LEFT JOIN LATERAL (SELECT levy_payment_method_json(m) AS j
						   FROM public.payment_methods m
						  WHERE m.id = c.payment_method) pm ON true);
END
$$;

GRANT EXECUTE ON FUNCTION levy_invoice_line_plan_json(invoice_lines, plans),
	levy_subscription_item_plan_json(subscription_items, plans) TO levy_app;
