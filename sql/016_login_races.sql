-- A login locks its user and company (FOR SHARE of the company) when it
-- writes its session, so a company's deactivation waits for a login in
-- flight to commit.  PUT /companies/{id} deactivates and revokes in one
-- statement, whose snapshot was taken before that wait: its revocation
-- did not see the session such a login had just committed, which then
-- outlived the deactivation (and worked again after a reactivation).
-- The revocation is now this VOLATILE function, which the statement
-- calls once the company row is updated: in READ COMMITTED each of its
-- queries takes a fresh snapshot, one that sees every session committed
-- before the company's row lock was granted.  Returns how many sessions
-- it revoked.
CREATE FUNCTION authd_company_revoke_sessions(p_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_n	bigint;
BEGIN
	UPDATE sessions SET is_active = false, revoked_at = now(),
	    revoked_reason = 'company deactivated'
	    WHERE company_id = p_id AND is_active;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	RETURN v_n;
END;
$$;
