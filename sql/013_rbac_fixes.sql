-- Two defects of the role writes of 005_roles.sql.
--
-- 1. A deadlock between concurrent parent edits of one company.
--    authd_role_update locked its role FOR UPDATE, then its UPDATE took
--    the per-company advisory lock of authd_roles_check_cycle and its
--    foreign key check took KEY SHARE on the new parent.  Two requests
--    putting R1 under R2 and R2 under R1 each held their own role and
--    waited for the other's (PostgreSQL ends one with SQLSTATE 40P01,
--    which the worker answered 500).  Now every write that sets a parent
--    takes that advisory lock first, before any row lock, so that parent
--    edits of one company run one after the other and the second sees
--    the first: the one that would close a loop gets the 422 of a cycle.
--    An UPDATE that leaves parent_id as it was cannot close a loop, so
--    the trigger no longer takes the lock for it: a write that keeps its
--    role's parent (a rename, say) never waits for the advisory lock
--    while holding a row lock.
--
-- 2. An escalation through is_default.  A user holding roles:update (not
--    a superuser) could make the company's "admin" role default, and
--    every user created afterwards got it, although that user may not
--    assign the role, nor make another role inherit it.  Making a role
--    default now needs the same as assigning it: a superuser, or a
--    caller holding every permission the role grants, inherited ones
--    included.

-- The lock that serialises the parent edits of a company.  The trigger
-- below takes it too, under the same key.
CREATE FUNCTION authd_roles_parent_lock(p_company bigint) RETURNS void
LANGUAGE sql VOLATILE AS $$
	SELECT pg_advisory_xact_lock(
	    hashtextextended('authd.roles.parent.' || p_company, 0))
$$;

CREATE OR REPLACE FUNCTION authd_roles_check_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.parent_id IS NULL THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.parent_id = OLD.parent_id AND
	    NEW.company_id = OLD.company_id THEN
		RETURN NEW;
	END IF;
	PERFORM authd_roles_parent_lock(NEW.company_id);
	IF EXISTS (
	    WITH RECURSIVE up(id, depth) AS (
		SELECT NEW.parent_id, 1
		UNION
		SELECT r.parent_id, up.depth + 1
		FROM roles r JOIN up ON r.id = up.id
		WHERE r.parent_id IS NOT NULL AND up.depth < 1000
	    )
	    SELECT 1 FROM up WHERE id = NEW.id) THEN
		RAISE EXCEPTION 'role % would be its own ancestor', NEW.id
		    USING ERRCODE = 'check_violation',
		    CONSTRAINT = 'roles_parent_cycle', TABLE = 'roles';
	END IF;
	RETURN NEW;
END;
$$;

-- Whether the caller may make a role default, so that every new user of
-- the company gets it: a superuser may; anyone else only if it may grant
-- every permission the role would grant, its own (p_role, NULL for a
-- role being created) and those of its parent chain (from p_parent, the
-- parent it will have).
CREATE FUNCTION authd_rbac_may_default(p_mode text, p_actor bigint,
    p_role bigint, p_parent bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT p_mode IN ('root', 'admin') OR NOT EXISTS (
	    SELECT 1 FROM (
		SELECT rp.permission_id FROM role_permissions rp
		WHERE rp.role_id = p_role
		UNION
		SELECT e.permission_id
		FROM authd_role_effective_permissions(p_parent) e) g
	    WHERE NOT authd_rbac_may_grant(p_mode, p_actor, g.permission_id))
$$;

CREATE OR REPLACE FUNCTION authd_role_create(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
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
		PERFORM authd_roles_parent_lock(t.a_company);
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
	IF coalesce((p_body->>'is_default')::boolean, false) AND
	    NOT authd_rbac_may_default(p_mode, p_actor, NULL, v_parent) THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
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

-- The company of the role is read without a lock to take the advisory
-- lock first: a role never changes company.
CREATE OR REPLACE FUNCTION authd_role_update(p_actor bigint, p_cid bigint,
    p_mode text, p_ip inet, p_id bigint, p_id2 bigint, p_body jsonb)
RETURNS TABLE (a_status integer, a_body text)
LANGUAGE plpgsql AS $$
DECLARE
	r	roles;
	v_want	bigint := (p_body->>'company_id')::bigint;
	v_parent bigint;
	v_company bigint;
BEGIN
	IF p_body->>'parent_id' IS NOT NULL THEN
		SELECT company_id INTO v_company FROM roles WHERE id = p_id
		    AND (p_mode = 'root' OR company_id = p_cid);
		IF FOUND THEN
			PERFORM authd_roles_parent_lock(v_company);
		END IF;
	END IF;
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
	IF NOT r.is_default AND
	    coalesce((p_body->>'is_default')::boolean, false) AND
	    NOT authd_rbac_may_default(p_mode, p_actor, r.id, v_parent) THEN
		RETURN QUERY SELECT 403, authd_api_error(
		    'The user doesn''t have enough privileges');
		RETURN;
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
