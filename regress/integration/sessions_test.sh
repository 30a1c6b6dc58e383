#! /usr/bin/env atf-sh
# Sessions over real HTTP against the PostgreSQL and Redis of
# regress/run.sh: a user's own sessions, the admin routes and their
# company scope, revocation taking effect at once (with Redis stopped or
# flushed, and across two daemons sharing one database).  Each test case
# starts its own authd (and, where it stops or flushes Redis, its own
# redis-server) and stops them in its cleanup.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

MINE=/api/v1/users/me/sessions
FORBIDDEN="The user doesn't have enough privileges"

# list TOKEN PATH: GET PATH with the token answers 200 and a JSON list;
# sets TOTAL from X-Total-Count.
list()
{
	bearer 200 "$1" GET "$2"
	json_check http.body 'isinstance(j, list)'
	TOTAL=$(tr -d '\r' <http.headers |
	    sed -n 's/^[Xx]-[Tt]otal-[Cc]ount: *//p')
	[ -n "$TOTAL" ] || atf_fail "no X-Total-Count on GET $2"
}

# ids_are IDS...: the last list's ids, in order.
ids_are()
{
	json_check http.body "[s['id'] for s in j] == [$(echo "$*" |
	    tr ' ' ',')]"
}

total_is()
{
	[ "$TOTAL" = "$1" ] ||
	    atf_fail "X-Total-Count $TOTAL, expected $1"
}

# logins USER N: N sessions of USER with agents agent-1..N; their access
# tokens in T1..TN, refresh tokens in R1..RN, session ids in S1..SN.
logins()
{
	local i
	i=1
	while [ "$i" -le "$2" ]; do
		login "$1" "$AUTHD_ADMIN_PASSWORD" -A "agent-$i"
		eval "T$i=\$ACCESS R$i=\$REFRESH S$i=\$SID"
		i=$((i + 1))
	done
}

atf_test_case my_sessions cleanup
my_sessions_head()
{
	atf_set descr "GET /users/me/sessions: own active sessions, newest first"
}
my_sessions_body()
{
	start
	login_admin
	mkuser Lister
	logins "$NEW_USER" 3
	list "$T3" "$MINE"
	total_is 3
	ids_are "$S3" "$S2" "$S1"
	json_check http.body "
	    [s['current'] for s in j] == [True, False, False] and
	    [s['device_info'] for s in j] == ['agent-3', 'agent-2', 'agent-1']
	    and all(sorted(s) == sorted(['id', 'user_id', 'device_info',
	        'device_fingerprint', 'ip_address', 'created_at',
	        'last_used_at', 'expires_at', 'is_active', 'current'])
	        and s['user_id'] == $NEW_UID and s['is_active'] is True
	        and s['ip_address'] == '127.0.0.1'
	        and isinstance(s['device_fingerprint'], str)
	        and all(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', s[k])
	            for k in ('created_at', 'last_used_at', 'expires_at'))
	        for s in j) and
	    [s['created_at'] for s in j] == sorted((s['created_at'] for s in j),
	        reverse=True)"
	# current follows the caller; the path takes a trailing slash.
	list "$T1" "$MINE/"
	json_check http.body "[s['current'] for s in j] == [False, False, True]"
	# Paging.
	list "$T3" "$MINE?skip=1&limit=1"
	total_is 3
	ids_are "$S2"
	list "$T3" "$MINE?skip=3"
	total_is 3
	ids_are
	list "$T3" "$MINE?limit=1000&skip=0"
	ids_are "$S3" "$S2" "$S1"
	for q in skip=-1 limit=0 limit=1001 limit=abc skip=abc limit=-5; do
		bearer 422 "$T3" GET "$MINE?$q"
		json_check http.body "j['detail'][0]['loc'] ==
		    ['query', '${q%%=*}']"
	done
	# A revoked session is no longer listed.
	bearer 200 "$T2" POST /api/v1/auth/logout
	list "$T3" "$MINE"
	total_is 2
	ids_are "$S3" "$S1"
}
my_sessions_cleanup()
{
	authd_cleanup
}

# used_lately SID: the session's last_used_at is within the minute.
used_lately()
{
	sql "SELECT last_used_at > now() - interval '1 minute'
	    FROM sessions WHERE id = $1"
	[ "$SQL" = t ]
}

atf_test_case last_used cleanup
last_used_head()
{
	atf_set descr "a session's last_used_at follows the use of its access" \
	    "tokens, to the minute, not only its refreshes"
}
last_used_body()
{
	local i
	start
	login_admin
	mkuser User
	logins "$NEW_USER" 2
	sql "UPDATE sessions SET last_used_at = now() - interval '3 hours'
	    WHERE id IN ($S1, $S2)"
	# Every worker: each remembers the sessions it wrote itself.
	i=0
	while [ "$i" -lt 4 ]; do
		works "$T1"
		i=$((i + 1))
	done
	wait_until 5 used_lately "$S1" ||
	    atf_fail "last_used_at of a session in use did not move"
	sql_expect t "SELECT last_used_at < now() - interval '2 hours'
	    FROM sessions WHERE id = $S2"
	# Through the API too: the one in use is no longer older than its
	# creation, the other is.
	list "$T1" "$MINE"
	json_check http.body "sorted((s['id'], s['last_used_at'] >=
	    s['created_at']) for s in j) == [($S1, True), ($S2, False)]"
}
last_used_cleanup()
{
	authd_cleanup
}

atf_test_case revoke_mine cleanup
revoke_mine_head()
{
	atf_set descr "DELETE /users/me/sessions/{id} revokes one own session"
}
revoke_mine_body()
{
	local i
	start
	mkuser Revoker
	logins "$NEW_USER" 2
	bearer 200 "$T2" DELETE "$MINE/$S1"
	message_is "Session revoked successfully"
	session_active "$S1" f
	i=0
	while [ $i -lt 4 ]; do
		denied "$T1" "Token has been revoked"
		i=$((i + 1))
	done
	refresh 401 "$R1"
	detail_is "Invalid refresh token"
	works "$T2"
	bearer 404 "$T2" DELETE "$MINE/$S1"
	detail_is "Session not found"
	# Its own session too: then the caller is out.
	bearer 200 "$T2" DELETE "$MINE/$S2"
	message_is "Session revoked successfully"
	denied "$T2" "Token has been revoked"
}
revoke_mine_cleanup()
{
	authd_cleanup
}

atf_test_case revoke_foreign cleanup
revoke_foreign_head()
{
	atf_set descr "another user's session id is not found and stays alive"
}
revoke_foreign_body()
{
	start
	login_admin
	ADM=$ACCESS
	ADM_SID=$SID
	mkuser Thief
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 404 "$ACCESS" DELETE "$MINE/$ADM_SID"
	detail_is "Session not found"
	session_active "$ADM_SID" t
	works "$ADM"
	bearer 404 "$ACCESS" DELETE "$MINE/999999999999"
	detail_is "Session not found"
	for id in abc 0 -1 1.5 99999999999999999999; do
		bearer 422 "$ACCESS" DELETE "$MINE/$id"
		json_check http.body "j['detail'][0]['loc'][0] == 'path'"
	done
	works "$ACCESS"
	works "$ADM"
}
revoke_foreign_cleanup()
{
	authd_cleanup
}

atf_test_case revoke_others cleanup
revoke_others_head()
{
	atf_set descr "DELETE /users/me/sessions revokes all but the caller's"
}
revoke_others_body()
{
	local t
	start
	login_admin
	ADM=$ACCESS
	mkuser Cleaner
	logins "$NEW_USER" 4
	bearer 200 "$T4" DELETE "$MINE"
	message_is "Revoked 3 sessions successfully"
	works "$T4"
	for t in "$T1" "$T2" "$T3"; do
		denied "$t" "Token has been revoked"
	done
	refresh 401 "$R2"
	sql_expect "$S4" "SELECT id FROM sessions
	    WHERE user_id = $NEW_UID AND is_active"
	works "$ADM"
	bearer 200 "$T4" DELETE "$MINE/"
	message_is "Revoked 0 sessions successfully"
	works "$T4"
	refresh 200 "$R4"
}
revoke_others_cleanup()
{
	authd_cleanup
}

atf_test_case admin_list cleanup
admin_list_head()
{
	atf_set descr "admins list the sessions of every company (root admin)"
}
admin_list_body()
{
	local all path
	start
	login_admin
	ADM=$ACCESS
	ADM_SID=$SID
	mkuser Listed
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	U_SID=$SID
	mkcompany
	B=$NEW_CID
	mkuser Elsewhere "$B"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	B_SID=$SID
	sql "SELECT count(*) FROM sessions WHERE is_active
	    AND expires_at > now()"
	all=$SQL
	for path in /api/v1/sessions/ /api/v1/sessions \
	    /api/v1/users/active-sessions; do
		list "$ADM" "$path?limit=1000"
		total_is "$all"
		json_check http.body "
		    {$ADM_SID, $U_SID, $B_SID} <= {s['id'] for s in j} and
		    [s['id'] for s in j if s['current']] == [$ADM_SID] and
		    [s['id'] for s in j] == sorted((s['id'] for s in j),
		        reverse=True)"
	done
	list "$ADM" "/api/v1/sessions/?company_id=$B"
	total_is 1
	ids_are "$B_SID"
	list "$ADM" "/api/v1/sessions/?limit=1"
	total_is "$all"
	json_check http.body 'len(j) == 1'
	bearer 422 "$ADM" GET "/api/v1/sessions/?company_id=abc"
	bearer 422 "$ADM" GET "/api/v1/sessions/?limit=0"
	# Revoked sessions are not listed.
	bearer 200 "$ACCESS" POST /api/v1/auth/logout
	list "$ADM" "/api/v1/sessions/?company_id=$B"
	total_is 0
	ids_are
}
admin_list_cleanup()
{
	authd_cleanup
}

atf_test_case admin_revoke cleanup
admin_revoke_head()
{
	atf_set descr "admins revoke a session by id, under both paths"
}
admin_revoke_body()
{
	start
	login_admin
	ADM=$ACCESS
	mkuser Revoked
	logins "$NEW_USER" 2
	bearer 200 "$ADM" DELETE "/api/v1/sessions/$S1"
	message_is "Session revoked successfully"
	denied "$T1" "Token has been revoked"
	works "$T2"
	bearer 200 "$ADM" DELETE "/api/v1/users/sessions/$S2"
	message_is "Session revoked successfully"
	denied "$T2" "Token has been revoked"
	refresh 401 "$R2"
	session_active "$S1" f
	session_active "$S2" f
	bearer 404 "$ADM" DELETE "/api/v1/sessions/$S1"
	detail_is "Session not found"
	bearer 404 "$ADM" DELETE "/api/v1/sessions/999999999999"
	detail_is "Session not found"
	bearer 422 "$ADM" DELETE "/api/v1/sessions/abc"
	works "$ADM"
}
admin_revoke_cleanup()
{
	authd_cleanup
}

atf_test_case not_admin cleanup
not_admin_head()
{
	atf_set descr "users without the permission get 403 on admin routes"
}
not_admin_body()
{
	local path
	start
	login_admin
	ADM=$ACCESS
	ADM_SID=$SID
	mkuser Plain
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	for path in /api/v1/sessions/ /api/v1/users/active-sessions; do
		bearer 403 "$ACCESS" GET "$path"
		detail_is "$FORBIDDEN"
	done
	for path in "/api/v1/sessions/$ADM_SID" \
	    "/api/v1/users/sessions/$ADM_SID"; do
		bearer 403 "$ACCESS" DELETE "$path"
		detail_is "$FORBIDDEN"
	done
	session_active "$ADM_SID" t
	works "$ADM"
	# A role with sessions:read opens the list, of the own company only.
	grant sessions:read
	list "$ACCESS" /api/v1/sessions/
	json_check http.body "$ADM_SID in [s['id'] for s in j]"
	bearer 403 "$ACCESS" DELETE "/api/v1/sessions/$ADM_SID"
	detail_is "$FORBIDDEN"
	works "$ADM"
}
not_admin_cleanup()
{
	authd_cleanup
}

# grant PERMISSION: gives user NEW_UID of the root company a new role
# holding PERMISSION.
grant()
{
	sql "WITH r AS (INSERT INTO roles (company_id, name)
	    VALUES ($ROOT_CID, 'granted_$(rand)') RETURNING id),
	    g AS (INSERT INTO role_permissions (role_id, permission_id,
	    company_id) SELECT r.id, p.id, $ROOT_CID FROM r, permissions p
	    WHERE p.name = '$1' AND p.company_id IS NULL)
	    INSERT INTO user_roles (user_id, role_id, company_id)
	    SELECT $NEW_UID, r.id, $ROOT_CID FROM r"
}

atf_test_case permission_scope cleanup
permission_scope_head()
{
	atf_set descr "sessions:read and sessions:delete through a role act in" \
	    "the holder's company only, also in the root company"
}
permission_scope_body()
{
	start
	mkcompany
	mkuser Outsider "$NEW_CID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	OUT=$ACCESS
	OUT_SID=$SID
	login_admin
	ADM_SID=$SID
	# A root-company user who is not a superuser.
	mkuser Operator
	grant sessions:read
	grant sessions:delete
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	list "$ACCESS" "/api/v1/sessions/?limit=1000"
	json_check http.body "$ADM_SID in [s['id'] for s in j] and
	    $OUT_SID not in [s['id'] for s in j]"
	list "$ACCESS" "/api/v1/sessions/?company_id=$NEW_CID"
	json_check http.body "$OUT_SID not in [s['id'] for s in j]"
	bearer 404 "$ACCESS" DELETE "/api/v1/sessions/$OUT_SID"
	detail_is "Session not found"
	session_active "$OUT_SID" t
	works "$OUT"
}
permission_scope_cleanup()
{
	authd_cleanup
}

atf_test_case company_scope cleanup
company_scope_head()
{
	atf_set descr "a company admin sees and revokes its company's sessions only"
}
company_scope_body()
{
	start
	login_admin
	ADM=$ACCESS
	ADM_SID=$SID
	mkcompany
	B=$NEW_CID
	mkuser Member "$B"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	M=$ACCESS
	M_SID=$SID
	mkuser Boss "$B" true
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	BOSS=$ACCESS
	BOSS_SID=$SID
	for q in "" "?company_id=$ROOT_CID"; do
		list "$BOSS" "/api/v1/sessions/$q"
		total_is 2
		ids_are "$BOSS_SID" "$M_SID"
	done
	bearer 404 "$BOSS" DELETE "/api/v1/sessions/$ADM_SID"
	detail_is "Session not found"
	bearer 404 "$BOSS" DELETE "/api/v1/users/sessions/$ADM_SID"
	detail_is "Session not found"
	session_active "$ADM_SID" t
	works "$ADM"
	bearer 200 "$BOSS" DELETE "/api/v1/sessions/$M_SID"
	message_is "Session revoked successfully"
	denied "$M" "Token has been revoked"
}
company_scope_cleanup()
{
	authd_cleanup
}

atf_test_case holder_revoke cleanup
holder_revoke_head()
{
	atf_set descr "a sessions:delete holder that is no superuser may not" \
	    "revoke a session of a superuser or of a user holding more"
}
holder_revoke_body()
{
	local path
	start
	login_admin
	ADM=$ACCESS
	ADM_SID=$SID
	mkuser Operator
	grant sessions:delete
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	OP=$ACCESS
	OP_SID=$SID
	for path in "/api/v1/sessions/$ADM_SID" \
	    "/api/v1/users/sessions/$ADM_SID"; do
		bearer 403 "$OP" DELETE "$path"
		detail_is "$FORBIDDEN"
	done
	session_active "$ADM_SID" t
	works "$ADM"
	# No superuser, but the root company's admin role.
	mkuser Richer
	sql "INSERT INTO user_roles (user_id, role_id, company_id)
	    SELECT $NEW_UID, id, $ROOT_CID FROM roles
	    WHERE company_id = $ROOT_CID AND name = 'admin'"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	RICH=$ACCESS
	RICH_SID=$SID
	for path in "/api/v1/sessions/$RICH_SID" \
	    "/api/v1/users/sessions/$RICH_SID"; do
		bearer 403 "$OP" DELETE "$path"
		detail_is "$FORBIDDEN"
	done
	session_active "$RICH_SID" t
	works "$RICH"
	# A user holding less, and the holder's own session, may go.
	mkuser Poorer
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$OP" DELETE "/api/v1/users/sessions/$SID"
	message_is "Session revoked successfully"
	denied "$ACCESS" "Token has been revoked"
	# A superuser revokes the richer one.
	bearer 200 "$ADM" DELETE "/api/v1/sessions/$RICH_SID"
	denied "$RICH" "Token has been revoked"
	bearer 200 "$OP" DELETE "/api/v1/sessions/$OP_SID"
	denied "$OP" "Token has been revoked"
}
holder_revoke_cleanup()
{
	authd_cleanup
}

atf_test_case revoke_others_expired cleanup
revoke_others_expired_head()
{
	atf_set descr "DELETE /users/me/sessions counts only sessions that" \
	    "were live, not those past their expiry"
}
revoke_others_expired_body()
{
	start
	mkuser Expiring
	logins "$NEW_USER" 4
	sql "UPDATE sessions SET expires_at = now() - interval '1 second'
	    WHERE id IN ($S1, $S2)"
	bearer 200 "$T4" DELETE "$MINE"
	message_is "Revoked 1 sessions successfully"
	denied "$T3" "Token has been revoked"
	session_active "$S3" f
	works "$T4"
	sql_expect 0 "SELECT count(*) FROM sessions WHERE id IN ($S1, $S2)
	    AND revoked_at IS NOT NULL"
}
revoke_others_expired_cleanup()
{
	authd_cleanup
}

# A redis-server of the test case's own, which the daemon uses: REDIS_DIR.
private_redis()
{
	REDIS_DIR=$(mktemp -d "$AUTHD_TEST_DIR/redis.XXXXXX") ||
	    atf_fail "mktemp failed"
	echo "$REDIS_DIR" >>redis.dirs
	redis_init "$REDIS_DIR" || atf_fail "redis_init failed"
	redis_start "$REDIS_DIR" || atf_fail "redis-server did not start"
	conf_set "$AUTHD_CONF_FILE" redis "socket \"$REDIS_DIR/redis.sock\""
}

redis_cleanup()
{
	local dir
	authd_cleanup
	[ -f redis.dirs ] || return 0
	while read -r dir; do
		redis_stop "$dir"
		# A server that did not stop on request.
		if [ -f "$dir/redis.pid" ]; then
			kill "$(cat "$dir/redis.pid")" 2>/dev/null
		fi
	done <redis.dirs
	return 0
}

health_redis()
{
	[ "$(http GET "$AUTHD_URL/health/redis")" = "$1" ]
}

atf_test_case redis_stopped cleanup
redis_stopped_head()
{
	atf_set descr "with Redis stopped, revoked tokens stay refused and" \
	    "logins work"
}
redis_stopped_body()
{
	local i
	start private_redis
	wait_until 10 health_redis 200 || atf_fail "/health/redis is not 200"
	mkuser NoCache
	logins "$NEW_USER" 3
	works "$T1"
	works "$T3"
	bearer 200 "$T1" POST /api/v1/auth/logout
	denied "$T1" "Token has been revoked"
	redis_stop "$REDIS_DIR" || atf_fail "redis did not stop"
	wait_until 10 health_redis 503 || atf_fail "/health/redis is not 503"
	i=0
	while [ $i -lt 4 ]; do
		denied "$T1" "Token has been revoked"
		works "$T2"
		i=$((i + 1))
	done
	refresh 401 "$R1"
	# Revocations keep working without Redis.
	bearer 200 "$T3" DELETE "$MINE/$S2"
	denied "$T2" "Token has been revoked"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
	refresh 200 "$REFRESH"
	works "$ACCESS"
	bearer 200 "$ACCESS" POST /api/v1/auth/logout
	denied "$ACCESS" "Token has been revoked"
	# And Redis back changes nothing.
	redis_start "$REDIS_DIR" || atf_fail "redis did not restart"
	wait_until 20 health_redis 200 || atf_fail "/health/redis stays down"
	denied "$T1" "Token has been revoked"
	denied "$T2" "Token has been revoked"
	works "$T3"
}
redis_stopped_cleanup()
{
	redis_cleanup
}

atf_test_case redis_flushed cleanup
redis_flushed_head()
{
	atf_set descr "after FLUSHALL revoked tokens stay refused"
}
redis_flushed_body()
{
	start private_redis
	mkuser Flushed
	logins "$NEW_USER" 3
	works "$T1"
	works "$T2"
	bearer 200 "$T1" POST /api/v1/auth/logout
	bearer 200 "$T3" DELETE "$MINE/$S2"
	denied "$T1" "Token has been revoked"
	denied "$T2" "Token has been revoked"
	atf_check -o inline:"OK\n" redis-cli -s "$REDIS_DIR/redis.sock" FLUSHALL
	denied "$T1" "Token has been revoked"
	denied "$T2" "Token has been revoked"
	refresh 401 "$R1"
	refresh 401 "$R2"
	works "$T3"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
	atf_check -o inline:"OK\n" redis-cli -s "$REDIS_DIR/redis.sock" FLUSHALL
	denied "$T2" "Token has been revoked"
	works "$ACCESS"
}
redis_flushed_cleanup()
{
	redis_cleanup
}

atf_test_case two_instances cleanup
two_instances_head()
{
	atf_set descr "two daemons on one database: a logout on one is" \
	    "refused on the other"
}

# on URL COMMAND...: runs the helper COMMAND against the daemon at URL.
on()
{
	local BASE
	BASE=$1
	shift
	"$@"
}

two_instances_body()
{
	local i
	start
	URL1=$AUTHD_URL
	# The second node of the same deployment: same issuer, keys,
	# database and Redis, another port.
	authd_setup || atf_fail "authd_setup failed"
	ISSUER=$URL1
	token_block
	authd_start || atf_fail "the second authd did not start"
	URL2=$AUTHD_URL
	[ "$URL1" != "$URL2" ] || atf_fail "both daemons on $URL1"
	mkuser TwoNodes
	on "$URL1" logins "$NEW_USER" 2
	on "$URL2" works "$T1"
	on "$URL2" works "$T2"
	on "$URL1" bearer 200 "$T1" POST /api/v1/auth/logout
	i=0
	while [ $i -lt 4 ]; do
		on "$URL2" denied "$T1" "Token has been revoked"
		on "$URL2" works "$T2"
		i=$((i + 1))
	done
	on "$URL2" refresh 401 "$R1"
	# The other way round, with a session revoked by id.
	on "$URL2" login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	on "$URL1" works "$ACCESS"
	on "$URL2" bearer 200 "$ACCESS" DELETE "$MINE/$S2"
	on "$URL1" denied "$T2" "Token has been revoked"
	on "$URL1" refresh 401 "$R2"
	on "$URL1" works "$ACCESS"
	# Rotation on one node is seen by the other: reuse after the
	# grace window of the old refresh token on the other node.
	R=$REFRESH
	on "$URL1" refresh 200 "$R"
	on "$URL2" works "$ACCESS"
	on "$URL2" refresh 200 "$REFRESH"
	on "$URL1" refresh 401 "$R"
	on "$URL2" denied "$ACCESS" "Token has been revoked"
}
two_instances_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case my_sessions
	atf_add_test_case last_used
	atf_add_test_case revoke_mine
	atf_add_test_case revoke_foreign
	atf_add_test_case revoke_others
	atf_add_test_case admin_list
	atf_add_test_case admin_revoke
	atf_add_test_case not_admin
	atf_add_test_case permission_scope
	atf_add_test_case company_scope
	atf_add_test_case holder_revoke
	atf_add_test_case revoke_others_expired
	atf_add_test_case redis_stopped
	atf_add_test_case redis_flushed
	atf_add_test_case two_instances
}
