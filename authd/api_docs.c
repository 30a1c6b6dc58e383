/*
 * The API's documentation: the OpenAPI document (authd/openapi.json)
 * and the pages that render it, Swagger UI at /docs and ReDoc at
 * /redoc.  Everything is embedded in the binary at build time (see
 * etc/dev/docs-assets.sh), because workers may be chrooted and the
 * pages must load nothing from outside.  The pages are served under
 * API_DOCS_CSP: scripts and styles of this origin only, no inline
 * script, so the start-up code of Swagger UI is a file of its own.
 */
#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "authd.h"
#include "log.h"

/* build/docs/docs_data.S: each blob and its length; 0 when missing. */
extern const unsigned char	 api_docs_openapi_data[];
extern const uint32_t		 api_docs_openapi_data_len;
extern const unsigned char	 api_docs_swagger_js_data[];
extern const uint32_t		 api_docs_swagger_js_data_len;
extern const unsigned char	 api_docs_swagger_css_data[];
extern const uint32_t		 api_docs_swagger_css_data_len;
extern const unsigned char	 api_docs_favicon_data[];
extern const uint32_t		 api_docs_favicon_data_len;
extern const unsigned char	 api_docs_redoc_js_data[];
extern const uint32_t		 api_docs_redoc_js_data_len;

#define API_DOCS_JS	"text/javascript; charset=utf-8"
#define API_DOCS_HTML	"text/html; charset=utf-8"
#define API_DOCS_MISSING \
	"API documentation assets are not installed: build authd with " \
	"access to the npm registry (etc/dev/docs-assets.sh)"

static const char api_docs_swagger_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, "
	"initial-scale=1\">\n"
	"<title>authd API - Swagger UI</title>\n"
	"<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
	"<link rel=\"icon\" type=\"image/png\" "
	"href=\"/docs/favicon-32x32.png\">\n"
	"</head>\n"
	"<body>\n"
	"<div id=\"swagger-ui\"></div>\n"
	"<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
	"<script src=\"/docs/swagger-init.js\"></script>\n"
	"</body>\n"
	"</html>\n";

/*
 * No validator badge (it would load an image from elsewhere); the
 * OAuth2 password flow of the document posts to /api/v1/auth/login of
 * this same server, so "Authorize" then "Try it out" work as they are.
 */
static const char api_docs_swagger_init[] =
	"window.addEventListener(\"load\", function () {\n"
	"\twindow.ui = SwaggerUIBundle({\n"
	"\t\turl: \"/api/v1/openapi.json\",\n"
	"\t\tdom_id: \"#swagger-ui\",\n"
	"\t\tdeepLinking: true,\n"
	"\t\tdisplayRequestDuration: true,\n"
	"\t\tshowExtensions: true,\n"
	"\t\tvalidatorUrl: null,\n"
	"\t\tpresets: [SwaggerUIBundle.presets.apis],\n"
	"\t\tlayout: \"BaseLayout\"\n"
	"\t});\n"
	"});\n";

/* ReDoc's standalone bundle renders the <redoc> element by itself. */
static const char api_docs_redoc_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, "
	"initial-scale=1\">\n"
	"<title>authd API - ReDoc</title>\n"
	"<link rel=\"icon\" type=\"image/png\" "
	"href=\"/docs/favicon-32x32.png\">\n"
	"</head>\n"
	"<body>\n"
	"<redoc spec-url=\"/api/v1/openapi.json\"></redoc>\n"
	"<script src=\"/redoc/redoc.standalone.js\"></script>\n"
	"</body>\n"
	"</html>\n";

struct api_docs_asset {
	const char		*da_path;
	const char		*da_type;
	const unsigned char	*da_data;
	const uint32_t		*da_len;	/* NULL: da_data is a string */
};

/* The files the pages load, by the path of their route. */
static const struct api_docs_asset api_docs_assets[] = {
	{ "/docs/swagger-ui-bundle.js", API_DOCS_JS, api_docs_swagger_js_data,
	    &api_docs_swagger_js_data_len },
	{ "/docs/swagger-ui.css", "text/css; charset=utf-8",
	    api_docs_swagger_css_data, &api_docs_swagger_css_data_len },
	{ "/docs/favicon-32x32.png", "image/png", api_docs_favicon_data,
	    &api_docs_favicon_data_len },
	{ "/docs/swagger-init.js", API_DOCS_JS,
	    (const unsigned char *)api_docs_swagger_init, NULL },
	{ "/redoc/redoc.standalone.js", API_DOCS_JS, api_docs_redoc_js_data,
	    &api_docs_redoc_js_data_len },
};

static size_t
api_docs_len(const struct api_docs_asset *da)
{
	if (da->da_len == NULL)
		return (strlen((const char *)da->da_data));
	return (*da->da_len);
}

/*
 * Whether every bundle was embedded: a page without its scripts would
 * be blank, so it answers 503 and says why instead.
 */
static int
api_docs_complete(void)
{
	size_t	 i;

	for (i = 0; i < NFIELDS(api_docs_assets); i++)
		if (api_docs_len(&api_docs_assets[i]) == 0)
			return (0);
	return (1);
}

static void
api_docs_page(struct http_req *hr, const char *html)
{
	if (!api_docs_complete()) {
		log_warnx("request %s: %s", hr->hr_reqid, API_DOCS_MISSING);
		http_error(hr, 503, API_DOCS_MISSING);
		return;
	}
	http_set_header(hr, "Cache-Control", "no-cache");
	http_reply_raw(hr, 200, API_DOCS_HTML, html, strlen(html));
}

/* GET /api/v1/openapi.json: the document, minified at build time. */
void
api_docs_openapi(struct http_req *hr)
{
	if (api_docs_openapi_data_len == 0) {
		/* docs-assets.sh refuses to build without it: cannot be. */
		http_error(hr, 500, "Internal Server Error");
		return;
	}
	http_set_header(hr, "Cache-Control", "no-cache");
	http_reply_raw(hr, 200, "application/json",
	    (const char *)api_docs_openapi_data, api_docs_openapi_data_len);
}

/* GET /docs: Swagger UI. */
void
api_docs_swagger(struct http_req *hr)
{
	api_docs_page(hr, api_docs_swagger_html);
}

/* GET /redoc: ReDoc. */
void
api_docs_redoc(struct http_req *hr)
{
	api_docs_page(hr, api_docs_redoc_html);
}

/* GET of a file of the pages; the route table lists each path. */
void
api_docs_asset(struct http_req *hr)
{
	const struct api_docs_asset	*da;
	size_t				 i, len;

	for (i = 0; i < NFIELDS(api_docs_assets); i++) {
		da = &api_docs_assets[i];
		if (strcmp(hr->hr_path, da->da_path) != 0)
			continue;
		if ((len = api_docs_len(da)) == 0) {
			http_error(hr, 503, API_DOCS_MISSING);
			return;
		}
		/* Same URL, new content only with a new build of authd. */
		http_set_header(hr, "Cache-Control", "public, max-age=3600");
		http_reply_raw(hr, 200, da->da_type, (const char *)da->da_data,
		    len);
		return;
	}
	http_error(hr, 404, "Not Found");
}
