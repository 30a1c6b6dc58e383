# Shell helpers shared by auth_test.sh, tokens_test.sh and sessions_test.sh:
# users and companies made in SQL, logins, requests with a bearer token,
# and checks of answers and of the database.  Sourced after regress/lib.sh.
#
# atf_fail only ends a test case from the test's own shell: in $(...) it
# would end a subshell and the case would pass.  So the helpers that
# produce a value set a variable instead of printing it (SQL, ACCESS,
# REFRESH, SID, NEW_UID, ...), and fail the case themselves.

AUTHTEST_LIB=$(atf_get_srcdir)/lib

# lib.sh runs python3 as /usr/bin/python3 when there is one (a shim of
# a version manager costs much per call); atf_check needs the program.
PYTHON3=python3
if [ -x /usr/bin/python3 ]; then
	PYTHON3=/usr/bin/python3
fi

# A loaded machine (a parallel build, a sanitized daemon) can take
# seconds to answer; lib.sh's default of 10 s is short for that.
HTTP_TIMEOUT=${HTTP_TIMEOUT:-30}

jwtool()
{
	python3 "$AUTHTEST_LIB/jwtool.py" "$@"
}

# The base URL of requests: $BASE when set (a second daemon), else the
# daemon of the test case.
base()
{
	echo "${BASE:-$AUTHD_URL}"
}

rand()
{
	od -An -N4 -tx4 /dev/urandom | tr -d ' \n'
}

# sql TEXT: runs TEXT in the test database; the output (unaligned,
# tuples only) is left in $SQL.  Fails the test case on an SQL error.
sql()
{
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c "$1" >sql.out 2>sql.err ||
	    atf_fail "$(oneline "SQL failed: $1:" "$(cat sql.err)")"
	SQL=$(cat sql.out)
	cache_flush
}

# sql_expect VALUE TEXT: fails unless TEXT outputs exactly VALUE.
sql_expect()
{
	sql "$2"
	[ "$SQL" = "$1" ] ||
	    atf_fail "$(oneline "SQL $2: got '$SQL', expected '$1'")"
}

# jget VAR FILE EXPR: VAR = json_get FILE EXPR, or fail.
jget()
{
	local v
	v=$(json_get "$2" "$3" 2>json.err) ||
	    atf_fail "$(oneline "cannot read $3 from $2:" "$(cat json.err)" \
	    "$(head -c 300 "$2")")"
	eval "$1=\$v"
}

# jsonobj KEY VALUE...: a JSON object of string values.
jsonobj()
{
	python3 -c 'import json, sys
a = sys.argv[1:]
print(json.dumps(dict(zip(a[::2], a[1::2]))))' "$@"
}

# tok_claims TOKEN / tok_header TOKEN: the decoded part in claims.json /
# header.json.
tok_claims()
{
	jwtool claims "$1" >claims.json 2>json.err ||
	    atf_fail "$(oneline "cannot decode the claims of $1:" \
	    "$(cat json.err)")"
}

tok_header()
{
	jwtool header "$1" >header.json 2>json.err ||
	    atf_fail "$(oneline "cannot decode the header of $1:" \
	    "$(cat json.err)")"
}

# claim VAR TOKEN NAME: VAR = claim NAME of TOKEN.
claim()
{
	tok_claims "$2"
	jget "$1" claims.json "j[\"$3\"]"
}

# forge VAR CODE [TOKEN]: VAR = TOKEN (default $ACCESS) edited by CODE
# (see jwtool.py) and signed with the daemon's current private key.
# Needs root: the key directory is private.
forge()
{
	local t kid
	t=${3:-$ACCESS}
	kid=$(cat "${KEYDIR:-$AUTHD_KEYS}/current") ||
	    atf_fail "cannot read the current kid"
	t=$(jwtool es256 "${KEYDIR:-$AUTHD_KEYS}/$kid.pem" "$t" "$2") ||
	    atf_fail "$(oneline "jwtool es256 failed for: $2")"
	eval "$1=\$t"
}

# tamper VAR CODE [TOKEN]: VAR = TOKEN edited by CODE, signature as is.
tamper()
{
	local t
	t=$(jwtool edit "${3:-$ACCESS}" "$2") ||
	    atf_fail "$(oneline "jwtool edit failed for: $2")"
	eval "$1=\$t"
}

require_root()
{
	is_root || atf_skip "needs root to read the private signing key"
}

# header_is NAME VALUE: the last answer carries the header NAME: VALUE.
header_is()
{
	tr -d '\r' <"${HTTP_OUT:-.}/http.headers" | grep -qix "$1: $2" ||
	    atf_fail "$(oneline "no header '$1: $2' in:" \
	    "$(cat "${HTTP_OUT:-.}/http.headers")")"
}

no_header()
{
	if tr -d '\r' <"${HTTP_OUT:-.}/http.headers" | grep -qi "^$1:"; then
		atf_fail "unexpected header $1"
	fi
}

# detail_is TEXT: the last answer's body is exactly {"detail": TEXT}.
detail_is()
{
	EXPECT_DETAIL=$1 json_check "${HTTP_OUT:-.}/http.body" \
	    'j == {"detail": __import__("os").environ["EXPECT_DETAIL"]}'
}

# message_is TEXT: the last answer's body is exactly {"message": TEXT}.
message_is()
{
	EXPECT_MESSAGE=$1 json_check "${HTTP_OUT:-.}/http.body" \
	    'j == {"message": __import__("os").environ["EXPECT_MESSAGE"]}'
}

# bearer CODE TOKEN METHOD PATH [CURL ARGS...]: a request with the token
# that must answer CODE.
bearer()
{
	local code tok method path
	code=$1
	tok=$2
	method=$3
	path=$4
	shift 4
	http_expect "$code" "$method" "$(base)$path" \
	    -H "Authorization: Bearer $tok" "$@"
}

# denied TOKEN DETAIL [PATH]: GET PATH (/api/v1/users/me) with the token
# answers 401 DETAIL with WWW-Authenticate: Bearer.
denied()
{
	bearer 401 "$1" GET "${3:-/api/v1/users/me}"
	detail_is "$2"
	header_is WWW-Authenticate Bearer
}

# works TOKEN: GET /api/v1/users/me with the token answers 200.
works()
{
	bearer 200 "$1" GET /api/v1/users/me
}

# login USER PASSWORD [CURL ARGS...]: a form login that must answer 200;
# sets ACCESS, REFRESH and SID (the session of the tokens).
login()
{
	local u p
	u=$1
	p=$2
	shift 2
	http_expect 200 POST "$(base)/api/v1/auth/login" \
	    --data-urlencode "username=$u" --data-urlencode "password=$p" "$@"
	jget ACCESS http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	claim SID "$ACCESS" sid
}

login_admin()
{
	login "$AUTHD_ADMIN_USERNAME" "$AUTHD_ADMIN_PASSWORD" "$@"
}

# refresh CODE TOKEN: POST /auth/refresh with a JSON body that must answer
# CODE; on 200 sets ACCESS and REFRESH.
refresh()
{
	http_json POST "$(base)/api/v1/auth/refresh" \
	    "$(jsonobj refresh_token "$2")" >/dev/null
	[ "$(cat http.status)" = "$1" ] ||
	    atf_fail "$(oneline "refresh: status $(cat http.status), expected" \
	    "$1; body: $(head -c 300 http.body)")"
	if [ "$1" = 200 ]; then
		jget ACCESS http.body 'j["access_token"]'
		jget REFRESH http.body 'j["refresh_token"]'
	fi
}

# ids: ADMIN_UID and ROOT_CID.
ids()
{
	sql "SELECT id FROM users WHERE username = '$AUTHD_ADMIN_USERNAME'"
	ADMIN_UID=$SQL
	sql "SELECT id FROM companies WHERE is_root"
	ROOT_CID=$SQL
	[ -n "$ADMIN_UID" ] && [ -n "$ROOT_CID" ] ||
	    atf_fail "no admin user or root company in the database"
}

# mkcompany [ACTIVE]: a company with its admin and user roles; NEW_CID.
mkcompany()
{
	local name
	name="company_$(rand)"
	sql "WITH c AS (INSERT INTO companies (name, is_active)
	    VALUES ('$name', ${1:-true}) RETURNING id)
	    SELECT id FROM c"
	NEW_CID=$SQL
	sql "SELECT authd_seed_company_roles($NEW_CID)"
}

# mkuser PREFIX [COMPANY [SUPERUSER]]: a user of COMPANY (the root
# company) with the company's "user" role and the admin's password
# (copied hash); sets NEW_UID and NEW_USER (also its email's local part).
mkuser()
{
	local name
	[ -n "${ADMIN_UID:-}" ] || ids
	name="$1_$(rand)"
	sql "WITH u AS (INSERT INTO users (company_id, email, username,
	    full_name, hashed_password, is_superuser, is_verified)
	    SELECT ${2:-$ROOT_CID}, '$name@example.com', '$name',
	    'Test $name', hashed_password, ${3:-false}, true
	    FROM users WHERE id = $ADMIN_UID RETURNING id, company_id),
	    r AS (INSERT INTO user_roles (user_id, role_id, company_id)
	    SELECT u.id, roles.id, u.company_id FROM u JOIN roles
	    ON roles.company_id = u.company_id AND roles.name = 'user')
	    SELECT id FROM u"
	NEW_UID=$SQL
	NEW_USER=$name
	[ -n "$NEW_UID" ] || atf_fail "user $name not created"
}

# session_active SID t|f: the session row says so (f: and when).
session_active()
{
	sql_expect "$2" "SELECT is_active FROM sessions WHERE id = $1"
	if [ "$2" = f ]; then
		sql_expect t "SELECT revoked_at IS NOT NULL FROM sessions
		    WHERE id = $1"
	fi
}

# Starts the daemon of a test case, or fails it; a function given as
# argument edits $AUTHD_CONF_FILE first.
start()
{
	require_env
	authd_setup || atf_fail "authd_setup failed"
	if [ $# -gt 0 ]; then
		"$@"
	fi
	authd_start || atf_fail "authd did not start (its log is on stderr)"
	ids
}

# token_block LINE...: replaces the config's token block with one that
# keeps the daemon's issuer and adds the given lines.
token_block()
{
	local f line
	f=$AUTHD_CONF_FILE
	grep -v '^token' "$f" >"$f.tmp" || atf_fail "cannot edit $f"
	{
		echo 'token {'
		echo "	issuer \"${ISSUER:-$AUTHD_URL}\""
		for line in "$@"; do
			echo "	$line"
		done
		echo '}'
	} >>"$f.tmp"
	mv "$f.tmp" "$f"
}
