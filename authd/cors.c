/*
 * Cross-origin requests.  Only the configured origins get CORS headers,
 * compared exactly (scheme, host and port), and credentials are allowed
 * only for them; there is never a "*".  Whether a request is allowed is
 * never decided by its Origin: that is the token's job.
 */
#include <sys/types.h>

#include <string.h>

#include <event2/http.h>

#include "authd.h"

#define CORS_MAX_AGE		"600"
#define CORS_ALLOW_HEADERS \
	"Authorization, Content-Type, X-API-Key, X-Request-Id, " \
	"X-Device-Id, X-Signature, X-Timestamp"
#define CORS_EXPOSE_HEADERS \
	"X-Request-Id, X-Total-Count, Retry-After, RateLimit-Limit, " \
	"RateLimit-Remaining, RateLimit-Reset"

static const char *
cors_origin(struct http_req *hr)
{
	const char	*origin = http_header(hr, "Origin");
	int		 i;

	if (origin == NULL)
		return (NULL);
	for (i = 0; i < worker_conf.c_norigins; i++)
		if (strcmp(origin, worker_conf.c_origins[i]) == 0)
			return (worker_conf.c_origins[i]);
	return (NULL);
}

/* The headers of an ordinary answer to an allowed origin. */
void
cors_headers(struct http_req *hr, struct evkeyvalq *h)
{
	const char	*origin;

	if (worker_conf.c_norigins == 0)
		return;
	evhttp_add_header(h, "Vary", "Origin");
	if ((origin = cors_origin(hr)) == NULL)
		return;
	evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
	evhttp_add_header(h, "Access-Control-Allow-Credentials", "true");
	evhttp_add_header(h, "Access-Control-Expose-Headers",
	    CORS_EXPOSE_HEADERS);
}

static void
cors_methods(unsigned int methods, char *buf, size_t len)
{
	static const struct {
		unsigned int	 bit;
		const char	*name;
	} names[] = {
		{ EVHTTP_REQ_GET, "GET" }, { EVHTTP_REQ_HEAD, "HEAD" },
		{ EVHTTP_REQ_POST, "POST" }, { EVHTTP_REQ_PUT, "PUT" },
		{ EVHTTP_REQ_PATCH, "PATCH" }, { EVHTTP_REQ_DELETE, "DELETE" },
		{ EVHTTP_REQ_OPTIONS, "OPTIONS" },
	};
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(methods & names[i].bit))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, names[i].name, len);
	}
}

/*
 * The Allow header of a routed path (RFC 9110 10.2.1), on OPTIONS and
 * on a 405: its routes' methods, OPTIONS, and HEAD where GET is.
 * Writes the list to allow as well.
 */
void
cors_allow(struct http_req *hr, unsigned int methods, char *allow,
    size_t len)
{
	methods |= EVHTTP_REQ_OPTIONS;
	if (methods & EVHTTP_REQ_GET)
		methods |= EVHTTP_REQ_HEAD;
	cors_methods(methods, allow, len);
	http_set_header(hr, "Allow", allow);
}

/*
 * OPTIONS on a routed path: a preflight from an allowed origin gets the
 * methods and headers it may use; anyone else only the Allow header.
 */
void
cors_preflight(struct http_req *hr, unsigned int methods)
{
	char	 allow[128];

	cors_allow(hr, methods, allow, sizeof(allow));
	if (cors_origin(hr) != NULL &&
	    http_header(hr, "Access-Control-Request-Method") != NULL) {
		http_set_header(hr, "Access-Control-Allow-Methods", allow);
		http_set_header(hr, "Access-Control-Allow-Headers",
		    CORS_ALLOW_HEADERS);
		http_set_header(hr, "Access-Control-Max-Age", CORS_MAX_AGE);
	}
	http_reply_raw(hr, 204, "application/json", "", 0);
}
