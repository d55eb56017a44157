-- levy schema, part 15: the expiry job's look-up in keyset batches, as
-- the renewal and retry jobs' (sql/012, sql/014), so that all three run
-- through one loop (src/cli/jobs_keyset.c).  The look-up of part 11 named
-- the first N still due: a subscription whose expiry kept failing was met
-- again by every batch, and the job had to guess when to stop.

DROP FUNCTION levy_job_incomplete_due(integer);

-- Incomplete subscriptions 23 hours old, in id order, after the
-- (tenant_id, livemode, id) the previous batch ended with (NULLs: from the
-- start).
CREATE FUNCTION levy_job_incomplete_due(p_limit integer, p_after_tenant bigint,
	p_after_livemode boolean, p_after_id text)
	RETURNS TABLE (tenant_id bigint, livemode boolean, id text)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, public
AS $$
	SELECT s.tenant_id, s.livemode, s.id
	  FROM public.subscriptions s
	 WHERE s.status = 'incomplete' AND s.created <= now() - interval '23 hours'
	   AND (p_after_id IS NULL
		OR (s.tenant_id, s.livemode, s.id) > (p_after_tenant, p_after_livemode, p_after_id))
	 ORDER BY s.tenant_id, s.livemode, s.id
	 LIMIT least(greatest(p_limit, 1), 1000)
$$;

REVOKE ALL ON FUNCTION levy_job_incomplete_due(integer, bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_job_incomplete_due(integer, bigint, boolean, text) TO levy_app;
