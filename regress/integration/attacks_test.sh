#! /usr/bin/env atf-sh
# The attack suite of issue 10 over real HTTP (the parts not covered by
# tokens_test.sh, sessions_test.sh, users_test.sh, companies_test.sh,
# roles_test.sh, security_test.sh and webhooks_test.sh): user
# enumeration, hostile bodies, hostile paths and queries, log and header
# injection, and HTTP/1.1 framing attacks sent over raw sockets by
# lib/attack_http.py.  Each case is one group of SECURITY-CHECKLIST.md;
# its descr names the anchors (OWASP ASVS 5.0 requirement, RFC section)
# and every failure message starts with the anchor of the failed check.
#
# Checks per case (192 in all; a check inside a loop counts once per pass):
#   enumeration 10, login_timing 3, malformed_json 10, oversized_body 6,
#   deep_nesting 4, invalid_utf8 11, wrong_types 10, sql_metachars 9,
#   redis_injection 6, path_ids 40, path_variants 6, pagination 12,
#   log_injection 6, huge_headers 5, pipelining 5, smuggling 6,
#   methods 6, error_answers 15, secrets_not_logged 5, request_id 7

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"
. "$(atf_get_srcdir)/lib/attack.sh"

LOGIN=/api/v1/auth/login

conf_append()
{
	printf '%s\n' "$@" >>"$AUTHD_CONF_FILE"
}

# ---------------------------------------------------------------------

atf_test_case enumeration cleanup
enumeration_head()
{
	atf_set descr "checklist 27: unknown user and wrong password answer" \
	    "the same status, body and headers, by username (form) and by" \
	    "email (JSON) (ASVS 5.0 V6.3.8)"
}
enumeration_body()
{
	local kind
	start
	mkuser enum
	for kind in form json; do
		if [ "$kind" = form ]; then
			http POST "$(base)$LOGIN" --data-urlencode \
			    "username=$NEW_USER" --data-urlencode \
			    "password=wrong-$(rand)" >/dev/null
		else
			http_json POST "$(base)$LOGIN" "$(jsonobj username \
			    "$NEW_USER@example.com" password "x$(rand)")" \
			    >/dev/null
		fi
		cp http.status known.status
		cp http.body known.body
		headers_json known.headers
		if [ "$kind" = form ]; then
			http POST "$(base)$LOGIN" --data-urlencode \
			    "username=ghost_$(rand)" --data-urlencode \
			    "password=wrong-$(rand)" >/dev/null
		else
			http_json POST "$(base)$LOGIN" "$(jsonobj username \
			    "ghost_$(rand)@example.com" password "x$(rand)")" \
			    >/dev/null
		fi
		headers_json unknown.headers
		check "V6.3.8" "$kind: the wrong password answers 401" \
		    test "$(cat known.status)" = 401
		check "V6.3.8" "$kind: same status for an unknown user" \
		    test "$(cat http.status)" = "$(cat known.status)"
		check "V6.3.8" "$kind: same body for an unknown user" \
		    cmp known.body http.body
		check "V6.3.8" "$kind: same header names and values" \
		    cmp known.headers unknown.headers
		check "V6.3.8" "$kind: the detail names neither case" \
		    json_expect http.body \
		    'j == {"detail": "Incorrect username or password"}'
	done
}
enumeration_cleanup()
{
	authd_cleanup
}

atf_test_case login_timing cleanup
login_timing_head()
{
	atf_set descr "checklist 28: 30 alternating logins each of an unknown" \
	    "user and of a wrong password; the medians are printed and" \
	    "differ by less than 1.5x (ASVS 5.0 V6.3.8, timing)"
}
login_timing_body()
{
	# 30 wrong passwords must not lock the account: a lockout answers
	# 429 at once and would hide the timing of the password check.
	start conf_append "limits {" "lockout 1000 failures" "}"
	mkuser timing
	python3 "$ATTACK_HTTP" timing "$AUTHD_PORT" 30 "$NEW_USER" \
	    "ghost_$(rand)" "wrong-$(rand)" >timing.json ||
	    atf_fail "timing measurement failed"
	jget MA timing.json '"%.4f" % j["median_a"]'
	jget MB timing.json '"%.4f" % j["median_b"]'
	echo "median login time: wrong password ${MA}s, unknown user ${MB}s"
	check "V6.3.8" "every timed login answered 401" \
	    json_expect timing.json 'j["statuses"] == [401]'
	check "V6.3.8" "unknown user not 1.5x faster (${MA}s vs ${MB}s)" \
	    json_expect timing.json 'j["median_a"] < 1.5 * j["median_b"]'
	check "V6.3.8" "unknown user not 1.5x slower (${MA}s vs ${MB}s)" \
	    json_expect timing.json 'j["median_b"] < 1.5 * j["median_a"]'
}
login_timing_cleanup()
{
	authd_cleanup
}

atf_test_case malformed_json cleanup
malformed_json_head()
{
	atf_set descr "checklist 61: malformed JSON bodies answer 422" \
	    "json_invalid (ASVS 5.0 V2.2.1; RFC 8259 2, 4)"
}
malformed_json_body()
{
	local i
	start
	i=0
	for expr in "b'{'" "b'{\"a\":}'" "b'[] x'" "b\"{'a': 1}\"" \
	    "b'{\"a\": 1,}'" "b'\\xef\\xbb\\xbf{\"username\": \"a\"}'" \
	    "b'null'" "b'\"text\"'" "b'[1, 2]'" \
	    "b'{\"username\": \"a\", \"username\": \"b\"}'"; do
		i=$((i + 1))
		bytes body.$i "$expr"
		send_body POST "$LOGIN" body.$i >/dev/null
		json_invalid "V2.2.1, RFC 8259 2" "malformed body $expr"
	done
}
malformed_json_cleanup()
{
	authd_cleanup
}

atf_test_case oversized_body cleanup
oversized_body_head()
{
	atf_set descr "checklist 63: a 10 MiB body and a huge Content-Length" \
	    "answer 413 (or close) and the daemon lives (RFC 9110 10.1.1," \
	    "15.5.14; RFC 9112 6.3)"
}
oversized_body_body()
{
	start
	python3 -c 'import sys
sys.stdout.write("{\"username\": \"" + "a" * (10 << 20) + "\"}")' >big.json
	send_body POST "$LOGIN" big.json >/dev/null
	status_in "RFC 9110 15.5.14" "10 MiB body" 413
	alive "RFC 9110 15.5.14 (after 10 MiB)"
	raw huge "b'POST $LOGIN HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Content-Type: application/json\\r\\n' +
	    b'Content-Length: 9999999999\\r\\nExpect: 100-continue\\r\\n\\r\\n'"
	check "RFC 9110 15.5.14" "Content-Length 9999999999: 413 or close," \
	    json_expect huge.json '(j["responses"] and
	    j["responses"][0]["status"] == 413) or
	    (j["closed"] and not j["responses"])'
	check "RFC 9110 10.1.1" "no 100 Continue for a body over the limit" \
	    json_expect huge.json \
	    'all(r["status"] != 100 for r in j["responses"])'
	raw neg "b'POST $LOGIN HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Content-Length: -1\\r\\n\\r\\n'"
	check "RFC 9112 6.3" "Content-Length -1: 400 or close" \
	    json_expect neg.json '(j["responses"] and
	    j["responses"][0]["status"] == 400) or
	    (j["closed"] and not j["responses"])'
	alive "RFC 9112 6.3 (after a huge Content-Length)"
}
oversized_body_cleanup()
{
	authd_cleanup
}

atf_test_case deep_nesting cleanup
deep_nesting_head()
{
	atf_set descr "checklist 64: 3000 nested '[' answer 422 fast, the" \
	    "worker survives (ASVS 5.0 V2.2.1; RFC 8259 9)"
}
deep_nesting_body()
{
	local t
	start
	bytes deep.json "b'[' * 3000 + b']' * 3000"
	t=$(curl -sS -o http.body -w '%{http_code} %{time_total}' -X POST \
	    -H 'Content-Type: application/json' --data-binary @deep.json \
	    "$(base)$LOGIN")
	check "RFC 8259 9" "3000 nested arrays answer 422 (got $t)" \
	    test "${t% *}" = 422
	check "RFC 8259 9" "and fast (${t#* } s)" \
	    python3 -c "import sys; sys.exit(${t#* } >= 1.0)"
	bytes deep2.json "b'{\"username\": ' + b'[' * 3000 + b']' * 3000 +
	    b', \"password\": \"x\"}'"
	send_body POST "$LOGIN" deep2.json >/dev/null
	json_invalid "RFC 8259 9" "3000 nested arrays as a field value"
	alive "RFC 8259 9"
}
deep_nesting_cleanup()
{
	authd_cleanup
}

atf_test_case invalid_utf8 cleanup
invalid_utf8_head()
{
	atf_set descr "checklist 65: invalid UTF-8, lone surrogates, raw and" \
	    "escaped NUL in strings answer 422; nothing stored (ASVS 5.0" \
	    "V2.2.1; RFC 3629 3, RFC 8259 7, 8.1)"
}
invalid_utf8_body()
{
	local i bad
	start
	login_admin
	i=0
	for bad in "b'\\xc3\\x28'" "b'\\xc0\\xaf'" "b'\\xed\\xa0\\x80'" \
	    "b'\\xf5\\x80\\x80\\x80'" "b'a\\x00b'" "b'a\\\\u0000b'"; do
		i=$((i + 1))
		bytes login.$i "b'{\"username\": \"x' + $bad +
		    b'\", \"password\": \"x\"}'"
		send_body POST "$LOGIN" login.$i >/dev/null
		json_invalid "RFC 3629 3" "login username with $bad"
	done
	for bad in "b'\\xc3\\x28'" "b'\\xed\\xa0\\x80'" "b'a\\\\u0000b'" \
	    "b'\\\\ud800'"; do
		i=$((i + 1))
		bytes me.$i "b'{\"full_name\": \"x' + $bad + b'\"}'"
		send_body PUT /api/v1/users/me me.$i \
		    -H "Authorization: Bearer $ACCESS" >/dev/null
		json_invalid "RFC 8259 8.1" "full_name with $bad"
	done
	check "V2.2.1" "full_name unchanged in the database" \
	    sql_expect Administrator \
	    "SELECT full_name FROM users WHERE id = $ADMIN_UID"
}
invalid_utf8_cleanup()
{
	authd_cleanup
}

atf_test_case wrong_types cleanup
wrong_types_head()
{
	atf_set descr "checklist 66: fields of the wrong JSON type answer 422," \
	    "a worker never dies (ASVS 5.0 V2.2.1; RFC 9110 15.5.14)"
}
wrong_types_body()
{
	start
	login_admin
	mkuser typed
	http_json POST "$(base)$LOGIN" '{"username": 123, "password": "x"}' \
	    >/dev/null
	status_in "V2.2.1" "login username 123" 422
	http_json POST "$(base)$LOGIN" "{\"username\": \"$NEW_USER\", \
	    \"password\": [\"x\"]}" >/dev/null
	status_in "V2.2.1" "login password [\"x\"]" 422
	http_json POST "$(base)$LOGIN" "{\"username\": \"$NEW_USER\", \
	    \"password\": null}" >/dev/null
	status_in "V2.2.1" "login password null" 422
	http_json POST "$(base)$LOGIN" '{"username": null, "password": "x"}' \
	    >/dev/null
	status_in "V2.2.1" "login username null" 422
	alive "V2.2.1 (after null login fields)"
	bearer 422 "$ACCESS" PUT /api/v1/users/me \
	    -H 'Content-Type: application/json' --data-binary '{"email": 123}'
	bearer 422 "$ACCESS" PUT "/api/v1/users/$NEW_UID" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"is_active": "true"}'
	python3 -c 'import json
print(json.dumps({"full_name": "n" * 60000}))' >long.json
	send_body PUT /api/v1/users/me long.json \
	    -H "Authorization: Bearer $ACCESS" >/dev/null
	status_in "V2.2.1" "full_name of 60000 characters" 422
	python3 -c 'import json
print(json.dumps({"full_name": "n" * (1 << 20)}))' >huge.json
	send_body PUT /api/v1/users/me huge.json \
	    -H "Authorization: Bearer $ACCESS" >/dev/null
	status_in "RFC 9110 15.5.14" "full_name of 1 MB" 413 422
	check "V2.2.1" "nothing changed" \
	    sql_expect "admin@example.com Administrator true" \
	    "SELECT users.email || ' ' || users.full_name || ' ' ||
	    u2.is_active
	    FROM users, users u2 WHERE users.id = $ADMIN_UID
	    AND u2.id = $NEW_UID"
}
wrong_types_cleanup()
{
	authd_cleanup
}

atf_test_case sql_metachars cleanup
sql_metachars_head()
{
	atf_set descr "checklist 67: SQL metacharacters in the login username" \
	    "are plain data (401), and full_name is stored byte-exact by" \
	    "PUT /users/me (ASVS 5.0 V1.2.4)"
}
sql_metachars_body()
{
	local u name
	start
	for u in "' OR 1=1--" "admin'--" "\"; DROP TABLE users;--" \
	    "admin' OR 'a'='a"; do
		http POST "$(base)$LOGIN" --data-urlencode "username=$u" \
		    --data-urlencode "password=' OR '1'='1" >/dev/null
		status_in "V1.2.4" "login as $u" 401
	done
	mkuser sqlmeta
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	name="Robert'); DROP TABLE users;-- \"\\ %_ \$1 ;"
	bearer 200 "$ACCESS" PUT /api/v1/users/me \
	    -H 'Content-Type: application/json' \
	    --data-binary "$(jsonobj full_name "$name")"
	check "V1.2.4" "PUT answers the exact full_name" \
	    env EXPECT="$name" python3 -c 'import json, os, sys
sys.exit(json.load(open("http.body"))["full_name"] != os.environ["EXPECT"])'
	bearer 200 "$ACCESS" GET /api/v1/users/me
	check "V1.2.4" "GET /users/me answers it byte-exact" \
	    env EXPECT="$name" python3 -c 'import json, os, sys
sys.exit(json.load(open("http.body"))["full_name"] != os.environ["EXPECT"])'
	sql "SELECT encode(convert_to(full_name, 'UTF8'), 'hex') FROM users
	    WHERE id = $NEW_UID"
	check "V1.2.4" "the database holds it byte-exact" \
	    test "$SQL" = "$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n')"
	check "V1.2.4" "the users table is still there" \
	    sql_expect t "SELECT count(*) > 1 FROM users"
}
sql_metachars_cleanup()
{
	authd_cleanup
}

atf_test_case redis_injection cleanup
redis_injection_head()
{
	atf_set descr "checklist 68: RESP commands with CR LF in the username" \
	    "and X-Forwarded-For have no effect on Redis (ASVS 5.0 V1.2.4," \
	    "V4.1.3)"
}
redis_injection_body()
{
	local key payload
	start
	key="attack_sentinel_$(rand)"
	redis-cli -s "$AUTHD_REDIS_SOCKET" SET "$key" 1 >/dev/null ||
	    atf_fail "cannot set $key"
	payload=$(printf 'x\r\n*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n*3\r\n$3\r\nSET\r\n$5\r\npwned\r\n$1\r\n1\r\n' \
	    "${#key}" "$key")
	http POST "$(base)$LOGIN" --data-urlencode "username=$payload" \
	    --data-urlencode "password=x" >/dev/null
	status_in "V1.2.4" "login with a RESP payload" 401
	http_json POST "$(base)$LOGIN" "$(jsonobj username "$payload x" \
	    password "x")" >/dev/null
	status_in "V1.2.4" "JSON login with a RESP payload" 401
	raw xff "b'GET /api/v1/users/me HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'X-Forwarded-For: 1.2.3.4 DEL $key SET pwned 1\\r\\n' +
	    b'Connection: close\\r\\n\\r\\n'"
	check "V4.1.3" "X-Forwarded-For with commands: 401" \
	    json_expect xff.json 'j["responses"][0]["status"] == 401'
	check "V1.2.4" "the sentinel key is still there" \
	    test "$(redis-cli -s "$AUTHD_REDIS_SOCKET" EXISTS "$key")" = 1
	check "V1.2.4" "no key pwned was written" \
	    test "$(redis-cli -s "$AUTHD_REDIS_SOCKET" EXISTS pwned)" = 0
	alive "V1.2.4"
	redis-cli -s "$AUTHD_REDIS_SOCKET" DEL "$key" >/dev/null
}
redis_injection_cleanup()
{
	authd_cleanup
}

atf_test_case path_ids cleanup
path_ids_head()
{
	atf_set descr "checklist 69: malformed path ids answer 422 or 404," \
	    "never 500 and never another object; DELETE deletes nothing" \
	    "(ASVS 5.0 V2.2.1, V8.2.2)"
}
path_ids_body()
{
	local id n
	start
	login_admin
	sql "SELECT count(*) FROM users"
	n=$SQL
	for id in abc 1abc -1 0 1.5 1e3 0x10 +1 %31 9223372036854775808 \
	    99999999999999999999 '1;2' 1%00; do
		http GET "$(base)/api/v1/users/$id" \
		    -H "Authorization: Bearer $ACCESS" >/dev/null
		status_in "V2.2.1" "GET /users/$id" 404 422
		check "V8.2.2" "GET /users/$id answers no user" \
		    python3 -c 'import json, sys
sys.exit("email" in open("http.body").read())'
		http DELETE "$(base)/api/v1/users/$id" \
		    -H "Authorization: Bearer $ACCESS" >/dev/null
		status_in "V2.2.1" "DELETE /users/$id" 404 422
	done
	check "V8.2.2" "no user was deleted" \
	    sql_expect "$n" "SELECT count(*) FROM users"
}
path_ids_cleanup()
{
	authd_cleanup
}

atf_test_case path_variants cleanup
path_variants_head()
{
	atf_set descr "checklist 70: path variants of /api/v1/users/me without" \
	    "a token never answer 200 (ASVS 5.0 V8.3.1; RFC 3986 6.2)"
}
path_variants_body()
{
	local p
	start
	for p in //api/v1/users/me /api/v1/./users/me /API/V1/USERS/ME \
	    "/api/v1/users/me;x" /api/v1/users/me%2f /api/v1/users/%6De; do
		http GET "$(base)$p" --path-as-is >/dev/null
		status_in "V8.3.1" "GET $p without a token" 401 404 422
	done
}
path_variants_cleanup()
{
	authd_cleanup
}

atf_test_case pagination cleanup
pagination_head()
{
	atf_set descr "checklist 71: out-of-range skip and limit answer 422" \
	    "naming the parameter (ASVS 5.0 V2.2.1)"
}
pagination_body()
{
	local q
	start
	login_admin
	for q in limit=-1 limit=0 limit=1000000 skip=-5 limit=abc \
	    skip=9223372036854775808; do
		bearer 422 "$ACCESS" GET "/api/v1/users?$q"
		check "V2.2.1" "$q: the 422 names ${q%%=*}" json_expect http.body \
		    "j['detail'][0]['loc'] == ['query', '${q%%=*}']"
	done
}
pagination_cleanup()
{
	authd_cleanup
}

atf_test_case log_injection cleanup
log_injection_head()
{
	atf_set descr "checklist 72: newlines, ANSI escapes and format" \
	    "directives in the username are handled and never split or" \
	    "color the log (ASVS 5.0 V16.4.1)"
}
log_injection_body()
{
	local u
	start
	for u in "alice
FAKE login ok user=root" "$(printf 'x\033[2J\033[31mred')" "%n%n%s%s%x"; do
		http POST "$(base)$LOGIN" --data-urlencode "username=$u" \
		    --data-urlencode "password=x" \
		    -H "User-Agent: $(echo "$u" | tr '\n' ' ')" \
		    >/dev/null
		status_in "V16.4.1" "login as $(echo "$u" | head -n 1)" 401
	done
	alive "V16.4.1"
	check "V16.4.1" "no log line starts with the injected text" \
	    sh -c "! grep -q '^FAKE login ok' '$AUTHD_LOG'"
	check "V16.4.1" "no ESC byte in the log" \
	    sh -c "! grep -q \"\$(printf '\\033')\" '$AUTHD_LOG'"
}
log_injection_cleanup()
{
	authd_cleanup
}

atf_test_case huge_headers cleanup
huge_headers_head()
{
	atf_set descr "checklist 73: a 64 KiB header and 10000 headers are" \
	    "refused (413/431/400 or close), other clients are served" \
	    "(RFC 6585 5; RFC 9112 2.3)"
}
huge_headers_body()
{
	start
	raw big "b'GET /health/db HTTP/1.1\\r\\nHost: x\\r\\nX-Big: ' +
	    b'a' * 65536 + b'\\r\\n\\r\\n'"
	check "RFC 6585 5" "a 64 KiB header: 400/413/431 or close" \
	    json_expect big.json '(j["responses"] and
	    j["responses"][0]["status"] in (400, 413, 431)) or
	    (j["closed"] and not j["responses"])'
	check "RFC 6585 5" "no 200 for it" json_expect big.json \
	    'all(r["status"] != 200 for r in j["responses"])'
	raw many "b'GET /health/db HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b''.join(b'X-%d: a\\r\\n' % i for i in range(10000)) + b'\\r\\n'"
	check "RFC 6585 5" "10000 headers: 400/413/431 or close" \
	    json_expect many.json '(j["responses"] and
	    j["responses"][0]["status"] in (400, 413, 431)) or
	    (j["closed"] and not j["responses"])'
	# Another client while a huge header is being sent.
	bytes slow.req "b'GET /health/db HTTP/1.1\\r\\nHost: x\\r\\nX-Big: ' +
	    b'a' * 60000"
	python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open("slow.req", "rb").read())
time.sleep(5)' "$AUTHD_PORT" &
	echo $! >slow.pid
	sleep 0.5
	check "RFC 9112 2.3" "another client is served meanwhile" \
	    test "$(http GET "$(base)/health/db")" = 200
	kill "$(cat slow.pid)" 2>/dev/null
	wait "$(cat slow.pid)" 2>/dev/null
	alive "RFC 6585 5"
}
huge_headers_cleanup()
{
	[ -f slow.pid ] && kill "$(cat slow.pid)" 2>/dev/null
	authd_cleanup
}

atf_test_case pipelining cleanup
pipelining_head()
{
	atf_set descr "checklist 77: three pipelined requests in one write get" \
	    "three answers in order (RFC 9112 9.3.2)"
}
pipelining_body()
{
	start
	raw pipe "b'GET /health/db HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' +
	    b'POST $LOGIN HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Content-Type: application/x-www-form-urlencoded\\r\\n' +
	    b'Content-Length: 22\\r\\n\\r\\nusername=zz&password=y' +
	    b'GET /api/v1/nothing HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'" 3
	check "RFC 9112 9.3.2" "three answers, clean framing" \
	    json_expect pipe.json 'len(j["responses"]) == 3 and not j["error"]'
	check "RFC 9112 9.3.2" "first: GET /health/db 200" \
	    json_expect pipe.json 'j["responses"][0]["status"] == 200 and
	    j["responses"][0]["body"] == "{\"status\":\"ok\"}"'
	check "RFC 9112 9.3.2" "second: the login 401" \
	    json_expect pipe.json 'j["responses"][1]["status"] == 401 and
	    "Incorrect" in j["responses"][1]["body"]'
	check "RFC 9112 9.3.2" "third: the unknown path 404" \
	    json_expect pipe.json 'j["responses"][2]["status"] == 404'
	check "RFC 9112 9.3.2" "three different request ids" \
	    json_expect pipe.json \
	    'len({r["headers"]["x-request-id"] for r in j["responses"]}) == 3'
}
pipelining_cleanup()
{
	authd_cleanup
}

atf_test_case smuggling cleanup
smuggling_head()
{
	atf_set descr "checklist 78: Content-Length with Transfer-Encoding," \
	    "and two different Content-Lengths, answer 400 or close and" \
	    "nothing runs twice (ASVS 5.0 V4.2.1; RFC 9112 6.1, 6.3)"
}
smuggling_body()
{
	start
	raw clte "b'POST $LOGIN HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Content-Type: application/x-www-form-urlencoded\\r\\n' +
	    b'Content-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n' +
	    b'0\\r\\n\\r\\nGET /api/v1/nothing HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'"
	check "RFC 9112 6.1" "CL + TE: 400 or close" json_expect clte.json \
	    '(j["responses"] and j["responses"][0]["status"] == 400) or
	    (j["closed"] and not j["responses"])'
	check "RFC 9112 6.1" "CL + TE: the smuggled request is not run" \
	    json_expect clte.json 'len(j["responses"]) <= 1'
	raw clcl "b'POST $LOGIN HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Content-Type: application/x-www-form-urlencoded\\r\\n' +
	    b'Content-Length: 4\\r\\nContent-Length: 22\\r\\n\\r\\n' +
	    b'username=zz&password=y'"
	check "RFC 9112 6.3" "two Content-Lengths: 400 or close" \
	    json_expect clcl.json '(j["responses"] and
	    j["responses"][0]["status"] == 400) or
	    (j["closed"] and not j["responses"])'
	check "RFC 9112 6.3" "two Content-Lengths: at most one answer" \
	    json_expect clcl.json 'len(j["responses"]) <= 1'
	raw tete "b'POST $LOGIN HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Transfer-Encoding: chunked\\r\\nTransfer-Encoding: identity\\r\\n' +
	    b'\\r\\n0\\r\\n\\r\\n'"
	check "RFC 9112 6.1" "chunked then identity: never 2xx" \
	    json_expect tete.json \
	    'all(r["status"] >= 400 for r in j["responses"])'
	alive "RFC 9112 6.3"
}
smuggling_cleanup()
{
	authd_cleanup
}

atf_test_case methods cleanup
methods_head()
{
	atf_set descr "checklist 79: TRACE, CONNECT and PROPFIND answer" \
	    "405/501, never 200; HEAD answers no body (RFC 9110 9.3.2," \
	    "9.3.8, 15.5.6; ASVS 5.0 V4.1.4, V13.4.4)"
}
methods_body()
{
	local m
	start
	for m in TRACE CONNECT PROPFIND; do
		raw "m_$m" "b'$m /api/v1/users/me HTTP/1.1\\r\\nHost: x\\r\\n' +
		    b'Connection: close\\r\\n\\r\\n'" 2
		check "V4.1.4" "$m: 405 or 501" json_expect \
		    "m_$m.json" 'j["responses"] and
		    j["responses"][0]["status"] in (405, 501)'
	done
	check "V13.4.4" "TRACE does not echo the request" \
	    sh -c '! grep -q "Host: x" m_TRACE.json'
	raw head "b'HEAD /health/db HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Connection: close\\r\\n\\r\\n'" 2
	check "RFC 9110 9.3.2" "HEAD answers 200" json_expect head.json \
	    'j["responses"] and j["responses"][0]["status"] == 200'
	check "RFC 9110 9.3.2" "HEAD answers no body" json_expect head.json \
	    'j["responses"][0]["body"] == "" and not j["error"]'
}
methods_cleanup()
{
	authd_cleanup
}

atf_test_case error_answers cleanup
error_answers_head()
{
	atf_set descr "checklists 81-82: every error answer (401, 404, 405," \
	    "413, 422, 429, 400 and 501 of the HTTP layer) is JSON with the" \
	    "security headers; a 404 does not reflect a script (ASVS 5.0" \
	    "V4.1.1, V3.4.4, V3.4.6, V1.2.1)"
}
error_answers_body()
{
	local i r
	# The counters of a low limit are this case's own, not the shared
	# Redis's where every other test counts too.
	require_env
	r=$(private_redis) || atf_fail "cannot start a private Redis"
	start conf_append "$r" "limits {" "rate 40" "}"
	http GET "$(base)/api/v1/users/me" >/dev/null
	status_in "V4.1.1" "401" 401
	secure_headers "V4.1.1" "401" http.headers
	http GET "$(base)/api/v1/%3Cscript%3Ealert(1)%3C/script%3E" >/dev/null
	status_in "V4.1.1" "404" 404
	secure_headers "V4.1.1" "404" http.headers
	check "V1.2.1" "the 404 does not reflect the path" \
	    sh -c '! grep -qi "script" http.body'
	http DELETE "$(base)/health/db" >/dev/null
	status_in "V4.1.1" "405" 405
	secure_headers "V4.1.1" "405" http.headers
	check "RFC 9110 15.5.6" "a 405 names the allowed methods" \
	    grep -qi '^Allow: GET, HEAD, OPTIONS' http.headers
	http_json POST "$(base)$LOGIN" '{' >/dev/null
	status_in "V4.1.1" "422" 422
	secure_headers "V4.1.1" "422" http.headers
	raw trace "b'TRACE / HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'Connection: close\\r\\n\\r\\n'" 2
	secure_headers "V4.1.1" "405 (TRACE)" trace.json
	i=0
	while [ "$i" -lt 60 ]; do
		[ "$(http GET "$(base)/api/v1/nothing")" = 429 ] && break
		i=$((i + 1))
	done
	status_in "V4.1.1" "429 after 40 requests" 429
	secure_headers "V4.1.1" "429" http.headers
	# The 413 and 400 that evhttp answers before a request reaches
	# authd: its HTML pages are replaced as they are written (conn.c).
	python3 -c 'print("x" * 100000)' >big.json
	send_body POST "$LOGIN" big.json >/dev/null
	status_in "V4.1.1" "413" 413
	secure_headers "V4.1.1" "413 (HTTP layer)" http.headers
	check "API.md" "an /api/v1/auth/ answer of the HTTP layer: no-store" \
	    grep -qi '^Cache-Control: no-store' http.headers
	check "API.md" "an /api/v1/auth/ answer of the HTTP layer: Pragma" \
	    grep -qi '^Pragma: no-cache' http.headers
	raw bad "b'GET /health/db HTTP/1.1\\r\\nHost: x\\r\\nX-Big: ' +
	    b'a' * 65536 + b'\\r\\n\\r\\n'"
	secure_headers "V4.1.1" "400 (HTTP layer, huge header)" bad.json
}
error_answers_cleanup()
{
	authd_cleanup
	private_redis_stop
}

atf_test_case secrets_not_logged cleanup
secrets_not_logged_head()
{
	atf_set descr "checklist 86: after logins, refresh and logout the log" \
	    "holds no password, no JWT and no refresh token (ASVS 5.0" \
	    "V16.2.5)"
}
secrets_not_logged_body()
{
	local old sig
	start
	login_admin
	old=$REFRESH
	refresh 200 "$REFRESH"
	bearer 200 "$ACCESS" GET /api/v1/users/me
	http POST "$(base)$LOGIN" --data-urlencode \
	    "username=$AUTHD_ADMIN_USERNAME" --data-urlencode \
	    "password=$AUTHD_ADMIN_PASSWORD-wrong" >/dev/null
	bearer 200 "$ACCESS" POST /api/v1/auth/logout
	sig=${ACCESS##*.}
	check "V16.2.5" "the admin password is not in the log" \
	    sh -c "! grep -qF -- '$AUTHD_ADMIN_PASSWORD' '$AUTHD_LOG'"
	check "V16.2.5" "the access token is not in the log" \
	    sh -c "! grep -qF -- '$ACCESS' '$AUTHD_LOG'"
	check "V16.2.5" "no access token signature in the log" \
	    sh -c "! grep -qF -- '$sig' '$AUTHD_LOG'"
	check "V16.2.5" "no refresh token in the log" \
	    sh -c "! grep -qF -e '$REFRESH' -e '$old' '$AUTHD_LOG'"
	check "V16.2.5" "no JWT-shaped string in the log" \
	    sh -c "! grep -qE 'eyJ[A-Za-z0-9_-]+\.eyJ' '$AUTHD_LOG'"
}
secrets_not_logged_cleanup()
{
	authd_cleanup
}

atf_test_case request_id cleanup
request_id_head()
{
	atf_set descr "X-Request-Id: a sane value is echoed, one with CR, LF," \
	    "other bytes or 100 characters is replaced by a generated id and" \
	    "injects no header (ASVS 5.0 V1.2.1, V16.4.1; RFC 9110 5.5)"
}
request_id_body()
{
	local id
	start
	http GET "$(base)/health/db" -H 'X-Request-Id: abc-123_x.Y' >/dev/null
	check "V16.4.1" "a sane id is echoed" header_is X-Request-Id abc-123_x.Y
	id=$(python3 -c 'print("a" * 100)')
	http GET "$(base)/health/db" -H "X-Request-Id: $id" >/dev/null
	check "V1.2.1" "a 100-character id is replaced" \
	    sh -c 'tr -d "\r" <http.headers |
	    grep -qix "x-request-id: [0-9a-f]\{32\}"'
	raw cr "b'GET /health/db HTTP/1.1\\r\\nHost: x\\r\\n' +
	    b'X-Request-Id: abc\\rSet-Cookie: evil=1\\r\\n' +
	    b'Connection: close\\r\\n\\r\\n'" 2
	check "RFC 9110 5.5" "a bare CR in the id: 400 or a generated id" \
	    json_expect cr.json '(j["responses"] and
	    j["responses"][0]["status"] == 400) or
	    (j["responses"] and re.fullmatch("[0-9a-f]{32}",
	    j["responses"][0]["headers"].get("x-request-id", "")))'
	check "RFC 9110 5.5" "no injected Set-Cookie" json_expect cr.json \
	    'all("set-cookie" not in r["headers"] for r in j["responses"])'
	http GET "$(base)/health/db" -H 'X-Request-Id: a%0d%0aSet-Cookie:x' \
	    >/dev/null
	check "V1.2.1" "an id with %0d%0a is replaced" \
	    sh -c 'tr -d "\r" <http.headers |
	    grep -qix "x-request-id: [0-9a-f]\{32\}"'
	http GET "$(base)/health/db" -H 'X-Request-Id: <script>' >/dev/null
	check "V1.2.1" "an id with < > is replaced" \
	    sh -c 'tr -d "\r" <http.headers |
	    grep -qix "x-request-id: [0-9a-f]\{32\}"'
	check "V16.4.1" "the log shows only generated or sane ids" \
	    sh -c "! grep -q 'id=[^ ]*[<%]' '$AUTHD_LOG'"
}
request_id_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case enumeration
	atf_add_test_case login_timing
	atf_add_test_case malformed_json
	atf_add_test_case oversized_body
	atf_add_test_case deep_nesting
	atf_add_test_case invalid_utf8
	atf_add_test_case wrong_types
	atf_add_test_case sql_metachars
	atf_add_test_case redis_injection
	atf_add_test_case path_ids
	atf_add_test_case path_variants
	atf_add_test_case pagination
	atf_add_test_case log_injection
	atf_add_test_case huge_headers
	atf_add_test_case pipelining
	atf_add_test_case smuggling
	atf_add_test_case methods
	atf_add_test_case error_answers
	atf_add_test_case secrets_not_logged
	atf_add_test_case request_id
}
