#! /usr/bin/env atf-sh
# /docs (Swagger UI) and /redoc (ReDoc) in headless Chromium, driven by
# chromedriver: the pages load under their Content-Security-Policy from
# authd alone, list every operation of the document, and "Authorize"
# then "Try it out" work against the same authd.  Screenshots are kept
# in the test's directory and copied to regress/artifacts/.  Also: the
# build without the npm registry, whose pages answer 503.

. "$(atf_get_srcdir)/../lib.sh"

top()
{
	echo "${AUTHD_SRCDIR:-$(cd "$(atf_get_srcdir)/../.." && pwd)}"
}

start()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	authd_start || atf_fail "authd did not start"
}

# header NAME VALUE: the last answer has exactly that header.
header()
{
	tr -d '\r' <http.headers | grep -qixF "$1: $2" ||
	    atf_fail "$(oneline "no '$1: $2' in: $(cat http.headers)")"
}

# keep FILE NAME: the screenshot stays here and goes to regress/artifacts.
keep()
{
	local dir
	dir="$(top)/regress/artifacts"
	mkdir -p "$dir" && cp "$1" "$dir/$2" ||
	    echo "cannot copy $1 to $dir/$2" >&2
}

# browse ARGS...: webdriver.py ARGS, failing the case with its reason.
browse()
{
	command -v chromedriver >/dev/null ||
	    atf_fail "chromedriver not installed (etc/dev/deps.sh installs it)"
	python3 "$(atf_get_srcdir)/lib/webdriver.py" "$@" >browse.out \
	    2>browse.err || atf_fail "$(oneline "$(tail -n 5 browse.err)")"
	cat browse.out
}

# same URL FILE: GET URL answers 200 with exactly the bytes of FILE.
same()
{
	http_expect 200 GET "$1"
	cmp -s http.body "$2" || atf_fail "$1 is not $2"
}

atf_test_case pages cleanup
pages_head()
{
	atf_set descr "the pages and their files: types, the docs CSP on the" \
	    "HTML only, the bytes of the npm packages"
}
pages_body()
{
	local assets csp
	start
	assets="$(top)/build/docs/assets"
	csp="default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	for page in /docs /docs/ /redoc; do
		http_expect 200 GET "$AUTHD_URL$page"
		header Content-Type "text/html; charset=utf-8"
		header Content-Security-Policy "$csp"
		header X-Frame-Options DENY
		header X-Content-Type-Options nosniff
	done
	grep -q '<redoc spec-url="/api/v1/openapi.json">' http.body ||
	    atf_fail "/redoc has no redoc element"
	grep -q '<script src="/redoc/redoc.standalone.js">' http.body ||
	    atf_fail "/redoc does not load ReDoc"
	http_expect 200 GET "$AUTHD_URL/docs"
	grep -q '<script src="/docs/swagger-init.js">' http.body ||
	    atf_fail "/docs does not load its start-up script"
	same "$AUTHD_URL/docs/swagger-ui-bundle.js" \
	    "$assets/swagger-ui-bundle.js"
	header Content-Type "text/javascript; charset=utf-8"
	header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'"
	same "$AUTHD_URL/docs/swagger-ui.css" "$assets/swagger-ui.css"
	header Content-Type "text/css; charset=utf-8"
	same "$AUTHD_URL/docs/favicon-32x32.png" "$assets/favicon-32x32.png"
	header Content-Type "image/png"
	same "$AUTHD_URL/redoc/redoc.standalone.js" \
	    "$assets/redoc.standalone.js"
	http_expect 200 GET "$AUTHD_URL/docs/swagger-init.js"
	header Content-Type "text/javascript; charset=utf-8"
	grep -q 'url: "/api/v1/openapi.json"' http.body ||
	    atf_fail "Swagger UI does not load the document"
	http_expect 404 GET "$AUTHD_URL/docs/index.html"
	http_expect 404 GET "$AUTHD_URL/docs/swagger-ui.js"
	http_expect 405 POST "$AUTHD_URL/docs"
}
pages_cleanup()
{
	authd_cleanup
}

atf_test_case swagger cleanup
swagger_head()
{
	atf_set descr "Swagger UI in Chromium lists every operation, reports" \
	    "no error, and CSP blocks none of its own files"
}
swagger_body()
{
	start
	browse page swagger "$AUTHD_URL/docs" "$(top)/authd/openapi.json" \
	    swagger.png
	keep swagger.png docs-swagger.png
}
swagger_cleanup()
{
	authd_cleanup
}

atf_test_case redoc cleanup
redoc_head()
{
	atf_set descr "ReDoc in Chromium lists every operation, and CSP" \
	    "blocks none of its own files"
}
redoc_body()
{
	start
	browse page redoc "$AUTHD_URL/redoc" "$(top)/authd/openapi.json" \
	    redoc.png
	keep redoc.png docs-redoc.png
}
redoc_cleanup()
{
	authd_cleanup
}

atf_test_case try_it_out cleanup
try_it_out_head()
{
	atf_set descr "Authorize (OAuth2 password flow against" \
	    "/api/v1/auth/login) then Try it out on GET /api/v1/users/me" \
	    "answers the logged-in user"
}
try_it_out_body()
{
	start
	browse tryit "$AUTHD_URL/docs" "$AUTHD_ADMIN_USERNAME" \
	    '$AUTHD_ADMIN_PASSWORD' "$AUTHD_ADMIN_EMAIL" tryit.png
	keep tryit.png docs-tryit.png
	# The browser's login is a real one: a session and a login row.
	[ "$("$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c "SELECT count(*)
	    FROM login_history h JOIN users u ON u.id = h.user_id
	    WHERE u.username = '$AUTHD_ADMIN_USERNAME' AND h.success
	    AND h.created_at > now() - interval '10 minutes'")" -ge 1 ] ||
	    atf_fail "no successful login recorded"
}
try_it_out_cleanup()
{
	authd_cleanup
}

atf_test_case without_npm cleanup
without_npm_head()
{
	atf_set descr "a build without the npm registry succeeds, embeds" \
	    "the document, and /docs, /redoc and their files answer 503"
}
without_npm_body()
{
	local top flags bin san
	require_env
	top=$(top)
	# An npm that cannot reach anything, first on PATH.
	mkdir fakebin
	printf '#!/bin/sh\necho "npm ERR! network unreachable" >&2\nexit 1\n' \
	    >fakebin/npm
	chmod +x fakebin/npm
	(here=$PWD && cd "$top" && PATH="$here/fakebin:$PATH" \
	    sh etc/dev/docs-assets.sh "$here/nodocs" authd/openapi.json) \
	    2>assets.err ||
	    atf_fail "$(oneline "docs-assets.sh failed: $(cat assets.err)")"
	grep -q 'missing: /docs and /redoc will answer 503' assets.err ||
	    atf_fail "$(oneline "no warning: $(cat assets.err)")"
	[ -z "$(ls nodocs/assets)" ] || atf_fail "assets left: $(ls nodocs/assets)"
	[ nodocs/docs_data.S -ot "$top/authd/openapi.json" ] ||
	    atf_fail "docs_data.S is not dated back: make would not retry"
	grep -q 'incbin.*openapi.min.json' nodocs/docs_data.S ||
	    atf_fail "the document is not embedded"
	if grep -q 'incbin.*assets' nodocs/docs_data.S; then
		atf_fail "an absent asset is embedded"
	fi
	# The worker, which serves the pages, relinked with that object
	# instead of the real one, beside copies of the other two programs.
	flags=$(make -s -C "$top" flags) || atf_fail "make flags failed"
	san=
	if nm "$AUTHD_BIN" 2>/dev/null | grep -q __asan_init; then
		san="-fsanitize=address,undefined"
	fi
	cc -c -o nodocs/docs_data.o nodocs/docs_data.S ||
	    atf_fail "docs_data.S does not assemble"
	authd_setup || atf_fail "authd_setup failed"
	bin="$AUTHD_RUNDIR/nodocs"
	mkdir "$bin"
	cp "$top/authd/authd" "$top/authd/authd-keyholder" "$bin/"
	# shellcheck disable=SC2046
	cc $san -o "$bin/authd-worker" $(ls "$top"/authd/*.o |
	    grep -v '/authd\.o$\|/keyholder\.o$') nodocs/docs_data.o \
	    "$top/libauth/libauth.a" $(echo "$flags" | sed -n 's/^LDLIBS=//p') ||
	    atf_fail "cannot link authd-worker with the empty assets"
	AUTHD_BIN=$bin/authd authd_start || atf_fail "authd did not start"
	for page in /docs /redoc /docs/swagger-ui-bundle.js \
	    /redoc/redoc.standalone.js; do
		http_expect 503 GET "$AUTHD_URL$page"
		header Content-Type application/json
		json_check http.body 'j["detail"].startswith("API documentation assets are not installed")'
	done
	http_expect 200 GET "$AUTHD_URL/api/v1/openapi.json"
	python3 - "$top/authd/openapi.json" http.body <<'EOF' ||
import json, sys
sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))
EOF
	    atf_fail "the document is not served without the assets"
}
without_npm_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case pages
	atf_add_test_case swagger
	atf_add_test_case redoc
	atf_add_test_case try_it_out
	atf_add_test_case without_npm
}
