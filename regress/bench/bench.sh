#!/bin/sh
# `make bench`: authd at the limits of the machine (issue 9).
#
# Starts a private PostgreSQL, Redis and authd in a scratch directory as
# regress/run.sh does, with production settings (ES256, argon2id m=19456
# t=2 p=1, then a second daemon with bcrypt cost 12), loads BENCH_USERS
# users across BENCH_COMPANIES companies, drives authd with wrk on
# loopback for BENCH_SECONDS per scenario, measures in the same run the
# ceilings the figures are judged against (password hashes per second
# with one hash per CPU, by hashbench; requests per second of a bare
# evhttp server with as many workers, by evhttp_bare), prints a table
# and writes regress/bench/results/<timestamp>.json.
#
# Settings (environment):
#   BENCH_SECONDS		seconds per scenario (10)
#   BENCH_THREADS		wrk threads (the number of CPUs)
#   BENCH_CONNECTIONS	wrk connections for the HTTP scenarios (64)
#   BENCH_LOGIN_CONNECTIONS	wrk connections for logins (4 per CPU)
#   BENCH_USERS, BENCH_COMPANIES	data set (10000, 10)
#   BENCH_HASH_ROUNDS	hashbench rounds (5 for argon2id, 3 for bcrypt)
#   BENCH_KEEP_DIR	keep the scratch directory when set

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$top/regress/bench
. "$top/regress/lib.sh"

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
SECONDS_=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-$ncpu}
CONNS=${BENCH_CONNECTIONS:-64}
LOGIN_CONNS=${BENCH_LOGIN_CONNECTIONS:-$((4 * ncpu))}
NUSERS=${BENCH_USERS:-10000}
NCOMPANIES=${BENCH_COMPANIES:-10}
PREFORK=2
KEYHOLDERS=$ncpu
# Shared by every bench user; passes the default password policy.
PASSWORD='Bench-Passw0rd-2026!'
# The refresh scenario needs more sessions than connections (see
# refresh.lua); the access tokens of the same sessions serve /users/me.
POOL=$((2 * CONNS))

tmp=
bare_pid=
bg_pids=
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
	if [ -n "${BENCH_KEEP_DIR:-}" ]; then
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
	echo "regress/bench/bench.sh: $*" >&2
	if [ -n "${AUTHD_LOG:-}" ] && [ -f "$AUTHD_LOG" ]; then
		echo "=== end of $AUTHD_LOG" >&2
		tail -n 30 "$AUTHD_LOG" >&2
	fi
	exit 1
}

note()
{
	echo "bench: $*" >&2
}

for prog in "$top/authd/authd" "$top/authctl/authctl" \
    "$bdir/hashbench" "$bdir/evhttp_bare"; do
	[ -x "$prog" ] || die "$prog is not built (run make bench)"
done
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"

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

# rss_kib PGID: the resident memory of every process of the group (the
# daemon is started by setsid: its group is all of authd), from /proc.
rss_kib()
{
	local f pg total rss
	total=0
	for f in /proc/[0-9]*/stat; do
		# Field 5 of stat is the process group; the name in field 2
		# has no blank for authd.
		pg=$(awk '{ print $5 }' "$f" 2>/dev/null) || continue
		[ "$pg" = "$1" ] || continue
		rss=$(awk '$1 == "VmRSS:" { print $2 }' \
		    "${f%/stat}/status" 2>/dev/null)
		total=$((total + ${rss:-0}))
	done
	echo "$total"
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

# run_wrk NAME SCRIPT CONNECTIONS URL [SECONDS]: runs wrk, keeps its
# output in $tmp/NAME.wrk and the BENCH line's JSON in $tmp/NAME.json.
run_wrk()
{
	local name script conns url secs
	name=$1
	script=$2
	conns=$3
	url=$4
	secs=${5:-$SECONDS_}
	[ "$conns" -lt "$THREADS" ] && conns=$THREADS
	BENCH_DIR=$bdir BENCH_THREADS=$THREADS wrk -t "$THREADS" \
	    -c "$conns" -d "${secs}s" --timeout 10s -s "$bdir/$script" \
	    "$url" >"$tmp/$name.wrk" 2>&1
	sed -n 's/^BENCH //p' "$tmp/$name.wrk" >"$tmp/$name.json"
	[ -s "$tmp/$name.json" ] || {
		cat "$tmp/$name.wrk" >&2
		die "wrk printed no result for $name"
	}
	note "$name: $(cat "$tmp/$name.json")"
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

# login USER: a form login; leaves the token pair in $tmp/http.body.
login()
{
	expect 200 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$1" --data-urlencode "password=$2"
}

# --- servers ---------------------------------------------------------

tmp=$(mktemp -d /tmp/authd-bench.XXXXXX) || die "mktemp failed"
chmod 0755 "$tmp"
ensure_service_user || die "cannot create user $AUTHD_SERVICE_USER"
check_reachable "$tmp" || die "scratch directory not reachable"

# Production durability: only what cannot matter for the figures is
# changed.
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

# conf_bench FILE HASHLINE: the production configuration of the bench.
conf_bench()
{
	authd_conf_write "$1" "$AUTHD_PORT" "$tmp/run" "$database" \
	    "$tmp/redis/redis.sock" "$tmp/keys" "$tmp/empty" \
	    "$(service_user)" || return 1
	conf_set "$1" prefork "$PREFORK"
	conf_set "$1" keyholders "$KEYHOLDERS"
	conf_set "$1" password "{ $2 }"
	cat >>"$1" <<EOF
# written by regress/bench/bench.sh (later settings win)
token { algorithm es256 }
access log no
# wrk sends every request with its own X-Forwarded-For: one address
# could not exceed "rate" requests a minute.
trusted proxy 127.0.0.1
limits {
	rate 100000
	login rate 100000
	address failures 100000
	lockout 10000 failures
}
EOF
}

conf_argon=$tmp/authd-argon2id.conf
conf_bcrypt=$tmp/authd-bcrypt12.conf
conf_bench "$conf_argon" \
    "hash argon2id memory 19456 iterations 2 parallelism 1" ||
    die "config failed"
conf_bench "$conf_bcrypt" "hash bcrypt cost 12" || die "config failed"
for c in "$conf_argon" "$conf_bcrypt"; do
	"$AUTHD_BIN" -n -f "$c" >/dev/null || die "authd -n refused $c"
done

"$AUTHCTL_BIN" -f "$conf_argon" key generate >/dev/null ||
    die "authctl key generate failed"
"$AUTHCTL_BIN" -f "$conf_argon" db migrate >/dev/null ||
    die "authctl db migrate failed"
"$AUTHCTL_BIN" -f "$conf_argon" init "authd bench" admin@example.com \
    admin >"$tmp/init.out" || die "authctl init failed"
admin_user=$(sed -n 's/^admin username: //p' "$tmp/init.out")
admin_pw=$(sed -n 's/^admin password: //p' "$tmp/init.out")
rm -f "$tmp/init.out"
[ -n "$admin_pw" ] || die "authctl init printed no admin password"

# --- ceilings --------------------------------------------------------

note "hash ceilings (hashbench)"
"$bdir/hashbench" -a argon2id -m 19456 -t 2 -p 1 \
    -n "${BENCH_HASH_ROUNDS:-5}" >"$tmp/hash_argon2id.json" ||
    die "hashbench argon2id failed"
"$bdir/hashbench" -a bcrypt -c 12 -n "${BENCH_HASH_ROUNDS:-3}" \
    >"$tmp/hash_bcrypt12.json" || die "hashbench bcrypt failed"
note "argon2id: $(cat "$tmp/hash_argon2id.json")"
note "bcrypt12: $(cat "$tmp/hash_bcrypt12.json")"

note "HTTP ceiling (evhttp_bare, $PREFORK workers)"
bare_port=$(free_port) || die "no free port"
"$bdir/evhttp_bare" -w "$PREFORK" -p "$bare_port" </dev/null \
    >"$tmp/bare.log" 2>&1 &
bare_pid=$!
wait_until 5 curl -sf "http://127.0.0.1:$bare_port/" ||
    die "evhttp_bare did not answer"
run_wrk bare api.lua "$CONNS" "http://127.0.0.1:$bare_port"
kill -TERM "$bare_pid"
wait_exit "$bare_pid" 5 >/dev/null
bare_pid=

# --- data ------------------------------------------------------------

note "loading $NUSERS users across $NCOMPANIES companies"
AUTHD_PID=
bench_start "$conf_argon"

login "$admin_user" "$admin_pw"
admin_token=$(json_get "$tmp/http.body" 'j["access_token"]')
psql_q "INSERT INTO companies (name, description)
    SELECT 'bench company ' || g, 'made by regress/bench/bench.sh'
    FROM generate_series(1, $NCOMPANIES) AS g" ||
    die "inserting companies failed"
cid=$(psql_q "SELECT min(id) FROM companies WHERE name LIKE 'bench company %'")

# seed_hash NAME: makes one user through the API (so that authd hashes
# its password with the running configuration), prints its hash.
seed_hash()
{
	expect 200 POST "$AUTHD_URL/api/v1/users/" \
	    -H "Authorization: Bearer $admin_token" \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"email\": \"$1@bench.example\", \"username\": \"$1\",
	      \"password\": \"$PASSWORD\", \"company_id\": $cid}"
	psql_q "SELECT hashed_password FROM users WHERE username = '$1'"
}

hash=$(seed_hash seed-argon2id) || exit 1
case "$hash" in
'$argon2id$'*)	;;
*)		die "the seed user's hash is not argon2id: $hash" ;;
esac
# One INSERT: every user gets the seed's hash, so each login does one
# real argon2id verification, in time proportional to nothing else.
psql_q "INSERT INTO users (company_id, email, username, hashed_password,
	is_verified)
    SELECT c.id, 'u' || g || '@bench.example', 'u' || g, '$hash', true
    FROM generate_series(1, $NUSERS) AS g
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
	FROM companies WHERE name LIKE 'bench company %') AS c
	ON c.k = g % $NCOMPANIES;
    ANALYZE" || die "inserting users failed"
n=$(psql_q "SELECT count(*) FROM users WHERE username ~ '^u[0-9]+\$'")
[ "$n" -eq "$NUSERS" ] || die "$n users loaded, expected $NUSERS"

# The pool of sessions: refresh tokens for refresh.lua, access tokens
# for /users/me and /authz/check, of users the login scenario does not
# start with.
note "making $POOL sessions"
: >"$tmp/access.tokens"
: >"$tmp/refresh.tokens"
i=0
while [ "$i" -lt "$POOL" ]; do
	i=$((i + 1))
	echo "u$((NUSERS - i + 1))"
done | xargs -P "$((2 * KEYHOLDERS))" -I{} curl -sS --max-time 60 \
    -o "$tmp/pool.{}" --data-urlencode 'username={}' \
    --data-urlencode "password=$PASSWORD" "$AUTHD_URL/api/v1/auth/login"
for f in "$tmp"/pool.u*; do
	python3 - "$f" "$tmp/access.tokens" "$tmp/refresh.tokens" <<'EOF' ||
import json, sys
j = json.load(open(sys.argv[1]))
open(sys.argv[2], "a").write(j["access_token"] + "\n")
open(sys.argv[3], "a").write(j["refresh_token"] + "\n")
EOF
	    die "login for the pool failed: $(head -c 300 "$f")"
done
n=$(grep -c . "$tmp/refresh.tokens")
[ "$n" -eq "$POOL" ] || die "$n sessions made, expected $POOL"

# --- argon2id daemon: start and idle memory --------------------------

bench_stop
note "restarting authd (warm database)"
bench_start "$conf_argon"
sleep 1
rss_idle=$(rss_kib "$AUTHD_PID")
note "start_ms $start_ms, idle RSS $rss_idle KiB"
echo "$start_ms" >"$tmp/start_ms"
echo "$rss_idle" >"$tmp/rss_idle"
echo "$rss_idle" >"$tmp/rss_load"

token=$(head -n 1 "$tmp/access.tokens")

# --- scenarios -------------------------------------------------------

expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
BENCH_PATH=/.well-known/jwks.json \
    run_wrk jwks api.lua "$CONNS" "$AUTHD_URL"

expect 200 GET "$AUTHD_URL/api/v1/users/me" \
    -H "Authorization: Bearer $token"
BENCH_PATH=/api/v1/users/me BENCH_TOKENS=$tmp/access.tokens \
    run_wrk users_me api.lua "$CONNS" "$AUTHD_URL"

authz_body='{"permission": "users:read"}'
expect 200 POST "$AUTHD_URL/api/v1/authz/check" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data-binary "$authz_body"
json_expect "$tmp/http.body" 'isinstance(j.get("allowed"), bool)' ||
    die "authz/check answered no \"allowed\""
BENCH_METHOD=POST BENCH_PATH=/api/v1/authz/check BENCH_BODY=$authz_body \
    BENCH_TOKENS=$tmp/access.tokens \
    run_wrk authz_check api.lua "$CONNS" "$AUTHD_URL"

login u1 "$PASSWORD"
rss_sample "$AUTHD_PID" "$tmp/rss_load" "$SECONDS_" &
bg_pids="$!"
BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD \
    run_wrk login login.lua "$LOGIN_CONNS" "$AUTHD_URL"
# A bare wait would also wait for authd, a child of this shell too.
wait "$bg_pids"

# /users/me while logins saturate the keyholders: the login load starts
# first and ends last.
BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD \
    run_wrk login_flood login.lua "$LOGIN_CONNS" "$AUTHD_URL" \
    "$((SECONDS_ + 2))" &
bg_pids="$!"
sleep 1
BENCH_PATH=/api/v1/users/me BENCH_TOKENS=$tmp/access.tokens \
    run_wrk users_me_under_login_flood api.lua "$CONNS" "$AUTHD_URL"
wait "$bg_pids"
bg_pids=
v=$(rss_kib "$AUTHD_PID")
[ "$v" -gt "$(cat "$tmp/rss_load")" ] && echo "$v" >"$tmp/rss_load"

# Last: it rotates the pool's sessions.
expect 200 POST "$AUTHD_URL/api/v1/auth/refresh" \
    -H 'Content-Type: application/json' --data-binary \
    "{\"refresh_token\": \"$(head -n 1 "$tmp/refresh.tokens")\"}"
json_get "$tmp/http.body" 'j["refresh_token"]' >"$tmp/refresh.first"
# The first token was rotated by that check: use its successor.
{ cat "$tmp/refresh.first"; sed 1d "$tmp/refresh.tokens"; } \
    >"$tmp/refresh.pool"
BENCH_TOKENS=$tmp/refresh.pool \
    run_wrk refresh refresh.lua "$CONNS" "$AUTHD_URL"
bench_stop

# --- bcrypt cost 12 --------------------------------------------------

note "bcrypt cost 12"
bench_start "$conf_bcrypt"
login "$admin_user" "$admin_pw"
admin_token=$(json_get "$tmp/http.body" 'j["access_token"]')
hash=$(seed_hash seed-bcrypt12) || exit 1
case "$hash" in
'$2'*)	;;
*)	die "the seed user's hash is not bcrypt: $hash" ;;
esac
psql_q "UPDATE users SET hashed_password = '$hash'
    WHERE username ~ '^u[0-9]+\$'" >/dev/null || die "updating hashes failed"
login u1 "$PASSWORD"
BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD \
    run_wrk login_bcrypt12 login.lua "$LOGIN_CONNS" "$AUTHD_URL"
bench_stop

# --- results ---------------------------------------------------------

mkdir -p "$bdir/results" || die "mkdir results failed"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$bdir/results/$stamp.json
machine="$(uname -srm); $(sed -n 's/^model name[ \t]*: //p' /proc/cpuinfo |
    head -n 1); $ncpu CPUs; $(awk '$1 == "MemTotal:" { printf "%d MiB",
    $2 / 1024 }' /proc/meminfo)"
python3 - "$tmp" "$out" <<EOF || die "writing the results failed"
import json, sys
tmp, out = sys.argv[1], sys.argv[2]

def load(name):
    with open("%s/%s" % (tmp, name)) as f:
        return json.loads(f.read().strip().splitlines()[-1])

def ok_rate(w):
    # Answers of 400 and above are not what was measured.
    return (w["requests"] - w["status_errors"]) / (w["duration_us"] / 1e6)

def ms(us):
    return round(us / 1000.0, 3)

argon = load("hash_argon2id.json")
bcrypt = load("hash_bcrypt12.json")
bare = load("bare.json")
http_ceiling = ok_rate(bare)
scen = []

def add(name, w, unit, value, ceiling, ratio=None):
    if ratio is None:
        ratio = value / ceiling if ceiling else None
    scen.append({"name": name, "value": round(value, 1), "unit": unit,
        "p50_ms": ms(w["p50_us"]), "p99_ms": ms(w["p99_us"]),
        "ceiling": round(ceiling, 1) if ceiling is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "requests": w["requests"], "errors": w["status_errors"] +
        w["socket_errors"] + w["timeouts"]})

w = load("login.json")
add("login", w, "req/s", ok_rate(w), argon["ceiling_per_s"])
w = load("login_bcrypt12.json")
add("login_bcrypt12", w, "req/s", ok_rate(w), bcrypt["ceiling_per_s"])
for name in ("refresh", "users_me", "authz_check", "jwks"):
    w = load(name + ".json")
    add(name, w, "req/s", ok_rate(w), http_ceiling)
idle = load("users_me.json")
w = load("users_me_under_login_flood.json")
add("users_me_under_login_flood", w, "ms", ms(w["p99_us"]),
    ms(idle["p99_us"]),
    w["p99_us"] / idle["p99_us"] if idle["p99_us"] else None)

res = {
    "machine": """$machine""",
    "config": {
        "algorithm": "ES256", "prefork": $PREFORK,
        "keyholders": $KEYHOLDERS,
        "password": {"argon2id": {"m": 19456, "t": 2, "p": 1},
            "bcrypt": {"cost": 12}},
        "users": $NUSERS, "companies": $NCOMPANIES,
        "seconds": $SECONDS_, "wrk_threads": $THREADS,
        "connections": $CONNS, "login_connections": $LOGIN_CONNS,
        "sessions_pool": $POOL, "access_log": False,
    },
    "ceilings": {
        "hash_argon2id_per_s": argon["ceiling_per_s"],
        "hash_argon2id_ms": argon["ms_per_hash"],
        "hash_bcrypt12_per_s": bcrypt["ceiling_per_s"],
        "hash_bcrypt12_ms": bcrypt["ms_per_hash"],
        "http_per_s": round(http_ceiling, 1),
        "http_p50_ms": ms(bare["p50_us"]), "http_p99_ms": ms(bare["p99_us"]),
    },
    "scenarios": scen,
    "rss_idle_kib": int(open(tmp + "/rss_idle").read()),
    "rss_load_kib": int(open(tmp + "/rss_load").read()),
    "start_ms": int(open(tmp + "/start_ms").read()),
}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")

def f(v, fmt="%.1f"):
    return "-" if v is None else fmt % v

print("%-28s %10s %6s %9s %9s %10s %7s" % ("scenario", "value", "unit",
    "p50 ms", "p99 ms", "ceiling", "ratio"))
for s in scen:
    print("%-28s %10s %6s %9s %9s %10s %7s" % (s["name"], f(s["value"]),
        s["unit"], f(s["p50_ms"], "%.2f"), f(s["p99_ms"], "%.2f"),
        f(s["ceiling"]), f(s["ratio"], "%.3f")))
    if s["errors"]:
        print("  (%d errors or timeouts, %d answers)" % (s["errors"],
            s["requests"]))
print("%-28s %10d %6s" % ("rss_idle", res["rss_idle_kib"], "KiB"))
print("%-28s %10d %6s" % ("rss_load", res["rss_load_kib"], "KiB"))
print("%-28s %10d %6s" % ("start", res["start_ms"], "ms"))
print("results: " + out)
EOF
