#! /usr/bin/env atf-sh
# /api/v1/companies and /api/v1/audit over real HTTP: who may read and
# write companies, the root company's protections, deactivation and
# deletion with their effect on sessions, and the audit trail of each
# write.  Each test case starts its own authd against the database of
# regress/run.sh; names carry a random tag, so cases share it safely.

. "$(atf_get_srcdir)/../lib.sh"

# --- fixtures ---------------------------------------------------------

start()
{
	require_env
	TAG=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	authd_setup || atf_fail "authd_setup failed"
	authd_start || atf_fail "authd did not start (its log is on stderr)"
	login "$AUTHD_ADMIN_USERNAME"
	ROOT=$TOKEN
	sql "SELECT id FROM users WHERE username = '$AUTHD_ADMIN_USERNAME'"
	ROOT_ID=$SQL
	sql "SELECT id FROM companies WHERE is_root"
	ROOT_CID=$SQL
}

# sql STATEMENT: runs it in the test database; its rows (unaligned) are
# left in $SQL.  atf_fail ends a case only from the case's own shell, not
# from a $(...): so the helpers that make a value set a variable.
sql()
{
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c "$1" >sql.out 2>sql.err ||
	    atf_fail "$(oneline "SQL failed: $1:" "$(cat sql.err)")"
	SQL=$(cat sql.out)
	cache_flush
}

# login NAME: logs NAME in (every test user has the first admin's
# password); sets TOKEN and REFRESH.
login()
{
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$1" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	TOKEN=$(json_get http.body 'j["access_token"]')
	REFRESH=$(json_get http.body 'j["refresh_token"]')
}

# mk_user COMPANY NAME [SUPERUSER [ROLE]]: makes a user in the database,
# with the first admin's password hash, and gives it ROLE (a role name of
# its company); sets USER_ID.  Straight in SQL, so that these tests do
# not depend on the users API.
mk_user()
{
	sql "INSERT INTO users (company_id, email, username, \
	    full_name, hashed_password, is_superuser, is_verified) \
	    SELECT $1, '$2@example.com', '$2', '$2', hashed_password, \
	    ${3:-false}, true FROM users \
	    WHERE username = '$AUTHD_ADMIN_USERNAME' RETURNING id"
	USER_ID=$SQL
	[ -n "$USER_ID" ] || atf_fail "user $2 not created"
	if [ -n "${4:-}" ]; then
		sql_is 1 "WITH r AS (INSERT INTO user_roles (user_id, role_id, \
		    company_id) SELECT $USER_ID, id, $1 FROM roles \
		    WHERE company_id = $1 AND name = '$4' RETURNING 1) \
		    SELECT count(*) FROM r"
	fi
}

# mk_company NAME: creates it through the API as the root admin; sets
# COMPANY_ID.
mk_company()
{
	http_expect 200 POST "$AUTHD_URL/api/v1/companies/" \
	    -H "Authorization: Bearer $ROOT" -H 'Content-Type: application/json' \
	    --data-binary "{\"name\": \"$1\"}"
	COMPANY_ID=$(json_get http.body 'j["id"]')
}

# tenants: companies A and B (their ids), each with an admin and a plain
# user (role "user"), all logged in: TA_ADMIN, TA_USER, TB_ADMIN, TB_USER
# (access tokens).
tenants()
{
	mk_company "a-$TAG"
	A=$COMPANY_ID
	mk_company "b-$TAG"
	B=$COMPANY_ID
	mk_user "$A" "a-admin-$TAG" true
	mk_user "$A" "a-user-$TAG" false user
	mk_user "$B" "b-admin-$TAG" true
	mk_user "$B" "b-user-$TAG" false user
	login "a-admin-$TAG"
	TA_ADMIN=$TOKEN
	login "a-user-$TAG"
	TA_USER=$TOKEN
	login "b-admin-$TAG"
	TB_ADMIN=$TOKEN
	login "b-user-$TAG"
	TB_USER=$TOKEN
}

# req TOKEN CODE METHOD PATH [JSON]: a request of the API with a token
# (and a JSON body), which must answer CODE.
req()
{
	local tok code method path
	tok=$1
	code=$2
	method=$3
	path=$4
	shift 4
	if [ $# -gt 0 ]; then
		http_expect "$code" "$method" "$AUTHD_URL$path" \
		    -H "Authorization: Bearer $tok" \
		    -H 'Content-Type: application/json' --data-binary "$1"
	else
		http_expect "$code" "$method" "$AUTHD_URL$path" \
		    -H "Authorization: Bearer $tok"
	fi
}

# detail_is MESSAGE: the last answer is {"detail": MESSAGE}.
detail_is()
{
	json_check http.body "j == {\"detail\": \"$1\"}"
}

# verr_is TYPE FIELD: the last answer is one validation error.
verr_is()
{
	json_check http.body "len(j[\"detail\"]) == 1 and \
	    j[\"detail\"][0][\"type\"] == \"$1\" and \
	    str(j[\"detail\"][0][\"loc\"][-1]) == \"$2\""
}

header_is()
{
	grep -qi "^$1: $2" http.headers ||
	    atf_fail "$(oneline "no header $1: $2 in" "$(cat http.headers)")"
}

FORBIDDEN="The user doesn't have enough privileges"
# keys_ok EXPR: Python that is true when EXPR has exactly the keys of
# the Company object.
keys_ok()
{
	echo "sorted($1) == [\"created_at\", \"description\", \"id\",
	    \"is_active\", \"is_root\", \"name\", \"updated_at\"]"
}

# sql_is EXPECTED STATEMENT: the statement prints EXPECTED (without the
# final newline).
sql_is()
{
	sql "$2"
	[ "$SQL" = "$1" ] ||
	    atf_fail "$(oneline "SQL $2: got '$SQL', expected '$1'")"
}

# company_row ID: the row of a company as text in $ROW, to show it
# unchanged.
company_row()
{
	sql "SELECT name, description, is_active, is_root, updated_at \
	    FROM companies WHERE id = $1"
	[ -n "$SQL" ] || atf_fail "no company $1"
	ROW=$SQL
}

# row_is EXPECTED ID: company ID's row is EXPECTED (from company_row).
row_is()
{
	sql_is "$1" "SELECT name, description, is_active, is_root, \
	    updated_at FROM companies WHERE id = $2"
}

# --- reading ----------------------------------------------------------

atf_test_case list_root_admin cleanup
list_root_admin_head()
{
	atf_set descr "a root admin lists every company, paged, with the total"
}
list_root_admin_body()
{
	local total
	start
	tenants
	sql "SELECT count(*) FROM companies"
	total=$SQL
	req "$ROOT" 200 GET /api/v1/companies/
	header_is X-Total-Count "$total"
	json_check http.body "len(j) == min($total, 100) and
	    all($(keys_ok c) for c in j) and
	    [c[\"id\"] for c in j] == sorted(c[\"id\"] for c in j) and
	    $A in [c[\"id\"] for c in j] and $B in [c[\"id\"] for c in j] and
	    [c[\"is_root\"] for c in j].count(True) == 1"
	# The same route without the trailing slash.
	req "$ROOT" 200 GET /api/v1/companies
	header_is X-Total-Count "$total"
	req "$ROOT" 200 GET "/api/v1/companies/?skip=1&limit=1"
	header_is X-Total-Count "$total"
	sql "SELECT id FROM companies ORDER BY id OFFSET 1 LIMIT 1"
	json_check http.body "len(j) == 1 and j[0][\"id\"] == $SQL"
	req "$ROOT" 200 GET "/api/v1/companies/?skip=100000"
	json_check http.body 'j == []'
	req "$ROOT" 422 GET "/api/v1/companies/?limit=0"
	verr_is value_error limit
	req "$ROOT" 422 GET "/api/v1/companies/?limit=1001"
	verr_is value_error limit
	req "$ROOT" 422 GET "/api/v1/companies/?skip=-1"
	verr_is value_error skip
	req "$ROOT" 422 GET "/api/v1/companies/?skip=x"
	verr_is int_parsing skip
}
list_root_admin_cleanup()
{
	authd_cleanup
}

atf_test_case list_own_only cleanup
list_own_only_head()
{
	atf_set descr "company admins and users list only their own company"
}
list_own_only_body()
{
	local tok
	start
	tenants
	for tok in "$TA_ADMIN" "$TA_USER"; do
		req "$tok" 200 GET /api/v1/companies/
		header_is X-Total-Count 1
		json_check http.body "len(j) == 1 and j[0][\"id\"] == $A and
		    j[0][\"name\"] == \"a-$TAG\" and not j[0][\"is_root\"] and
		    $(keys_ok 'j[0]')"
		# Asking for another company changes nothing.
		req "$tok" 200 GET "/api/v1/companies/?company_id=$B"
		json_check http.body "[c[\"id\"] for c in j] == [$A]"
	done
	req "$TB_USER" 200 GET /api/v1/companies/
	json_check http.body "[c[\"id\"] for c in j] == [$B]"
	req "$TA_USER" 422 GET "/api/v1/companies/?limit=0"
	http_expect 401 GET "$AUTHD_URL/api/v1/companies/"
	detail_is "Not authenticated"
}
list_own_only_cleanup()
{
	authd_cleanup
}

atf_test_case get cleanup
get_head()
{
	atf_set descr "GET /companies/{id}: own company or root admin, else" \
	    "404 identical to a missing id"
}
get_body()
{
	local tok missing
	start
	tenants
	sql "SELECT max(id) + 1000 FROM companies"
	missing=$SQL
	req "$ROOT" 200 GET "/api/v1/companies/$B"
	json_check http.body "$(keys_ok j) and j[\"id\"] == $B and
	    j[\"name\"] == \"b-$TAG\" and j[\"is_active\"] is True and
	    j[\"is_root\"] is False and j[\"description\"] is None and
	    re.match(r\"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$\",
	    j[\"created_at\"])"
	req "$ROOT" 200 GET "/api/v1/companies/$ROOT_CID/"
	json_check http.body 'j["is_root"] is True'
	req "$ROOT" 404 GET "/api/v1/companies/$missing"
	detail_is "Company not found"
	cp http.body missing.body
	for tok in "$TA_ADMIN" "$TA_USER"; do
		req "$tok" 200 GET "/api/v1/companies/$A"
		json_check http.body "j[\"id\"] == $A"
		# Another company, the root company and a missing id answer
		# the same bytes: no existence oracle.
		req "$tok" 404 GET "/api/v1/companies/$B"
		atf_check cmp -s http.body missing.body
		req "$tok" 404 GET "/api/v1/companies/$ROOT_CID"
		atf_check cmp -s http.body missing.body
		req "$tok" 404 GET "/api/v1/companies/$missing"
		atf_check cmp -s http.body missing.body
	done
	req "$ROOT" 422 GET /api/v1/companies/abc
	req "$ROOT" 422 GET /api/v1/companies/0
	http_expect 401 GET "$AUTHD_URL/api/v1/companies/$A"
}
get_cleanup()
{
	authd_cleanup
}

# --- creating ---------------------------------------------------------

atf_test_case create cleanup
create_head()
{
	atf_set descr "a root admin creates a company, with its default roles"
}
create_body()
{
	local id n nadmin
	start
	req "$ROOT" 200 POST /api/v1/companies/ \
	    "{\"name\": \"c-$TAG\", \"description\": \"Café ☕\"}"
	json_check http.body "$(keys_ok j) and j[\"name\"] == \"c-$TAG\" and
	    j[\"description\"] == \"Café ☕\" and j[\"is_active\"] is True and
	    j[\"is_root\"] is False and j[\"created_at\"].endswith(\"Z\")"
	id=$(json_get http.body 'j["id"]')
	sql_is "c-$TAG|Café ☕|t|f" "SELECT name, \
	    description, is_active, is_root FROM companies WHERE id = $id"
	# Its own admin (every global permission but company:*) and user
	# (default: users:read, profile:update) roles.
	sql "SELECT count(*) FROM permissions \
	    WHERE company_id IS NULL AND name NOT LIKE 'company:%'"
	nadmin=$SQL
	sql_is "admin|f|$nadmin
user|t|2" "SELECT r.name, r.is_default, count(rp.permission_id) \
	    FROM roles r LEFT JOIN role_permissions rp ON rp.role_id = r.id \
	    WHERE r.company_id = $id GROUP BY r.name, r.is_default \
	    ORDER BY r.name"
	sql_is "profile:update,users:read" "SELECT string_agg(p.name, ',' \
	    ORDER BY p.name) \
	    FROM roles r JOIN role_permissions rp ON rp.role_id = r.id \
	    JOIN permissions p ON p.id = rp.permission_id \
	    WHERE r.company_id = $id AND r.name = 'user'"
	req "$ROOT" 200 GET "/api/v1/companies/$id"
	json_check http.body "j[\"name\"] == \"c-$TAG\""

	# is_active false is kept; the description may be left out.
	req "$ROOT" 200 POST /api/v1/companies "{\"name\": \"d-$TAG\", \
	    \"is_active\": false}"
	json_check http.body 'j["is_active"] is False and
	    j["description"] is None'

	# A duplicate name: 400, and no second row.
	req "$ROOT" 400 POST /api/v1/companies/ "{\"name\": \"c-$TAG\"}"
	detail_is "Company with name 'c-$TAG' already exists"
	sql_is "1" "SELECT count(*) FROM companies \
	    WHERE name = 'c-$TAG'"
	# A name the contract's message must quote as it is.
	req "$ROOT" 200 POST /api/v1/companies/ "{\"name\": \"q'\\\"$TAG\"}"
	req "$ROOT" 400 POST /api/v1/companies/ "{\"name\": \"q'\\\"$TAG\"}"
	json_check http.body "j == {\"detail\":
	    \"Company with name 'q'\\\"$TAG' already exists\"}"

	# is_root cannot be set, whatever its value; nothing is created.
	sql "SELECT count(*) FROM companies"
	n=$SQL
	req "$ROOT" 403 POST /api/v1/companies/ "{\"name\": \"r-$TAG\", \
	    \"is_root\": true}"
	detail_is "Cannot change is_root through this endpoint"
	req "$ROOT" 403 POST /api/v1/companies/ "{\"name\": \"r-$TAG\", \
	    \"is_root\": false}"
	sql_is "$n" "SELECT count(*) FROM companies"
	sql_is "1" "SELECT count(*) FROM companies \
	    WHERE is_root"
}
create_cleanup()
{
	authd_cleanup
}

atf_test_case create_validation cleanup
create_validation_head()
{
	atf_set descr "POST /companies/ validates its body (422) and creates" \
	    "nothing"
}
create_validation_body()
{
	local n long
	start
	sql "SELECT count(*) FROM companies"
	n=$SQL
	long=$(printf '%0256d' 0)
	req "$ROOT" 422 POST /api/v1/companies/ '{}'
	verr_is missing name
	json_check http.body 'j["detail"][0]["msg"] == "Field required" and
	    j["detail"][0]["loc"] == ["body", "name"]'
	req "$ROOT" 422 POST /api/v1/companies/ '{"name": null}'
	verr_is missing name
	req "$ROOT" 422 POST /api/v1/companies/ '{"name": ""}'
	verr_is string_too_short name
	req "$ROOT" 422 POST /api/v1/companies/ "{\"name\": \"$long\"}"
	verr_is string_too_long name
	# 255 characters (not bytes) are fine.
	req "$ROOT" 200 POST /api/v1/companies/ \
	    "{\"name\": \"$(printf 'é%.0s' $(seq 247))$TAG\"}"
	n=$((n + 1))
	req "$ROOT" 422 POST /api/v1/companies/ '{"name": 5}'
	verr_is value_error name
	req "$ROOT" 422 POST /api/v1/companies/ \
	    "{\"name\": \"v-$TAG\", \"is_active\": \"yes\"}"
	verr_is bool_parsing is_active
	req "$ROOT" 422 POST /api/v1/companies/ \
	    "{\"name\": \"v-$TAG\", \"description\": 1}"
	verr_is value_error description
	req "$ROOT" 422 POST /api/v1/companies/ '{"name": '
	verr_is json_invalid 0
	req "$ROOT" 422 POST /api/v1/companies/ '["x"]'
	req "$ROOT" 422 POST /api/v1/companies/ \
	    "{\"name\": \"v-$TAG\", \"name\": \"w-$TAG\"}"
	sql_is "$n" "SELECT count(*) FROM companies"
}
create_validation_cleanup()
{
	authd_cleanup
}

atf_test_case writes_forbidden cleanup
writes_forbidden_head()
{
	atf_set descr "company admins, users and permission holders get 403" \
	    "on every company write; nothing changes"
}
writes_forbidden_body()
{
	local tok n before_a before_root id
	start
	tenants
	# A root-company user who is not a superuser but holds every
	# permission (company:* included): the writes are for root admins.
	mk_user "$ROOT_CID" "r-perm-$TAG" false super_admin
	login "r-perm-$TAG"
	sql "SELECT count(*) FROM companies"
	n=$SQL
	company_row "$A"
	before_a=$ROW
	company_row "$ROOT_CID"
	before_root=$ROW
	for tok in "$TA_ADMIN" "$TA_USER" "$TOKEN"; do
		req "$tok" 403 POST /api/v1/companies/ "{\"name\": \"x-$TAG\"}"
		detail_is "$FORBIDDEN"
		for id in "$A" "$B" "$ROOT_CID"; do
			req "$tok" 403 PUT "/api/v1/companies/$id" \
			    '{"name": "taken over", "is_active": false}'
			detail_is "$FORBIDDEN"
			req "$tok" 403 DELETE "/api/v1/companies/$id?force=true"
			detail_is "$FORBIDDEN"
		done
	done
	http_expect 401 POST "$AUTHD_URL/api/v1/companies/" \
	    -H 'Content-Type: application/json' --data-binary '{"name": "x"}'
	http_expect 401 DELETE "$AUTHD_URL/api/v1/companies/$A"
	sql_is "$n" "SELECT count(*) FROM companies"
	row_is "$before_a" "$A"
	row_is "$before_root" "$ROOT_CID"
	# The admin of A still works: nothing was deactivated.
	req "$TA_ADMIN" 200 GET "/api/v1/companies/$A"
}
writes_forbidden_cleanup()
{
	authd_cleanup
}

# --- updating ---------------------------------------------------------

atf_test_case update cleanup
update_head()
{
	atf_set descr "a root admin renames and describes a company; is_root" \
	    "and duplicate names are refused"
}
update_body()
{
	local missing
	start
	tenants
	sql "SELECT max(id) + 1000 FROM companies"
	missing=$SQL
	req "$ROOT" 200 PUT "/api/v1/companies/$A" \
	    "{\"name\": \"a2-$TAG\", \"description\": \"new\"}"
	json_check http.body "$(keys_ok j) and j[\"id\"] == $A and
	    j[\"name\"] == \"a2-$TAG\" and j[\"description\"] == \"new\" and
	    j[\"is_active\"] is True"
	sql_is "a2-$TAG|new|t" "SELECT name, description, \
	    is_active FROM companies WHERE id = $A"
	# Fields left out are kept; a null description clears it.
	req "$ROOT" 200 PUT "/api/v1/companies/$A" '{}'
	json_check http.body "j[\"name\"] == \"a2-$TAG\" and
	    j[\"description\"] == \"new\""
	req "$ROOT" 200 PUT "/api/v1/companies/$A" '{"description": null}'
	json_check http.body "j[\"name\"] == \"a2-$TAG\" and
	    j[\"description\"] is None"
	# Another company's name.
	req "$ROOT" 400 PUT "/api/v1/companies/$A" "{\"name\": \"b-$TAG\"}"
	detail_is "Company with name 'b-$TAG' already exists"
	sql_is "a2-$TAG" "SELECT name FROM companies \
	    WHERE id = $A"
	# is_root: 403 naming it, and nothing else of the body applied.
	req "$ROOT" 403 PUT "/api/v1/companies/$A" \
	    "{\"name\": \"z-$TAG\", \"is_root\": true}"
	detail_is "Cannot change is_root through this endpoint"
	req "$ROOT" 403 PUT "/api/v1/companies/$ROOT_CID" '{"is_root": false}'
	detail_is "Cannot change is_root through this endpoint"
	sql_is "a2-$TAG|f" "SELECT name, is_root \
	    FROM companies WHERE id = $A"
	sql_is "t" "SELECT is_root FROM companies \
	    WHERE id = $ROOT_CID"
	req "$ROOT" 404 PUT "/api/v1/companies/$missing" '{"name": "x"}'
	detail_is "Company not found"
	req "$ROOT" 422 PUT "/api/v1/companies/$A" '{"name": ""}'
	verr_is string_too_short name
	req "$ROOT" 422 PUT "/api/v1/companies/$A" '{"is_active": 1}'
	verr_is bool_parsing is_active
	req "$ROOT" 422 PUT /api/v1/companies/x '{}'
}
update_cleanup()
{
	authd_cleanup
}

atf_test_case root_company_protected cleanup
root_company_protected_head()
{
	atf_set descr "the root company cannot be deleted, deactivated or" \
	    "lose is_root, even by a root admin"
}
root_company_protected_body()
{
	local before
	start
	company_row "$ROOT_CID"
	before=$ROW
	req "$ROOT" 400 DELETE "/api/v1/companies/$ROOT_CID"
	detail_is "Root company cannot be deleted"
	req "$ROOT" 400 DELETE "/api/v1/companies/$ROOT_CID?force=true"
	detail_is "Root company cannot be deleted"
	req "$ROOT" 400 PUT "/api/v1/companies/$ROOT_CID" '{"is_active": false}'
	detail_is "Root company cannot be deactivated"
	row_is "$before" "$ROOT_CID"
	sql_is "0" "SELECT count(*) FROM sessions \
	    WHERE company_id = $ROOT_CID AND revoked_reason = \
	    'company deactivated'"
	# The root admin's session is alive.
	req "$ROOT" 200 GET /api/v1/users/me
	# Renaming it is allowed (and put back).
	req "$ROOT" 200 PUT "/api/v1/companies/$ROOT_CID" \
	    "{\"name\": \"root-$TAG\", \"is_active\": true}"
	json_check http.body "j[\"name\"] == \"root-$TAG\" and
	    j[\"is_root\"] is True and j[\"is_active\"] is True"
	req "$ROOT" 200 PUT "/api/v1/companies/$ROOT_CID" \
	    "{\"name\": \"$(echo "$before" | cut -d'|' -f1)\"}"
}
root_company_protected_cleanup()
{
	authd_cleanup
}

atf_test_case deactivate cleanup
deactivate_head()
{
	atf_set descr "deactivating a company revokes every session of it at" \
	    "once; its users cannot log in until it is active again"
}
deactivate_body()
{
	local refresh_b
	start
	tenants
	login "b-user-$TAG"
	refresh_b=$REFRESH
	req "$TB_USER" 200 GET /api/v1/users/me
	req "$TB_ADMIN" 200 GET "/api/v1/companies/$B"
	req "$ROOT" 200 PUT "/api/v1/companies/$B" '{"is_active": false}'
	json_check http.body "j[\"id\"] == $B and j[\"is_active\"] is False"
	# Every session of B: revoked in the same statement.
	sql_is "0|3" "SELECT \
	    count(*) FILTER (WHERE is_active), count(*) FILTER (WHERE \
	    revoked_reason = 'company deactivated' AND revoked_at IS NOT NULL) \
	    FROM sessions WHERE company_id = $B"
	req "$TB_USER" 401 GET /api/v1/users/me
	detail_is "Token has been revoked"
	header_is WWW-Authenticate Bearer
	req "$TB_ADMIN" 401 GET "/api/v1/companies/$B"
	detail_is "Token has been revoked"
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/refresh" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"refresh_token\": \"$refresh_b\"}"
	detail_is "Invalid refresh token"
	http_expect 403 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=b-user-$TAG" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	detail_is "Company is inactive"
	# Company A was not touched.
	req "$TA_USER" 200 GET /api/v1/users/me
	sql_is "2" "SELECT count(*) FROM sessions \
	    WHERE company_id = $A AND is_active"
	# The root admin still sees B, inactive.
	req "$ROOT" 200 GET "/api/v1/companies/$B"
	json_check http.body 'j["is_active"] is False'
	# Active again: logins work, the old tokens stay revoked.
	req "$ROOT" 200 PUT "/api/v1/companies/$B" '{"is_active": true}'
	json_check http.body 'j["is_active"] is True'
	req "$TB_USER" 401 GET /api/v1/users/me
	login "b-user-$TAG"
	req "$TOKEN" 200 GET /api/v1/users/me
}
deactivate_cleanup()
{
	authd_cleanup
}

# --- deleting ---------------------------------------------------------

atf_test_case delete cleanup
delete_head()
{
	atf_set descr "DELETE /companies/{id}: 409 with users unless forced;" \
	    "answers the deleted company"
}
delete_body()
{
	local missing before empty
	start
	tenants
	sql "SELECT max(id) + 1000 FROM companies"
	missing=$SQL
	mk_company "e-$TAG"
	empty=$COMPANY_ID
	req "$ROOT" 200 GET "/api/v1/companies/$empty"
	cp http.body empty.body
	req "$ROOT" 200 DELETE "/api/v1/companies/$empty"
	atf_check cmp -s http.body empty.body
	sql_is "0|0" "SELECT \
	    (SELECT count(*) FROM companies WHERE id = $empty), \
	    (SELECT count(*) FROM roles WHERE company_id = $empty)"
	req "$ROOT" 404 GET "/api/v1/companies/$empty"
	req "$ROOT" 404 DELETE "/api/v1/companies/$empty"
	detail_is "Company not found"
	req "$ROOT" 404 DELETE "/api/v1/companies/$missing"
	detail_is "Company not found"

	# B has users: refused, unless forced.
	company_row "$B"
	before=$ROW
	req "$ROOT" 409 DELETE "/api/v1/companies/$B"
	detail_is "Company still has users"
	req "$ROOT" 409 DELETE "/api/v1/companies/$B?force=false"
	detail_is "Company still has users"
	req "$ROOT" 422 DELETE "/api/v1/companies/$B?force=maybe"
	verr_is bool_parsing force
	row_is "$before" "$B"
	req "$TB_USER" 200 GET /api/v1/users/me
	req "$ROOT" 200 DELETE "/api/v1/companies/$B?force=true"
	json_check http.body "$(keys_ok j) and j[\"id\"] == $B and
	    j[\"name\"] == \"b-$TAG\""
	sql_is "0|0|0|0" "SELECT \
	    (SELECT count(*) FROM companies WHERE id = $B), \
	    (SELECT count(*) FROM users WHERE company_id = $B), \
	    (SELECT count(*) FROM sessions WHERE company_id = $B), \
	    (SELECT count(*) FROM roles WHERE company_id = $B)"
	# Its users' tokens die with it; A is untouched.
	req "$TB_USER" 401 GET /api/v1/users/me
	detail_is "Token has been revoked"
	req "$TB_ADMIN" 401 GET /api/v1/companies/
	req "$TA_USER" 200 GET /api/v1/users/me
	req "$ROOT" 200 GET "/api/v1/companies/$A"
}
delete_cleanup()
{
	authd_cleanup
}

# --- the audit trail --------------------------------------------------

atf_test_case audit_company_writes cleanup
audit_company_writes_head()
{
	atf_set descr "each company write records one audit entry; failed" \
	    "writes record none"
}
audit_company_writes_body()
{
	local id
	start
	req "$ROOT" 200 POST /api/v1/companies/ "{\"name\": \"c-$TAG\"}"
	id=$(json_get http.body 'j["id"]')
	req "$ROOT" 200 PUT "/api/v1/companies/$id" '{"is_active": false}'
	# Refused writes leave no trace.
	req "$ROOT" 400 POST /api/v1/companies/ "{\"name\": \"c-$TAG\"}"
	req "$ROOT" 403 PUT "/api/v1/companies/$id" '{"is_root": true}'
	req "$ROOT" 200 DELETE "/api/v1/companies/$id"
	sql_is "3" "SELECT count(*) FROM audit_log \
	    WHERE object_type = 'company' AND object_id = $id"
	req "$ROOT" 200 GET "/api/v1/audit/?object_type=company&object_id=$id"
	header_is X-Total-Count 3
	json_check http.body "[e[\"action\"] for e in j] ==
	    [\"company.delete\", \"company.update\", \"company.create\"] and
	    all(sorted(e) == [\"action\", \"actor_user_id\", \"company_id\",
	        \"created_at\", \"detail\", \"id\", \"ip_address\",
	        \"object_id\", \"object_type\"] and
	        e[\"actor_user_id\"] == $ROOT_ID and e[\"company_id\"] == $id and
	        e[\"object_id\"] == $id and e[\"object_type\"] == \"company\" and
	        e[\"ip_address\"] == \"127.0.0.1\" and
	        e[\"created_at\"].endswith(\"Z\") for e in j) and
	    j[0][\"id\"] > j[1][\"id\"] > j[2][\"id\"] and
	    j[2][\"detail\"][\"name\"] == \"c-$TAG\" and
	    j[1][\"detail\"][\"changes\"] == {\"is_active\": False} and
	    j[0][\"detail\"][\"force\"] is False"
	req "$ROOT" 200 GET "/api/v1/audit/?action=company.update&object_id=$id"
	json_check http.body "len(j) == 1 and
	    j[0][\"action\"] == \"company.update\""
	# Newest first over the whole log, and paged.
	req "$ROOT" 200 GET "/api/v1/audit/?limit=2"
	sql "SELECT count(*) FROM audit_log"
	header_is X-Total-Count "$SQL"
	sql "SELECT max(id) FROM audit_log"
	json_check http.body "len(j) == 2 and j[0][\"id\"] == $SQL and
	    j[0][\"id\"] > j[1][\"id\"]"
	req "$ROOT" 200 GET "/api/v1/audit/?company_id=$id&skip=1&limit=1"
	header_is X-Total-Count 3
	json_check http.body "len(j) == 1 and
	    j[0][\"action\"] == \"company.update\""
	req "$ROOT" 422 GET "/api/v1/audit/?limit=0"
	req "$ROOT" 422 GET "/api/v1/audit/?skip=-1"
	req "$ROOT" 422 GET "/api/v1/audit/?company_id=x"
	verr_is int_parsing company_id
	req "$ROOT" 422 GET "/api/v1/audit/?object_id=-4"
	verr_is int_parsing object_id
}
audit_company_writes_cleanup()
{
	authd_cleanup
}

atf_test_case audit_isolation cleanup
audit_isolation_head()
{
	atf_set descr "company admins and audit:read holders read only their" \
	    "own company's audit entries; plain users none"
}
audit_isolation_body()
{
	start
	tenants
	# Something to see in both companies.
	req "$ROOT" 200 PUT "/api/v1/companies/$A" '{"description": "a"}'
	req "$ROOT" 200 PUT "/api/v1/companies/$B" '{"description": "b"}'
	req "$TA_ADMIN" 200 GET /api/v1/audit/
	sql "SELECT count(*) FROM audit_log WHERE company_id = $A"
	header_is X-Total-Count "$SQL"
	json_check http.body "len(j) >= 2 and
	    all(e[\"company_id\"] == $A for e in j)"
	# Asking for B, or for everything, still gives A only.
	req "$TA_ADMIN" 200 GET "/api/v1/audit/?company_id=$B"
	json_check http.body "len(j) >= 2 and
	    all(e[\"company_id\"] == $A for e in j)"
	req "$TA_ADMIN" 200 GET "/api/v1/audit/?object_id=$B"
	json_check http.body 'j == []'
	req "$TB_ADMIN" 200 GET /api/v1/audit/
	json_check http.body "len(j) >= 2 and
	    all(e[\"company_id\"] == $B for e in j)"
	# A root admin reads one company, or all.
	req "$ROOT" 200 GET "/api/v1/audit/?company_id=$B"
	json_check http.body "len(j) >= 2 and
	    all(e[\"company_id\"] == $B for e in j)"
	req "$ROOT" 200 GET "/api/v1/audit/?limit=1000"
	json_check http.body "{$A, $B} <= set(e[\"company_id\"] for e in j)"
	# A plain user: 403.
	req "$TA_USER" 403 GET /api/v1/audit/
	detail_is "$FORBIDDEN"
	# A user granted audit:read through a role: its company only.
	sql "WITH r AS (INSERT INTO roles (company_id, name) \
	    VALUES ($A, 'auditor') RETURNING id) \
	    INSERT INTO role_permissions (role_id, permission_id, company_id) \
	    SELECT r.id, p.id, $A FROM r, permissions p \
	    WHERE p.name = 'audit:read' AND p.company_id IS NULL"
	mk_user "$A" "a-auditor-$TAG" false auditor
	login "a-auditor-$TAG"
	req "$TOKEN" 200 GET "/api/v1/audit/?company_id=$B"
	json_check http.body "len(j) >= 2 and
	    all(e[\"company_id\"] == $A for e in j)"
	http_expect 401 GET "$AUTHD_URL/api/v1/audit/"
}
audit_isolation_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case list_root_admin
	atf_add_test_case list_own_only
	atf_add_test_case get
	atf_add_test_case create
	atf_add_test_case create_validation
	atf_add_test_case writes_forbidden
	atf_add_test_case update
	atf_add_test_case root_company_protected
	atf_add_test_case deactivate
	atf_add_test_case delete
	atf_add_test_case audit_company_writes
	atf_add_test_case audit_isolation
}
