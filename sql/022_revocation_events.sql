-- Sessions ended by a user's deactivation (PUT /users/{id}), a
-- company's deactivation (PUT /companies/{id}) or authctl user lock
-- sent no session.revoked: the statements that end them are shared
-- with changes that report their sessions otherwise (password.changed
-- names the sessions a new password ended; a move sends the old
-- company user.deleted).  A trigger now queues session.revoked, with
-- the session's revoked_reason, for a live session ended for one of
-- those three reasons, in the transaction that ends it.  The other
-- revocations queue their event in their own statement already.

CREATE FUNCTION authd_sessions_revoked_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.expires_at > now() AND
	    authd_users_subscribed(NEW.company_id, 'session.revoked') THEN
		PERFORM authd_enqueue_event(NEW.company_id, 'session.revoked',
		    jsonb_build_object('user_id', NEW.user_id,
		    'session_id', NEW.id, 'reason', NEW.revoked_reason));
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_revoked_event AFTER UPDATE ON sessions
    FOR EACH ROW
    WHEN (OLD.is_active AND NOT NEW.is_active AND NEW.revoked_reason IN
    ('user deactivated', 'company deactivated', 'user locked'))
    EXECUTE FUNCTION authd_sessions_revoked_event();
