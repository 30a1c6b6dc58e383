/*
 * What authctl changes in the Redis of authd's workers: "user unlock"
 * clears the login lockout counters (authd/ratelimit.c): the lock
 * itself, the attempts in the window and the lock level that doubles
 * each lock; every change in the database kills the workers'
 * authentication cache (authd/authcache.c).  One synchronous connection
 * with a timeout, to the Redis of the configuration.
 */
#include <sys/time.h>

#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "authctl.h"

#define LOCKOUT_TIMEOUT_SEC	5
#define LOCKOUT_KEY_MAX		96

/* Sends one command; 0 when Redis answered without an error. */
static int
lockout_command(redisContext *rc, const char *what, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;
	int		 rv = 0;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		warnx("redis %s: %s", what, rc->errstr);
		return (-1);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		warnx("redis %s: %s", what, r->str);
		rv = -1;
	}
	freeReplyObject(r);
	return (rv);
}

static redisContext *
redis_open(const struct authd_config *conf)
{
	struct timeval	 tv = { LOCKOUT_TIMEOUT_SEC, 0 };
	redisContext	*rc;

	if (conf->c_redis_path[0] != '\0')
		rc = redisConnectUnixWithTimeout(conf->c_redis_path, tv);
	else
		rc = redisConnectWithTimeout(conf->c_redis_host,
		    conf->c_redis_port, tv);
	if (rc == NULL || rc->err) {
		warnx("redis %s: %s", conf->c_redis_path[0] != '\0' ?
		    conf->c_redis_path : conf->c_redis_host,
		    rc != NULL ? rc->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(rc, tv) != REDIS_OK) {
		warnx("redis: cannot set a timeout");
		goto fail;
	}
	if (conf->c_redis_db != 0 && lockout_command(rc, "SELECT",
	    "SELECT %d", conf->c_redis_db) == -1)
		goto fail;
	return (rc);
 fail:
	if (rc != NULL)
		redisFree(rc);
	return (NULL);
}

int
lockout_clear(const struct authd_config *conf, const char *uid)
{
	redisContext	*rc;
	char		 lock[LOCKOUT_KEY_MAX], attempts[LOCKOUT_KEY_MAX];
	char		 level[LOCKOUT_KEY_MAX];
	int		 rv;

	/* The keys of rl_login_keys() for the account "u:<id>". */
	if ((size_t)snprintf(lock, sizeof(lock), "lock:u:%s", uid) >=
	    sizeof(lock) ||
	    (size_t)snprintf(attempts, sizeof(attempts), "la:u:%s", uid) >=
	    sizeof(attempts) ||
	    (size_t)snprintf(level, sizeof(level), "ll:u:%s", uid) >=
	    sizeof(level)) {
		warnx("user id too long: %s", uid);
		return (-1);
	}
	if ((rc = redis_open(conf)) == NULL)
		return (-1);
	rv = lockout_command(rc, "DEL", "DEL %s %s %s", lock, attempts,
	    level);
	redisFree(rc);
	return (rv);
}

int
cache_invalidate(const struct authd_config *conf)
{
	redisContext	*rc;
	int		 rv;

	if ((rc = redis_open(conf)) == NULL)
		return (-1);
	rv = lockout_command(rc, "INCR", "INCR authd:gen");
	redisFree(rc);
	return (rv);
}
