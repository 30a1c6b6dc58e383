-- A race found by a concurrency audit.
--
-- 1. Deadlock between DELETE /companies/{id}?force=true and a write on
--    one of the company's users.  authd_users_role_set() and
--    authd_users_target() (PUT and DELETE /users/{id}) locked the user
--    row, then needed the company row (the foreign key checks of the
--    rows they insert, e.g. user_roles or webhook_deliveries, take a
--    key-share lock on it); authd_company_delete() locks the company
--    FOR UPDATE, then deletes its users.  PostgreSQL broke the cycle
--    with 40P01, and the delete failed (503).  Both now take the
--    company's key-share lock before locking the user: one lock order,
--    company then user.  A write that comes second waits for the
--    delete, then finds no user and answers 404; a delete that comes
--    second waits for the write.  The company is read from the user
--    row without a lock: should the user move meanwhile, the lock
--    taken is useless but harmless, and the rest is unchanged.
--
-- The functions are those of 014_users_fixes.sql, with only this lock
-- added.

-- A user that is not the caller, in the caller's scope, locked for the
-- change; a permission holder may not act on a user holding more.
CREATE OR REPLACE FUNCTION authd_users_target(p_id bigint, p_scope bigint,
    p_actor bigint, p_admin boolean) RETURNS users
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o	users;
BEGIN
	-- Lock order (see the top): the company first, then the user.
	PERFORM 1 FROM companies
	    WHERE id = (SELECT company_id FROM users WHERE id = p_id)
	    FOR KEY SHARE;
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
	-- Lock order (see the top): the company first, then the user.
	PERFORM 1 FROM companies
	    WHERE id = (SELECT company_id FROM users WHERE id = p_id)
	    FOR KEY SHARE;
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
