/*
 * Outbound events.  An event is a row per subscribed integration in
 * webhook_deliveries (authd_enqueue_event() in SQL), so it survives a
 * restart.  Every worker of every node polls the queue each second (and
 * at once after delivery_enqueue()); authd_delivery_claim() hands each due
 * row to one of them (SKIP LOCKED) under a lease.  The worker has the
 * event signed by a keyholder, POSTs it with libcurl's multi interface
 * on its own event loop, so a slow receiver never holds a request, and
 * records the attempt; a failure is retried with exponential backoff
 * until the configured number of attempts.
 *
 * A receiver sees: POST callback_url, Content-Type: application/json,
 * X-Event-Id (the event's uuid), X-Timestamp (Unix seconds) and
 * X-Signature: sha256=<hex HMAC-SHA256(secret, X-Timestamp "." body)>,
 * the scheme of inbound webhooks.
 *
 * Callback URLs are http or https only, and may not reach loopback,
 * private, link-local or other special addresses unless the config says
 * "callback private yes".  The check is made when a URL is written and
 * again on every connection (CURLOPT_OPENSOCKETFUNCTION), so a name that
 * resolves elsewhere later (DNS rebinding) gains nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"

#define DELIVERY_MAX_INFLIGHT	16	/* attempts at once per worker */
#define DELIVERY_POLL_SEC	1
#define DELIVERY_LEASE_EXTRA	30	/* seconds past the attempt timeout */
#define DELIVERY_TIMEOUT	10	/* defaults of the config's 0 */
#define DELIVERY_ATTEMPTS	8
#define DELIVERY_BACKOFF	10
#define DELIVERY_ERROR_MAX	(CURL_ERROR_SIZE + 128)

#define DELIVERY_CLAIM_SQL \
	"SELECT d_id, d_attempt, d_integration, d_url, d_sealed, d_event, " \
	"d_payload FROM authd_delivery_claim($1, $2)"
#define DELIVERY_RESULT_SQL \
	"SELECT authd_delivery_result($1, $2, $3, $4, $5, $6, $7)"
#define DELIVERY_ENQUEUE_SQL \
	"SELECT authd_enqueue_event($1, $2, $3::jsonb)"

/* The event types an integration may subscribe to. */
static const char *const delivery_events[] = {
	"login.failed",
	"login.succeeded",
	"password.changed",
	"session.revoked",
	"user.created",
	"user.deleted",
	"user.updated",
};

struct delivery {
	int64_t			 dv_id;
	int64_t			 dv_integration;
	char			 dv_idstr[INT64_STR];
	char			 dv_attempt[INT64_STR];
	char			*dv_url;
	char			*dv_payload;
	char			 dv_event[40];
	char			 dv_ts[INT64_STR];
	CURL			*dv_easy;
	struct curl_slist	*dv_headers;
	char			 dv_error[CURL_ERROR_SIZE];
	int			 dv_refused;	/* address not allowed */
};

/* A socket libcurl wants watched. */
struct delivery_sock {
	struct event	*ds_ev;
};

struct delivery_urlq {
	delivery_url_cb	 du_cb;
	void		*du_arg;
};

static struct event_base	*delivery_base;
static struct evdns_base	*delivery_dns;
static CURLM			*delivery_multi;
static struct event		*delivery_curl_timer;
static struct event		*delivery_poll_ev;
static struct event		*delivery_kick_ev;
static int			 delivery_inflight;
static int			 delivery_polling;

static void	 delivery_finish(struct delivery *, long, const char *);

int
delivery_event_known(const char *type)
{
	size_t	 i;

	if (type == NULL)
		return (0);
	for (i = 0; i < sizeof(delivery_events) / sizeof(delivery_events[0]);
	    i++)
		if (strcmp(type, delivery_events[i]) == 0)
			return (1);
	return (0);
}

static int
delivery_conf(int v, int def)
{
	return (v > 0 ? v : def);
}

/* --- addresses ------------------------------------------------------------ */

static int
delivery_v4_refused(const uint8_t *a)
{
	if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224)
		return (1);		/* this, private, loopback, mcast */
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return (1);		/* shared address space */
	if (a[0] == 169 && a[1] == 254)
		return (1);		/* link-local, cloud metadata */
	if (a[0] == 172 && (a[1] & 0xf0) == 16)
		return (1);
	if (a[0] == 192 && a[1] == 168)
		return (1);
	if (a[0] == 192 && a[1] == 0 && a[2] == 0)
		return (1);		/* IETF protocol assignments */
	if (a[0] == 198 && (a[1] & 0xfe) == 18)
		return (1);		/* benchmarking */
	return (0);
}

static int
delivery_v6_refused(const uint8_t *a)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	static const uint8_t	 zero[15];

	if (memcmp(a, zero, sizeof(zero)) == 0)
		return (1);		/* :: and ::1 */
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return (delivery_v4_refused(a + 12));
	if ((a[0] & 0xfe) == 0xfc)
		return (1);		/* unique local */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return (1);		/* link-local */
	if (a[0] == 0xff)
		return (1);		/* multicast */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)
		return (1);		/* NAT64, may reach private IPv4 */
	return (0);
}

/* Whether authd may not connect to this address. */
static int
delivery_addr_refused(const struct sockaddr *sa)
{
	if (worker_conf.c_callback_private)
		return (0);
	switch (sa->sa_family) {
	case AF_INET:
		return (delivery_v4_refused((const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr));
	case AF_INET6:
		return (delivery_v6_refused(((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr.s6_addr));
	default:
		return (1);
	}
}

/* --- checking a URL ------------------------------------------------------- */

static void
delivery_url_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct delivery_urlq	 du = *(struct delivery_urlq *)arg;
	struct evutil_addrinfo	*ai;
	enum delivery_url	 r = DELIVERY_URL_OK;

	free(arg);
	if (result != 0 || res == NULL)
		r = DELIVERY_URL_UNRESOLVED;
	for (ai = res; r == DELIVERY_URL_OK && ai != NULL; ai = ai->ai_next)
		if (delivery_addr_refused(ai->ai_addr))
			r = DELIVERY_URL_PRIVATE;
	if (res != NULL)
		evutil_freeaddrinfo(res);
	du.du_cb(r, du.du_arg);
}

/* The scheme and host of a URL; -1 unless it is http or https. */
static int
delivery_url_host(const char *url, char *host, size_t len)
{
	CURLU	*u;
	char	*scheme = NULL, *h = NULL;
	size_t	 hl;
	int	 rv = -1;

	if ((u = curl_url()) == NULL)
		return (-1);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		goto done;
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		goto done;
	hl = strlen(h);
	/* An IPv6 literal comes in brackets. */
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		memmove(h, h + 1, hl - 1);
	}
	if (h[0] != '\0' && strlcpy(host, h, len) < len)
		rv = 0;
done:
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return (rv);
}

/*
 * Checks a callback URL: its scheme, and every address its host resolves
 * to.  Returns -1 when the check cannot run (cb is not called);
 * otherwise cb runs exactly once, maybe before the return.
 */
int
delivery_url_check(const char *url, delivery_url_cb cb, void *arg)
{
	struct delivery_urlq	*du;
	struct evutil_addrinfo	 hints;
	char			 host[256];

	if (delivery_url_host(url, host, sizeof(host)) == -1) {
		cb(DELIVERY_URL_SCHEME, arg);
		return (0);
	}
	if (delivery_dns == NULL || (du = malloc(sizeof(*du))) == NULL)
		return (-1);
	du->du_cb = cb;
	du->du_arg = arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* NULL: answered already, or failed and answered. */
	(void)evdns_getaddrinfo(delivery_dns, host, NULL, &hints,
	    delivery_url_resolved, du);
	return (0);
}

/* --- libcurl on the event loop ----------------------------------------- */

static void
delivery_multi_done(void)
{
	struct delivery	*dv;
	CURLMsg		*m;
	CURL		*e;
	char		*priv;
	CURLcode	 rc;
	long		 code = 0;
	int		 left;
	char		 err[DELIVERY_ERROR_MAX];

	while ((m = curl_multi_info_read(delivery_multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		rc = m->data.result;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		dv = (struct delivery *)(void *)priv;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(delivery_multi, e);
		if (rc == CURLE_OK && code >= 200 && code < 300)
			delivery_finish(dv, code, NULL);
		else {
			if (dv->dv_refused)
				strlcpy(err, "Callback address refused",
				    sizeof(err));
			else if (rc == CURLE_OK)
				snprintf(err, sizeof(err), "HTTP %ld", code);
			else
				snprintf(err, sizeof(err), "%s%s%s",
				    curl_easy_strerror(rc),
				    dv->dv_error[0] != '\0' ? ": " : "",
				    dv->dv_error);
			delivery_finish(dv, code, err);
		}
	}
}

static void
delivery_sock_event(int fd, short kind, void *arg)
{
	int	 action = 0, running;

	(void)arg;
	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(delivery_multi, fd, action, &running);
	delivery_multi_done();
}

static void
delivery_curl_timeout(int fd, short kind, void *arg)
{
	int	 running;

	(void)fd;
	(void)kind;
	(void)arg;
	curl_multi_socket_action(delivery_multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	delivery_multi_done();
}

static int
delivery_sock_cb(CURL *e, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct delivery_sock	*ds = socketp;
	short			 kind;

	(void)e;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ds != NULL) {
			event_free(ds->ds_ev);
			free(ds);
		}
		curl_multi_assign(delivery_multi, s, NULL);
		return (0);
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ds == NULL) {
		if ((ds = calloc(1, sizeof(*ds))) == NULL)
			return (-1);
		curl_multi_assign(delivery_multi, s, ds);
	} else
		event_free(ds->ds_ev);
	if ((ds->ds_ev = event_new(delivery_base, s, kind,
	    delivery_sock_event, NULL)) == NULL ||
	    event_add(ds->ds_ev, NULL) == -1)
		fatalx("%s: event", __func__);
	return (0);
}

static int
delivery_timer_cb(CURLM *m, long ms, void *userp)
{
	struct timeval	 tv;

	(void)m;
	(void)userp;
	if (ms < 0) {
		evtimer_del(delivery_curl_timer);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(delivery_curl_timer, &tv);
	return (0);
}

/* Every connection of a delivery goes through here (see the top). */
static curl_socket_t
delivery_opensocket(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct delivery	*dv = clientp;

	if (purpose != CURLSOCKTYPE_IPCXN || delivery_addr_refused(&a->addr)) {
		dv->dv_refused = 1;
		return (CURL_SOCKET_BAD);
	}
	return (socket(a->family, a->socktype, a->protocol));
}

static size_t
delivery_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return (size * n);
}

/* --- one delivery --------------------------------------------------------- */

static void
delivery_free(struct delivery *dv)
{
	if (dv->dv_easy != NULL)
		curl_easy_cleanup(dv->dv_easy);
	curl_slist_free_all(dv->dv_headers);
	free(dv->dv_url);
	free(dv->dv_payload);
	free(dv);
}

static void
delivery_recorded(PGresult *res, void *arg)
{
	(void)arg;
	if (!db_ok(res))
		log_warnx("delivery: cannot record an attempt: %s",
		    res != NULL ? PQresultErrorMessage(res) : "outage");
}

/*
 * Records the attempt and frees the delivery.  When even that fails, the
 * lease runs out and the delivery is tried again: at least once.
 */
static void
delivery_finish(struct delivery *dv, long code, const char *error)
{
	const char	*params[7];
	char		 scode[INT64_STR], smax[INT64_STR], sbase[INT64_STR];

	snprintf(scode, sizeof(scode), "%ld", code);
	snprintf(smax, sizeof(smax), "%d",
	    delivery_conf(worker_conf.c_callback_attempts, DELIVERY_ATTEMPTS));
	snprintf(sbase, sizeof(sbase), "%d",
	    delivery_conf(worker_conf.c_callback_backoff, DELIVERY_BACKOFF));
	params[0] = dv->dv_idstr;
	params[1] = dv->dv_attempt;
	params[2] = code > 0 ? scode : NULL;
	params[3] = error;
	params[4] = error == NULL ? "true" : "false";
	params[5] = smax;
	params[6] = sbase;
	log_info("delivery %s of event %s, attempt %s: %s", dv->dv_idstr,
	    dv->dv_event, dv->dv_attempt, error != NULL ? error :
	    "delivered");
	if (db_query(DELIVERY_RESULT_SQL, 7, params, delivery_recorded,
	    NULL) == -1)
		log_warnx("delivery %s: database down, attempt not recorded",
		    dv->dv_idstr);
	delivery_free(dv);
	delivery_inflight--;
}

static int
delivery_header(struct delivery *dv, const char *name, const char *value)
{
	char			 buf[256];
	struct curl_slist	*l;

	snprintf(buf, sizeof(buf), "%s: %s", name, value);
	if ((l = curl_slist_append(dv->dv_headers, buf)) == NULL)
		return (-1);
	dv->dv_headers = l;
	return (0);
}

static void
delivery_signed(const uint8_t *mac, void *arg)
{
	struct delivery	*dv = arg;
	CURL		*e;
	char		 sig[8 + crypto_auth_hmacsha256_BYTES * 2];
	long		 timeout;

	if (mac == NULL) {
		delivery_finish(dv, 0, "Signing failed");
		return;
	}
	memcpy(sig, "sha256=", 7);
	sodium_bin2hex(sig + 7, sizeof(sig) - 7, mac,
	    crypto_auth_hmacsha256_BYTES);
	timeout = delivery_conf(worker_conf.c_callback_timeout,
	    DELIVERY_TIMEOUT) * 1000L;
	if (delivery_header(dv, "Content-Type", "application/json") == -1 ||
	    delivery_header(dv, "X-Event-Id", dv->dv_event) == -1 ||
	    delivery_header(dv, "X-Timestamp", dv->dv_ts) == -1 ||
	    delivery_header(dv, "X-Signature", sig) == -1 ||
	    delivery_header(dv, "Expect", "") == -1 ||
	    (e = curl_easy_init()) == NULL) {
		delivery_finish(dv, 0, "Out of memory");
		return;
	}
	dv->dv_easy = e;
	curl_easy_setopt(e, CURLOPT_URL, dv->dv_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	/* The environment's proxy would bypass the address check. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, dv->dv_headers);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, dv->dv_payload);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
	    (long)strlen(dv->dv_payload));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "authd/" AUTHD_VERSION);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, delivery_opensocket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, dv);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, delivery_discard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, dv->dv_error);
	curl_easy_setopt(e, CURLOPT_PRIVATE, dv);
	if (curl_multi_add_handle(delivery_multi, e) != CURLM_OK)
		delivery_finish(dv, 0, "Cannot start the request");
}

/* One claimed row: have it signed, then send it. */
static void
delivery_start(PGresult *res, int row)
{
	struct delivery	*dv;
	const char	*errstr;
	int		 r;

	if ((dv = calloc(1, sizeof(*dv))) == NULL)
		return;
	delivery_inflight++;
	dv->dv_id = strtonum(PQgetvalue(res, row, 0), 1, INT64_MAX, &errstr);
	if (errstr == NULL)
		dv->dv_integration = strtonum(PQgetvalue(res, row, 2), 1,
		    INT64_MAX, &errstr);
	strlcpy(dv->dv_idstr, PQgetvalue(res, row, 0), sizeof(dv->dv_idstr));
	strlcpy(dv->dv_attempt, PQgetvalue(res, row, 1),
	    sizeof(dv->dv_attempt));
	strlcpy(dv->dv_event, PQgetvalue(res, row, 5), sizeof(dv->dv_event));
	snprintf(dv->dv_ts, sizeof(dv->dv_ts), "%lld",
	    (long long)time(NULL));
	if (errstr != NULL ||
	    (dv->dv_url = strdup(PQgetvalue(res, row, 3))) == NULL ||
	    (dv->dv_payload = strdup(PQgetvalue(res, row, 6))) == NULL) {
		delivery_finish(dv, 0, "Out of memory");
		return;
	}
	r = integration_hmac(dv->dv_integration, PQgetvalue(res, row, 4),
	    dv->dv_ts, dv->dv_payload, strlen(dv->dv_payload),
	    delivery_signed, dv);
	if (r == -2)
		delivery_finish(dv, 0, "Event too large to sign");
	else if (r == -1)
		delivery_finish(dv, 0, "No keyholder available");
}

static void
delivery_claimed(PGresult *res, void *arg)
{
	int	 i, n;

	(void)arg;
	delivery_polling = 0;
	if (!db_ok(res)) {
		if (res != NULL)
			log_warnx("delivery: claim failed: %s",
			    PQresultErrorMessage(res));
		return;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		delivery_start(res, i);
	/* A full batch: there may be more waiting. */
	if (n > 0 && delivery_inflight < DELIVERY_MAX_INFLIGHT)
		delivery_kick();
}

static void
delivery_poll(int fd, short kind, void *arg)
{
	const char	*params[2];
	char		 limit[INT64_STR], lease[INT64_STR];

	(void)fd;
	(void)kind;
	(void)arg;
	if (delivery_polling || delivery_inflight >= DELIVERY_MAX_INFLIGHT ||
	    !db_up())
		return;
	snprintf(limit, sizeof(limit), "%d",
	    DELIVERY_MAX_INFLIGHT - delivery_inflight);
	snprintf(lease, sizeof(lease), "%d", delivery_conf(
	    worker_conf.c_callback_timeout, DELIVERY_TIMEOUT) +
	    DELIVERY_LEASE_EXTRA);
	params[0] = limit;
	params[1] = lease;
	if (db_query(DELIVERY_CLAIM_SQL, 2, params, delivery_claimed,
	    NULL) == 0)
		delivery_polling = 1;
}

/* Polls now rather than at the next tick. */
void
delivery_kick(void)
{
	struct timeval	 now = { 0, 0 };

	if (delivery_kick_ev != NULL)
		evtimer_add(delivery_kick_ev, &now);
}

static void
delivery_enqueued(PGresult *res, void *arg)
{
	(void)arg;
	if (!db_ok(res)) {
		log_warnx("delivery: cannot queue an event: %s",
		    res != NULL ? PQresultErrorMessage(res) : "outage");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		delivery_kick();
}

/*
 * Queues an event for the company's subscribed integrations.  Fire and
 * forget: a statement that must emit its event atomically with its
 * change calls authd_enqueue_event() itself (see sql/006).
 */
void
delivery_enqueue(int64_t company, const char *event_type, json_t *data)
{
	const char	*params[3];
	char		 cid[INT64_STR], *text;

	if ((text = data != NULL ? json_dumps(data, JSON_COMPACT) :
	    strdup("{}")) == NULL) {
		log_warnx("delivery: cannot encode a %s event", event_type);
		return;
	}
	snprintf(cid, sizeof(cid), "%" PRId64, company);
	params[0] = cid;
	params[1] = event_type;
	params[2] = text;
	if (db_query(DELIVERY_ENQUEUE_SQL, 3, params, delivery_enqueued,
	    NULL) == -1)
		log_warnx("delivery: database down, %s event of company %s "
		    "lost", event_type, cid);
	free(text);
}

/*
 * Called once by the worker after db_open(): libcurl, the resolver for
 * URL checks (made before a chroot would hide resolv.conf), the poller.
 */
int
delivery_init(struct event_base *base)
{
	struct timeval	 tv = { DELIVERY_POLL_SEC, 0 };

	delivery_base = base;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (delivery_multi = curl_multi_init()) == NULL)
		return (-1);
	curl_multi_setopt(delivery_multi, CURLMOPT_SOCKETFUNCTION,
	    delivery_sock_cb);
	curl_multi_setopt(delivery_multi, CURLMOPT_TIMERFUNCTION,
	    delivery_timer_cb);
	if ((delivery_curl_timer = evtimer_new(base, delivery_curl_timeout,
	    NULL)) == NULL ||
	    (delivery_kick_ev = evtimer_new(base, delivery_poll, NULL)) ==
	    NULL ||
	    (delivery_poll_ev = event_new(base, -1, EV_PERSIST, delivery_poll,
	    NULL)) == NULL || event_add(delivery_poll_ev, &tv) == -1)
		return (-1);
	if ((delivery_dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		log_warnx("delivery: no resolver; callback URLs refused");
	return (0);
}
