/*
 * evhttp_bare: the HTTP ceiling of `make bench`.  The least an evhttp
 * server can do per request: forked workers, each with its own event
 * loop and its own listening socket on the same port (SO_REUSEPORT: the
 * kernel shares the connections out evenly, as evenly as authd's
 * workers share theirs), answering every request with a fixed JSON
 * body.  What authd reaches is judged against what this reaches under
 * the same wrk load.
 *
 * usage: evhttp_bare [-w workers] -p port
 *
 * Listens on 127.0.0.1 only.  The parent waits for its workers; SIGTERM
 * or SIGINT to the parent stops them all.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#define BARE_MAXWORKERS	64

/* The size and shape of authd's smallest answers (GET /health/db). */
static const char	 bare_body[] = "{\"status\": \"ok\"}";

static pid_t		 bare_pids[BARE_MAXWORKERS];
static int		 bare_nworkers;
static volatile sig_atomic_t bare_quit;

static void	 bare_usage(void) __attribute__((noreturn));
static int	 bare_listen(int);
static void	 bare_request(struct evhttp_request *, void *);
static void	 bare_worker(int) __attribute__((noreturn));
static void	 bare_sig(int);

static void
bare_usage(void)
{
	fprintf(stderr, "usage: evhttp_bare [-w workers] -p port\n");
	exit(2);
}

static int
bare_listen(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		err(1, "setsockopt");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind 127.0.0.1:%d", port);
	if (listen(fd, 1024) == -1)
		err(1, "listen");
	/* libevent accepts until EAGAIN: a blocking socket would hang. */
	if (evutil_make_socket_nonblocking(fd) == -1)
		errx(1, "evutil_make_socket_nonblocking");
	return (fd);
}

static void
bare_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*buf;

	(void)arg;
	if ((buf = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		return;
	}
	evbuffer_add_reference(buf, bare_body, sizeof(bare_body) - 1,
	    NULL, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

static void
bare_worker(int fd)
{
	struct event_base	*base;
	struct evhttp		*http;

	/* The parent's handlers are for the parent: die on SIGTERM. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	if ((http = evhttp_new(base)) == NULL)
		errx(1, "evhttp_new");
	evhttp_set_gencb(http, bare_request, NULL);
	if (evhttp_accept_socket(http, fd) == -1)
		errx(1, "evhttp_accept_socket");
	event_base_dispatch(base);
	evhttp_free(http);
	event_base_free(base);
	_exit(0);
}

static void
bare_sig(int sig)
{
	(void)sig;
	bare_quit = 1;
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	const char		*errstr;
	pid_t			 pid;
	int			 ch, fd, i, port = 0, status;

	bare_nworkers = 2;
	while ((ch = getopt(argc, argv, "p:w:")) != -1) {
		switch (ch) {
		case 'p':
			port = (int)strtonum(optarg, 1, 65535, &errstr);
			if (errstr != NULL)
				errx(2, "port %s: %s", optarg, errstr);
			break;
		case 'w':
			bare_nworkers = (int)strtonum(optarg, 1,
			    BARE_MAXWORKERS, &errstr);
			if (errstr != NULL)
				errx(2, "workers %s: %s", optarg, errstr);
			break;
		default:
			bare_usage();
		}
	}
	if (port == 0 || optind != argc)
		bare_usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bare_sig;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		err(1, "sigaction");
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < bare_nworkers; i++) {
		fd = bare_listen(port);
		switch (pid = fork()) {
		case -1:
			err(1, "fork");
		case 0:
			bare_worker(fd);
		default:
			bare_pids[i] = pid;
		}
		close(fd);
	}

	/* Until a signal or the first worker's death: then stop the rest. */
	while (!bare_quit) {
		if ((pid = wait(&status)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < bare_nworkers; i++)
			if (bare_pids[i] == pid)
				bare_pids[i] = 0;
		break;
	}
	for (i = 0; i < bare_nworkers; i++)
		if (bare_pids[i] > 0)
			kill(bare_pids[i], SIGTERM);
	while (wait(&status) != -1 || errno == EINTR)
		;
	return (0);
}
