/*
 * authd: authentication and authorization daemon.
 *
 * main() reads like the start-up script: a child (exec'd with -P) goes
 * straight to its role; the parent checks its configuration and becomes
 * the supervisor.  See authd(8).
 */
#include <sys/types.h>

#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"

char	*authd_exe;
int	 authd_debug;
int	 authd_verbose;

extern char **environ;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: authd [-dnv] [-D macro=value] [-f file]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct authd_config	 conf;
	const char		*conffile = CONFIG_FILE, *role = NULL;
	const char		*errstr;
	char			*path;
	int			 ch, noaction = 0, index = 0;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "dD:f:I:nP:v")) != -1) {
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
		case 'I':
			index = strtonum(optarg, 0, AUTHD_MAX_WORKERS, &errstr);
			if (errstr != NULL)
				errx(2, "index %s: %s", optarg, errstr);
			break;
		case 'n':
			noaction = 1;
			break;
		case 'P':
			role = optarg;
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

	if (role != NULL) {
		if (strcmp(role, proc_title(PROC_KEYHOLDER)) == 0)
			keyholder_main(index);
		if (strcmp(role, proc_title(PROC_WORKER)) == 0)
			worker_main(index);
		errx(2, "unknown process role %s", role);
	}

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

	/* Children are exec'd from this exact binary. */
	if ((authd_exe = realpath("/proc/self/exe", NULL)) == NULL)
		err(1, "realpath /proc/self/exe");
	parent_main(&conf);
}
