/*
 * authctl database commands: "db migrate", "db status" and "init".
 *
 * They work on PostgreSQL directly, without the daemon, so that a fresh
 * installation can be set up before authd first starts.  authctl runs as
 * the administrator with one synchronous libpq connection.  Every
 * statement that carries a value goes through PQexecParams; the only
 * SQL text sent as is comes from the migration files of the installed
 * SQL directory, which are as trusted as the binary.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authctl.h"
#include "password.h"

#ifndef AUTHD_SQLDIR
#define AUTHD_SQLDIR		"/usr/local/share/authd/sql"
#endif

#define DB_MIGRATION_MAX	(16 * 1024 * 1024)	/* bytes per file */
#define DB_PASSWORD_LEN		20

#define DB_TIMESTAMP(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

struct db_migration {
	int		 dm_version;
	char		 dm_stem[NAME_MAX + 1];	/* "001_schema" */
	char		 dm_name[NAME_MAX + 1];	/* "schema" */
	char		 dm_path[PATH_MAX];
	int		 dm_applied;
	char		 dm_applied_at[32];
};

struct db_migrations {
	struct db_migration	*dms_list;
	size_t			 dms_count;
};

struct db_seed_permission {
	const char	*sp_name;
	const char	*sp_resource;
	const char	*sp_action;
	const char	*sp_description;
};

/* The global objects of API.md, "What authctl init seeds". */
static const struct {
	const char	*sr_name;
	const char	*sr_description;
} db_seed_resources[] = {
	{ "users",		"User accounts" },
	{ "roles",		"Roles and their permissions" },
	{ "profile",		"The caller's own profile" },
	{ "companies",		"Companies (tenants)" },
	{ "permissions",	"Permissions" },
	{ "resources",		"Resource types" },
	{ "integrations",	"Integrations and webhooks" },
	{ "sessions",		"Login sessions" },
	{ "audit",		"The audit log" },
};

static const struct db_seed_permission db_seed_permissions[] = {
	{ "users:read", "users", "read", "List and read users" },
	{ "users:create", "users", "create", "Create users" },
	{ "users:update", "users", "update", "Update users" },
	{ "users:delete", "users", "delete", "Delete users" },
	{ "roles:read", "roles", "read", "List and read roles" },
	{ "roles:create", "roles", "create", "Create roles" },
	{ "roles:update", "roles", "update",
	    "Update roles, their permissions and role assignments" },
	{ "roles:delete", "roles", "delete", "Delete roles" },
	{ "company:create", "companies", "create", "Create companies" },
	{ "company:read", "companies", "read", "Read companies" },
	{ "company:update", "companies", "update", "Update companies" },
	{ "company:delete", "companies", "delete", "Delete companies" },
	{ "company:list", "companies", "list", "List companies" },
	{ "integrations:read", "integrations", "read",
	    "List and read integrations" },
	{ "integrations:create", "integrations", "create",
	    "Create integrations" },
	{ "integrations:update", "integrations", "update",
	    "Update integrations" },
	{ "integrations:delete", "integrations", "delete",
	    "Delete integrations" },
	{ "sessions:read", "sessions", "read", "List sessions" },
	{ "sessions:delete", "sessions", "delete", "Revoke sessions" },
	{ "audit:read", "audit", "read", "Read the audit log" },
	{ "profile:update", "profile", "update", "Update one's own profile" },
};

/*
 * The generated password draws from every class the policy may require;
 * the specials avoid quotes, backslash, '$' and '`' so that it can be
 * pasted into a shell or a JSON body as it is.
 */
static const char db_pw_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char db_pw_lower[] = "abcdefghijklmnopqrstuvwxyz";
static const char db_pw_digit[] = "0123456789";
static const char db_pw_special[] = "!#%+,-.:=?@^_~";

static int	 db_command(PGconn *, const char *);
static PGresult	*db_query(PGconn *, const char *, int,
		    const char *const *, ExecStatusType);
static void	 db_warn_result(const char *, const PGresult *);
static int	 db_migrations_scan(const char *, struct db_migrations *);
static int	 db_migrations_cmp(const void *, const void *);
static int	 db_migrations_read(PGconn *, struct db_migrations *);
static int	 db_migration_apply(PGconn *, struct db_migration *, int *);
static char	*db_file_read(const char *);
static const char *db_sqldir(void);
static int	 db_password_generate(const struct authd_config *,
		    const char *, const char *, char *, size_t);
static int	 db_init_args(const struct ctl_ctx *, const char **,
		    const char **, const char **);
static int	 db_init_seed(PGconn *, const char *, const char *,
		    const char *, const char *, char *, size_t, char *, size_t);
static void	 db_init_print(const struct ctl_ctx *, const char *,
		    const char *, const char *, const char *, const char *,
		    const char *);

static const char *
db_sqldir(void)
{
	const char	*dir;

	if ((dir = getenv("AUTHD_SQL_DIR")) != NULL && *dir != '\0')
		return (dir);
	return (AUTHD_SQLDIR);
}

PGconn *
db_connect(const struct ctl_ctx *cc)
{
	const char	*keys[] = {
		"dbname", "fallback_application_name", NULL
	};
	const char	*vals[] = { cc->cc_conf.c_database, "authctl", NULL };
	PGconn		*conn;
	const char	*msg;

	/* expand_dbname: c_database is a whole libpq conninfo string. */
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		warnx("database: out of memory");
		return (NULL);
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		msg = PQerrorMessage(conn);
		warnx("database: %.*s", (int)strcspn(msg, "\n"), msg);
		PQfinish(conn);
		return (NULL);
	}
	/* CREATE ... IF NOT EXISTS notices are noise for an operator. */
	if (db_command(conn, "SET client_min_messages TO warning") == -1) {
		PQfinish(conn);
		return (NULL);
	}
	return (conn);
}

static void
db_warn_result(const char *what, const PGresult *res)
{
	const char	*msg;

	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQresultErrorMessage(res);
	if (what != NULL)
		warnx("%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
	else
		warnx("database: %.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * Runs a statement with parameters and returns its result when its
 * status is the wanted one; otherwise prints the server's message and
 * returns NULL.
 */
static PGresult *
db_query(PGconn *conn, const char *sql, int nparams,
    const char *const *params, ExecStatusType want)
{
	PGresult	*res;

	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL) {
		warnx("database: %s", PQerrorMessage(conn));
		return (NULL);
	}
	if (PQresultStatus(res) != want) {
		db_warn_result(NULL, res);
		PQclear(res);
		return (NULL);
	}
	return (res);
}

static int
db_command(PGconn *conn, const char *sql)
{
	PGresult	*res;

	if ((res = db_query(conn, sql, 0, NULL, PGRES_COMMAND_OK)) == NULL)
		return (-1);
	PQclear(res);
	return (0);
}

static int
db_migrations_cmp(const void *a, const void *b)
{
	const struct db_migration *ma = a, *mb = b;

	return ((ma->dm_version > mb->dm_version) -
	    (ma->dm_version < mb->dm_version));
}

/*
 * Lists the files named NNN_name.sql of dir, sorted by version.  Other
 * files are ignored; two files with one version are an error, since the
 * order between them would be an accident.
 */
static int
db_migrations_scan(const char *dir, struct db_migrations *dms)
{
	DIR			*dp;
	struct dirent		*de;
	struct db_migration	*dm, *list;
	const char		*errstr;
	char			 digits[16];
	size_t			 nd, nn, len, i;
	int			 version;

	dms->dms_list = NULL;
	dms->dms_count = 0;
	if ((dp = opendir(dir)) == NULL) {
		warn("%s", dir);
		return (-1);
	}
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		nd = strspn(de->d_name, "0123456789");
		if (nd == 0 || nd >= sizeof(digits) || de->d_name[nd] != '_' ||
		    len < nd + 1 + 4 + 1 ||
		    strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		nn = strspn(de->d_name + nd + 1,
		    "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
		if (nd + 1 + nn != len - 4) {
			warnx("%s/%s: ignored: not NNN_name.sql", dir,
			    de->d_name);
			continue;
		}
		memcpy(digits, de->d_name, nd);
		digits[nd] = '\0';
		version = strtonum(digits, 1, INT_MAX, &errstr);
		if (errstr != NULL) {
			warnx("%s/%s: version is %s", dir, de->d_name, errstr);
			goto fail;
		}
		list = reallocarray(dms->dms_list, dms->dms_count + 1,
		    sizeof(*dms->dms_list));
		if (list == NULL) {
			warn(NULL);
			goto fail;
		}
		dms->dms_list = list;
		dm = &list[dms->dms_count++];
		memset(dm, 0, sizeof(*dm));
		dm->dm_version = version;
		/* d_name is at most NAME_MAX, so these cannot truncate. */
		memcpy(dm->dm_stem, de->d_name, len - 4);
		dm->dm_stem[len - 4] = '\0';
		memcpy(dm->dm_name, de->d_name + nd + 1, nn);
		dm->dm_name[nn] = '\0';
		if ((size_t)snprintf(dm->dm_path, sizeof(dm->dm_path),
		    "%s/%s", dir, de->d_name) >= sizeof(dm->dm_path)) {
			warnx("%s/%s: path too long", dir, de->d_name);
			goto fail;
		}
	}
	closedir(dp);
	dp = NULL;

	if (dms->dms_count > 0)
		qsort(dms->dms_list, dms->dms_count, sizeof(*dms->dms_list),
		    db_migrations_cmp);
	for (i = 1; i < dms->dms_count; i++) {
		if (dms->dms_list[i].dm_version ==
		    dms->dms_list[i - 1].dm_version) {
			warnx("%s: %s and %s have the same version", dir,
			    dms->dms_list[i - 1].dm_stem,
			    dms->dms_list[i].dm_stem);
			goto fail;
		}
	}
	return (0);

 fail:
	if (dp != NULL)
		closedir(dp);
	free(dms->dms_list);
	dms->dms_list = NULL;
	dms->dms_count = 0;
	return (-1);
}

/* Reads a whole migration file as one NUL-terminated string. */
static char *
db_file_read(const char *path)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 off;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("%s", path);
		return (NULL);
	}
	if (fstat(fd, &st) == -1) {
		warn("%s", path);
		close(fd);
		return (NULL);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DB_MIGRATION_MAX) {
		warnx("%s: not a regular file of at most %d bytes", path,
		    DB_MIGRATION_MAX);
		close(fd);
		return (NULL);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		warn(NULL);
		close(fd);
		return (NULL);
	}
	for (off = 0; off < (size_t)st.st_size; off += n) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				warnx("%s: file shrank while read", path);
			else
				warn("%s", path);
			free(buf);
			close(fd);
			return (NULL);
		}
	}
	close(fd);
	buf[off] = '\0';
	/* libpq takes a C string: a NUL inside would cut the file short. */
	if (strlen(buf) != off) {
		warnx("%s: contains a NUL byte", path);
		free(buf);
		return (NULL);
	}
	return (buf);
}

/*
 * Marks the migrations that schema_migrations records as applied.  A
 * database without the table has nothing applied.
 */
static int
db_migrations_read(PGconn *conn, struct db_migrations *dms)
{
	PGresult	*res;
	const char	*errstr;
	size_t		 i;
	int		 row, version;

	res = db_query(conn, "SELECT to_regclass('schema_migrations') "
	    "IS NOT NULL", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return (-1);
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return (0);
	}
	PQclear(res);

	res = db_query(conn, "SELECT version, name, "
	    DB_TIMESTAMP("applied_at") " FROM schema_migrations "
	    "ORDER BY version", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return (-1);
	for (row = 0; row < PQntuples(res); row++) {
		version = strtonum(PQgetvalue(res, row, 0), 1, INT_MAX,
		    &errstr);
		if (errstr != NULL)
			continue;
		for (i = 0; i < dms->dms_count; i++)
			if (dms->dms_list[i].dm_version == version)
				break;
		if (i == dms->dms_count) {
			/* The database is newer than this installation. */
			warnx("migration %d (%s) is applied but has no file",
			    version, PQgetvalue(res, row, 1));
			continue;
		}
		dms->dms_list[i].dm_applied = 1;
		if (strlcpy(dms->dms_list[i].dm_applied_at,
		    PQgetvalue(res, row, 2),
		    sizeof(dms->dms_list[i].dm_applied_at)) >=
		    sizeof(dms->dms_list[i].dm_applied_at))
			dms->dms_list[i].dm_applied_at[0] = '\0';
	}
	PQclear(res);
	return (0);
}

/*
 * Applies one migration in its own transaction, together with its row
 * in schema_migrations, under an advisory lock: a concurrent migrate
 * waits and then finds the row.  *applied tells whether it ran here.
 */
static int
db_migration_apply(PGconn *conn, struct db_migration *dm, int *applied)
{
	PGresult	*res;
	char		 version[16];
	const char	*params[2];
	char		*sql;

	*applied = 0;
	(void)snprintf(version, sizeof(version), "%d", dm->dm_version);
	params[0] = version;
	params[1] = dm->dm_name;

	if ((sql = db_file_read(dm->dm_path)) == NULL)
		return (-1);
	if (db_command(conn, "BEGIN") == -1)
		goto fail;
	if ((res = db_query(conn, "SELECT pg_advisory_xact_lock("
	    "hashtextextended('authd.migrate', 0))", 0, NULL,
	    PGRES_TUPLES_OK)) == NULL)
		goto rollback;
	PQclear(res);
	if ((res = db_query(conn, "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1", 1, params, PGRES_TUPLES_OK)) == NULL)
		goto rollback;
	if (PQntuples(res) > 0) {
		PQclear(res);
		free(sql);
		return (db_command(conn, "COMMIT"));
	}
	PQclear(res);

	/* A file holds many statements, so it goes through PQexec. */
	res = PQexec(conn, sql);
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)) {
		if (res == NULL)
			warnx("%s: %s", dm->dm_path, PQerrorMessage(conn));
		else
			db_warn_result(dm->dm_path, res);
		PQclear(res);
		goto rollback;
	}
	PQclear(res);

	if ((res = db_query(conn, "INSERT INTO schema_migrations "
	    "(version, name) VALUES ($1, $2)", 2, params,
	    PGRES_COMMAND_OK)) == NULL)
		goto rollback;
	PQclear(res);
	if (db_command(conn, "COMMIT") == -1)
		goto fail;
	free(sql);
	*applied = 1;
	return (0);

 rollback:
	(void)db_command(conn, "ROLLBACK");
 fail:
	free(sql);
	return (-1);
}

int
db_migrate(struct ctl_ctx *cc)
{
	struct db_migrations	 dms;
	PGconn			*conn;
	PGresult		*res;
	json_t			*obj = NULL, *list = NULL;
	size_t			 i;
	int			 applied, n = 0, rv = AUTHCTL_EXIT_ERROR;

	if (db_migrations_scan(db_sqldir(), &dms) == -1)
		return (AUTHCTL_EXIT_ERROR);
	if (dms.dms_count == 0) {
		warnx("%s: no migrations found", db_sqldir());
		free(dms.dms_list);
		return (AUTHCTL_EXIT_ERROR);
	}
	if ((conn = db_connect(cc)) == NULL) {
		free(dms.dms_list);
		return (AUTHCTL_EXIT_ERROR);
	}
	if (cc->cc_json && ((obj = json_object()) == NULL ||
	    (list = json_array()) == NULL ||
	    json_object_set_new(obj, "applied", list) == -1)) {
		warnx("out of memory");
		goto done;
	}

	/* Two first migrates would race on CREATE TABLE: lock here too. */
	if (db_command(conn, "BEGIN") == -1)
		goto done;
	if ((res = db_query(conn, "SELECT pg_advisory_xact_lock("
	    "hashtextextended('authd.migrate', 0))", 0, NULL,
	    PGRES_TUPLES_OK)) == NULL) {
		(void)db_command(conn, "ROLLBACK");
		goto done;
	}
	PQclear(res);
	if (db_command(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY CHECK (version > 0), "
	    "name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())") == -1) {
		(void)db_command(conn, "ROLLBACK");
		goto done;
	}
	if (db_command(conn, "COMMIT") == -1)
		goto done;

	for (i = 0; i < dms.dms_count; i++) {
		if (db_migration_apply(conn, &dms.dms_list[i], &applied) == -1)
			goto done;
		if (!applied)
			continue;
		n++;
		if (cc->cc_json) {
			if (json_array_append_new(list,
			    json_string(dms.dms_list[i].dm_stem)) == -1) {
				warnx("out of memory");
				goto done;
			}
		} else
			printf("applied %s\n", dms.dms_list[i].dm_stem);
	}
	if (cc->cc_json) {
		(void)json_dumpf(obj, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (n == 0)
		printf("database is up to date\n");
	rv = AUTHCTL_EXIT_OK;

 done:
	/* With -j, what was applied before a failure is still reported. */
	if (rv != AUTHCTL_EXIT_OK && obj != NULL && n > 0) {
		(void)json_dumpf(obj, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(obj);
	PQfinish(conn);
	free(dms.dms_list);
	return (rv);
}

int
db_status(struct ctl_ctx *cc)
{
	struct db_migrations	 dms;
	struct db_migration	*dm;
	PGconn			*conn;
	json_t			*list = NULL, *o;
	size_t			 i;
	int			 rv = AUTHCTL_EXIT_ERROR;

	if (db_migrations_scan(db_sqldir(), &dms) == -1)
		return (AUTHCTL_EXIT_ERROR);
	if ((conn = db_connect(cc)) == NULL) {
		free(dms.dms_list);
		return (AUTHCTL_EXIT_ERROR);
	}
	if (db_migrations_read(conn, &dms) == -1)
		goto done;
	if (cc->cc_json && (list = json_array()) == NULL) {
		warnx("out of memory");
		goto done;
	}
	for (i = 0; i < dms.dms_count; i++) {
		dm = &dms.dms_list[i];
		if (!cc->cc_json) {
			if (dm->dm_applied)
				printf("%-32s applied  %s\n", dm->dm_stem,
				    dm->dm_applied_at);
			else
				printf("%-32s pending\n", dm->dm_stem);
			continue;
		}
		o = json_pack("{s:i, s:s, s:s, s:s, s:o}",
		    "version", dm->dm_version,
		    "name", dm->dm_stem,
		    "file", dm->dm_path,
		    "status", dm->dm_applied ? "applied" : "pending",
		    "applied_at", dm->dm_applied ?
		    json_string(dm->dm_applied_at) : json_null());
		if (o == NULL || json_array_append_new(list, o) == -1) {
			warnx("out of memory");
			goto done;
		}
	}
	if (cc->cc_json) {
		(void)json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	rv = AUTHCTL_EXIT_OK;

 done:
	json_decref(list);
	PQfinish(conn);
	free(dms.dms_list);
	return (rv);
}

/*
 * Draws a password uniformly over the alphabet and keeps the first draw
 * that the policy accepts: one character of each class, and neither the
 * username nor the email's local part inside (compared without case).
 * Rejection keeps the result uniform over the acceptable passwords.
 */
static int
db_password_generate(const struct authd_config *conf, const char *username,
    const char *email, char *out, size_t outlen)
{
	char		 alphabet[sizeof(db_pw_upper) +
			    sizeof(db_pw_lower) + sizeof(db_pw_digit) +
			    sizeof(db_pw_special)];
	char		 local[256];
	size_t		 len, nalpha, i, at;
	int		 tries;

	len = DB_PASSWORD_LEN;
	if (conf->c_pw_min > 0 && (size_t)conf->c_pw_min > len)
		len = conf->c_pw_min;
	if (conf->c_pw_max > 0 && (size_t)conf->c_pw_max < len)
		len = conf->c_pw_max;
	if (len < 4 || len >= outlen) {
		warnx("password policy: cannot generate a password of %zu "
		    "characters", len);
		return (-1);
	}
	alphabet[0] = '\0';
	(void)strlcat(alphabet, db_pw_upper, sizeof(alphabet));
	(void)strlcat(alphabet, db_pw_lower, sizeof(alphabet));
	(void)strlcat(alphabet, db_pw_digit, sizeof(alphabet));
	(void)strlcat(alphabet, db_pw_special, sizeof(alphabet));
	nalpha = strlen(alphabet);

	at = strcspn(email, "@");
	if (at >= sizeof(local))
		at = sizeof(local) - 1;
	memcpy(local, email, at);
	local[at] = '\0';

	for (tries = 0; tries < 1000; tries++) {
		for (i = 0; i < len; i++)
			out[i] = alphabet[randombytes_uniform(nalpha)];
		out[len] = '\0';
		if (strpbrk(out, db_pw_upper) == NULL ||
		    strpbrk(out, db_pw_lower) == NULL ||
		    strpbrk(out, db_pw_digit) == NULL ||
		    strpbrk(out, db_pw_special) == NULL)
			continue;
		if (*username != '\0' && strcasestr(out, username) != NULL)
			continue;
		if (*local != '\0' && strcasestr(out, local) != NULL)
			continue;
		return (0);
	}
	explicit_bzero(out, outlen);
	warnx("could not generate a password that the policy accepts");
	return (-1);
}

static int
db_init_args(const struct ctl_ctx *cc, const char **company,
    const char **email, const char **username)
{
	size_t	 len;

	*company = "Root Company";
	*email = "admin@example.com";
	*username = "admin";
	if (cc->cc_argc > 3) {
		fprintf(stderr, "usage: authctl init "
		    "[company-name [admin-email [admin-username]]]\n");
		return (-1);
	}
	if (cc->cc_argc > 0)
		*company = cc->cc_argv[0];
	if (cc->cc_argc > 1)
		*email = cc->cc_argv[1];
	if (cc->cc_argc > 2)
		*username = cc->cc_argv[2];

	len = strlen(*company);
	if (len < 1 || len > 255) {
		warnx("company name: 1 to 255 characters");
		return (-1);
	}
	len = strlen(*email);
	if (len < 3 || len > 254 || strchr(*email, '@') == NULL ||
	    **email == '@') {
		warnx("admin email: not an email address: %s", *email);
		return (-1);
	}
	len = strlen(*username);
	if (len < 1 || len > 100 || strchr(*username, '@') != NULL) {
		warnx("admin username: 1 to 100 characters, without '@'");
		return (-1);
	}
	return (0);
}

/*
 * The seeding statements of db_init, inside its transaction.  Writes the
 * new ids into company_id and user_id.  Returns 0, 1 when a root company
 * exists already, or -1 after printing the database's error.
 */
static int
db_init_seed(PGconn *conn, const char *company, const char *email,
    const char *username, const char *hash, char *company_id, size_t cidlen,
    char *user_id, size_t uidlen)
{
	PGresult	*res;
	const char	*p[4];
	size_t		 i;

	if ((res = db_query(conn, "SELECT pg_advisory_xact_lock("
	    "hashtextextended('authd.init', 0)), "
	    "to_regclass('companies') IS NOT NULL", 0, NULL,
	    PGRES_TUPLES_OK)) == NULL)
		return (-1);
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		warnx("the database has no schema: run authctl db migrate");
		PQclear(res);
		return (-1);
	}
	PQclear(res);

	if ((res = db_query(conn, "SELECT id, name FROM companies "
	    "WHERE is_root", 0, NULL, PGRES_TUPLES_OK)) == NULL)
		return (-1);
	if (PQntuples(res) > 0) {
		warnx("already initialized: root company %s (id %s)",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
		PQclear(res);
		return (1);
	}
	PQclear(res);

	p[0] = company;
	if ((res = db_query(conn, "INSERT INTO companies "
	    "(name, description, is_root) VALUES ($1, 'The root company', "
	    "true) RETURNING id", 1, p, PGRES_TUPLES_OK)) == NULL)
		return (-1);
	if (strlcpy(company_id, PQgetvalue(res, 0, 0), cidlen) >= cidlen) {
		warnx("company id too long");
		PQclear(res);
		return (-1);
	}
	PQclear(res);

	for (i = 0; i < sizeof(db_seed_resources) /
	    sizeof(db_seed_resources[0]); i++) {
		p[0] = db_seed_resources[i].sr_name;
		p[1] = db_seed_resources[i].sr_description;
		if ((res = db_query(conn, "INSERT INTO resource_types "
		    "(name, description) VALUES ($1, $2)", 2, p,
		    PGRES_COMMAND_OK)) == NULL)
			return (-1);
		PQclear(res);
	}
	for (i = 0; i < sizeof(db_seed_permissions) /
	    sizeof(db_seed_permissions[0]); i++) {
		p[0] = db_seed_permissions[i].sp_resource;
		p[1] = db_seed_permissions[i].sp_action;
		p[2] = db_seed_permissions[i].sp_name;
		p[3] = db_seed_permissions[i].sp_description;
		if ((res = db_query(conn, "INSERT INTO permissions "
		    "(resource_type_id, action, name, description) "
		    "SELECT id, $2, $3, $4 FROM resource_types "
		    "WHERE company_id IS NULL AND name = $1", 4, p,
		    PGRES_COMMAND_OK)) == NULL)
			return (-1);
		if (strcmp(PQcmdTuples(res), "1") != 0) {
			warnx("permission %s: no resource type %s", p[2],
			    p[0]);
			PQclear(res);
			return (-1);
		}
		PQclear(res);
	}

	/* admin and user as every company has them, then super_admin. */
	p[0] = company_id;
	if ((res = db_query(conn, "SELECT authd_seed_company_roles($1)",
	    1, p, PGRES_TUPLES_OK)) == NULL)
		return (-1);
	PQclear(res);
	if ((res = db_query(conn, "WITH r AS (INSERT INTO roles "
	    "(company_id, name, description) VALUES ($1, 'super_admin', "
	    "'Every permission, in every company') RETURNING id) "
	    "INSERT INTO role_permissions (role_id, permission_id, company_id) "
	    "SELECT r.id, p.id, $1 FROM r, permissions p "
	    "WHERE p.company_id IS NULL", 1, p, PGRES_COMMAND_OK)) == NULL)
		return (-1);
	PQclear(res);

	p[0] = company_id;
	p[1] = email;
	p[2] = username;
	p[3] = hash;
	if ((res = db_query(conn, "INSERT INTO users (company_id, email, "
	    "username, full_name, hashed_password, is_active, is_superuser, "
	    "is_verified) VALUES ($1, $2, $3, 'Administrator', $4, true, "
	    "true, true) RETURNING id", 4, p, PGRES_TUPLES_OK)) == NULL)
		return (-1);
	if (strlcpy(user_id, PQgetvalue(res, 0, 0), uidlen) >= uidlen) {
		warnx("user id too long");
		PQclear(res);
		return (-1);
	}
	PQclear(res);

	p[1] = user_id;
	if ((res = db_query(conn, "INSERT INTO user_roles "
	    "(user_id, role_id, company_id) SELECT $2, id, $1 FROM roles "
	    "WHERE company_id = $1 AND name = 'super_admin'", 2, p,
	    PGRES_COMMAND_OK)) == NULL)
		return (-1);
	PQclear(res);
	if ((res = db_query(conn, "INSERT INTO audit_log (company_id, "
	    "action, object_type, object_id, detail) VALUES ($1, 'init', "
	    "'company', $1, jsonb_build_object('admin_user_id', $2::bigint, "
	    "'tool', 'authctl'))", 2, p, PGRES_COMMAND_OK)) == NULL)
		return (-1);
	PQclear(res);
	return (0);
}

static void
db_init_print(const struct ctl_ctx *cc, const char *company,
    const char *company_id, const char *user_id, const char *email,
    const char *username, const char *password)
{
	json_t		*o, *pw;
	const char	*errstr;
	long long	 cid, uid;

	if (!cc->cc_json) {
		printf("root company: %s (id %s)\n", company, company_id);
		printf("admin email: %s\n", email);
		printf("admin username: %s\n", username);
		printf("admin password: %s\n", password);
		(void)fflush(stdout);
		return;
	}
	/* Both came from identity columns; the checks are for form. */
	cid = strtonum(company_id, 1, LLONG_MAX, &errstr);
	if (errstr != NULL)
		cid = 0;
	uid = strtonum(user_id, 1, LLONG_MAX, &errstr);
	if (errstr != NULL)
		uid = 0;
	if ((pw = json_string(password)) == NULL) {
		warnx("out of memory");
		return;
	}
	o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:O}",
	    "company", company, "company_id", (json_int_t)cid,
	    "admin_user_id", (json_int_t)uid, "admin_email", email,
	    "admin_username", username, "admin_password", pw);
	if (o == NULL)
		warnx("out of memory");
	else {
		(void)json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		(void)fflush(stdout);
	}
	/*
	 * jansson keeps its own copy of the string and frees it without
	 * clearing it: clear it here, through the one reference it hands
	 * out.
	 */
	explicit_bzero((void *)(uintptr_t)json_string_value(pw),
	    json_string_length(pw));
	json_decref(o);
	json_decref(pw);
}

/*
 * Creates the root company, the global resource types and permissions,
 * the root company's roles and its first superuser, in one transaction.
 * A database that has a root company already is left alone and the
 * command fails (exit 1), so that scripts such as "make run" can tell a
 * fresh installation from an initialized one.
 */
int
db_init(struct ctl_ctx *cc)
{
	PGconn			*conn = NULL;
	const char		*company, *email, *username;
	char			 password[PASSWORD_MAX];
	char			 hash[PASSWORD_HASH_MAX];
	char			 company_id[32], user_id[32];
	int			 r, rv = AUTHCTL_EXIT_ERROR;

	if (db_init_args(cc, &company, &email, &username) == -1)
		return (AUTHCTL_EXIT_USAGE);
	if (sodium_init() == -1) {
		warnx("libsodium initialisation failed");
		return (AUTHCTL_EXIT_ERROR);
	}
	if (db_password_generate(&cc->cc_conf, username, email, password,
	    sizeof(password)) == -1)
		goto done;
	if (pw_hash(&cc->cc_conf, password, hash, sizeof(hash)) == -1)
		goto done;

	if ((conn = db_connect(cc)) == NULL)
		goto done;
	if (db_command(conn, "BEGIN") == -1)
		goto done;
	r = db_init_seed(conn, company, email, username, hash, company_id,
	    sizeof(company_id), user_id, sizeof(user_id));
	if (r != 0) {
		(void)db_command(conn, "ROLLBACK");
		goto done;
	}
	if (db_command(conn, "COMMIT") == -1)
		goto done;
	db_init_print(cc, company, company_id, user_id, email, username,
	    password);
	rv = AUTHCTL_EXIT_OK;

 done:
	explicit_bzero(password, sizeof(password));
	explicit_bzero(hash, sizeof(hash));
	if (conn != NULL)
		PQfinish(conn);
	return (rv);
}
