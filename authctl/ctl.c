/*
 * Commands that talk to the running daemon over its control socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "authctl.h"
#include "authd.h"

#define CTL_TIMEOUT_MS	10000

static int
ctl_connect(struct ctl_ctx *cc, struct ipc *ipc)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, cc->cc_socket, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "authctl: socket path too long\n");
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "authctl: connect %s: %s\n", cc->cc_socket,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (ipc_init(ipc, fd) == -1) {
		close(fd);
		return (-1);
	}
	return (0);
}

/* Waits for the next message; -1 on timeout, EOF or a broken frame. */
static int
ctl_next(struct ipc *ipc, struct ipc_msg *msg)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	for (;;) {
		if ((r = ipc_get(ipc, msg)) != 0)
			return (r == 1 ? 0 : -1);
		pfd.fd = ipc->i_fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, CTL_TIMEOUT_MS)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return (-1);
		n = ipc_read(ipc);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return (-1);
	}
}

static int
ctl_simple(struct ctl_ctx *cc, uint32_t type, const void *data, size_t len)
{
	struct ipc	 ipc;
	struct ipc_msg	 msg;
	const char	*why;
	int		 rv = AUTHCTL_EXIT_ERROR;

	if (ctl_connect(cc, &ipc) == -1)
		return (AUTHCTL_EXIT_ERROR);
	if (ipc_compose(&ipc, type, 1, -1, data, len) == -1 ||
	    ipc_flush(&ipc) == -1 || ctl_next(&ipc, &msg) == -1) {
		fprintf(stderr, "authctl: no answer from authd\n");
		ipc_clear(&ipc);
		return (AUTHCTL_EXIT_ERROR);
	}
	if (msg.im_hdr.ih_type == IMSG_CTL_OK) {
		if (cc->cc_json)
			printf("{\"result\": \"ok\"}\n");
		rv = AUTHCTL_EXIT_OK;
	} else if (msg.im_hdr.ih_type == IMSG_CTL_FAIL &&
	    ipc_get_str(&msg, &why, IPC_MAX_PAYLOAD) == 0)
		fprintf(stderr, "authctl: %s\n", why);
	else
		fprintf(stderr, "authctl: unexpected answer\n");
	ipc_msg_free(&msg);
	ipc_clear(&ipc);
	return (rv);
}

int
ctl_reload(struct ctl_ctx *cc)
{
	int	 rv;

	if ((rv = ctl_simple(cc, IMSG_CTL_RELOAD, NULL, 0)) ==
	    AUTHCTL_EXIT_OK && !cc->cc_json)
		printf("reload done\n");
	return (rv);
}

static int
ctl_log(struct ctl_ctx *cc, uint32_t verbose)
{
	int	 rv;

	if ((rv = ctl_simple(cc, IMSG_CTL_LOG_VERBOSE, &verbose,
	    sizeof(verbose))) == AUTHCTL_EXIT_OK && !cc->cc_json)
		printf("logging %s\n", verbose ? "verbose" : "brief");
	return (rv);
}

int
ctl_log_verbose(struct ctl_ctx *cc)
{
	return (ctl_log(cc, 1));
}

int
ctl_log_brief(struct ctl_ctx *cc)
{
	return (ctl_log(cc, 0));
}

static void
ctl_uptime(int64_t started, char *buf, size_t len)
{
	int64_t	 s = time(NULL) - started;

	snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", (long long)(s / 86400),
	    (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60),
	    (long long)(s % 60));
}

/* How many workers see PostgreSQL and Redis. */
struct ctl_backends {
	unsigned int	 cb_workers;
	unsigned int	 cb_db;
	unsigned int	 cb_redis;
};

static const char *
ctl_backend_state(unsigned int up, unsigned int of)
{
	if (of == 0)
		return ("unknown");
	return (up == of ? "up" : up == 0 ? "down" : "partial");
}

static void
ctl_print_proc(const struct ctl_proc *cp, json_t *procs,
    struct ctl_backends *cb)
{
	if (cp->cp_role == PROC_WORKER && cp->cp_pid > 0) {
		cb->cb_workers++;
		cb->cb_db += cp->cp_stats.ps_db_up != 0;
		cb->cb_redis += cp->cp_stats.ps_redis_up != 0;
	}
	if (procs != NULL) {
		json_array_append_new(procs, json_pack("{s:s,s:i,s:i,s:i,"
		    "s:I,s:I,s:i,s:b,s:b}", "role", cp->cp_title,
		    "index", cp->cp_index, "pid", cp->cp_pid,
		    "restarts", cp->cp_restarts,
		    "requests", (json_int_t)cp->cp_stats.ps_requests,
		    "errors", (json_int_t)cp->cp_stats.ps_errors,
		    "queue", cp->cp_stats.ps_queue,
		    "database", cp->cp_stats.ps_db_up,
		    "redis", cp->cp_stats.ps_redis_up));
		return;
	}
	printf("%-10s %5u %8d %8u %10llu", cp->cp_title, cp->cp_index,
	    cp->cp_pid, cp->cp_restarts,
	    (unsigned long long)cp->cp_stats.ps_requests);
	if (cp->cp_role == PROC_WORKER)
		printf("  queue %u, database %s, redis %s",
		    cp->cp_stats.ps_queue,
		    cp->cp_stats.ps_db_up ? "up" : "down",
		    cp->cp_stats.ps_redis_up ? "up" : "down");
	else if (cp->cp_role == PROC_KEYHOLDER)
		printf("  queue %u", cp->cp_stats.ps_queue);
	printf("\n");
}

static void
ctl_print_status(struct ctl_status *cs, json_t *procs,
    const struct ctl_backends *cb)
{
	json_t	*o;
	char	 up[32];

	cs->cs_version[sizeof(cs->cs_version) - 1] = '\0';
	ctl_uptime(cs->cs_started, up, sizeof(up));
	if (procs == NULL) {
		printf("authd %s, up %s, %u workers, %u keyholders, "
		    "%llu reloads\n", cs->cs_version, up, cs->cs_workers,
		    cs->cs_keyholders, (unsigned long long)cs->cs_reloads);
		printf("database %s, redis %s (as %u workers see them)\n",
		    ctl_backend_state(cb->cb_db, cb->cb_workers),
		    ctl_backend_state(cb->cb_redis, cb->cb_workers),
		    cb->cb_workers);
		return;
	}
	o = json_pack("{s:s,s:I,s:s,s:i,s:i,s:I,s:s,s:s,s:O}",
	    "version", cs->cs_version,
	    "started", (json_int_t)cs->cs_started,
	    "uptime", up, "workers", cs->cs_workers,
	    "keyholders", cs->cs_keyholders,
	    "reloads", (json_int_t)cs->cs_reloads,
	    "database", ctl_backend_state(cb->cb_db, cb->cb_workers),
	    "redis", ctl_backend_state(cb->cb_redis, cb->cb_workers),
	    "processes", procs);
	if (o == NULL) {
		fprintf(stderr, "authctl: out of memory\n");
		return;
	}
	json_dumpf(o, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(o);
}

int
ctl_show_status(struct ctl_ctx *cc)
{
	struct ipc		 ipc;
	struct ipc_msg		 msg;
	struct ctl_proc		 cp;
	struct ctl_status	 cs;
	struct ctl_backends	 cb;
	json_t			*procs = NULL;
	int			 done = 0, rv = AUTHCTL_EXIT_ERROR;

	memset(&cb, 0, sizeof(cb));
	if (ctl_connect(cc, &ipc) == -1)
		return (AUTHCTL_EXIT_ERROR);
	if (ipc_compose(&ipc, IMSG_CTL_SHOW_STATUS, 1, -1, NULL, 0) == -1 ||
	    ipc_flush(&ipc) == -1)
		goto out;
	if (cc->cc_json) {
		if ((procs = json_array()) == NULL)
			goto out;
	} else
		printf("%-10s %5s %8s %8s %10s\n", "process", "index", "pid",
		    "restarts", "requests");
	while (!done && ctl_next(&ipc, &msg) == 0) {
		if (msg.im_hdr.ih_type == IMSG_CTL_STATUS_PROC &&
		    ipc_check_len(&msg, sizeof(cp)) == 0 &&
		    ipc_get_data(&msg, &cp, sizeof(cp)) == 0) {
			cp.cp_title[sizeof(cp.cp_title) - 1] = '\0';
			ctl_print_proc(&cp, procs, &cb);
		} else if (msg.im_hdr.ih_type == IMSG_CTL_STATUS &&
		    ipc_check_len(&msg, sizeof(cs)) == 0 &&
		    ipc_get_data(&msg, &cs, sizeof(cs)) == 0) {
			ctl_print_status(&cs, procs, &cb);
			done = 1;
			rv = AUTHCTL_EXIT_OK;
		} else
			done = 1;
		ipc_msg_free(&msg);
	}
 out:
	if (rv != AUTHCTL_EXIT_OK)
		fprintf(stderr, "authctl: no status from authd\n");
	json_decref(procs);
	ipc_clear(&ipc);
	return (rv);
}
