-- levy schema, part 6: subscriptions and their items, invoice items,
-- invoices and their lines, payment intents, charges and refunds.
--
-- The same rules as part 5: tenant_id and livemode from the request's
-- context, FORCE row-level security on both, primary keys (tenant_id,
-- livemode, id) and composite foreign keys, one levy_<type>_json() per
-- object.
--
-- Events.  A subscription embeds its items and an invoice its lines, so a
-- row trigger cannot see the object change whole: these objects' events
-- are recorded by levy_emit(), which the C code that changes them calls
-- once the change is complete (src/api/invoicing.c), with the object as it
-- was before (for previous_attributes).  Invoice items keep row triggers.

CREATE TABLE subscriptions (
	id text NOT NULL DEFAULT levy_new_id('sub_') CHECK (id ~ '^sub_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	customer text NOT NULL,
	status text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active',
					       'past_due', 'unpaid', 'canceled')),
	currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
	-- The schedule every item shares (Stripe requires one interval per subscription).
	interval text NOT NULL CHECK (interval IN ('day', 'week', 'month', 'year')),
	interval_count integer NOT NULL CHECK (interval_count BETWEEN 1 AND 1095),
	collection_method text NOT NULL DEFAULT 'charge_automatically'
		CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
	days_until_due integer CHECK (days_until_due BETWEEN 0 AND 730),
	default_payment_method text,
	billing_cycle_anchor timestamptz NOT NULL,
	current_period_start timestamptz NOT NULL,
	current_period_end timestamptz NOT NULL CHECK (current_period_end > current_period_start),
	cancel_at_period_end boolean NOT NULL DEFAULT false,
	cancel_at timestamptz,
	canceled_at timestamptz,
	ended_at timestamptz,
	trial_start timestamptz,
	trial_end timestamptz,
	start_date timestamptz NOT NULL DEFAULT now(),
	latest_invoice text,
	description text CHECK (length(description) <= 500),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT subscriptions_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT subscriptions_customer_fkey FOREIGN KEY (tenant_id, livemode, customer)
		REFERENCES customers (tenant_id, livemode, id),
	CONSTRAINT subscriptions_default_payment_method_fkey
		FOREIGN KEY (tenant_id, livemode, default_payment_method)
		REFERENCES payment_methods (tenant_id, livemode, id)
);
CREATE INDEX subscriptions_list ON subscriptions (tenant_id, livemode, seq DESC);
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, livemode, customer, seq DESC);
-- The renewal job's work list.
CREATE INDEX subscriptions_due ON subscriptions (current_period_end)
	WHERE status IN ('trialing', 'active', 'past_due', 'incomplete');

CREATE TABLE subscription_items (
	id text NOT NULL DEFAULT levy_new_id('si_') CHECK (id ~ '^si_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	subscription text NOT NULL,
	plan text NOT NULL,
	quantity bigint NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 0 AND 1000000),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT subscription_items_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	-- Removed by an update: kept for the invoices and prorations that name it.
	deleted boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT subscription_items_subscription_fkey FOREIGN KEY (tenant_id, livemode, subscription)
		REFERENCES subscriptions (tenant_id, livemode, id),
	CONSTRAINT subscription_items_plan_fkey FOREIGN KEY (tenant_id, livemode, plan)
		REFERENCES plans (tenant_id, livemode, id)
);
CREATE INDEX subscription_items_subscription ON subscription_items (tenant_id, livemode, subscription, seq);

-- Invoice numbers: PREFIX-0001, per tenant and mode, with no gaps: the
-- counter's row is updated in the transaction that finalizes, so a
-- rolled-back finalization returns its number and concurrent ones queue.
CREATE TABLE invoice_counters (
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	prefix text NOT NULL CHECK (prefix ~ '^[A-Z0-9]{3,12}$'),
	next_number bigint NOT NULL DEFAULT 1 CHECK (next_number >= 1),
	PRIMARY KEY (tenant_id, livemode)
);

CREATE TABLE invoices (
	id text NOT NULL DEFAULT levy_new_id('in_') CHECK (id ~ '^in_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	customer text NOT NULL,
	subscription text,
	status text NOT NULL DEFAULT 'draft'
		CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
	billing_reason text NOT NULL CHECK (billing_reason IN ('subscription_create',
		'subscription_cycle', 'subscription_update', 'subscription', 'manual', 'upcoming')),
	collection_method text NOT NULL DEFAULT 'charge_automatically'
		CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
	currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
	number text CHECK (length(number) <= 64),
	subtotal bigint NOT NULL DEFAULT 0,
	total bigint NOT NULL DEFAULT 0,
	starting_balance bigint NOT NULL DEFAULT 0,
	ending_balance bigint,
	amount_due bigint NOT NULL DEFAULT 0 CHECK (amount_due >= 0),
	amount_paid bigint NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
	attempt_count integer NOT NULL DEFAULT 0,
	next_payment_attempt timestamptz,
	due_date timestamptz,
	period_start timestamptz NOT NULL,
	period_end timestamptz NOT NULL,
	payment_intent text,
	default_payment_method text,
	auto_advance boolean NOT NULL DEFAULT true,
	description text CHECK (length(description) <= 1500),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT invoices_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	finalized_at timestamptz,
	paid_at timestamptz,
	voided_at timestamptz,
	marked_uncollectible_at timestamptz,
	-- A deleted draft (DELETE /v1/invoices/:id): gone from the API, kept for its events.
	deleted boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT invoices_number_key UNIQUE (tenant_id, livemode, number),
	CONSTRAINT invoices_paid_check CHECK (amount_paid <= amount_due),
	CONSTRAINT invoices_customer_fkey FOREIGN KEY (tenant_id, livemode, customer)
		REFERENCES customers (tenant_id, livemode, id),
	CONSTRAINT invoices_subscription_fkey FOREIGN KEY (tenant_id, livemode, subscription)
		REFERENCES subscriptions (tenant_id, livemode, id)
);
CREATE INDEX invoices_list ON invoices (tenant_id, livemode, seq DESC);
CREATE INDEX invoices_customer ON invoices (tenant_id, livemode, customer, seq DESC);
CREATE INDEX invoices_subscription ON invoices (tenant_id, livemode, subscription, seq DESC);

ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_latest_invoice_fkey
	FOREIGN KEY (tenant_id, livemode, latest_invoice) REFERENCES invoices (tenant_id, livemode, id);

-- Pending until an invoice takes them (invoice set), as Stripe's invoice items.
CREATE TABLE invoice_items (
	id text NOT NULL DEFAULT levy_new_id('ii_') CHECK (id ~ '^ii_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	customer text NOT NULL,
	invoice text,
	subscription text,
	subscription_item text,
	plan text,
	currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
	unit_amount bigint CHECK (unit_amount BETWEEN -99999999 AND 99999999),
	quantity bigint NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 0 AND 1000000),
	amount bigint NOT NULL CHECK (amount BETWEEN -99999999999 AND 99999999999),
	description text CHECK (length(description) <= 500),
	period_start timestamptz NOT NULL DEFAULT now(),
	period_end timestamptz NOT NULL DEFAULT now(),
	proration boolean NOT NULL DEFAULT false,
	discountable boolean NOT NULL DEFAULT true,
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT invoice_items_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	deleted boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT invoice_items_customer_fkey FOREIGN KEY (tenant_id, livemode, customer)
		REFERENCES customers (tenant_id, livemode, id),
	CONSTRAINT invoice_items_invoice_fkey FOREIGN KEY (tenant_id, livemode, invoice)
		REFERENCES invoices (tenant_id, livemode, id),
	CONSTRAINT invoice_items_subscription_fkey FOREIGN KEY (tenant_id, livemode, subscription)
		REFERENCES subscriptions (tenant_id, livemode, id),
	CONSTRAINT invoice_items_plan_fkey FOREIGN KEY (tenant_id, livemode, plan)
		REFERENCES plans (tenant_id, livemode, id)
);
CREATE INDEX invoice_items_list ON invoice_items (tenant_id, livemode, seq DESC);
CREATE INDEX invoice_items_pending ON invoice_items (tenant_id, livemode, customer, seq)
	WHERE invoice IS NULL AND NOT deleted;

CREATE TABLE invoice_lines (
	id text NOT NULL DEFAULT levy_new_id('il_') CHECK (id ~ '^il_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	invoice text NOT NULL,
	type text NOT NULL CHECK (type IN ('subscription', 'invoiceitem')),
	amount bigint NOT NULL,
	currency text NOT NULL,
	description text,
	period_start timestamptz NOT NULL,
	period_end timestamptz NOT NULL,
	plan text,
	quantity bigint,
	proration boolean NOT NULL DEFAULT false,
	subscription text,
	subscription_item text,
	invoice_item text,
	metadata jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT invoice_lines_invoice_fkey FOREIGN KEY (tenant_id, livemode, invoice)
		REFERENCES invoices (tenant_id, livemode, id)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (tenant_id, livemode, invoice, seq);

CREATE TABLE payment_intents (
	id text NOT NULL DEFAULT levy_new_id('pi_') CHECK (id ~ '^pi_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	amount bigint NOT NULL CHECK (amount BETWEEN 1 AND 99999999999),
	currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
	customer text,
	invoice text,
	payment_method text,
	status text NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation',
		'requires_action', 'processing', 'requires_capture', 'canceled', 'succeeded')),
	amount_received bigint NOT NULL DEFAULT 0,
	application_fee_amount bigint,
	description text CHECK (length(description) <= 1000),
	receipt_email text CHECK (length(receipt_email) <= 512),
	last_payment_error jsonb,
	latest_charge text,
	canceled_at timestamptz,
	cancellation_reason text,
	off_session boolean NOT NULL DEFAULT false,
	-- The PaymentIntent on the tenant's connected Stripe account.
	processor_id text CHECK (length(processor_id) <= 255),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT payment_intents_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT payment_intents_customer_fkey FOREIGN KEY (tenant_id, livemode, customer)
		REFERENCES customers (tenant_id, livemode, id),
	CONSTRAINT payment_intents_invoice_fkey FOREIGN KEY (tenant_id, livemode, invoice)
		REFERENCES invoices (tenant_id, livemode, id),
	CONSTRAINT payment_intents_payment_method_fkey FOREIGN KEY (tenant_id, livemode, payment_method)
		REFERENCES payment_methods (tenant_id, livemode, id)
);
CREATE INDEX payment_intents_list ON payment_intents (tenant_id, livemode, seq DESC);
CREATE INDEX payment_intents_customer ON payment_intents (tenant_id, livemode, customer, seq DESC);

ALTER TABLE invoices ADD CONSTRAINT invoices_payment_intent_fkey
	FOREIGN KEY (tenant_id, livemode, payment_intent) REFERENCES payment_intents (tenant_id, livemode, id);

-- One per payment attempt, failed ones included, as Stripe's charges.
CREATE TABLE charges (
	id text NOT NULL DEFAULT levy_new_id('ch_') CHECK (id ~ '^ch_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	payment_intent text NOT NULL,
	customer text,
	invoice text,
	payment_method text,
	amount bigint NOT NULL CHECK (amount >= 1),
	amount_refunded bigint NOT NULL DEFAULT 0,
	-- The platform's fee (levy's platform_fee_percentage of amount) and what refunds returned of it.
	application_fee_amount bigint,
	application_fee_refunded bigint NOT NULL DEFAULT 0,
	currency text NOT NULL,
	status text NOT NULL CHECK (status IN ('succeeded', 'failed', 'pending')),
	failure_code text,
	failure_message text,
	decline_code text,
	processor_id text CHECK (length(processor_id) <= 255),
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT charges_refund_check CHECK (amount_refunded BETWEEN 0 AND amount),
	CONSTRAINT charges_fee_check CHECK (application_fee_refunded BETWEEN 0 AND coalesce(application_fee_amount, 0)),
	CONSTRAINT charges_payment_intent_fkey FOREIGN KEY (tenant_id, livemode, payment_intent)
		REFERENCES payment_intents (tenant_id, livemode, id)
);
CREATE INDEX charges_payment_intent ON charges (tenant_id, livemode, payment_intent, seq DESC);
CREATE INDEX charges_list ON charges (tenant_id, livemode, seq DESC);
CREATE INDEX charges_customer ON charges (tenant_id, livemode, customer, seq DESC);
-- An invoice shows its latest charge and fee.
CREATE INDEX charges_invoice ON charges (tenant_id, livemode, invoice, seq DESC);

CREATE TABLE refunds (
	id text NOT NULL DEFAULT levy_new_id('re_') CHECK (id ~ '^re_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	charge text NOT NULL,
	payment_intent text NOT NULL,
	amount bigint NOT NULL CHECK (amount >= 1),
	-- The part of the charge's platform fee this refund returned.
	application_fee_refunded bigint NOT NULL DEFAULT 0,
	currency text NOT NULL,
	reason text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
	status text NOT NULL DEFAULT 'succeeded' CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
	processor_id text CHECK (length(processor_id) <= 255),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT refunds_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT refunds_charge_fkey FOREIGN KEY (tenant_id, livemode, charge)
		REFERENCES charges (tenant_id, livemode, id)
);
CREATE INDEX refunds_list ON refunds (tenant_id, livemode, seq DESC);
CREATE INDEX refunds_charge ON refunds (tenant_id, livemode, charge, seq DESC);

-- The API shapes.
CREATE FUNCTION levy_plan_price_json(p plans) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	-- A plan seen as Stripe's Price (items[][price] names a plan).
	SELECT jsonb_build_object(
		'id', p.id, 'object', 'price', 'active', p.active, 'billing_scheme', 'per_unit',
		'created', levy_epoch(p.created), 'currency', p.currency, 'livemode', p.livemode,
		'lookup_key', NULL, 'metadata', p.metadata, 'nickname', p.nickname, 'product', p.product,
		'recurring', jsonb_build_object('aggregate_usage', NULL, 'interval', p.interval,
			'interval_count', p.interval_count, 'trial_period_days', p.trial_period_days,
			'usage_type', 'licensed'),
		'tax_behavior', 'unspecified', 'tiers_mode', NULL, 'transform_quantity', NULL,
		'type', 'recurring', 'unit_amount', p.amount, 'unit_amount_decimal', p.amount::text)
$$;

CREATE FUNCTION levy_subscription_item_json(i subscription_items) RETURNS jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, public
AS $$
BEGIN
	RETURN (
		SELECT jsonb_build_object(
			'id', i.id, 'object', 'subscription_item', 'billing_thresholds', NULL,
			'created', levy_epoch(i.created), 'metadata', i.metadata,
			'plan', levy_plan_json(p), 'price', levy_plan_price_json(p), 'quantity', i.quantity,
			'subscription', i.subscription, 'tax_rates', '[]'::jsonb)
		  FROM public.plans p WHERE p.id = i.plan
	);
END
$$;

CREATE FUNCTION levy_subscription_json(s subscriptions) RETURNS jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, public
AS $$
BEGIN
	RETURN (
		WITH items AS (
			SELECT coalesce(jsonb_agg(levy_subscription_item_json(i) ORDER BY i.seq), '[]') AS data,
			       count(*) AS n, min(i.plan) AS plan, min(i.quantity) AS quantity
			  FROM public.subscription_items i
			 WHERE i.subscription = s.id AND NOT i.deleted)
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
			'plan', CASE WHEN items.n = 1 THEN (SELECT levy_plan_json(p) FROM public.plans p
							       WHERE p.id = items.plan) END,
			'quantity', CASE WHEN items.n = 1 THEN items.quantity END,
			'schedule', NULL, 'start_date', levy_epoch(s.start_date), 'status', s.status,
			'test_clock', NULL, 'transfer_data', NULL, 'trial_end', levy_epoch(s.trial_end),
			'trial_settings', jsonb_build_object('end_behavior',
				jsonb_build_object('missing_payment_method', 'create_invoice')),
			'trial_start', levy_epoch(s.trial_start))
		  FROM items
	);
END
$$;

CREATE FUNCTION levy_invoice_item_json(i invoice_items) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT CASE WHEN i.deleted THEN jsonb_build_object('id', i.id, 'object', 'invoiceitem', 'deleted', true)
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
		'unit_amount', i.unit_amount, 'unit_amount_decimal', i.unit_amount::text) END
$$;

CREATE FUNCTION levy_invoice_line_json(l invoice_lines) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
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
		'unit_amount_excluding_tax', CASE WHEN l.quantity > 0 THEN (l.amount / l.quantity)::text END)
$$;

CREATE FUNCTION levy_invoice_json(i invoices) RETURNS jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, public
AS $$
BEGIN
	RETURN (
		WITH lines AS (
			SELECT coalesce(jsonb_agg(levy_invoice_line_json(l) ORDER BY l.seq), '[]') AS data,
			       count(*) AS n
			  FROM public.invoice_lines l WHERE l.invoice = i.id)
		SELECT jsonb_build_object(
			'id', i.id, 'object', 'invoice', 'account_country', NULL, 'account_name', t.company_name,
			'account_tax_ids', NULL, 'amount_due', i.amount_due, 'amount_paid', i.amount_paid,
			'amount_remaining', CASE WHEN i.status IN ('void') THEN 0 ELSE i.amount_due - i.amount_paid END,
			'amount_shipping', 0, 'application', NULL,
			'application_fee_amount', (SELECT c.application_fee_amount FROM public.charges c
						    WHERE c.invoice = i.id AND c.status = 'succeeded'
						    ORDER BY c.seq DESC LIMIT 1),
			'attempt_count', i.attempt_count, 'attempted', i.attempt_count > 0,
			'auto_advance', i.auto_advance,
			'automatic_tax', jsonb_build_object('enabled', false, 'status', NULL),
			'billing_reason', i.billing_reason,
			'charge', (SELECT c.id FROM public.charges c WHERE c.invoice = i.id
				   ORDER BY c.seq DESC LIMIT 1),
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
		  FROM lines, public.customers c, public.tenants t
		 WHERE c.id = i.customer AND t.id = i.tenant_id
	);
END
$$;

CREATE FUNCTION levy_payment_intent_json(p payment_intents) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
		'id', p.id, 'object', 'payment_intent', 'amount', p.amount, 'amount_capturable', 0,
		'amount_details', jsonb_build_object('tip', '{}'::jsonb),
		'amount_received', p.amount_received, 'application', NULL,
		'application_fee_amount', p.application_fee_amount, 'automatic_payment_methods', NULL,
		'canceled_at', levy_epoch(p.canceled_at), 'cancellation_reason', p.cancellation_reason,
		'capture_method', 'automatic',
		-- A client secret lets a browser confirm with a publishable key, which levy does not offer.
		'client_secret', NULL,
		'confirmation_method', 'automatic', 'created', levy_epoch(p.created),
		'currency', p.currency, 'customer', p.customer, 'description', p.description,
		'invoice', p.invoice, 'last_payment_error', p.last_payment_error,
		'latest_charge', p.latest_charge, 'livemode', p.livemode, 'metadata', p.metadata,
		'next_action', NULL, 'on_behalf_of', NULL, 'payment_method', p.payment_method,
		'payment_method_options', jsonb_build_object('card', jsonb_build_object(
			'installments', NULL, 'mandate_options', NULL, 'network', NULL,
			'request_three_d_secure', 'automatic')),
		'payment_method_types', jsonb_build_array('card'), 'processing', NULL,
		'receipt_email', p.receipt_email, 'review', NULL, 'setup_future_usage', NULL,
		'shipping', NULL, 'statement_descriptor', NULL, 'statement_descriptor_suffix', NULL,
		'status', p.status, 'transfer_data', NULL, 'transfer_group', NULL)
$$;

CREATE FUNCTION levy_refund_json(r refunds) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
		'id', r.id, 'object', 'refund', 'amount', r.amount,
		'application_fee_refunded', r.application_fee_refunded,
		'balance_transaction', NULL, 'charge', r.charge, 'created', levy_epoch(r.created),
		'currency', r.currency, 'description', NULL, 'metadata', r.metadata,
		'payment_intent', r.payment_intent, 'reason', r.reason, 'receipt_number', NULL,
		'source_transfer_reversal', NULL, 'status', r.status, 'transfer_reversal', NULL)
$$;

CREATE FUNCTION levy_charge_json(c charges) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
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
		'transfer_data', NULL, 'transfer_group', NULL)
$$;

-- A billing object by its type and id, for expand[] and answers: row-level
-- security decides what exists.  A migration that adds a type replaces it.
CREATE FUNCTION levy_object_json(p_type text, p_id text) RETURNS jsonb
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, public
AS $$
DECLARE
	j jsonb;
BEGIN
	CASE p_type
	WHEN 'customer' THEN SELECT levy_customer_json(c) INTO j FROM public.customers c WHERE c.id = p_id;
	WHEN 'product' THEN SELECT levy_product_json(p) INTO j FROM public.products p WHERE p.id = p_id;
	WHEN 'plan' THEN SELECT levy_plan_json(p) INTO j FROM public.plans p WHERE p.id = p_id;
	WHEN 'payment_method' THEN
		SELECT levy_payment_method_json(m) INTO j FROM public.payment_methods m WHERE m.id = p_id;
	WHEN 'event' THEN SELECT levy_event_json(e) INTO j FROM public.events e WHERE e.id = p_id;
	WHEN 'subscription' THEN
		SELECT levy_subscription_json(s) INTO j FROM public.subscriptions s WHERE s.id = p_id;
	WHEN 'invoice' THEN SELECT levy_invoice_json(i) INTO j FROM public.invoices i WHERE i.id = p_id;
	WHEN 'invoiceitem' THEN
		SELECT levy_invoice_item_json(i) INTO j FROM public.invoice_items i WHERE i.id = p_id;
	WHEN 'payment_intent' THEN
		SELECT levy_payment_intent_json(p) INTO j FROM public.payment_intents p WHERE p.id = p_id;
	WHEN 'charge' THEN SELECT levy_charge_json(c) INTO j FROM public.charges c WHERE c.id = p_id;
	WHEN 'refund' THEN SELECT levy_refund_json(r) INTO j FROM public.refunds r WHERE r.id = p_id;
	ELSE j := NULL;
	END CASE;
	RETURN j;
END
$$;

-- The list position of an object (a starting_after / ending_before cursor).
CREATE FUNCTION levy_list_position(p_type text, p_id text) RETURNS bigint
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, public
AS $$
DECLARE
	n bigint;
BEGIN
	CASE p_type
	WHEN 'customer' THEN SELECT c.seq INTO n FROM public.customers c WHERE c.id = p_id AND NOT c.deleted;
	WHEN 'product' THEN SELECT p.seq INTO n FROM public.products p WHERE p.id = p_id AND NOT p.deleted;
	WHEN 'plan' THEN SELECT p.seq INTO n FROM public.plans p WHERE p.id = p_id AND NOT p.deleted;
	WHEN 'payment_method' THEN SELECT m.seq INTO n FROM public.payment_methods m WHERE m.id = p_id;
	WHEN 'event' THEN SELECT e.seq INTO n FROM public.events e WHERE e.id = p_id;
	WHEN 'subscription' THEN SELECT s.seq INTO n FROM public.subscriptions s WHERE s.id = p_id;
	WHEN 'invoice' THEN SELECT i.seq INTO n FROM public.invoices i WHERE i.id = p_id AND NOT i.deleted;
	WHEN 'invoiceitem' THEN
		SELECT i.seq INTO n FROM public.invoice_items i WHERE i.id = p_id AND NOT i.deleted;
	WHEN 'payment_intent' THEN SELECT p.seq INTO n FROM public.payment_intents p WHERE p.id = p_id;
	WHEN 'charge' THEN SELECT c.seq INTO n FROM public.charges c WHERE c.id = p_id;
	WHEN 'refund' THEN SELECT r.seq INTO n FROM public.refunds r WHERE r.id = p_id;
	ELSE n := NULL;
	END CASE;
	RETURN n;
END
$$;

-- Records the event of a change that levy_<type>_json() shows whole only
-- once complete (see the head of this file): p_prev is the object before
-- the change (NULL for a creation).  An "updated" event that changed
-- nothing is not recorded.  Returns the object now, which is what the API
-- answers.
CREATE FUNCTION levy_emit(p_event text, p_type text, p_id text, p_prev jsonb) RETURNS jsonb
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, public
AS $$
DECLARE
	now_json jsonb := levy_object_json(p_type, p_id);
	changes jsonb;
BEGIN
	IF now_json IS NULL THEN
		RAISE EXCEPTION 'levy_emit: no % %', p_type, p_id;
	END IF;
	IF p_prev IS NULL THEN
		PERFORM levy_event(p_event, now_json, NULL);
		RETURN now_json;
	END IF;
	changes := levy_json_changes(p_prev, now_json);
	IF changes <> '{}'::jsonb OR p_event NOT LIKE '%.updated' THEN
		PERFORM levy_event(p_event, now_json, CASE WHEN p_event LIKE '%.updated' THEN changes END);
	END IF;
	RETURN now_json;
END
$$;

CREATE FUNCTION levy_invoice_item_event() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $$
DECLARE
	o jsonb;
	n jsonb;
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM levy_event('invoiceitem.created', levy_invoice_item_json(NEW), NULL);
	ELSIF NEW.deleted AND NOT OLD.deleted THEN
		PERFORM levy_event('invoiceitem.deleted', levy_invoice_item_json(OLD), NULL);
	ELSE
		o := levy_invoice_item_json(OLD);
		n := levy_invoice_item_json(NEW);
		IF o <> n THEN
			PERFORM levy_event('invoiceitem.updated', n, levy_json_changes(o, n));
		END IF;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER invoice_items_event AFTER INSERT OR UPDATE ON invoice_items
	FOR EACH ROW EXECUTE FUNCTION levy_invoice_item_event();

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['subscriptions', 'subscription_items', 'invoice_counters', 'invoices',
				 'invoice_items', 'invoice_lines', 'payment_intents', 'charges',
				 'refunds'] LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format($p$CREATE POLICY %I ON %I TO levy_app
			USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
			       AND livemode = NULLIF(current_setting('app.livemode', true), '')::boolean)
			WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
				    AND livemode = NULLIF(current_setting('app.livemode', true), '')::boolean)$p$,
			t || '_app', t);
		EXECUTE format('CREATE POLICY %I ON %I TO levy_owner USING (true) WITH CHECK (true)',
			       t || '_owner', t);
	END LOOP;
END
$$;

-- Money moves only forward: no DELETE, and the columns an update may touch.
GRANT SELECT, INSERT ON subscriptions, subscription_items, invoice_counters, invoices,
	invoice_items, invoice_lines, payment_intents, charges, refunds TO levy_app;
GRANT UPDATE (status, collection_method, days_until_due, default_payment_method,
	      billing_cycle_anchor, current_period_start, current_period_end, cancel_at_period_end,
	      cancel_at, canceled_at, ended_at, trial_start, trial_end, latest_invoice, description,
	      metadata) ON subscriptions TO levy_app;
GRANT UPDATE (plan, quantity, metadata, deleted) ON subscription_items TO levy_app;
GRANT UPDATE (next_number) ON invoice_counters TO levy_app;
GRANT UPDATE (status, number, subtotal, total, starting_balance, ending_balance, amount_due,
	      amount_paid, attempt_count, next_payment_attempt, due_date, payment_intent,
	      default_payment_method, auto_advance, description, metadata, finalized_at, paid_at,
	      voided_at, marked_uncollectible_at, deleted) ON invoices TO levy_app;
GRANT UPDATE (invoice, unit_amount, quantity, amount, description, period_start, period_end,
	      discountable, metadata, deleted) ON invoice_items TO levy_app;
GRANT UPDATE (payment_method, status, amount_received, application_fee_amount, description,
	      receipt_email, last_payment_error, latest_charge, canceled_at, cancellation_reason,
	      processor_id, metadata, customer, amount, currency, off_session) ON payment_intents TO levy_app;
GRANT UPDATE (amount_refunded, application_fee_refunded, status, processor_id) ON charges TO levy_app;
GRANT UPDATE (status, processor_id, metadata) ON refunds TO levy_app;
GRANT EXECUTE ON FUNCTION levy_plan_price_json(plans), levy_subscription_item_json(subscription_items),
	levy_subscription_json(subscriptions), levy_invoice_item_json(invoice_items),
	levy_invoice_line_json(invoice_lines), levy_invoice_json(invoices),
	levy_payment_intent_json(payment_intents), levy_refund_json(refunds),
	levy_charge_json(charges), levy_emit(text, text, text, jsonb),
	levy_object_json(text, text), levy_list_position(text, text) TO levy_app;
