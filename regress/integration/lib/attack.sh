# Shell helpers of attacks_test.sh, sourced after regress/lib.sh and
# lib/authtest.sh.  Every check names its anchor (an OWASP ASVS 5.0
# requirement or an RFC section) in its failure message, so that a
# failure says which requirement is broken.

ATTACK_HTTP=$AUTHTEST_LIB/attack_http.py

# check ANCHOR TEXT COMMAND...: runs COMMAND; fails the case with
# "ANCHOR: TEXT" unless it succeeds.
check()
{
	local anchor text
	anchor=$1
	text=$2
	shift 2
	"$@" >check.out 2>&1 || atf_fail "$(oneline "$anchor: $text:" \
	    "$(head -c 400 check.out)")"
}

# bytes FILE PYEXPR: writes the bytes of the Python expression to FILE
# (dash's printf has no \x escapes).
bytes()
{
	python3 -c 'import sys
sys.stdout.buffer.write(eval("(" + sys.argv[1] + ")"))' "$2" >"$1" ||
	    atf_fail "cannot build $1"
}

# raw NAME PYEXPR [WAIT]: sends the bytes of PYEXPR to the daemon in one
# write over a raw socket; the parsed answers are in NAME.json (see
# attack_http.py).
raw()
{
	bytes "$1.req" "$2"
	python3 "$ATTACK_HTTP" send "$AUTHD_PORT" "${3:-3}" <"$1.req" \
	    >"$1.json" 2>"$1.err" ||
	    atf_fail "$(oneline "attack_http.py failed: $(cat "$1.err")")"
}

# status_in ANCHOR TEXT CODE...: the last curl answer has one of CODEs.
status_in()
{
	local anchor text got c
	anchor=$1
	text=$2
	shift 2
	got=$(cat "${HTTP_OUT:-.}/http.status")
	for c in "$@"; do
		[ "$got" = "$c" ] && return 0
	done
	atf_fail "$(oneline "$anchor: $text: status $got, expected one of" \
	    "$*; body: $(head -c 300 "${HTTP_OUT:-.}/http.body")")"
}

# send_body METHOD PATH FILE [CURL ARGS...]: a JSON request whose body is
# FILE; prints the status like http.
send_body()
{
	local method path file
	method=$1
	path=$2
	file=$3
	shift 3
	http "$method" "$(base)$path" -H 'Content-Type: application/json' \
	    --data-binary "@$file" "$@"
}

# alive ANCHOR: the daemon still answers and no worker has died.
alive()
{
	[ "$(http GET "$(base)/health/db")" = 200 ] ||
	    atf_fail "$1: the daemon does not answer any more"
	if grep -q 'lost child' "$AUTHD_LOG"; then
		atf_fail "$(oneline "$1: a child died:" \
		    "$(grep 'lost child' "$AUTHD_LOG" | head -n 3)")"
	fi
}

# json_invalid ANCHOR TEXT: the last answer is 422 json_invalid.
json_invalid()
{
	status_in "$1" "$2" 422
	json_expect http.body 'j["detail"][0]["type"] == "json_invalid"' \
	    >check.out 2>&1 || atf_fail "$(oneline "$1: $2: not json_invalid:" \
	    "$(head -c 300 http.body)")"
}

# headers_json FILE: the headers of the last curl answer as a JSON
# object (names in lower case) in FILE, less those that change from one
# answer to the next whatever the request: Date, X-Request-Id, and the
# per-address RateLimit counters (they count requests, not users).
headers_json()
{
	tr -d '\r' <http.headers | python3 -c 'import json, sys
h = {}
for line in sys.stdin.read().split("\n")[1:]:
    k, sep, v = line.partition(":")
    k = k.strip().lower()
    if sep and k not in ("date", "x-request-id", "ratelimit-remaining",
                         "ratelimit-reset"):
        h[k] = v.strip()
print(json.dumps(h, sort_keys=True))' >"$1"
}

# secure_headers ANCHOR TEXT HEADERS_FILE: the header block in the file
# (curl's -D or the JSON of raw) has a JSON Content-Type and the
# security headers.
secure_headers()
{
	python3 - "$3" >check.out 2>&1 <<'PY' ||
import json, sys
text = open(sys.argv[1], encoding="latin-1").read()
if text.lstrip().startswith("{"):
    h = json.loads(text)["responses"][0]["headers"]
else:
    h = {}
    for line in text.replace("\r", "").split("\n")[1:]:
        k, sep, v = line.partition(":")
        if sep:
            h[k.strip().lower()] = v.strip()
want = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}
bad = []
if not h.get("content-type", "").startswith("application/json"):
    bad.append("content-type %r" % h.get("content-type"))
for k, v in want.items():
    if h.get(k) != v:
        bad.append("%s %r" % (k, h.get(k)))
if "content-security-policy" not in h:
    bad.append("no content-security-policy")
if bad:
    sys.exit("; ".join(bad))
PY
	    atf_fail "$(oneline "$1: $2: $(cat check.out)")"
}
