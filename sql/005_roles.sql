-- Roles, permissions and resource types for the admin API (api_roles.c,
-- api_permissions.c, api_resources.c): their JSON shapes, the parent
-- chain of a role, the rules of who may grant what, and one function per
-- write so that a change, its checks and its audit_log row are one
-- statement, one transaction.
--
-- Every write function has the same arguments, so that the worker has one
-- way to call them:
--   p_actor	the caller's user id
--   p_cid	the caller's company id
--   p_mode	'root' (superuser of the root company), 'admin' (superuser
--		of another company) or 'user' (a non-superuser who holds the
--		route's permission through a role)
--   p_ip	the client address, or NULL
--   p_id	the path's first id (NULL when there is none)
--   p_id2	the path's second id (NULL when there is none)
--   p_body	the request body, its fields already checked for type and
--		length by the worker; unknown keys are ignored here
-- and returns one row (a_status, a_body): the HTTP status and the JSON
-- text of the answer, an object on success and an error body otherwise.
-- Constraint violations (a duplicate name, a race with a deletion) are
-- raised as they are, and the worker maps their constraint names.
--
-- In an update, a key absent from the body leaves its column alone; for
-- description and parent_id an explicit null clears it.

-- {"detail": "..."}, the body of every error but a validation error.
CREATE FUNCTION authd_api_error(p_detail text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('detail', p_detail)::text
$$;

-- A 422 body with one value_error entry at ["body", p_field].
CREATE FUNCTION authd_api_invalid(p_field text, p_msg text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('detail', jsonb_build_array(
	    jsonb_build_object('type', 'value_error',
	    'loc', jsonb_build_array('body', p_field), 'msg', p_msg)))::text
$$;

-- The ResourceType object.
CREATE FUNCTION authd_resource_json(rt resource_types) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', rt.id,
	    'name', rt.name,
	    'description', rt.description,
	    'company_id', rt.company_id,
	    'created_at', authd_ts(rt.created_at),
	    'updated_at', authd_ts(rt.updated_at))
$$;

-- The Permission object; resource is the resource type's current name.
CREATE FUNCTION authd_permission_json(p permissions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', p.id,
	    'name', p.name,
	    'description', p.description,
	    'resource_type_id', p.resource_type_id,
	    'action', p.action,
	    'resource', (SELECT rt.name FROM resource_types rt
		WHERE rt.id = p.resource_type_id),
	    'company_id', p.company_id)
$$;

-- The Role object.
CREATE FUNCTION authd_role_json(r roles) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', r.id,
	    'name', r.name,
	    'description', r.description,
	    'company_id', r.company_id,
	    'is_default', r.is_default,
	    'parent_id', r.parent_id,
	    'created_at', authd_ts(r.created_at),
	    'updated_at', authd_ts(r.updated_at))
$$;

-- A role and its parent chain.  UNION ends the recursion even if a
-- cycle slipped past the trigger of roles.
CREATE FUNCTION authd_role_ancestry(p_role_id bigint)
RETURNS TABLE (role_id bigint)
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE chain(role_id) AS (
		SELECT p_role_id
		UNION
		SELECT r.parent_id FROM roles r JOIN chain c ON r.id = c.role_id
		WHERE r.parent_id IS NOT NULL
	)
	SELECT role_id FROM chain
$$;

-- Ids of the permissions a role grants, its own and inherited ones.
CREATE FUNCTION authd_role_effective_permissions(p_role_id bigint)
RETURNS TABLE (permission_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT DISTINCT rp.permission_id
	FROM authd_role_ancestry(p_role_id) a
	JOIN role_permissions rp ON rp.role_id = a.role_id
$$;

-- RoleWithPermissions: the Role, its direct grants (permissions) and
-- those of its whole parent chain (effective_permissions), by id.
CREATE FUNCTION authd_role_with_permissions_json(r roles) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT authd_role_json(r) || jsonb_build_object(
	    'permissions', (SELECT coalesce(jsonb_agg(
		authd_permission_json(p) ORDER BY p.id), '[]'::jsonb)
		FROM role_permissions rp JOIN permissions p
		ON p.id = rp.permission_id WHERE rp.role_id = r.id),
	    'effective_permissions', (SELECT coalesce(jsonb_agg(
		authd_permission_json(p) ORDER BY p.id), '[]'::jsonb)
		FROM permissions p WHERE p.id IN (SELECT e.permission_id
		FROM authd_role_effective_permissions(r.id) e)))
$$;

-- Whether the caller may hand out a permission (grant it to a role, or
-- make a role inherit it).  A root admin may grant anything; a company
-- admin anything but the company:* permissions, which govern tenants; a
-- user holding roles:update only what it holds itself, so that the
-- permission cannot be used to climb.
CREATE FUNCTION authd_rbac_may_grant(p_mode text, p_actor bigint,
    p_permission_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT CASE p_mode
	    WHEN 'root' THEN true
	    WHEN 'admin' THEN NOT EXISTS (SELECT 1 FROM permissions p
		WHERE p.id = p_permission_id AND p.name LIKE 'company:%')
	    ELSE EXISTS (SELECT 1 FROM authd_user_permissions(p_actor) u
		WHERE u.permission_id = p_permission_id)
	END
$$;

-- Whether the caller may make a role inherit from p_parent: every
-- permission the parent's chain grants must be one it may grant.
CREATE FUNCTION authd_rbac_may_inherit(p_mode text, p_actor bigint,
    p_parent bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT p_mode = 'root' OR NOT EXISTS (
	    SELECT 1 FROM authd_role_effective_permissions(p_parent) e
	    WHERE NOT authd_rbac_may_grant(p_mode, p_actor, e.permission_id))
$$;

-- The company a create acts in: the caller's, or for a root admin the
-- body's company_id.  NULL with a_status/a_body set when refused.
CREATE FUNCTION authd_rbac_target_company(p_cid bigint, p_mode text,
    p_body jsonb, p_what text, OUT a_company bigint, OUT a_status integer,
    OUT a_body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_want	bigint := (p_body->>'company_id')::bigint;
BEGIN
	a_company := p_cid;
	IF v_want IS NULL OR v_want = p_cid THEN
		RETURN;
	END IF;
	a_company := NULL;
	IF p_mode <> 'root' THEN
		a_status := 403;
		a_body := authd_api_error(format(
		    'You can only create %s in your own company', p_what));
	ELSIF NOT EXISTS (SELECT 1 FROM companies WHERE id = v_want) THEN
		a_status := 404;
		a_body := authd_api_error(format(
		    'Company with id %s not found', v_want));
	ELSE
		a_company := v_want;
	END IF;
END;
$$;

-- The 403 of a body field that names something a route cannot change.
CREATE FUNCTION authd_rbac_immutable(p_field text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT authd_api_error(format('Cannot change %s through this endpoint',
	    p_field))
$$;

-- The 422 of a parent_id that would close a loop.
CREATE FUNCTION authd_rbac_cycle() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT authd_api_invalid('parent_id',
	    'Value error, a role cannot be its own ancestor')
$$;

-- --- roles -----------------------------------------------------------

CREATE FUNCTION authd_role_create(p_actor bigint, p_cid bigint, p_mode text,
    p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	t	record;
	v_parent bigint := (p_body->>'parent_id')::bigint;
	r	roles;
BEGIN
	SELECT * INTO t
	    FROM authd_rbac_target_company(p_cid, p_mode, p_body, 'roles');
	IF t.a_company IS NULL THEN
		RETURN QUERY SELECT t.a_status, t.a_body;
		RETURN;
	END IF;
	IF v_parent IS NOT NULL THEN
		IF NOT EXISTS (SELECT 1 FROM roles WHERE id = v_parent
		    AND company_id = t.a_company) THEN
			RETURN QUERY SELECT 404,
			    authd_api_error('Parent role not found');
			RETURN;
		END IF;
		IF NOT authd_rbac_may_inherit(p_mode, p_actor, v_parent) THEN
			RETURN QUERY SELECT 403, authd_api_error(
			    'The user doesn''t have enough privileges');
			RETURN;
		END IF;
	END IF;
	INSERT INTO roles (company_id, name, description, is_default,
	    parent_id)
	    VALUES (t.a_company, p_body->>'name', p_body->>'description',
	    coalesce((p_body->>'is_default')::boolean, false), v_parent)
	    RETURNING * INTO r;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, r.company_id, 'role.create', 'role', r.id,
	    jsonb_build_object('name', r.name, 'is_default', r.is_default,
	    'parent_id', r.parent_id), p_ip);
	RETURN QUERY SELECT 200, authd_role_with_permissions_json(r)::text;
END;
$$;

CREATE FUNCTION authd_role_update(p_actor bigint, p_cid bigint, p_mode text,
    p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	r	roles;
	v_want	bigint := (p_body->>'company_id')::bigint;
	v_parent bigint;
BEGIN
	SELECT * INTO r FROM roles WHERE id = p_id
	    AND (p_mode = 'root' OR company_id = p_cid) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error('Role not found');
		RETURN;
	END IF;
	IF v_want IS NOT NULL AND v_want <> r.company_id THEN
		RETURN QUERY SELECT 403, authd_rbac_immutable('company_id');
		RETURN;
	END IF;
	v_parent := r.parent_id;
	IF p_body ? 'parent_id' THEN
		v_parent := (p_body->>'parent_id')::bigint;
	END IF;
	IF v_parent IS NOT NULL AND v_parent IS DISTINCT FROM r.parent_id THEN
		IF NOT EXISTS (SELECT 1 FROM roles WHERE id = v_parent
		    AND company_id = r.company_id) THEN
			RETURN QUERY SELECT 404,
			    authd_api_error('Parent role not found');
			RETURN;
		END IF;
		IF EXISTS (SELECT 1 FROM authd_role_ancestry(v_parent) a
		    WHERE a.role_id = r.id) THEN
			RETURN QUERY SELECT 422, authd_rbac_cycle();
			RETURN;
		END IF;
		IF NOT authd_rbac_may_inherit(p_mode, p_actor, v_parent) THEN
			RETURN QUERY SELECT 403, authd_api_error(
			    'The user doesn''t have enough privileges');
			RETURN;
		END IF;
	END IF;
	UPDATE roles SET
	    name = coalesce(p_body->>'name', name),
	    description = CASE WHEN p_body ? 'description'
		THEN p_body->>'description' ELSE description END,
	    is_default = coalesce((p_body->>'is_default')::boolean,
		is_default),
	    parent_id = v_parent
	    WHERE id = r.id RETURNING * INTO r;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, r.company_id, 'role.update', 'role', r.id,
	    jsonb_build_object('name', r.name, 'is_default', r.is_default,
	    'parent_id', r.parent_id), p_ip);
	RETURN QUERY SELECT 200, authd_role_with_permissions_json(r)::text;
END;
$$;

CREATE FUNCTION authd_role_delete(p_actor bigint, p_cid bigint, p_mode text,
    p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	r	roles;
BEGIN
	DELETE FROM roles WHERE id = p_id
	    AND (p_mode = 'root' OR company_id = p_cid) RETURNING * INTO r;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error('Role not found');
		RETURN;
	END IF;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, r.company_id, 'role.delete', 'role', r.id,
	    jsonb_build_object('name', r.name), p_ip);
	RETURN QUERY SELECT 200, authd_role_json(r)::text;
END;
$$;

-- p_id is the role, p_id2 the permission: global or of the role's
-- company, else it does not exist as far as this role is concerned.
CREATE FUNCTION authd_role_permission_add(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	r	roles;
	p	permissions;
BEGIN
	SELECT * INTO r FROM roles WHERE id = p_id
	    AND (p_mode = 'root' OR company_id = p_cid) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error('Role not found');
		RETURN;
	END IF;
	SELECT * INTO p FROM permissions WHERE id = p_id2
	    AND (company_id IS NULL OR company_id = r.company_id) FOR SHARE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Permission not found');
		RETURN;
	END IF;
	IF NOT authd_rbac_may_grant(p_mode, p_actor, p.id) THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
	END IF;
	INSERT INTO role_permissions (role_id, permission_id, company_id)
	    VALUES (r.id, p.id, r.company_id) ON CONFLICT DO NOTHING;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    'Permission is already assigned to this role');
		RETURN;
	END IF;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, r.company_id, 'role.permission_assign', 'role',
	    r.id, jsonb_build_object('permission_id', p.id, 'permission',
	    p.name), p_ip);
	RETURN QUERY SELECT 200, authd_role_with_permissions_json(r)::text;
END;
$$;

CREATE FUNCTION authd_role_permission_remove(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	r	roles;
	p	permissions;
BEGIN
	SELECT * INTO r FROM roles WHERE id = p_id
	    AND (p_mode = 'root' OR company_id = p_cid) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404, authd_api_error('Role not found');
		RETURN;
	END IF;
	SELECT * INTO p FROM permissions WHERE id = p_id2
	    AND (company_id IS NULL OR company_id = r.company_id);
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Permission not found');
		RETURN;
	END IF;
	DELETE FROM role_permissions
	    WHERE role_id = r.id AND permission_id = p.id;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 400, authd_api_error(
		    'Permission is not assigned to this role');
		RETURN;
	END IF;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, r.company_id, 'role.permission_unassign', 'role',
	    r.id, jsonb_build_object('permission_id', p.id, 'permission',
	    p.name), p_ip);
	RETURN QUERY SELECT 200, authd_role_with_permissions_json(r)::text;
END;
$$;

-- --- resource types --------------------------------------------------

-- "global": true makes a global row (root admins only); anything else
-- belongs to the caller's company, or for a root admin to company_id.
CREATE FUNCTION authd_resource_create(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	t	record;
	v_company bigint;
	rt	resource_types;
BEGIN
	IF coalesce((p_body->>'global')::boolean, false) THEN
		IF p_mode <> 'root' THEN
			RETURN QUERY SELECT 403, authd_api_error('Only root '
			    'admins can create global resource types');
			RETURN;
		END IF;
		IF p_body->>'company_id' IS NOT NULL THEN
			RETURN QUERY SELECT 422, authd_api_invalid('company_id',
			    'Value error, a global resource type belongs to no '
			    'company');
			RETURN;
		END IF;
	ELSE
		SELECT * INTO t FROM authd_rbac_target_company(p_cid, p_mode,
		    p_body, 'resource types');
		IF t.a_company IS NULL THEN
			RETURN QUERY SELECT t.a_status, t.a_body;
			RETURN;
		END IF;
		v_company := t.a_company;
	END IF;
	INSERT INTO resource_types (company_id, name, description)
	    VALUES (v_company, p_body->>'name', p_body->>'description')
	    RETURNING * INTO rt;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, coalesce(rt.company_id, p_cid),
	    'resource_type.create', 'resource_type', rt.id,
	    jsonb_build_object('name', rt.name, 'global',
	    rt.company_id IS NULL), p_ip);
	RETURN QUERY SELECT 200, authd_resource_json(rt)::text;
END;
$$;

-- The row a caller may write: its company's, or any for a root admin;
-- a global row is visible to everyone but written only by root admins.
CREATE FUNCTION authd_resource_update(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	rt	resource_types;
BEGIN
	SELECT * INTO rt FROM resource_types WHERE id = p_id
	    AND (p_mode = 'root' OR company_id IS NULL OR company_id = p_cid)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Resource type not found');
		RETURN;
	END IF;
	IF rt.company_id IS NULL AND p_mode <> 'root' THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
	END IF;
	IF p_body->>'global' IS NOT NULL AND
	    (p_body->>'global')::boolean <> (rt.company_id IS NULL) THEN
		RETURN QUERY SELECT 403, authd_rbac_immutable('global');
		RETURN;
	END IF;
	IF p_body->>'company_id' IS NOT NULL AND
	    (p_body->>'company_id')::bigint IS DISTINCT FROM rt.company_id THEN
		RETURN QUERY SELECT 403, authd_rbac_immutable('company_id');
		RETURN;
	END IF;
	UPDATE resource_types SET
	    name = coalesce(p_body->>'name', name),
	    description = CASE WHEN p_body ? 'description'
		THEN p_body->>'description' ELSE description END
	    WHERE id = rt.id RETURNING * INTO rt;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, coalesce(rt.company_id, p_cid),
	    'resource_type.update', 'resource_type', rt.id,
	    jsonb_build_object('name', rt.name), p_ip);
	RETURN QUERY SELECT 200, authd_resource_json(rt)::text;
END;
$$;

CREATE FUNCTION authd_resource_delete(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	rt	resource_types;
BEGIN
	SELECT * INTO rt FROM resource_types WHERE id = p_id
	    AND (p_mode = 'root' OR company_id IS NULL OR company_id = p_cid)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Resource type not found');
		RETURN;
	END IF;
	IF rt.company_id IS NULL AND p_mode <> 'root' THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
	END IF;
	-- The foreign key of permissions refuses it too (a permission
	-- created meanwhile); this answers the usual case by name.
	IF EXISTS (SELECT 1 FROM permissions WHERE resource_type_id = rt.id)
	    THEN
		RETURN QUERY SELECT 400, authd_api_error('Cannot delete '
		    'resource type that has associated permissions. Please '
		    'delete or reassign the permissions first.');
		RETURN;
	END IF;
	DELETE FROM resource_types WHERE id = rt.id;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, coalesce(rt.company_id, p_cid),
	    'resource_type.delete', 'resource_type', rt.id,
	    jsonb_build_object('name', rt.name), p_ip);
	RETURN QUERY SELECT 200, authd_resource_json(rt)::text;
END;
$$;

-- --- permissions -----------------------------------------------------

-- The name defaults to "<resource type name>:<action>", the form the
-- admin routes check.  A global permission names a global resource type;
-- a company's one a global type or one of its company.
CREATE FUNCTION authd_permission_create(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	t	record;
	v_company bigint;
	rt	resource_types;
	p	permissions;
BEGIN
	IF coalesce((p_body->>'global')::boolean, false) THEN
		IF p_mode <> 'root' THEN
			RETURN QUERY SELECT 403, authd_api_error(
			    'Only root admins can create global permissions');
			RETURN;
		END IF;
		IF p_body->>'company_id' IS NOT NULL THEN
			RETURN QUERY SELECT 422, authd_api_invalid('company_id',
			    'Value error, a global permission belongs to no '
			    'company');
			RETURN;
		END IF;
	ELSE
		SELECT * INTO t FROM authd_rbac_target_company(p_cid, p_mode,
		    p_body, 'permissions');
		IF t.a_company IS NULL THEN
			RETURN QUERY SELECT t.a_status, t.a_body;
			RETURN;
		END IF;
		v_company := t.a_company;
	END IF;
	SELECT * INTO rt FROM resource_types
	    WHERE id = (p_body->>'resource_type_id')::bigint
	    AND (company_id IS NULL OR company_id = v_company) FOR SHARE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Resource type not found');
		RETURN;
	END IF;
	INSERT INTO permissions (company_id, resource_type_id, action, name,
	    description)
	    VALUES (v_company, rt.id, p_body->>'action',
	    coalesce(p_body->>'name', rt.name || ':' || (p_body->>'action')),
	    p_body->>'description')
	    RETURNING * INTO p;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, coalesce(p.company_id, p_cid),
	    'permission.create', 'permission', p.id,
	    jsonb_build_object('name', p.name, 'global', p.company_id IS NULL),
	    p_ip);
	RETURN QUERY SELECT 200, authd_permission_json(p)::text;
END;
$$;

CREATE FUNCTION authd_permission_update(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	p	permissions;
	v_rt	bigint;
BEGIN
	SELECT * INTO p FROM permissions WHERE id = p_id
	    AND (p_mode = 'root' OR company_id IS NULL OR company_id = p_cid)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Permission not found');
		RETURN;
	END IF;
	IF p.company_id IS NULL AND p_mode <> 'root' THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
	END IF;
	IF p_body->>'global' IS NOT NULL AND
	    (p_body->>'global')::boolean <> (p.company_id IS NULL) THEN
		RETURN QUERY SELECT 403, authd_rbac_immutable('global');
		RETURN;
	END IF;
	IF p_body->>'company_id' IS NOT NULL AND
	    (p_body->>'company_id')::bigint IS DISTINCT FROM p.company_id THEN
		RETURN QUERY SELECT 403, authd_rbac_immutable('company_id');
		RETURN;
	END IF;
	v_rt := p.resource_type_id;
	IF p_body->>'resource_type_id' IS NOT NULL THEN
		SELECT id INTO v_rt FROM resource_types
		    WHERE id = (p_body->>'resource_type_id')::bigint
		    AND (company_id IS NULL OR company_id = p.company_id)
		    FOR SHARE;
		IF NOT FOUND THEN
			RETURN QUERY SELECT 404,
			    authd_api_error('Resource type not found');
			RETURN;
		END IF;
	END IF;
	UPDATE permissions SET
	    name = coalesce(p_body->>'name', name),
	    description = CASE WHEN p_body ? 'description'
		THEN p_body->>'description' ELSE description END,
	    action = coalesce(p_body->>'action', action),
	    resource_type_id = v_rt
	    WHERE id = p.id RETURNING * INTO p;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, coalesce(p.company_id, p_cid),
	    'permission.update', 'permission', p.id,
	    jsonb_build_object('name', p.name), p_ip);
	RETURN QUERY SELECT 200, authd_permission_json(p)::text;
END;
$$;

-- Deleting a permission takes it out of every role that grants it.
CREATE FUNCTION authd_permission_delete(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	p	permissions;
	v_json	jsonb;
BEGIN
	SELECT * INTO p FROM permissions WHERE id = p_id
	    AND (p_mode = 'root' OR company_id IS NULL OR company_id = p_cid)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 404,
		    authd_api_error('Permission not found');
		RETURN;
	END IF;
	IF p.company_id IS NULL AND p_mode <> 'root' THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
	END IF;
	v_json := authd_permission_json(p);
	DELETE FROM permissions WHERE id = p.id;
	INSERT INTO audit_log (actor_user_id, company_id, action, object_type,
	    object_id, detail, ip_address)
	    VALUES (p_actor, coalesce(p.company_id, p_cid),
	    'permission.delete', 'permission', p.id,
	    jsonb_build_object('name', p.name), p_ip);
	RETURN QUERY SELECT 200, v_json::text;
END;
$$;
