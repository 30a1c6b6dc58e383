#! /usr/bin/env atf-sh
# Inbound webhooks (POST /api/v1/webhooks/{type}) in the order of their
# checks: key, type, signature and timestamp, replay, JSON; signatures
# made by openssl as a partner would.  Then outbound events: a receiver
# in the harness checks each signature, fails on purpose to see the
# retries, and authd is restarted between two attempts.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"
. "$(atf_get_srcdir)/lib/integtest.sh"

atf_test_case unsigned cleanup
unsigned_head()
{
	atf_set descr "an unsigned webhook is stored and answered as the" \
	    "API says; events list newest first"
	atf_set require.progs "curl python3"
}
unsigned_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	hook 200 crm "$INT_KEY" '{"a": 1}'
	jget EV1 http.body 'j["data"]["event_id"]'
	EV1=$EV1 json_check http.body 'j == {"status": "success",
	    "message": "Webhook received for crm", "data": {"processed": True,
	    "type": "crm", "event_id": int(__import__("os").environ["EV1"])}}'
	hook 200 crm/ "$INT_KEY" '[1, "two", null]'
	hook 200 crm "$INT_KEY" '"just a string"'
	sql_expect "$INT_ID|$A_CID|{\"a\": 1}|" "SELECT integration_id,
	    company_id, payload, signature_valid FROM webhook_events
	    WHERE id = $EV1"
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/events?limit=2"
	header_is X-Total-Count 3
	INT_ID=$INT_ID json_check http.body 'len(j) == 2 and
	    j[0]["payload"] == "just a string" and
	    j[1]["payload"] == [1, "two", None] and
	    set(j[0]) == {"id", "integration_id", "received_at", "payload",
	    "signature_valid"} and j[0]["signature_valid"] is None and
	    j[0]["integration_id"] == int(__import__("os").environ["INT_ID"])
	    and j[0]["id"] > j[1]["id"]'
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/events?skip=2"
	EV1=$EV1 json_check http.body 'len(j) == 1 and
	    j[0]["id"] == int(__import__("os").environ["EV1"])'
	api 422 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/events?skip=-1"
}
unsigned_cleanup()
{
	authd_cleanup
}

atf_test_case deleted_meanwhile cleanup
deleted_meanwhile_head()
{
	atf_set descr "a webhook whose integration is deleted while it is" \
	    "stored answers 401 Invalid or missing API key, never 500"
	atf_set require.progs "curl python3"
}
deleted_meanwhile_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	# Another session locks the integration, waits until the webhook's
	# insert waits behind it, then deletes it.
	locker_start \
	    "PERFORM 1 FROM integrations WHERE id = $INT_ID FOR UPDATE" \
	    "DELETE FROM integrations WHERE id = $INT_ID"
	hook 401 crm "$INT_KEY" '{"a": 1}'
	detail_is "Invalid or missing API key"
	locker_wait
	sql_expect 0 "SELECT count(*) FROM webhook_events
	    WHERE integration_id = $INT_ID"
}
deleted_meanwhile_cleanup()
{
	locker_cleanup
	authd_cleanup
}

atf_test_case bad_keys cleanup
bad_keys_head()
{
	atf_set descr "missing, unknown, malformed and misplaced keys are" \
	    "401 with WWW-Authenticate: ApiKey, before the type is looked at"
	atf_set require.progs "curl python3"
}
bad_keys_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	http_expect 401 POST "$AUTHD_URL/api/v1/webhooks/crm" \
	    -H 'Content-Type: application/json' --data-binary '{}'
	detail_is "Invalid or missing API key"
	header_is WWW-Authenticate ApiKey
	for k in "ak_$(printf 'A%.0s' $(seq 43))" "ak_short" "$INT_KEY"x \
	    "$(printf 'k%.0s' $(seq 5000))" \
	    "$(echo "$INT_KEY" | tr 'a-z' 'A-Z')"; do
		hook 401 crm "$k" '{}'
		detail_is "Invalid or missing API key"
		header_is WWW-Authenticate ApiKey
	done
	http_expect 401 POST "$AUTHD_URL/api/v1/webhooks/crm?api_key=$INT_KEY" \
	    --data-binary '{}'
	http_expect 401 POST "$AUTHD_URL/api/v1/webhooks/crm" \
	    -H "Authorization: Bearer $INT_KEY" --data-binary '{}'
	# The key comes first: a bad key on another type is still a 401.
	hook 401 other "ak_short" '{}'
	events_count 0
}
bad_keys_cleanup()
{
	authd_cleanup
}

atf_test_case wrong_type cleanup
wrong_type_head()
{
	atf_set descr "a key on another type's endpoint is a 400 and" \
	    "nothing is stored, before any signature check"
	atf_set require.progs "curl python3"
}
wrong_type_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm '"configuration": {"require_signature": true}'
	hook 400 billing "$INT_KEY" '{}'
	detail_is "This endpoint is for billing integrations only"
	hook 400 billing "$INT_KEY" 'not json' -H 'X-Signature: sha256=00'
	detail_is "This endpoint is for billing integrations only"
	events_count 0
}
wrong_type_cleanup()
{
	authd_cleanup
}

atf_test_case type_segment cleanup
type_segment_head()
{
	atf_set descr "any printable type segment reaches the key check," \
	    "then a 400 naming it, JSON-escaped; controls, non-ASCII and" \
	    "segments over 63 bytes are 404"
	atf_set require.progs "curl python3"
}
# rawpost PATHEXPR [KEY]: POST of '{}' to the bytes of the Python
# expression PATHEXPR over a raw socket; status and body in raw.json.
rawpost()
{
	python3 -c 'import sys
path = eval(sys.argv[1])
key = sys.argv[2].encode()
sys.stdout.buffer.write(b"POST " + path + b" HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nConnection: close\r\nX-API-Key: " + key +
    b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")' \
	    "$1" "${2:-none}" >raw.req || atf_fail "cannot build a request"
	python3 "$AUTHTEST_LIB/attack_http.py" send "$AUTHD_PORT" 3 \
	    <raw.req >raw.all || atf_fail "attack_http.py failed"
	python3 -c 'import json, sys
r = json.load(open("raw.all"))["responses"]
json.dump({"status": r[0]["status"] if r else 0,
    "body": r[0]["body"] if r else ""}, sys.stdout)' >raw.json
}
type_segment_body()
{
	local long33 long63 long64 t
	start
	tenant A
	mkinteg "$A_TOKEN" oauth2
	long33=$(printf 'x%.0s' $(seq 33))
	long63=$(printf 'x%.0s' $(seq 63))
	long64=$(printf 'x%.0s' $(seq 64))
	# The key first, whatever the type.
	for t in OAuth2 OAUTH2 "$long33" "$long63" a.b '%6Fauth2' '~'; do
		http_expect 401 POST "$AUTHD_URL/api/v1/webhooks/$t" \
		    -H 'Content-Type: application/json' --data-binary '{}'
		detail_is "Invalid or missing API key"
		header_is WWW-Authenticate ApiKey
		hook 401 "$t" "ak_short" '{}'
		detail_is "Invalid or missing API key"
	done
	# Then the type, exactly: case counts, percent-encoding is not
	# decoded.
	for t in OAuth2 OAUTH2 "$long33" "$long63" a.b '%6Fauth2' '~'; do
		hook 400 "$t" "$INT_KEY" '{}'
		header_is Content-Type "application/json"
		detail_is "This endpoint is for $t integrations only"
	done
	# Quotes, backslashes and markup come back escaped, as JSON.
	rawpost 'b"/api/v1/webhooks/a\"b\\c<i>{}"' "$INT_KEY"
	json_check raw.json 'j["status"] == 400 and __import__("json").loads(
	    j["body"]) == {"detail": "This endpoint is for a\"b\\c<i>{} "
	    "integrations only"}'
	# Over 63 bytes, controls, DEL and bytes beyond ASCII: no route.
	http_expect 404 POST "$AUTHD_URL/api/v1/webhooks/$long64" \
	    -H "X-API-Key: $INT_KEY" --data-binary '{}'
	detail_is "Not Found"
	for p in 'b"/api/v1/webhooks/a\x01b"' 'b"/api/v1/webhooks/a\x7fb"' \
	    'b"/api/v1/webhooks/caf\xc3\xa9"' 'b"/api/v1/webhooks/a\xffb"' \
	    'b"/api/v1/webhooks/a\tb"'; do
		rawpost "$p" "$INT_KEY"
		json_check raw.json 'j["status"] == 404 and
		    __import__("json").loads(j["body"]) ==
		    {"detail": "Not Found"}'
	done
	events_count 0
	hook 200 oauth2 "$INT_KEY" '{}'
	http_expect 200 GET "$AUTHD_URL/health/db"
}
type_segment_cleanup()
{
	authd_cleanup
}

atf_test_case signatures cleanup
signatures_head()
{
	atf_set descr "an openssl signature is accepted; tampered bodies," \
	    "old or future timestamps and malformed headers are refused"
	atf_set require.progs "curl python3 openssl"
}
signatures_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	BODY='{"order": 42, "note": "caf\u00e9"}'
	signed_hook 200 crm "$INT_KEY" "$BODY"
	jget EV http.body 'j["data"]["event_id"]'
	sql_expect t "SELECT signature_valid AND signature_hash IS NOT NULL
	    FROM webhook_events WHERE id = $EV"
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/events"
	json_check http.body 'j[0]["signature_valid"] is True'

	NOW=$(date +%s)
	SIG=$(sign "$NOW" "$BODY")
	# The body as signed, one byte changed.
	hook 401 crm "$INT_KEY" '{"order": 43, "note": "caf\u00e9"}' \
	    -H "X-Timestamp: $NOW" -H "X-Signature: $SIG"
	detail_is "Invalid signature"
	# The timestamp is signed too.
	hook 401 crm "$INT_KEY" "$BODY" -H "X-Timestamp: $((NOW + 1))" \
	    -H "X-Signature: $SIG"
	detail_is "Invalid signature"
	# Well signed, outside the window of five minutes.
	signed_hook 401 crm "$INT_KEY" '{"late": 1}' $((NOW - 301))
	detail_is "Signature timestamp outside the allowed window"
	signed_hook 401 crm "$INT_KEY" '{"early": 1}' $((NOW + 400))
	detail_is "Signature timestamp outside the allowed window"
	signed_hook 200 crm "$INT_KEY" '{"inside": 1}' $((NOW - 250))
	# Malformed: no timestamp, a word, another scheme, short hex.
	hook 401 crm "$INT_KEY" "$BODY" -H "X-Signature: $SIG"
	detail_is "Invalid signature"
	hook 401 crm "$INT_KEY" "$BODY" -H "X-Timestamp: soon" \
	    -H "X-Signature: $SIG"
	detail_is "Invalid signature"
	hook 401 crm "$INT_KEY" "$BODY" -H "X-Timestamp: $NOW" \
	    -H "X-Signature: $(echo "$SIG" | sed 's/^sha256/sha1/')"
	detail_is "Invalid signature"
	hook 401 crm "$INT_KEY" "$BODY" -H "X-Timestamp: $NOW" \
	    -H "X-Signature: $(echo "$SIG" | cut -c1-40)"
	detail_is "Invalid signature"
	# A signature made with another integration's secret.
	OTHER=$INT_SECRET
	mkinteg "$A_TOKEN" crm
	signed_hook 401 crm "$INT_KEY" '{"x": 1}' "" "$OTHER"
	detail_is "Invalid signature"
	events_count 0
}
signatures_cleanup()
{
	authd_cleanup
}

atf_test_case required cleanup
required_head()
{
	atf_set descr "require_signature makes an unsigned webhook a 401"
	atf_set require.progs "curl python3 openssl"
}
required_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm '"configuration": {"require_signature": true}'
	hook 401 crm "$INT_KEY" '{"a": 1}'
	detail_is "Signature required"
	signed_hook 200 crm "$INT_KEY" '{"a": 1}'
	events_count 1
}
required_cleanup()
{
	authd_cleanup
}

atf_test_case replay cleanup
replay_head()
{
	atf_set descr "a signature is accepted once: 409 from Redis, and" \
	    "from the database when Redis forgot it"
	atf_set require.progs "curl python3 openssl redis-cli"
}
replay_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	NOW=$(date +%s)
	signed_hook 200 crm "$INT_KEY" '{"pay": 1}' "$NOW"
	signed_hook 409 crm "$INT_KEY" '{"pay": 1}' "$NOW"
	detail_is "Duplicate delivery"
	events_count 1
	[ "$(redis-cli -s "$AUTHD_REDIS_SOCKET" --scan \
	    --pattern "authd:webhook:$INT_ID:*" | grep -c .)" = 1 ] ||
	    atf_fail "no replay key in Redis"
	redis-cli -s "$AUTHD_REDIS_SOCKET" --scan \
	    --pattern "authd:webhook:$INT_ID:*" |
	    xargs redis-cli -s "$AUTHD_REDIS_SOCKET" DEL >/dev/null
	signed_hook 409 crm "$INT_KEY" '{"pay": 1}' "$NOW"
	detail_is "Duplicate delivery"
	events_count 1
	# Another timestamp is another signature.
	signed_hook 200 crm "$INT_KEY" '{"pay": 1}' $((NOW + 1))
	events_count 2
}
replay_cleanup()
{
	authd_cleanup
}

atf_test_case invalid_json cleanup
invalid_json_head()
{
	atf_set descr "a body that is not JSON is a 400 after the signature" \
	    "checks; nothing is stored"
	atf_set require.progs "curl python3 openssl"
}
invalid_json_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	for b in 'not json' '{"a": }' '' '{"a": "\u0000"}'; do
		hook 400 crm "$INT_KEY" "$b"
		detail_is "Invalid JSON payload"
	done
	signed_hook 400 crm "$INT_KEY" '{"a": '
	detail_is "Invalid JSON payload"
	# A bad signature on a bad body: the signature is checked first.
	hook 401 crm "$INT_KEY" '{"a": ' -H "X-Timestamp: $(date +%s)" \
	    -H "X-Signature: sha256=$(printf '0%.0s' $(seq 64))"
	detail_is "Invalid signature"
	python3 -c 'print("[" * 3000 + "]" * 3000)' >deep.json
	http_expect 400 POST "$AUTHD_URL/api/v1/webhooks/crm" \
	    -H "X-API-Key: $INT_KEY" --data-binary @deep.json
	detail_is "Invalid JSON payload"
	events_count 0
}
invalid_json_cleanup()
{
	authd_cleanup
}

atf_test_case big_numbers cleanup
big_numbers_head()
{
	atf_set descr "numbers beyond 64 bits or doubles are valid JSON" \
	    "(RFC 8259): stored exactly as sent; malformed numbers are" \
	    "still a 400"
	atf_set require.progs "curl python3 openssl"
}
big_numbers_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" crm
	hook 200 crm "$INT_KEY" '{"n":123456789012345678901234567890}'
	jget EV http.body 'j["data"]["event_id"]'
	sql_expect 123456789012345678901234567890 "SELECT payload->>'n'
	    FROM webhook_events WHERE id = $EV"
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/events"
	json_check http.body 'j[0]["payload"] ==
	    {"n": 123456789012345678901234567890}'
	signed_hook 200 crm "$INT_KEY" \
	    '[-98765432109876543210987654321, 1e400, -2.5E-400, 0, -0, 1.5e+3]'
	jget EV http.body 'j["data"]["event_id"]'
	sql_expect t "SELECT payload = '[-98765432109876543210987654321,
	    1e400, -2.5e-400, 0, 0, 1500]'::jsonb AND signature_valid
	    FROM webhook_events WHERE id = $EV"
	# Still refused: what RFC 8259 does not call a number, and one
	# beyond what jsonb can hold.
	for b in '{"n": 01}' '{"n": 1.}' '{"n": .5}' '{"n": +1}' '{"n": -}' \
	    '{"n": --1}' '{"n": 1e}' '{"n": 1e+}' '{"n": 0x10}' '[1 2]' \
	    '{"n": 1-2}' '{"n": 1e999999999}' '{"n": "1" 2}'; do
		hook 400 crm "$INT_KEY" "$b"
		detail_is "Invalid JSON payload"
	done
	events_count 2
}
big_numbers_cleanup()
{
	authd_cleanup
}

# --- outbound ----------------------------------------------------------

atf_test_case outbound cleanup
outbound_head()
{
	atf_set descr "a subscribed integration receives the event, signed;" \
	    "others and other event types do not"
	atf_set require.progs "curl python3 openssl"
}
outbound_body()
{
	start callback_conf
	tenant A
	receiver 0
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"user.created\", \"login.failed\"]"
	printf '%s\n' "$INT_SECRET" >recv/secret
	# Subscribed to another event, and inactive: no delivery.
	api 200 "$A_TOKEN" POST /api/v1/integrations/ "{\"name\": \"o\",
	    \"integration_type\": \"crm\", \"callback_url\": \"$RECV_URL\",
	    \"events\": [\"user.deleted\"]}"
	api 200 "$A_TOKEN" POST /api/v1/integrations/ "{\"name\": \"p\",
	    \"integration_type\": \"crm\", \"callback_url\": \"$RECV_URL\",
	    \"events\": [\"user.created\"], \"is_active\": false}"
	sql_expect 1 "SELECT authd_enqueue_event($A_CID, 'user.created',
	    '{\"user\": {\"id\": 7}}')"
	sql_expect 0 "SELECT authd_enqueue_event($A_CID, 'password.changed',
	    '{}')"
	received 1
	delivery_is delivered 1
	request 1
	A_CID=$A_CID json_check request.json 'j["sig_ok"] is True and
	    j["status"] == 200 and j["path"] == "/hook" and
	    j["content_type"] == "application/json" and
	    j["event_id"] == j["body"]["id"] and
	    set(j["body"]) == {"id", "type", "created_at", "company_id",
	    "data"} and j["body"]["type"] == "user.created" and
	    j["body"]["company_id"] == int(__import__("os").environ["A_CID"])
	    and j["body"]["data"] == {"user": {"id": 7}} and
	    re.fullmatch(r"[0-9a-f-]{36}", j["body"]["id"]) and
	    abs(int(j["timestamp"]) - __import__("time").time()) < 60'
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/deliveries"
	header_is X-Total-Count 1
	json_check http.body 'len(j) == 1 and set(j[0]) == {"id", "event_id",
	    "event_type", "status", "attempts", "last_status_code",
	    "last_error", "next_attempt_at", "created_at", "delivered_at"} and
	    j[0]["status"] == "delivered" and j[0]["attempts"] == 1 and
	    j[0]["last_status_code"] == 200 and j[0]["last_error"] is None and
	    j[0]["event_type"] == "user.created" and
	    j[0]["delivered_at"] is not None'
	sleep 2
	received 1
	[ "$(grep -c . recv/requests.jsonl)" = 1 ] ||
	    atf_fail "the event was delivered more than once"
}
outbound_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case retries cleanup
retries_head()
{
	atf_set descr "a receiver that fails twice gets the event on the" \
	    "third attempt, each attempt recorded"
	atf_set require.progs "curl python3 openssl"
}
retries_body()
{
	start callback_conf
	tenant A
	receiver 2
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"login.failed\"]"
	printf '%s\n' "$INT_SECRET" >recv/secret
	sql_expect 1 "SELECT authd_enqueue_event($A_CID, 'login.failed',
	    '{\"username\": \"x\"}')"
	received 1
	wait_until 10 delivery_state pending 1 ||
	    atf_fail "the first failure was not recorded"
	sql_expect "500|HTTP 500" "SELECT last_status_code, last_error
	    FROM webhook_deliveries WHERE integration_id = $INT_ID"
	delivery_is delivered 3
	received 3
	for n in 1 2 3; do
		request $n
		json_check request.json 'j["sig_ok"] is True'
	done
	# One event, three attempts: the same id, each freshly signed.
	python3 -c 'import json, sys
r = [json.loads(l) for l in open("recv/requests.jsonl")]
assert len({x["event_id"] for x in r}) == 1, r
assert [x["status"] for x in r] == [500, 500, 200], r' ||
	    atf_fail "the attempts differ"
	sql_expect "200||t" "SELECT last_status_code, last_error,
	    delivered_at IS NOT NULL FROM webhook_deliveries
	    WHERE integration_id = $INT_ID"
}
retries_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case gives_up cleanup
gives_up_head()
{
	atf_set descr "after the configured attempts a delivery fails"
	atf_set require.progs "curl python3 openssl"
}
gives_up_body()
{
	CB_ATTEMPTS=2
	start callback_conf
	tenant A
	receiver 100
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"user.deleted\"]"
	sql_expect 1 "SELECT authd_enqueue_event($A_CID, 'user.deleted', '{}')"
	delivery_is failed 2
	sleep 3
	received 2
	[ "$(grep -c . recv/requests.jsonl)" = 2 ] ||
	    atf_fail "attempts after the last one"
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID/deliveries"
	json_check http.body 'j[0]["status"] == "failed" and
	    j[0]["attempts"] == 2 and j[0]["last_error"] == "HTTP 500" and
	    j[0]["delivered_at"] is None'
}
gives_up_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case restart cleanup
restart_head()
{
	atf_set descr "a delivery survives a restart of authd between two" \
	    "attempts"
	atf_set require.progs "curl python3 openssl"
}
restart_body()
{
	CB_BACKOFF=4
	start callback_conf
	tenant A
	receiver 1
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"session.revoked\"]"
	printf '%s\n' "$INT_SECRET" >recv/secret
	sql_expect 1 "SELECT authd_enqueue_event($A_CID, 'session.revoked',
	    '{\"session_id\": 1}')"
	received 1
	wait_until 10 delivery_state pending 1 ||
	    atf_fail "the first failure was not recorded"
	authd_stop || atf_fail "authd did not stop"
	# Due while no authd runs.
	sleep 5
	sql_expect "pending 1" "SELECT status || ' ' || attempts
	    FROM webhook_deliveries WHERE integration_id = $INT_ID"
	authd_start || atf_fail "authd did not start again"
	delivery_is delivered 2
	received 2
	request 2
	json_check request.json 'j["sig_ok"] is True and j["status"] == 200
	    and j["body"]["data"] == {"session_id": 1}'
}
restart_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case reset_event cleanup
reset_event_head()
{
	atf_set descr "a password reset emits password.changed to the" \
	    "user's company; a refused reset emits nothing"
	atf_set require.progs "curl python3 openssl"
}
reset_event_body()
{
	local token
	start callback_conf
	tenant A
	tenant B
	receiver 0
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"password.changed\"]"
	printf '%s\n' "$INT_SECRET" >recv/secret
	A_INT=$INT_ID
	# B's integration hears nothing of A's users.
	mkinteg "$B_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"password.changed\"]"
	B_INT=$INT_ID
	mkuser reset "$A_CID"
	# A live session, which the reset ends and the event names.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	# The token a reset mail carries, written behind the API's back:
	# no SMTP here.
	token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
	sql "INSERT INTO password_reset_tokens (user_id, token_hash,
	    expires_at) VALUES ($NEW_UID, sha256(convert_to('$token',
	    'UTF8')), now() + interval '1 hour')"
	http_json POST "$AUTHD_URL/api/v1/auth/password-reset" \
	    "$(jsonobj token "$token" new_password "Fresh-$(rand)-Pw9")" \
	    >/dev/null
	[ "$(cat http.status)" = 200 ] ||
	    atf_fail "password-reset: $(cat http.status) $(cat http.body)"
	received 1
	request 1
	A_CID=$A_CID NEW_UID=$NEW_UID NEW_USER=$NEW_USER SID=$SID json_check \
	    request.json '(lambda e: j["sig_ok"] is True and
	    j["body"]["type"] == "password.changed" and
	    j["event_id"] == j["body"]["id"] and
	    j["body"]["company_id"] == int(e["A_CID"]) and
	    j["body"]["data"] == {"user_id": int(e["NEW_UID"]),
	    "email": e["NEW_USER"] + "@example.com",
	    "username": e["NEW_USER"],
	    "revoked_session_ids": [int(e["SID"])]})(__import__("os").environ)'
	INT_ID=$A_INT
	delivery_is delivered 1
	# A used token changes nothing and tells nobody.
	http_json POST "$AUTHD_URL/api/v1/auth/password-reset" \
	    "$(jsonobj token "$token" new_password "Other-$(rand)-Pw9")" \
	    >/dev/null
	[ "$(cat http.status)" = 400 ] || atf_fail "a token was used twice"
	sleep 2
	[ "$(grep -c . recv/requests.jsonl)" = 1 ] ||
	    atf_fail "more than one event"
	sql_expect "1|0" "SELECT
	    (SELECT count(*) FROM webhook_deliveries
	    WHERE integration_id = $A_INT),
	    (SELECT count(*) FROM webhook_deliveries
	    WHERE integration_id = $B_INT)"
}
reset_event_cleanup()
{
	receiver_stop
	authd_cleanup
}

one_attempt()
{
	echo "callback attempts 1" >>"$AUTHD_CONF_FILE"
}

atf_test_case private_refused cleanup
private_refused_head()
{
	atf_set descr "without callback private, a delivery to a loopback" \
	    "address is refused when connecting"
	atf_set require.progs "curl python3"
}
private_refused_body()
{
	start one_attempt
	tenant A
	receiver 0
	mkinteg "$A_TOKEN" crm '"events": ["user.created"]'
	# Written behind the API's back, as a rebinding name would be.
	sql "UPDATE integrations SET callback_url = '$RECV_URL'
	    WHERE id = $INT_ID"
	sql_expect 1 "SELECT authd_enqueue_event($A_CID, 'user.created', '{}')"
	delivery_is failed 1
	sql_expect "Callback address refused" "SELECT last_error
	    FROM webhook_deliveries WHERE integration_id = $INT_ID"
	[ ! -f recv/requests.jsonl ] || atf_fail "the receiver was called"
}
private_refused_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case enqueue_delete_race cleanup
enqueue_delete_race_head()
{
	atf_set descr "an integration deleted while events are queued is" \
	    "skipped; the company's other integrations still get every event"
	atf_set require.progs "curl python3"
}
# held: the session of enqueue_delete_race_body has deleted its rows and
# holds their locks.
held()
{
	[ "$("$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c "SELECT count(*)
	    FROM pg_stat_activity WHERE application_name = 'g6hold'
	    AND query LIKE '%pg_sleep%'")" = 1 ]
}
# kept N: integration $KEEP has N deliveries.
kept()
{
	[ "$("$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c "SELECT count(*)
	    FROM webhook_deliveries WHERE integration_id = $KEEP")" = "$1" ]
}
enqueue_delete_race_body()
{
	local hold i k tmp users
	start callback_conf
	tenant A
	receiver 0
	users=
	for i in 1 2 3 4 5 6; do
		mkuser "race$i" "$A_CID"
		users="$users $NEW_USER"
	done
	mkinteg "$A_TOKEN" custom "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"login.succeeded\"]"
	KEEP=$INT_ID
	for i in 1 2 3; do
		tmp=
		for k in 1 2 3; do
			mkinteg "$A_TOKEN" custom \
			    "\"callback_url\": \"$RECV_URL\",
			    \"events\": [\"login.succeeded\"]"
			tmp="$tmp${tmp:+, }$INT_ID"
		done
		# The delete commits while the logins' events are being
		# queued: it holds its row locks for 2 seconds.
		"$PG_BINDIR/psql" "$AUTHD_DATABASE application_name=g6hold" \
		    -XAtq -v ON_ERROR_STOP=1 -c "BEGIN" \
		    -c "DELETE FROM integrations WHERE id IN ($tmp)" \
		    -c "SELECT pg_sleep(2)" -c "COMMIT" >hold.out 2>&1 &
		hold=$!
		wait_until 10 held || atf_fail "the delete did not start"
		# shellcheck disable=SC2086
		python3 - "$AUTHD_URL" "$AUTHD_ADMIN_PASSWORD" $users \
		    >logins.out 2>&1 <<'EOF2' ||
import sys, threading, urllib.parse, urllib.request
url, pw, names = sys.argv[1], sys.argv[2], sys.argv[3:]
got = []
def login(n):
    data = urllib.parse.urlencode({"username": n, "password": pw})
    with urllib.request.urlopen(url + "/api/v1/auth/login",
        data.encode(), timeout=30) as r:
        got.append(r.status)
ts = [threading.Thread(target=login, args=(n,)) for n in names]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(got)
sys.exit(0 if got == [200] * len(names) else 1)
EOF2
		    atf_fail "$(oneline "logins: $(cat logins.out)")"
		wait "$hold" ||
		    atf_fail "$(oneline "the delete failed: $(cat hold.out)")"
	done
	# Every login queued one delivery for the untouched integration,
	# none for the deleted ones, and nothing was refused.
	wait_until 10 kept 18 ||
	    atf_fail "$(oneline "not 18 deliveries for the integration" \
	    "nobody deleted: $(grep -m 1 'cannot queue' "$AUTHD_LOG" |
	    head -c 300)")"
	sql_expect 18 "SELECT count(*) FROM webhook_deliveries
	    WHERE company_id = $A_CID"
	if grep -q 'cannot queue' "$AUTHD_LOG"; then
		atf_fail "$(oneline "$(grep -m 1 'cannot queue' "$AUTHD_LOG" |
		    head -c 300)")"
	fi
}
enqueue_delete_race_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case unsigned
	atf_add_test_case deleted_meanwhile
	atf_add_test_case bad_keys
	atf_add_test_case wrong_type
	atf_add_test_case type_segment
	atf_add_test_case signatures
	atf_add_test_case required
	atf_add_test_case replay
	atf_add_test_case invalid_json
	atf_add_test_case big_numbers
	atf_add_test_case outbound
	atf_add_test_case retries
	atf_add_test_case gives_up
	atf_add_test_case restart
	atf_add_test_case reset_event
	atf_add_test_case private_refused
	atf_add_test_case enqueue_delete_race
}
