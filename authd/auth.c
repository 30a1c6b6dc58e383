/*
 * Authentication of requests.  The token's signature is checked here in
 * the worker with the public keys; then the session row in PostgreSQL,
 * the truth about revocation, must still be active, and so must the user
 * and the company.  The same query brings the caller's effective
 * permissions, so a change of roles counts from the next request on.
 * Its answer is kept in Redis until a write changes it (authcache.c).
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"
#include "tokcache.h"

#define AUTH_SESSION_SQL \
	"SELECT c.is_root, u.is_superuser, u.company_id, " \
	"  authd_user_permission_names(u.id)::text, " \
	"  extract(epoch FROM s.expires_at)::bigint " \
	"FROM sessions s JOIN users u ON u.id = s.user_id " \
	"JOIN companies c ON c.id = s.company_id " \
	"WHERE s.id = $1 AND s.user_id = $2 AND s.is_active " \
	"AND s.expires_at > now() AND u.is_active AND c.is_active"

/*
 * A session's last_used_at says when one of its access tokens was last
 * used, to the minute.  Each worker writes it at most once a minute a
 * session, and the row only where it is older than that, so that a busy
 * token costs one UPDATE a minute and not one a request.
 */
#define AUTH_TOUCH_SQL \
	"UPDATE sessions SET last_used_at = now() WHERE id = $1 " \
	"AND last_used_at < now() - interval '60 seconds'"
#define AUTH_TOUCH_SECONDS	60
#define AUTH_TOUCH_SLOTS	4096	/* sessions remembered, a worker */

static struct {
	int64_t	 at_sid;
	time_t	 at_when;
} auth_touched[AUTH_TOUCH_SLOTS];

static void
auth_fail(struct http_req *hr, const char *detail)
{
	http_set_header(hr, "WWW-Authenticate", "Bearer");
	http_error(hr, 401, detail);
}

struct auth_verify_req {
	auth_verify_cb	 av_cb;
	void		*av_arg;
	char		*av_token;
};

static void
auth_verify_done(struct ipc_msg *msg, void *arg)
{
	struct auth_verify_req	 av = *(struct auth_verify_req *)arg;
	struct token_claims	 tc;
	uint32_t		 valid;

	free(arg);
	if (msg == NULL || ipc_get_u32(msg, &valid) == -1 ||
	    ipc_get_data(msg, &tc, sizeof(tc)) == -1 ||
	    ipc_get_end(msg) == -1) {
		free(av.av_token);
		av.av_cb(-2, NULL, av.av_arg);
		return;
	}
	tc.tc_iss[sizeof(tc.tc_iss) - 1] = '\0';
	tc.tc_sub[sizeof(tc.tc_sub) - 1] = '\0';
	tc.tc_jti[sizeof(tc.tc_jti) - 1] = '\0';
	tc.tc_type[sizeof(tc.tc_type) - 1] = '\0';
	if (valid)
		tokcache_put(av.av_token, &tc);
	free(av.av_token);
	av.av_cb(valid ? TOKEN_OK : TOKEN_INVALID, &tc, av.av_arg);
}

/*
 * Verifies a token's signature and claims.  With public keys a worker
 * does it itself, at once; an HS256 secret lives only in the keyholders,
 * so those tokens are verified there.  Either way a token verified
 * before is found in the worker's cache.
 */
void
auth_verify(const char *token, auth_verify_cb cb, void *arg)
{
	struct auth_verify_req	*av;
	struct ipc_builder	*b;
	struct token_claims	 tc;
	int			 r;

	if (strlen(token) > TOKEN_MAX_LEN) {
		cb(TOKEN_INVALID, NULL, arg);
		return;
	}
	if (tokcache_get(token, time(NULL), worker_conf.c_leeway, &tc) == 0) {
		cb(TOKEN_OK, &tc, arg);
		return;
	}
	if (worker_conf.c_alg != ALG_HS256) {
		memset(&tc, 0, sizeof(tc));
		r = token_verify(&worker_keys, worker_conf.c_alg,
		    worker_conf.c_issuer, worker_conf.c_leeway, time(NULL),
		    token, &tc);
		if (r == TOKEN_OK)
			tokcache_put(token, &tc);
		cb(r == TOKEN_OK ? TOKEN_OK : TOKEN_INVALID, &tc, arg);
		return;
	}
	if ((av = calloc(1, sizeof(*av))) == NULL ||
	    (av->av_token = strdup(token)) == NULL ||
	    (b = malloc(sizeof(*b))) == NULL) {
		if (av != NULL)
			free(av->av_token);
		free(av);
		cb(-2, NULL, arg);
		return;
	}
	av->av_cb = cb;
	av->av_arg = arg;
	ipc_builder_init(b);
	ipc_put_str(b, token);
	r = khc_request(IMSG_KH_VERIFY_TOKEN, b, auth_verify_done, av);
	free(b);
	if (r == -1) {
		free(av->av_token);
		free(av);
		cb(-2, NULL, arg);
	}
}

/*
 * Whether the caller holds perm.  The list is parsed on the first
 * question: most routes ask none, and a long list costs more to parse
 * than the rest of a cached request.
 */
int
auth_has_perm(struct auth_user *au, const char *perm)
{
	size_t	 i;
	json_t	*v;

	if (perm == NULL || au->au_perms_text == NULL)
		return (0);
	if (au->au_perms == NULL) {
		au->au_perms = json_loads(au->au_perms_text, 0, NULL);
		if (au->au_perms == NULL || !json_is_array(au->au_perms)) {
			log_warnx("%s: a permission list is not a JSON array",
			    __func__);
			return (0);
		}
	}
	json_array_foreach(au->au_perms, i, v)
		if (strcmp(json_string_value(v), perm) == 0)
			return (1);
	return (0);
}

/* A lost touch is only a later last_used_at: nothing to answer. */
static void
auth_touch_done(PGresult *res, void *arg)
{
	(void)arg;
	if (res != NULL && !db_ok(res))
		log_warnx("session last use not written: %s",
		    PQresultErrorMessage(res));
}

static void
auth_touch(int64_t sid)
{
	const char	*params[1];
	char		 id[INT64_STR];
	time_t		 now = time(NULL);
	size_t		 slot = (uint64_t)sid % AUTH_TOUCH_SLOTS;

	if (auth_touched[slot].at_sid == sid &&
	    now - auth_touched[slot].at_when < AUTH_TOUCH_SECONDS)
		return;
	auth_touched[slot].at_sid = sid;
	auth_touched[slot].at_when = now;
	snprintf(id, sizeof(id), "%" PRId64, sid);
	params[0] = id;
	(void)db_query(AUTH_TOUCH_SQL, 1, params, auth_touch_done, NULL);
}

/* The caller is known: check the route's permission and run it. */
static void
auth_session_ready(struct http_req *hr)
{
	struct auth_user	*au = &hr->hr_user;
	const struct route	*rt = hr->hr_route;

	hr->hr_authed = 1;
	auth_touch(au->au_sid);
	if ((rt->rt_who == WHO_ADMIN || rt->rt_who == WHO_APIKEY_OR_ADMIN) &&
	    !au->au_superuser &&
	    !auth_has_perm(au, rt->rt_perm)) {
		http_error(hr, 403, "The user doesn't have enough privileges");
		return;
	}
	http_run(hr);
}

static void
auth_session_done(PGresult *res, void *arg)
{
	struct http_req		*hr = arg;
	struct auth_user	*au = &hr->hr_user;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		auth_fail(hr, "Token has been revoked");
		return;
	}
	/*
	 * The company is the session's, not the token's claim: a user
	 * moved to another company must not act in the old one.
	 */
	if (strtoll(PQgetvalue(res, 0, 2), NULL, 10) != au->au_cid) {
		auth_fail(hr, "Token has been revoked");
		return;
	}
	au->au_root = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	au->au_superuser = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if ((au->au_perms_text = strdup(PQgetvalue(res, 0, 3))) == NULL) {
		http_unavailable(hr);
		return;
	}
	authcache_put_session(hr, strtoll(PQgetvalue(res, 0, 4), NULL, 10));
	auth_session_ready(hr);
}

static void
auth_request_verified(int r, struct token_claims *tc, void *arg)
{
	struct http_req	*hr = arg;
	const char	*params[2];
	char		 sid[INT64_STR], uid[INT64_STR];

	if (r == -2) {
		http_unavailable(hr);
		return;
	}
	if (r != TOKEN_OK) {
		auth_fail(hr, "Could not validate credentials");
		return;
	}
	if (strcmp(tc->tc_type, "access") != 0) {
		auth_fail(hr, "Invalid token type");
		return;
	}
	hr->hr_user.au_uid = tc->tc_uid;
	hr->hr_user.au_cid = tc->tc_cid;
	hr->hr_user.au_sid = tc->tc_sid;
	if (authcache_caller(hr, tc) == 0) {
		auth_session_ready(hr);
		return;
	}
	snprintf(sid, sizeof(sid), "%" PRId64, tc->tc_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, tc->tc_uid);
	params[0] = sid;
	params[1] = uid;
	if (db_query(AUTH_SESSION_SQL, 2, params, auth_session_done, hr) == -1)
		http_unavailable(hr);
}

/*
 * Checks the Authorization header of a request for a route that needs
 * a caller, then runs the route's handler or answers 401/403.
 */
void
auth_request(struct http_req *hr)
{
	const char	*h;

	h = http_header(hr, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		auth_fail(hr, "Not authenticated");
		return;
	}
	if (hr->hr_ac_claims != NULL) {
		auth_request_verified(TOKEN_OK, hr->hr_ac_claims, hr);
		return;
	}
	auth_verify(h + 7, auth_request_verified, hr);
}

/* A token id: 128 random bits, base64url without padding. */
void
auth_new_jti(char *buf, size_t len)
{
	unsigned char	 raw[16];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(buf, len, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The claims of a token, as the JSON text a keyholder signs. */
static char *
auth_claims(const char *type, int64_t uid, int64_t cid, int64_t sid,
    const char *jti, int64_t exp)
{
	json_t	*claims;
	char	*text, sub[INT64_STR];

	snprintf(sub, sizeof(sub), "%" PRId64, uid);
	claims = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I,s:I,s:s}",
	    "iss", worker_conf.c_issuer, "sub", sub, "cid", (json_int_t)cid,
	    "sid", (json_int_t)sid, "jti", jti, "iat", (json_int_t)time(NULL),
	    "exp", (json_int_t)exp, "type", type);
	if (claims == NULL)
		return (NULL);
	text = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(claims);
	return (text);
}

/*
 * Asks a keyholder to sign the access token and the refresh token of a
 * session, both in one message.  The callback gets the IMSG_KH_TOKENS
 * reply, or NULL.  -1 when no keyholder can take it.
 */
int
auth_sign_pair(int64_t uid, int64_t cid, int64_t sid, const char *ajti,
    int64_t aexp, const char *rjti, int64_t rexp, khc_cb cb, void *arg)
{
	struct ipc_builder	*b;
	char			*access, *refresh;
	int			 rv = -1;

	access = auth_claims("access", uid, cid, sid, ajti, aexp);
	refresh = auth_claims("refresh", uid, cid, sid, rjti, rexp);
	if (access != NULL && refresh != NULL &&
	    (b = malloc(sizeof(*b))) != NULL) {
		ipc_builder_init(b);
		ipc_put_str(b, access);
		ipc_put_str(b, refresh);
		rv = khc_request(IMSG_KH_SIGN_PAIR, b, cb, arg);
		free(b);
	}
	free(access);
	free(refresh);
	return (rv);
}
