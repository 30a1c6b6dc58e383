/*
 * GET /metrics in the Prometheus text format (version 0.0.4), for the
 * configured addresses only.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"

/* Upper bounds of the latency buckets, in microseconds. */
static const long metrics_bounds[METRICS_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000
};
static const char *metrics_le[METRICS_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "+Inf"
};

struct metrics	 metrics_local;

void
metrics_count(enum metrics_counter c)
{
	metrics_local.m_counter[c]++;
}

void
metrics_request(int route, int status, long usec)
{
	struct metrics_route	*mr;
	int			 i, class = status / 100 - 1;

	mr = route >= 0 && route < METRICS_MAX_ROUTES ?
	    &metrics_local.m_routes[route] : &metrics_local.m_unrouted;
	if (class >= 0 && class < METRICS_CLASSES)
		mr->mr_status[class]++;
	for (i = 0; i < METRICS_BUCKETS - 1; i++)
		if (usec <= metrics_bounds[i])
			mr->mr_bucket[i]++;
	mr->mr_bucket[METRICS_BUCKETS - 1]++;
	mr->mr_usec += usec;
}

/* A family's lines form one group: counts first, then histograms. */
static void
metrics_route_text(struct evbuffer *b, const char *method, const char *path,
    const struct metrics_route *mr, int histogram)
{
	int	 i;

	if (!histogram) {
		for (i = 0; i < METRICS_CLASSES; i++)
		if (mr->mr_status[i] > 0)
			evbuffer_add_printf(b, "authd_http_requests_total{"
			    "method=\"%s\",route=\"%s\",code=\"%dxx\"} %" PRIu64
			    "\n", method, path, i + 1, mr->mr_status[i]);
		return;
	}
	if (mr->mr_bucket[METRICS_BUCKETS - 1] == 0)
		return;
	for (i = 0; i < METRICS_BUCKETS; i++)
		evbuffer_add_printf(b, "authd_http_request_duration_seconds_"
		    "bucket{method=\"%s\",route=\"%s\",le=\"%s\"} %"
		    PRIu64 "\n", method, path, metrics_le[i],
		    mr->mr_bucket[i]);
	evbuffer_add_printf(b, "authd_http_request_duration_seconds_sum{"
	    "method=\"%s\",route=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", method,
	    path, mr->mr_usec / 1000000, mr->mr_usec % 1000000);
	evbuffer_add_printf(b, "authd_http_request_duration_seconds_count{"
	    "method=\"%s\",route=\"%s\"} %" PRIu64 "\n", method, path,
	    mr->mr_bucket[METRICS_BUCKETS - 1]);
}

static const char *
metrics_method(int m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return ("GET");
	case EVHTTP_REQ_POST: return ("POST");
	case EVHTTP_REQ_PUT: return ("PUT");
	case EVHTTP_REQ_DELETE: return ("DELETE");
	default: return ("OTHER");
	}
}

static void
metrics_counter_text(struct evbuffer *b, const char *name, const char *help,
    const char *type, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
	    name, help, name, type, name, v);
}

/* The text of the summed metrics; returns a malloc'd NUL-terminated. */
char *
metrics_text(const struct metrics *m, size_t *len)
{
	struct evbuffer		*b;
	const struct route	*rt;
	size_t			 i;
	char			*text;
	int			 h;

	if ((b = evbuffer_new()) == NULL)
		return (NULL);
	for (h = 0; h < 2; h++) {
		if (h == 0)
			evbuffer_add_printf(b, "# HELP "
			    "authd_http_requests_total HTTP requests by "
			    "route and status class.\n# TYPE "
			    "authd_http_requests_total counter\n");
		else
			evbuffer_add_printf(b, "# HELP "
			    "authd_http_request_duration_seconds Time from "
			    "request to answer.\n# TYPE "
			    "authd_http_request_duration_seconds histogram\n");
		for (i = 0; i < METRICS_MAX_ROUTES &&
		    (rt = http_route_at(i)) != NULL; i++)
			metrics_route_text(b, metrics_method(rt->rt_method),
			    rt->rt_path, &m->m_routes[i], h);
		metrics_route_text(b, "OTHER", "unrouted", &m->m_unrouted, h);
	}
	metrics_counter_text(b, "authd_db_errors_total", "Failed database "
	    "connections and queries.", "counter", m->m_counter[MC_DB_ERRORS]);
	metrics_counter_text(b, "authd_db_reconnects_total", "Database "
	    "connections made again.", "counter",
	    m->m_counter[MC_DB_RECONNECTS]);
	metrics_counter_text(b, "authd_redis_errors_total", "Failed or late "
	    "Redis commands and connections.", "counter",
	    m->m_counter[MC_REDIS_ERRORS]);
	metrics_counter_text(b, "authd_redis_reconnects_total", "Redis "
	    "connections made again.", "counter",
	    m->m_counter[MC_REDIS_RECONNECTS]);
	metrics_counter_text(b, "authd_sessions_created_total", "Sessions "
	    "created by logins.", "counter",
	    m->m_counter[MC_SESSIONS_CREATED]);
	metrics_counter_text(b, "authd_sessions_revoked_total", "Sessions "
	    "revoked through the API.", "counter",
	    m->m_counter[MC_SESSIONS_REVOKED]);
	metrics_counter_text(b, "authd_keyholder_rejected_total", "Requests "
	    "refused because every keyholder queue was full.", "counter",
	    m->m_counter[MC_KH_REJECTED]);
	metrics_counter_text(b, "authd_authcache_hits_total", "Callers "
	    "found in the authentication cache.", "counter",
	    m->m_counter[MC_AUTHCACHE_HITS]);
	metrics_counter_text(b, "authd_authcache_misses_total", "Callers "
	    "looked up in the authentication cache and read from the "
	    "database.", "counter", m->m_counter[MC_AUTHCACHE_MISSES]);
	metrics_counter_text(b, "authd_keyholder_queue_depth", "Keyholder "
	    "requests waiting or running.", "gauge", m->m_kh_pending);
	metrics_counter_text(b, "authd_keyholder_jobs_total", "Requests a "
	    "keyholder has answered.", "counter", m->m_kh_jobs);
	evbuffer_add_printf(b, "# HELP authd_keyholder_job_seconds_total "
	    "Time keyholders spent on requests (hashing, signing).\n# TYPE "
	    "authd_keyholder_job_seconds_total counter\n"
	    "authd_keyholder_job_seconds_total %" PRIu64 ".%06" PRIu64 "\n",
	    m->m_kh_usec / 1000000, m->m_kh_usec % 1000000);
	metrics_counter_text(b, "authd_worker_restarts_total", "Workers "
	    "started again after they died.", "counter",
	    m->m_worker_restarts);
	metrics_counter_text(b, "authd_workers", "Configured workers.",
	    "gauge", m->m_workers);
	metrics_counter_text(b, "authd_keyholders", "Configured keyholders.",
	    "gauge", m->m_keyholders);
	*len = evbuffer_get_length(b);
	if ((text = malloc(*len + 1)) != NULL) {
		evbuffer_remove(b, text, *len);
		text[*len] = '\0';
	}
	evbuffer_free(b);
	return (text);
}

/* Only the configured networks, by the connection's own address. */
int
metrics_allowed(const char *peer)
{
	unsigned char	 buf[sizeof(struct in6_addr)];
	int		 i, af;

	if (inet_pton(AF_INET, peer, buf) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, peer, buf) == 1)
		af = AF_INET6;
	else
		return (0);
	for (i = 0; i < worker_conf.c_nmetrics; i++)
		if (config_net_match(&worker_conf.c_metrics[i], af, buf))
			return (1);
	return (0);
}

#define METRICS_PENDING	16

/* /metrics requests waiting for the parent's sum. */
static struct {
	uint32_t	 mp_id;
	struct http_req	*mp_hr;
} metrics_pending[METRICS_PENDING];
static uint32_t	 metrics_nextid;

void
api_metrics(struct http_req *hr)
{
	int	 i;

	/*
	 * Other addresses learn nothing, not even that it exists.  Through
	 * a trusted proxy both the proxy and its client must be allowed:
	 * the proxy's own address says nothing of who is behind it.
	 */
	if (!metrics_allowed(hr->hr_peer) || !metrics_allowed(hr->hr_addr)) {
		http_error(hr, 404, "Not Found");
		return;
	}
	for (i = 0; i < METRICS_PENDING; i++)
		if (metrics_pending[i].mp_hr == NULL)
			break;
	if (i == METRICS_PENDING) {
		http_unavailable(hr);
		return;
	}
	metrics_pending[i].mp_id = ++metrics_nextid;
	metrics_pending[i].mp_hr = hr;
	if (worker_parent_send(IMSG_METRICS_REQ, metrics_nextid, NULL,
	    0) == -1) {
		metrics_pending[i].mp_hr = NULL;
		http_unavailable(hr);
	}
}

void
worker_metrics_sum(struct ipc_msg *msg)
{
	struct metrics	*m;
	struct http_req	*hr = NULL;
	char		*text;
	size_t		 len;
	int		 i;

	for (i = 0; i < METRICS_PENDING; i++)
		if (metrics_pending[i].mp_hr != NULL &&
		    metrics_pending[i].mp_id == msg->im_hdr.ih_peerid) {
			hr = metrics_pending[i].mp_hr;
			metrics_pending[i].mp_hr = NULL;
			break;
		}
	if (hr == NULL)
		return;
	if ((m = malloc(sizeof(*m))) == NULL ||
	    ipc_check_len(msg, sizeof(*m)) == -1 ||
	    ipc_get_data(msg, m, sizeof(*m)) == -1 ||
	    (text = metrics_text(m, &len)) == NULL) {
		free(m);
		http_unavailable(hr);
		return;
	}
	free(m);
	http_reply_raw(hr, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
	free(text);
}
