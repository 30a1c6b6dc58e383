/*
 * A worker: an unprivileged process serving HTTP on the listening
 * socket it shares with the other workers.  It holds only public keys;
 * everything that needs a secret goes to a keyholder over IPC.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "tokcache.h"
#include "token.h"

#define WORKER_DRAIN_SECONDS	10

struct authd_config		 worker_conf;
struct token_keyset		 worker_keys;
static struct token_keyset	 worker_newkeys;
static char			*worker_jwks_doc;
static struct ipc_ev		 worker_parent;
static struct event_base	*worker_base;
static struct proc_stats	 worker_stats;
static struct timespec		 worker_drain_start;
static int			 worker_draining;
static int			 worker_index;

const char *
worker_jwks(void)
{
	return (worker_jwks_doc);
}

int
worker_parent_send(uint32_t type, uint32_t id, const void *data, size_t len)
{
	return (ipc_ev_compose(&worker_parent, type, id, -1, data, len));
}

static int
worker_numeric(const char *host)
{
	unsigned char	 buf[sizeof(struct in6_addr)];

	return (inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1);
}

/*
 * A chroot leaves no path to a unix socket, to /etc/hosts or to
 * /etc/passwd, so a worker is chrooted only when PostgreSQL and Redis
 * are reached by IP address and the database user is named.
 */
static int
worker_can_chroot(const struct authd_config *conf)
{
	PQconninfoOption	*opts, *o;
	int			 tcp = 0, user = 0;

	if (conf->c_redis_path[0] != '\0' ||
	    !worker_numeric(conf->c_redis_host))
		return (0);
	if ((opts = PQconninfoParse(conf->c_database, NULL)) == NULL)
		return (0);
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "hostaddr") == 0)
			tcp = 1;
		else if (strcmp(o->keyword, "host") == 0)
			tcp = worker_numeric(o->val);
		else if (strcmp(o->keyword, "user") == 0)
			user = 1;
	}
	PQconninfoFree(opts);
	return (tcp && user);
}

static int
worker_add_key(struct ipc_msg *msg)
{
	struct token_key	*k;
	uint32_t		 current;

	if (worker_newkeys.ks_nkeys >= TOKEN_MAX_KEYS)
		return (-1);
	k = &worker_newkeys.ks_keys[worker_newkeys.ks_nkeys];
	if (ipc_get_u32(msg, &current) == -1 ||
	    token_key_deserialize(msg, k) == -1)
		return (-1);
	worker_newkeys.ks_nkeys++;
	if (k->tk_priv != NULL)
		fatalx("a private key reached a worker");
	if (current)
		worker_newkeys.ks_current = worker_newkeys.ks_nkeys - 1;
	return (0);
}

static int
worker_keys_done(struct ipc_msg *msg)
{
	uint32_t	 n;
	char		*doc;

	if (ipc_get_u32(msg, &n) == -1 || ipc_get_end(msg) == -1 ||
	    n != (uint32_t)worker_newkeys.ks_nkeys)
		return (-1);
	token_keyset_clear(&worker_keys);
	/* A key taken away takes its tokens' verification with it. */
	tokcache_flush();
	worker_keys = worker_newkeys;
	memset(&worker_newkeys, 0, sizeof(worker_newkeys));
	if ((doc = token_jwks(&worker_keys)) == NULL)
		fatalx("cannot build the JWKS document");
	free(worker_jwks_doc);
	worker_jwks_doc = doc;
	return (0);
}

static int
worker_add_peer(struct ipc_msg *msg)
{
	uint32_t	 role, idx;
	int		 fd;

	if (ipc_get_u32(msg, &role) == -1 || ipc_get_u32(msg, &idx) == -1 ||
	    ipc_get_end(msg) == -1 || role != PROC_KEYHOLDER ||
	    (fd = ipc_take_fd(msg)) == -1)
		return (-1);
	if (khc_add(fd, idx) == -1) {
		close(fd);
		log_warnx("cannot add keyholder %u", idx);
	}
	return (0);
}

static int
worker_parent_msg(struct ipc_msg *msg)
{
	uint32_t	 verbose, index;
	int		 fd;

	switch (msg->im_hdr.ih_type) {
	case IMSG_CONFIG:
		if (ipc_check_len(msg, sizeof(worker_conf)) == -1 ||
		    ipc_get_data(msg, &worker_conf, sizeof(worker_conf)) == -1)
			return (-1);
		return (0);
	case IMSG_LOG_VERBOSE:
		if (ipc_get_u32(msg, &verbose) == -1 ||
		    ipc_get_end(msg) == -1)
			return (-1);
		log_setverbose(verbose);
		return (0);
	case IMSG_KEY:
		return (worker_add_key(msg));
	case IMSG_KEYS_DONE:
		return (worker_keys_done(msg));
	case IMSG_LISTEN:
		if (ipc_check_len(msg, 0) == -1 ||
		    (fd = ipc_take_fd(msg)) == -1)
			return (-1);
		if (http_listen(fd) == -1)
			fatalx("cannot listen");
		return (0);
	case IMSG_CONN_TABLE:
		if (ipc_get_u32(msg, &index) == -1 ||
		    ipc_get_end(msg) == -1 || (fd = ipc_take_fd(msg)) == -1)
			return (-1);
		/* Without it this worker only accepts less evenly. */
		if (conn_share(fd, (int)index) == -1)
			log_warn("connection table");
		return (0);
	case IMSG_PEER:
		return (worker_add_peer(msg));
	case IMSG_METRICS_SUM:
		worker_metrics_sum(msg);
		return (0);
	case IMSG_START:
		if (ipc_check_len(msg, 0) == -1)
			return (-1);
		ipc_ev_compose(&worker_parent, IMSG_READY, 0, -1, NULL, 0);
		return (0);
	default:
		return (-1);
	}
}

static void
worker_dispatch_parent(int fd, short events, void *arg)
{
	struct ipc_msg	 msg;
	int		 r;

	(void)fd;
	(void)arg;
	if (ipc_ev_io(&worker_parent, events) == -1)
		fatalx("parent channel closed");
	while ((r = ipc_get(&worker_parent.ie_ipc, &msg)) == 1) {
		r = worker_parent_msg(&msg);
		ipc_msg_free(&msg);
		if (r == -1)
			break;
	}
	if (r == -1)
		fatalx("invalid message from parent");
}

static void
worker_tick(int fd, short ev, void *arg)
{
	struct timespec	 now;

	(void)fd;
	(void)ev;
	(void)arg;
	worker_stats.ps_requests = http_served();
	worker_stats.ps_errors = http_failed();
	worker_stats.ps_queue = khc_pending();
	worker_stats.ps_db_up = db_up();
	worker_stats.ps_redis_up = redis_up();
	ipc_ev_compose(&worker_parent, IMSG_STATS, 0, -1, &worker_stats,
	    sizeof(worker_stats));
	metrics_local.m_kh_pending = khc_pending();
	ipc_ev_compose(&worker_parent, IMSG_METRICS, 0, -1, &metrics_local,
	    sizeof(metrics_local));
	if (!worker_draining)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((http_inflight() == 0 && mail_pending() == 0) ||
	    now.tv_sec - worker_drain_start.tv_sec >= WORKER_DRAIN_SECONDS) {
		db_close();
		redis_shutdown();
		conn_free();
		ipc_flush(&worker_parent.ie_ipc);
		exit(0);
	}
}

/* SIGTERM: stop accepting, finish what is in flight, then exit. */
static void
worker_sigterm(int sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	(void)arg;
	if (worker_draining)
		return;
	worker_draining = 1;
	clock_gettime(CLOCK_MONOTONIC, &worker_drain_start);
	http_stop_listening();
}

/*
 * Descriptors for limits { connections } and the worker's own (database
 * pool, Redis, IPC, listeners): the soft limit is raised as far as the
 * hard one allows, a systemd default of 1024 being too few.
 */
static void
worker_fd_limit(const struct authd_config *conf)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)conf->c_max_connections + 128;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("%d connections a worker, but %llu descriptors",
		    conf->c_max_connections, (unsigned long long)rl.rlim_cur);
}

static void __attribute__((noreturn))
worker_main(int index)
{
	struct event	*tick, *term;
	struct timeval	 tv = { 0, 200000 };
	int		 do_chroot;

	worker_index = index;
	log_procinit(proc_title(PROC_WORKER));
	/* "authd: worker", as ps(1) showed it when all was one program. */
	setproctitle("-authd: %s", proc_title(PROC_WORKER));
	signal(SIGPIPE, SIG_IGN);
	if (ipc_ev_init(&worker_parent, NULL, AUTHD_PARENT_FD, NULL,
	    NULL) == -1)
		fatal("ipc_ev_init");
	if (proc_read_config(&worker_parent.ie_ipc, &worker_conf) == -1)
		fatalx("no configuration from the parent");
	do_chroot = geteuid() == 0 && worker_can_chroot(&worker_conf);
	/* The deny list may be out of reach after the drop (a chroot). */
	if (policy_init(&worker_conf) == -1)
		fatal("password deny list %s", worker_conf.c_pw_denylist);
	worker_fd_limit(&worker_conf);
	proc_drop(&worker_conf, PROC_WORKER, do_chroot,
	    db_client_files(&worker_conf));

	if ((worker_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	khc_init(worker_base, worker_conf.c_keyholder_queue);
	if (http_init(worker_base, &worker_conf) == -1)
		fatalx("http_init");
	if (db_open(worker_base, &worker_conf) == -1)
		fatalx("db_init");
	rl_init();
	if (redis_init(worker_base, &worker_conf) == -1)
		fatalx("redis_init");
	if (mail_init(worker_base) == -1)
		fatalx("mail_init");
	if (delivery_init(worker_base) == -1)
		fatalx("delivery_init");
	if (ipc_ev_attach(&worker_parent, worker_base, worker_dispatch_parent,
	    NULL) == -1)
		fatal("ipc_ev_attach");
	if ((tick = event_new(worker_base, -1, EV_PERSIST, worker_tick,
	    NULL)) == NULL || event_add(tick, &tv) == -1)
		fatalx("timer");
	if ((term = evsignal_new(worker_base, SIGTERM, worker_sigterm,
	    NULL)) == NULL || evsignal_add(term, NULL) == -1)
		fatalx("signal");
	log_debug("worker %d ready%s", worker_index,
	    do_chroot ? " in its chroot" : "");
	event_base_dispatch(worker_base);
	fatalx("event loop ended");
}

/* authd-worker, started by authd(8) (proc_exec()). */
int
main(int argc, char *argv[])
{
	worker_main(proc_child_init(PROC_WORKER, argc, argv));
}
