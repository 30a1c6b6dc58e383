#! /usr/bin/env atf-sh
# /api/v1/integrations over real HTTP: create with a key and a secret
# shown once, the stored hash and sealed secret, reads, update with its
# immutable type, delete, regenerate-key and regenerate-secret, the
# validation of bodies and callback URLs, who may call which route,
# tenant isolation, and introspection with an integration's key.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"
. "$(atf_get_srcdir)/lib/integtest.sh"

atf_test_case create_and_read cleanup
create_and_read_head()
{
	atf_set descr "create shows the key and secret once; the database" \
	    "keeps only the key's SHA-256 and the sealed secret"
	atf_set require.progs "curl python3 openssl"
}
create_and_read_body()
{
	start
	tenant A
	api 200 "$A_TOKEN" POST /api/v1/integrations/ '{"name": "crm",
	    "description": "the CRM", "integration_type": "custom",
	    "configuration": {"require_signature": true, "x": [1, 2]},
	    "events": ["user.created", "login.failed"]}'
	header_is Cache-Control no-store
	jget INT_ID http.body 'j["id"]'
	jget INT_KEY http.body 'j["api_key"]'
	jget INT_SECRET http.body 'j["api_secret"]'
	A_CID=$A_CID json_check http.body 'set(j) == {"id", "name",
	    "description", "integration_type", "callback_url",
	    "configuration", "events", "is_active", "company_id",
	    "api_key_prefix", "created_at", "updated_at", "api_key",
	    "api_secret"} and j["name"] == "crm" and
	    j["description"] == "the CRM" and j["integration_type"] == "custom"
	    and j["callback_url"] is None and j["configuration"] ==
	    {"require_signature": True, "x": [1, 2]} and j["events"] ==
	    ["user.created", "login.failed"] and j["is_active"] is True and
	    j["company_id"] == int(__import__("os").environ["A_CID"]) and
	    re.fullmatch(r"ak_[A-Za-z0-9_-]{43}", j["api_key"]) and
	    j["api_key_prefix"] == j["api_key"][:8] and
	    re.fullmatch(r"[0-9a-f]{64}", j["api_secret"]) and
	    re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["created_at"])'

	# One indexed lookup by the key's SHA-256; the secret only sealed.
	sql_expect t "SELECT api_key_hash = sha256(convert_to('$INT_KEY',
	    'UTF8')) FROM integrations WHERE id = $INT_ID"
	sql_expect f "SELECT position(decode('$INT_SECRET', 'hex') IN
	    api_secret_sealed) > 0 OR position(convert_to('$INT_SECRET',
	    'UTF8') IN api_secret_sealed) > 0 FROM integrations
	    WHERE id = $INT_ID"
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE action =
	    'integration.create' AND object_id = $INT_ID
	    AND actor_user_id = $A_UID AND company_id = $A_CID"

	api 200 "$A_TOKEN" GET "/api/v1/integrations/$INT_ID"
	json_check http.body '"api_key" not in j and "api_secret" not in j
	    and j["name"] == "crm"'
	mkinteg "$A_TOKEN" custom
	api 200 "$A_TOKEN" GET "/api/v1/integrations/?limit=1"
	header_is X-Total-Count 2
	json_check http.body 'len(j) == 1 and j[0]["name"] == "crm" and
	    "api_key" not in j[0] and "api_secret" not in j[0]'
	api 200 "$A_TOKEN" GET "/api/v1/integrations?skip=1"
	INT_NAME=$INT_NAME json_check http.body 'len(j) == 1 and
	    j[0]["name"] == __import__("os").environ["INT_NAME"]'
	api 422 "$A_TOKEN" GET "/api/v1/integrations/?limit=0"
	api 422 "$A_TOKEN" GET "/api/v1/integrations/abc"
	api 404 "$A_TOKEN" GET "/api/v1/integrations/999999999"
	detail_is "Integration not found"
}
create_and_read_cleanup()
{
	authd_cleanup
}

atf_test_case update_delete cleanup
update_delete_head()
{
	atf_set descr "PUT changes what it names, never integration_type;" \
	    "DELETE answers the deleted object; both are audited"
	atf_set require.progs "curl python3 openssl"
}
update_delete_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" oauth2 '"description": "d"'
	api 200 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"name": "renamed", "integration_type": "oauth2",
	    "description": null, "events": ["user.deleted"],
	    "configuration": {"require_signature": false}}'
	json_check http.body 'j["name"] == "renamed" and
	    j["description"] is None and j["events"] == ["user.deleted"] and
	    j["configuration"] == {"require_signature": False} and
	    "api_key" not in j and "api_secret" not in j'
	api 403 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"integration_type": "custom", "name": "x"}'
	detail_is "Cannot change integration_type through this endpoint"
	sql_expect "renamed|oauth2" "SELECT name, integration_type
	    FROM integrations WHERE id = $INT_ID"
	api 422 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" '{"name": ""}'
	api 422 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"is_active": "no"}'
	api 404 "$A_TOKEN" PUT /api/v1/integrations/999999999 '{"name": "x"}'
	detail_is "Integration not found"
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE action =
	    'integration.update' AND object_id = $INT_ID"

	api 200 "$A_TOKEN" DELETE "/api/v1/integrations/$INT_ID"
	json_check http.body 'j["name"] == "renamed"'
	sql_expect 0 "SELECT count(*) FROM integrations WHERE id = $INT_ID"
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE action =
	    'integration.delete' AND object_id = $INT_ID"
	api 404 "$A_TOKEN" DELETE "/api/v1/integrations/$INT_ID"
	detail_is "Integration not found"
	hook 401 oauth2 "$INT_KEY" '{}'
}
update_delete_cleanup()
{
	authd_cleanup
}

atf_test_case validation cleanup
validation_head()
{
	atf_set descr "bodies, integration_type, events and callback URLs" \
	    "are checked; loopback and private callbacks are refused by" \
	    "default"
	atf_set require.progs "curl python3"
}
validation_body()
{
	start
	tenant A
	api 422 "$A_TOKEN" POST /api/v1/integrations/ '{}'
	json_check http.body 'sorted(e["loc"][1] for e in j["detail"]) ==
	    ["integration_type", "name"] and
	    all(e["type"] == "missing" for e in j["detail"])'
	for t in 'Custom' 'a b' 'x.y' ''; do
		api 422 "$A_TOKEN" POST /api/v1/integrations/ \
		    "{\"name\": \"n\", \"integration_type\": \"$t\"}"
		json_check http.body 'j["detail"][0]["loc"] ==
		    ["body", "integration_type"]'
	done
	api 422 "$A_TOKEN" POST /api/v1/integrations/ \
	    '{"name": "n", "integration_type": "abcdefghijabcdefghijabcdefghijabc"}'
	json_check http.body 'j["detail"][0]["loc"] ==
	    ["body", "integration_type"]'
	api 422 "$A_TOKEN" POST /api/v1/integrations/ \
	    '{"name": "n", "integration_type": "c", "events": ["user.eaten"]}'
	json_check http.body 'j["detail"][0]["loc"] == ["body", "events"]'
	api 422 "$A_TOKEN" POST /api/v1/integrations/ \
	    '{"name": "n", "integration_type": "c", "configuration": []}'
	api 422 "$A_TOKEN" POST /api/v1/integrations/ \
	    '{"name": "n", "integration_type": "c",
	    "configuration": {"require_signature": "yes"}}'
	api 422 "$A_TOKEN" POST /api/v1/integrations/ '{"name": '
	json_check http.body 'j["detail"][0]["type"] == "json_invalid"'
	for u in 'ftp://example.com/x' 'javascript:alert(1)' 'example.com/x' \
	    'http://127.0.0.1:9/x' 'http://localhost/x' 'http://10.1.2.3/' \
	    'https://192.168.0.1/' 'http://169.254.169.254/latest' \
	    'http://[::1]:80/' 'http://0.0.0.0/' 'http://[::ffff:127.0.0.1]/'
	do
		api 422 "$A_TOKEN" POST /api/v1/integrations/ \
		    "{\"name\": \"n\", \"integration_type\": \"c\",
		    \"callback_url\": \"$u\"}"
		json_check http.body 'j["detail"][0]["loc"] ==
		    ["body", "callback_url"]'
	done
	mkinteg "$A_TOKEN" c
	api 422 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"callback_url": "http://127.0.0.2/"}'
	json_check http.body 'j["detail"][0]["loc"] == ["body", "callback_url"]'
	# A public address literal needs no resolver.
	api 200 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"callback_url": "https://93.184.216.34/hook"}'
	json_check http.body 'j["callback_url"] == "https://93.184.216.34/hook"'
	api 200 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"callback_url": null}'
	json_check http.body 'j["callback_url"] is None'
	sql_expect 0 "SELECT count(*) FROM integrations WHERE company_id =
	    $A_CID AND name = 'n'"
}
validation_cleanup()
{
	authd_cleanup
}

atf_test_case who_may cleanup
who_may_head()
{
	atf_set descr "admins manage integrations; integrations:read" \
	    "grants reading only; a plain user nothing; no caller 401"
	atf_set require.progs "curl python3"
}
who_may_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" custom
	mkuser plain "$A_CID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	PLAIN=$ACCESS
	for r in "GET /api/v1/integrations/" "GET /api/v1/integrations/$INT_ID" \
	    "DELETE /api/v1/integrations/$INT_ID" \
	    "POST /api/v1/integrations/$INT_ID/regenerate-key" \
	    "POST /api/v1/integrations/$INT_ID/regenerate-secret" \
	    "GET /api/v1/integrations/$INT_ID/events" \
	    "GET /api/v1/integrations/$INT_ID/deliveries"; do
		# shellcheck disable=SC2086
		api 403 "$PLAIN" $r
		detail_is "The user doesn't have enough privileges"
	done
	api 403 "$PLAIN" POST /api/v1/integrations/ \
	    '{"name": "x", "integration_type": "custom"}'
	# A role holding integrations:read.
	sql "WITH r AS (INSERT INTO roles (company_id, name)
	    VALUES ($A_CID, 'reader_$(rand)') RETURNING id),
	    p AS (INSERT INTO role_permissions (role_id, permission_id,
	    company_id) SELECT r.id, p.id, $A_CID FROM r, permissions p
	    WHERE p.name = 'integrations:read' AND p.company_id IS NULL)
	    INSERT INTO user_roles (user_id, role_id, company_id)
	    SELECT $NEW_UID, id, $A_CID FROM r"
	api 200 "$PLAIN" GET /api/v1/integrations/
	json_check http.body 'len(j) == 1'
	api 200 "$PLAIN" GET "/api/v1/integrations/$INT_ID/events"
	api 403 "$PLAIN" DELETE "/api/v1/integrations/$INT_ID"
	http_expect 401 GET "$AUTHD_URL/api/v1/integrations/"
	detail_is "Not authenticated"
	# A key is not a session.
	http_expect 401 GET "$AUTHD_URL/api/v1/integrations/" \
	    -H "Authorization: Bearer $INT_KEY"
	http_expect 401 GET "$AUTHD_URL/api/v1/users/me" \
	    -H "X-API-Key: $INT_KEY"
}
who_may_cleanup()
{
	authd_cleanup
}

atf_test_case company_field cleanup
company_field_head()
{
	atf_set descr "company_id in a body: the caller's own is accepted," \
	    "another is a 403 naming it and nothing is written, for company" \
	    "and root admins alike"
	atf_set require.progs "curl python3 openssl"
}
company_field_body()
{
	start
	tenant A
	tenant B
	# A company admin, naming another company or its own.
	api 403 "$A_TOKEN" POST /api/v1/integrations/ "{\"name\": \"x\",
	    \"integration_type\": \"custom\", \"company_id\": $B_CID}"
	detail_is "You can only create integrations in your own company"
	api 403 "$A_TOKEN" POST /api/v1/integrations/ "{\"name\": \"x\",
	    \"integration_type\": \"custom\", \"company_id\": $ROOT_CID}"
	detail_is "You can only create integrations in your own company"
	sql_expect 0 "SELECT count(*) FROM integrations WHERE name = 'x'"
	api 422 "$A_TOKEN" POST /api/v1/integrations/ '{"name": "x",
	    "integration_type": "custom", "company_id": "two"}'
	json_check http.body 'j["detail"][0]["loc"] == ["body", "company_id"]'
	mkinteg "$A_TOKEN" custom "\"company_id\": $A_CID"
	A_CID=$A_CID json_check http.body 'j["company_id"] ==
	    int(__import__("os").environ["A_CID"])'
	A_INT=$INT_ID

	# A root admin too creates only in its own company.
	login_admin
	api 403 "$ACCESS" POST /api/v1/integrations/ "{\"name\": \"x\",
	    \"integration_type\": \"custom\", \"company_id\": $A_CID}"
	detail_is "You can only create integrations in your own company"
	sql_expect 0 "SELECT count(*) FROM integrations WHERE name = 'x'"
	mkinteg "$ACCESS" custom "\"company_id\": $ROOT_CID"
	sql_expect "$ROOT_CID" "SELECT company_id FROM integrations
	    WHERE id = $INT_ID"

	# PUT: the integration's own company only; another changes nothing.
	api 403 "$A_TOKEN" PUT "/api/v1/integrations/$A_INT" \
	    "{\"name\": \"moved\", \"company_id\": $B_CID}"
	detail_is "Cannot change company_id through this endpoint"
	sql_expect "$A_CID|0" "SELECT company_id, (SELECT count(*)
	    FROM audit_log WHERE action = 'integration.update'
	    AND object_id = $A_INT) FROM integrations WHERE id = $A_INT
	    AND name <> 'moved'"
	api 200 "$A_TOKEN" PUT "/api/v1/integrations/$A_INT" \
	    "{\"name\": \"kept\", \"company_id\": $A_CID}"
	json_check http.body 'j["name"] == "kept"'
	# Another company's integration is still not found, before that.
	api 404 "$B_TOKEN" PUT "/api/v1/integrations/$A_INT" \
	    "{\"company_id\": $B_CID}"
	detail_is "Integration not found"
	sql_expect "$A_CID|kept" "SELECT company_id, name FROM integrations
	    WHERE id = $A_INT"
}
company_field_cleanup()
{
	authd_cleanup
}

atf_test_case tenants cleanup
tenants_head()
{
	atf_set descr "another company's integrations answer 404 on every" \
	    "route, and its key is useless for this company's objects"
	atf_set require.progs "curl python3 openssl"
}
tenants_body()
{
	start
	tenant A
	tenant B
	mkinteg "$B_TOKEN" custom
	B_INT=$INT_ID
	B_KEY=$INT_KEY
	mkinteg "$A_TOKEN" custom
	A_INT=$INT_ID
	api 200 "$A_TOKEN" GET /api/v1/integrations/
	A_INT=$A_INT json_check http.body '[i["id"] for i in j] ==
	    [int(__import__("os").environ["A_INT"])]'
	for r in "GET /api/v1/integrations/$B_INT" \
	    "DELETE /api/v1/integrations/$B_INT" \
	    "POST /api/v1/integrations/$B_INT/regenerate-key" \
	    "POST /api/v1/integrations/$B_INT/regenerate-secret" \
	    "GET /api/v1/integrations/$B_INT/events" \
	    "GET /api/v1/integrations/$B_INT/deliveries"; do
		# shellcheck disable=SC2086
		api 404 "$A_TOKEN" $r
		detail_is "Integration not found"
	done
	api 404 "$A_TOKEN" PUT "/api/v1/integrations/$B_INT" '{"name": "x"}'
	detail_is "Integration not found"
	sql_expect 0 "SELECT count(*) FROM audit_log WHERE object_id = $B_INT
	    AND action <> 'integration.create' AND object_type = 'integration'"
	# B's key cannot reach A's objects: not the admin routes...
	http_expect 401 GET "$AUTHD_URL/api/v1/integrations/$A_INT" \
	    -H "X-API-Key: $B_KEY"
	# ...and a webhook with it lands on B's integration only.
	hook 200 custom "$B_KEY" '{"for": "b"}'
	sql_expect "0|1" "SELECT
	    (SELECT count(*) FROM webhook_events WHERE integration_id = $A_INT),
	    (SELECT count(*) FROM webhook_events WHERE integration_id = $B_INT)"
	api 200 "$A_TOKEN" GET "/api/v1/integrations/$A_INT/events"
	json_check http.body 'j == []'
}
tenants_cleanup()
{
	authd_cleanup
}

atf_test_case regenerate cleanup
regenerate_head()
{
	atf_set descr "regenerate-key stops the old key at once;" \
	    "regenerate-secret makes old signatures fail"
	atf_set require.progs "curl python3 openssl"
}
regenerate_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" custom
	OLD_KEY=$INT_KEY
	OLD_SECRET=$INT_SECRET
	hook 200 custom "$OLD_KEY" '{"n": 1}'
	api 200 "$A_TOKEN" POST "/api/v1/integrations/$INT_ID/regenerate-key"
	header_is Cache-Control no-store
	json_check http.body '"api_secret" not in j and
	    re.fullmatch(r"ak_[A-Za-z0-9_-]{43}", j["api_key"]) and
	    j["api_key_prefix"] == j["api_key"][:8]'
	jget INT_KEY http.body 'j["api_key"]'
	[ "$INT_KEY" != "$OLD_KEY" ] || atf_fail "the key did not change"
	hook 401 custom "$OLD_KEY" '{"n": 2}'
	detail_is "Invalid or missing API key"
	hook 200 custom "$INT_KEY" '{"n": 3}'
	sql_expect 1 "SELECT count(*) FROM audit_log WHERE action =
	    'integration.regenerate_key' AND object_id = $INT_ID"

	signed_hook 200 custom "$INT_KEY" '{"n": 4}'
	api 200 "$A_TOKEN" POST \
	    "/api/v1/integrations/$INT_ID/regenerate-secret"
	header_is Cache-Control no-store
	json_check http.body '"api_key" not in j and
	    re.fullmatch(r"[0-9a-f]{64}", j["api_secret"])'
	jget INT_SECRET http.body 'j["api_secret"]'
	[ "$INT_SECRET" != "$OLD_SECRET" ] || atf_fail "the secret is the same"
	signed_hook 401 custom "$INT_KEY" '{"n": 5}' "" "$OLD_SECRET"
	detail_is "Invalid signature"
	signed_hook 200 custom "$INT_KEY" '{"n": 6}'
	# The key did not change with the secret.
	hook 200 custom "$INT_KEY" '{"n": 7}'
	events_count 5
}
regenerate_cleanup()
{
	authd_cleanup
}

atf_test_case deactivated cleanup
deactivated_head()
{
	atf_set descr "a deactivated integration's key, or that of an" \
	    "inactive company, is refused"
	atf_set require.progs "curl python3"
}
deactivated_body()
{
	start
	tenant A
	mkinteg "$A_TOKEN" custom
	hook 200 custom "$INT_KEY" '{}'
	api 200 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"is_active": false}'
	json_check http.body 'j["is_active"] is False'
	hook 401 custom "$INT_KEY" '{}'
	header_is WWW-Authenticate ApiKey
	api 200 "$A_TOKEN" PUT "/api/v1/integrations/$INT_ID" \
	    '{"is_active": true}'
	hook 200 custom "$INT_KEY" '{}'
	sql "UPDATE companies SET is_active = false WHERE id = $A_CID"
	hook 401 custom "$INT_KEY" '{}'
	events_count 2
}
deactivated_cleanup()
{
	authd_cleanup
}

atf_test_case introspect cleanup
introspect_head()
{
	atf_set descr "an integration introspects tokens of its own company" \
	    "only; a bad key is a 401"
	atf_set require.progs "curl python3"
}
introspect_body()
{
	start
	tenant A
	A_TOK=$A_TOKEN
	tenant B
	mkinteg "$A_TOK" custom
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    -H "X-API-Key: $INT_KEY" --data-urlencode "token=$A_TOK"
	A_CID=$A_CID json_check http.body 'j["active"] is True and
	    j["cid"] == int(__import__("os").environ["A_CID"])'
	header_is Cache-Control no-store
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    -H "X-API-Key: $INT_KEY" --data-urlencode "token=$B_TOKEN"
	json_check http.body 'j == {"active": False}'
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    -H "X-API-Key: ak_notakey" --data-urlencode "token=$A_TOK"
	detail_is "Invalid or missing API key"
	header_is WWW-Authenticate ApiKey
	api 200 "$A_TOK" PUT "/api/v1/integrations/$INT_ID" \
	    '{"is_active": false}'
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    -H "X-API-Key: $INT_KEY" --data-urlencode "token=$A_TOK"
	# Without a key, an admin's bearer token as before.
	http_expect 200 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    -H "Authorization: Bearer $B_TOKEN" --data-urlencode "token=$A_TOK"
	json_check http.body 'j == {"active": False}'
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    --data-urlencode "token=$A_TOK"
	detail_is "Not authenticated"
}
introspect_cleanup()
{
	authd_cleanup
}

# --- outbound events of the users and sessions API --------------------

# subscribe EVENT...: authd started for callbacks to the loopback, tenant
# A, a receiver in ./recv and an integration of A that sends it the
# events named.
subscribe()
{
	local list e
	start callback_conf
	tenant A
	receiver 0
	list=
	for e in "$@"; do
		list="$list${list:+, }\"$e\""
	done
	mkinteg "$A_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [$list]"
	printf '%s\n' "$INT_SECRET" >recv/secret
}

# events_are TYPE PY: the receiver's requests are N events of TYPE, all
# signed, of company A; PY is a Python expression over d, the list of
# their data objects, sorted by session_id then user_id.
events_are()
{
	TYPE=$1 A_CID=$A_CID python3 -c 'import json, os, sys
r = [json.loads(l) for l in open("recv/requests.jsonl")]
assert all(x["sig_ok"] and x["body"]["type"] == os.environ["TYPE"] and
    x["body"]["company_id"] == int(os.environ["A_CID"]) and
    x["event_id"] == x["body"]["id"] for x in r), r
d = sorted((x["body"]["data"] for x in r),
    key=lambda e: (e.get("session_id", 0), e["user_id"]))
sys.exit(0 if eval("(" + sys.argv[1] + ")") else "data: %r" % d)' "$2" 2>events.err ||
	    atf_fail "$(oneline "the $1 events are not: $2;" \
	    "$(cat events.err)")"
}

# no_more N: two seconds later the receiver still has N requests.
no_more()
{
	sleep 2
	[ "$(grep -c . recv/requests.jsonl)" = "$1" ] ||
	    atf_fail "$(grep -c . recv/requests.jsonl) events, expected $1"
}

atf_test_case user_events cleanup
user_events_head()
{
	atf_set descr "user.created, user.updated and user.deleted are" \
	    "queued with the change whatever makes it; a login or a new" \
	    "password alone send none; a move tells the old company" \
	    "user.deleted; a company's deletion queues nothing"
	atf_set require.progs "curl python3 openssl"
}
user_events_body()
{
	local name c
	subscribe user.created user.updated user.deleted
	tenant B
	name="ue_$(rand)"
	api 200 "$A_TOKEN" POST /api/v1/users/ "$(jsonobj \
	    email "$name@example.com" username "$name" \
	    password 'Event-Pass1?')"
	jget U http.body 'j["id"]'
	received 1
	api 200 "$A_TOKEN" PUT "/api/v1/users/$U" '{"full_name": "E U"}'
	received 2
	api 200 "$A_TOKEN" PUT "/api/v1/users/$U" \
	    '{"password": "Event-Pass2?"}'
	login "$name" 'Event-Pass2?'
	# Not through the API: the trigger sees it all the same.
	sql "UPDATE users SET is_verified = NOT is_verified WHERE id = $U"
	received 3
	login_admin
	api 200 "$ACCESS" PUT "/api/v1/users/$U" "{\"company_id\": $B_CID}"
	received 4
	mkuser gone "$A_CID"
	received 5
	api 200 "$A_TOKEN" DELETE "/api/v1/users/$NEW_UID"
	received 6
	no_more 6
	U=$U G=$NEW_UID NAME=$name A_CID=$A_CID python3 -c '
import json, os
e = os.environ
r = [json.loads(l) for l in open("recv/requests.jsonl")]
assert all(x["sig_ok"] and x["body"]["company_id"] == int(e["A_CID"])
    for x in r), r
key = lambda t: json.dumps(t, sort_keys=True)
got = sorted(((x["body"]["type"], x["body"]["data"]) for x in r), key=key)
u, g = int(e["U"]), int(e["G"])
me = {"user_id": u, "email": e["NAME"] + "@example.com",
    "username": e["NAME"]}
gone = [x["body"]["data"] for x in r if x["body"]["data"]["user_id"] == g]
want = sorted([("user.created", me),
    ("user.updated", dict(me, fields=["full_name"])),
    ("user.updated", dict(me, fields=["is_verified"])),
    ("user.deleted", dict(me, reason="moved to another company")),
    ("user.created", gone[0]), ("user.deleted", gone[0])], key=key)
assert got == want, got
assert set(gone[0]) == {"user_id", "email", "username"}, gone
' 2>events.err || atf_fail "$(oneline "user events:" "$(cat events.err)")"
	# A company whose users have a subscriber goes, users and all.
	mkinteg "$B_TOKEN" crm "\"callback_url\": \"$RECV_URL\",
	    \"events\": [\"user.deleted\"]"
	api 200 "$ACCESS" DELETE "/api/v1/companies/$B_CID?force=true"
	sql_expect 0 "SELECT count(*) FROM webhook_deliveries
	    WHERE company_id = $B_CID"
	no_more 6
}
user_events_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case session_events cleanup
session_events_head()
{
	atf_set descr "revoking sessions through the API sends" \
	    "session.revoked: one own session, all others (one event each)," \
	    "an admin's revocation, logout, the reuse of a refresh token" \
	    "and authctl session kill"
	atf_set require.progs "curl python3 openssl"
}
session_events_body()
{
	local i first
	subscribe session.revoked
	mkuser ev "$A_CID"
	U=$NEW_UID
	for i in 1 2 3 4 5; do
		login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
		eval "T$i=\$ACCESS S$i=\$SID"
	done
	# One expired session: it is not revoked again, nor reported.
	sql "UPDATE sessions SET expires_at = now() - interval '1 second'
	    WHERE id = $S3"
	api 200 "$T5" DELETE "/api/v1/users/me/sessions/$S1"
	received 1
	api 200 "$T5" DELETE /api/v1/users/me/sessions
	message_is "Revoked 2 sessions successfully"
	received 3
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S6=$SID
	api 200 "$A_TOKEN" DELETE "/api/v1/sessions/$S6"
	received 4
	api 200 "$T5" POST /api/v1/auth/logout
	received 5
	# A refresh token older than the one rotated last: theft.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S7=$SID
	first=$REFRESH
	refresh 200 "$REFRESH"
	refresh 200 "$REFRESH"
	refresh 401 "$first"
	received 6
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S8=$SID
	authctl_run session kill "$S8" >/dev/null ||
	    atf_fail "authctl session kill $S8 failed"
	received 7
	no_more 7
	U=$U S1=$S1 S2=$S2 S4=$S4 S5=$S5 S6=$S6 S7=$S7 S8=$S8 \
	    events_are session.revoked '
	    d == [{"user_id": int(os.environ["U"]),
	    "session_id": int(os.environ[s]), "reason": r} for s, r in (
	    ("S1", "revoked by the user"), ("S2", "revoked by the user"),
	    ("S4", "revoked by the user"), ("S5", "logout"),
	    ("S6", "revoked by an administrator"),
	    ("S7", "refresh token reuse"),
	    ("S8", "revoked by an administrator"))]'
	# A refused or missing revocation sends nothing.
	api 404 "$A_TOKEN" DELETE "/api/v1/sessions/$S6"
	refresh 401 "$first"
	! authctl_run session kill "$S8" >/dev/null 2>&1 ||
	    atf_fail "authctl killed session $S8 twice"
	no_more 7
}
session_events_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case login_events cleanup
login_events_head()
{
	atf_set descr "logins send login.succeeded, queued with the session" \
	    "it names, and login.failed, queued with the history row, for" \
	    "a wrong password or an inactive user, none for an unknown one"
	atf_set require.progs "curl python3 openssl"
}
login_events_body()
{
	subscribe login.succeeded login.failed
	mkuser ev "$A_CID"
	U=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A 'events-test/1.0'
	received 1
	http POST "$AUTHD_URL/api/v1/auth/login" -A 'events-test/1.0' \
	    --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=not-$AUTHD_ADMIN_PASSWORD" >/dev/null
	received 2
	# An unknown user is no one's event.
	http POST "$AUTHD_URL/api/v1/auth/login" \
	    --data-urlencode "username=nobody-$(rand)" \
	    --data-urlencode "password=not-$AUTHD_ADMIN_PASSWORD" >/dev/null
	# A refusal that is not a 401 is an event too.
	sql "UPDATE users SET is_active = false WHERE id = $U"
	http_expect 400 POST "$AUTHD_URL/api/v1/auth/login" \
	    -A 'events-test/1.0' --data-urlencode "username=$NEW_USER" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	received 3
	no_more 3
	U=$U SID=$SID A_CID=$A_CID python3 -c 'import json, os, sys
r = [json.loads(l) for l in open("recv/requests.jsonl")]
assert [x["body"]["type"] for x in r].count("login.failed") == 2, r
ev = {x["body"]["type"]: x["body"] for x in r}
assert all(x["sig_ok"] for x in r), r
base = {"user_id": int(os.environ["U"]), "ip_address": "127.0.0.1",
    "user_agent": "events-test/1.0"}
ok = ev["login.succeeded"]
bad = ev["login.failed"]
assert ok["company_id"] == int(os.environ["A_CID"]), ok
assert ok["data"] == dict(base, session_id=int(os.environ["SID"])), ok
assert bad["data"] == base, bad' 2>events.err ||
	    atf_fail "$(oneline "login events: $(cat events.err)")"
}
login_events_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case deactivation_events cleanup
deactivation_events_head()
{
	atf_set descr "sessions ended by a user's deactivation, authctl" \
	    "user lock or a company's deactivation send session.revoked" \
	    "with that reason, live ones only"
	atf_set require.progs "curl python3 openssl"
}
deactivation_events_body()
{
	subscribe session.revoked
	mkuser off "$A_CID"
	U1=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S1=$SID
	# An expired session ends too, unreported.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	sql "UPDATE sessions SET expires_at = now() - interval '1 second'
	    WHERE id = $SID"
	api 200 "$A_TOKEN" PUT "/api/v1/users/$U1" '{"is_active": false}'
	received 1
	mkuser lock "$A_CID"
	U2=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S2=$SID
	authctl_run user lock "$NEW_USER" >/dev/null ||
	    atf_fail "authctl user lock failed"
	received 2
	mkuser co "$A_CID"
	U3=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S3=$SID
	login_admin
	api 200 "$ACCESS" PUT "/api/v1/companies/$A_CID" '{"is_active": false}'
	# The company admin's own session ends with it.
	claim S0 "$A_TOKEN" sid
	received 4
	no_more 4
	U=$A_UID U1=$U1 U2=$U2 U3=$U3 S0=$S0 S1=$S1 S2=$S2 S3=$S3 \
	    events_are session.revoked '
	    d == [{"user_id": int(os.environ[u]),
	    "session_id": int(os.environ[s]), "reason": r} for u, s, r in (
	    ("U", "S0", "company deactivated"),
	    ("U1", "S1", "user deactivated"), ("U2", "S2", "user locked"),
	    ("U3", "S3", "company deactivated"))]'
}
deactivation_events_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_test_case password_events cleanup
password_events_head()
{
	atf_set descr "a new password through PUT /users/me or /users/{id}" \
	    "sends password.changed naming the sessions it ended"
	atf_set require.progs "curl python3 openssl"
}
password_events_body()
{
	subscribe password.changed session.revoked
	mkuser pw "$A_CID"
	U=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S1=$SID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	T2=$ACCESS
	S2=$SID
	# No password, no event.
	api 200 "$T2" PUT /api/v1/users/me '{"full_name": "No Event"}'
	api 200 "$T2" PUT /api/v1/users/me "$(jsonobj password \
	    'Changed-Pass2?' current_password "$AUTHD_ADMIN_PASSWORD")"
	received 1
	no_more 1
	U=$U S1=$S1 NAME=$NEW_USER events_are password.changed '
	    d == [{"user_id": int(os.environ["U"]),
	    "username": os.environ["NAME"],
	    "email": os.environ["NAME"] + "@example.com",
	    "revoked_session_ids": [int(os.environ["S1"])]}]'
	# By an admin: every session of the user ends, the caller's is
	# another user's.
	api 200 "$A_TOKEN" PUT "/api/v1/users/$U" \
	    '{"password": "Changed-Pass3?"}'
	received 2
	no_more 2
	sed -n 2p recv/requests.jsonl >recv/requests.2
	mv recv/requests.2 recv/requests.jsonl
	U=$U S2=$S2 NAME=$NEW_USER events_are password.changed '
	    d == [{"user_id": int(os.environ["U"]),
	    "username": os.environ["NAME"],
	    "email": os.environ["NAME"] + "@example.com",
	    "revoked_session_ids": [int(os.environ["S2"])]}]'
}
password_events_cleanup()
{
	receiver_stop
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case create_and_read
	atf_add_test_case update_delete
	atf_add_test_case validation
	atf_add_test_case who_may
	atf_add_test_case tenants
	atf_add_test_case company_field
	atf_add_test_case regenerate
	atf_add_test_case deactivated
	atf_add_test_case introspect
	atf_add_test_case user_events
	atf_add_test_case session_events
	atf_add_test_case login_events
	atf_add_test_case deactivation_events
	atf_add_test_case password_events
}
