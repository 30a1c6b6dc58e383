/*
 * The sum of two sets of counters (metrics.h): the parent adds up the
 * reports of its workers.  Apart from metrics.c, which serves them over
 * HTTP, so that the parent's program links no HTTP code.
 */
#include <stdint.h>

#include "metrics.h"

static void
metrics_add_route(struct metrics_route *to, const struct metrics_route *from)
{
	int	 i;

	for (i = 0; i < METRICS_CLASSES; i++)
		to->mr_status[i] += from->mr_status[i];
	for (i = 0; i < METRICS_BUCKETS; i++)
		to->mr_bucket[i] += from->mr_bucket[i];
	to->mr_usec += from->mr_usec;
}

void
metrics_add(struct metrics *to, const struct metrics *from)
{
	int	 i;

	for (i = 0; i < METRICS_MAX_ROUTES; i++)
		metrics_add_route(&to->m_routes[i], &from->m_routes[i]);
	metrics_add_route(&to->m_unrouted, &from->m_unrouted);
	for (i = 0; i < MC_MAX; i++)
		to->m_counter[i] += from->m_counter[i];
	to->m_kh_pending += from->m_kh_pending;
	to->m_kh_jobs += from->m_kh_jobs;
	to->m_kh_usec += from->m_kh_usec;
}
