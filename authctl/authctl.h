/*
 * authctl: the administration tool.  Commands that need the running
 * daemon speak to its control socket (ctl.c); database and key commands
 * work directly on PostgreSQL (db.c) and on the key directory (key.c), so
 * that a fresh installation can be set up before authd first starts.
 */
#ifndef AUTHCTL_H
#define AUTHCTL_H

#include "config.h"

#define AUTHCTL_EXIT_OK		0
#define AUTHCTL_EXIT_ERROR	1
#define AUTHCTL_EXIT_USAGE	2

struct ctl_ctx {
	struct authd_config	 cc_conf;	/* parsed from -f */
	const char		*cc_socket;	/* -s, else cc_conf.c_control */
	int			 cc_json;	/* -j */
	int			 cc_argc;	/* arguments after the command */
	char			**cc_argv;
};

/* Each command returns an AUTHCTL_EXIT_* status. */

/* ctl.c */
int	 ctl_show_status(struct ctl_ctx *);
int	 ctl_reload(struct ctl_ctx *);

/* db.c: the SQL directory is $AUTHD_SQL_DIR, else AUTHD_SQLDIR. */
int	 db_migrate(struct ctl_ctx *);
int	 db_status(struct ctl_ctx *);
int	 db_init(struct ctl_ctx *);

/* key.c */
int	 key_generate(struct ctl_ctx *);
int	 key_rotate(struct ctl_ctx *);
int	 key_list(struct ctl_ctx *);

#endif /* AUTHCTL_H */
