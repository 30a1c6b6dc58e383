/*
 * POST /api/v1/users/{id}/unlock: an administrator lifts a user's login
 * lockout.  The durable state (users.locked_until, the failure counts)
 * and the counters that workers keep in Redis (rl_unlock) are cleared;
 * "authctl user unlock" does the same from the command line.  The rules
 * of the users API apply: a user outside the caller's company is
 * answered as a missing one, and a caller who only holds users:update
 * may not act on a superuser.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"

#define LOCKOUT_NOT_FOUND	"User not found"
#define LOCKOUT_NO_PRIVILEGES	"The user doesn't have enough privileges"

/*
 * $1 user, $2 scope (NULL for a root admin), $3 whether the caller is a
 * superuser, $4 caller, $5 client address.  No row: no such user in the
 * scope; else the number of users unlocked (0: refused).
 */
#define LOCKOUT_UNLOCK_SQL \
	"WITH t AS (SELECT id, company_id, is_superuser FROM users " \
	"  WHERE id = $1 AND ($2::bigint IS NULL OR company_id = $2)), " \
	"u AS (UPDATE users SET locked_until = NULL, failed_logins = 0, " \
	"    lockout_level = 0 FROM t WHERE users.id = t.id " \
	"  AND (NOT t.is_superuser OR $3::boolean OR t.id = $4) " \
	"  RETURNING users.id, users.company_id), " \
	"a AS (INSERT INTO audit_log (actor_user_id, company_id, action, " \
	"    object_type, object_id, detail, ip_address) " \
	"  SELECT $4, u.company_id, 'user.unlock', 'user', u.id, " \
	"    '{}'::jsonb, authd_inet($5) FROM u) " \
	"SELECT (SELECT count(*) FROM u) FROM t"

static void
api_lockout_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;
	json_t		*body;
	char		 account[INT64_STR + 2];

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 404, LOCKOUT_NOT_FOUND);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		http_error(hr, 403, LOCKOUT_NO_PRIVILEGES);
		return;
	}
	/* The account key of rl_account_key() for a known user. */
	snprintf(account, sizeof(account), "u:%" PRId64, hr->hr_id[0]);
	rl_unlock(account);
	log_info("request %s: user %" PRId64 " unlocked by user %" PRId64,
	    hr->hr_reqid, hr->hr_id[0], hr->hr_user.au_uid);
	if ((body = json_pack("{s:s}", "message", "User unlocked")) == NULL) {
		http_unavailable(hr);
		return;
	}
	http_reply(hr, 200, body);
}

void
api_users_unlock(struct http_req *hr)
{
	const char	*params[5];
	char		 id[INT64_STR], scope[INT64_STR], actor[INT64_STR];
	const struct auth_user *au = &hr->hr_user;

	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(scope, sizeof(scope), "%" PRId64, au->au_cid);
	snprintf(actor, sizeof(actor), "%" PRId64, au->au_uid);
	params[0] = id;
	params[1] = au->au_superuser && au->au_root ? NULL : scope;
	params[2] = au->au_superuser ? "t" : "f";
	params[3] = actor;
	params[4] = api_audit_addr(hr);
	if (db_query(LOCKOUT_UNLOCK_SQL, 5, params, api_lockout_done,
	    hr) == -1)
		http_unavailable(hr);
}
