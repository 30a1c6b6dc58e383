-- Users for the admin API (api_users.c): the writes whose checks, change
-- and audit_log row must be one transaction.
--
-- Arguments common to these functions:
--   p_scope	the company the caller acts in, or NULL for a root admin
--		(every company); a user outside it is answered as missing
--   p_actor	the caller's user id
--   p_admin	whether the caller is a superuser (of its company), as
--		opposed to a user holding the route's permission
--   p_addr	the client address as text ('' or NULL when unknown)
--
-- Refusals are raised with a constraint name (PG_DIAG_CONSTRAINT_NAME)
-- that the worker maps to the answer of API.md, like the constraints of
-- the tables themselves (users_email_key, user_roles_role_fk...):
--   authd_users_user_missing	 P0002 404 User not found
--   authd_users_role_missing	 P0002 404 Role not found
--   authd_users_company_missing	 P0002 404 Company with id N not found
--   authd_users_privileges	 42501 403 not enough privileges
--   authd_users_last_root_delete 23514 400 the only root superuser
--   authd_users_last_root_update 23514 400 the same, for an update
--   authd_users_role_assigned	 23505 400 already assigned
--   authd_users_role_unassigned	 P0002 400 not assigned

-- True when a role of p_role_ids, or a role of its parent chain, grants
-- a permission that the user p_actor does not hold: a user who may
-- assign roles (roles:update) but is no superuser may hand out only
-- what it holds, so that the permission cannot be used to climb.
CREATE FUNCTION authd_users_roles_escalate(p_role_ids bigint[],
    p_actor bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE chain(role_id) AS (
		SELECT unnest(p_role_ids)
		UNION
		SELECT r.parent_id FROM roles r JOIN chain c ON r.id = c.role_id
		WHERE r.parent_id IS NOT NULL
	)
	SELECT EXISTS (
	    SELECT 1 FROM chain c
	    JOIN role_permissions rp ON rp.role_id = c.role_id
	    WHERE rp.permission_id NOT IN (
		SELECT h.permission_id FROM authd_user_permissions(p_actor) h))
$$;

-- The checks of POST /users/ that can be made before the password is
-- hashed (a keyholder's time is the scarce resource): the company
-- exists, the email and username are free, every role id names a role
-- of the company, and whether those roles would give the caller more
-- than it holds (only asked when p_check).  The insert checks again.
CREATE FUNCTION authd_users_create_check(p_company bigint, p_email text,
    p_username text, p_role_ids bigint[], p_actor bigint, p_check boolean,
    OUT company_ok boolean, OUT email_taken boolean,
    OUT username_taken boolean, OUT roles_ok boolean,
    OUT roles_escalate boolean)
LANGUAGE sql STABLE AS $$
	SELECT
	    EXISTS (SELECT 1 FROM companies WHERE id = p_company),
	    EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(p_email)),
	    EXISTS (SELECT 1 FROM users
		WHERE lower(username) = lower(p_username)),
	    (SELECT count(*) FROM roles WHERE company_id = p_company
		AND id = ANY (p_role_ids)) =
		(SELECT count(DISTINCT x) FROM unnest(p_role_ids) x),
	    p_check AND authd_users_roles_escalate(p_role_ids, p_actor)
$$;

-- POST /users/ and /auth/register.  The new user gets the company's
-- default roles and p_role_ids, each of which must be a role of the
-- company.  Returns the User object.
CREATE FUNCTION authd_users_create(p_company bigint, p_email text,
    p_username text, p_full_name text, p_hash text, p_active boolean,
    p_superuser boolean, p_role_ids bigint[], p_actor bigint, p_addr text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n	users;
BEGIN
	INSERT INTO users (company_id, email, username, full_name,
	    hashed_password, is_active, is_superuser)
	    VALUES (p_company, p_email, p_username, p_full_name, p_hash,
	    p_active, p_superuser)
	    RETURNING * INTO n;
	IF EXISTS (SELECT 1 FROM unnest(p_role_ids) x WHERE NOT EXISTS (
	    SELECT 1 FROM roles r WHERE r.id = x
	    AND r.company_id = p_company)) THEN
		RAISE EXCEPTION 'role not found in company %', p_company
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_role_missing';
	END IF;
	INSERT INTO user_roles (user_id, role_id, company_id)
	    SELECT n.id, r.id, p_company FROM roles r
	    WHERE r.company_id = p_company
	    AND (r.is_default OR r.id = ANY (p_role_ids));
	PERFORM authd_audit(p_actor, p_company, 'user.create', 'user', n.id,
	    jsonb_build_object('email', n.email, 'username', n.username,
	    'is_superuser', n.is_superuser, 'is_active', n.is_active,
	    'role_ids', to_jsonb(p_role_ids)), p_addr);
	RETURN authd_user_json(n);
END;
$$;

-- Refuses a change that would leave the system without an active
-- superuser of the root company, which nobody could then replace.
-- The caller holds the advisory lock that serialises such changes.
CREATE FUNCTION authd_users_keep_root(o users, p_constraint text)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF o.is_superuser AND EXISTS (SELECT 1 FROM companies c
	    WHERE c.id = o.company_id AND c.is_root) AND NOT EXISTS (
	    SELECT 1 FROM users u WHERE u.company_id = o.company_id
	    AND u.is_superuser AND u.is_active AND u.id <> o.id) THEN
		RAISE EXCEPTION 'user % is the only root superuser', o.id
		    USING ERRCODE = 'check_violation',
		    CONSTRAINT = p_constraint;
	END IF;
END;
$$;

-- A user that is not the caller, in the caller's scope, locked for the
-- change; a permission holder may not act on a superuser.
CREATE FUNCTION authd_users_target(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean) RETURNS users
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o	users;
BEGIN
	SELECT * INTO o FROM users
	    WHERE id = p_id AND (p_scope IS NULL OR company_id = p_scope)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % not found', p_id
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_user_missing';
	END IF;
	IF o.is_superuser AND NOT p_admin AND o.id <> p_actor THEN
		RAISE EXCEPTION 'user % is a superuser', p_id
		    USING ERRCODE = 'insufficient_privilege',
		    CONSTRAINT = 'authd_users_privileges';
	END IF;
	RETURN o;
END;
$$;

-- PUT /users/{id} and PUT /users/me.  A NULL argument leaves its column
-- alone; the worker has already refused the fields the caller may not
-- set.  A new email clears is_verified (unless p_is_verified says
-- otherwise).  A new password, a deactivation or a move to another
-- company revokes the user's sessions, except p_keep_session when only
-- the password changed (the caller's own session).  A move drops the
-- user's roles, which belong to the old company, for the new company's
-- default roles.  Returns the User object.
CREATE FUNCTION authd_users_update(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean, p_keep_session bigint, p_addr text,
    p_email text, p_username text, p_full_name text, p_hash text,
    p_is_active boolean, p_is_superuser boolean, p_company_id bigint,
    p_is_verified boolean)
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
	    full_name = coalesce(p_full_name, full_name),
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

-- DELETE /users/{id}.  Sessions, role assignments and login history go
-- with the user by cascade; the audit entry stays.  Returns the deleted
-- User object.
CREATE FUNCTION authd_users_delete(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean, p_addr text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o	users;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('authd.users.root', 0));
	o := authd_users_target(p_id, p_scope, p_actor, p_admin);
	PERFORM authd_users_keep_root(o, 'authd_users_last_root_delete');
	DELETE FROM users WHERE id = p_id;
	PERFORM authd_audit(p_actor, o.company_id, 'user.delete', 'user', o.id,
	    jsonb_build_object('email', o.email, 'username', o.username,
	    'is_superuser', o.is_superuser), p_addr);
	RETURN authd_user_json(o);
END;
$$;

-- POST and DELETE /users/{id}/roles/{role_id}: the role must be one of
-- the user's company; a caller that is no superuser may only hand out
-- or take back roles whose permissions it holds itself (p_check).
-- Returns the User object with its role names.
CREATE FUNCTION authd_users_role_set(p_id bigint, p_role bigint,
    p_assign boolean, p_scope bigint, p_actor bigint, p_check boolean,
    p_addr text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	u	users;
	r	roles;
BEGIN
	SELECT * INTO u FROM users
	    WHERE id = p_id AND (p_scope IS NULL OR company_id = p_scope)
	    FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % not found', p_id
		    USING ERRCODE = 'no_data_found',
		    CONSTRAINT = 'authd_users_user_missing';
	END IF;
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
