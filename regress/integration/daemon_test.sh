#! /usr/bin/env atf-sh
# The daemon as a whole: its routes over real HTTP, its processes, and
# what it does on signals and with bad configuration.  Each test case
# starts its own authd on a free port against the PostgreSQL and Redis of
# regress/run.sh, and stops it in its cleanup.

. "$(atf_get_srcdir)/../lib.sh"

# Starts the daemon of a test case, or fails it.
start()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	if [ $# -gt 0 ]; then
		"$@"
	fi
	authd_start || atf_fail "authd did not start (its log is on stderr)"
}

atf_test_case root cleanup
root_head()
{
	atf_set descr "GET / answers the welcome document as JSON"
}
root_body()
{
	start
	http_expect 200 GET "$AUTHD_URL/"
	atf_check -o ignore grep -i '^content-type: application/json' http.headers
	json_check http.body '
	    j["message"] == "Welcome to the Authentication Service" and
	    isinstance(j["version"], str) and j["version"] != "" and
	    j["docs_url"] == "/docs" and j["redoc_url"] == "/redoc"'
}
root_cleanup()
{
	authd_cleanup
}

atf_test_case health_db cleanup
health_db_head()
{
	atf_set descr "GET /health/db answers 200 while PostgreSQL runs"
}
health_db_body()
{
	start
	http_expect 200 GET "$AUTHD_URL/health/db"
	json_check http.body 'j == {"status": "ok"}'
}
health_db_cleanup()
{
	authd_cleanup
}

atf_test_case health_redis cleanup
health_redis_head()
{
	atf_set descr "GET /health/redis answers 200 while Redis runs"
}
health_redis_body()
{
	start
	http_expect 200 GET "$AUTHD_URL/health/redis"
	json_check http.body 'j == {"status": "ok"}'
}
health_redis_cleanup()
{
	authd_cleanup
}

atf_test_case jwks cleanup
jwks_head()
{
	atf_set descr "the JWKS lists the public signing keys, and only those"
}
jwks_body()
{
	start
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	atf_check -o ignore grep -i '^content-type: application/json' http.headers
	json_check http.body '
	    len(j["keys"]) >= 1 and
	    all(isinstance(k.get("kid"), str) and k["kid"] != "" and
	        k.get("kty") == "EC" and k.get("crv") == "P-256" and
	        "x" in k and "y" in k for k in j["keys"]) and
	    len(set(k["kid"] for k in j["keys"])) == len(j["keys"])'
	# The private part of an EC key is "d": it never leaves a keyholder.
	json_check http.body 'all("d" not in k for k in j["keys"])'
}
jwks_cleanup()
{
	authd_cleanup
}

atf_test_case not_found cleanup
not_found_head()
{
	atf_set descr "an unknown route answers 404 as JSON"
}
not_found_body()
{
	start
	http_expect 404 GET "$AUTHD_URL/no/such/route"
	atf_check -o ignore grep -i '^content-type: application/json' http.headers
	json_check http.body 'j == {"detail": "Not Found"}'
}
not_found_cleanup()
{
	authd_cleanup
}

set_counts()
{
	conf_set "$AUTHD_CONF_FILE" prefork 3
	conf_set "$AUTHD_CONF_FILE" keyholders 2
}

atf_test_case process_titles cleanup
process_titles_head()
{
	atf_set descr "one parent, the configured keyholders and workers"
}
process_titles_body()
{
	local pid
	start set_counts
	atf_check -o match:'^authd: parent' ps -o args= -p "$AUTHD_PID"
	# The children report ready before the first answer, but give a
	# slow (sanitized) build a moment to set every title.
	expect_children worker 3
	expect_children keyholder 2
	# Nothing else runs under the parent.
	atf_check -o inline:"5\n" sh -c "ps -o pid= --ppid $AUTHD_PID | wc -l"
	# Hashing yields the CPU to the workers' event loops.
	for pid in $(authd_children keyholder); do
		atf_check -o match:'^ *10$' ps -o ni= -p "$pid"
	done
	for pid in $(authd_children worker); do
		atf_check -o match:'^ *0$' ps -o ni= -p "$pid"
	done
}
process_titles_cleanup()
{
	authd_cleanup
}

# maps_of PID: the file names PID has mapped, one per line.
maps_of()
{
	awk 'NF >= 6 { print $6 }' "/proc/$1/maps" | sort -u
}

atf_test_case programs cleanup
programs_head()
{
	atf_set descr "each role runs its own program, which maps the" \
	    "libraries of that role only: no database, Redis or HTTP" \
	    "client code in the parent or a keyholder, no OpenSSL in" \
	    "the parent"
	atf_set require.user root
}
programs_body()
{
	local pid lib
	start
	expect_children worker 2
	expect_children keyholder 2
	atf_check -o match:'/authd/authd$' readlink "/proc/$AUTHD_PID/exe"
	for pid in $AUTHD_PID $(authd_children keyholder); do
		[ "$pid" = "$AUTHD_PID" ] ||
		    atf_check -o match:'/authd/authd-keyholder$' \
		    readlink "/proc/$pid/exe"
		maps_of "$pid" >maps.out
		for lib in libpq libhiredis libcurl libgnutls libssl \
		    libkrb5 libldap; do
			! grep -q "/$lib[.-]" maps.out ||
			    atf_fail "process $pid maps $(grep "/$lib[.-]" \
			    maps.out | head -n 1)"
		done
		# A keyholder signs; the parent has its keys loaded for
		# it (authd/keyload.c) and only passes them on.
		if [ "$pid" = "$AUTHD_PID" ]; then
			! grep -q "/libcrypto[.-]" maps.out ||
			    atf_fail "the parent maps libcrypto"
		else
			grep -q "/libcrypto[.-]" maps.out ||
			    atf_fail "keyholder $pid: no libcrypto in its maps"
		fi
	done
	for pid in $(authd_children worker); do
		atf_check -o match:'/authd/authd-worker$' \
		    readlink "/proc/$pid/exe"
		maps_of "$pid" >maps.out
		for lib in libpq libhiredis libcurl; do
			grep -q "/$lib[.-]" maps.out ||
			    atf_fail "worker $pid does not map $lib"
		done
	done
}
programs_cleanup()
{
	authd_cleanup
}

# probe COUNT: GET / COUNT times; false at the first answer but 200.
probe()
{
	local n
	n=$1
	while [ "$n" -gt 0 ]; do
		[ "$(http GET "$AUTHD_URL/")" = 200 ] || return 1
		n=$((n - 1))
	done
}

atf_test_case worker_respawn cleanup
worker_respawn_head()
{
	atf_set descr "a killed worker is respawned and the port keeps answering"
}
worker_respawn_body()
{
	local victim after
	start
	expect_children worker 2
	victim=$(authd_children worker | head -n 1)
	kill -KILL "$victim"
	# The other worker serves on the same listening socket meanwhile.
	probe 20 || atf_fail "GET / failed"
	wait_until 10 authd_nchildren worker 2 ||
	    atf_fail "$(oneline "the worker was not respawned:" $(authd_children worker))"
	after=$(authd_children worker)
	echo "$after" | grep -qx "$victim" &&
	    atf_fail "pid $victim is still listed as a worker"
	probe 20 || atf_fail "GET / failed"
	http_expect 200 GET "$AUTHD_URL/health/db"
	proc_alive "$AUTHD_PID" || atf_fail "the parent exited"
}
worker_respawn_cleanup()
{
	authd_cleanup
}

atf_test_case connections_shared cleanup
connections_shared_head()
{
	atf_set descr "a burst of kept-alive connections is shared by the workers"
}
connections_shared_body()
{
	local workers
	start
	expect_children worker 2
	workers=$(authd_children worker | tr '\n' ' ')
	# 24 connections opened at once, each answered and kept open; then
	# the established sockets of authd's port that each worker holds.
	atf_check -o save:held python3 - "$AUTHD_PORT" $workers <<'EOF'
import os, socket, sys
port, pids = int(sys.argv[1]), sys.argv[2:]
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
for c in conns:
    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
for c in conns:
    if not c.recv(65536).startswith(b"HTTP/1.1 200"):
        sys.exit("no answer")
ours = set()
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(name) as f:
        for line in f.readlines()[1:]:
            w = line.split()
            if int(w[1].split(":")[1], 16) == port and w[3] == "01":
                ours.add(w[9])
for pid in pids:
    d = "/proc/%s/fd" % pid
    n = 0
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if t.startswith("socket:[") and t[8:-1] in ours:
            n += 1
    print(n)
EOF
	# Before, the first worker awake took all 24.
	awk '$1 < 8 { bad = 1 } END { exit bad }' held ||
	    atf_fail "$(oneline "connections held by each worker:" $(cat held))"
}
connections_shared_cleanup()
{
	authd_cleanup
}

atf_test_case keyholder_death cleanup
keyholder_death_head()
{
	atf_set descr "a killed keyholder stops the daemon with status 1"
}
keyholder_death_body()
{
	local victim children pid st
	start
	children=$(ps -o pid= --ppid "$AUTHD_PID")
	victim=$(authd_children keyholder | head -n 1)
	[ -n "$victim" ] || atf_fail "no keyholder runs"
	kill -KILL "$victim"
	wait_exit "$AUTHD_PID" 5
	st=$?
	[ "$st" -eq 255 ] && atf_fail "the parent still runs 5 s later"
	[ "$st" -eq 1 ] || atf_fail "the parent exited with status $st, not 1"
	for pid in $children; do
		wait_until 5 proc_dead "$pid" ||
		    atf_fail "child $pid outlived the parent"
	done
	atf_check -s not-exit:0 -o ignore -e ignore \
	    curl -sS --max-time 2 "$AUTHD_URL/"
}
keyholder_death_cleanup()
{
	authd_cleanup
}

atf_test_case sighup_bad_config cleanup
sighup_bad_config_head()
{
	atf_set descr "SIGHUP with a broken config keeps the old one"
}
sighup_bad_config_body()
{
	start
	cp "$AUTHD_CONF_FILE" good.conf
	echo 'prefork "many" { no such grammar' >>"$AUTHD_CONF_FILE"
	kill -HUP "$AUTHD_PID"
	# The error names the file and the line, as authd -n would.
	wait_until 10 grep -q "authd.conf:[0-9][0-9]*:" "$AUTHD_LOG" ||
	    atf_fail "no file:line error in the log after SIGHUP"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
	probe 10 || atf_fail "GET / failed"
	http_expect 200 GET "$AUTHD_URL/health/db"
	expect_children worker 2
}
sighup_bad_config_cleanup()
{
	authd_cleanup
}

atf_test_case sighup_good_config cleanup
sighup_good_config_head()
{
	atf_set descr "SIGHUP with a changed, valid config keeps serving"
}
sighup_good_config_body()
{
	start
	conf_set "$AUTHD_CONF_FILE" password \
	    "{ hash argon2id memory 19456 iterations 3 parallelism 1 }"
	kill -HUP "$AUTHD_PID"
	# Serving all along, during and after the reload.
	probe 30 || atf_fail "GET / failed"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited on SIGHUP"
	grep "authd.conf:[0-9][0-9]*:" "$AUTHD_LOG" &&
	    atf_fail "a valid config was reported as an error"
	http_expect 200 GET "$AUTHD_URL/health/db"
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	expect_children worker 2
}
sighup_good_config_cleanup()
{
	authd_cleanup
}

atf_test_case sigterm cleanup
sigterm_head()
{
	atf_set descr "SIGTERM stops every process and exits 0"
}
sigterm_body()
{
	local children pid st
	start
	children=$(ps -o pid= --ppid "$AUTHD_PID")
	authd_stop
	st=$?
	[ "$st" -eq 255 ] && atf_fail "still running 10 s after SIGTERM"
	[ "$st" -eq 0 ] || atf_fail "exit status $st after SIGTERM, not 0"
	for pid in $children; do
		wait_until 5 proc_dead "$pid" ||
		    atf_fail "child $pid outlived the parent"
	done
	# The listening socket went with the last process.
	atf_check -s not-exit:0 -o ignore -e ignore \
	    curl -sS --max-time 2 "$AUTHD_URL/"
}
sigterm_cleanup()
{
	authd_cleanup
}

atf_test_case check_config
check_config_head()
{
	atf_set descr "authd -n accepts the base config and the sample"
}
check_config_body()
{
	require_env
	atf_check -s exit:0 -o ignore -e ignore \
	    "$AUTHD_BIN" -n -f "$AUTHD_TEST_CONF"
	atf_check -s exit:0 -o ignore -e ignore \
	    "$AUTHD_BIN" -n -f "$AUTHD_SRCDIR/etc/authd.conf"
}

atf_test_case check_bad_config
check_bad_config_head()
{
	atf_set descr "authd -n refuses a broken config with file:line"
}
check_bad_config_body()
{
	require_env
	# Line 3 of a file whose first two lines are valid.
	{
		echo 'prefork 2'
		echo '# a comment'
		echo 'nonsense keyword here'
	} >bad.conf
	atf_check -s exit:1 -o empty -e match:'bad\.conf:3: ' \
	    "$AUTHD_BIN" -n -f bad.conf
	atf_check -s exit:1 -o empty -e not-empty \
	    "$AUTHD_BIN" -n -f "$PWD/no-such-file.conf"
}

atf_test_case privileges cleanup
privileges_head()
{
	atf_set descr "as root, children run as the config user, the parent as root"
	atf_set require.user root
}
privileges_body()
{
	local uid pid n
	start
	uid=$(id -u "$AUTHD_USER")
	[ "$uid" -ne 0 ] || atf_fail "the service user is root"
	atf_check -o inline:"0\n" sh -c "ps -o uid= -p $AUTHD_PID | tr -d ' '"
	n=0
	for pid in $(authd_children worker) $(authd_children keyholder); do
		atf_check -o inline:"$uid\n" \
		    sh -c "ps -o uid= -p $pid | tr -d ' '"
		# setresuid: saved and effective uids too.
		atf_check -o match:"^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$" \
		    grep '^Uid:' "/proc/$pid/status"
		n=$((n + 1))
	done
	[ "$n" -eq 4 ] || atf_fail "checked $n children, expected 4"
}
privileges_cleanup()
{
	authd_cleanup
}

atf_test_case key_files_private
key_files_private_head()
{
	atf_set descr "the service user cannot read the signing keys"
	atf_set require.user root
}
key_files_private_body()
{
	local f n
	require_env
	n=0
	for f in "$AUTHD_KEYS"/*; do
		[ -f "$f" ] || continue
		atf_check -s not-exit:0 -o empty -e ignore \
		    runuser -u "$AUTHD_USER" -- cat "$f"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || atf_fail "no key file in $AUTHD_KEYS"
	atf_check -s not-exit:0 -o empty -e ignore \
	    runuser -u "$AUTHD_USER" -- ls "$AUTHD_KEYS"
}

atf_init_test_cases()
{
	atf_add_test_case root
	atf_add_test_case programs
	atf_add_test_case health_db
	atf_add_test_case health_redis
	atf_add_test_case jwks
	atf_add_test_case not_found
	atf_add_test_case process_titles
	atf_add_test_case worker_respawn
	atf_add_test_case keyholder_death
	atf_add_test_case sighup_bad_config
	atf_add_test_case sighup_good_config
	atf_add_test_case sigterm
	atf_add_test_case check_config
	atf_add_test_case check_bad_config
	atf_add_test_case privileges
	atf_add_test_case key_files_private
	atf_add_test_case connections_shared
}
