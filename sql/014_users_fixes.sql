-- Fixes of the users and sessions API found by an audit.
--
-- 1. A user who is no superuser and acts through a permission
--    (users:update, users:delete, roles:update, sessions:delete) could
--    act on a user holding more than itself: set the password of a
--    holder of the company's admin role and log in as it, or end the
--    sessions of a superuser.  authd_users_privileged() is now the one
--    check of every route that acts on another user: through
--    authd_users_target() (PUT and DELETE /users/{id}), in
--    authd_users_role_set() and in authd_sessions_revoke().
-- 2. {"full_name": null} left the name alone: authd_users_update()
--    takes p_full_name_set, so that null clears it.  Its argument list
--    changes, so the old function is dropped and its one other caller,
--    authd_ctl_user_passwd(), is given the new one.
-- 3. Revocations through the API emit session.revoked, and a new
--    password emits password.changed naming the sessions it ended, in
--    the transaction of the change (authd_enqueue_event()).
-- 4. DELETE /users/me/sessions counted expired sessions still marked
--    active among those it revoked; it revokes and counts only live
--    ones now.
-- 5. A deadlock between DELETE /companies/{id}?force=true and a write
--    on one of the company's users: authd_users_role_set() and
--    authd_users_target() locked the user row, then needed the company
--    row (the foreign key checks of the rows they insert, user_roles or
--    webhook_deliveries, take a key-share lock on it), while
--    authd_company_delete() locks the company FOR UPDATE, then deletes
--    its users.  PostgreSQL broke the cycle with 40P01 and the delete
--    failed (503).  Both now call authd_users_lock_company() first: one
--    lock order, company then user.

-- Refuses, as authd_users_privileges, an act of p_actor on the user o
-- when p_actor is no superuser (p_admin false), o is someone else, and
-- o is a superuser or holds an effective permission that p_actor does
-- not: a permission to manage users must not reach those who hold
-- more, or its holder would climb by taking their accounts.
CREATE FUNCTION authd_users_privileged(o users, p_actor bigint,
    p_admin boolean) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF p_admin OR o.id = p_actor THEN
		RETURN;
	END IF;
	IF o.is_superuser OR EXISTS (
	    SELECT t.permission_id FROM authd_user_permissions(o.id) t
	    EXCEPT
	    SELECT h.permission_id FROM authd_user_permissions(p_actor) h)
	    THEN
		RAISE EXCEPTION 'user % holds more than user %', o.id, p_actor
		    USING ERRCODE = 'insufficient_privilege',
		    CONSTRAINT = 'authd_users_privileges';
	END IF;
END;
$$;

-- The lock order of a write on a user: its company's key-share lock
-- first, then the user's row.  A write that comes second to a forced
-- delete of the company waits for it, then finds no user (404); a delete
-- that comes second waits for the write.  The company is read from the
-- user row without a lock: should the user move meanwhile, the lock is
-- useless but harmless.
CREATE FUNCTION authd_users_lock_company(p_user bigint) RETURNS void
LANGUAGE sql VOLATILE AS $$
	SELECT 1 FROM companies
	    WHERE id = (SELECT company_id FROM users WHERE id = p_user)
	    FOR KEY SHARE
$$;

-- A user that is not the caller, in the caller's scope, locked for the
-- change; a permission holder may not act on a user holding more.
CREATE OR REPLACE FUNCTION authd_users_target(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean) RETURNS users
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o	users;
BEGIN
	PERFORM authd_users_lock_company(p_id);
	SELECT * INTO o FROM users
	    WHERE id = p_id AND (p_scope IS NULL OR company_id = p_scope)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % not found', p_id
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_user_missing';
	END IF;
	PERFORM authd_users_privileged(o, p_actor, p_admin);
	RETURN o;
END;
$$;

-- PUT /users/{id} and PUT /users/me.  A NULL argument leaves its column
-- alone, but for full_name, which p_full_name_set says to write (NULL
-- clears it); the worker has already refused the fields the caller may
-- not set.  A new email clears is_verified (unless p_is_verified says
-- otherwise).  A new password, a deactivation or a move to another
-- company revokes the user's sessions, except p_keep_session when only
-- the password changed (the caller's own session).  A move drops the
-- user's roles, which belong to the old company, for the new company's
-- default roles.  A new password emits password.changed, with the ids
-- of the live sessions it ended (no session.revoked for those).
-- Returns the User object.
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
	v_revoked	bigint[] := '{}';
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
		WITH r AS (
			UPDATE sessions SET is_active = false,
			    revoked_at = now(), revoked_reason = v_reason
			    WHERE user_id = p_id AND is_active
			    AND (v_reason <> 'password changed' OR
			    p_keep_session IS NULL OR id <> p_keep_session)
			    RETURNING id, expires_at)
		SELECT coalesce(array_agg(r.id ORDER BY r.id)
		    FILTER (WHERE r.expires_at > now()), '{}')
		    INTO v_revoked FROM r;
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
	IF p_hash IS NOT NULL THEN
		PERFORM authd_enqueue_event(n.company_id, 'password.changed',
		    jsonb_build_object('user_id', n.id, 'email', n.email,
		    'username', n.username,
		    'revoked_session_ids', to_jsonb(v_revoked)));
	END IF;
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

-- POST and DELETE /users/{id}/roles/{role_id}: the role must be one of
-- the user's company; a caller that is no superuser (p_check) may only
-- act on a user holding no more than itself, and hand out or take back
-- only roles whose permissions it holds itself.  Returns the User
-- object with its role names.
CREATE OR REPLACE FUNCTION authd_users_role_set(p_id bigint, p_role bigint,
    p_assign boolean, p_scope bigint, p_actor bigint, p_check boolean,
    p_addr text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	u	users;
	r	roles;
BEGIN
	PERFORM authd_users_lock_company(p_id);
	SELECT * INTO u FROM users
	    WHERE id = p_id AND (p_scope IS NULL OR company_id = p_scope)
	    FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % not found', p_id
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_user_missing';
	END IF;
	PERFORM authd_users_privileged(u, p_actor, NOT p_check);
	SELECT * INTO r FROM roles
	    WHERE id = p_role AND company_id = u.company_id FOR KEY SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role % not found', p_role
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_role_missing';
	END IF;
	IF p_check AND authd_users_roles_escalate(ARRAY[p_role], p_actor) THEN
		RAISE EXCEPTION 'role % grants more than user % holds',
		    p_role, p_actor
		    USING ERRCODE = 'insufficient_privilege',
		    CONSTRAINT = 'authd_users_privileges';
	END IF;
	IF p_assign THEN
		INSERT INTO user_roles (user_id, role_id, company_id)
		    VALUES (u.id, r.id, u.company_id)
		    ON CONFLICT DO NOTHING;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'role % already assigned', p_role
			    USING ERRCODE = 'unique_violation',
			    CONSTRAINT = 'authd_users_role_assigned';
		END IF;
	ELSE
		DELETE FROM user_roles WHERE user_id = u.id AND role_id = r.id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'role % not assigned', p_role
			    USING ERRCODE = 'no_data_found',
			    CONSTRAINT = 'authd_users_role_unassigned';
		END IF;
	END IF;
	PERFORM authd_audit(p_actor, u.company_id, CASE WHEN p_assign
	    THEN 'user.role_assign' ELSE 'user.role_unassign' END, 'user',
	    u.id, jsonb_build_object('role_id', r.id, 'role', r.name), p_addr);
	RETURN authd_user_json(u) ||
	    jsonb_build_object('roles', authd_user_role_names(u.id));
END;
$$;

-- DELETE /users/me/sessions/{id} (p_user the caller) and DELETE
-- /sessions/{id} (p_user NULL, p_scope the caller's company or NULL for
-- a root admin): revokes a live session and emits session.revoked
-- (user_id, session_id, reason, as logout does).  The session of a user
-- the caller may not act on is refused (authd_users_privileged).
-- Returns the session's owner and the number of deliveries queued, or
-- no row when there is no such live session in reach.
CREATE FUNCTION authd_sessions_revoke(p_id bigint, p_user bigint,
    p_scope bigint, p_actor bigint, p_admin boolean, p_reason text)
RETURNS TABLE (r_user bigint, r_queued integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	s	sessions;
	o	users;
BEGIN
	SELECT * INTO s FROM sessions
	    WHERE id = p_id AND is_active AND expires_at > now()
	    AND (p_user IS NULL OR user_id = p_user)
	    AND (p_scope IS NULL OR company_id = p_scope)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	SELECT * INTO STRICT o FROM users WHERE id = s.user_id;
	PERFORM authd_users_privileged(o, p_actor, p_admin);
	UPDATE sessions SET is_active = false, revoked_at = now(),
	    revoked_reason = p_reason
	    WHERE id = s.id;
	RETURN QUERY SELECT s.user_id, authd_enqueue_event(s.company_id,
	    'session.revoked', jsonb_build_object('user_id', s.user_id,
	    'session_id', s.id, 'reason', p_reason));
END;
$$;

-- DELETE /users/me/sessions: revokes the user's live sessions but
-- p_keep, one session.revoked event each.  A session past its
-- expires_at is dead already: neither revoked again nor counted.
-- Returns how many were revoked and how many deliveries were queued.
CREATE FUNCTION authd_sessions_revoke_others(p_user bigint, p_keep bigint)
RETURNS TABLE (r_count bigint, r_queued integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RETURN QUERY
	WITH r AS (
		UPDATE sessions SET is_active = false, revoked_at = now(),
		    revoked_reason = 'revoked by the user'
		WHERE user_id = p_user AND id <> p_keep AND is_active
		AND expires_at > now()
		RETURNING id, user_id, company_id)
	SELECT count(*), coalesce(sum(authd_enqueue_event(r.company_id,
	    'session.revoked', jsonb_build_object('user_id', r.user_id,
	    'session_id', r.id, 'reason', 'revoked by the user'))),
	    0)::integer
	FROM r;
END;
$$;
