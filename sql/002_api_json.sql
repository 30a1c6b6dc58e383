-- The JSON shapes of API.md, built where the rows are.  Workers send
-- these texts as they come, so each object has exactly one definition.

-- RFC 3339 in UTC with a Z, as API.md wants every timestamp.
CREATE FUNCTION authd_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- The User object: never a hash, a secret or a token.
CREATE FUNCTION authd_user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', u.id,
	    'email', u.email,
	    'username', u.username,
	    'full_name', u.full_name,
	    'company_id', u.company_id,
	    'is_active', u.is_active,
	    'is_superuser', u.is_superuser,
	    'is_verified', u.is_verified,
	    'two_factor_enabled', u.two_factor_enabled,
	    'created_at', authd_ts(u.created_at),
	    'updated_at', authd_ts(u.updated_at),
	    'last_login', authd_ts(u.last_login))
$$;

-- Role names and effective permission names of a user, sorted.
CREATE FUNCTION authd_user_role_names(p_user_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(r.name ORDER BY r.name), '[]'::jsonb)
	FROM user_roles ur JOIN roles r ON r.id = ur.role_id
	WHERE ur.user_id = p_user_id
$$;

CREATE FUNCTION authd_user_permission_names(p_user_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(p.name ORDER BY p.name), '[]'::jsonb)
	FROM authd_user_permissions(p_user_id) p
$$;

-- The Session object; current is true for the caller's own session.
CREATE FUNCTION authd_session_json(s sessions, p_current bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'id', s.id,
	    'user_id', s.user_id,
	    'device_info', s.device_info,
	    'device_fingerprint', s.device_fingerprint,
	    'ip_address', host(s.ip_address),
	    'created_at', authd_ts(s.created_at),
	    'last_used_at', authd_ts(s.last_used_at),
	    'expires_at', authd_ts(s.expires_at),
	    'is_active', s.is_active AND s.expires_at > now(),
	    'current', s.id IS NOT DISTINCT FROM p_current)
$$;
