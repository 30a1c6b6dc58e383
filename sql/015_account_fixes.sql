-- Fixes found by an audit of the account and integration routes.
--
-- A password reset changed the password without telling the company's
-- integrations: authd_password_reset_complete (007) now emits
-- "password.changed" in its own transaction, with the payload that
-- PUT /users/{id} gives the event (user_id, email, username).

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
		RETURNING 1)
	SELECT count(*) INTO v_revoked FROM r;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (v_uid, v_cid, 'user.password_reset', 'user', v_uid,
	    jsonb_build_object('sessions_revoked', v_revoked),
	    nullif(p_addr, '')::inet);
	PERFORM authd_enqueue_event(v_cid, 'password.changed',
	    jsonb_build_object('user_id', v_uid, 'email', v_email,
	    'username', v_username));
	RETURN QUERY SELECT v_uid, v_email, v_username, v_revoked;
END;
$$;
