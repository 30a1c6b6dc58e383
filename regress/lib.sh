# Shell functions shared by `make run` (etc/dev/run.sh), `make test`
# (regress/run.sh) and the atf-sh integration tests (regress/integration).
# POSIX sh: atf-sh runs its programs with /bin/sh, which is dash on Debian.
#
# Sourcing this file defines functions and two settings (PG_BINDIR,
# AUTHD_SERVICE_USER) and runs nothing, so that a test program can source
# it before atf decides what to run.
#
# The environment that regress/run.sh exports for the tests:
#   AUTHD_SRCDIR		top of the source tree
#   AUTHD_BIN, AUTHCTL_BIN	absolute paths of the programs under test
#   AUTHD_SQL_DIR		the tree's sql/ (read by authctl)
#   AUTHD_TEST_DIR	the scratch directory of this run (world-traversable)
#   AUTHD_TEST_CONF	the base authd.conf, written by regress/run.sh
#   AUTHD_USER		the user the daemon's children run as
#   AUTHD_PG_SOCKDIR	directory of PostgreSQL's unix socket
#   AUTHD_DATABASE	libpq conninfo of the test database
#   AUTHD_REDIS_SOCKET	Redis unix socket
#   AUTHD_KEYS		key directory (0700, owned by the invoking user)
#   AUTHD_CHROOT		empty directory the children chroot to
#   AUTHD_ADMIN_EMAIL, AUTHD_ADMIN_USERNAME, AUTHD_ADMIN_PASSWORD
#			the first administrator made by `authctl init`

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

# The checks call python3 hundreds of times; a version manager's shim
# (pyenv) in PATH costs a shell and more per call, so use the system's
# interpreter when there is one.
if [ -x /usr/bin/python3 ]; then
	python3()
	{
		/usr/bin/python3 "$@"
	}
fi
AUTHD_SERVICE_USER=${AUTHD_SERVICE_USER:-_authd}

# --- users -----------------------------------------------------------

is_root()
{
	[ "$(id -u)" -eq 0 ]
}

# The user the servers and the daemon's children run as: PostgreSQL
# refuses to run as root, and authd drops root to its configured user.
service_user()
{
	if is_root; then
		echo "$AUTHD_SERVICE_USER"
	else
		id -un
	fi
}

# Creates the unprivileged system user when running as root.
ensure_service_user()
{
	is_root || return 0
	local group
	getent passwd "$AUTHD_SERVICE_USER" >/dev/null && return 0
	group=-U
	if getent group "$AUTHD_SERVICE_USER" >/dev/null; then
		group="-g $AUTHD_SERVICE_USER"
	fi
	# shellcheck disable=SC2086
	useradd -r $group -M -d /nonexistent -s /usr/sbin/nologin \
	    "$AUTHD_SERVICE_USER"
}

# Runs a command as the service user (as is when not root).  The working
# directory is / so that PostgreSQL's tools do not complain about a
# directory the service user cannot read.
as_service_user()
{
	if is_root; then
		(cd / && runuser -u "$AUTHD_SERVICE_USER" -- "$@")
	else
		(cd / && "$@")
	fi
}

# Makes a directory owned by the service user, with the given mode.
service_dir()
{
	mkdir -p "$1" || return 1
	chmod "$2" "$1" || return 1
	if is_root; then
		chown "$AUTHD_SERVICE_USER:" "$1" || return 1
	fi
}

# Fails unless the service user can reach the directory: when the tree
# lives under a directory closed to others, PostgreSQL could not start.
check_reachable()
{
	is_root || return 0
	if ! runuser -u "$AUTHD_SERVICE_USER" -- test -x "$1"; then
		echo "$1: not reachable by user $AUTHD_SERVICE_USER;" \
		    "every directory above it must be searchable by others" >&2
		return 1
	fi
}

# A unix socket path must fit in sun_path (108 bytes with its NUL).
check_sockpath()
{
	if [ "${#1}" -gt 100 ]; then
		echo "$1: path too long for a unix socket (${#1} > 100)" >&2
		return 1
	fi
}

# --- waiting ---------------------------------------------------------

# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it
# succeeds (returns 0) or SECONDS have passed (returns 1).
wait_until()
{
	local tries
	tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# proc_alive PID: true while the process exists and is not a zombie.
proc_alive()
{
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$st" in
	""|Z*)	return 1 ;;
	esac
	return 0
}

proc_dead()
{
	! proc_alive "$1"
}

# wait_exit PID SECONDS: waits for a child of this shell to exit and
# returns its exit status (128+N for a signal), or 255 after SECONDS if
# it still runs.
wait_exit()
{
	wait_until "$2" proc_dead "$1" || return 255
	wait "$1"
}

# --- PostgreSQL ------------------------------------------------------
# DIR holds the socket (DIR/.s.PGSQL.5432), the cluster (DIR/data) and
# its log (DIR/postgresql.log).  No TCP: listen_addresses is empty.

pg_init()
{
	local dir
	dir=$1
	check_sockpath "$dir/.s.PGSQL.5432" || return 1
	service_dir "$dir" 0755 || return 1
	as_service_user "$PG_BINDIR/initdb" -D "$dir/data" -U authd \
	    --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	as_service_user sh -c "cat >>'$dir/data/postgresql.conf'" <<EOF
# written by regress/lib.sh
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
max_connections = 200
${PG_EXTRA_CONF:-}
EOF
}

pg_running()
{
	as_service_user "$PG_BINDIR/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

pg_start()
{
	pg_running "$1" && return 0
	as_service_user "$PG_BINDIR/pg_ctl" -D "$1/data" \
	    -l "$1/postgresql.log" -w -t 60 start >/dev/null || {
		tail -n 20 "$1/postgresql.log" >&2
		return 1
	}
}

# pg_stop DIR [MODE]: MODE is fast (default) or immediate.
pg_stop()
{
	pg_running "$1" || return 0
	as_service_user "$PG_BINDIR/pg_ctl" -D "$1/data" \
	    -m "${2:-fast}" -w -t 60 stop >/dev/null
}

# pg_createdb DIR NAME: creates the database unless it exists.
pg_createdb()
{
	if "$PG_BINDIR/psql" -h "$1" -U authd -d postgres -XAtq -c \
	    "SELECT 1 FROM pg_database WHERE datname = '$2'" | grep -q 1; then
		return 0
	fi
	"$PG_BINDIR/createdb" -h "$1" -U authd "$2"
}

# --- Redis -----------------------------------------------------------
# DIR holds redis.conf, the socket (DIR/redis.sock), the pid file and the
# log.  No TCP: port 0.

redis_init()
{
	local dir
	dir=$1
	check_sockpath "$dir/redis.sock" || return 1
	service_dir "$dir" 0755 || return 1
	as_service_user sh -c "cat >'$dir/redis.conf'" <<EOF
# written by regress/lib.sh
port 0
unixsocket $dir/redis.sock
unixsocketperm 770
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
save ""
appendonly no
EOF
}

redis_running()
{
	[ -S "$1/redis.sock" ] && \
	    redis-cli -s "$1/redis.sock" ping 2>/dev/null | grep -q PONG
}

redis_start()
{
	redis_running "$1" && return 0
	rm -f "$1/redis.sock"
	as_service_user redis-server "$1/redis.conf" || return 1
	wait_until 20 redis_running "$1" || {
		echo "redis did not start:" >&2
		tail -n 20 "$1/redis.log" >&2
		return 1
	}
}

redis_stop()
{
	redis_running "$1" || return 0
	redis-cli -s "$1/redis.sock" shutdown nosave >/dev/null 2>&1
	wait_until 10 test ! -S "$1/redis.sock"
}

# cache_flush: what `authctl cache flush` does, for a test that changed
# the database behind authd's back: the workers' authentication cache
# (authd/authcache.c) forgets what it knew, in the run's Redis and in
# the test case's own (./redis.dirs, see private_redis).
cache_flush()
{
	local dir
	redis-cli -s "$AUTHD_REDIS_SOCKET" INCR authd:gen >/dev/null 2>&1 || :
	[ -f redis.dirs ] || return 0
	while read -r dir; do
		redis-cli -s "$dir/redis.sock" INCR authd:gen >/dev/null 2>&1 ||
		    :
	done <redis.dirs
}

# --- configuration ---------------------------------------------------

# authd_conf_write FILE PORT RUNDIR DATABASE REDIS_SOCKET KEYS CHROOT USER
# writes a complete authd.conf; the control socket and the pid file go
# in RUNDIR.
authd_conf_write()
{
	cat >"$1" <<EOF
# written by regress/lib.sh
listen on 127.0.0.1 port $2
prefork 2
keyholders 2
user "$8"
chroot "$7"
socket "$3/authd.sock"
pidfile "$3/authd.pid"
database "$4"
redis socket "$5"
keys "$6"
token { issuer "http://127.0.0.1:$2" }
password { hash argon2id memory 19456 iterations 2 parallelism 1 }
# Every test comes from 127.0.0.1: the limits are the subject of their
# own tests, which append a limits block of their own (later wins).
limits {
	rate 100000
	login rate 100000
	address failures 100000
}
EOF
	# The common passwords the tree ships, as API.md's policy wants.
	if [ -n "${AUTHD_SRCDIR:-}" ]; then
		printf 'password {\n\tdeny list "%s"\n}\n' \
		    "$AUTHD_SRCDIR/etc/common-passwords.txt" >>"$1"
	fi
}

# conf_set FILE KEYWORD VALUE...: replaces the line that starts with
# KEYWORD, or appends one.
conf_set()
{
	local file kw tmp
	file=$1
	kw=$2
	shift 2
	tmp="$file.tmp.$$"
	awk -v kw="$kw" -v line="$kw $*" '
	    $1 == kw && !done { print line; done = 1; next }
	    { print }
	    END { if (!done) print line }' "$file" >"$tmp" && mv "$tmp" "$file"
}

# conf_get FILE KEYWORD: the rest of the first line that starts with it.
conf_get()
{
	awk -v kw="$2" '$1 == kw { sub(/^[ \t]*[^ \t]+[ \t]+/, ""); print;
	    exit }' "$1"
}

# --- HTTP ------------------------------------------------------------

free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# http METHOD URL [CURL ARGS...]: prints the status code (000 when there
# was no answer) and leaves the body in ./http.body and the headers in
# ./http.headers (or in $HTTP_OUT when set).
http()
{
	local method url out
	method=$1
	url=$2
	shift 2
	out=${HTTP_OUT:-.}
	curl -sS -X "$method" -o "$out/http.body" -D "$out/http.headers" \
	    -w '%{http_code}\n' --max-time "${HTTP_TIMEOUT:-10}" "$@" "$url" \
	    >"$out/http.status" 2>"$out/http.err"
	cat "$out/http.status"
}

# http_json METHOD URL JSON [CURL ARGS...]: the same with a JSON body.
http_json()
{
	local method url body
	method=$1
	url=$2
	body=$3
	shift 3
	http "$method" "$url" -H 'Content-Type: application/json' \
	    --data-binary "$body" "$@"
}

# http_ok URL: true when GET URL answers 200 (for wait_until).
http_ok()
{
	[ "$(HTTP_OUT=${HTTP_OUT:-.} http GET "$1")" = 200 ]
}

# json_expect FILE EXPR: evaluates the Python expression EXPR with j bound
# to the parsed JSON of FILE; fails, printing both, unless it is true.
json_expect()
{
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    text = f.read()
try:
    j = json.loads(text)
except ValueError as e:
    sys.exit("not JSON (%s): %r" % (e, text[:500]))
if not eval("(" + sys.argv[2] + ")", {"j": j, "re": __import__("re")}):
    sys.exit("JSON %s does not satisfy: %s" % (text[:2000], sys.argv[2]))
EOF
}

# json_get FILE EXPR: prints the value of EXPR (j is the parsed JSON);
# strings as they are, the rest as JSON.
json_get()
{
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
v = eval("(" + sys.argv[2] + ")", {"j": j})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# --- the daemon under test -------------------------------------------
# authd_reap_stale: kills the daemons of earlier test cases of this run
# (their processes still write to a log under $AUTHD_TEST_DIR), should
# their cleanup have missed them: a stray daemon shares the database and
# would work the delivery queue and the counters of the cases after it.
# Cases run one at a time, so at a case's first authd_setup every such
# daemon is a stray.  Each is named in $AUTHD_TEST_DIR/strays.log, which
# regress/run.sh prints at the end.
authd_reap_stale()
{
	local p log found
	[ -f authd.rundirs ] && return 0
	found=
	# By log, not by name: a copy of the binary (docs_test) has
	# another process title.
	for p in $(ls /proc | grep '^[0-9][0-9]*$'); do
		log=$(readlink "/proc/$p/fd/2" 2>/dev/null) || continue
		case $log in
		"$AUTHD_TEST_DIR"/run.*/authd.log)
			echo "$PWD: killed stray $(ps -o args= -p "$p" |
			    tr -s ' ') $p, logging to $log" \
			    >>"$AUTHD_TEST_DIR/strays.log"
			kill -KILL "$p" 2>/dev/null
			found="$found $p"
			;;
		esac
	done
	for p in $found; do
		wait_until 5 proc_dead "$p"
	done
	return 0
}

# authd_setup makes a run directory under $AUTHD_TEST_DIR, a free port and
# a config derived from $AUTHD_TEST_CONF, and sets:
#   AUTHD_RUNDIR	the run directory (control socket, pid file, log)
#   AUTHD_CONF_FILE	its authd.conf
#   AUTHD_PORT, AUTHD_URL	where it listens (http://127.0.0.1:PORT)
#   AUTHD_SOCKET	its control socket
#   AUTHD_LOG		where authd_start sends the daemon's stderr
# The run directory is also appended to ./authd.rundirs, which
# authd_cleanup reads: a test case's body and cleanup share the working
# directory but not their variables.  Call it again for a second daemon.
authd_setup()
{
	local base
	authd_reap_stale
	base=${1:-$AUTHD_TEST_CONF}
	AUTHD_RUNDIR=$(mktemp -d "$AUTHD_TEST_DIR/run.XXXXXX") || return 1
	chmod 0755 "$AUTHD_RUNDIR"
	echo "$AUTHD_RUNDIR" >>authd.rundirs
	AUTHD_PORT=$(free_port) || return 1
	AUTHD_URL="http://127.0.0.1:$AUTHD_PORT"
	AUTHD_SOCKET="$AUTHD_RUNDIR/authd.sock"
	AUTHD_LOG="$AUTHD_RUNDIR/authd.log"
	AUTHD_CONF_FILE="$AUTHD_RUNDIR/authd.conf"
	cp "$base" "$AUTHD_CONF_FILE" || return 1
	conf_set "$AUTHD_CONF_FILE" listen "on 127.0.0.1 port $AUTHD_PORT"
	conf_set "$AUTHD_CONF_FILE" socket "\"$AUTHD_SOCKET\""
	conf_set "$AUTHD_CONF_FILE" pidfile "\"$AUTHD_RUNDIR/authd.pid\""
	conf_set "$AUTHD_CONF_FILE" token \
	    "{ issuer \"http://127.0.0.1:$AUTHD_PORT\" }"
}

# authd_start [CONF [AUTHD ARGS...]]: starts `authd -d` in its own session
# (so that cleanup can signal every process it made), logging to
# $AUTHD_LOG, and waits up to 20 s for GET /health/db to answer 200.
# Sets AUTHD_PID.  When the daemon exits or does not answer in time,
# prints the end of its log and returns 1.
authd_start()
{
	local conf port url tries
	conf=${1:-$AUTHD_CONF_FILE}
	[ $# -gt 0 ] && shift
	port=$(conf_get "$conf" listen | sed -n 's/.* port \([0-9]*\).*/\1/p')
	url="http://127.0.0.1:$port/health/db"
	setsid "$AUTHD_BIN" -d -f "$conf" "$@" >>"$AUTHD_LOG" 2>&1 &
	AUTHD_PID=$!
	echo "$AUTHD_PID" >>"$AUTHD_RUNDIR/started"
	tries=200
	while [ "$tries" -gt 0 ]; do
		if ! proc_alive "$AUTHD_PID"; then
			echo "authd (pid $AUTHD_PID) exited at start:" >&2
			tail -n 50 "$AUTHD_LOG" >&2
			return 1
		fi
		[ "$(HTTP_OUT="$AUTHD_RUNDIR" http GET "$url")" = 200 ] &&
		    return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	echo "authd (pid $AUTHD_PID) did not answer 200 on $url in 20 s:" >&2
	tail -n 50 "$AUTHD_LOG" >&2
	return 1
}

# authd_group PGID: true while a process of that group is an authd.  A
# recorded pid can be another program's by now (pids wrap quickly on a
# busy machine): only a group that is still ours is signalled.
authd_group()
{
	ps -eo pgid=,args= | awk -v g="$1" '$1 == g && /authd/ { f = 1 }
	    END { exit !f }'
}

# authd_stop [PID]: SIGTERM, then waits up to 10 s; kills what is left
# of the process group.  Returns the daemon's exit status when it is a
# child of this shell (255 when it had to be killed).
authd_stop()
{
	local pid st
	pid=${1:-$AUTHD_PID}
	authd_group "$pid" && kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid" 10
	st=$?
	authd_group "$pid" && kill -KILL "-$pid" 2>/dev/null
	return $st
}

# authd_cleanup: for a test case's cleanup: stops every daemon that the
# body started and prints the end of their logs (kyua shows it for a
# failed test).
authd_cleanup()
{
	local dir pid
	[ -f authd.rundirs ] || return 0
	while read -r dir; do
		if [ -f "$dir/started" ]; then
			while read -r pid; do
				authd_group "$pid" || continue
				kill -TERM "-$pid" 2>/dev/null
				wait_until 10 proc_dead "$pid"
				authd_group "$pid" && kill -KILL "-$pid" 2>/dev/null
			done <"$dir/started"
		fi
		if [ -f "$dir/authd.log" ]; then
			echo "=== $dir/authd.log (last 40 lines)" >&2
			tail -n 40 "$dir/authd.log" >&2
		fi
	done <authd.rundirs
	return 0
}

# authd_children ROLE [PID]: the pids of the parent's children whose
# process title is "authd: ROLE".
authd_children()
{
	ps -o pid=,args= --ppid "${2:-$AUTHD_PID}" | \
	    awk -v role="$1" '$2 == "authd:" && $3 == role { print $1 }'
}

# count_lines COMMAND...: the number of lines COMMAND prints.
count_lines()
{
	"$@" | grep -c .
}

# authd_nchildren ROLE COUNT [PID]: exactly COUNT children of ROLE.
authd_nchildren()
{
	[ "$(count_lines authd_children "$1" "${3:-$AUTHD_PID}")" -eq "$2" ]
}

# authctl_run ARGS...: authctl with the current config and its socket.
authctl_run()
{
	"$AUTHCTL_BIN" -f "${AUTHD_CONF_FILE:-$AUTHD_TEST_CONF}" "$@"
}

# The rest is for atf-sh test cases: atf_check runs programs, not shell
# functions, so these assert through atf_fail themselves.

# http_expect CODE METHOD URL [CURL ARGS...]: fails the test case unless
# the request answers CODE.
http_expect()
{
	local want got
	want=$1
	shift
	got=$(http "$@")
	[ "$got" = "$want" ] || atf_fail "$(oneline "$1 $2: status $got," \
	    "expected $want; body:" \
	    "$(head -c 300 "${HTTP_OUT:-.}/http.body" 2>/dev/null)" \
	    "$(cat "${HTTP_OUT:-.}/http.err" 2>/dev/null)")"
}

# oneline ARGS...: the arguments on one line (an atf_fail reason must
# not span lines).
oneline()
{
	echo "$*" | tr -s '\n\t ' '   '
}

# json_check FILE EXPR: json_expect or fail the test case.
json_check()
{
	json_expect "$@" || atf_fail "$(oneline "JSON check failed: $2")"
}

# expect_children ROLE COUNT: waits up to 5 s for exactly COUNT children
# of ROLE, or fails the test case.
expect_children()
{
	wait_until 5 authd_nchildren "$1" "$2" ||
	    atf_fail "$(oneline "expected $2 $1 processes, found:" \
	    $(authd_children "$1"))"
}

# require_env: for atf-sh test cases; skips when not run by make test.
require_env()
{
	if [ -z "${AUTHD_TEST_DIR:-}" ] || [ ! -f "${AUTHD_TEST_CONF:-}" ]; then
		atf_skip "needs the environment of regress/run.sh (make test)"
	fi
}

# private_redis: starts a Redis of the test case's own (for counters no
# other test may touch) and prints the config line that uses it; the
# directory is recorded in ./redis.dirs for private_redis_stop.
private_redis()
{
	local dir
	dir=$(mktemp -d "$AUTHD_TEST_DIR/redis.XXXXXX") || return 1
	chmod 0777 "$dir"
	echo "$dir" >>redis.dirs
	redis_init "$dir" >/dev/null 2>&1 && redis_start "$dir" >/dev/null 2>&1 ||
	    return 1
	echo "redis socket \"$dir/redis.sock\""
}

private_redis_stop()
{
	local dir
	[ -f redis.dirs ] || return 0
	while read -r dir; do
		redis_stop "$dir"
	done <redis.dirs
	return 0
}

# locker_start LOCK THEN: another PostgreSQL session runs the statement
# LOCK (taking a row lock), waits until some session waits behind it,
# then runs THEN and commits; in the background (locker_wait ends it).
# deadlock_timeout is long there, so that the other session's check
# runs first.
locker_start()
{
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c "SET deadlock_timeout = '60s'" -c "DO \$\$ BEGIN \
	    $1; \
	    PERFORM pg_advisory_xact_lock(4242, 1); \
	    FOR i IN 1 .. 300 LOOP \
		EXIT WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE NOT l.granted \
		    AND pg_backend_pid() = ANY (pg_blocking_pids(l.pid))); \
		PERFORM pg_sleep(0.1); \
	    END LOOP; \
	    $2; END \$\$" >locker.out 2>&1 &
	echo $! >locker.pid
	wait_until 20 locker_holds || atf_fail "the other session took no lock"
}

# locker_holds: the session of locker_start holds its lock.
locker_holds()
{
	[ "$("$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c "SELECT count(*) \
	    FROM pg_locks WHERE locktype = 'advisory' AND classid = 4242 \
	    AND objid = 1 AND granted")" = 1 ]
}

# locker_wait: the session of locker_start ended well, or the case fails.
locker_wait()
{
	local st
	wait "$(cat locker.pid)"
	st=$?
	rm -f locker.pid
	[ "$st" = 0 ] || atf_fail "$(oneline "the other session failed:" \
	    "$(cat locker.out)")"
}

# locker_cleanup: for a cleanup, ends a session of locker_start left.
locker_cleanup()
{
	[ -f locker.pid ] && kill "$(cat locker.pid)" 2>/dev/null
	rm -f locker.pid
}
