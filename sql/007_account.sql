-- Password reset and email verification (api_account.c).
--
-- The tokens are 256 random bits sent by mail; only their SHA-256 is
-- stored (password_reset_tokens, email_verification_tokens of 001).  Each
-- function below is one transaction, so a token is issued, consumed or
-- invalidated together with everything that goes with it.  Addresses are
-- compared with lower(), as login and the unique index users_email_key
-- do; there is no other canonicalisation, so an address that differs in
-- anything but case (a dotless i, a fullwidth letter, another Unicode
-- normal form) is another address.  Mail always goes to the stored
-- address that these functions return, never to the one submitted.

-- Issues a reset token for the active user of an active company whose
-- address is p_email, valid p_ttl seconds, after deleting every older
-- reset token of that user.  No row (and no write) for any other
-- address.  The row lock serialises two requests of one user, so that
-- only the newer token survives.
CREATE FUNCTION authd_password_reset_issue(p_email text, p_hash bytea,
    p_ttl integer)
RETURNS TABLE (r_user_id bigint, r_email text, r_username text)
LANGUAGE plpgsql AS $$
DECLARE
	v_id		bigint;
	v_email		text;
	v_username	text;
BEGIN
	SELECT u.id, u.email, u.username INTO v_id, v_email, v_username
	    FROM users u JOIN companies c ON c.id = u.company_id
	    WHERE lower(u.email) = lower(p_email) AND u.is_active
	    AND c.is_active
	    FOR UPDATE OF u;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	DELETE FROM password_reset_tokens t WHERE t.user_id = v_id;
	INSERT INTO password_reset_tokens (user_id, token_hash, expires_at)
	    VALUES (v_id, p_hash, now() + make_interval(secs => p_ttl));
	RETURN QUERY SELECT v_id, v_email, v_username;
END;
$$;

-- Completes a reset: consumes the token (unused, unexpired, of an active
-- user of an active company), sets the new password hash, deletes the
-- user's other reset tokens, revokes every session of the user and
-- writes the audit row.  No row when the token is not good; the UPDATE
-- of the token row makes two concurrent uses of one token end with one
-- success.  Lockout state and two-factor settings are left alone: a
-- reset proves the mailbox, not the second factor.
CREATE FUNCTION authd_password_reset_complete(p_hash bytea,
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
	RETURN QUERY SELECT v_uid, v_email, v_username, v_revoked;
END;
$$;

-- Issues a verification token for the current address of an active,
-- unverified user, valid p_ttl seconds, after deleting the user's older
-- verification tokens.  The token remembers the address it was sent to.
-- No row for a verified, inactive or missing user.
CREATE FUNCTION authd_email_verification_issue(p_user_id bigint,
    p_hash bytea, p_ttl integer)
RETURNS TABLE (r_email text, r_username text)
LANGUAGE plpgsql AS $$
DECLARE
	v_email		text;
	v_username	text;
BEGIN
	SELECT u.email, u.username INTO v_email, v_username
	    FROM users u
	    WHERE u.id = p_user_id AND u.is_active AND NOT u.is_verified
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	DELETE FROM email_verification_tokens t WHERE t.user_id = p_user_id;
	INSERT INTO email_verification_tokens (user_id, email, token_hash,
	    expires_at)
	    VALUES (p_user_id, v_email, p_hash,
	    now() + make_interval(secs => p_ttl));
	RETURN QUERY SELECT v_email, v_username;
END;
$$;

-- Consumes a verification token (unused, unexpired, and sent to the
-- address the user still has) and marks the user verified, with its
-- audit row.  No row when the token is not good.  Both rows are locked
-- first, so an email change that commits meanwhile is seen.
CREATE FUNCTION authd_email_verify(p_hash bytea, p_addr text)
RETURNS TABLE (r_user_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_uid		bigint;
	v_cid		bigint;
BEGIN
	SELECT t.user_id, u.company_id INTO v_uid, v_cid
	    FROM email_verification_tokens t
	    JOIN users u ON u.id = t.user_id
	    WHERE t.token_hash = p_hash AND t.used_at IS NULL
	    AND t.expires_at > now() AND lower(u.email) = lower(t.email)
	    FOR UPDATE OF t, u;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	UPDATE email_verification_tokens t SET used_at = now()
	    WHERE t.token_hash = p_hash;
	DELETE FROM email_verification_tokens t
	    WHERE t.user_id = v_uid AND t.used_at IS NULL;
	UPDATE users u SET is_verified = true WHERE u.id = v_uid;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (v_uid, v_cid, 'user.verify_email', 'user', v_uid, NULL,
	    nullif(p_addr, '')::inet);
	RETURN QUERY SELECT v_uid;
END;
$$;
