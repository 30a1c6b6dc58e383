#!/bin/sh
# `make test`: starts a private PostgreSQL cluster and Redis server in a
# scratch directory, prepares a database, keys and a base authd.conf,
# runs the Kyua suite (regress/Kyuafile) against them, stops everything,
# and ends with one line "N passed, N failed".  Exits non-zero when a test
# failed or the setup did.

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/regress/lib.sh"

# A test that aborts (abort_on_error under ASAN=1) must not leave cores.
ulimit -c 0 2>/dev/null
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/regress/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

tmp=
cleanup()
{
	[ -n "$tmp" ] || return
	if [ -d "$tmp/redis" ]; then
		redis_stop "$tmp/redis"
	fi
	if [ -d "$tmp/pg/data" ]; then
		pg_stop "$tmp/pg" immediate
	fi
	if [ -n "${AUTHD_KEEP_TEST_DIR:-}" ]; then
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
	echo "regress/run.sh: $*" >&2
	exit 1
}

for prog in "$top/authd/authd" "$top/authd/authd-keyholder" \
    "$top/authd/authd-worker" "$top/authctl/authctl"; do
	[ -x "$prog" ] || die "$prog is not built (run make test)"
done

tmp=$(mktemp -d /tmp/authd-test.XXXXXX) || die "mktemp failed"
# The daemon's children and the servers run as the service user when
# this runs as root: they must reach the sockets in here.
chmod 0755 "$tmp"

ensure_service_user || die "cannot create user $AUTHD_SERVICE_USER"

# Tests may stop and start the servers: no need for durability.
PG_EXTRA_CONF="fsync = off
synchronous_commit = off
full_page_writes = off"
pg_init "$tmp/pg" || die "initdb failed"
pg_start "$tmp/pg" || die "PostgreSQL did not start"
pg_createdb "$tmp/pg" authd || die "createdb failed"
redis_init "$tmp/redis" || die "redis config failed"
redis_start "$tmp/redis" || die "Redis did not start"

mkdir -m 0700 "$tmp/keys" "$tmp/run" || die "mkdir failed"
chmod 0755 "$tmp/run"
mkdir -m 0755 "$tmp/empty" || die "mkdir failed"

AUTHD_SRCDIR=$top
AUTHD_BIN=$top/authd/authd
AUTHCTL_BIN=$top/authctl/authctl
AUTHD_SQL_DIR=$top/sql
AUTHD_TEST_DIR=$tmp
AUTHD_TEST_CONF=$tmp/authd.conf
AUTHD_USER=$(service_user)
AUTHD_PG_SOCKDIR=$tmp/pg
AUTHD_DATABASE="host=$tmp/pg dbname=authd user=authd"
AUTHD_REDIS_SOCKET=$tmp/redis/redis.sock
AUTHD_KEYS=$tmp/keys
AUTHD_CHROOT=$tmp/empty
export AUTHD_SRCDIR AUTHD_BIN AUTHCTL_BIN AUTHD_SQL_DIR AUTHD_TEST_DIR \
    AUTHD_TEST_CONF AUTHD_USER AUTHD_PG_SOCKDIR AUTHD_DATABASE \
    AUTHD_REDIS_SOCKET AUTHD_KEYS AUTHD_CHROOT

authd_conf_write "$AUTHD_TEST_CONF" 8000 "$tmp/run" "$AUTHD_DATABASE" \
    "$AUTHD_REDIS_SOCKET" "$AUTHD_KEYS" "$AUTHD_CHROOT" "$AUTHD_USER"

"$AUTHD_BIN" -n -f "$AUTHD_TEST_CONF" || die "authd -n refused the base config"
"$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" key generate >/dev/null ||
    die "authctl key generate failed"
"$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db migrate >/dev/null ||
    die "authctl db migrate failed"
"$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" init "authd test" admin@example.com \
    admin >"$tmp/init.out" || die "authctl init failed"
AUTHD_ADMIN_EMAIL=$(sed -n 's/^admin email: //p' "$tmp/init.out")
AUTHD_ADMIN_USERNAME=$(sed -n 's/^admin username: //p' "$tmp/init.out")
AUTHD_ADMIN_PASSWORD=$(sed -n 's/^admin password: //p' "$tmp/init.out")
rm -f "$tmp/init.out"
[ -n "$AUTHD_ADMIN_PASSWORD" ] || die "authctl init printed no admin password"
export AUTHD_ADMIN_EMAIL AUTHD_ADMIN_USERNAME AUTHD_ADMIN_PASSWORD

# The results go to the scratch directory, never into the tree.
results=$tmp/results.db
(cd "$top/regress" && kyua test --kyuafile Kyuafile --results-file "$results" "$@")
kyua_status=$?
if [ ! -f "$results" ]; then
	die "kyua test failed (status $kyua_status) and recorded nothing"
fi

summary=$(kyua report --results-file "$results" |
    sed -n 's/^Test cases: //p')
count()
{
	echo "$summary" | tr ',' '\n' | sed -n "s/^ *\([0-9]*\) $1\$/\1/p"
}
total=$(count total)
skipped=$(count skipped)
broken=$(count broken)
failed=$(count failed)
total=${total:-0}
skipped=${skipped:-0}
broken=${broken:-0}
failed=$((${failed:-0} + broken))
# Expected failures count as passed.
passed=$((total - skipped - failed))

if [ "$failed" -gt 0 ]; then
	echo
	echo "=== failed and broken tests"
	kyua report --results-file "$results" --verbose \
	    --results-filter=broken,failed | awk '
	    /^===> Execution context/ { skip = 1; next }
	    /^===> / { skip = 0 }
	    !skip'
fi
if [ "$kyua_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# kyua failed without a failed test: count its failure.
	echo "kyua test exited with status $kyua_status" >&2
	failed=1
fi
if [ -s "$tmp/strays.log" ]; then
	echo
	echo "=== daemons left running by a test case, killed by the next:"
	cat "$tmp/strays.log"
fi
echo
if [ "$skipped" -gt 0 ]; then
	echo "$skipped skipped:"
	kyua report --results-file "$results" --results-filter=skipped |
	    grep -e '->'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
