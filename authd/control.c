/*
 * The control socket: authctl's way into the running parent.  The socket
 * is created 0600 under a tight umask, and every connection's peer uid is
 * checked: only root and the user authd runs as may talk to it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "authd.h"
#include "log.h"

#define CONTROL_MAX_CLIENTS	16

struct control_conn {
	TAILQ_ENTRY(control_conn) cc_entry;
	struct ipc_ev		 cc_iev;
};

static TAILQ_HEAD(, control_conn) control_conns =
    TAILQ_HEAD_INITIALIZER(control_conns);
static int			 control_nconns;
static struct event		*control_ev;
static struct event_base	*control_base;

int
control_listen(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old_umask;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (-1);
	}
	/* A socket left by a crash: remove it only if nobody answers. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("control socket %s: another authd is running", path);
		close(fd);
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		close(fd);
		return (-1);
	}
	old_umask = umask(S_IXUSR | S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		umask(old_umask);
		close(fd);
		return (-1);
	}
	umask(old_umask);
	if (chmod(path, S_IRUSR | S_IWUSR) == -1 || listen(fd, 8) == -1) {
		log_warn("control socket %s", path);
		close(fd);
		unlink(path);
		return (-1);
	}
	return (fd);
}

void
control_close(const char *path)
{
	if (control_ev != NULL) {
		event_free(control_ev);
		control_ev = NULL;
	}
	unlink(path);
}

static void
control_drop(struct control_conn *c)
{
	TAILQ_REMOVE(&control_conns, c, cc_entry);
	ipc_ev_clear(&c->cc_iev);
	free(c);
	control_nconns--;
}

static void
control_fail(struct ipc_ev *iev, uint32_t peerid, const char *msg)
{
	struct ipc_builder	 b;

	ipc_builder_init(&b);
	ipc_put_str(&b, msg);
	ipc_ev_compose_b(iev, IMSG_CTL_FAIL, peerid, -1, &b);
}

static int
control_command(struct control_conn *c, struct ipc_msg *msg)
{
	char		 err[512];
	uint32_t	 peerid = msg->im_hdr.ih_peerid, verbose;

	switch (msg->im_hdr.ih_type) {
	case IMSG_CTL_SHOW_STATUS:
		if (ipc_check_len(msg, 0) == -1)
			return (-1);
		parent_status(&c->cc_iev, peerid);
		break;
	case IMSG_CTL_RELOAD:
		if (ipc_check_len(msg, 0) == -1)
			return (-1);
		if (parent_reload(err, sizeof(err)) == -1) {
			log_warnx("reload failed: %s", err);
			control_fail(&c->cc_iev, peerid, err);
			return (0);
		}
		ipc_ev_compose(&c->cc_iev, IMSG_CTL_OK, peerid, -1, NULL, 0);
		break;
	case IMSG_CTL_LOG_VERBOSE:
		if (ipc_get_u32(msg, &verbose) == -1 ||
		    ipc_get_end(msg) == -1)
			return (-1);
		parent_log_verbose(verbose != 0);
		ipc_ev_compose(&c->cc_iev, IMSG_CTL_OK, peerid, -1, NULL, 0);
		break;
	default:
		return (-1);
	}
	return (0);
}

static void
control_dispatch(int fd, short events, void *arg)
{
	struct control_conn	*c = arg;
	struct ipc_msg		 msg;
	int			 r;

	(void)fd;
	if (ipc_ev_io(&c->cc_iev, events) == -1) {
		control_drop(c);
		return;
	}
	while ((r = ipc_get(&c->cc_iev.ie_ipc, &msg)) == 1) {
		r = control_command(c, &msg);
		ipc_msg_free(&msg);
		if (r == -1)
			break;
	}
	if (r == -1) {
		log_warnx("control: invalid message, closing connection");
		control_drop(c);
	}
}

static void
control_accept(int lfd, short events, void *arg)
{
	struct control_conn	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 fd;

	(void)events;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warnx("control: connection from uid %d refused",
		    (int)cred.uid);
		close(fd);
		return;
	}
	if (control_nconns >= CONTROL_MAX_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control: too many connections");
		close(fd);
		return;
	}
	if (ipc_ev_init(&c->cc_iev, control_base, fd, control_dispatch,
	    c) == -1) {
		free(c);
		close(fd);
		return;
	}
	TAILQ_INSERT_TAIL(&control_conns, c, cc_entry);
	control_nconns++;
}

void
control_init(struct event_base *base, int fd)
{
	control_base = base;
	control_ev = event_new(base, fd, EV_READ | EV_PERSIST, control_accept,
	    NULL);
	if (control_ev == NULL || event_add(control_ev, NULL) == -1)
		fatalx("control event");
}
