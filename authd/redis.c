/*
 * Redis for a worker: one hiredis asynchronous connection on the event
 * loop.  hiredis 0.14 has no timeouts of its own, so every command gets
 * a timer: a command that does not answer in time fails, and the
 * connection is dropped and made again, so a stuck Redis never holds a
 * request.  While Redis is down commands fail at once.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis.h>
#include <openssl/evp.h>
#include <async.h>
#include <adapters/libevent.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"

#define REDIS_TIMEOUT_MS	500
#define REDIS_BACKOFF_MIN_MS	100
#define REDIS_BACKOFF_MAX_MS	5000
#define REDIS_SCRIPTS_MAX	8

struct redis_cmd {
	redis_cb	 rc_cb;
	void		*rc_arg;
	struct event	*rc_timer;
};

static redisAsyncContext	*redis_ctx;
static int			 redis_connected;
static struct event_base	*redis_base;
static struct event		*redis_retry;
static int			 redis_backoff = REDIS_BACKOFF_MIN_MS;
static int			 redis_stopping;
static char			 redis_path[PATH_MAX];
static char			 redis_host[CONFIG_STR];
static uint16_t			 redis_port;
static int			 redis_db;
static struct redis_script	*redis_scripts[REDIS_SCRIPTS_MAX];
static int			 redis_nscripts;

static void	 redis_connect(void);

/*
 * A Lua script runs by its SHA1 (EVALSHA), so that its text is not sent
 * and hashed again with every request.  Scripts are registered before
 * redis_init() and loaded at every connection, before anything else is
 * sent on it.
 */
void
redis_script_add(struct redis_script *rs)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 i, len;

	if (redis_nscripts == REDIS_SCRIPTS_MAX)
		fatalx("%s: too many scripts", __func__);
	if (EVP_Digest(rs->rs_body, strlen(rs->rs_body), md, &len,
	    EVP_sha1(), NULL) != 1 || len * 2 >= sizeof(rs->rs_sha))
		fatalx("%s: SHA1 failed", __func__);
	for (i = 0; i < len; i++)
		snprintf(rs->rs_sha + 2 * i, 3, "%02x", md[i]);
	redis_scripts[redis_nscripts++] = rs;
}

static void
redis_load_scripts(void)
{
	int	 i;

	for (i = 0; i < redis_nscripts; i++)
		if (redis_command(NULL, NULL, "SCRIPT LOAD %s",
		    redis_scripts[i]->rs_body) == -1)
			log_warnx("redis: cannot load a script");
}

int
redis_up(void)
{
	return (redis_connected);
}

static void
redis_schedule(void)
{
	struct timeval	 tv;

	metrics_count(MC_REDIS_ERRORS);
	if (redis_stopping || evtimer_pending(redis_retry, NULL))
		return;
	tv.tv_sec = redis_backoff / 1000;
	tv.tv_usec = (redis_backoff % 1000) * 1000;
	evtimer_add(redis_retry, &tv);
	if (redis_backoff < REDIS_BACKOFF_MAX_MS)
		redis_backoff *= 2;
}

static void
redis_on_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		if (redis_backoff == REDIS_BACKOFF_MIN_MS)
			log_warnx("redis: %s", ac->errstr);
		redis_ctx = NULL;	/* hiredis frees it */
		redis_schedule();
		return;
	}
	if (redis_backoff > REDIS_BACKOFF_MIN_MS) {
		log_info("redis is back");
		metrics_count(MC_REDIS_RECONNECTS);
	}
	redis_backoff = REDIS_BACKOFF_MIN_MS;
	redis_connected = 1;
	redis_load_scripts();
	/*
	 * A write made while this worker had no Redis could not kill the
	 * cache entries it changed: kill them all, before any lookup on
	 * this connection (authcache.c).
	 */
	if (redis_command(NULL, NULL, "INCR authd:gen") == -1)
		log_warnx("redis: cannot bump the cache generation");
}

static void
redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK)
		log_warnx("redis: connection lost: %s", ac->errstr);
	redis_ctx = NULL;
	redis_connected = 0;
	redis_schedule();
}

static void
redis_select_done(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;

	(void)privdata;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		log_warnx("redis: SELECT %d failed", redis_db);
		redisAsyncDisconnect(ac);
	}
}

static void
redis_connect(void)
{
	if (redis_stopping || redis_ctx != NULL)
		return;
	if (redis_path[0] != '\0')
		redis_ctx = redisAsyncConnectUnix(redis_path);
	else
		redis_ctx = redisAsyncConnect(redis_host, redis_port);
	if (redis_ctx == NULL)
		fatalx("%s: out of memory", __func__);
	if (redis_ctx->err) {
		if (redis_backoff == REDIS_BACKOFF_MIN_MS)
			log_warnx("redis: %s", redis_ctx->errstr);
		redisAsyncFree(redis_ctx);
		redis_ctx = NULL;
		redis_schedule();
		return;
	}
	redisLibeventAttach(redis_ctx, redis_base);
	redisAsyncSetConnectCallback(redis_ctx, redis_on_connect);
	redisAsyncSetDisconnectCallback(redis_ctx, redis_on_disconnect);
	if (redis_db != 0)
		redisAsyncCommand(redis_ctx, redis_select_done, NULL,
		    "SELECT %d", redis_db);
}

static void
redis_retry_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	redis_connect();
}

static void
redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_cmd	*c = privdata;

	(void)ac;
	/* SCRIPT FLUSH: this command fails, the next ones will not. */
	if (r != NULL && ((redisReply *)r)->type == REDIS_REPLY_ERROR &&
	    strncmp(((redisReply *)r)->str, "NOSCRIPT", 8) == 0)
		redis_load_scripts();
	if (c->rc_cb != NULL)
		c->rc_cb(r, c->rc_arg);
	event_free(c->rc_timer);
	free(c);
}

/* The answer is late: fail the caller now, then drop the connection. */
static void
redis_timeout(int fd, short events, void *arg)
{
	struct redis_cmd	*c = arg;
	redis_cb		 cb = c->rc_cb;

	(void)fd;
	(void)events;
	c->rc_cb = NULL;
	if (cb != NULL)
		cb(NULL, c->rc_arg);
	if (redis_ctx != NULL && redis_connected) {
		redisAsyncContext	*ac = redis_ctx;

		log_warnx("redis: no answer within %d ms, reconnecting",
		    REDIS_TIMEOUT_MS);
		redis_connected = 0;
		redis_ctx = NULL;
		/* Disconnect would wait for the late answer; free does not. */
		redisAsyncFree(ac);
		redis_schedule();
	}
}

static struct redis_cmd *
redis_cmd_new(redis_cb cb, void *arg)
{
	struct redis_cmd	*c;

	if (!redis_connected || redis_ctx == NULL)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->rc_cb = cb;
	c->rc_arg = arg;
	if ((c->rc_timer = evtimer_new(redis_base, redis_timeout, c)) ==
	    NULL) {
		free(c);
		return (NULL);
	}
	return (c);
}

/* After the command is queued (r is REDIS_OK) or refused. */
static int
redis_cmd_sent(struct redis_cmd *c, int r)
{
	struct timeval		 tv = { 0, REDIS_TIMEOUT_MS * 1000 };

	if (r != REDIS_OK) {
		event_free(c->rc_timer);
		free(c);
		return (-1);
	}
	evtimer_add(c->rc_timer, &tv);
	return (0);
}

/*
 * Sends a command; user data goes only through %s and %b arguments.
 * Returns -1 when Redis is not connected (the callback is not called).
 */
int
redis_command(redis_cb cb, void *arg, const char *fmt, ...)
{
	struct redis_cmd	*c;
	va_list			 ap;
	int			 r;

	if ((c = redis_cmd_new(cb, arg)) == NULL)
		return (-1);
	va_start(ap, fmt);
	r = redisvAsyncCommand(redis_ctx, redis_reply, c, fmt, ap);
	va_end(ap);
	return (redis_cmd_sent(c, r));
}

/*
 * The same with the words of the command ready, NUL-terminated: no
 * format to parse, for the command of every request.
 */
int
redis_command_argv(redis_cb cb, void *arg, int argc, const char **argv)
{
	struct redis_cmd	*c;

	if ((c = redis_cmd_new(cb, arg)) == NULL)
		return (-1);
	return (redis_cmd_sent(c, redisAsyncCommandArgv(redis_ctx,
	    redis_reply, c, argc, argv, NULL)));
}

/*
 * Sends the commands as one transaction (MULTI ... EXEC): Redis runs
 * them at once, one after the other, and cb gets EXEC's reply, an
 * array of theirs (or an error, or NULL when Redis fails).  Native
 * commands cost Redis half of what the same work costs in a Lua script
 * (EVALSHA creates its argument tables and converts every redis.call).
 */
int
redis_multi(redis_cb cb, void *arg, int ncmds, const int *argc,
    const char **argv[])
{
	struct redis_cmd	*c;
	int			 i;

	if ((c = redis_cmd_new(cb, arg)) == NULL)
		return (-1);
	if (redisAsyncCommand(redis_ctx, NULL, NULL, "MULTI") != REDIS_OK) {
		event_free(c->rc_timer);
		free(c);
		return (-1);
	}
	for (i = 0; i < ncmds; i++)
		if (redisAsyncCommandArgv(redis_ctx, NULL, NULL, argc[i],
		    argv[i], NULL) != REDIS_OK) {
			/* Nothing of it may run. */
			(void)redisAsyncCommand(redis_ctx, NULL, NULL,
			    "DISCARD");
			event_free(c->rc_timer);
			free(c);
			return (-1);
		}
	return (redis_cmd_sent(c, redisAsyncCommand(redis_ctx, redis_reply,
	    c, "EXEC")));
}

int
redis_init(struct event_base *base, const struct authd_config *conf)
{
	redis_base = base;
	strlcpy(redis_path, conf->c_redis_path, sizeof(redis_path));
	strlcpy(redis_host, conf->c_redis_host, sizeof(redis_host));
	redis_port = conf->c_redis_port;
	redis_db = conf->c_redis_db;
	if ((redis_retry = evtimer_new(base, redis_retry_cb, NULL)) == NULL)
		return (-1);
	redis_connect();
	return (0);
}

void
redis_shutdown(void)
{
	redis_stopping = 1;
	if (redis_retry != NULL)
		evtimer_del(redis_retry);
	if (redis_ctx != NULL) {
		redis_connected = 0;
		redisAsyncDisconnect(redis_ctx);
	}
}
