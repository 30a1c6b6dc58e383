-- Two races found by a concurrency audit.
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
-- 2. authd_enqueue_event() read the integrations without locking
--    them: one deleted between its snapshot and the insert failed the
--    insert's foreign key (23503 webhook_deliveries_integration_fk),
--    and the event was lost for every other integration too.  The
--    SELECT now locks what it reads FOR KEY SHARE (the lock the
--    foreign key check takes anyway): a row deleted meanwhile is
--    skipped, the others are queued.  Still PL/pgSQL, so its plan is
--    still kept (011_enqueue_plan.sql).
--
-- The functions are those of 014_users_fixes.sql and 011, with only
-- these locks added.

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

-- Queues one event for every subscribed active integration (006).
CREATE OR REPLACE FUNCTION authd_enqueue_event(p_company_id bigint,
    p_type text, p_data jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n	integer;
BEGIN
	WITH e AS (SELECT gen_random_uuid() AS id, now() AS at),
	ins AS (
		INSERT INTO webhook_deliveries (integration_id, company_id,
		    event_id, event_type, payload)
		SELECT i.id, i.company_id, e.id, p_type, jsonb_build_object(
		    'id', e.id,
		    'type', p_type,
		    'created_at', authd_ts(e.at),
		    'company_id', p_company_id,
		    'data', coalesce(p_data, '{}'::jsonb))
		FROM integrations i CROSS JOIN e
		WHERE i.company_id = p_company_id AND i.is_active
		AND i.callback_url IS NOT NULL AND p_type = ANY (i.events)
		FOR KEY SHARE OF i
		RETURNING 1)
	SELECT count(*)::integer INTO n FROM ins;
	RETURN n;
END
$$;
