# Shell helpers of integrations_test.sh and webhooks_test.sh: company
# admins, integrations made through the API, signed webhooks and the
# receiver of outbound events (whreceiver.py).  Sourced after
# regress/lib.sh and lib/authtest.sh; like those, helpers that produce a
# value set a variable and fail the test case themselves.

# tenant NAME: a company with a superuser, logged in; sets NAME_CID,
# NAME_UID and NAME_TOKEN (e.g. tenant A: A_CID, A_UID, A_TOKEN).
tenant()
{
	mkcompany
	mkuser "adm$1" "$NEW_CID" true
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	eval "$1_CID=\$NEW_CID; $1_UID=\$NEW_UID; $1_TOKEN=\$ACCESS"
}

# api CODE TOKEN METHOD PATH [JSON]: a request with a bearer token and,
# when given, a JSON body, that must answer CODE.
api()
{
	if [ $# -ge 5 ]; then
		bearer "$1" "$2" "$3" "$4" -H 'Content-Type: application/json' \
		    --data-binary "$5"
	else
		bearer "$1" "$2" "$3" "$4"
	fi
}

# mkinteg TOKEN TYPE [JSON FIELDS]: creates an integration (name
# "integ_<random>", the extra fields are spliced in the object); sets
# INT_ID, INT_KEY, INT_SECRET and INT_NAME.
mkinteg()
{
	INT_NAME="integ_$(rand)"
	api 200 "$1" POST /api/v1/integrations/ \
	    "{\"name\": \"$INT_NAME\", \"integration_type\": \"$2\"${3:+, $3}}"
	jget INT_ID http.body 'j["id"]'
	jget INT_KEY http.body 'j["api_key"]'
	jget INT_SECRET http.body 'j["api_secret"]'
}

# sign TS BODY [SECRET]: the X-Signature value for it, computed by
# openssl as a partner would: the secret as shown is the HMAC key.
sign()
{
	printf '%s.%s' "$1" "$2" | openssl dgst -sha256 \
	    -hmac "${3:-$INT_SECRET}" | sed 's/^.*= *//; s/^/sha256=/'
}

# hook CODE TYPE KEY BODY [CURL ARGS...]: POST /api/v1/webhooks/TYPE with
# the key in X-API-Key, that must answer CODE.
hook()
{
	local code type key body
	code=$1
	type=$2
	key=$3
	body=$4
	shift 4
	http_expect "$code" POST "$(base)/api/v1/webhooks/$type" \
	    -H "X-API-Key: $key" -H 'Content-Type: application/json' \
	    --data-binary "$body" "$@"
}

# signed_hook CODE TYPE KEY BODY [TS [SECRET]]: the same, signed.
signed_hook()
{
	local ts sig
	ts=${5:-$(date +%s)}
	sig=$(sign "$ts" "$4" "${6:-$INT_SECRET}")
	hook "$1" "$2" "$3" "$4" -H "X-Timestamp: $ts" -H "X-Signature: $sig"
}

# events_count N: integration INT_ID has N stored events.
events_count()
{
	sql_expect "$1" "SELECT count(*) FROM webhook_events
	    WHERE integration_id = $INT_ID"
}

# --- outbound ----------------------------------------------------------

# callback_conf [BACKOFF [ATTEMPTS]]: lets the daemon call back to the
# loopback receiver, with a short retry schedule.
callback_conf()
{
	{
		echo "callback private yes"
		echo "callback timeout 5"
		echo "callback backoff ${CB_BACKOFF:-1}"
		echo "callback attempts ${CB_ATTEMPTS:-5}"
	} >>"$AUTHD_CONF_FILE"
}

# receiver [FAILS]: starts whreceiver.py in ./recv; sets RECV_URL.
receiver()
{
	mkdir -p recv
	python3 "$AUTHTEST_LIB/whreceiver.py" "$PWD/recv" "${1:-0}" &
	echo $! >recv.pid
	wait_until 10 test -f recv/port || atf_fail "the receiver did not start"
	RECV_URL="http://127.0.0.1:$(cat recv/port)/hook"
}

receiver_stop()
{
	if [ -f recv.pid ]; then
		kill "$(cat recv.pid)" 2>/dev/null
		rm -f recv.pid
	fi
}

# received N: waits up to 30 s for the receiver to have N requests.
recv_n()
{
	[ -f recv/requests.jsonl ] &&
	    [ "$(grep -c . recv/requests.jsonl)" -ge "$1" ]
}

received()
{
	wait_until 30 recv_n "$1" || atf_fail "$(oneline "receiver got" \
	    "$(grep -c . recv/requests.jsonl 2>/dev/null) requests," \
	    "expected $1")"
}

# request N: request N (1-based) of the receiver in ./request.json.
request()
{
	sed -n "$1p" recv/requests.jsonl >request.json
}

# delivery_is STATUS ATTEMPTS: the one delivery of INT_ID, once it has
# made ATTEMPTS attempts and has STATUS (waits up to 30 s).
delivery_state()
{
	[ "$("$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -c "SELECT status ||
	    ' ' || attempts FROM webhook_deliveries
	    WHERE integration_id = $INT_ID")" = "$1 $2" ]
}

delivery_is()
{
	wait_until 30 delivery_state "$1" "$2" || {
		sql "SELECT status, attempts, last_status_code, last_error
		    FROM webhook_deliveries WHERE integration_id = $INT_ID"
		atf_fail "$(oneline "delivery of $INT_ID: $SQL, expected" \
		    "$1 after $2 attempts")"
	}
}
