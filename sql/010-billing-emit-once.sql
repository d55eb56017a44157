-- levy schema, part 10: events of one state rendered once, stored cheaply.
--
-- Paying an invoice records invoice.paid and invoice.payment_succeeded for
-- the same invoice in the same state; levy_emit() rendered it for each.
-- levy_emit_many() renders the object once and records every event named.
-- (Events other than *.updated carry no previous_attributes, so the engine
-- no longer renders an object's state before such a change either.)

CREATE FUNCTION levy_emit_many(p_events text[], p_type text, p_id text) RETURNS void
	LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	now_json jsonb := levy_object_json(p_type, p_id);
	ev text;
BEGIN
	IF now_json IS NULL THEN
		RAISE EXCEPTION 'levy_emit_many: no % %', p_type, p_id;
	END IF;
	FOREACH ev IN ARRAY p_events LOOP
		PERFORM levy_event(ev, now_json, NULL);
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION levy_emit_many(text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION levy_emit_many(text[], text, text) TO levy_app;

-- An event's data (an invoice is 4 kB of JSON) is compressed when stored;
-- lz4 does it several times faster than PostgreSQL's default pglz, and
-- the same for stored idempotent answers.  Rows already written keep
-- their compression.
ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
ALTER TABLE idempotency_keys ALTER COLUMN body SET COMPRESSION lz4;
