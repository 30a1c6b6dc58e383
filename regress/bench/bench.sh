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
#   BENCH_LOGIN_SECONDS	seconds of the login scenarios (BENCH_SECONDS,
#			at least 10: a login waits seconds in the keyholders'
#			queue, and wrk counts only what is answered in time)
#   BENCH_THREADS		wrk threads (the number of CPUs)
#   BENCH_CONNECTIONS	wrk connections for the HTTP scenarios (64)
#   BENCH_LOGIN_CONNECTIONS	wrk connections for logins (8 per CPU: with
#			4, the CPUs were idle 4% of a login scenario, when
#			every login in flight was between two hashes)
#   BENCH_USERS, BENCH_COMPANIES	data set (10000, 10)
#   BENCH_LOGIN_SEGMENTS	parts of the argon2id login scenario, each
#			judged against hash ceilings measured just before
#			and just after it (5)
#   BENCH_HASH_ROUNDS	hashbench rounds (50 for argon2id, 3 for bcrypt)
#   BENCH_MAX_ERRORS	largest fraction of failed requests (answers of
#			400 and above, socket errors, timeouts) that leaves
#			a scenario valid (0.01)
#   BENCH_KEEP_DIR	keep the scratch directory when set
#
# A scenario with no successful answer or too many failures is marked
# INVALID in the table and the results ("valid": false), and the run
# exits 1 after writing them: a fast stream of 401s or 429s is not
# throughput.

set -u

PROG=regress/bench/bench.sh
NOTE=bench
KEEP_DIR=${BENCH_KEEP_DIR:-}
. "$(dirname "$0")/setup.sh"

SECONDS_=${BENCH_SECONDS:-10}
LOGIN_SECONDS=${BENCH_LOGIN_SECONDS:-$SECONDS_}
[ "${BENCH_LOGIN_SECONDS:-}" ] || [ "$LOGIN_SECONDS" -ge 10 ] ||
    LOGIN_SECONDS=10
THREADS=${BENCH_THREADS:-$ncpu}
CONNS=${BENCH_CONNECTIONS:-64}
LOGIN_CONNS=${BENCH_LOGIN_CONNECTIONS:-$((8 * ncpu))}
NUSERS=${BENCH_USERS:-10000}
NCOMPANIES=${BENCH_COMPANIES:-10}
MAX_ERRORS=${BENCH_MAX_ERRORS:-0.01}
# A login waits its turn in the keyholders' queues: on a loaded machine
# that can take longer than wrk's 10 s, and it is still a login.
LOGIN_TIMEOUT=30
PREFORK=2
KEYHOLDERS=$ncpu
# The refresh scenario needs more sessions than connections (see
# refresh.lua); the access tokens of the same sessions serve /users/me.
POOL=$((2 * CONNS))

case $SECONDS_ in
''|*[!0-9]*|0)	die "BENCH_SECONDS must be a positive number of seconds" ;;
esac
case $LOGIN_SECONDS in
''|*[!0-9]*|0)	die "BENCH_LOGIN_SECONDS must be a positive number" ;;
esac
LOGIN_SEGMENTS=${BENCH_LOGIN_SEGMENTS:-5}
case $LOGIN_SEGMENTS in
''|*[!0-9]*|0)	die "BENCH_LOGIN_SEGMENTS must be a positive number" ;;
esac
# Two seconds at least: a part must hold many logins of its own.
LOGIN_SEGMENT_SECONDS=$((LOGIN_SECONDS / LOGIN_SEGMENTS))
[ "$LOGIN_SEGMENT_SECONDS" -ge 2 ] || LOGIN_SEGMENT_SECONDS=2
[ "$NUSERS" -gt "$POOL" ] 2>/dev/null ||
    die "BENCH_USERS must be more than the $POOL sessions of the pool"

# --- servers ---------------------------------------------------------

setup_servers
conf_argon=$tmp/authd-argon2id.conf
conf_bcrypt=$tmp/authd-bcrypt12.conf
conf_bench "$conf_argon" \
    "hash argon2id memory 19456 iterations 2 parallelism 1" ||
    die "config failed"
conf_bench "$conf_bcrypt" "hash bcrypt cost 12" || die "config failed"
for c in "$conf_argon" "$conf_bcrypt"; do
	"$AUTHD_BIN" -n -f "$c" >"$tmp/n.out" 2>&1 ||
	    die "authd -n refused $c: $(cat "$tmp/n.out")"
done
setup_keys "$conf_argon"

# --- ceilings --------------------------------------------------------

# hash_ceiling NAME ARGS...: hashbench ARGS into $tmp/hash_NAME.json.
hash_ceiling()
{
	local name=$1
	shift
	note "hash ceiling $name (hashbench)"
	"$bdir/hashbench" "$@" >"$tmp/hash_$name.json" ||
	    die "hashbench $name failed"
	note "$name: $(cat "$tmp/hash_$name.json")"
}

# http_ceiling: requests per second of evhttp_bare into $tmp/bare.json.
http_ceiling()
{
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
}

# Each ceiling is measured just before the scenarios judged against it,
# authd idle meanwhile: the speed of a shared machine drifts within a
# run.

# --- data ------------------------------------------------------------

bench_start "$conf_argon"
load_users
# The pool of sessions: refresh tokens for refresh.lua, access tokens
# for /users/me and /authz/check, of users the login scenario does not
# start with.
make_sessions "$POOL"

# --- argon2id daemon: start and idle memory --------------------------

bench_stop
note "restarting authd (warm database)"
bench_start "$conf_argon"
sleep 1
rss_idle=$(rss_kib "$AUTHD_PID")
note "start_ms $start_ms, idle RSS $rss_idle KiB"
echo "$start_ms" >"$tmp/start_ms"
echo "$rss_idle" >"$tmp/rss_idle"
pss_kib "$AUTHD_PID" >"$tmp/pss_idle"
echo "$rss_idle" >"$tmp/rss_load"
# The floor under rss_idle: the libraries of each of authd's programs
# loaded by a program that does nothing (libfloor.c), once for each
# process of that role (workers without GnuTLS's set-up, as authd starts
# them).
floor=0
floors=
for role in parent keyholder worker; do
	n=$(ps -eo pgid=,args= | awk -v g="$AUTHD_PID" -v r="$role" '
	    $1 == g && $2 == "authd:" && $3 == r' | wc -l)
	GNUTLS_NO_IMPLICIT_INIT=1 "$bdir/libfloor-$role" &
	floor_pid=$!
	sleep 0.3
	f=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$floor_pid/status")
	kill "$floor_pid"
	wait "$floor_pid" 2>/dev/null
	floor=$((floor + f * n))
	floors="$floors $role $f KiB x $n,"
done
echo "$floor" >"$tmp/rss_floor"
note "libraries alone:${floors%,}"

token=$(head -n 1 "$tmp/access.tokens")

# --- scenarios -------------------------------------------------------

http_ceiling
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
# The speed of the machine drifts by a fifth within seconds: the login
# scenario runs in LOGIN_SEGMENTS parts, and the hash ceiling is
# measured before the first and after each, so that each part is judged
# against the machine of its own moment.  Recorded beside it: the same
# hash as libsodium computes it alone (-s), mapping fresh memory each
# time, and the hash with every CPU hashing at once (-j), as in a login
# flood, where the hashes share the caches and the memory bandwidth.
argon2_args="-a argon2id -m 19456 -t 2 -p 1 -n ${BENCH_HASH_ROUNDS:-50}"
hash_ceiling argon2id_stock -s $argon2_args
hash_ceiling argon2id_0 $argon2_args
hash_ceiling argon2id_jobs_0 -j "$ncpu" $argon2_args
rss_sample "$AUTHD_PID" "$tmp/rss_load" \
    "$((LOGIN_SEGMENTS * (LOGIN_SEGMENT_SECONDS + 4)))" &
bg_pids="$!"
k=1
while [ "$k" -le "$LOGIN_SEGMENTS" ]; do
	BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD \
	    BENCH_USER_START=$(((k - 1) * 1000)) WRK_TIMEOUT=$LOGIN_TIMEOUT \
	    run_wrk "login_$k" login.lua "$LOGIN_CONNS" "$AUTHD_URL" \
	    "$LOGIN_SEGMENT_SECONDS"
	# The logins wrk left in flight end first, and the keyholders give
	# their working areas back after a second without a hash.
	sleep 1.5
	hash_ceiling "argon2id_$k" $argon2_args
	hash_ceiling "argon2id_jobs_$k" -j "$ncpu" $argon2_args
	k=$((k + 1))
done
# A bare wait would also wait for authd, a child of this shell too.
wait "$bg_pids"

# /users/me while logins saturate the keyholders: the login load starts
# first and ends last.  Its figures are kept too: a flood that was
# refused at once would not load the keyholders.
BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD WRK_TIMEOUT=$LOGIN_TIMEOUT \
    wrk_run login_flood login.lua "$LOGIN_CONNS" "$AUTHD_URL" \
    "$((SECONDS_ + 2))" &
bg_pids="$!"
sleep 1
# Once, under the heaviest load: every keyholder holds argon2's memory.
(sleep 2; pss_kib "$AUTHD_PID" >"$tmp/pss_load") &
BENCH_PATH=/api/v1/users/me BENCH_TOKENS=$tmp/access.tokens \
    run_wrk users_me_under_login_flood api.lua "$CONNS" "$AUTHD_URL"
wait "$bg_pids" || die "the login flood under users_me_under_login_flood failed"
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
# authd marks the bcrypt hashes it makes (libauth/password.c).
case "$hash" in
'$authd-bcrypt$2'*)	;;
*)	die "the seed user's hash is not authd's bcrypt: $hash" ;;
esac
psql_q "UPDATE users SET hashed_password = '$hash'
    WHERE username ~ '^u[0-9]+\$'" >/dev/null || die "updating hashes failed"
login u1 "$PASSWORD"
hash_ceiling bcrypt12 -a bcrypt -c 12 -n "${BENCH_HASH_ROUNDS:-3}"
BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD WRK_TIMEOUT=$LOGIN_TIMEOUT \
    run_wrk login_bcrypt12 login.lua "$LOGIN_CONNS" "$AUTHD_URL" \
    "$LOGIN_SECONDS"
bench_stop

# --- results ---------------------------------------------------------

mkdir -p "$bdir/results" || die "mkdir results failed"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$bdir/results/$stamp.json
machine="$(uname -srm); $(sed -n 's/^model name[ \t]*: //p' /proc/cpuinfo |
    head -n 1); $ncpu CPUs; $(awk '$1 == "MemTotal:" { printf "%d MiB",
    $2 / 1024 }' /proc/meminfo)"
export BENCH_MACHINE="$machine" BENCH_MAX_ERRORS_="$MAX_ERRORS" \
    BENCH_CONFIG="{\"prefork\": $PREFORK, \"keyholders\": $KEYHOLDERS,
	\"users\": $NUSERS, \"companies\": $NCOMPANIES,
	\"seconds\": $SECONDS_, \"login_seconds\": $LOGIN_SECONDS,
	\"login_segments\": $LOGIN_SEGMENTS,
	\"wrk_threads\": $THREADS, \"connections\": $CONNS,
	\"login_connections\": $LOGIN_CONNS, \"sessions_pool\": $POOL}"
python3 - "$tmp" "$out" <<'EOF'
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
max_errors = float(os.environ["BENCH_MAX_ERRORS_"])

def load(name):
    with open("%s/%s" % (tmp, name)) as f:
        return json.loads(f.read().strip().splitlines()[-1])

def failures(w):
    # wrk counts answers of 400 and above as status errors; socket
    # errors (connect, read, write) and timeouts are failures too.
    return w["status_errors"] + w["socket_errors"] + w["timeouts"]

def ok(w):
    return w["requests"] - w["status_errors"]

def ok_rate(w):
    # Answers of 400 and above are not what was measured.
    return ok(w) / (w["duration_us"] / 1e6)

def error_rate(w):
    return failures(w) / float(max(w["requests"], 1))

def why_invalid(w):
    if ok(w) <= 0:
        return "no successful answer"
    if error_rate(w) > max_errors:
        return "%d of %d requests failed (%.1f%% > %.1f%%)" % (failures(w),
            w["requests"], 100 * error_rate(w), 100 * max_errors)
    return None

def ms(us):
    return round(us / 1000.0, 3)

def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0

# The login scenario's parts, each against the mean of the hash ceilings
# measured just before and just after it.  The scenario's ceiling is
# their mean weighted by each part's time; its p50 the median of the
# parts', its p99 the largest.
nseg = int(json.loads(os.environ["BENCH_CONFIG"])["login_segments"])
hashes = [load("hash_argon2id_%d.json" % k) for k in range(nseg + 1)]
jobs = [load("hash_argon2id_jobs_%d.json" % k) for k in range(nseg + 1)]
parts = [load("login_%d.json" % k) for k in range(1, nseg + 1)]
login = {k: sum(p[k] for p in parts) for k in ("requests", "duration_us",
    "status_errors", "socket_errors", "timeouts")}
login["p50_us"] = median([p["p50_us"] for p in parts])
login["p99_us"] = max(p["p99_us"] for p in parts)

def around(samples, k):
    return (samples[k]["ceiling_per_s"] + samples[k + 1]["ceiling_per_s"]) / 2

def capacity(samples):
    # Hashes the machine could have done in the parts' time.
    return sum(around(samples, k) * p["duration_us"] / 1e6
        for k, p in enumerate(parts))

segments = [{"value": round(ok_rate(p), 1),
    "ceiling": round(around(hashes, k), 1),
    "ratio": round(ok_rate(p) / around(hashes, k), 3)}
    for k, p in enumerate(parts)]
seconds = login["duration_us"] / 1e6
argon_stock = load("hash_argon2id_stock.json")
argon = {"ceiling_per_s": round(capacity(hashes) / seconds, 1),
    "ms_per_hash": round(sum(h["ms_per_hash"] for h in hashes) /
    len(hashes), 3)}
argon_samples = [h["ceiling_per_s"] for h in hashes]
argon_jobs = {"ceiling_per_s": round(capacity(jobs) / seconds, 1),
    "ms_per_hash": round(sum(h["ms_per_hash"] for h in jobs) /
    len(jobs), 3)}
bcrypt = load("hash_bcrypt12.json")
bare = load("bare.json")
http_ceiling = ok_rate(bare)
invalid = []
if why_invalid(bare):
    invalid.append("HTTP ceiling (evhttp_bare): " + why_invalid(bare))
scen = []

def add(name, w, unit, value, ceiling, ratio=None, why=None):
    if ratio is None:
        ratio = value / ceiling if ceiling else None
    why = why or why_invalid(w)
    if why:
        invalid.append(name + ": " + why)
    scen.append({"name": name, "value": round(value, 1), "unit": unit,
        "p50_ms": ms(w["p50_us"]), "p99_ms": ms(w["p99_us"]),
        "ceiling": round(ceiling, 1) if ceiling is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "requests": w["requests"], "errors": failures(w),
        "error_rate": round(error_rate(w), 4), "valid": why is None})
    return scen[-1]

s = add("login", login, "req/s", ok_rate(login), argon["ceiling_per_s"])
s["segments"] = segments
# Against the hashes every CPU does at once: what is left is what
# PostgreSQL, Redis, the worker and wrk take from the keyholders.
s["ceiling_all_cpus"] = argon_jobs["ceiling_per_s"]
s["ratio_all_cpus"] = round(ok_rate(login) / argon_jobs["ceiling_per_s"], 3)
w = load("login_bcrypt12.json")
add("login_bcrypt12", w, "req/s", ok_rate(w), bcrypt["ceiling_per_s"])
for name in ("refresh", "users_me", "authz_check", "jwks"):
    w = load(name + ".json")
    add(name, w, "req/s", ok_rate(w), http_ceiling)
idle = load("users_me.json")
flood = load("login_flood.json")
w = load("users_me_under_login_flood.json")
why = None
if ok(flood) <= 0:
    why = "the login flood had no successful login"
elif why_invalid(idle):
    why = "users_me (its reference) is invalid"
s = add("users_me_under_login_flood", w, "ms", ms(w["p99_us"]),
    ms(idle["p99_us"]),
    w["p99_us"] / idle["p99_us"] if idle["p99_us"] else None, why)
s["flood_logins_per_s"] = round(ok_rate(flood), 1)
s["flood_errors"] = failures(flood)

config = {"algorithm": "ES256",
    "password": {"argon2id": {"m": 19456, "t": 2, "p": 1},
        "bcrypt": {"cost": 12}},
    "access_log": False, "max_error_rate": max_errors}
config.update(json.loads(os.environ["BENCH_CONFIG"]))
def kib_or_none(name):
    try:
        return int(open(tmp + "/" + name).read())
    except (OSError, ValueError):
        return None

res = {
    "machine": os.environ["BENCH_MACHINE"],
    "config": config,
    "ceilings": {
        "hash_argon2id_per_s": argon["ceiling_per_s"],
        "hash_argon2id_ms": argon["ms_per_hash"],
        "hash_argon2id_samples_per_s": argon_samples,
        "hash_argon2id_all_cpus_per_s": argon_jobs["ceiling_per_s"],
        "hash_argon2id_all_cpus_ms": argon_jobs["ms_per_hash"],
        "hash_argon2id_stock_ms": argon_stock["ms_per_hash"],
        "hash_bcrypt12_per_s": bcrypt["ceiling_per_s"],
        "hash_bcrypt12_ms": bcrypt["ms_per_hash"],
        "http_per_s": round(http_ceiling, 1),
        "http_p50_ms": ms(bare["p50_us"]), "http_p99_ms": ms(bare["p99_us"]),
    },
    "scenarios": scen,
    "rss_idle_kib": int(open(tmp + "/rss_idle").read()),
    "rss_load_kib": int(open(tmp + "/rss_load").read()),
    "rss_floor_kib": kib_or_none("rss_floor"),
    "pss_idle_kib": kib_or_none("pss_idle"),
    "pss_load_kib": kib_or_none("pss_load"),
    "start_ms": int(open(tmp + "/start_ms").read()),
    "valid": not invalid,
}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")

def f(v, fmt="%.1f"):
    return "-" if v is None else fmt % v

print("%-28s %10s %6s %9s %9s %10s %7s %7s" % ("scenario", "value", "unit",
    "p50 ms", "p99 ms", "ceiling", "ratio", "errors"))
for s in scen:
    print("%-28s %10s %6s %9s %9s %10s %7s %7d%s" % (s["name"],
        f(s["value"]), s["unit"], f(s["p50_ms"], "%.2f"),
        f(s["p99_ms"], "%.2f"), f(s["ceiling"]), f(s["ratio"], "%.3f"),
        s["errors"], "" if s["valid"] else "  INVALID"))
print("%-28s %10.1f %6s  (%d measures, %.1f to %.1f; %.2f ms a hash, "
    "%.2f ms as libsodium alone)" % ("ceiling: argon2id hashes",
    argon["ceiling_per_s"], "/s", len(argon_samples), min(argon_samples),
    max(argon_samples), argon["ms_per_hash"], argon_stock["ms_per_hash"]))
print("%-28s %s" % ("login by part (ratio)", ", ".join("%.1f (%.3f)" %
    (g["value"], g["ratio"]) for g in segments)))
print("%-28s %10.1f %6s  (%.2f ms a hash; login %.3f of it)" % (
    "ceiling: every CPU hashing", argon_jobs["ceiling_per_s"], "/s",
    argon_jobs["ms_per_hash"], scen[0]["ratio_all_cpus"]))
print("%-28s %10.1f %6s" % ("ceiling: bcrypt12 hashes",
    bcrypt["ceiling_per_s"], "/s"))
print("%-28s %10.1f %6s%s" % ("ceiling: HTTP (evhttp_bare)", http_ceiling,
    "req/s", "  INVALID" if why_invalid(bare) else ""))
print("%-28s %10d %6s" % ("rss_idle", res["rss_idle_kib"], "KiB"))
print("%-28s %10d %6s" % ("rss_load", res["rss_load_kib"], "KiB"))
for k in ("rss_floor", "pss_idle", "pss_load"):
    print("%-28s %10s %6s" % (k, f(res[k + "_kib"], "%d"), "KiB"))
print("%-28s %10d %6s" % ("start", res["start_ms"], "ms"))
print("results: " + out)
for i in invalid:
    print("INVALID " + i, file=sys.stderr)
sys.exit(3 if invalid else 0)
EOF
case $? in
0)	;;
3)	die "invalid figures (see above): these scenarios measured failures" ;;
*)	die "writing the results failed" ;;
esac
