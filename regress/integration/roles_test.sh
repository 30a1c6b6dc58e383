#! /usr/bin/env atf-sh
# /api/v1/roles, /api/v1/permissions and /api/v1/resources over real
# HTTP: every route and message, role inheritance through the parent
# chain (effective on the next request), cycles, global versus company
# ownership, who may grant what, the audit row of each write, and tenant
# isolation (another company's ids answer exactly like missing ones and
# its rows stay as they were).  Each test case starts its own authd
# against the database of regress/run.sh; names carry a random tag, so
# the cases share that database safely.
#
# atf_fail ends a test case only from the case's own shell, never from
# $(...): helpers that produce a value set a variable instead.

. "$(atf_get_srcdir)/../lib.sh"

# A number that no row has: ids are never reused and stay far below.
NOID=9000000000000000000

# --- fixtures --------------------------------------------------------


# Starts the daemon of a test case and logs the root admin in: ROOT
# (token), ROOT_UID, ROOT_CID, TAG (random, for unique names).
start()
{
	require_env
	TAG=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	authd_setup || atf_fail "authd_setup failed"
	authd_start || atf_fail "authd did not start (its log is on stderr)"
	login "$AUTHD_ADMIN_USERNAME"
	ROOT=$TOKEN
	sql "SELECT id, company_id FROM users \
	    WHERE username = '$AUTHD_ADMIN_USERNAME'"
	ROOT_UID=${SQL%%|*}
	ROOT_CID=${SQL##*|}
}

# sql TEXT: runs it in the test database; its rows (unaligned, | between
# columns) are left in $SQL.
sql()
{
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c "$1" >sql.out 2>sql.err ||
	    atf_fail "$(oneline "SQL failed: $1:" "$(cat sql.err)")"
	SQL=$(cat sql.out)
	cache_flush
}

# sql_expect VALUE TEXT: fails unless TEXT outputs exactly VALUE.
sql_expect()
{
	sql "$2"
	[ "$SQL" = "$1" ] ||
	    atf_fail "$(oneline "SQL $2: got '$SQL', expected '$1'")"
}

# login NAME: every test user has the first admin's password; sets TOKEN.
login()
{
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$1" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	jget TOKEN http.body 'j["access_token"]'
}

# jget VAR FILE EXPR: VAR = json_get FILE EXPR, or fail.
jget()
{
	local v
	v=$(json_get "$2" "$3" 2>json.err) ||
	    atf_fail "$(oneline "cannot read $3 from $2:" "$(cat json.err)" \
	    "$(head -c 300 "$2")")"
	eval "$1=\$v"
}

# mk_company NAME: a company with its seeded admin and user roles, made
# in SQL so that these cases do not hang on the companies API; sets CID.
mk_company()
{
	sql "WITH c AS (INSERT INTO companies (name) VALUES ('$1') \
	    RETURNING id) SELECT id, authd_seed_company_roles(id) FROM c"
	CID=${SQL%%|*}
	[ -n "$CID" ] || atf_fail "company $1 not created"
}

# mk_user COMPANY NAME SUPERUSER [ROLE...]: a user with the first
# admin's password hash, holding the named roles of its company; sets UID_.
mk_user()
{
	local cid name su role
	cid=$1
	name=$2
	su=$3
	shift 3
	sql "INSERT INTO users (company_id, email, username, full_name, \
	    hashed_password, is_superuser, is_verified) \
	    SELECT $cid, '$name@example.com', '$name', '$name', \
	    hashed_password, $su, true FROM users \
	    WHERE username = '$AUTHD_ADMIN_USERNAME' RETURNING id"
	UID_=$SQL
	[ -n "$UID_" ] || atf_fail "user $name not created"
	for role in "$@"; do
		sql_expect 1 "WITH r AS (INSERT INTO user_roles (user_id, \
		    role_id, company_id) SELECT $UID_, id, $cid FROM roles \
		    WHERE company_id = $cid AND name = '$role' RETURNING 1) \
		    SELECT count(*) FROM r"
	done
}

# mk_role COMPANY NAME [PERMISSION...]: a role granting the named global
# permissions, made in SQL; sets RID.
mk_role()
{
	local cid name perm
	cid=$1
	name=$2
	shift 2
	sql "INSERT INTO roles (company_id, name) VALUES ($cid, '$name') \
	    RETURNING id"
	RID=$SQL
	for perm in "$@"; do
		sql_expect 1 "WITH g AS (INSERT INTO role_permissions \
		    (role_id, permission_id, company_id) SELECT $RID, id, $cid \
		    FROM permissions WHERE company_id IS NULL \
		    AND name = '$perm' RETURNING 1) SELECT count(*) FROM g"
	done
}

# perm_id NAME: the id of a global permission; sets PID_.
perm_id()
{
	sql "SELECT id FROM permissions WHERE company_id IS NULL \
	    AND name = '$1'"
	PID_=$SQL
	[ -n "$PID_" ] || atf_fail "no global permission $1"
}

# tenants: companies A and B (ids A, B), each with an admin (TA, TB:
# tokens; A_ADMIN, B_ADMIN: user ids).
tenants()
{
	mk_company "rl-a-$TAG"
	A=$CID
	mk_company "rl-b-$TAG"
	B=$CID
	mk_user "$A" "rl-a-admin-$TAG" true
	A_ADMIN=$UID_
	login "rl-a-admin-$TAG"
	TA=$TOKEN
	mk_user "$B" "rl-b-admin-$TAG" true
	B_ADMIN=$UID_
	login "rl-b-admin-$TAG"
	TB=$TOKEN
}

# --- requests --------------------------------------------------------

# call METHOD PATH TOKEN [JSON]: prints the status; the body is left in
# ./http.body.
call()
{
	local m p t
	m=$1
	p=$2
	t=$3
	shift 3
	if [ $# -gt 0 ]; then
		http_json "$m" "$AUTHD_URL$p" "$1" \
		    -H "Authorization: Bearer $t"
	else
		http "$m" "$AUTHD_URL$p" -H "Authorization: Bearer $t"
	fi
}

# expect CODE METHOD PATH TOKEN [JSON]: fails unless the status is CODE.
expect()
{
	local want got
	want=$1
	shift
	got=$(call "$@")
	[ "$got" = "$want" ] || atf_fail "$(oneline "$1 $2: status $got," \
	    "expected $want; body: $(head -c 400 http.body)")"
}

# detail MESSAGE: the last body is exactly {"detail": MESSAGE}.  Compared
# as text (no message here needs escaping in JSON), with or without the
# space that PostgreSQL's jsonb puts after the colon.
detail()
{
	local body
	body=$(cat http.body)
	[ "$body" = "{\"detail\":\"$1\"}" ] ||
	    [ "$body" = "{\"detail\": \"$1\"}" ] ||
	    atf_fail "$(oneline "expected detail '$1', got" \
	    "$(head -c 400 http.body)")"
}

# invalid TYPE WHERE FIELD: the last body is a 422 whose entries include
# one of TYPE at [WHERE, FIELD].
invalid()
{
	json_check http.body "any(e[\"type\"] == \"$1\" and
	    e[\"loc\"] == [\"$2\", \"$3\"] and isinstance(e[\"msg\"], str)
	    for e in j[\"detail\"])"
}

# same_as_missing METHOD PATH_OF_OTHER PATH_OF_NOTHING TOKEN [JSON]: the
# two answer 404 with byte-identical bodies.
same_as_missing()
{
	local m other none t
	m=$1
	other=$2
	none=$3
	t=$4
	shift 4
	expect 404 "$m" "$other" "$t" "$@"
	cp http.body other.body
	expect 404 "$m" "$none" "$t" "$@"
	cmp -s other.body http.body || atf_fail "$(oneline "$m $other:" \
	    "$(cat other.body) differs from $(cat http.body)")"
}

# same_body_as_missing METHOD PATH TOKEN JSON_OF_OTHER JSON_OF_NOTHING:
# the same with the other company's id in the body.
same_body_as_missing()
{
	expect 404 "$1" "$2" "$3" "$4"
	cp http.body other.body
	expect 404 "$1" "$2" "$3" "$5"
	cmp -s other.body http.body || atf_fail "$(oneline "$1 $2 $4:" \
	    "$(cat other.body) differs from $(cat http.body)")"
}

# audited ACTION TYPE ID ACTOR COMPANY: exactly one audit row says so.
audited()
{
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE action = '$1' \
	    AND object_type = '$2' AND object_id = $3 \
	    AND actor_user_id = $4 AND company_id = $5 \
	    AND ip_address = '127.0.0.1'"
}

# --- roles -----------------------------------------------------------

atf_test_case roles_crud cleanup
roles_crud_head()
{
	atf_set descr "create, read, list, update and delete a role"
}
roles_crud_body()
{
	local id
	start
	tenants
	expect 200 POST /api/v1/roles/ "$TA" \
	    "{\"name\": \"ops-$TAG\", \"description\": \"Ops\"}"
	json_check http.body "j[\"name\"] == \"ops-$TAG\" and
	    j[\"description\"] == \"Ops\" and j[\"company_id\"] == $A and
	    j[\"is_default\"] is False and j[\"parent_id\"] is None and
	    j[\"permissions\"] == [] and j[\"effective_permissions\"] == [] and
	    re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', j[\"created_at\"])
	    and isinstance(j[\"updated_at\"], str)"
	jget id http.body 'j["id"]'
	audited role.create role "$id" "$A_ADMIN" "$A"

	# The same name in the company is refused; in another one it is not.
	expect 400 POST /api/v1/roles "$TA" "{\"name\": \"ops-$TAG\"}"
	detail "The role with this name already exists in the system."
	expect 200 POST /api/v1/roles "$TB" "{\"name\": \"ops-$TAG\"}"
	json_check http.body "j[\"company_id\"] == $B"

	expect 422 POST /api/v1/roles "$TA" '{"description": "x"}'
	invalid missing body name
	expect 422 POST /api/v1/roles "$TA" '{"name": ""}'
	invalid string_too_short body name
	expect 422 POST /api/v1/roles "$TA" \
	    "{\"name\": \"$(printf '%0101d' 0)\"}"
	invalid string_too_long body name
	expect 422 POST /api/v1/roles "$TA" '{"name": "x", "is_default": 3}'
	invalid bool_parsing body is_default
	expect 422 POST /api/v1/roles "$TA" '{"name": "x", "parent_id": "a"}'
	invalid int_parsing body parent_id
	expect 422 POST /api/v1/roles "$TA" '{"name": '
	json_check http.body 'j["detail"][0]["type"] == "json_invalid"'
	expect 404 POST /api/v1/roles "$TA" \
	    "{\"name\": \"orphan-$TAG\", \"parent_id\": $NOID}"
	detail "Parent role not found"
	sql_expect 0 "SELECT count(*) FROM roles WHERE name = 'orphan-$TAG'"

	expect 200 GET "/api/v1/roles/$id" "$TA"
	json_check http.body "j[\"id\"] == $id and j[\"name\"] == \"ops-$TAG\"
	    and j[\"permissions\"] == [] and
	    j[\"effective_permissions\"] == []"
	expect 404 GET "/api/v1/roles/$NOID" "$TA"
	detail "Role not found"
	expect 422 GET /api/v1/roles/abc "$TA"
	invalid int_parsing path role_id

	# The list: the company's own roles, with or without permissions.
	expect 200 GET /api/v1/roles/ "$TA"
	grep -qi '^x-total-count: 3' http.headers ||
	    atf_fail "X-Total-Count is not 3: $(cat http.headers)"
	json_check http.body "sorted(r[\"name\"] for r in j) ==
	    sorted([\"admin\", \"user\", \"ops-$TAG\"]) and
	    all(r[\"company_id\"] == $A and \"effective_permissions\" in r
	    for r in j)"
	json_check http.body 'len([p for r in j if r["name"] == "user"
	    for p in r["permissions"]]) == 2'
	expect 200 GET "/api/v1/roles?include_permissions=false" "$TA"
	json_check http.body 'len(j) == 3 and
	    all("permissions" not in r for r in j)'
	expect 200 GET "/api/v1/roles?limit=1&skip=1" "$TA"
	json_check http.body 'len(j) == 1'
	grep -qi '^x-total-count: 3' http.headers ||
	    atf_fail "X-Total-Count is not 3 on a page"
	expect 422 GET "/api/v1/roles?include_permissions=maybe" "$TA"
	invalid bool_parsing query include_permissions
	expect 422 GET "/api/v1/roles?limit=0" "$TA"
	invalid value_error query limit
	expect 422 GET "/api/v1/roles?limit=1001" "$TA"
	expect 422 GET "/api/v1/roles?skip=-1" "$TA"

	# Update: only what is sent changes; null clears the description.
	expect 200 PUT "/api/v1/roles/$id" "$TA" \
	    "{\"name\": \"ops2-$TAG\", \"is_default\": true}"
	json_check http.body "j[\"name\"] == \"ops2-$TAG\" and
	    j[\"is_default\"] is True and j[\"description\"] == \"Ops\""
	audited role.update role "$id" "$A_ADMIN" "$A"
	expect 200 PUT "/api/v1/roles/$id" "$TA" '{"description": null}'
	json_check http.body "j[\"name\"] == \"ops2-$TAG\" and
	    j[\"description\"] is None"
	sql_expect 2 "SELECT count(*) FROM audit_log \
	    WHERE action = 'role.update' AND object_id = $id"
	expect 400 PUT "/api/v1/roles/$id" "$TA" '{"name": "admin"}'
	detail "The role with this name already exists in the system."
	expect 403 PUT "/api/v1/roles/$id" "$TA" "{\"company_id\": $B}"
	detail "Cannot change company_id through this endpoint"
	expect 200 PUT "/api/v1/roles/$id" "$TA" "{\"company_id\": $A}"
	expect 404 PUT "/api/v1/roles/$NOID" "$TA" '{"name": "x"}'
	detail "Role not found"
	sql_expect "ops2-$TAG|t|$A" "SELECT name, is_default, company_id \
	    FROM roles WHERE id = $id"

	expect 200 DELETE "/api/v1/roles/$id" "$TA"
	json_check http.body "j[\"id\"] == $id and j[\"name\"] == \"ops2-$TAG\"
	    and \"permissions\" not in j"
	audited role.delete role "$id" "$A_ADMIN" "$A"
	sql_expect 0 "SELECT count(*) FROM roles WHERE id = $id"
	expect 404 GET "/api/v1/roles/$id" "$TA"
	detail "Role not found"
	expect 404 DELETE "/api/v1/roles/$id" "$TA"
	detail "Role not found"
}
roles_crud_cleanup()
{
	authd_cleanup
}

atf_test_case roles_permissions cleanup
roles_permissions_head()
{
	atf_set descr "permissions are assigned to and removed from a role"
}
roles_permissions_body()
{
	local rid pid
	start
	tenants
	expect 200 POST /api/v1/roles "$TA" "{\"name\": \"r-$TAG\"}"
	jget rid http.body 'j["id"]'
	perm_id users:delete
	pid=$PID_

	expect 200 POST "/api/v1/roles/$rid/permissions/$pid" "$TA"
	json_check http.body "j[\"id\"] == $rid and
	    [p[\"id\"] for p in j[\"permissions\"]] == [$pid] and
	    [p[\"id\"] for p in j[\"effective_permissions\"]] == [$pid] and
	    j[\"permissions\"][0] == {\"id\": $pid, \"name\": \"users:delete\",
	    \"description\": \"Delete users\", \"action\": \"delete\",
	    \"resource\": \"users\", \"company_id\": None,
	    \"resource_type_id\": j[\"permissions\"][0][\"resource_type_id\"]}"
	audited role.permission_assign role "$rid" "$A_ADMIN" "$A"
	sql_expect 1 "SELECT count(*) FROM role_permissions \
	    WHERE role_id = $rid AND permission_id = $pid"
	expect 400 POST "/api/v1/roles/$rid/permissions/$pid" "$TA"
	detail "Permission is already assigned to this role"
	expect 404 POST "/api/v1/roles/$rid/permissions/$NOID" "$TA"
	detail "Permission not found"
	expect 404 POST "/api/v1/roles/$NOID/permissions/$pid" "$TA"
	detail "Role not found"
	expect 422 POST "/api/v1/roles/$rid/permissions/x" "$TA"

	expect 200 DELETE "/api/v1/roles/$rid/permissions/$pid" "$TA"
	json_check http.body 'j["permissions"] == [] and
	    j["effective_permissions"] == []'
	audited role.permission_unassign role "$rid" "$A_ADMIN" "$A"
	sql_expect 0 "SELECT count(*) FROM role_permissions \
	    WHERE role_id = $rid"
	expect 400 DELETE "/api/v1/roles/$rid/permissions/$pid" "$TA"
	detail "Permission is not assigned to this role"
	expect 404 DELETE "/api/v1/roles/$rid/permissions/$NOID" "$TA"
	detail "Permission not found"
	expect 404 DELETE "/api/v1/roles/$NOID/permissions/$pid" "$TA"
	detail "Role not found"

	# Deleting a role takes its grants with it.
	expect 200 POST "/api/v1/roles/$rid/permissions/$pid" "$TA"
	expect 200 DELETE "/api/v1/roles/$rid" "$TA"
	sql_expect 0 "SELECT count(*) FROM role_permissions \
	    WHERE role_id = $rid"
}
roles_permissions_cleanup()
{
	authd_cleanup
}

atf_test_case roles_cycle cleanup
roles_cycle_head()
{
	atf_set descr "a parent_id that would close a loop is a 422"
}
roles_cycle_body()
{
	local a b c other
	start
	tenants
	expect 200 POST /api/v1/roles "$TA" "{\"name\": \"a-$TAG\"}"
	jget a http.body 'j["id"]'
	expect 200 POST /api/v1/roles "$TA" \
	    "{\"name\": \"b-$TAG\", \"parent_id\": $a}"
	jget b http.body 'j["id"]'
	json_check http.body "j[\"parent_id\"] == $a"
	expect 200 POST /api/v1/roles "$TA" \
	    "{\"name\": \"c-$TAG\", \"parent_id\": $b}"
	jget c http.body 'j["id"]'

	expect 422 PUT "/api/v1/roles/$a" "$TA" "{\"parent_id\": $c}"
	invalid value_error body parent_id
	expect 422 PUT "/api/v1/roles/$a" "$TA" "{\"parent_id\": $b}"
	invalid value_error body parent_id
	expect 422 PUT "/api/v1/roles/$a" "$TA" "{\"parent_id\": $a}"
	invalid value_error body parent_id
	sql_expect "|$a|$b" "SELECT string_agg(coalesce(parent_id::text, ''), \
	    '|' ORDER BY id) FROM roles WHERE id IN ($a, $b, $c)"

	# A parent of another company is no parent at all.
	expect 200 POST /api/v1/roles "$TB" "{\"name\": \"o-$TAG\"}"
	jget other http.body 'j["id"]'
	expect 404 PUT "/api/v1/roles/$c" "$TA" "{\"parent_id\": $other}"
	detail "Parent role not found"
	expect 404 POST /api/v1/roles "$TA" \
	    "{\"name\": \"d-$TAG\", \"parent_id\": $other}"
	detail "Parent role not found"

	# Moving and detaching are fine; deleting a parent detaches.
	expect 200 PUT "/api/v1/roles/$c" "$TA" "{\"parent_id\": $a}"
	json_check http.body "j[\"parent_id\"] == $a"
	expect 200 PUT "/api/v1/roles/$c" "$TA" '{"parent_id": null}'
	json_check http.body 'j["parent_id"] is None'
	expect 200 DELETE "/api/v1/roles/$a" "$TA"
	sql_expect "" "SELECT coalesce(parent_id::text, '') FROM roles \
	    WHERE id = $b"
}
roles_cycle_cleanup()
{
	authd_cleanup
}

atf_test_case roles_cycle_race cleanup
roles_cycle_race_head()
{
	atf_set descr "concurrent parent edits that would close a loop" \
	    "answer 200 or 422, never 500, and store no loop"
}
roles_cycle_race_body()
{
	local rings
	start
	tenants
	# Company A: 20 pairs and 10 rings of three roles, without parents;
	# rings holds each group's ids, comma-separated, groups by spaces.
	sql "WITH s AS (SELECT grp, k FROM generate_series(1, 30) grp, \
	    generate_series(1, 3) k WHERE k < 3 OR grp > 20), \
	    n AS (INSERT INTO roles (company_id, name) \
	    SELECT $A, 'race-$TAG-' || grp || '-' || k FROM s \
	    RETURNING id, name) \
	    SELECT string_agg(ids, ' ') FROM (SELECT string_agg(n.id::text, \
	    ',' ORDER BY n.id) AS ids FROM n \
	    GROUP BY split_part(n.name, '-', 3)) x"
	rings=$SQL
	[ -n "$rings" ] || atf_fail "no roles made"

	# Each role of a group is put under the next one, all at once: the
	# last edit to commit would close the loop.
	python3 - "$AUTHD_URL" "$TA" "$rings" >race.out 2>&1 <<'EOF2' ||
import http.client, sys, threading, urllib.parse
url, token, groups = sys.argv[1], sys.argv[2], sys.argv[3].split()
u = urllib.parse.urlparse(url)
bad = 0
for g in groups:
    ids = g.split(",")
    n = len(ids)
    barrier = threading.Barrier(n)
    got = [None] * n
    def put(i):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        body = '{"parent_id": %s}' % ids[(i + 1) % n]
        barrier.wait()
        c.request("PUT", "/api/v1/roles/%s" % ids[i], body,
            {"Authorization": "Bearer " + token,
            "Content-Type": "application/json"})
        r = c.getresponse()
        got[i] = (r.status, r.read().decode())
        c.close()
    ts = [threading.Thread(target=put, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    codes = sorted(s for s, _ in got)
    if codes != [200] * (n - 1) + [422]:
        bad += 1
        print("roles %s: %s" % (g, "; ".join("%d %s" % (s, b[:100])
            for s, b in got)))
sys.exit(1 if bad else 0)
EOF2
	    atf_fail "$(oneline "not one 422 and the rest 200 in each" \
	    "group: $(head -c 1500 race.out)")"
	# No role is its own ancestor.
	sql_expect 0 "WITH RECURSIVE up(start, id, depth) AS ( \
	    SELECT id, parent_id, 1 FROM roles \
	    WHERE company_id = $A AND parent_id IS NOT NULL UNION \
	    SELECT up.start, r.parent_id, up.depth + 1 FROM roles r \
	    JOIN up ON r.id = up.id \
	    WHERE r.parent_id IS NOT NULL AND up.depth < 10) \
	    SELECT count(*) FROM up WHERE id = start"
	# Each group's loser kept no parent.
	sql_expect 30 "SELECT count(*) FROM roles WHERE company_id = $A \
	    AND name LIKE 'race-$TAG-%' AND parent_id IS NULL"
}
roles_cycle_race_cleanup()
{
	authd_cleanup
}

atf_test_case roles_deadlock cleanup
roles_deadlock_head()
{
	atf_set descr "a write that PostgreSQL rolls back to break a deadlock" \
	    "answers 503 with Retry-After, not 500"
}
roles_deadlock_body()
{
	local r1 r2
	start
	tenants
	mk_role "$A" "dl1-$TAG"
	r1=$RID
	mk_role "$A" "dl2-$TAG"
	r2=$RID
	# Another session holds role 2, waits until the request holds role 1
	# and waits for role 2 behind it, then asks for role 1.  The request
	# waited first, so its deadlock check runs first and rolls it back.
	locker_start "PERFORM 1 FROM roles WHERE id = $r2 FOR UPDATE" \
	    "PERFORM 1 FROM roles WHERE id = $r1 FOR UPDATE"
	expect 503 PUT "/api/v1/roles/$r1" "$TA" "{\"parent_id\": $r2}"
	detail "Service temporarily unavailable"
	grep -qi '^retry-after: [0-9]' http.headers ||
	    atf_fail "no Retry-After: $(cat http.headers)"
	locker_wait
	grep -q "database error 40P01" "$AUTHD_LOG" ||
	    atf_fail "the deadlock was not logged"
	sql_expect "" "SELECT coalesce(parent_id::text, '') FROM roles \
	    WHERE id = $r1"
}
roles_deadlock_cleanup()
{
	locker_cleanup
	authd_cleanup
}

atf_test_case roles_inheritance cleanup
roles_inheritance_head()
{
	atf_set descr "a permission of a grandparent role counts, and stops" \
	    "counting on the next request once removed"
}
roles_inheritance_body()
{
	local g p c pid tu
	start
	tenants
	perm_id sessions:read
	pid=$PID_
	expect 200 POST /api/v1/roles "$TA" "{\"name\": \"g-$TAG\"}"
	jget g http.body 'j["id"]'
	expect 200 POST /api/v1/roles "$TA" \
	    "{\"name\": \"p-$TAG\", \"parent_id\": $g}"
	jget p http.body 'j["id"]'
	expect 200 POST /api/v1/roles "$TA" \
	    "{\"name\": \"c-$TAG\", \"parent_id\": $p}"
	jget c http.body 'j["id"]'
	expect 200 POST "/api/v1/roles/$g/permissions/$pid" "$TA"

	expect 200 GET "/api/v1/roles/$c" "$TA"
	json_check http.body "j[\"permissions\"] == [] and
	    [e[\"name\"] for e in j[\"effective_permissions\"]] ==
	    [\"sessions:read\"]"

	mk_user "$A" "rl-c-$TAG" false "c-$TAG"
	login "rl-c-$TAG"
	tu=$TOKEN
	expect 200 GET /api/v1/users/me "$tu"
	json_check http.body '"sessions:read" in j["permissions"]'
	expect 200 GET /api/v1/sessions "$tu"

	expect 200 DELETE "/api/v1/roles/$g/permissions/$pid" "$TA"
	# The same token, the next request: the right is gone.
	expect 200 GET /api/v1/users/me "$tu"
	json_check http.body '"sessions:read" not in j["permissions"]'
	expect 403 GET /api/v1/sessions "$tu"
	detail "The user doesn't have enough privileges"
	expect 200 GET "/api/v1/roles/$c" "$TA"
	json_check http.body 'j["effective_permissions"] == []'

	# Back through the middle role, and gone again when it is detached.
	expect 200 POST "/api/v1/roles/$p/permissions/$pid" "$TA"
	expect 200 GET /api/v1/sessions "$tu"
	expect 200 PUT "/api/v1/roles/$c" "$TA" '{"parent_id": null}'
	expect 403 GET /api/v1/sessions "$tu"
}
roles_inheritance_cleanup()
{
	authd_cleanup
}

# --- who may do what -------------------------------------------------

atf_test_case grants cleanup
grants_head()
{
	atf_set descr "nobody grants what it may not: a roles:update holder" \
	    "only what it holds, a company admin no company:* permission"
}
grants_body()
{
	local rid admin_role pread pdel pcc tm muid tp
	start
	tenants
	perm_id users:read
	pread=$PID_
	perm_id users:delete
	pdel=$PID_
	perm_id company:create
	pcc=$PID_
	mk_role "$A" "mgr-$TAG" roles:update roles:create users:read
	mk_user "$A" "rl-m-$TAG" false "mgr-$TAG"
	muid=$UID_
	login "rl-m-$TAG"
	tm=$TOKEN
	mk_user "$A" "rl-p-$TAG" false user
	login "rl-p-$TAG"
	tp=$TOKEN
	sql "SELECT id FROM roles WHERE company_id = $A AND name = 'admin'"
	admin_role=$SQL

	# The permission holder: a role, then only what it holds itself.
	expect 200 POST /api/v1/roles "$tm" "{\"name\": \"t-$TAG\"}"
	jget rid http.body 'j["id"]'
	audited role.create role "$rid" "$muid" "$A"
	expect 200 POST "/api/v1/roles/$rid/permissions/$pread" "$tm"
	expect 403 POST "/api/v1/roles/$rid/permissions/$pdel" "$tm"
	detail "The user doesn't have enough privileges"
	expect 403 POST /api/v1/roles "$tm" \
	    "{\"name\": \"t2-$TAG\", \"parent_id\": $admin_role}"
	detail "The user doesn't have enough privileges"
	expect 403 PUT "/api/v1/roles/$rid" "$tm" \
	    "{\"parent_id\": $admin_role}"
	sql_expect "$pread|" "SELECT string_agg(rp.permission_id::text, ',') \
	    || '|' || coalesce(r.parent_id::text, '') FROM roles r \
	    LEFT JOIN role_permissions rp ON rp.role_id = r.id \
	    WHERE r.id = $rid GROUP BY r.parent_id"
	sql_expect 0 "SELECT count(*) FROM roles WHERE name = 't2-$TAG'"
	# ... and no delete without roles:delete, no other company.
	expect 403 DELETE "/api/v1/roles/$rid" "$tm"
	detail "The user doesn't have enough privileges"
	expect 403 POST /api/v1/roles "$tm" \
	    "{\"name\": \"t3-$TAG\", \"company_id\": $B}"
	detail "You can only create roles in your own company"

	# A plain user: reads, but writes nothing.
	expect 200 GET /api/v1/roles "$tp"
	expect 200 GET "/api/v1/roles/$rid" "$tp"
	expect 403 POST /api/v1/roles "$tp" "{\"name\": \"u-$TAG\"}"
	detail "The user doesn't have enough privileges"
	expect 403 PUT "/api/v1/roles/$rid" "$tp" '{"name": "x"}'
	expect 403 DELETE "/api/v1/roles/$rid" "$tp"
	expect 403 POST "/api/v1/roles/$rid/permissions/$pdel" "$tp"
	expect 403 DELETE "/api/v1/roles/$rid/permissions/$pread" "$tp"
	expect 200 GET /api/v1/permissions "$tp"
	expect 403 POST /api/v1/permissions "$tp" \
	    '{"resource_type_id": 1, "action": "x"}'
	expect 403 POST /api/v1/resources "$tp" "{\"name\": \"u-$TAG\"}"
	# The roles:update holder is no admin of permissions either.
	expect 403 POST /api/v1/resources "$tm" "{\"name\": \"m-$TAG\"}"
	sql_expect 0 "SELECT count(*) FROM roles WHERE name = 'u-$TAG'"
	expect 401 GET /api/v1/roles ""
	detail "Not authenticated"
	expect 401 POST /api/v1/permissions "" '{}'

	# A company admin grants anything of its company but company:*.
	expect 200 POST "/api/v1/roles/$rid/permissions/$pdel" "$TA"
	expect 403 POST "/api/v1/roles/$rid/permissions/$pcc" "$TA"
	detail "The user doesn't have enough privileges"
	sql_expect 0 "SELECT count(*) FROM role_permissions \
	    WHERE role_id = $rid AND permission_id = $pcc"
	# A root admin may.
	expect 200 POST "/api/v1/roles/$rid/permissions/$pcc" "$ROOT"
	json_check http.body "$pcc in [p[\"id\"] for p in j[\"permissions\"]]"
	audited role.permission_assign role "$rid" "$ROOT_UID" "$A"
	# Now the company admin may not make a role inherit it.
	expect 403 POST /api/v1/roles "$TA" \
	    "{\"name\": \"t4-$TAG\", \"parent_id\": $rid}"
}
grants_cleanup()
{
	authd_cleanup
}

atf_test_case default_roles cleanup
default_roles_head()
{
	atf_set descr "a roles:update holder makes a role default only if it" \
	    "holds every permission the role grants, inherited ones included"
}
default_roles_body()
{
	local admin_role user_role held deep tm muid
	start
	tenants
	mk_role "$A" "mgr-$TAG" roles:update roles:create users:create \
	    users:read
	mk_user "$A" "rl-m-$TAG" false "mgr-$TAG"
	muid=$UID_
	login "rl-m-$TAG"
	tm=$TOKEN
	sql "SELECT id FROM roles WHERE company_id = $A AND name = 'admin'"
	admin_role=$SQL
	sql "SELECT id FROM roles WHERE company_id = $A AND name = 'user'"
	user_role=$SQL
	mk_role "$A" "held-$TAG" users:read users:create
	held=$RID
	# No permission of its own, all of admin's through its parent.
	mk_role "$A" "deep-$TAG"
	deep=$RID
	sql "UPDATE roles SET parent_id = $admin_role WHERE id = $deep"

	# Refused: the admin role, and a role that inherits it (on create,
	# such a parent is refused anyway); nothing changes and nothing is
	# recorded.
	expect 403 PUT "/api/v1/roles/$admin_role" "$tm" '{"is_default": true}'
	detail "The user doesn't have enough privileges"
	expect 403 PUT "/api/v1/roles/$deep" "$tm" \
	    "{\"is_default\": true, \"name\": \"deep2-$TAG\"}"
	detail "The user doesn't have enough privileges"
	sql_expect "f|f|deep-$TAG" "SELECT a.is_default, d.is_default, d.name \
	    FROM roles a, roles d WHERE a.id = $admin_role AND d.id = $deep"
	sql_expect 0 "SELECT count(*) FROM audit_log \
	    WHERE action = 'role.update' AND actor_user_id = $muid"
	# So a user created now gets the default roles only.
	expect 200 POST /api/v1/users/ "$tm" \
	    "{\"email\": \"rl-n-$TAG@example.com\", \
	    \"username\": \"rl-n-$TAG\", \"password\": \"Xy7!pass-$TAG\"}"
	sql_expect "user" "SELECT string_agg(r.name, ',') \
	    FROM user_roles ur JOIN users u ON u.id = ur.user_id \
	    JOIN roles r ON r.id = ur.role_id WHERE u.username = 'rl-n-$TAG'"

	# Allowed: a role whose permissions it holds, on update and create;
	# a role already default stays so whatever it grants.
	expect 200 PUT "/api/v1/roles/$held" "$tm" '{"is_default": true}'
	json_check http.body 'j["is_default"] is True'
	audited role.update role "$held" "$muid" "$A"
	expect 200 POST /api/v1/roles "$tm" \
	    "{\"name\": \"d-$TAG\", \"is_default\": true, \
	    \"parent_id\": $held}"
	json_check http.body "j[\"is_default\"] is True and
	    j[\"parent_id\"] == $held"
	expect 200 PUT "/api/v1/roles/$user_role" "$tm" \
	    '{"is_default": true, "description": "Everyone"}'
	# Leaving admin's chain in the same request: judged on the result.
	expect 200 PUT "/api/v1/roles/$deep" "$tm" \
	    '{"is_default": true, "parent_id": null}'
	json_check http.body 'j["is_default"] is True and
	    j["parent_id"] is None'

	# A company admin may make any role of its company default.
	expect 200 PUT "/api/v1/roles/$admin_role" "$TA" '{"is_default": true}'
	json_check http.body 'j["is_default"] is True'
	audited role.update role "$admin_role" "$A_ADMIN" "$A"
}
default_roles_cleanup()
{
	authd_cleanup
}

atf_test_case root_admin cleanup
root_admin_head()
{
	atf_set descr "a root admin acts on every company's roles"
}
root_admin_body()
{
	local rid
	start
	tenants
	expect 200 POST /api/v1/roles "$ROOT" \
	    "{\"name\": \"x-$TAG\", \"company_id\": $B}"
	json_check http.body "j[\"company_id\"] == $B"
	jget rid http.body 'j["id"]'
	audited role.create role "$rid" "$ROOT_UID" "$B"
	expect 404 POST /api/v1/roles "$ROOT" \
	    "{\"name\": \"y-$TAG\", \"company_id\": $NOID}"
	detail "Company with id $NOID not found"
	expect 200 GET "/api/v1/roles?company_id=$B" "$ROOT"
	json_check http.body "sorted(r[\"name\"] for r in j) ==
	    sorted([\"admin\", \"user\", \"x-$TAG\"])"
	expect 422 GET "/api/v1/roles?company_id=x" "$ROOT"
	invalid int_parsing query company_id
	# Without company_id: the root company's own roles.
	expect 200 GET /api/v1/roles "$ROOT"
	json_check http.body "all(r[\"company_id\"] == $ROOT_CID for r in j)
	    and \"super_admin\" in [r[\"name\"] for r in j]"
	expect 200 GET "/api/v1/roles/$rid" "$ROOT"
	expect 200 PUT "/api/v1/roles/$rid" "$ROOT" '{"description": "d"}'
	expect 200 DELETE "/api/v1/roles/$rid" "$ROOT"
	# Company B's admin never saw it differently.
	expect 404 GET "/api/v1/roles/$rid" "$TB"
}
root_admin_cleanup()
{
	authd_cleanup
}

# --- tenant isolation ------------------------------------------------

atf_test_case isolation cleanup
isolation_head()
{
	atf_set descr "company A's admin meets company B's and the root" \
	    "company's objects as missing ones; they stay unchanged"
}
isolation_body()
{
	local rb ra tb pb pa pglob rroot users before after
	start
	tenants
	sql "SELECT id FROM roles WHERE company_id = $B AND name = 'admin'"
	rb=$SQL
	sql "SELECT id FROM roles WHERE company_id = $A AND name = 'user'"
	ra=$SQL
	sql "SELECT id FROM roles WHERE company_id = $ROOT_CID \
	    AND name = 'super_admin'"
	rroot=$SQL
	perm_id users:read
	pglob=$PID_
	sql "SELECT id FROM resource_types WHERE company_id IS NULL \
	    AND name = 'users'"
	users=$SQL
	expect 200 POST /api/v1/resources "$TB" "{\"name\": \"inv-$TAG\"}"
	jget tb http.body 'j["id"]'
	expect 200 POST /api/v1/permissions "$TB" \
	    "{\"resource_type_id\": $tb, \"action\": \"read\"}"
	jget pb http.body 'j["id"]'
	expect 200 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $users, \"action\": \"a-$TAG\"}"
	jget pa http.body 'j["id"]'

	snapshot()
	{
		sql "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM ( \
		    SELECT r::text AS x FROM roles r WHERE company_id IN ($B, \
		    $ROOT_CID) UNION ALL \
		    SELECT p::text FROM permissions p WHERE company_id = $B \
		    OR company_id IS NULL UNION ALL \
		    SELECT t::text FROM resource_types t WHERE company_id = $B \
		    OR company_id IS NULL UNION ALL \
		    SELECT rp::text FROM role_permissions rp \
		    WHERE company_id IN ($B, $ROOT_CID)) s"
	}
	snapshot
	before=$SQL

	for r in "$rb" "$rroot"; do
		same_as_missing GET "/api/v1/roles/$r" "/api/v1/roles/$NOID" \
		    "$TA"
		same_as_missing PUT "/api/v1/roles/$r" "/api/v1/roles/$NOID" \
		    "$TA" '{"name": "pwned", "parent_id": null}'
		same_as_missing DELETE "/api/v1/roles/$r" \
		    "/api/v1/roles/$NOID" "$TA"
		same_as_missing POST "/api/v1/roles/$r/permissions/$pglob" \
		    "/api/v1/roles/$NOID/permissions/$pglob" "$TA"
		same_as_missing DELETE "/api/v1/roles/$r/permissions/$pglob" \
		    "/api/v1/roles/$NOID/permissions/$pglob" "$TA"
	done
	detail "Role not found"
	# A's role with B's permission.
	same_as_missing POST "/api/v1/roles/$ra/permissions/$pb" \
	    "/api/v1/roles/$ra/permissions/$NOID" "$TA"
	detail "Permission not found"
	same_as_missing DELETE "/api/v1/roles/$ra/permissions/$pb" \
	    "/api/v1/roles/$ra/permissions/$NOID" "$TA"
	# A role with a parent of B.
	same_body_as_missing POST /api/v1/roles "$TA" \
	    "{\"name\": \"p-$TAG\", \"parent_id\": $rb}" \
	    "{\"name\": \"p-$TAG\", \"parent_id\": $NOID}"
	detail "Parent role not found"
	same_body_as_missing PUT "/api/v1/roles/$ra" "$TA" \
	    "{\"parent_id\": $rb}" "{\"parent_id\": $NOID}"
	# A's permission on B's resource type, B's roles on A's permission.
	same_body_as_missing POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $tb, \"action\": \"x\"}" \
	    "{\"resource_type_id\": $NOID, \"action\": \"x\"}"
	detail "Resource type not found"
	same_body_as_missing PUT "/api/v1/permissions/$pa" "$TA" \
	    "{\"resource_type_id\": $tb}" "{\"resource_type_id\": $NOID}"
	same_as_missing POST "/api/v1/roles/$rb/permissions/$pa" \
	    "/api/v1/roles/$rb/permissions/$NOID" "$TB"
	detail "Permission not found"

	same_as_missing GET "/api/v1/permissions/$pb" \
	    "/api/v1/permissions/$NOID" "$TA"
	detail "Permission not found"
	same_as_missing PUT "/api/v1/permissions/$pb" \
	    "/api/v1/permissions/$NOID" "$TA" '{"name": "pwned"}'
	same_as_missing DELETE "/api/v1/permissions/$pb" \
	    "/api/v1/permissions/$NOID" "$TA"
	same_as_missing GET "/api/v1/resources/$tb" \
	    "/api/v1/resources/$NOID" "$TA"
	detail "Resource type not found"
	same_as_missing PUT "/api/v1/resources/$tb" \
	    "/api/v1/resources/$NOID" "$TA" '{"name": "pwned"}'
	same_as_missing DELETE "/api/v1/resources/$tb" \
	    "/api/v1/resources/$NOID" "$TA"

	# Creating in B is refused and makes nothing there.
	expect 403 POST /api/v1/roles "$TA" \
	    "{\"name\": \"in-b-$TAG\", \"company_id\": $B}"
	detail "You can only create roles in your own company"
	expect 403 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $users, \"action\": \"b\", \
	    \"company_id\": $B}"
	detail "You can only create permissions in your own company"
	expect 403 POST /api/v1/resources "$TA" \
	    "{\"name\": \"in-b-$TAG\", \"company_id\": $B}"
	detail "You can only create resource types in your own company"

	# Lists hold A's rows and the global ones, whatever is asked.
	for q in "" "?company_id=$B" "?company_id=$ROOT_CID"; do
		expect 200 GET "/api/v1/roles$q" "$TA"
		json_check http.body "len(j) >= 2 and
		    all(r[\"company_id\"] == $A for r in j)"
		expect 200 GET "/api/v1/permissions$q" "$TA"
		json_check http.body "all(p[\"company_id\"] in (None, $A)
		    for p in j) and $pb not in [p[\"id\"] for p in j]"
		expect 200 GET "/api/v1/resources$q" "$TA"
		json_check http.body "all(t[\"company_id\"] in (None, $A)
		    for t in j) and $tb not in [t[\"id\"] for t in j]"
	done
	http_expect 200 GET "$AUTHD_URL/api/v1/roles" \
	    -H "Authorization: Bearer $TA" -H "X-Company-Id: $B"
	json_check http.body "all(r[\"company_id\"] == $A for r in j)"

	snapshot
	after=$SQL
	[ "$before" = "$after" ] ||
	    atf_fail "company B's or the root company's rows changed"
	sql_expect 0 "SELECT count(*) FROM roles WHERE company_id = $B \
	    AND name IN ('pwned', 'in-b-$TAG')"
	sql_expect 0 "SELECT count(*) FROM resource_types \
	    WHERE name = 'in-b-$TAG'"
	[ -n "$pa" ] || atf_fail "A's permission was not created"
}
isolation_cleanup()
{
	authd_cleanup
}

# --- permissions and resource types ----------------------------------

atf_test_case resources cleanup
resources_head()
{
	atf_set descr "resource types: company and global ones, duplicates," \
	    "and deletion refused while permissions use one"
}
resources_body()
{
	local t g pid
	start
	tenants
	expect 200 POST /api/v1/resources "$TA" \
	    "{\"name\": \"rep-$TAG\", \"description\": \"Reports\"}"
	json_check http.body "j[\"name\"] == \"rep-$TAG\" and
	    j[\"description\"] == \"Reports\" and j[\"company_id\"] == $A and
	    sorted(j) == [\"company_id\", \"created_at\", \"description\",
	    \"id\", \"name\", \"updated_at\"]"
	jget t http.body 'j["id"]'
	audited resource_type.create resource_type "$t" "$A_ADMIN" "$A"
	expect 400 POST /api/v1/resources "$TA" "{\"name\": \"rep-$TAG\"}"
	detail "Resource type with name 'rep-$TAG' already exists"
	# A global name cannot be shadowed by a company.
	expect 400 POST /api/v1/resources "$TA" '{"name": "users"}'
	detail "Resource type with name 'users' already exists"
	# Another company may use the same name for its own.
	expect 200 POST /api/v1/resources "$TB" "{\"name\": \"rep-$TAG\"}"
	expect 422 POST /api/v1/resources "$TA" '{"description": "x"}'
	invalid missing body name

	expect 403 POST /api/v1/resources "$TA" \
	    "{\"name\": \"glob-$TAG\", \"global\": true}"
	detail "Only root admins can create global resource types"
	sql_expect 0 "SELECT count(*) FROM resource_types \
	    WHERE name = 'glob-$TAG'"
	expect 200 POST /api/v1/resources "$ROOT" \
	    "{\"name\": \"glob-$TAG\", \"global\": true}"
	json_check http.body 'j["company_id"] is None'
	jget g http.body 'j["id"]'
	audited resource_type.create resource_type "$g" "$ROOT_UID" "$ROOT_CID"
	# Now company A's rep-TAG clashes with a new global of that name...
	expect 400 POST /api/v1/resources "$ROOT" \
	    "{\"name\": \"rep-$TAG\", \"global\": true}"
	detail "Resource type with name 'rep-$TAG' already exists"
	# ... and a company's rename onto a global name too.
	expect 400 PUT "/api/v1/resources/$t" "$TA" "{\"name\": \"glob-$TAG\"}"
	detail "Resource type with name 'glob-$TAG' already exists"

	# Global ones are read by all, written by root admins only.
	expect 200 GET "/api/v1/resources/$g" "$TA"
	expect 403 PUT "/api/v1/resources/$g" "$TA" '{"name": "mine"}'
	detail "The user doesn't have enough privileges"
	expect 403 DELETE "/api/v1/resources/$g" "$TA"
	detail "The user doesn't have enough privileges"
	sql_expect "glob-$TAG" "SELECT name FROM resource_types WHERE id = $g"
	expect 200 PUT "/api/v1/resources/$g" "$ROOT" '{"description": "G"}'
	json_check http.body 'j["description"] == "G" and
	    j["company_id"] is None'
	expect 403 PUT "/api/v1/resources/$t" "$TA" '{"global": true}'
	detail "Cannot change global through this endpoint"
	expect 403 PUT "/api/v1/resources/$t" "$TA" "{\"company_id\": $B}"
	detail "Cannot change company_id through this endpoint"

	expect 200 PUT "/api/v1/resources/$t" "$TA" \
	    "{\"name\": \"rep2-$TAG\"}"
	json_check http.body "j[\"name\"] == \"rep2-$TAG\" and
	    j[\"description\"] == \"Reports\""
	audited resource_type.update resource_type "$t" "$A_ADMIN" "$A"
	expect 200 GET "/api/v1/resources/$t" "$TA"
	json_check http.body "j[\"name\"] == \"rep2-$TAG\""
	expect 404 GET "/api/v1/resources/$NOID" "$TA"
	detail "Resource type not found"

	# Deletion waits for its permissions to go.
	expect 200 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $t, \"action\": \"read\"}"
	jget pid http.body 'j["id"]'
	expect 400 DELETE "/api/v1/resources/$t" "$TA"
	detail "$(echo "Cannot delete resource type that has associated" \
	    "permissions. Please delete or reassign the permissions first.")"
	sql_expect 1 "SELECT count(*) FROM resource_types WHERE id = $t"
	expect 200 DELETE "/api/v1/permissions/$pid" "$TA"
	expect 200 DELETE "/api/v1/resources/$t" "$TA"
	json_check http.body "j[\"id\"] == $t and j[\"name\"] == \"rep2-$TAG\""
	audited resource_type.delete resource_type "$t" "$A_ADMIN" "$A"
	sql_expect 0 "SELECT count(*) FROM resource_types WHERE id = $t"
	expect 200 DELETE "/api/v1/resources/$g" "$ROOT"

	expect 200 GET /api/v1/resources "$TA"
	grep -qi '^x-total-count: ' http.headers ||
	    atf_fail "no X-Total-Count"
	json_check http.body '"users" in [t["name"] for t in j]'
	expect 422 GET "/api/v1/resources?skip=-1" "$TA"
	invalid value_error query skip
}
resources_cleanup()
{
	authd_cleanup
}

atf_test_case root_reads cleanup
root_reads_head()
{
	atf_set descr "a root admin reads the global and the root company's" \
	    "permissions and resource types, and writes any company's by id"
}
root_reads_body()
{
	local tb pb troot proot n
	start
	tenants
	expect 200 POST /api/v1/resources "$TB" "{\"name\": \"rb-$TAG\"}"
	jget tb http.body 'j["id"]'
	expect 200 POST /api/v1/permissions "$TB" \
	    "{\"resource_type_id\": $tb, \"action\": \"read\"}"
	jget pb http.body 'j["id"]'
	expect 200 POST /api/v1/resources "$ROOT" "{\"name\": \"rr-$TAG\"}"
	json_check http.body "j[\"company_id\"] == $ROOT_CID"
	jget troot http.body 'j["id"]'
	expect 200 POST /api/v1/permissions "$ROOT" \
	    "{\"resource_type_id\": $troot, \"action\": \"read\"}"
	jget proot http.body 'j["id"]'

	# The lists: global and the root company's, counted so.
	expect 200 GET "/api/v1/permissions?limit=1000" "$ROOT"
	json_check http.body "all(p[\"company_id\"] in (None, $ROOT_CID)
	    for p in j) and $proot in [p[\"id\"] for p in j] and
	    \"users:read\" in [p[\"name\"] for p in j]"
	sql "SELECT count(*) FROM permissions \
	    WHERE company_id IS NULL OR company_id = $ROOT_CID"
	n=$SQL
	grep -qi "^x-total-count: $n" http.headers ||
	    atf_fail "X-Total-Count is not $n: $(cat http.headers)"
	expect 200 GET "/api/v1/resources?limit=1000" "$ROOT"
	json_check http.body "all(t[\"company_id\"] in (None, $ROOT_CID)
	    for t in j) and $troot in [t[\"id\"] for t in j] and
	    \"users\" in [t[\"name\"] for t in j]"
	sql "SELECT count(*) FROM resource_types \
	    WHERE company_id IS NULL OR company_id = $ROOT_CID"
	n=$SQL
	grep -qi "^x-total-count: $n" http.headers ||
	    atf_fail "X-Total-Count is not $n: $(cat http.headers)"
	# Another company's, when the root admin names it.
	expect 200 GET "/api/v1/permissions?company_id=$B&limit=1000" "$ROOT"
	json_check http.body "all(p[\"company_id\"] in (None, $B)
	    for p in j) and $pb in [p[\"id\"] for p in j]"
	expect 200 GET "/api/v1/resources?company_id=$B&limit=1000" "$ROOT"
	json_check http.body "all(t[\"company_id\"] in (None, $B)
	    for t in j) and $tb in [t[\"id\"] for t in j]"

	# By id: another company's is missing, like for everyone.
	expect 200 GET "/api/v1/permissions/$proot" "$ROOT"
	expect 200 GET "/api/v1/resources/$troot" "$ROOT"
	same_as_missing GET "/api/v1/permissions/$pb" \
	    "/api/v1/permissions/$NOID" "$ROOT"
	detail "Permission not found"
	same_as_missing GET "/api/v1/resources/$tb" \
	    "/api/v1/resources/$NOID" "$ROOT"
	detail "Resource type not found"

	# The writes of a root admin still reach every company's.
	expect 200 PUT "/api/v1/permissions/$pb" "$ROOT" \
	    '{"description": "by root"}'
	json_check http.body "j[\"description\"] == \"by root\" and
	    j[\"company_id\"] == $B"
	audited permission.update permission "$pb" "$ROOT_UID" "$B"
	expect 200 PUT "/api/v1/resources/$tb" "$ROOT" \
	    '{"description": "by root"}'
	json_check http.body "j[\"company_id\"] == $B"
	expect 200 DELETE "/api/v1/permissions/$pb" "$ROOT"
	expect 200 DELETE "/api/v1/resources/$tb" "$ROOT"
	audited resource_type.delete resource_type "$tb" "$ROOT_UID" "$B"
	sql_expect 0 "SELECT count(*) FROM permissions WHERE id = $pb"
}
root_reads_cleanup()
{
	authd_cleanup
}

atf_test_case permissions cleanup
permissions_head()
{
	atf_set descr "permissions: names, global and company ownership," \
	    "resource types in scope, updates and deletion"
}
permissions_body()
{
	local t tg users pid gid uread rid
	start
	tenants
	sql "SELECT id FROM resource_types WHERE company_id IS NULL \
	    AND name = 'users'"
	users=$SQL
	expect 200 POST /api/v1/resources "$TA" "{\"name\": \"doc-$TAG\"}"
	jget t http.body 'j["id"]'

	# Without a name: "<resource type>:<action>".
	expect 200 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $t, \"action\": \"read\", \
	    \"description\": \"Read docs\"}"
	json_check http.body "j[\"name\"] == \"doc-$TAG:read\" and
	    j[\"resource\"] == \"doc-$TAG\" and j[\"action\"] == \"read\" and
	    j[\"resource_type_id\"] == $t and j[\"company_id\"] == $A and
	    j[\"description\"] == \"Read docs\" and sorted(j) == [\"action\",
	    \"company_id\", \"description\", \"id\", \"name\", \"resource\",
	    \"resource_type_id\"]"
	jget pid http.body 'j["id"]'
	audited permission.create permission "$pid" "$A_ADMIN" "$A"
	expect 400 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $t, \"action\": \"read\"}"
	detail "The permission with this name already exists in the system."
	# A company cannot shadow a global name, on any resource type.
	expect 400 POST /api/v1/permissions "$TA" \
	    "{\"name\": \"users:read\", \"resource_type_id\": $t, \
	    \"action\": \"x\"}"
	detail "The permission with this name already exists in the system."
	# A global resource type serves a company's permission.
	expect 200 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $users, \"action\": \"export-$TAG\"}"
	json_check http.body "j[\"name\"] == \"users:export-$TAG\" and
	    j[\"company_id\"] == $A and j[\"resource\"] == \"users\""
	# The same name in company B is B's business.
	expect 200 POST /api/v1/permissions "$TB" \
	    "{\"resource_type_id\": $users, \"action\": \"export-$TAG\"}"
	json_check http.body "j[\"company_id\"] == $B"

	expect 404 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $NOID, \"action\": \"x\"}"
	detail "Resource type not found"
	expect 422 POST /api/v1/permissions "$TA" '{"name": "x"}'
	invalid missing body resource_type_id
	invalid missing body action
	expect 422 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $t, \"action\": \"$(printf '%051d' 0)\"}"
	invalid string_too_long body action

	# Global ones: root admins only, on global resource types only.
	expect 403 POST /api/v1/permissions "$TA" \
	    "{\"resource_type_id\": $users, \"action\": \"g-$TAG\", \
	    \"global\": true}"
	detail "Only root admins can create global permissions"
	sql_expect 0 "SELECT count(*) FROM permissions \
	    WHERE name = 'users:g-$TAG'"
	expect 404 POST /api/v1/permissions "$ROOT" \
	    "{\"resource_type_id\": $t, \"action\": \"g\", \"global\": true}"
	detail "Resource type not found"
	expect 200 POST /api/v1/permissions "$ROOT" \
	    "{\"resource_type_id\": $users, \"action\": \"g-$TAG\", \
	    \"global\": true}"
	json_check http.body 'j["company_id"] is None'
	jget gid http.body 'j["id"]'
	audited permission.create permission "$gid" "$ROOT_UID" "$ROOT_CID"
	expect 400 POST /api/v1/permissions "$ROOT" \
	    "{\"resource_type_id\": $users, \"action\": \"export-$TAG\", \
	    \"global\": true}"
	detail "The permission with this name already exists in the system."
	expect 200 GET "/api/v1/permissions/$gid" "$TA"
	expect 200 GET "/api/v1/permissions/$gid" "$TB"

	perm_id users:read
	uread=$PID_
	expect 403 PUT "/api/v1/permissions/$uread" "$TA" '{"name": "mine"}'
	detail "The user doesn't have enough privileges"
	expect 403 DELETE "/api/v1/permissions/$uread" "$TA"
	detail "The user doesn't have enough privileges"
	sql_expect "users:read" "SELECT name FROM permissions WHERE id = $uread"

	# Updates change what is sent, within the permission's scope.
	expect 200 PUT "/api/v1/permissions/$pid" "$TA" \
	    "{\"name\": \"doc-$TAG:view\", \"action\": \"view\"}"
	json_check http.body "j[\"name\"] == \"doc-$TAG:view\" and
	    j[\"action\"] == \"view\" and j[\"description\"] == \"Read docs\""
	audited permission.update permission "$pid" "$A_ADMIN" "$A"
	expect 200 PUT "/api/v1/permissions/$pid" "$TA" \
	    "{\"resource_type_id\": $users}"
	json_check http.body 'j["resource"] == "users"'
	expect 400 PUT "/api/v1/permissions/$pid" "$TA" \
	    '{"name": "users:delete"}'
	detail "The permission with this name already exists in the system."
	expect 404 PUT "/api/v1/permissions/$pid" "$TA" \
	    "{\"resource_type_id\": $NOID}"
	detail "Resource type not found"
	expect 403 PUT "/api/v1/permissions/$pid" "$TA" '{"global": true}'
	detail "Cannot change global through this endpoint"
	expect 404 PUT "/api/v1/permissions/$NOID" "$TA" '{"name": "x"}'
	detail "Permission not found"
	expect 200 PUT "/api/v1/permissions/$gid" "$ROOT" \
	    '{"description": "root edit"}'
	json_check http.body 'j["description"] == "root edit"'

	# A deleted permission leaves every role that granted it.
	expect 200 POST /api/v1/roles "$TA" "{\"name\": \"pr-$TAG\"}"
	jget rid http.body 'j["id"]'
	expect 200 POST "/api/v1/roles/$rid/permissions/$pid" "$TA"
	expect 200 POST "/api/v1/roles/$rid/permissions/$gid" "$TA"
	expect 200 DELETE "/api/v1/permissions/$pid" "$TA"
	json_check http.body "j[\"id\"] == $pid and
	    j[\"name\"] == \"doc-$TAG:view\""
	audited permission.delete permission "$pid" "$A_ADMIN" "$A"
	expect 404 GET "/api/v1/permissions/$pid" "$TA"
	detail "Permission not found"
	expect 200 DELETE "/api/v1/permissions/$gid" "$ROOT"
	sql_expect 0 "SELECT count(*) FROM role_permissions \
	    WHERE role_id = $rid"

	expect 200 GET "/api/v1/permissions?limit=1000" "$TA"
	json_check http.body "\"users:read\" in [p[\"name\"] for p in j] and
	    all(p[\"company_id\"] in (None, $A) for p in j)"
	expect 200 GET "/api/v1/permissions?company_id=$A" "$ROOT"
	json_check http.body "all(p[\"company_id\"] in (None, $A) for p in j)
	    and $A in [p[\"company_id\"] for p in j]"
}
permissions_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case roles_crud
	atf_add_test_case roles_permissions
	atf_add_test_case roles_cycle
	atf_add_test_case roles_cycle_race
	atf_add_test_case roles_deadlock
	atf_add_test_case roles_inheritance
	atf_add_test_case grants
	atf_add_test_case default_roles
	atf_add_test_case root_admin
	atf_add_test_case isolation
	atf_add_test_case resources
	atf_add_test_case permissions
	atf_add_test_case root_reads
}
