/*
 * PostgreSQL for a worker: a small pool of non-blocking libpq connections
 * driven by the worker's event loop.  A query waits in one queue until a
 * connection is free.  When the database is unreachable, queries fail at
 * once (the caller answers 503) and the pool reconnects by itself with a
 * growing delay; it never blocks the loop.
 *
 * Every statement is prepared once per connection, on its first use
 * there, and executed by name afterwards: the server parses and plans
 * it once, not on every request.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"
#include "metrics.h"

#define DB_MAX_POOL		32
#define DB_CONNECT_TIMEOUT_MS	3000
#define DB_QUERY_TIMEOUT_MS	5000
#define DB_BACKOFF_MIN_MS	100
#define DB_BACKOFF_MAX_MS	5000
#define DB_MAX_QUEUED		4096
#define DB_MAX_STMTS		512	/* more run unprepared */

enum db_state {
	DB_DOWN,
	DB_CONNECTING,
	DB_IDLE,
	DB_BUSY
};

struct db_query {
	TAILQ_ENTRY(db_query)	 dq_entry;
	const char		*dq_sql;
	int			 dq_nparams;
	char			**dq_params;
	db_cb			 dq_cb;
	void			*dq_arg;
	struct timespec		 dq_queued;
};
TAILQ_HEAD(db_queue, db_query);

struct db_conn {
	PGconn			*dc_pg;
	enum db_state		 dc_state;
	struct event		*dc_ev;
	struct event		*dc_timer;
	int			 dc_backoff;
	struct db_query		*dc_query;
	PGresult		*dc_result;
	int			 dc_index;
	int			 dc_preparing;	/* statement, or -1 */
	uint8_t			 dc_prepared[DB_MAX_STMTS / 8];
};

/* The statements prepared so far; the index is the name. */
struct db_stmt {
	char			*ds_sql;
	uint64_t		 ds_hash;
};

static struct db_conn		 db_pool[DB_MAX_POOL];
static int			 db_npool;
static struct db_queue		 db_queue = TAILQ_HEAD_INITIALIZER(db_queue);
static int			 db_nqueued;
static struct event_base	*db_base;
static struct event		*db_sweep;
static char			 db_conninfo[CONFIG_LONGSTR];
static int			 db_stopping;
static struct db_stmt		 db_stmts[DB_MAX_STMTS];
static int			 db_nstmts;

static void	 db_connect(struct db_conn *);
static void	 db_io(int, short, void *);
static void	 db_next(struct db_conn *);
static void	 db_send(struct db_conn *);

const char *
db_sqlstate(const PGresult *res)
{
	const char	*s;

	if (res == NULL ||
	    (s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return ("");
	return (s);
}

int
db_ok(const PGresult *res)
{
	ExecStatusType	 st;

	if (res == NULL)
		return (0);
	st = PQresultStatus(res);
	return (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK);
}

int
db_up(void)
{
	int	 i;

	for (i = 0; i < db_npool; i++)
		if (db_pool[i].dc_state == DB_IDLE ||
		    db_pool[i].dc_state == DB_BUSY)
			return (1);
	return (0);
}

/* FNV-1a: statements are few and chosen by us, not by clients. */
static uint64_t
db_stmt_hash(const char *sql)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *sql != '\0'; sql++)
		h = (h ^ (unsigned char)*sql) * 1099511628211ULL;
	return (h);
}

/* The index of a statement, registered on first sight; -1 when full. */
static int
db_stmt_index(const char *sql)
{
	uint64_t	 h = db_stmt_hash(sql);
	int		 i;

	for (i = 0; i < db_nstmts; i++)
		if (db_stmts[i].ds_hash == h &&
		    strcmp(db_stmts[i].ds_sql, sql) == 0)
			return (i);
	if (db_nstmts == DB_MAX_STMTS ||
	    (db_stmts[db_nstmts].ds_sql = strdup(sql)) == NULL)
		return (-1);
	db_stmts[db_nstmts].ds_hash = h;
	return (db_nstmts++);
}

static void
db_query_free(struct db_query *q)
{
	int	 i;

	for (i = 0; i < q->dq_nparams; i++)
		free(q->dq_params[i]);
	free(q->dq_params);
	free(q);
}

static void
db_query_done(struct db_query *q, PGresult *res)
{
	if (q->dq_cb != NULL)
		q->dq_cb(res, q->dq_arg);
	db_query_free(q);
}

static void
db_timer_ms(struct event *ev, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static void
db_watch(struct db_conn *c, short what)
{
	if (c->dc_ev != NULL)
		event_free(c->dc_ev);
	c->dc_ev = event_new(db_base, PQsocket(c->dc_pg), what, db_io, c);
	if (c->dc_ev == NULL || event_add(c->dc_ev, NULL) == -1)
		fatalx("%s: event", __func__);
}

/* Everything waiting fails when no connection can take it. */
static void
db_fail_queue(void)
{
	struct db_query	*q;

	while ((q = TAILQ_FIRST(&db_queue)) != NULL) {
		TAILQ_REMOVE(&db_queue, q, dq_entry);
		db_nqueued--;
		db_query_done(q, NULL);
	}
}

static int
db_any_hope(void)
{
	int	 i;

	for (i = 0; i < db_npool; i++)
		if (db_pool[i].dc_state != DB_DOWN)
			return (1);
	return (0);
}

static void
db_broken(struct db_conn *c, const char *why)
{
	struct db_query	*q;
	int		 was_up = c->dc_state >= DB_IDLE;

	metrics_count(MC_DB_ERRORS);
	if (was_up || c->dc_backoff == DB_BACKOFF_MIN_MS)
		log_warnx("database connection %d: %s", c->dc_index, why);
	if (c->dc_ev != NULL) {
		event_free(c->dc_ev);
		c->dc_ev = NULL;
	}
	evtimer_del(c->dc_timer);
	if (c->dc_result != NULL) {
		PQclear(c->dc_result);
		c->dc_result = NULL;
	}
	PQfinish(c->dc_pg);
	c->dc_pg = NULL;
	c->dc_state = DB_DOWN;
	c->dc_preparing = -1;
	memset(c->dc_prepared, 0, sizeof(c->dc_prepared));
	q = c->dc_query;
	c->dc_query = NULL;
	if (q != NULL)
		db_query_done(q, NULL);
	if (!db_any_hope())
		db_fail_queue();
	if (!db_stopping)
		db_timer_ms(c->dc_timer, was_up ? 0 : c->dc_backoff);
	if (c->dc_backoff < DB_BACKOFF_MAX_MS)
		c->dc_backoff *= 2;
}

static void
db_finish_query(struct db_conn *c)
{
	struct db_query	*q = c->dc_query;
	PGresult	*res = c->dc_result;
	const char	*state = db_sqlstate(res);

	c->dc_query = NULL;
	c->dc_result = NULL;
	c->dc_state = DB_IDLE;
	evtimer_del(c->dc_timer);
	/* The server going away is an outage, not an answer. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	    strncmp(state, "53", 2) == 0) {
		log_warnx("database: %s", PQresultErrorMessage(res));
		PQclear(res);
		res = NULL;
	} else if (res != NULL && !db_ok(res))
		log_debug("database: %s", PQresultErrorMessage(res));
	db_query_done(q, res);
	if (res != NULL)
		PQclear(res);
	if (PQstatus(c->dc_pg) == CONNECTION_BAD)
		db_broken(c, "connection lost");
	else
		db_next(c);
}

/*
 * The statement of the current query is prepared: the query runs now.
 * A statement the server refused to prepare is the query's answer.
 */
static void
db_prepared(struct db_conn *c)
{
	int	 idx = c->dc_preparing;

	c->dc_preparing = -1;
	if (c->dc_result == NULL ||
	    PQresultStatus(c->dc_result) != PGRES_COMMAND_OK) {
		db_finish_query(c);
		return;
	}
	PQclear(c->dc_result);
	c->dc_result = NULL;
	c->dc_prepared[idx / 8] |= 1 << (idx % 8);
	db_send(c);
}

static void
db_read_results(struct db_conn *c)
{
	PGresult	*res;

	if (PQconsumeInput(c->dc_pg) == 0) {
		db_broken(c, PQerrorMessage(c->dc_pg));
		return;
	}
	while (!PQisBusy(c->dc_pg)) {
		if ((res = PQgetResult(c->dc_pg)) == NULL) {
			if (c->dc_preparing != -1)
				db_prepared(c);
			else
				db_finish_query(c);
			return;
		}
		if (c->dc_result != NULL)
			PQclear(c->dc_result);
		c->dc_result = res;
	}
}

static void
db_poll_connect(struct db_conn *c)
{
	switch (PQconnectPoll(c->dc_pg)) {
	case PGRES_POLLING_READING:
		db_watch(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		db_watch(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->dc_pg, 1) == -1) {
			db_broken(c, "cannot set non-blocking");
			return;
		}
		evtimer_del(c->dc_timer);
		if (c->dc_backoff > DB_BACKOFF_MIN_MS) {
			log_info("database connection %d is back",
			    c->dc_index);
			metrics_count(MC_DB_RECONNECTS);
		}
		c->dc_backoff = DB_BACKOFF_MIN_MS;
		c->dc_state = DB_IDLE;
		db_watch(c, EV_READ | EV_PERSIST);
		db_next(c);
		break;
	default:
		db_broken(c, PQerrorMessage(c->dc_pg));
		break;
	}
}

static void
db_io(int fd, short events, void *arg)
{
	struct db_conn	*c = arg;

	(void)fd;
	switch (c->dc_state) {
	case DB_CONNECTING:
		db_poll_connect(c);
		break;
	case DB_BUSY:
		if ((events & EV_WRITE) && PQflush(c->dc_pg) == -1) {
			db_broken(c, PQerrorMessage(c->dc_pg));
			return;
		}
		if (events & EV_READ)
			db_read_results(c);
		break;
	case DB_IDLE:
		/* Notices, or the server closing the connection. */
		if (PQconsumeInput(c->dc_pg) == 0 ||
		    PQstatus(c->dc_pg) == CONNECTION_BAD)
			db_broken(c, "connection closed by the server");
		break;
	case DB_DOWN:
		break;
	}
}

static void
db_timeout(int fd, short events, void *arg)
{
	struct db_conn	*c = arg;

	(void)fd;
	(void)events;
	switch (c->dc_state) {
	case DB_DOWN:
		db_connect(c);
		break;
	case DB_CONNECTING:
		db_broken(c, "connect timed out");
		break;
	case DB_BUSY:
		db_broken(c, "query timed out");
		break;
	case DB_IDLE:
		break;
	}
}

static void
db_connect(struct db_conn *c)
{
	const char	*keys[] = { "dbname", "application_name",
			    "connect_timeout", "options", NULL };
	const char	*vals[] = { db_conninfo, "authd", "3",
			    "-c statement_timeout=5000", NULL };

	if (db_stopping)
		return;
	c->dc_pg = PQconnectStartParams(keys, vals, 1);
	if (c->dc_pg == NULL)
		fatalx("%s: out of memory", __func__);
	if (PQstatus(c->dc_pg) == CONNECTION_BAD) {
		c->dc_state = DB_CONNECTING;
		db_broken(c, PQerrorMessage(c->dc_pg));
		return;
	}
	c->dc_state = DB_CONNECTING;
	db_timer_ms(c->dc_timer, DB_CONNECT_TIMEOUT_MS);
	db_watch(c, EV_WRITE);
}

/*
 * Sends the connection's query: its statement's preparation first when
 * this connection has not prepared it yet.
 */
static void
db_send(struct db_conn *c)
{
	struct db_query		*q = c->dc_query;
	const char *const	*params = (const char *const *)q->dq_params;
	char			 name[16];
	int			 idx, ok, r;

	idx = db_stmt_index(q->dq_sql);
	if (idx != -1)
		snprintf(name, sizeof(name), "authd_%d", idx);
	if (idx == -1)
		ok = PQsendQueryParams(c->dc_pg, q->dq_sql, q->dq_nparams,
		    NULL, params, NULL, NULL, 0);
	else if (c->dc_prepared[idx / 8] & (1 << (idx % 8)))
		ok = PQsendQueryPrepared(c->dc_pg, name, q->dq_nparams,
		    params, NULL, NULL, 0);
	else {
		ok = PQsendPrepare(c->dc_pg, name, q->dq_sql, q->dq_nparams,
		    NULL);
		c->dc_preparing = idx;
	}
	if (ok == 0) {
		db_broken(c, PQerrorMessage(c->dc_pg));
		return;
	}
	c->dc_state = DB_BUSY;
	db_timer_ms(c->dc_timer, DB_QUERY_TIMEOUT_MS);
	if ((r = PQflush(c->dc_pg)) == -1) {
		db_broken(c, PQerrorMessage(c->dc_pg));
		return;
	}
	db_watch(c, r == 1 ? EV_READ | EV_WRITE | EV_PERSIST :
	    EV_READ | EV_PERSIST);
}

static void
db_next(struct db_conn *c)
{
	struct db_query	*q;

	if (c->dc_state != DB_IDLE || (q = TAILQ_FIRST(&db_queue)) == NULL)
		return;
	TAILQ_REMOVE(&db_queue, q, dq_entry);
	db_nqueued--;
	c->dc_query = q;
	db_send(c);
}

/* Queued queries that waited too long fail rather than hang a client. */
static void
db_expire(int fd, short events, void *arg)
{
	struct db_query	*q, *tq;
	struct timespec	 now;

	(void)fd;
	(void)events;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	TAILQ_FOREACH_SAFE(q, &db_queue, dq_entry, tq) {
		if ((now.tv_sec - q->dq_queued.tv_sec) * 1000 +
		    (now.tv_nsec - q->dq_queued.tv_nsec) / 1000000 <
		    DB_QUERY_TIMEOUT_MS)
			continue;
		TAILQ_REMOVE(&db_queue, q, dq_entry);
		db_nqueued--;
		db_query_done(q, NULL);
	}
}

/*
 * Queues one statement with text parameters (NULL for SQL NULL).  The
 * callback, if any, runs exactly once with the result or NULL on an
 * outage.  Returns -1 at once when the database is known to be down.
 */
int
db_query(const char *sql, int nparams, const char *const *params,
    db_cb cb, void *arg)
{
	struct db_query	*q;
	int		 i;

	if (!db_any_hope() || db_nqueued >= DB_MAX_QUEUED)
		return (-1);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return (-1);
	if (nparams > 0 &&
	    (q->dq_params = calloc(nparams, sizeof(char *))) == NULL) {
		free(q);
		return (-1);
	}
	q->dq_nparams = nparams;
	for (i = 0; i < nparams; i++)
		if (params[i] != NULL &&
		    (q->dq_params[i] = strdup(params[i])) == NULL) {
			db_query_free(q);
			return (-1);
		}
	q->dq_sql = sql;
	q->dq_cb = cb;
	q->dq_arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &q->dq_queued);
	TAILQ_INSERT_TAIL(&db_queue, q, dq_entry);
	db_nqueued++;
	for (i = 0; i < db_npool; i++)
		if (db_pool[i].dc_state == DB_IDLE) {
			db_next(&db_pool[i]);
			break;
		}
	return (0);
}

/*
 * libpq reads files of its own at every connection, and a worker
 * reconnects long after the drop: the password file, client
 * certificates and keys, CA certificates and CRLs, the service file,
 * named by the connection string, the environment, or found in $HOME.
 * Their list, for the sandbox (sandbox_worker()).
 */
#define DB_MAX_FILES	24

static char		 db_file[DB_MAX_FILES][PATH_MAX];
static const char	*db_files[DB_MAX_FILES + 1];
static int		 db_nfiles;

static void
db_file_add(const char *dir, const char *file)
{
	int	 n;

	if (dir == NULL || dir[0] == '\0' || db_nfiles >= DB_MAX_FILES)
		return;
	n = snprintf(db_file[db_nfiles], PATH_MAX, "%s%s%s", dir,
	    file != NULL ? "/" : "", file != NULL ? file : "");
	if (n < 0 || n >= PATH_MAX)
		return;
	db_files[db_nfiles] = db_file[db_nfiles];
	db_files[++db_nfiles] = NULL;
}

const char *const *
db_client_files(const struct authd_config *conf)
{
	static const char *const	 kws[] = {
		"passfile", "sslcert", "sslkey", "sslrootcert", "sslcrl",
		"sslcrldir"
	};
	static const char *const	 envs[] = {
		"PGPASSFILE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGSSLCERT",
		"PGSSLKEY", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR"
	};
	PQconninfoOption		*opts, *o;
	const char			*home;
	size_t				 i;

	db_nfiles = 0;
	db_files[0] = NULL;
	if ((opts = PQconninfoParse(conf->c_database, NULL)) != NULL) {
		for (o = opts; o->keyword != NULL; o++)
			for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
				if (o->val != NULL &&
				    strcmp(o->keyword, kws[i]) == 0)
					db_file_add(o->val, NULL);
		PQconninfoFree(opts);
	}
	for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++)
		db_file_add(getenv(envs[i]), NULL);
	if ((home = getenv("HOME")) != NULL) {
		db_file_add(home, ".pgpass");
		db_file_add(home, ".pg_service.conf");
		db_file_add(home, ".postgresql");
	}
	return (db_files);
}

int
db_open(struct event_base *base, const struct authd_config *conf)
{
	struct timeval	 one = { 1, 0 };
	int		 i;

	db_base = base;
	strlcpy(db_conninfo, conf->c_database, sizeof(db_conninfo));
	db_npool = conf->c_db_pool;
	if (db_npool < 1)
		db_npool = 1;
	if (db_npool > DB_MAX_POOL)
		db_npool = DB_MAX_POOL;
	for (i = 0; i < db_npool; i++) {
		db_pool[i].dc_index = i;
		db_pool[i].dc_backoff = DB_BACKOFF_MIN_MS;
		db_pool[i].dc_state = DB_DOWN;
		db_pool[i].dc_preparing = -1;
		if ((db_pool[i].dc_timer = evtimer_new(base, db_timeout,
		    &db_pool[i])) == NULL)
			return (-1);
		db_connect(&db_pool[i]);
	}
	if ((db_sweep = event_new(base, -1, EV_PERSIST, db_expire,
	    NULL)) == NULL || event_add(db_sweep, &one) == -1)
		return (-1);
	return (0);
}

void
db_close(void)
{
	int	 i;

	db_stopping = 1;
	db_fail_queue();
	for (i = 0; i < db_npool; i++) {
		if (db_pool[i].dc_query != NULL)
			continue;	/* ends by itself */
		if (db_pool[i].dc_ev != NULL)
			event_free(db_pool[i].dc_ev);
		db_pool[i].dc_ev = NULL;
		evtimer_del(db_pool[i].dc_timer);
		if (db_pool[i].dc_pg != NULL)
			PQfinish(db_pool[i].dc_pg);
		db_pool[i].dc_pg = NULL;
		db_pool[i].dc_state = DB_DOWN;
	}
}
