/*
 * authctl: administration of authd.  The command grammar is a table of
 * word sequences; each word may be abbreviated to a unique prefix
 * ("authctl sh st").  See authctl(8).
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authctl.h"
#include "log.h"

#define CTL_MAX_WORDS	3

struct ctl_cmd {
	const char	*cm_words[CTL_MAX_WORDS];
	int		 (*cm_fn)(struct ctl_ctx *);
	int		 cm_minargs;
	int		 cm_maxargs;
	const char	*cm_args;
	int		 cm_needs_config;
};

static const struct ctl_cmd ctl_cmds[] = {
	{ { "db", "migrate" }, db_migrate, 0, 0, "", 1 },
	{ { "db", "status" }, db_status, 0, 0, "", 1 },
	{ { "init" }, db_init, 0, 3, "[company [email [username]]]", 1 },
	{ { "key", "generate" }, key_generate, 0, 0, "", 1 },
	{ { "key", "list" }, key_list, 0, 0, "", 1 },
	{ { "key", "rotate" }, key_rotate, 0, 0, "", 1 },
	{ { "reload" }, ctl_reload, 0, 0, "", 0 },
	{ { "show", "status" }, ctl_show_status, 0, 0, "", 0 },
};
#define CTL_NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static __attribute__((noreturn)) void
usage(void)
{
	size_t	 i;
	int	 j;

	fprintf(stderr, "usage: authctl [-j] [-f file] [-s socket] "
	    "command [argument ...]\ncommands:\n");
	for (i = 0; i < CTL_NCMDS; i++) {
		fprintf(stderr, "\t");
		for (j = 0; j < CTL_MAX_WORDS && ctl_cmds[i].cm_words[j]; j++)
			fprintf(stderr, "%s ", ctl_cmds[i].cm_words[j]);
		fprintf(stderr, "%s\n", ctl_cmds[i].cm_args);
	}
	exit(AUTHCTL_EXIT_USAGE);
}

static int
ctl_prefix(const char *word, const char *full)
{
	return (strncmp(word, full, strlen(word)) == 0);
}

/* Prints the words that may stand at position pos after the given ones. */
static void
ctl_valid_words(char **argv, int pos)
{
	size_t		 i;
	int		 j, ok;
	const char	*seen[CTL_NCMDS];
	size_t		 nseen = 0, k;

	fprintf(stderr, "valid words here:");
	for (i = 0; i < CTL_NCMDS; i++) {
		for (ok = 1, j = 0; j < pos; j++)
			if (ctl_cmds[i].cm_words[j] == NULL ||
			    !ctl_prefix(argv[j], ctl_cmds[i].cm_words[j]))
				ok = 0;
		if (!ok || ctl_cmds[i].cm_words[pos] == NULL)
			continue;
		for (k = 0; k < nseen; k++)
			if (strcmp(seen[k], ctl_cmds[i].cm_words[pos]) == 0)
				break;
		if (k == nseen) {
			seen[nseen++] = ctl_cmds[i].cm_words[pos];
			fprintf(stderr, " %s", ctl_cmds[i].cm_words[pos]);
		}
	}
	fprintf(stderr, "\n");
}

/* Words at position pos of the commands still possible. */
static const char *
ctl_choose(const int *cand, int pos, const char *word)
{
	const char	*chosen = NULL, *w;
	size_t		 i;

	for (i = 0; i < CTL_NCMDS; i++) {
		if (!cand[i] || (w = ctl_cmds[i].cm_words[pos]) == NULL)
			continue;
		if (strcmp(word, w) == 0)
			return (w);	/* an exact word is never ambiguous */
		if (!ctl_prefix(word, w))
			continue;
		if (chosen != NULL && strcmp(chosen, w) != 0)
			return ("");
		chosen = w;
	}
	return (chosen);
}

/*
 * Finds the command named by argv: at each position, the word must be a
 * prefix of exactly one distinct word among the commands still possible.
 * What follows a complete command are its arguments.
 */
static const struct ctl_cmd *
ctl_lookup(int argc, char **argv, int *used)
{
	const struct ctl_cmd	*complete;
	const char		*chosen;
	int			 cand[CTL_NCMDS];
	size_t			 i;
	int			 pos;

	for (i = 0; i < CTL_NCMDS; i++)
		cand[i] = 1;
	for (pos = 0; pos <= CTL_MAX_WORDS; pos++) {
		complete = NULL;
		for (i = 0; i < CTL_NCMDS; i++)
			if (cand[i] && (pos == CTL_MAX_WORDS ||
			    ctl_cmds[i].cm_words[pos] == NULL))
				complete = &ctl_cmds[i];
		chosen = NULL;
		if (pos < argc && pos < CTL_MAX_WORDS)
			chosen = ctl_choose(cand, pos, argv[pos]);
		if (chosen == NULL && complete != NULL) {
			*used = pos;
			return (complete);
		}
		if (chosen == NULL || *chosen == '\0') {
			if (pos >= argc)
				fprintf(stderr, "authctl: incomplete command\n");
			else
				fprintf(stderr, "authctl: %s word \"%s\"\n",
				    chosen == NULL ? "unknown" : "ambiguous",
				    argv[pos]);
			ctl_valid_words(argv, pos);
			exit(AUTHCTL_EXIT_USAGE);
		}
		for (i = 0; i < CTL_NCMDS; i++)
			if (cand[i] && (ctl_cmds[i].cm_words[pos] == NULL ||
			    strcmp(ctl_cmds[i].cm_words[pos], chosen) != 0))
				cand[i] = 0;
	}
	usage();
}

int
main(int argc, char *argv[])
{
	struct ctl_ctx		 cc;
	const struct ctl_cmd	*cmd;
	const char		*conffile;
	int			 ch, used, nargs;

	memset(&cc, 0, sizeof(cc));
	if ((conffile = getenv("AUTHD_CONF")) == NULL)
		conffile = CONFIG_FILE;
	while ((ch = getopt(argc, argv, "f:js:")) != -1) {
		switch (ch) {
		case 'f':
			conffile = optarg;
			break;
		case 'j':
			cc.cc_json = 1;
			break;
		case 's':
			cc.cc_socket = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	log_init(1, 0);
	log_procinit("authctl");

	cmd = ctl_lookup(argc, argv, &used);
	nargs = argc - used;
	if (nargs < cmd->cm_minargs || nargs > cmd->cm_maxargs) {
		fprintf(stderr, "usage: authctl %s %s%s%s\n", cmd->cm_words[0],
		    cmd->cm_words[1] ? cmd->cm_words[1] : "",
		    cmd->cm_words[1] ? " " : "", cmd->cm_args);
		exit(AUTHCTL_EXIT_USAGE);
	}
	cc.cc_argc = nargs;
	cc.cc_argv = argv + used;

	if (cmd->cm_needs_config || cc.cc_socket == NULL ||
	    access(conffile, R_OK) == 0) {
		if (config_parse(conffile, &cc.cc_conf) == -1)
			exit(AUTHCTL_EXIT_ERROR);
	} else
		config_defaults(&cc.cc_conf);
	if (cc.cc_socket == NULL)
		cc.cc_socket = cc.cc_conf.c_control;
	return (cmd->cm_fn(&cc));
}
