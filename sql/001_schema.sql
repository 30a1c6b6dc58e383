-- authd schema, version 1.
--
-- Applied by "authctl db migrate", which runs each numbered file in its own
-- transaction together with its row in schema_migrations: a file must not
-- contain BEGIN, COMMIT or statements that cannot run in a transaction.
--
-- Conventions:
--  * ids are "bigint generated always as identity" (positive, never
--    reused; an import that must keep old ids uses OVERRIDING SYSTEM VALUE);
--  * every timestamp is timestamptz defaulting to now();
--  * every table that belongs to a tenant carries company_id NOT NULL and
--    every worker query on it filters on company_id.  resource_types and
--    permissions are the exception: company_id NULL marks a global row,
--    owned by the root company and usable in every company;
--  * child tables repeat the company_id of their parent and reference the
--    parent through (id, company_id), so a row can never point across
--    tenants (a role of company A given to a user of company B, an event
--    filed under another company's integration);
--  * secrets are never stored in clear: tokens and API keys as SHA-256
--    (bytea, 32 bytes), TOTP and integration secrets sealed by a keyholder
--    key (bytea), passwords as PHC/crypt strings;
--  * errors a worker must map to an API answer carry a stable constraint
--    name (PG_DIAG_CONSTRAINT_NAME), also when raised by a trigger.

-- Keeps updated_at honest without every UPDATE having to remember it.
CREATE FUNCTION authd_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END;
$$;

-- Companies (tenants).  Exactly one may be the root company.
CREATE TABLE companies (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL,
	description	text,
	is_active	boolean NOT NULL DEFAULT true,
	is_root		boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT companies_name_key UNIQUE (name),
	CONSTRAINT companies_name_check
	    CHECK (char_length(name) BETWEEN 1 AND 255)
);
-- At most one root company: a unique index over the rows where is_root.
CREATE UNIQUE INDEX companies_one_root ON companies (is_root) WHERE is_root;
CREATE TRIGGER companies_touch BEFORE UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION authd_touch_updated_at();

-- Users.  Email and username are unique across the whole system, without
-- regard to case: API.md's duplicate messages say "in the system", login
-- takes either one without naming a company, and a username cannot contain
-- '@', so the two never collide.  Lookups must use lower(email) and
-- lower(username) to hit the indexes.
CREATE TABLE users (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	email		text NOT NULL,
	username	text NOT NULL,
	full_name	text,
	hashed_password	text NOT NULL,
	is_active	boolean NOT NULL DEFAULT true,
	is_superuser	boolean NOT NULL DEFAULT false,
	is_verified	boolean NOT NULL DEFAULT false,
	-- TOTP: the enabled secret and the one being set up, both sealed by
	-- the keyholder; the last accepted time step, so a code (and any
	-- earlier one) is accepted once.
	two_factor_enabled	  boolean NOT NULL DEFAULT false,
	two_factor_secret_sealed  bytea,
	two_factor_pending_sealed bytea,
	two_factor_last_step	  bigint,
	-- Durable lockout state; the sliding counters live in Redis.
	-- lockout_level counts the lockouts so that each repeat doubles.
	failed_logins	integer NOT NULL DEFAULT 0,
	lockout_level	integer NOT NULL DEFAULT 0,
	locked_until	timestamptz,
	password_changed_at timestamptz NOT NULL DEFAULT now(),
	last_login	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT users_id_company_key UNIQUE (id, company_id),
	CONSTRAINT users_email_check
	    CHECK (char_length(email) BETWEEN 3 AND 254
	    AND position('@' IN email) > 1),
	CONSTRAINT users_username_check
	    CHECK (char_length(username) BETWEEN 1 AND 100
	    AND position('@' IN username) = 0),
	CONSTRAINT users_full_name_check
	    CHECK (full_name IS NULL OR char_length(full_name) <= 255),
	CONSTRAINT users_hashed_password_check
	    CHECK (char_length(hashed_password) BETWEEN 1 AND 255),
	CONSTRAINT users_two_factor_check
	    CHECK (NOT two_factor_enabled
	    OR two_factor_secret_sealed IS NOT NULL),
	CONSTRAINT users_counters_check
	    CHECK (failed_logins >= 0 AND lockout_level >= 0)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_company_idx ON users (company_id, id);
CREATE INDEX users_company_created_idx ON users (company_id, created_at);
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION authd_touch_updated_at();

-- Recovery codes for 2FA, stored hashed; each is used once.
CREATE TABLE user_recovery_codes (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL
			    REFERENCES users (id) ON DELETE CASCADE,
	code_hash	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	used_at		timestamptz,
	CONSTRAINT user_recovery_codes_key UNIQUE (user_id, code_hash)
);

-- Roles belong to one company; parent_id must be a role of the same
-- company, and deleting a parent only detaches its children.
CREATE TABLE roles (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	name		text NOT NULL,
	description	text,
	is_default	boolean NOT NULL DEFAULT false,
	parent_id	bigint,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT roles_company_name_key UNIQUE (company_id, name),
	CONSTRAINT roles_id_company_key UNIQUE (id, company_id),
	CONSTRAINT roles_parent_fk FOREIGN KEY (parent_id, company_id)
	    REFERENCES roles (id, company_id) ON DELETE SET NULL (parent_id),
	CONSTRAINT roles_parent_self_check CHECK (parent_id <> id),
	CONSTRAINT roles_name_check CHECK (char_length(name) BETWEEN 1 AND 100)
);
CREATE INDEX roles_parent_idx ON roles (parent_id)
    WHERE parent_id IS NOT NULL;
CREATE INDEX roles_default_idx ON roles (company_id) WHERE is_default;
CREATE TRIGGER roles_touch BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION authd_touch_updated_at();

-- A cycle in parent_id would make permission inheritance loop.  The API
-- checks first (422); this is the backstop.  The per-company lock keeps
-- two concurrent edits (A under B, B under A) from both passing.
CREATE FUNCTION authd_roles_check_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.parent_id IS NULL THEN
		RETURN NEW;
	END IF;
	PERFORM pg_advisory_xact_lock(
	    hashtextextended('authd.roles.parent.' || NEW.company_id, 0));
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
CREATE TRIGGER roles_check_cycle
    BEFORE INSERT OR UPDATE OF parent_id ON roles
    FOR EACH ROW EXECUTE FUNCTION authd_roles_check_cycle();

-- Resource types and permissions: company_id NULL is a global row.  A
-- name is unique among the global rows and one company's rows together,
-- so a company cannot shadow a global name (a global "users:read" and a
-- company "users:read").  Two partial unique indexes cover each half;
-- authd_scoped_name_check() refuses the crossings.
CREATE TABLE resource_types (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	company_id	bigint REFERENCES companies (id) ON DELETE CASCADE,
	name		text NOT NULL,
	description	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT resource_types_name_check
	    CHECK (char_length(name) BETWEEN 1 AND 100)
);
CREATE UNIQUE INDEX resource_types_global_name_key
    ON resource_types (name) WHERE company_id IS NULL;
CREATE UNIQUE INDEX resource_types_company_name_key
    ON resource_types (company_id, name) WHERE company_id IS NOT NULL;
CREATE TRIGGER resource_types_touch BEFORE UPDATE ON resource_types
    FOR EACH ROW EXECUTE FUNCTION authd_touch_updated_at();

CREATE TABLE permissions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	company_id	bigint REFERENCES companies (id) ON DELETE CASCADE,
	-- NO ACTION, not RESTRICT: a resource type with permissions cannot
	-- be deleted alone, but a company deletion cascades to both.
	resource_type_id bigint NOT NULL REFERENCES resource_types (id),
	action		text NOT NULL,
	name		text NOT NULL,
	description	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT permissions_name_check
	    CHECK (char_length(name) BETWEEN 1 AND 100),
	CONSTRAINT permissions_action_check
	    CHECK (char_length(action) BETWEEN 1 AND 50)
);
CREATE UNIQUE INDEX permissions_global_name_key
    ON permissions (name) WHERE company_id IS NULL;
CREATE UNIQUE INDEX permissions_company_name_key
    ON permissions (company_id, name) WHERE company_id IS NOT NULL;
CREATE INDEX permissions_resource_type_idx ON permissions (resource_type_id);
CREATE TRIGGER permissions_touch BEFORE UPDATE ON permissions
    FOR EACH ROW EXECUTE FUNCTION authd_touch_updated_at();

-- Refuses a company row whose name exists globally and a global row whose
-- name exists in any company, as a unique_violation named
-- <table>_name_scope.  The advisory lock on the name serialises the two
-- kinds of insert, which the partial indexes alone cannot see; under READ
-- COMMITTED the query after the lock sees the rows committed before it.
CREATE FUNCTION authd_scoped_name_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	clash	boolean;
BEGIN
	PERFORM pg_advisory_xact_lock(
	    hashtextextended('authd.' || TG_TABLE_NAME || '.' || NEW.name, 0));
	IF NEW.company_id IS NULL THEN
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE name = $1'
		    ' AND company_id IS NOT NULL AND id <> $2)', TG_TABLE_NAME)
		    INTO clash USING NEW.name, NEW.id;
	ELSE
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE name = $1'
		    ' AND company_id IS NULL AND id <> $2)', TG_TABLE_NAME)
		    INTO clash USING NEW.name, NEW.id;
	END IF;
	IF clash THEN
		RAISE EXCEPTION '% name "%" already exists', TG_TABLE_NAME,
		    NEW.name
		    USING ERRCODE = 'unique_violation',
		    CONSTRAINT = TG_TABLE_NAME || '_name_scope',
		    TABLE = TG_TABLE_NAME;
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER resource_types_name_scope
    BEFORE INSERT OR UPDATE OF name, company_id ON resource_types
    FOR EACH ROW EXECUTE FUNCTION authd_scoped_name_check();
CREATE TRIGGER permissions_name_scope
    BEFORE INSERT OR UPDATE OF name, company_id ON permissions
    FOR EACH ROW EXECUTE FUNCTION authd_scoped_name_check();

-- A global permission names a global resource type; a company's
-- permission a global one or one of its own company.
CREATE FUNCTION authd_permissions_check_scope() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	rt_company	bigint;
BEGIN
	SELECT company_id INTO rt_company FROM resource_types
	    WHERE id = NEW.resource_type_id;
	IF NOT FOUND THEN
		RETURN NEW;	/* the foreign key reports it */
	END IF;
	IF rt_company IS NOT NULL AND
	    rt_company IS DISTINCT FROM NEW.company_id THEN
		RAISE EXCEPTION 'resource type % is not visible to this'
		    ' permission', NEW.resource_type_id
		    USING ERRCODE = 'foreign_key_violation',
		    CONSTRAINT = 'permissions_resource_type_scope',
		    TABLE = 'permissions';
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER permissions_check_scope
    BEFORE INSERT OR UPDATE OF resource_type_id, company_id ON permissions
    FOR EACH ROW EXECUTE FUNCTION authd_permissions_check_scope();

-- Role assignments.  company_id is the user's and the role's company; the
-- two composite keys make a cross-tenant assignment impossible.  Moving a
-- user to another company therefore needs its user_roles deleted first
-- (the cascaded company_id would no longer match the role's).
CREATE TABLE user_roles (
	user_id		bigint NOT NULL,
	role_id		bigint NOT NULL,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, role_id),
	CONSTRAINT user_roles_user_fk FOREIGN KEY (user_id, company_id)
	    REFERENCES users (id, company_id)
	    ON DELETE CASCADE ON UPDATE CASCADE,
	CONSTRAINT user_roles_role_fk FOREIGN KEY (role_id, company_id)
	    REFERENCES roles (id, company_id) ON DELETE CASCADE
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

-- Grants.  company_id is the role's company; the permission must be
-- global or of that company (checked by trigger, since a global
-- permission has no company to match).
CREATE TABLE role_permissions (
	role_id		bigint NOT NULL,
	permission_id	bigint NOT NULL
			    REFERENCES permissions (id) ON DELETE CASCADE,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (role_id, permission_id),
	CONSTRAINT role_permissions_role_fk FOREIGN KEY (role_id, company_id)
	    REFERENCES roles (id, company_id) ON DELETE CASCADE
);
CREATE INDEX role_permissions_permission_idx
    ON role_permissions (permission_id);

CREATE FUNCTION authd_role_permissions_check_scope() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM permissions WHERE id = NEW.permission_id
	    AND company_id IS NOT NULL AND company_id <> NEW.company_id) THEN
		RAISE EXCEPTION 'permission % belongs to another company',
		    NEW.permission_id
		    USING ERRCODE = 'foreign_key_violation',
		    CONSTRAINT = 'role_permissions_permission_scope',
		    TABLE = 'role_permissions';
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER role_permissions_check_scope
    BEFORE INSERT OR UPDATE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION authd_role_permissions_check_scope();

-- Login sessions; every token carries its id as "sid" and this row is
-- the truth about revocation.  expires_at is the absolute end of the
-- refresh family (login time + refresh lifetime): rotation never extends
-- it.  refresh_jti is the jti of the current refresh token;
-- refresh_prev_jti and refresh_rotated_at remember the one it replaced,
-- for the grace window in which that parent may be presented again.
CREATE TABLE sessions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	device_info	text,
	device_fingerprint text,
	ip_address	inet,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	is_active	boolean NOT NULL DEFAULT true,
	revoked_at	timestamptz,
	revoked_reason	text,
	refresh_jti	text NOT NULL,
	refresh_prev_jti text,
	refresh_rotated_at timestamptz,
	CONSTRAINT sessions_user_fk FOREIGN KEY (user_id, company_id)
	    REFERENCES users (id, company_id)
	    ON DELETE CASCADE ON UPDATE CASCADE,
	CONSTRAINT sessions_revoked_check
	    CHECK (is_active OR revoked_at IS NOT NULL),
	CONSTRAINT sessions_jti_check
	    CHECK (char_length(refresh_jti) BETWEEN 1 AND 128)
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at DESC);
CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE is_active;
CREATE INDEX sessions_company_idx ON sessions (company_id, created_at DESC);
CREATE INDEX sessions_active_idx ON sessions (company_id, last_used_at)
    WHERE is_active;
CREATE INDEX sessions_expires_idx ON sessions (expires_at) WHERE is_active;

-- Every login attempt.  user_id and company_id are NULL for an unknown
-- user.  The history is personal data shown only through its user, so it
-- goes with the user; the audit log keeps the deletion itself.
CREATE TABLE login_history (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint,
	company_id	bigint REFERENCES companies (id) ON DELETE CASCADE,
	ip_address	inet,
	user_agent	text,
	success		boolean NOT NULL,
	reason		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT login_history_user_fk FOREIGN KEY (user_id, company_id)
	    REFERENCES users (id, company_id)
	    ON DELETE CASCADE ON UPDATE CASCADE,
	CONSTRAINT login_history_user_check
	    CHECK ((user_id IS NULL) = (company_id IS NULL))
);
CREATE INDEX login_history_user_idx
    ON login_history (user_id, created_at DESC);
CREATE INDEX login_history_company_idx
    ON login_history (company_id, created_at DESC);
CREATE INDEX login_history_created_idx ON login_history (created_at);

-- Single-use tokens, stored as SHA-256 of the random token sent by mail.
CREATE TABLE password_reset_tokens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL
			    REFERENCES users (id) ON DELETE CASCADE,
	token_hash	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CONSTRAINT password_reset_tokens_hash_key UNIQUE (token_hash),
	CONSTRAINT password_reset_tokens_hash_check
	    CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX password_reset_tokens_user_idx
    ON password_reset_tokens (user_id);

-- email is the address the token was sent to: after an email change an
-- older token must not verify the new address.
CREATE TABLE email_verification_tokens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL
			    REFERENCES users (id) ON DELETE CASCADE,
	email		text NOT NULL,
	token_hash	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CONSTRAINT email_verification_tokens_hash_key UNIQUE (token_hash),
	CONSTRAINT email_verification_tokens_hash_check
	    CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX email_verification_tokens_user_idx
    ON email_verification_tokens (user_id);

-- Integrations.  The API key is found by its SHA-256 (one indexed
-- lookup); the secret is sealed by the keyholder, which alone signs and
-- checks webhook signatures.
CREATE TABLE integrations (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	name		text NOT NULL,
	description	text,
	integration_type text NOT NULL,
	callback_url	text,
	configuration	jsonb NOT NULL DEFAULT '{}',
	events		text[] NOT NULL DEFAULT '{}',
	is_active	boolean NOT NULL DEFAULT true,
	api_key_hash	bytea NOT NULL,
	api_key_prefix	text NOT NULL,
	api_secret_sealed bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT integrations_id_company_key UNIQUE (id, company_id),
	CONSTRAINT integrations_api_key_hash_key UNIQUE (api_key_hash),
	CONSTRAINT integrations_api_key_hash_check
	    CHECK (octet_length(api_key_hash) = 32),
	CONSTRAINT integrations_api_key_prefix_check
	    CHECK (char_length(api_key_prefix) = 8),
	CONSTRAINT integrations_type_check
	    CHECK (integration_type ~ '^[a-z0-9_-]{1,32}$'),
	CONSTRAINT integrations_name_check
	    CHECK (char_length(name) BETWEEN 1 AND 255),
	CONSTRAINT integrations_callback_url_check
	    CHECK (callback_url IS NULL OR char_length(callback_url) <= 2048),
	CONSTRAINT integrations_configuration_check
	    CHECK (jsonb_typeof(configuration) = 'object')
);
CREATE INDEX integrations_company_idx ON integrations (company_id, id);
CREATE TRIGGER integrations_touch BEFORE UPDATE ON integrations
    FOR EACH ROW EXECUTE FUNCTION authd_touch_updated_at();

-- Inbound webhook events.  signature_valid is NULL for an unsigned
-- event.  signature_hash (SHA-256 of the X-Signature value) backs the
-- Redis replay window durably: a signature is accepted once.
CREATE TABLE webhook_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	integration_id	bigint NOT NULL,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	received_at	timestamptz NOT NULL DEFAULT now(),
	payload		jsonb NOT NULL,
	signature_valid	boolean,
	signature_hash	bytea,
	CONSTRAINT webhook_events_integration_fk
	    FOREIGN KEY (integration_id, company_id)
	    REFERENCES integrations (id, company_id) ON DELETE CASCADE
);
CREATE INDEX webhook_events_integration_idx
    ON webhook_events (integration_id, received_at DESC);
CREATE UNIQUE INDEX webhook_events_signature_key
    ON webhook_events (integration_id, signature_hash)
    WHERE signature_hash IS NOT NULL;

-- Outbound deliveries, one row per (integration, event); each attempt
-- updates attempts, last_status_code, last_error and next_attempt_at.
CREATE TABLE webhook_deliveries (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	integration_id	bigint NOT NULL,
	company_id	bigint NOT NULL
			    REFERENCES companies (id) ON DELETE CASCADE,
	event_id	uuid NOT NULL,
	event_type	text NOT NULL,
	payload		jsonb NOT NULL,
	status		text NOT NULL DEFAULT 'pending',
	attempts	integer NOT NULL DEFAULT 0,
	last_status_code integer,
	last_error	text,
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	created_at	timestamptz NOT NULL DEFAULT now(),
	delivered_at	timestamptz,
	CONSTRAINT webhook_deliveries_integration_fk
	    FOREIGN KEY (integration_id, company_id)
	    REFERENCES integrations (id, company_id) ON DELETE CASCADE,
	CONSTRAINT webhook_deliveries_event_key
	    UNIQUE (integration_id, event_id),
	CONSTRAINT webhook_deliveries_status_check
	    CHECK (status IN ('pending', 'delivered', 'failed')),
	CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0)
);
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_integration_idx
    ON webhook_deliveries (integration_id, created_at DESC);

-- The audit trail outlives what it describes: no foreign keys, so neither
-- deleting a user nor a company erases the record of what was done.
-- company_id is the company the object belongs to (the root company for
-- actions on the system itself, such as authctl init); actor_user_id is
-- NULL for authctl and the daemon.
CREATE TABLE audit_log (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	actor_user_id	bigint,
	company_id	bigint NOT NULL,
	action		text NOT NULL,
	object_type	text,
	object_id	bigint,
	detail		jsonb,
	ip_address	inet,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_company_idx ON audit_log (company_id, created_at DESC);
CREATE INDEX audit_log_actor_idx
    ON audit_log (actor_user_id, created_at DESC)
    WHERE actor_user_id IS NOT NULL;

-- Effective permissions of a user: the grants of its roles and of each
-- role's parent chain (UNION makes a cycle terminate even without the
-- trigger above).
CREATE FUNCTION authd_user_permissions(p_user_id bigint)
RETURNS TABLE (permission_id bigint, name text)
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE chain(role_id) AS (
		SELECT ur.role_id FROM user_roles ur
		WHERE ur.user_id = p_user_id
		UNION
		SELECT r.parent_id FROM roles r JOIN chain c ON r.id = c.role_id
		WHERE r.parent_id IS NOT NULL
	)
	SELECT DISTINCT p.id, p.name
	FROM chain c
	JOIN role_permissions rp ON rp.role_id = c.role_id
	JOIN permissions p ON p.id = rp.permission_id
$$;

-- Gives a company its "admin" role (every global permission but
-- company:*) and its "user" role (users:read and profile:update, granted
-- to new users by default).  Used by authctl init for the root company
-- and by "authctl company add" and POST /companies/ for the others.
-- Idempotent: roles or grants already there are left alone.
CREATE FUNCTION authd_seed_company_roles(p_company_id bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_admin	bigint;
	v_user	bigint;
BEGIN
	INSERT INTO roles (company_id, name, description, is_default)
	    VALUES (p_company_id, 'admin',
	    'Administers users, roles, permissions and integrations', false)
	    ON CONFLICT (company_id, name) DO NOTHING;
	INSERT INTO roles (company_id, name, description, is_default)
	    VALUES (p_company_id, 'user', 'Default role of new users', true)
	    ON CONFLICT (company_id, name) DO NOTHING;
	SELECT id INTO STRICT v_admin FROM roles
	    WHERE company_id = p_company_id AND name = 'admin';
	SELECT id INTO STRICT v_user FROM roles
	    WHERE company_id = p_company_id AND name = 'user';

	INSERT INTO role_permissions (role_id, permission_id, company_id)
	    SELECT v_admin, p.id, p_company_id FROM permissions p
	    WHERE p.company_id IS NULL AND p.name NOT LIKE 'company:%'
	    ON CONFLICT DO NOTHING;
	INSERT INTO role_permissions (role_id, permission_id, company_id)
	    SELECT v_user, p.id, p_company_id FROM permissions p
	    WHERE p.company_id IS NULL
	    AND p.name IN ('users:read', 'profile:update')
	    ON CONFLICT DO NOTHING;
END;
$$;
