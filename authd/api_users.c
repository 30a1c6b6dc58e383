/*
 * /api/v1/users: the caller's own account, and the admin API of the
 * users of a company.  Tenant isolation is a company_id filter in every
 * query ("the scope"): a root admin acts everywhere, anyone else inside
 * its own company, and a user outside the scope is answered exactly as
 * a missing one.  Passwords are checked against the policy here and
 * hashed or verified by a keyholder; every write, its checks and its
 * audit row are one statement (the functions of sql/004_users.sql).
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"
#include "password.h"
#include "policy.h"

#define USERS_EMAIL_MAX		254
#define USERS_USERNAME_MAX	100
#define USERS_FULL_NAME_MAX	255
#define USERS_ROLE_IDS_MAX	100

#define MSG_DUP_EMAIL \
	"The user with this email already exists in the system."
#define MSG_DUP_USERNAME \
	"The user with this username already exists in the system."
#define MSG_NO_PRIVILEGES	"The user doesn't have enough privileges"
#define MSG_USER_NOT_FOUND	"User not found"
#define MSG_ROLE_NOT_FOUND	"Role not found"

#define USERS_ME_SQL \
	"SELECT (authd_user_json(u) || jsonb_build_object(" \
	"  'roles', authd_user_role_names(u.id), " \
	"  'permissions', authd_user_permission_names(u.id)))::text " \
	"FROM users u WHERE u.id = $1"
/* $1 scope or NULL, $2 limit, $3 skip. */
#define USERS_LIST_SQL \
	"SELECT (SELECT count(*) FROM users u " \
	"  WHERE $1::bigint IS NULL OR u.company_id = $1), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY id) FROM (" \
	"  SELECT authd_user_json(u) AS j, u.id FROM users u " \
	"  WHERE $1::bigint IS NULL OR u.company_id = $1 " \
	"  ORDER BY u.id LIMIT $2 OFFSET $3) x), '[]'::jsonb)::text"
/* $1 user, $2 scope or NULL. */
#define USERS_GET_SQL \
	"SELECT authd_user_json(u)::text FROM users u " \
	"WHERE u.id = $1 AND ($2::bigint IS NULL OR u.company_id = $2)"
/* $1 user, $2 scope or NULL, $3 limit, $4 skip; no row: no such user. */
#define USERS_ROLES_SQL \
	"SELECT (SELECT count(*) FROM user_roles ur " \
	"  WHERE ur.user_id = u.id), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_role_json(r) AS j, " \
	"    row_number() OVER (ORDER BY r.name, r.id) AS o " \
	"  FROM user_roles ur JOIN roles r ON r.id = ur.role_id " \
	"  WHERE ur.user_id = u.id " \
	"  ORDER BY r.name, r.id LIMIT $3 OFFSET $4) x), " \
	"  '[]'::jsonb)::text " \
	"FROM users u " \
	"WHERE u.id = $1 AND ($2::bigint IS NULL OR u.company_id = $2)"
/* The current row of a user, for the policy and the current password. */
#define USERS_ROW_SQL \
	"SELECT u.username, u.email, u.hashed_password FROM users u " \
	"WHERE u.id = $1 AND ($2::bigint IS NULL OR u.company_id = $2)"
/* $1 user, $2 scope or NULL, $3 limit, $4 skip; no row: no such user. */
#define USERS_LOGINS_SQL \
	"SELECT (SELECT count(*) FROM login_history h " \
	"  WHERE h.user_id = u.id), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT jsonb_build_object('id', h.id, " \
	"    'created_at', authd_ts(h.created_at), " \
	"    'ip_address', host(h.ip_address), " \
	"    'user_agent', h.user_agent, 'success', h.success, " \
	"    'reason', h.reason) AS j, " \
	"    row_number() OVER (ORDER BY h.created_at DESC, h.id DESC) AS o " \
	"  FROM login_history h WHERE h.user_id = u.id " \
	"  ORDER BY h.created_at DESC, h.id DESC LIMIT $3 OFFSET $4) x), " \
	"  '[]'::jsonb)::text " \
	"FROM users u " \
	"WHERE u.id = $1 AND ($2::bigint IS NULL OR u.company_id = $2)"
/* $1 scope or NULL.  "Active" is a live session used within 24 hours. */
#define USERS_STATS_WHERE \
	"s.is_active AND s.expires_at > now() " \
	"AND ($1::bigint IS NULL OR s.company_id = $1)"
#define USERS_STATS_SQL \
	"SELECT jsonb_build_object(" \
	"  'active_sessions_24h', (SELECT count(*) FROM sessions s WHERE " \
	"    " USERS_STATS_WHERE " " \
	"    AND s.last_used_at > now() - interval '24 hours'), " \
	"  'active_users_24h', (SELECT count(DISTINCT s.user_id) " \
	"    FROM sessions s WHERE " USERS_STATS_WHERE " " \
	"    AND s.last_used_at > now() - interval '24 hours'), " \
	"  'total_active_sessions', (SELECT count(*) FROM sessions s " \
	"    WHERE " USERS_STATS_WHERE "), " \
	"  'total_users', (SELECT count(*) FROM users u " \
	"    WHERE $1::bigint IS NULL OR u.company_id = $1), " \
	"  'new_users_7d', (SELECT count(*) FROM users u " \
	"    WHERE ($1::bigint IS NULL OR u.company_id = $1) " \
	"    AND u.created_at > now() - interval '7 days'))::text"
#define USERS_CREATE_CHECK_SQL \
	"SELECT company_ok, email_taken, username_taken, roles_ok, " \
	"  roles_escalate " \
	"FROM authd_users_create_check($1, $2, $3, $4::bigint[], $5, $6)"
#define USERS_CREATE_SQL \
	"SELECT authd_users_create($1, $2, $3, $4, $5, $6, $7, " \
	"  $8::bigint[], $9, $10)::text"
#define USERS_UPDATE_SQL \
	"SELECT authd_users_update($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, " \
	"  $11, $12, $13, $14, $15)::text"
/* The same, for /users/me with a new password: $16 the hash checked. */
#define USERS_UPDATE_ME_PASSWORD_SQL \
	"SELECT authd_users_update_password($1, $2, $3, $4, $5, $6, $7, $8, " \
	"  $9, $10, $11, $12, $13, $14, $15, $16)::text"
#define USERS_DELETE_SQL \
	"SELECT authd_users_delete($1, $2, $3, $4, $5)::text"
#define USERS_ROLE_SET_SQL \
	"SELECT authd_users_role_set($1, $2, $3, $4, $5, $6, $7)::text"

/* What follows a keyholder's hash of the new password. */
enum users_write {
	USERS_WRITE_CREATE,
	USERS_WRITE_UPDATE,
	USERS_WRITE_ME
};

/* A write in progress: hung on hr_ctx, freed with the request. */
struct users_req {
	struct http_req	*ur_hr;
	json_t		*ur_body;
	enum users_write ur_write;
	int64_t		 ur_target;		/* the user written */
	int64_t		 ur_company;		/* of a new user */
	char		*ur_role_ids;		/* "{1,2}" */
	char		 ur_hash[PASSWORD_HASH_MAX];
	/* /users/me: the stored hash the current password was checked on. */
	char		 ur_checked[PASSWORD_HASH_MAX];
};

/* A refusal of the database, by constraint name, as API.md answers it. */
struct users_refusal {
	const char	*uf_constraint;
	int		 uf_status;
	const char	*uf_detail;
};

static const struct users_refusal users_refusals[] = {
	{ "users_email_key", 400, MSG_DUP_EMAIL },
	{ "users_username_key", 400, MSG_DUP_USERNAME },
	{ "user_roles_role_fk", 404, MSG_ROLE_NOT_FOUND },
	{ "authd_users_role_missing", 404, MSG_ROLE_NOT_FOUND },
	{ "authd_users_user_missing", 404, MSG_USER_NOT_FOUND },
	{ "authd_users_privileges", 403, MSG_NO_PRIVILEGES },
	{ "authd_users_last_root_delete", 400,
	    "Cannot delete the only root superuser" },
	{ "authd_users_password_changed", 400, "Incorrect password" },
	{ "authd_users_last_root_update", 400,
	    "Cannot deactivate or demote the only root superuser" },
	{ "authd_users_role_assigned", 400,
	    "Role is already assigned to this user" },
	{ "user_roles_pkey", 400, "Role is already assigned to this user" },
	{ "authd_users_role_unassigned", 400,
	    "Role is not assigned to this user" },
};

static const struct field users_create_fields[] = {
	{ "email", FIELD_STRING, 1, 3, USERS_EMAIL_MAX },
	{ "username", FIELD_STRING, 1, 1, USERS_USERNAME_MAX },
	{ "password", FIELD_STRING, 1, 0, 0 },
	{ "full_name", FIELD_STRING, 0, 0, USERS_FULL_NAME_MAX },
	{ "company_id", FIELD_INT, 0, 0, 0 },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
	{ "is_superuser", FIELD_BOOL, 0, 0, 0 },
	{ "role_ids", FIELD_IDS, 0, 0, USERS_ROLE_IDS_MAX },
};

static const struct field users_update_fields[] = {
	{ "email", FIELD_STRING, 0, 3, USERS_EMAIL_MAX },
	{ "username", FIELD_STRING, 0, 1, USERS_USERNAME_MAX },
	{ "password", FIELD_STRING, 0, 0, 0 },
	{ "full_name", FIELD_STRING, 0, 0, USERS_FULL_NAME_MAX },
	{ "company_id", FIELD_INT, 0, 0, 0 },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
	{ "is_superuser", FIELD_BOOL, 0, 0, 0 },
	{ "is_verified", FIELD_BOOL, 0, 0, 0 },
};

static const struct field users_me_fields[] = {
	{ "email", FIELD_STRING, 0, 3, USERS_EMAIL_MAX },
	{ "username", FIELD_STRING, 0, 1, USERS_USERNAME_MAX },
	{ "password", FIELD_STRING, 0, 0, 0 },
	{ "current_password", FIELD_STRING, 0, 0, PASSWORD_MAX },
	{ "full_name", FIELD_STRING, 0, 0, USERS_FULL_NAME_MAX },
};

/* Fields only an administrator sets; never through /users/me. */
static const char *const users_me_forbidden[] = {
	"is_superuser", "is_active", "company_id", "is_verified"
};

static void	 users_hashed(struct ipc_msg *, void *);

/* A root admin acts on every company. */
static int
users_root_admin(const struct auth_user *au)
{
	return (au->au_superuser && au->au_root);
}

static void
users_id(char *buf, size_t len, int64_t id)
{
	snprintf(buf, len, "%" PRId64, id);
}

/* The scope parameter: NULL for a root admin, else the own company. */
static const char *
users_scope(struct http_req *hr, char *buf, size_t len)
{
	if (users_root_admin(&hr->hr_user))
		return (NULL);
	users_id(buf, len, hr->hr_user.au_cid);
	return (buf);
}

static const char *
users_addr(struct http_req *hr)
{
	return (hr->hr_addr[0] != '\0' ? hr->hr_addr : NULL);
}

/* Zeroes a string field of a body in place (passwords). */
static void
users_wipe(json_t *body, const char *name)
{
	json_t	*v = json_object_get(body, name);

	if (v != NULL && json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

static void
users_req_free(void *arg)
{
	struct users_req	*ur = arg;

	users_wipe(ur->ur_body, "password");
	users_wipe(ur->ur_body, "current_password");
	json_decref(ur->ur_body);
	free(ur->ur_role_ids);
	sodium_memzero(ur->ur_hash, sizeof(ur->ur_hash));
	sodium_memzero(ur->ur_checked, sizeof(ur->ur_checked));
	free(ur);
}

/* Takes body; NULL after answering 503. */
static struct users_req *
users_req_new(struct http_req *hr, json_t *body, enum users_write w)
{
	struct users_req	*ur;

	if ((ur = calloc(1, sizeof(*ur))) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return (NULL);
	}
	ur->ur_hr = hr;
	ur->ur_body = body;
	ur->ur_write = w;
	hr->hr_ctx = ur;
	hr->hr_ctx_free = users_req_free;
	return (ur);
}

/*
 * A failed write: refusals named by a constraint get their answer of
 * API.md; anything else is an outage or a fault (http_db_result).
 */
static void
users_refused(struct users_req *ur, PGresult *res)
{
	struct http_req	*hr = ur->ur_hr;
	const char	*name;
	char		 msg[64];
	size_t		 i;

	name = res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) :
	    NULL;
	if (name != NULL && (strcmp(name, "users_company_id_fkey") == 0 ||
	    strcmp(name, "authd_users_company_missing") == 0)) {
		snprintf(msg, sizeof(msg), "Company with id %" PRId64
		    " not found", ur->ur_company);
		http_error(hr, 404, msg);
		return;
	}
	for (i = 0; name != NULL && i < NFIELDS(users_refusals); i++)
		if (strcmp(name, users_refusals[i].uf_constraint) == 0) {
			log_info("request %s: user write refused: %s",
			    hr->hr_reqid, name);
			http_error(hr, users_refusals[i].uf_status,
			    users_refusals[i].uf_detail);
			return;
		}
	http_db_result(hr, res);
}

/*
 * After a write: the events its statement queued go out (the triggers
 * of 021_user_events.sql, password.changed), and the user gets the
 * mails a new account, a change of address or of password calls for.
 */
static void
users_after_write(struct users_req *ur, const char *text)
{
	struct http_req	*hr = ur->ur_hr;
	json_t		*obj;
	int64_t		 uid;

	delivery_kick();
	if ((obj = json_loads(text, 0, NULL)) == NULL)
		return;
	uid = json_integer_value(json_object_get(obj, "id"));
	/* A new address is proved by its owner before it counts. */
	if (uid > 0 && ur->ur_write == USERS_WRITE_CREATE &&
	    json_is_false(json_object_get(obj, "is_verified")))
		account_send_verification(uid);
	if (uid > 0 && ur->ur_write != USERS_WRITE_CREATE &&
	    hr->hr_method != EVHTTP_REQ_DELETE) {
		if (ur->ur_hash[0] != '\0')
			account_notify_password_changed(uid, hr->hr_addr);
		if (field_present(ur->ur_body, "email"))
			account_send_verification(uid);
	}
	json_decref(obj);
}

/* The answer of a write function: one JSON object text. */
static void
users_written(PGresult *res, void *arg)
{
	struct users_req	*ur = arg;
	struct http_req		*hr = ur->ur_hr;

	if (!db_ok(res)) {
		users_refused(ur, res);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		http_error(hr, 404, MSG_USER_NOT_FOUND);
		return;
	}
	log_info("request %s: %s %s by user %" PRId64, hr->hr_reqid,
	    hr->hr_method == EVHTTP_REQ_DELETE ? "DELETE" : "write",
	    hr->hr_path, hr->hr_user.au_uid);
	if (ur != NULL && !strstr(hr->hr_path, "/roles/"))
		users_after_write(ur, PQgetvalue(res, 0, 0));
	http_reply_text(hr, 200, PQgetvalue(res, 0, 0));
}

/* A list query answering (total, page), or no row when the user is not. */
static void
users_list_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (db_ok(res) && PQntuples(res) == 0) {
		http_error(hr, 404, MSG_USER_NOT_FOUND);
		return;
	}
	http_list_done(res, hr);
}

static void
users_query(struct http_req *hr, const char *sql, int n,
    const char *const *params, db_cb cb, void *arg)
{
	if (db_query(sql, n, params, cb, arg) == -1)
		http_unavailable(hr);
}

/* --- validation ---------------------------------------------------- */

static void
users_invalid(json_t *errors, const char *field, const char *msg)
{
	json_array_append_new(errors, http_verr("value_error", "body", field,
	    msg));
}

static int
users_username_ok(const char *s, json_t *errors)
{
	const char	*p;

	if (strchr(s, '@') != NULL) {
		users_invalid(errors, "username",
		    "Username must not contain '@'");
		return (0);
	}
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			users_invalid(errors, "username",
			    "Username must not contain control characters");
			return (0);
		}
	return (1);
}

/* The checks beyond type and length, for the fields that were given. */
static void
users_check_names(json_t *body, json_t *errors)
{
	json_t	*v;

	v = json_object_get(body, "email");
	if (json_is_string(v) && json_string_length(v) >= 3 &&
	    json_string_length(v) <= USERS_EMAIL_MAX * 4 &&
	    !validate_email(json_string_value(v)))
		users_invalid(errors, "email",
		    "value is not a valid email address");
	v = json_object_get(body, "username");
	if (json_is_string(v) && json_string_length(v) > 0)
		users_username_ok(json_string_value(v), errors);
}

/* One 422 entry per failed rule of the password policy. */
static void
users_check_policy(const char *password, const char *username,
    const char *email, const char *field, json_t *errors)
{
	struct policy_violations	 pv;
	size_t				 i;

	if (policy_check(&worker_conf, password, username, email, &pv) == 0)
		return;
	for (i = 0; i < pv.pv_count; i++)
		users_invalid(errors, field, pv.pv_msg[i]);
}

/* "{1,2,3}" of the role_ids field; NULL when out of memory. */
static char *
users_id_array(json_t *body, const char *name)
{
	json_t	*a = json_object_get(body, name), *v;
	char	*s, num[INT64_STR + 1];
	size_t	 i, len;

	len = json_array_size(a) * sizeof(num) + 3;
	if ((s = malloc(len)) == NULL)
		return (NULL);
	strlcpy(s, "{", len);
	json_array_foreach(a, i, v) {
		snprintf(num, sizeof(num), "%s%" JSON_INTEGER_FORMAT,
		    i > 0 ? "," : "", json_integer_value(v));
		strlcat(s, num, len);
	}
	strlcat(s, "}", len);
	return (s);
}

/* --- keyholder ----------------------------------------------------- */

/* Asks a keyholder to hash password; users_hashed continues. */
static void
users_hash(struct users_req *ur, const char *password)
{
	struct ipc_builder	*b;
	int			 r;

	if ((b = malloc(sizeof(*b))) == NULL) {
		http_unavailable(ur->ur_hr);
		return;
	}
	ipc_builder_init(b);
	ipc_put_str(b, password);
	r = khc_request(IMSG_KH_HASH_PASSWORD, b, users_hashed, ur);
	ipc_builder_clear(b);
	free(b);
	if (r == -1)
		http_unavailable(ur->ur_hr);
}

/* --- reads --------------------------------------------------------- */

static void
users_me_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (db_ok(res) && PQntuples(res) == 1)
		authcache_put_me(hr, PQgetvalue(res, 0, 0));
	http_object_done(res, hr);
}

void
api_users_me(struct http_req *hr)
{
	const char	*params[1];
	char		 uid[INT64_STR];

	if (hr->hr_ac_me != NULL) {
		http_reply_text(hr, 200, hr->hr_ac_me);
		return;
	}
	users_id(uid, sizeof(uid), hr->hr_user.au_uid);
	params[0] = uid;
	hr->hr_notfound = MSG_USER_NOT_FOUND;
	users_query(hr, USERS_ME_SQL, 1, params, users_me_done, hr);
}

/*
 * The company a list acts in: a root admin sees every company unless it
 * names one with ?company_id; everyone else sees its own, whatever the
 * query says.  0 with cid set ("" meaning all), or -1 after a 422.
 */
static int
users_list_scope(struct http_req *hr, char *cid, size_t len)
{
	const char	*q, *errstr;
	long long	 v;

	if (!users_root_admin(&hr->hr_user)) {
		users_id(cid, len, hr->hr_user.au_cid);
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
api_users_list(struct http_req *hr)
{
	const char	*params[3];
	char		 cid[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (users_list_scope(hr, cid, sizeof(cid)) == -1 ||
	    http_paging(hr, &nskip, &nlimit) == -1)
		return;
	users_id(skip, sizeof(skip), nskip);
	users_id(limit, sizeof(limit), nlimit);
	params[0] = cid[0] != '\0' ? cid : NULL;
	params[1] = limit;
	params[2] = skip;
	users_query(hr, USERS_LIST_SQL, 3, params, http_list_done, hr);
}

void
api_users_get(struct http_req *hr)
{
	const char	*params[2];
	char		 id[INT64_STR], scope[INT64_STR];

	users_id(id, sizeof(id), hr->hr_id[0]);
	params[0] = id;
	params[1] = users_scope(hr, scope, sizeof(scope));
	hr->hr_notfound = MSG_USER_NOT_FOUND;
	users_query(hr, USERS_GET_SQL, 2, params, http_object_done, hr);
}

void
api_users_roles(struct http_req *hr)
{
	const char	*params[4];
	char		 id[INT64_STR], scope[INT64_STR];
	char		 skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	users_id(id, sizeof(id), hr->hr_id[0]);
	users_id(skip, sizeof(skip), nskip);
	users_id(limit, sizeof(limit), nlimit);
	params[0] = id;
	params[1] = users_scope(hr, scope, sizeof(scope));
	params[2] = limit;
	params[3] = skip;
	users_query(hr, USERS_ROLES_SQL, 4, params, users_list_done, hr);
}

static void
users_logins(struct http_req *hr, int64_t uid, const char *scope)
{
	const char	*params[4];
	char		 id[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	users_id(id, sizeof(id), uid);
	users_id(skip, sizeof(skip), nskip);
	users_id(limit, sizeof(limit), nlimit);
	params[0] = id;
	params[1] = scope;
	params[2] = limit;
	params[3] = skip;
	users_query(hr, USERS_LOGINS_SQL, 4, params, users_list_done, hr);
}

void
api_users_my_logins(struct http_req *hr)
{
	users_logins(hr, hr->hr_user.au_uid, NULL);
}

void
api_users_logins(struct http_req *hr)
{
	char	 scope[INT64_STR];

	users_logins(hr, hr->hr_id[0], users_scope(hr, scope, sizeof(scope)));
}

void
api_users_stats(struct http_req *hr)
{
	const char	*params[1];
	char		 cid[INT64_STR];

	if (users_list_scope(hr, cid, sizeof(cid)) == -1)
		return;
	params[0] = cid[0] != '\0' ? cid : NULL;
	users_query(hr, USERS_STATS_SQL, 1, params, http_object_done, hr);
}

/* --- create -------------------------------------------------------- */

static void
users_create_write(struct users_req *ur)
{
	struct http_req	*hr = ur->ur_hr;
	json_t		*b = ur->ur_body;
	const char	*params[10];
	char		 cid[INT64_STR], actor[INT64_STR];

	users_id(cid, sizeof(cid), ur->ur_company);
	users_id(actor, sizeof(actor), hr->hr_user.au_uid);
	params[0] = cid;
	params[1] = field_str(b, "email");
	params[2] = field_str(b, "username");
	params[3] = field_str(b, "full_name");
	params[4] = ur->ur_hash;
	params[5] = field_bool(b, "is_active", 1) ? "t" : "f";
	params[6] = field_bool(b, "is_superuser", 0) ? "t" : "f";
	params[7] = ur->ur_role_ids;
	params[8] = actor;
	params[9] = users_addr(hr);
	users_query(hr, USERS_CREATE_SQL, 10, params, users_written, ur);
}

/* The checks that need the database, before a keyholder hashes. */
static void
users_create_checked(PGresult *res, void *arg)
{
	struct users_req	*ur = arg;
	struct http_req		*hr = ur->ur_hr;
	char			 msg[64];

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(msg, sizeof(msg), "Company with id %" PRId64
		    " not found", ur->ur_company);
		http_error(hr, 404, msg);
	} else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		http_error(hr, 400, MSG_DUP_EMAIL);
	else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
		http_error(hr, 400, MSG_DUP_USERNAME);
	else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		http_error(hr, 404, MSG_ROLE_NOT_FOUND);
	else if (strcmp(PQgetvalue(res, 0, 4), "t") == 0)
		http_error(hr, 403, MSG_NO_PRIVILEGES);
	else
		users_hash(ur, field_str(ur->ur_body, "password"));
}

/*
 * Who may create where: a root admin in any company (its own when the
 * body names none); anyone else only in its own company.  Only
 * superusers make superusers.  -1 after answering 403.
 */
static int
users_create_allowed(struct users_req *ur)
{
	struct http_req		*hr = ur->ur_hr;
	struct auth_user	*au = &hr->hr_user;

	ur->ur_company = field_int(ur->ur_body, "company_id", au->au_cid);
	if (ur->ur_company != au->au_cid && !users_root_admin(au)) {
		http_error(hr, 403,
		    "You can only create users in your own company");
		return (-1);
	}
	if (field_bool(ur->ur_body, "is_superuser", 0) && !au->au_superuser) {
		http_error(hr, 403,
		    "Cannot set is_superuser through this endpoint");
		return (-1);
	}
	return (0);
}

/* POST /api/v1/users/ and POST /api/v1/auth/register: UserCreate. */
void
api_users_create(struct http_req *hr)
{
	struct users_req	*ur;
	json_t			*body, *errors;
	const char		*params[6];
	char			 cid[INT64_STR], actor[INT64_STR];

	if ((body = http_body_json(hr)) == NULL ||
	    (ur = users_req_new(hr, body, USERS_WRITE_CREATE)) == NULL)
		return;
	errors = json_array();
	validate_fields(body, users_create_fields,
	    NFIELDS(users_create_fields), errors);
	users_check_names(body, errors);
	if (json_is_string(json_object_get(body, "password")))
		users_check_policy(field_str(body, "password"),
		    field_str(body, "username"), field_str(body, "email"),
		    "password", errors);
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return;
	}
	json_decref(errors);
	if (users_create_allowed(ur) == -1)
		return;
	if ((ur->ur_role_ids = users_id_array(body, "role_ids")) == NULL) {
		http_unavailable(hr);
		return;
	}
	users_id(cid, sizeof(cid), ur->ur_company);
	users_id(actor, sizeof(actor), hr->hr_user.au_uid);
	params[0] = cid;
	params[1] = field_str(body, "email");
	params[2] = field_str(body, "username");
	params[3] = ur->ur_role_ids;
	params[4] = actor;
	params[5] = hr->hr_user.au_superuser ? "f" : "t";
	users_query(hr, USERS_CREATE_CHECK_SQL, 6, params,
	    users_create_checked, ur);
}

/* --- update -------------------------------------------------------- */

static const char *
users_bool_param(json_t *body, const char *name)
{
	if (!field_present(body, name))
		return (NULL);
	return (field_bool(body, name, 0) ? "t" : "f");
}

/* PUT /users/{id} or /users/me, with the new hash if there is one. */
static void
users_update_write(struct users_req *ur)
{
	struct http_req		*hr = ur->ur_hr;
	struct auth_user	*au = &hr->hr_user;
	json_t			*b = ur->ur_body;
	const char		*params[16];
	char			 id[INT64_STR], scope[INT64_STR];
	char			 actor[INT64_STR], sid[INT64_STR];
	char			 cid[INT64_STR];
	int			 me = ur->ur_write == USERS_WRITE_ME;

	users_id(id, sizeof(id), ur->ur_target);
	users_id(actor, sizeof(actor), au->au_uid);
	users_id(sid, sizeof(sid), au->au_sid);
	params[0] = id;
	params[1] = me ? NULL : users_scope(hr, scope, sizeof(scope));
	params[2] = actor;
	params[3] = au->au_superuser ? "t" : "f";
	/* Changing one's own password keeps the session it is done from. */
	params[4] = ur->ur_target == au->au_uid ? sid : NULL;
	params[5] = users_addr(hr);
	params[6] = field_str(b, "email");
	params[7] = field_str(b, "username");
	params[8] = field_str(b, "full_name");
	params[9] = ur->ur_hash[0] != '\0' ? ur->ur_hash : NULL;
	params[10] = me ? NULL : users_bool_param(b, "is_active");
	params[11] = me ? NULL : users_bool_param(b, "is_superuser");
	params[12] = NULL;
	/* Others were refused a company_id but their own, a no-op. */
	if (!me && field_present(b, "company_id") && users_root_admin(au)) {
		ur->ur_company = field_int(b, "company_id", 0);
		users_id(cid, sizeof(cid), ur->ur_company);
		params[12] = cid;
	}
	params[13] = me ? NULL : users_bool_param(b, "is_verified");
	/* A full_name given as null clears it; absent, it stays. */
	params[14] = json_object_get(b, "full_name") != NULL ? "t" : "f";
	if (me && ur->ur_hash[0] != '\0') {
		params[15] = ur->ur_checked;
		users_query(hr, USERS_UPDATE_ME_PASSWORD_SQL, 16, params,
		    users_written, ur);
	} else
		users_query(hr, USERS_UPDATE_SQL, 15, params, users_written,
		    ur);
}

static void
users_verified(struct ipc_msg *msg, void *arg)
{
	struct users_req	*ur = arg;
	const char		*newhash;
	uint32_t		 match;

	if (msg == NULL || ipc_get_u32(msg, &match) == -1 ||
	    ipc_get_str(msg, &newhash, PASSWORD_HASH_MAX - 1) == -1 ||
	    ipc_get_end(msg) == -1) {
		http_unavailable(ur->ur_hr);
		return;
	}
	if (!match) {
		log_info("request %s: wrong current password of user %" PRId64,
		    ur->ur_hr->hr_reqid, ur->ur_target);
		http_error(ur->ur_hr, 400, "Incorrect password");
		return;
	}
	users_hash(ur, field_str(ur->ur_body, "password"));
}

static void
users_hashed(struct ipc_msg *msg, void *arg)
{
	struct users_req	*ur = arg;
	const char		*hash;

	if (msg == NULL || ipc_get_str(msg, &hash, PASSWORD_HASH_MAX - 1) ==
	    -1 || ipc_get_end(msg) == -1 || hash[0] == '\0') {
		http_unavailable(ur->ur_hr);
		return;
	}
	strlcpy(ur->ur_hash, hash, sizeof(ur->ur_hash));
	if (ur->ur_write == USERS_WRITE_CREATE)
		users_create_write(ur);
	else
		users_update_write(ur);
}

/*
 * The user's row is here for a password change: the policy compares the
 * new password with the username and email it will go with, and
 * /users/me checks the current password against the stored hash.
 */
static void
users_row_done(PGresult *res, void *arg)
{
	struct users_req	*ur = arg;
	struct http_req		*hr = ur->ur_hr;
	struct ipc_builder	*b;
	json_t			*errors, *body = ur->ur_body;
	const char		*username, *email;
	int			 r;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 404, MSG_USER_NOT_FOUND);
		return;
	}
	if ((username = field_str(body, "username")) == NULL)
		username = PQgetvalue(res, 0, 0);
	if ((email = field_str(body, "email")) == NULL)
		email = PQgetvalue(res, 0, 1);
	errors = json_array();
	users_check_policy(field_str(body, "password"), username, email,
	    "password", errors);
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return;
	}
	json_decref(errors);
	if (ur->ur_write != USERS_WRITE_ME) {
		users_hash(ur, field_str(body, "password"));
		return;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		http_unavailable(hr);
		return;
	}
	ipc_builder_init(b);
	ipc_put_str(b, field_str(body, "current_password"));
	ipc_put_str(b, PQgetvalue(res, 0, 2));
	strlcpy(ur->ur_checked, PQgetvalue(res, 0, 2), sizeof(ur->ur_checked));
	r = khc_request(IMSG_KH_VERIFY_PASSWORD, b, users_verified, ur);
	ipc_builder_clear(b);
	free(b);
	if (r == -1)
		http_unavailable(hr);
}

/* With a new password the row is read first; else the write goes now. */
static void
users_update_start(struct users_req *ur)
{
	struct http_req	*hr = ur->ur_hr;
	const char	*params[2];
	char		 id[INT64_STR], scope[INT64_STR];

	if (!field_present(ur->ur_body, "password")) {
		users_update_write(ur);
		return;
	}
	users_id(id, sizeof(id), ur->ur_target);
	params[0] = id;
	params[1] = ur->ur_write == USERS_WRITE_ME ? NULL :
	    users_scope(hr, scope, sizeof(scope));
	users_query(hr, USERS_ROW_SQL, 2, params, users_row_done, ur);
}

/* Validation shared by both updates; -1 after answering 422. */
static int
users_update_valid(struct http_req *hr, json_t *body,
    const struct field *fields, size_t n)
{
	json_t	*errors = json_array();

	validate_fields(body, fields, n, errors);
	users_check_names(body, errors);
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return (-1);
	}
	json_decref(errors);
	return (0);
}

/*
 * PUT /api/v1/users/{id}.  Only a root admin moves a user to another
 * company; only superusers set is_superuser and is_verified.  The scope
 * keeps everyone outside the root company away from its users.
 */
void
api_users_update(struct http_req *hr)
{
	struct users_req	*ur;
	struct auth_user	*au = &hr->hr_user;
	json_t			*body;

	if ((body = http_body_json(hr)) == NULL ||
	    (ur = users_req_new(hr, body, USERS_WRITE_UPDATE)) == NULL)
		return;
	ur->ur_target = hr->hr_id[0];
	if (users_update_valid(hr, body, users_update_fields,
	    NFIELDS(users_update_fields)) == -1)
		return;
	if (field_present(body, "company_id") && !users_root_admin(au) &&
	    field_int(body, "company_id", 0) != au->au_cid) {
		http_error(hr, 403,
		    "Cannot change company_id through this endpoint");
		return;
	}
	if (!au->au_superuser && field_present(body, "is_superuser")) {
		http_error(hr, 403,
		    "Cannot change is_superuser through this endpoint");
		return;
	}
	if (!au->au_superuser && field_present(body, "is_verified")) {
		http_error(hr, 403,
		    "Cannot change is_verified through this endpoint");
		return;
	}
	users_update_start(ur);
}

/*
 * PUT /api/v1/users/me.  A privilege field is refused before anything
 * else, so that nothing of such a request is applied.
 */
void
api_users_update_me(struct http_req *hr)
{
	struct users_req	*ur;
	json_t			*body;
	char			 msg[64];
	size_t			 i;

	if ((body = http_body_json(hr)) == NULL ||
	    (ur = users_req_new(hr, body, USERS_WRITE_ME)) == NULL)
		return;
	ur->ur_target = hr->hr_user.au_uid;
	for (i = 0; i < NFIELDS(users_me_forbidden); i++)
		if (json_object_get(body, users_me_forbidden[i]) != NULL) {
			snprintf(msg, sizeof(msg), "Cannot change %s through "
			    "this endpoint", users_me_forbidden[i]);
			http_error(hr, 403, msg);
			return;
		}
	if (users_update_valid(hr, body, users_me_fields,
	    NFIELDS(users_me_fields)) == -1)
		return;
	if (field_present(body, "password") &&
	    !field_present(body, "current_password")) {
		http_missing(hr, "body", "current_password");
		return;
	}
	users_update_start(ur);
}

/* --- delete and roles ---------------------------------------------- */

void
api_users_delete(struct http_req *hr)
{
	struct users_req	*ur;
	const char		*params[5];
	char			 id[INT64_STR], scope[INT64_STR];
	char			 actor[INT64_STR];

	if ((ur = users_req_new(hr, NULL, USERS_WRITE_UPDATE)) == NULL)
		return;
	ur->ur_target = hr->hr_id[0];
	users_id(id, sizeof(id), hr->hr_id[0]);
	users_id(actor, sizeof(actor), hr->hr_user.au_uid);
	params[0] = id;
	params[1] = users_scope(hr, scope, sizeof(scope));
	params[2] = actor;
	params[3] = hr->hr_user.au_superuser ? "t" : "f";
	params[4] = users_addr(hr);
	users_query(hr, USERS_DELETE_SQL, 5, params, users_written, ur);
}

static void
users_role_set(struct http_req *hr, int assign)
{
	struct users_req	*ur;
	const char		*params[7];
	char			 id[INT64_STR], role[INT64_STR];
	char			 scope[INT64_STR], actor[INT64_STR];

	if ((ur = users_req_new(hr, NULL, USERS_WRITE_UPDATE)) == NULL)
		return;
	ur->ur_target = hr->hr_id[0];
	users_id(id, sizeof(id), hr->hr_id[0]);
	users_id(role, sizeof(role), hr->hr_id[1]);
	users_id(actor, sizeof(actor), hr->hr_user.au_uid);
	params[0] = id;
	params[1] = role;
	params[2] = assign ? "t" : "f";
	params[3] = users_scope(hr, scope, sizeof(scope));
	params[4] = actor;
	params[5] = hr->hr_user.au_superuser ? "f" : "t";
	params[6] = users_addr(hr);
	users_query(hr, USERS_ROLE_SET_SQL, 7, params, users_written, ur);
}

void
api_users_role_add(struct http_req *hr)
{
	users_role_set(hr, 1);
}

void
api_users_role_remove(struct http_req *hr)
{
	users_role_set(hr, 0);
}
