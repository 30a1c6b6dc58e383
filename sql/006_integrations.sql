-- Integrations, inbound webhook events and outbound deliveries
-- (api_integrations.c, api_webhooks.c, delivery.c): their JSON shapes,
-- the writes with their audit_log rows, and the delivery queue.
--
-- The API key is stored as its SHA-256 (it has 256 random bits, so one
-- indexed lookup by hash is enough and nothing is learned from a leak of
-- the table).  The secret is sealed by a keyholder with the additional
-- data "integration:<id>", so the id must be known before the row is
-- written: the worker takes it with authd_integration_next_id(), gets
-- the sealed secret, then inserts the row with that id.

-- The Integration object: never the key hash or the sealed secret.
CREATE FUNCTION authd_integration_json(i integrations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', i.id,
	    'name', i.name,
	    'description', i.description,
	    'integration_type', i.integration_type,
	    'callback_url', i.callback_url,
	    'configuration', i.configuration,
	    'events', to_jsonb(i.events),
	    'is_active', i.is_active,
	    'company_id', i.company_id,
	    'api_key_prefix', i.api_key_prefix,
	    'created_at', authd_ts(i.created_at),
	    'updated_at', authd_ts(i.updated_at))
$$;

-- A received webhook event.
CREATE FUNCTION authd_webhook_event_json(e webhook_events) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', e.id,
	    'integration_id', e.integration_id,
	    'received_at', authd_ts(e.received_at),
	    'payload', e.payload,
	    'signature_valid', e.signature_valid)
$$;

-- An outbound delivery.
CREATE FUNCTION authd_delivery_json(d webhook_deliveries) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', d.id,
	    'event_id', d.event_id,
	    'event_type', d.event_type,
	    'status', d.status,
	    'attempts', d.attempts,
	    'last_status_code', d.last_status_code,
	    'last_error', d.last_error,
	    'next_attempt_at', authd_ts(d.next_attempt_at),
	    'created_at', authd_ts(d.created_at),
	    'delivered_at', authd_ts(d.delivered_at))
$$;

-- The id of an integration about to be created (see the top).  An id
-- taken and never used leaves a gap, nothing else.
CREATE FUNCTION authd_integration_next_id() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
	SELECT nextval(pg_get_serial_sequence('integrations', 'id'))
$$;

-- The events array of a body ('{}' when absent or null).
CREATE FUNCTION authd_integration_events(p_body jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_typeof(p_body->'events') = 'array'
	    THEN ARRAY(SELECT jsonb_array_elements_text(p_body->'events'))
	    ELSE '{}'::text[] END
$$;

-- POST /api/v1/integrations/: the body's fields were checked by the
-- worker.  Returns the Integration's JSON text.
CREATE FUNCTION authd_integration_create(p_actor bigint, p_cid bigint,
    p_addr text, p_id bigint, p_body jsonb, p_key_hash bytea,
    p_prefix text, p_sealed bytea) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r	integrations;
BEGIN
	INSERT INTO integrations (id, company_id, name, description,
	    integration_type, callback_url, configuration, events, is_active,
	    api_key_hash, api_key_prefix, api_secret_sealed)
	OVERRIDING SYSTEM VALUE
	VALUES (p_id, p_cid, p_body->>'name', p_body->>'description',
	    p_body->>'integration_type', p_body->>'callback_url',
	    CASE WHEN jsonb_typeof(p_body->'configuration') = 'object'
		THEN p_body->'configuration' ELSE '{}'::jsonb END,
	    authd_integration_events(p_body),
	    coalesce((p_body->>'is_active')::boolean, true),
	    p_key_hash, p_prefix, p_sealed)
	RETURNING * INTO r;
	PERFORM authd_audit(p_actor, p_cid, 'integration.create',
	    'integration', r.id, jsonb_build_object('name', r.name,
	    'integration_type', r.integration_type), p_addr);
	RETURN authd_integration_json(r)::text;
END;
$$;

-- PUT /api/v1/integrations/{id}: a key absent from the body leaves its
-- column alone; description and callback_url are cleared by an explicit
-- null.  a_status 200, 403 (another integration_type) or 404.
CREATE FUNCTION authd_integration_update(p_actor bigint, p_cid bigint,
    p_addr text, p_id bigint, p_body jsonb,
    OUT a_status integer, OUT a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r	integrations;
BEGIN
	SELECT * INTO r FROM integrations
	    WHERE id = p_id AND company_id = p_cid FOR UPDATE;
	IF NOT FOUND THEN
		a_status := 404;
		a_body := authd_api_error('Integration not found');
		RETURN;
	END IF;
	IF p_body ? 'integration_type' AND
	    p_body->>'integration_type' IS DISTINCT FROM r.integration_type
	THEN
		a_status := 403;
		a_body := authd_api_error(
		    'Cannot change integration_type through this endpoint');
		RETURN;
	END IF;
	UPDATE integrations SET
	    name = CASE WHEN p_body->>'name' IS NOT NULL
		THEN p_body->>'name' ELSE name END,
	    description = CASE WHEN p_body ? 'description'
		THEN p_body->>'description' ELSE description END,
	    callback_url = CASE WHEN p_body ? 'callback_url'
		THEN p_body->>'callback_url' ELSE callback_url END,
	    configuration = CASE
		WHEN jsonb_typeof(p_body->'configuration') = 'object'
		THEN p_body->'configuration' ELSE configuration END,
	    events = CASE WHEN jsonb_typeof(p_body->'events') = 'array'
		THEN authd_integration_events(p_body) ELSE events END,
	    is_active = coalesce((p_body->>'is_active')::boolean, is_active)
	WHERE id = p_id
	RETURNING * INTO r;
	PERFORM authd_audit(p_actor, p_cid, 'integration.update',
	    'integration', r.id, p_body - 'configuration', p_addr);
	a_status := 200;
	a_body := authd_integration_json(r)::text;
END;
$$;

-- DELETE /api/v1/integrations/{id}: the deleted Integration, or NULL.
-- Its events and deliveries go with it by cascade.
CREATE FUNCTION authd_integration_delete(p_actor bigint, p_cid bigint,
    p_addr text, p_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r	integrations;
BEGIN
	DELETE FROM integrations WHERE id = p_id AND company_id = p_cid
	    RETURNING * INTO r;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM authd_audit(p_actor, p_cid, 'integration.delete',
	    'integration', r.id, jsonb_build_object('name', r.name), p_addr);
	RETURN authd_integration_json(r)::text;
END;
$$;

-- regenerate-key and regenerate-secret: a NULL argument keeps that
-- column.  The Integration's JSON text, or NULL when there is none.
CREATE FUNCTION authd_integration_regenerate(p_actor bigint, p_cid bigint,
    p_addr text, p_id bigint, p_key_hash bytea, p_prefix text,
    p_sealed bytea) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r	integrations;
BEGIN
	UPDATE integrations SET
	    api_key_hash = coalesce(p_key_hash, api_key_hash),
	    api_key_prefix = coalesce(p_prefix, api_key_prefix),
	    api_secret_sealed = coalesce(p_sealed, api_secret_sealed)
	WHERE id = p_id AND company_id = p_cid
	RETURNING * INTO r;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM authd_audit(p_actor, p_cid, CASE WHEN p_key_hash IS NOT NULL
	    THEN 'integration.regenerate_key'
	    ELSE 'integration.regenerate_secret' END,
	    'integration', r.id, NULL, p_addr);
	RETURN authd_integration_json(r)::text;
END;
$$;

-- --- outbound events -------------------------------------------------

-- Queues one event for every active integration of the company that
-- has a callback_url and lists p_type in its events; returns how many
-- deliveries were queued.  All of them carry the same event id.  Any
-- statement may call it to emit an event in its own transaction, e.g.
--   WITH u AS (INSERT INTO users ... RETURNING *),
--   ev AS (SELECT authd_enqueue_event(u.company_id, 'user.created',
--	jsonb_build_object('user', authd_user_json(u))) AS n FROM u)
--   SELECT ..., (SELECT n FROM ev) FROM u
-- (a CTE that only SELECTs runs only if the query reads it), or with
-- PERFORM from PL/pgSQL.  Workers poll the queue every second.
CREATE FUNCTION authd_enqueue_event(p_company_id bigint, p_type text,
    p_data jsonb) RETURNS integer
LANGUAGE sql VOLATILE AS $$
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
		RETURNING 1)
	SELECT count(*)::integer FROM ins
$$;

-- Claims up to p_limit due deliveries for one attempt each.  Several
-- workers of several nodes share the queue: SKIP LOCKED hands each row
-- to one of them, and the claim moves next_attempt_at p_lease seconds
-- ahead, so a worker that dies in the middle of an attempt only delays
-- the delivery until the lease runs out.  The attempt is counted here,
-- for the same reason.  Deliveries of an integration that was
-- deactivated or lost its callback_url fail at once.
CREATE FUNCTION authd_delivery_claim(p_limit integer, p_lease integer)
RETURNS TABLE (d_id bigint, d_attempt integer, d_integration bigint,
    d_url text, d_sealed text, d_event uuid, d_payload text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RETURN QUERY
	WITH c AS (
		SELECT d.id, d.integration_id FROM webhook_deliveries d
		WHERE d.status = 'pending' AND d.next_attempt_at <= now()
		ORDER BY d.next_attempt_at, d.id
		LIMIT p_limit FOR UPDATE SKIP LOCKED),
	u AS (
		UPDATE webhook_deliveries d SET
		    attempts = d.attempts + CASE WHEN i.is_active AND
			i.callback_url IS NOT NULL THEN 1 ELSE 0 END,
		    status = CASE WHEN i.is_active AND
			i.callback_url IS NOT NULL THEN 'pending'
			ELSE 'failed' END,
		    last_error = CASE WHEN i.is_active AND
			i.callback_url IS NOT NULL THEN d.last_error
			ELSE 'Integration is inactive or has no callback_url'
			END,
		    next_attempt_at = CASE WHEN i.is_active AND
			i.callback_url IS NOT NULL
			THEN now() + make_interval(secs => p_lease)
			ELSE now() END
		FROM c JOIN integrations i ON i.id = c.integration_id
		WHERE d.id = c.id
		RETURNING d.id, d.attempts, d.status, d.event_id, d.payload,
		    i.id AS iid, i.callback_url, i.api_secret_sealed)
	SELECT u.id, u.attempts, u.iid, u.callback_url,
	    encode(u.api_secret_sealed, 'hex'), u.event_id, u.payload::text
	FROM u WHERE u.status = 'pending';
END;
$$;

-- Records the end of an attempt.  Delivered on a 2xx; otherwise retried
-- after p_base * 3^(attempts - 1) seconds (at most an hour), until
-- p_max attempts were made.  A worker whose lease ran out (the row was
-- claimed again since) changes nothing.  Returns the new status, or
-- NULL.
CREATE FUNCTION authd_delivery_result(p_id bigint, p_attempt integer,
    p_code integer, p_error text, p_delivered boolean, p_max integer,
    p_base integer) RETURNS text
LANGUAGE sql VOLATILE AS $$
	UPDATE webhook_deliveries SET
	    last_status_code = p_code,
	    last_error = p_error,
	    status = CASE WHEN p_delivered THEN 'delivered'
		WHEN attempts >= p_max THEN 'failed' ELSE 'pending' END,
	    delivered_at = CASE WHEN p_delivered THEN now() END,
	    next_attempt_at = CASE WHEN p_delivered OR attempts >= p_max
		THEN now() ELSE now() + make_interval(secs =>
		least(p_base * power(3, attempts - 1), 3600)) END
	WHERE id = p_id AND attempts = p_attempt AND status = 'pending'
	RETURNING status
$$;
