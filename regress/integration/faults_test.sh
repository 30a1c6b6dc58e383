#! /usr/bin/env atf-sh
# Fault injection (SECURITY-CHECKLIST section 2, R1-R9): the daemon's
# dependencies and its own processes fail under load, and it must keep
# serving what it can, fail closed where it cannot, lose no
# acknowledged write and recover without a restart.  A case that stops
# a server starts its own (lib/faults.sh); the shared PostgreSQL and
# Redis of regress/run.sh are never stopped.  Load comes from
# lib/faults_load.py, bounded in requests and time, on 127.0.0.1.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"
. "$(atf_get_srcdir)/lib/faults.sh"

# An answer during an outage must come within a few seconds; lib.sh's
# 30 s would hide a hang.
HTTP_TIMEOUT=10

conf_append()
{
	printf '%s\n' "$@" >>"$AUTHD_CONF_FILE"
}

now()
{
	date +%s.%N
}

# lines FILE: its number of lines (0 when missing).
lines()
{
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

more_lines()
{
	[ "$(lines "$1")" -gt "$2" ]
}

group_gone()
{
	! authd_group "$1"
}

# create_load PREFIX SECONDS FAULT: starts the daemon, logs in as the
# first administrator (TOKEN: the access token), starts the create load
# for at most SECONDS and waits for its first user created before FAULT.
# Each worker dials a new cluster on its own: the first login may meet
# one that is not connected yet.
create_load()
{
	authd_start || atf_fail "authd did not start (its log is on stderr)"
	ids
	wait_until 20 status_is 200 POST /api/v1/auth/login \
	    --data-urlencode "username=$AUTHD_ADMIN_USERNAME" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" ||
	    atf_fail "$(oneline "no admin login:" "$(head -c 200 http.body)")"
	jget TOKEN http.body 'j["access_token"]'
	load create "$AUTHD_PORT" "$TOKEN" "$1$(rand)_" create.log 2000 "$2" \
	    load.stop
	wait_until 30 grep -q ' create .* 200$' create.log ||
	    atf_fail "$(oneline "no user created before $3:" \
	    "$(codes create.log)")"
}

# acked_committed LOG...: every creation that a create load's LOG saw
# answered 200 is in the database, once (acknowledged is a subset of
# committed).
acked_committed()
{
	local list
	awk '$2 == "create" && $NF == "200" { print $3 }' "$@" >acked
	[ -s acked ] || atf_fail "no acknowledged creation"
	list=$(tr '\n' ' ' <acked | sed 's/ $//')
	sql "SELECT e FROM unnest(string_to_array('$list', ' ')) AS e
	    WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.email = e)
	    ORDER BY e"
	[ -z "$SQL" ] || atf_fail "$(oneline "acknowledged but not in" \
	    "the database: $SQL")"
	sql_expect "$(grep -c . acked)" "SELECT count(*) FROM users WHERE
	    email = ANY (string_to_array('$list', ' '))"
}

# create_is CODE TOKEN: creating a new user with TOKEN answers CODE
# within 5 s (for wait_until).  Each is logged to direct.log as the load
# logs its own.
create_is()
{
	local u st
	u=fu$(rand)
	st=$(http POST "$(base)/api/v1/users/" --max-time 5 \
	    -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
	    --data "$(jsonobj email "$u@example.com" username "$u" \
	    password Faults-Pass-9x!Q)")
	echo "$(now) create $u@example.com $st" >>direct.log
	[ "$st" = "$1" ]
}

# create_503 TOKEN WHEN: creates users with TOKEN until one answers 503
# (with Retry-After), for up to 10 s; one that still fits in the disk
# may answer 200, any other answer fails the case.
create_503()
{
	local i
	for i in $(seq 40); do
		create_is 503 "$1" && break
		[ "$(cat http.status)" = 200 ] || atf_fail "$(oneline \
		    "a creation $2 answered $(cat http.status):" \
		    "$(head -c 200 http.body)")"
		sleep 0.25
	done
	unavailable
}

# unavailable: the last answer is the 503 of an outage, with Retry-After.
unavailable()
{
	[ "$(cat http.status)" = 503 ] || atf_fail "$(oneline "status" \
	    "$(cat http.status), expected 503:" "$(head -c 200 http.body)")"
	detail_is "Service temporarily unavailable"
	grep -qi '^Retry-After: [0-9]' http.headers ||
	    atf_fail "503 without Retry-After"
}

atf_test_case pg_outage cleanup
pg_outage_head()
{
	atf_set descr "R1: PostgreSQL stopped under load: 503 with " \
	    "Retry-After, never 200 or 500; recovery without restart; every " \
	    "acknowledged user creation is in the database"
	atf_set timeout 120
}
MY_SESSIONS=/api/v1/users/me/sessions

pg_outage_body()
{
	local tok n t_down t_up bad
	require_env
	authd_setup || atf_fail "authd_setup failed"
	faults_pg
	create_load pgo 90 "the outage"
	tok=$TOKEN

	pg_stop "$FAULTS_PG" fast || atf_fail "pg_ctl stop failed"
	t_down=$(now)
	# What needs the database answers 503; an authenticated read that
	# the cache in Redis holds may still answer, for 30 s at most.
	wait_until 5 status_is 503 GET "$MY_SESSIONS" \
	    -H "Authorization: Bearer $tok" ||
	    atf_fail "$(oneline "GET $MY_SESSIONS did not answer 503 within" \
	    "5 s of the outage: $(cat http.status) $(head -c 200 http.body)")"
	unavailable
	for n in 1 2 3; do
		bearer 503 "$tok" GET "$MY_SESSIONS" --max-time 5
		unavailable
		create_is 503 "$tok"
		unavailable
		http_expect 503 GET "$(base)/health/db" --max-time 5
		http_expect 200 GET "$(base)/" --max-time 5
	done
	# The load runs on for a while against the outage.
	n=$(lines create.log)
	wait_until 10 more_lines create.log $((n + 6)) ||
	    atf_fail "the load stalled during the outage"

	t_up=$(now)
	pg_start "$FAULTS_PG" || atf_fail "PostgreSQL did not start again"
	wait_until 10 status_is 200 GET "$MY_SESSIONS" \
	    -H "Authorization: Bearer $tok" ||
	    atf_fail "$(oneline "no recovery within 10 s of the restart:" \
	    "$(cat http.status) $(head -c 200 http.body)")"
	wait_until 5 status_is 200 GET /health/db ||
	    atf_fail "/health/db is not 200 after the recovery"
	n=$(lines create.log)
	wait_until 10 sh -c "tail -n +$((n + 1)) create.log |
	    grep -q ' create .* 200$'" ||
	    atf_fail "no user created after the recovery"
	load_end

	bad=$(awk '$NF != "200" && $NF != "503"' create.log | head -n 5)
	[ -z "$bad" ] || atf_fail "$(oneline "answers other than 200/503:" \
	    "$bad; all: $(codes create.log)")"
	grep -q ' 503$' create.log ||
	    atf_fail "$(oneline "the load saw no 503:" "$(codes create.log)")"
	bad=$(awk -v a="$t_down" -v b="$t_up" '$2 == "me" && $NF == "200" &&
	    $1 > a + 31 && $1 < b' create.log | head -n 3)
	[ -z "$bad" ] || atf_fail "$(oneline "/users/me answered 200 more" \
	    "than 30 s into the outage of PostgreSQL: $bad")"

	acked_committed create.log
}
pg_outage_cleanup()
{
	faults_cleanup
}

atf_test_case disk_full cleanup
disk_full_head()
{
	atf_set descr "PostgreSQL's file system full under load: writes " \
	    "answer 503 with Retry-After, never 200 or 500, the daemon " \
	    "stays up; once space is back, recovery without a restart of " \
	    "authd and every acknowledged user creation is in the database"
	atf_set timeout 60
}

pg_down()
{
	! pg_running "$1"
}

# disk_fill FILE: grows FILE until its file system has no space left.
disk_fill()
{
	dd if=/dev/zero of="$1" bs=1M oflag=append conv=notrunc \
	    >/dev/null 2>&1
	dd if=/dev/zero of="$1" bs=4k oflag=append conv=notrunc \
	    >/dev/null 2>&1
	return 0
}

disk_full_body()
{
	local dir mnt tok n bad
	require_env
	is_root || atf_skip "needs root to mount a file system for PostgreSQL"
	authd_setup || atf_fail "authd_setup failed"
	# The cluster's data directory, pg_wal included, on a tmpfs of its
	# own; its socket and log stay outside, on a file system with room.
	dir=$(mktemp -d "$AUTHD_TEST_DIR/fpg.XXXXXX") ||
	    atf_fail "mktemp failed"
	mnt=$dir/data
	service_dir "$dir" 0755 && service_dir "$mnt" 0700 ||
	    atf_fail "cannot make $mnt"
	echo "$mnt" >disk.mnt
	mount -t tmpfs -o "size=160m,mode=0700,uid=$(id -u \
	    "$AUTHD_SERVICE_USER"),gid=$(id -g "$AUTHD_SERVICE_USER")" \
	    tmpfs "$mnt" || atf_fail "cannot mount a tmpfs on $mnt"
	# The server will crash: only a commit whose WAL is written may be
	# acknowledged, or the crash could lose it.
	FAULTS_PG_SYNC=on faults_pg "$dir"
	create_load dfl 60 "the disk filled"
	tok=$TOKEN

	# Root fills it: tmpfs keeps nothing back for root, so PostgreSQL
	# gets ENOSPC too.  A creation that still fits in the pages it has
	# may succeed; one that extends a relation gets ERROR 53100 "could
	# not extend file", and soon every one does.
	disk_fill "$mnt/filler"
	n=$(lines create.log)
	wait_until 10 sh -c "tail -n +$((n + 1)) create.log |
	    grep -q ' create .* 503$'" ||
	    atf_fail "$(oneline "no creation answered 503 within 10 s of" \
	    "the disk filling: $(codes create.log)")"
	create_503 "$tok" "on a full disk"
	http_expect 200 GET "$(base)/" --max-time 5

	# A WAL segment switch needs a new segment file: its zero-filling
	# fails, the WAL writer PANICs, crash recovery cannot write its
	# checkpoint either and the postmaster shuts down (PostgreSQL 15).
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c \
	    "SELECT pg_switch_wal()" >/dev/null 2>&1
	wait_until 10 sh -c "grep -q PANIC '$dir/postgresql.log'" ||
	    atf_fail "$(oneline "PostgreSQL did not PANIC on a full pg_wal:" \
	    "$(tail -n 5 "$dir/postgresql.log")")"
	wait_until 10 pg_down "$dir" || atf_fail "$(oneline "PostgreSQL" \
	    "still runs after its PANIC:" "$(tail -n 5 "$dir/postgresql.log")")"
	create_503 "$tok" "after the PANIC"
	http_expect 503 GET "$(base)/health/db" --max-time 5
	http_expect 200 GET "$(base)/" --max-time 5
	n=$(lines create.log)
	wait_until 10 more_lines create.log $((n + 6)) ||
	    atf_fail "the load stalled on the full disk"

	# Space is back.  A PostgreSQL that shut down is the operator's to
	# start; authd reconnects by itself, without a restart.
	rm -f "$mnt/filler"
	pg_start "$dir" || atf_fail "PostgreSQL did not start again"
	wait_until 15 create_is 200 "$tok" ||
	    atf_fail "$(oneline "no creation within 15 s of the space" \
	    "coming back: $(cat http.status) $(head -c 200 http.body)")"
	http_expect 200 GET "$(base)/health/db" --max-time 5
	n=$(lines create.log)
	wait_until 10 sh -c "tail -n +$((n + 1)) create.log |
	    grep -q ' create .* 200$'" ||
	    atf_fail "the load created no user after the recovery"
	load_end

	proc_alive "$AUTHD_PID" || atf_fail "authd exited"
	! grep -q 'lost child' "$AUTHD_LOG" || atf_fail "$(oneline \
	    "a child of authd died:" "$(grep 'lost child' "$AUTHD_LOG")")"
	bad=$(awk '$NF != "200" && $NF != "503"' create.log | head -n 5)
	[ -z "$bad" ] || atf_fail "$(oneline "answers other than 200/503:" \
	    "$bad; all: $(codes create.log)")"
	bad=$(grep 'access: [A-Z]* [^ ]* 500 ' "$AUTHD_LOG" | head -n 3)
	[ -z "$bad" ] || atf_fail "$(oneline "authd answered 500:" "$bad")"
	acked_committed create.log direct.log
}
disk_full_cleanup()
{
	local mnt
	faults_cleanup
	[ -f disk.mnt ] || return 0
	mnt=$(cat disk.mnt)
	# PostgreSQL is stopped; whatever else still holds the mount, it
	# goes lazily rather than outlive the run.
	if mountpoint -q "$mnt" && ! wait_until 10 umount "$mnt"; then
		umount -l "$mnt"
	fi
	return 0
}

atf_test_case redis_outage cleanup
redis_outage_head()
{
	atf_set descr "R4/R5: Redis stopped: a revoked token stays revoked, " \
	    "login works, /health/redis 503; recovery; FLUSHALL loses no " \
	    "revocation"
	atf_set timeout 90
}
redis_outage_body()
{
	local revoked fresh
	require_env
	authd_setup || atf_fail "authd_setup failed"
	faults_redis
	authd_start || atf_fail "authd did not start (its log is on stderr)"
	ids
	mkuser red
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	revoked=$ACCESS
	bearer 200 "$revoked" POST /api/v1/auth/logout
	denied "$revoked" "Token has been revoked"

	redis_stop "$FAULTS_REDIS" || atf_fail "Redis did not stop"
	denied "$revoked" "Token has been revoked"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	fresh=$ACCESS
	works "$fresh"
	denied "$revoked" "Token has been revoked"
	http_expect 503 GET "$(base)/health/redis"

	redis_start "$FAULTS_REDIS" || atf_fail "Redis did not start again"
	wait_until 10 status_is 200 GET /health/redis ||
	    atf_fail "/health/redis not 200 within 10 s of Redis' restart"
	denied "$revoked" "Token has been revoked"
	redis-cli -s "$FAULTS_REDIS/redis.sock" FLUSHALL >flush.out 2>&1
	grep -q OK flush.out || atf_fail "$(oneline "FLUSHALL:" \
	    "$(cat flush.out)")"
	denied "$revoked" "Token has been revoked"
	works "$fresh"
	session_active "$SID" t
}
redis_outage_cleanup()
{
	faults_cleanup
}

atf_test_case worker_kill_under_load cleanup
worker_kill_under_load_head()
{
	atf_set descr "R7: a worker SIGKILLed under load: few failures, the " \
	    "port keeps answering, a new worker, no zombies"
	atf_set timeout 90
}
worker_kill_under_load_body()
{
	local victim n failed total z
	start
	expect_children worker 2
	load get "$AUTHD_PORT" / get.log 5000 40 load.stop
	wait_until 20 more_lines get.log 20 ||
	    atf_fail "$(oneline "no load:" "$(codes get.log)")"
	victim=$(authd_children worker | head -n 1)
	[ -n "$victim" ] || atf_fail "no worker"
	kill -KILL "$victim" || atf_fail "cannot kill worker $victim"
	n=$(lines get.log)
	wait_until 5 sh -c "[ \$(ps -o pid=,args= --ppid $AUTHD_PID |
	    awk '\$2 == \"authd:\" && \$3 == \"worker\" && \$1 != $victim' |
	    grep -c .) -eq 2 ]" ||
	    atf_fail "$(oneline "no new worker within 5 s; workers:" \
	    $(authd_children worker))"
	# The load goes on against the new set of workers.
	wait_until 20 more_lines get.log $((n + 50)) ||
	    atf_fail "$(oneline "the load stalled after the kill:" \
	    "$(codes get.log)")"
	load_end

	total=$(lines get.log)
	failed=$(grep -vc '^200$' get.log)
	[ "$failed" -le 3 ] || atf_fail "$(oneline "$failed of $total" \
	    "requests failed:" "$(codes get.log)")"
	http_expect 200 GET "$(base)/"
	grep -q 'lost child: worker' "$AUTHD_LOG" ||
	    atf_fail "the parent did not log the lost worker"
	proc_alive "$AUTHD_PID" || atf_fail "the parent exited"
	z=$(zombies "$AUTHD_PID")
	[ -z "$z" ] || atf_fail "$(oneline "zombie children:" $z)"
	proc_dead "$victim" || atf_fail "the killed worker is still there"
}
worker_kill_under_load_cleanup()
{
	faults_cleanup
}

atf_test_case keyholder_kill cleanup
keyholder_kill_head()
{
	atf_set descr "R8: a keyholder SIGKILLed during logins: never a 200 " \
	    "without a signed token; the daemon exits 1 within 5 s"
	atf_set timeout 90
}
keyholder_kill_body()
{
	local kh st bad
	start
	expect_children keyholder 2
	load login "$AUTHD_PORT" "$AUTHD_ADMIN_USERNAME" \
	    "$AUTHD_ADMIN_PASSWORD" login.log 400 40 load.stop
	wait_until 30 grep -q '^200 good$' login.log ||
	    atf_fail "$(oneline "no login before the kill:" \
	    "$(codes login.log)")"
	kh=$(authd_children keyholder | head -n 1)
	[ -n "$kh" ] || atf_fail "no keyholder"
	kill -KILL "$kh" || atf_fail "cannot kill keyholder $kh"
	wait_exit "$AUTHD_PID" 5
	st=$?
	[ "$st" -eq 1 ] || atf_fail "$(oneline "the parent's exit status is" \
	    "$st (255: still running after 5 s), expected 1")"
	wait_until 5 group_gone "$AUTHD_PID" || atf_fail "$(oneline \
	    "processes of the daemon left:" \
	    "$(ps -o pid=,args= --pgid "$AUTHD_PID")")"
	grep -q 'lost child: keyholder' "$AUTHD_LOG" ||
	    atf_fail "no 'lost child: keyholder' in the log"
	status_is 000 GET / --max-time 2 ||
	    atf_fail "the port still answers after the exit"
	load_end
	bad=$(grep -c ' BAD$' login.log)
	[ "$bad" -eq 0 ] || atf_fail "$(oneline "$bad logins answered 200" \
	    "without a signed token:" "$(codes login.log)")"
}
keyholder_kill_cleanup()
{
	faults_cleanup
}

atf_test_case slowloris cleanup
slowloris_head()
{
	atf_set descr "200 connections sending a request one byte a second: " \
	    "other clients served within 1 s, the slow ones closed by the " \
	    "timeout"
	atf_set timeout 90
}
slowloris_body()
{
	local open late
	start conf_append "limits {" "timeout 5" "}"
	load slowloris "$AUTHD_PORT" 200 5 slow.log
	wait_until 20 test -f slow.log.ready ||
	    atf_fail "$(oneline "the slow connections did not open:" \
	    "$(cat load.err)")"
	served_quickly "while 200 slow connections are open" 0.3
	wait_exit "$LOAD_PID" 30 >/dev/null 2>&1
	[ $? -ne 255 ] || atf_fail "the slowloris client did not end"
	[ ! -s load.err ] || atf_fail "$(oneline "slowloris client:" \
	    "$(head -c 500 load.err)")"
	[ "$(lines slow.log)" -eq 200 ] ||
	    atf_fail "the slowloris client reported $(lines slow.log) sockets"
	# evhttp's own timeout restarts with every byte: authd/conn.c
	# gives each request a deadline.
	open=$(grep -c '^open$' slow.log)
	[ "$open" -eq 0 ] || atf_fail "$(oneline "$open of 200 slow" \
	    "connections still open 11 s after connecting (timeout 5)")"
	late=$(awk '$1 > 8' slow.log | grep -c .)
	[ "$late" -eq 0 ] || atf_fail "$(oneline "$late slow connections" \
	    "closed after more than 8 s (timeout 5):" \
	    "$(sort -n slow.log | tail -n 3)")"
	http_expect 200 GET "$(base)/"
}
slowloris_cleanup()
{
	faults_cleanup
}

atf_test_case keepalive cleanup
keepalive_head()
{
	atf_set descr "four requests on one kept-alive connection over 1.8 " \
	    "times the timeout: every one answered on it, then the " \
	    "connection closed once idle for the timeout"
	atf_set timeout 60
}
keepalive_body()
{
	local n idle
	start conf_append "limits {" "timeout 3" "}"
	load keepalive "$AUTHD_PORT" 3 alive.log
	wait_exit "$LOAD_PID" 30 >/dev/null 2>&1
	[ $? -ne 255 ] || atf_fail "the keep-alive client did not end"
	[ ! -s load.err ] || atf_fail "$(oneline "keep-alive client:" \
	    "$(head -c 500 load.err)")"
	n=$(grep -c '^answer 200$' alive.log)
	[ "$n" -eq 4 ] && [ "$(lines alive.log)" -eq 5 ] ||
	    atf_fail "$(oneline "4 answers on one connection expected:" \
	    "$(cat alive.log)")"
	idle=$(sed -n 's/^idle //p' alive.log)
	awk -v t="$idle" 'BEGIN { exit !(t >= 2.5 && t <= 5) }' ||
	    atf_fail "$(oneline "an idle connection closed after '$idle' s" \
	    "(timeout 3)")"
}
keepalive_cleanup()
{
	faults_cleanup
}

atf_test_case connection_limit cleanup
connection_limit_head()
{
	atf_set descr "limits { connections 2 }: with two workers holding" \
	    "two idle connections each, a new client waits in the listen" \
	    "queue and is served once the timeout frees a place"
	atf_set timeout 60
}
connection_limit_body()
{
	local out code t
	start conf_append "limits {" "connections 2" "timeout 4" "}"
	python3 - "$AUTHD_PORT" >idle.log 2>idle.err <<'EOF2' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
         for _ in range(4)]
print("open", flush=True)
time.sleep(20)
EOF2
	IDLE_PID=$!
	echo "$IDLE_PID" >idle.pid
	wait_until 10 grep -q open idle.log ||
	    atf_fail "$(oneline "the idle connections did not open:" \
	    "$(cat idle.err)")"
	sleep 1
	# Both workers are full: nobody takes the request in time.
	out=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1.5 \
	    "$(base)/")
	[ "$out" = 000 ] ||
	    atf_fail "answered $out with 4 connections open (limit 2 x 2)"
	grep -q "not accepting more" "$AUTHD_LOG" ||
	    atf_fail "no worker said it stopped accepting"
	# The idle ones end 4 s after they opened; then it is served.
	out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
	    --max-time 10 "$(base)/")
	code=${out%% *}
	t=${out#* }
	[ "$code" = 200 ] || atf_fail "answered '$code' after ${t}s"
	http_expect 200 GET "$(base)/"
}
connection_limit_cleanup()
{
	[ -f idle.pid ] && kill "$(cat idle.pid)" 2>/dev/null
	faults_cleanup
}

atf_test_case idle_thousand cleanup
idle_thousand_head()
{
	atf_set descr "a thousand connections that send nothing: other" \
	    "clients served within 1 s each, also with a descriptor limit" \
	    "of 256 for the daemon"
	atf_set timeout 60
}
idle_thousand_body()
{
	# The daemon under the soft limit systemd gives services: workers
	# raise it for their connections.
	ulimit -S -n 256
	start
	ulimit -S -n 4096
	python3 - "$AUTHD_PORT" >idle.log 2>idle.err <<'EOF2' &
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (2048, 2048))
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
         for _ in range(1000)]
print("open", flush=True)
time.sleep(25)
EOF2
	echo $! >idle.pid
	wait_until 15 grep -q open idle.log ||
	    atf_fail "$(oneline "the idle connections did not open:" \
	    "$(cat idle.err)")"
	served_quickly "with 1000 idle connections open"
	http_expect 200 GET "$(base)/health/db" --max-time 2
	! grep -q "descriptors" "$AUTHD_LOG" ||
	    atf_fail "$(oneline "a worker lacked descriptors:" \
	    "$(grep descriptors "$AUTHD_LOG")")"
}
idle_thousand_cleanup()
{
	[ -f idle.pid ] && kill "$(cat idle.pid)" 2>/dev/null
	faults_cleanup
}

atf_test_case control_flood cleanup
control_flood_head()
{
	atf_set descr "50 parallel control connections: each gets an answer " \
	    "or a clean error; the daemon keeps serving"
	atf_set timeout 90
}
control_flood_body()
{
	local i pids pid rc ok
	start
	pids=
	for i in $(seq 50); do
		timeout 30 "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" \
		    -s "$AUTHD_SOCKET" show status >"ctl.$i.out" \
		    2>"ctl.$i.err" &
		pids="$pids $!"
	done
	i=0
	ok=0
	for pid in $pids; do
		i=$((i + 1))
		wait "$pid"
		rc=$?
		case $rc in
		0)
			[ -s "ctl.$i.out" ] ||
			    atf_fail "authctl $i succeeded with no output"
			ok=$((ok + 1))
			;;
		124)
			atf_fail "authctl $i got no answer in 30 s"
			;;
		*)
			[ "$rc" -lt 128 ] || atf_fail "$(oneline "authctl $i" \
			    "died of signal $((rc - 128))")"
			[ -s "ctl.$i.err" ] || atf_fail "$(oneline \
			    "authctl $i failed ($rc) without a message")"
			if grep -qi 'sanitizer\|segmentation\|abort' \
			    "ctl.$i.err"; then
				atf_fail "$(oneline "authctl $i:" \
				    "$(head -c 300 "ctl.$i.err")")"
			fi
			;;
		esac
	done
	[ "$ok" -ge 1 ] || atf_fail "$(oneline "no authctl got an answer:" \
	    "$(head -c 300 ctl.1.err)")"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
	http_expect 200 GET "$(base)/"
	http_expect 200 GET "$(base)/health/db"
	authctl_run -s "$AUTHD_SOCKET" show status >after.out 2>after.err ||
	    atf_fail "$(oneline "show status after the flood:" \
	    "$(cat after.err)")"
	[ -s after.out ] || atf_fail "show status printed nothing"
	echo "$ok of 50 answered" >&2
}
control_flood_cleanup()
{
	faults_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case pg_outage
	atf_add_test_case disk_full
	atf_add_test_case redis_outage
	atf_add_test_case worker_kill_under_load
	atf_add_test_case keyholder_kill
	atf_add_test_case slowloris
	atf_add_test_case keepalive
	atf_add_test_case connection_limit
	atf_add_test_case idle_thousand
	atf_add_test_case control_flood
}
