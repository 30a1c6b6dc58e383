#!/bin/sh
# `make run`: serves authd on http://127.0.0.1:8000 in the foreground.
#
# With no configuration of your own, everything lives in ./var: a private
# PostgreSQL cluster and Redis server on unix sockets, signing keys, and
# ./var/authd.conf.  The first run creates them and prints the first
# administrator's credentials, once; later runs reuse them.  Ctrl-C stops
# authd, Redis and PostgreSQL.
#
# Your own configuration instead:
#   AUTHD_CONF=/path/authd.conf make run	(or a file ./authd.conf)
#	runs `authctl db migrate` on its database and serves it; nothing
#	else is started or created (run `authctl init` yourself once).
#   AUTHD_DATABASE='host=... dbname=... user=...' make run
#	when ./var is first made, uses that PostgreSQL database instead of
#	a private cluster; Redis and keys are still made in ./var.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
AUTHD_SRCDIR=$top
. "$top/regress/lib.sh"

AUTHD_BIN=$top/authd/authd
AUTHCTL_BIN=$top/authctl/authctl
AUTHD_SQL_DIR=${AUTHD_SQL_DIR:-$top/sql}
export AUTHD_SQL_DIR

var=$top/var
conf=
authd_pid=
started_pg=
started_redis=

die()
{
	echo "make run: $*" >&2
	exit 1
}

stop()
{
	trap - EXIT INT TERM
	if [ -n "$authd_pid" ] && proc_alive "$authd_pid"; then
		kill -TERM "$authd_pid" 2>/dev/null
		wait_exit "$authd_pid" 10 >/dev/null
		if proc_alive "$authd_pid"; then
			kill -KILL "$authd_pid" 2>/dev/null
		fi
	fi
	[ -n "$started_redis" ] && redis_stop "$var/redis"
	[ -n "$started_pg" ] && pg_stop "$var/pg"
	sink_stop
}

# --- mail --------------------------------------------------------------
# With ./var, authd mails to a local SMTP sink (Debian's python3-aiosmtpd)
# on 127.0.0.1:$AUTHD_SMTP_PORT (default 2525), which writes every message
# into the maildir ./var/mail (one file per message in ./var/mail/new;
# `mutt -f var/mail` reads it).  Its log is ./var/smtpsink.log.
AUTHD_SMTP_PORT=${AUTHD_SMTP_PORT:-2525}
sink_pid=

sink_start()
{
	rm -f "$var/smtpsink.pid"
	/usr/bin/python3 "$top/regress/integration/lib/smtpsink.py" \
	    --listen "127.0.0.1:$AUTHD_SMTP_PORT" --maildir "$var/mail" \
	    --pidfile "$var/smtpsink.pid" >>"$var/smtpsink.log" 2>&1 &
	sink_pid=$!
	wait_until 15 test -f "$var/smtpsink.pid" ||
	    die "the SMTP sink did not start (see $var/smtpsink.log)"
	# The config of an older ./var has no smtp line yet.
	conf_set "$var/authd.conf" smtp \
	    "url \"smtp://127.0.0.1:$AUTHD_SMTP_PORT\" from \"authd@localhost\""
	echo "mail: SMTP sink on 127.0.0.1:$AUTHD_SMTP_PORT, messages in" \
	    "$var/mail/new"
}

sink_stop()
{
	if [ -n "$sink_pid" ] && proc_alive "$sink_pid"; then
		kill -TERM "$sink_pid" 2>/dev/null
		wait_exit "$sink_pid" 10 >/dev/null
	fi
	sink_pid=
}
# --- end of mail ----------------------------------------------------------

trap 'stop' EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

# Makes ./var the first time.
var_create()
{
	local user database
	ensure_service_user || die "cannot create user $AUTHD_SERVICE_USER"
	user=$(service_user)
	mkdir -p "$var" || die "cannot make $var"
	chmod 0755 "$var"
	check_reachable "$var" || exit 1
	check_sockpath "$var/authd.sock" || exit 1

	if [ -n "${AUTHD_DATABASE:-}" ]; then
		database=$AUTHD_DATABASE
	else
		echo "creating a PostgreSQL cluster in $var/pg"
		pg_init "$var/pg" || die "initdb failed"
		pg_start "$var/pg" || die "PostgreSQL did not start"
		started_pg=1
		pg_createdb "$var/pg" authd || die "createdb failed"
		database="host=$var/pg dbname=authd user=authd"
	fi
	redis_init "$var/redis" || die "redis config failed"

	# The keys are the daemon's secrets: only the invoking user (root
	# for a real installation) reads them, never the service user.
	mkdir -p "$var/keys" "$var/empty" || die "mkdir failed"
	chmod 0700 "$var/keys"
	chmod 0755 "$var/empty"
	authd_conf_write "$var/authd.conf.new" 8000 "$var" "$database" \
	    "$var/redis/redis.sock" "$var/keys" "$var/empty" "$user" ||
	    die "cannot write $var/authd.conf"
	"$AUTHCTL_BIN" -f "$var/authd.conf.new" key generate ||
	    die "authctl key generate failed"
	mv "$var/authd.conf.new" "$var/authd.conf"
}

# Starts the private servers of ./var that are not running yet.
var_start()
{
	if [ -d "$var/pg/data" ] && ! pg_running "$var/pg"; then
		pg_start "$var/pg" || die "PostgreSQL did not start"
		started_pg=1
	fi
	if ! redis_running "$var/redis"; then
		redis_start "$var/redis" || die "Redis did not start"
		started_redis=1
	fi
}

# Creates the first company and administrator once, and says so.
var_init()
{
	local out
	[ -f "$var/initialized" ] && return 0
	if out=$("$AUTHCTL_BIN" -f "$conf" init 2>&1); then
		echo
		echo "$out" | grep -v '^admin password'
		echo "$out" | grep '^admin password'
		echo "(shown once: it is not stored anywhere)"
		echo
		touch "$var/initialized"
	elif echo "$out" | grep -qi 'already'; then
		echo "$out" >&2
		touch "$var/initialized"
	else
		echo "$out" >&2
		die "authctl init failed"
	fi
}

for prog in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$prog" ] || die "$prog is not built (run make run)"
done

if [ -n "${AUTHD_CONF:-}" ] || [ -f "$top/authd.conf" ]; then
	conf=${AUTHD_CONF:-$top/authd.conf}
	[ -f "$conf" ] || die "$conf: no such file"
else
	conf=$var/authd.conf
	[ -f "$conf" ] || var_create
	var_start
	sink_start
fi

"$AUTHD_BIN" -n -f "$conf" || die "$conf: invalid configuration"
"$AUTHCTL_BIN" -f "$conf" db migrate || die "authctl db migrate failed"
[ "$conf" = "$var/authd.conf" ] && var_init

echo "authd: serving with $conf; Ctrl-C stops it"
"$AUTHD_BIN" -d -f "$conf" &
authd_pid=$!
wait "$authd_pid"
status=$?
authd_pid=
stop
exit "$status"
