/*
 * Rate limits and brute-force lockout.  The counters live in Redis so
 * that every worker of every node shares them.  When Redis cannot be
 * reached, each worker counts in its own memory with the same limits:
 * an outage must never open the door to guessing passwords.
 *
 * Per client address and route class: a fixed one-minute window.
 * Per account: a login attempt is reserved before its password is
 * checked, so parallel guesses cannot outrun the count: while failures
 * and attempts in flight fill the quota, another attempt is asked to
 * come back in a second.  The failure that reaches the maximum locks
 * the account, for a time that doubles with each lock up to a day; an
 * attempt that ends otherwise only gives its place back, so that the
 * right password sent many times at once locks nothing.  Per address:
 * failures within the lockout window block the address.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <hiredis.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"

#define RL_WINDOW		60
#define RL_MEM_SLOTS		4096
#define RL_KEY_MAX		96
#define RL_LEVEL_TTL		86400
#define RL_LOCK_MAX		86400
#define RL_INFLIGHT_TTL		60	/* a lost release heals after it */

/*
 * The reservation of a login attempt.  KEYS lock, failures, level (not
 * used), address failures, attempts in flight; ARGV max failures,
 * window, base, max lock, address max, in-flight expiry.  Returns
 * {locked, seconds}: the lock's, the address's, or 1 second when the
 * failures and the attempts in flight already fill the account's quota
 * (parallel guesses wait; correct logins in parallel lock nothing).
 */
#define RL_LOGIN_LUA \
	"local t = redis.call('TTL', KEYS[1]) " \
	"if t > 0 then return {1, t} end " \
	"local f = tonumber(redis.call('GET', KEYS[4]) or '0') " \
	"if f >= tonumber(ARGV[5]) then " \
	"  t = redis.call('TTL', KEYS[4]) if t < 1 then t = 1 end " \
	"  return {1, t} end " \
	"local n = tonumber(redis.call('GET', KEYS[2]) or '0') " \
	"local i = redis.call('INCR', KEYS[5]) " \
	"redis.call('EXPIRE', KEYS[5], ARGV[6]) " \
	"if n + i > tonumber(ARGV[1]) then " \
	"  redis.call('DECR', KEYS[5]) return {1, 1} end " \
	"return {0, 0}"
/*
 * A failed login of a reserved attempt.  KEYS lock, failures, level,
 * address failures; ARGV as RL_LOGIN_LUA.  The failure that reaches the
 * maximum locks the account, for a time that doubles with each lock.
 */
#define RL_FAIL_LUA \
	"local a = redis.call('INCR', KEYS[4]) " \
	"if a == 1 then redis.call('EXPIRE', KEYS[4], ARGV[2]) end " \
	"local n = redis.call('INCR', KEYS[2]) " \
	"if n == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end " \
	"if n < tonumber(ARGV[1]) then return 0 end " \
	"local l = redis.call('INCR', KEYS[3]) " \
	"redis.call('EXPIRE', KEYS[3], " RL_STR(RL_LEVEL_TTL) ") " \
	"local t = tonumber(ARGV[3]) * 2 ^ (l - 1) " \
	"if t > tonumber(ARGV[4]) then t = tonumber(ARGV[4]) end " \
	"redis.call('SET', KEYS[1], '1', 'EX', math.floor(t)) " \
	"redis.call('DEL', KEYS[2]) " \
	"return 1"
/* The end of a reserved attempt: KEYS attempts in flight. */
#define RL_RELEASE_LUA \
	"if redis.call('DECR', KEYS[1]) <= 0 then " \
	"  redis.call('DEL', KEYS[1]) end " \
	"return 0"
#define RL_STR2(x)	#x
#define RL_STR(x)	RL_STR2(x)

static struct redis_script	 rl_login = { RL_LOGIN_LUA, "" };
static struct redis_script	 rl_fail = { RL_FAIL_LUA, "" };
static struct redis_script	 rl_release = { RL_RELEASE_LUA, "" };

struct rl_slot {
	char		 rs_key[RL_KEY_MAX];
	int64_t		 rs_count;
	time_t		 rs_expires;
};

struct rl_req {
	struct http_req	*rq_hr;
	void		 (*rq_next)(struct http_req *);
	int		 rq_limit;
	char		 rq_key[RL_KEY_MAX];
};

struct rl_login {
	rl_login_cb	 rg_cb;
	void		*rg_arg;
	char		 rg_lock[RL_KEY_MAX];
	char		 rg_attempts[RL_KEY_MAX];
	char		 rg_level[RL_KEY_MAX];
	char		 rg_addr[RL_KEY_MAX];
	char		 rg_inflight[RL_KEY_MAX];
};

/* The memory fallback: a small open-addressing table per worker. */
static struct rl_slot	 rl_mem[RL_MEM_SLOTS];

static struct rl_slot *
rl_mem_slot(const char *key, time_t now)
{
	uint32_t	 h = 2166136261u;
	size_t		 i, n;
	const char	*p;

	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (n = 0; n < 16; n++) {
		i = (h + n) % RL_MEM_SLOTS;
		if (strcmp(rl_mem[i].rs_key, key) == 0 ||
		    rl_mem[i].rs_expires <= now)
			break;
	}
	if (n == 16)
		i = h % RL_MEM_SLOTS;	/* full: the oldest idea loses */
	if (strcmp(rl_mem[i].rs_key, key) != 0 || rl_mem[i].rs_expires <= now) {
		strlcpy(rl_mem[i].rs_key, key, sizeof(rl_mem[i].rs_key));
		rl_mem[i].rs_count = 0;
		rl_mem[i].rs_expires = 0;
	}
	return (&rl_mem[i]);
}

static int64_t
rl_mem_incr(const char *key, int window, int *ttl)
{
	time_t		 now = time(NULL);
	struct rl_slot	*s = rl_mem_slot(key, now);

	if (s->rs_count++ == 0)
		s->rs_expires = now + window;
	*ttl = s->rs_expires - now;
	return (s->rs_count);
}

static int
rl_mem_ttl(const char *key)
{
	time_t		 now = time(NULL);
	struct rl_slot	*s = rl_mem_slot(key, now);

	return (s->rs_count > 0 ? (int)(s->rs_expires - now) : 0);
}

static void
rl_mem_set(const char *key, int64_t count, int ttl)
{
	time_t		 now = time(NULL);
	struct rl_slot	*s = rl_mem_slot(key, now);

	s->rs_count = count;
	s->rs_expires = now + ttl;
}

static void
rl_mem_decr(const char *key)
{
	struct rl_slot	*s = rl_mem_slot(key, time(NULL));

	if (s->rs_count > 0)
		s->rs_count--;
}

static void
rl_mem_del(const char *key)
{
	struct rl_slot	*s = rl_mem_slot(key, time(NULL));

	s->rs_count = 0;
	s->rs_expires = 0;
}

/*
 * Reads elements i and i + 1 of an array reply, both integers; -1 when
 * the reply is anything else.
 */
static int
rl_pair(redisReply *r, size_t i, int64_t *a, int64_t *b)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < i + 2 ||
	    r->element[i]->type != REDIS_REPLY_INTEGER ||
	    r->element[i + 1]->type != REDIS_REPLY_INTEGER)
		return (-1);
	*a = r->element[i]->integer;
	*b = r->element[i + 1]->integer;
	return (0);
}

static void
rl_headers(struct http_req *hr, int limit, int64_t count, int64_t ttl)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%d", limit);
	http_set_header(hr, "RateLimit-Limit", buf);
	snprintf(buf, sizeof(buf), "%" PRId64, count > limit ? 0 :
	    limit - count);
	http_set_header(hr, "RateLimit-Remaining", buf);
	snprintf(buf, sizeof(buf), "%" PRId64, ttl);
	http_set_header(hr, "RateLimit-Reset", buf);
}

static void
rl_decide(struct rl_req *rq, int64_t count, int64_t ttl)
{
	struct http_req	*hr = rq->rq_hr;
	void		 (*next)(struct http_req *) = rq->rq_next;
	char		 buf[24];
	int		 limit = rq->rq_limit;

	free(rq);
	rl_headers(hr, limit, count, ttl);
	if (count > limit) {
		snprintf(buf, sizeof(buf), "%" PRId64, ttl > 0 ? ttl : 1);
		http_set_header(hr, "Retry-After", buf);
		http_error(hr, 429, "Rate limit exceeded");
		return;
	}
	next(hr);
}

static void
rl_request_done(redisReply *r, void *arg)
{
	struct rl_req	*rq = arg;
	int64_t		 count, ttl;
	int		 t;

	/* rl_request()'s transaction: SET, INCR, TTL[, MGET]. */
	if (rl_pair(r, 1, &count, &ttl) == -1) {
		count = rl_mem_incr(rq->rq_key, RL_WINDOW, &t);
		ttl = t;
	} else {
		if (ttl < 0)
			ttl = RL_WINDOW;
		if (r->elements > 3)
			authcache_found(rq->rq_hr, r->element[3]);
	}
	rl_decide(rq, count, ttl);
}

static const char *
rl_class(struct http_req *hr)
{
	const char	*p = hr->hr_path;

	if (strcmp(p, "/api/v1/auth/login") == 0)
		return ("login");
	if (strcmp(p, "/api/v1/auth/password-reset-request") == 0 ||
	    strcmp(p, "/api/v1/auth/password-reset") == 0 ||
	    strcmp(p, "/api/v1/auth/verify-email") == 0 ||
	    strcmp(p, "/api/v1/auth/resend-verification") == 0 ||
	    strcmp(p, "/api/v1/auth/refresh") == 0)
		return ("account");
	return ("api");
}

void
rl_init(void)
{
	redis_script_add(&rl_login);
	redis_script_add(&rl_fail);
	redis_script_add(&rl_release);
}

/*
 * Counts the request against its address's limit for its class, then
 * runs next, or answers 429 with Retry-After.  The count is one Redis
 * transaction: the window's counter made with its expiry if it is not
 * there, counted, its seconds left read, and the cache lookup of the
 * request's session in the same round trip.
 */
void
rl_request(struct http_req *hr, void (*next)(struct http_req *))
{
	struct authcache_mget	 am;
	struct rl_req		*rq;
	const char		*class = rl_class(hr);
	const char		*set[6], *incr[2], *ttlc[2], **argv[4] = { 0 };
	char			 win[INT64_STR];
	int			 argc[4] = { 6, 2, 2, 0 }, n = 3;
	int64_t			 count;
	int			 ttl;

	if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		http_unavailable(hr);
		return;
	}
	rq->rq_hr = hr;
	rq->rq_next = next;
	rq->rq_limit = strcmp(class, "api") == 0 ?
	    worker_conf.c_rate_per_minute :
	    worker_conf.c_login_rate_per_minute;
	snprintf(rq->rq_key, sizeof(rq->rq_key), "rl:%s:%s", class,
	    hr->hr_addr);
	snprintf(win, sizeof(win), "%d", RL_WINDOW);
	set[0] = "SET";
	set[1] = rq->rq_key;
	set[2] = "0";
	set[3] = "EX";
	set[4] = win;
	set[5] = "NX";
	incr[0] = "INCR";
	ttlc[0] = "TTL";
	incr[1] = ttlc[1] = rq->rq_key;
	argv[0] = set;
	argv[1] = incr;
	argv[2] = ttlc;
	if (authcache_mget(hr, &am) == 0) {
		argv[n] = am.am_argv;
		argc[n++] = am.am_argc;
	}
	if (redis_multi(rl_request_done, rq, n, argc, argv) == -1) {
		count = rl_mem_incr(rq->rq_key, RL_WINDOW, &ttl);
		rl_decide(rq, count, ttl);
	}
}

/* The same decision as RL_LOGIN_LUA, in this worker's memory. */
static void
rl_login_memory(struct rl_login *rg, int *locked, int *secs)
{
	const struct authd_config	*c = &worker_conf;
	int64_t				 n, i;
	int				 ttl;

	*locked = 1;
	if ((*secs = rl_mem_ttl(rg->rg_lock)) > 0)
		return;
	if (rl_mem_slot(rg->rg_addr, time(NULL))->rs_count >=
	    c->c_addr_failures && (*secs = rl_mem_ttl(rg->rg_addr)) > 0)
		return;
	n = rl_mem_slot(rg->rg_attempts, time(NULL))->rs_count;
	i = rl_mem_incr(rg->rg_inflight, RL_INFLIGHT_TTL, &ttl);
	if (n + i > c->c_lockout_failures) {
		rl_mem_decr(rg->rg_inflight);
		*secs = 1;
		return;
	}
	*locked = 0;
	*secs = 0;
}

/* The same as RL_FAIL_LUA, in this worker's memory. */
static void
rl_fail_memory(struct rl_login *rg)
{
	const struct authd_config	*c = &worker_conf;
	int64_t				 n, level;
	int				 ttl, t;

	(void)rl_mem_incr(rg->rg_addr, c->c_lockout_window, &ttl);
	n = rl_mem_incr(rg->rg_attempts, c->c_lockout_window, &ttl);
	if (n < c->c_lockout_failures)
		return;
	level = rl_mem_incr(rg->rg_level, RL_LEVEL_TTL, &ttl);
	t = c->c_lockout_time;
	while (--level > 0 && t < RL_LOCK_MAX)
		t *= 2;
	if (t > RL_LOCK_MAX)
		t = RL_LOCK_MAX;
	rl_mem_set(rg->rg_lock, 1, t);
	rl_mem_del(rg->rg_attempts);
}

static void
rl_login_done(redisReply *r, void *arg)
{
	struct rl_login	*rg = arg;
	int64_t		 locked, secs;
	int		 l, s;

	if (rl_pair(r, 0, &locked, &secs) == -1) {
		rl_login_memory(rg, &l, &s);
		locked = l;
		secs = s;
	}
	rg->rg_cb(locked ? (int)secs : 0, rg->rg_arg);
	free(rg);
}

static void
rl_login_keys(struct rl_login *rg, const char *account, const char *addr)
{
	snprintf(rg->rg_lock, sizeof(rg->rg_lock), "lock:%s", account);
	snprintf(rg->rg_attempts, sizeof(rg->rg_attempts), "la:%s", account);
	snprintf(rg->rg_level, sizeof(rg->rg_level), "ll:%s", account);
	snprintf(rg->rg_addr, sizeof(rg->rg_addr), "af:%s", addr);
	snprintf(rg->rg_inflight, sizeof(rg->rg_inflight), "li:%s", account);
}

/*
 * Reserves a login attempt for an account from an address; cb gets 0
 * to go on, or the seconds the account or address stays locked.
 */
void
rl_login_check(const char *account, const char *addr, rl_login_cb cb,
    void *arg)
{
	const struct authd_config	*c = &worker_conf;
	struct rl_login			*rg;
	int				 l, s;

	if ((rg = calloc(1, sizeof(*rg))) == NULL) {
		cb(1, arg);
		return;
	}
	rg->rg_cb = cb;
	rg->rg_arg = arg;
	rl_login_keys(rg, account, addr);
	if (redis_command(rl_login_done, rg, "EVALSHA %s 5 %s %s %s %s %s "
	    "%d %d %d %d %d %d", rl_login.rs_sha, rg->rg_lock,
	    rg->rg_attempts, rg->rg_level, rg->rg_addr, rg->rg_inflight,
	    c->c_lockout_failures, c->c_lockout_window, c->c_lockout_time,
	    RL_LOCK_MAX, c->c_addr_failures, RL_INFLIGHT_TTL) == -1) {
		rl_login_memory(rg, &l, &s);
		cb(l ? s : 0, arg);
		free(rg);
	}
}

/*
 * A wrong password or second factor: a failure of the account, which
 * locks it at the maximum, and of the address.
 */
void
rl_login_failed(const char *account, const char *addr)
{
	const struct authd_config	*c = &worker_conf;
	struct rl_login			 rg;

	memset(&rg, 0, sizeof(rg));
	rl_login_keys(&rg, account, addr);
	if (redis_command(NULL, NULL, "EVALSHA %s 4 %s %s %s %s %d %d %d %d",
	    rl_fail.rs_sha, rg.rg_lock, rg.rg_attempts, rg.rg_level,
	    rg.rg_addr, c->c_lockout_failures, c->c_lockout_window,
	    c->c_lockout_time, RL_LOCK_MAX) == -1)
		rl_fail_memory(&rg);
}

/* The end of an attempt that rl_login_check() let go on, whatever it was. */
void
rl_login_release(const char *account)
{
	char	 key[RL_KEY_MAX];

	snprintf(key, sizeof(key), "li:%s", account);
	rl_mem_decr(key);
	(void)redis_command(NULL, NULL, "EVALSHA %s 1 %s", rl_release.rs_sha,
	    key);
}

/* A good login clears the account's attempts (not its lock level). */
void
rl_login_succeeded(const char *account)
{
	char	 key[RL_KEY_MAX];

	snprintf(key, sizeof(key), "la:%s", account);
	rl_mem_del(key);
	(void)redis_command(NULL, NULL, "DEL %s", key);
}

/* An administrator's unlock: the lock, the attempts and the level. */
void
rl_unlock(const char *account)
{
	struct rl_login	 rg;

	memset(&rg, 0, sizeof(rg));
	rl_login_keys(&rg, account, "");
	rl_mem_del(rg.rg_lock);
	rl_mem_del(rg.rg_attempts);
	rl_mem_del(rg.rg_level);
	(void)redis_command(NULL, NULL, "DEL %s %s %s", rg.rg_lock,
	    rg.rg_attempts, rg.rg_level);
}

/* The account key of a login: the user id, or a digest of the name. */
void
rl_account_key(char *buf, size_t len, int found, int64_t uid,
    const char *username)
{
	unsigned char	 md[crypto_hash_sha256_BYTES];
	char		 lower[256], hex[33];
	size_t		 i;

	if (found) {
		snprintf(buf, len, "u:%" PRId64, uid);
		return;
	}
	for (i = 0; i < sizeof(lower) - 1 && username[i] != '\0'; i++)
		lower[i] = username[i] >= 'A' && username[i] <= 'Z' ?
		    username[i] + 32 : username[i];
	lower[i] = '\0';
	crypto_hash_sha256(md, (unsigned char *)lower, i);
	sodium_bin2hex(hex, sizeof(hex), md, 16);
	snprintf(buf, len, "n:%s", hex);
}
