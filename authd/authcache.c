/*
 * The authentication cache in Redis.  Checking a session in PostgreSQL
 * and computing the caller's permissions costs more than everything else
 * a request does, so its answer is kept in Redis, shared by every worker:
 *
 *	authd:as:SID	session SID is active: "G:U:uid:cid:root:super:perms"
 *	authd:me:UID	the body of GET /users/me of user UID: "G:U:json"
 *
 * G is the global generation (authd:gen), U the user's (authd:gu:UID).
 * An entry counts only while both are what they were before the
 * database was read to make it.  Every write that may change what an
 * entry says bumps one of them after its commit and before its answer,
 * so a revocation or a change of roles counts from the next request,
 * never later:
 *
 *	- a successful POST, PUT or DELETE bumps G, unless its route is
 *	  marked ROUTE_NOINVAL (it changes nothing an entry holds);
 *	- a route that changes only one user's entries (login, a refresh
 *	  that revokes its session) names the user in hr_inval_uid, which
 *	  bumps that user's U whatever the answer;
 *	- authctl bumps G after each change it makes in the database;
 *	- a worker bumps G whenever it connects to Redis, so a write whose
 *	  bump was lost while Redis was away is covered when it is back.
 *
 * The lookup rides in the rate limit's transaction: one round trip for
 * both.
 * Entries also expire after AC_TTL seconds, the bound on changes made
 * directly in the database, and never outlive their session.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>
#include <hiredis.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"
#include "token.h"
#include "tokcache.h"

#define AC_TTL		30

static int
ac_token_claims(struct http_req *hr, struct token_claims *tc)
{
	const char	*h;

	if (hr->hr_route == NULL || hr->hr_route->rt_who == WHO_ANYONE)
		return (-1);
	h = http_header(hr, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    strlen(h + 7) > TOKEN_MAX_LEN)
		return (-1);
	if (tokcache_get(h + 7, time(NULL), worker_conf.c_leeway, tc) == -1 ||
	    strcmp(tc->tc_type, "access") != 0)
		return (-1);
	return (0);
}

/*
 * The lookup of the request's session (and of its /users/me answer,
 * for that route), when its token was verified before: one MGET of G,
 * U and the entries, sent in the rate limit's transaction.  -1 when
 * there is nothing to look up.
 */
int
authcache_mget(struct http_req *hr, struct authcache_mget *am)
{
	struct token_claims	 tc;

	if (ac_token_claims(hr, &tc) == -1)
		return (-1);
	/* auth_request() takes them from here, without a second lookup. */
	if (hr->hr_ac_claims == NULL &&
	    (hr->hr_ac_claims = malloc(sizeof(tc))) != NULL)
		*hr->hr_ac_claims = tc;
	snprintf(am->am_user, sizeof(am->am_user), "authd:gu:%" PRId64,
	    tc.tc_uid);
	snprintf(am->am_session, sizeof(am->am_session), "authd:as:%" PRId64,
	    tc.tc_sid);
	snprintf(am->am_me, sizeof(am->am_me), "authd:me:%" PRId64,
	    tc.tc_uid);
	am->am_argv[0] = "MGET";
	am->am_argv[1] = "authd:gen";
	am->am_argv[2] = am->am_user;
	am->am_argv[3] = am->am_session;
	am->am_argv[4] = am->am_me;
	am->am_argc = hr->hr_route->rt_handler == api_users_me ? 5 : 4;
	return (0);
}

/* The text of a string reply after prefix, or NULL. */
static char *
ac_fresh(const redisReply *r, const char *prefix)
{
	size_t	 n = strlen(prefix);

	if (r->type != REDIS_REPLY_STRING || r->len < n ||
	    memcmp(r->str, prefix, n) != 0)
		return (NULL);
	return (strndup(r->str + n, r->len - n));
}

/* A generation: the reply's digits, "0" for a key never bumped. */
static const char *
ac_gen(const redisReply *r)
{
	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20 ||
	    strspn(r->str, "0123456789") != r->len)
		return ("0");
	return (r->str);
}

/*
 * Keeps what the MGET found on the request: the generations "G:U:"
 * that an entry made now must carry, and the entries that carry those
 * still.  A reply of another shape leaves it all a miss.
 */
void
authcache_found(struct http_req *hr, const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->elements > 4)
		return;
	if (asprintf(&hr->hr_ac_gens, "%s:%s:", ac_gen(r->element[0]),
	    ac_gen(r->element[1])) == -1) {
		hr->hr_ac_gens = NULL;
		return;
	}
	hr->hr_ac_session = ac_fresh(r->element[2], hr->hr_ac_gens);
	if (r->elements == 4)
		hr->hr_ac_me = ac_fresh(r->element[3], hr->hr_ac_gens);
}

/*
 * The caller from a session entry, when the request's lookup found one
 * for this token's session, user and company; 0 then, else -1.
 */
int
authcache_caller(struct http_req *hr, const struct token_claims *tc)
{
	struct auth_user	*au = &hr->hr_user;
	long long		 uid, cid;
	int			 root, super, n;

	if (hr->hr_ac_gens == NULL)
		return (-1);
	n = -1;
	if (hr->hr_ac_session == NULL ||
	    sscanf(hr->hr_ac_session, "%lld:%lld:%d:%d:%n", &uid, &cid,
	    &root, &super, &n) != 4 || n < 0 || uid != tc->tc_uid ||
	    cid != tc->tc_cid ||
	    (au->au_perms_text = strdup(hr->hr_ac_session + n)) == NULL) {
		metrics_count(MC_AUTHCACHE_MISSES);
		return (-1);
	}
	metrics_count(MC_AUTHCACHE_HITS);
	au->au_root = root != 0;
	au->au_superuser = super != 0;
	return (0);
}

static void
ac_set(const char *key, const char *gens, const char *value, int64_t ttl)
{
	char	 secs[INT64_STR];

	if (ttl > AC_TTL)
		ttl = AC_TTL;
	if (ttl <= 0)
		return;
	snprintf(secs, sizeof(secs), "%" PRId64, ttl);
	/* Best effort: a miss only costs the database a query. */
	(void)redis_command(NULL, NULL, "SET %s %s%s EX %s", key, gens, value,
	    secs);
}

/* Keeps the caller just read from the database for its session. */
void
authcache_put_session(const struct http_req *hr, int64_t expires)
{
	const struct auth_user	*au = &hr->hr_user;
	char			 key[AUTHCACHE_KEY_MAX], *value;

	if (hr->hr_ac_gens == NULL || au->au_perms_text == NULL)
		return;
	if (asprintf(&value, "%" PRId64 ":%" PRId64 ":%d:%d:%s", au->au_uid,
	    au->au_cid, au->au_root, au->au_superuser,
	    au->au_perms_text) == -1)
		return;
	snprintf(key, sizeof(key), "authd:as:%" PRId64, au->au_sid);
	ac_set(key, hr->hr_ac_gens, value, expires - time(NULL));
	free(value);
}

/* Keeps the body of GET /users/me just read from the database. */
void
authcache_put_me(const struct http_req *hr, const char *body)
{
	char	 key[AUTHCACHE_KEY_MAX];

	if (hr->hr_ac_gens == NULL)
		return;
	snprintf(key, sizeof(key), "authd:me:%" PRId64, hr->hr_user.au_uid);
	ac_set(key, hr->hr_ac_gens, body, AC_TTL);
}

/* Whether the answer to this request must bump a generation first. */
int
authcache_bumps(const struct http_req *hr, int status)
{
	if (hr->hr_inval_uid != 0)
		return (1);
	return (hr->hr_method != EVHTTP_REQ_GET &&
	    hr->hr_method != EVHTTP_REQ_OPTIONS &&
	    status >= 200 && status <= 299 && hr->hr_route != NULL &&
	    (hr->hr_route->rt_flags & ROUTE_NOINVAL) == 0);
}

struct ac_bump {
	void	(*ab_done)(void *);
	void	 *ab_arg;
};

static void
ac_bumped(redisReply *r, void *arg)
{
	struct ac_bump	 ab = *(struct ac_bump *)arg;

	(void)r;
	free(arg);
	ab.ab_done(ab.ab_arg);
}

/*
 * Before the answer of a write leaves: bumps the generation it changed,
 * then calls done.  Returns -1 when Redis is away (its return bumps G);
 * done is not called then.
 */
int
authcache_invalidate(const struct http_req *hr, void (*done)(void *),
    void *arg)
{
	struct ac_bump	*ab;
	char		 key[AUTHCACHE_KEY_MAX];

	if (hr->hr_inval_uid != 0)
		snprintf(key, sizeof(key), "authd:gu:%" PRId64,
		    hr->hr_inval_uid);
	else
		strlcpy(key, "authd:gen", sizeof(key));
	if ((ab = malloc(sizeof(*ab))) == NULL)
		return (-1);
	ab->ab_done = done;
	ab->ab_arg = arg;
	if (redis_command(ac_bumped, ab, "INCR %s", key) == -1) {
		free(ab);
		return (-1);
	}
	return (0);
}

void
authcache_clear(struct http_req *hr)
{
	free(hr->hr_ac_gens);
	free(hr->hr_ac_session);
	free(hr->hr_ac_me);
	free(hr->hr_ac_claims);
	hr->hr_ac_gens = hr->hr_ac_session = hr->hr_ac_me = NULL;
	hr->hr_ac_claims = NULL;
}
