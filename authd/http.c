/*
 * The HTTP surface of a worker: libevent's evhttp with every request
 * routed here through one table, one place that writes answers, and
 * JSON bodies for every error (evhttp's own pages are HTML).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"

#define HTTP_MAX_SEGMENTS	12

#define GET	EVHTTP_REQ_GET
#define POST	EVHTTP_REQ_POST
#define PUT	EVHTTP_REQ_PUT
#define DELETE	EVHTTP_REQ_DELETE

/* Every route of the API: method, path, handler, who may call it. */
static const struct route http_routes[] = {
	{ GET, "/", api_root, WHO_ANYONE, NULL, 0 },
	{ GET, "/health/db", api_health_db, WHO_ANYONE, NULL, 0 },
	{ GET, "/health/redis", api_health_redis, WHO_ANYONE, NULL, 0 },
	{ GET, "/.well-known/jwks.json", api_jwks, WHO_ANYONE, NULL, 0 },
	{ GET, "/metrics", api_metrics, WHO_ANYONE, NULL, 0 },
	{ GET, "/.well-known/openid-configuration", api_openid_configuration,
	    WHO_ANYONE, NULL, 0 },

	/* api_docs.c: the document and the pages that render it. */
	{ GET, "/api/v1/openapi.json", api_docs_openapi, WHO_ANYONE, NULL, 0 },
	{ GET, "/docs", api_docs_swagger, WHO_ANYONE, NULL, ROUTE_HTML },
	{ GET, "/redoc", api_docs_redoc, WHO_ANYONE, NULL, ROUTE_HTML },
	{ GET, "/docs/swagger-ui-bundle.js", api_docs_asset, WHO_ANYONE, NULL,
	    0 },
	{ GET, "/docs/swagger-ui.css", api_docs_asset, WHO_ANYONE, NULL, 0 },
	{ GET, "/docs/swagger-init.js", api_docs_asset, WHO_ANYONE, NULL, 0 },
	{ GET, "/docs/favicon-32x32.png", api_docs_asset, WHO_ANYONE, NULL, 0 },
	{ GET, "/redoc/redoc.standalone.js", api_docs_asset, WHO_ANYONE, NULL,
	    0 },

	/* ROUTE_NOINVAL: see authcache.c. */
	{ POST, "/api/v1/auth/login", api_auth_login, WHO_ANYONE, NULL,
	    ROUTE_NOINVAL },
	{ POST, "/api/v1/auth/refresh", api_auth_refresh, WHO_ANYONE, NULL,
	    ROUTE_NOINVAL },
	{ POST, "/api/v1/auth/logout", api_auth_logout, WHO_USER, NULL, 0 },
	{ POST, "/api/v1/auth/password-reset-request",
	    api_account_reset_request, WHO_ANYONE, NULL, ROUTE_NOINVAL },
	{ POST, "/api/v1/auth/password-reset", api_account_reset, WHO_ANYONE,
	    NULL, 0 },
	{ POST, "/api/v1/auth/verify-email", api_account_verify, WHO_ANYONE,
	    NULL, 0 },
	{ POST, "/api/v1/auth/resend-verification", api_account_resend,
	    WHO_USER, NULL, ROUTE_NOINVAL },
	{ POST, "/api/v1/auth/introspect", api_auth_introspect,
	    WHO_APIKEY_OR_ADMIN, NULL, ROUTE_NOSTORE | ROUTE_NOINVAL },

	{ GET, "/api/v1/users/me", api_users_me, WHO_USER, NULL, 0 },
	{ GET, "/api/v1/users/me/sessions", api_sessions_mine, WHO_USER,
	    NULL, 0 },
	{ DELETE, "/api/v1/users/me/sessions", api_sessions_revoke_others,
	    WHO_USER, NULL, 0 },
	{ DELETE, "/api/v1/users/me/sessions/{session_id}",
	    api_sessions_revoke_mine, WHO_USER, NULL, 0 },
	{ GET, "/api/v1/users/active-sessions", api_sessions_list, WHO_ADMIN,
	    "sessions:read", 0 },
	{ DELETE, "/api/v1/users/sessions/{session_id}", api_sessions_revoke,
	    WHO_ADMIN, "sessions:delete", 0 },
	{ GET, "/api/v1/sessions", api_sessions_list, WHO_ADMIN,
	    "sessions:read", 0 },
	{ DELETE, "/api/v1/sessions/{session_id}", api_sessions_revoke,
	    WHO_ADMIN, "sessions:delete", 0 },
	{ POST, "/api/v1/users/me/2fa/setup", api_twofactor_setup, WHO_USER,
	    NULL, ROUTE_NOSTORE },
	{ POST, "/api/v1/users/me/2fa/enable", api_twofactor_enable, WHO_USER,
	    NULL, ROUTE_NOSTORE },
	{ POST, "/api/v1/users/me/2fa/disable", api_twofactor_disable,
	    WHO_USER, NULL, 0 },

	/* api_users.c: the words me and active-stats before {user_id}. */
	{ PUT, "/api/v1/users/me", api_users_update_me, WHO_USER, NULL, 0 },
	{ GET, "/api/v1/users/me/login-history", api_users_my_logins,
	    WHO_USER, NULL, 0 },
	{ GET, "/api/v1/users/active-stats", api_users_stats, WHO_ADMIN,
	    "users:read", 0 },
	{ GET, "/api/v1/users", api_users_list, WHO_ADMIN, "users:read", 0 },
	{ POST, "/api/v1/users", api_users_create, WHO_ADMIN, "users:create",
	    0 },
	{ POST, "/api/v1/auth/register", api_users_create, WHO_ADMIN,
	    "users:create", 0 },
	{ GET, "/api/v1/users/{user_id}", api_users_get, WHO_ADMIN,
	    "users:read", 0 },
	{ PUT, "/api/v1/users/{user_id}", api_users_update, WHO_ADMIN,
	    "users:update", 0 },
	{ DELETE, "/api/v1/users/{user_id}", api_users_delete, WHO_ADMIN,
	    "users:delete", 0 },
	{ GET, "/api/v1/users/{user_id}/roles", api_users_roles, WHO_ADMIN,
	    "users:read", 0 },
	{ POST, "/api/v1/users/{user_id}/roles/{role_id}", api_users_role_add,
	    WHO_ADMIN, "roles:update", 0 },
	{ DELETE, "/api/v1/users/{user_id}/roles/{role_id}",
	    api_users_role_remove, WHO_ADMIN, "roles:update", 0 },
	{ GET, "/api/v1/users/{user_id}/login-history", api_users_logins,
	    WHO_ADMIN, "users:read", 0 },
	{ POST, "/api/v1/users/{user_id}/unlock", api_users_unlock, WHO_ADMIN,
	    "users:update", 0 },

	{ GET, "/api/v1/companies", api_companies_list, WHO_USER, NULL, 0 },
	{ POST, "/api/v1/companies", api_companies_create, WHO_ADMIN, NULL,
	    0 },
	{ GET, "/api/v1/companies/{company_id}", api_companies_get, WHO_USER,
	    NULL, 0 },
	{ PUT, "/api/v1/companies/{company_id}", api_companies_update,
	    WHO_ADMIN, NULL, 0 },
	{ DELETE, "/api/v1/companies/{company_id}", api_companies_delete,
	    WHO_ADMIN, NULL, 0 },
	{ GET, "/api/v1/audit", api_audit_list, WHO_ADMIN, "audit:read", 0 },
	{ POST, "/api/v1/authz/check", api_authz_check, WHO_USER, NULL,
	    ROUTE_NOINVAL },

	{ GET, "/api/v1/roles", api_roles_list, WHO_USER, NULL, 0 },
	{ POST, "/api/v1/roles", api_roles_create, WHO_ADMIN, "roles:create",
	    0 },
	{ GET, "/api/v1/roles/{role_id}", api_roles_get, WHO_USER, NULL, 0 },
	{ PUT, "/api/v1/roles/{role_id}", api_roles_update, WHO_ADMIN,
	    "roles:update", 0 },
	{ DELETE, "/api/v1/roles/{role_id}", api_roles_delete, WHO_ADMIN,
	    "roles:delete", 0 },
	{ POST, "/api/v1/roles/{role_id}/permissions/{permission_id}",
	    api_roles_permission_add, WHO_ADMIN, "roles:update", 0 },
	{ DELETE, "/api/v1/roles/{role_id}/permissions/{permission_id}",
	    api_roles_permission_remove, WHO_ADMIN, "roles:update", 0 },
	{ GET, "/api/v1/permissions", api_permissions_list, WHO_USER, NULL,
	    0 },
	{ POST, "/api/v1/permissions", api_permissions_create, WHO_ADMIN,
	    NULL, 0 },
	{ GET, "/api/v1/permissions/{permission_id}", api_permissions_get,
	    WHO_USER, NULL, 0 },
	{ PUT, "/api/v1/permissions/{permission_id}", api_permissions_update,
	    WHO_ADMIN, NULL, 0 },
	{ DELETE, "/api/v1/permissions/{permission_id}", api_permissions_delete,
	    WHO_ADMIN, NULL, 0 },
	{ GET, "/api/v1/integrations", api_integrations_list, WHO_ADMIN,
	    "integrations:read", 0 },
	{ POST, "/api/v1/integrations", api_integrations_create, WHO_ADMIN,
	    "integrations:create", ROUTE_NOSTORE },
	{ GET, "/api/v1/integrations/{integration_id}", api_integrations_get,
	    WHO_ADMIN, "integrations:read", 0 },
	{ PUT, "/api/v1/integrations/{integration_id}", api_integrations_update,
	    WHO_ADMIN, "integrations:update", 0 },
	{ DELETE, "/api/v1/integrations/{integration_id}",
	    api_integrations_delete, WHO_ADMIN, "integrations:delete", 0 },
	{ POST, "/api/v1/integrations/{integration_id}/regenerate-secret",
	    api_integrations_regenerate_secret, WHO_ADMIN,
	    "integrations:update", ROUTE_NOSTORE },
	{ POST, "/api/v1/integrations/{integration_id}/regenerate-key",
	    api_integrations_regenerate_key, WHO_ADMIN, "integrations:update",
	    ROUTE_NOSTORE },
	{ GET, "/api/v1/integrations/{integration_id}/events",
	    api_webhooks_events, WHO_ADMIN, "integrations:read", 0 },
	{ GET, "/api/v1/integrations/{integration_id}/deliveries",
	    api_webhooks_deliveries, WHO_ADMIN, "integrations:read", 0 },
	{ POST, "/api/v1/webhooks/{word}", api_webhooks_receive, WHO_ANYONE,
	    NULL, 0 },
	{ GET, "/api/v1/resources", api_resources_list, WHO_USER, NULL, 0 },
	{ POST, "/api/v1/resources", api_resources_create, WHO_ADMIN, NULL,
	    0 },
	{ GET, "/api/v1/resources/{resource_id}", api_resources_get, WHO_USER,
	    NULL, 0 },
	{ PUT, "/api/v1/resources/{resource_id}", api_resources_update,
	    WHO_ADMIN, NULL, 0 },
	{ DELETE, "/api/v1/resources/{resource_id}", api_resources_delete,
	    WHO_ADMIN, NULL, 0 },
};

static struct evhttp	*http_server;
static struct evhttp_bound_socket *http_bound[CONFIG_MAX_LISTEN];
static int		 http_nbound;
static unsigned int	 http_active;
static uint64_t		 http_served_count;

static uint64_t		 http_errors;

unsigned int
http_inflight(void)
{
	return (http_active);
}

uint64_t
http_served(void)
{
	return (http_served_count);
}

uint64_t
http_failed(void)
{
	return (http_errors);
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 202: return ("Accepted");
	case 204: return ("No Content");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 413: return ("Payload Too Large");
	case 422: return ("Unprocessable Entity");
	case 429: return ("Too Many Requests");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Internal Server Error");
	}
}

/*
 * The security headers of every answer, also of those that evhttp
 * gives before a request reaches us (http_error_page).
 */
static const struct {
	const char	*sh_name;
	const char	*sh_value;
} http_secure[] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" }
};
#define HTTP_CSP	"default-src 'none'; frame-ancestors 'none'"

/* The Strict-Transport-Security value into buf, or NULL when off. */
static const char *
http_hsts(char *buf, size_t len)
{
	if (worker_conf.c_hsts <= 0)
		return (NULL);
	snprintf(buf, len, "max-age=%d", worker_conf.c_hsts);
	return (buf);
}

static void
http_headers(struct http_req *hr, const char *content_type)
{
	struct evkeyvalq	*h;
	const char		*hsts;
	char			 buf[64];
	size_t			 i;

	h = evhttp_request_get_output_headers(hr->hr_req);
	evhttp_add_header(h, "Content-Type", content_type);
	for (i = 0; i < sizeof(http_secure) / sizeof(http_secure[0]); i++)
		evhttp_add_header(h, http_secure[i].sh_name,
		    http_secure[i].sh_value);
	/* HTML pages (the API docs) run scripts and styles of ours. */
	evhttp_add_header(h, "Content-Security-Policy",
	    hr->hr_route != NULL && (hr->hr_route->rt_flags & ROUTE_HTML) &&
	    strncmp(content_type, "text/html", 9) == 0 ? API_DOCS_CSP :
	    HTTP_CSP);
	evhttp_add_header(h, "X-Request-Id", hr->hr_reqid);
	if (hr->hr_nostore) {
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "Pragma", "no-cache");
	}
	if ((hsts = http_hsts(buf, sizeof(buf))) != NULL)
		evhttp_add_header(h, "Strict-Transport-Security", hsts);
	cors_headers(hr, h);
}

static const char *
http_method_name(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET: return ("GET");
	case EVHTTP_REQ_POST: return ("POST");
	case EVHTTP_REQ_PUT: return ("PUT");
	case EVHTTP_REQ_DELETE: return ("DELETE");
	case EVHTTP_REQ_OPTIONS: return ("OPTIONS");
	case EVHTTP_REQ_PATCH: return ("PATCH");
	case EVHTTP_REQ_HEAD: return ("HEAD");
	default: return ("OTHER");
	}
}

static void
http_finish(struct http_req *hr, int status)
{
	struct timespec	 now;
	long		 us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - hr->hr_start.tv_sec) * 1000000 +
	    (now.tv_nsec - hr->hr_start.tv_nsec) / 1000;
	/* The access log: the route pattern, never a token or a query. */
	if (worker_conf.c_access_log)
		log_info("access: %s %s %d %ld.%03ldms id=%s addr=%s "
		    "user=%" PRId64 " company=%" PRId64,
		    http_method_name(hr->hr_method), hr->hr_route != NULL ?
		    hr->hr_route->rt_path : "-", status, us / 1000, us % 1000,
		    hr->hr_reqid, hr->hr_addr, hr->hr_user.au_uid,
		    hr->hr_user.au_cid);
	metrics_request(hr->hr_route != NULL ? hr->hr_route - http_routes :
	    -1, status, us);
	http_active--;
	http_served_count++;
	if (status >= 500)
		http_errors++;
	if (hr->hr_ctx_free != NULL)
		hr->hr_ctx_free(hr->hr_ctx);
	if (hr->hr_query != NULL) {
		evhttp_clear_headers(hr->hr_query);
		free(hr->hr_query);
	}
	json_decref(hr->hr_user.au_perms);
	free(hr->hr_user.au_perms_text);
	authcache_clear(hr);
	free((void *)(uintptr_t)hr->hr_path);
	free(hr);
}

static void
http_send(struct http_req *hr, int status, const char *content_type,
    const char *body, size_t len)
{
	struct evbuffer	*buf;

	http_headers(hr, content_type);
	/* A HEAD answer has the headers of GET and no body (RFC 9110 9.3.2). */
	if (evhttp_request_get_command(hr->hr_req) == EVHTTP_REQ_HEAD)
		len = 0;
	if ((buf = evbuffer_new()) == NULL ||
	    evbuffer_add(buf, body, len) == -1)
		fatalx("%s: out of memory", __func__);
	evhttp_send_reply(hr->hr_req, status, http_reason(status), buf);
	evbuffer_free(buf);
	http_finish(hr, status);
}

/* An answer held until the cache entries its write changed are dead. */
struct http_held {
	struct http_req	*hh_hr;
	int		 hh_status;
	char		*hh_type;
	char		*hh_body;
	size_t		 hh_len;
};

static void
http_held_free(struct http_held *hh)
{
	free(hh->hh_type);
	free(hh->hh_body);
	free(hh);
}

static void
http_held_send(void *arg)
{
	struct http_held	*hh = arg;

	http_send(hh->hh_hr, hh->hh_status, hh->hh_type, hh->hh_body,
	    hh->hh_len);
	http_held_free(hh);
}

static int
http_hold(struct http_req *hr, int status, const char *content_type,
    const char *body, size_t len)
{
	struct http_held	*hh;

	if ((hh = calloc(1, sizeof(*hh))) == NULL ||
	    (hh->hh_type = strdup(content_type)) == NULL ||
	    (hh->hh_body = malloc(len + 1)) == NULL) {
		if (hh != NULL)
			http_held_free(hh);
		return (-1);
	}
	memcpy(hh->hh_body, body, len);
	hh->hh_hr = hr;
	hh->hh_status = status;
	hh->hh_len = len;
	if (authcache_invalidate(hr, http_held_send, hh) == -1) {
		http_held_free(hh);
		return (-1);
	}
	return (0);
}

void
http_reply_raw(struct http_req *hr, int status, const char *content_type,
    const char *body, size_t len)
{
	if (authcache_bumps(hr, status) &&
	    http_hold(hr, status, content_type, body, len) == 0)
		return;
	http_send(hr, status, content_type, body, len);
}

/* Sends body (taking its reference) and frees hr. */
void
http_reply(struct http_req *hr, int status, json_t *body)
{
	char	*text;

	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps", __func__);
	json_decref(body);
	http_reply_raw(hr, status, "application/json", text, strlen(text));
	free(text);
}

void
http_error(struct http_req *hr, int status, const char *detail)
{
	http_reply(hr, status, json_pack("{s:s}", "detail", detail));
}

void
http_unavailable(struct http_req *hr)
{
	evhttp_add_header(evhttp_request_get_output_headers(hr->hr_req),
	    "Retry-After", "5");
	http_error(hr, 503, "Service temporarily unavailable");
}

/* A path id: decimal digits only, a positive int64, no sign, no zeros. */
static int
http_parse_id(const char *s, size_t len, int64_t *id)
{
	int64_t	 v = 0;
	size_t	 i;

	if (len == 0 || len > 19 || s[0] == '0')
		return (-1);
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (-1);
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*id = v;
	return (0);
}

/*
 * A {word} (the type of POST /api/v1/webhooks/{word}) is any segment of
 * printable ASCII up to sizeof(hr_word) - 1 bytes, so that the handler
 * checks the key first and answers a type that is not the key's with a
 * 400 naming it, as JSON escapes it.  Controls, spaces and bytes beyond
 * ASCII (which JSON could not carry as sent) and longer segments match
 * no route: 404.
 */
static int
http_word_char(int c)
{
	return (c > 0x20 && c < 0x7f);
}

/* A pattern segment {..._id}: an id, named as the OpenAPI document does. */
static int
http_id_segment(const char *p, size_t plen)
{
	return (plen > 5 && p[0] == '{' && strncmp(p + plen - 4, "_id}",
	    4) == 0);
}

/*
 * Matches path against a route pattern.  1 on a match; 0 when not;
 * -1 when it matches but an id is malformed (hr_badids says which: a
 * 422 for the client, once it is known to be allowed the route).
 */
static int
http_match(const char *pattern, const char *path, struct http_req *hr)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 plen, slen;

	hr->hr_nids = 0;
	hr->hr_badids = 0;
	for (;;) {
		if (*p != '/' || *s != '/')
			return (0);
		p++;
		s++;
		pe = p + strcspn(p, "/");
		se = s + strcspn(s, "/");
		plen = pe - p;
		slen = se - s;
		if (http_id_segment(p, plen)) {
			if (hr->hr_nids >= HTTP_MAX_IDS)
				return (0);
			if (http_parse_id(s, slen, &hr->hr_id[hr->hr_nids]) ==
			    -1) {
				if (slen == 0 || slen > 64 || memchr(s, '%',
				    slen) != NULL)
					return (0);
				hr->hr_badids |= 1U << hr->hr_nids;
			}
			/* The name without its braces, for the 422's loc. */
			hr->hr_idname[hr->hr_nids] = p + 1;
			hr->hr_idnamelen[hr->hr_nids] = (int)plen - 2;
			hr->hr_nids++;
		} else if (plen == 6 && strncmp(p, "{word}", 6) == 0) {
			size_t	 i;

			if (slen == 0 || slen >= sizeof(hr->hr_word))
				return (0);
			for (i = 0; i < slen; i++)
				if (!http_word_char((unsigned char)s[i]))
					return (0);
			memcpy(hr->hr_word, s, slen);
			hr->hr_word[slen] = '\0';
		} else if (plen != slen || strncmp(p, s, plen) != 0)
			return (0);
		p = pe;
		s = se;
		if (*p == '\0' && *s == '\0')
			return (hr->hr_badids ? -1 : 1);
		if (*p == '\0' || *s == '\0')
			return (0);
	}
}

/*
 * Finds the route; *status is 404 or 405 when none is returned.  A route
 * whose path has a malformed id is returned when no other matches, with
 * hr_badids set: FastAPI checks the caller before the path's values, so
 * a client without a token hears 401 there, not 422 (http_run()).
 */
static const struct route *
http_route(struct http_req *hr, int *status)
{
	/* Each pattern's text before its first {: no match without it. */
	static size_t	 literal[sizeof(http_routes) /
			    sizeof(http_routes[0])];
	const struct route *badid = NULL;
	size_t		 i;
	int		 m, path_seen = 0;

	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		if (literal[i] == 0)
			literal[i] = strcspn(http_routes[i].rt_path, "{");
		if (strncmp(http_routes[i].rt_path, hr->hr_path,
		    literal[i]) != 0)
			continue;
		m = http_match(http_routes[i].rt_path, hr->hr_path, hr);
		if (m == 0)
			continue;
		path_seen = 1;
		if (http_routes[i].rt_method != hr->hr_method)
			continue;
		if (m == 1)
			return (&http_routes[i]);
		if (badid == NULL)
			badid = &http_routes[i];
	}
	if (badid != NULL) {
		/* Its ids again: later patterns overwrote them. */
		(void)http_match(badid->rt_path, hr->hr_path, hr);
		return (badid);
	}
	*status = path_seen ? 405 : 404;
	return (NULL);
}

/*
 * Runs the route's handler for a caller allowed to use it, or answers
 * 422 for the malformed ids of its path, each at its name.
 */
void
http_run(struct http_req *hr)
{
	json_t	*errs;
	int	 i;

	if (hr->hr_badids == 0) {
		hr->hr_route->rt_handler(hr);
		return;
	}
	if ((errs = json_array()) == NULL) {
		http_unavailable(hr);
		return;
	}
	for (i = 0; i < hr->hr_nids; i++)
		if (hr->hr_badids & (1U << i))
			json_array_append_new(errs, json_pack(
			    "{s:s,s:[s,s#],s:s}", "type", "int_parsing",
			    "loc", "path", hr->hr_idname[i],
			    (int)hr->hr_idnamelen[i], "msg",
			    "Input should be a valid integer"));
	http_validation(hr, errs);
}

/* The methods of the routes of the request's path. */
static unsigned int
http_methods(struct http_req *hr)
{
	unsigned int	 methods = 0;
	size_t		 i;

	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++)
		if (http_match(http_routes[i].rt_path, hr->hr_path, hr) != 0)
			methods |= http_routes[i].rt_method;
	return (methods);
}

/* OPTIONS: the methods of the path, and CORS preflight answers. */
static void
http_options(struct http_req *hr)
{
	unsigned int	 methods;

	if ((methods = http_methods(hr)) == 0) {
		http_error(hr, 404, "Not Found");
		return;
	}
	cors_preflight(hr, methods);
}

/* The routes, for metrics labels. */
const struct route *
http_route_at(size_t i)
{
	return (i < sizeof(http_routes) / sizeof(http_routes[0]) ?
	    &http_routes[i] : NULL);
}

/*
 * A request id: a keyed hash of a counter, as unique and unguessable as
 * random bytes without a getrandom(2) for every request.
 */
static void
http_new_reqid(uint8_t raw[16])
{
	static unsigned char	 key[crypto_shorthash_KEYBYTES];
	static uint64_t		 next;
	uint64_t		 n;
	int			 i;

	if (next == 0) {
		crypto_shorthash_keygen(key);
		next = 1;
	}
	for (i = 0; i < 2; i++) {
		n = next++;
		crypto_shorthash(raw + 8 * i, (const unsigned char *)&n,
		    sizeof(n), key);
	}
}

static void
http_request_id(struct http_req *hr, struct evhttp_request *req)
{
	const char	*in;
	size_t		 i, len;
	uint8_t		 raw[16];

	in = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Request-Id");
	if (in != NULL && (len = strlen(in)) > 0 &&
	    len < sizeof(hr->hr_reqid)) {
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)in[i]) && in[i] != '-' &&
			    in[i] != '_' && in[i] != '.')
				break;
		if (i == len) {
			memcpy(hr->hr_reqid, in, len + 1);
			return;
		}
	}
	http_new_reqid(raw);
	sodium_bin2hex(hr->hr_reqid, sizeof(hr->hr_reqid), raw, sizeof(raw));
}

static int
http_trusted(const char *addr)
{
	unsigned char	 buf[sizeof(struct in6_addr)];
	int		 i, af;

	if (inet_pton(AF_INET, addr, buf) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		af = AF_INET6;
	else
		return (0);
	for (i = 0; i < worker_conf.c_nproxies; i++)
		if (config_net_match(&worker_conf.c_proxies[i], af, buf))
			return (1);
	return (0);
}

/*
 * Every X-Forwarded-For header of the request, joined in order as one
 * list (RFC 9110 5.3): a client that sends a header of its own ahead of
 * the proxy's must not be believed for it.  NULL when there is none.
 */
static char *
http_xff(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	char			*list = NULL, *more;

	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "X-Forwarded-For") != 0)
			continue;
		if (list == NULL)
			more = strdup(kv->value);
		else if (asprintf(&more, "%s,%s", list, kv->value) == -1)
			more = NULL;
		free(list);
		if ((list = more) == NULL)
			return (NULL);
	}
	return (list);
}

/*
 * The client's address.  X-Forwarded-For is believed only from a
 * trusted proxy, and then only up to the first address, from the right,
 * that is not itself a trusted proxy.
 */
static void
http_peer(struct http_req *hr, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	char				*addr = NULL, *list, *p;
	uint16_t			 port;

	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	strlcpy(hr->hr_addr, addr != NULL ? addr : "", sizeof(hr->hr_addr));
	strlcpy(hr->hr_peer, hr->hr_addr, sizeof(hr->hr_peer));
	if (!http_trusted(hr->hr_addr) || (list = http_xff(req)) == NULL)
		return;
	while ((p = strrchr(list, ',')) != NULL || *list != '\0') {
		if (p != NULL)
			*p++ = '\0';
		else
			p = list;
		p += strspn(p, " \t");
		p[strcspn(p, " \t")] = '\0';
		if (!http_trusted(p)) {
			if (strlen(p) < sizeof(hr->hr_addr) && (strchr(p,
			    '.') != NULL || strchr(p, ':') != NULL) &&
			    strspn(p, "0123456789abcdefABCDEF.:") == strlen(p))
				strlcpy(hr->hr_addr, p, sizeof(hr->hr_addr));
			break;
		}
		if (p == list)
			break;
	}
	free(list);
}

/*
 * The path as sent, without the query, one trailing slash removed so
 * that "/api/v1/users/" and "/api/v1/users" are the same route.
 */
static char *
http_path(struct evhttp_request *req)
{
	const char	*uri = evhttp_request_get_uri(req);
	size_t		 len;
	char		*path;

	len = strcspn(uri, "?#");
	if ((path = strndup(uri, len)) == NULL)
		return (NULL);
	if (len > 1 && path[len - 1] == '/')
		path[len - 1] = '\0';
	return (path);
}

/*
 * A route an integration may call with its X-API-Key: it acts as a
 * caller of its company without any permission.
 */
static void
http_apikey_done(struct http_req *hr, int64_t integration, int64_t company,
    int ok)
{
	(void)integration;
	if (ok == -1) {
		http_unavailable(hr);
		return;
	}
	if (ok == 0) {
		integration_fail(hr);
		return;
	}
	hr->hr_user.au_cid = company;
	hr->hr_authed = 1;
	http_run(hr);
}

/* Within its rate limit: authenticate if the route needs a caller. */
static void
http_route_allowed(struct http_req *hr)
{
	if (hr->hr_route->rt_who == WHO_APIKEY_OR_ADMIN &&
	    integration_auth(hr, http_apikey_done) == 0)
		return;
	if (hr->hr_route->rt_who != WHO_ANYONE)
		auth_request(hr);
	else
		http_run(hr);
}

static void	 http_dispatch_route(struct http_req *);

/*
 * Two Content-Length headers that disagree: evhttp takes the first, a
 * proxy in front may take the other (RFC 9112 6.3).  Refuse it.
 */
static int
http_smuggled(struct http_req *hr)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(
				    hr->hr_req);
	struct evkeyval		*kv;
	const char		*first = NULL;

	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "Content-Length") != 0)
			continue;
		if (first == NULL)
			first = kv->value;
		else if (strcmp(first, kv->value) != 0)
			return (1);
	}
	return (0);
}

static void
http_dispatch(struct evhttp_request *req, void *arg)
{
	struct http_req	*hr;

	(void)arg;
	conn_request(req);
	if ((hr = calloc(1, sizeof(*hr))) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	http_active++;
	clock_gettime(CLOCK_MONOTONIC, &hr->hr_start);
	hr->hr_req = req;
	hr->hr_method = evhttp_request_get_command(req);
	/* HEAD is GET without a body; evhttp leaves the body out. */
	if (hr->hr_method == EVHTTP_REQ_HEAD)
		hr->hr_method = EVHTTP_REQ_GET;
	http_request_id(hr, req);
	http_peer(hr, req);
	if ((hr->hr_path = http_path(req)) == NULL) {
		hr->hr_path = strdup("");
		http_unavailable(hr);
		return;
	}
	if (strncmp(hr->hr_path, "/api/v1/auth/", 13) == 0)
		hr->hr_nostore = 1;
	if (http_smuggled(hr)) {
		http_set_header(hr, "Connection", "close");
		http_error(hr, 400, "Bad Request");
		return;
	}
	if (hr->hr_method == EVHTTP_REQ_OPTIONS) {
		http_options(hr);
		return;
	}
	hr->hr_route = http_route(hr, &hr->hr_nomatch);
	/* Counted before answering: a flood of unknown paths is one too. */
	if (strncmp(hr->hr_path, "/api/", 5) == 0)
		rl_request(hr, http_dispatch_route);
	else
		http_dispatch_route(hr);
}

/* Within its rate limit: authenticate if need be and run the route. */
static void
http_dispatch_route(struct http_req *hr)
{
	int	 status = hr->hr_nomatch;

	if (hr->hr_route == NULL) {
		if (status == 405) {
			char	 allow[128];

			cors_allow(hr, http_methods(hr), allow, sizeof(allow));
		}
		http_error(hr, status, status == 404 ? "Not Found" :
		    "Method Not Allowed");
		return;
	}
	if (hr->hr_route->rt_flags & ROUTE_NOSTORE)
		hr->hr_nostore = 1;
	http_route_allowed(hr);
}

int
http_init(struct event_base *base, const struct authd_config *conf)
{
	if ((http_server = evhttp_new(base)) == NULL)
		return (-1);
	/* Every method evhttp knows reaches us, for a JSON 405. */
	evhttp_set_allowed_methods(http_server, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_max_body_size(http_server, conf->c_max_body);
	evhttp_set_max_headers_size(http_server, conf->c_max_headers);
	evhttp_set_timeout(http_server, conf->c_timeout);
	evhttp_set_default_content_type(http_server, "application/json");
	evhttp_set_gencb(http_server, http_dispatch, NULL);
	/* evhttp's timeout restarts with each byte: conn.c bounds a request. */
	return (conn_init(base, http_server, conf->c_timeout,
	    conf->c_max_connections));
}

int
http_listen(int fd)
{
	struct evhttp_bound_socket	*bs;

	if (http_nbound >= CONFIG_MAX_LISTEN ||
	    (bs = evhttp_accept_socket_with_handle(http_server, fd)) == NULL)
		return (-1);
	http_bound[http_nbound++] = bs;
	return (0);
}

/*
 * The whole answer to a request that evhttp refused before authd saw it
 * (a body or headers too large, a malformed request line), in place of
 * evhttp's own HTML page: the status, a JSON detail, the security
 * headers of every answer, and the end of the connection.  Its path is
 * not known here, so it always carries the no-store that every
 * /api/v1/auth/ answer must.
 */
void
http_error_page(struct evbuffer *out, int status)
{
	char		 body[96], id[33], date[64], buf[64];
	const char	*hsts;
	uint8_t		 raw[16];
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 i;

	http_new_reqid(raw);
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
	    &tm) == 0)
		date[0] = '\0';
	snprintf(body, sizeof(body), "{\"detail\":\"%s\"}",
	    http_reason(status));
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "Cache-Control: no-store\r\n"
	    "Pragma: no-cache\r\n"
	    "Content-Security-Policy: " HTTP_CSP "\r\n"
	    "X-Request-Id: %s\r\n", status, http_reason(status), date,
	    strlen(body), id);
	for (i = 0; i < sizeof(http_secure) / sizeof(http_secure[0]); i++)
		evbuffer_add_printf(out, "%s: %s\r\n", http_secure[i].sh_name,
		    http_secure[i].sh_value);
	if ((hsts = http_hsts(buf, sizeof(buf))) != NULL)
		evbuffer_add_printf(out, "Strict-Transport-Security: %s\r\n",
		    hsts);
	evbuffer_add_printf(out, "\r\n%s", body);
	if (worker_conf.c_access_log)
		log_info("access: - - %d id=%s (refused by the HTTP layer)",
		    status, id);
}

/* Pauses (0) or resumes (1) taking connections on every socket. */
void
http_accepting(int on)
{
	struct evconnlistener	*l;
	int			 i;

	for (i = 0; i < http_nbound; i++) {
		if ((l = evhttp_bound_socket_get_listener(http_bound[i])) ==
		    NULL)
			continue;
		if (on)
			evconnlistener_enable(l);
		else
			evconnlistener_disable(l);
	}
}

/* Draining: stop taking connections, let the requests in flight end. */
void
http_stop_listening(void)
{
	conn_withdraw();
	while (http_nbound > 0)
		evhttp_del_accept_socket(http_server,
		    http_bound[--http_nbound]);
}

void
http_set_header(struct http_req *hr, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(hr->hr_req), name,
	    value);
}

const char *
http_header(struct http_req *hr, const char *name)
{
	return (evhttp_find_header(evhttp_request_get_input_headers(
	    hr->hr_req), name));
}

/* A JSON text built by the database, sent as it is. */
void
http_reply_text(struct http_req *hr, int status, const char *text)
{
	http_reply_raw(hr, status, "application/json", text, strlen(text));
}

const char *
http_query(struct http_req *hr, const char *key)
{
	const char	*uri, *q;

	if (hr->hr_query == NULL) {
		if ((hr->hr_query = calloc(1, sizeof(*hr->hr_query))) == NULL)
			return (NULL);
		TAILQ_INIT(hr->hr_query);
		uri = evhttp_request_get_uri(hr->hr_req);
		if ((q = strchr(uri, '?')) != NULL &&
		    evhttp_parse_query_str(q + 1, hr->hr_query) == -1)
			evhttp_clear_headers(hr->hr_query);
	}
	return (evhttp_find_header(hr->hr_query, key));
}

json_t *
http_verr(const char *type, const char *where, const char *field,
    const char *msg)
{
	if (field == NULL)
		return (json_pack("{s:s,s:[s],s:s}", "type", type, "loc", where,
		    "msg", msg));
	return (json_pack("{s:s,s:[s,s],s:s}", "type", type, "loc", where,
	    field, "msg", msg));
}

/* A 422 in the validation format; errors is an array, stolen. */
void
http_validation(struct http_req *hr, json_t *errors)
{
	http_reply(hr, 422, json_pack("{s:o}", "detail", errors));
}

void
http_missing(struct http_req *hr, const char *where, const char *field)
{
	http_validation(hr, json_pack("[o]", http_verr("missing", where, field,
	    "Field required")));
}

static int
http_query_int(struct http_req *hr, const char *key, int64_t min,
    int64_t max, int64_t *val, json_t *errors)
{
	const char	*s = http_query(hr, key), *errstr;
	long long	 v;

	if (s == NULL)
		return (0);
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		json_array_append_new(errors, http_verr(strcmp(errstr,
		    "invalid") == 0 ? "int_parsing" : "value_error", "query",
		    key, strcmp(errstr, "invalid") == 0 ?
		    "Input should be a valid integer" : strcmp(errstr,
		    "too small") == 0 ? "Input should be greater than or "
		    "equal to the minimum" : "Input should be less than or "
		    "equal to the maximum"));
		return (-1);
	}
	*val = v;
	return (0);
}

/* skip and limit of a list; -1 after answering 422. */
int
http_paging(struct http_req *hr, int64_t *skip, int64_t *limit)
{
	json_t	*errors = json_array();

	*skip = 0;
	*limit = 100;
	http_query_int(hr, "skip", 0, INT32_MAX, skip, errors);
	http_query_int(hr, "limit", 1, 1000, limit, errors);
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return (-1);
	}
	json_decref(errors);
	return (0);
}

static int
http_body(struct http_req *hr, char **out, size_t *outlen)
{
	struct evbuffer	*buf =
			    evhttp_request_get_input_buffer(hr->hr_req);
	size_t		 len = evbuffer_get_length(buf);
	char		*s;

	if ((s = malloc(len + 1)) == NULL)
		return (-1);
	if (evbuffer_copyout(buf, s, len) != (ev_ssize_t)len) {
		free(s);
		return (-1);
	}
	s[len] = '\0';
	*out = s;
	*outlen = len;
	return (0);
}

static int
http_is_form(struct http_req *hr)
{
	const char	*ct = http_header(hr, "Content-Type");

	return (ct != NULL && strncasecmp(ct,
	    "application/x-www-form-urlencoded", 33) == 0);
}

/*
 * The body as a JSON object; an empty body is an empty object, so that
 * missing fields are reported one by one.  NULL after answering 422.
 */
json_t *
http_body_json(struct http_req *hr)
{
	json_error_t	 jerr;
	json_t		*obj;
	char		*s;
	size_t		 len;

	if (http_body(hr, &s, &len) == -1) {
		http_unavailable(hr);
		return (NULL);
	}
	if (len == 0) {
		free(s);
		return (json_object());
	}
	obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	sodium_memzero(s, len);
	free(s);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		http_validation(hr, json_pack("[{s:s,s:[s,i],s:s}]", "type",
		    "json_invalid", "loc", "body", 0, "msg", obj == NULL ?
		    "JSON decode error" : "Input should be a valid object"));
		return (NULL);
	}
	return (obj);
}

/*
 * Fields of a form-encoded body (OAuth2 style) or of a JSON object, as
 * one JSON object.  Form values are strings; a key given twice is refused.
 * An empty form value is left out, so that "password=" is a missing
 * field, as FastAPI's forms have it, not an empty password.
 */
json_t *
http_body_fields(struct http_req *hr)
{
	struct evkeyvalq	 q;
	struct evkeyval		*kv;
	json_t			*obj;
	char			*s;
	size_t			 len;
	int			 bad = 0;

	if (!http_is_form(hr))
		return (http_body_json(hr));
	if (http_body(hr, &s, &len) == -1) {
		http_unavailable(hr);
		return (NULL);
	}
	TAILQ_INIT(&q);
	obj = json_object();
	/*
	 * A %00 would end the decoded C string early and pass the rest off
	 * as another value ("password=pw%00junk" as "pw"): refused, as a
	 * \u0000 in JSON is.
	 */
	if (strlen(s) != len || strcasestr(s, "%00") != NULL ||
	    evhttp_parse_query_str(s, &q) == -1)
		bad = 1;
	TAILQ_FOREACH(kv, &q, next) {
		if (bad)
			break;
		if (kv->value[0] == '\0')
			continue;
		if (json_object_get(obj, kv->key) != NULL ||
		    json_object_set_new(obj, kv->key,
		    json_string(kv->value)) == -1)
			bad = 1;
	}
	TAILQ_FOREACH(kv, &q, next)
		sodium_memzero(kv->value, strlen(kv->value));
	evhttp_clear_headers(&q);
	sodium_memzero(s, len);
	free(s);
	if (bad) {
		json_decref(obj);
		http_validation(hr, json_pack("[{s:s,s:[s],s:s}]", "type",
		    "value_error", "loc", "body", "msg",
		    "Invalid form body"));
		return (NULL);
	}
	return (obj);
}

/*
 * A failed query: an outage is a 503; so is a transaction that
 * PostgreSQL rolled back to break a deadlock (40P01) or a serialization
 * failure (40001): the request did nothing and may be sent again.
 * A query that worked but found no row where its handler wanted one met
 * a concurrent delete: a 404.  Anything else is a fault of ours.  Each is
 * logged under the request id and answered without any of its text.
 */
void
http_db_result(struct http_req *hr, PGresult *res)
{
	const char	*state;

	if (res == NULL) {
		http_unavailable(hr);
		return;
	}
	/*
	 * It worked but found no row where its handler wanted one: it met
	 * a concurrent delete (of the object, or of the caller).
	 */
	if (db_ok(res)) {
		log_warnx("request %s: the row is gone (deleted meanwhile)",
		    hr->hr_reqid);
		http_error(hr, 404, "Not Found");
		return;
	}
	state = db_sqlstate(res);
	log_warnx("request %s: database error %s: %s", hr->hr_reqid,
	    state, PQresultErrorMessage(res));
	if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) {
		http_unavailable(hr);
		return;
	}
	http_error(hr, 500, "Internal Server Error");
}

/*
 * The answer of a list query whose two columns are the total count and
 * the page as a JSON array text.
 */
void
http_list_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	http_set_header(hr, "X-Total-Count", PQgetvalue(res, 0, 0));
	http_reply_text(hr, 200, PQgetvalue(res, 0, 1));
}

/* The answer of a query whose one row and column is a JSON object text. */
void
http_object_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 404, hr->hr_notfound != NULL ?
		    hr->hr_notfound : "Not Found");
		return;
	}
	http_reply_text(hr, 200, PQgetvalue(res, 0, 0));
}
