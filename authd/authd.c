/*
 * authd: authentication and authorization daemon.
 *
 * main() reads like the start-up script: the parent checks its
 * configuration, finds the programs of its children beside its own, and
 * becomes the supervisor.  Keyholders and workers are programs of their
 * own (keyholder.c, worker.c; see proc.c for why).  See authd(8).
 */
#include <sys/types.h>

#include <err.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"

extern char **environ;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: authd [-dnv] [-D macro=value] [-f file]\n");
	exit(2);
}

/*
 * The children's programs are in the directory of this very program
 * (after symbolic links): the build tree, or the installed libexec
 * directory.  Checked now, not at the first fork.
 */
static void
children_find(void)
{
	static const enum proc_role	 roles[] = { PROC_KEYHOLDER,
					    PROC_WORKER };
	char				*self, path[PATH_MAX];
	size_t				 i;

	if ((self = realpath("/proc/self/exe", NULL)) == NULL)
		err(1, "realpath /proc/self/exe");
	if ((authd_progdir = strdup(dirname(self))) == NULL)
		err(1, NULL);
	free(self);
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (proc_program(roles[i], path, sizeof(path)) == -1)
			errx(1, "%s: path too long", authd_progdir);
		if (access(path, X_OK) == -1)
			err(1, "%s", path);
	}
}

int
main(int argc, char *argv[])
{
	struct authd_config	 conf;
	const char		*conffile = CONFIG_FILE;
	char			*path;
	int			 ch, noaction = 0;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "dD:f:nv")) != -1) {
		switch (ch) {
		case 'd':
			authd_debug = 1;
			break;
		case 'D':
			if (config_define(optarg) == -1)
				errx(2, "could not parse macro definition %s",
				    optarg);
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			authd_verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();

	log_init(authd_debug, LOG_DAEMON);
	log_setverbose(authd_verbose);
	/* -n too: it checks an installation before a start. */
	children_find();

	/* A reload after daemon() has moved to / needs the full path. */
	if ((path = realpath(conffile, NULL)) == NULL)
		err(1, "%s", conffile);
	if (config_parse(path, &conf) == -1)
		exit(1);
	free(path);
	if (noaction) {
		if (authd_verbose)
			config_print(stdout, &conf);
		else
			fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	parent_main(&conf);
}
