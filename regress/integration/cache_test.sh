#! /usr/bin/env atf-sh
# The authentication cache in Redis (authd/authcache.c) over real HTTP:
# what it keeps, and that every way a session, a user or a role changes
# counts from the next request: through the API, through authctl, after
# a Redis outage that lost the invalidation, and, for changes made in
# the database by hand, after `authctl cache flush`.  Each test case
# starts its own authd and its own redis-server.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

# A Redis of the case's own (private_redis), which keeps a snapshot
# (dump.rdb) when asked: REDIS_DIR.
own_redis()
{
	local line
	line=$(private_redis) || atf_fail "cannot start a private Redis"
	conf_set "$AUTHD_CONF_FILE" redis "${line#redis }"
	REDIS_DIR=$(tail -n 1 redis.dirs)
}

# One worker: a token verified once is looked up in the cache on every
# later request, so what the cache answers is seen.
one_worker()
{
	own_redis
	conf_set "$AUTHD_CONF_FILE" prefork 1
}

rcli()
{
	redis-cli -s "$REDIS_DIR/redis.sock" "$@"
}

redis_up()
{
	[ "$(http GET "$AUTHD_URL/health/redis")" = 200 ]
}

# cached TOKEN SID UID: GET /users/me with the token until the entry of
# its session is in Redis (the generations, then the caller's ids).  A
# worker looks a session up once it has verified its token: each of
# them does on its first request with it.
cached()
{
	local i
	for i in $(seq 20); do
		works "$1"
		rcli GET "authd:as:$2" | grep -q "^[0-9]*:[0-9]*:$3:" &&
		    return 0
	done
	atf_fail "no cache entry for session $2: $(rcli GET "authd:as:$2")"
}

cache_cleanup()
{
	authd_cleanup
	private_redis_stop
}

# allowed_is TOKEN PERMISSION True|False: POST /authz/check of the
# caller's own permission answers so.
allowed_is()
{
	bearer 200 "$1" POST /api/v1/authz/check \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"permission\": \"$2\"}"
	json_check http.body "j == {\"allowed\": $3}"
}

atf_test_case entries cleanup
entries_head()
{
	atf_set descr "the second request of a session is answered from" \
	    "Redis, with the same body as from PostgreSQL"
}
entries_body()
{
	local ttl
	start one_worker
	mkuser Cached
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
	cp http.body first.json
	cached "$ACCESS" "$SID" "$NEW_UID"
	works "$ACCESS"
	[ -n "$(rcli GET "authd:me:$NEW_UID")" ] ||
	    atf_fail "no cached /users/me of user $NEW_UID"
	cmp -s first.json http.body ||
	    atf_fail "$(oneline "cached /users/me differs:" \
	    "$(cat first.json) vs $(cat http.body)")"
	# An entry lives no longer than AC_TTL, 30 s.
	ttl=$(rcli TTL "authd:as:$SID")
	[ "$ttl" -gt 0 ] && [ "$ttl" -le 30 ] ||
	    atf_fail "session entry TTL $ttl, expected 1..30"
	# /metrics counts both (workers report once a second).
	wait_until 5 metric_positive authd_authcache_hits_total ||
	    atf_fail "no cache hit in /metrics"
	metric_positive authd_authcache_misses_total ||
	    atf_fail "no cache miss in /metrics"
}

# metric_positive NAME: /metrics shows NAME above 0.
metric_positive()
{
	curl -s "$(base)/metrics" | grep -Eq "^$1 [1-9]"
}
entries_cleanup()
{
	cache_cleanup
}

atf_test_case api_writes cleanup
api_writes_head()
{
	atf_set descr "logout, deactivation and role changes through the API" \
	    "count from the next request"
}
api_writes_body()
{
	local adm perm rid uid t1 t2 s1
	start one_worker
	login_admin
	adm=$ACCESS
	mkuser Writes
	uid=$NEW_UID
	# A role of the root company with a permission the "user" role
	# does not hold.
	perm=sessions:read
	sql "WITH r AS (INSERT INTO roles (company_id, name)
	    VALUES ($ROOT_CID, 'r_$(rand)') RETURNING id),
	    g AS (INSERT INTO role_permissions (role_id, permission_id,
	    company_id) SELECT r.id, p.id, $ROOT_CID FROM r, permissions p
	    WHERE p.name = '$perm' AND p.company_id IS NULL)
	    SELECT id FROM r"
	rid=$SQL
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A one
	t1=$ACCESS
	s1=$SID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A two
	t2=$ACCESS
	cached "$t1" "$s1" "$uid"
	allowed_is "$t1" "$perm" False
	bearer 200 "$adm" POST "/api/v1/users/$uid/roles/$rid"
	allowed_is "$t1" "$perm" True
	bearer 200 "$adm" DELETE "/api/v1/users/$uid/roles/$rid"
	allowed_is "$t1" "$perm" False
	# Logout of one session; the other lives on.
	works "$t2"
	bearer 200 "$t1" POST /api/v1/auth/logout
	denied "$t1" "Token has been revoked"
	works "$t2"
	works "$t2"
	bearer 200 "$adm" PUT "/api/v1/users/$uid" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"is_active": false}'
	denied "$t2" "Token has been revoked"
}
api_writes_cleanup()
{
	cache_cleanup
}

atf_test_case login_changes_me cleanup
login_changes_me_head()
{
	atf_set descr "a new login shows in the cached /users/me at once"
}
login_changes_me_body()
{
	local t before after
	start one_worker
	mkuser Again
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	t=$ACCESS
	cached "$t" "$SID" "$NEW_UID"
	works "$t"
	jget before http.body 'j["last_login"]'
	sleep 1.1
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$t"
	jget after http.body 'j["last_login"]'
	[ "$before" != "$after" ] ||
	    atf_fail "last_login still $before after a second login"
}
login_changes_me_cleanup()
{
	cache_cleanup
}

atf_test_case authctl_changes cleanup
authctl_changes_head()
{
	atf_set descr "authctl session kill counts at once; a change made" \
	    "in the database by hand counts after authctl cache flush"
}
authctl_changes_body()
{
	local t1 t2 s1 s2
	start one_worker
	mkuser Ctl
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A one
	t1=$ACCESS
	s1=$SID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A two
	t2=$ACCESS
	s2=$SID
	cached "$t1" "$s1" "$NEW_UID"
	cached "$t2" "$s2" "$NEW_UID"
	authctl_run session kill "$s1" >ctl.out 2>&1 ||
	    atf_fail "$(oneline "authctl session kill:" "$(cat ctl.out)")"
	denied "$t1" "Token has been revoked"
	works "$t2"
	# By hand, without the test's own flush (sql): the entry stands,
	# as authd.8 says, until a flush or its 30 s.
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c "UPDATE sessions SET is_active = false, revoked_at = now()
	    WHERE id = $s2" >sql.out 2>&1 ||
	    atf_fail "$(oneline "psql failed:" "$(cat sql.out)")"
	works "$t2"
	[ "$(authctl_run cache flush 2>&1)" = "authentication cache flushed" ] ||
	    atf_fail "$(oneline "authctl cache flush:" \
	    "$(authctl_run cache flush 2>&1)")"
	denied "$t2" "Token has been revoked"
}
authctl_changes_cleanup()
{
	cache_cleanup
}

atf_test_case outage cleanup
outage_head()
{
	atf_set descr "a logout while Redis is down counts when Redis comes" \
	    "back with its old entries"
	atf_set timeout 120
}
outage_body()
{
	start one_worker
	mkuser Outage
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	cached "$ACCESS" "$SID" "$NEW_UID"
	# A snapshot with the entry; the server comes back from it.
	[ "$(rcli SAVE)" = OK ] || atf_fail "redis SAVE failed"
	redis_stop "$REDIS_DIR" || atf_fail "redis did not stop"
	wait_until 10 sh -c "! curl -s -o /dev/null -w '%{http_code}' \
	    '$AUTHD_URL/health/redis' | grep -q 200" ||
	    atf_fail "/health/redis still 200 with Redis stopped"
	bearer 200 "$ACCESS" POST /api/v1/auth/logout
	denied "$ACCESS" "Token has been revoked"
	redis_start "$REDIS_DIR" || atf_fail "redis did not restart"
	[ -n "$(rcli GET "authd:as:$SID")" ] ||
	    atf_fail "the snapshot did not bring the old entry back"
	wait_until 20 redis_up || atf_fail "/health/redis stays down"
	denied "$ACCESS" "Token has been revoked"
	denied "$ACCESS" "Token has been revoked"
}
outage_cleanup()
{
	cache_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case entries
	atf_add_test_case api_writes
	atf_add_test_case login_changes_me
	atf_add_test_case authctl_changes
	atf_add_test_case outage
}
