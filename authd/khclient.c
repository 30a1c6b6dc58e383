/*
 * A worker's side of the keyholder channels.  Requests are asynchronous:
 * each carries an id, the reply comes back with the same id, and the
 * worker serves other clients meanwhile.  A request goes to the keyholder
 * with the fewest requests pending; when every queue is full the caller
 * answers 503 instead of letting hashing starve the event loop.
 */
#include <sys/types.h>
#include <sys/cdefs.h>
#ifndef __unused
#define __unused	__attribute__((__unused__))	/* used by tree.h */
#endif
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "authd.h"
#include "log.h"

#define KHC_TIMEOUT_SEC	10

struct khc_req {
	RB_ENTRY(khc_req)	 kr_entry;
	uint32_t		 kr_id;
	uint32_t		 kr_type;
	int			 kr_peer;
	khc_cb			 kr_cb;
	void			*kr_arg;
	struct event		*kr_timer;
};

struct khc_peer {
	struct ipc_ev		 kp_iev;
	int			 kp_used;
	int			 kp_index;
	unsigned int		 kp_pending;
};

RB_HEAD(khc_tree, khc_req);

static int
khc_cmp(const struct khc_req *a, const struct khc_req *b)
{
	return (a->kr_id < b->kr_id ? -1 : a->kr_id > b->kr_id);
}

RB_GENERATE_STATIC(khc_tree, khc_req, kr_entry, khc_cmp);

static struct khc_tree		 khc_reqs = RB_INITIALIZER(&khc_reqs);
static struct khc_peer		 khc_peers[AUTHD_MAX_KEYHOLDERS];
static struct event_base	*khc_base;
static uint32_t			 khc_nextid;
static unsigned int		 khc_queue_max;
static unsigned int		 khc_total;

unsigned int
khc_pending(void)
{
	return (khc_total);
}

static void
khc_done(struct khc_req *r, struct ipc_msg *msg)
{
	RB_REMOVE(khc_tree, &khc_reqs, r);
	khc_peers[r->kr_peer].kp_pending--;
	khc_total--;
	event_free(r->kr_timer);
	r->kr_cb(msg, r->kr_arg);
	free(r);
}

/* Every request still waiting on a lost keyholder fails. */
static void
khc_peer_lost(struct khc_peer *p)
{
	struct khc_req	*r, *tr;
	int		 idx = p - khc_peers;

	log_warnx("keyholder %d channel closed", p->kp_index);
	ipc_ev_clear(&p->kp_iev);
	p->kp_used = 0;
	RB_FOREACH_SAFE(r, khc_tree, &khc_reqs, tr)
		if (r->kr_peer == idx)
			khc_done(r, NULL);
}

static int
khc_reply_type_ok(uint32_t req, uint32_t reply)
{
	if (reply == IMSG_KH_ERROR)
		return (1);
	switch (req) {
	case IMSG_KH_HASH_PASSWORD:
		return (reply == IMSG_KH_HASH);
	case IMSG_KH_VERIFY_PASSWORD:
		return (reply == IMSG_KH_VERIFY);
	case IMSG_KH_SIGN_PAIR:
		return (reply == IMSG_KH_TOKENS);
	case IMSG_KH_PUBLIC_KEYS:
		return (reply == IMSG_KH_JWKS);
	case IMSG_KH_VERIFY_TOKEN:
		return (reply == IMSG_KH_CLAIMS);
	case IMSG_KH_NEW_SECRET:
		return (reply == IMSG_KH_SECRET);
	case IMSG_KH_HMAC:
		return (reply == IMSG_KH_MAC);
	case IMSG_KH_TOTP_VERIFY:
		return (reply == IMSG_KH_TOTP);
	}
	return (0);
}

static void
khc_dispatch(int fd, short events, void *arg)
{
	struct khc_peer	*p = arg;
	struct khc_req	 key, *r;
	struct ipc_msg	 msg;
	int		 n;

	(void)fd;
	if (ipc_ev_io(&p->kp_iev, events) == -1) {
		khc_peer_lost(p);
		return;
	}
	while ((n = ipc_get(&p->kp_iev.ie_ipc, &msg)) == 1) {
		key.kr_id = msg.im_hdr.ih_peerid;
		r = RB_FIND(khc_tree, &khc_reqs, &key);
		if (r != NULL && r->kr_peer == p - khc_peers &&
		    khc_reply_type_ok(r->kr_type, msg.im_hdr.ih_type))
			khc_done(r, msg.im_hdr.ih_type == IMSG_KH_ERROR ?
			    NULL : &msg);
		else if (r == NULL)
			log_debug("late keyholder reply %u", key.kr_id);
		else
			n = -1;
		ipc_msg_free(&msg);
		if (n == -1)
			break;
	}
	if (n == -1) {
		log_warnx("invalid message from keyholder %d", p->kp_index);
		khc_peer_lost(p);
	}
}

static void
khc_timeout(int fd, short events, void *arg)
{
	struct khc_req	*r = arg;

	(void)fd;
	(void)events;
	log_warnx("keyholder request %u timed out", r->kr_id);
	khc_done(r, NULL);
}

void
khc_init(struct event_base *base, int queue_max)
{
	khc_base = base;
	khc_queue_max = queue_max > 0 ? queue_max : 64;
}

int
khc_add(int fd, int index)
{
	int	 i;

	for (i = 0; i < AUTHD_MAX_KEYHOLDERS; i++)
		if (!khc_peers[i].kp_used)
			break;
	if (i == AUTHD_MAX_KEYHOLDERS)
		return (-1);
	if (ipc_ev_init(&khc_peers[i].kp_iev, khc_base, fd, khc_dispatch,
	    &khc_peers[i]) == -1)
		return (-1);
	khc_peers[i].kp_used = 1;
	khc_peers[i].kp_index = index;
	khc_peers[i].kp_pending = 0;
	return (0);
}

/*
 * Queues a request.  Returns -1 when no keyholder can take it (the
 * callback is then not called); otherwise the callback runs exactly once,
 * with the reply, or with NULL on an error, a timeout or a lost channel.
 */
int
khc_request(uint32_t type, const struct ipc_builder *b, khc_cb cb, void *arg)
{
	struct khc_req	*r;
	struct timeval	 tv = { KHC_TIMEOUT_SEC, 0 };
	int		 i, best = -1;

	for (i = 0; i < AUTHD_MAX_KEYHOLDERS; i++) {
		if (!khc_peers[i].kp_used ||
		    khc_peers[i].kp_pending >= khc_queue_max)
			continue;
		if (best == -1 ||
		    khc_peers[i].kp_pending < khc_peers[best].kp_pending)
			best = i;
	}
	if (best == -1 || (r = calloc(1, sizeof(*r))) == NULL)
		return (-1);
	if ((r->kr_timer = evtimer_new(khc_base, khc_timeout, r)) == NULL) {
		free(r);
		return (-1);
	}
	do {
		r->kr_id = ++khc_nextid;
	} while (RB_FIND(khc_tree, &khc_reqs, r) != NULL);
	r->kr_type = type;
	r->kr_peer = best;
	r->kr_cb = cb;
	r->kr_arg = arg;
	if (ipc_ev_compose_b(&khc_peers[best].kp_iev, type, r->kr_id, -1,
	    b) == -1) {
		event_free(r->kr_timer);
		free(r);
		return (-1);
	}
	RB_INSERT(khc_tree, &khc_reqs, r);
	khc_peers[best].kp_pending++;
	khc_total++;
	evtimer_add(r->kr_timer, &tv);
	return (0);
}
