-- The SHA-256 (hex) of a session's current refresh token, written with
-- each rotation.  A refresh that presents exactly that token is the
-- token a keyholder signed, so its signature is not checked again
-- (authd/api_auth.c): the check cost about 40% of a worker's time under
-- refreshes.  Only a hash is kept: whoever reads the database cannot
-- make the token from it.  NULL until a session's first rotation: the
-- refresh token of a login has its signature checked, as every refresh
-- token had before.
-- Not indexed: the rotation stays a HOT update (010_hot_sessions.sql).
-- No CHECK either: PostgreSQL reads a table's CHECK expressions again
-- for every UPDATE, and only authd writes this column.

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS refresh_hash text;
