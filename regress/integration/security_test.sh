#! /usr/bin/env atf-sh
# Account security over real HTTP: TOTP two-factor login (codes computed
# by oathtool, an independent implementation), brute-force lockout, rate
# limits with Redis and without it, CORS and the /metrics allow list.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

start()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	if [ $# -gt 0 ]; then
		"$@"
	fi
	authd_start || atf_fail "authd did not start (its log is on stderr)"
}

# Appends lines to the config of the daemon about to start.
conf_append()
{
	printf '%s\n' "$@" >>"$AUTHD_CONF_FILE"
}

totp()
{
	oathtool --totp -b "$1"
}

# Waits for the next 30-second TOTP step, so that a new code is new.
next_step()
{
	local s
	s=$(( 30 - $(date +%s) % 30 ))
	sleep "$s"
}

atf_test_case twofactor cleanup
twofactor_head()
{
	atf_set descr "TOTP: setup, enable, login with code, replay, " \
	    "recovery code once, disable (RFC 6238, ASVS 6.5)"
	atf_set timeout 150
}
twofactor_body()
{
	local secret code rc
	start
	mkuser tfa
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/setup
	header_is Cache-Control no-store
	jget secret http.body 'j["secret"]'
	json_check http.body 'j["otpauth_url"].startswith("otpauth://totp/") and
	    "secret=" + j["secret"] in j["otpauth_url"] and
	    len(j["secret"]) == 32'
	sql_expect t "SELECT two_factor_pending_sealed IS NOT NULL AND
	    position(convert_to('$secret', 'UTF8') in
	    two_factor_pending_sealed) = 0 FROM users WHERE id = $NEW_UID"
	bearer 400 "$ACCESS" POST /api/v1/users/me/2fa/enable \
	    -H 'Content-Type: application/json' --data '{"code": "000000"}'
	detail_is "Invalid two-factor code"
	code=$(totp "$secret")
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/enable \
	    -H 'Content-Type: application/json' --data "{\"code\": \"$code\"}"
	json_check http.body 'len(j["recovery_codes"]) == 10 and
	    len(set(j["recovery_codes"])) == 10'
	jget rc http.body 'j["recovery_codes"][0]'
	sql_expect 10 "SELECT count(*) FROM user_recovery_codes
	    WHERE user_id = $NEW_UID AND used_at IS NULL"

	# The password alone is not enough, nor a wrong code, nor the
	# code already used to enable.
	http_expect 401 POST "$(base)/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	detail_is "Two-factor code required"
	http_expect 401 POST "$(base)/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" \
	    --data-urlencode "totp_code=123456"
	detail_is "Invalid two-factor code"
	http_expect 401 POST "$(base)/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" \
	    --data-urlencode "totp_code=$code"
	detail_is "Invalid two-factor code"

	# A recovery code works once.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" --data-urlencode \
	    "totp_code=$rc"
	http_expect 401 POST "$(base)/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" \
	    --data-urlencode "totp_code=$rc"

	# A fresh code works once, also in JSON.
	next_step
	code=$(totp "$secret")
	http_json POST "$(base)/api/v1/auth/login" "$(jsonobj username \
	    "$NEW_USER" password "$AUTHD_ADMIN_PASSWORD" totp_code "$code")" \
	    >/dev/null
	[ "$(cat http.status)" = 200 ] || atf_fail "login with TOTP failed"
	jget ACCESS http.body 'j["access_token"]'
	http_json POST "$(base)/api/v1/auth/login" "$(jsonobj username \
	    "$NEW_USER" password "$AUTHD_ADMIN_PASSWORD" totp_code "$code")" \
	    >/dev/null
	[ "$(cat http.status)" = 401 ] || atf_fail "a TOTP code was replayed"

	# Disabling needs the password and a new code.
	bearer 400 "$ACCESS" POST /api/v1/users/me/2fa/disable \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj password wrong code "$code")"
	detail_is "Incorrect password or code"
	next_step
	code=$(totp "$secret")
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/disable \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj password "$AUTHD_ADMIN_PASSWORD" code "$code")"
	sql_expect "f|t|0" "SELECT two_factor_enabled,
	    two_factor_secret_sealed IS NULL, (SELECT count(*) FROM
	    user_recovery_codes WHERE user_id = $NEW_UID) FROM users
	    WHERE id = $NEW_UID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
}
twofactor_cleanup()
{
	authd_cleanup
}

atf_test_case twofactor_disable_recovery cleanup
twofactor_disable_recovery_head()
{
	atf_set descr "whoever lost the authenticator disables 2FA with the" \
	    "password and an unused recovery code; a used or unknown one" \
	    "and a wrong password are refused"
}
twofactor_disable_recovery_body()
{
	local secret code rc1 rc2
	start
	mkuser tfr
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/setup
	jget secret http.body 'j["secret"]'
	code=$(totp "$secret")
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/enable \
	    -H 'Content-Type: application/json' --data "{\"code\": \"$code\"}"
	jget rc1 http.body 'j["recovery_codes"][0]'
	jget rc2 http.body 'j["recovery_codes"][1]'
	# rc1 is spent on a login.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" --data-urlencode \
	    "totp_code=$rc1"
	for body in "$(jsonobj password "$AUTHD_ADMIN_PASSWORD" code "$rc1")" \
	    "$(jsonobj password "$AUTHD_ADMIN_PASSWORD" code abcde-fghij)" \
	    "$(jsonobj password wrong-password code "$rc2")"; do
		bearer 400 "$ACCESS" POST /api/v1/users/me/2fa/disable \
		    -H 'Content-Type: application/json' --data "$body"
		detail_is "Incorrect password or code"
	done
	sql_expect t "SELECT two_factor_enabled FROM users
	    WHERE id = $NEW_UID"
	# Typed as people do: upper case, with a space.
	rc2=$(printf '%s' "$rc2" | tr a-z A-Z | sed 's/-/ -/')
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/disable \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj password "$AUTHD_ADMIN_PASSWORD" code "$rc2")"
	sql_expect "f|0" "SELECT two_factor_enabled, (SELECT count(*) FROM
	    user_recovery_codes WHERE user_id = $NEW_UID) FROM users
	    WHERE id = $NEW_UID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
}
twofactor_disable_recovery_cleanup()
{
	authd_cleanup
}

atf_test_case twofactor_races cleanup
twofactor_races_head()
{
	atf_set descr "two enables with the same code at once: one wins and" \
	    "keeps its recovery codes; 2FA requests of a user deleted at" \
	    "the same time get 401 or 404, never 500"
	atf_set timeout 200
}
twofactor_races_body()
{
	local i secret code
	start
	login_admin
	ADM=$ACCESS
	i=0
	while [ "$i" -lt 8 ]; do
		mkuser "tfr$i"
		login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
		bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/setup
		jget secret http.body 'j["secret"]'
		code=$(totp "$secret")
		python3 - "$(base)" "$ACCESS" "$code" >race.out <<'PY' ||
import json, sys, threading, urllib.request
base, tok, code = sys.argv[1:4]
out, go = [], threading.Barrier(2)
def enable():
    req = urllib.request.Request(base + "/api/v1/users/me/2fa/enable",
        data=json.dumps({"code": code}).encode(), method="POST",
        headers={"Authorization": "Bearer " + tok,
                 "Content-Type": "application/json"})
    go.wait()
    try:
        with urllib.request.urlopen(req) as r:
            out.append((r.status, json.load(r)))
    except urllib.error.HTTPError as e:
        out.append((e.code, None))
ts = [threading.Thread(target=enable) for _ in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
ok = [b for st, b in out if st == 200]
assert sorted(st for st, b in out) == [200, 400], out
print(ok[0]["recovery_codes"][0])
PY
		    atf_fail "$(oneline "round $i: $(cat race.out)")"
		sql_expect 10 "SELECT count(*) FROM user_recovery_codes
		    WHERE user_id = $NEW_UID AND used_at IS NULL"
		login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" \
		    --data-urlencode "totp_code=$(cat race.out)"
		# The user deleted while its 2FA requests are on their way.
		python3 - "$(base)" "$ACCESS" "$ADM" "$NEW_UID" >race.out \
		    <<'PY' || atf_fail "$(oneline "round $i: $(cat race.out)")"
import sys, threading, urllib.request
base, tok, adm, uid = sys.argv[1:5]
out, go = [], threading.Barrier(9)
def call(path, t, method="POST"):
    req = urllib.request.Request(base + path, data=b"{}", method=method,
        headers={"Authorization": "Bearer " + t,
                 "Content-Type": "application/json"})
    go.wait()
    try:
        with urllib.request.urlopen(req) as r:
            out.append(r.status)
    except urllib.error.HTTPError as e:
        out.append(e.code)
ts = [threading.Thread(target=call, args=("/api/v1/users/me/2fa/setup",
    tok)) for _ in range(8)]
ts.append(threading.Thread(target=call, args=("/api/v1/users/" + uid, adm,
    "DELETE")))
[t.start() for t in ts]
[t.join() for t in ts]
assert all(st in (200, 400, 401, 404) for st in out), out
PY
		i=$((i + 1))
	done
	! grep -q "database error" "$AUTHD_LOG" ||
	    atf_fail "$(oneline "$(grep "database error" "$AUTHD_LOG")")"
}
twofactor_races_cleanup()
{
	authd_cleanup
}

# totp_at SECRET STEP: the code of that 30-second step.
totp_at()
{
	oathtool --totp -b "$1" -N "@$(( $2 * 30 ))"
}

atf_test_case twofactor_reenable cleanup
twofactor_reenable_head()
{
	atf_set descr "the replay guard belongs to a secret: a new secret" \
	    "set up after disabling takes its codes of the steps the old" \
	    "one used, and the guard holds while the secret stays"
	atf_set timeout 120
}
twofactor_reenable_body()
{
	local secret step
	start
	mkuser tfa
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	# Codes of fixed steps: T now, T+1 ahead (one step of skew is
	# allowed), so the case holds whenever a step boundary passes.
	step=$(( $(date +%s) / 30 ))
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/setup
	jget secret http.body 'j["secret"]'
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/enable \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj code "$(totp_at "$secret" "$step")")"
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/disable \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj password "$AUTHD_ADMIN_PASSWORD" \
	    code "$(totp_at "$secret" $((step + 1)))")"

	# A new secret: its code of step T is no replay of the old one's.
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/setup
	jget secret http.body 'j["secret"]'
	# Codes are strings (a leading zero counts), never numbers.
	bearer 422 "$ACCESS" POST /api/v1/users/me/2fa/enable \
	    -H 'Content-Type: application/json' \
	    --data '{"code": 123456}'
	json_check http.body 'j["detail"][0]["loc"] == ["body", "code"] and
	    j["detail"][0]["msg"] == "Input should be a valid string"'
	bearer 200 "$ACCESS" POST /api/v1/users/me/2fa/enable \
	    -H 'Content-Type: application/json' \
	    --data "$(jsonobj code "$(totp_at "$secret" "$step")")"
	json_check http.body 'len(j["recovery_codes"]) == 10'

	# The same secret goes on with its guard: T is spent, T+1 is taken
	# once, and a refused setup leaves the guard alone.
	http_json POST "$(base)/api/v1/auth/login" "$(jsonobj username \
	    "$NEW_USER" password "$AUTHD_ADMIN_PASSWORD" totp_code \
	    "$(totp_at "$secret" "$step")")" >/dev/null
	[ "$(cat http.status)" = 401 ] ||
	    atf_fail "the code that enabled 2FA logged in"
	detail_is "Invalid two-factor code"
	http_json POST "$(base)/api/v1/auth/login" "$(jsonobj username \
	    "$NEW_USER" password "$AUTHD_ADMIN_PASSWORD" totp_code \
	    "$(totp_at "$secret" $((step + 1)))")" >/dev/null
	[ "$(cat http.status)" = 200 ] ||
	    atf_fail "a fresh code of the new secret was refused"
	bearer 400 "$ACCESS" POST /api/v1/users/me/2fa/setup
	detail_is "Two-factor authentication is already enabled"
	http_json POST "$(base)/api/v1/auth/login" "$(jsonobj username \
	    "$NEW_USER" password "$AUTHD_ADMIN_PASSWORD" totp_code \
	    "$(totp_at "$secret" $((step + 1)))")" >/dev/null
	[ "$(cat http.status)" = 401 ] || atf_fail "a TOTP code was replayed"
}
twofactor_reenable_cleanup()
{
	authd_cleanup
}

atf_test_case lockout cleanup
lockout_head()
{
	atf_set descr "N failures lock the account; the right password is " \
	    "refused while locked; the lock ends (ASVS 6.3.1, RFC 6585 4)"
}
lockout_body()
{
	start conf_append "limits {" "lockout 3 failures window 900 time 2" \
	    "}"
	mkuser lock
	three_wrong_then_locked "$NEW_USER"
	detail_is "Too many login attempts"
	grep -qi '^Retry-After: [0-9]' http.headers ||
	    atf_fail "429 without Retry-After"
	# Another account from the same address is not locked.
	login_admin
	sleep 3
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
}
lockout_cleanup()
{
	authd_cleanup
}

# three_wrong_then_locked USER: three wrong passwords are 401, then the
# right one is 429.
three_wrong_then_locked()
{
	local i
	for i in 1 2 3; do
		http_expect 401 POST "$(base)/api/v1/auth/login" \
		    --data-urlencode "username=$1" \
		    --data-urlencode "password=wrong$i"
	done
	http_expect 429 POST "$(base)/api/v1/auth/login" \
	    --data-urlencode "username=$1" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
}

# logins_at_once N USER [PASSWORD]: N logins of USER at once, with
# PASSWORD or else wrong ones; their statuses, one a line, in ./codes.
logins_at_once()
{
	local i pids
	pids=
	for i in $(seq "$1"); do
		curl -s -o /dev/null -w '%{http_code}\n' -X POST \
		    "$(base)/api/v1/auth/login" \
		    --data-urlencode "username=$2" \
		    --data-urlencode "password=${3:-wrong$i}" >>codes &
		pids="$pids $!"
	done
	# Only the curls: the daemon is a child of this shell too.
	wait $pids
}

atf_test_case lockout_parallel cleanup
lockout_parallel_head()
{
	atf_set descr "20 parallel wrong logins: at most N are evaluated " \
	    "(CVE-2024-4629)"
}
lockout_parallel_body()
{
	local n
	start conf_append "limits {" "lockout 3 failures window 900 time 60" \
	    "}"
	mkuser race
	logins_at_once 20 "$NEW_USER"
	n=$(grep -c '^401$' codes)
	[ "$n" -le 3 ] || atf_fail "$n wrong passwords were evaluated"
	[ "$(grep -c '^429$' codes)" -eq $((20 - n)) ] ||
	    atf_fail "$(oneline "codes:" $(sort codes | uniq -c))"
	sql_expect "$n" "SELECT count(*) FROM login_history
	    WHERE user_id = $NEW_UID AND reason = 'bad password'"
}
lockout_parallel_cleanup()
{
	authd_cleanup
}

atf_test_case lockout_parallel_right cleanup
lockout_parallel_right_head()
{
	atf_set descr "parallel logins with the right password lock nothing:" \
	    "those beyond the quota wait a second (429, Retry-After: 1)," \
	    "and the account logs in at once afterwards"
}
lockout_parallel_right_body()
{
	start conf_append "limits {" "lockout 3 failures window 900 time 600" \
	    "}"
	mkuser many
	logins_at_once 12 "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	[ "$(grep -c '^200$' codes)" -ge 1 ] &&
	    [ "$(grep -c '^200$\|^429$' codes)" -eq 12 ] ||
	    atf_fail "$(oneline "codes:" $(sort codes | uniq -c))"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	# Failures still lock: the third wrong password, then even the
	# right one is refused.
	three_wrong_then_locked "$NEW_USER"
	grep -qi '^Retry-After: [0-9][0-9]' http.headers ||
	    atf_fail "$(oneline "not the lock's Retry-After:" \
	    "$(cat http.headers)")"
}
lockout_parallel_right_cleanup()
{
	authd_cleanup
}

atf_test_case rate_limit cleanup
rate_limit_head()
{
	atf_set descr "per-address limit: 429 with Retry-After and RateLimit " \
	    "headers (RFC 6585 4)"
}
rate_limit_body()
{
	local i r ttl
	require_env
	r=$(private_redis) || atf_fail "cannot start a private Redis"
	start conf_append "$r" "limits {" "rate 5" "}"
	for i in 1 2 3 4 5; do
		http_expect 404 GET "$(base)/api/v1/nothing-$i"
		grep -qi "^RateLimit-Remaining: $((5 - i))" http.headers ||
		    atf_fail "$(oneline "request $i:" \
		    "$(grep -i '^RateLimit' http.headers)")"
	done
	grep -qi '^RateLimit-Limit: 5' http.headers ||
	    atf_fail "no RateLimit-Limit header"
	# The window ends: the counter expires within the minute.
	grep -Eqi '^RateLimit-Reset: ([1-9]|[1-5][0-9]|60)' http.headers ||
	    atf_fail "$(oneline "no RateLimit-Reset in 1..60:" \
	    "$(grep -i '^RateLimit-Reset' http.headers)")"
	ttl=$(redis-cli -s "$(head -n 1 redis.dirs)/redis.sock" \
	    TTL rl:api:127.0.0.1)
	[ "$ttl" -ge 1 ] && [ "$ttl" -le 60 ] ||
	    atf_fail "the counter's time to live is '$ttl'"
	grep -qi '^RateLimit-Remaining: 0' http.headers ||
	    atf_fail "no RateLimit-Remaining header"
	http_expect 429 GET "$(base)/api/v1/nothing"
	detail_is "Rate limit exceeded"
	grep -qi '^Retry-After: [0-9]' http.headers ||
	    atf_fail "429 without Retry-After"
	# Health checks are not counted.
	http_expect 200 GET "$(base)/health/db"
}
rate_limit_cleanup()
{
	authd_cleanup
	private_redis_stop
}

atf_test_case two_nodes_limits cleanup
two_nodes_limits_head()
{
	atf_set descr "two authd nodes sharing a Redis share the rate" \
	    "counters and the lockout counts"
}
two_nodes_limits_body()
{
	local r i url url1 url2
	require_env
	r=$(private_redis) || atf_fail "cannot start a private Redis"
	start conf_append "$r" "limits {" "rate 6" \
	    "lockout 3 failures window 900 time 60" "}"
	url1=$AUTHD_URL
	authd_setup || atf_fail "authd_setup failed"
	conf_append "$r" "limits {" "rate 6" \
	    "lockout 3 failures window 900 time 60" "}"
	authd_start || atf_fail "the second authd did not start"
	url2=$AUTHD_URL
	[ "$url1" != "$url2" ] || atf_fail "both daemons on $url1"
	# Three requests on each node use up the one budget.
	for i in 1 2 3; do
		http_expect 404 GET "$url1/api/v1/nothing-$i"
		http_expect 404 GET "$url2/api/v1/nothing-$i"
	done
	grep -qi '^RateLimit-Remaining: 0' http.headers ||
	    atf_fail "$(oneline "node 2 did not count node 1's requests:" \
	    "$(grep -i '^RateLimit' http.headers)")"
	http_expect 429 GET "$url1/api/v1/nothing"
	detail_is "Rate limit exceeded"
	http_expect 429 GET "$url2/api/v1/nothing"
	# Failures on either node lock the account on both.
	mkuser shared
	for url in "$url1" "$url2" "$url1"; do
		http_expect 401 POST "$url/api/v1/auth/login" \
		    --data-urlencode "username=$NEW_USER" \
		    --data-urlencode "password=wrong"
	done
	http_expect 429 POST "$url2/api/v1/auth/login" \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	detail_is "Too many login attempts"
}
two_nodes_limits_cleanup()
{
	authd_cleanup
	private_redis_stop
}

atf_test_case redis_down_limits cleanup
redis_down_limits_head()
{
	atf_set descr "with Redis down, limits and lockout hold in memory; " \
	    "logins still work"
}
redis_down_limits_body()
{
	local dir i
	require_env
	dir=$(mktemp -d "$AUTHD_TEST_DIR/redis.XXXXXX")
	chmod 0777 "$dir"
	echo "$dir" >redis.dir
	redis_init "$dir" && redis_start "$dir" ||
	    atf_fail "cannot start a private Redis"
	AUTHD_REDIS_SOCKET=$dir/redis.sock
	start conf_append "redis socket \"$dir/redis.sock\"" "limits {" \
	    "lockout 3 failures window 900 time 60" "}"
	mkuser nored
	redis_stop "$dir"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	# Each worker counts alone: two workers, so at most 2 * 3 failures.
	for i in $(seq 8); do
		http "POST" "$(base)/api/v1/auth/login" \
		    --data-urlencode "username=$NEW_USER" \
		    --data-urlencode "password=wrong$i" >>codes
	done
	grep -q '^429$' codes || atf_fail "no lockout without Redis"
	http_expect 503 GET "$(base)/health/redis"
}
redis_down_limits_cleanup()
{
	authd_cleanup
	[ -f redis.dir ] && redis_stop "$(cat redis.dir)"
	return 0
}

atf_test_case hsts cleanup
hsts_head()
{
	atf_set descr "hsts: Strict-Transport-Security on every answer, also" \
	    "on one the HTTP layer refuses (a body too large); none with 0"
}
hsts_body()
{
	start conf_append "hsts 31536000"
	http_expect 200 GET "$(base)/"
	header_is Strict-Transport-Security max-age=31536000
	python3 -c 'print("x" * 100000)' >big.json
	http_expect 413 POST "$(base)/api/v1/auth/login" \
	    -H 'Content-Type: application/json' --data-binary @big.json
	header_is Strict-Transport-Security max-age=31536000
	header_is X-Frame-Options DENY
	authd_cleanup
	start conf_append "hsts 0"
	http_expect 200 GET "$(base)/"
	! grep -qi '^Strict-Transport-Security' http.headers ||
	    atf_fail "Strict-Transport-Security with hsts 0"
}
hsts_cleanup()
{
	authd_cleanup
}

atf_test_case cors cleanup
cors_head()
{
	atf_set descr "CORS: configured origins only, exact match, never * " \
	    "with credentials (ASVS 14.5.3)"
}
cors_body()
{
	local o
	start conf_append 'cors origin "https://app.allowed.example"'
	http_expect 204 OPTIONS "$(base)/api/v1/auth/login" \
	    -H 'Origin: https://app.allowed.example' \
	    -H 'Access-Control-Request-Method: POST' \
	    -H 'Access-Control-Request-Headers: authorization,content-type'
	header_is Access-Control-Allow-Origin https://app.allowed.example
	header_is Access-Control-Allow-Credentials true
	header_is Vary Origin
	grep -qi '^Access-Control-Allow-Methods:.*POST' http.headers ||
	    atf_fail "no POST in Access-Control-Allow-Methods"
	grep -qi '^Access-Control-Max-Age: 600' http.headers ||
	    atf_fail "no Access-Control-Max-Age"
	for o in https://evil.example null \
	    https://app.allowed.example.evil.example \
	    https://evilapp.allowed.example http://app.allowed.example; do
		http_expect 204 OPTIONS "$(base)/api/v1/auth/login" \
		    -H "Origin: $o" -H 'Access-Control-Request-Method: POST'
		no_header Access-Control-Allow-Origin
		http_expect 200 GET "$(base)/" -H "Origin: $o"
		no_header Access-Control-Allow-Origin
	done
	http_expect 200 GET "$(base)/" -H 'Origin: https://app.allowed.example'
	header_is Access-Control-Allow-Origin https://app.allowed.example
	if grep -qi '^Access-Control-Allow-Origin: \*' http.headers; then
		atf_fail "wildcard origin"
	fi
	http_expect 404 OPTIONS "$(base)/api/v1/no-such-route"
}
cors_cleanup()
{
	authd_cleanup
}

atf_test_case metrics cleanup
metrics_head()
{
	atf_set descr "/metrics: Prometheus text for allowed addresses only"
}
metrics_body()
{
	start
	http_expect 200 GET "$(base)/"
	login_admin
	sleep 1.5
	http_expect 200 GET "$(base)/metrics"
	grep -qi '^Content-Type: text/plain; version=0.0.4' http.headers ||
	    atf_fail "not the Prometheus text format"
	python3 - http.body <<'PY' || atf_fail "metrics do not parse"
import re, sys
text = open(sys.argv[1]).read()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*'
    r'="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$')
families, seen, current = {}, set(), None
for line in text.splitlines():
    if line.startswith("# TYPE "):
        name, kind = line.split()[2:4]
        assert name not in families, "TYPE twice: " + name
        families[name] = kind
        current = name
        continue
    if line.startswith("#") or not line:
        continue
    m = sample.match(line)
    assert m, "bad line: " + line
    base = re.sub(r'_(bucket|sum|count)$', '', m.group(1))
    name = m.group(1) if m.group(1) in families else base
    assert name in families, "no TYPE for " + line
    assert name == current, "family not grouped: " + line
assert 'authd_http_requests_total{method="POST",route="/api/v1/auth/login",code="2xx"}' in text
assert "authd_sessions_created_total" in text
PY
}
metrics_cleanup()
{
	authd_cleanup
}

atf_test_case metrics_hidden cleanup
metrics_hidden_head()
{
	atf_set descr "/metrics answers 404 to addresses not listed"
}
metrics_hidden_body()
{
	start conf_append "metrics from 10.0.0.0/8"
	http_expect 404 GET "$(base)/metrics"
	detail_is "Not Found"
}
metrics_hidden_cleanup()
{
	authd_cleanup
}

atf_test_case behind_proxy cleanup
behind_proxy_head()
{
	atf_set descr "behind a trusted proxy: every X-Forwarded-For header" \
	    "counts, the client's own first one too, and /metrics wants" \
	    "the client's address allowed, not only the proxy's"
}
behind_proxy_body()
{
	start conf_append "trusted proxy 127.0.0.1"
	# A client's header ahead of the proxy's: the proxy's, last, is
	# the one that says who connected to it.
	http_expect 401 POST "$(base)/api/v1/auth/login" \
	    -H 'X-Forwarded-For: 198.51.100.1' \
	    -H 'X-Forwarded-For: 203.0.113.9' \
	    -d "username=$AUTHD_ADMIN_USERNAME&password=wrong-$$"
	sql_expect 203.0.113.9 "SELECT host(ip_address) FROM login_history
	    ORDER BY id DESC LIMIT 1"
	http_expect 404 GET "$(base)/metrics" -H 'X-Forwarded-For: 8.8.8.8'
	detail_is "Not Found"
	http_expect 200 GET "$(base)/metrics" -H 'X-Forwarded-For: 127.0.0.1'
	http_expect 200 GET "$(base)/metrics"
}
behind_proxy_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case twofactor
	atf_add_test_case twofactor_disable_recovery
	atf_add_test_case twofactor_races
	atf_add_test_case twofactor_reenable
	atf_add_test_case lockout
	atf_add_test_case lockout_parallel
	atf_add_test_case lockout_parallel_right
	atf_add_test_case rate_limit
	atf_add_test_case two_nodes_limits
	atf_add_test_case redis_down_limits
	atf_add_test_case hsts
	atf_add_test_case cors
	atf_add_test_case metrics
	atf_add_test_case metrics_hidden
	atf_add_test_case behind_proxy
}
