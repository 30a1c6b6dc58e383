#! /usr/bin/env atf-sh
# The original service's own Postman requests, replayed against authd.
#
# Source: the Postman collection "Auth System" of the original FastAPI
# service (github.com/jcano37/AuthSystem, file
# "cURL/Auth System.postman_collection.json").  The requests below are
# written anew from it, not copied: the same methods, paths (trailing
# slash or not, query strings), content types and bodies, folder by
# folder in the collection's order (Auth, Users, Roles, Permissions,
# Resources, then root, docs and redoc): 30 requests.  Postman sends every
# request with the collection's bearer token {{TOKEN}}, set from the
# answer of Login, and headers of its own (User-Agent PostmanRuntime,
# Postman-Token, Accept-Encoding...); raw JSON bodies go as
# application/json and the login form as
# application/x-www-form-urlencoded.  These do the same.
#
# What the replay changes, and why (API.md is the contract):
#   - company_id is added to the body of Register, the one request that
#     authd requires it on here (a root admin creating a user in another
#     company, API.md "Users": only root admins create in another company).
#   - The collection hard-codes ids (user 1, role 2 and 3, permission 1
#     and 3, resource type 1 and 4) and a stale refresh token, which were
#     rows of its author's database; they are replaced by the ids and the
#     token of earlier answers, as the collection's variables would be:
#     user 1 = the collection's own user (jcano1), role 2 = the company's
#     seeded "user" role, permission 3 = users:update, resource type 1 =
#     "users"; role 3, permission 1 and resource type 4, which the
#     requests update and delete, = the role, permission and resource type
#     the collection's own New ... requests made.
#   - Two requests move and one is sent twice, because in authd each
#     needs something that the collection's order does not give it yet:
#     Register runs before Login, with a root admin's token: register is
#     an admin route (API.md "Auth": POST /auth/register, who: admin), so
#     the account that Login opens must first be made by an admin (the
#     original let anyone register).
#     Login runs a second time after logout: logout revokes the session's
#     tokens at once (API.md "Authentication of a request", token revoked
#     by logout; the original kept them working), so the Users requests
#     need a new token, which is what Login gives a Postman user.
#     Delete By Id runs after Create New User and deletes the user that
#     request made: the collection's user 1 is the caller itself, whose
#     token the rest of the collection goes on using.
#   - The collection's user is a superuser (its bodies say so), here the
#     admin of a company of its own, so that the replay stays out of the
#     rows of the other tests sharing the database.
#   - Passwords: the collection's "abcd1234" fails API.md's default
#     password policy (no uppercase letter, no special character, and it
#     is a common password), which is configurable ("defaults, all
#     configurable"): the replay runs with the original's effective policy
#     (length 8 to 128 only), and the case "policy" checks that the
#     default policy refuses that password with a 422.
#
# Requests that authd answers differently on purpose:
#   - Update Me User: its body sets is_active and is_superuser, and a
#     password without current_password.  API.md "Users", PUT /users/me:
#     a privilege field is a 403 "Cannot change <field> through this
#     endpoint" and nothing changes (the original's self-promotion
#     defect).  The replay checks that 403, then sends the change that
#     API.md accepts (the same body without the privilege fields, with
#     current_password) and checks its 200.
#   - logout: the token it is sent with stops working (401 "Token has been
#     revoked"), checked after it.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

# The collection's password.
PM_PW=abcd1234

# The base config with the original's password rules: only the length.
original_policy()
{
	cat >>"$AUTHD_CONF_FILE" <<EOF
password {
	hash argon2id memory 1024 iterations 1 parallelism 1
	length 8 128
	require none
	deny list ""
}
EOF
}

# pm CODE METHOD PATH [CURL ARGS...]: one request of the collection, with
# the headers Postman adds to each (its agent, a Postman-Token, ...) and
# its bearer token {{TOKEN}} when one is set; it must answer CODE.
pm()
{
	local code method path
	code=$1
	method=$2
	path=$3
	shift 3
	if [ -n "${TOKEN:-}" ]; then
		set -- -H "Authorization: Bearer $TOKEN" "$@"
	fi
	http_expect "$code" "$method" "$AUTHD_URL$path" \
	    -A 'PostmanRuntime/7.43.0' -H 'Accept: */*' \
	    -H 'Cache-Control: no-cache' -H "Postman-Token: $(pm_token)" \
	    -H 'Accept-Encoding: gzip, deflate, br' \
	    -H 'Connection: keep-alive' "$@"
}

# pm_token: a random UUID, as Postman sends in Postman-Token.
pm_token()
{
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
	    sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)/\1-\2-\3-\4-/'
}

# pm_json CODE METHOD PATH JSON: the same with a raw JSON body.
pm_json()
{
	local code method path
	code=$1
	method=$2
	path=$3
	pm "$code" "$method" "$path" -H 'Content-Type: application/json' \
	    --data-binary "$4"
}

# check EXPR: the last answer's JSON satisfies the Python expression.
check()
{
	json_check http.body "$1"
}

# total: the X-Total-Count of the last answer, in TOTAL.
total()
{
	TOTAL=$(tr -d '\r' <http.headers |
	    sed -n 's/^[Xx]-[Tt]otal-[Cc]ount: *//p')
	[ -n "$TOTAL" ] || atf_fail "no X-Total-Count"
}

# The collection's Login request: the form of the OAuth2 password grant;
# its test script keeps access_token as {{TOKEN}}.
pm_login()
{
	pm 200 POST /api/v1/auth/login \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-urlencode "username=jcano1" \
	    --data-urlencode "password=$PM_PW"
	check 'j["token_type"] == "bearer" and j["expires_in"] == 1800
	    and len(j["access_token"].split(".")) == 3
	    and len(j["refresh_token"].split(".")) == 3'
	header_is Cache-Control no-store
	jget TOKEN http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	claim SUB "$TOKEN" sub
	claim TYPE "$TOKEN" type
	claim CID_CLAIM "$TOKEN" cid
	[ "$SUB" = "$PM_UID" ] && [ "$TYPE" = access ] &&
	    [ "$CID_CLAIM" = "$PM_CID" ] ||
	    atf_fail "$(oneline "login token: sub $SUB type $TYPE" \
	    "cid $CID_CLAIM, expected $PM_UID access $PM_CID")"
}

atf_test_case collection cleanup
collection_head()
{
	atf_set descr "The requests of the original's Postman collection" \
	    "(Auth, Users, Roles, Permissions, Resources, root, docs," \
	    "redoc) succeed in order with the statuses of API.md"
}
collection_body()
{
	start original_policy
	# The company the collection's user administers.
	mkcompany
	PM_CID=$NEW_CID
	# {{TOKEN}} before Login: a root admin's (see Register above).
	login_admin
	TOKEN=$ACCESS

	# --- Auth -------------------------------------------------------

	# Register (company_id added).
	pm_json 200 POST /api/v1/auth/register "{
	    \"email\": \"user@usertest1.com\",
	    \"username\": \"jcano1\",
	    \"full_name\": \"Jerry Cano\",
	    \"is_active\": true,
	    \"is_superuser\": true,
	    \"password\": \"$PM_PW\",
	    \"company_id\": $PM_CID
	}"
	check "j['email'] == 'user@usertest1.com' and
	    j['username'] == 'jcano1' and j['full_name'] == 'Jerry Cano' and
	    j['is_active'] is True and j['is_superuser'] is True and
	    j['company_id'] == $PM_CID and isinstance(j['id'], int) and
	    'password' not in j and 'hashed_password' not in j"
	jget PM_UID http.body 'j["id"]'
	sql_expect "t|t|$PM_CID" "SELECT is_superuser, is_active, company_id
	    FROM users WHERE id = $PM_UID"

	# Login (form); Postman sends it with {{TOKEN}} too, the root
	# admin's here, which a login ignores.
	pm_login
	FIRST_TOKEN=$TOKEN

	# Refresh: the token goes in the query string, no body.
	pm 200 POST "/api/v1/auth/refresh?refresh_token=$REFRESH"
	check 'j["token_type"] == "bearer" and j["expires_in"] == 1800'
	jget NEW_REFRESH http.body 'j["refresh_token"]'
	jget NEW_ACCESS http.body 'j["access_token"]'
	[ "$NEW_REFRESH" != "$REFRESH" ] ||
	    atf_fail "refresh did not rotate the refresh token"
	claim SUB "$NEW_ACCESS" sub
	[ "$SUB" = "$PM_UID" ] || atf_fail "refreshed token of user $SUB"

	# logout, with {{TOKEN}} (Login's access token: the collection
	# keeps it; refresh does not set it).
	pm 200 POST /api/v1/auth/logout
	message_is "Successfully logged out"
	# On purpose: logout revoked the session's tokens (API.md).
	denied "$FIRST_TOKEN" "Token has been revoked"
	denied "$NEW_ACCESS" "Token has been revoked"

	# Login again, for a {{TOKEN}} that works.
	pm_login

	# --- Users ------------------------------------------------------

	# Current Me User.
	pm 200 GET /api/v1/users/me
	check "j['id'] == $PM_UID and j['email'] == 'user@usertest1.com' and
	    j['username'] == 'jcano1' and j['full_name'] == 'Jerry Cano' and
	    j['company_id'] == $PM_CID and j['is_superuser'] is True and
	    j['is_active'] is True and 'user' in j['roles'] and
	    'users:read' in j['permissions'] and
	    j['last_login'] is not None and 'hashed_password' not in j"

	# Update Me User, as the collection sends it.  On purpose a 403:
	# API.md, PUT /users/me refuses privilege fields and changes nothing.
	pm_json 403 PUT /api/v1/users/me "{
	    \"email\": \"user@usertest.com\",
	    \"username\": \"jcano\",
	    \"full_name\": \"Jerry Cano Garcia\",
	    \"is_active\": true,
	    \"is_superuser\": true,
	    \"password\": \"$PM_PW\"
	}"
	detail_is "Cannot change is_superuser through this endpoint"
	sql_expect "user@usertest1.com|jcano1|Jerry Cano" "SELECT email,
	    username, full_name FROM users WHERE id = $PM_UID"
	# The change that API.md accepts: no privilege fields, and the
	# current password with the new one.
	pm_json 200 PUT /api/v1/users/me "{
	    \"email\": \"user@usertest.com\",
	    \"username\": \"jcano\",
	    \"full_name\": \"Jerry Cano Garcia\",
	    \"password\": \"$PM_PW\",
	    \"current_password\": \"$PM_PW\"
	}"
	check "j['id'] == $PM_UID and j['email'] == 'user@usertest.com' and
	    j['username'] == 'jcano' and
	    j['full_name'] == 'Jerry Cano Garcia' and
	    j['is_superuser'] is True and j['is_verified'] is False"
	works "$TOKEN"

	# User By Id (the collection's user 1: its own user).
	pm 200 GET "/api/v1/users/$PM_UID"
	check "j['id'] == $PM_UID and j['username'] == 'jcano' and
	    j['email'] == 'user@usertest.com' and j['company_id'] == $PM_CID"

	# Update By Id.
	pm_json 200 PUT "/api/v1/users/$PM_UID" "{
	    \"email\": \"user@usertest.com\",
	    \"username\": \"jcano\",
	    \"full_name\": \"Jerry\",
	    \"is_active\": true,
	    \"is_superuser\": true,
	    \"password\": \"$PM_PW\"
	}"
	check "j['id'] == $PM_UID and j['full_name'] == 'Jerry' and
	    j['username'] == 'jcano' and j['is_active'] is True and
	    j['is_superuser'] is True and j['company_id'] == $PM_CID"
	# A new password keeps the session it was changed from.
	works "$TOKEN"

	# Retrieve Users.
	pm 200 GET "/api/v1/users/?skip=0&limit=10"
	total
	check "isinstance(j, list) and len(j) == $TOTAL == 1 and
	    j[0]['id'] == $PM_UID and j[0]['company_id'] == $PM_CID"

	# Create New User (company_id not needed: a company admin creates
	# in its own company).
	pm_json 200 POST /api/v1/users/ "{
	    \"email\": \"user@example2.com\",
	    \"username\": \"jcano2\",
	    \"full_name\": \"Eliezher Cano\",
	    \"is_active\": true,
	    \"is_superuser\": true,
	    \"password\": \"$PM_PW\"
	}"
	check "j['email'] == 'user@example2.com' and
	    j['username'] == 'jcano2' and j['full_name'] == 'Eliezher Cano' and
	    j['is_active'] is True and j['is_superuser'] is True and
	    j['company_id'] == $PM_CID"
	jget USER2 http.body 'j["id"]'

	# Delete By Id (moved here: the user Create New User made).
	pm 200 DELETE "/api/v1/users/$USER2"
	check "j['id'] == $USER2 and j['username'] == 'jcano2'"
	pm 404 GET "/api/v1/users/$USER2"
	detail_is "User not found"
	sql_expect 0 "SELECT count(*) FROM users WHERE id = $USER2"

	# --- Roles ------------------------------------------------------

	# Retrieve Roles: the company's seeded roles, with permissions.
	pm 200 GET "/api/v1/roles/?skip=0&limit=10"
	total
	check "isinstance(j, list) and len(j) == $TOTAL and
	    sorted(r['name'] for r in j) == ['admin', 'user'] and
	    all(r['company_id'] == $PM_CID for r in j) and
	    all(isinstance(r['permissions'], list) for r in j)"
	# The collection's role 2 and permission 3.
	jget USER_ROLE http.body '[r["id"] for r in j if r["name"] == "user"][0]'
	jget UPDATE_PERM http.body '[p["id"] for r in j if r["name"] == "admin"
	    for p in r["permissions"] if p["name"] == "users:update"][0]'

	# New Role.
	pm_json 200 POST /api/v1/roles/ '{
	    "name": "test2",
	    "description": "Es Test rol",
	    "is_default": true
	}'
	check "j['name'] == 'test2' and j['description'] == 'Es Test rol' and
	    j['is_default'] is True and j['company_id'] == $PM_CID and
	    j['parent_id'] is None"
	jget NEW_ROLE http.body 'j["id"]'

	# Update Role (the collection's role 3: the one just made).
	pm_json 200 PUT "/api/v1/roles/$NEW_ROLE" '{
	    "name": "test1",
	    "description": "Test Usuario"
	}'
	check "j['id'] == $NEW_ROLE and j['name'] == 'test1' and
	    j['description'] == 'Test Usuario' and j['is_default'] is True"

	# Delete Role.
	pm 200 DELETE "/api/v1/roles/$NEW_ROLE"
	check "j['id'] == $NEW_ROLE and j['name'] == 'test1'"
	sql_expect 0 "SELECT count(*) FROM roles WHERE id = $NEW_ROLE"

	# Get Role Permissions.
	pm 200 GET "/api/v1/roles/$USER_ROLE"
	check "j['id'] == $USER_ROLE and j['name'] == 'user' and
	    sorted(p['name'] for p in j['permissions']) ==
	    ['profile:update', 'users:read'] and
	    sorted(p['name'] for p in j['effective_permissions']) ==
	    ['profile:update', 'users:read']"

	# Permission To Role (no body).
	pm 200 POST "/api/v1/roles/$USER_ROLE/permissions/$UPDATE_PERM"
	check "j['id'] == $USER_ROLE and
	    'users:update' in [p['name'] for p in j['permissions']] and
	    'users:update' in [p['name'] for p in j['effective_permissions']]"

	# Remove Permission Role.
	pm 200 DELETE "/api/v1/roles/$USER_ROLE/permissions/$UPDATE_PERM"
	check "j['id'] == $USER_ROLE and
	    sorted(p['name'] for p in j['permissions']) ==
	    ['profile:update', 'users:read']"
	sql_expect 0 "SELECT count(*) FROM role_permissions
	    WHERE role_id = $USER_ROLE AND permission_id = $UPDATE_PERM"
	sql_expect 2 "SELECT count(*) FROM role_permissions
	    WHERE role_id = $USER_ROLE"

	# --- Permissions ------------------------------------------------

	# Retrieve Permissions: the global ones (none of the company yet).
	pm 200 GET /api/v1/permissions/
	total
	check "isinstance(j, list) and len(j) == $TOTAL and
	    {'users:read', 'users:update', 'roles:update'} <=
	    {p['name'] for p in j} and
	    all(p['company_id'] is None for p in j)"
	# The collection's resource type 1.
	jget USERS_RT http.body '[p["resource_type_id"] for p in j
	    if p["name"] == "users:read"][0]'

	# New Permission (no trailing slash).
	pm_json 200 POST /api/v1/permissions "{
	    \"name\": \"Permiso1\",
	    \"description\": \"Permiso Test\",
	    \"resource_type_id\": $USERS_RT,
	    \"action\": \"delete\"
	}"
	check "j['name'] == 'Permiso1' and j['description'] == 'Permiso Test'
	    and j['resource_type_id'] == $USERS_RT and
	    j['action'] == 'delete' and j['resource'] == 'users' and
	    j['company_id'] == $PM_CID"
	jget NEW_PERM http.body 'j["id"]'

	# Update Permission (the collection's permission 1: the one made).
	pm_json 200 PUT "/api/v1/permissions/$NEW_PERM" "{
	    \"name\": \"Permiso2\",
	    \"description\": \"Permiso Update\",
	    \"resource_type_id\": $USERS_RT,
	    \"action\": \"find2\"
	}"
	check "j['id'] == $NEW_PERM and j['name'] == 'Permiso2' and
	    j['description'] == 'Permiso Update' and j['action'] == 'find2' and
	    j['resource_type_id'] == $USERS_RT and j['company_id'] == $PM_CID"

	# Delete Permission.
	pm 200 DELETE "/api/v1/permissions/$NEW_PERM"
	check "j['id'] == $NEW_PERM and j['name'] == 'Permiso2'"
	sql_expect 0 "SELECT count(*) FROM permissions WHERE id = $NEW_PERM"

	# Permission By ID (the collection's permission 3).
	pm 200 GET "/api/v1/permissions/$UPDATE_PERM"
	check "j['id'] == $UPDATE_PERM and j['name'] == 'users:update' and
	    j['action'] == 'update' and j['resource'] == 'users' and
	    j['company_id'] is None"

	# --- Resources --------------------------------------------------

	# Retrieve Resource.
	pm 200 GET /api/v1/resources/
	total
	check "isinstance(j, list) and len(j) == $TOTAL and
	    {'users', 'roles', 'permissions', 'resources'} <=
	    {r['name'] for r in j} and
	    all(r['company_id'] is None for r in j)"

	# New Resource (the original answered it with an error every time).
	pm_json 200 POST /api/v1/resources/ '{
	    "name": "Test2",
	    "description": "Recurso Test2"
	}'
	check "j['name'] == 'Test2' and j['description'] == 'Recurso Test2'
	    and j['company_id'] == $PM_CID and isinstance(j['id'], int)"
	jget NEW_RT http.body 'j["id"]'

	# Update Resource (the collection's resource type 1 and 4: the one
	# made).
	pm_json 200 PUT "/api/v1/resources/$NEW_RT" '{
	    "name": "recurso update",
	    "description": "update recurso"
	}'
	check "j['id'] == $NEW_RT and j['name'] == 'recurso update' and
	    j['description'] == 'update recurso' and j['company_id'] == $PM_CID"

	# Delete Resource.
	pm 200 DELETE "/api/v1/resources/$NEW_RT"
	check "j['id'] == $NEW_RT and j['name'] == 'recurso update'"
	sql_expect 0 "SELECT count(*) FROM resource_types WHERE id = $NEW_RT"

	# --- root, docs, redoc ------------------------------------------

	pm 200 GET /
	check 'j["message"] == "Welcome to the Authentication Service" and
	    j["docs_url"] == "/docs" and j["redoc_url"] == "/redoc" and
	    "version" in j'
	pm 200 GET /docs
	grep -qi '<html' http.body || atf_fail "GET /docs is not HTML"
	pm 200 GET /redoc
	grep -qi '<html' http.body || atf_fail "GET /redoc is not HTML"

	# The collection's user is still the one Register made, and every
	# write was recorded.
	sql_expect "user@usertest.com|jcano|Jerry|t|t" "SELECT email,
	    username, full_name, is_superuser, is_active FROM users
	    WHERE id = $PM_UID"
	sql_expect 0 "SELECT count(*) FROM roles WHERE company_id = $PM_CID
	    AND name IN ('test1', 'test2')"
}
collection_cleanup()
{
	authd_cleanup
}

atf_test_case policy cleanup
policy_head()
{
	atf_set descr "Under API.md's default password policy the" \
	    "collection's password is a 422 (one entry per failed rule)"
}
policy_body()
{
	start
	mkcompany
	login_admin
	TOKEN=$ACCESS
	pm_json 422 POST /api/v1/auth/register "{
	    \"email\": \"user@usertest1.com\",
	    \"username\": \"jcano1\",
	    \"full_name\": \"Jerry Cano\",
	    \"is_active\": true,
	    \"is_superuser\": true,
	    \"password\": \"$PM_PW\",
	    \"company_id\": $NEW_CID
	}"
	check 'all(e["loc"] == ["body", "password"] and
	    e["type"] == "value_error" for e in j["detail"]) and
	    sorted(e["msg"] for e in j["detail"]) == [
	    "Password is too common",
	    "Password must contain a special character",
	    "Password must contain an uppercase letter"]'
	sql_expect 0 "SELECT count(*) FROM users WHERE company_id = $NEW_CID"
}
policy_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case collection
	atf_add_test_case policy
}
