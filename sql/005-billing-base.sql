-- levy schema, part 5: what every billing object shares (ids, order,
-- metadata, events, idempotency), then the catalog (products, plans),
-- customers and payment methods.
--
-- Every billing table has tenant_id and livemode, both defaulting to the
-- request's context, and one policy on both: a request sees its own tenant
-- in its own mode and nothing else, with or without a WHERE clause.
-- References between billing objects are composite foreign keys on
-- (tenant_id, livemode, id), because a foreign key check does not go
-- through row-level security: without them a row could point at another
-- tenant's object.
--
-- Objects are rendered to their API shape here, by one levy_<object>_json()
-- per table, so that the API's answers and the events' data.object are the
-- same JSON by construction.  These functions run as the caller
-- (levy_app), read only what row-level security shows it, and carry no SET
-- clause: a SET clause keeps PostgreSQL from inlining a SQL function into
-- the query that calls it, and planning it again on every call made a list
-- cost milliseconds.  Those that need a FROM are PL/pgSQL, whose plans live
-- for the session.  (The SECURITY DEFINER functions keep their fixed
-- search_path.)  The events themselves are written by triggers,
-- in the transaction of the change: no code path can change an object and
-- forget its event.

-- Object ids: a prefix and 24 base62 characters from gen_random_uuid()
-- (PostgreSQL's own CSPRNG).  A byte modulo 62 is slightly biased; ids are
-- names, not secrets, and 24 characters leave well over 128 bits.
CREATE FUNCTION levy_new_id(prefix text) RETURNS text
	LANGUAGE plpgsql VOLATILE PARALLEL SAFE
	SET search_path = pg_catalog
AS $$
BEGIN
	RETURN (
		SELECT prefix || string_agg(substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
						    get_byte(b, i) % 62 + 1, 1), '' ORDER BY i)
		  FROM (SELECT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) AS b) r,
		       generate_series(0, 31) i
		 WHERE i NOT IN (6, 8, 22, 24, 7, 23, 14, 30) -- the uuid's version and variant bytes
	);
END
$$;

-- The list order of every object: newest first, and within one second the
-- later-created first.  One sequence for all, so that ordering never
-- depends on the clock.
CREATE SEQUENCE levy_object_seq;

CREATE FUNCTION levy_epoch(t timestamptz) RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT floor(extract(epoch FROM t))::bigint $$;

-- API.md's metadata rule: at most 50 keys, keys 1..40 characters, values
-- strings of at most 500.  The API checks each key as it arrives; this
-- check holds after a merge too.
CREATE FUNCTION levy_metadata_ok(m jsonb) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT jsonb_typeof(m) = 'object'
	   AND (SELECT count(*) <= 50
		       AND coalesce(bool_and(length(key) BETWEEN 1 AND 40
					     AND jsonb_typeof(value) = 'string'
					     AND length(value #>> '{}') <= 500), true)
		  FROM jsonb_each(m))
$$;

-- A metadata update: keys set to "" (sent as JSON null by the API) are
-- deleted, the rest replace or add; metadata="" itself (the JSON string "")
-- deletes every key.
CREATE FUNCTION levy_metadata_merge(m jsonb, patch jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN patch IS NULL THEN m
		    WHEN patch = '""'::jsonb THEN '{}'::jsonb -- metadata="" clears all
		    ELSE coalesce((SELECT jsonb_object_agg(key, value)
				     FROM jsonb_each(m || patch) WHERE value <> 'null'::jsonb),
				  '{}'::jsonb) END
$$;

-- The top-level keys whose values changed, with their old values: an
-- update event's data.previous_attributes.
CREATE FUNCTION levy_json_changes(old jsonb, new jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT coalesce(jsonb_object_agg(o.key, o.value), '{}'::jsonb)
	  FROM jsonb_each(old) o
	 WHERE (new -> o.key) IS DISTINCT FROM o.value
$$;

CREATE TABLE events (
	id text PRIMARY KEY DEFAULT levy_new_id('evt_') CHECK (id ~ '^evt_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	type text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
	object_id text NOT NULL,
	data jsonb NOT NULL,
	request_id text CHECK (length(request_id) <= 64),
	idempotency_key text CHECK (length(idempotency_key) <= 255),
	created timestamptz NOT NULL DEFAULT now(),
	-- Webhook delivery (a later migration) counts down what is still owed.
	pending_webhooks integer NOT NULL DEFAULT 0
);
CREATE INDEX events_list ON events (tenant_id, livemode, seq DESC);
CREATE INDEX events_type_list ON events (tenant_id, livemode, type, seq DESC);

-- Records one event of the current request.  The request's id and
-- Idempotency-Key reach it through transaction-local settings.
CREATE FUNCTION levy_event(p_type text, p_object jsonb, p_previous jsonb) RETURNS void
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, public
AS $$
	INSERT INTO public.events (type, object_id, data, request_id, idempotency_key)
	VALUES (p_type, p_object ->> 'id',
		CASE WHEN p_previous IS NULL THEN jsonb_build_object('object', p_object)
		     ELSE jsonb_build_object('object', p_object, 'previous_attributes', p_previous) END,
		NULLIF(current_setting('app.request_id', true), ''),
		NULLIF(current_setting('app.idempotency_key', true), ''))
$$;

CREATE FUNCTION levy_event_json(e events) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
		'id', e.id, 'object', 'event', 'api_version', '2023-08-16',
		'created', levy_epoch(e.created), 'data', e.data, 'livemode', e.livemode,
		'pending_webhooks', e.pending_webhooks,
		'request', jsonb_build_object('id', e.request_id, 'idempotency_key', e.idempotency_key),
		'type', e.type)
$$;

-- Idempotency (API.md): for 24 hours per tenant, mode and key, the first
-- answer is replayed to a repeat with the same request, a repeat with
-- another request is refused, and a repeat while the first still runs gets
-- 409.  "Still running" is "holds the key's advisory lock": the lock lives
-- exactly as long as the first request's transaction.
CREATE TABLE idempotency_keys (
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
	request_hash text NOT NULL CHECK (length(request_hash) = 64),
	status integer NOT NULL CHECK (status BETWEEN 200 AND 599),
	body text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, key)
);

-- state: 'new' (go ahead; the lock is held), 'replay' (status and body of
-- the first answer), 'mismatch' (other parameters), 'in_use'.
CREATE FUNCTION levy_idem_begin(p_key text, p_hash text,
	OUT state text, OUT status integer, OUT body text)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, public
AS $$
DECLARE
	k record;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtextextended(
		concat_ws('/', current_setting('app.tenant_id', true),
			  current_setting('app.livemode', true), p_key), 7)) THEN
		state := 'in_use';
		RETURN;
	END IF;
	-- The events of this request name its key (event.request; the
	-- request's id comes with the tenant context).
	PERFORM set_config('app.idempotency_key', p_key, true);
	SELECT i.request_hash, i.status, i.body INTO k
	  FROM public.idempotency_keys i
	 WHERE i.key = p_key AND i.created_at > now() - interval '24 hours';
	IF NOT FOUND THEN
		state := 'new';
	ELSIF k.request_hash = p_hash THEN
		state := 'replay';
		status := k.status;
		body := k.body;
	ELSE
		state := 'mismatch';
	END IF;
END
$$;

CREATE FUNCTION levy_idem_finish(p_key text, p_hash text, p_status integer, p_body text)
	RETURNS void
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, public
AS $$
	INSERT INTO public.idempotency_keys AS i (key, request_hash, status, body)
	VALUES (p_key, p_hash, p_status, p_body)
	ON CONFLICT (tenant_id, livemode, key) DO UPDATE
	   SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
	       body = EXCLUDED.body, created_at = now()
$$;

-- The catalog.  Products and plans are soft-deleted, so that the invoices
-- and subscriptions that name them keep their references.  Their ids may
-- be chosen by the tenant, as in Stripe, so the same id can exist in two
-- tenants or modes: every billing table's primary key is (tenant_id,
-- livemode, id), which is also what composite foreign keys point at.
CREATE TABLE products (
	id text NOT NULL DEFAULT levy_new_id('prod_') CHECK (id ~ '^[0-9A-Za-z_-]{1,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 250),
	description text CHECK (length(description) <= 5000),
	active boolean NOT NULL DEFAULT true,
	statement_descriptor text CHECK (length(statement_descriptor) <= 22),
	unit_label text CHECK (length(unit_label) <= 12),
	url text CHECK (length(url) <= 2048),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT products_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	deleted boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	updated timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id)
);
CREATE INDEX products_list ON products (tenant_id, livemode, seq DESC);

-- A product's `updated` is the time of its last real change: an update
-- that changes nothing moves neither it nor (so) the product.updated event.
CREATE FUNCTION levy_product_touch() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $$
BEGIN
	IF ROW(NEW.name, NEW.description, NEW.active, NEW.statement_descriptor, NEW.unit_label,
	       NEW.url, NEW.metadata)
	   IS DISTINCT FROM ROW(OLD.name, OLD.description, OLD.active, OLD.statement_descriptor,
				OLD.unit_label, OLD.url, OLD.metadata) THEN
		NEW.updated := now();
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER products_touch BEFORE UPDATE ON products
	FOR EACH ROW EXECUTE FUNCTION levy_product_touch();

CREATE TABLE plans (
	id text NOT NULL DEFAULT levy_new_id('plan_') CHECK (id ~ '^[0-9A-Za-z_-]{1,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	product text NOT NULL,
	-- The price: fixed once created, as in Stripe.
	amount bigint NOT NULL CHECK (amount BETWEEN 0 AND 99999999),
	currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
	interval text NOT NULL CHECK (interval IN ('day', 'week', 'month', 'year')),
	interval_count integer NOT NULL DEFAULT 1 CHECK (interval_count BETWEEN 1 AND 1095),
	trial_period_days integer CHECK (trial_period_days BETWEEN 0 AND 730),
	nickname text CHECK (length(nickname) <= 250),
	active boolean NOT NULL DEFAULT true,
	-- levy's addition: [{"key", "name", "value"}], what a subscriber is entitled to.
	features jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(features) = 'array'
						     AND jsonb_array_length(features) <= 100),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT plans_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	deleted boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT plans_product_fkey FOREIGN KEY (tenant_id, livemode, product)
		REFERENCES products (tenant_id, livemode, id)
);
CREATE INDEX plans_list ON plans (tenant_id, livemode, seq DESC);
CREATE INDEX plans_product ON plans (tenant_id, livemode, product);

CREATE TABLE customers (
	id text NOT NULL DEFAULT levy_new_id('cus_') CHECK (id ~ '^cus_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	email text CHECK (length(email) <= 512),
	name text CHECK (length(name) <= 256),
	description text CHECK (length(description) <= 350),
	phone text CHECK (length(phone) <= 20),
	-- Stripe's sign: negative is credit the customer holds, positive is owed.
	balance bigint NOT NULL DEFAULT 0 CHECK (balance BETWEEN -99999999999 AND 99999999999),
	currency text CHECK (currency ~ '^[a-z]{3}$'),
	default_payment_method text,
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT customers_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	-- The customer on the tenant's connected Stripe account, once mirrored.
	processor_id text CHECK (length(processor_id) <= 255),
	deleted boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id)
);
CREATE INDEX customers_list ON customers (tenant_id, livemode, seq DESC);
CREATE INDEX customers_email ON customers (tenant_id, livemode, email, seq DESC);

-- Cards only.  No card number is ever stored: the test processor keeps the
-- outcome of Stripe's test card it was made from, a live card lives on
-- Stripe (processor_id).
CREATE TABLE payment_methods (
	id text NOT NULL DEFAULT levy_new_id('pm_') CHECK (id ~ '^pm_[0-9A-Za-z]{14,64}$'),
	tenant_id bigint NOT NULL DEFAULT NULLIF(current_setting('app.tenant_id', true), '')::bigint
		REFERENCES tenants (id) ON DELETE CASCADE,
	livemode boolean NOT NULL DEFAULT NULLIF(current_setting('app.livemode', true), '')::boolean,
	seq bigint NOT NULL DEFAULT nextval('levy_object_seq'),
	type text NOT NULL DEFAULT 'card' CHECK (type = 'card'),
	customer text,
	brand text NOT NULL CHECK (length(brand) <= 32),
	last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
	exp_month integer NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
	exp_year integer NOT NULL CHECK (exp_year BETWEEN 2000 AND 9999),
	funding text NOT NULL DEFAULT 'credit' CHECK (funding IN ('credit', 'debit', 'prepaid', 'unknown')),
	country text CHECK (country ~ '^[A-Z]{2}$'),
	fingerprint text NOT NULL CHECK (length(fingerprint) <= 64),
	billing_details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(billing_details) = 'object'),
	-- The test processor's verdict on charges: NULL succeeds, else Stripe's decline_code.
	test_decline_code text CHECK (length(test_decline_code) <= 64),
	-- The Stripe test card it was made from (its pm_card_* id, never a number): what
	-- attaching it answers.  NULL in live mode.
	test_card text CHECK (test_card ~ '^pm_card_[A-Za-z_]{1,64}$'),
	-- Detached once, never attached again (as Stripe): set by levy_payment_method_detached().
	detached boolean NOT NULL DEFAULT false,
	processor_id text CHECK (length(processor_id) <= 255),
	metadata jsonb NOT NULL DEFAULT '{}' CONSTRAINT payment_methods_metadata_check
		CHECK (levy_metadata_ok(metadata)),
	created timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, livemode, id),
	CONSTRAINT payment_methods_customer_fkey FOREIGN KEY (tenant_id, livemode, customer)
		REFERENCES customers (tenant_id, livemode, id)
);
CREATE INDEX payment_methods_customer ON payment_methods (tenant_id, livemode, customer, seq DESC);

ALTER TABLE customers ADD CONSTRAINT customers_default_payment_method_fkey
	FOREIGN KEY (tenant_id, livemode, default_payment_method)
	REFERENCES payment_methods (tenant_id, livemode, id) ON DELETE SET NULL (default_payment_method);

-- The API shapes (Stripe API version 2023-08-16).
CREATE FUNCTION levy_product_json(p products) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT CASE WHEN p.deleted THEN jsonb_build_object('id', p.id, 'object', 'product', 'deleted', true)
	ELSE jsonb_build_object(
		'id', p.id, 'object', 'product', 'active', p.active, 'created', levy_epoch(p.created),
		'default_price', NULL, 'description', p.description, 'features', '[]'::jsonb,
		'images', '[]'::jsonb, 'livemode', p.livemode, 'metadata', p.metadata, 'name', p.name,
		'package_dimensions', NULL, 'shippable', NULL,
		'statement_descriptor', p.statement_descriptor, 'tax_code', NULL,
		'type', 'service', 'unit_label', p.unit_label, 'updated', levy_epoch(p.updated),
		'url', p.url) END
$$;

CREATE FUNCTION levy_plan_json(p plans) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT CASE WHEN p.deleted THEN jsonb_build_object('id', p.id, 'object', 'plan', 'deleted', true)
	ELSE jsonb_build_object(
		'id', p.id, 'object', 'plan', 'active', p.active, 'aggregate_usage', NULL,
		'amount', p.amount, 'amount_decimal', p.amount::text, 'billing_scheme', 'per_unit',
		'created', levy_epoch(p.created), 'currency', p.currency, 'features', p.features,
		'interval', p.interval, 'interval_count', p.interval_count, 'livemode', p.livemode,
		'metadata', p.metadata, 'nickname', p.nickname, 'product', p.product,
		'tiers_mode', NULL, 'transform_usage', NULL, 'trial_period_days', p.trial_period_days,
		'usage_type', 'licensed') END
$$;

CREATE FUNCTION levy_customer_json(c customers) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT CASE WHEN c.deleted THEN jsonb_build_object('id', c.id, 'object', 'customer', 'deleted', true)
	ELSE jsonb_build_object(
		'id', c.id, 'object', 'customer', 'address', NULL, 'balance', c.balance,
		'created', levy_epoch(c.created), 'currency', c.currency, 'default_source', NULL,
		'delinquent', false, 'description', c.description, 'discount', NULL, 'email', c.email,
		'invoice_prefix', NULL,
		'invoice_settings', jsonb_build_object('custom_fields', NULL,
			'default_payment_method', c.default_payment_method, 'footer', NULL,
			'rendering_options', NULL),
		'livemode', c.livemode, 'metadata', c.metadata, 'name', c.name,
		'next_invoice_sequence', 1, 'phone', c.phone, 'preferred_locales', '[]'::jsonb,
		'shipping', NULL, 'tax_exempt', 'none', 'test_clock', NULL) END
$$;

CREATE FUNCTION levy_payment_method_json(m payment_methods) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object(
		'id', m.id, 'object', 'payment_method',
		'billing_details', jsonb_build_object(
			'address', jsonb_build_object(
				'city', m.billing_details #>> '{address,city}',
				'country', m.billing_details #>> '{address,country}',
				'line1', m.billing_details #>> '{address,line1}',
				'line2', m.billing_details #>> '{address,line2}',
				'postal_code', m.billing_details #>> '{address,postal_code}',
				'state', m.billing_details #>> '{address,state}'),
			'email', m.billing_details ->> 'email', 'name', m.billing_details ->> 'name',
			'phone', m.billing_details ->> 'phone'),
		'card', jsonb_build_object(
			'brand', m.brand,
			'checks', jsonb_build_object('address_line1_check', NULL,
				'address_postal_code_check', NULL, 'cvc_check', 'pass'),
			'country', m.country, 'exp_month', m.exp_month, 'exp_year', m.exp_year,
			'fingerprint', m.fingerprint, 'funding', m.funding, 'generated_from', NULL,
			'last4', m.last4,
			'networks', jsonb_build_object('available', jsonb_build_array(m.brand),
				'preferred', NULL),
			'three_d_secure_usage', jsonb_build_object('supported', true), 'wallet', NULL),
		'created', levy_epoch(m.created), 'customer', m.customer, 'livemode', m.livemode,
		'metadata', m.metadata, 'type', m.type)
$$;

-- A payment method's billing_details after an update: patch holds the
-- fields given (a null clears one) and "address", an object of fields
-- merged the same way or null to clear the whole address.  Cleared fields
-- are dropped, so the stored object holds only what is set.
CREATE FUNCTION levy_billing_details_merge(old jsonb, patch jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN patch IS NULL THEN old
	ELSE jsonb_strip_nulls((old || (patch - 'address'))
		|| CASE WHEN NOT patch ? 'address' THEN '{}'::jsonb
			WHEN jsonb_typeof(patch -> 'address') = 'object'
			THEN jsonb_build_object('address',
				coalesce(old -> 'address', '{}'::jsonb) || (patch -> 'address'))
			ELSE jsonb_build_object('address', NULL) END) END
$$;
GRANT EXECUTE ON FUNCTION levy_billing_details_merge(jsonb, jsonb) TO levy_app;

-- Events.  Soft deletion is the "deleted" event; other changes are
-- "updated" events only when the rendered object changed.
CREATE FUNCTION levy_product_event() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $$
DECLARE
	o jsonb;
	n jsonb;
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM levy_event('product.created', levy_product_json(NEW), NULL);
	ELSIF NEW.deleted AND NOT OLD.deleted THEN
		PERFORM levy_event('product.deleted', levy_product_json(OLD), NULL);
	ELSE
		o := levy_product_json(OLD);
		n := levy_product_json(NEW);
		IF o <> n THEN
			PERFORM levy_event('product.updated', n, levy_json_changes(o, n));
		END IF;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER products_event AFTER INSERT OR UPDATE ON products
	FOR EACH ROW EXECUTE FUNCTION levy_product_event();

CREATE FUNCTION levy_plan_event() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $$
DECLARE
	o jsonb;
	n jsonb;
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM levy_event('plan.created', levy_plan_json(NEW), NULL);
	ELSIF NEW.deleted AND NOT OLD.deleted THEN
		PERFORM levy_event('plan.deleted', levy_plan_json(OLD), NULL);
	ELSE
		o := levy_plan_json(OLD);
		n := levy_plan_json(NEW);
		IF o <> n THEN
			PERFORM levy_event('plan.updated', n, levy_json_changes(o, n));
		END IF;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER plans_event AFTER INSERT OR UPDATE ON plans
	FOR EACH ROW EXECUTE FUNCTION levy_plan_event();

CREATE FUNCTION levy_customer_event() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $$
DECLARE
	o jsonb;
	n jsonb;
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM levy_event('customer.created', levy_customer_json(NEW), NULL);
	ELSIF NEW.deleted AND NOT OLD.deleted THEN
		PERFORM levy_event('customer.deleted', levy_customer_json(OLD), NULL);
	ELSE
		o := levy_customer_json(OLD);
		n := levy_customer_json(NEW);
		IF o <> n THEN
			PERFORM levy_event('customer.updated', n, levy_json_changes(o, n));
		END IF;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER customers_event AFTER INSERT OR UPDATE ON customers
	FOR EACH ROW EXECUTE FUNCTION levy_customer_event();

-- Stripe records payment_method.attached / detached / updated.
CREATE FUNCTION levy_payment_method_event() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $$
DECLARE
	o jsonb;
	n jsonb;
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.customer IS NOT NULL THEN
			PERFORM levy_event('payment_method.attached', levy_payment_method_json(NEW), NULL);
		END IF;
		RETURN NULL;
	END IF;
	o := levy_payment_method_json(OLD);
	n := levy_payment_method_json(NEW);
	IF OLD.customer IS NULL AND NEW.customer IS NOT NULL THEN
		PERFORM levy_event('payment_method.attached', n, NULL);
	ELSIF OLD.customer IS NOT NULL AND NEW.customer IS NULL THEN
		PERFORM levy_event('payment_method.detached', n, levy_json_changes(o, n));
	ELSIF o <> n THEN
		PERFORM levy_event('payment_method.updated', n, levy_json_changes(o, n));
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER payment_methods_event AFTER INSERT OR UPDATE ON payment_methods
	FOR EACH ROW EXECUTE FUNCTION levy_payment_method_event();

-- Stripe never attaches a detached payment method again; whoever detaches it
-- (detach, deleting its customer), the row remembers.
CREATE FUNCTION levy_payment_method_detached() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog
AS $$
BEGIN
	IF OLD.customer IS NOT NULL AND NEW.customer IS NULL THEN
		NEW.detached := true;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER payment_methods_detached BEFORE UPDATE OF customer ON payment_methods
	FOR EACH ROW EXECUTE FUNCTION levy_payment_method_detached();

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['events', 'idempotency_keys', 'products', 'plans', 'customers',
				 'payment_methods'] LOOP
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

-- Objects are soft-deleted or detached, never DELETEd by the application;
-- events are written only by the triggers' function and never changed.
GRANT SELECT, INSERT ON events TO levy_app;
GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO levy_app;
GRANT SELECT, INSERT ON products, plans, customers, payment_methods TO levy_app;
GRANT UPDATE (name, description, active, statement_descriptor, unit_label, url, metadata,
	      deleted, updated) ON products TO levy_app;
GRANT UPDATE (nickname, active, trial_period_days, features, metadata, deleted) ON plans TO levy_app;
GRANT UPDATE (email, name, description, phone, balance, currency, default_payment_method,
	      metadata, processor_id, deleted) ON customers TO levy_app;
GRANT UPDATE (customer, billing_details, exp_month, exp_year, metadata, processor_id)
	ON payment_methods TO levy_app;
GRANT USAGE ON SEQUENCE levy_object_seq TO levy_app;
GRANT EXECUTE ON FUNCTION levy_new_id(text), levy_epoch(timestamptz), levy_metadata_ok(jsonb),
	levy_metadata_merge(jsonb, jsonb), levy_json_changes(jsonb, jsonb),
	levy_event(text, jsonb, jsonb), levy_event_json(events), levy_idem_begin(text, text),
	levy_idem_finish(text, text, integer, text), levy_product_json(products),
	levy_plan_json(plans), levy_customer_json(customers),
	levy_payment_method_json(payment_methods) TO levy_app;
