/*
 * The service routes: the welcome document, health checks and the
 * public keys.  Health checks ask the real servers every time.
 */
#include <sys/types.h>

#include <string.h>

#include <event2/http.h>
#include <hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"

void
api_root(struct http_req *hr)
{
	http_reply(hr, 200, json_pack("{s:s,s:s,s:s,s:s}",
	    "message", "Welcome to the Authentication Service",
	    "version", AUTHD_VERSION, "docs_url", "/docs",
	    "redoc_url", "/redoc"));
}

static void
api_health(struct http_req *hr, int up)
{
	if (!up)
		evhttp_add_header(evhttp_request_get_output_headers(
		    hr->hr_req), "Retry-After", "5");
	http_reply(hr, up ? 200 : 503, json_pack("{s:s}", "status",
	    up ? "ok" : "unavailable"));
}

static void
api_health_db_done(PGresult *res, void *arg)
{
	api_health(arg, db_ok(res));
}

void
api_health_db(struct http_req *hr)
{
	if (db_query("SELECT 1", 0, NULL, api_health_db_done, hr) == -1)
		api_health(hr, 0);
}

static void
api_health_redis_done(redisReply *reply, void *arg)
{
	api_health(arg, reply != NULL && reply->type == REDIS_REPLY_STATUS &&
	    strcmp(reply->str, "PONG") == 0);
}

void
api_health_redis(struct http_req *hr)
{
	if (redis_command(api_health_redis_done, hr, "PING") == -1)
		api_health(hr, 0);
}

void
api_jwks(struct http_req *hr)
{
	const char	*doc = worker_jwks();

	if (doc == NULL)
		doc = "{\"keys\":[]}";
	http_reply_raw(hr, 200, "application/json", doc, strlen(doc));
}
