/*
 * Two-factor authentication with TOTP (RFC 6238).  The seed is made and
 * sealed by a keyholder; a worker sees it once, to show it at setup, and
 * afterwards only the sealed form passes through.  Codes are checked in
 * the keyholder, and the last accepted step of the secret is kept so
 * that a code is accepted once.  Recovery codes are stored as SHA-256
 * digests.
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
#include "password.h"
#include "seal.h"
#include "totp.h"

#define TFA_RECOVERY_CODES	10

#define TFA_USER_SQL \
	"SELECT u.email, u.two_factor_enabled, " \
	"  encode(u.two_factor_pending_sealed, 'hex'), " \
	"  encode(u.two_factor_secret_sealed, 'hex'), " \
	"  coalesce(u.two_factor_last_step, 0), u.hashed_password " \
	"FROM users u WHERE u.id = $1"
/*
 * The replay guard belongs to a secret: a new one starts with no step
 * used, or its codes of the steps the old secret spent would be taken
 * for replays.  Only while 2FA is off, so an enabled secret keeps its.
 */
#define TFA_PENDING_SQL \
	"UPDATE users SET two_factor_pending_sealed = decode($2, 'hex'), " \
	"two_factor_last_step = NULL " \
	"WHERE id = $1 AND NOT two_factor_enabled RETURNING id"
/*
 * Enables 2FA and replaces the recovery codes, in one statement; only
 * the request whose UPDATE wins touches the codes, or a second enable
 * with the same code, arriving just after, would delete the winner's.
 */
#define TFA_ENABLE_SQL \
	"WITH u AS (UPDATE users SET two_factor_enabled = true, " \
	"    two_factor_secret_sealed = two_factor_pending_sealed, " \
	"    two_factor_pending_sealed = NULL, two_factor_last_step = $2 " \
	"  WHERE id = $1 AND NOT two_factor_enabled " \
	"  AND two_factor_pending_sealed = decode($3, 'hex') " \
	"  AND coalesce(two_factor_last_step, 0) < $2 " \
	"  RETURNING id, company_id), " \
	"d AS (DELETE FROM user_recovery_codes " \
	"  WHERE user_id IN (SELECT id FROM u)), " \
	"r AS (INSERT INTO user_recovery_codes (user_id, code_hash) " \
	"  SELECT u.id, decode(h, 'hex') FROM u, " \
	"  unnest(string_to_array($4, ',')) AS h), " \
	"a AS (INSERT INTO audit_log (actor_user_id, company_id, action, " \
	"  object_type, object_id) SELECT u.id, u.company_id, " \
	"  'user.2fa_enable', 'user', u.id FROM u) " \
	"SELECT id FROM u"
#define TFA_DISABLE_SQL \
	"WITH u AS (UPDATE users SET two_factor_enabled = false, " \
	"    two_factor_secret_sealed = NULL, " \
	"    two_factor_pending_sealed = NULL " \
	"  WHERE id = $1 AND two_factor_enabled RETURNING id, company_id), " \
	"d AS (DELETE FROM user_recovery_codes WHERE user_id = $1), " \
	"a AS (INSERT INTO audit_log (actor_user_id, company_id, action, " \
	"  object_type, object_id) SELECT u.id, u.company_id, " \
	"  'user.2fa_disable', 'user', u.id FROM u) " \
	"SELECT id FROM u"
/* A step is taken once: a concurrent login with the same code loses. */
#define TFA_STEP_SQL \
	"UPDATE users SET two_factor_last_step = $2 WHERE id = $1 " \
	"AND coalesce(two_factor_last_step, 0) < $2 RETURNING id"
#define TFA_RECOVERY_SQL \
	"UPDATE user_recovery_codes SET used_at = now() " \
	"WHERE user_id = $1 AND code_hash = decode($2, 'hex') " \
	"AND used_at IS NULL RETURNING id"

#define TFA_RECOVERY_HEX	(crypto_hash_sha256_BYTES * 2 + 1)

enum tfa_op {
	TFA_SETUP,
	TFA_ENABLE,
	TFA_DISABLE
};

struct tfa {
	struct http_req	*tf_hr;
	enum tfa_op	 tf_op;
	json_t		*tf_body;
	char		 tf_aad[48];
	char		 tf_email[256];
	char		 tf_sealed[SEAL_MAX * 2 + 1];	/* hex */
	uint64_t	 tf_last;
	int		 tf_password_ok;
	char		 tf_codes[TFA_RECOVERY_CODES][16];
	/* login's continuation */
	tfa_login_cb	 tf_cb;
	void		*tf_arg;
	int64_t		 tf_uid;
	char		 tf_code[32];
};

static void
tfa_free(void *arg)
{
	struct tfa	*tf = arg;

	json_decref(tf->tf_body);
	sodium_memzero(tf, sizeof(*tf));
	free(tf);
}

static void
tfa_aad(char *buf, size_t len, int64_t uid)
{
	snprintf(buf, len, "totp:%" PRId64, uid);
}

/* Queues the TOTP check of code against a sealed seed given in hex. */
static int
tfa_check_code(const char *sealed_hex, const char *aad, const char *code,
    uint64_t last, khc_cb cb, void *arg)
{
	struct ipc_builder	*b;
	uint8_t			 box[SEAL_MAX];
	size_t			 boxlen;
	int			 r;

	if (sodium_hex2bin(box, sizeof(box), sealed_hex, strlen(sealed_hex),
	    NULL, &boxlen, NULL) != 0 || boxlen == 0)
		return (-1);
	if ((b = malloc(sizeof(*b))) == NULL)
		return (-1);
	ipc_builder_init(b);
	ipc_put_u32(b, boxlen);
	ipc_put_data(b, box, boxlen);
	ipc_put_str(b, aad);
	ipc_put_str(b, code);
	ipc_put_u64(b, last);
	ipc_put_u64(b, (uint64_t)time(NULL));
	r = khc_request(IMSG_KH_TOTP_VERIFY, b, cb, arg);
	free(b);
	return (r);
}

/* Reads an IMSG_KH_TOTP reply: 1 accepted (step set), 0 not, -1 failed. */
static int
tfa_totp_reply(struct ipc_msg *msg, uint64_t *step)
{
	uint32_t	 ok;

	if (msg == NULL || ipc_get_u32(msg, &ok) == -1 ||
	    ipc_get_u64(msg, step) == -1 || ipc_get_end(msg) == -1)
		return (-1);
	return (ok ? 1 : 0);
}

static void
tfa_setup_stored(PGresult *res, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	json_t		*reply = tf->tf_body;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 400, "Two-factor authentication is already "
		    "enabled");
		return;
	}
	tf->tf_body = NULL;
	hr->hr_nostore = 1;
	http_reply(hr, 200, reply);
}

static void
tfa_setup_secret(struct ipc_msg *msg, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	uint8_t		 secret[64], box[SEAL_MAX];
	char		 b32[128], uid[INT64_STR], *url, *label;
	const char	*params[2];
	uint32_t	 n, m;

	if (msg == NULL || ipc_get_u32(msg, &n) == -1 || n > sizeof(secret) ||
	    ipc_get_data(msg, secret, n) == -1 || ipc_get_u32(msg, &m) == -1 ||
	    m > sizeof(box) || ipc_get_data(msg, box, m) == -1 ||
	    ipc_get_end(msg) == -1 || totp_base32(secret, n, b32,
	    sizeof(b32)) == -1) {
		sodium_memzero(secret, sizeof(secret));
		http_unavailable(hr);
		return;
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_bin2hex(tf->tf_sealed, sizeof(tf->tf_sealed), box, m);
	label = evhttp_encode_uri(tf->tf_email);
	if (label == NULL || asprintf(&url, "otpauth://totp/authd:%s?secret=%s"
	    "&issuer=authd&algorithm=SHA1&digits=%d&period=%d", label, b32,
	    TOTP_DIGITS, TOTP_STEP) == -1) {
		free(label);
		http_unavailable(hr);
		return;
	}
	free(label);
	tf->tf_body = json_pack("{s:s,s:s}", "secret", b32, "otpauth_url", url);
	sodium_memzero(b32, sizeof(b32));
	free(url);
	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	params[0] = uid;
	params[1] = tf->tf_sealed;
	if (db_query(TFA_PENDING_SQL, 2, params, tfa_setup_stored, tf) == -1)
		http_unavailable(hr);
}

static void
tfa_setup(struct tfa *tf)
{
	struct ipc_builder	 b;

	ipc_builder_init(&b);
	ipc_put_u32(&b, TOTP_SECRET_LEN);
	ipc_put_str(&b, tf->tf_aad);
	if (khc_request(IMSG_KH_NEW_SECRET, &b, tfa_setup_secret, tf) == -1)
		http_unavailable(tf->tf_hr);
}

/*
 * The stored form of a recovery code: the SHA-256, in hex, of the code
 * as typed, without spaces and in lower case (people type them).
 */
static void
tfa_recovery_hash(const char *code, char hex[TFA_RECOVERY_HEX])
{
	unsigned char	 md[crypto_hash_sha256_BYTES];
	char		 norm[32];
	size_t		 i, n = 0;

	for (i = 0; code[i] != '\0' && n < sizeof(norm) - 1; i++)
		if (code[i] != ' ')
			norm[n++] = code[i] >= 'A' && code[i] <= 'Z' ?
			    code[i] + 32 : code[i];
	norm[n] = '\0';
	crypto_hash_sha256(md, (unsigned char *)norm, n);
	sodium_bin2hex(hex, TFA_RECOVERY_HEX, md, sizeof(md));
	sodium_memzero(norm, sizeof(norm));
}

/* Ten recovery codes: shown once, their SHA-256 digests stored. */
static int
tfa_recovery_codes(struct tfa *tf, char *hashes, size_t len)
{
	static const char	 alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
	char			 hex[TFA_RECOVERY_HEX];
	int			 i, j;

	hashes[0] = '\0';
	for (i = 0; i < TFA_RECOVERY_CODES; i++) {
		for (j = 0; j < 11; j++)
			tf->tf_codes[i][j] = j == 5 ? '-' :
			    alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		tf->tf_codes[i][11] = '\0';
		tfa_recovery_hash(tf->tf_codes[i], hex);
		if (i > 0 && strlcat(hashes, ",", len) >= len)
			return (-1);
		if (strlcat(hashes, hex, len) >= len)
			return (-1);
	}
	return (0);
}

static void
tfa_enabled(PGresult *res, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	json_t		*codes;
	int		 i;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 400, "Invalid two-factor code");
		return;
	}
	codes = json_array();
	for (i = 0; i < TFA_RECOVERY_CODES; i++)
		json_array_append_new(codes, json_string(tf->tf_codes[i]));
	log_info("request %s: two-factor authentication enabled for user %"
	    PRId64, hr->hr_reqid, hr->hr_user.au_uid);
	hr->hr_nostore = 1;
	http_reply(hr, 200, json_pack("{s:o}", "recovery_codes", codes));
}

static void
tfa_enable_checked(struct ipc_msg *msg, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	const char	*params[4];
	char		 uid[INT64_STR], step[INT64_STR];
	char		 hashes[TFA_RECOVERY_CODES * 66];
	uint64_t	 s;
	int		 r;

	if ((r = tfa_totp_reply(msg, &s)) == -1) {
		http_unavailable(hr);
		return;
	}
	if (r == 0) {
		http_error(hr, 400, "Invalid two-factor code");
		return;
	}
	if (tfa_recovery_codes(tf, hashes, sizeof(hashes)) == -1) {
		http_unavailable(hr);
		return;
	}
	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	snprintf(step, sizeof(step), "%" PRIu64, s);
	params[0] = uid;
	params[1] = step;
	params[2] = tf->tf_sealed;
	params[3] = hashes;
	if (db_query(TFA_ENABLE_SQL, 4, params, tfa_enabled, tf) == -1)
		http_unavailable(hr);
}

static void
tfa_disabled(PGresult *res, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 400, "Incorrect password or code");
		return;
	}
	log_info("request %s: two-factor authentication disabled for user %"
	    PRId64, hr->hr_reqid, hr->hr_user.au_uid);
	http_reply(hr, 200, json_pack("{s:s}", "message",
	    "Two-factor authentication disabled"));
}

static void
tfa_disable_now(struct tfa *tf)
{
	const char	*params[1];
	char		 uid[INT64_STR];

	snprintf(uid, sizeof(uid), "%" PRId64, tf->tf_hr->hr_user.au_uid);
	params[0] = uid;
	if (db_query(TFA_DISABLE_SQL, 1, params, tfa_disabled, tf) == -1)
		http_unavailable(tf->tf_hr);
}

static void
tfa_disable_recovery(PGresult *res, void *arg)
{
	struct tfa	*tf = arg;

	if (!db_ok(res)) {
		http_db_result(tf->tf_hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(tf->tf_hr, 400, "Incorrect password or code");
		return;
	}
	tfa_disable_now(tf);
}

/*
 * The code of a disable: a current TOTP code, or, for whoever lost the
 * authenticator, an unused recovery code (used up; disabling then
 * deletes the others).
 */
static void
tfa_disable_checked(struct ipc_msg *msg, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	const char	*params[2];
	char		 uid[INT64_STR], hex[TFA_RECOVERY_HEX];
	uint64_t	 s;
	int		 r;

	if ((r = tfa_totp_reply(msg, &s)) == -1) {
		http_unavailable(hr);
		return;
	}
	if (!tf->tf_password_ok) {
		http_error(hr, 400, "Incorrect password or code");
		return;
	}
	if (r == 1) {
		tfa_disable_now(tf);
		return;
	}
	tfa_recovery_hash(field_str(tf->tf_body, "code"), hex);
	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	params[0] = uid;
	params[1] = hex;
	if (db_query(TFA_RECOVERY_SQL, 2, params, tfa_disable_recovery,
	    tf) == -1)
		http_unavailable(hr);
}

/* Password first, then the code: both are checked, whatever the first. */
static void
tfa_disable_password(struct ipc_msg *msg, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	const char	*newhash;
	uint32_t	 match;

	if (msg == NULL || ipc_get_u32(msg, &match) == -1 ||
	    ipc_get_str(msg, &newhash, PASSWORD_HASH_MAX - 1) == -1 ||
	    ipc_get_end(msg) == -1) {
		http_unavailable(hr);
		return;
	}
	tf->tf_password_ok = match == 1;
	if (tfa_check_code(tf->tf_sealed, tf->tf_aad, field_str(tf->tf_body,
	    "code"), tf->tf_last, tfa_disable_checked, tf) == -1)
		http_unavailable(hr);
}

static void
tfa_disable(struct tfa *tf, const char *hash)
{
	struct ipc_builder	*b;
	int			 r;

	if (tf->tf_sealed[0] == '\0') {
		http_error(tf->tf_hr, 400, "Incorrect password or code");
		return;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		http_unavailable(tf->tf_hr);
		return;
	}
	ipc_builder_init(b);
	ipc_put_str(b, field_str(tf->tf_body, "password"));
	ipc_put_str(b, hash);
	r = khc_request(IMSG_KH_VERIFY_PASSWORD, b, tfa_disable_password, tf);
	ipc_builder_clear(b);
	free(b);
	if (r == -1)
		http_unavailable(tf->tf_hr);
}

static void
tfa_user_done(PGresult *res, void *arg)
{
	struct tfa	*tf = arg;
	struct http_req	*hr = tf->tf_hr;
	int		 enabled;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	strlcpy(tf->tf_email, PQgetvalue(res, 0, 0), sizeof(tf->tf_email));
	enabled = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	tf->tf_last = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
	switch (tf->tf_op) {
	case TFA_SETUP:
		if (enabled) {
			http_error(hr, 400, "Two-factor authentication is "
			    "already enabled");
			return;
		}
		tfa_setup(tf);
		break;
	case TFA_ENABLE:
		if (enabled || PQgetisnull(res, 0, 2)) {
			http_error(hr, 400, enabled ? "Two-factor "
			    "authentication is already enabled" :
			    "Two-factor setup has not been started");
			return;
		}
		strlcpy(tf->tf_sealed, PQgetvalue(res, 0, 2),
		    sizeof(tf->tf_sealed));
		if (tfa_check_code(tf->tf_sealed, tf->tf_aad,
		    field_str(tf->tf_body, "code"), tf->tf_last,
		    tfa_enable_checked, tf) == -1)
			http_unavailable(hr);
		break;
	case TFA_DISABLE:
		if (enabled)
			strlcpy(tf->tf_sealed, PQgetvalue(res, 0, 3),
			    sizeof(tf->tf_sealed));
		tfa_disable(tf, PQgetvalue(res, 0, 5));
		break;
	}
}

static void
tfa_start(struct http_req *hr, enum tfa_op op, json_t *body)
{
	struct tfa	*tf;
	const char	*params[1];
	char		 uid[INT64_STR];

	if ((tf = calloc(1, sizeof(*tf))) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	tf->tf_hr = hr;
	tf->tf_op = op;
	tf->tf_body = body;
	hr->hr_ctx = tf;
	hr->hr_ctx_free = tfa_free;
	tfa_aad(tf->tf_aad, sizeof(tf->tf_aad), hr->hr_user.au_uid);
	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	params[0] = uid;
	if (db_query(TFA_USER_SQL, 1, params, tfa_user_done, tf) == -1)
		http_unavailable(hr);
}

void
api_twofactor_setup(struct http_req *hr)
{
	tfa_start(hr, TFA_SETUP, NULL);
}

void
api_twofactor_enable(struct http_req *hr)
{
	static const struct field	 fields[] = {
		{ "code", FIELD_STRING, 1, 1, 16 },
	};
	json_t				*body;

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, fields, NFIELDS(fields)) == -1) {
		json_decref(body);
		return;
	}
	tfa_start(hr, TFA_ENABLE, body);
}

void
api_twofactor_disable(struct http_req *hr)
{
	static const struct field	 fields[] = {
		{ "password", FIELD_STRING, 1, 1, PASSWORD_MAX },
		{ "code", FIELD_STRING, 1, 1, 16 },
	};
	json_t				*body;

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, fields, NFIELDS(fields)) == -1) {
		json_decref(body);
		return;
	}
	tfa_start(hr, TFA_DISABLE, body);
}

/*
 * The second factor of a login: a TOTP code of a step not used before,
 * or an unused recovery code.  cb gets 1 (accepted), 0 (refused) or -1
 * (an outage).
 */
static void
tfa_login_done(struct tfa *tf, int r)
{
	tfa_login_cb	 cb = tf->tf_cb;
	void		*arg = tf->tf_arg;

	tfa_free(tf);
	cb(r, arg);
}

static void
tfa_login_row(PGresult *res, void *arg)
{
	struct tfa	*tf = arg;

	if (!db_ok(res)) {
		tfa_login_done(tf, -1);
		return;
	}
	tfa_login_done(tf, PQntuples(res) == 1);
}

static void
tfa_login_recovery(struct tfa *tf)
{
	char		 hex[TFA_RECOVERY_HEX], uid[INT64_STR];
	const char	*params[2];

	tfa_recovery_hash(tf->tf_code, hex);
	snprintf(uid, sizeof(uid), "%" PRId64, tf->tf_uid);
	params[0] = uid;
	params[1] = hex;
	if (db_query(TFA_RECOVERY_SQL, 2, params, tfa_login_row, tf) == -1)
		tfa_login_done(tf, -1);
}

static void
tfa_login_checked(struct ipc_msg *msg, void *arg)
{
	struct tfa	*tf = arg;
	const char	*params[2];
	char		 uid[INT64_STR], step[INT64_STR];
	uint64_t	 s;
	int		 r;

	if ((r = tfa_totp_reply(msg, &s)) == -1) {
		tfa_login_done(tf, -1);
		return;
	}
	if (r == 0) {
		tfa_login_recovery(tf);
		return;
	}
	snprintf(uid, sizeof(uid), "%" PRId64, tf->tf_uid);
	snprintf(step, sizeof(step), "%" PRIu64, s);
	params[0] = uid;
	params[1] = step;
	if (db_query(TFA_STEP_SQL, 2, params, tfa_login_row, tf) == -1)
		tfa_login_done(tf, -1);
}

void
tfa_login(int64_t uid, const char *sealed_hex, uint64_t last_step,
    const char *code, tfa_login_cb cb, void *arg)
{
	struct tfa	*tf;

	if ((tf = calloc(1, sizeof(*tf))) == NULL) {
		cb(-1, arg);
		return;
	}
	tf->tf_cb = cb;
	tf->tf_arg = arg;
	tf->tf_uid = uid;
	if (strlcpy(tf->tf_code, code, sizeof(tf->tf_code)) >=
	    sizeof(tf->tf_code)) {
		tfa_login_done(tf, 0);
		return;
	}
	tfa_aad(tf->tf_aad, sizeof(tf->tf_aad), uid);
	if (tfa_check_code(sealed_hex, tf->tf_aad, code, last_step,
	    tfa_login_checked, tf) == -1)
		tfa_login_done(tf, -1);
}
