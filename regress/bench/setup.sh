# Shell functions shared by `make bench` (regress/bench/bench.sh) and
# `make soak` (regress/bench/soak.sh): a private PostgreSQL, Redis and
# authd in a scratch directory as regress/run.sh makes them, production
# settings, the bench data set and a pool of sessions, wrk runs.
#
# The sourcing script sets, before sourcing:
#   PROG		its name, for messages (regress/bench/bench.sh)
#   NOTE		prefix of progress lines (bench)
#   KEEP_DIR	keep the scratch directory when non-empty
# and before calling the functions:
#   THREADS, PREFORK, KEYHOLDERS, NUSERS, NCOMPANIES, SECONDS_
# Sourcing defines functions and a few variables (top, bdir, ncpu,
# PASSWORD), checks that the programs are built, and installs the exit
# trap that stops everything started here.

top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$top/regress/bench
. "$top/regress/lib.sh"

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
# Shared by every bench user; passes the default password policy.
PASSWORD='Bench-Passw0rd-2026!'

tmp=
bare_pid=
bg_pids=
AUTHD_PID=
cleanup()
{
	local p
	for p in $bg_pids; do
		proc_alive "$p" && kill -TERM "$p" 2>/dev/null
	done
	if [ -n "$bare_pid" ] && proc_alive "$bare_pid"; then
		kill -TERM "$bare_pid" 2>/dev/null
		wait_until 5 proc_dead "$bare_pid"
	fi
	if [ -n "${AUTHD_PID:-}" ]; then
		authd_stop "$AUTHD_PID" >/dev/null 2>&1
	fi
	[ -n "$tmp" ] || return
	if [ -d "$tmp/redis" ]; then
		redis_stop "$tmp/redis"
	fi
	if [ -d "$tmp/pg/data" ]; then
		pg_stop "$tmp/pg" immediate
	fi
	if [ -n "${KEEP_DIR:-}" ]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die()
{
	echo "$PROG: $*" >&2
	if [ -n "${AUTHD_LOG:-}" ] && [ -f "$AUTHD_LOG" ]; then
		echo "=== end of $AUTHD_LOG" >&2
		tail -n 30 "$AUTHD_LOG" >&2
	fi
	exit 1
}

note()
{
	echo "$NOTE: $*" >&2
}

for prog in "$top/authd/authd" "$top/authd/authd-keyholder" \
    "$top/authd/authd-worker" "$top/authctl/authctl" \
    "$bdir/hashbench" "$bdir/evhttp_bare" "$bdir/libfloor-parent" \
    "$bdir/libfloor-keyholder" "$bdir/libfloor-worker"; do
	[ -x "$prog" ] || die "$prog is not built (run make)"
done
command -v wrk >/dev/null ||
    die "wrk is not installed (make deps installs it: apt-get install wrk)"

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# psql_q SQL: one query on the bench database, unaligned, no header.
psql_q()
{
	"$PG_BINDIR/psql" -h "$tmp/pg" -U authd -d authd -XAtq \
	    -v ON_ERROR_STOP=1 -c "$1"
}

# authd_pids PGID: "PID ROLE" of every process of the group (the daemon
# is started by setsid: its group is all of authd); ROLE is
# parent, keyholder or worker (from the title authd gives each).
authd_pids()
{
	ps -eo pid=,pgid=,args= | awk -v g="$1" '$2 == g && $3 == "authd:" {
	    print $1, $4 }'
}

# rss_kib PGID: the resident memory of every authd process of the group
# (one ps: the sampling must not load the machine it measures).
rss_kib()
{
	ps -eo pgid=,rss=,args= | awk -v g="$1" '
	    $1 == g && $3 == "authd:" { t += $2 } END { print t + 0 }'
}

# pss_kib PGID: the proportional set size of the same processes: shared
# pages (the libraries every process maps) count once in the sum, as
# they are once in memory.  Empty when smaps_rollup cannot be read
# (non-dumpable keyholders, without root).
pss_kib()
{
	local p t v
	t=0
	for p in $(ps -eo pid=,pgid=,args= | awk -v g="$1" '
	    $2 == g && $3 == "authd:" { print $1 }'); do
		v=$(awk '$1 == "Pss:" { print $2 }' \
		    "/proc/$p/smaps_rollup" 2>/dev/null) || return 0
		[ -n "$v" ] || return 0
		t=$((t + v))
	done
	echo "$t"
}

# rss_sample PGID FILE SECONDS: samples rss_kib every half second for
# SECONDS, keeping the largest in FILE (run in the background).
rss_sample()
{
	local max end v
	max=0
	end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -lt "$end" ]; do
		v=$(rss_kib "$1")
		[ "$v" -gt "$max" ] && max=$v && echo "$max" >"$2"
		sleep 0.5
	done
}

# bench_start CONF: starts authd as authd_start does, but polls
# /health/db every 10 ms, so that start_ms (set here) means something.
bench_start()
{
	local t0 tries url code
	url="$AUTHD_URL/health/db"
	t0=$(now_ms)
	setsid "$AUTHD_BIN" -d -f "$1" >>"$AUTHD_LOG" 2>&1 &
	AUTHD_PID=$!
	echo "$AUTHD_PID" >>"$AUTHD_RUNDIR/started"
	tries=2000
	while [ "$tries" -gt 0 ]; do
		proc_alive "$AUTHD_PID" || die "authd exited at start"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
		    "$url" 2>/dev/null)
		if [ "$code" = 200 ]; then
			start_ms=$(($(now_ms) - t0))
			return 0
		fi
		sleep 0.01
		tries=$((tries - 1))
	done
	die "authd did not answer 200 on $url in 20 s"
}

bench_stop()
{
	authd_stop "$AUTHD_PID" >/dev/null 2>&1
	# The next daemon binds the same port: this one must be gone.
	proc_dead "$AUTHD_PID" || die "authd (pid $AUTHD_PID) did not stop"
	AUTHD_PID=
}

# wrk_run NAME SCRIPT CONNECTIONS URL [SECONDS]: runs wrk (WRK_THREADS
# threads, default THREADS; a request unanswered after WRK_TIMEOUT
# seconds, default 10, is a timeout), keeps its output in $tmp/NAME.wrk and the
# BENCH line's JSON in $tmp/NAME.json.  Returns 1, saying why, when wrk
# printed no result; safe in the background (it does not exit).
wrk_run()
{
	local name script conns url secs threads
	name=$1
	script=$2
	conns=$3
	url=$4
	secs=${5:-$SECONDS_}
	threads=${WRK_THREADS:-$THREADS}
	[ "$conns" -lt "$threads" ] && conns=$threads
	BENCH_DIR=$bdir BENCH_THREADS=$threads wrk -t "$threads" \
	    -c "$conns" -d "${secs}s" --timeout "${WRK_TIMEOUT:-10}s" \
	    -s "$bdir/$script" "$url" >"$tmp/$name.wrk" 2>&1
	sed -n 's/^BENCH //p' "$tmp/$name.wrk" >"$tmp/$name.json"
	if ! [ -s "$tmp/$name.json" ]; then
		cat "$tmp/$name.wrk" >&2
		echo "$PROG: wrk printed no result for $name" >&2
		return 1
	fi
	note "$name: $(cat "$tmp/$name.json")"
}

# run_wrk NAME SCRIPT CONNECTIONS URL [SECONDS]: wrk_run, or exit.
run_wrk()
{
	wrk_run "$@" || die "wrk failed for $1"
}

# expect CODE METHOD URL [CURL ARGS...]: one request that must answer
# CODE; what every scenario sends is checked once before wrk sends it.
expect()
{
	local want got
	want=$1
	shift
	got=$(HTTP_OUT=$tmp http "$@")
	[ "$got" = "$want" ] || die "$1 $2: status $got, expected $want:" \
	    "$(head -c 300 "$tmp/http.body")"
}

# login USER PASSWORD: a form login; leaves the token pair in
# $tmp/http.body.
login()
{
	expect 200 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$1" --data-urlencode "password=$2"
}

# --- servers ---------------------------------------------------------

# setup_servers: the scratch directory, PostgreSQL, Redis, and the
# variables of the daemon (AUTHD_*); the daemon itself is not started.
setup_servers()
{
	tmp=$(mktemp -d /tmp/authd-bench.XXXXXX) || die "mktemp failed"
	chmod 0755 "$tmp"
	ensure_service_user || die "cannot create user $AUTHD_SERVICE_USER"
	check_reachable "$tmp" || die "scratch directory not reachable"

	# Production durability: only what cannot matter for the figures
	# is changed.
	PG_EXTRA_CONF="${BENCH_PG_CONF:-}"
	pg_init "$tmp/pg" || die "initdb failed"
	pg_start "$tmp/pg" || die "PostgreSQL did not start"
	pg_createdb "$tmp/pg" authd || die "createdb failed"
	redis_init "$tmp/redis" || die "redis config failed"
	redis_start "$tmp/redis" || die "Redis did not start"

	mkdir -m 0700 "$tmp/keys" || die "mkdir failed"
	mkdir -m 0755 "$tmp/run" "$tmp/empty" || die "mkdir failed"

	AUTHD_BIN=$top/authd/authd
	AUTHCTL_BIN=$top/authctl/authctl
	AUTHD_SQL_DIR=$top/sql
	AUTHD_RUNDIR=$tmp/run
	AUTHD_LOG=$tmp/run/authd.log
	AUTHD_PORT=$(free_port) || die "no free port"
	AUTHD_URL="http://127.0.0.1:$AUTHD_PORT"
	AUTHD_PID=
	export AUTHD_SQL_DIR
	database="host=$tmp/pg dbname=authd user=authd"
}

# conf_bench FILE HASHLINE: the production configuration of the bench.
conf_bench()
{
	authd_conf_write "$1" "$AUTHD_PORT" "$tmp/run" "$database" \
	    "$tmp/redis/redis.sock" "$tmp/keys" "$tmp/empty" \
	    "$(service_user)" || return 1
	conf_set "$1" prefork "$PREFORK"
	conf_set "$1" keyholders "$KEYHOLDERS"
	conf_set "$1" password "{ $2 }"
	# The limits: wrk sends every request with its own
	# X-Forwarded-For, and each address stays far below every limit;
	# the limits are as high as authd.conf(5) allows, so that nothing
	# measured is throttled (a 429 would be counted as an error).
	cat >>"$1" <<EOF
# written by regress/bench/setup.sh (later settings win)
token { algorithm es256 }
access log no
# wrk sends every request with its own X-Forwarded-For: one address
# could not exceed "rate" requests a minute.
trusted proxy 127.0.0.1
limits {
	rate 100000
	login rate 100000
	address failures 1000000
	lockout 10000 failures
}
EOF
}

# setup_keys CONF: keys, schema and the first administrator (admin_user,
# admin_pw).
setup_keys()
{
	"$AUTHCTL_BIN" -f "$1" key generate >/dev/null ||
	    die "authctl key generate failed"
	"$AUTHCTL_BIN" -f "$1" db migrate >/dev/null ||
	    die "authctl db migrate failed"
	"$AUTHCTL_BIN" -f "$1" init "authd bench" admin@example.com \
	    admin >"$tmp/init.out" || die "authctl init failed"
	admin_user=$(sed -n 's/^admin username: //p' "$tmp/init.out")
	admin_pw=$(sed -n 's/^admin password: //p' "$tmp/init.out")
	rm -f "$tmp/init.out"
	[ -n "$admin_pw" ] || die "authctl init printed no admin password"
}

# --- data ------------------------------------------------------------

# seed_hash NAME: makes one user through the API (so that authd hashes
# its password with the running configuration), prints its hash.  The
# daemon runs; admin_token and cid are set.
seed_hash()
{
	expect 200 POST "$AUTHD_URL/api/v1/users/" \
	    -H "Authorization: Bearer $admin_token" \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"email\": \"$1@bench.example\", \"username\": \"$1\",
	      \"password\": \"$PASSWORD\", \"company_id\": $cid}"
	psql_q "SELECT hashed_password FROM users WHERE username = '$1'"
}

# load_users: NCOMPANIES companies and NUSERS users u1..uN with the
# password PASSWORD hashed with argon2id by the running daemon.
load_users()
{
	local hash n
	note "loading $NUSERS users across $NCOMPANIES companies"
	login "$admin_user" "$admin_pw"
	admin_token=$(json_get "$tmp/http.body" 'j["access_token"]')
	psql_q "INSERT INTO companies (name, description)
	    SELECT 'bench company ' || g, 'made by regress/bench'
	    FROM generate_series(1, $NCOMPANIES) AS g" ||
	    die "inserting companies failed"
	cid=$(psql_q "SELECT min(id) FROM companies
	    WHERE name LIKE 'bench company %'")

	hash=$(seed_hash seed-argon2id) || exit 1
	case "$hash" in
	'$argon2id$'*)	;;
	*)		die "the seed user's hash is not argon2id: $hash" ;;
	esac
	# One INSERT: every user gets the seed's hash, so each login does
	# one real argon2id verification, in time proportional to nothing
	# else.  Only what was loaded is analyzed: statistics of sessions
	# taken now, with one row, would have every prepared statement
	# plan a scan of it for the rest of the run, as no server that has
	# been up a minute (and autovacuum's analyze) would.
	psql_q "INSERT INTO users (company_id, email, username,
		hashed_password, is_verified)
	    SELECT c.id, 'u' || g || '@bench.example', 'u' || g, '$hash',
		true
	    FROM generate_series(1, $NUSERS) AS g
	    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
		FROM companies WHERE name LIKE 'bench company %') AS c
		ON c.k = g % $NCOMPANIES;
	    ANALYZE companies, users" || die "inserting users failed"
	n=$(psql_q "SELECT count(*) FROM users WHERE username ~ '^u[0-9]+\$'")
	[ "$n" -eq "$NUSERS" ] || die "$n users loaded, expected $NUSERS"
}

# make_sessions COUNT: logs in COUNT users counted down from uNUSERS
# (users the login scenarios reach last), leaves their access tokens in
# $tmp/access.tokens and refresh tokens in $tmp/refresh.tokens, a line
# each, in the same order.
make_sessions()
{
	local i f n
	note "making $1 sessions"
	: >"$tmp/access.tokens"
	: >"$tmp/refresh.tokens"
	rm -f "$tmp"/pool.u*
	i=0
	while [ "$i" -lt "$1" ]; do
		i=$((i + 1))
		echo "u$((NUSERS - i + 1))"
	done | xargs -P "$((2 * KEYHOLDERS))" -I{} curl -sS --max-time 60 \
	    -o "$tmp/pool.{}" --data-urlencode 'username={}' \
	    --data-urlencode "password=$PASSWORD" \
	    "$AUTHD_URL/api/v1/auth/login"
	for f in "$tmp"/pool.u*; do
		python3 - "$f" "$tmp/access.tokens" "$tmp/refresh.tokens" \
		    <<'EOF' ||
import json, sys
j = json.load(open(sys.argv[1]))
open(sys.argv[2], "a").write(j["access_token"] + "\n")
open(sys.argv[3], "a").write(j["refresh_token"] + "\n")
EOF
		    die "login for the pool failed: $(head -c 300 "$f")"
	done
	rm -f "$tmp"/pool.u*
	n=$(grep -c . "$tmp/refresh.tokens")
	[ "$n" -eq "$1" ] || die "$n sessions made, expected $1"
}
