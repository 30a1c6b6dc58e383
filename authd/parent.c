/*
 * The parent: reads what only root may read (keys, pepper), binds the
 * sockets, starts keyholders and workers, and supervises them.  A worker
 * that dies is started again; a keyholder that dies takes the daemon
 * down, as a privileged child's death does in OpenBSD's daemons.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"
#include "sandbox.h"
#include "seal.h"
#include "token.h"

#define PARENT_PEPPER_MAX	1024
#define PARENT_BACKOFF_MIN_MS	50
#define PARENT_BACKOFF_MAX_MS	30000
#define PARENT_STABLE_SECONDS	10
#define PARENT_STOP_SECONDS	10

static struct authd_config	 parent_conf;
static struct token_keyset	 parent_keys;
static uint8_t			 parent_pepper[PARENT_PEPPER_MAX];
static size_t			 parent_pepperlen;
static uint8_t			 parent_sealkey[SEAL_KEY_LEN];
static int			 parent_listen[CONFIG_MAX_LISTEN];
static int			 parent_conn_table = -1;	/* conn.c */
static struct child		 parent_kh[AUTHD_MAX_KEYHOLDERS];
static struct child		 parent_wk[AUTHD_MAX_WORKERS];
static struct event_base	*parent_base;
static time_t			 parent_started;
static uint64_t			 parent_reloads;
static int			 parent_stopping;
static struct metrics		 parent_dead_metrics;	/* of lost workers */

static void	 parent_dispatch(int, short, void *);
static int	 parent_spawn(struct child *);

static void
parent_child_send(struct child *ch, uint32_t type, int fd,
    const struct ipc_builder *b)
{
	if (ipc_ev_compose_b(&ch->ch_iev, type, 0, fd, b) == -1)
		fatal("%s: compose", __func__);
}

/* Keyholders get the private keys; workers only what verifies. */
static void
parent_send_keys(struct child *ch)
{
	struct ipc_builder	*b;
	int			 i, priv = ch->ch_role == PROC_KEYHOLDER;

	if ((b = malloc(sizeof(*b))) == NULL)
		fatal(NULL);
	for (i = 0; i < parent_keys.ks_nkeys; i++) {
		ipc_builder_init(b);
		ipc_put_u32(b, i == parent_keys.ks_current);
		if (token_key_serialize(&parent_keys.ks_keys[i], priv, b) == -1)
			fatalx("%s: key %s too large", __func__,
			    parent_keys.ks_keys[i].tk_kid);
		parent_child_send(ch, IMSG_KEY, -1, b);
		ipc_builder_clear(b);
	}
	ipc_builder_init(b);
	ipc_put_u32(b, parent_keys.ks_nkeys);
	parent_child_send(ch, IMSG_KEYS_DONE, -1, b);
	if (priv) {
		ipc_builder_init(b);
		ipc_put_data(b, parent_pepper, parent_pepperlen);
		parent_child_send(ch, IMSG_PEPPER, -1, b);
		ipc_builder_clear(b);
		ipc_builder_init(b);
		ipc_put_data(b, parent_sealkey, sizeof(parent_sealkey));
		parent_child_send(ch, IMSG_SEALKEY, -1, b);
		ipc_builder_clear(b);
	}
	free(b);
}

/* A new worker gets one fresh channel to every keyholder. */
static void
parent_pair(struct child *wk)
{
	struct ipc_builder	 b;
	int			 i, sp[2];

	for (i = 0; i < parent_conf.c_keyholders; i++) {
		if (parent_kh[i].ch_pid == 0)
			continue;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp) == -1)
			fatal("socketpair");
		ipc_builder_init(&b);
		ipc_put_u32(&b, PROC_KEYHOLDER);
		ipc_put_u32(&b, i);
		parent_child_send(wk, IMSG_PEER, sp[0], &b);
		ipc_builder_init(&b);
		ipc_put_u32(&b, PROC_WORKER);
		ipc_put_u32(&b, wk->ch_index);
		parent_child_send(&parent_kh[i], IMSG_PEER, sp[1], &b);
	}
}

static int
parent_spawn(struct child *ch)
{
	struct ipc_builder	 b;
	int			 i, fd, sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair");
		return (-1);
	}
	if ((ch->ch_pid = proc_exec(ch->ch_role, ch->ch_index, sp[1])) == -1) {
		ch->ch_pid = 0;
		close(sp[0]);
		close(sp[1]);
		return (-1);
	}
	close(sp[1]);
	clock_gettime(CLOCK_MONOTONIC, &ch->ch_started);
	ch->ch_ready = 0;
	memset(&ch->ch_stats, 0, sizeof(ch->ch_stats));
	if (ipc_ev_init(&ch->ch_iev, parent_base, sp[0], parent_dispatch,
	    ch) == -1)
		fatal("ipc_ev_init");
	proc_send_config(&ch->ch_iev, &parent_conf);
	parent_send_keys(ch);
	if (ch->ch_role == PROC_WORKER) {
		for (i = 0; i < parent_conf.c_nlisten; i++) {
			if ((fd = dup(parent_listen[i])) == -1)
				fatal("dup");
			ipc_builder_init(&b);
			parent_child_send(ch, IMSG_LISTEN, fd, &b);
		}
		if (parent_conn_table != -1) {
			if ((fd = dup(parent_conn_table)) == -1)
				fatal("dup");
			ipc_builder_init(&b);
			ipc_put_u32(&b, ch->ch_index);
			parent_child_send(ch, IMSG_CONN_TABLE, fd, &b);
		}
		parent_pair(ch);
	}
	ipc_builder_init(&b);
	parent_child_send(ch, IMSG_START, -1, &b);
	log_debug("started %s %d, pid %d", proc_title(ch->ch_role),
	    ch->ch_index, ch->ch_pid);
	return (0);
}

static void
parent_respawn(int fd, short ev, void *arg)
{
	struct child	*ch = arg;
	struct timeval	 retry = { 1, 0 };

	(void)fd;
	(void)ev;
	if (parent_stopping || ch->ch_pid != 0)
		return;
	if (parent_spawn(ch) == -1)
		evtimer_add(ch->ch_respawn, &retry);
}

static void
parent_kill_all(int sig)
{
	int	 i;

	for (i = 0; i < AUTHD_MAX_WORKERS; i++)
		if (parent_wk[i].ch_pid > 0)
			kill(parent_wk[i].ch_pid, sig);
	for (i = 0; i < AUTHD_MAX_KEYHOLDERS; i++)
		if (parent_kh[i].ch_pid > 0)
			kill(parent_kh[i].ch_pid, sig);
}

static struct child *
parent_find(pid_t pid)
{
	int	 i;

	for (i = 0; i < AUTHD_MAX_WORKERS; i++)
		if (parent_wk[i].ch_pid == pid)
			return (&parent_wk[i]);
	for (i = 0; i < AUTHD_MAX_KEYHOLDERS; i++)
		if (parent_kh[i].ch_pid == pid)
			return (&parent_kh[i]);
	return (NULL);
}

static int
parent_children_left(void)
{
	int	 i, n = 0;

	for (i = 0; i < AUTHD_MAX_WORKERS; i++)
		n += parent_wk[i].ch_pid > 0;
	for (i = 0; i < AUTHD_MAX_KEYHOLDERS; i++)
		n += parent_kh[i].ch_pid > 0;
	return (n);
}

/*
 * Stops every child and exits.  Workers get SIGTERM and drain their
 * requests; whoever is still there after PARENT_STOP_SECONDS is killed.
 */
static __attribute__((noreturn)) void
parent_shutdown(int status)
{
	struct child	*ch;
	pid_t		 pid;
	int		 i, wstatus;

	parent_stopping = 1;
	parent_kill_all(SIGTERM);
	for (i = 0; i < PARENT_STOP_SECONDS * 20 && parent_children_left();
	    i++) {
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
			if ((ch = parent_find(pid)) != NULL)
				ch->ch_pid = 0;
		if (parent_children_left())
			usleep(50000);
	}
	if (parent_children_left()) {
		log_warnx("children still running, killing them");
		parent_kill_all(SIGKILL);
		while (waitpid(-1, &wstatus, 0) > 0)
			;
	}
	control_close(parent_conf.c_control);
	if (parent_conf.c_pidfile[0] != '\0')
		unlink(parent_conf.c_pidfile);
	token_keyset_free(&parent_keys);
	sodium_memzero(parent_pepper, sizeof(parent_pepper));
	sodium_memzero(parent_sealkey, sizeof(parent_sealkey));
	log_info("%s, exiting", status ? "stopped on error" : "terminated");
	exit(status);
}

static void
parent_describe_exit(int wstatus, char *buf, size_t len)
{
	const char	*name;

	/* SIGSYS is the seccomp filter's kill: say so plainly. */
	if (WIFSIGNALED(wstatus)) {
		name = sigabbrev_np(WTERMSIG(wstatus));
		snprintf(buf, len, "killed by signal %d (SIG%s)%s",
		    WTERMSIG(wstatus), name != NULL ? name : "?",
		    WTERMSIG(wstatus) == SIGSYS ?
		    ": a system call the sandbox forbids" : "");
	}
	else if (WIFEXITED(wstatus))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(wstatus));
	else
		snprintf(buf, len, "stopped");
}

static void
parent_lost_worker(struct child *ch, const char *why)
{
	struct timespec	 now;
	struct timeval	 tv;
	long		 ms;

	ch->ch_restarts++;
	/* Its counts stay in the sums; a gauge does not outlive it. */
	ch->ch_metrics->m_kh_pending = 0;
	metrics_add(&parent_dead_metrics, ch->ch_metrics);
	memset(ch->ch_metrics, 0, sizeof(*ch->ch_metrics));
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* A worker that keeps dying is restarted ever more slowly. */
	if (now.tv_sec - ch->ch_started.tv_sec >= PARENT_STABLE_SECONDS)
		ms = 0;
	else {
		ms = PARENT_BACKOFF_MIN_MS;
		if (ch->ch_restarts < 20)
			ms <<= ch->ch_restarts;
		else
			ms = PARENT_BACKOFF_MAX_MS;
		if (ms > PARENT_BACKOFF_MAX_MS)
			ms = PARENT_BACKOFF_MAX_MS;
	}
	log_warnx("lost child: worker %d %s; restarting in %ld ms",
	    ch->ch_index, why, ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ch->ch_respawn, &tv);
}

static void
parent_sigchld(void)
{
	struct child	*ch;
	char		 why[128];
	pid_t		 pid;
	int		 wstatus, fatal_loss = 0;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		if ((ch = parent_find(pid)) == NULL)
			continue;
		parent_describe_exit(wstatus, why, sizeof(why));
		ch->ch_pid = 0;
		ipc_ev_clear(&ch->ch_iev);
		if (ch->ch_role == PROC_WORKER)
			conn_table_gone(ch->ch_index);
		if (parent_stopping)
			continue;
		if (ch->ch_role == PROC_KEYHOLDER) {
			log_warnx("lost child: keyholder %d %s", ch->ch_index,
			    why);
			fatal_loss = 1;
		} else
			parent_lost_worker(ch, why);
	}
	if (fatal_loss)
		parent_shutdown(1);
}

static void
parent_signal(int sig, short ev, void *arg)
{
	char	 err[256];

	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGCHLD:
		parent_sigchld();
		break;
	case SIGHUP:
		log_info("reload requested");
		if (parent_reload(err, sizeof(err)) == -1)
			log_warnx("reload failed: %s", err);
		break;
	case SIGTERM:
	case SIGINT:
		parent_shutdown(0);
		break;
	}
}

/* The sum of every worker's counters and the keyholders' work. */
static void
parent_metrics(struct child *ch, uint32_t id)
{
	struct metrics	*sum;
	int		 i;

	if ((sum = calloc(1, sizeof(*sum))) == NULL)
		return;
	metrics_add(sum, &parent_dead_metrics);
	for (i = 0; i < parent_conf.c_workers; i++) {
		metrics_add(sum, parent_wk[i].ch_metrics);
		sum->m_worker_restarts += parent_wk[i].ch_restarts;
	}
	for (i = 0; i < parent_conf.c_keyholders; i++) {
		sum->m_kh_jobs += parent_kh[i].ch_stats.ps_requests;
		sum->m_kh_usec += parent_kh[i].ch_stats.ps_usec;
	}
	sum->m_workers = parent_conf.c_workers;
	sum->m_keyholders = parent_conf.c_keyholders;
	ipc_ev_compose(&ch->ch_iev, IMSG_METRICS_SUM, id, -1, sum,
	    sizeof(*sum));
	free(sum);
}

static void
parent_dispatch(int fd, short events, void *arg)
{
	struct child	*ch = arg;
	struct ipc_msg	 msg;
	int		 r;

	(void)fd;
	if (ipc_ev_io(&ch->ch_iev, events) == -1) {
		/* The child is gone; SIGCHLD decides what happens. */
		ipc_ev_clear(&ch->ch_iev);
		return;
	}
	while ((r = ipc_get(&ch->ch_iev.ie_ipc, &msg)) == 1) {
		switch (msg.im_hdr.ih_type) {
		case IMSG_READY:
			ch->ch_ready = 1;
			break;
		case IMSG_STATS:
			if (ipc_check_len(&msg, sizeof(ch->ch_stats)) == -1 ||
			    ipc_get_data(&msg, &ch->ch_stats,
			    sizeof(ch->ch_stats)) == -1)
				r = -1;
			break;
		case IMSG_METRICS:
			if (ch->ch_role != PROC_WORKER ||
			    ipc_check_len(&msg,
			    sizeof(*ch->ch_metrics)) == -1 ||
			    ipc_get_data(&msg, ch->ch_metrics,
			    sizeof(*ch->ch_metrics)) == -1)
				r = -1;
			break;
		case IMSG_METRICS_REQ:
			if (ch->ch_role != PROC_WORKER ||
			    ipc_check_len(&msg, 0) == -1)
				r = -1;
			else
				parent_metrics(ch, msg.im_hdr.ih_peerid);
			break;
		default:
			r = -1;
			break;
		}
		ipc_msg_free(&msg);
		if (r == -1)
			break;
	}
	if (r == -1) {
		log_warnx("protocol error from %s %d, stopping it",
		    proc_title(ch->ch_role), ch->ch_index);
		ipc_ev_clear(&ch->ch_iev);
		kill(ch->ch_pid, SIGKILL);
	}
}

static int
parent_read_pepper(const struct authd_config *conf, uint8_t *buf,
    size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	*len = 0;
	if (conf->c_pepper[0] == '\0')
		return (0);
	if ((fd = open(conf->c_pepper, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", conf->c_pepper,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errlen, "%s: must not be readable by group or "
		    "others", conf->c_pepper);
		close(fd);
		return (-1);
	}
	n = read(fd, buf, PARENT_PEPPER_MAX);
	close(fd);
	if (n < 16) {
		snprintf(err, errlen, "%s: a pepper needs 16 bytes or more",
		    conf->c_pepper);
		sodium_memzero(buf, PARENT_PEPPER_MAX);
		return (-1);
	}
	*len = n;
	return (0);
}

/*
 * Reload: parse and load first, change nothing on error.  Settings that
 * shape the processes and sockets keep their values until a restart.
 */
int
parent_reload(char *err, size_t errlen)
{
	struct authd_config	 nconf;
	struct token_keyset	 nkeys;
	uint8_t			 npepper[PARENT_PEPPER_MAX];
	uint8_t			 nseal[SEAL_KEY_LEN];
	size_t			 npepperlen;
	int			 i;

	if (config_parse(parent_conf.c_file, &nconf) == -1) {
		snprintf(err, errlen, "%skeeping the running configuration",
		    config_errors());
		return (-1);
	}
	if (keyload_fetch(nconf.c_keydir, nconf.c_alg, &nkeys, err,
	    errlen) == -1)
		return (-1);
	if (parent_read_pepper(&nconf, npepper, &npepperlen, err,
	    errlen) == -1) {
		token_keyset_free(&nkeys);
		return (-1);
	}
	if (seal_key_load(nconf.c_keydir, nseal, err, errlen) == -1) {
		token_keyset_free(&nkeys);
		sodium_memzero(npepper, sizeof(npepper));
		return (-1);
	}
	if (memcmp(nconf.c_listen, parent_conf.c_listen,
	    sizeof(nconf.c_listen)) != 0 ||
	    nconf.c_workers != parent_conf.c_workers ||
	    nconf.c_keyholders != parent_conf.c_keyholders ||
	    strcmp(nconf.c_user, parent_conf.c_user) != 0 ||
	    strcmp(nconf.c_control, parent_conf.c_control) != 0 ||
	    nconf.c_sandbox != parent_conf.c_sandbox)
		log_warnx("listen, prefork, keyholders, user, chroot, "
		    "socket and sandbox changes take effect at the next start");
	memcpy(nconf.c_listen, parent_conf.c_listen, sizeof(nconf.c_listen));
	nconf.c_nlisten = parent_conf.c_nlisten;
	nconf.c_workers = parent_conf.c_workers;
	nconf.c_keyholders = parent_conf.c_keyholders;
	memcpy(nconf.c_user, parent_conf.c_user, sizeof(nconf.c_user));
	memcpy(nconf.c_chroot, parent_conf.c_chroot, sizeof(nconf.c_chroot));
	nconf.c_sandbox = parent_conf.c_sandbox;
	memcpy(nconf.c_control, parent_conf.c_control,
	    sizeof(nconf.c_control));

	parent_conf = nconf;
	token_keyset_free(&parent_keys);
	parent_keys = nkeys;
	memcpy(parent_pepper, npepper, sizeof(parent_pepper));
	parent_pepperlen = npepperlen;
	sodium_memzero(npepper, sizeof(npepper));
	memcpy(parent_sealkey, nseal, sizeof(parent_sealkey));
	sodium_memzero(nseal, sizeof(nseal));
	log_setverbose(authd_verbose);

	for (i = 0; i < parent_conf.c_keyholders; i++)
		if (parent_kh[i].ch_pid > 0) {
			proc_send_config(&parent_kh[i].ch_iev, &parent_conf);
			parent_send_keys(&parent_kh[i]);
		}
	for (i = 0; i < parent_conf.c_workers; i++)
		if (parent_wk[i].ch_pid > 0) {
			proc_send_config(&parent_wk[i].ch_iev, &parent_conf);
			parent_send_keys(&parent_wk[i]);
		}
	parent_reloads++;
	log_info("configuration reloaded");
	return (0);
}

/*
 * authctl log verbose|brief: the parent and every running child; a child
 * started later inherits authd_verbose through its -v.
 */
void
parent_log_verbose(int verbose)
{
	struct ipc_builder	 b;
	int			 i;

	authd_verbose = verbose;
	log_setverbose(verbose);
	for (i = 0; i < parent_conf.c_keyholders; i++)
		if (parent_kh[i].ch_pid > 0) {
			ipc_builder_init(&b);
			ipc_put_u32(&b, verbose);
			parent_child_send(&parent_kh[i], IMSG_LOG_VERBOSE, -1,
			    &b);
		}
	for (i = 0; i < parent_conf.c_workers; i++)
		if (parent_wk[i].ch_pid > 0) {
			ipc_builder_init(&b);
			ipc_put_u32(&b, verbose);
			parent_child_send(&parent_wk[i], IMSG_LOG_VERBOSE, -1,
			    &b);
		}
}

static void
parent_status_child(struct ipc_ev *iev, uint32_t peerid,
    const struct child *ch)
{
	struct ctl_proc	 cp;

	memset(&cp, 0, sizeof(cp));
	strlcpy(cp.cp_title, proc_title(ch->ch_role), sizeof(cp.cp_title));
	cp.cp_pid = ch->ch_pid;
	cp.cp_role = ch->ch_role;
	cp.cp_index = ch->ch_index;
	cp.cp_restarts = ch->ch_restarts;
	cp.cp_stats = ch->ch_stats;
	ipc_ev_compose(iev, IMSG_CTL_STATUS_PROC, peerid, -1, &cp,
	    sizeof(cp));
}

void
parent_status(struct ipc_ev *iev, uint32_t peerid)
{
	struct ctl_status	 cs;
	struct child		 me;
	int			 i;

	memset(&me, 0, sizeof(me));
	me.ch_role = PROC_PARENT;
	me.ch_pid = getpid();
	parent_status_child(iev, peerid, &me);
	for (i = 0; i < parent_conf.c_keyholders; i++)
		parent_status_child(iev, peerid, &parent_kh[i]);
	for (i = 0; i < parent_conf.c_workers; i++)
		parent_status_child(iev, peerid, &parent_wk[i]);
	memset(&cs, 0, sizeof(cs));
	strlcpy(cs.cs_version, AUTHD_VERSION, sizeof(cs.cs_version));
	cs.cs_started = parent_started;
	cs.cs_workers = parent_conf.c_workers;
	cs.cs_keyholders = parent_conf.c_keyholders;
	cs.cs_reloads = parent_reloads;
	ipc_ev_compose(iev, IMSG_CTL_STATUS, peerid, -1, &cs, sizeof(cs));
}

static int
parent_bind(const struct config_listen *cl)
{
	struct addrinfo	 hints, *res;
	char		 port[8];
	int		 fd, on = 1, error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", cl->cl_port);
	if ((error = getaddrinfo(cl->cl_addr, port, &hints, &res)) != 0)
		fatalx("listen on %s: %s", cl->cl_addr, gai_strerror(error));
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		fatal("setsockopt SO_REUSEADDR");
	if (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		fatal("setsockopt IPV6_V6ONLY");
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		fatal("bind %s port %u", cl->cl_addr, cl->cl_port);
	if (listen(fd, 1024) == -1)
		fatal("listen");
	freeaddrinfo(res);
	return (fd);
}

static void
parent_pidfile(const char *path)
{
	FILE	*fp;

	if (path[0] == '\0')
		return;
	if ((fp = fopen(path, "w")) == NULL)
		fatal("pidfile %s", path);
	fprintf(fp, "%d\n", (int)getpid());
	fclose(fp);
}

static void
parent_check_user(const struct authd_config *conf)
{
	struct passwd	*pw;

	if (geteuid() != 0) {
		if ((pw = getpwuid(geteuid())) != NULL)
			log_info("not started as root: every process runs as "
			    "user %s, without chroot", pw->pw_name);
		return;
	}
	if (getpwnam(conf->c_user) == NULL)
		fatalx("user %s does not exist", conf->c_user);
}

static void
parent_signals(void)
{
	static struct event	*ev[5];
	int			 sigs[5] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT,
				    SIGUSR1 };
	int			 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 5; i++) {
		ev[i] = evsignal_new(parent_base, sigs[i], parent_signal, NULL);
		if (ev[i] == NULL || evsignal_add(ev[i], NULL) == -1)
			fatalx("signal events");
	}
}

void
parent_main(struct authd_config *conf)
{
	const char	*off;
	char		 err[512];
	int		 i, ctlfd;

	parent_conf = *conf;
	log_procinit(proc_title(PROC_PARENT));
	parent_check_user(&parent_conf);
	if (keyload_fetch(parent_conf.c_keydir, parent_conf.c_alg,
	    &parent_keys, err, sizeof(err)) == -1)
		fatalx("keys: %s", err);
	if (parent_read_pepper(&parent_conf, parent_pepper, &parent_pepperlen,
	    err, sizeof(err)) == -1)
		fatalx("pepper: %s", err);
	if (seal_key_load(parent_conf.c_keydir, parent_sealkey, err,
	    sizeof(err)) == -1)
		fatalx("seal key: %s", err);
	for (i = 0; i < parent_conf.c_nlisten; i++)
		parent_listen[i] = parent_bind(&parent_conf.c_listen[i]);
	if ((parent_conn_table = conn_table_create()) == -1)
		log_warn("connection table: workers will share connections "
		    "less evenly");
	if ((ctlfd = control_listen(parent_conf.c_control)) == -1)
		fatalx("control socket %s", parent_conf.c_control);

	if (!authd_debug && daemon(0, 0) == -1)
		fatal("daemon");
	parent_pidfile(parent_conf.c_pidfile);
	setproctitle("%s", proc_title(PROC_PARENT));
	parent_started = time(NULL);

	if ((parent_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	parent_signals();
	control_init(parent_base, ctlfd);

	for (i = 0; i < parent_conf.c_keyholders; i++) {
		parent_kh[i].ch_role = PROC_KEYHOLDER;
		parent_kh[i].ch_index = i;
		if (parent_spawn(&parent_kh[i]) == -1)
			fatalx("could not start keyholder %d", i);
	}
	for (i = 0; i < parent_conf.c_workers; i++) {
		parent_wk[i].ch_role = PROC_WORKER;
		parent_wk[i].ch_index = i;
		parent_wk[i].ch_respawn = evtimer_new(parent_base,
		    parent_respawn, &parent_wk[i]);
		parent_wk[i].ch_metrics = calloc(1,
		    sizeof(*parent_wk[i].ch_metrics));
		if (parent_wk[i].ch_respawn == NULL ||
		    parent_wk[i].ch_metrics == NULL)
			fatalx("out of memory");
		if (parent_spawn(&parent_wk[i]) == -1)
			fatalx("could not start worker %d", i);
	}
	log_info("started: %d keyholders, %d workers, listening on %s "
	    "port %u", parent_conf.c_keyholders, parent_conf.c_workers,
	    parent_conf.c_listen[0].cl_addr, parent_conf.c_listen[0].cl_port);
	if ((off = sandbox_off_reason(&parent_conf)) != NULL)
		log_info("sandbox of keyholders and workers off: %s", off);
	event_base_dispatch(parent_base);
	parent_shutdown(1);
}
