-- A login writes a session, a login-history row and the user's
-- last_login in one statement (api_auth.c, LOGIN_SESSION_SQL), and that
-- statement was most of PostgreSQL's time in a login.  Measured with
-- EXPLAIN (ANALYZE, WAL) and pg_stat_statements under a login flood,
-- four parts of it did work that protects nothing:
--
-- * sessions and login_history each had two foreign keys: (user_id,
--   company_id) to users, and company_id to companies.  The first
--   implies the second (users.company_id references companies, and a
--   company's deletion cascades through its users to both tables), so
--   the second was a trigger and a lookup per row for nothing.
-- * sessions_user_active_idx duplicated sessions_user_idx for the only
--   queries that use it (a user's sessions, a few rows); each session
--   wrote it once more.
-- * users were filled to the last byte of each page, so the first
--   last_login update of a user found no room on its page and wrote a
--   new entry into each of users' six indexes instead of updating the
--   row in place (HOT).  New pages now keep a tenth free.
-- * Every update of a user ran a PL/pgSQL trigger to set updated_at.
--   The touch triggers now fire only when the statement left updated_at
--   alone; the login's update sets it itself.

ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_company_id_fkey;
ALTER TABLE login_history
    DROP CONSTRAINT IF EXISTS login_history_company_id_fkey;
DROP INDEX IF EXISTS sessions_user_active_idx;
ALTER TABLE users SET (fillfactor = 90);

DO $$
DECLARE
	t	text;
BEGIN
	FOREACH t IN ARRAY ARRAY['companies', 'users', 'roles',
	    'resource_types', 'permissions', 'integrations'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
		    t || '_touch', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I '
		    'FOR EACH ROW WHEN (NEW.updated_at IS NOT DISTINCT FROM '
		    'OLD.updated_at) EXECUTE FUNCTION authd_touch_updated_at()',
		    t || '_touch', t);
	END LOOP;
END
$$;
