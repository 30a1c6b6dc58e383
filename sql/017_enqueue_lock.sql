-- A race found by a concurrency audit: authd_enqueue_event() read the
-- integrations without locking them: one deleted between its snapshot
-- and the insert failed the insert's foreign key (23503
-- webhook_deliveries_integration_fk), and the event was lost for every
-- other integration too.  The SELECT now locks what it reads FOR KEY
-- SHARE (the lock the foreign key check takes anyway): a row deleted
-- meanwhile is skipped, the others are queued.  Still PL/pgSQL, so its
-- plan is still kept (011_enqueue_plan.sql).  The function is 011's with
-- only that lock added.  (The lock order of user writes against a
-- company's deletion, found by the same audit, is in
-- 014_users_fixes.sql: authd_users_lock_company().)

-- Queues one event for every subscribed active integration (006).
CREATE OR REPLACE FUNCTION authd_enqueue_event(p_company_id bigint,
    p_type text, p_data jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n	integer;
BEGIN
	WITH e AS (SELECT gen_random_uuid() AS id, now() AS at),
	ins AS (
		INSERT INTO webhook_deliveries (integration_id, company_id,
		    event_id, event_type, payload)
		SELECT i.id, i.company_id, e.id, p_type, jsonb_build_object(
		    'id', e.id,
		    'type', p_type,
		    'created_at', authd_ts(e.at),
		    'company_id', p_company_id,
		    'data', coalesce(p_data, '{}'::jsonb))
		FROM integrations i CROSS JOIN e
		WHERE i.company_id = p_company_id AND i.is_active
		AND i.callback_url IS NOT NULL AND p_type = ANY (i.events)
		FOR KEY SHARE OF i
		RETURNING 1)
	SELECT count(*)::integer INTO n FROM ins;
	RETURN n;
END
$$;
