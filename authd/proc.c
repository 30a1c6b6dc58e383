/*
 * Process plumbing shared by the parent and its children: starting a
 * child as a fresh exec of the program of its role, the options that
 * program takes, the fixed order in which a child gives up its
 * privileges, and the first message every child waits for, its
 * configuration.
 *
 * Each role is a program of its own (authd, authd-keyholder,
 * authd-worker), linked with the libraries of that role only: a
 * keyholder maps no PostgreSQL, Redis or HTTP client code, and each
 * process is spared the memory the loader spends on libraries it never
 * calls (libcurl alone brings in GnuTLS, Kerberos and LDAP).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <fcntl.h>
#include <poll.h>

#include <err.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"
#include "sandbox.h"

char	*authd_progdir;
int	 authd_debug;
int	 authd_verbose;

extern char **environ;

const char *
proc_title(enum proc_role role)
{
	switch (role) {
	case PROC_PARENT:
		return ("parent");
	case PROC_KEYHOLDER:
		return ("keyholder");
	case PROC_WORKER:
		return ("worker");
	case PROC_CONTROL:
		return ("control");
	}
	return ("unknown");
}

/*
 * Forks and execs a child with the channel fd on AUTHD_PARENT_FD.  A
 * fresh exec gives each child a new address space: nothing the parent
 * read (keys, the pepper) is in a worker's memory unless it was sent.
 * index PROC_KEYLOAD starts a keyholder program that only loads the
 * keys (keyload.c).
 */
pid_t
proc_exec(enum proc_role role, int index, int fd)
{
	char	 idx[16], path[PATH_MAX], *argv[8];
	int	 argc = 0;
	pid_t	 pid;

	if (proc_program(role, path, sizeof(path)) == -1) {
		log_warnx("%s: path too long", __func__);
		return (-1);
	}
	argv[argc++] = path;
	if (index == PROC_KEYLOAD)
		argv[argc++] = (char *)(uintptr_t)"-K";
	else {
		snprintf(idx, sizeof(idx), "%d", index);
		argv[argc++] = (char *)(uintptr_t)"-I";
		argv[argc++] = idx;
	}
	if (authd_debug)
		argv[argc++] = (char *)(uintptr_t)"-d";
	if (authd_verbose)
		argv[argc++] = (char *)(uintptr_t)"-v";
	argv[argc] = NULL;

	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		return (-1);
	case 0:
		break;
	default:
		return (pid);
	}

	/* Child: the channel becomes fd 3, everything else is closed. */
	if (fd != AUTHD_PARENT_FD) {
		if (dup2(fd, AUTHD_PARENT_FD) == -1)
			fatal("dup2");
	} else if (fcntl(fd, F_SETFD, 0) == -1)
		fatal("fcntl");
	closefrom(AUTHD_PARENT_FD + 1);
	/* The parent's signal dispositions must not leak into the child. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/*
	 * libcurl links GnuTLS (through librtmp) besides OpenSSL, and GnuTLS
	 * sets itself up as it is loaded: its random pool, the PKCS #11
	 * modules, about 700 KiB a process.  A worker never calls it.
	 */
	if (role == PROC_WORKER && setenv("GNUTLS_NO_IMPLICIT_INIT", "1",
	    1) == -1)
		fatal("setenv");
	execv(path, argv);
	fatal("execv %s", path);
}

/* The program of a role: authd-<role>, in the directory of authd. */
int
proc_program(enum proc_role role, char *path, size_t size)
{
	int	 n;

	n = snprintf(path, size, "%s/authd-%s", authd_progdir,
	    proc_title(role));
	return (n < 0 || (size_t)n >= size ? -1 : 0);
}

static void __attribute__((noreturn))
proc_child_usage(void)
{
	fprintf(stderr, "usage: authd-keyholder [-dv] -I index | -K\n"
	    "       authd-worker [-dv] -I index\n"
	    "(started by authd(8), which gives it its configuration)\n");
	exit(2);
}

/*
 * The start of a child's main(): the options proc_exec() gave it, and
 * logging.  Returns the child's index, or PROC_KEYLOAD for a keyholder
 * started with -K.
 */
int
proc_child_init(enum proc_role role, int argc, char *argv[])
{
	const char	*errstr;
	int		 ch, index = -1;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "dI:Kv")) != -1) {
		switch (ch) {
		case 'd':
			authd_debug = 1;
			break;
		case 'I':
			index = strtonum(optarg, 0, AUTHD_MAX_WORKERS, &errstr);
			if (errstr != NULL)
				errx(2, "index %s: %s", optarg, errstr);
			break;
		case 'K':
			if (role != PROC_KEYHOLDER)
				proc_child_usage();
			index = PROC_KEYLOAD;
			break;
		case 'v':
			authd_verbose++;
			break;
		default:
			proc_child_usage();
		}
	}
	if (argc != optind || index == -1)
		proc_child_usage();
	log_init(authd_debug, LOG_DAEMON);
	log_setverbose(authd_verbose);
	return (index);
}

/*
 * Gives up privileges in the one fixed order: look up the user while
 * /etc is reachable, chroot, then groups, gid and uid, then no new
 * privileges ever, then prove that root cannot be regained, and last
 * the sandbox of the role (sandbox.c), which lets a worker read the
 * files in readable besides the system's.  Started as an ordinary user,
 * authd keeps that user and only loses new privileges.
 */
void
proc_drop(const struct authd_config *conf, enum proc_role role,
    int do_chroot, const char *const *readable)
{
	struct passwd	*pw;
	struct rlimit	 rl;

	if (geteuid() == 0) {
		if ((pw = getpwnam(conf->c_user)) == NULL)
			fatalx("unknown user %s", conf->c_user);
		if (do_chroot) {
			if (chroot(conf->c_chroot) == -1)
				fatal("chroot %s", conf->c_chroot);
			if (chdir("/") == -1)
				fatal("chdir /");
		}
		if (setgroups(1, &pw->pw_gid) == -1)
			fatal("setgroups");
		if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
			fatal("setresgid");
		if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			fatal("setresuid");
		if (setuid(0) != -1 || seteuid(0) != -1)
			fatalx("%s: could regain root", proc_title(role));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
	if (role == PROC_KEYHOLDER) {
		/* Keys live here: no core dumps, no ptrace by our own uid. */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
			fatal("prctl PR_SET_DUMPABLE");
		rl.rlim_cur = rl.rlim_max = 0;
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			fatal("setrlimit RLIMIT_CORE");
	}
	/* Children die with the parent: no orphan keeps the port. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1)
		fatal("prctl PR_SET_PDEATHSIG");
	if (getppid() == 1)
		fatalx("parent went away");
	/* Last: the seccomp filter would refuse most of the above. */
	if (role == PROC_KEYHOLDER)
		sandbox_keyholder(conf);
	else if (role == PROC_WORKER)
		sandbox_worker(conf, readable);
}

/*
 * Blocks for the next message of a channel, waiting timeout_ms at most
 * for each read (-1: no limit).  1 when msg is filled, 0 on end of file
 * or timeout, -1 on an error.
 */
int
proc_read_msg(struct ipc *ipc, struct ipc_msg *msg, int timeout_ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	for (;;) {
		if ((r = ipc_get(ipc, msg)) != 0)
			return (r);
		if ((n = ipc_read(ipc)) == 0)
			return (0);
		if (n > 0 || errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return (-1);
		pfd.fd = ipc->i_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, timeout_ms)) == 0)
			return (0);
		if (r == -1 && errno != EINTR)
			return (-1);
	}
}

/* A child blocks for its configuration, the first message it gets. */
int
proc_read_config(struct ipc *ipc, struct authd_config *conf)
{
	struct ipc_msg	 msg;

	if (proc_read_msg(ipc, &msg, -1) != 1)
		return (-1);
	if (msg.im_hdr.ih_type != IMSG_CONFIG ||
	    ipc_check_len(&msg, sizeof(*conf)) == -1 ||
	    ipc_get_data(&msg, conf, sizeof(*conf)) == -1) {
		ipc_msg_free(&msg);
		return (-1);
	}
	ipc_msg_free(&msg);
	return (0);
}

void
proc_send_config(struct ipc_ev *iev, const struct authd_config *conf)
{
	if (ipc_ev_compose(iev, IMSG_CONFIG, 0, -1, conf, sizeof(*conf)) == -1)
		fatal("%s: compose config", __func__);
}
