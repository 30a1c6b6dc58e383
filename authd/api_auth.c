/*
 * /api/v1/auth: login, refresh, logout.  Every password check and every
 * signature is done by a keyholder; this file only moves the requests
 * along and keeps the session rows, which are the truth about revocation.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "seal.h"

#define AUTH_JTI_LEN		32
#define TOKEN_HASH_HEX		(crypto_hash_sha256_BYTES * 2 + 1)
#define AUTH_UA_MAX		255
/* The revoked_reason and event reason of a session ended by theft. */
#define REFRESH_REUSE_REASON	"refresh token reuse"
#define AUTH_USERNAME_MAX	254

#define LOGIN_USER_SQL \
	"SELECT u.id, u.company_id, u.hashed_password, u.is_active, " \
	"  c.is_active, u.two_factor_enabled, " \
	"  encode(u.two_factor_secret_sealed, 'hex'), " \
	"  coalesce(u.two_factor_last_step, 0), u.is_verified, " \
	"  u.locked_until IS NOT NULL AND u.locked_until > now() " \
	"FROM users u JOIN companies c ON c.id = u.company_id "
#define LOGIN_BY_EMAIL_SQL \
	LOGIN_USER_SQL "WHERE lower(u.email) = lower($1)"
#define LOGIN_BY_USERNAME_SQL \
	LOGIN_USER_SQL "WHERE lower(u.username) = lower($1)"
/*
 * The history row of a refused login and, for a user that exists, its
 * login.failed event, in one statement; the column is how many
 * deliveries were queued.
 */
#define LOGIN_FAILED_SQL \
	"WITH h AS (INSERT INTO login_history (user_id, company_id, " \
	"    ip_address, user_agent, success, reason) " \
	"  VALUES ($1, $2, $3::inet, $4, false, $5)) " \
	"SELECT CASE WHEN $1 IS NULL THEN 0 ELSE " \
	"  authd_enqueue_event($2, 'login.failed', " \
	"  jsonb_build_object('user_id', $1::bigint, 'ip_address', " \
	"  coalesce(host($3::inet), ''), 'user_agent', $4::text)) END"
/*
 * A session ends on a whole second: token "exp" claims are whole seconds,
 * and a fractional end rounded up let a refreshed pair outlive its
 * session by one second.
 *
 * The user and company were read before the password check; l locks
 * them again (the company first, as a company's deletion does, so that
 * the two never wait on each other) and sees their state as of now.
 * FOR SHARE of the company and the lock the UPDATE of last_login takes
 * anyway on the user make a deactivation, a move or a deletion either
 * wait for this login to commit (and then revoke or delete its session)
 * or come first (and then l sees it).  A user or company gone gives no
 * row of l; one moved, deactivated, locked, whose password changed
 * (from $9, the hash the password was checked against) or who turned
 * two-factor on since (when $10 says no code was checked) gives a row
 * that is not "ok".  The session and last_login, and a rehash ($8) of
 * the password, are written only when ok; the history row always,
 * naming the user only when the pair still exists.  The answer is
 * always one row: the session (NULL when none), whether the device is
 * new (the user had logged in before, never with this fingerprint),
 * then l's same company, user active, company active, same password,
 * second factor and not locked (all NULL when the user or company is
 * gone), and how many login.succeeded deliveries ev queued: the event
 * is written with the session it reports, or not at all.  ev calls
 * authd_enqueue_event() only when an integration of the company
 * subscribes to login.succeeded: the call had cost a tenth of the
 * statement on every login.
 */
#define LOGIN_SESSION_SQL \
	"WITH l AS (SELECT u.company_id = $2 AS same, u.is_active AS ua, " \
	"    c.is_active AS ca, u.hashed_password = $9 AS pw, " \
	"    $10::boolean OR NOT u.two_factor_enabled AS tf, " \
	"    coalesce(u.locked_until <= now(), true) AS nl, " \
	"    u.last_login IS NOT NULL AS seen " \
	"  FROM companies c, users u WHERE c.id = $2 AND u.id = $1 " \
	"  FOR SHARE OF c FOR NO KEY UPDATE OF u), " \
	"ok AS (SELECT true AS ok FROM l " \
	"  WHERE same AND pw AND tf AND ua AND ca AND nl), " \
	"s AS (INSERT INTO sessions (user_id, company_id, device_info, " \
	"    device_fingerprint, ip_address, expires_at, refresh_jti) " \
	"  SELECT $1, $2, $3, $4, $5::inet, " \
	"    date_trunc('second', now()) + make_interval(secs => $6::int), " \
	"    $7 FROM ok " \
	"  RETURNING id, extract(epoch FROM expires_at)::bigint AS exp), " \
	"h AS (INSERT INTO login_history (user_id, company_id, ip_address, " \
	"    user_agent, success, reason) " \
	"  SELECT CASE WHEN l.same THEN $1::bigint END, " \
	"    CASE WHEN l.same THEN $2::bigint END, $5::inet, $3, " \
	"    coalesce(l.same AND l.pw AND l.tf AND l.ua AND l.ca AND l.nl, " \
	"      false), " \
	"    CASE WHEN l.same IS NULL THEN 'unknown user' " \
	"      WHEN NOT l.same THEN 'moved to another company' " \
	"      WHEN NOT l.pw THEN 'password changed' " \
	"      WHEN NOT l.tf THEN 'two-factor code required' " \
	"      WHEN NOT l.ua THEN 'inactive user' " \
	"      WHEN NOT l.ca THEN 'inactive company' " \
	"      WHEN NOT l.nl THEN 'locked by an administrator' END " \
	"  FROM (VALUES (0)) v LEFT JOIN l ON true), " \
	"u AS (UPDATE users SET last_login = now(), updated_at = now(), " \
	"    hashed_password = coalesce($8, hashed_password) " \
	"  FROM ok WHERE id = $1), " \
	"ev AS (SELECT authd_enqueue_event($2, 'login.succeeded', " \
	"    jsonb_build_object('user_id', $1::bigint, 'ip_address', " \
	"    coalesce(host($5::inet), ''), 'user_agent', $3::text, " \
	"    'session_id', s.id)) AS n FROM s " \
	"  WHERE EXISTS (SELECT 1 FROM integrations i " \
	"    WHERE i.company_id = $2 AND i.callback_url IS NOT NULL " \
	"    AND 'login.succeeded' = ANY (i.events))) " \
	"SELECT s.id, s.exp, l.seen AND NOT EXISTS (SELECT 1 " \
	"  FROM sessions o WHERE o.user_id = $1 " \
	"  AND o.device_fingerprint = $4), " \
	"  l.same, l.ua, l.ca, l.pw, l.tf, l.nl, " \
	"  (SELECT coalesce(sum(n), 0) FROM ev) " \
	"FROM (VALUES (0)) v LEFT JOIN l ON true LEFT JOIN s ON true"

/*
 * $6: the presented token's signature was checked; else it must be the
 * very token whose SHA-256 ($7) the session keeps.
 */
#define REFRESH_ROTATE_SQL \
	"UPDATE sessions s SET refresh_prev_jti = s.refresh_jti, " \
	"  refresh_jti = $3, refresh_hash = $5, refresh_rotated_at = now(), " \
	"  last_used_at = now() " \
	"FROM users u, companies c " \
	"WHERE s.id = $1 AND s.user_id = $2 AND s.refresh_jti = $4 " \
	"AND ($6::boolean OR s.refresh_hash = $7) " \
	"AND s.is_active AND s.expires_at > now() " \
	"AND u.id = s.user_id AND u.is_active " \
	"AND c.id = s.company_id AND c.is_active " \
	"RETURNING s.company_id, extract(epoch FROM s.expires_at)::bigint"
#define REFRESH_GRACE_SQL \
	"SELECT s.refresh_jti, s.company_id, " \
	"  extract(epoch FROM s.expires_at)::bigint, " \
	"  s.is_active AND s.expires_at > now() AND u.is_active " \
	"    AND c.is_active, " \
	"  s.refresh_prev_jti IS NOT DISTINCT FROM $3 AND $4::int > 0 " \
	"    AND s.refresh_rotated_at > " \
	"      now() - make_interval(secs => $4::int) " \
	"FROM sessions s JOIN users u ON u.id = s.user_id " \
	"JOIN companies c ON c.id = s.company_id " \
	"WHERE s.id = $1 AND s.user_id = $2"
/*
 * Ends session $1 of user $2 for reason $3 and queues its
 * session.revoked in the same statement; no row when it had ended
 * already (a concurrent revocation came first).  The column is how
 * many deliveries were queued.
 */
#define SESSION_REVOKE_SQL \
	"WITH r AS (UPDATE sessions SET is_active = false, " \
	"    revoked_at = now(), revoked_reason = $3 " \
	"  WHERE id = $1 AND user_id = $2 AND is_active " \
	"  RETURNING id, company_id) " \
	"SELECT authd_enqueue_event(r.company_id, 'session.revoked', " \
	"  jsonb_build_object('user_id', $2::bigint, 'session_id', r.id, " \
	"  'reason', $3::text)) FROM r"

/* Two tokens signed together, then one answer. */
struct token_pair {
	struct http_req	*tp_hr;
	char		*tp_access;
	char		*tp_refresh;
};

struct login {
	struct token_pair lg_tp;
	json_t		*lg_body;
	const char	*lg_password;
	char		 lg_ua[AUTH_UA_MAX + 1];
	char		 lg_fp[65];
	int64_t		 lg_uid;
	int64_t		 lg_cid;
	int		 lg_found;
	int		 lg_user_active;
	int		 lg_company_active;
	int		 lg_tfa;
	int		 lg_verified;
	int		 lg_admin_locked;	/* authctl user lock */
	char		 lg_sealed[SEAL_MAX * 2 + 1];
	uint64_t	 lg_last_step;
	const char	*lg_totp;
	const char	*lg_detail;	/* of a 401 */
	const char	*lg_username;
	char		 lg_account[80];	/* rate-limit key */
	int		 lg_reserved;	/* rl_login_check() let it go on */
	char		 lg_hash[PASSWORD_HASH_MAX];
	char		 lg_newhash[PASSWORD_HASH_MAX];
	char		 lg_rjti[AUTH_JTI_LEN];
};

struct refresh {
	struct token_pair rf_tp;	/* the new pair, signed first */
	struct token_claims rf_tc;	/* of the presented token */
	char		*rf_token;	/* the presented token */
	char		 rf_hash[TOKEN_HASH_HEX];	/* its SHA-256 */
	char		 rf_newhash[TOKEN_HASH_HEX];	/* the new one's */
	char		 rf_newjti[AUTH_JTI_LEN];
	int		 rf_verified;	/* its signature was checked */
};

static void
token_pair_free(struct token_pair *tp)
{
	free(tp->tp_access);
	free(tp->tp_refresh);
	tp->tp_access = tp->tp_refresh = NULL;
}

/* Keeps the tokens of an IMSG_KH_TOKENS reply; -1 when there are none. */
static int
token_pair_keep(struct ipc_msg *msg, struct token_pair *tp)
{
	const char	*access, *refresh;

	token_pair_free(tp);
	if (msg == NULL || ipc_get_str(msg, &access, TOKEN_MAX_LEN) == -1 ||
	    ipc_get_str(msg, &refresh, TOKEN_MAX_LEN) == -1 ||
	    ipc_get_end(msg) == -1 ||
	    (tp->tp_access = strdup(access)) == NULL ||
	    (tp->tp_refresh = strdup(refresh)) == NULL)
		return (-1);
	return (0);
}

static void
token_pair_reply(struct token_pair *tp)
{
	http_reply(tp->tp_hr, 200, json_pack("{s:s,s:s,s:s,s:i}",
	    "access_token", tp->tp_access, "refresh_token", tp->tp_refresh,
	    "token_type", "bearer", "expires_in", worker_conf.c_access_ttl));
}

static void
token_pair_signed(struct ipc_msg *msg, void *arg)
{
	struct token_pair	*tp = arg;

	if (token_pair_keep(msg, tp) == -1) {
		http_unavailable(tp->tp_hr);
		return;
	}
	token_pair_reply(tp);
}

/*
 * Signs an access token and a refresh token (with the given jti and
 * expiry) for one session, both in one keyholder message; cb gets the
 * reply.  -1 when no keyholder can take it.
 */
static int
token_pair_sign(int64_t uid, int64_t cid, int64_t sid, const char *rjti,
    int64_t rexp, khc_cb cb, void *arg)
{
	char	 ajti[AUTH_JTI_LEN];
	int64_t	 aexp = time(NULL) + worker_conf.c_access_ttl;

	auth_new_jti(ajti, sizeof(ajti));
	return (auth_sign_pair(uid, cid, sid, ajti, aexp, rjti, rexp, cb,
	    arg));
}

/* Signs a session's pair and answers with it. */
static void
token_pair_issue(struct token_pair *tp, int64_t uid, int64_t cid,
    int64_t sid, const char *rjti, int64_t rexp)
{
	if (token_pair_sign(uid, cid, sid, rjti, rexp, token_pair_signed,
	    tp) == -1)
		http_unavailable(tp->tp_hr);
}

/* A string field; NULL when absent.  -1 when present and not a string. */
static int
api_auth_string(json_t *body, const char *field, size_t max,
    const char **out, json_t *errors)
{
	json_t	*v = json_object_get(body, field);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return (0);
	if (!json_is_string(v)) {
		json_array_append_new(errors, http_verr("value_error", "body",
		    field, "Input should be a valid string"));
		return (-1);
	}
	if (json_string_length(v) > max) {
		json_array_append_new(errors, http_verr("string_too_long",
		    "body", field, "String should have at most the allowed "
		    "number of characters"));
		return (-1);
	}
	*out = json_string_value(v);
	return (0);
}

static void
login_free(void *arg)
{
	struct login	*lg = arg;
	json_t		*v;

	/* Its answer is sent: the attempt no longer fills the quota. */
	if (lg->lg_reserved)
		rl_login_release(lg->lg_account);
	token_pair_free(&lg->lg_tp);
	if ((v = json_object_get(lg->lg_body, "password")) != NULL &&
	    json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
	json_decref(lg->lg_body);
	sodium_memzero(lg->lg_newhash, sizeof(lg->lg_newhash));
	free(lg);
}

/* The device: a digest of stable headers and an optional X-Device-Id. */
static void
login_fingerprint(struct http_req *hr, char *out, size_t outlen)
{
	crypto_hash_sha256_state	 st;
	unsigned char			 md[crypto_hash_sha256_BYTES];
	const char			*names[] = { "User-Agent",
					    "Accept-Language", "X-Device-Id" };
	const char			*v;
	size_t				 i;

	crypto_hash_sha256_init(&st);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((v = http_header(hr, names[i])) == NULL)
			v = "";
		crypto_hash_sha256_update(&st, (const unsigned char *)v,
		    strlen(v) + 1);
	}
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(out, outlen, md, 16);
}

static const char *
api_auth_addr(struct http_req *hr)
{
	return (hr->hr_addr[0] != '\0' ? hr->hr_addr : NULL);
}

/*
 * login.failed for a login that LOGIN_SESSION_SQL refused, having
 * written its history row already: the one event not queued by the
 * statement of its change (LOGIN_FAILED_SQL queues the others), as it
 * takes a race with an administrator to happen.
 */
static void
login_failed_event(struct login *lg)
{
	json_t	*data;

	if (!lg->lg_found)
		return;
	data = json_pack("{s:I,s:s,s:s}", "user_id", (json_int_t)lg->lg_uid,
	    "ip_address", lg->lg_tp.tp_hr->hr_addr, "user_agent", lg->lg_ua);
	if (data != NULL)
		delivery_enqueue(lg->lg_cid, "login.failed", data);
	json_decref(data);
}

static void
login_failed_logged(PGresult *res, void *arg)
{
	struct login	*lg = arg;
	struct http_req	*hr = lg->lg_tp.tp_hr;

	if (!db_ok(res))
		log_warnx("request %s: login history not written",
		    hr->hr_reqid);
	else if (PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		delivery_kick();
	http_set_header(hr, "WWW-Authenticate", "Bearer");
	http_error(hr, 401, lg->lg_detail);
}

static void
login_fail(struct login *lg, const char *reason, int status,
    const char *detail)
{
	struct http_req	*hr = lg->lg_tp.tp_hr;
	const char	*params[5];
	char		 uid[24], cid[24];

	log_info("request %s: login failed from %s: %s", hr->hr_reqid,
	    hr->hr_addr, reason);
	snprintf(uid, sizeof(uid), "%" PRId64, lg->lg_uid);
	snprintf(cid, sizeof(cid), "%" PRId64, lg->lg_cid);
	params[0] = lg->lg_found ? uid : NULL;
	params[1] = lg->lg_found ? cid : NULL;
	params[2] = api_auth_addr(hr);
	params[3] = lg->lg_ua;
	params[4] = reason;
	if (status == 401) {
		lg->lg_detail = detail != NULL ? detail :
		    "Incorrect username or password";
		if (db_query(LOGIN_FAILED_SQL, 5, params, login_failed_logged,
		    lg) == -1)
			login_failed_logged(NULL, lg);
		return;
	}
	(void)db_query(LOGIN_FAILED_SQL, 5, params, NULL, NULL);
	http_error(hr, status, detail);
}

/*
 * The user or its company changed while the password was checked: the
 * answer is the one the login would have had, had it read the change.
 * The statement wrote the history row already.
 */
static void
login_session_refused(struct login *lg, PGresult *res)
{
	struct http_req	*hr = lg->lg_tp.tp_hr;
	const char	*reason, *detail;
	int		 status = 401;

	detail = "Incorrect username or password";
	if (PQgetisnull(res, 0, 3))
		reason = "unknown user";
	else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		reason = "moved to another company";
	else if (strcmp(PQgetvalue(res, 0, 6), "t") != 0)
		reason = "password changed";
	else if (strcmp(PQgetvalue(res, 0, 7), "t") != 0) {
		reason = "two-factor code required";
		detail = "Two-factor code required";
	} else if (strcmp(PQgetvalue(res, 0, 4), "t") != 0) {
		reason = "inactive user";
		status = 400;
		detail = "Inactive user";
	} else if (strcmp(PQgetvalue(res, 0, 5), "t") != 0) {
		reason = "inactive company";
		status = 403;
		detail = "Company is inactive";
	} else {
		reason = "locked by an administrator";
		status = 429;
		detail = "Too many login attempts";
		http_set_header(hr, "Retry-After", "3600");
	}
	log_info("request %s: login failed from %s: %s", hr->hr_reqid,
	    hr->hr_addr, reason);
	if (status != 401) {
		login_failed_event(lg);
		http_error(hr, status, detail);
		return;
	}
	/* As for an unknown user; the old company hears nothing more. */
	http_set_header(hr, "WWW-Authenticate", "Bearer");
	http_error(hr, status, detail);
}

static void
login_session_done(PGresult *res, void *arg)
{
	struct login	*lg = arg;
	struct http_req	*hr = lg->lg_tp.tp_hr;
	int64_t		 sid, exp;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		login_session_refused(lg, res);
		return;
	}
	sid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	exp = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	rl_login_succeeded(lg->lg_account);
	metrics_count(MC_SESSIONS_CREATED);
	/* Its last_login, in its cached /users/me, is now another. */
	hr->hr_inval_uid = lg->lg_uid;
	if (strcmp(PQgetvalue(res, 0, 9), "0") != 0)
		delivery_kick();
	/* A device never seen before, but not the account's first login. */
	if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
		account_notify_new_login(lg->lg_uid, hr->hr_addr, lg->lg_ua);
	log_info("request %s: login of user %" PRId64 " from %s, session %"
	    PRId64, hr->hr_reqid, lg->lg_uid, hr->hr_addr, sid);
	token_pair_issue(&lg->lg_tp, lg->lg_uid, lg->lg_cid, sid, lg->lg_rjti,
	    exp);
}

static void	 login_session(struct login *);
static void	 login_second_factor(int, void *);

static void
login_verified(struct ipc_msg *msg, void *arg)
{
	struct login	*lg = arg;
	struct http_req	*hr = lg->lg_tp.tp_hr;
	const char	*newhash;
	uint32_t	 match;

	if (msg == NULL || ipc_get_u32(msg, &match) == -1 ||
	    ipc_get_str(msg, &newhash, PASSWORD_HASH_MAX - 1) == -1 ||
	    ipc_get_end(msg) == -1) {
		http_unavailable(hr);
		return;
	}
	if (!match || !lg->lg_found) {
		rl_login_failed(lg->lg_account, hr->hr_addr);
		login_fail(lg, lg->lg_found ? "bad password" : "unknown user",
		    401, NULL);
		return;
	}
	if (!lg->lg_user_active) {
		login_fail(lg, "inactive user", 400, "Inactive user");
		return;
	}
	if (!lg->lg_company_active) {
		login_fail(lg, "inactive company", 403, "Company is inactive");
		return;
	}
	if (lg->lg_admin_locked) {
		http_set_header(hr, "Retry-After", "3600");
		login_fail(lg, "locked by an administrator", 429,
		    "Too many login attempts");
		return;
	}
	if (worker_conf.c_require_verified && !lg->lg_verified) {
		login_fail(lg, "email not verified", 403, "Email not verified");
		return;
	}
	strlcpy(lg->lg_newhash, newhash, sizeof(lg->lg_newhash));
	if (!lg->lg_tfa) {
		login_session(lg);
		return;
	}
	if (lg->lg_totp == NULL || *lg->lg_totp == '\0') {
		login_fail(lg, "two-factor code required", 401,
		    "Two-factor code required");
		return;
	}
	tfa_login(lg->lg_uid, lg->lg_sealed, lg->lg_last_step, lg->lg_totp,
	    login_second_factor, lg);
}

static void
login_second_factor(int r, void *arg)
{
	struct login	*lg = arg;

	if (r == -1) {
		http_unavailable(lg->lg_tp.tp_hr);
		return;
	}
	if (r == 0) {
		rl_login_failed(lg->lg_account, lg->lg_tp.tp_hr->hr_addr);
		login_fail(lg, "bad two-factor code", 401,
		    "Invalid two-factor code");
		return;
	}
	login_session(lg);
}

/* Every check passed: the session, its history row and the tokens. */
static void
login_session(struct login *lg)
{
	struct http_req	*hr = lg->lg_tp.tp_hr;
	const char	*params[10];
	char		 uid[24], cid[24], ttl[16];

	auth_new_jti(lg->lg_rjti, sizeof(lg->lg_rjti));
	snprintf(uid, sizeof(uid), "%" PRId64, lg->lg_uid);
	snprintf(cid, sizeof(cid), "%" PRId64, lg->lg_cid);
	snprintf(ttl, sizeof(ttl), "%d", worker_conf.c_refresh_ttl);
	params[0] = uid;
	params[1] = cid;
	params[2] = lg->lg_ua;
	params[3] = lg->lg_fp;
	params[4] = api_auth_addr(hr);
	params[5] = ttl;
	params[6] = lg->lg_rjti;
	params[7] = lg->lg_newhash[0] != '\0' ? lg->lg_newhash : NULL;
	params[8] = lg->lg_hash;
	/* A second factor was checked (lg_tfa: the user had it on). */
	params[9] = lg->lg_tfa ? "t" : "f";
	if (db_query(LOGIN_SESSION_SQL, 10, params, login_session_done,
	    lg) == -1)
		http_unavailable(hr);
}

static void	 login_allowed(int, void *);

/*
 * The user row is read, then the password goes to a keyholder in every
 * case: an unknown user is checked against a dummy hash, so the answer
 * takes as long whether or not the account exists.
 */
static void
login_user_done(PGresult *res, void *arg)
{
	struct login		*lg = arg;
	struct http_req		*hr = lg->lg_tp.tp_hr;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) == 1) {
		lg->lg_found = 1;
		lg->lg_uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		lg->lg_cid = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		lg->lg_user_active = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
		lg->lg_company_active = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
		lg->lg_tfa = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
		strlcpy(lg->lg_sealed, PQgetvalue(res, 0, 6),
		    sizeof(lg->lg_sealed));
		lg->lg_last_step = strtoull(PQgetvalue(res, 0, 7), NULL, 10);
		strlcpy(lg->lg_hash, PQgetvalue(res, 0, 2),
		    sizeof(lg->lg_hash));
		lg->lg_verified = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
		lg->lg_admin_locked = strcmp(PQgetvalue(res, 0, 9), "t") == 0;
	}
	rl_account_key(lg->lg_account, sizeof(lg->lg_account), lg->lg_found,
	    lg->lg_uid, lg->lg_username);
	rl_login_check(lg->lg_account, hr->hr_addr, login_allowed, lg);
}

/*
 * The attempt is reserved.  A locked account gets the same answer
 * whether or not the password is right: nothing is learnt by guessing.
 */
static void
login_allowed(int locked, void *arg)
{
	struct login		*lg = arg;
	struct http_req		*hr = lg->lg_tp.tp_hr;
	struct ipc_builder	*b;
	char			 secs[16];
	int			 r;

	if (locked > 0) {
		log_warnx("request %s: login locked for %d s from %s",
		    hr->hr_reqid, locked, hr->hr_addr);
		snprintf(secs, sizeof(secs), "%d", locked);
		http_set_header(hr, "Retry-After", secs);
		login_fail(lg, "locked", 429, "Too many login attempts");
		return;
	}
	lg->lg_reserved = 1;
	if ((b = malloc(sizeof(*b))) == NULL) {
		http_unavailable(hr);
		return;
	}
	ipc_builder_init(b);
	ipc_put_str(b, lg->lg_password);
	ipc_put_str(b, lg->lg_found ? lg->lg_hash : "");
	r = khc_request(IMSG_KH_VERIFY_PASSWORD, b, login_verified, lg);
	ipc_builder_clear(b);
	free(b);
	if (r == -1) {
		http_set_header(hr, "Retry-After", "1");
		http_error(hr, 503, "Service temporarily unavailable");
	}
}

void
api_auth_login(struct http_req *hr)
{
	struct login	*lg;
	json_t		*body, *errors;
	const char	*username, *grant, *ua, *params[1];

	if ((body = http_body_fields(hr)) == NULL)
		return;
	errors = json_array();
	/* Absent and null are both missing. */
	if (api_auth_string(body, "username", AUTH_USERNAME_MAX, &username,
	    errors) == 0 && username == NULL)
		json_array_append_new(errors, http_verr("missing", "body",
		    "username", "Field required"));
	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		json_decref(errors);
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	lg->lg_body = body;
	lg->lg_tp.tp_hr = hr;
	hr->hr_ctx = lg;
	hr->hr_ctx_free = login_free;
	if (api_auth_string(body, "password", PASSWORD_MAX, &lg->lg_password,
	    errors) == 0 && lg->lg_password == NULL)
		json_array_append_new(errors, http_verr("missing", "body",
		    "password", "Field required"));
	api_auth_string(body, "grant_type", 64, &grant, errors);
	api_auth_string(body, "totp_code", 32, &lg->lg_totp, errors);
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return;
	}
	json_decref(errors);
	if (grant != NULL && strcmp(grant, "password") != 0) {
		http_error(hr, 400, "Unsupported grant type");
		return;
	}
	if ((ua = http_header(hr, "User-Agent")) == NULL)
		ua = "";
	strlcpy(lg->lg_ua, ua, sizeof(lg->lg_ua));
	login_fingerprint(hr, lg->lg_fp, sizeof(lg->lg_fp));
	lg->lg_username = username;
	params[0] = username;
	if (db_query(strchr(username, '@') != NULL ? LOGIN_BY_EMAIL_SQL :
	    LOGIN_BY_USERNAME_SQL, 1, params, login_user_done, lg) == -1)
		http_unavailable(hr);
}

static void
refresh_invalid(struct http_req *hr)
{
	http_set_header(hr, "WWW-Authenticate", "Bearer");
	http_error(hr, 401, "Invalid refresh token");
}

/* After SESSION_REVOKE_SQL: what it ended, and the event it queued. */
static void
session_revoked(PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	metrics_count(MC_SESSIONS_REVOKED);
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		delivery_kick();
}

static void
refresh_revoked(PGresult *res, void *arg)
{
	struct refresh	*rf = arg;
	struct http_req	*hr = rf->rf_tp.tp_hr;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	session_revoked(res);
	refresh_invalid(hr);
}

/*
 * The presented token is not the session's current one.  If it is the
 * one rotated last, within the grace window, racing clients all get the
 * current refresh token; any other reuse is theft and ends the session.
 */
static void
refresh_grace_done(PGresult *res, void *arg)
{
	struct refresh	*rf = arg;
	struct http_req	*hr = rf->rf_tp.tp_hr;
	const char	*params[3];
	char		 sid[24], uid[24];

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
		refresh_invalid(hr);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
		token_pair_issue(&rf->rf_tp, rf->rf_tc.tc_uid,
		    strtoll(PQgetvalue(res, 0, 1), NULL, 10),
		    rf->rf_tc.tc_sid, PQgetvalue(res, 0, 0),
		    strtoll(PQgetvalue(res, 0, 2), NULL, 10));
		return;
	}
	log_warnx("request %s: refresh token reuse on session %" PRId64
	    " of user %" PRId64 " from %s: session revoked", hr->hr_reqid,
	    rf->rf_tc.tc_sid, rf->rf_tc.tc_uid, hr->hr_addr);
	snprintf(sid, sizeof(sid), "%" PRId64, rf->rf_tc.tc_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, rf->rf_tc.tc_uid);
	params[0] = sid;
	params[1] = uid;
	params[2] = REFRESH_REUSE_REASON;
	hr->hr_inval_uid = rf->rf_tc.tc_uid;
	if (db_query(SESSION_REVOKE_SQL, 3, params, refresh_revoked, rf) == -1)
		http_unavailable(hr);
}

static void	 refresh_verified(int, struct token_claims *, void *);
static void	 refresh_rotate_done(PGresult *, void *);

/*
 * The new pair is signed before the session is rotated, from the
 * presented token's claims: then the rotation can take a token that is
 * byte for byte the session's current one without checking its
 * signature again (it is what a keyholder signed, under a key still
 * loaded: token_peek); that check was 40% of a worker's time under
 * refreshes.
 * Any other token has its signature checked before the rotation is
 * tried again, and before the reuse of an old one can end a session.
 */
static void
refresh_rotate(struct refresh *rf)
{
	const char	*params[7];
	char		 sid[INT64_STR], uid[INT64_STR];

	snprintf(sid, sizeof(sid), "%" PRId64, rf->rf_tc.tc_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, rf->rf_tc.tc_uid);
	params[0] = sid;
	params[1] = uid;
	params[2] = rf->rf_newjti;
	params[3] = rf->rf_tc.tc_jti;
	params[4] = rf->rf_newhash;
	params[5] = rf->rf_verified ? "true" : "false";
	params[6] = rf->rf_hash;
	if (db_query(REFRESH_ROTATE_SQL, 7, params, refresh_rotate_done,
	    rf) == -1)
		http_unavailable(rf->rf_tp.tp_hr);
}

static void
refresh_rotate_done(PGresult *res, void *arg)
{
	struct refresh	*rf = arg;
	struct http_req	*hr = rf->rf_tp.tp_hr;
	const char	*params[4];
	char		 sid[24], uid[24], grace[16];
	int64_t		 cid, exp;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) == 1) {
		cid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		exp = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		/* Signed from the token's claims; the session's values win. */
		if (cid == rf->rf_tc.tc_cid && exp == rf->rf_tc.tc_exp)
			token_pair_reply(&rf->rf_tp);
		else
			token_pair_issue(&rf->rf_tp, rf->rf_tc.tc_uid, cid,
			    rf->rf_tc.tc_sid, rf->rf_newjti, exp);
		return;
	}
	if (!rf->rf_verified) {
		auth_verify(rf->rf_token, refresh_verified, rf);
		return;
	}
	snprintf(sid, sizeof(sid), "%" PRId64, rf->rf_tc.tc_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, rf->rf_tc.tc_uid);
	snprintf(grace, sizeof(grace), "%d", worker_conf.c_refresh_grace);
	params[0] = sid;
	params[1] = uid;
	params[2] = rf->rf_tc.tc_jti;
	params[3] = grace;
	if (db_query(REFRESH_GRACE_SQL, 4, params, refresh_grace_done,
	    rf) == -1)
		http_unavailable(hr);
}

static void
refresh_free(void *arg)
{
	struct refresh	*rf = arg;

	token_pair_free(&rf->rf_tp);
	free(rf->rf_token);
	free(rf);
}

static void
token_hash_hex(const char *token, char *hex, size_t len)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, len, h, sizeof(h));
}

static void
refresh_signed(struct ipc_msg *msg, void *arg)
{
	struct refresh	*rf = arg;

	if (token_pair_keep(msg, &rf->rf_tp) == -1) {
		http_unavailable(rf->rf_tp.tp_hr);
		return;
	}
	token_hash_hex(rf->rf_tp.tp_refresh, rf->rf_newhash,
	    sizeof(rf->rf_newhash));
	refresh_rotate(rf);
}

/* Answers a failed verification (503 for an outage); 1 when it did. */
static int
refresh_unverified(int r, struct http_req *hr)
{
	if (r == -2)
		http_unavailable(hr);
	else if (r != TOKEN_OK)
		refresh_invalid(hr);
	return (r != TOKEN_OK);
}

/* A token of another type: which answer depends on its signature. */
static void
refresh_wrong_type(int r, struct token_claims *tc, void *arg)
{
	struct refresh	*rf = arg;
	struct http_req	*hr = rf->rf_tp.tp_hr;

	(void)tc;
	if (refresh_unverified(r, hr))
		return;
	http_set_header(hr, "WWW-Authenticate", "Bearer");
	http_error(hr, 401, "Invalid token type");
}

void
api_auth_refresh(struct http_req *hr)
{
	struct refresh	*rf;
	json_t		*body, *errors;
	const char	*token;

	if ((body = http_body_fields(hr)) == NULL)
		return;
	errors = json_array();
	api_auth_string(body, "refresh_token", TOKEN_MAX_LEN * 4, &token,
	    errors);
	if (token == NULL && json_array_size(errors) == 0)
		token = http_query(hr, "refresh_token");
	if (token == NULL && json_array_size(errors) == 0)
		json_array_append_new(errors, http_verr("missing", "body",
		    "refresh_token", "Field required"));
	if (json_array_size(errors) > 0) {
		json_decref(body);
		http_validation(hr, errors);
		return;
	}
	json_decref(errors);
	if ((rf = calloc(1, sizeof(*rf))) == NULL ||
	    (rf->rf_token = strdup(token)) == NULL) {
		free(rf);
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	json_decref(body);
	rf->rf_tp.tp_hr = hr;
	hr->hr_ctx = rf;
	hr->hr_ctx_free = refresh_free;
	/* What fails here fails token_verify() too. */
	if (token_peek(&worker_keys, worker_conf.c_alg, worker_conf.c_issuer,
	    worker_conf.c_leeway, time(NULL), rf->rf_token, &rf->rf_tc) !=
	    TOKEN_OK) {
		refresh_invalid(hr);
		return;
	}
	if (strcmp(rf->rf_tc.tc_type, "refresh") != 0) {
		auth_verify(rf->rf_token, refresh_wrong_type, rf);
		return;
	}
	token_hash_hex(rf->rf_token, rf->rf_hash, sizeof(rf->rf_hash));
	auth_new_jti(rf->rf_newjti, sizeof(rf->rf_newjti));
	if (token_pair_sign(rf->rf_tc.tc_uid, rf->rf_tc.tc_cid,
	    rf->rf_tc.tc_sid, rf->rf_newjti, rf->rf_tc.tc_exp,
	    refresh_signed, rf) == -1)
		http_unavailable(hr);
}

static void
refresh_verified(int r, struct token_claims *tc, void *arg)
{
	struct refresh	*rf = arg;
	struct http_req	*hr = rf->rf_tp.tp_hr;

	(void)tc;
	if (refresh_unverified(r, hr))
		return;
	rf->rf_verified = 1;
	refresh_rotate(rf);
}

static void
logout_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	session_revoked(res);
	http_reply(hr, 200, json_pack("{s:s}", "message",
	    "Successfully logged out"));
}

/* Ends the caller's own session: every token of it dies with it. */
void
api_auth_logout(struct http_req *hr)
{
	const char	*params[3];
	char		 sid[24], uid[24];

	snprintf(sid, sizeof(sid), "%" PRId64, hr->hr_user.au_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	params[0] = sid;
	params[1] = uid;
	params[2] = "logout";
	if (db_query(SESSION_REVOKE_SQL, 3, params, logout_done, hr) == -1)
		http_unavailable(hr);
}

void
api_openid_configuration(struct http_req *hr)
{
	const char	*base = worker_conf.c_issuer;
	char		 jwks[CONFIG_STR + 64], token[CONFIG_STR + 64];

	snprintf(jwks, sizeof(jwks), "%s/.well-known/jwks.json", base);
	snprintf(token, sizeof(token), "%s/api/v1/auth/login", base);
	http_reply(hr, 200, json_pack("{s:s,s:s,s:s,s:[s,s],s:[s],"
	    "s:[s],s:[s]}", "issuer", base, "jwks_uri", jwks,
	    "token_endpoint", token, "grant_types_supported", "password",
	    "refresh_token", "id_token_signing_alg_values_supported",
	    token_alg_name(worker_conf.c_alg), "subject_types_supported",
	    "public", "token_endpoint_auth_methods_supported", "none"));
}

#define INTROSPECT_SQL \
	"SELECT authd_user_role_names(u.id)::text, " \
	"  authd_user_permission_names(u.id)::text " \
	"FROM sessions s JOIN users u ON u.id = s.user_id " \
	"JOIN companies c ON c.id = s.company_id " \
	"WHERE s.id = $1 AND s.user_id = $2 AND s.is_active " \
	"AND s.expires_at > now() AND u.is_active AND c.is_active " \
	"AND ($3::bigint IS NULL OR s.company_id = $3) " \
	"AND ($4::text IS NULL OR s.refresh_jti = $4)"

struct introspect {
	struct http_req		*is_hr;
	struct token_claims	 is_tc;
};

static void
introspect_inactive(struct http_req *hr)
{
	http_reply(hr, 200, json_pack("{s:b}", "active", 0));
}

static void
introspect_done(PGresult *res, void *arg)
{
	struct introspect	*is = arg;
	struct token_claims	*tc = &is->is_tc;
	json_t			*roles, *perms;

	if (!db_ok(res)) {
		http_db_result(is->is_hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		introspect_inactive(is->is_hr);
		return;
	}
	roles = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	perms = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
	http_reply(is->is_hr, 200, json_pack("{s:b,s:s,s:s,s:I,s:I,s:s,s:I,"
	    "s:I,s:s,s:o,s:o}", "active", 1, "iss", tc->tc_iss, "sub",
	    tc->tc_sub, "cid", (json_int_t)tc->tc_cid, "sid",
	    (json_int_t)tc->tc_sid, "jti", tc->tc_jti, "exp",
	    (json_int_t)tc->tc_exp, "iat", (json_int_t)tc->tc_iat, "type",
	    tc->tc_type, "roles", roles ? roles : json_array(), "permissions",
	    perms ? perms : json_array()));
}

static void	 introspect_verified(int, struct token_claims *, void *);

/*
 * RFC 7662: whether a token is active now, and whose it is.  A company
 * admin learns about tokens of its own company only.
 */
void
api_auth_introspect(struct http_req *hr)
{
	struct introspect	*is;
	json_t			*body, *errors;
	const char		*token;

	if ((body = http_body_fields(hr)) == NULL)
		return;
	errors = json_array();
	api_auth_string(body, "token", TOKEN_MAX_LEN * 4, &token, errors);
	if (token == NULL && json_array_size(errors) == 0)
		json_array_append_new(errors, http_verr("missing", "body",
		    "token", "Field required"));
	if (json_array_size(errors) > 0) {
		json_decref(body);
		http_validation(hr, errors);
		return;
	}
	json_decref(errors);
	if ((is = calloc(1, sizeof(*is))) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	is->is_hr = hr;
	hr->hr_ctx = is;
	hr->hr_ctx_free = free;
	auth_verify(token, introspect_verified, is);
	json_decref(body);
}

static void
introspect_verified(int r, struct token_claims *tc, void *arg)
{
	struct introspect	*is = arg;
	struct http_req		*hr = is->is_hr;
	const char		*params[4];
	char			 sid[INT64_STR], uid[INT64_STR], cid[INT64_STR];

	if (r == -2) {
		http_unavailable(hr);
		return;
	}
	if (r != TOKEN_OK) {
		introspect_inactive(hr);
		return;
	}
	is->is_tc = *tc;
	snprintf(sid, sizeof(sid), "%" PRId64, is->is_tc.tc_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, is->is_tc.tc_uid);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	params[0] = sid;
	params[1] = uid;
	params[2] = hr->hr_user.au_root && hr->hr_user.au_superuser ? NULL :
	    cid;
	params[3] = strcmp(is->is_tc.tc_type, "refresh") == 0 ?
	    is->is_tc.tc_jti : NULL;
	if (db_query(INTROSPECT_SQL, 4, params, introspect_done, is) == -1)
		http_unavailable(hr);
}
