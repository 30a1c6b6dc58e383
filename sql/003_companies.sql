-- Companies, the audit trail and authorization checks: the JSON shapes
-- of API.md for them and the few writes that need more than one
-- statement's view of the data.

-- The Company object.
CREATE FUNCTION authd_company_json(c companies) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', c.id,
	    'name', c.name,
	    'description', c.description,
	    'is_active', c.is_active,
	    'is_root', c.is_root,
	    'created_at', authd_ts(c.created_at),
	    'updated_at', authd_ts(c.updated_at))
$$;

-- An audit entry as GET /api/v1/audit/ shows it.
CREATE FUNCTION authd_audit_json(a audit_log) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', a.id,
	    'actor_user_id', a.actor_user_id,
	    'company_id', a.company_id,
	    'action', a.action,
	    'object_type', a.object_type,
	    'object_id', a.object_id,
	    'detail', a.detail,
	    'ip_address', host(a.ip_address),
	    'created_at', authd_ts(a.created_at))
$$;

-- A client address as a worker has it (text, "" when unknown) for an
-- inet column.
CREATE FUNCTION authd_inet(p_addr text) RETURNS inet
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_addr IS NULL OR p_addr = '' THEN NULL
	    ELSE p_addr::inet END
$$;

-- Records one audit entry and returns its id.  For PL/pgSQL callers
-- (PERFORM authd_audit(...)).  A single SQL statement should rather
-- write its entry in a data-modifying CTE, "a AS (INSERT INTO audit_log
-- ... SELECT ... FROM <changed rows>)", which PostgreSQL always runs: a
-- CTE that only SELECTs this function runs only if the query reads it.
-- Actions are named "<object>.<verb>" (company.create, user.update).
CREATE FUNCTION authd_audit(p_actor bigint, p_company bigint,
    p_action text, p_object_type text, p_object_id bigint, p_detail jsonb,
    p_addr text) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
	INSERT INTO audit_log (actor_user_id, company_id, action,
	    object_type, object_id, detail, ip_address)
	VALUES (p_actor, p_company, p_action, p_object_type, p_object_id,
	    p_detail, authd_inet(p_addr))
	RETURNING id
$$;

-- Deletes a company for DELETE /api/v1/companies/{id}.  The row is
-- locked first, so that no user can be added to it (an insert takes a
-- key-share lock on the company) between the check for users and the
-- delete; the check then runs on a fresh snapshot that sees every user
-- committed before the lock.  Users, their sessions, roles and every
-- other row of the company go with it by cascade; the audit entry stays.
-- status: 'deleted' (company holds the deleted object), 'not_found',
-- 'root' or 'has_users'.
CREATE FUNCTION authd_company_delete(p_id bigint, p_force boolean,
    p_actor bigint, p_addr text)
RETURNS TABLE (status text, company jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	c	companies;
	n_users	bigint;
BEGIN
	SELECT * INTO c FROM companies WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'not_found'::text, NULL::jsonb;
		RETURN;
	END IF;
	IF c.is_root THEN
		RETURN QUERY SELECT 'root'::text, NULL::jsonb;
		RETURN;
	END IF;
	SELECT count(*) INTO n_users FROM users WHERE company_id = p_id;
	IF n_users > 0 AND NOT p_force THEN
		RETURN QUERY SELECT 'has_users'::text, NULL::jsonb;
		RETURN;
	END IF;
	DELETE FROM companies WHERE id = p_id;
	PERFORM authd_audit(p_actor, p_id, 'company.delete', 'company', p_id,
	    jsonb_build_object('name', c.name, 'force', p_force,
	    'users_deleted', n_users), p_addr);
	RETURN QUERY SELECT 'deleted'::text, authd_company_json(c);
END;
$$;

-- May the user do what the permission names?  A superuser may do
-- everything inside its company, as the route checks let it; anyone
-- else needs the permission among its effective ones, named either as
-- "resource:action" or by its resource type and action (so that
-- resource "companies", action "create" finds "company:create").  An
-- inactive user, or a user of an inactive company, may do nothing.
-- p_permission, or p_resource and p_action, is given.
CREATE FUNCTION authd_user_allowed(p_user_id bigint, p_permission text,
    p_resource text, p_action text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT u.is_active AND c.is_active AND (u.is_superuser OR EXISTS (
	    SELECT 1 FROM authd_user_permissions(u.id) ep
	    JOIN permissions p ON p.id = ep.permission_id
	    JOIN resource_types rt ON rt.id = p.resource_type_id
	    WHERE (p_permission IS NOT NULL AND p.name = p_permission)
	    OR (p_permission IS NULL AND (p.name = p_resource || ':' ||
	    p_action OR (rt.name = p_resource AND p.action = p_action)))))
	FROM users u JOIN companies c ON c.id = u.company_id
	WHERE u.id = p_user_id
$$;
