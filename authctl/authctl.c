/*
 * authctl: administration of authd.  The command grammar is a table of
 * word sequences; each word may be abbreviated to a unique prefix
 * ("authctl sh st"), and so may the keywords of a command's arguments.
 * See authctl(8).
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

/* Sorted by words: usage() prints them in this order. */
static const struct ctl_cmd ctl_cmds[] = {
	{ { "cache", "flush" }, admin_cache_flush, 0, 0, "", 1 },
	{ { "company", "add" }, admin_company_add, 1, 3,
	    "name [description text]", 1 },
	{ { "company", "del" }, admin_company_del, 1, 2, "company [force]", 1 },
	{ { "company", "list" }, admin_show_companies, 0, 0, "", 1 },
	{ { "db", "migrate" }, db_migrate, 0, 0, "", 1 },
	{ { "db", "status" }, db_status, 0, 0, "", 1 },
	{ { "init" }, db_init, 0, 3, "[company [email [username]]]", 1 },
	{ { "key", "generate" }, key_generate, 0, 0, "", 1 },
	{ { "key", "list" }, key_list, 0, 0, "", 1 },
	{ { "key", "rotate" }, key_rotate, 0, 0, "", 1 },
	{ { "log", "brief" }, ctl_log_brief, 0, 0, "", 0 },
	{ { "log", "verbose" }, ctl_log_verbose, 0, 0, "", 0 },
	{ { "reload" }, ctl_reload, 0, 0, "", 0 },
	{ { "role", "add" }, admin_role_add, 1, 5,
	    "name [company company] [description text]", 1 },
	{ { "role", "del" }, admin_role_del, 1, 3, "role [company company]",
	    1 },
	{ { "role", "grant" }, admin_role_grant, 3, 5,
	    "role permission name | user user [company company]", 1 },
	{ { "role", "revoke" }, admin_role_revoke, 3, 5,
	    "role permission name | user user [company company]", 1 },
	{ { "session", "kill" }, admin_session_kill, 1, 1, "id", 1 },
	{ { "show", "companies" }, admin_show_companies, 0, 0, "", 1 },
	{ { "show", "sessions" }, admin_show_sessions, 0, 2, "[user user]", 1 },
	{ { "show", "status" }, ctl_show_status, 0, 0, "", 0 },
	{ { "show", "users" }, admin_show_users, 0, 2, "[company company]", 1 },
	{ { "user", "add" }, admin_user_add, 2, 10, "email username "
	    "[company company] [name full-name] [superuser] [inactive] "
	    "[password-file file]", 1 },
	{ { "user", "del" }, admin_user_del, 1, 1, "user", 1 },
	{ { "user", "lock" }, admin_user_lock, 1, 1, "user", 1 },
	{ { "user", "passwd" }, admin_user_passwd, 1, 3,
	    "user [password-file file]", 1 },
	{ { "user", "show" }, admin_user_show, 1, 1, "user", 1 },
	{ { "user", "unlock" }, admin_user_unlock, 1, 1, "user", 1 },
};
#define CTL_NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static char	 ctl_usage_line[256];

static __attribute__((noreturn)) void
usage(void)
{
	size_t	 i;
	int	 j;

	fprintf(stderr, "usage: authctl [-j] [-f file] [-p password-file] "
	    "[-s socket] command [argument ...]\ncommands:\n");
	for (i = 0; i < CTL_NCMDS; i++) {
		fprintf(stderr, "\t");
		for (j = 0; j < CTL_MAX_WORDS && ctl_cmds[i].cm_words[j]; j++)
			fprintf(stderr, "%s ", ctl_cmds[i].cm_words[j]);
		fprintf(stderr, "%s\n", ctl_cmds[i].cm_args);
	}
	exit(AUTHCTL_EXIT_USAGE);
}

int
ctl_usage(const struct ctl_ctx *cc)
{
	fprintf(stderr, "usage: authctl %s\n", cc->cc_usage);
	return (AUTHCTL_EXIT_USAGE);
}

/* "user add email username ...", for the messages of a command. */
static void
ctl_set_usage(struct ctl_ctx *cc, const struct ctl_cmd *cmd)
{
	int	 j;

	ctl_usage_line[0] = '\0';
	for (j = 0; j < CTL_MAX_WORDS && cmd->cm_words[j] != NULL; j++) {
		(void)strlcat(ctl_usage_line, cmd->cm_words[j],
		    sizeof(ctl_usage_line));
		(void)strlcat(ctl_usage_line, " ", sizeof(ctl_usage_line));
	}
	if (strlcat(ctl_usage_line, cmd->cm_args, sizeof(ctl_usage_line)) >=
	    sizeof(ctl_usage_line))
		errx(AUTHCTL_EXIT_ERROR, "usage line too long");
	cc->cc_usage = ctl_usage_line;
}

static int
ctl_prefix(const char *word, const char *full)
{
	return (strncmp(word, full, strlen(word)) == 0);
}

/*
 * Prints the words that may stand at position pos after the given ones;
 * for an ambiguous word, only those it abbreviates.
 */
static void
ctl_valid_words(char **argv, int pos, const char *ambiguous)
{
	size_t		 i;
	int		 j, ok;
	const char	*seen[CTL_NCMDS] = { NULL };
	size_t		 nseen = 0, k;

	fprintf(stderr, "valid words here:");
	for (i = 0; i < CTL_NCMDS; i++) {
		for (ok = 1, j = 0; j < pos; j++)
			if (ctl_cmds[i].cm_words[j] == NULL ||
			    !ctl_prefix(argv[j], ctl_cmds[i].cm_words[j]))
				ok = 0;
		if (!ok || ctl_cmds[i].cm_words[pos] == NULL ||
		    (ambiguous != NULL &&
		    !ctl_prefix(ambiguous, ctl_cmds[i].cm_words[pos])))
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
				fprintf(stderr,
				    "authctl: incomplete command\n");
			else
				fprintf(stderr, "authctl: %s word \"%s\"\n",
				    chosen == NULL ? "unknown" : "ambiguous",
				    argv[pos]);
			ctl_valid_words(argv, pos, chosen == NULL ? NULL :
			    argv[pos]);
			exit(AUTHCTL_EXIT_USAGE);
		}
		for (i = 0; i < CTL_NCMDS; i++)
			if (cand[i] && (ctl_cmds[i].cm_words[pos] == NULL ||
			    strcmp(ctl_cmds[i].cm_words[pos], chosen) != 0))
				cand[i] = 0;
	}
	usage();
}

/*
 * Keyword arguments follow the same rules as command words: a unique
 * prefix names a keyword, an exact word is never ambiguous.
 */
int
ctl_opts(const struct ctl_ctx *cc, int first, struct ctl_opt *opts,
    size_t nopts)
{
	struct ctl_opt	*o;
	const char	*word;
	size_t		 i, n;
	int		 a;

	for (a = first; a < cc->cc_argc; a++) {
		word = cc->cc_argv[a];
		for (o = NULL, n = 0, i = 0; i < nopts; i++) {
			if (strcmp(word, opts[i].co_word) == 0) {
				o = &opts[i];
				n = 1;
				break;
			}
			if (ctl_prefix(word, opts[i].co_word)) {
				o = &opts[i];
				n++;
			}
		}
		if (n != 1) {
			fprintf(stderr, "authctl: %s word \"%s\"\n",
			    n == 0 ? "unknown" : "ambiguous", word);
			fprintf(stderr, "valid words here:");
			for (i = 0; i < nopts; i++)
				if (n == 0 || ctl_prefix(word, opts[i].co_word))
					fprintf(stderr, " %s",
					    opts[i].co_word);
			fprintf(stderr, "\n");
			return (-1);
		}
		if (o->co_val != NULL) {
			fprintf(stderr, "authctl: %s given twice\n",
			    o->co_word);
			return (-1);
		}
		if (!o->co_hasval) {
			o->co_val = "";
			continue;
		}
		if (++a == cc->cc_argc) {
			fprintf(stderr, "authctl: %s needs a value\n",
			    o->co_word);
			return (-1);
		}
		o->co_val = cc->cc_argv[a];
	}
	return (0);
}

/*
 * The configuration file: -f, else $AUTHD_CONF, else /etc/authd.conf.
 * When neither of the last two exists, the one "make run" writes in the
 * tree, so that authctl run from the top of the tree finds the
 * development daemon.
 */
static const char *
ctl_conffile(const char *given)
{
	const char	*env;

	if (given != NULL)
		return (given);
	if ((env = getenv("AUTHD_CONF")) != NULL && *env != '\0')
		return (env);
	if (access(CONFIG_FILE, F_OK) == -1 &&
	    access(AUTHCTL_DEV_CONF, F_OK) == 0)
		return (AUTHCTL_DEV_CONF);
	return (CONFIG_FILE);
}

int
main(int argc, char *argv[])
{
	struct ctl_ctx		 cc;
	const struct ctl_cmd	*cmd;
	const char		*conffile = NULL;
	int			 ch, used, nargs;

	memset(&cc, 0, sizeof(cc));
	while ((ch = getopt(argc, argv, "+f:jp:s:")) != -1) {
		switch (ch) {
		case 'f':
			conffile = optarg;
			break;
		case 'j':
			cc.cc_json = 1;
			break;
		case 'p':
			cc.cc_pwfile = optarg;
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
	ctl_set_usage(&cc, cmd);
	nargs = argc - used;
	if (nargs < cmd->cm_minargs || nargs > cmd->cm_maxargs)
		exit(ctl_usage(&cc));
	cc.cc_argc = nargs;
	cc.cc_argv = argv + used;

	conffile = ctl_conffile(conffile);
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
