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
 *
 * Only access tokens are kept: a refresh token is spent on its first
 * use, and a thousand refreshes used to push out the access tokens that
 * are sent again and again.
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
	uint64_t		 ts_used;	/* tokcache_clock at last use */
	struct tokcache_slot	*ts_other;	/* the token's other slot */
};

static struct tokcache_slot	 tokcache[TOKCACHE_SLOTS];
static unsigned char		 tokcache_key[crypto_shorthash_KEYBYTES];
static int			 tokcache_keyed;
static uint64_t			 tokcache_clock;

/*
 * The two slots a token may live in, from two halves of its keyed hash:
 * a token whose first slot is taken by another still finds a place, so
 * that a few busy tokens do not evict each other on every request.
 */
static void
tokcache_slots(const char *token, size_t len, struct tokcache_slot **ts)
{
	uint64_t	 h;

	if (!tokcache_keyed) {
		crypto_shorthash_keygen(tokcache_key);
		tokcache_keyed = 1;
	}
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)token,
	    len, tokcache_key);
	ts[0] = &tokcache[(h & 0xffffffff) % TOKCACHE_SLOTS];
	ts[1] = &tokcache[(h >> 32) % TOKCACHE_SLOTS];
}

static void
tokcache_clear(struct tokcache_slot *ts)
{
	free(ts->ts_token);
	ts->ts_token = NULL;
	ts->ts_len = 0;
}

static int
tokcache_holds(const struct tokcache_slot *ts, const char *token,
    size_t len)
{
	return (ts->ts_token != NULL && ts->ts_len == len &&
	    sodium_memcmp(ts->ts_token, token, len) == 0);
}

/*
 * The claims of a token verified before, still within its lifetime
 * (exp plus the leeway).  Returns 0 and fills tc, or -1.
 */
int
tokcache_get(const char *token, time_t now, int leeway,
    struct token_claims *tc)
{
	struct tokcache_slot	*slots[2], *ts;
	size_t			 len = strlen(token);

	tokcache_slots(token, len, slots);
	if (tokcache_holds(slots[0], token, len))
		ts = slots[0];
	else if (tokcache_holds(slots[1], token, len))
		ts = slots[1];
	else
		return (-1);
	if ((int64_t)now > ts->ts_claims.tc_exp + leeway) {
		tokcache_clear(ts);
		return (-1);
	}
	ts->ts_used = ++tokcache_clock;
	*tc = ts->ts_claims;
	return (0);
}

/*
 * The slot for a token whose two slots hold others: the one whose
 * occupant was used longer ago, or one whose occupant moves to its own
 * other slot, when what that slot holds was used longer ago still (or
 * it is free).  Without the move, two busy tokens that share a slot,
 * each with its other slot held by a third busy one, evicted each other
 * on every round (one run in eight of t_tokcache:busy_stay).
 */
static struct tokcache_slot *
tokcache_victim(struct tokcache_slot **slots)
{
	struct tokcache_slot	*ts, *to, *best = NULL, *move = NULL;
	uint64_t		 age, best_age = UINT64_MAX;
	int			 k;

	for (k = 0; k < 2; k++) {
		ts = slots[k];
		if (ts->ts_used < best_age) {
			best = ts;
			move = NULL;
			best_age = ts->ts_used;
		}
		to = ts->ts_other;
		if (to == NULL || to == ts)
			continue;
		age = to->ts_token == NULL ? 0 : to->ts_used;
		if (age < best_age) {
			best = ts;
			move = to;
			best_age = age;
		}
	}
	if (move != NULL) {
		tokcache_clear(move);
		*move = *best;
		move->ts_other = best;
		memset(best, 0, sizeof(*best));
	}
	return (best);
}

/*
 * Remembers an access token that has just been verified, in a free one
 * of its two slots, else where tokcache_victim() makes room.
 */
void
tokcache_put(const char *token, const struct token_claims *tc)
{
	struct tokcache_slot	*slots[2], *ts;
	size_t			 len = strlen(token);
	char			*copy;

	if (strcmp(tc->tc_type, "access") != 0 || len > TOKEN_MAX_LEN ||
	    (copy = malloc(len + 1)) == NULL)
		return;
	memcpy(copy, token, len + 1);
	tokcache_slots(token, len, slots);
	if (tokcache_holds(slots[0], token, len))
		ts = slots[0];
	else if (tokcache_holds(slots[1], token, len))
		ts = slots[1];
	else if (slots[0]->ts_token == NULL)
		ts = slots[0];
	else if (slots[1]->ts_token == NULL)
		ts = slots[1];
	else
		ts = tokcache_victim(slots);
	tokcache_clear(ts);
	ts->ts_token = copy;
	ts->ts_len = len;
	ts->ts_claims = *tc;
	ts->ts_used = ++tokcache_clock;
	ts->ts_other = ts == slots[0] ? slots[1] : slots[0];
}

/*
 * Forgets every token: the keys or the issuer changed.  Only slots that
 * hold one are written: the table is 430 KiB, and pages never written
 * stay out of the worker's memory (a worker gets its keys at start).
 */
void
tokcache_flush(void)
{
	size_t	 i;

	for (i = 0; i < TOKCACHE_SLOTS; i++)
		if (tokcache[i].ts_token != NULL)
			tokcache_clear(&tokcache[i]);
}
