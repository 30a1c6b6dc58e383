#! /usr/bin/env atf-sh
# The sandbox of the children (authd/sandbox.c): a system call outside a
# child's seccomp allow-list kills that child alone with SIGSYS, and the
# parent reacts as to any other death of it: a worker is started again
# while the other goes on serving, a keyholder takes the daemon down with
# status 1.  The forbidden call is injected with gdb(1), so that the
# daemon carries no test hook: as root, gdb attaches even to a keyholder,
# which is not dumpable.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"
. "$(atf_get_srcdir)/lib/integtest.sh"

# sb_start [FUNCTION]: the daemon of a test case (authtest.sh's start),
# with all of its children up.
sb_start()
{
	start "$@"
	expect_children worker 2
	expect_children keyholder 2
}

# Skips a test case that needs the sandbox when this build has it off
# (AddressSanitizer): the parent says so at start.
require_sandbox()
{
	local why
	# The system call numbers below are those of x86_64.
	[ "$(uname -m)" = x86_64 ] || atf_skip "not x86_64"
	why=$(sed -n 's/.*sandbox of keyholders and workers off: //p' \
	    "$AUTHD_LOG" | head -n 1)
	[ -z "$why" ] || atf_skip "the sandbox is off: $why"
}

# inject PID CALL: has process PID evaluate the C expression CALL (a
# system call through syscall(2)) under gdb, and detaches.  Whether the
# process survives is for the caller to check.
inject()
{
	timeout 60 gdb -p "$1" -batch -nx -ex "call $2" >gdb.out 2>&1
	return 0
}

sandbox_no()
{
	conf_set "$AUTHD_CONF_FILE" sandbox no
}

# seccomp_mode PID: the Seccomp line of /proc/PID/status (2: filter).
seccomp_mode()
{
	awk '$1 == "Seccomp:" { print $2 }' "/proc/$1/status"
}

# answers: true when GET / answers 200.
answers()
{
	[ "$(http GET "$AUTHD_URL/" --max-time 2)" = 200 ]
}

atf_test_case filters_installed cleanup
filters_installed_head()
{
	atf_set descr "every worker and keyholder runs under a seccomp " \
	    "filter with no new privileges; keyholders may not fork"
}
filters_installed_body()
{
	local pid
	sb_start
	require_sandbox
	for pid in $(authd_children worker) $(authd_children keyholder); do
		[ "$(seccomp_mode "$pid")" = 2 ] || atf_fail "$(oneline \
		    "process $pid: seccomp mode '$(seccomp_mode "$pid")'," \
		    "expected 2 (filter)")"
		grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" ||
		    atf_fail "process $pid may gain privileges"
	done
	for pid in $(authd_children keyholder); do
		grep -q '^Max processes[[:space:]]*0[[:space:]]*0[[:space:]]' \
		    "/proc/$pid/limits" ||
		    atf_fail "keyholder $pid: RLIMIT_NPROC is not 0"
		grep -q '^Max core file size[[:space:]]*0[[:space:]]*0' \
		    "/proc/$pid/limits" ||
		    atf_fail "keyholder $pid: RLIMIT_CORE is not 0"
	done
	# The parent itself is not sandboxed: it forks and reloads.
	[ "$(seccomp_mode "$AUTHD_PID")" = 0 ] ||
	    atf_fail "the parent runs under a seccomp filter"
}
filters_installed_cleanup()
{
	authd_cleanup
}

atf_test_case worker_forbidden cleanup
worker_forbidden_head()
{
	atf_set descr "fork(2) from a worker kills that worker alone with " \
	    "SIGSYS; the parent starts a new one, the other worker serves " \
	    "throughout"
	atf_set require.progs gdb
	atf_set timeout 120
}
worker_forbidden_body()
{
	local victim other kh n
	sb_start
	require_sandbox
	victim=$(authd_children worker | head -n 1)
	other=$(authd_children worker | sed -n 2p)
	kh=$(authd_children keyholder | tr '\n' ' ')
	[ -n "$victim" ] && [ -n "$other" ] || atf_fail "no two workers"
	# fork is system call 57 on x86_64, and not in a worker's list.
	inject "$victim" '(long)syscall(57)'
	wait_until 10 proc_dead "$victim" || atf_fail "$(oneline \
	    "worker $victim survived fork(2):" "$(cat gdb.out)")"
	wait_until 10 grep -q \
	    "lost child: worker [01] killed by signal 31 (SIGSYS)" \
	    "$AUTHD_LOG" || atf_fail "$(oneline "no SIGSYS death in the log:" \
	    "$(grep 'lost child' "$AUTHD_LOG")")"
	# The other worker was not touched and serves.
	proc_alive "$other" || atf_fail "the other worker $other died too"
	n=0
	while [ "$n" -lt 20 ]; do
		answers || atf_fail "GET / failed after the kill (round $n)"
		n=$((n + 1))
	done
	# A new worker in the place of the dead one; the rest unchanged.
	expect_children worker 2
	authd_children worker | grep -qx "$other" ||
	    atf_fail "the surviving worker is gone"
	for n in $kh; do
		proc_alive "$n" || atf_fail "keyholder $n died"
	done
	proc_alive "$AUTHD_PID" || atf_fail "the parent exited"
	# The new worker is sandboxed as well, and the keyholders answer.
	for n in $(authd_children worker); do
		[ "$(seccomp_mode "$n")" = 2 ] ||
		    atf_fail "worker $n runs without the filter"
	done
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$AUTHD_ADMIN_USERNAME" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
}
worker_forbidden_cleanup()
{
	authd_cleanup
}

atf_test_case keyholder_forbidden cleanup
keyholder_forbidden_head()
{
	atf_set descr "socket(AF_INET) from a keyholder kills it with " \
	    "SIGSYS; as DESIGN.md wants, the daemon then stops with status 1"
	atf_set require.progs gdb
	atf_set timeout 120
}
keyholder_forbidden_body()
{
	local victim children pid st
	sb_start
	require_sandbox
	children=$(ps -o pid= --ppid "$AUTHD_PID")
	victim=$(authd_children keyholder | head -n 1)
	[ -n "$victim" ] || atf_fail "no keyholder"
	# socket(AF_INET, SOCK_STREAM, 0): system call 41 on x86_64.
	inject "$victim" '(long)syscall(41, 2, 1, 0)'
	wait_exit "$AUTHD_PID" 10
	st=$?
	[ "$st" -eq 1 ] || atf_fail "$(oneline "the parent's exit status is" \
	    "$st (255: still running), expected 1; gdb:" "$(cat gdb.out)")"
	grep -q "lost child: keyholder [01] killed by signal 31 (SIGSYS)" \
	    "$AUTHD_LOG" || atf_fail "$(oneline "no SIGSYS death in the log:" \
	    "$(grep 'lost child' "$AUTHD_LOG")")"
	for pid in $children; do
		wait_until 5 proc_dead "$pid" ||
		    atf_fail "child $pid outlived the parent"
	done
	answers && atf_fail "the port still answers after the exit"
	return 0
}
keyholder_forbidden_cleanup()
{
	authd_cleanup
}

atf_test_case keyholder_no_files cleanup
keyholder_no_files_head()
{
	atf_set descr "a keyholder cannot open a file: openat(2) fails " \
	    "(EACCES), without killing it"
	atf_set require.progs gdb
	atf_set timeout 120
}
keyholder_no_files_body()
{
	local victim
	sb_start
	require_sandbox
	victim=$(authd_children keyholder | head -n 1)
	# openat(AT_FDCWD, "/etc/passwd", O_RDONLY): 257 on x86_64.
	inject "$victim" '(long)syscall(257, -100, "/etc/passwd", 0)'
	grep -q '= -1' gdb.out ||
	    atf_fail "$(oneline "openat did not fail:" "$(cat gdb.out)")"
	proc_alive "$victim" || atf_fail "the keyholder died"
	proc_alive "$AUTHD_PID" || atf_fail "the parent exited"
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$AUTHD_ADMIN_USERNAME" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
}
keyholder_no_files_cleanup()
{
	authd_cleanup
}

atf_test_case worker_resolver_thread cleanup
worker_resolver_thread_head()
{
	atf_set descr "a webhook to a host name is delivered: libcurl's " \
	    "resolver thread, getaddrinfo and /etc/hosts work in the sandbox"
	atf_set require.progs "curl python3 getent hostname"
	atf_set timeout 120
}
worker_resolver_thread_body()
{
	local host url
	host=$(hostname)
	getent hosts "$host" | grep -q '^127\.' ||
	    atf_skip "the host name $host does not resolve to 127.x"
	sb_start callback_conf
	require_sandbox
	tenant A
	receiver 0
	url=$(echo "$RECV_URL" | sed "s/127\.0\.0\.1/$host/")
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$url\",
	    \"events\": [\"user.created\"]"
	sql_expect 1 "SELECT authd_enqueue_event($A_CID, 'user.created',
	    '{\"user\": {\"id\": 7}}')"
	received 1
	delivery_is delivered 1
	grep -q 'lost child' "$AUTHD_LOG" && atf_fail "$(oneline \
	    "a child died:" "$(grep 'lost child' "$AUTHD_LOG")")"
	return 0
}
worker_resolver_thread_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case sandbox_off cleanup
sandbox_off_head()
{
	atf_set descr "with 'sandbox no', children run without a filter, " \
	    "the parent says so, and a forbidden call kills nobody"
	atf_set require.progs gdb
	atf_set timeout 120
}
sandbox_off_body()
{
	local pid victim
	sb_start sandbox_no
	grep -q 'sandbox of keyholders and workers off' "$AUTHD_LOG" ||
	    atf_fail "the parent did not log that the sandbox is off"
	for pid in $(authd_children worker) $(authd_children keyholder); do
		[ "$(seccomp_mode "$pid")" = 0 ] ||
		    atf_fail "process $pid runs under a seccomp filter"
	done
	# socket(AF_PACKET, SOCK_RAW, 0): refused (EPERM), not fatal.
	victim=$(authd_children worker | head -n 1)
	inject "$victim" '(long)syscall(41, 17, 3, 0)'
	proc_alive "$victim" || atf_fail "$(oneline "the worker died:" \
	    "$(cat gdb.out)")"
	answers || atf_fail "GET / failed"
	grep -q 'lost child' "$AUTHD_LOG" &&
	    atf_fail "$(oneline "a child died:" \
	    "$(grep 'lost child' "$AUTHD_LOG")")"
	return 0
}
sandbox_off_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case filters_installed
	atf_add_test_case worker_forbidden
	atf_add_test_case keyholder_forbidden
	atf_add_test_case keyholder_no_files
	atf_add_test_case worker_resolver_thread
	atf_add_test_case sandbox_off
}
