/*
 * Authentication of requests.  The token's signature is checked here in
 * the worker with the public keys; then the session row in PostgreSQL,
 * the truth about revocation, must still be active, and so must the user
 * and the company.  The same query brings the caller's effective
 * permissions, so a change of roles counts from the next request on.
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

#define AUTH_SESSION_SQL \
	"SELECT c.is_root, u.is_superuser, u.company_id, " \
	"  authd_user_permission_names(u.id)::text " \
	"FROM sessions s JOIN users u ON u.id = s.user_id " \
	"JOIN companies c ON c.id = s.company_id " \
	"WHERE s.id = $1 AND s.user_id = $2 AND s.is_active " \
	"AND s.expires_at > now() AND u.is_active AND c.is_active"

static void
auth_fail(struct http_req *hr, const char *detail)
{
	http_set_header(hr, "WWW-Authenticate", "Bearer");
	http_error(hr, 401, detail);
}

/* Verifies a token's signature and claims with the keys this worker has. */
int
auth_verify(const char *token, struct token_claims *tc)
{
	return (token_verify(&worker_keys, worker_conf.c_alg,
	    worker_conf.c_issuer, worker_conf.c_leeway, time(NULL), token,
	    tc));
}

int
auth_has_perm(const struct auth_user *au, const char *perm)
{
	size_t	 i;
	json_t	*v;

	if (perm == NULL)
		return (0);
	json_array_foreach(au->au_perms, i, v)
		if (strcmp(json_string_value(v), perm) == 0)
			return (1);
	return (0);
}

static void
auth_session_done(PGresult *res, void *arg)
{
	struct http_req		*hr = arg;
	struct auth_user	*au = &hr->hr_user;
	const struct route	*rt = hr->hr_route;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		auth_fail(hr, "Token has been revoked");
		return;
	}
	au->au_root = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	au->au_superuser = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	au->au_perms = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
	if (au->au_perms == NULL || !json_is_array(au->au_perms)) {
		http_db_result(hr, res);
		return;
	}
	hr->hr_authed = 1;
	if (rt->rt_who == WHO_ADMIN && !au->au_superuser &&
	    !auth_has_perm(au, rt->rt_perm)) {
		http_error(hr, 403, "The user doesn't have enough privileges");
		return;
	}
	rt->rt_handler(hr);
}

/*
 * Checks the Authorization header of a request for a route that needs
 * a caller, then runs the route's handler or answers 401/403.
 */
void
auth_request(struct http_req *hr)
{
	struct token_claims	 tc;
	const char		*h, *params[2];
	char			 sid[24], uid[24];

	h = http_header(hr, "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		auth_fail(hr, "Not authenticated");
		return;
	}
	if (auth_verify(h + 7, &tc) != TOKEN_OK) {
		auth_fail(hr, "Could not validate credentials");
		return;
	}
	if (strcmp(tc.tc_type, "access") != 0) {
		auth_fail(hr, "Invalid token type");
		return;
	}
	hr->hr_user.au_uid = tc.tc_uid;
	hr->hr_user.au_cid = tc.tc_cid;
	hr->hr_user.au_sid = tc.tc_sid;
	snprintf(sid, sizeof(sid), "%" PRId64, tc.tc_sid);
	snprintf(uid, sizeof(uid), "%" PRId64, tc.tc_uid);
	params[0] = sid;
	params[1] = uid;
	if (db_query(AUTH_SESSION_SQL, 2, params, auth_session_done, hr) == -1)
		http_unavailable(hr);
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

/*
 * Asks a keyholder to sign a token of the given type.  The callback gets
 * the IMSG_KH_TOKEN reply, or NULL.  -1 when no keyholder can take it.
 */
int
auth_sign(const char *type, int64_t uid, int64_t cid, int64_t sid,
    const char *jti, int64_t exp, khc_cb cb, void *arg)
{
	struct ipc_builder	*b;
	json_t			*claims;
	char			*text, sub[24];
	int			 rv;

	snprintf(sub, sizeof(sub), "%" PRId64, uid);
	claims = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I,s:I,s:s}",
	    "iss", worker_conf.c_issuer, "sub", sub, "cid", (json_int_t)cid,
	    "sid", (json_int_t)sid, "jti", jti, "iat", (json_int_t)time(NULL),
	    "exp", (json_int_t)exp, "type", type);
	if (claims == NULL ||
	    (text = json_dumps(claims, JSON_COMPACT)) == NULL) {
		json_decref(claims);
		return (-1);
	}
	json_decref(claims);
	if ((b = malloc(sizeof(*b))) == NULL) {
		free(text);
		return (-1);
	}
	ipc_builder_init(b);
	ipc_put_str(b, text);
	free(text);
	rv = khc_request(IMSG_KH_SIGN_TOKEN, b, cb, arg);
	free(b);
	return (rv);
}
