#! /usr/bin/env atf-sh
# authctl against the database of regress/run.sh and against a running
# daemon's control socket: the grammar (abbreviations, unknown and
# ambiguous words, exit status), every command in text and with -j, and
# what each one changes in PostgreSQL and Redis.  Also `make install`
# into a scratch tree and the lint of every manual page.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

# use_ctl: puts two programs first in PATH (atf_check runs programs,
# not shell functions): ctl, authctl with the base configuration (no
# daemon needed), and actl, authctl with the configuration of the daemon
# of the test case.
use_ctl()
{
	mkdir -p bin
	printf '#!/bin/sh\nexec "%s" -f "%s" "$@"\n' "$AUTHCTL_BIN" \
	    "$AUTHD_TEST_CONF" >bin/ctl
	printf '#!/bin/sh\nexec "%s" -f "%s" "$@"\n' "$AUTHCTL_BIN" \
	    "${AUTHD_CONF_FILE:-$AUTHD_TEST_CONF}" >bin/actl
	chmod 0755 bin/ctl bin/actl
	PATH=$PWD/bin:$PATH
}

# A password the default policy accepts, in a file (never in argv).
pwfile()
{
	printf '%s\n' "${2:-Ctl-Pass1!$(rand)}" >"$1"
	chmod 0600 "$1"
}

# audit_expect ACTION OBJECT_ID: the last audit row of ACTION for the
# object was written by authctl (no actor).
audit_expect()
{
	sql_expect "t" "SELECT actor_user_id IS NULL FROM audit_log
	    WHERE action = '$1' AND object_id = $2 ORDER BY id DESC LIMIT 1"
}

# --- grammar ---------------------------------------------------------

atf_test_case grammar
grammar_head()
{
	atf_set descr "unknown, ambiguous and incomplete words exit 2 and " \
	    "list the valid words; abbreviations resolve"
}
grammar_body()
{
	atf_check -s exit:2 -o empty -e match:'^usage: authctl' \
	    -e match:'show status' -e match:'user add' "$AUTHCTL_BIN"
	atf_check -s exit:2 -o empty -e match:'usage' "$AUTHCTL_BIN" -x show
	atf_check -s exit:2 -o empty -e match:'unknown word "bogus"' \
	    -e match:'valid words here: cache company db init key log reload role session show user$' \
	    "$AUTHCTL_BIN" bogus
	atf_check -s exit:2 -o empty -e match:'ambiguous word "s"' \
	    -e match:'valid words here: session show$' "$AUTHCTL_BIN" s status
	atf_check -s exit:2 -o empty -e match:'ambiguous word "r"' \
	    -e match:'valid words here: reload role$' "$AUTHCTL_BIN" r
	atf_check -s exit:2 -o empty -e match:'incomplete command' \
	    -e match:'valid words here: companies sessions status users$' \
	    "$AUTHCTL_BIN" show
	atf_check -s exit:2 -o empty -e match:'ambiguous word "s"' \
	    -e match:'valid words here: sessions status$' \
	    "$AUTHCTL_BIN" show s
	atf_check -s exit:2 -o empty -e match:'unknown word "stat"' \
	    -e match:'valid words here: add del list$' \
	    "$AUTHCTL_BIN" company stat
	# "sh st" is show status: it tries the socket it is given.
	atf_check -s exit:1 -o empty -e match:"connect $PWD/none.sock" \
	    "$AUTHCTL_BIN" -s "$PWD/none.sock" sh st
	atf_check -s exit:1 -o empty -e match:"connect $PWD/none.sock" \
	    "$AUTHCTL_BIN" -s "$PWD/none.sock" rel
	atf_check -s exit:1 -o empty -e match:"connect $PWD/none.sock" \
	    "$AUTHCTL_BIN" -s "$PWD/none.sock" l v
	# A wrong number of arguments prints the command's usage.
	atf_check -s exit:2 -o empty \
	    -e match:'^usage: authctl show status $' \
	    "$AUTHCTL_BIN" -s "$PWD/none.sock" show status now
	atf_check -s exit:2 -o empty \
	    -e match:'^usage: authctl user add email username' \
	    "$AUTHCTL_BIN" user add someone
	atf_check -s exit:2 -o empty -e match:'^usage: authctl session kill id' \
	    "$AUTHCTL_BIN" session kill
}

atf_test_case keywords
keywords_head()
{
	atf_set descr "keyword arguments: abbreviations, unknown words, " \
	    "missing values, repeats (exit 2)"
}
keywords_body()
{
	require_env
	ids
	use_ctl
	atf_check -s exit:0 -o match:"^$ADMIN_UID +$AUTHD_ADMIN_USERNAME " \
	    -e empty ctl show users comp "$ROOT_CID"
	atf_check -s exit:2 -o empty -e match:'unknown word "colour"' \
	    -e match:'valid words here: company$' \
	    ctl show users colour red
	atf_check -s exit:2 -o empty -e match:'company needs a value' \
	    ctl show users company
	atf_check -s exit:2 -o empty -e match:'company given twice' \
	    ctl role add r company 1 co 1
	atf_check -s exit:2 -o empty -e match:'name either a permission or a user' \
	    ctl role grant admin company 1
	atf_check -s exit:2 -o empty -e match:'name either a permission or a user' \
	    ctl role grant admin permission a user b
	atf_check -s exit:2 -o empty -e match:'session id abc: invalid' \
	    ctl session kill abc
	# Options stop at the command: "-p" after it is no option.
	atf_check -s exit:2 -o empty -e match:'unknown word "-p"' \
	    ctl user add a@example.com a -p /dev/null
}

# --- users, companies, roles, sessions in the database ----------------

atf_test_case show_db
show_db_head()
{
	atf_set descr "show users, show companies and company list, as " \
	    "text and as JSON"
}
show_db_body()
{
	require_env
	ids
	use_ctl
	atf_check -s exit:0 -o save:users.txt -e empty ctl show users
	atf_check -o match:'^ID +USERNAME +EMAIL +COMPANY +ACTIVE +SUPERUSER +LOCKED$' \
	    head -n 1 users.txt
	atf_check -o match:"^$ADMIN_UID +$AUTHD_ADMIN_USERNAME +$AUTHD_ADMIN_EMAIL +$ROOT_CID +yes +yes +no$" \
	    cat users.txt
	atf_check -s exit:0 -o save:users.json -e empty ctl -j show users
	sql "SELECT count(*) FROM users"
	json_check users.json "len(j) == $SQL and
	    [u for u in j if u['id'] == $ADMIN_UID][0]['username'] ==
	    '$AUTHD_ADMIN_USERNAME' and all('hashed_password' not in u
	    for u in j)"
	atf_check -s exit:1 -o empty -e match:'no such company: nope' \
	    ctl show users company nope

	atf_check -s exit:0 -o save:companies.txt -e empty ctl show companies
	atf_check -o match:'^ID +NAME +USERS +ACTIVE +ROOT$' \
	    head -n 1 companies.txt
	atf_check -o match:"^$ROOT_CID +" -o match:' yes$' cat companies.txt
	atf_check -s exit:0 -o file:companies.txt -e empty ctl company list
	atf_check -s exit:0 -o save:companies.json -e empty \
	    ctl -j show companies
	json_check companies.json "[c for c in j if c['is_root']][0]['id'] ==
	    $ROOT_CID and all('users' in c for c in j)"
}

atf_test_case company
company_head()
{
	atf_set descr "company add and del: roles seeded, audit rows, " \
	    "refusals exit 1"
}
company_body()
{
	local name cid
	require_env
	ids
	use_ctl
	name="ctl-co-$(rand)"
	atf_check -s exit:0 -o match:"^company [0-9]+ \\($name\\) created" \
	    -e empty ctl company add "$name" desc "made by authctl"
	sql "SELECT id FROM companies WHERE name = '$name'"
	cid=$SQL
	sql_expect "admin,user" "SELECT string_agg(name, ',' ORDER BY name)
	    FROM roles WHERE company_id = $cid"
	sql_expect "made by authctl" \
	    "SELECT description FROM companies WHERE id = $cid"
	audit_expect company.create "$cid"
	atf_check -s exit:1 -o empty -e match:'a company with this name exists' \
	    ctl company add "$name"
	atf_check -s exit:0 -o save:co.json -e empty ctl -j company add "$name-2"
	json_check co.json "j['name'] == '$name-2' and not j['is_root'] and
	    j['is_active']"

	# A company with users goes only with "force", and its users too.
	pwfile pw
	atf_check -s exit:0 -o ignore -e empty ctl -p pw user add \
	    "u-$name@example.com" "u-$name" company "$name"
	atf_check -s exit:1 -o empty -e match:'has users: add "force"' \
	    ctl company del "$name"
	sql_expect 1 "SELECT count(*) FROM companies WHERE id = $cid"
	atf_check -s exit:0 -o match:"^company $cid \\($name\\) deleted$" \
	    -e empty ctl comp del "$cid" f
	sql_expect 0 "SELECT count(*) FROM users WHERE company_id = $cid"
	audit_expect company.delete "$cid"
	atf_check -s exit:0 -o save:del.json -e empty \
	    ctl -j company del "$name-2"
	json_check del.json "j['name'] == '$name-2'"
	atf_check -s exit:1 -o empty -e match:"no such company: $name" \
	    ctl company del "$name"
	atf_check -s exit:1 -o empty -e match:'root company cannot be deleted' \
	    ctl company del "$ROOT_CID" force
}

atf_test_case user_db
user_db_head()
{
	atf_set descr "user add, show, del: password from a file only, " \
	    "policy, duplicates, audit"
}
user_db_body()
{
	local u uid
	require_env
	ids
	use_ctl
	u="ctl-u-$(rand)"
	pwfile pw
	printf 'short\n' >weak
	atf_check -s exit:1 -o empty -e match:'password refused' \
	    ctl -p weak user add "$u@example.com" "$u"
	# No terminal and no file: refused, nothing created.
	atf_check -s exit:1 -o empty -e match:'no terminal' \
	    setsid "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" user add \
	    "$u@example.com" "$u" </dev/null
	sql_expect 0 "SELECT count(*) FROM users WHERE username = '$u'"
	# Malformed names are refused before any password is read.
	atf_check -s exit:1 -o empty -e match:'not an email address' \
	    ctl user add "$u" "$u" </dev/null
	atf_check -s exit:1 -o empty -e match:'no @' \
	    ctl user add "$u@example.com" "$u@x" </dev/null

	atf_check -s exit:0 \
	    -o match:"^user [0-9]+ \\($u <$u@example.com>\\) created in company $ROOT_CID " \
	    -e empty ctl user add "$u@example.com" "$u" name "Ctl User" \
	    password-file pw
	sql "SELECT id FROM users WHERE username = '$u'"
	uid=$SQL
	sql_expect "Ctl User|t|t|f|user" "SELECT full_name, is_active,
	    is_verified, is_superuser, (SELECT string_agg(r.name, ',')
	    FROM user_roles ur JOIN roles r ON r.id = ur.role_id
	    WHERE ur.user_id = u.id) FROM users u WHERE id = $uid"
	sql_expect t "SELECT hashed_password LIKE '\$argon2id\$%'
	    FROM users WHERE id = $uid"
	audit_expect user.create "$uid"
	atf_check -s exit:1 -o empty -e match:'a user with this email exists' \
	    ctl -p pw user add "$u@example.com" "x$u"
	atf_check -s exit:1 -o empty -e match:'a user with this username exists' \
	    ctl -p pw user add "x$u@example.com" "$u"

	atf_check -s exit:0 -o save:show.txt -e empty ctl user show "$u"
	atf_check -o match:"^id: $uid$" -o match:"^email: $u@example.com$" \
	    -o match:'^roles: user$' -o match:'^locked: no$' \
	    -o match:'^permissions: profile:update, users:read$' cat show.txt
	# By id and by email: the same user.
	atf_check -s exit:0 -o file:show.txt -e empty ctl user show "$uid"
	atf_check -s exit:0 -o save:show.json -e empty \
	    ctl -j us sh "$u@EXAMPLE.com"
	json_check show.json "j['id'] == $uid and j['roles'] == ['user'] and
	    j['locked'] is False and j['sessions'] == 0 and
	    'hashed_password' not in j"
	atf_check -s exit:1 -o empty -e match:'no such user: nobody-here' \
	    ctl user show nobody-here

	# A superuser, inactive, in another company given by name.
	atf_check -s exit:0 -o save:su.json -e empty ctl -j -p pw user add \
	    "su$u@example.com" "su$u" super inactive company "$ROOT_CID"
	json_check su.json "j['is_superuser'] and not j['is_active']"

	atf_check -s exit:0 -o match:"^user $uid \\($u\\) deleted$" -e empty \
	    ctl user del "$u"
	sql_expect 0 "SELECT count(*) FROM users WHERE id = $uid"
	audit_expect user.delete "$uid"
	atf_check -s exit:1 -o empty -e match:"no such user: $u" \
	    ctl user del "$u"
	atf_check -s exit:0 -o save:del.json -e empty ctl -j user del "su$u"
	json_check del.json "j['username'] == 'su$u'"
	atf_check -s exit:1 -o empty -e match:'only active root superuser' \
	    ctl user del "$AUTHD_ADMIN_USERNAME"
}

atf_test_case role
role_head()
{
	atf_set descr "role add, grant and revoke a permission or to a " \
	    "user, del"
}
role_body()
{
	local r rid
	require_env
	ids
	use_ctl
	r="ctl-r-$(rand)"
	mkuser ctlrole
	atf_check -s exit:0 \
	    -o match:"^role [0-9]+ \\($r\\) created in company $ROOT_CID$" \
	    -e empty ctl role add "$r" description "made by authctl"
	sql "SELECT id FROM roles WHERE name = '$r'"
	rid=$SQL
	atf_check -s exit:1 -o empty -e match:'the company has a role' \
	    ctl role add "$r"
	atf_check -s exit:0 -o match:"^role $rid \\($r\\) of company $ROOT_CID grants: audit:read$" \
	    -e empty ctl role grant "$r" permission audit:read
	atf_check -s exit:0 -o save:grant.json -e empty \
	    ctl -j role grant "$rid" perm sessions:read
	json_check grant.json "sorted(p['name'] for p in j['permissions'])
	    == ['audit:read', 'sessions:read']"
	atf_check -s exit:1 -o empty -e match:'already assigned' \
	    ctl role grant "$r" permission audit:read
	atf_check -s exit:1 -o empty -e match:'no such permission: nope:nope' \
	    ctl role grant "$r" permission nope:nope
	atf_check -s exit:1 -o empty -e match:'no such role: nope' \
	    ctl role grant nope permission audit:read

	atf_check -s exit:0 \
	    -o match:"^user $NEW_UID \\($NEW_USER\\) has the roles: $r, user$" \
	    -e empty ctl role grant "$r" user "$NEW_USER"
	sql_expect 1 "SELECT count(*) FROM user_roles
	    WHERE user_id = $NEW_UID AND role_id = $rid"
	atf_check -s exit:1 -o empty -e match:'has this role already' \
	    ctl role grant "$r" user "$NEW_USER"
	atf_check -s exit:0 -o save:revoke.json -e empty \
	    ctl -j role revoke "$r" user "$NEW_UID"
	json_check revoke.json "j['roles'] == ['user']"
	atf_check -s exit:1 -o empty -e match:'does not have this role' \
	    ctl role revoke "$r" user "$NEW_USER"
	atf_check -s exit:0 -o match:'grants: sessions:read$' -e empty \
	    ctl role revoke "$r" permission audit:read
	atf_check -s exit:1 -o empty -e match:'not assigned' \
	    ctl role revoke "$r" permission audit:read

	atf_check -s exit:0 -o match:"^role $rid \\($r\\) of company $ROOT_CID deleted$" \
	    -e empty ctl role del "$r" company "$ROOT_CID"
	sql_expect 0 "SELECT count(*) FROM roles WHERE id = $rid"
	audit_expect role.delete "$rid"
	atf_check -s exit:1 -o empty -e match:"no such role: $r" \
	    ctl role del "$r"
	atf_check -s exit:1 -o empty -e match:'no such company: nope' \
	    ctl role add x company nope
}

# --- with a daemon -----------------------------------------------------

atf_test_case sessions cleanup
sessions_head()
{
	atf_set descr "show sessions lists the live sessions; session kill " \
	    "revokes one at once"
}
sessions_body()
{
	local sid1 sid2 tok1
	start
	use_ctl
	mkuser ctlsess
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	sid1=$SID
	tok1=$ACCESS
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	sid2=$SID
	atf_check -s exit:0 -o save:s.txt -e empty \
	    actl show sessions user "$NEW_USER"
	atf_check -o match:'^ID +USER +USER_ID +ADDRESS +CREATED +LAST_USED +EXPIRES$' \
	    -o match:"^$sid1 +$NEW_USER +$NEW_UID +127.0.0.1 " \
	    -o match:"^$sid2 +$NEW_USER " cat s.txt
	atf_check -s exit:0 -o save:s.json -e empty \
	    actl -j show sessions user "$NEW_UID"
	json_check s.json "sorted(s['id'] for s in j) == sorted([$sid1, $sid2])
	    and all(s['user_id'] == $NEW_UID and s['is_active'] for s in j)"
	atf_check -s exit:0 -o match:"^$sid1 " -e empty actl sh se

	works "$tok1"
	atf_check -s exit:0 -o match:"^session $sid1 of user $NEW_UID revoked$" \
	    -e empty actl session kill "$sid1"
	session_active "$sid1" f
	denied "$tok1" "Token has been revoked"
	audit_expect session.revoke "$sid1"
	atf_check -s exit:1 -o empty -e match:"no live session $sid1" \
	    actl session kill "$sid1"
	atf_check -s exit:0 -o save:k.json -e empty \
	    actl -j se k "$sid2"
	json_check k.json "j['id'] == $sid2 and not j['is_active']"
	atf_check -s exit:0 -o save:none.json -e empty \
	    actl -j show sessions user "$NEW_USER"
	json_check none.json "j == []"
}
sessions_cleanup()
{
	authd_cleanup
}

atf_test_case passwd cleanup
passwd_head()
{
	atf_set descr "user passwd: the daemon accepts the new password " \
	    "(hashed with the pepper), not the old; sessions revoked"
}
add_pepper()
{
	head -c 32 /dev/urandom >"$AUTHD_RUNDIR/pepper"
	chmod 0600 "$AUTHD_RUNDIR/pepper"
	echo "pepper \"$AUTHD_RUNDIR/pepper\"" >>"$AUTHD_CONF_FILE"
}
passwd_body()
{
	local u old
	start add_pepper
	use_ctl
	u="ctl-pw-$(rand)"
	old="Old-Pass1!$(rand)"
	pwfile pw "$old"
	atf_check -s exit:0 -o ignore -e empty \
	    actl -p pw user add "$u@example.com" "$u"
	login "$u" "$old"
	works "$ACCESS"
	pwfile pw2 "New-Pass2?$(rand)"
	printf '%s\n' "$u" >weak
	atf_check -s exit:1 -o empty -e match:'password refused' \
	    actl user passwd "$u" password-file weak
	atf_check -s exit:1 -o empty -e match:'no password on the first line' \
	    actl user passwd "$u" password-file /dev/null
	atf_check -s exit:0 -o match:"changed; its sessions are revoked$" \
	    -e empty actl user passwd "$u" password-file pw2
	denied "$ACCESS" "Token has been revoked"
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$u" --data-urlencode "password=$old"
	login "$u" "$(cat pw2)"
	# From stdin through -p /dev/stdin.
	pwfile pw3 "Third-Pass3#$(rand)"
	atf_check -s exit:0 -o save:pw.json -e empty \
	    actl -j -p /dev/stdin user passwd "$u" <pw3
	json_check pw.json "j['username'] == '$u'"
	login "$u" "$(cat pw3)"
}
passwd_cleanup()
{
	authd_cleanup
}

atf_test_case lock cleanup
lock_head()
{
	atf_set descr "user lock revokes sessions and sets locked_until; " \
	    "user unlock clears it and the Redis lockout"
}
lockout_conf()
{
	printf 'limits {\n\tlockout 3 failures window 900 time 600\n}\n' \
	    >>"$AUTHD_CONF_FILE"
}
fail_logins()
{
	local i
	for i in 1 2 3; do
		http_expect 401 POST "$AUTHD_URL/api/v1/auth/login" \
		    --data-urlencode "username=$1" \
		    --data-urlencode "password=wrong$i"
	done
	http_expect 429 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$1" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
}
redis_keys()
{
	redis-cli -s "$AUTHD_REDIS_SOCKET" exists "lock:u:$1" "la:u:$1" \
	    "ll:u:$1"
}
lock_body()
{
	start lockout_conf
	use_ctl
	mkuser ctllock
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	atf_check -s exit:0 \
	    -o match:"^user $NEW_UID \\($NEW_USER\\) locked; 1 sessions revoked$" \
	    -e empty actl user lock "$NEW_USER"
	session_active "$SID" f
	denied "$ACCESS" "Token has been revoked"
	sql_expect "infinity" "SELECT locked_until FROM users
	    WHERE id = $NEW_UID"
	audit_expect user.lock "$NEW_UID"
	atf_check -s exit:0 -o match:'^locked: yes$' \
	    -o match:'^locked_until: infinity$' -e empty \
	    actl user show "$NEW_UID"
	atf_check -s exit:0 -o save:l.json -e empty \
	    actl -j user lock "$NEW_UID"
	json_check l.json "j['locked'] and j['locked_until'] == 'infinity'
	    and j['sessions_revoked'] == 0"
	# The right password does not open a locked account.
	http_expect 429 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	atf_check -s exit:0 -o ignore -e empty actl user unlock "$NEW_USER"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"

	# The lockout of failed logins, in Redis, lifted from the shell.
	fail_logins "$NEW_USER"
	[ "$(redis_keys "$NEW_UID")" -ge 2 ] ||
	    atf_fail "no lockout keys in Redis"
	sql "UPDATE users SET failed_logins = 3 WHERE id = $NEW_UID"
	atf_check -s exit:0 -o match:"^user $NEW_UID \\($NEW_USER\\) unlocked$" \
	    -e empty actl user unlock "$NEW_USER"
	[ "$(redis_keys "$NEW_UID")" = 0 ] || atf_fail "lockout keys left"
	sql_expect "|0|0" "SELECT locked_until, failed_logins, lockout_level
	    FROM users WHERE id = $NEW_UID"
	audit_expect user.unlock "$NEW_UID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	atf_check -s exit:0 -o save:u.json -e empty \
	    actl -j user unlock "$NEW_USER"
	json_check u.json "not j['locked'] and j['locked_until'] is None"

	# Redis out of reach: the database is unlocked, the command fails.
	sed 's|^redis .*|redis socket "'"$PWD"'/no-redis.sock"|' \
	    "$AUTHD_CONF_FILE" >noredis.conf
	atf_check -s exit:1 -o empty -e match:'counters in Redis are not cleared' \
	    "$AUTHCTL_BIN" -f noredis.conf user unlock "$NEW_USER"
}
lock_cleanup()
{
	authd_cleanup
}

atf_test_case api_unlock cleanup
api_unlock_head()
{
	atf_set descr "POST /api/v1/users/{id}/unlock: admins of the user's " \
	    "company only; lifts the lockout"
}
api_unlock_body()
{
	local root cadm other
	start lockout_conf
	use_ctl
	login_admin
	root=$ACCESS
	mkuser apilock
	fail_logins "$NEW_USER"
	bearer 200 "$root" POST "/api/v1/users/$NEW_UID/unlock"
	message_is "User unlocked"
	[ "$(redis_keys "$NEW_UID")" = 0 ] || atf_fail "lockout keys left"
	sql_expect "$ADMIN_UID|127.0.0.1" "SELECT actor_user_id,
	    ip_address FROM audit_log WHERE action = 'user.unlock'
	    AND object_id = $NEW_UID ORDER BY id DESC LIMIT 1"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 404 "$root" POST "/api/v1/users/999999999/unlock"
	detail_is "User not found"

	# A plain user may not; a company admin only in its company.
	bearer 403 "$ACCESS" POST "/api/v1/users/$NEW_UID/unlock"
	mkcompany
	mkuser cadm "$NEW_CID" true
	cadm=$NEW_USER
	other=$NEW_UID
	login "$cadm" "$AUTHD_ADMIN_PASSWORD"
	bearer 404 "$ACCESS" POST "/api/v1/users/$ADMIN_UID/unlock"
	detail_is "User not found"
	bearer 200 "$ACCESS" POST "/api/v1/users/$other/unlock"
}
api_unlock_cleanup()
{
	authd_cleanup
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
	use_ctl
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	kid=$(json_get http.body 'j["keys"][0]["kid"]')
	[ -n "$kid" ] || atf_fail "no kid in the JWKS"
	atf_check -s exit:0 -o match:"^$kid +[A-Z0-9]+ +\\*$" -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" key list
	atf_check -s exit:0 -o save:keys.json -e empty \
	    "$AUTHCTL_BIN" -j -f "$AUTHD_CONF_FILE" key list
	json_check keys.json "'$kid' in [k['kid'] for k in j['keys']
	    if k['current']]"
}
key_list_cleanup()
{
	authd_cleanup
}

atf_test_case key_generate
key_generate_head()
{
	atf_set descr "key generate and rotate in a new key directory"
}
key_generate_body()
{
	local first
	require_env
	mkdir -m 0700 keys
	sed "s|^keys .*|keys \"$PWD/keys\"|" "$AUTHD_TEST_CONF" >k.conf
	atf_check -s exit:0 -o match:'it is the current signing key' \
	    -o match:'seal key created' -e empty \
	    "$AUTHCTL_BIN" -f k.conf key generate
	first=$(cat keys/current)
	atf_check -s exit:0 -o save:rot.json -e empty \
	    "$AUTHCTL_BIN" -j -f k.conf key rotate
	json_check rot.json "j['current'] and j['kid'] != '$first'"
	atf_check -s exit:0 -o match:"^$first " -e empty \
	    "$AUTHCTL_BIN" -f k.conf key list
	atf_check -s exit:2 -o empty -e match:usage \
	    "$AUTHCTL_BIN" -f k.conf key list now
}

atf_test_case show_status cleanup
show_status_head()
{
	atf_set descr "show status over the control socket lists the " \
	    "processes, the database and Redis"
}
show_status_body()
{
	local pid
	start
	use_ctl
	expect_children worker 2
	# Workers report to the parent once a second.
	wait_until 5 sh -c "'$AUTHCTL_BIN' -f '$AUTHD_CONF_FILE' show status |
	    grep -q '^database up, redis up'" ||
	    atf_fail "show status never says the database and Redis are up"
	atf_check -s exit:0 -o save:status.out -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" show status
	for pid in $(authd_children worker) $(authd_children keyholder); do
		grep -qw "$pid" status.out ||
		    atf_fail "pid $pid is not in show status"
	done
	atf_check -o match:"^parent +0 +$AUTHD_PID " \
	    -o match:'^worker .*database up, redis up' \
	    -o match:'^keyholder .*queue [0-9]+$' \
	    -o match:'^authd [0-9.]+, up 0d 00:00:[0-9]+, 2 workers, 2 keyholders' \
	    -o match:'^database up, redis up' cat status.out
	# -s names the socket explicitly; abbreviated.
	atf_check -s exit:0 -o match:'^database up' -e empty \
	    "$AUTHCTL_BIN" -s "$AUTHD_SOCKET" sh st
	atf_check -s exit:0 -o save:status.json -e empty \
	    "$AUTHCTL_BIN" -j -f "$AUTHD_CONF_FILE" show status
	json_check status.json "j['database'] == 'up' and j['redis'] == 'up'
	    and j['workers'] == 2 and j['keyholders'] == 2 and
	    len(j['processes']) == 5 and $AUTHD_PID in
	    [p['pid'] for p in j['processes'] if p['role'] == 'parent']"
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
	atf_check -s exit:1 -o empty -e not-empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" -s "$PWD/no.sock" reload
}

atf_test_case log_level cleanup
log_level_head()
{
	atf_set descr "log verbose reaches the running workers; log brief " \
	    "ends it"
}
# dup_company: a company name taken twice; the worker logs the refused
# insert at debug level only.
dup_company()
{
	http_json POST "$AUTHD_URL/api/v1/companies/" \
	    "{\"name\": \"$DUP_NAME\"}" -H "Authorization: Bearer $ROOT_T" \
	    >/dev/null
}
dup_logged()
{
	dup_company
	grep -q companies_name_key "$AUTHD_LOG"
}
log_level_body()
{
	start
	use_ctl
	login_admin
	ROOT_T=$ACCESS
	DUP_NAME="ctl-dup-$(rand)"
	dup_company
	dup_company
	[ "$(cat http.status)" = 400 ] || atf_fail "duplicate company accepted"
	sleep 0.5
	if grep -q companies_name_key "$AUTHD_LOG"; then
		atf_fail "debug message logged while brief"
	fi
	atf_check -s exit:0 -o inline:"logging verbose\n" -e empty \
	    actl log verbose
	wait_until 10 dup_logged || atf_fail "no debug message when verbose"
	atf_check -s exit:0 -o inline:'{"result": "ok"}\n' -e empty \
	    actl -j log brief
	sleep 0.5
	: >"$AUTHD_LOG"
	dup_company
	dup_company
	sleep 0.5
	if grep -q companies_name_key "$AUTHD_LOG"; then
		atf_fail "debug message logged after log brief"
	fi
}
log_level_cleanup()
{
	authd_cleanup
}

atf_test_case reload cleanup
reload_head()
{
	atf_set descr "reload succeeds, and prints the file:line error of a " \
	    "broken config while the daemon keeps the old one"
}
reload_body()
{
	start
	use_ctl
	atf_check -s exit:0 -o inline:"reload done\n" -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" reload
	atf_check -s exit:0 -o inline:'{"result": "ok"}\n' -e empty \
	    "$AUTHCTL_BIN" -j -f "$AUTHD_CONF_FILE" reload
	http_expect 200 GET "$AUTHD_URL/health/db"
	# The daemon parses the file; the error goes back to authctl.
	cp "$AUTHD_CONF_FILE" good.conf
	echo 'nonsense keyword here' >>"$AUTHD_CONF_FILE"
	atf_check -s exit:1 -o empty \
	    -e match:"$AUTHD_CONF_FILE:[0-9]+: " \
	    -e match:'keeping the running configuration' \
	    "$AUTHCTL_BIN" -f good.conf -s "$AUTHD_SOCKET" reload
	http_expect 200 GET "$AUTHD_URL/health/db"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
	atf_check -s exit:0 -o match:'0 reloads|[0-9]+ reloads' -e empty \
	    "$AUTHCTL_BIN" -s "$AUTHD_SOCKET" show status
	cp good.conf "$AUTHD_CONF_FILE"
	atf_check -s exit:0 -o ignore -e empty \
	    "$AUTHCTL_BIN" -s "$AUTHD_SOCKET" reload
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
	atf_check -s exit:0 -o ignore -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db migrate
	atf_check -s exit:1 -o not-match:'password' -e match:'already initialized' \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" init
	atf_check -s exit:1 -o not-match:'password' -e not-empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" init "another company" \
	    other@example.com other
	atf_check -s exit:2 -o empty -e match:usage \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" init a b c d
}

atf_test_case db_status
db_status_head()
{
	atf_set descr "db status lists every migration as applied; migrate " \
	    "again changes nothing"
}
db_status_body()
{
	require_env
	atf_check -s exit:0 -o match:'^001_schema +applied' \
	    -o match:'^008_authctl +applied' -o not-match:'pending' -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db status
	atf_check -s exit:0 -o save:st.json -e empty \
	    "$AUTHCTL_BIN" -j -f "$AUTHD_TEST_CONF" db status
	json_check st.json "all(m['status'] == 'applied' for m in j) and
	    len(j) == $(ls "$AUTHD_SQL_DIR"/[0-9]*_*.sql | wc -l)"
	atf_check -s exit:0 -o inline:"database is up to date\n" -e empty \
	    "$AUTHCTL_BIN" -f "$AUTHD_TEST_CONF" db migrate
	atf_check -s exit:0 -o save:m.json -e empty \
	    "$AUTHCTL_BIN" -j -f "$AUTHD_TEST_CONF" db migrate
	json_check m.json "j == {'applied': []}"
}

atf_test_case dev_config
dev_config_head()
{
	atf_set descr "without AUTHD_CONF and /etc/authd.conf, authctl " \
	    "reads ./var/authd.conf (make run)"
}
dev_config_body()
{
	require_env
	[ -e /etc/authd.conf ] && atf_skip "/etc/authd.conf exists here"
	mkdir var
	cp "$AUTHD_TEST_CONF" var/authd.conf
	atf_check -s exit:0 -o match:"$AUTHD_ADMIN_USERNAME" -e empty \
	    env -u AUTHD_CONF "$AUTHCTL_BIN" show users
	# AUTHD_CONF wins over it.
	atf_check -s exit:1 -o empty -e match:"$PWD/missing.conf" \
	    env AUTHD_CONF="$PWD/missing.conf" "$AUTHCTL_BIN" show users
	mkdir elsewhere
	cd elsewhere
	atf_check -s exit:1 -o empty -e match:'/etc/authd.conf' \
	    env -u AUTHD_CONF "$AUTHCTL_BIN" show users
}

# --- installation and manual pages -------------------------------------

atf_test_case install
install_head()
{
	atf_set descr "make install DESTDIR= makes the expected tree; " \
	    "make uninstall removes it"
	atf_set timeout 600
}
install_body()
{
	local d p f
	require_env
	d=$PWD/root
	# The PREFIX the tree was built with: install must rebuild nothing
	# (under ASAN=1 a plain rebuild would mix flags).
	p=$d/usr/local
	make -q -C "$AUTHD_SRCDIR" authd/authd authd/authd-keyholder \
	    authd/authd-worker authctl/authctl ||
	    atf_skip "the tree changed since it was built"
	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$AUTHD_SRCDIR" install DESTDIR="$d"
	for f in sbin/authctl libexec/authd/authd \
	    libexec/authd/authd-keyholder libexec/authd/authd-worker; do
		[ -f "$p/$f" ] && [ -x "$p/$f" ] || atf_fail "no $f"
	done
	# sbin/authd leads to libexec/authd, where it finds its children.
	[ "$(readlink "$p/sbin/authd")" = ../libexec/authd/authd ] ||
	    atf_fail "sbin/authd: $(ls -l "$p/sbin/authd" 2>&1)"
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$p/sbin/authd" -n -f "$AUTHD_TEST_CONF"
	rm "$p/libexec/authd/authd-worker"
	atf_check -s exit:1 -e match:"libexec/authd/authd-worker" \
	    "$p/sbin/authd" -n -f "$AUTHD_TEST_CONF"
	for f in "$AUTHD_SRCDIR"/man/*.[578]; do
		f=$(basename "$f")
		[ -f "$p/share/man/man${f##*.}/$f" ] ||
		    atf_fail "page $f not installed"
	done
	for f in "$AUTHD_SRCDIR"/sql/*.sql; do
		cmp -s "$f" "$p/share/authd/sql/$(basename "$f")" ||
		    atf_fail "$(basename "$f") not installed"
	done
	cmp -s "$AUTHD_SRCDIR/etc/authd.conf" \
	    "$p/share/authd/examples/authd.conf" ||
	    atf_fail "example authd.conf not installed"
	cmp -s "$AUTHD_SRCDIR/etc/common-passwords.txt" \
	    "$p/share/authd/common-passwords.txt" ||
	    atf_fail "the deny list is not installed"
	f=$p/lib/systemd/system/authd.service
	[ -f "$f" ] || atf_fail "no systemd unit"
	atf_check -o match:'^ExecStart=/usr/local/sbin/authd -d$' \
	    -o match:'^ExecReload=/usr/local/sbin/authctl reload$' \
	    -o match:'^Restart=on-failure$' -o match:'^ProtectSystem=strict$' \
	    -o match:'^RuntimeDirectory=authd$' cat "$f"
	atf_check -o inline:"700\n" stat -c %a "$d/etc/authd/keys"
	# The compiled-in SQL directory is the installed one.
	env -u AUTHD_SQL_DIR "$p/sbin/authctl" -j -f "$AUTHD_TEST_CONF" \
	    db status >sqldir.out 2>&1
	grep -q /usr/local/share/authd/sql sqldir.out ||
	    atf_fail "$(oneline "SQL directory:" "$(cat sqldir.out)")"
	atf_check -s exit:0 -o ignore -e ignore \
	    make -C "$AUTHD_SRCDIR" uninstall DESTDIR="$d"
	atf_check -o empty find "$d" -type f -o -type l
	# The key directory stays.
	[ -d "$d/etc/authd/keys" ] || atf_fail "uninstall removed the keys"
}

atf_test_case manpages
manpages_head()
{
	atf_set descr "every manual page passes mandoc -Tlint -Wwarning"
}
manpages_body()
{
	local f n=0
	for f in "$(atf_get_srcdir)"/../../man/*.[1-9]; do
		atf_check -s exit:0 -o empty -e empty \
		    mandoc -Tlint -Wwarning "$f"
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] || atf_fail "only $n manual pages"
	# Every command of authctl is in its page.
	f="$(atf_get_srcdir)/../../man/authctl.8"
	"$AUTHCTL_BIN" 2>&1 | sed -n 's/^	\([a-z]*\) \([a-z]*\).*/\1 \2/p' |
	    while read -r w1 w2; do
		grep -q "^\\.It Cm $w1${w2:+ $w2}" "$f" ||
		    grep -q "^\\.It Xo Cm $w1${w2:+ $w2}" "$f" ||
		    grep -q "^\\.Cm $w1${w2:+ $w2}" "$f" ||
		    echo "$w1 $w2" >>undocumented
	    done
	[ ! -s undocumented ] ||
	    atf_fail "$(oneline "not in authctl.8:" "$(cat undocumented)")"
}

atf_init_test_cases()
{
	atf_add_test_case grammar
	atf_add_test_case keywords
	atf_add_test_case show_db
	atf_add_test_case company
	atf_add_test_case user_db
	atf_add_test_case role
	atf_add_test_case sessions
	atf_add_test_case passwd
	atf_add_test_case lock
	atf_add_test_case api_unlock
	atf_add_test_case key_list
	atf_add_test_case key_generate
	atf_add_test_case show_status
	atf_add_test_case no_daemon
	atf_add_test_case log_level
	atf_add_test_case reload
	atf_add_test_case init_twice
	atf_add_test_case db_status
	atf_add_test_case dev_config
	atf_add_test_case install
	atf_add_test_case manpages
}
