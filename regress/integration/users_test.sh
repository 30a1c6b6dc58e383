#! /usr/bin/env atf-sh
# The users API (authd/api_users.c, sql/004_users.sql) over real HTTP:
# every route, every message of API.md, the password policy, tenant
# isolation between two companies and the root company, mass assignment
# (SECURITY-CHECKLIST 50, 52), session revocation on password change,
# deactivation and deletion, and the database state behind the answers.
#
# Each test case starts its own authd and makes its own companies A and
# B (names carry a random suffix: the database is shared by the suite):
#   ROOT	the root admin made by authctl init
#   AADM, BADM	company admins (superusers) of A and B
#   AUSR, BUSR	plain users of A and B; AUSR holds no role at all (the
#		default role "user" grants users:read)
# with ids $AADM_ID... and access tokens $AADM_T...

. "$(atf_get_srcdir)/../lib.sh"

PW='Fixture-Pass1!'

start()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	# The policy of API.md, the shipped deny list; cheap hashes (these
	# tests are about behaviour); limits out of the way.  Blocks
	# appended to the base config override what it says.
	cat >>"$AUTHD_CONF_FILE" <<EOF
password {
	hash argon2id memory 1024 iterations 1 parallelism 1
	length 8 128
	require upper digit special
	deny list "$AUTHD_SRCDIR/etc/common-passwords.txt"
}
limits {
	rate 100000
	login rate 100000
	address failures 100000
}
EOF
	authd_start || atf_fail "authd did not start (its log is on stderr)"
}

sql()
{
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c "$1" || atf_fail "$(oneline "SQL failed: $1")"
	cache_flush
}

# sql_is EXPECTED SQL: the query prints EXPECTED (rows on lines, "|"
# between columns).
sql_is()
{
	local got
	got=$(sql "$2")
	[ "$got" = "$1" ] || atf_fail "$(oneline "SQL printed '$got'," \
	    "expected '$1': $2")"
}

# api METHOD PATH TOKEN [JSON]: prints the status; body in ./http.body.
api()
{
	local method path token
	method=$1
	path=$2
	token=$3
	shift 3
	if [ $# -gt 0 ]; then
		http_json "$method" "$AUTHD_URL$path" "$1" \
		    -H "Authorization: Bearer $token"
	else
		http "$method" "$AUTHD_URL$path" \
		    -H "Authorization: Bearer $token"
	fi
}

# expect CODE METHOD PATH TOKEN [JSON]
expect()
{
	local want got
	want=$1
	shift
	got=$(api "$@")
	[ "$got" = "$want" ] || atf_fail "$(oneline "$1 $2: status $got," \
	    "expected $want; body: $(head -c 400 http.body)")"
}

# detail_is MESSAGE: the body is exactly {"detail": MESSAGE}.
detail_is()
{
	python3 - "$1" <<'EOF' || atf_fail "$(oneline "detail is not: $1;" \
	    "body: $(head -c 400 http.body)")"
import json, sys
with open("http.body") as f:
    sys.exit(0 if json.load(f) == {"detail": sys.argv[1]} else 1)
EOF
}

# invalid FIELD TYPE MSG: a 422 body with that entry at ["body", FIELD].
invalid()
{
	python3 - "$1" "$2" "$3" <<'EOF' || atf_fail "$(oneline "no 422 entry" \
	    "$1 $2 $3; body: $(head -c 600 http.body)")"
import json, sys
with open("http.body") as f:
    j = json.load(f)
want = {"type": sys.argv[2], "loc": ["body", sys.argv[1]],
    "msg": sys.argv[3]}
sys.exit(0 if want in j["detail"] else 1)
EOF
}

# login NAME PASSWORD: prints an access token.
login()
{
	local st
	st=$(http POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$1" --data-urlencode "password=$2")
	[ "$st" = 200 ] || atf_fail "$(oneline "login of $1: $st" \
	    "$(head -c 300 http.body)")"
	json_get http.body 'j["access_token"]'
}

# mkuser TOKEN NAME COMPANY [SUPERUSER]: creates NAME@example.com and
# prints its id.
mkuser()
{
	local st
	st=$(api POST /api/v1/users/ "$1" "{\"email\": \"$2@example.com\",
	    \"username\": \"$2\", \"password\": \"$PW\",
	    \"full_name\": \"User $2\", \"company_id\": $3,
	    \"is_superuser\": ${4:-false}}")
	[ "$st" = 200 ] || atf_fail "$(oneline "creating $2: $st" \
	    "$(head -c 300 http.body)")"
	json_get http.body 'j["id"]'
}

# company NAME: a company with its admin and user roles; prints its id.
company()
{
	local id
	id=$(sql "INSERT INTO companies (name) VALUES ('$1') RETURNING id")
	sql "SELECT authd_seed_company_roles($id)" >/dev/null
	echo "$id"
}

fixture()
{
	start
	SFX=$$$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')
	ROOT=$(login "$AUTHD_ADMIN_USERNAME" "$AUTHD_ADMIN_PASSWORD")
	ROOT_ID=$(sql "SELECT id FROM users
	    WHERE username = '$AUTHD_ADMIN_USERNAME'")
	ROOT_CID=$(sql "SELECT id FROM companies WHERE is_root")
	CA=$(company "A $SFX")
	CB=$(company "B $SFX")
	AADM_ID=$(mkuser "$ROOT" "aadm$SFX" "$CA" true)
	AUSR_ID=$(mkuser "$ROOT" "ausr$SFX" "$CA")
	BADM_ID=$(mkuser "$ROOT" "badm$SFX" "$CB" true)
	BUSR_ID=$(mkuser "$ROOT" "busr$SFX" "$CB")
	sql "DELETE FROM user_roles WHERE user_id = $AUSR_ID"
	AADM_T=$(login "aadm$SFX" "$PW")
	AUSR_T=$(login "ausr$SFX" "$PW")
	BADM_T=$(login "badm$SFX" "$PW")
}

# A role of company CID granting the named global permissions to USER;
# prints the role id.
grant()
{
	local cid user name perms rid
	cid=$1
	user=$2
	name=$3
	perms=$4
	rid=$(sql "INSERT INTO roles (company_id, name) VALUES ($cid,
	    '$name') RETURNING id")
	sql "INSERT INTO role_permissions (role_id, permission_id, company_id)
	    SELECT $rid, id, $cid FROM permissions
	    WHERE company_id IS NULL AND name IN ($perms)"
	if [ -n "$user" ]; then
		sql "INSERT INTO user_roles (user_id, role_id, company_id)
		    VALUES ($user, $rid, $cid)"
	fi
	echo "$rid"
}

atf_test_case policy cleanup
policy_head()
{
	atf_set descr "POST /users/ answers every failed rule of the" \
	    "password policy as a 422 entry; good passwords pass"
}
policy_body()
{
	fixture
	u="pol$SFX"
	body()
	{
		printf '{"email": "%s@example.com", "username": "%s",
		    "password": "%s", "company_id": %s}' "$u" "$u" "$1" "$CA"
	}
	expect 422 POST /api/v1/users/ "$ROOT" "$(body 'Ab1!xyz')"
	invalid password value_error "Password must be at least 8 characters"
	json_check http.body 'len(j["detail"]) == 1'
	long=$(python3 -c 'print("A1!" + "x" * 126)')
	expect 422 POST /api/v1/users/ "$ROOT" "$(body "$long")"
	invalid password value_error "Password must be at most 128 characters"
	expect 422 POST /api/v1/users/ "$ROOT" "$(body 'abcdefg1!')"
	invalid password value_error "Password must contain an uppercase letter"
	expect 422 POST /api/v1/users/ "$ROOT" "$(body 'Abcdefgh!')"
	invalid password value_error "Password must contain a digit"
	expect 422 POST /api/v1/users/ "$ROOT" "$(body 'Abcdefgh1')"
	invalid password value_error "Password must contain a special character"
	expect 422 POST /api/v1/users/ "$ROOT" "$(body "X1!${u}z")"
	invalid password value_error \
	    "Password must not contain the username or email"
	# The deny list, without regard to case ("p@ssw0rd" is listed).
	expect 422 POST /api/v1/users/ "$ROOT" "$(body 'P@SSW0RD')"
	invalid password value_error "Password is too common"
	json_check http.body 'len(j["detail"]) == 1'
	# Every rule at once: one entry each.
	expect 422 POST /api/v1/users/ "$ROOT" "$(body '')"
	json_check http.body '[e["msg"] for e in j["detail"]] == [
	    "Password must be at least 8 characters",
	    "Password must contain an uppercase letter",
	    "Password must contain a digit",
	    "Password must contain a special character"]'
	# A NUL inside the password is not valid JSON for authd.
	expect 422 POST /api/v1/users/ "$ROOT" "$(body 'Abc1!\u0000def')"
	json_check http.body 'j["detail"][0]["type"] == "json_invalid"'
	sql_is "0" "SELECT count(*) FROM users
	    WHERE username = '$u'"
	# Length is in characters: 8 characters in 13 bytes pass; emoji
	# and CJK are welcome.
	expect 200 POST /api/v1/users/ "$ROOT" "$(body 'A1!ééééé')"
	u="pol2$SFX"
	expect 200 POST /api/v1/users/ "$ROOT" "$(body 'Ä1 日本語🔑x')"
	login "$u" 'Ä1 日本語🔑x' >/dev/null
}
policy_cleanup()
{
	authd_cleanup
}

atf_test_case create cleanup
create_head()
{
	atf_set descr "POST /users/ and /auth/register: the User object," \
	    "default roles, role_ids, the hash, the audit row, the messages"
}
create_body()
{
	fixture
	extra=$(grant "$CA" "" "extra$SFX" "'users:read'")
	expect 200 POST /api/v1/users/ "$AADM_T" "{\"email\":
	    \"New$SFX@Example.com\", \"username\": \"new$SFX\",
	    \"password\": \"$PW\", \"full_name\": \"New\",
	    \"role_ids\": [$extra, $extra]}"
	json_check http.body "set(j) == {'id', 'email', 'username',
	    'full_name', 'company_id', 'is_active', 'is_superuser',
	    'is_verified', 'two_factor_enabled', 'created_at', 'updated_at',
	    'last_login'} and j['company_id'] == $CA and j['is_active'] and
	    not j['is_superuser'] and not j['is_verified'] and
	    j['email'] == 'New$SFX@Example.com' and
	    re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', j['created_at'])"
	id=$(json_get http.body 'j["id"]')
	sql "SELECT hashed_password FROM users WHERE id = $id" | grep -q \
	    '^\$argon2id\$v=19\$m=1024,t=1,p=1\$' ||
	    atf_fail "the hash is not argon2id with the configured parameters"
	# The company's default role and the one asked for, once.
	sql_is "$(printf 'extra%s\nuser' "$SFX")" "SELECT r.name
	    FROM user_roles ur JOIN roles r ON r.id = ur.role_id
	    WHERE ur.user_id = $id ORDER BY r.name"
	sql_is "1" "SELECT count(*) FROM audit_log
	    WHERE action = 'user.create' AND object_id = $id
	    AND actor_user_id = $AADM_ID AND company_id = $CA"
	# The new user logs in.
	login "new$SFX" "$PW" >/dev/null

	# Duplicates, email without regard to case.
	expect 400 POST /api/v1/users/ "$AADM_T" "{\"email\":
	    \"NEW$SFX@example.COM\", \"username\": \"other$SFX\",
	    \"password\": \"$PW\"}"
	detail_is "The user with this email already exists in the system."
	expect 400 POST /api/v1/users/ "$AADM_T" "{\"email\":
	    \"other$SFX@example.com\", \"username\": \"NEW$SFX\",
	    \"password\": \"$PW\"}"
	detail_is "The user with this username already exists in the system."
	# Also across companies (unique in the system).
	expect 400 POST /api/v1/users/ "$BADM_T" "{\"email\":
	    \"new$SFX@example.com\", \"username\": \"other$SFX\",
	    \"password\": \"$PW\"}"
	detail_is "The user with this email already exists in the system."

	# Validation.
	expect 422 POST /api/v1/users/ "$AADM_T" '{}'
	invalid email missing "Field required"
	invalid username missing "Field required"
	invalid password missing "Field required"
	expect 422 POST /api/v1/users/ "$AADM_T" "{\"email\": \"x$SFX\",
	    \"username\": \"a@b$SFX\", \"password\": \"$PW\"}"
	invalid email value_error "value is not a valid email address"
	invalid username value_error "Username must not contain '@'"
	expect 422 POST /api/v1/users/ "$AADM_T" "{\"email\":
	    \"o$SFX@example.com\", \"username\": \"o$SFX\",
	    \"password\": \"$PW\", \"is_active\": \"yes\",
	    \"company_id\": \"x\", \"role_ids\": [0]}"
	invalid is_active bool_parsing "Input should be a valid boolean"
	invalid company_id int_parsing "Input should be a valid integer"
	invalid role_ids int_parsing "Input should be a valid integer"
	expect 422 POST /api/v1/users/ "$AADM_T" "not json"
	json_check http.body 'j["detail"][0]["type"] == "json_invalid"'

	# Roles must be roles of the company.
	brole=$(sql "SELECT id FROM roles WHERE company_id = $CB
	    AND name = 'user'")
	expect 404 POST /api/v1/users/ "$AADM_T" "{\"email\":
	    \"r$SFX@example.com\", \"username\": \"r$SFX\",
	    \"password\": \"$PW\", \"role_ids\": [$brole]}"
	detail_is "Role not found"
	expect 404 POST /api/v1/users/ "$AADM_T" "{\"email\":
	    \"r$SFX@example.com\", \"username\": \"r$SFX\",
	    \"password\": \"$PW\", \"role_ids\": [999999999]}"
	detail_is "Role not found"
	# Root admin: an unknown company.
	expect 404 POST /api/v1/users/ "$ROOT" "{\"email\":
	    \"r$SFX@example.com\", \"username\": \"r$SFX\",
	    \"password\": \"$PW\", \"company_id\": 999999999}"
	detail_is "Company with id 999999999 not found"
	sql_is "0" "SELECT count(*) FROM users
	    WHERE username = 'r$SFX'"

	# /auth/register is the same route, and never cached.
	expect 200 POST /api/v1/auth/register "$AADM_T" "{\"email\":
	    \"reg$SFX@example.com\", \"username\": \"reg$SFX\",
	    \"password\": \"$PW\", \"is_superuser\": true}"
	json_check http.body "j['company_id'] == $CA and j['is_superuser']"
	atf_check -o ignore grep -i '^cache-control: no-store' http.headers
	expect 403 POST /api/v1/auth/register "$AUSR_T" "{\"email\":
	    \"reg2$SFX@example.com\", \"username\": \"reg2$SFX\",
	    \"password\": \"$PW\"}"
	detail_is "The user doesn't have enough privileges"
	expect 401 POST /api/v1/users/ "" '{}'
	detail_is "Not authenticated"
}
create_cleanup()
{
	authd_cleanup
}

atf_test_case create_isolation cleanup
create_isolation_head()
{
	atf_set descr "a company admin creates only in its own company;" \
	    "only superusers make superusers (checklist 48, 50)"
}
create_isolation_body()
{
	fixture
	for cid in "$CB" "$ROOT_CID" 999999999; do
		expect 403 POST /api/v1/users/ "$AADM_T" "{\"email\":
		    \"x$SFX@example.com\", \"username\": \"x$SFX\",
		    \"password\": \"$PW\", \"company_id\": $cid}"
		detail_is "You can only create users in your own company"
	done
	# A user holding users:create, not a superuser.
	grant "$CA" "$AUSR_ID" "creators$SFX" "'users:create'" >/dev/null
	expect 403 POST /api/v1/users/ "$AUSR_T" "{\"email\":
	    \"x$SFX@example.com\", \"username\": \"x$SFX\",
	    \"password\": \"$PW\", \"is_superuser\": true}"
	detail_is "Cannot set is_superuser through this endpoint"
	# It may not hand out a role with permissions it does not hold.
	admin=$(sql "SELECT id FROM roles WHERE company_id = $CA
	    AND name = 'admin'")
	expect 403 POST /api/v1/users/ "$AUSR_T" "{\"email\":
	    \"x$SFX@example.com\", \"username\": \"x$SFX\",
	    \"password\": \"$PW\", \"role_ids\": [$admin]}"
	detail_is "The user doesn't have enough privileges"
	sql_is "0" "SELECT count(*) FROM users
	    WHERE username = 'x$SFX'"
	expect 200 POST /api/v1/users/ "$AUSR_T" "{\"email\":
	    \"x$SFX@example.com\", \"username\": \"x$SFX\",
	    \"password\": \"$PW\"}"
	json_check http.body "j['company_id'] == $CA and
	    not j['is_superuser']"
	# Root admin creates anywhere.
	expect 200 POST /api/v1/users/ "$ROOT" "{\"email\":
	    \"y$SFX@example.com\", \"username\": \"y$SFX\",
	    \"password\": \"$PW\", \"company_id\": $CB}"
	json_check http.body "j['company_id'] == $CB"
}
create_isolation_cleanup()
{
	authd_cleanup
}

atf_test_case list cleanup
list_head()
{
	atf_set descr "GET /users/: the company's users (root admin: all or" \
	    "?company_id=), paging with X-Total-Count, the 422s of paging"
}
list_body()
{
	fixture
	n=$(sql "SELECT count(*) FROM users WHERE company_id = $CA")
	for q in "" "?company_id=$CB" "?company_id=$ROOT_CID"; do
		expect 200 GET "/api/v1/users/$q" "$AADM_T"
		atf_check -o ignore grep -i "^x-total-count: $n" http.headers
		json_check http.body "len(j) == $n and
		    all(u['company_id'] == $CA for u in j) and
		    all('hashed_password' not in u for u in j)"
	done
	expect 200 GET "/api/v1/users?limit=1&skip=1" "$AADM_T"
	json_check http.body "len(j) == 1 and j[0]['id'] == $AUSR_ID"
	atf_check -o ignore grep -i "^x-total-count: $n" http.headers
	expect 200 GET "/api/v1/users/?skip=1000" "$AADM_T"
	json_check http.body 'j == []'
	# Root admin: everyone, or one company.
	all=$(sql "SELECT count(*) FROM users")
	expect 200 GET "/api/v1/users/?limit=1000" "$ROOT"
	atf_check -o ignore grep -i "^x-total-count: $all" http.headers
	expect 200 GET "/api/v1/users/?company_id=$CB" "$ROOT"
	json_check http.body "sorted(u['id'] for u in j) ==
	    sorted([$BADM_ID, $BUSR_ID])"
	# Paging edges.
	expect 422 GET "/api/v1/users/?limit=0" "$ROOT"
	json_check http.body 'j["detail"][0]["loc"] == ["query", "limit"]'
	expect 422 GET "/api/v1/users/?limit=1001" "$ROOT"
	json_check http.body 'j["detail"][0]["loc"] == ["query", "limit"]'
	expect 422 GET "/api/v1/users/?skip=-1" "$ROOT"
	json_check http.body 'j["detail"][0]["loc"] == ["query", "skip"]'
	expect 422 GET "/api/v1/users/?limit=abc" "$ROOT"
	json_check http.body 'j["detail"][0]["type"] == "int_parsing"'
	expect 422 GET "/api/v1/users/?company_id=x" "$ROOT"
	json_check http.body 'j["detail"][0]["loc"] == ["query", "company_id"]'
	expect 200 GET "/api/v1/users/?limit=1000" "$ROOT"
	# A plain user may not list.
	expect 403 GET /api/v1/users/ "$AUSR_T"
	detail_is "The user doesn't have enough privileges"
	expect 401 GET /api/v1/users/ ""
}
list_cleanup()
{
	authd_cleanup
}

atf_test_case get cleanup
get_head()
{
	atf_set descr "GET /users/{id}: own company only, foreign and root" \
	    "company users answer exactly like a missing one"
}
get_body()
{
	fixture
	expect 200 GET "/api/v1/users/$AUSR_ID" "$AADM_T"
	json_check http.body "j['id'] == $AUSR_ID and
	    j['username'] == 'ausr$SFX' and 'hashed_password' not in j"
	expect 404 GET /api/v1/users/999999999 "$AADM_T"
	detail_is "User not found"
	cp http.headers missing.headers
	cp http.body missing.body
	for id in "$BUSR_ID" "$BADM_ID" "$ROOT_ID"; do
		expect 404 GET "/api/v1/users/$id" "$AADM_T"
		atf_check cmp http.body missing.body
	done
	expect 200 GET "/api/v1/users/$BUSR_ID" "$ROOT"
	expect 422 GET /api/v1/users/abc "$AADM_T"
	expect 422 GET /api/v1/users/0 "$AADM_T"
	expect 403 GET "/api/v1/users/$AADM_ID" "$AUSR_T"
	# The words of other routes are not ids.
	expect 200 GET /api/v1/users/me "$AUSR_T"
	json_check http.body "j['id'] == $AUSR_ID"
}
get_cleanup()
{
	authd_cleanup
}

atf_test_case path_ids cleanup
path_ids_head()
{
	atf_set descr "a malformed id in a path: the caller is checked first" \
	    "(401, 403), then a 422 names each bad id as the OpenAPI" \
	    "document does"
}
path_ids_body()
{
	fixture
	expect 401 GET /api/v1/users/abc ""
	detail_is "Not authenticated"
	expect 401 DELETE /api/v1/users/me/sessions/abc ""
	expect 403 GET /api/v1/users/abc "$AUSR_T"
	detail_is "The user doesn't have enough privileges"
	expect 403 PUT /api/v1/permissions/abc "$AUSR_T" '{"name": "x"}'
	expect 422 GET /api/v1/users/abc "$AADM_T"
	json_check http.body 'j == {"detail": [{"type": "int_parsing",
	    "loc": ["path", "user_id"],
	    "msg": "Input should be a valid integer"}]}'
	expect 422 POST /api/v1/users/abc/roles/1.5 "$AADM_T"
	json_check http.body '[e["loc"] for e in j["detail"]] ==
	    [["path", "user_id"], ["path", "role_id"]]'
	expect 422 DELETE "/api/v1/users/$AUSR_ID/roles/-1" "$AADM_T"
	json_check http.body '[e["loc"] for e in j["detail"]] ==
	    [["path", "role_id"]]'
	expect 422 DELETE /api/v1/users/me/sessions/0 "$AUSR_T"
	json_check http.body 'j["detail"][0]["loc"] == ["path", "session_id"]'
	expect 422 GET /api/v1/integrations/x/events "$AADM_T"
	json_check http.body 'j["detail"][0]["loc"] ==
	    ["path", "integration_id"]'
	# The same path with a good id is routed as before.
	expect 200 GET "/api/v1/users/$AUSR_ID/roles" "$AADM_T"
}
path_ids_cleanup()
{
	authd_cleanup
}

atf_test_case update cleanup
update_head()
{
	atf_set descr "PUT /users/{id}: fields, duplicates, email change" \
	    "clears is_verified, password change and deactivation revoke" \
	    "the user's sessions"
}
update_body()
{
	local before
	fixture
	# The fixture's login set last_login and updated_at together.
	sql_is "t" "SELECT updated_at = last_login FROM users
	    WHERE id = $AUSR_ID"
	sql "UPDATE users SET is_verified = true WHERE id = $AUSR_ID"
	before=$(sql "SELECT updated_at FROM users WHERE id = $AUSR_ID")
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    '{"full_name": "Renamed", "unknown": 1, "id": 1}'
	json_check http.body "j['full_name'] == 'Renamed' and
	    j['id'] == $AUSR_ID and j['is_verified']"
	sql_is "t" "SELECT updated_at > '$before' AND updated_at > last_login
	    FROM users WHERE id = $AUSR_ID"
	sql_is "1" "SELECT count(*) FROM audit_log
	    WHERE action = 'user.update' AND object_id = $AUSR_ID
	    AND detail->'fields' = '[\"full_name\"]'"
	# An email change clears is_verified.
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"email\": \"moved$SFX@example.com\"}"
	json_check http.body "j['email'] == 'moved$SFX@example.com' and
	    not j['is_verified']"
	expect 400 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"email\": \"BADM$SFX@example.com\"}"
	detail_is "The user with this email already exists in the system."
	expect 400 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"username\": \"Busr$SFX\"}"
	detail_is "The user with this username already exists in the system."
	expect 422 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    '{"username": "a@b", "full_name": 5}'
	invalid username value_error "Username must not contain '@'"
	invalid full_name value_error "Input should be a valid string"
	expect 404 PUT /api/v1/users/999999999 "$AADM_T" '{"full_name": "x"}'
	detail_is "User not found"

	# A password change by an admin: the policy, then every session of
	# the user ends.
	expect 422 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"password\": \"X1!ausr${SFX}\"}"
	invalid password value_error \
	    "Password must not contain the username or email"
	expect 200 GET /api/v1/users/me "$AUSR_T"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    '{"password": "Changed-Pass2?"}'
	expect 401 GET /api/v1/users/me "$AUSR_T"
	detail_is "Token has been revoked"
	sql_is "0" "SELECT count(*) FROM sessions
	    WHERE user_id = $AUSR_ID AND is_active"
	st=$(http POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=ausr$SFX" \
	    --data-urlencode "password=$PW")
	[ "$st" = 401 ] || atf_fail "old password still logs in: $st"
	t=$(login "ausr$SFX" 'Changed-Pass2?')
	# Deactivation ends the sessions too.
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" '{"is_active": false}'
	json_check http.body 'not j["is_active"]'
	expect 401 GET /api/v1/users/me "$t"
	detail_is "Token has been revoked"
	st=$(http POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=ausr$SFX" \
	    --data-urlencode "password=Changed-Pass2?")
	[ "$st" = 400 ] || atf_fail "inactive user login: $st"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" '{"is_active": true}'

	# An admin changing its own password keeps the session it used.
	expect 200 PUT "/api/v1/users/$AADM_ID" "$AADM_T" \
	    '{"password": "Changed-Pass3?"}'
	expect 200 GET /api/v1/users/me "$AADM_T"
}
update_cleanup()
{
	authd_cleanup
}

atf_test_case update_privileges cleanup
update_privileges_head()
{
	atf_set descr "PUT /users/{id}: only root admins move users, only" \
	    "superusers set is_superuser, nobody outside the root company" \
	    "touches its users (checklist 46, 50)"
}
update_privileges_body()
{
	fixture
	before=$(sql "SELECT row_to_json(u) FROM users u WHERE id = $AUSR_ID")
	expect 403 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"company_id\": $CB, \"full_name\": \"x\"}"
	detail_is "Cannot change company_id through this endpoint"
	expect 403 PUT "/api/v1/users/$AADM_ID" "$AADM_T" \
	    "{\"company_id\": $ROOT_CID}"
	detail_is "Cannot change company_id through this endpoint"
	after=$(sql "SELECT row_to_json(u) FROM users u WHERE id = $AUSR_ID")
	[ "$before" = "$after" ] || atf_fail "user changed by a refused PUT"
	# Own company_id is no change.
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"company_id\": $CA}"
	# Another company's users and the root company's are not there.
	for id in "$BUSR_ID" "$ROOT_ID"; do
		before=$(sql "SELECT row_to_json(u) FROM users u
		    WHERE id = $id")
		expect 404 PUT "/api/v1/users/$id" "$AADM_T" \
		    '{"full_name": "pwned", "is_active": false}'
		detail_is "User not found"
		expect 404 DELETE "/api/v1/users/$id" "$AADM_T"
		detail_is "User not found"
		after=$(sql "SELECT row_to_json(u) FROM users u
		    WHERE id = $id")
		[ "$before" = "$after" ] || atf_fail "user $id changed"
	done
	# A company admin makes a superuser in its company.
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    '{"is_superuser": true}'
	json_check http.body 'j["is_superuser"]'
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    '{"is_superuser": false}'
	# A users:update holder does not.
	holder=$(mkuser "$ROOT" "hold$SFX" "$CA")
	grant "$CA" "$holder" "updaters$SFX" "'users:update'" >/dev/null
	ht=$(login "hold$SFX" "$PW")
	expect 403 PUT "/api/v1/users/$AUSR_ID" "$ht" '{"is_superuser": true}'
	detail_is "Cannot change is_superuser through this endpoint"
	expect 403 PUT "/api/v1/users/$holder" "$ht" '{"is_superuser": true}'
	detail_is "Cannot change is_superuser through this endpoint"
	expect 403 PUT "/api/v1/users/$AUSR_ID" "$ht" '{"is_verified": true}'
	detail_is "Cannot change is_verified through this endpoint"
	# ... nor touches a superuser of its company.
	expect 403 PUT "/api/v1/users/$AADM_ID" "$ht" \
	    '{"password": "Hijacked-Pass1!"}'
	detail_is "The user doesn't have enough privileges"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$ht" '{"full_name": "ok"}'
	sql_is "f" "SELECT is_superuser FROM users
	    WHERE id = $AUSR_ID"

	# The root admin moves a user: roles of the old company go, the
	# new company's default roles come, sessions end.
	t=$(login "ausr$SFX" "$PW")
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$ROOT" "{\"company_id\": $CB}"
	json_check http.body "j['company_id'] == $CB"
	sql_is "$CB" "SELECT DISTINCT r.company_id
	    FROM user_roles ur JOIN roles r ON r.id = ur.role_id
	    WHERE ur.user_id = $AUSR_ID"
	expect 401 GET /api/v1/users/me "$t"
	detail_is "Token has been revoked"
	expect 404 PUT "/api/v1/users/$AUSR_ID" "$ROOT" \
	    '{"company_id": 999999999}'
	detail_is "Company with id 999999999 not found"
}
update_privileges_cleanup()
{
	authd_cleanup
}

atf_test_case me cleanup
me_head()
{
	atf_set descr "PUT /users/me: own fields; privilege fields are a" \
	    "403 naming the field and change nothing (checklist 52)"
}
me_body()
{
	fixture
	before=$(sql "SELECT row_to_json(u) FROM users u WHERE id = $AUSR_ID")
	for f in is_superuser is_active company_id is_verified; do
		case $f in
		company_id)	v=$CB ;;
		*)		v=true ;;
		esac
		expect 403 PUT /api/v1/users/me "$AUSR_T" \
		    "{\"full_name\": \"pwned\", \"$f\": $v}"
		detail_is "Cannot change $f through this endpoint"
	done
	# The whole mass-assignment body of the checklist.
	expect 403 PUT /api/v1/users/me "$AUSR_T" "{\"is_superuser\": true,
	    \"is_active\": true, \"is_verified\": true, \"company_id\": $CB,
	    \"two_factor_enabled\": false, \"two_factor_secret\": \"X\",
	    \"hashed_password\": \"\$2b\$12\$x\", \"roles\": [1], \"id\": 999,
	    \"username\": \"admin\", \"last_login\": \"1970-01-01\",
	    \"full_name\": \"pwned\"}"
	detail_is "Cannot change is_superuser through this endpoint"
	# Duplicate keys are refused as a whole.
	expect 422 PUT /api/v1/users/me "$AUSR_T" \
	    '{"full_name": "x", "is_superuser": false, "is_superuser": true}'
	json_check http.body 'j["detail"][0]["type"] == "json_invalid"'
	after=$(sql "SELECT row_to_json(u) FROM users u WHERE id = $AUSR_ID")
	[ "$before" = "$after" ] || atf_fail "user changed by a refused PUT"
	# Unknown fields are ignored; the own fields change.
	sql "UPDATE users SET is_verified = true WHERE id = $AUSR_ID"
	expect 200 PUT /api/v1/users/me "$AUSR_T" "{\"full_name\": \"Me\",
	    \"username\": \"me$SFX\", \"email\": \"me$SFX@example.com\",
	    \"hashed_password\": \"x\", \"two_factor_enabled\": true,
	    \"id\": 1, \"roles\": [1]}"
	json_check http.body "j['id'] == $AUSR_ID and j['full_name'] == 'Me'
	    and j['username'] == 'me$SFX' and
	    j['email'] == 'me$SFX@example.com' and not j['is_verified'] and
	    not j['two_factor_enabled'] and not j['is_superuser'] and
	    j['company_id'] == $CA"
	sql_is "f|f|$CA" "SELECT is_superuser,
	    two_factor_enabled, company_id FROM users WHERE id = $AUSR_ID"
	expect 400 PUT /api/v1/users/me "$AUSR_T" \
	    "{\"username\": \"AADM$SFX\"}"
	detail_is "The user with this username already exists in the system."
	expect 400 PUT /api/v1/users/me "$AUSR_T" \
	    "{\"email\": \"busr$SFX@example.com\"}"
	detail_is "The user with this email already exists in the system."
	expect 422 PUT /api/v1/users/me "$AUSR_T" '{"email": "nope"}'
	invalid email value_error "value is not a valid email address"
	expect 401 PUT /api/v1/users/me "" '{"full_name": "x"}'
}
me_cleanup()
{
	authd_cleanup
}

atf_test_case me_password cleanup
me_password_head()
{
	atf_set descr "PUT /users/me password: current_password required and" \
	    "checked, the policy, the other sessions revoked"
}
me_password_body()
{
	fixture
	other=$(login "ausr$SFX" "$PW")
	expect 422 PUT /api/v1/users/me "$AUSR_T" '{"password": "New-Pass-123"}'
	invalid current_password missing "Field required"
	expect 400 PUT /api/v1/users/me "$AUSR_T" \
	    '{"password": "New-Pass-123", "current_password": "Wrong-Pass1!"}'
	detail_is "Incorrect password"
	expect 422 PUT /api/v1/users/me "$AUSR_T" \
	    "{\"password\": \"new\", \"current_password\": \"$PW\"}"
	invalid password value_error "Password must be at least 8 characters"
	invalid password value_error "Password must contain an uppercase letter"
	expect 422 PUT /api/v1/users/me "$AUSR_T" \
	    "{\"password\": \"1!AUSR${SFX}\", \"current_password\": \"$PW\"}"
	invalid password value_error \
	    "Password must not contain the username or email"
	# The rule uses the username that goes with the new password.
	expect 422 PUT /api/v1/users/me "$AUSR_T" "{\"username\":
	    \"neo$SFX\", \"password\": \"1!NEO${SFX}\",
	    \"current_password\": \"$PW\"}"
	invalid password value_error \
	    "Password must not contain the username or email"
	expect 200 GET /api/v1/users/me "$other"
	hash=$(sql "SELECT hashed_password FROM users WHERE id = $AUSR_ID")
	expect 200 PUT /api/v1/users/me "$AUSR_T" \
	    "{\"password\": \"New-Pass-123\", \"current_password\": \"$PW\"}"
	json_check http.body "j['id'] == $AUSR_ID"
	# The other session is gone, this one stays.
	expect 401 GET /api/v1/users/me "$other"
	detail_is "Token has been revoked"
	expect 200 GET /api/v1/users/me "$AUSR_T"
	new=$(sql "SELECT hashed_password FROM users WHERE id = $AUSR_ID")
	[ "$hash" != "$new" ] || atf_fail "hash unchanged"
	sql_is "1" "SELECT count(*) FROM audit_log
	    WHERE action = 'user.update' AND object_id = $AUSR_ID
	    AND detail->'fields' ? 'password'"
	login "ausr$SFX" 'New-Pass-123' >/dev/null
	st=$(http POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=ausr$SFX" \
	    --data-urlencode "password=$PW")
	[ "$st" = 401 ] || atf_fail "old password still logs in: $st"
}
me_password_cleanup()
{
	authd_cleanup
}

atf_test_case me_password_race cleanup
me_password_race_head()
{
	atf_set descr "PUT /users/me password: of two changes sent at once" \
	    "with the same current password, one is written and the" \
	    "other refused as a wrong current password"
}
me_password_race_body()
{
	local n st ok refused
	fixture
	# Both requests read the row and pass the keyholder's check; the
	# lock holds their writes until both wait.
	locker_start "PERFORM 1 FROM users WHERE id = $AUSR_ID FOR UPDATE" \
	    "PERFORM pg_sleep(2)"
	for n in 1 2; do
		curl -sS -o "race$n.body" -w '%{http_code}' --max-time 60 \
		    -X PUT "$AUTHD_URL/api/v1/users/me" \
		    -H "Authorization: Bearer $AUSR_T" \
		    -H 'Content-Type: application/json' --data-binary \
		    "{\"password\": \"Race-Pass-$n!x\",
		      \"current_password\": \"$PW\"}" >"race$n.status" &
	done
	wait_until 30 sh -c '[ -s race1.status ] && [ -s race2.status ]' ||
	    atf_fail "the changes did not answer"
	locker_wait
	ok=
	refused=0
	for n in 1 2; do
		st=$(cat "race$n.status")
		case $st in
		200)	[ -z "$ok" ] || atf_fail "both changes were written"
			ok=$n ;;
		400)	cp "race$n.body" http.body
			detail_is "Incorrect password"
			refused=$((refused + 1)) ;;
		*)	atf_fail "change $n: status $st: $(cat "race$n.body")" ;;
		esac
	done
	[ -n "$ok" ] && [ "$refused" = 1 ] ||
	    atf_fail "not one change written and one refused"
	login "ausr$SFX" "Race-Pass-$ok!x" >/dev/null
	sql_is 1 "SELECT count(*) FROM audit_log
	    WHERE action = 'user.update' AND object_id = $AUSR_ID
	    AND detail->'fields' ? 'password'"
}
me_password_race_cleanup()
{
	locker_cleanup
	authd_cleanup
}

atf_test_case delete cleanup
delete_head()
{
	atf_set descr "DELETE /users/{id}: returns the deleted user, its" \
	    "sessions die with it, foreign users are not found"
}
delete_body()
{
	fixture
	t=$(login "ausr$SFX" "$PW")
	expect 200 DELETE "/api/v1/users/$AUSR_ID" "$AADM_T"
	json_check http.body "j['id'] == $AUSR_ID and
	    j['username'] == 'ausr$SFX' and 'hashed_password' not in j"
	expect 401 GET /api/v1/users/me "$t"
	detail_is "Token has been revoked"
	sql_is "0|0|0" "SELECT
	    (SELECT count(*) FROM users WHERE id = $AUSR_ID),
	    (SELECT count(*) FROM sessions WHERE user_id = $AUSR_ID),
	    (SELECT count(*) FROM user_roles WHERE user_id = $AUSR_ID)"
	sql_is "1" "SELECT count(*) FROM audit_log
	    WHERE action = 'user.delete' AND object_id = $AUSR_ID
	    AND actor_user_id = $AADM_ID"
	expect 404 DELETE "/api/v1/users/$AUSR_ID" "$AADM_T"
	detail_is "User not found"
	expect 404 DELETE "/api/v1/users/$BUSR_ID" "$AADM_T"
	detail_is "User not found"
	# A users:delete holder may not delete a superuser.
	holder=$(mkuser "$ROOT" "del$SFX" "$CA")
	grant "$CA" "$holder" "deleters$SFX" "'users:delete'" >/dev/null
	ht=$(login "del$SFX" "$PW")
	expect 403 DELETE "/api/v1/users/$AADM_ID" "$ht"
	detail_is "The user doesn't have enough privileges"
	expect 200 DELETE "/api/v1/users/$BUSR_ID" "$ROOT"
}
delete_cleanup()
{
	authd_cleanup
}

atf_test_case last_root cleanup
last_root_head()
{
	atf_set descr "the only active root superuser can be neither" \
	    "deleted, demoted, deactivated nor moved"
}
last_root_body()
{
	fixture
	# Other tests may have left root superusers: set them aside.
	others=$(sql "SELECT coalesce(string_agg(id::text, ','), '0')
	    FROM users u WHERE company_id = $ROOT_CID AND is_superuser
	    AND is_active AND id <> $ROOT_ID")
	echo "$others" >others
	sql "UPDATE users SET is_active = false WHERE id IN ($others)"
	expect 400 DELETE "/api/v1/users/$ROOT_ID" "$ROOT"
	detail_is "Cannot delete the only root superuser"
	for b in '{"is_superuser": false}' '{"is_active": false}' \
	    "{\"company_id\": $CA}"; do
		expect 400 PUT "/api/v1/users/$ROOT_ID" "$ROOT" "$b"
		detail_is "Cannot deactivate or demote the only root superuser"
	done
	sql_is "t|t|$ROOT_CID" "SELECT is_superuser,
	    is_active, company_id FROM users WHERE id = $ROOT_ID"
	# With a second one, the first may go (here: the second goes).
	second=$(mkuser "$ROOT" "root2$SFX" "$ROOT_CID" true)
	expect 200 PUT "/api/v1/users/$ROOT_ID" "$ROOT" \
	    '{"full_name": "Still here"}'
	t2=$(login "root2$SFX" "$PW")
	expect 200 DELETE "/api/v1/users/$second" "$ROOT"
	expect 401 GET /api/v1/users/me "$t2"
	expect 400 DELETE "/api/v1/users/$ROOT_ID" "$ROOT"
	detail_is "Cannot delete the only root superuser"
}
last_root_cleanup()
{
	if [ -f others ]; then
		"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c "UPDATE users
		    SET is_active = true WHERE id IN ($(cat others))"
	fi
	authd_cleanup
}

atf_test_case roles cleanup
roles_head()
{
	atf_set descr "GET /users/{id}/roles and role assignment: same" \
	    "company only, the escalation check, the 400s (checklist 49)"
}
roles_body()
{
	fixture
	admin=$(sql "SELECT id FROM roles WHERE company_id = $CA
	    AND name = 'admin'")
	badmin=$(sql "SELECT id FROM roles WHERE company_id = $CB
	    AND name = 'admin'")
	expect 200 GET "/api/v1/users/$AADM_ID/roles" "$AADM_T"
	json_check http.body "len(j) == 1 and j[0]['name'] == 'user' and
	    j[0]['company_id'] == $CA and j[0]['is_default'] and
	    set(j[0]) >= {'id', 'name', 'description', 'company_id',
	    'is_default', 'parent_id', 'created_at', 'updated_at'}"
	expect 404 GET "/api/v1/users/$BUSR_ID/roles" "$AADM_T"
	detail_is "User not found"

	expect 200 POST "/api/v1/users/$AUSR_ID/roles/$admin" "$AADM_T"
	json_check http.body "j['id'] == $AUSR_ID and j['roles'] == ['admin']"
	sql_is "1" "SELECT count(*) FROM audit_log
	    WHERE action = 'user.role_assign' AND object_id = $AUSR_ID"
	# Effective on the next request: the user may now list users.
	expect 200 GET /api/v1/users/ "$AUSR_T"
	expect 400 POST "/api/v1/users/$AUSR_ID/roles/$admin" "$AADM_T"
	detail_is "Role is already assigned to this user"
	expect 200 DELETE "/api/v1/users/$AUSR_ID/roles/$admin" "$AADM_T"
	json_check http.body "j['roles'] == []"
	expect 403 GET /api/v1/users/ "$AUSR_T"
	expect 400 DELETE "/api/v1/users/$AUSR_ID/roles/$admin" "$AADM_T"
	detail_is "Role is not assigned to this user"

	# Across companies: a role of B to a user of A, a role of A to a
	# user of B.
	expect 404 POST "/api/v1/users/$AUSR_ID/roles/$badmin" "$AADM_T"
	detail_is "Role not found"
	expect 404 POST "/api/v1/users/$BUSR_ID/roles/$admin" "$AADM_T"
	detail_is "User not found"
	expect 404 POST "/api/v1/users/$BUSR_ID/roles/$badmin" "$AADM_T"
	detail_is "User not found"
	expect 404 POST "/api/v1/users/$AUSR_ID/roles/999999999" "$AADM_T"
	detail_is "Role not found"
	expect 404 POST "/api/v1/users/$AUSR_ID/roles/$badmin" "$ROOT"
	detail_is "Role not found"
	sql_is "0" "SELECT count(*) FROM user_roles
	    WHERE role_id IN ($admin, $badmin) AND user_id IN
	    ($AUSR_ID, $BUSR_ID)"

	# A roles:update holder hands out only what it holds, also to itself.
	holder=$(mkuser "$ROOT" "rh$SFX" "$CA")
	grant "$CA" "$holder" "assigners$SFX" "'roles:update', 'users:read'" \
	    >/dev/null
	small=$(grant "$CA" "" "small$SFX" "'users:read'")
	ht=$(login "rh$SFX" "$PW")
	expect 403 POST "/api/v1/users/$holder/roles/$admin" "$ht"
	detail_is "The user doesn't have enough privileges"
	expect 403 POST "/api/v1/users/$AUSR_ID/roles/$admin" "$ht"
	detail_is "The user doesn't have enough privileges"
	expect 200 POST "/api/v1/users/$AUSR_ID/roles/$small" "$ht"
	json_check http.body "'small$SFX' in j['roles']"
	expect 403 POST "/api/v1/users/$AUSR_ID/roles/$small" "$AUSR_T"
	detail_is "The user doesn't have enough privileges"
	expect 422 POST "/api/v1/users/$AUSR_ID/roles/x" "$AADM_T"
}
roles_cleanup()
{
	authd_cleanup
}

atf_test_case login_history cleanup
login_history_head()
{
	atf_set descr "GET /users/me/login-history and" \
	    "/users/{id}/login-history: newest first, paged, same company"
}
login_history_body()
{
	fixture
	st=$(http POST "$AUTHD_URL/api/v1/auth/login" -A "bad-agent" \
	    --data-urlencode "username=ausr$SFX" \
	    --data-urlencode "password=Wrong-Pass1!")
	[ "$st" = 401 ] || atf_fail "wrong password: $st"
	sleep 1
	t=$(login "ausr$SFX" "$PW")
	n=$(sql "SELECT count(*) FROM login_history WHERE user_id = $AUSR_ID")
	[ "$n" -eq 3 ] || atf_fail "expected 3 login rows, found $n"
	expect 200 GET /api/v1/users/me/login-history "$t"
	atf_check -o ignore grep -i "^x-total-count: 3" http.headers
	json_check http.body "len(j) == 3 and
	    all(set(e) == {'id', 'created_at', 'ip_address', 'user_agent',
	    'success', 'reason'} for e in j) and
	    j[0]['success'] and j[1]['success'] is False and
	    j[1]['user_agent'] == 'bad-agent' and
	    j[1]['reason'] == 'bad password' and
	    j[0]['ip_address'] == '127.0.0.1' and
	    j[0]['created_at'] >= j[1]['created_at'] >= j[2]['created_at']"
	expect 200 GET "/api/v1/users/me/login-history?limit=1&skip=1" "$t"
	json_check http.body "len(j) == 1 and j[0]['success'] is False"
	expect 422 GET "/api/v1/users/me/login-history?limit=0" "$t"
	expect 422 GET "/api/v1/users/me/login-history?skip=-1" "$t"
	expect 200 GET "/api/v1/users/$AUSR_ID/login-history" "$AADM_T"
	json_check http.body "len(j) == 3"
	expect 404 GET "/api/v1/users/$BUSR_ID/login-history" "$AADM_T"
	detail_is "User not found"
	expect 404 GET "/api/v1/users/$ROOT_ID/login-history" "$AADM_T"
	detail_is "User not found"
	expect 200 GET "/api/v1/users/$BUSR_ID/login-history" "$ROOT"
	expect 403 GET "/api/v1/users/$AADM_ID/login-history" "$t"
	detail_is "The user doesn't have enough privileges"
}
login_history_cleanup()
{
	authd_cleanup
}

atf_test_case active_stats cleanup
active_stats_head()
{
	atf_set descr "GET /users/active-stats: the company's numbers (root" \
	    "admin: all), admins only"
}
active_stats_body()
{
	fixture
	expect 200 GET /api/v1/users/active-stats "$AADM_T"
	want=$(sql "SELECT json_build_object(
	    'active_sessions_24h', (SELECT count(*) FROM sessions
		WHERE company_id = $CA AND is_active AND expires_at > now()
		AND last_used_at > now() - interval '24 hours'),
	    'active_users_24h', (SELECT count(DISTINCT user_id) FROM sessions
		WHERE company_id = $CA AND is_active AND expires_at > now()
		AND last_used_at > now() - interval '24 hours'),
	    'total_active_sessions', (SELECT count(*) FROM sessions
		WHERE company_id = $CA AND is_active AND expires_at > now()),
	    'total_users', (SELECT count(*) FROM users
		WHERE company_id = $CA),
	    'new_users_7d', (SELECT count(*) FROM users
		WHERE company_id = $CA
		AND created_at > now() - interval '7 days'))")
	json_check http.body "j == $want and j['total_users'] == 2 and
	    j['active_users_24h'] == 2 and j['total_active_sessions'] == 2"
	expect 200 GET /api/v1/users/active-stats "$ROOT"
	all=$(sql "SELECT count(*) FROM users")
	json_check http.body "j['total_users'] == $all"
	expect 200 GET "/api/v1/users/active-stats?company_id=$CB" "$ROOT"
	json_check http.body "j['total_users'] == 2 and
	    j['active_users_24h'] == 1"
	expect 200 GET "/api/v1/users/active-stats?company_id=$CB" "$AADM_T"
	json_check http.body "j['total_users'] == 2 and
	    j['active_users_24h'] == 2"
	expect 403 GET /api/v1/users/active-stats "$AUSR_T"
	detail_is "The user doesn't have enough privileges"
}
active_stats_cleanup()
{
	authd_cleanup
}

atf_test_case permission_holder cleanup
permission_holder_head()
{
	atf_set descr "a user holding users:read reads its own company only;" \
	    "without the permission every admin route is a 403"
}
permission_holder_body()
{
	fixture
	grant "$CA" "$AUSR_ID" "readers$SFX" "'users:read'" >/dev/null
	expect 200 GET /api/v1/users/ "$AUSR_T"
	json_check http.body "all(u['company_id'] == $CA for u in j)"
	expect 200 GET "/api/v1/users/?company_id=$CB" "$AUSR_T"
	json_check http.body "all(u['company_id'] == $CA for u in j)"
	expect 200 GET "/api/v1/users/$AADM_ID" "$AUSR_T"
	expect 404 GET "/api/v1/users/$BUSR_ID" "$AUSR_T"
	expect 200 GET "/api/v1/users/$AADM_ID/roles" "$AUSR_T"
	expect 403 POST /api/v1/users/ "$AUSR_T" '{}'
	expect 403 PUT "/api/v1/users/$AADM_ID" "$AUSR_T" '{"full_name": "x"}'
	expect 403 DELETE "/api/v1/users/$AADM_ID" "$AUSR_T"
	expect 403 POST "/api/v1/users/$AUSR_ID/roles/1" "$AUSR_T"
	expect 403 DELETE "/api/v1/users/$AUSR_ID/roles/1" "$AUSR_T"
	# The grant taken away: effective on the next request.
	sql "DELETE FROM user_roles WHERE user_id = $AUSR_ID AND role_id IN
	    (SELECT id FROM roles WHERE name = 'readers$SFX')"
	expect 403 GET /api/v1/users/ "$AUSR_T"
	expect 403 GET "/api/v1/users/$AADM_ID" "$AUSR_T"
}
permission_holder_cleanup()
{
	authd_cleanup
}

atf_test_case roles_paged cleanup
roles_paged_head()
{
	atf_set descr "GET /users/{id}/roles pages like every list: skip," \
	    "limit 1..1000, X-Total-Count"
}
roles_paged_body()
{
	fixture
	for n in 1 2 3; do
		grant "$CA" "$AUSR_ID" "r$n$SFX" "'users:read'" >/dev/null
	done
	expect 200 GET "/api/v1/users/$AUSR_ID/roles" "$AADM_T"
	atf_check -o ignore grep -ix "x-total-count: 3.\{0,1\}" http.headers
	json_check http.body "[r['name'] for r in j] ==
	    ['r1$SFX', 'r2$SFX', 'r3$SFX']"
	expect 200 GET "/api/v1/users/$AUSR_ID/roles?limit=1&skip=1" "$AADM_T"
	atf_check -o ignore grep -ix "x-total-count: 3.\{0,1\}" http.headers
	json_check http.body "[r['name'] for r in j] == ['r2$SFX']"
	expect 200 GET "/api/v1/users/$AUSR_ID/roles?skip=3" "$AADM_T"
	json_check http.body "j == []"
	expect 200 GET "/api/v1/users/$AUSR_ID/roles?limit=1000&skip=0" \
	    "$AADM_T"
	json_check http.body "len(j) == 3"
	for q in limit=0 limit=1001 limit=-1 limit=abc skip=-1 skip=abc; do
		expect 422 GET "/api/v1/users/$AUSR_ID/roles?$q" "$AADM_T"
		json_check http.body "j['detail'][0]['loc'] ==
		    ['query', '${q%%=*}']"
	done
	expect 404 GET "/api/v1/users/$BUSR_ID/roles?limit=1" "$AADM_T"
	detail_is "User not found"
}
roles_paged_cleanup()
{
	authd_cleanup
}

atf_test_case holder_privileges cleanup
holder_privileges_head()
{
	atf_set descr "a permission holder that is no superuser may not" \
	    "update, delete or change the roles of a user holding a" \
	    "permission it lacks; nothing changes"
}
holder_privileges_body()
{
	fixture
	admin=$(sql "SELECT id FROM roles WHERE company_id = $CA
	    AND name = 'admin'")
	small=$(grant "$CA" "" "small$SFX" "'users:read'")
	# The victim: no superuser, but the company's admin role.
	vic=$(mkuser "$ROOT" "vic$SFX" "$CA")
	sql "INSERT INTO user_roles (user_id, role_id, company_id)
	    VALUES ($vic, $admin, $CA), ($vic, $small, $CA)"
	holder=$(mkuser "$ROOT" "hold$SFX" "$CA")
	grant "$CA" "$holder" "holders$SFX" \
	    "'users:update', 'users:delete', 'roles:update'" >/dev/null
	ht=$(login "hold$SFX" "$PW")
	vt=$(login "vic$SFX" "$PW")
	before=$(sql "SELECT row_to_json(u) FROM users u WHERE id = $vic")
	roles=$(sql "SELECT string_agg(role_id::text, ',' ORDER BY role_id)
	    FROM user_roles WHERE user_id = $vic")
	expect 403 PUT "/api/v1/users/$vic" "$ht" \
	    '{"password": "Hijacked-Pass1!"}'
	detail_is "The user doesn't have enough privileges"
	expect 403 PUT "/api/v1/users/$vic" "$ht" '{"full_name": "pwned"}'
	detail_is "The user doesn't have enough privileges"
	expect 403 DELETE "/api/v1/users/$vic" "$ht"
	detail_is "The user doesn't have enough privileges"
	# small grants only what the holder holds: the target refuses.
	expect 403 DELETE "/api/v1/users/$vic/roles/$small" "$ht"
	detail_is "The user doesn't have enough privileges"
	sql "DELETE FROM user_roles WHERE user_id = $vic AND role_id = $small"
	expect 403 POST "/api/v1/users/$vic/roles/$small" "$ht"
	detail_is "The user doesn't have enough privileges"
	sql "INSERT INTO user_roles (user_id, role_id, company_id)
	    VALUES ($vic, $small, $CA)"
	after=$(sql "SELECT row_to_json(u) FROM users u WHERE id = $vic")
	[ "$before" = "$after" ] || atf_fail "user changed by a refused write"
	sql_is "$roles" "SELECT string_agg(role_id::text, ',' ORDER BY role_id)
	    FROM user_roles WHERE user_id = $vic"
	st=$(http POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=vic$SFX" \
	    --data-urlencode "password=Hijacked-Pass1!")
	[ "$st" = 401 ] || atf_fail "the victim logs in with the new password"
	expect 200 GET /api/v1/users/me "$vt"
	sql_is "0" "SELECT count(*) FROM audit_log WHERE object_id = $vic
	    AND action IN ('user.update', 'user.delete', 'user.role_assign',
	    'user.role_unassign')"

	# A user holding no more than the holder: every route works.
	peer=$(mkuser "$ROOT" "peer$SFX" "$CA")
	expect 200 PUT "/api/v1/users/$peer" "$ht" \
	    '{"password": "Peer-Changed1!"}'
	expect 200 POST "/api/v1/users/$AUSR_ID/roles/$small" "$ht"
	expect 200 DELETE "/api/v1/users/$AUSR_ID/roles/$small" "$ht"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$ht" '{"full_name": "ok"}'
	expect 200 DELETE "/api/v1/users/$peer" "$ht"
	# ... and the holder itself.
	expect 200 PUT "/api/v1/users/$holder" "$ht" '{"full_name": "self"}'
	# A company admin is no permission holder: it acts on the victim.
	expect 200 PUT "/api/v1/users/$vic" "$AADM_T" '{"full_name": "adm"}'
	expect 200 DELETE "/api/v1/users/$vic/roles/$small" "$AADM_T"
}
holder_privileges_cleanup()
{
	authd_cleanup
}

atf_test_case full_name_null cleanup
full_name_null_head()
{
	atf_set descr "PUT /users/me and /users/{id}: full_name null clears" \
	    "the name, an absent full_name leaves it"
}
full_name_null_body()
{
	fixture
	expect 200 PUT /api/v1/users/me "$AUSR_T" '{"full_name": null}'
	json_check http.body "j['full_name'] is None and j['id'] == $AUSR_ID"
	sql_is "t" "SELECT full_name IS NULL FROM users WHERE id = $AUSR_ID"
	sql_is "1" "SELECT count(*) FROM audit_log
	    WHERE action = 'user.update' AND object_id = $AUSR_ID
	    AND detail->'fields' = '[\"full_name\"]'"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" '{"full_name": "Back"}'
	json_check http.body "j['full_name'] == 'Back'"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    "{\"username\": \"renamed$SFX\"}"
	json_check http.body "j['full_name'] == 'Back'"
	expect 200 PUT /api/v1/users/me "$AUSR_T" '{"email": null}'
	json_check http.body "j['full_name'] == 'Back' and
	    j['email'] == 'ausr$SFX@example.com'"
	expect 200 PUT "/api/v1/users/$AUSR_ID" "$AADM_T" \
	    '{"full_name": null, "is_active": true}'
	json_check http.body "j['full_name'] is None and
	    j['username'] == 'renamed$SFX'"
	sql_is "t" "SELECT full_name IS NULL FROM users WHERE id = $AUSR_ID"
}
full_name_null_cleanup()
{
	authd_cleanup
}

atf_test_case role_company_delete cleanup
role_company_delete_head()
{
	atf_set descr "role assignments racing a forced company delete:" \
	    "the delete succeeds, each assignment answers 200 or 404" \
	    "(no deadlock, no 503)"
}
role_company_delete_body()
{
	local rounds
	fixture
	# 15 companies, each with a role and 6 users; rounds holds each
	# company as "cid:rid:uid,uid,...", companies by spaces.
	rounds=$(sql "WITH c AS (INSERT INTO companies (name)
	    SELECT 'race $SFX ' || k FROM generate_series(1, 15) k
	    RETURNING id),
	    r AS (INSERT INTO roles (company_id, name)
	    SELECT id, 'race' FROM c RETURNING id, company_id),
	    u AS (INSERT INTO users (company_id, email, username,
	    hashed_password, is_verified)
	    SELECT c.id, 'race' || c.id || '_' || k || '@example.com',
	    'race' || c.id || '_' || k, x.hashed_password, true
	    FROM c, generate_series(1, 6) k,
	    (SELECT hashed_password FROM users WHERE id = $ROOT_ID) x
	    RETURNING id, company_id)
	    SELECT string_agg(r.company_id || ':' || r.id || ':' ||
	    (SELECT string_agg(u.id::text, ',') FROM u
	    WHERE u.company_id = r.company_id), ' ') FROM r")
	[ -n "$rounds" ] || atf_fail "no companies made"
	python3 - "$AUTHD_URL" "$ROOT" "$rounds" >race.out 2>&1 <<'EOF2' ||
import http.client, sys, threading, urllib.parse
url, token, rounds = sys.argv[1], sys.argv[2], sys.argv[3].split()
u = urllib.parse.urlparse(url)
bad = 0
for rnd in rounds:
    cid, rid, uids = rnd.split(":")
    reqs = [("POST", "/api/v1/users/%s/roles/%s" % (x, rid), (200, 404))
        for x in uids.split(",")]
    reqs.append(("DELETE", "/api/v1/companies/%s?force=true" % cid, (200,)))
    barrier = threading.Barrier(len(reqs))
    got = [None] * len(reqs)
    def call(i):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        barrier.wait()
        c.request(reqs[i][0], reqs[i][1], headers={
            "Authorization": "Bearer " + token})
        r = c.getresponse()
        got[i] = (r.status, r.read().decode())
        c.close()
    ts = [threading.Thread(target=call, args=(i,))
        for i in range(len(reqs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for (m, p, ok), (st, body) in zip(reqs, got):
        if st not in ok:
            bad += 1
            print("%s %s: %d %s" % (m, p, st, body[:100]))
sys.exit(1 if bad else 0)
EOF2
	    atf_fail "$(oneline "$(head -c 1500 race.out)")"
	sql_is 0 "SELECT count(*) FROM companies WHERE name LIKE 'race $SFX %'"
	sql_is 0 "SELECT count(*) FROM users WHERE username LIKE 'race%'
	    AND company_id NOT IN (SELECT id FROM companies)"
}
role_company_delete_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case policy
	atf_add_test_case create
	atf_add_test_case create_isolation
	atf_add_test_case list
	atf_add_test_case get
	atf_add_test_case path_ids
	atf_add_test_case update
	atf_add_test_case update_privileges
	atf_add_test_case me
	atf_add_test_case me_password
	atf_add_test_case me_password_race
	atf_add_test_case delete
	atf_add_test_case last_root
	atf_add_test_case roles
	atf_add_test_case login_history
	atf_add_test_case roles_paged
	atf_add_test_case holder_privileges
	atf_add_test_case full_name_null
	atf_add_test_case active_stats
	atf_add_test_case permission_holder
	atf_add_test_case role_company_delete
}
