#! /usr/bin/env atf-sh
# Mail, password reset and email verification over real HTTP and real
# SMTP: each test case starts its own SMTP sink (lib/smtpsink.py, aiosmtpd)
# on a free port, writing a maildir in the case's directory, and its own
# authd whose "smtp url" points at it.  Tokens are taken from the mails
# the sink received, as a user would.

# Debian's python3 first: the SMTP sink needs its python3-aiosmtpd, and a
# python3 shim earlier in PATH (pyenv) can take seconds to start, which
# every JSON check of lib.sh pays.
PATH=/usr/bin:/bin:$PATH
export PATH

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

# The public url as configured (with a trailing slash, which authd drops)
# and as links must start.
PUBLIC_CONF=https://app.example.test/portal/
PUBLIC=https://app.example.test/portal
RESET_REQ=/api/v1/auth/password-reset-request
RESET=/api/v1/auth/password-reset
VERIFY=/api/v1/auth/verify-email
RESEND=/api/v1/auth/resend-verification
MSG_REQ='If a matching account exists, an email will be sent with instructions.'
MSG_RESEND='If the address needs verification, an email has been sent.'
BAD_TOKEN='Invalid or expired token'

maildir()
{
	python3 "$AUTHTEST_LIB/maildir.py" "$@"
}

# sink_start [SMTPSINK ARGS...]: an SMTP sink on a free port (SMTP_PORT),
# writing ./mail; it is stopped by mail_cleanup.
sink_start()
{
	SMTP_PORT=$(free_port)
	rm -f sink.pid
	python3 "$AUTHTEST_LIB/smtpsink.py" \
	    --listen "127.0.0.1:$SMTP_PORT" --maildir "$PWD/mail" \
	    --pidfile "$PWD/sink.pid" "$@" >sink.log 2>&1 &
	echo $! >>sink.pids
	wait_until 15 test -f sink.pid ||
	    atf_fail "$(oneline "the SMTP sink did not start:" \
	    "$(cat sink.log)")"
}

mail_conf()
{
	conf_set "$AUTHD_CONF_FILE" smtp \
	    "url \"smtp://127.0.0.1:$SMTP_PORT\" from \"authd@test\""
	conf_set "$AUTHD_CONF_FILE" public "url \"$PUBLIC_CONF\""
}

# mstart [SMTPSINK ARGS...]: the sink, then an authd that mails to it.
mstart()
{
	require_env
	sink_start "$@"
	start mail_conf
}

mail_cleanup()
{
	local pid
	if [ -f sink.pids ]; then
		while read -r pid; do
			kill -TERM "$pid" 2>/dev/null
		done <sink.pids
	fi
	authd_cleanup
}

# mail_count RCPT: MAILS = the number of messages delivered to RCPT.
mail_count()
{
	MAILS=$(maildir count mail "$1") ||
	    atf_fail "cannot read the maildir"
}

mail_has()
{
	[ "$(maildir count mail "$1")" -ge "$2" ]
}

# mail_wait RCPT N: waits up to 20 s for N messages delivered to RCPT.
mail_wait()
{
	wait_until 20 mail_has "$1" "$2" ||
	    atf_fail "$(oneline "$2 mail(s) to $1 expected, got" \
	    "$(maildir count mail "$1"); sink: $(tail -n 3 sink.log)")"
}

# mail_token RCPT PATH: TOKEN = the token of the newest PATH link mailed
# to RCPT; the message itself is left in mail.txt.
mail_token()
{
	maildir show mail "$1" >mail.txt ||
	    atf_fail "no message to $1"
	TOKEN=$(maildir link mail "$1" "$2" 2>link.err) ||
	    atf_fail "$(oneline "no $2 link mailed to $1:" "$(cat link.err)")"
}

# reset_request EMAIL [CURL ARGS...]: must answer 202 and the message.
reset_request()
{
	local e
	e=$1
	shift
	http_expect 202 POST "$AUTHD_URL$RESET_REQ" \
	    -H 'Content-Type: application/json' \
	    --data-binary "$(jsonobj email "$e")" "$@"
	message_is "$MSG_REQ"
}

# reset CODE TOKEN PASSWORD [EMAIL]
reset()
{
	if [ $# -gt 3 ]; then
		http_json POST "$AUTHD_URL$RESET" "$(jsonobj token "$2" \
		    new_password "$3" email "$4")" >/dev/null
	else
		http_json POST "$AUTHD_URL$RESET" "$(jsonobj token "$2" \
		    new_password "$3")" >/dev/null
	fi
	[ "$(cat http.status)" = "$1" ] ||
	    atf_fail "$(oneline "password-reset: status $(cat http.status)," \
	    "expected $1; body: $(head -c 300 http.body)")"
}

verify()
{
	http_json POST "$AUTHD_URL$VERIFY" "$(jsonobj token "$2")" >/dev/null
	[ "$(cat http.status)" = "$1" ] ||
	    atf_fail "$(oneline "verify-email: status $(cat http.status)," \
	    "expected $1; body: $(head -c 300 http.body)")"
}

# A password the default policy accepts, new each time.
newpass()
{
	NEWPASS="Fresh-$(rand)-Pw9"
}

# token_row UID TOKEN COND: the user's reset token row for TOKEN (its
# SHA-256) satisfies COND.
token_row()
{
	sql_expect 1 "SELECT count(*) FROM password_reset_tokens
	    WHERE user_id = $1 AND token_hash = sha256(convert_to('$2', 'UTF8'))
	    AND $3"
}

atf_test_case reset_flow cleanup
reset_flow_head()
{
	atf_set descr "a reset mail arrives, its token works once, every" \
	    "session is revoked and a 'password changed' mail follows"
}
reset_flow_body()
{
	local email old_hash
	mstart
	mkuser reset
	email="$NEW_USER@example.com"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	OLD_ACCESS=$ACCESS
	OLD_REFRESH=$REFRESH
	OLD_SID=$SID
	sql "SELECT hashed_password FROM users WHERE id = $NEW_UID"
	old_hash=$SQL

	reset_request "$email"
	header_is Cache-Control no-store
	mail_wait "$email" 1
	mail_token "$email" reset-password
	# The mail: from the configured sender to the stored address, with a
	# link under the public url.
	atf_check -o ignore grep -x "From: authd@test" mail.txt
	atf_check -o ignore grep -x "To: $email" mail.txt
	atf_check -o ignore grep -x "Subject: Reset your password" mail.txt
	atf_check -o ignore grep -x "Hello $NEW_USER," mail.txt
	atf_check -o ignore grep -Fx "$PUBLIC/reset-password?token=$TOKEN" \
	    mail.txt
	[ "${#TOKEN}" -eq 43 ] || atf_fail "token of ${#TOKEN} characters"
	# Stored as its SHA-256 only, for one hour; nothing changed yet.
	token_row "$NEW_UID" "$TOKEN" "used_at IS NULL AND expires_at
	    BETWEEN now() + interval '59 minutes' AND now() + interval '1 hour'"
	works "$OLD_ACCESS"
	sql_expect "$old_hash" "SELECT hashed_password FROM users
	    WHERE id = $NEW_UID"
	if grep -F -q "$TOKEN" "$AUTHD_LOG"; then
		atf_fail "the token is in the daemon's log"
	fi

	newpass
	reset 200 "$TOKEN" "$NEWPASS"
	message_is "Password updated successfully"
	header_is Cache-Control no-store
	token_row "$NEW_UID" "$TOKEN" "used_at IS NOT NULL"
	sql_expect "f|t" "SELECT hashed_password = '$old_hash',
	    password_changed_at > now() - interval '1 minute'
	    FROM users WHERE id = $NEW_UID"
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE
	    action = 'user.password_reset' AND object_id = $NEW_UID
	    AND actor_user_id = $NEW_UID AND host(ip_address) = '127.0.0.1'
	    AND detail = '{\"sessions_revoked\": 1}'"

	# Every session is gone: the old tokens no longer work.
	session_active "$OLD_SID" f
	denied "$OLD_ACCESS" "Token has been revoked"
	refresh 401 "$OLD_REFRESH"
	# The new password works, the old one does not.
	login "$NEW_USER" "$NEWPASS"
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"

	# Single use.
	reset 400 "$TOKEN" "Other-$(rand)-Pw9"
	detail_is "$BAD_TOKEN"
	login "$NEW_USER" "$NEWPASS"

	# The notice.
	mail_wait "$email" 2
	maildir show mail "$email" 2 >notice.txt
	atf_check -o ignore grep -x "Subject: Your password was changed" \
	    notice.txt
	atf_check -o ignore grep -F "from the address 127.0.0.1." notice.txt
}
reset_flow_cleanup()
{
	mail_cleanup
}

atf_test_case reset_expired cleanup
reset_expired_head()
{
	atf_set descr "an expired reset token answers 400 and changes nothing"
}
reset_expired_body()
{
	local email
	mstart
	mkuser expired
	email="$NEW_USER@example.com"
	reset_request "$email"
	mail_wait "$email" 1
	mail_token "$email" reset-password
	sql "UPDATE password_reset_tokens SET expires_at = now() - interval
	    '1 second' WHERE user_id = $NEW_UID"
	sql "SELECT hashed_password FROM users WHERE id = $NEW_UID"
	newpass
	reset 400 "$TOKEN" "$NEWPASS"
	detail_is "$BAD_TOKEN"
	sql_expect t "SELECT hashed_password = '$SQL' FROM users
	    WHERE id = $NEW_UID"
	token_row "$NEW_UID" "$TOKEN" "used_at IS NULL"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
}
reset_expired_cleanup()
{
	mail_cleanup
}

atf_test_case reset_older_invalid cleanup
reset_older_invalid_head()
{
	atf_set descr "a new reset request invalidates the older token"
}
reset_older_invalid_body()
{
	local email first second
	mstart
	mkuser older
	email="$NEW_USER@example.com"
	reset_request "$email"
	mail_wait "$email" 1
	mail_token "$email" reset-password
	first=$TOKEN
	reset_request "$email"
	mail_wait "$email" 2
	mail_token "$email" reset-password
	second=$TOKEN
	[ "$first" != "$second" ] || atf_fail "the same token twice"
	sql_expect 1 "SELECT count(*) FROM password_reset_tokens
	    WHERE user_id = $NEW_UID"
	newpass
	reset 400 "$first" "$NEWPASS"
	detail_is "$BAD_TOKEN"
	reset 200 "$second" "$NEWPASS"
	login "$NEW_USER" "$NEWPASS"
}
reset_older_invalid_cleanup()
{
	mail_cleanup
}

atf_test_case reset_unknown cleanup
reset_unknown_head()
{
	atf_set descr "an unknown address gets the same 202 and no mail"
}
reset_unknown_body()
{
	local email unknown
	mstart
	mkuser known
	email="$NEW_USER@example.com"
	unknown="nobody_$(rand)@example.com"
	# The RateLimit counters go down with every request of the address,
	# whoever it asks about: they are not part of the comparison.
	reset_request "$unknown"
	cp http.body unknown.body
	tr -d '\r' <http.headers |
	    grep -iv '^date:\|^x-request-id:\|^ratelimit-remaining:\|^ratelimit-reset:' \
	    >unknown.headers
	reset_request "$email"
	cp http.body known.body
	tr -d '\r' <http.headers |
	    grep -iv '^date:\|^x-request-id:\|^ratelimit-remaining:\|^ratelimit-reset:' \
	    >known.headers
	atf_check cmp unknown.body known.body
	atf_check cmp unknown.headers known.headers
	# The known address's mail arrives; nothing was sent for the other,
	# which was asked for first.
	mail_wait "$email" 1
	sleep 1
	mail_count "$unknown"
	[ "$MAILS" -eq 0 ] || atf_fail "a mail went to the unknown address"
	MAILS=$(maildir count mail)
	[ "$MAILS" -eq 1 ] || atf_fail "$MAILS mails, expected 1"
	sql_expect 0 "SELECT count(*) FROM password_reset_tokens t
	    JOIN users u ON u.id = t.user_id WHERE u.email = '$unknown'"
	# An inactive user is answered the same, without a mail either.
	mkuser inactive
	sql "UPDATE users SET is_active = false WHERE id = $NEW_UID"
	reset_request "$NEW_USER@example.com"
	atf_check cmp http.body known.body
	sql_expect 0 "SELECT count(*) FROM password_reset_tokens
	    WHERE user_id = $NEW_UID"
	# Validation is the same for everyone.
	http_expect 422 POST "$AUTHD_URL$RESET_REQ" \
	    -H 'Content-Type: application/json' --data-binary '{}'
	json_check http.body 'j["detail"][0]["loc"] == ["body", "email"] and
	    j["detail"][0]["type"] == "missing"'
	# Not an address at all: as the original's EmailStr, a 422.
	for bad in notanemail 'a@b' '@example.com' 'a b@example.com'; do
		http_expect 422 POST "$AUTHD_URL$RESET_REQ" \
		    -H 'Content-Type: application/json' \
		    --data-binary "$(jsonobj email "$bad")"
		json_check http.body 'j["detail"] == [{"type": "value_error",
		    "loc": ["body", "email"],
		    "msg": "value is not a valid email address"}]'
	done
}
reset_unknown_cleanup()
{
	mail_cleanup
}

atf_test_case reset_timing cleanup
reset_timing_head()
{
	atf_set descr "a reset request for an unknown address takes about" \
	    "as long as one for a known address"
}
reset_timing_body()
{
	local email unknown
	mstart
	mkuser timing
	email="$NEW_USER@example.com"
	unknown="nobody_$(rand)@example.com"
	# One client in Python, the two kinds alternating in both orders, so
	# that neither always follows the other, and each request meeting an
	# idle daemon: a known address's mail goes out after the answer, and
	# with the workers taking new connections in turn that work delayed
	# the request two later, on the same worker, always of one kind.
	python3 - "$AUTHD_URL$RESET_REQ" "$email" "$unknown" >timing.out \
	    2>&1 <<'EOF' ||
import http.client, json, statistics, sys, time, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
def req(addr):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    t = time.perf_counter()
    c.request("POST", url.path, json.dumps({"email": addr}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    d = time.perf_counter() - t
    c.close()
    assert r.status == 202, r.status
    time.sleep(0.02)
    return d
k, u = [], []
for i in range(60):
    if i % 2:
        k.append(req(sys.argv[2]))
        u.append(req(sys.argv[3]))
    else:
        u.append(req(sys.argv[3]))
        k.append(req(sys.argv[2]))
mk, mu = statistics.median(k), statistics.median(u)
print("median known %.2f ms, unknown %.2f ms" % (mk * 1000, mu * 1000))
# Generous: a shared test machine is noisy.  What matters is that the
# unknown address is not answered measurably faster.
sys.exit(0 if 2 / 3 <= mu / mk <= 3 / 2 else 1)
EOF
	    atf_fail "$(oneline "timings differ:" "$(cat timing.out)")"
	cat timing.out
	mail_wait "$email" 60
}
reset_timing_cleanup()
{
	mail_cleanup
}

atf_test_case reset_host_header cleanup
reset_host_header_head()
{
	atf_set descr "the link uses the public url whatever the Host," \
	    "X-Forwarded-Host and X-Forwarded-Proto of the request"
}
reset_host_header_body()
{
	local email
	mstart
	mkuser host
	email="$NEW_USER@example.com"
	reset_request "$email" -H 'Host: evil.example' \
	    -H 'X-Forwarded-Host: evil.example' -H 'X-Forwarded-Proto: http' \
	    -H 'Forwarded: host=evil.example'
	mail_wait "$email" 1
	mail_token "$email" reset-password
	atf_check -o ignore grep -Fx "$PUBLIC/reset-password?token=$TOKEN" \
	    mail.txt
	if grep -q evil mail.txt; then
		atf_fail "the request's host is in the mail"
	fi
}
reset_host_header_cleanup()
{
	mail_cleanup
}

atf_test_case reset_stored_address cleanup
reset_stored_address_head()
{
	atf_set descr "the mail goes to the stored address when a case" \
	    "variant is submitted; other Unicode forms are other addresses"
}
reset_stored_address_body()
{
	local name stored upper dotless dotless_uid
	mstart
	ids
	name="Mike_$(rand)"
	stored="$name@Example.ORG"
	upper=$(echo "$stored" | tr '[:lower:]' '[:upper:]')
	sql "INSERT INTO users (company_id, email, username, hashed_password)
	    SELECT $ROOT_CID, '$stored', '$name', hashed_password FROM users
	    WHERE id = $ADMIN_UID RETURNING id"
	NEW_UID=$SQL
	reset_request "$upper"
	mail_wait "$stored" 1
	mail_count "$upper"
	[ "$MAILS" -eq 0 ] || atf_fail "a mail went to the submitted address"
	mail_token "$stored" reset-password
	atf_check -o ignore grep -x "To: $stored" mail.txt
	token_row "$NEW_UID" "$TOKEN" "true"

	# A dotless i makes another address: lower() does not fold it, so
	# a request for one user issues nothing for the other.
	dotless=$(echo "$name@example.org" | tr '[:upper:]' '[:lower:]' |
	    sed 's/i/ı/')
	sql "INSERT INTO users (company_id, email, username, hashed_password)
	    SELECT $ROOT_CID, '$dotless', 'dotless_$(rand)', hashed_password
	    FROM users WHERE id = $ADMIN_UID RETURNING id"
	dotless_uid=$SQL
	sql "DELETE FROM password_reset_tokens WHERE user_id = $NEW_UID"
	reset_request "$dotless"
	sql_expect "1|0" "SELECT
	    (SELECT count(*) FROM password_reset_tokens
	    WHERE user_id = $dotless_uid),
	    (SELECT count(*) FROM password_reset_tokens
	    WHERE user_id = $NEW_UID)"
	# A fullwidth form matches nobody.
	reset_request "ｍｉｋｅ_x@example.org"
	sql_expect 0 "SELECT count(*) FROM password_reset_tokens
	    WHERE user_id = $NEW_UID"
}
reset_stored_address_cleanup()
{
	mail_cleanup
}

atf_test_case reset_policy cleanup
reset_policy_head()
{
	atf_set descr "a new password against the policy is a 422 at" \
	    "new_password and leaves the token usable"
}
reset_policy_body()
{
	local email
	mstart
	mkuser policy
	email="$NEW_USER@example.com"
	reset_request "$email"
	mail_wait "$email" 1
	mail_token "$email" reset-password
	reset 422 "$TOKEN" "short"
	json_check http.body 'len(j["detail"]) >= 2 and all(
	    e["loc"] == ["body", "new_password"] and
	    e["type"] == "value_error" and e["msg"] for e in j["detail"])'
	reset 422 "$TOKEN" "X-$NEW_USER-9x"
	json_check http.body 'any(e["loc"] == ["body", "new_password"]
	    for e in j["detail"])'
	token_row "$NEW_UID" "$TOKEN" "used_at IS NULL"
	newpass
	reset 200 "$TOKEN" "$NEWPASS"
	login "$NEW_USER" "$NEWPASS"
}
reset_policy_cleanup()
{
	mail_cleanup
}

atf_test_case reset_bound_user cleanup
reset_bound_user_head()
{
	atf_set descr "a token with the email of another user answers 400" \
	    "and changes neither account"
}
reset_bound_user_body()
{
	local a_email b_email b_uid b_hash
	mstart
	mkuser a
	a_email="$NEW_USER@example.com"
	A_USER=$NEW_USER
	mkuser b
	b_email="$NEW_USER@example.com"
	b_uid=$NEW_UID
	sql "SELECT hashed_password FROM users WHERE id = $b_uid"
	b_hash=$SQL
	reset_request "$a_email"
	mail_wait "$a_email" 1
	mail_token "$a_email" reset-password
	newpass
	reset 400 "$TOKEN" "$NEWPASS" "$b_email"
	detail_is "$BAD_TOKEN"
	sql_expect t "SELECT hashed_password = '$b_hash' FROM users
	    WHERE id = $b_uid"
	# With its own address (in another case) the token works.
	reset 200 "$TOKEN" "$NEWPASS" "$(echo "$a_email" |
	    tr '[:lower:]' '[:upper:]')"
	login "$A_USER" "$NEWPASS"
	sql_expect t "SELECT hashed_password = '$b_hash' FROM users
	    WHERE id = $b_uid"
}
reset_bound_user_cleanup()
{
	mail_cleanup
}

atf_test_case reset_bad_input cleanup
reset_bad_input_head()
{
	atf_set descr "malformed and unknown tokens answer 400, missing" \
	    "fields 422"
}
reset_bad_input_body()
{
	mstart
	newpass
	reset 400 "abc" "$NEWPASS"
	detail_is "$BAD_TOKEN"
	reset 400 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$NEWPASS"
	detail_is "$BAD_TOKEN"
	reset 400 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$NEWPASS"
	detail_is "$BAD_TOKEN"
	http_expect 422 POST "$AUTHD_URL$RESET" \
	    -H 'Content-Type: application/json' --data-binary '{}'
	json_check http.body 'sorted(tuple(e["loc"]) for e in j["detail"]) ==
	    [("body", "new_password"), ("body", "token")]'
	http_expect 422 POST "$AUTHD_URL$RESET" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"token": 5, "new_password": "x"}'
	verify 400 "abc"
	detail_is "$BAD_TOKEN"
	http_expect 422 POST "$AUTHD_URL$VERIFY" \
	    -H 'Content-Type: application/json' --data-binary '{}'
	http_expect 401 POST "$AUTHD_URL$RESEND"
}
reset_bad_input_cleanup()
{
	mail_cleanup
}

atf_test_case verify_flow cleanup
verify_flow_head()
{
	atf_set descr "resend-verification mails a link that sets" \
	    "is_verified once; a verified user gets no mail"
}
verify_flow_body()
{
	local email
	mstart
	mkuser verify
	email="$NEW_USER@example.com"
	sql "UPDATE users SET is_verified = false WHERE id = $NEW_UID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 202 "$ACCESS" POST "$RESEND"
	message_is "$MSG_RESEND"
	mail_wait "$email" 1
	mail_token "$email" verify-email
	atf_check -o ignore grep -x "Subject: Verify your email address" \
	    mail.txt
	atf_check -o ignore grep -Fx "$PUBLIC/verify-email?token=$TOKEN" \
	    mail.txt
	sql_expect "1|f" "SELECT count(*), bool_or(used_at IS NOT NULL)
	    FROM email_verification_tokens WHERE user_id = $NEW_UID
	    AND email = '$email'
	    AND token_hash = sha256(convert_to('$TOKEN', 'UTF8'))
	    AND expires_at > now() + interval '23 hours'"
	sql_expect f "SELECT is_verified FROM users WHERE id = $NEW_UID"
	verify 200 "$TOKEN"
	message_is "Email verified"
	sql_expect t "SELECT is_verified FROM users WHERE id = $NEW_UID"
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE
	    action = 'user.verify_email' AND object_id = $NEW_UID"
	bearer 200 "$ACCESS" GET /api/v1/users/me
	json_check http.body 'j["is_verified"] is True'
	verify 400 "$TOKEN"
	detail_is "$BAD_TOKEN"

	# Verified now: the same answer, no mail.
	bearer 202 "$ACCESS" POST "$RESEND"
	message_is "$MSG_RESEND"
	sleep 1
	mail_count "$email"
	[ "$MAILS" -eq 1 ] || atf_fail "$MAILS mails, expected 1"
	sql_expect 0 "SELECT count(*) FROM email_verification_tokens
	    WHERE user_id = $NEW_UID AND used_at IS NULL"
}
verify_flow_cleanup()
{
	mail_cleanup
}

atf_test_case new_device cleanup
new_device_head()
{
	atf_set descr "a login from a device the account never used mails" \
	    "a notice; the first login and known devices mail nothing"
}
new_device_body()
{
	local email
	mstart
	mkuser device
	email="$NEW_USER@example.com"
	# The account's first login, then the same device again.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -H 'X-Device-Id: first'
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -H 'X-Device-Id: first'
	# Another device, another agent.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -H 'X-Device-Id: second' \
	    -A 'device-test/2.0'
	mail_wait "$email" 1
	maildir show mail "$email" >mail.txt
	atf_check -o ignore grep -x "Subject: New sign-in to your account" \
	    mail.txt
	atf_check -o ignore grep -x "  Address: 127.0.0.1" mail.txt
	atf_check -o ignore grep -x "  Device:  device-test/2.0" mail.txt
	# Known now; a session revoked still makes its device known.
	bearer 200 "$ACCESS" POST /api/v1/auth/logout
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -H 'X-Device-Id: second' \
	    -A 'device-test/2.0'
	sleep 1
	mail_count "$email"
	[ "$MAILS" -eq 1 ] || atf_fail "$MAILS mails, expected 1"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -H 'X-Device-Id: third'
	mail_wait "$email" 2
}
new_device_cleanup()
{
	mail_cleanup
}

atf_test_case require_verified cleanup
require_verified_head()
{
	atf_set descr "require verified email: a new account is mailed a" \
	    "link and cannot log in until it is followed (ASVS 2.1.12)"
	atf_set require.progs "curl python3"
}
verified_conf()
{
	mail_conf
	echo "require verified email yes" >>"$AUTHD_CONF_FILE"
}
require_verified_body()
{
	local name email
	require_env
	sink_start
	start verified_conf
	login_admin
	name="rv_$(rand)"
	email="$name@example.com"
	newpass
	bearer 200 "$ACCESS" POST /api/v1/users/ \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj email "$email" username "$name" \
	    password "$NEWPASS")"
	json_check http.body 'j["is_verified"] is False'
	http_expect 403 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$name" --data-urlencode "password=$NEWPASS"
	detail_is "Email not verified"
	sql_expect 1 "SELECT count(*) FROM login_history h JOIN users u
	    ON u.id = h.user_id WHERE u.username = '$name'
	    AND NOT h.success AND h.reason = 'email not verified'"
	sql_expect 0 "SELECT count(*) FROM sessions s JOIN users u
	    ON u.id = s.user_id WHERE u.username = '$name'"
	mail_wait "$email" 1
	mail_token "$email" verify-email
	verify 200 "$TOKEN"
	login "$name" "$NEWPASS"
	# The right password is still needed.
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=$name" --data-urlencode "password=x$NEWPASS"
}
require_verified_cleanup()
{
	mail_cleanup
}

atf_test_case verify_email_changed cleanup
verify_email_changed_head()
{
	atf_set descr "a verification token does not verify an address" \
	    "other than the one it was sent to; a new one replaces it"
}
verify_email_changed_body()
{
	local email first
	mstart
	mkuser changed
	email="$NEW_USER@example.com"
	sql "UPDATE users SET is_verified = false WHERE id = $NEW_UID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 202 "$ACCESS" POST "$RESEND"
	mail_wait "$email" 1
	mail_token "$email" verify-email
	first=$TOKEN
	sql "UPDATE users SET email = 'new_$NEW_USER@example.com'
	    WHERE id = $NEW_UID"
	verify 400 "$first"
	detail_is "$BAD_TOKEN"
	sql_expect f "SELECT is_verified FROM users WHERE id = $NEW_UID"
	# A new link goes to the new stored address; the old one stays dead.
	bearer 202 "$ACCESS" POST "$RESEND"
	mail_wait "new_$email" 1
	mail_token "new_$email" verify-email
	sql "UPDATE users SET email = '$email' WHERE id = $NEW_UID"
	verify 400 "$first"
	sql "UPDATE users SET email = 'new_$NEW_USER@example.com'
	    WHERE id = $NEW_UID"
	verify 200 "$TOKEN"
	sql_expect t "SELECT is_verified FROM users WHERE id = $NEW_UID"
}
verify_email_changed_cleanup()
{
	mail_cleanup
}

atf_test_case mail_retry cleanup
mail_retry_head()
{
	atf_set descr "a message the relay refuses for now is sent again"
}
mail_retry_body()
{
	local email
	mstart --fail 1
	mkuser retry
	email="$NEW_USER@example.com"
	reset_request "$email"
	mail_wait "$email" 1
	atf_check -o ignore grep -q 'attempt 1 failed.*retrying in 2 s' \
	    "$AUTHD_LOG"
	atf_check -o ignore grep -q 'sent (attempt 2)' "$AUTHD_LOG"
	mail_token "$email" reset-password
	newpass
	reset 200 "$TOKEN" "$NEWPASS"
}
mail_retry_cleanup()
{
	mail_cleanup
}

atf_test_case mail_relay_down cleanup
mail_relay_down_head()
{
	atf_set descr "with the relay down requests are answered at once" \
	    "and the failure is logged"
}
mail_relay_down_body()
{
	local email t
	mstart
	mkuser down
	email="$NEW_USER@example.com"
	# Stop the sink: nothing listens on the relay's port any more.
	kill -TERM "$(cat sink.pid)"
	wait_until 10 sh -c "! kill -0 $(cat sink.pid) 2>/dev/null" ||
	    atf_fail "the sink did not stop"
	t=$(curl -sS -o http.body -w '%{time_total}' \
	    -H 'Content-Type: application/json' \
	    --data-binary "$(jsonobj email "$email")" "$AUTHD_URL$RESET_REQ")
	message_is "$MSG_REQ"
	python3 -c "import sys; sys.exit(0 if float('$t') < 1.0 else 1)" ||
	    atf_fail "the answer took $t s"
	wait_until 10 grep -q "mail .* to <$email>: attempt 1 failed" \
	    "$AUTHD_LOG" || atf_fail "no failure logged"
	# The worker still answers while the mail waits for its retry.
	http_expect 200 GET "$AUTHD_URL/health/db"
}
mail_relay_down_cleanup()
{
	mail_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case reset_flow
	atf_add_test_case reset_expired
	atf_add_test_case reset_older_invalid
	atf_add_test_case reset_unknown
	atf_add_test_case reset_timing
	atf_add_test_case reset_host_header
	atf_add_test_case reset_stored_address
	atf_add_test_case reset_policy
	atf_add_test_case reset_bound_user
	atf_add_test_case reset_bad_input
	atf_add_test_case verify_flow
	atf_add_test_case new_device
	atf_add_test_case require_verified
	atf_add_test_case verify_email_changed
	atf_add_test_case mail_retry
	atf_add_test_case mail_relay_down
}
