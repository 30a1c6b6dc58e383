/*
 * Password reset and email verification by mail (API.md, "Password
 * reset"), and the notices other routes send.
 *
 * A token is 256 random bits, base64url without padding (43 characters),
 * sent only by mail; the database keeps its SHA-256, so neither a
 * database dump nor a log line can be replayed.  Issuing, consuming and
 * everything that goes with them are the functions of sql/007, one
 * transaction each.  Links are built from the configured public url,
 * never from the request's Host, and mail goes to the address stored
 * for the user, never to the one submitted.
 *
 * A reset request answers 202 with the same body whether or not the
 * address is known, before the query that finds the user runs, so that
 * neither the query nor the mail makes a known address slower.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"
#include "password.h"
#include "policy.h"

#define ACCOUNT_TOKEN_BYTES	32
#define ACCOUNT_TOKEN_LEN	43	/* base64url of 32 bytes, no '=' */
#define ACCOUNT_HASH_HEX	(crypto_hash_sha256_BYTES * 2 + 1)
#define ACCOUNT_RESET_TTL	3600	/* seconds: API.md says one hour */
#define ACCOUNT_VERIFY_TTL	86400	/* seconds: one day to open a mail */
#define ACCOUNT_EMAIL_MAX	254
#define ACCOUNT_LINK_MAX	(CONFIG_STR + 128)
#define ACCOUNT_DEVICE_MAX	256

#define MSG_RESET_REQUESTED \
	"If a matching account exists, an email will be sent with instructions."
#define MSG_RESET_DONE		"Password updated successfully"
#define MSG_VERIFIED		"Email verified"
#define MSG_RESENT \
	"If the address needs verification, an email has been sent."
#define MSG_BAD_TOKEN		"Invalid or expired token"

#define RESET_ISSUE_SQL \
	"SELECT r_user_id, r_email, r_username " \
	"FROM authd_password_reset_issue($1, decode($2, 'hex'), $3::int)"
/* The optional email of the body must name the token's user. */
#define RESET_LOOKUP_SQL \
	"SELECT u.email, u.username FROM password_reset_tokens t " \
	"JOIN users u ON u.id = t.user_id " \
	"JOIN companies c ON c.id = u.company_id " \
	"WHERE t.token_hash = decode($1, 'hex') AND t.used_at IS NULL " \
	"AND t.expires_at > now() AND u.is_active AND c.is_active " \
	"AND ($2::text IS NULL OR lower(u.email) = lower($2))"
#define RESET_COMPLETE_SQL \
	"SELECT r_user_id, r_email, r_username, r_revoked " \
	"FROM authd_password_reset_complete(decode($1, 'hex'), $2, $3)"
#define VERIFY_ISSUE_SQL \
	"SELECT r_email, r_username FROM authd_email_verification_issue(" \
	"$1, decode($2, 'hex'), $3::int)"
#define VERIFY_SQL \
	"SELECT r_user_id FROM authd_email_verify(decode($1, 'hex'), $2)"
#define NOTIFY_SQL \
	"SELECT email, username FROM users WHERE id = $1 AND is_active"

/*
 * The state of one request, or of one notice sent in the background
 * (ac_hr NULL).
 */
struct account {
	struct http_req		*ac_hr;
	json_t			*ac_body;
	char			 ac_reqid[40];	/* for the log, ac_hr gone */
	int64_t			 ac_uid;
	enum mail_template	 ac_template;
	char			 ac_token[ACCOUNT_TOKEN_LEN + 1];
	char			 ac_hash[ACCOUNT_HASH_HEX];
	char			 ac_pwhash[PASSWORD_HASH_MAX];
	char			 ac_addr[64];
	char			 ac_device[ACCOUNT_DEVICE_MAX];
};

static void
account_free(void *arg)
{
	struct account	*ac = arg;
	json_t		*v;

	if (ac == NULL)
		return;
	v = json_object_get(ac->ac_body, "new_password");
	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
	json_decref(ac->ac_body);
	sodium_memzero(ac, sizeof(*ac));
	free(ac);
}

/* The state of a request, freed with it.  NULL after answering 503. */
static struct account *
account_new(struct http_req *hr, json_t *body)
{
	struct account	*ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return (NULL);
	}
	ac->ac_hr = hr;
	ac->ac_body = body;
	hr->hr_ctx = ac;
	hr->hr_ctx_free = account_free;
	return (ac);
}

/* ac_hash: the hex SHA-256 of the token text. */
static void
account_hash(struct account *ac)
{
	unsigned char	 md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, (const unsigned char *)ac->ac_token,
	    strlen(ac->ac_token));
	sodium_bin2hex(ac->ac_hash, sizeof(ac->ac_hash), md, sizeof(md));
}

static void
account_token_new(struct account *ac)
{
	unsigned char	 raw[ACCOUNT_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(ac->ac_token, sizeof(ac->ac_token), raw,
	    sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	account_hash(ac);
}

/*
 * Takes a token from a request: -1 unless it has the shape of ours, so
 * that anything else is refused without a query.
 */
static int
account_token_take(struct account *ac, const char *token)
{
	size_t	 len = strlen(token);

	if (len != ACCOUNT_TOKEN_LEN || strspn(token,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != len)
		return (-1);
	memcpy(ac->ac_token, token, len + 1);
	account_hash(ac);
	return (0);
}

/* <public url>/<path>?token=<token>; never the request's Host. */
static void
account_link(char *buf, size_t len, const char *path, const char *token)
{
	snprintf(buf, len, "%s/%s?token=%s", worker_conf.c_public_url, path,
	    token);
}

static void
account_bad_token(struct http_req *hr)
{
	http_error(hr, 400, MSG_BAD_TOKEN);
}

/* Sends a notice (password changed, new login) to a stored address. */
static void
account_mail_notice(enum mail_template t, const char *to,
    const char *username, const char *addr, const char *device)
{
	struct mail_var	 vars[4];
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		 when[64];

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	vars[0].mv_name = "username";
	vars[0].mv_value = username;
	vars[1].mv_name = "time";
	vars[1].mv_value = when;
	vars[2].mv_name = "ip";
	vars[2].mv_value = addr != NULL && addr[0] != '\0' ? addr : "unknown";
	vars[3].mv_name = "device";
	vars[3].mv_value = device != NULL && device[0] != '\0' ? device :
	    "unknown";
	mail_send_template(t, to, vars, 4);
}

static void
account_mail_link(enum mail_template t, const char *to,
    const char *username, const char *link)
{
	struct mail_var	 vars[2];

	vars[0].mv_name = "username";
	vars[0].mv_value = username;
	vars[1].mv_name = "link";
	vars[1].mv_value = link;
	mail_send_template(t, to, vars, 2);
}

/* --- POST /api/v1/auth/password-reset-request ---------------------- */

/*
 * The token was issued (one row) or the address is unknown.  The client
 * has had its answer already.
 */
static void
account_reset_issued(PGresult *res, void *arg)
{
	struct account	*ac = arg;
	char		 link[ACCOUNT_LINK_MAX];

	if (!db_ok(res))
		log_warnx("request %s: password reset not issued: %s",
		    ac->ac_reqid, res == NULL ? "database unavailable" :
		    PQresultErrorMessage(res));
	else if (PQntuples(res) == 1) {
		account_link(link, sizeof(link), "reset-password",
		    ac->ac_token);
		log_info("request %s: password reset requested for user %s",
		    ac->ac_reqid, PQgetvalue(res, 0, 0));
		account_mail_link(MAIL_PASSWORD_RESET, PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2), link);
		sodium_memzero(link, sizeof(link));
	} else
		log_info("request %s: password reset requested for an "
		    "unknown or inactive address", ac->ac_reqid);
	account_free(ac);
}

/*
 * Known or not, the address gets the same answer, and at once: the
 * query that issues the token (or finds no user) runs after the answer
 * has gone, so the time to answer says nothing about the address.  Only
 * a database known to be down is answered otherwise (503), whatever the
 * address.
 */
void
api_account_reset_request(struct http_req *hr)
{
	static const struct field fields[] = {
		{ "email", FIELD_STRING, 1, 1, ACCOUNT_EMAIL_MAX },
	};
	struct account	*ac;
	json_t		*body;
	const char	*params[3];
	char		 ttl[16];
	int		 r;

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, fields, NFIELDS(fields)) == -1) {
		json_decref(body);
		return;
	}
	/* As the original's EmailStr: not an address is a 422. */
	if (!validate_email(field_str(body, "email"))) {
		json_decref(body);
		http_validation(hr, json_pack("[o]", http_verr("value_error",
		    "body", "email", "value is not a valid email address")));
		return;
	}
	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	strlcpy(ac->ac_reqid, hr->hr_reqid, sizeof(ac->ac_reqid));
	account_token_new(ac);
	snprintf(ttl, sizeof(ttl), "%d", ACCOUNT_RESET_TTL);
	params[0] = field_str(body, "email");
	params[1] = ac->ac_hash;
	params[2] = ttl;
	r = db_query(RESET_ISSUE_SQL, 3, params, account_reset_issued, ac);
	json_decref(body);
	if (r == -1) {
		account_free(ac);
		http_unavailable(hr);
		return;
	}
	http_reply(hr, 202, json_pack("{s:s}", "message",
	    MSG_RESET_REQUESTED));
}

/* --- POST /api/v1/auth/password-reset ------------------------------ */

static void
account_reset_done(PGresult *res, void *arg)
{
	struct account	*ac = arg;
	struct http_req	*hr = ac->ac_hr;
	char		 addr[sizeof(hr->hr_addr)];

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		/* Used by a concurrent request since the lookup. */
		account_bad_token(hr);
		return;
	}
	log_info("request %s: password of user %s reset from %s, %s "
	    "sessions revoked", hr->hr_reqid, PQgetvalue(res, 0, 0),
	    hr->hr_addr, PQgetvalue(res, 0, 3));
	strlcpy(addr, hr->hr_addr, sizeof(addr));
	/* The statement queued password.changed: deliver it now. */
	delivery_kick();
	http_reply(hr, 200, json_pack("{s:s}", "message", MSG_RESET_DONE));
	account_mail_notice(MAIL_PASSWORD_CHANGED, PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2), addr, NULL);
}

static void
account_reset_hashed(struct ipc_msg *msg, void *arg)
{
	struct account	*ac = arg;
	struct http_req	*hr = ac->ac_hr;
	const char	*hash, *params[3];

	if (msg == NULL || ipc_get_str(msg, &hash, PASSWORD_HASH_MAX - 1) ==
	    -1 || ipc_get_end(msg) == -1 || hash[0] == '\0') {
		http_unavailable(hr);
		return;
	}
	strlcpy(ac->ac_pwhash, hash, sizeof(ac->ac_pwhash));
	params[0] = ac->ac_hash;
	params[1] = ac->ac_pwhash;
	params[2] = hr->hr_addr;
	if (db_query(RESET_COMPLETE_SQL, 3, params, account_reset_done,
	    ac) == -1)
		http_unavailable(hr);
}

/*
 * The token is good: the new password must pass the policy, with the
 * user's username and stored email, before a keyholder hashes it.  The
 * token is consumed only by the final statement, so a refused password
 * can be corrected with the same link.
 */
static void
account_reset_found(PGresult *res, void *arg)
{
	struct account			*ac = arg;
	struct http_req			*hr = ac->ac_hr;
	struct policy_violations	 pv;
	struct ipc_builder		*b;
	json_t				*errors;
	const char			*password;
	size_t				 i;
	int				 r;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		account_bad_token(hr);
		return;
	}
	password = field_str(ac->ac_body, "new_password");
	if (policy_check(&worker_conf, password, PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 0), &pv) > 0) {
		errors = json_array();
		for (i = 0; i < pv.pv_count; i++)
			json_array_append_new(errors, http_verr("value_error",
			    "body", "new_password", pv.pv_msg[i]));
		http_validation(hr, errors);
		return;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		http_unavailable(hr);
		return;
	}
	ipc_builder_init(b);
	ipc_put_str(b, password);
	r = khc_request(IMSG_KH_HASH_PASSWORD, b, account_reset_hashed, ac);
	ipc_builder_clear(b);
	free(b);
	if (r == -1)
		http_unavailable(hr);
}

void
api_account_reset(struct http_req *hr)
{
	static const struct field fields[] = {
		{ "token", FIELD_STRING, 1, 1, 256 },
		{ "new_password", FIELD_STRING, 1, 0, PASSWORD_MAX },
		{ "email", FIELD_STRING, 0, 1, ACCOUNT_EMAIL_MAX },
	};
	struct account	*ac;
	json_t		*body, *v;
	const char	*params[2];

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, fields, NFIELDS(fields)) == -1) {
		if ((v = json_object_get(body, "new_password")) != NULL &&
		    json_is_string(v))
			sodium_memzero((char *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
		json_decref(body);
		return;
	}
	if ((ac = account_new(hr, body)) == NULL)
		return;
	if (account_token_take(ac, field_str(body, "token")) == -1) {
		account_bad_token(hr);
		return;
	}
	params[0] = ac->ac_hash;
	params[1] = field_str(body, "email");
	if (db_query(RESET_LOOKUP_SQL, 2, params, account_reset_found,
	    ac) == -1)
		http_unavailable(hr);
}

/* --- POST /api/v1/auth/verify-email -------------------------------- */

static void
account_verified(PGresult *res, void *arg)
{
	struct account	*ac = arg;
	struct http_req	*hr = ac->ac_hr;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		account_bad_token(hr);
		return;
	}
	log_info("request %s: email of user %s verified", hr->hr_reqid,
	    PQgetvalue(res, 0, 0));
	http_reply(hr, 200, json_pack("{s:s}", "message", MSG_VERIFIED));
}

void
api_account_verify(struct http_req *hr)
{
	static const struct field fields[] = {
		{ "token", FIELD_STRING, 1, 1, 256 },
	};
	struct account	*ac;
	json_t		*body;
	const char	*params[2];

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, fields, NFIELDS(fields)) == -1) {
		json_decref(body);
		return;
	}
	if ((ac = account_new(hr, body)) == NULL)
		return;
	if (account_token_take(ac, field_str(body, "token")) == -1) {
		account_bad_token(hr);
		return;
	}
	params[0] = ac->ac_hash;
	params[1] = hr->hr_addr;
	if (db_query(VERIFY_SQL, 2, params, account_verified, ac) == -1)
		http_unavailable(hr);
}

/* --- verification mails: resend-verification and other routes ------ */

/*
 * A token was issued (one row) or the user needs none.  With a request
 * (resend-verification) the answer is the same 202 either way.
 */
static void
account_verification_issued(PGresult *res, void *arg)
{
	struct account	*ac = arg;
	struct http_req	*hr = ac->ac_hr;
	char		 link[ACCOUNT_LINK_MAX];
	int		 found;

	if (!db_ok(res)) {
		if (hr != NULL) {
			http_db_result(hr, res);
			return;
		}
		log_warnx("verification mail for user %" PRId64 " not sent: "
		    "%s", ac->ac_uid, res == NULL ? "database unavailable" :
		    PQresultErrorMessage(res));
		account_free(ac);
		return;
	}
	found = PQntuples(res) == 1;
	link[0] = '\0';
	if (found) {
		account_link(link, sizeof(link), "verify-email", ac->ac_token);
		log_info("verification mail for user %" PRId64 " queued",
		    ac->ac_uid);
	}
	if (hr != NULL)
		http_reply(hr, 202, json_pack("{s:s}", "message", MSG_RESENT));
	else
		account_free(ac);
	if (found)
		account_mail_link(MAIL_VERIFY_EMAIL, PQgetvalue(res, 0, 0),
		    PQgetvalue(res, 0, 1), link);
	sodium_memzero(link, sizeof(link));
}

/* Issues a verification token for ac_uid; -1 when the database is out. */
static int
account_verification_start(struct account *ac)
{
	const char	*params[3];
	char		 uid[INT64_STR], ttl[16];

	account_token_new(ac);
	snprintf(uid, sizeof(uid), "%" PRId64, ac->ac_uid);
	snprintf(ttl, sizeof(ttl), "%d", ACCOUNT_VERIFY_TTL);
	params[0] = uid;
	params[1] = ac->ac_hash;
	params[2] = ttl;
	return (db_query(VERIFY_ISSUE_SQL, 3, params,
	    account_verification_issued, ac));
}

void
api_account_resend(struct http_req *hr)
{
	struct account	*ac;

	if ((ac = account_new(hr, NULL)) == NULL)
		return;
	ac->ac_uid = hr->hr_user.au_uid;
	if (account_verification_start(ac) == -1)
		http_unavailable(hr);
}

/*
 * For PUT /users/me after an email change has been committed: mails a
 * verification link to the user's (new) stored address, unless the
 * user is verified or inactive.  Failures are logged.
 */
void
account_send_verification(int64_t user_id)
{
	struct account	*ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		log_warn("verification mail for user %" PRId64 " not sent",
		    user_id);
		return;
	}
	ac->ac_uid = user_id;
	if (account_verification_start(ac) == -1) {
		log_warnx("verification mail for user %" PRId64 " not sent: "
		    "database unavailable", user_id);
		account_free(ac);
	}
}

/* --- notices -------------------------------------------------------- */

static void
account_notice_found(PGresult *res, void *arg)
{
	struct account	*ac = arg;

	if (db_ok(res) && PQntuples(res) == 1)
		account_mail_notice(ac->ac_template, PQgetvalue(res, 0, 0),
		    PQgetvalue(res, 0, 1), ac->ac_addr, ac->ac_device);
	else if (!db_ok(res))
		log_warnx("notice to user %" PRId64 " not sent: %s",
		    ac->ac_uid, res == NULL ? "database unavailable" :
		    PQresultErrorMessage(res));
	account_free(ac);
}

static void
account_notice(enum mail_template t, int64_t user_id, const char *addr,
    const char *device)
{
	struct account	*ac;
	const char	*params[1];
	char		 uid[INT64_STR];

	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		log_warn("notice to user %" PRId64 " not sent", user_id);
		return;
	}
	ac->ac_uid = user_id;
	ac->ac_template = t;
	/* Both are cut to what a mail shows anyway. */
	if (addr != NULL)
		strlcpy(ac->ac_addr, addr, sizeof(ac->ac_addr));
	if (device != NULL)
		strlcpy(ac->ac_device, device, sizeof(ac->ac_device));
	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	params[0] = uid;
	if (db_query(NOTIFY_SQL, 1, params, account_notice_found, ac) == -1) {
		log_warnx("notice to user %" PRId64 " not sent: database "
		    "unavailable", user_id);
		account_free(ac);
	}
}

/* "Your password was changed", e.g. after PUT /users/me; addr: client. */
void
account_notify_password_changed(int64_t user_id, const char *addr)
{
	account_notice(MAIL_PASSWORD_CHANGED, user_id, addr, NULL);
}

/* "New sign-in to your account"; device: e.g. the User-Agent. */
void
account_notify_new_login(int64_t user_id, const char *addr,
    const char *device)
{
	account_notice(MAIL_NEW_LOGIN, user_id, addr, device);
}
