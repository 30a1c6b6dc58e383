-- authctl(8): the administration commands that work on the database
-- directly (user, company, role, session and the show commands), so that
-- they work while authd is down.
--
-- Every function here returns one row (a_status, a_body) in the manner
-- of sql/005_roles.sql: 200 and the JSON text of the answer, or another
-- status and {"detail": "..."}.  authctl prints the body (as it is with
-- -j, as a table or a line for people) or the detail as its error.
-- Each write, its checks and its audit_log row (actor_user_id NULL) are
-- one call, one transaction; the rows written here also carry "tool":
-- "authctl" in their detail, those of the functions reused from the
-- other migrations as they write them.
--
-- Objects are named as an operator types them: a company by its id or
-- its name, a user by its id, email or username, a role by its id or its
-- name within a company, a permission by its id or its name.  A number
-- is an id first.

-- --- names ----------------------------------------------------------

CREATE FUNCTION authd_ctl_is_id(p_ref text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT p_ref ~ '^[0-9]{1,18}$'
$$;

-- The company named p_ref, or NULL.
CREATE FUNCTION authd_ctl_company(p_ref text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v	bigint;
BEGIN
	IF authd_ctl_is_id(p_ref) THEN
		SELECT id INTO v FROM companies WHERE id = p_ref::bigint;
		IF FOUND THEN
			RETURN v;
		END IF;
	END IF;
	SELECT id INTO v FROM companies WHERE name = p_ref;
	RETURN v;
END;
$$;

-- The company named p_ref, or the root company when p_ref is NULL.
CREATE FUNCTION authd_ctl_scope(p_ref text) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_ref IS NULL
	    THEN (SELECT id FROM companies WHERE is_root)
	    ELSE authd_ctl_company(p_ref) END
$$;

-- The user named p_ref (email and username are unique without case, and
-- a username has no '@': at most one user matches), or NULL.
CREATE FUNCTION authd_ctl_user(p_ref text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v	bigint;
BEGIN
	IF authd_ctl_is_id(p_ref) THEN
		SELECT id INTO v FROM users WHERE id = p_ref::bigint;
		IF FOUND THEN
			RETURN v;
		END IF;
	END IF;
	SELECT id INTO v FROM users
	    WHERE lower(email) = lower(p_ref) OR lower(username) = lower(p_ref);
	RETURN v;
END;
$$;

-- The role of company p_company named p_ref, or NULL.
CREATE FUNCTION authd_ctl_role(p_ref text, p_company bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v	bigint;
BEGIN
	IF authd_ctl_is_id(p_ref) THEN
		SELECT id INTO v FROM roles
		    WHERE id = p_ref::bigint AND company_id = p_company;
		IF FOUND THEN
			RETURN v;
		END IF;
	END IF;
	SELECT id INTO v FROM roles
	    WHERE name = p_ref AND company_id = p_company;
	RETURN v;
END;
$$;

-- A permission a role of p_company may hold (global or the company's).
CREATE FUNCTION authd_ctl_permission(p_ref text, p_company bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v	bigint;
BEGIN
	IF authd_ctl_is_id(p_ref) THEN
		SELECT id INTO v FROM permissions WHERE id = p_ref::bigint
		    AND (company_id IS NULL OR company_id = p_company);
		IF FOUND THEN
			RETURN v;
		END IF;
	END IF;
	SELECT id INTO v FROM permissions WHERE name = p_ref
	    AND (company_id IS NULL OR company_id = p_company);
	RETURN v;
END;
$$;

-- What an operator reads for a refusal the other migrations raise with
-- a constraint name.
CREATE FUNCTION authd_ctl_refusal(p_constraint text, p_message text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_constraint
	    WHEN 'users_email_key' THEN 'a user with this email exists'
	    WHEN 'users_username_key' THEN 'a user with this username exists'
	    WHEN 'users_email_check' THEN 'not an email address'
	    WHEN 'users_username_check'
		THEN 'a username has 1 to 100 characters and no @'
	    WHEN 'users_full_name_check'
		THEN 'a full name has at most 255 characters'
	    WHEN 'authd_users_last_root_delete'
		THEN 'cannot delete the only active root superuser'
	    WHEN 'authd_users_last_root_update'
		THEN 'cannot change the only active root superuser so'
	    WHEN 'authd_users_role_assigned'
		THEN 'the user has this role already'
	    WHEN 'authd_users_role_unassigned'
		THEN 'the user does not have this role'
	    WHEN 'authd_users_user_missing' THEN 'no such user'
	    WHEN 'authd_users_role_missing' THEN 'no such role'
	    WHEN 'companies_name_key' THEN 'a company with this name exists'
	    WHEN 'companies_name_check'
		THEN 'a company name has 1 to 255 characters'
	    WHEN 'roles_company_name_key'
		THEN 'the company has a role with this name'
	    WHEN 'roles_name_check' THEN 'a role name has 1 to 100 characters'
	    ELSE p_message END
$$;

CREATE FUNCTION authd_ctl_audit(p_company bigint, p_action text,
    p_type text, p_id bigint, p_detail jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail)
	VALUES (NULL, p_company, p_action, p_type, p_id,
	    coalesce(p_detail, '{}'::jsonb) ||
	    jsonb_build_object('tool', 'authctl'))
$$;

-- A user as authctl shows it: the User object of API.md with its lock.
CREATE FUNCTION authd_ctl_user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT authd_user_json(u) || jsonb_build_object(
	    'company', (SELECT name FROM companies WHERE id = u.company_id),
	    'locked', u.locked_until IS NOT NULL AND u.locked_until > now(),
	    'locked_until', CASE WHEN u.locked_until IS NULL THEN NULL
		WHEN isfinite(u.locked_until) THEN authd_ts(u.locked_until)
		ELSE 'infinity' END,
	    'failed_logins', u.failed_logins)
$$;

-- --- show ------------------------------------------------------------

CREATE FUNCTION authd_ctl_users(p_company text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_cid	bigint;
BEGIN
	IF p_company IS NOT NULL THEN
		v_cid := authd_ctl_company(p_company);
		IF v_cid IS NULL THEN
			RETURN QUERY SELECT 404, authd_api_error(
			    format('no such company: %s', p_company));
			RETURN;
		END IF;
	END IF;
	RETURN QUERY SELECT 200, coalesce(jsonb_agg(authd_ctl_user_json(u)
	    ORDER BY u.id), '[]'::jsonb)::text
	    FROM users u WHERE v_cid IS NULL OR u.company_id = v_cid;
END;
$$;

CREATE FUNCTION authd_ctl_companies()
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE sql STABLE AS $$
	SELECT 200, coalesce(jsonb_agg(authd_company_json(c) ||
	    jsonb_build_object('users', (SELECT count(*) FROM users u
	    WHERE u.company_id = c.id)) ORDER BY c.id), '[]'::jsonb)::text
	FROM companies c
$$;

-- The live sessions (active and not expired), of one user or of all.
CREATE FUNCTION authd_ctl_sessions(p_user text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_uid	bigint;
BEGIN
	IF p_user IS NOT NULL THEN
		v_uid := authd_ctl_user(p_user);
		IF v_uid IS NULL THEN
			RETURN QUERY SELECT 404, authd_api_error(
			    format('no such user: %s', p_user));
			RETURN;
		END IF;
	END IF;
	RETURN QUERY SELECT 200, coalesce(jsonb_agg(
	    authd_session_json(s, NULL) - 'current' || jsonb_build_object(
	    'username', u.username, 'company_id', s.company_id)
	    ORDER BY s.id), '[]'::jsonb)::text
	    FROM sessions s JOIN users u ON u.id = s.user_id
	    WHERE s.is_active AND s.expires_at > now()
	    AND (v_uid IS NULL OR s.user_id = v_uid);
END;
$$;

CREATE FUNCTION authd_ctl_user_show(p_user text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	u	users;
BEGIN
	SELECT * INTO u FROM users WHERE id = authd_ctl_user(p_user);
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such user: %s', p_user));
		RETURN;
	END IF;
	RETURN QUERY SELECT 200, (authd_ctl_user_json(u) || jsonb_build_object(
	    'roles', authd_user_role_names(u.id),
	    'permissions', authd_user_permission_names(u.id),
	    'sessions', (SELECT count(*) FROM sessions s WHERE
	    s.user_id = u.id AND s.is_active AND s.expires_at > now())))::text;
END;
$$;

-- --- users -----------------------------------------------------------

-- The checks of "user add" made before a password is asked for: the
-- company (the root company when p_company is NULL) exists, and the
-- email and username are well formed and free (as the constraints of
-- users will check again).  Answers {"company_id": N}.
CREATE FUNCTION authd_ctl_user_check(p_company text, p_email text,
    p_username text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_cid	bigint := authd_ctl_scope(p_company);
BEGIN
	IF v_cid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(format(
		    'no such company: %s', coalesce(p_company, '(root)')));
	ELSIF NOT (char_length(p_email) BETWEEN 3 AND 254 AND
	    position('@' IN p_email) > 1) THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    authd_ctl_refusal('users_email_check', NULL));
	ELSIF NOT (char_length(p_username) BETWEEN 1 AND 100 AND
	    position('@' IN p_username) = 0) THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    authd_ctl_refusal('users_username_check', NULL));
	ELSIF EXISTS (SELECT 1 FROM users
	    WHERE lower(email) = lower(p_email)) THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    authd_ctl_refusal('users_email_key', NULL));
	ELSIF EXISTS (SELECT 1 FROM users
	    WHERE lower(username) = lower(p_username)) THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    authd_ctl_refusal('users_username_key', NULL));
	ELSE
		RETURN QUERY SELECT 200,
		    jsonb_build_object('company_id', v_cid)::text;
	END IF;
END;
$$;

-- A new user of p_company (the root company when NULL) with the
-- company's default roles (authd_users_create), verified: an operator
-- made it.
CREATE FUNCTION authd_ctl_user_add(p_company text, p_email text,
    p_username text, p_full_name text, p_hash text, p_active boolean,
    p_superuser boolean)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_cid	bigint := authd_ctl_scope(p_company);
	v_user	jsonb;
	v_con	text;
	v_msg	text;
BEGIN
	IF v_cid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(format(
		    'no such company: %s', coalesce(p_company, '(root)')));
		RETURN;
	END IF;
	v_user := authd_users_create(v_cid, p_email, p_username, p_full_name,
	    p_hash, p_active, p_superuser, '{}'::bigint[], NULL, NULL);
	UPDATE users SET is_verified = true
	    WHERE id = (v_user->>'id')::bigint;
	RETURN QUERY SELECT 200, authd_ctl_user_json(u)::text
	    FROM users u WHERE u.id = (v_user->>'id')::bigint;
EXCEPTION
	WHEN unique_violation OR check_violation OR not_null_violation THEN
		GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME,
		    v_msg = MESSAGE_TEXT;
		RETURN QUERY SELECT 400,
		    authd_api_error(authd_ctl_refusal(v_con, v_msg));
END;
$$;

CREATE FUNCTION authd_ctl_user_del(p_user text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_uid	bigint := authd_ctl_user(p_user);
	v_user	jsonb;
	v_con	text;
	v_msg	text;
BEGIN
	IF v_uid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such user: %s', p_user));
		RETURN;
	END IF;
	v_user := authd_users_delete(v_uid, NULL, NULL, true, NULL);
	RETURN QUERY SELECT 200, v_user::text;
EXCEPTION
	WHEN check_violation OR no_data_found THEN
		GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME,
		    v_msg = MESSAGE_TEXT;
		RETURN QUERY SELECT 400,
		    authd_api_error(authd_ctl_refusal(v_con, v_msg));
END;
$$;

-- A new password; the user's sessions are revoked (authd_users_update).
CREATE FUNCTION authd_ctl_user_passwd(p_user text, p_hash text)
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
	    NULL, NULL, NULL, p_hash, NULL, NULL, NULL, NULL);
	RETURN QUERY SELECT 200, authd_ctl_user_json(u)::text
	    FROM users u WHERE u.id = v_uid;
END;
$$;

-- Lock: no login until unlocked (locked_until infinity), and every
-- session revoked.  Unlock: the lock and the failure counts cleared
-- (authctl clears the Redis counters of the lockout too).
CREATE FUNCTION authd_ctl_user_lock(p_user text, p_lock boolean)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	u	users;
	v_n	bigint := 0;
BEGIN
	IF p_lock THEN
		UPDATE users SET locked_until = 'infinity'
		    WHERE id = authd_ctl_user(p_user) RETURNING * INTO u;
	ELSE
		UPDATE users SET locked_until = NULL, failed_logins = 0,
		    lockout_level = 0
		    WHERE id = authd_ctl_user(p_user) RETURNING * INTO u;
	END IF;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such user: %s', p_user));
		RETURN;
	END IF;
	IF p_lock THEN
		UPDATE sessions SET is_active = false, revoked_at = now(),
		    revoked_reason = 'user locked'
		    WHERE user_id = u.id AND is_active;
		GET DIAGNOSTICS v_n = ROW_COUNT;
	END IF;
	PERFORM authd_ctl_audit(u.company_id, CASE WHEN p_lock
	    THEN 'user.lock' ELSE 'user.unlock' END, 'user', u.id,
	    CASE WHEN p_lock THEN jsonb_build_object('sessions_revoked', v_n)
	    END);
	RETURN QUERY SELECT 200, (authd_ctl_user_json(u) ||
	    jsonb_build_object('sessions_revoked', v_n))::text;
END;
$$;

-- --- companies -------------------------------------------------------

CREATE FUNCTION authd_ctl_company_add(p_name text, p_description text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	c	companies;
	v_con	text;
	v_msg	text;
BEGIN
	INSERT INTO companies (name, description) VALUES (p_name, p_description)
	    RETURNING * INTO c;
	PERFORM authd_seed_company_roles(c.id);
	PERFORM authd_ctl_audit(c.id, 'company.create', 'company', c.id,
	    jsonb_build_object('name', c.name, 'is_active', c.is_active));
	RETURN QUERY SELECT 200, authd_company_json(c)::text;
EXCEPTION
	WHEN unique_violation OR check_violation THEN
		GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME,
		    v_msg = MESSAGE_TEXT;
		RETURN QUERY SELECT 400,
		    authd_api_error(authd_ctl_refusal(v_con, v_msg));
END;
$$;

-- Deletes a company (authd_company_delete); one that has users only with
-- p_force, and then its users with it.
CREATE FUNCTION authd_ctl_company_del(p_company text, p_force boolean)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_cid	bigint := authd_ctl_company(p_company);
	r	record;
BEGIN
	SELECT * INTO r FROM authd_company_delete(v_cid, p_force, NULL, NULL);
	CASE r.status
	WHEN 'deleted' THEN
		RETURN QUERY SELECT 200, r.company::text;
	WHEN 'root' THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    'the root company cannot be deleted');
	WHEN 'has_users' THEN
		RETURN QUERY SELECT 400, authd_api_error(format(
		    'company %s has users: add "force" to delete them with it',
		    p_company));
	ELSE
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such company: %s', p_company));
	END CASE;
END;
$$;

-- --- roles -----------------------------------------------------------
-- The role functions of sql/005_roles.sql, called as a root admin with
-- no actor.

CREATE FUNCTION authd_ctl_role_add(p_company text, p_name text,
    p_description text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_cid	bigint := authd_ctl_scope(p_company);
	v_con	text;
	v_msg	text;
BEGIN
	IF v_cid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such company: %s', p_company));
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM authd_role_create(NULL, v_cid, 'root',
	    NULL, NULL, NULL, jsonb_build_object('name', p_name,
	    'description', p_description));
EXCEPTION
	WHEN unique_violation OR check_violation THEN
		GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME,
		    v_msg = MESSAGE_TEXT;
		RETURN QUERY SELECT 400,
		    authd_api_error(authd_ctl_refusal(v_con, v_msg));
END;
$$;

CREATE FUNCTION authd_ctl_role_del(p_company text, p_role text)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_cid	bigint := authd_ctl_scope(p_company);
	v_rid	bigint := authd_ctl_role(p_role, v_cid);
BEGIN
	IF v_cid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such company: %s', p_company));
	ELSIF v_rid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such role: %s', p_role));
	ELSE
		RETURN QUERY SELECT * FROM authd_role_delete(NULL, v_cid,
		    'root', NULL, v_rid, NULL, '{}'::jsonb);
	END IF;
END;
$$;

-- Grants a permission to a role, or revokes it.
CREATE FUNCTION authd_ctl_role_permission(p_company text, p_role text,
    p_permission text, p_grant boolean)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_cid	bigint := authd_ctl_scope(p_company);
	v_rid	bigint := authd_ctl_role(p_role, v_cid);
	v_pid	bigint := authd_ctl_permission(p_permission, v_cid);
BEGIN
	IF v_cid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such company: %s', p_company));
	ELSIF v_rid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such role: %s', p_role));
	ELSIF v_pid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such permission: %s', p_permission));
	ELSIF p_grant THEN
		RETURN QUERY SELECT * FROM authd_role_permission_add(NULL,
		    v_cid, 'root', NULL, v_rid, v_pid, '{}'::jsonb);
	ELSE
		RETURN QUERY SELECT * FROM authd_role_permission_remove(NULL,
		    v_cid, 'root', NULL, v_rid, v_pid, '{}'::jsonb);
	END IF;
END;
$$;

-- Gives a role to a user, or takes it back.  The role is one of the
-- user's company unless p_company names another (which then fails: a
-- role is never given across companies).
CREATE FUNCTION authd_ctl_role_user(p_company text, p_role text,
    p_user text, p_grant boolean)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_uid	bigint := authd_ctl_user(p_user);
	v_cid	bigint;
	v_rid	bigint;
	v_con	text;
	v_msg	text;
BEGIN
	IF v_uid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such user: %s', p_user));
		RETURN;
	END IF;
	IF p_company IS NULL THEN
		SELECT company_id INTO v_cid FROM users WHERE id = v_uid;
	ELSE
		v_cid := authd_ctl_company(p_company);
	END IF;
	v_rid := authd_ctl_role(p_role, v_cid);
	IF v_cid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such company: %s', p_company));
	ELSIF v_rid IS NULL THEN
		RETURN QUERY SELECT 404, authd_api_error(
		    format('no such role: %s', p_role));
	ELSE
		RETURN QUERY SELECT 200, authd_users_role_set(v_uid, v_rid,
		    p_grant, NULL, NULL, false, NULL)::text;
	END IF;
EXCEPTION
	WHEN unique_violation OR no_data_found THEN
		GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME,
		    v_msg = MESSAGE_TEXT;
		RETURN QUERY SELECT 400,
		    authd_api_error(authd_ctl_refusal(v_con, v_msg));
END;
$$;

-- --- sessions --------------------------------------------------------

-- Revokes a live session: the row is the truth, and workers check it on
-- every request and every refresh.
CREATE FUNCTION authd_ctl_session_kill(p_id bigint)
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
	RETURN QUERY SELECT 200, (authd_session_json(s, NULL) - 'current')::text;
END;
$$;
