-- PUT /users/me with a new password checks the current one against the
-- hash read before the keyholder's check.  Two changes sent at once with
-- the same current password both passed that check, and both were
-- written: the last to commit won, and the first one's client was told
-- that its new password was set.  The write now also checks that the
-- hash is still the one the current password was checked against; when
-- another change came first, it is refused as a wrong current password
-- is (the password it gave is no longer the current one).

-- authd_users_update() (014) after that check; p_checked_hash is the
-- stored hash the current password matched.  The company is locked
-- before the user, the order of every user write (014).
CREATE FUNCTION authd_users_update_password(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean, p_keep_session bigint, p_addr text,
    p_email text, p_username text, p_full_name text, p_hash text,
    p_is_active boolean, p_is_superuser boolean, p_company_id bigint,
    p_is_verified boolean, p_full_name_set boolean, p_checked_hash text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_hash	text;
BEGIN
	PERFORM authd_users_lock_company(p_id);
	SELECT hashed_password INTO v_hash FROM users WHERE id = p_id
	    FOR UPDATE;
	IF FOUND AND v_hash IS DISTINCT FROM p_checked_hash THEN
		RAISE EXCEPTION 'the password of user % changed meanwhile', p_id
		    USING ERRCODE = 'check_violation',
		    CONSTRAINT = 'authd_users_password_changed';
	END IF;
	RETURN authd_users_update(p_id, p_scope, p_actor, p_admin,
	    p_keep_session, p_addr, p_email, p_username, p_full_name, p_hash,
	    p_is_active, p_is_superuser, p_company_id, p_is_verified,
	    p_full_name_set);
END;
$$;
