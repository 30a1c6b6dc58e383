-- The SHA-256 (hex) of a session's current refresh token, written with
-- each rotation.  A refresh that presents exactly that token is the
-- token a keyholder signed, so its signature is not checked again
-- (authd/api_auth.c): the check cost about 40% of a worker's time under
-- refreshes.  Only a hash is kept: whoever reads the database cannot
-- make the token from it.  NULL until the first rotation, and then
-- such a token has its signature checked, as every token had before.
-- Not indexed: the rotation stays a HOT update (010_hot_sessions.sql).

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS refresh_hash text
    CHECK (refresh_hash ~ '^[0-9a-f]{64}$');
