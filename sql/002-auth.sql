-- levy schema, part 2: API keys, refresh tokens, failed logins, and the
-- SECURITY DEFINER look-ups that must run before the tenant is known.
--
-- The definer functions are owned by levy_owner (who runs the migration),
-- have a fixed search_path, name every table with its schema, return only
-- what their caller needs, and are executable by levy_app alone.

-- Keys are stored as the SHA-256 of the key plus its prefix and last 4; a
-- publishable key is public anyway and kept in full so it can be shown
-- again.  Revoking a key is setting expires_at; a key works while
-- expires_at is NULL or in the future.  Not mode-scoped: the dashboard lists
-- the keys of both modes.
CREATE TABLE api_keys (
	id bigserial PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	secret boolean NOT NULL,
	livemode boolean NOT NULL,
	key_hash text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
	redacted text NOT NULL CHECK (length(redacted) BETWEEN 1 AND 32),
	plain text CHECK (length(plain) BETWEEN 1 AND 128),
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	expires_at timestamptz,
	CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
	-- A secret key is never stored in clear; a publishable one always is.
	CONSTRAINT api_keys_secret_not_stored CHECK (secret = (plain IS NULL))
);
CREATE INDEX api_keys_tenant_id_idx ON api_keys (tenant_id, id);

-- One row per issued refresh token.  Rotation marks a token used and issues
-- the next one in the same family; presenting a used token revokes the
-- family.  Deleting a user deletes its tokens (so they stop working).
CREATE TABLE refresh_tokens (
	jti text PRIMARY KEY CHECK (length(jti) BETWEEN 1 AND 64),
	tenant_id bigint NOT NULL,
	user_id bigint NOT NULL,
	family text NOT NULL CHECK (length(family) BETWEEN 1 AND 64),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at timestamptz,
	revoked_at timestamptz,
	CONSTRAINT refresh_tokens_user_fkey FOREIGN KEY (tenant_id, user_id)
		REFERENCES tenant_users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (tenant_id, user_id);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY api_keys_app ON api_keys TO levy_app
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
CREATE POLICY api_keys_owner ON api_keys TO levy_owner USING (true) WITH CHECK (true);

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_app ON refresh_tokens TO levy_app
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
CREATE POLICY refresh_tokens_owner ON refresh_tokens TO levy_owner USING (true) WITH CHECK (true);

GRANT SELECT, INSERT ON api_keys TO levy_app;
GRANT UPDATE (expires_at) ON api_keys TO levy_app;
GRANT USAGE ON SEQUENCE api_keys_id_seq TO levy_app;

GRANT SELECT, INSERT ON refresh_tokens TO levy_app;
GRANT UPDATE (used_at, revoked_at) ON refresh_tokens TO levy_app;

-- Failed logins per email, counted before any tenant is known, so a platform
-- table: levy_app has no right on it and reaches it only through the
-- functions below.  The email is kept only as the SHA-256 of its lowercase
-- form.
CREATE TABLE login_failures (
	email_hash text PRIMARY KEY CHECK (email_hash ~ '^[0-9a-f]{64}$'),
	failures integer NOT NULL CHECK (failures >= 0),
	last_failure_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_last_failure_at_idx ON login_failures (last_failure_at);

-- The key by its hash, with what authentication needs of its tenant.
-- Stamps last_used_at at most once a minute, so that verifying a key stays
-- a read in practice; never in a read-only transaction, and never waiting
-- on a concurrent request stamping the same key.
CREATE FUNCTION levy_auth_api_key(p_hash text)
	RETURNS TABLE (key_id bigint, tenant_id bigint, secret boolean, livemode boolean,
		       company_name text, slug text, tenant_status text)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
	k record;
BEGIN
	SELECT a.id, a.tenant_id, a.secret, a.livemode, a.last_used_at,
	       t.company_name, t.slug, t.status
	  INTO k
	  FROM public.api_keys a JOIN public.tenants t ON t.id = a.tenant_id
	 WHERE a.key_hash = p_hash AND (a.expires_at IS NULL OR a.expires_at > now());
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF (k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 seconds')
	   AND current_setting('transaction_read_only') = 'off' THEN
		UPDATE public.api_keys SET last_used_at = now()
		 WHERE id IN (SELECT l.id FROM public.api_keys l WHERE l.id = k.id
				FOR UPDATE SKIP LOCKED);
	END IF;
	key_id := k.id;
	tenant_id := k.tenant_id;
	secret := k.secret;
	livemode := k.livemode;
	company_name := k.company_name;
	slug := k.slug;
	tenant_status := k.status;
	RETURN NEXT;
END
$$;

-- The user by email at login, with what the password check and the token
-- need.  An unknown email returns no row.
CREATE FUNCTION levy_auth_login(p_email text)
	RETURNS TABLE (user_id bigint, tenant_id bigint, password_hash text, role text,
		       is_active boolean, tenant_status text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT u.id, u.tenant_id, u.password_hash, u.role, u.is_active, t.status
	  FROM public.tenant_users u JOIN public.tenants t ON t.id = u.tenant_id
	 WHERE u.email = lower(p_email)
$$;

-- Failures within the last 15 minutes.  Each failure within 15 minutes of
-- the previous one extends the run; a later one starts again at 1.
CREATE FUNCTION levy_login_failures(p_email text) RETURNS integer
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT COALESCE((SELECT f.failures FROM public.login_failures f
			  WHERE f.email_hash = encode(sha256(convert_to(lower(p_email), 'UTF8')), 'hex')
			    AND f.last_failure_at > now() - interval '15 minutes'), 0)
$$;

-- Rows older than 15 minutes count for nothing; about one call in a hundred
-- deletes them, so that guessing at unknown emails cannot grow the table
-- without bound.
CREATE FUNCTION levy_login_failure_record(p_email text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
BEGIN
	INSERT INTO public.login_failures AS f (email_hash, failures, last_failure_at)
	VALUES (encode(sha256(convert_to(lower(p_email), 'UTF8')), 'hex'), 1, now())
	ON CONFLICT (email_hash) DO UPDATE
	   SET failures = CASE WHEN f.last_failure_at > now() - interval '15 minutes'
			       THEN least(f.failures + 1, 1000000) ELSE 1 END,
	       last_failure_at = now();
	IF random() < 0.01 THEN
		DELETE FROM public.login_failures
		 WHERE last_failure_at < now() - interval '15 minutes';
	END IF;
END
$$;

CREATE FUNCTION levy_login_failure_clear(p_email text) RETURNS void
	LANGUAGE sql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	DELETE FROM public.login_failures
	 WHERE email_hash = encode(sha256(convert_to(lower(p_email), 'UTF8')), 'hex')
$$;

-- Registration picks a slug before its tenant exists, so it cannot see the
-- other tenants' slugs through the policy.  The unique constraint stays the
-- arbiter of a race.
CREATE FUNCTION levy_slug_available(p_slug text) RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT NOT EXISTS (SELECT 1 FROM public.tenants t WHERE t.slug = p_slug)
$$;

REVOKE ALL ON FUNCTION levy_auth_api_key(text), levy_auth_login(text), levy_login_failures(text),
	levy_login_failure_record(text), levy_login_failure_clear(text), levy_slug_available(text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_auth_api_key(text), levy_auth_login(text), levy_login_failures(text),
	levy_login_failure_record(text), levy_login_failure_clear(text), levy_slug_available(text)
	TO levy_app;
