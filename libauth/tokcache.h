/*
 * A process's memory of verified tokens: see tokcache.c.  Not thread
 * safe; one per process.
 */
#ifndef TOKCACHE_H
#define TOKCACHE_H

#include <time.h>

struct token_claims;

int	 tokcache_get(const char *token, time_t now, int leeway,
	    struct token_claims *);
void	 tokcache_put(const char *token, const struct token_claims *);
void	 tokcache_flush(void);

#endif /* TOKCACHE_H */
