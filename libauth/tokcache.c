/*
 * A worker's memory of the tokens whose signature and claims it has
 * verified.  Checking an ES256 signature costs more than the rest of an
 * authenticated request, and a client sends the same access token many
 * times over its life; an HS256 check is a round trip to a keyholder.
 *
 * Only the verification is remembered, never a decision about the
 * session: the session behind a token is looked up on every request,
 * so a revocation counts from the next request on.  An entry lives no
 * longer than its token, and the whole cache is emptied when the keys
 * change.  Slots are chosen by a keyed hash, so a client cannot aim its
 * tokens at the slot of another's.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "token.h"
#include "tokcache.h"

#define TOKCACHE_SLOTS	1024

struct tokcache_slot {
	char			*ts_token;
	size_t			 ts_len;
	struct token_claims	 ts_claims;
};

static struct tokcache_slot	 tokcache[TOKCACHE_SLOTS];
static unsigned char		 tokcache_key[crypto_shorthash_KEYBYTES];
static int			 tokcache_keyed;

static struct tokcache_slot *
tokcache_slot(const char *token, size_t len)
{
	uint64_t	 h;

	if (!tokcache_keyed) {
		crypto_shorthash_keygen(tokcache_key);
		tokcache_keyed = 1;
	}
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)token,
	    len, tokcache_key);
	return (&tokcache[h % TOKCACHE_SLOTS]);
}

static void
tokcache_clear(struct tokcache_slot *ts)
{
	free(ts->ts_token);
	ts->ts_token = NULL;
	ts->ts_len = 0;
}

/*
 * The claims of a token verified before, still within its lifetime
 * (exp plus the leeway).  Returns 0 and fills tc, or -1.
 */
int
tokcache_get(const char *token, time_t now, int leeway,
    struct token_claims *tc)
{
	struct tokcache_slot	*ts;
	size_t			 len = strlen(token);

	ts = tokcache_slot(token, len);
	if (ts->ts_token == NULL || ts->ts_len != len ||
	    sodium_memcmp(ts->ts_token, token, len) != 0)
		return (-1);
	if ((int64_t)now > ts->ts_claims.tc_exp + leeway) {
		tokcache_clear(ts);
		return (-1);
	}
	*tc = ts->ts_claims;
	return (0);
}

/* Remembers a token that has just been verified; it evicts its slot. */
void
tokcache_put(const char *token, const struct token_claims *tc)
{
	struct tokcache_slot	*ts;
	size_t			 len = strlen(token);
	char			*copy;

	if (len > TOKEN_MAX_LEN || (copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, token, len + 1);
	ts = tokcache_slot(token, len);
	tokcache_clear(ts);
	ts->ts_token = copy;
	ts->ts_len = len;
	ts->ts_claims = *tc;
}

/* Forgets every token: the keys or the issuer changed. */
void
tokcache_flush(void)
{
	size_t	 i;

	for (i = 0; i < TOKCACHE_SLOTS; i++)
		tokcache_clear(&tokcache[i]);
}
