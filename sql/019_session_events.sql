-- authctl session kill ends a session as DELETE /api/v1/sessions/{id}
-- does, and now tells the company's integrations so, as that route does:
-- one session.revoked event, reason "revoked by an administrator", in
-- the transaction of the revocation.  The function is 008's with only
-- the event added.

CREATE OR REPLACE FUNCTION authd_ctl_session_kill(p_id bigint)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	s	sessions;
BEGIN
	UPDATE sessions SET is_active = false, revoked_at = now(),
	    revoked_reason = 'revoked by an administrator'
	    WHERE id = p_id AND is_active AND expires_at > now()
	    RETURNING * INTO s;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no live session %s', p_id));
		RETURN;
	END IF;
	PERFORM authd_ctl_audit(s.company_id, 'session.revoke', 'session',
	    s.id, jsonb_build_object('user_id', s.user_id));
	PERFORM authd_enqueue_event(s.company_id, 'session.revoked',
	    jsonb_build_object('user_id', s.user_id, 'session_id', s.id,
	    'reason', 'revoked by an administrator'));
	RETURN QUERY SELECT 200, (authd_session_json(s, NULL) - 'current')::text;
END;
$$;
