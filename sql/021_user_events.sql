-- user.created, user.updated and user.deleted were queued by the worker
-- after the write had committed, in a statement of their own: an event
-- was lost when the worker died or the database went away in between,
-- and writes that do not pass through the users routes (registration
-- aside: authctl, email verification, two-factor setup) sent none.
-- Triggers on users now queue them in the transaction of the change,
-- whatever made it.
--
-- user.created and user.deleted: {user_id, email, username}, one
-- statement-level trigger each, so that a bulk insert or a company's
-- deletion looks the integrations up once a row, and calls
-- authd_enqueue_event() only for a company with a subscriber.
-- user.updated: {user_id, email, username, fields}, the fields that
-- changed among those of the User object; a row trigger whose WHEN
-- leaves out what a login writes (last_login, updated_at, a rehash), so
-- that a login runs no PL/pgSQL.  A password change sends
-- password.changed alone.  A move to another company is user.updated
-- for the new company and user.deleted, with reason "moved to another
-- company", for the old one, which is not told where the user went.

-- Whether an event of p_type would reach anyone in p_company.  False
-- for a company deleted in this transaction: a company's deletion
-- deletes its users, and their events would name a company that no
-- longer exists.
CREATE FUNCTION authd_users_subscribed(p_company bigint, p_type text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM integrations i
	    WHERE i.company_id = p_company AND i.is_active
	    AND i.callback_url IS NOT NULL AND p_type = ANY (i.events))
	    AND EXISTS (SELECT 1 FROM companies WHERE id = p_company)
$$;

CREATE FUNCTION authd_users_rows_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM authd_enqueue_event(n.company_id, 'user.created',
		    jsonb_build_object('user_id', n.id, 'email', n.email,
		    'username', n.username))
		    FROM users_new n
		    WHERE authd_users_subscribed(n.company_id, 'user.created');
	ELSE
		PERFORM authd_enqueue_event(o.company_id, 'user.deleted',
		    jsonb_build_object('user_id', o.id, 'email', o.email,
		    'username', o.username))
		    FROM users_old o
		    WHERE authd_users_subscribed(o.company_id, 'user.deleted');
	END IF;
	RETURN NULL;
END;
$$;

-- The fields of the User object an event names, in this order; the
-- WHEN of users_updated_event lists the same.
CREATE FUNCTION authd_users_updated_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_fields	text[];
BEGIN
	v_fields := ARRAY(SELECT f FROM unnest(ARRAY['email', 'username',
	    'full_name', 'is_active', 'is_superuser', 'is_verified',
	    'two_factor_enabled', 'company_id']) WITH ORDINALITY AS x(f, i)
	    WHERE to_jsonb(NEW) -> f IS DISTINCT FROM to_jsonb(OLD) -> f
	    ORDER BY i);
	IF NEW.company_id <> OLD.company_id THEN
		PERFORM authd_enqueue_event(OLD.company_id, 'user.deleted',
		    jsonb_build_object('user_id', OLD.id, 'email', OLD.email,
		    'username', OLD.username,
		    'reason', 'moved to another company'));
	END IF;
	PERFORM authd_enqueue_event(NEW.company_id, 'user.updated',
	    jsonb_build_object('user_id', NEW.id, 'email', NEW.email,
	    'username', NEW.username, 'fields', to_jsonb(v_fields)));
	RETURN NULL;
END;
$$;

CREATE TRIGGER users_created_event AFTER INSERT ON users
    REFERENCING NEW TABLE AS users_new
    FOR EACH STATEMENT EXECUTE FUNCTION authd_users_rows_event();
CREATE TRIGGER users_deleted_event AFTER DELETE ON users
    REFERENCING OLD TABLE AS users_old
    FOR EACH STATEMENT EXECUTE FUNCTION authd_users_rows_event();
CREATE TRIGGER users_updated_event AFTER UPDATE ON users FOR EACH ROW
    WHEN (NEW.email IS DISTINCT FROM OLD.email
    OR NEW.username IS DISTINCT FROM OLD.username
    OR NEW.full_name IS DISTINCT FROM OLD.full_name
    OR NEW.is_active IS DISTINCT FROM OLD.is_active
    OR NEW.is_superuser IS DISTINCT FROM OLD.is_superuser
    OR NEW.is_verified IS DISTINCT FROM OLD.is_verified
    OR NEW.two_factor_enabled IS DISTINCT FROM OLD.two_factor_enabled
    OR NEW.company_id IS DISTINCT FROM OLD.company_id)
    EXECUTE FUNCTION authd_users_updated_event();
