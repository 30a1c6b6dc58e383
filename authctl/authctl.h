/*
 * authctl: the administration tool.  Commands that need the running
 * daemon speak to its control socket (ctl.c); database and key commands
 * work directly on PostgreSQL (db.c, admin.c) and on the key directory
 * (key.c), so that a fresh installation can be set up before authd first
 * starts and accounts can be managed while it is down.
 */
#ifndef AUTHCTL_H
#define AUTHCTL_H

#include <stddef.h>

#include "config.h"

#define AUTHCTL_EXIT_OK		0
#define AUTHCTL_EXIT_ERROR	1
#define AUTHCTL_EXIT_USAGE	2

/* Where "make run" keeps its configuration, relative to the tree. */
#define AUTHCTL_DEV_CONF	"./var/authd.conf"

struct ctl_ctx {
	struct authd_config	 cc_conf;	/* parsed from -f */
	const char		*cc_socket;	/* -s, else cc_conf.c_control */
	const char		*cc_pwfile;	/* -p: passwords from a file */
	int			 cc_json;	/* -j */
	int			 cc_argc;	/* after the command words */
	char			**cc_argv;
	const char		*cc_usage;	/* "user add email ..." */
};

/*
 * A keyword argument of a command ("company C", "force"): a word that
 * may be abbreviated, with a value or alone.
 */
struct ctl_opt {
	const char	*co_word;
	int		 co_hasval;
	const char	*co_val;	/* out: value, "" for a flag, or NULL */
};

/* Each command returns an AUTHCTL_EXIT_* status. */

/* authctl.c */
int	 ctl_usage(const struct ctl_ctx *);
/*
 * Parses cc_argv[first..] as keyword arguments; -1 after printing what
 * is wrong and the valid words (the command then exits with usage).
 */
int	 ctl_opts(const struct ctl_ctx *, int first, struct ctl_opt *,
	    size_t nopts);

/* ctl.c */
int	 ctl_show_status(struct ctl_ctx *);
int	 ctl_reload(struct ctl_ctx *);
int	 ctl_log_verbose(struct ctl_ctx *);
int	 ctl_log_brief(struct ctl_ctx *);

/* db.c: the SQL directory is $AUTHD_SQL_DIR, else AUTHD_SQLDIR. */
struct pg_conn;
int	 db_migrate(struct ctl_ctx *);
int	 db_status(struct ctl_ctx *);
int	 db_init(struct ctl_ctx *);
/* One connection to the configured database, or NULL after a message. */
struct pg_conn	*db_connect(const struct ctl_ctx *);

/* admin.c: users, companies, roles and sessions in PostgreSQL. */
int	 admin_cache_flush(struct ctl_ctx *);
int	 admin_show_users(struct ctl_ctx *);
int	 admin_show_companies(struct ctl_ctx *);
int	 admin_show_sessions(struct ctl_ctx *);
int	 admin_user_add(struct ctl_ctx *);
int	 admin_user_del(struct ctl_ctx *);
int	 admin_user_passwd(struct ctl_ctx *);
int	 admin_user_lock(struct ctl_ctx *);
int	 admin_user_unlock(struct ctl_ctx *);
int	 admin_user_show(struct ctl_ctx *);
int	 admin_company_add(struct ctl_ctx *);
int	 admin_company_del(struct ctl_ctx *);
int	 admin_role_add(struct ctl_ctx *);
int	 admin_role_del(struct ctl_ctx *);
int	 admin_role_grant(struct ctl_ctx *);
int	 admin_role_revoke(struct ctl_ctx *);
int	 admin_session_kill(struct ctl_ctx *);

/* pw.c: passwords of new accounts, as the daemon's keyholders hash them. */
/*
 * Reads a password from file (its first line), or from the terminal
 * without echo (twice when confirm), into buf.  0, or -1 after a message.
 */
int	 pw_read(const char *file, int confirm, char *buf, size_t len);
/* Checks the password policy of conf; -1 after printing every failure. */
int	 pw_check(const struct authd_config *, const char *password,
	    const char *username, const char *email);
/*
 * Hashes with the configured algorithm and the configured pepper file
 * (read as the daemon's parent reads it, then cleared).  0 or -1.
 */
int	 pw_hash(const struct authd_config *, const char *password,
	    char *hash, size_t hashlen);

/*
 * redis.c: what authctl changes in the Redis of authd's workers.  Each
 * returns 0, or -1 after a message.
 */
/* Deletes the login lockout counters of the user id uid. */
int	 lockout_clear(const struct authd_config *, const char *uid);
/* Kills every entry of the workers' authentication cache. */
int	 cache_invalidate(const struct authd_config *);

/* key.c */
int	 key_generate(struct ctl_ctx *);
int	 key_rotate(struct ctl_ctx *);
int	 key_list(struct ctl_ctx *);

#endif /* AUTHCTL_H */
