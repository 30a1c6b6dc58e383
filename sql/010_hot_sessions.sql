-- A refresh rewrites its session row (the refresh token's id, when it
-- was rotated, when the session was last used).  With last_used_at in
-- an index every such update wrote a new entry into each of the table's
-- six indexes; with no indexed column changing and room left on the
-- page, PostgreSQL updates the row in place (a HOT update) and writes
-- no index at all.  The active-users statistics (api_users.c) find a
-- company's active sessions by the partial index and filter on
-- last_used_at.

DROP INDEX IF EXISTS sessions_active_idx;
CREATE INDEX IF NOT EXISTS sessions_company_active_idx
    ON sessions (company_id) WHERE is_active;
ALTER TABLE sessions SET (fillfactor = 80);
