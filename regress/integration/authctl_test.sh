#! /usr/bin/env atf-sh
# authctl against the database of regress/run.sh and against a running
# daemon's control socket.

. "$(atf_get_srcdir)/../lib.sh"

start()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	authd_start || atf_fail "authd did not start (its log is on stderr)"
}

atf_test_case db_status
db_status_head()
{
	atf_set descr "db status lists the first migration as applied"
}
db_status_body()
{
	require_env
	atf_check -s exit:0 -o match:'001' -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db status
	# Every migration of the tree is applied, none is pending.
	atf_check -s exit:0 -o not-match:'[Pp]ending' -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db status
	# Migrating again changes nothing and succeeds.
	atf_check -s exit:0 -o ignore -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db migrate
}

atf_test_case key_list cleanup
key_list_head()
{
	atf_set descr "key list shows the kid that the JWKS publishes"
}
key_list_body()
{
	local kid
	start
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	kid=$(json_get http.body 'j["keys"][0]["kid"]')
	[ -n "$kid" ] || atf_fail "no kid in the JWKS"
	atf_check -s exit:0 -o match:"$kid" -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" key list
}
key_list_cleanup()
{
	authd_cleanup
}

atf_test_case show_status cleanup
show_status_head()
{
	atf_set descr "show status over the control socket lists the processes"
}
show_status_body()
{
	local pid
	start
	expect_children worker 2
	atf_check -s exit:0 -o save:status.out -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" show status
	cat status.out
	for pid in $(authd_children worker) $(authd_children keyholder); do
		grep -qw "$pid" status.out ||
		    atf_fail "pid $pid is not in show status"
	done
	atf_check -o match:'worker' cat status.out
	atf_check -o match:'keyholder' cat status.out
	# -s names the socket explicitly.
	atf_check -s exit:0 -o ignore -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" -s "$AUTHD_SOCKET" show status
	atf_check -s exit:0 -o save:status.json -e empty \
	    "$AUTHCTL_BIN" -j -f "$AUTHD_CONF_FILE" show status
	json_check status.json 'isinstance(j, (dict, list))'
}
show_status_cleanup()
{
	authd_cleanup
}

atf_test_case no_daemon
no_daemon_head()
{
	atf_set descr "show status fails cleanly when no daemon listens"
}
no_daemon_body()
{
	require_env
	atf_check -s exit:1 -o empty -e not-empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" -s "$PWD/no.sock" show status
}

atf_test_case reload cleanup
reload_head()
{
	atf_set descr "reload succeeds, and reports a broken config"
}
reload_body()
{
	start
	atf_check -s exit:0 -o ignore -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" reload
	http_expect 200 GET "$AUTHD_URL/health/db"
	# The daemon parses the file; the error goes back to authctl.
	cp "$AUTHD_CONF_FILE" good.conf
	echo 'nonsense keyword here' >>"$AUTHD_CONF_FILE"
	atf_check -s exit:1 -o ignore -e match:'authd\.conf' \
	    "$AUTHCTL_BIN" -f good.conf -s "$AUTHD_SOCKET" reload
	http_expect 200 GET "$AUTHD_URL/health/db"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
}
reload_cleanup()
{
	authd_cleanup
}

atf_test_case init_twice
init_twice_head()
{
	atf_set descr "init refuses a database that is already initialized"
}
init_twice_body()
{
	require_env
	atf_check -s exit:1 -o not-match:'password' -e not-empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" init
	atf_check -s exit:1 -o not-match:'password' -e not-empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" init "another company" \
	    other@example.com other
}

atf_init_test_cases()
{
	atf_add_test_case db_status
	atf_add_test_case key_list
	atf_add_test_case show_status
	atf_add_test_case no_daemon
	atf_add_test_case reload
	atf_add_test_case init_twice
}
