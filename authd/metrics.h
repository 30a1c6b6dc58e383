/*
 * Counters for GET /metrics.  Each worker keeps its own and sends them
 * to the parent every second; the worker that serves /metrics asks the
 * parent for the sum over every process.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#define METRICS_MAX_ROUTES	128
#define METRICS_BUCKETS		12
#define METRICS_CLASSES		5	/* 1xx .. 5xx */

enum metrics_counter {
	MC_DB_ERRORS,
	MC_DB_RECONNECTS,
	MC_REDIS_ERRORS,
	MC_REDIS_RECONNECTS,
	MC_SESSIONS_CREATED,
	MC_SESSIONS_REVOKED,
	MC_KH_REJECTED,		/* keyholder queues full */
	MC_AUTHCACHE_HITS,	/* callers found in Redis */
	MC_AUTHCACHE_MISSES,	/* looked up there, read from PostgreSQL */
	MC_MAX
};

struct metrics_route {
	uint64_t	 mr_status[METRICS_CLASSES];
	uint64_t	 mr_bucket[METRICS_BUCKETS];	/* cumulative */
	uint64_t	 mr_usec;			/* sum of durations */
};

struct metrics {
	struct metrics_route m_routes[METRICS_MAX_ROUTES];
	struct metrics_route m_unrouted;
	uint64_t	 m_counter[MC_MAX];
	uint64_t	 m_kh_pending;		/* gauge, summed */
	uint64_t	 m_kh_jobs;		/* keyholder jobs done */
	uint64_t	 m_kh_usec;		/* time spent on them */
	uint32_t	 m_worker_restarts;
	uint32_t	 m_workers;
	uint32_t	 m_keyholders;
	uint32_t	 m_pad;
};

extern struct metrics	 metrics_local;

void	 metrics_count(enum metrics_counter);
void	 metrics_add(struct metrics *, const struct metrics *);

#endif /* METRICS_H */
