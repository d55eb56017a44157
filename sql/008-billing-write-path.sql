-- levy schema, part 8: the write path made cheap.
--
-- PostgreSQL 15 keeps no plan of a SQL-language function between calls
-- unless it can inline the function into the calling query, and it cannot
-- inline one that has a SET clause, a FROM, or a subquery.  Such a function
-- called from a trigger or a CHECK constraint was parsed and planned again
-- on every row written: the event of one customer insert cost more than
-- the insert.  Here those functions become either inlinable SQL (one
-- expression, no subquery, no SET clause) or PL/pgSQL, whose plans live
-- for the session.  What they compute is unchanged; the billing suites
-- check every one of them through the API.

-- Object ids: the prefix and the first 24 characters of the base64 of two
-- gen_random_uuid() values (PostgreSQL's own CSPRNG), '+' and '/' read as
-- 'Z' and 'z'.  Those 18 bytes hold 138 random bits (a version-4 uuid
-- fixes 6 of its 128); the two folded characters make 'Z' and 'z' twice
-- as likely as the rest, which costs under a bit.  Ids are names, not
-- secrets.  The old form, a string_agg over generate_series, cost 18 us.
CREATE OR REPLACE FUNCTION levy_new_id(prefix text) RETURNS text
	LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
	SELECT prefix || pg_catalog.translate(pg_catalog.substr(pg_catalog.encode(
		pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
		|| pg_catalog.uuid_send(pg_catalog.gen_random_uuid()), 'base64'), 1, 24), '+/', 'Zz')
$$;

-- metadata values are strings (levy_metadata_ok), so a top-level null is
-- the only null jsonb_strip_nulls can meet: the same merge, inlinable.
CREATE OR REPLACE FUNCTION levy_metadata_merge(m jsonb, patch jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN patch IS NULL THEN m
		    WHEN patch = '""'::jsonb THEN '{}'::jsonb -- metadata="" clears all
		    ELSE pg_catalog.jsonb_strip_nulls(m || patch) END
$$;

CREATE OR REPLACE FUNCTION levy_metadata_ok(m jsonb) RETURNS boolean
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
	IF jsonb_typeof(m) IS DISTINCT FROM 'object' THEN
		RETURN false;
	END IF;
	RETURN (SELECT count(*) <= 50
		       AND coalesce(bool_and(length(key) BETWEEN 1 AND 40
					     AND jsonb_typeof(value) = 'string'
					     AND length(value #>> '{}') <= 500), true)
		  FROM jsonb_each(m));
END
$$;

CREATE OR REPLACE FUNCTION levy_json_changes(old jsonb, new jsonb) RETURNS jsonb
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN (SELECT coalesce(jsonb_object_agg(o.key, o.value), '{}'::jsonb)
		  FROM jsonb_each(old) o
		 WHERE (new -> o.key) IS DISTINCT FROM o.value);
END
$$;

CREATE OR REPLACE FUNCTION levy_event(p_type text, p_object jsonb, p_previous jsonb)
	RETURNS void
	LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
	INSERT INTO public.events (type, object_id, data, request_id, idempotency_key)
	VALUES (p_type, p_object ->> 'id',
		CASE WHEN p_previous IS NULL THEN jsonb_build_object('object', p_object)
		     ELSE jsonb_build_object('object', p_object, 'previous_attributes', p_previous) END,
		NULLIF(current_setting('app.request_id', true), ''),
		NULLIF(current_setting('app.idempotency_key', true), ''));
END
$$;

CREATE OR REPLACE FUNCTION levy_idem_finish(p_key text, p_hash text, p_status integer,
	p_body text)
	RETURNS void
	LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
	INSERT INTO public.idempotency_keys AS i (key, request_hash, status, body)
	VALUES (p_key, p_hash, p_status, p_body)
	ON CONFLICT (tenant_id, livemode, key) DO UPDATE
	   SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
	       body = EXCLUDED.body, created_at = now();
END
$$;

-- extract() from a timestamptz is STABLE, so this IMMUTABLE function was
-- never inlined: every rendering of a `created` ran it as a function,
-- planned again per statement.  An instant minus the epoch instant is an
-- interval of days and seconds (never months), whose epoch is immutable.
CREATE OR REPLACE FUNCTION levy_epoch(t timestamptz) RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.floor(EXTRACT(epoch FROM t - '1970-01-01 00:00:00+00'::timestamptz))::bigint $$;

-- The PL/pgSQL functions kept a SET search_path for hygiene only (none is
-- SECURITY DEFINER); setting it on every call made PostgreSQL recompute the
-- search path and its plan-cache checks on every row.  Every name they use
-- is in pg_catalog or public, which levy's roles search anyway.
ALTER FUNCTION levy_product_touch() RESET search_path;
ALTER FUNCTION levy_product_event() RESET search_path;
ALTER FUNCTION levy_plan_event() RESET search_path;
ALTER FUNCTION levy_customer_event() RESET search_path;
ALTER FUNCTION levy_payment_method_event() RESET search_path;
ALTER FUNCTION levy_payment_method_detached() RESET search_path;
ALTER FUNCTION levy_subscription_item_json(subscription_items) RESET search_path;
ALTER FUNCTION levy_subscription_json(subscriptions) RESET search_path;
ALTER FUNCTION levy_invoice_json(invoices) RESET search_path;
ALTER FUNCTION levy_object_json(text, text) RESET search_path;
ALTER FUNCTION levy_list_position(text, text) RESET search_path;
ALTER FUNCTION levy_emit(text, text, text, jsonb) RESET search_path;
ALTER FUNCTION levy_invoice_item_event() RESET search_path;

-- The renderings that read other tables (an invoice item's or a line's
-- plan and period, a charge's card and refunds) cannot be inlined, so as
-- SQL functions they were planned again on every statement that rendered
-- one: most of a subscription's creation.  The same bodies in PL/pgSQL.
CREATE OR REPLACE FUNCTION levy_invoice_item_json(i invoice_items) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT CASE WHEN i.deleted THEN jsonb_build_object('id', i.id, 'object', 'invoiceitem', 'deleted', true)
		ELSE jsonb_build_object(
			'id', i.id, 'object', 'invoiceitem', 'amount', i.amount, 'currency', i.currency,
			'customer', i.customer, 'date', levy_epoch(i.created), 'description', i.description,
			'discountable', i.discountable, 'discounts', '[]'::jsonb, 'invoice', i.invoice,
			'livemode', i.livemode, 'metadata', i.metadata,
			'period', jsonb_build_object('end', levy_epoch(i.period_end), 'start', levy_epoch(i.period_start)),
			'plan', (SELECT levy_plan_json(p) FROM public.plans p WHERE p.id = i.plan),
			'price', (SELECT levy_plan_price_json(p) FROM public.plans p WHERE p.id = i.plan),
			'proration', i.proration, 'quantity', i.quantity, 'subscription', i.subscription,
			'subscription_item', i.subscription_item, 'tax_rates', '[]'::jsonb, 'test_clock', NULL,
			'unit_amount', i.unit_amount, 'unit_amount_decimal', i.unit_amount::text) END);
END
$$;
CREATE OR REPLACE FUNCTION levy_invoice_line_json(l invoice_lines) RETURNS jsonb
	LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT jsonb_build_object(
			'id', l.id, 'object', 'line_item', 'amount', l.amount,
			'amount_excluding_tax', l.amount, 'currency', l.currency, 'description', l.description,
			'discount_amounts', '[]'::jsonb, 'discountable', true, 'discounts', '[]'::jsonb,
			'invoice_item', l.invoice_item, 'livemode', l.livemode, 'metadata', l.metadata,
			'period', jsonb_build_object('end', levy_epoch(l.period_end), 'start', levy_epoch(l.period_start)),
			'plan', (SELECT levy_plan_json(p) FROM public.plans p WHERE p.id = l.plan),
			'price', (SELECT levy_plan_price_json(p) FROM public.plans p WHERE p.id = l.plan),
			'proration', l.proration,
			'proration_details', jsonb_build_object('credited_items', NULL),
			'quantity', l.quantity, 'subscription', l.subscription,
			'subscription_item', l.subscription_item, 'tax_amounts', '[]'::jsonb,
			'tax_rates', '[]'::jsonb, 'type', l.type,
			'unit_amount_excluding_tax', CASE WHEN l.quantity > 0 THEN (l.amount / l.quantity)::text END));
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
			'billing_details', coalesce((SELECT levy_payment_method_json(m) -> 'billing_details'
						       FROM public.payment_methods m WHERE m.id = c.payment_method),
						      '{}'::jsonb),
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
			'payment_method_details', (SELECT jsonb_build_object('type', 'card', 'card',
							levy_payment_method_json(m) -> 'card')
						     FROM public.payment_methods m WHERE m.id = c.payment_method),
			'receipt_email', NULL, 'receipt_number', NULL, 'receipt_url', NULL,
			'refunded', c.amount_refunded = c.amount,
			'refunds', jsonb_build_object('object', 'list', 'has_more', false,
				'url', '/v1/charges/' || c.id || '/refunds',
				'data', (SELECT coalesce(jsonb_agg(levy_refund_json(r) ORDER BY r.seq DESC), '[]')
					   FROM public.refunds r WHERE r.charge = c.id)),
			'review', NULL, 'shipping', NULL, 'source_transfer', NULL, 'statement_descriptor', NULL,
			'statement_descriptor_suffix', NULL, 'status', c.status, 'transfer', NULL,
			'transfer_data', NULL, 'transfer_group', NULL));
END
$$;
