#!/bin/sh
# `make soak`: authd under a mixed load for a long time (issue 10).
#
# Starts a private PostgreSQL, Redis and authd as `make bench` does (the
# same production settings, regress/bench/setup.sh), warms it up with the
# load below for SOAK_WARMUP seconds, then runs it for SOAK_SECONDS:
# several wrk at once, one thread each, every answer counted by status:
#
#   login		form logins of distinct users (argon2id)	200
#   refresh		refresh tokens rotated, session by session	200
#   users_me		GET /api/v1/users/me				200
#   authz_check		POST /api/v1/authz/check			200
#   jwks		GET /.well-known/jwks.json			200
#   bad_token		GET /api/v1/users/me, forged or garbage token	401
#
# The resident memory (VmRSS) and the open descriptors (/proc/PID/fd) of
# every authd process (parent, keyholders, workers) are sampled idle
# before the load ("start", after the warm-up), every SOAK_INTERVAL
# seconds under it, and idle after it ("end").  It prints a table per
# process and per load and exits 1 when
#   - a process grew by more than SOAK_GROWTH_PCT % (10) and more than
#     SOAK_GROWTH_KIB KiB (2048) from start to end: below either, it is
#     noise (malloc arenas, caches filled to their size);
#   - a process has more descriptors at the end than at the start;
#   - an answer had another status than the one expected above, or wrk
#     saw socket errors or timeouts;
#   - a process was restarted or is gone (a pid of the start is missing
#     or a new one appeared in any sample; "lost child" in authd's log).
#
# Settings (environment):
#   SOAK_SECONDS		seconds of load (600)
#   SOAK_WARMUP		seconds of warm-up load (10% of SOAK_SECONDS, 5 to 60)
#   SOAK_INTERVAL	seconds between samples (SOAK_SECONDS / 20, at least 2)
#   SOAK_GROWTH_PCT, SOAK_GROWTH_KIB	the noise threshold (10, 2048)
#   SOAK_USERS		users loaded (2000)
#   SOAK_KEEP_DIR	keep the scratch directory when set

set -u

PROG=regress/bench/soak.sh
NOTE=soak
KEEP_DIR=${SOAK_KEEP_DIR:-}
. "$(dirname "$0")/setup.sh"

num()
{
	case $2 in
	''|*[!0-9]*)	die "$1 must be a number: $2" ;;
	esac
}

SOAK=${SOAK_SECONDS:-600}
num SOAK_SECONDS "$SOAK"
[ "$SOAK" -gt 0 ] || die "SOAK_SECONDS must be positive"
w=$((SOAK / 10))
[ "$w" -lt 5 ] && w=5
[ "$w" -gt 60 ] && w=60
WARMUP=${SOAK_WARMUP:-$w}
i=$((SOAK / 20))
[ "$i" -lt 2 ] && i=2
INTERVAL=${SOAK_INTERVAL:-$i}
GROWTH_PCT=${SOAK_GROWTH_PCT:-10}
GROWTH_KIB=${SOAK_GROWTH_KIB:-2048}
NUSERS=${SOAK_USERS:-2000}
num SOAK_WARMUP "$WARMUP"
num SOAK_INTERVAL "$INTERVAL"
num SOAK_GROWTH_PCT "$GROWTH_PCT"
num SOAK_GROWTH_KIB "$GROWTH_KIB"
num SOAK_USERS "$NUSERS"
NCOMPANIES=10
PREFORK=2
KEYHOLDERS=$ncpu
THREADS=1
# Sessions: access tokens for users_me, authz_check and bad_token, and
# refresh tokens for the warm-up and for the soak apart (the warm-up's
# wrk ends holding the last ones of its sessions).
NACCESS=16
NREFRESH=16
[ "$NUSERS" -gt $((NACCESS + 2 * NREFRESH)) ] ||
    die "SOAK_USERS must be more than $((NACCESS + 2 * NREFRESH))"

# --- servers and data ------------------------------------------------

setup_servers
conf=$tmp/authd.conf
conf_bench "$conf" "hash argon2id memory 19456 iterations 2 parallelism 1" ||
    die "config failed"
# The access tokens of the pool must outlive the soak.
life=$((SOAK + WARMUP + 600))
[ "$life" -lt 1800 ] && life=1800
echo "token { access lifetime $life }" >>"$conf"
"$AUTHD_BIN" -n -f "$conf" >"$tmp/n.out" 2>&1 ||
    die "authd -n refused $conf: $(cat "$tmp/n.out")"
setup_keys "$conf"

bench_start "$conf"
load_users
make_sessions $((NACCESS + 2 * NREFRESH))
head -n "$NACCESS" "$tmp/access.tokens" >"$tmp/soak.access"
sed -n "$((NACCESS + 1)),$((NACCESS + NREFRESH))p" "$tmp/refresh.tokens" \
    >"$tmp/warm.refresh"
sed -n "$((NACCESS + NREFRESH + 1)),\$p" "$tmp/refresh.tokens" \
    >"$tmp/soak.refresh"

# Tokens that must be refused: a valid one with one character of its
# signature changed, one signed by nobody (alg none), and garbage.
python3 - "$tmp/soak.access" >"$tmp/bad.tokens" <<'EOF' ||
import base64, sys
t = open(sys.argv[1]).readline().strip()
h, p, s = t.split(".")
i = len(s) // 2
print("%s.%s.%s%s%s" % (h, p, s[:i], "A" if s[i] != "A" else "B", s[i + 1:]))
none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
print("%s.%s." % (none.decode(), p))
print("not-a-token")
EOF
    die "making the forged tokens failed"

token=$(head -n 1 "$tmp/soak.access")
authz_body='{"permission": "users:read"}'
expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
expect 200 GET "$AUTHD_URL/api/v1/users/me" -H "Authorization: Bearer $token"
expect 200 POST "$AUTHD_URL/api/v1/authz/check" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data-binary "$authz_body"
while read -r bad; do
	expect 401 GET "$AUTHD_URL/api/v1/users/me" \
	    -H "Authorization: Bearer $bad"
done <"$tmp/bad.tokens"

# --- the load --------------------------------------------------------

# The loads, one a line: name, wrk script, connections, expected status.
LOADS="login login.lua 2 200
refresh refresh.lua 4 200
users_me api.lua 4 200
authz_check api.lua 4 200
jwks api.lua 2 200
bad_token api.lua 2 401"

# load_one PHASE NAME SCRIPT CONNS SECONDS: one wrk of the mixed load.
load_one()
{
	local refresh
	refresh=$tmp/warm.refresh
	[ "$1" = soak ] && refresh=$tmp/soak.refresh
	case $2 in
	login)
		BENCH_USERS=$NUSERS BENCH_PASSWORD=$PASSWORD WRK_TIMEOUT=30 \
		    wrk_run "$1.$2" "$3" "$4" "$AUTHD_URL" "$5" ;;
	refresh)
		BENCH_TOKENS=$refresh wrk_run "$1.$2" "$3" "$4" \
		    "$AUTHD_URL" "$5" ;;
	users_me)
		BENCH_PATH=/api/v1/users/me BENCH_TOKENS=$tmp/soak.access \
		    wrk_run "$1.$2" "$3" "$4" "$AUTHD_URL" "$5" ;;
	authz_check)
		BENCH_METHOD=POST BENCH_PATH=/api/v1/authz/check \
		    BENCH_BODY=$authz_body BENCH_TOKENS=$tmp/soak.access \
		    wrk_run "$1.$2" "$3" "$4" "$AUTHD_URL" "$5" ;;
	jwks)
		BENCH_PATH=/.well-known/jwks.json \
		    wrk_run "$1.$2" "$3" "$4" "$AUTHD_URL" "$5" ;;
	bad_token)
		BENCH_PATH=/api/v1/users/me BENCH_TOKENS=$tmp/bad.tokens \
		    wrk_run "$1.$2" "$3" "$4" "$AUTHD_URL" "$5" ;;
	*)
		echo "$PROG: unknown load $2" >&2
		return 1 ;;
	esac
}

# mixed_load PHASE SECONDS: every load at once; waits for all of them.
mixed_load()
{
	local name script conns status pids p failed
	pids=
	# shellcheck disable=SC2034
	while read -r name script conns status; do
		BENCH_STATUSES=1 WRK_THREADS=1 \
		    load_one "$1" "$name" "$script" "$conns" "$2" &
		pids="$pids $!"
	done <<EOF
$LOADS
EOF
	bg_pids="$bg_pids $pids"
	failed=0
	for p in $pids; do
		wait "$p" || failed=1
	done
	return $failed
}

# sample LABEL: a line "LABEL SECONDS PID ROLE RSS_KIB FDS" per authd
# process, appended to $tmp/samples.
sample()
{
	local t pid role rss fds
	t=$(($(date +%s) - t_start))
	authd_pids "$AUTHD_PID" | while read -r pid role; do
		rss=$(awk '$1 == "VmRSS:" { print $2 }' \
		    "/proc/$pid/status" 2>/dev/null)
		# Not readable for another user than root when the process
		# is not dumpable.
		if [ -r "/proc/$pid/fd" ]; then
			fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		else
			fds=-
		fi
		echo "$1 $t $pid $role ${rss:--} $fds"
	done >>"$tmp/samples"
}

# sampler SECONDS: samples every INTERVAL seconds until SECONDS passed
# (in the background).
sampler()
{
	local end
	end=$(($(date +%s) + $1))
	while sleep "$INTERVAL"; do
		[ "$(date +%s)" -lt "$end" ] || break
		sample load
	done
}

t_start=$(date +%s)
: >"$tmp/samples"
sample boot
lost0=$(grep -c 'lost child' "$AUTHD_LOG")

note "warm-up: $WARMUP s of mixed load"
mixed_load warm "$WARMUP" || die "the warm-up load failed"
bg_pids=
sleep 2
t_start=$(date +%s)
sample start

note "soak: $SOAK s of mixed load, a sample every $INTERVAL s"
sampler "$SOAK" &
bg_pids=$!
sampler_pid=$!
mixed_load soak "$SOAK" || die "the soak load failed"
kill -TERM "$sampler_pid" 2>/dev/null
wait "$sampler_pid" 2>/dev/null
bg_pids=
sleep 2
sample end
lost=$(($(grep -c 'lost child' "$AUTHD_LOG") - lost0))
alive=yes
proc_alive "$AUTHD_PID" || alive=no

# --- report ----------------------------------------------------------

SOAK_LOADS=$LOADS SOAK_INTERVAL_=$INTERVAL python3 - "$tmp" "$GROWTH_PCT" \
    "$GROWTH_KIB" "$lost" "$alive" <<'EOF' || exit 1
import json, os, sys
tmp, pct, kib, lost, alive = sys.argv[1], float(sys.argv[2]), \
    int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
loads = [l.split() for l in os.environ["SOAK_LOADS"].splitlines()]
failures = []
unreadable = []

samples = {}
for line in open(tmp + "/samples"):
    label, t, pid, role, rss, fds = line.split()
    samples.setdefault(label, {})[pid] = (role, int(t),
        None if rss == "-" else int(rss), None if fds == "-" else int(fds))

# Processes: the set of the start must be in every sample.
boot = samples.get("boot", {})
ref = samples.get("start", {})
if alive != "yes":
    failures.append("authd (the parent) is gone")
if lost > 0:
    failures.append('%d "lost child" lines in the authd log' % lost)
if sorted(boot) != sorted(ref):
    failures.append("processes changed during the warm-up: %s -> %s" %
        (" ".join(sorted(boot)), " ".join(sorted(ref))))
seen = set()
for line in open(tmp + "/samples"):
    label, t, pid = line.split()[:3]
    if label in ("load", "end") and pid not in ref and pid not in seen:
        seen.add(pid)
        failures.append("new %s %s at %s s: a restart" %
            (line.split()[3], pid, t))
load_samples = [l.split() for l in open(tmp + "/samples")
    if l.startswith("load ")]
times = sorted(set(int(l[1]) for l in load_samples))
missing = set()
for t in times:
    pids = set(l[2] for l in load_samples if int(l[1]) == t)
    for pid in sorted(set(ref) - pids - missing):
        missing.add(pid)
        failures.append("%s %s gone at %d s" % (ref[pid][0], pid, t))

def kib_(v):
    return "-" if v is None else "%d" % v

print()
print("%-10s %7s %10s %10s %14s %10s %6s %6s" % ("process", "pid",
    "rss start", "rss end", "growth", "rss max", "fds", "fds"))
print("%-10s %7s %10s %10s %14s %10s %6s %6s" % ("", "", "KiB", "KiB", "KiB",
    "KiB", "start", "end"))
end = samples.get("end", {})
order = {"parent": 0, "keyholder": 1, "worker": 2}
for pid in sorted(ref, key=lambda p: (order.get(ref[p][0], 9), int(p))):
    role, _, rss0, fds0 = ref[pid]
    if pid not in end:
        if pid not in missing:
            failures.append("%s %s gone at the end" % (role, pid))
        print("%-10s %7s %10s %10s" % (role, pid, kib_(rss0), "gone"))
        continue
    _, _, rss1, fds1 = end[pid]
    rmax = max([int(l[4]) for l in load_samples
        if l[2] == pid and l[4] != "-"] + [rss0 or 0, rss1 or 0])
    growth = "-"
    mark = ""
    if rss0 is not None and rss1 is not None:
        g = rss1 - rss0
        gp = 100.0 * g / rss0 if rss0 else 0.0
        growth = "%+d (%+.1f%%)" % (g, gp)
        if g > kib and gp > pct:
            mark += " GROWTH"
            failures.append("%s %s grew from %d to %d KiB (%+.1f%%)" %
                (role, pid, rss0, rss1, gp))
    if fds0 is None or fds1 is None:
        unreadable.append("%s %s" % (role, pid))
    elif fds1 > fds0:
        mark += " FDS"
        failures.append("%s %s: %d descriptors at the start, %d at the end"
            % (role, pid, fds0, fds1))
    print("%-10s %7s %10s %10s %14s %10d %6s %6s%s" % (role, pid, kib_(rss0),
        kib_(rss1), growth, rmax, kib_(fds0), kib_(fds1), mark))
for pid in sorted(set(end) - set(ref), key=int):
    print("%-10s %7s %10s %10s %14s %10s %6s %6s NEW" % (end[pid][0], pid,
        "new", kib_(end[pid][2]), "-", "-", "-", kib_(end[pid][3])))

print()
print("%-12s %7s %9s %8s %8s  %s" % ("load", "conns", "requests", "req/s",
    "p99 ms", "statuses, errors"))
for name, script, conns, want in loads:
    try:
        with open("%s/soak.%s.json" % (tmp, name)) as f:
            w = json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError) as e:
        failures.append("%s: no wrk result (%s)" % (name, e))
        continue
    st = w.get("statuses", {})
    bad = sum(v for k, v in st.items() if k != want)
    errs = []
    if bad:
        errs.append("%d unexpected statuses" % bad)
    if w["socket_errors"]:
        errs.append("%d socket errors" % w["socket_errors"])
    if w["timeouts"]:
        errs.append("%d timeouts" % w["timeouts"])
    if w["requests"] == 0 or st.get(want, 0) == 0:
        errs.append("no %s answer" % want)
    for e in errs:
        failures.append("%s: %s" % (name, e))
    print("%-12s %7s %9d %8.1f %8.1f  %s%s" % (name, conns, w["requests"],
        w["requests"] / (w["duration_us"] / 1e6), w["p99_us"] / 1000.0,
        " ".join("%s:%d" % kv for kv in sorted(st.items())),
        "".join("; " + e for e in errs)))

print()
print("noise threshold: growth > %g%% and > %d KiB; descriptors: none more"
    % (pct, kib))
print("samples: %d under load, every %s s" % (len(times),
    os.environ["SOAK_INTERVAL_"]))
if unreadable:
    print("descriptors not readable (not root?), not checked: " +
        ", ".join(unreadable))
if failures:
    for f in failures:
        print("FAIL " + f)
    sys.exit(1)
print("soak: no growth beyond noise, no descriptor growth, no errors, "
    "no restarts")
EOF
