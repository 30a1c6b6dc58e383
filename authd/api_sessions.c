/*
 * Sessions and devices: a user's own sessions, and the admin view of a
 * company's.  Revoking writes the session row, which every worker of
 * every node consults on each request, so a revoked session's tokens
 * stop working at once; the statement that revokes also queues the
 * session.revoked event of the company's integrations, one per session.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"

/* $1 user or NULL, $2 company or NULL, $3 caller's session, $4/$5 page. */
#define SESSIONS_WHERE \
	"s.is_active AND s.expires_at > now() " \
	"AND ($1::bigint IS NULL OR s.user_id = $1) " \
	"AND ($2::bigint IS NULL OR s.company_id = $2)"
#define SESSIONS_LIST_SQL \
	"SELECT (SELECT count(*) FROM sessions s WHERE " SESSIONS_WHERE "), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_session_json(s, $3) AS j, " \
	"    row_number() OVER (ORDER BY s.created_at DESC, s.id DESC) AS o " \
	"  FROM sessions s WHERE " SESSIONS_WHERE \
	"  ORDER BY s.created_at DESC, s.id DESC LIMIT $4 OFFSET $5) x), " \
	"'[]'::jsonb)::text"
/*
 * $1 session, $2 user or NULL, $3 company or NULL, $4 caller, $5 whether
 * a superuser, $6 reason; sql/014_users_fixes.sql.
 */
#define SESSION_REVOKE_ONE_SQL \
	"SELECT r_user, r_queued " \
	"FROM authd_sessions_revoke($1, $2, $3, $4, $5, $6)"
/* $1 user, $2 the session kept. */
#define SESSION_REVOKE_OTHERS_SQL \
	"SELECT r_count, r_queued FROM authd_sessions_revoke_others($1, $2)"

#define MSG_NO_PRIVILEGES	"The user doesn't have enough privileges"

static void
api_sessions_query(struct http_req *hr, const char *uid, const char *cid)
{
	const char	*params[5];
	char		 sid[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	snprintf(sid, sizeof(sid), "%" PRId64, hr->hr_user.au_sid);
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = uid;
	params[1] = cid;
	params[2] = sid;
	params[3] = limit;
	params[4] = skip;
	if (db_query(SESSIONS_LIST_SQL, 5, params, http_list_done, hr) == -1)
		http_unavailable(hr);
}

void
api_sessions_mine(struct http_req *hr)
{
	char	 uid[INT64_STR];

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	api_sessions_query(hr, uid, NULL);
}

/*
 * The company a request acts in: root admins see every company unless
 * they name one with ?company_id; everyone else sees their own.
 * Returns 0 with cid set ("" meaning all), or -1 after answering 422.
 */
static int
api_sessions_scope(struct http_req *hr, char *cid, size_t len)
{
	const char	*q, *errstr;
	long long	 v;

	if (!hr->hr_user.au_root || !hr->hr_user.au_superuser) {
		snprintf(cid, len, "%" PRId64, hr->hr_user.au_cid);
		return (0);
	}
	cid[0] = '\0';
	if ((q = http_query(hr, "company_id")) == NULL)
		return (0);
	v = strtonum(q, 1, INT64_MAX, &errstr);
	if (errstr != NULL) {
		http_validation(hr, json_pack("[o]", http_verr("int_parsing",
		    "query", "company_id", "Input should be a valid integer")));
		return (-1);
	}
	snprintf(cid, len, "%lld", v);
	return (0);
}

void
api_sessions_list(struct http_req *hr)
{
	char	 cid[INT64_STR];

	if (api_sessions_scope(hr, cid, sizeof(cid)) == -1)
		return;
	api_sessions_query(hr, NULL, cid[0] != '\0' ? cid : NULL);
}

/*
 * The revoking statement queued session.revoked for the company's
 * integrations (column col counts the deliveries): the worker polls for
 * them now rather than at its next tick.
 */
static void
api_sessions_kick(PGresult *res, int col)
{
	if (strcmp(PQgetvalue(res, 0, col), "0") != 0)
		delivery_kick();
}

static void
api_sessions_revoked(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;
	const char	*name;

	if (!db_ok(res)) {
		name = res != NULL ? PQresultErrorField(res,
		    PG_DIAG_CONSTRAINT_NAME) : NULL;
		if (name != NULL &&
		    strcmp(name, "authd_users_privileges") == 0) {
			log_info("request %s: session %" PRId64 " of a user "
			    "holding more than user %" PRId64, hr->hr_reqid,
			    hr->hr_id[0], hr->hr_user.au_uid);
			http_error(hr, 403, MSG_NO_PRIVILEGES);
		} else
			http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 404, "Session not found");
		return;
	}
	metrics_count(MC_SESSIONS_REVOKED);
	api_sessions_kick(res, 1);
	log_info("request %s: session %" PRId64 " of user %s revoked by "
	    "user %" PRId64, hr->hr_reqid, hr->hr_id[0],
	    PQgetvalue(res, 0, 0), hr->hr_user.au_uid);
	http_reply(hr, 200, json_pack("{s:s}", "message",
	    "Session revoked successfully"));
}

static void
api_sessions_revoke_one(struct http_req *hr, const char *uid, const char *cid,
    const char *reason)
{
	const char	*params[6];
	char		 id[INT64_STR], actor[INT64_STR];

	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(actor, sizeof(actor), "%" PRId64, hr->hr_user.au_uid);
	params[0] = id;
	params[1] = uid;
	params[2] = cid;
	params[3] = actor;
	params[4] = hr->hr_user.au_superuser ? "t" : "f";
	params[5] = reason;
	if (db_query(SESSION_REVOKE_ONE_SQL, 6, params, api_sessions_revoked,
	    hr) == -1)
		http_unavailable(hr);
}

void
api_sessions_revoke_mine(struct http_req *hr)
{
	char	 uid[INT64_STR];

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	api_sessions_revoke_one(hr, uid, NULL, "revoked by the user");
}

/*
 * A holder of sessions:delete who is no superuser may not end the
 * sessions of a user holding more than itself (authd_sessions_revoke).
 */
void
api_sessions_revoke(struct http_req *hr)
{
	char	 cid[INT64_STR];

	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	api_sessions_revoke_one(hr, NULL, hr->hr_user.au_root &&
	    hr->hr_user.au_superuser ? NULL : cid,
	    "revoked by an administrator");
}

static void
api_sessions_others_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;
	char		 msg[64];

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	api_sessions_kick(res, 1);
	snprintf(msg, sizeof(msg), "Revoked %s sessions successfully",
	    PQgetvalue(res, 0, 0));
	http_reply(hr, 200, json_pack("{s:s}", "message", msg));
}

/* Sessions past their expiry are dead already: not revoked, not counted. */
void
api_sessions_revoke_others(struct http_req *hr)
{
	const char	*params[2];
	char		 uid[INT64_STR], sid[INT64_STR];

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	snprintf(sid, sizeof(sid), "%" PRId64, hr->hr_user.au_sid);
	params[0] = uid;
	params[1] = sid;
	if (db_query(SESSION_REVOKE_OTHERS_SQL, 2, params,
	    api_sessions_others_done, hr) == -1)
		http_unavailable(hr);
}
