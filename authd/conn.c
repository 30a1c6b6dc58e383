/*
 * A deadline for each request, which evhttp 2.1 lacks: its timeout
 * starts again with every byte read, so a client sending its headers a
 * byte a second holds a connection for ever.  Here a whole request must
 * arrive within the timeout of the connection's opening or of the
 * previous answer; an idle kept-alive connection gets the same time.
 *
 * Every connection's bufferevent is made here (evhttp_set_bevcb) and
 * kept with its deadline.  Once a second the overdue ones that are not
 * being answered are shut down: evhttp reads the end of the stream and
 * frees the connection its own way.  We never free what evhttp owns.
 *
 * We hold a reference on each bufferevent, so that its memory and its
 * descriptor (BEV_OPT_CLOSE_ON_FREE: closed with the last reference)
 * cannot be reused under us.  evhttp lets a connection go with
 * bufferevent_free(), which clears every callback: that is how the
 * sweep finds one that ended before a request reached us.  One that
 * reached us is let go at once, from the connection's close callback.
 * The same list counts the connections against limits { connections }.
 *
 * Workers share each listening socket, and libevent's listener accepts
 * until the queue is empty: the first worker awake took every waiting
 * connection, and under keep-alive load one worker served everything
 * while the other idled.  So every worker publishes how many
 * connections it holds, and whether it is at its limit, in a table the
 * parent shares with them all (one slot a worker: count * 2 + full, -1
 * while it is not running or draining).  A worker that holds more than
 * another stops accepting after each connection it takes, which leaves
 * the next ones to the others, and looks again every CONN_YIELD_USEC:
 * it goes on yielding while a worker that holds fewer may take more, and
 * for 10 ms at most.  The one that holds the fewest never yields, so
 * some worker is always accepting within a turn.  A worker yields to one
 * that is yielding itself too: that one may be answering requests for
 * milliseconds before its turn comes back, and when the first went on
 * meanwhile, it took every connection (under AddressSanitizer, 24
 * connections opened at once went 18 to 6).  A worker that is stuck does
 * not hold connections back: the others are only slowed, to one
 * connection each per 10 ms.  A shorter limit is not enough on a loaded
 * machine, where the worker holding fewer may not run for milliseconds:
 * with 1 ms, 24 connections opened at once went 23 to 1.
 *
 * The turn is a timerfd of its own: libevent rounds the timeout of
 * epoll_wait(2) up to a millisecond, so an event timer of 50 us waits a
 * whole millisecond, two workers paused at once took about two
 * connections a millisecond between them, and a burst of a thousand
 * left a new client a second in the listen queue.
 */
#include <sys/types.h>
#include <sys/cdefs.h>
#ifndef __unused
#define __unused	__attribute__((__unused__))	/* used by tree.h */
#endif
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/tree.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "authd.h"
#include "log.h"

enum conn_state {
	CONN_READING,		/* the deadline runs */
	CONN_BUSY,		/* a request is being answered */
	CONN_CLOSING		/* shut down, evhttp has yet to notice */
};

struct conn {
	RB_ENTRY(conn)		 cn_entry;
	struct bufferevent	*cn_bev;	/* the key; a reference ours */
	struct evbuffer_cb_entry *cn_output;	/* conn_output() */
	struct timespec		 cn_deadline;	/* CLOCK_MONOTONIC */
	enum conn_state		 cn_state;
	int			 cn_refused;	/* evhttp's error status */
	int			 cn_rewriting;
};

RB_HEAD(conn_tree, conn);

static int
conn_cmp(const struct conn *a, const struct conn *b)
{
	uintptr_t	 x = (uintptr_t)a->cn_bev, y = (uintptr_t)b->cn_bev;

	return (x < y ? -1 : x > y);
}

RB_GENERATE_STATIC(conn_tree, conn, cn_entry, conn_cmp);

static struct conn_tree	 conn_all = RB_INITIALIZER(&conn_all);
static struct event	*conn_timer;
static time_t		 conn_timeout;
static int		 conn_count;
static int		 conn_max;
static int		 conn_full;	/* not accepting: conn_max reached */
static struct event	*conn_resume;	/* accept again after a yield */
static int		 conn_resume_fd = -1; /* its timerfd */
static atomic_int	*conn_table;	/* AUTHD_MAX_WORKERS, shared */
static int		 conn_self;	/* this worker's slot */
static int		 conn_withdrawn; /* draining: slot left at -1 */
static int		 conn_paused;	/* yielding: conn_resume is armed */
static int		 conn_yields;	/* turns of conn_resume so far */

#define CONN_YIELD_USEC	50	/* a yield's turn */
#define CONN_YIELD_MAX	200	/* turns: 10 ms at most */

static void
conn_arm(struct conn *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->cn_deadline);
	c->cn_deadline.tv_sec += conn_timeout;
	c->cn_state = CONN_READING;
}

static struct conn *
conn_find(struct evhttp_connection *evcon)
{
	struct conn	 key;

	if (evcon == NULL)
		return (NULL);
	memset(&key, 0, sizeof(key));
	key.cn_bev = evhttp_connection_get_bufferevent(evcon);
	return (RB_FIND(conn_tree, &conn_all, &key));
}

/* This worker's slot: what it holds, and whether it is full. */
static void
conn_publish(void)
{
	if (conn_table != NULL && !conn_withdrawn)
		atomic_store_explicit(&conn_table[conn_self], conn_count * 2 +
		    conn_full, memory_order_relaxed);
}

/*
 * limits { connections }: at the limit a worker stops accepting, and
 * new connections wait in the listen queue for another worker or for a
 * place here; a slow or idle client cannot take a worker's last one.
 */
static void
conn_counted(int delta)
{
	conn_count += delta;
	if (!conn_full && conn_count >= conn_max) {
		conn_full = 1;
		http_accepting(0);
		log_info("%d connections open: not accepting more", conn_count);
	} else if (conn_full && conn_count < conn_max) {
		conn_full = 0;
		if (!conn_paused)
			http_accepting(1);
	}
	conn_publish();
}

/*
 * Whether another worker holds fewer connections and may take more: one
 * at its limit may not.  One that yields itself counts: it is at most a
 * turn away from accepting again.
 */
static int
conn_ahead(void)
{
	int	 i, n;

	if (conn_table == NULL)
		return (0);
	for (i = 0; i < AUTHD_MAX_WORKERS; i++) {
		if (i == conn_self)
			continue;
		n = atomic_load_explicit(&conn_table[i], memory_order_relaxed);
		if (n >= 0 && n / 2 < conn_count && !(n & 1))
			return (1);
	}
	return (0);
}

/* Wakes conn_resumed() in CONN_YIELD_USEC. */
static int
conn_resume_later(void)
{
	struct itimerspec	 later;

	memset(&later, 0, sizeof(later));
	later.it_value.tv_nsec = CONN_YIELD_USEC * 1000;
	return (timerfd_settime(conn_resume_fd, 0, &later, NULL));
}

/* A connection was taken: yield the next ones while others hold fewer. */
static void
conn_pause(void)
{
	if (conn_full || conn_paused || conn_resume == NULL || !conn_ahead())
		return;
	http_accepting(0);
	if (conn_resume_later() == -1) {
		http_accepting(1);
		return;
	}
	conn_paused = 1;
	conn_yields = 0;
}

/*
 * Still yielding while a worker holds fewer, at most CONN_YIELD_MAX
 * turns; as soon as none does (it took its share), accepting again.
 * The worker that holds the fewest never yields beyond a turn, so two
 * workers are never paused at once for longer.
 */
static void
conn_resumed(int fd, short ev, void *arg)
{
	uint64_t	 expired;

	(void)ev;
	(void)arg;
	if (read(fd, &expired, sizeof(expired)) != sizeof(expired) ||
	    !conn_paused)
		return;
	if (++conn_yields < CONN_YIELD_MAX && conn_ahead() &&
	    conn_resume_later() == 0)
		return;
	conn_paused = 0;
	if (!conn_full)
		http_accepting(1);
}

static void
conn_drop(struct conn *c)
{
	evbuffer_remove_cb_entry(bufferevent_get_output(c->cn_bev),
	    c->cn_output);
	RB_REMOVE(conn_tree, &conn_all, c);
	bufferevent_decref(c->cn_bev);
	free(c);
	conn_counted(-1);
}

/* evhttp's bufferevent_free() has run: it clears every callback. */
static int
conn_released(struct bufferevent *bev)
{
	bufferevent_data_cb	 rd, wr;
	bufferevent_event_cb	 ev;

	bufferevent_getcb(bev, &rd, &wr, &ev, NULL);
	return (rd == NULL && wr == NULL && ev == NULL);
}

/*
 * Freed by evhttp right after its own error page, a bufferevent still
 * reads, into a buffer that no one drains, until our reference goes at
 * the next sweep.  Stop it at its first read instead.
 */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bufferevent	*bev = arg;

	(void)buf;
	if (info->n_added > 0 && conn_released(bev))
		bufferevent_disable(bev, EV_READ | EV_WRITE);
}

/* The status of the answer that starts buf ("HTTP/1.1 413 ..."), or 0. */
static int
conn_status(struct evbuffer *buf)
{
	char		 line[16];
	const char	*errstr;
	int		 status;

	if (evbuffer_copyout(buf, line, sizeof(line) - 1) < 13)
		return (0);
	line[12] = '\0';
	if (strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return (0);
	status = strtonum(line + 9, 100, 599, &errstr);
	return (errstr == NULL ? status : 0);
}

/*
 * Output on a connection whose request never reached us can only be
 * evhttp's own answer: an HTML error page when evhttp refused the
 * request (too large, malformed), or a "100 Continue".  An error page is
 * replaced, as it is written, by the JSON answer of http_error_page();
 * the header lines and body evhttp adds after its status line go too.
 */
static void
conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	if (info->n_added == 0 || c->cn_rewriting ||
	    (c->cn_state != CONN_READING && c->cn_refused == 0))
		return;
	if (c->cn_refused == 0 && (c->cn_refused = conn_status(buf)) < 400) {
		c->cn_refused = 0;
		return;
	}
	c->cn_rewriting = 1;
	evbuffer_drain(buf, evbuffer_get_length(buf));
	http_error_page(buf, c->cn_refused);
	c->cn_rewriting = 0;
}

/* evhttp_set_bevcb: a new connection.  NULL lets evhttp make its own. */
static struct bufferevent *
conn_new(struct event_base *base, void *arg)
{
	struct conn	*c;

	(void)arg;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	if ((c->cn_bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("%s: bufferevent_socket_new", __func__);
		free(c);
		return (NULL);
	}
	if (evbuffer_add_cb(bufferevent_get_input(c->cn_bev), conn_input,
	    c->cn_bev) == NULL ||
	    (c->cn_output = evbuffer_add_cb(bufferevent_get_output(c->cn_bev),
	    conn_output, c)) == NULL) {
		log_warnx("%s: evbuffer_add_cb", __func__);
		bufferevent_free(c->cn_bev);
		free(c);
		return (NULL);
	}
	bufferevent_incref(c->cn_bev);
	conn_arm(c);
	RB_INSERT(conn_tree, &conn_all, c);
	conn_counted(1);
	conn_pause();
	return (c->cn_bev);
}

/* evhttp is freeing a connection that carried a request. */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c;

	(void)arg;
	if ((c = conn_find(evcon)) != NULL)
		conn_drop(c);
}

/* An answer was sent: the next request on the connection has its time. */
static void
conn_answered(struct evhttp_request *req, void *arg)
{
	struct conn	*c;

	(void)arg;
	if ((c = conn_find(evhttp_request_get_connection(req))) != NULL)
		conn_arm(c);
}

/* A whole request has arrived: no deadline while it is answered. */
void
conn_request(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct conn			*c;

	evcon = evhttp_request_get_connection(req);
	if ((c = conn_find(evcon)) == NULL)
		return;
	c->cn_state = CONN_BUSY;
	evhttp_connection_set_closecb(evcon, conn_closed, NULL);
	evhttp_request_set_on_complete_cb(req, conn_answered, NULL);
}

static void
conn_sweep(int fd, short ev, void *arg)
{
	struct conn	*c, *next;
	struct timespec	 now;
	int		 s;

	(void)fd;
	(void)ev;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	RB_FOREACH_SAFE(c, conn_tree, &conn_all, next) {
		if (conn_released(c->cn_bev))
			conn_drop(c);
		else if (c->cn_state == CONN_READING &&
		    timespeccmp(&now, &c->cn_deadline, >=)) {
			c->cn_state = CONN_CLOSING;
			if ((s = bufferevent_getfd(c->cn_bev)) != -1 &&
			    shutdown(s, SHUT_RDWR) == 0)
				log_debug("connection %d: no whole request "
				    "within %lld s, closed", s,
				    (long long)conn_timeout);
		}
	}
}

int
conn_init(struct event_base *base, struct evhttp *http, int timeout,
    int max)
{
	struct timeval	 tv = { 1, 0 };

	conn_timeout = timeout;
	conn_max = max;
	if ((conn_timer = event_new(base, -1, EV_PERSIST, conn_sweep,
	    NULL)) == NULL || event_add(conn_timer, &tv) == -1)
		return (-1);
	/* Without the timerfd a worker accepts as it can, never yielding. */
	if ((conn_resume_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		log_warn("%s: timerfd_create", __func__);
	else if ((conn_resume = event_new(base, conn_resume_fd,
	    EV_READ | EV_PERSIST, conn_resumed, NULL)) == NULL ||
	    event_add(conn_resume, NULL) == -1)
		return (-1);
	evhttp_set_bevcb(http, conn_new, NULL);
	return (0);
}

/* Worker: joins the table in slot self; takes fd. */
int
conn_share(int fd, int self)
{
	void	*p;

	if (self < 0 || self >= AUTHD_MAX_WORKERS) {
		close(fd);
		return (-1);
	}
	p = mmap(NULL, CONN_TABLE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return (-1);
	conn_table = p;
	conn_self = self;
	conn_publish();
	return (0);
}

/* Worker: no longer accepting (draining); the others stop yielding. */
void
conn_withdraw(void)
{
	conn_withdrawn = 1;
	if (conn_table != NULL)
		atomic_store(&conn_table[conn_self], -1);
}

/* At exit: our references go; evhttp keeps the connections it has. */
void
conn_free(void)
{
	struct conn	*c, *next;

	if (conn_timer != NULL) {
		event_free(conn_timer);
		conn_timer = NULL;
	}
	if (conn_resume != NULL) {
		event_free(conn_resume);
		conn_resume = NULL;
	}
	if (conn_resume_fd != -1) {
		close(conn_resume_fd);
		conn_resume_fd = -1;
	}
	RB_FOREACH_SAFE(c, conn_tree, &conn_all, next)
		conn_drop(c);
}
