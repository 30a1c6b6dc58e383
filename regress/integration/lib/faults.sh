# Shell helpers of faults_test.sh: private PostgreSQL and Redis servers
# that a test case may stop (the shared ones of regress/run.sh are never
# touched), and the bounded load generator.  Sourced after regress/lib.sh
# and lib/authtest.sh.

FAULTS_LOAD=$(atf_get_srcdir)/lib/faults_load.py

# load MODE ARGS...: the load generator in the background; LOAD_PID.
load()
{
	python3 "$FAULTS_LOAD" "$@" 2>>load.err &
	LOAD_PID=$!
	echo "$LOAD_PID" >load.pid
}

# load_end: asks the generator to stop and waits up to 30 s for it.
load_end()
{
	touch load.stop
	wait_exit "$LOAD_PID" 30 >/dev/null 2>&1
	[ $? -ne 255 ] || {
		kill -KILL "$LOAD_PID" 2>/dev/null
		atf_fail "the load generator did not stop"
	}
	if [ -s load.err ]; then
		atf_fail "$(oneline "load generator:" "$(head -c 500 load.err)")"
	fi
}

# faults_pg [DIR]: a private PostgreSQL cluster with a migrated and
# initialised database, and the config of the daemon about to start
# pointed at it.  The cluster is made in DIR when given (the caller may
# have mounted a file system of its own on an empty DIR/data), else in a
# new directory.  Sets FAULTS_PG (its directory), AUTHD_DATABASE (so that
# sql() and ids() read it) and the AUTHD_ADMIN_* of its first
# administrator.  Nothing is flushed to disk (fsync = off); a commit is
# acknowledged before its WAL is written unless FAULTS_PG_SYNC is on: a
# case where the server itself may crash needs it on, or a crash could
# lose what it acknowledged.
faults_pg()
{
	if [ $# -gt 0 ]; then
		FAULTS_PG=$1
	else
		FAULTS_PG=$(mktemp -d "$AUTHD_TEST_DIR/fpg.XXXXXX") ||
		    atf_fail "mktemp failed"
	fi
	echo "$FAULTS_PG" >faults.pg
	PG_EXTRA_CONF="fsync = off
synchronous_commit = ${FAULTS_PG_SYNC:-off}
full_page_writes = off" pg_init "$FAULTS_PG" ||
	    atf_fail "initdb of a private cluster failed"
	pg_start "$FAULTS_PG" || atf_fail "private PostgreSQL did not start"
	pg_createdb "$FAULTS_PG" authd || atf_fail "createdb failed"
	AUTHD_DATABASE="host=$FAULTS_PG dbname=authd user=authd"
	conf_set "$AUTHD_CONF_FILE" database "\"$AUTHD_DATABASE\""
	AUTHD_SQL_DIR=$AUTHD_SQL_DIR "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" \
	    db migrate >migrate.out 2>&1 ||
	    atf_fail "$(oneline "db migrate:" "$(tail -n 5 migrate.out)")"
	AUTHD_SQL_DIR=$AUTHD_SQL_DIR "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" \
	    init "faults" admin@example.com admin >init.out 2>&1 ||
	    atf_fail "$(oneline "authctl init:" "$(tail -n 5 init.out)")"
	AUTHD_ADMIN_EMAIL=$(sed -n 's/^admin email: //p' init.out)
	AUTHD_ADMIN_USERNAME=$(sed -n 's/^admin username: //p' init.out)
	AUTHD_ADMIN_PASSWORD=$(sed -n 's/^admin password: //p' init.out)
	rm -f init.out
	[ -n "$AUTHD_ADMIN_PASSWORD" ] ||
	    atf_fail "authctl init printed no admin password"
}

# faults_redis: a private Redis, and the config of the daemon about to
# start pointed at it; sets FAULTS_REDIS and AUTHD_REDIS_SOCKET.
faults_redis()
{
	FAULTS_REDIS=$(mktemp -d "$AUTHD_TEST_DIR/frd.XXXXXX") ||
	    atf_fail "mktemp failed"
	chmod 0777 "$FAULTS_REDIS"
	echo "$FAULTS_REDIS" >faults.redis
	redis_init "$FAULTS_REDIS" && redis_start "$FAULTS_REDIS" ||
	    atf_fail "cannot start a private Redis"
	conf_set "$AUTHD_CONF_FILE" redis "socket \"$FAULTS_REDIS/redis.sock\""
	AUTHD_REDIS_SOCKET=$FAULTS_REDIS/redis.sock
}

# faults_cleanup: stops the daemons, then the private servers.
faults_cleanup()
{
	authd_cleanup
	# The generator of a case that failed early; only while the pid is
	# still ours.
	if [ -f load.pid ] && ps -o args= -p "$(cat load.pid)" 2>/dev/null |
	    grep -q faults_load; then
		kill -KILL "$(cat load.pid)" 2>/dev/null
	fi
	[ -f faults.redis ] && redis_stop "$(cat faults.redis)"
	[ -f faults.pg ] && pg_stop "$(cat faults.pg)" immediate
	return 0
}

# status_is CODE METHOD PATH [CURL ARGS...]: true when the request
# answers CODE (for wait_until).
status_is()
{
	local want method path
	want=$1
	method=$2
	path=$3
	shift 3
	[ "$(http "$method" "$(base)$path" "$@")" = "$want" ]
}

# me_is CODE TOKEN: GET /api/v1/users/me with TOKEN answers CODE.
me_is()
{
	status_is "$1" GET /api/v1/users/me -H "Authorization: Bearer $2"
}

# served_quickly WHILE [PAUSE]: ten GET / in a row, each answered 200
# within 1 s, PAUSE seconds apart; WHILE says what is going on.
served_quickly()
{
	local i out code t
	for i in $(seq 10); do
		out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
		    --max-time 1 "$(base)/")
		code=${out%% *}
		t=${out#* }
		[ "$code" = 200 ] || atf_fail "$(oneline "GET / answered" \
		    "'$code' after ${t}s $1 (round $i)")"
		sleep "${2:-0}"
	done
}

# codes FILE: the distinct statuses of a load log with their counts, on
# one line (for failure messages).
codes()
{
	oneline "$(awk '{ print $NF == "good" || $NF == "BAD" ? $1 : $NF }' \
	    "$1" | sort | uniq -c)"
}

# zombies PID: the children of PID that are zombies.
zombies()
{
	ps -o pid=,stat= --ppid "$1" | awk '$2 ~ /^Z/ { print $1 }'
}
