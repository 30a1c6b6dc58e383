#! /usr/bin/env atf-sh
# authd/openapi.json: its own rules (OpenAPI 3.1, error schemas,
# security schemes, examples), the route table of authd/http.c against
# it in both directions, and the document as GET /api/v1/openapi.json
# serves it from a running authd, which must route every operation.

. "$(atf_get_srcdir)/../lib.sh"

# The tree: where make test runs from, else the one holding this test.
top()
{
	echo "${AUTHD_SRCDIR:-$(cd "$(atf_get_srcdir)/../.." && pwd)}"
}

check()
{
	python3 "$(atf_get_srcdir)/lib/openapi_check.py" "$@" >check.out 2>&1
	local st=$?
	cat check.out
	[ "$st" -eq 0 ] || atf_fail "$(oneline "$(grep -v '^[0-9]' check.out |
	    head -n 20)")"
}

atf_test_case lint
lint_head()
{
	atf_set descr "the document is OpenAPI 3.1 with the error schemas," \
	    "the bearer, OAuth2 password and X-API-Key schemes, examples," \
	    "and refs that resolve"
}
lint_body()
{
	check lint "$(top)/authd/openapi.json"
}

atf_test_case lint_catches
lint_catches_head()
{
	atf_set descr "the rules fail a document that breaks them"
}
lint_catches_body()
{
	python3 - "$(top)/authd/openapi.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
op = doc["paths"]["/api/v1/users/{user_id}"]["get"]
op["parameters"] = []
del op["responses"]["401"]
doc["components"]["schemas"]["HTTPError"]["properties"]["detail"] = {
    "type": "object"}
doc["paths"]["/api/v1/roles/{role_id}"]["put"]["requestBody"]["content"][
    "application/json"]["schema"] = {"$ref": "#/components/schemas/Nope"}
json.dump(doc, open("broken.json", "w"))
EOF
	atf_check -s exit:1 -o save:lint.out \
	    python3 "$(atf_get_srcdir)/lib/openapi_check.py" lint broken.json
	for want in "GET /api/v1/users/{user_id}: path parameters" \
	    "GET /api/v1/users/{user_id}: needs a token but documents no 401" \
	    "schemas.HTTPError is not" "does not resolve"; do
		grep -qF "$want" lint.out ||
		    atf_fail "$(oneline "lint did not report: $want")"
	done
}

atf_test_case routes_both_ways
routes_both_ways_head()
{
	atf_set descr "every route of http.c's table is in the document" \
	    "(but /docs, /redoc and /metrics), every operation of the" \
	    "document is in the table, and who may call it agrees"
}
routes_both_ways_body()
{
	check routes "$(top)/authd/http.c" "$(top)/authd/openapi.json"
}

atf_test_case routes_catches
routes_catches_head()
{
	atf_set descr "the table reader sees a route the document lacks," \
	    "an operation the table lacks, and a wrong security"
}
routes_catches_body()
{
	local top
	top=$(top)
	sed -e 's|{ GET, "/api/v1/users/me", |{ GET, "/api/v1/users/mine", |' \
	    -e 's|"/api/v1/authz/check", api_authz_check, WHO_USER|"/api/v1/authz/check", api_authz_check, WHO_ANYONE|' \
	    "$top/authd/http.c" >http.c
	grep -q '"/api/v1/users/mine"' http.c || atf_fail "sed found no route"
	atf_check -s exit:1 -o save:routes.out python3 \
	    "$(atf_get_srcdir)/lib/openapi_check.py" routes http.c \
	    "$top/authd/openapi.json"
	for want in "routed but not in the document: GET /api/v1/users/mine" \
	    "in the document but not routed: GET /api/v1/users/me" \
	    "POST /api/v1/authz/check: anyone may call it"; do
		grep -qF "$want" routes.out ||
		    atf_fail "$(oneline "not reported: $want")"
	done
}

atf_test_case served cleanup
served_head()
{
	atf_set descr "GET /api/v1/openapi.json is the source document," \
	    "as JSON under the JSON security headers"
}
served_body()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	authd_start || atf_fail "authd did not start"
	http_expect 200 GET "$AUTHD_URL/api/v1/openapi.json"
	http_expect 200 GET "$AUTHD_URL/api/v1/openapi.json/"
	tr -d '\r' <http.headers >h
	grep -qix 'content-type: application/json' h ||
	    atf_fail "$(oneline "not JSON: $(cat h)")"
	grep -qix "content-security-policy: default-src 'none'; frame-ancestors 'none'" h ||
	    atf_fail "$(oneline "not the JSON CSP: $(cat h)")"
	grep -qix 'x-content-type-options: nosniff' h ||
	    atf_fail "no nosniff"
	python3 - "$(top)/authd/openapi.json" http.body <<'EOF' ||
import json, sys
src = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
sys.exit(0 if src == got else "served document differs from the source")
EOF
	    atf_fail "the served document is not authd/openapi.json"
	http_expect 405 POST "$AUTHD_URL/api/v1/openapi.json"
}
served_cleanup()
{
	authd_cleanup
}

atf_test_case routed_live cleanup
routed_live_head()
{
	atf_set descr "a running authd routes every operation of the" \
	    "document (no 404 Not Found, no 405)"
}
routed_live_body()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	authd_start || atf_fail "authd did not start"
	check live "$(top)/authd/openapi.json" "$AUTHD_URL"
}
routed_live_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case lint
	atf_add_test_case lint_catches
	atf_add_test_case routes_both_ways
	atf_add_test_case routes_catches
	atf_add_test_case served
	atf_add_test_case routed_live
}
