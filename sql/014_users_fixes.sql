-- Fixes of the users and sessions API found by an audit.
--
-- 1. {"full_name": null} left the name alone: authd_users_update()
--    takes p_full_name_set, so that null clears it.  Its argument list
--    changes, so the old function is dropped and its one other caller,
--    authd_ctl_user_passwd(), is given the new one.

-- PUT /users/{id} and PUT /users/me.  A NULL argument leaves its column
-- alone, but for full_name, which p_full_name_set says to write (NULL
-- clears it); the worker has already refused the fields the caller may
-- not set.  A new email clears is_verified (unless p_is_verified says
-- otherwise).  A new password, a deactivation or a move to another
-- company revokes the user's sessions, except p_keep_session when only
-- the password changed (the caller's own session).  A move drops the
-- user's roles, which belong to the old company, for the new company's
-- default roles.  Returns the User object.
DROP FUNCTION authd_users_update(bigint, bigint, bigint, boolean, bigint,
    text, text, text, text, text, boolean, boolean, bigint, boolean);
CREATE FUNCTION authd_users_update(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean, p_keep_session bigint, p_addr text,
    p_email text, p_username text, p_full_name text, p_hash text,
    p_is_active boolean, p_is_superuser boolean, p_company_id bigint,
    p_is_verified boolean, p_full_name_set boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o		users;
	n		users;
	v_moved		boolean;
	v_reason	text;
	v_fields	text[] := '{}';
BEGIN
	IF p_is_active IS NOT NULL OR p_is_superuser IS NOT NULL OR
	    p_company_id IS NOT NULL THEN
		PERFORM pg_advisory_xact_lock(
		    hashtextextended('authd.users.root', 0));
	END IF;
	o := authd_users_target(p_id, p_scope, p_actor, p_admin);
	v_moved := p_company_id IS NOT NULL AND p_company_id <> o.company_id;
	IF v_moved AND NOT EXISTS (SELECT 1 FROM companies
	    WHERE id = p_company_id) THEN
		RAISE EXCEPTION 'company % not found', p_company_id
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_company_missing';
	END IF;
	IF o.is_active AND (v_moved OR NOT coalesce(p_is_superuser, true) OR
	    NOT coalesce(p_is_active, true)) THEN
		PERFORM authd_users_keep_root(o,
		    'authd_users_last_root_update');
	END IF;
	IF v_moved THEN
		DELETE FROM user_roles WHERE user_id = p_id;
	END IF;
	UPDATE users SET
	    email = coalesce(p_email, email),
	    username = coalesce(p_username, username),
	    full_name = CASE WHEN coalesce(p_full_name_set, false)
		THEN p_full_name ELSE coalesce(p_full_name, full_name) END,
	    hashed_password = coalesce(p_hash, hashed_password),
	    password_changed_at = CASE WHEN p_hash IS NULL
		THEN password_changed_at ELSE now() END,
	    is_active = coalesce(p_is_active, is_active),
	    is_superuser = coalesce(p_is_superuser, is_superuser),
	    company_id = coalesce(p_company_id, company_id),
	    is_verified = CASE
		WHEN p_is_verified IS NOT NULL THEN p_is_verified
		WHEN p_email IS NOT NULL AND lower(p_email) <> lower(email)
		    THEN false
		ELSE is_verified END
	    WHERE id = p_id
	    RETURNING * INTO n;
	IF v_moved THEN
		INSERT INTO user_roles (user_id, role_id, company_id)
		    SELECT n.id, r.id, n.company_id FROM roles r
		    WHERE r.company_id = n.company_id AND r.is_default;
	END IF;

	IF v_moved THEN
		v_reason := 'moved to another company';
	ELSIF o.is_active AND NOT n.is_active THEN
		v_reason := 'user deactivated';
	ELSIF p_hash IS NOT NULL THEN
		v_reason := 'password changed';
	END IF;
	IF v_reason IS NOT NULL THEN
		UPDATE sessions SET is_active = false, revoked_at = now(),
		    revoked_reason = v_reason
		    WHERE user_id = p_id AND is_active
		    AND (v_reason <> 'password changed' OR
		    p_keep_session IS NULL OR id <> p_keep_session);
	END IF;

	IF n.email IS DISTINCT FROM o.email THEN
		v_fields := v_fields || 'email'::text;
	END IF;
	IF n.username IS DISTINCT FROM o.username THEN
		v_fields := v_fields || 'username'::text;
	END IF;
	IF n.full_name IS DISTINCT FROM o.full_name THEN
		v_fields := v_fields || 'full_name'::text;
	END IF;
	IF p_hash IS NOT NULL THEN
		v_fields := v_fields || 'password'::text;
	END IF;
	IF n.is_active IS DISTINCT FROM o.is_active THEN
		v_fields := v_fields || 'is_active'::text;
	END IF;
	IF n.is_superuser IS DISTINCT FROM o.is_superuser THEN
		v_fields := v_fields || 'is_superuser'::text;
	END IF;
	IF n.is_verified IS DISTINCT FROM o.is_verified THEN
		v_fields := v_fields || 'is_verified'::text;
	END IF;
	IF v_moved THEN
		v_fields := v_fields || 'company_id'::text;
	END IF;
	PERFORM authd_audit(p_actor, n.company_id, 'user.update', 'user',
	    n.id, jsonb_build_object('fields', to_jsonb(v_fields),
	    'from_company_id', CASE WHEN v_moved THEN o.company_id END),
	    p_addr);
	RETURN authd_user_json(n);
END;
$$;

-- authctl user passwd, on the new argument list of authd_users_update.
CREATE OR REPLACE FUNCTION authd_ctl_user_passwd(p_user text, p_hash text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_uid	bigint := authd_ctl_user(p_user);
BEGIN
	IF v_uid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such user: %s', p_user));
		RETURN;
	END IF;
	PERFORM authd_users_update(v_uid, NULL, NULL, true, NULL, NULL,
	    NULL, NULL, NULL, p_hash, NULL, NULL, NULL, NULL, false);
	RETURN QUERY SELECT 200, authd_ctl_user_json(u)::text
	    FROM users u WHERE u.id = v_uid;
END;
$$;

