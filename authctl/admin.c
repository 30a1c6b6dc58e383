/*
 * authctl's commands on accounts: users, companies, roles and sessions,
 * and the show commands that list them.  They work on PostgreSQL
 * directly, so that they work while authd is down; a revocation needs
 * no daemon either, since the session row is the truth that workers
 * check on every request.
 *
 * Each command is one call of a function of sql/008_authctl.sql, which
 * makes the change, its checks and its audit_log row in one transaction
 * and answers (status, JSON text).  That JSON is the one output: printed
 * as it is with -j, and rendered for people as a table, a list of fields
 * or one line otherwise.
 */
#include <sys/types.h>

#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "authctl.h"
#include "password.h"

#define ADMIN_CELL_MAX	256	/* a table cell is cut here */

/* How the JSON of an answer reads for people. */
struct admin_col {
	const char	*ac_title;
	const char	*ac_field;
};

struct admin_view {
	const struct admin_col	*av_cols;	/* an array: a table */
	size_t			 av_ncols;
	const char *const	*av_fields;	/* an object: "name: value" */
	size_t			 av_nfields;
	const char		*av_line;	/* an object: "{field}" line */
};

#define ADMIN_N(a)	(sizeof(a) / sizeof((a)[0]))
#define ADMIN_TABLE(c)	{ (c), ADMIN_N(c), NULL, 0, NULL }
#define ADMIN_FIELDS(f)	{ NULL, 0, (f), ADMIN_N(f), NULL }
#define ADMIN_LINE(l)	{ NULL, 0, NULL, 0, (l) }

static const struct admin_col admin_users_cols[] = {
	{ "ID", "id" }, { "USERNAME", "username" }, { "EMAIL", "email" },
	{ "COMPANY", "company_id" }, { "ACTIVE", "is_active" },
	{ "SUPERUSER", "is_superuser" }, { "LOCKED", "locked" },
};
static const struct admin_col admin_companies_cols[] = {
	{ "ID", "id" }, { "NAME", "name" }, { "USERS", "users" },
	{ "ACTIVE", "is_active" }, { "ROOT", "is_root" },
};
static const struct admin_col admin_sessions_cols[] = {
	{ "ID", "id" }, { "USER", "username" }, { "USER_ID", "user_id" },
	{ "ADDRESS", "ip_address" }, { "CREATED", "created_at" },
	{ "LAST_USED", "last_used_at" }, { "EXPIRES", "expires_at" },
};
static const char *const admin_user_fields[] = {
	"id", "username", "email", "full_name", "company_id", "company",
	"is_active", "is_superuser", "is_verified", "two_factor_enabled",
	"locked", "locked_until", "failed_logins", "roles", "permissions",
	"sessions", "created_at", "last_login",
};

static const struct admin_view admin_users_view =
    ADMIN_TABLE(admin_users_cols);
static const struct admin_view admin_companies_view =
    ADMIN_TABLE(admin_companies_cols);
static const struct admin_view admin_sessions_view =
    ADMIN_TABLE(admin_sessions_cols);
static const struct admin_view admin_user_view =
    ADMIN_FIELDS(admin_user_fields);

#define ADMIN_USERS_SQL		"SELECT * FROM authd_ctl_users($1)"
#define ADMIN_COMPANIES_SQL	"SELECT * FROM authd_ctl_companies()"
#define ADMIN_SESSIONS_SQL	"SELECT * FROM authd_ctl_sessions($1)"
#define ADMIN_USER_SHOW_SQL	"SELECT * FROM authd_ctl_user_show($1)"
#define ADMIN_USER_CHECK_SQL	"SELECT * FROM authd_ctl_user_check($1, $2, $3)"
#define ADMIN_USER_ADD_SQL \
	"SELECT * FROM authd_ctl_user_add($1, $2, $3, $4, $5, $6::boolean, " \
	"$7::boolean)"
#define ADMIN_USER_DEL_SQL	"SELECT * FROM authd_ctl_user_del($1)"
#define ADMIN_USER_PASSWD_SQL	"SELECT * FROM authd_ctl_user_passwd($1, $2)"
#define ADMIN_USER_LOCK_SQL \
	"SELECT * FROM authd_ctl_user_lock($1, $2::boolean)"
#define ADMIN_COMPANY_ADD_SQL	"SELECT * FROM authd_ctl_company_add($1, $2)"
#define ADMIN_COMPANY_DEL_SQL \
	"SELECT * FROM authd_ctl_company_del($1, $2::boolean)"
#define ADMIN_ROLE_ADD_SQL	"SELECT * FROM authd_ctl_role_add($1, $2, $3)"
#define ADMIN_ROLE_DEL_SQL	"SELECT * FROM authd_ctl_role_del($1, $2)"
#define ADMIN_ROLE_PERM_SQL \
	"SELECT * FROM authd_ctl_role_permission($1, $2, $3, $4::boolean)"
#define ADMIN_ROLE_USER_SQL \
	"SELECT * FROM authd_ctl_role_user($1, $2, $3, $4::boolean)"
#define ADMIN_SESSION_KILL_SQL	"SELECT * FROM authd_ctl_session_kill($1)"

static json_t	*admin_call(struct ctl_ctx *, const char *, int,
		    const char *const *);
static int	 admin_print(const struct ctl_ctx *, json_t *,
		    const struct admin_view *);
static int	 admin_run(struct ctl_ctx *, const char *, int,
		    const char *const *, const struct admin_view *);
static void	 admin_text(json_t *, char *, size_t);
static void	 admin_table(json_t *, const struct admin_view *);
static void	 admin_line(json_t *, const char *);

/* Whether a call changes the database, and so authd's cache. */
static int
admin_changes(const char *sql)
{
	static const char *const	 reads[] = {
		ADMIN_USERS_SQL, ADMIN_COMPANIES_SQL, ADMIN_SESSIONS_SQL,
		ADMIN_USER_SHOW_SQL, ADMIN_USER_CHECK_SQL
	};
	size_t				 i;

	for (i = 0; i < ADMIN_N(reads); i++)
		if (strcmp(sql, reads[i]) == 0)
			return (0);
	return (1);
}

/*
 * Runs one authd_ctl_* function and returns the JSON of its answer, or
 * NULL after printing the refusal or the failure.
 */
static json_t *
admin_call(struct ctl_ctx *cc, const char *sql, int nparams,
    const char *const *params)
{
	PGconn		*conn;
	PGresult	*res;
	json_t		*j = NULL, *detail;
	json_error_t	 jerr;
	const char	*msg, *errstr;
	int		 status;

	if ((conn = db_connect(cc)) == NULL)
		return (NULL);
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		msg = res != NULL ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		if (msg == NULL)
			msg = PQerrorMessage(conn);
		if (strstr(msg, "authd_ctl_") != NULL &&
		    strstr(msg, "does not exist") != NULL)
			warnx("database: %s (run authctl db migrate)", msg);
		else
			warnx("database: %.*s", (int)strcspn(msg, "\n"), msg);
		goto done;
	}
	if (PQntuples(res) != 1 || PQnfields(res) != 2) {
		warnx("database: unexpected answer");
		goto done;
	}
	status = strtonum(PQgetvalue(res, 0, 0), 100, 599, &errstr);
	if (errstr != NULL) {
		warnx("database: status %s", errstr);
		goto done;
	}
	if ((j = json_loads(PQgetvalue(res, 0, 1), 0, &jerr)) == NULL) {
		warnx("database: answer is not JSON: %s", jerr.text);
		goto done;
	}
	if (status != 200) {
		detail = json_object_get(j, "detail");
		warnx("%s", json_is_string(detail) ?
		    json_string_value(detail) : "refused");
		json_decref(j);
		j = NULL;
	}
	if (j != NULL && admin_changes(sql) && cache_invalidate(&cc->cc_conf) ==
	    -1)
		warnx("the change is made; running workers may answer from "
		    "their cache for up to 30 seconds");
 done:
	PQclear(res);
	PQfinish(conn);
	return (j);
}

/* One value as a cell or a field: JSON scalars plainly, lists joined. */
static void
admin_text(json_t *v, char *buf, size_t len)
{
	json_t		*e, *name;
	size_t		 i;
	char		 item[ADMIN_CELL_MAX];

	buf[0] = '\0';
	switch (json_typeof(v)) {
	case JSON_STRING:
		(void)strlcpy(buf, json_string_value(v), len);
		break;
	case JSON_INTEGER:
		(void)snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_TRUE:
		(void)strlcpy(buf, "yes", len);
		break;
	case JSON_FALSE:
		(void)strlcpy(buf, "no", len);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, e) {
			/* Roles and permissions by their names. */
			if (json_is_object(e) &&
			    (name = json_object_get(e, "name")) != NULL)
				admin_text(name, item, sizeof(item));
			else
				admin_text(e, item, sizeof(item));
			if (i > 0)
				(void)strlcat(buf, ", ", len);
			(void)strlcat(buf, item, len);
		}
		if (json_array_size(v) == 0)
			(void)strlcpy(buf, "(none)", len);
		break;
	case JSON_REAL:
		(void)snprintf(buf, len, "%g", json_real_value(v));
		break;
	case JSON_NULL:
		(void)strlcpy(buf, "-", len);
		break;
	default:
		(void)strlcpy(buf, "(object)", len);
		break;
	}
}

/* An array of objects as columns as wide as their widest cell. */
static void
admin_table(json_t *arr, const struct admin_view *av)
{
	json_t	*row;
	size_t	 i, c, width[16];
	char	 cell[ADMIN_CELL_MAX];

	if (av->av_ncols == 0 || av->av_ncols > ADMIN_N(width))
		return;

	for (c = 0; c < av->av_ncols && c < ADMIN_N(width); c++)
		width[c] = strlen(av->av_cols[c].ac_title);
	json_array_foreach(arr, i, row) {
		for (c = 0; c < av->av_ncols && c < ADMIN_N(width); c++) {
			admin_text(json_object_get(row,
			    av->av_cols[c].ac_field), cell, sizeof(cell));
			if (strlen(cell) > width[c])
				width[c] = strlen(cell);
		}
	}
	/* The last column is not padded: no trailing blanks. */
	width[av->av_ncols - 1] = 0;
	for (c = 0; c < av->av_ncols && c < ADMIN_N(width); c++)
		printf("%-*s%s", (int)width[c], av->av_cols[c].ac_title,
		    c + 1 < av->av_ncols ? "  " : "\n");
	json_array_foreach(arr, i, row) {
		for (c = 0; c < av->av_ncols && c < ADMIN_N(width); c++) {
			admin_text(json_object_get(row,
			    av->av_cols[c].ac_field), cell, sizeof(cell));
			printf("%-*s%s", (int)width[c], cell,
			    c + 1 < av->av_ncols ? "  " : "\n");
		}
	}
}

/* A line with "{field}" replaced by the object's values. */
static void
admin_line(json_t *obj, const char *tmpl)
{
	const char	*p, *end;
	char		 name[64], value[ADMIN_CELL_MAX * 4];
	size_t		 n;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '{' || (end = strchr(p, '}')) == NULL) {
			putchar(*p);
			continue;
		}
		n = (size_t)(end - p - 1);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, p + 1, n);
		name[n] = '\0';
		admin_text(json_object_get(obj, name), value, sizeof(value));
		fputs(value, stdout);
		p = end;
	}
	putchar('\n');
}

/* Prints and frees the answer; an AUTHCTL_EXIT_* status. */
static int
admin_print(const struct ctl_ctx *cc, json_t *j, const struct admin_view *av)
{
	char	 value[ADMIN_CELL_MAX * 16];
	size_t	 i;

	if (cc->cc_json)
		(void)json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	else if (json_is_array(j) && av->av_cols != NULL)
		admin_table(j, av);
	else if (json_is_object(j) && av->av_fields != NULL) {
		for (i = 0; i < av->av_nfields; i++) {
			admin_text(json_object_get(j, av->av_fields[i]),
			    value, sizeof(value));
			printf("%s: %s\n", av->av_fields[i], value);
		}
	} else if (json_is_object(j) && av->av_line != NULL)
		admin_line(j, av->av_line);
	if (cc->cc_json)
		putchar('\n');
	json_decref(j);
	if (fflush(stdout) == EOF) {
		warn("stdout");
		return (AUTHCTL_EXIT_ERROR);
	}
	return (AUTHCTL_EXIT_OK);
}

static int
admin_run(struct ctl_ctx *cc, const char *sql, int nparams,
    const char *const *params, const struct admin_view *av)
{
	json_t	*j;

	if ((j = admin_call(cc, sql, nparams, params)) == NULL)
		return (AUTHCTL_EXIT_ERROR);
	return (admin_print(cc, j, av));
}

/* --- show ----------------------------------------------------------- */

int
admin_show_users(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = { { "company", 1, NULL } };
	const char	*p[1];

	if (ctl_opts(cc, 0, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = opts[0].co_val;
	return (admin_run(cc, ADMIN_USERS_SQL, 1, p, &admin_users_view));
}

int
admin_show_companies(struct ctl_ctx *cc)
{
	return (admin_run(cc, ADMIN_COMPANIES_SQL, 0, NULL,
	    &admin_companies_view));
}

int
admin_show_sessions(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = { { "user", 1, NULL } };
	const char	*p[1];

	if (ctl_opts(cc, 0, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = opts[0].co_val;
	return (admin_run(cc, ADMIN_SESSIONS_SQL, 1, p,
	    &admin_sessions_view));
}

/* --- users ---------------------------------------------------------- */

int
admin_user_show(struct ctl_ctx *cc)
{
	const char	*p[1] = { cc->cc_argv[0] };

	return (admin_run(cc, ADMIN_USER_SHOW_SQL, 1, p, &admin_user_view));
}

/*
 * Reads, checks and hashes a new password for the user; the password
 * itself is cleared before this returns.  0, or -1 after a message.
 */
static int
admin_new_hash(struct ctl_ctx *cc, const char *file, const char *username,
    const char *email, char *hash, size_t hashlen)
{
	char	 password[PASSWORD_MAX + 2];
	int	 rv = -1;

	if (file == NULL)
		file = cc->cc_pwfile;
	if (pw_read(file, 1, password, sizeof(password)) == -1)
		return (-1);
	if (strlen(password) > PASSWORD_MAX)
		warnx("password longer than %d bytes", PASSWORD_MAX);
	else if (pw_check(&cc->cc_conf, password, username, email) == 0 &&
	    pw_hash(&cc->cc_conf, password, hash, hashlen) == 0)
		rv = 0;
	explicit_bzero(password, sizeof(password));
	return (rv);
}

int
admin_user_add(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = {
		{ "company", 1, NULL }, { "inactive", 0, NULL },
		{ "name", 1, NULL }, { "password-file", 1, NULL },
		{ "superuser", 0, NULL },
	};
	static const struct admin_view view = ADMIN_LINE("user {id} "
	    "({username} <{email}>) created in company {company_id} "
	    "({company})");
	const char	*p[7];
	char		 hash[PASSWORD_HASH_MAX];
	json_t		*j;
	int		 rv;

	if (ctl_opts(cc, 2, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = opts[0].co_val;
	p[1] = cc->cc_argv[0];
	p[2] = cc->cc_argv[1];
	/* Refuse a taken name before anyone types a password. */
	if ((j = admin_call(cc, ADMIN_USER_CHECK_SQL, 3, p)) == NULL)
		return (AUTHCTL_EXIT_ERROR);
	json_decref(j);
	if (admin_new_hash(cc, opts[3].co_val, p[2], p[1], hash,
	    sizeof(hash)) == -1)
		return (AUTHCTL_EXIT_ERROR);
	p[3] = opts[2].co_val;
	p[4] = hash;
	p[5] = opts[1].co_val != NULL ? "false" : "true";
	p[6] = opts[4].co_val != NULL ? "true" : "false";
	rv = admin_run(cc, ADMIN_USER_ADD_SQL, 7, p, &view);
	explicit_bzero(hash, sizeof(hash));
	return (rv);
}

int
admin_user_del(struct ctl_ctx *cc)
{
	static const struct admin_view view =
	    ADMIN_LINE("user {id} ({username}) deleted");
	const char	*p[1] = { cc->cc_argv[0] };

	return (admin_run(cc, ADMIN_USER_DEL_SQL, 1, p, &view));
}

int
admin_user_passwd(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = { { "password-file", 1, NULL } };
	static const struct admin_view view = ADMIN_LINE("password of user "
	    "{id} ({username}) changed; its sessions are revoked");
	const char	*p[2] = { cc->cc_argv[0], NULL };
	json_t		*u, *name, *email;
	char		 hash[PASSWORD_HASH_MAX];
	int		 rv = AUTHCTL_EXIT_ERROR;

	if (ctl_opts(cc, 1, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	/* The policy compares the password with the names. */
	if ((u = admin_call(cc, ADMIN_USER_SHOW_SQL, 1, p)) == NULL)
		return (AUTHCTL_EXIT_ERROR);
	name = json_object_get(u, "username");
	email = json_object_get(u, "email");
	if (admin_new_hash(cc, opts[0].co_val, json_string_value(name),
	    json_string_value(email), hash, sizeof(hash)) == 0) {
		p[1] = hash;
		rv = admin_run(cc, ADMIN_USER_PASSWD_SQL, 2, p, &view);
	}
	json_decref(u);
	explicit_bzero(hash, sizeof(hash));
	return (rv);
}

int
admin_user_lock(struct ctl_ctx *cc)
{
	static const struct admin_view view = ADMIN_LINE("user {id} "
	    "({username}) locked; {sessions_revoked} sessions revoked");
	const char	*p[2] = { cc->cc_argv[0], "true" };

	return (admin_run(cc, ADMIN_USER_LOCK_SQL, 2, p, &view));
}

/*
 * The database first (it names the user and clears a "user lock"),
 * then the counters in Redis.  A worker that counted in its own memory
 * while Redis was down forgets on its own, after the lock's time.
 */
int
admin_user_unlock(struct ctl_ctx *cc)
{
	static const struct admin_view view =
	    ADMIN_LINE("user {id} ({username}) unlocked");
	const char	*p[2] = { cc->cc_argv[0], "false" };
	json_t		*j;
	char		 uid[32];

	if ((j = admin_call(cc, ADMIN_USER_LOCK_SQL, 2, p)) == NULL)
		return (AUTHCTL_EXIT_ERROR);
	admin_text(json_object_get(j, "id"), uid, sizeof(uid));
	if (lockout_clear(&cc->cc_conf, uid) == -1) {
		warnx("user %s is unlocked in the database, but its lockout "
		    "counters in Redis are not cleared", uid);
		json_decref(j);
		return (AUTHCTL_EXIT_ERROR);
	}
	return (admin_print(cc, j, &view));
}

/* --- companies ------------------------------------------------------ */

int
admin_company_add(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = { { "description", 1, NULL } };
	static const struct admin_view view = ADMIN_LINE("company {id} "
	    "({name}) created, with the roles admin and user");
	const char	*p[2];

	if (ctl_opts(cc, 1, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = cc->cc_argv[0];
	p[1] = opts[0].co_val;
	return (admin_run(cc, ADMIN_COMPANY_ADD_SQL, 2, p, &view));
}

int
admin_company_del(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = { { "force", 0, NULL } };
	static const struct admin_view view =
	    ADMIN_LINE("company {id} ({name}) deleted");
	const char	*p[2];

	if (ctl_opts(cc, 1, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = cc->cc_argv[0];
	p[1] = opts[0].co_val != NULL ? "true" : "false";
	return (admin_run(cc, ADMIN_COMPANY_DEL_SQL, 2, p, &view));
}

/* --- roles ---------------------------------------------------------- */

int
admin_role_add(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = {
		{ "company", 1, NULL }, { "description", 1, NULL },
	};
	static const struct admin_view view = ADMIN_LINE("role {id} "
	    "({name}) created in company {company_id}");
	const char	*p[3];

	if (ctl_opts(cc, 1, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = opts[0].co_val;
	p[1] = cc->cc_argv[0];
	p[2] = opts[1].co_val;
	return (admin_run(cc, ADMIN_ROLE_ADD_SQL, 3, p, &view));
}

int
admin_role_del(struct ctl_ctx *cc)
{
	struct ctl_opt	 opts[] = { { "company", 1, NULL } };
	static const struct admin_view view = ADMIN_LINE("role {id} "
	    "({name}) of company {company_id} deleted");
	const char	*p[2];

	if (ctl_opts(cc, 1, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	p[0] = opts[0].co_val;
	p[1] = cc->cc_argv[0];
	return (admin_run(cc, ADMIN_ROLE_DEL_SQL, 2, p, &view));
}

/* role grant|revoke ROLE permission P | user U [company C] */
static int
admin_role_change(struct ctl_ctx *cc, int grant)
{
	struct ctl_opt	 opts[] = {
		{ "company", 1, NULL }, { "permission", 1, NULL },
		{ "user", 1, NULL },
	};
	static const struct admin_view perm_view = ADMIN_LINE("role {id} "
	    "({name}) of company {company_id} grants: {permissions}");
	static const struct admin_view user_view = ADMIN_LINE("user {id} "
	    "({username}) has the roles: {roles}");
	const char	*p[4];

	if (ctl_opts(cc, 1, opts, ADMIN_N(opts)) == -1)
		return (ctl_usage(cc));
	if ((opts[1].co_val == NULL) == (opts[2].co_val == NULL)) {
		fprintf(stderr, "authctl: name either a permission or a "
		    "user\n");
		return (ctl_usage(cc));
	}
	p[0] = opts[0].co_val;
	p[1] = cc->cc_argv[0];
	p[3] = grant ? "true" : "false";
	if (opts[1].co_val != NULL) {
		p[2] = opts[1].co_val;
		return (admin_run(cc, ADMIN_ROLE_PERM_SQL, 4, p, &perm_view));
	}
	p[2] = opts[2].co_val;
	return (admin_run(cc, ADMIN_ROLE_USER_SQL, 4, p, &user_view));
}

int
admin_role_grant(struct ctl_ctx *cc)
{
	return (admin_role_change(cc, 1));
}

int
admin_role_revoke(struct ctl_ctx *cc)
{
	return (admin_role_change(cc, 0));
}

/* --- sessions ------------------------------------------------------- */

int
admin_session_kill(struct ctl_ctx *cc)
{
	static const struct admin_view view = ADMIN_LINE("session {id} of "
	    "user {user_id} revoked");
	const char	*p[1];
	const char	*errstr;

	(void)strtonum(cc->cc_argv[0], 1, LLONG_MAX, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "authctl: session id %s: %s\n",
		    cc->cc_argv[0], errstr);
		return (ctl_usage(cc));
	}
	p[0] = cc->cc_argv[0];
	return (admin_run(cc, ADMIN_SESSION_KILL_SQL, 1, p, &view));
}

/* --- cache ---------------------------------------------------------- */

/* After a change made in the database by hand (authd/authcache.c). */
int
admin_cache_flush(struct ctl_ctx *cc)
{
	static const struct admin_view view =
	    ADMIN_LINE("authentication cache flushed");
	json_t	*j;

	if (cache_invalidate(&cc->cc_conf) == -1)
		return (AUTHCTL_EXIT_ERROR);
	if ((j = json_pack("{s:b}", "flushed", 1)) == NULL)
		errx(AUTHCTL_EXIT_ERROR, "out of memory");
	return (admin_print(cc, j, &view));
}
