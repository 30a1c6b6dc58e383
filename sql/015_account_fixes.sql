-- Fixes found by an audit of the account and integration routes.
--
-- A password reset changed the password without telling the company's
-- integrations: authd_password_reset_complete (007) now emits
-- "password.changed" in its own transaction, with the payload that
-- PUT /users/{id} gives the event (user_id, email, username).
--
-- PUT /api/v1/integrations/{id} ignored a company_id in its body, but
-- API.md wants a field that a caller may not set answered 403 naming
-- it: authd_integration_update (006) refuses a company_id other than
-- the integration's own, as the roles routes do (005), after the 404 of
-- an integration the caller cannot see.  (POST is checked by the
-- worker: an integration is made in the caller's company.)

CREATE OR REPLACE FUNCTION authd_password_reset_complete(p_hash bytea,
    p_password text, p_addr text)
RETURNS TABLE (r_user_id bigint, r_email text, r_username text,
    r_revoked bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_uid		bigint;
	v_cid		bigint;
	v_email		text;
	v_username	text;
	v_revoked	bigint;
	v_ids		bigint[];
BEGIN
	SELECT t.user_id, u.company_id, u.email, u.username
	    INTO v_uid, v_cid, v_email, v_username
	    FROM password_reset_tokens t
	    JOIN users u ON u.id = t.user_id
	    JOIN companies c ON c.id = u.company_id
	    WHERE t.token_hash = p_hash AND t.used_at IS NULL
	    AND t.expires_at > now() AND u.is_active AND c.is_active
	    FOR UPDATE OF t, u;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	UPDATE password_reset_tokens t SET used_at = now()
	    WHERE t.token_hash = p_hash;
	DELETE FROM password_reset_tokens t
	    WHERE t.user_id = v_uid AND t.used_at IS NULL;
	UPDATE users u SET hashed_password = p_password,
	    password_changed_at = now()
	    WHERE u.id = v_uid;
	WITH r AS (
		UPDATE sessions s SET is_active = false, revoked_at = now(),
		    revoked_reason = 'password reset'
		WHERE s.user_id = v_uid AND s.is_active
		RETURNING s.id, s.expires_at)
	SELECT count(*), coalesce(array_agg(r.id ORDER BY r.id)
	    FILTER (WHERE r.expires_at > now()), '{}')
	    INTO v_revoked, v_ids FROM r;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (v_uid, v_cid, 'user.password_reset', 'user', v_uid,
	    jsonb_build_object('sessions_revoked', v_revoked),
	    nullif(p_addr, '')::inet);
	PERFORM authd_enqueue_event(v_cid, 'password.changed',
	    jsonb_build_object('user_id', v_uid, 'email', v_email,
	    'username', v_username, 'revoked_session_ids', to_jsonb(v_ids)));
	RETURN QUERY SELECT v_uid, v_email, v_username, v_revoked;
END;
$$;

CREATE OR REPLACE FUNCTION authd_integration_update(p_actor bigint,
    p_cid bigint, p_addr text, p_id bigint, p_body jsonb,
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
	IF jsonb_typeof(p_body->'company_id') = 'number' AND
	    (p_body->>'company_id')::numeric <> r.company_id
	THEN
		a_status := 403;
		a_body := authd_rbac_immutable('company_id');
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
