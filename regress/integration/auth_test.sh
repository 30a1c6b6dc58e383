#! /usr/bin/env atf-sh
# /api/v1/auth over real HTTP against the PostgreSQL and Redis of
# regress/run.sh: login, the tokens it issues, /users/me, logout, refresh
# rotation with its grace window, introspection, the OpenID configuration,
# the JWKS (checked by an independent verifier) and key rotation.  Each
# test case starts its own authd and stops it in its cleanup; users and
# companies are made in SQL with random names, so cases do not meet.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

LOGIN=/api/v1/auth/login
REFRESH_PATH=/api/v1/auth/refresh

# check_pair ACCESS REFRESH UID CID [login|refresh]: the claims and
# headers of a token pair issued by this daemon for user UID of company
# CID, at a login (default) or a refresh.
check_pair()
{
	python3 - "$AUTHTEST_LIB" "$1" "$2" "$3" "$4" "$(base)" "${5:-login}" \
	    >check.err 2>&1 <<'EOF' ||
import sys, time
sys.path.insert(0, sys.argv[1])
import jwtool
at, rt, uid, cid, iss, fresh = sys.argv[2:8]
now = int(time.time())
names = {"iss", "sub", "cid", "sid", "jti", "iat", "exp", "type"}
ah, ac, asig = jwtool.decode(at)
rh, rc, rsig = jwtool.decode(rt)
for h in (ah, rh):
    assert h["alg"] == "ES256", h
    assert isinstance(h.get("kid"), str) and h["kid"], h
    assert set(h) <= {"alg", "kid", "typ"}, h
for c, typ in ((ac, "access"), (rc, "refresh")):
    assert set(c) == names, c
    assert c["iss"] == iss, (c, iss)
    assert c["sub"] == uid and isinstance(c["sub"], str), c
    assert c["cid"] == int(cid) and type(c["cid"]) is int, c
    assert type(c["sid"]) is int and c["sid"] > 0, c
    assert isinstance(c["jti"], str) and len(c["jti"]) >= 16, c
    assert c["type"] == typ, c
    # Issued during this test case (a loaded machine is slow).
    assert type(c["iat"]) is int and now - 120 <= c["iat"] <= now + 1, \
        (c, now)
assert ac["exp"] - ac["iat"] == 1800, ac
# A session lives 7 days from its login: a refreshed pair keeps its end.
if fresh == "login":
    assert abs(rc["exp"] - rc["iat"] - 604800) <= 2, rc
else:
    assert 0 < rc["exp"] - rc["iat"] <= 604800, rc
assert ac["sid"] == rc["sid"], (ac, rc)
assert ac["jti"] != rc["jti"], (ac, rc)
assert len(asig) == 64 and len(rsig) == 64
EOF
	    atf_fail "$(oneline "token pair check failed:" "$(tail -n 3 check.err)")"
	claim PAIR_SID "$1" sid
	claim PAIR_RJTI "$2" jti
	claim PAIR_REXP "$2" exp
	# The session row behind the pair.
	sql_expect "$3|$4|t|$PAIR_RJTI|$PAIR_REXP" "SELECT user_id, company_id,
	    is_active, refresh_jti, extract(epoch FROM expires_at)::bigint
	    FROM sessions WHERE id = $PAIR_SID"
}

# token_answer: the last answer is a token response with its headers.
token_answer()
{
	json_check http.body '
	    sorted(j) == ["access_token", "expires_in", "refresh_token",
	        "token_type"] and
	    j["token_type"] == "bearer" and j["expires_in"] == 1800 and
	    isinstance(j["access_token"], str) and
	    isinstance(j["refresh_token"], str)'
	header_is Cache-Control no-store
	header_is Pragma no-cache
	atf_check -o ignore grep -i '^content-type: application/json' \
	    http.headers
}

# form_login USER PASSWORD CODE [CURL ARGS...]
form_login()
{
	local u p c
	u=$1
	p=$2
	c=$3
	shift 3
	http_expect "$c" POST "$AUTHD_URL$LOGIN" \
	    --data-urlencode "username=$u" --data-urlencode "password=$p" "$@"
}

# count_sessions UID: SESSIONS = how many session rows the user has.
count_sessions()
{
	sql "SELECT count(*) FROM sessions WHERE user_id = $1"
	SESSIONS=$SQL
}

atf_test_case login_form cleanup
login_form_head()
{
	atf_set descr "a form login by username answers a token pair"
}
login_form_body()
{
	start
	http_expect 200 POST "$AUTHD_URL$LOGIN" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-urlencode "username=$AUTHD_ADMIN_USERNAME" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" \
	    --data-urlencode "grant_type=password"
	token_answer
	jget ACCESS http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	check_pair "$ACCESS" "$REFRESH" "$ADMIN_UID" "$ROOT_CID"
	# The kid names the current key, which the JWKS publishes.
	tok_header "$ACCESS"
	if is_root; then
		json_check header.json "j['kid'] == '$(cat "$AUTHD_KEYS/current")'"
	fi
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	jget KID header.json 'j["kid"]'
	json_check http.body "'$KID' in [k['kid'] for k in j['keys']]"
	works "$ACCESS"
	sql_expect t "SELECT last_login > now() - interval '1 minute'
	    FROM users WHERE id = $ADMIN_UID"
}
login_form_cleanup()
{
	authd_cleanup
}

# area_rss PID: the resident KiB of each argon2 working area of the
# keyholder PID (libauth/hashmem.c): anonymous mappings of the configured
# 19456 KiB rounded up to whole 2 MiB pages.
area_rss()
{
	awk '/^[0-9a-f]+-[0-9a-f]+ / { n = NF } $1 == "Size:" { size = $2 }
	    $1 == "Rss:" && size == 20480 && n == 5 { print $2 }' \
	    "/proc/$1/smaps"
}

# keyholder_area_rss: the largest area_rss of the daemon's keyholders.
keyholder_area_rss()
{
	local pid
	for pid in $(authd_children keyholder); do
		area_rss "$pid"
	done | sort -n | tail -n 1
}

atf_test_case keyholder_hash_area cleanup
keyholder_hash_area_head()
{
	atf_set descr "a keyholder hashes in one argon2 working area that it" \
	    "keeps between hashes, resident after a login, and gives" \
	    "its pages back a second after the last hash"
}
keyholder_hash_area_body()
{
	local n rss
	start
	n=0
	rss=0
	# Each login is one keyholder's; libsodium alone unmaps its memory
	# at the end of every hash, and no 20 MiB mapping would be left.
	while [ "$n" -lt 6 ] && [ "${rss:-0}" -lt 19000 ]; do
		login "$AUTHD_ADMIN_USERNAME" "$AUTHD_ADMIN_PASSWORD"
		rss=$(keyholder_area_rss)
		n=$((n + 1))
	done
	[ "${rss:-0}" -ge 19000 ] ||
	    atf_fail "no keyholder kept a resident working area" \
	    "after $n logins (largest: ${rss:-none} KiB)"
	n=0
	while [ "$n" -lt 50 ]; do
		rss=$(keyholder_area_rss)
		[ "${rss:-0}" -lt 1024 ] && break
		sleep 0.2
		n=$((n + 1))
	done
	[ "${rss:-0}" -lt 1024 ] ||
	    atf_fail "an idle keyholder still holds $rss KiB of its area"
	# And the area serves again.
	login "$AUTHD_ADMIN_USERNAME" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
}
keyholder_hash_area_cleanup()
{
	authd_cleanup
}

atf_test_case login_form_empty cleanup
login_form_empty_head()
{
	atf_set descr "an empty form field is a missing one (422), as in" \
	    "FastAPI's forms; an empty optional field is left out"
}
login_form_empty_body()
{
	start
	http_expect 422 POST "$AUTHD_URL$LOGIN" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-urlencode "username=$AUTHD_ADMIN_USERNAME" \
	    --data-urlencode "password="
	json_check http.body 'j == {"detail": [{"type": "missing",
	    "loc": ["body", "password"], "msg": "Field required"}]}'
	http_expect 422 POST "$AUTHD_URL$LOGIN" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    -d 'username=&password='
	json_check http.body '[e["loc"][1] for e in j["detail"]] ==
	    ["username", "password"]'
	http_expect 200 POST "$AUTHD_URL$LOGIN" \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-urlencode "username=$AUTHD_ADMIN_USERNAME" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" \
	    --data-urlencode "grant_type=" --data-urlencode "totp_code="
	token_answer
	# A NUL would cut a value short in C: refused as in JSON.
	for q in "username=$AUTHD_ADMIN_USERNAME%00junk" \
	    "username=$AUTHD_ADMIN_USERNAME&grant_type=password%00x"; do
		http_expect 422 POST "$AUTHD_URL$LOGIN" \
		    -H 'Content-Type: application/x-www-form-urlencoded' \
		    -d "$q" --data-urlencode "password=$AUTHD_ADMIN_PASSWORD"
	done
}
login_form_empty_cleanup()
{
	authd_cleanup
}

atf_test_case bearer_any_case cleanup
bearer_any_case_head()
{
	atf_set descr "the scheme of Authorization is case-insensitive" \
	    "(RFC 9110 11.1): bearer and BEARER work as Bearer"
}
bearer_any_case_body()
{
	local scheme
	start
	login_admin
	for scheme in Bearer bearer BEARER bEaReR; do
		http_expect 200 GET "$AUTHD_URL/api/v1/users/me" \
		    -H "Authorization: $scheme $ACCESS"
		json_check http.body "j['id'] == $ADMIN_UID"
	done
	http_expect 401 GET "$AUTHD_URL/api/v1/users/me" \
	    -H "Authorization: Basic $ACCESS"
	json_check http.body 'j == {"detail": "Not authenticated"}'
}
bearer_any_case_cleanup()
{
	authd_cleanup
}

atf_test_case login_json cleanup
login_json_head()
{
	atf_set descr "a JSON login by email answers the same token pair"
}
login_json_body()
{
	start
	http_json POST "$AUTHD_URL$LOGIN" "$(jsonobj username \
	    "$AUTHD_ADMIN_EMAIL" password "$AUTHD_ADMIN_PASSWORD" \
	    grant_type password)" >/dev/null
	[ "$(cat http.status)" = 200 ] ||
	    atf_fail "JSON login: status $(cat http.status): $(cat http.body)"
	token_answer
	jget ACCESS http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	check_pair "$ACCESS" "$REFRESH" "$ADMIN_UID" "$ROOT_CID"
	works "$ACCESS"
}
login_json_cleanup()
{
	authd_cleanup
}

atf_test_case login_case_insensitive cleanup
login_case_insensitive_head()
{
	atf_set descr "username and email match without regard to case"
}
login_case_insensitive_body()
{
	local upper
	start
	mkuser Case
	upper=$(echo "$NEW_USER" | tr '[:lower:]' '[:upper:]')
	form_login "$upper" "$AUTHD_ADMIN_PASSWORD" 200
	jget ACCESS http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	check_pair "$ACCESS" "$REFRESH" "$NEW_UID" "$ROOT_CID"
	http_json POST "$AUTHD_URL$LOGIN" "$(jsonobj username \
	    "$upper@EXAMPLE.com" password "$AUTHD_ADMIN_PASSWORD")" >/dev/null
	[ "$(cat http.status)" = 200 ] ||
	    atf_fail "login by upper-case email: $(cat http.status)"
	jget ACCESS http.body 'j["access_token"]'
	claim SUB "$ACCESS" sub
	[ "$SUB" = "$NEW_UID" ] || atf_fail "sub $SUB, expected $NEW_UID"
	# The password is not case-insensitive.
	form_login "$NEW_USER" "$(echo "$AUTHD_ADMIN_PASSWORD" |
	    tr '[:lower:][:upper:]' '[:upper:][:lower:]')" 401
}
login_case_insensitive_cleanup()
{
	authd_cleanup
}

# One login in the background, its answer in DIR.
bg_login()
{
	mkdir -p "$1"
	HTTP_OUT=$1 http POST "$AUTHD_URL$LOGIN" \
	    --data-urlencode "username=$2" \
	    --data-urlencode "password=$AUTHD_ADMIN_PASSWORD" >/dev/null
}

atf_test_case login_same_second cleanup
login_same_second_head()
{
	atf_set descr "two logins of one user in one second: two sessions"
}
login_same_second_body()
{
	local try ia ib pa pb
	start
	mkuser Twice
	try=0
	while :; do
		try=$((try + 1))
		bg_login a "$NEW_USER" &
		pa=$!
		bg_login b "$NEW_USER" &
		pb=$!
		# Not a bare wait: the daemon is a child of this shell too.
		wait "$pa" "$pb"
		for d in a b; do
			[ "$(cat $d/http.status)" = 200 ] ||
			    atf_fail "login $d: $(cat $d/http.status)"
		done
		jget A a/http.body 'j["access_token"]'
		jget B b/http.body 'j["access_token"]'
		claim ia "$A" iat
		claim ib "$B" iat
		[ "$ia" = "$ib" ] && break
		[ "$try" -lt 5 ] || atf_fail "no two logins in one second"
	done
	jwtool claims "$A" >ca.json
	jwtool claims "$B" >cb.json
	jget SA ca.json 'j["sid"]'
	jget SB cb.json 'j["sid"]'
	jget JA ca.json 'j["jti"]'
	jget JB cb.json 'j["jti"]'
	[ "$SA" != "$SB" ] || atf_fail "both logins got session $SA"
	[ "$JA" != "$JB" ] || atf_fail "both access tokens have jti $JA"
	jget RA a/http.body 'j["refresh_token"]'
	jget RB b/http.body 'j["refresh_token"]'
	claim RJA "$RA" jti
	claim RJB "$RB" jti
	[ "$RJA" != "$RJB" ] || atf_fail "both refresh tokens have jti $RJA"
	sql_expect "$((try * 2))" "SELECT count(*) FROM sessions
	    WHERE user_id = $NEW_UID AND is_active"
	works "$A"
	works "$B"
	# Each session is its own: ending one leaves the other.
	bearer 200 "$A" POST /api/v1/auth/logout
	denied "$A" "Token has been revoked"
	works "$B"
}
login_same_second_cleanup()
{
	authd_cleanup
}

atf_test_case login_wrong_credentials cleanup
login_wrong_credentials_head()
{
	atf_set descr "a wrong password and an unknown user get the same 401"
}
login_wrong_credentials_body()
{
	local ua
	start
	mkuser Wrong
	ua="wrong-$(rand)"
	form_login "$NEW_USER" "not-$AUTHD_ADMIN_PASSWORD" 401 -A "$ua"
	detail_is "Incorrect username or password"
	header_is WWW-Authenticate Bearer
	header_is Cache-Control no-store
	cp http.body known.body
	form_login "nobody_$(rand)" "$AUTHD_ADMIN_PASSWORD" 401 -A "$ua"
	detail_is "Incorrect username or password"
	header_is WWW-Authenticate Bearer
	atf_check cmp known.body http.body
	form_login "nobody_$(rand)@example.com" "x" 401 -A "$ua"
	atf_check cmp known.body http.body
	http_json POST "$AUTHD_URL$LOGIN" "$(jsonobj username "$NEW_USER" \
	    password wrong)" -A "$ua" >/dev/null
	[ "$(cat http.status)" = 401 ] || atf_fail "JSON: $(cat http.status)"
	atf_check cmp known.body http.body
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "$SESSIONS sessions after failures"
	# Every failure is in the login history, the unknown users too.
	sql_expect 2 "SELECT count(*) FROM login_history WHERE user_id =
	    $NEW_UID AND NOT success AND user_agent = '$ua'"
	sql_expect 2 "SELECT count(*) FROM login_history WHERE user_id IS NULL
	    AND NOT success AND user_agent = '$ua'"
	sql_expect "127.0.0.1" "SELECT DISTINCT host(ip_address)
	    FROM login_history WHERE user_agent = '$ua'"
}
login_wrong_credentials_cleanup()
{
	authd_cleanup
}

atf_test_case login_history cleanup
login_history_head()
{
	atf_set descr "a login writes its session and login-history rows"
}
login_history_body()
{
	local ua
	start
	mkuser History
	ua="history-agent/$(rand)"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A "$ua" \
	    -H 'X-Device-Id: device-one'
	S1=$SID
	sql_expect "1|127.0.0.1" "SELECT count(*), host(ip_address)
	    FROM login_history WHERE user_id = $NEW_UID AND success
	    AND user_agent = '$ua' AND reason IS NULL GROUP BY 2"
	sql_expect "$ua|127.0.0.1|t" "SELECT device_info, host(ip_address),
	    device_fingerprint <> '' FROM sessions WHERE id = $S1"
	sql_expect t "SELECT last_login IS NOT NULL FROM users
	    WHERE id = $NEW_UID"
	# The fingerprint follows the device: same headers, same print.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A "$ua" \
	    -H 'X-Device-Id: device-one'
	S2=$SID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" -A "$ua" \
	    -H 'X-Device-Id: device-two'
	S3=$SID
	sql_expect "t|f" "SELECT a.device_fingerprint = b.device_fingerprint,
	    a.device_fingerprint = c.device_fingerprint
	    FROM sessions a, sessions b, sessions c
	    WHERE a.id = $S1 AND b.id = $S2 AND c.id = $S3"
	sql_expect 3 "SELECT count(*) FROM login_history
	    WHERE user_id = $NEW_UID AND success"
}
login_history_cleanup()
{
	authd_cleanup
}

atf_test_case login_missing_fields cleanup
login_missing_fields_head()
{
	atf_set descr "a login without username or password is a 422"
}
login_missing_fields_body()
{
	start
	http_expect 422 POST "$AUTHD_URL$LOGIN" -d ''
	json_check http.body '
	    sorted((e["type"], tuple(e["loc"]), e["msg"]) for e in j["detail"])
	    == [("missing", ("body", "password"), "Field required"),
	        ("missing", ("body", "username"), "Field required")]'
	header_is Cache-Control no-store
	http_expect 422 POST "$AUTHD_URL$LOGIN" --data-urlencode "username=admin"
	json_check http.body '
	    [(e["type"], e["loc"]) for e in j["detail"]] ==
	    [("missing", ["body", "password"])]'
	http_json POST "$AUTHD_URL$LOGIN" "$(jsonobj password x)" >/dev/null
	[ "$(cat http.status)" = 422 ] || atf_fail "JSON: $(cat http.status)"
	json_check http.body '
	    [(e["type"], e["loc"]) for e in j["detail"]] ==
	    [("missing", ["body", "username"])]'
	http_json POST "$AUTHD_URL$LOGIN" '{}' >/dev/null
	[ "$(cat http.status)" = 422 ] || atf_fail "{}: $(cat http.status)"
	json_check http.body 'len(j["detail"]) == 2'
	http_json POST "$AUTHD_URL$LOGIN" '{"username": "admin",' >/dev/null
	[ "$(cat http.status)" = 422 ] ||
	    atf_fail "broken JSON: $(cat http.status)"
	json_check http.body 'j["detail"][0]["type"] == "json_invalid"'
	http_json POST "$AUTHD_URL$LOGIN" \
	    '{"username": ["admin"], "password": "x"}' >/dev/null
	[ "$(cat http.status)" = 422 ] ||
	    atf_fail "username as a list: $(cat http.status)"
	json_check http.body '
	    [e["loc"] for e in j["detail"]] == [["body", "username"]]'
}
login_missing_fields_cleanup()
{
	authd_cleanup
}

atf_test_case login_grant_type cleanup
login_grant_type_head()
{
	atf_set descr "grant types other than password are refused with 400"
}
login_grant_type_body()
{
	start
	mkuser Grant
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" 400 \
	    --data-urlencode grant_type=client_credentials
	detail_is "Unsupported grant type"
	header_is Cache-Control no-store
	http_json POST "$AUTHD_URL$LOGIN" "$(jsonobj username "$NEW_USER" \
	    password "$AUTHD_ADMIN_PASSWORD" grant_type refresh_token)" \
	    >/dev/null
	[ "$(cat http.status)" = 400 ] || atf_fail "JSON: $(cat http.status)"
	detail_is "Unsupported grant type"
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "a refused grant made a session"
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" 200 \
	    --data-urlencode grant_type=password
}
login_grant_type_cleanup()
{
	authd_cleanup
}

atf_test_case login_inactive_user cleanup
login_inactive_user_head()
{
	atf_set descr "an inactive user with the right password gets 400"
}
login_inactive_user_body()
{
	start
	mkuser Inactive
	sql "UPDATE users SET is_active = false WHERE id = $NEW_UID"
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" 400
	detail_is "Inactive user"
	# Without the password, nothing tells that the account exists.
	form_login "$NEW_USER" "wrong" 401
	detail_is "Incorrect username or password"
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "an inactive user got a session"
	sql_expect 2 "SELECT count(*) FROM login_history
	    WHERE user_id = $NEW_UID AND NOT success"
}
login_inactive_user_cleanup()
{
	authd_cleanup
}

atf_test_case login_inactive_company cleanup
login_inactive_company_head()
{
	atf_set descr "a user of an inactive company gets 403"
}
login_inactive_company_body()
{
	start
	mkcompany false
	mkuser Dormant "$NEW_CID"
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" 403
	detail_is "Company is inactive"
	form_login "$NEW_USER" "wrong" 401
	detail_is "Incorrect username or password"
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "a user of an inactive company got a session"
	sql "UPDATE companies SET is_active = true WHERE id = $NEW_CID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	check_pair "$ACCESS" "$REFRESH" "$NEW_UID" "$NEW_CID"
}
login_inactive_company_cleanup()
{
	authd_cleanup
}

atf_test_case login_bcrypt_rehash cleanup
login_bcrypt_rehash_head()
{
	atf_set descr "an imported bcrypt hash logs in and is rehashed to argon2id"
}
login_bcrypt_rehash_body()
{
	local pw hash
	start
	pw="Imported-$(rand)!"
	hash=$(python3 -W ignore -c 'import crypt, sys
print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH,
    rounds=1024)))' "$pw" 2>/dev/null) ||
	    atf_skip "python3 has no crypt module to make a bcrypt hash"
	case "$hash" in
	'$2b$10$'*)	;;
	*)	atf_skip "python3's crypt made no bcrypt hash: $hash" ;;
	esac
	mkuser Bcrypt
	sql "UPDATE users SET hashed_password = '$hash' WHERE id = $NEW_UID"
	form_login "$NEW_USER" "not-$pw" 401
	sql_expect "$hash" "SELECT hashed_password FROM users
	    WHERE id = $NEW_UID"
	login "$NEW_USER" "$pw"
	sql_expect t "SELECT hashed_password LIKE '\$argon2id\$%'
	    FROM users WHERE id = $NEW_UID"
	# The new hash is of the same password.
	login "$NEW_USER" "$pw"
	form_login "$NEW_USER" "not-$pw" 401
	works "$ACCESS"
}
login_bcrypt_rehash_cleanup()
{
	authd_cleanup
}

atf_test_case users_me cleanup
users_me_head()
{
	atf_set descr "GET /users/me answers the User with roles and permissions"
}
users_me_body()
{
	start
	login_admin
	bearer 200 "$ACCESS" GET /api/v1/users/me
	json_check http.body "
	    sorted(j) == sorted(['id', 'email', 'username', 'full_name',
	        'company_id', 'is_active', 'is_superuser', 'is_verified',
	        'two_factor_enabled', 'created_at', 'updated_at', 'last_login',
	        'roles', 'permissions']) and
	    j['id'] == $ADMIN_UID and j['company_id'] == $ROOT_CID and
	    j['email'] == '$AUTHD_ADMIN_EMAIL' and
	    j['username'] == '$AUTHD_ADMIN_USERNAME' and
	    j['is_active'] is True and j['is_superuser'] is True and
	    j['roles'] == ['super_admin'] and
	    j['permissions'] == sorted(j['permissions']) and
	    {'users:read', 'sessions:read', 'company:create'} <=
	        set(j['permissions']) and
	    all(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', j[k])
	        for k in ('created_at', 'updated_at', 'last_login'))"
	mkuser Me
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$ACCESS" GET /api/v1/users/me
	json_check http.body "
	    j['id'] == $NEW_UID and j['username'] == '$NEW_USER' and
	    j['is_superuser'] is False and j['roles'] == ['user'] and
	    j['permissions'] == ['profile:update', 'users:read'] and
	    j['full_name'] == 'Test $NEW_USER'"
	atf_check -s exit:1 grep -i 'password\|argon' http.body
}
users_me_cleanup()
{
	authd_cleanup
}

atf_test_case users_me_not_authenticated cleanup
users_me_not_authenticated_head()
{
	atf_set descr "requests without a usable Bearer header get 401"
}
users_me_not_authenticated_body()
{
	start
	login_admin
	http_expect 401 GET "$AUTHD_URL/api/v1/users/me"
	detail_is "Not authenticated"
	header_is WWW-Authenticate Bearer
	# The scheme's case does not matter (bearer_any_case).
	for h in "Bearer" "Bearer " "Basic YWRtaW46YWRtaW4=" "$ACCESS" \
	    "Token $ACCESS" "Bearer	$ACCESS" "Bearers $ACCESS"; do
		http_expect 401 GET "$AUTHD_URL/api/v1/users/me" \
		    -H "Authorization: $h"
		detail_is "Not authenticated"
		header_is WWW-Authenticate Bearer
	done
	for h in "Bearer x" "Bearer  $ACCESS" "Bearer ${ACCESS}x" \
	    "Bearer $ACCESS.$ACCESS"; do
		http_expect 401 GET "$AUTHD_URL/api/v1/users/me" \
		    -H "Authorization: $h"
		detail_is "Could not validate credentials"
		header_is WWW-Authenticate Bearer
	done
	denied "$REFRESH" "Invalid token type"
	works "$ACCESS"
}
users_me_not_authenticated_cleanup()
{
	authd_cleanup
}

atf_test_case logout cleanup
logout_head()
{
	atf_set descr "logout ends the caller's session and only that one"
}
logout_body()
{
	local i
	start
	mkuser Logout
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	A=$ACCESS
	RA=$REFRESH
	SA=$SID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	B=$ACCESS
	RB=$REFRESH
	SB=$SID
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/logout"
	detail_is "Not authenticated"
	bearer 200 "$A" POST /api/v1/auth/logout
	json_check http.body 'j == {"message": "Successfully logged out"}'
	header_is Cache-Control no-store
	session_active "$SA" f
	session_active "$SB" t
	# At once, on every worker.
	i=0
	while [ $i -lt 6 ]; do
		denied "$A" "Token has been revoked"
		i=$((i + 1))
	done
	refresh 401 "$RA"
	detail_is "Invalid refresh token"
	header_is WWW-Authenticate Bearer
	bearer 401 "$A" POST /api/v1/auth/logout
	detail_is "Token has been revoked"
	works "$B"
	refresh 200 "$RB"
	works "$ACCESS"
}
logout_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_ways cleanup
refresh_ways_head()
{
	atf_set descr "refresh takes the token from JSON, a form or the query"
}
refresh_ways_body()
{
	local old
	start
	mkuser Refresh
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S=$SID
	old=$REFRESH
	refresh 200 "$REFRESH"
	token_answer
	check_pair "$ACCESS" "$REFRESH" "$NEW_UID" "$ROOT_CID" refresh
	[ "$PAIR_SID" = "$S" ] || atf_fail "refresh moved to session $PAIR_SID"
	[ "$REFRESH" != "$old" ] || atf_fail "the refresh token was not rotated"
	works "$ACCESS"

	old=$REFRESH
	http_expect 200 POST "$AUTHD_URL$REFRESH_PATH" \
	    --data-urlencode "refresh_token=$REFRESH"
	token_answer
	jget ACCESS http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	check_pair "$ACCESS" "$REFRESH" "$NEW_UID" "$ROOT_CID" refresh
	[ "$REFRESH" != "$old" ] || atf_fail "form: not rotated"
	works "$ACCESS"

	old=$REFRESH
	http_expect 200 POST "$AUTHD_URL$REFRESH_PATH?refresh_token=$REFRESH"
	token_answer
	jget ACCESS http.body 'j["access_token"]'
	jget REFRESH http.body 'j["refresh_token"]'
	check_pair "$ACCESS" "$REFRESH" "$NEW_UID" "$ROOT_CID" refresh
	[ "$REFRESH" != "$old" ] || atf_fail "query: not rotated"
	works "$ACCESS"
	[ "$PAIR_SID" = "$S" ] || atf_fail "refresh moved to session $PAIR_SID"
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 1 ] || atf_fail "$SESSIONS sessions after refreshes"
}
refresh_ways_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_missing cleanup
refresh_missing_head()
{
	atf_set descr "refresh without a token is a 422, a bad token a 401"
}
refresh_missing_body()
{
	start
	http_json POST "$AUTHD_URL$REFRESH_PATH" '{}' >/dev/null
	[ "$(cat http.status)" = 422 ] || atf_fail "{}: $(cat http.status)"
	json_check http.body '
	    [(e["type"], e["loc"]) for e in j["detail"]] ==
	    [("missing", ["body", "refresh_token"])]'
	header_is Cache-Control no-store
	http_expect 422 POST "$AUTHD_URL$REFRESH_PATH" -d ''
	json_check http.body 'j["detail"][0]["type"] == "missing"'
	http_expect 422 POST "$AUTHD_URL$REFRESH_PATH"
	http_json POST "$AUTHD_URL$REFRESH_PATH" '{"refresh_token": 5}' \
	    >/dev/null
	[ "$(cat http.status)" = 422 ] || atf_fail "a number: $(cat http.status)"
	refresh 401 "not.a.token"
	detail_is "Invalid refresh token"
	header_is WWW-Authenticate Bearer
	refresh 401 ""
}
refresh_missing_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_grace cleanup
refresh_grace_head()
{
	atf_set descr "the rotated-last refresh token within the grace window" \
	    "gets the current one; an older token revokes the session"
}
refresh_grace_body()
{
	start
	mkuser Grace
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S=$SID
	A1=$ACCESS
	R1=$REFRESH
	claim J1 "$R1" jti
	refresh 200 "$R1"
	A2=$ACCESS
	R2=$REFRESH
	claim J2 "$R2" jti
	[ "$J2" != "$J1" ] || atf_fail "the refresh jti did not change"
	sql_expect "$J2|$J1|t" "SELECT refresh_jti, refresh_prev_jti,
	    refresh_rotated_at IS NOT NULL FROM sessions WHERE id = $S"
	# A racer presenting R1 again gets the current refresh token.
	refresh 200 "$R1"
	token_answer
	A3=$ACCESS
	claim J "$REFRESH" jti
	[ "$J" = "$J2" ] || atf_fail "grace answer carries jti $J, not $J2"
	claim SS "$A3" sid
	[ "$SS" = "$S" ] || atf_fail "grace answer for session $SS, not $S"
	works "$A3"
	refresh 200 "$R1"
	claim J "$REFRESH" jti
	[ "$J" = "$J2" ] || atf_fail "second grace answer: jti $J, not $J2"
	sql_expect "$J2|$J1|t" "SELECT refresh_jti, refresh_prev_jti,
	    is_active FROM sessions WHERE id = $S"
	# The current token rotates on.
	refresh 200 "$R2"
	A4=$ACCESS
	R3=$REFRESH
	claim J3 "$R3" jti
	[ "$J3" != "$J2" ] || atf_fail "R2 was not rotated"
	sql_expect "$J3|$J2" "SELECT refresh_jti, refresh_prev_jti
	    FROM sessions WHERE id = $S"
	works "$A4"
	# R1 is now two rotations old: theft.  The whole session dies.
	refresh 401 "$R1"
	detail_is "Invalid refresh token"
	header_is WWW-Authenticate Bearer
	session_active "$S" f
	for t in "$A1" "$A2" "$A3" "$A4"; do
		denied "$t" "Token has been revoked"
	done
	refresh 401 "$R3"
	detail_is "Invalid refresh token"
	refresh 401 "$R2"
}
refresh_grace_cleanup()
{
	authd_cleanup
}

grace_one()
{
	token_block "refresh grace 1"
}

atf_test_case refresh_after_grace cleanup
refresh_after_grace_head()
{
	atf_set descr "the rotated-last token after the grace window revokes" \
	    "the session"
}
refresh_after_grace_body()
{
	start grace_one
	mkuser Late
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S=$SID
	R1=$REFRESH
	refresh 200 "$R1"
	A2=$ACCESS
	R2=$REFRESH
	# (Inside the window, refresh_grace shows the reuse forgiven.)
	sleep 1.5
	refresh 401 "$R1"
	detail_is "Invalid refresh token"
	session_active "$S" f
	denied "$A2" "Token has been revoked"
	refresh 401 "$R2"
	detail_is "Invalid refresh token"
}
refresh_after_grace_cleanup()
{
	authd_cleanup
}

grace_zero()
{
	token_block "refresh grace 0"
}

atf_test_case refresh_grace_zero cleanup
refresh_grace_zero_head()
{
	atf_set descr "refresh grace 0: any reuse revokes the session"
}
refresh_grace_zero_body()
{
	start grace_zero
	mkuser NoGrace
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S=$SID
	R1=$REFRESH
	refresh 200 "$R1"
	A2=$ACCESS
	R2=$REFRESH
	refresh 401 "$R1"
	detail_is "Invalid refresh token"
	session_active "$S" f
	denied "$A2" "Token has been revoked"
	refresh 401 "$R2"
}
refresh_grace_zero_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_wrong_type cleanup
refresh_wrong_type_head()
{
	atf_set descr "an access token is no refresh token"
}
refresh_wrong_type_body()
{
	start
	mkuser WrongType
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S=$SID
	refresh 401 "$ACCESS"
	header_is WWW-Authenticate Bearer
	json_check http.body 'j["detail"] in ("Invalid token type",
	    "Invalid refresh token")'
	# A client's mistake is not theft: the session lives on.
	session_active "$S" t
	works "$ACCESS"
	refresh 200 "$REFRESH"
	works "$ACCESS"
}
refresh_wrong_type_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_parallel cleanup
refresh_parallel_head()
{
	atf_set descr "twenty parallel refreshes with one token: one rotation," \
	    "every answer carries the same refresh jti"
}
refresh_parallel_body()
{
	local i body pids
	start
	mkuser Racer
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	S=$SID
	R1=$REFRESH
	claim J1 "$R1" jti
	body=$(jsonobj refresh_token "$R1")
	i=0
	pids=
	while [ $i -lt 20 ]; do
		mkdir -p "r$i"
		HTTP_OUT="r$i" http_json POST "$AUTHD_URL$REFRESH_PATH" \
		    "$body" >/dev/null &
		pids="$pids $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	wait $pids
	python3 - "$AUTHTEST_LIB" >race.out 2>&1 <<'EOF' ||
import json, sys
sys.path.insert(0, sys.argv[1])
import jwtool
statuses, rjtis, ajtis, sids = [], set(), set(), set()
for i in range(20):
    statuses.append(open("r%d/http.status" % i).read().strip())
    if statuses[-1] != "200":
        continue
    j = json.load(open("r%d/http.body" % i))
    rc = jwtool.decode(j["refresh_token"])[1]
    ac = jwtool.decode(j["access_token"])[1]
    rjtis.add(rc["jti"])
    ajtis.add(ac["jti"])
    sids.add(rc["sid"])
    sids.add(ac["sid"])
assert statuses == ["200"] * 20, statuses
assert len(rjtis) == 1, rjtis
assert len(ajtis) == 20, ajtis
assert len(sids) == 1, sids
print(rjtis.pop())
EOF
	    atf_fail "$(oneline "race:" "$(tail -n 3 race.out)")"
	JC=$(cat race.out)
	[ "$JC" != "$J1" ] || atf_fail "no rotation happened"
	# One session, one live refresh token, one rotation.
	sql_expect "1|$S|$JC|$J1" "SELECT count(*), min(id), min(refresh_jti),
	    min(refresh_prev_jti) FROM sessions
	    WHERE user_id = $NEW_UID AND is_active"
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 1 ] || atf_fail "$SESSIONS sessions after the race"
	jget ACCESS r7/http.body 'j["access_token"]'
	works "$ACCESS"
	jget REFRESH r13/http.body 'j["refresh_token"]'
	refresh 200 "$REFRESH"
	works "$ACCESS"
}
refresh_parallel_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_after_logout cleanup
refresh_after_logout_head()
{
	atf_set descr "the refresh token of a logged-out session is refused"
}
refresh_after_logout_body()
{
	start
	mkuser Gone
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$ACCESS" POST /api/v1/auth/logout
	refresh 401 "$REFRESH"
	detail_is "Invalid refresh token"
	header_is WWW-Authenticate Bearer
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 1 ] || atf_fail "refresh after logout made a session"
}
refresh_after_logout_cleanup()
{
	authd_cleanup
}

atf_test_case refresh_inactive cleanup
refresh_inactive_head()
{
	atf_set descr "refresh re-checks that user and company are active"
}
refresh_inactive_body()
{
	start
	mkuser Deactivated
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	sql "UPDATE users SET is_active = false WHERE id = $NEW_UID"
	refresh 401 "$REFRESH"
	detail_is "Invalid refresh token"
	denied "$ACCESS" "Token has been revoked"

	mkcompany
	mkuser Closed "$NEW_CID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
	sql "UPDATE companies SET is_active = false WHERE id = $NEW_CID"
	refresh 401 "$REFRESH"
	detail_is "Invalid refresh token"
	denied "$ACCESS" "Token has been revoked"
}
refresh_inactive_cleanup()
{
	authd_cleanup
}

# introspect ADMIN_TOKEN TOKEN: POST /auth/introspect (JSON), 200.
introspect()
{
	bearer 200 "$1" POST /api/v1/auth/introspect \
	    -H 'Content-Type: application/json' \
	    --data-binary "$(jsonobj token "$2")"
	header_is Cache-Control no-store
}

inactive()
{
	json_check http.body 'j == {"active": False}'
}

atf_test_case introspect cleanup
introspect_head()
{
	atf_set descr "introspection (RFC 7662) for admins"
}
introspect_body()
{
	start
	login_admin
	ADM=$ACCESS
	mkuser Intro
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	UA=$ACCESS
	UR=$REFRESH
	S=$SID
	tok_claims "$UA"
	cp claims.json ua.json
	introspect "$ADM" "$UA"
	python3 - "$NEW_UID" "$ROOT_CID" "$S" >check.err 2>&1 <<'EOF' ||
import json, sys
uid, cid, sid = sys.argv[1:4]
j = json.load(open("http.body"))
c = json.load(open("ua.json"))
assert j["active"] is True, j
assert j["sub"] == uid and j["cid"] == int(cid) and j["sid"] == int(sid), j
for k in ("sub", "cid", "sid", "exp", "iat", "type"):
    assert j[k] == c[k] and type(j[k]) is type(c[k]), (k, j, c)
assert j["type"] == "access", j
assert j["roles"] == ["user"], j
assert j["permissions"] == ["profile:update", "users:read"], j
EOF
	    atf_fail "$(oneline "introspect: $(tail -n 2 check.err)")"
	# A form works too, and a refresh token is introspected as one.
	bearer 200 "$ADM" POST /api/v1/auth/introspect \
	    --data-urlencode "token=$UR"
	json_check http.body "j['active'] is True and j['type'] == 'refresh'
	    and j['sid'] == $S"
	# Rotated: the old refresh token is no longer active.
	refresh 200 "$UR"
	UA2=$ACCESS
	introspect "$ADM" "$UR"
	inactive
	introspect "$ADM" "$REFRESH"
	json_check http.body "j['active'] is True and j['type'] == 'refresh'"
	introspect "$ADM" "garbage"
	inactive
	introspect "$ADM" "$UA.x"
	inactive
	bearer 200 "$UA2" POST /api/v1/auth/logout
	introspect "$ADM" "$UA"
	inactive
	introspect "$ADM" "$REFRESH"
	inactive
	bearer 422 "$ADM" POST /api/v1/auth/introspect \
	    -H 'Content-Type: application/json' --data-binary '{}'
	json_check http.body '
	    [(e["type"], e["loc"]) for e in j["detail"]] ==
	    [("missing", ["body", "token"])]'
}
introspect_cleanup()
{
	authd_cleanup
}

atf_test_case introspect_forbidden cleanup
introspect_forbidden_head()
{
	atf_set descr "introspection is refused to users who are not admins"
}
introspect_forbidden_body()
{
	start
	mkuser Nosy
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 403 "$ACCESS" POST /api/v1/auth/introspect \
	    --data-urlencode "token=$ACCESS"
	detail_is "The user doesn't have enough privileges"
	http_expect 401 POST "$AUTHD_URL/api/v1/auth/introspect" \
	    --data-urlencode "token=$ACCESS"
	detail_is "Not authenticated"
}
introspect_forbidden_cleanup()
{
	authd_cleanup
}

atf_test_case openid_configuration cleanup
openid_configuration_head()
{
	atf_set descr "the OpenID configuration names issuer, JWKS and endpoints"
}
openid_configuration_body()
{
	start
	http_expect 200 GET "$AUTHD_URL/.well-known/openid-configuration"
	atf_check -o ignore grep -i '^content-type: application/json' \
	    http.headers
	json_check http.body "
	    j['issuer'] == '$AUTHD_URL' and
	    j['jwks_uri'] == '$AUTHD_URL/.well-known/jwks.json' and
	    j['token_endpoint'] == '$AUTHD_URL/api/v1/auth/login' and
	    {'password', 'refresh_token'} <= set(j['grant_types_supported']) and
	    'ES256' in j['id_token_signing_alg_values_supported']"
	jget JWKS_URI http.body 'j["jwks_uri"]'
	http_expect 200 GET "$JWKS_URI"
	json_check http.body 'len(j["keys"]) >= 1'
	# The issuer of the tokens is the advertised one.
	login_admin
	claim ISS "$ACCESS" iss
	[ "$ISS" = "$AUTHD_URL" ] || atf_fail "iss $ISS, expected $AUTHD_URL"
}
openid_configuration_cleanup()
{
	authd_cleanup
}

atf_test_case jwks_verify cleanup
jwks_verify_head()
{
	atf_set descr "authd's tokens verify with an independent ES256" \
	    "implementation (openssl) using only the JWKS"
}
jwks_verify_body()
{
	start
	login_admin
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	cp http.body jwks.json
	atf_check "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$ACCESS"
	atf_check "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$REFRESH"
	# The verifier can say no.
	tamper T 'c["sub"] = "999"'
	atf_check -s exit:1 "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$T"
	tamper T 'b = bytearray(s); b[5] ^= 1; s = bytes(b)'
	atf_check -s exit:1 "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$T"
	tamper T 'h["kid"] = "0000000000000000"'
	atf_check -s exit:1 "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$T"
}
jwks_verify_cleanup()
{
	authd_cleanup
}

# Signing keys of its own, so that rotating them touches no other test.
own_keys()
{
	KEYDIR=$(mktemp -d "$AUTHD_TEST_DIR/keys.XXXXXX") ||
	    atf_fail "mktemp failed"
	chmod 0700 "$KEYDIR"
	cp -p "$AUTHD_KEYS"/* "$KEYDIR/" || atf_fail "cannot copy the keys"
	conf_set "$AUTHD_CONF_FILE" keys "\"$KEYDIR\""
}

# jwks_count N: six answers in a row (every worker) list N keys.
jwks_count()
{
	local i
	i=0
	while [ $i -lt 6 ]; do
		[ "$(http GET "$AUTHD_URL/.well-known/jwks.json")" = 200 ] ||
		    return 1
		json_expect http.body "len(j['keys']) == $1" || return 1
		i=$((i + 1))
	done
}

atf_test_case key_rotation cleanup
key_rotation_head()
{
	atf_set descr "authctl key rotate and SIGHUP: new tokens carry the new" \
	    "kid, older tokens keep working, the JWKS lists both keys"
}
key_rotation_body()
{
	local kid1 kid2
	start own_keys
	kid1=$(cat "$KEYDIR/current")
	jwks_count 1 || atf_fail "the JWKS does not list exactly one key"
	login_admin
	A1=$ACCESS
	R1=$REFRESH
	tok_header "$A1"
	json_check header.json "j['kid'] == '$kid1'"
	atf_check -o match:"key [0-9a-f]+ created" \
	    "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" key rotate
	kid2=$(cat "$KEYDIR/current")
	[ "$kid2" != "$kid1" ] || atf_fail "key rotate kept kid $kid1"
	# Not before the reload: the daemon still signs with the old key.
	kill -HUP "$AUTHD_PID"
	wait_until 10 jwks_count 2 || atf_fail "the JWKS does not list 2 keys"
	json_check http.body "
	    sorted(k['kid'] for k in j['keys']) == sorted(['$kid1', '$kid2'])"
	cp http.body jwks.json
	works "$A1"
	works "$A1"
	login_admin
	tok_header "$ACCESS"
	json_check header.json "j['kid'] == '$kid2'"
	tok_header "$REFRESH"
	json_check header.json "j['kid'] == '$kid2'"
	works "$ACCESS"
	atf_check "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$ACCESS"
	atf_check "$PYTHON3" "$AUTHTEST_LIB/jwtool.py" verify jwks.json "$A1"
	# A refresh token of the old key still refreshes, into the new key.
	refresh 200 "$R1"
	tok_header "$ACCESS"
	json_check header.json "j['kid'] == '$kid2'"
	works "$ACCESS"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
}
key_rotation_cleanup()
{
	authd_cleanup
}

atf_test_case key_broken cleanup
key_broken_head()
{
	atf_set descr "a key file that does not parse fails the reload with" \
	    "its reason, and the daemon keeps signing with the keys it had"
}
key_broken_body()
{
	local kid1
	start own_keys
	kid1=$(cat "$KEYDIR/current")
	# The parent does not parse keys itself (authd/keyload.c): the
	# loader's message has to come back through it to authctl.
	printf '%s\n' '-----BEGIN PRIVATE KEY-----' 'bm90IGEga2V5' \
	    '-----END PRIVATE KEY-----' >"$KEYDIR/0123456789abcdef.pem"
	chmod 0600 "$KEYDIR/0123456789abcdef.pem"
	atf_check -s exit:1 -o empty \
	    -e match:'0123456789abcdef.pem: cannot read the private key' \
	    "$AUTHCTL_BIN" -s "$AUTHD_SOCKET" reload
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
	jwks_count 1 || atf_fail "the JWKS does not list exactly one key"
	login_admin
	tok_header "$ACCESS"
	json_check header.json "j['kid'] == '$kid1'"
	works "$ACCESS"
	# A current key that is not there: the reload says which.
	rm "$KEYDIR/0123456789abcdef.pem"
	echo 0123456789abcdef >"$KEYDIR/current"
	atf_check -s exit:1 -o empty \
	    -e match:'current key 0123456789abcdef is missing' \
	    "$AUTHCTL_BIN" -s "$AUTHD_SOCKET" reload
	echo "$kid1" >"$KEYDIR/current"
	atf_check -s exit:0 -o ignore -e empty \
	    "$AUTHCTL_BIN" -s "$AUTHD_SOCKET" reload
	works "$ACCESS"
}
key_broken_cleanup()
{
	authd_cleanup
}

# stored_hash SID TOKEN: the session keeps the SHA-256 of TOKEN.
stored_hash()
{
	sql_expect "$(printf %s "$2" | sha256sum | cut -d' ' -f1)" \
	    "SELECT refresh_hash FROM sessions WHERE id = $1"
}

atf_test_case refresh_stored_hash cleanup
refresh_stored_hash_head()
{
	atf_set descr "a session keeps the hash of its current refresh token;" \
	    "that token refreshes without a second signature check, a forged" \
	    "signature on its claims is refused and ends nothing, and it dies" \
	    "with the key that signed it"
}
refresh_stored_hash_body()
{
	local sid forged kid1
	start own_keys
	login_admin
	claim sid "$REFRESH" sid
	sql_expect "" "SELECT refresh_hash FROM sessions WHERE id = $sid"
	refresh 200 "$REFRESH"
	stored_hash "$sid" "$REFRESH"
	R1=$REFRESH
	refresh 200 "$R1"
	stored_hash "$sid" "$REFRESH"
	R2=$REFRESH
	# R2's header and claims under R1's signature: the claims peek well,
	# the token is not the stored one, its signature is checked.
	forged=$(printf %s "$R2" | cut -d. -f1,2).$(printf %s "$R1" | cut -d. -f3)
	refresh 401 "$forged"
	json_check http.body 'j["detail"] == "Invalid refresh token"'
	sql_expect t "SELECT is_active FROM sessions WHERE id = $sid"
	refresh 200 "$R2"
	stored_hash "$sid" "$REFRESH"
	R3=$REFRESH
	# The key that signed R3 is removed: R3 is refused, hash or not.
	kid1=$(cat "$KEYDIR/current")
	atf_check -o ignore "$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" key rotate
	rm "$KEYDIR/$kid1.pem"
	kill -HUP "$AUTHD_PID"
	wait_until 10 jwks_count 1 || atf_fail "the JWKS still lists $kid1"
	refresh 401 "$R3"
	proc_alive "$AUTHD_PID" || atf_fail "the daemon exited"
}
refresh_stored_hash_cleanup()
{
	authd_cleanup
}

# hs256_keys: a key directory of its own with an HS256 secret, and the
# daemon configured for HS256 (workers then hold no key at all) with a
# grace window of 1 s.
hs256_keys()
{
	KEYDIR=$(mktemp -d "$AUTHD_TEST_DIR/keys.XXXXXX") ||
	    atf_fail "mktemp failed"
	chmod 0700 "$KEYDIR"
	conf_set "$AUTHD_CONF_FILE" keys "\"$KEYDIR\""
	token_block "algorithm hs256" "refresh grace 1"
	"$AUTHCTL_BIN" -f "$AUTHD_CONF_FILE" key generate >/dev/null ||
	    atf_fail "authctl key generate failed"
}

atf_test_case refresh_hs256 cleanup
refresh_hs256_head()
{
	atf_set descr "with HS256, whose secret only keyholders hold, refresh" \
	    "rotates (first by signature, then by the stored hash), a forged" \
	    "signature is refused, and reuse ends the session"
}
refresh_hs256_body()
{
	local forged sid
	start hs256_keys
	login_admin
	tok_header "$REFRESH"
	json_check header.json "j['alg'] == 'HS256'"
	claim sid "$REFRESH" sid
	refresh 200 "$REFRESH"
	R1=$REFRESH
	stored_hash "$sid" "$R1"
	refresh 200 "$R1"
	R2=$REFRESH
	stored_hash "$sid" "$R2"
	works "$ACCESS"
	forged=$(printf %s "$R2" | cut -d. -f1,2).$(printf %s "$R1" | cut -d. -f3)
	refresh 401 "$forged"
	refresh 200 "$R2"
	# Reuse of a rotated token outside the grace window ends the session.
	sleep 2
	refresh 401 "$R1"
	sql_expect f "SELECT is_active FROM sessions WHERE id = $sid"
	refresh 401 "$REFRESH"
}
refresh_hs256_cleanup()
{
	authd_cleanup
}

# The races of a login with a change of its user or company, made
# deterministic: a psql session holds a row lock on the user or the
# company, the change (an admin's request, in the background) queues
# behind it, and the login runs meanwhile.

# race_hold TABLE ID: a transaction in the background holds FOR SHARE on
# the row for 3 s; returns once it does.
race_hold()
{
	"$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq -v ON_ERROR_STOP=1 \
	    -c BEGIN -c "SELECT 1 FROM $1 WHERE id = $2 FOR SHARE" \
	    -c "SELECT pg_sleep(3)" -c COMMIT >hold.out 2>&1 &
	HOLD_PID=$!
	wait_until 10 race_waiting "state = 'active'
	    AND query = 'SELECT pg_sleep(3)'" ||
	    atf_fail "the lock holder did not start: $(cat hold.out)"
}

# race_waiting COND: a backend of the test database matches COND.
race_waiting()
{
	sql "SELECT count(*) FROM pg_stat_activity
	    WHERE datname = current_database() AND $1"
	[ "$SQL" -gt 0 ]
}

# race_change METHOD PATH [JSON]: the admin's request in the background
# (answer in race/), queued behind the held lock.
race_change()
{
	mkdir -p race
	(HTTP_OUT=race http_json "$1" "$AUTHD_URL$2" "${3:-{\}}" \
	    -H "Authorization: Bearer $ADM" >/dev/null) &
	CHANGE_PID=$!
	race_queued "$1 $2"
}

# race_queued WHAT: the change in the background (CHANGE_PID) waits
# behind the held lock, or the case fails.
race_queued()
{
	wait_until 10 race_waiting "wait_event_type = 'Lock'" ||
	    atf_fail "$1 did not wait for the lock"
}

# race_run OUT COMMAND...: COMMAND in the background (its output in
# OUT), queued behind the held lock.
race_run()
{
	local out
	out=$1
	shift
	"$@" >"$out" 2>&1 &
	CHANGE_PID=$!
	race_queued "$*"
}

# race_run_end OUT: the holder and the command of race_run are done,
# both well.
race_run_end()
{
	wait "$CHANGE_PID" ||
	    atf_fail "$(oneline "the change failed: $(cat "$1")")"
	wait "$HOLD_PID" || atf_fail "the lock holder failed: $(cat hold.out)"
}

# race_end CODE: the holder and the change are done; the change answered
# CODE.
race_end()
{
	wait "$CHANGE_PID"
	wait "$HOLD_PID" || atf_fail "the lock holder failed: $(cat hold.out)"
	[ "$(cat race/http.status)" = "$1" ] || atf_fail "$(oneline \
	    "the change answered $(cat race/http.status), expected $1:" \
	    "$(head -c 300 race/http.body)")"
}

# race_login CODE: a login of NEW_USER that must answer CODE (never 500).
race_login()
{
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" "$1"
}

atf_test_case login_race_user_inactive cleanup
login_race_user_inactive_head()
{
	atf_set descr "a login racing its user's deactivation answers 400" \
	    "Inactive user and leaves no live session"
}
login_race_user_inactive_body()
{
	start
	login_admin
	ADM=$ACCESS
	mkuser Racer
	race_hold users "$NEW_UID"
	race_change PUT "/api/v1/users/$NEW_UID" '{"is_active": false}'
	race_login 400
	detail_is "Inactive user"
	race_end 200
	sql_expect 0 "SELECT count(*) FROM sessions
	    WHERE user_id = $NEW_UID AND is_active"
	sql_expect "1|inactive user" "SELECT count(*), reason
	    FROM login_history WHERE user_id = $NEW_UID AND NOT success
	    GROUP BY reason"
}
login_race_user_inactive_cleanup()
{
	authd_cleanup
}

atf_test_case login_race_company_inactive cleanup
login_race_company_inactive_head()
{
	atf_set descr "a session a login commits while its company is being" \
	    "deactivated is revoked with the others, and stays so after" \
	    "the company's reactivation"
}
login_race_company_inactive_body()
{
	local code
	start
	login_admin
	ADM=$ACCESS
	mkcompany
	mkuser Racer "$NEW_CID"
	race_hold companies "$NEW_CID"
	race_change PUT "/api/v1/companies/$NEW_CID" '{"is_active": false}'
	code=$(http POST "$AUTHD_URL$LOGIN" --data-urlencode \
	    "username=$NEW_USER" --data-urlencode \
	    "password=$AUTHD_ADMIN_PASSWORD")
	case "$code" in
	200)	jget ACCESS http.body 'j["access_token"]' ;;
	403)	detail_is "Company is inactive" ;;
	*)	atf_fail "login answered $code: $(head -c 300 http.body)" ;;
	esac
	race_end 200
	sql_expect 0 "SELECT count(*) FROM sessions
	    WHERE company_id = $NEW_CID AND is_active"
	sql "UPDATE companies SET is_active = true WHERE id = $NEW_CID"
	if [ "$code" = 200 ]; then
		bearer 401 "$ACCESS" GET /api/v1/users/me
	fi
}
login_race_company_inactive_cleanup()
{
	authd_cleanup
}

atf_test_case login_race_password_changed cleanup
login_race_password_changed_head()
{
	atf_set descr "a login with the old password racing a change of the" \
	    "password, or without a code racing two-factor being turned" \
	    "on, answers 401 and leaves no session, and its rehash does" \
	    "not bring the old password back"
}
login_race_password_changed_body()
{
	local hash
	start
	login_admin
	ADM=$ACCESS
	mkuser Changed
	race_hold users "$NEW_UID"
	race_change PUT "/api/v1/users/$NEW_UID" '{"password": "Other-Pass-123!"}'
	race_login 401
	detail_is "Incorrect username or password"
	race_end 200
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "the old password made a session"
	sql_expect 1 "SELECT count(*) FROM login_history
	    WHERE user_id = $NEW_UID AND NOT success
	    AND reason = 'password changed'"
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" 401
	login "$NEW_USER" 'Other-Pass-123!'

	# Two-factor turned on meanwhile: the code was never asked for.
	mkuser Second
	race_hold users "$NEW_UID"
	race_run tfa.out "$PG_BINDIR/psql" "$AUTHD_DATABASE" -XAtq \
	    -v ON_ERROR_STOP=1 -c "UPDATE users SET two_factor_enabled = true,
	    two_factor_secret_sealed = '\\x00' WHERE id = $NEW_UID"
	race_login 401
	detail_is "Two-factor code required"
	race_run_end tfa.out
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "a login without its code has a session"

	# The same with an imported bcrypt hash, which a login replaces
	# (as login_bcrypt_rehash, when python3 can make one).
	hash=$(python3 -W ignore -c 'import crypt, sys
print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH,
    rounds=1024)))' "$AUTHD_ADMIN_PASSWORD" 2>/dev/null) || return 0
	case "$hash" in
	'$2b$10$'*)	;;
	*)	return 0 ;;
	esac
	mkuser Rehashed
	sql "UPDATE users SET hashed_password = '$hash' WHERE id = $NEW_UID"
	race_hold users "$NEW_UID"
	race_change PUT "/api/v1/users/$NEW_UID" '{"password": "Other-Pass-123!"}'
	race_login 401
	race_end 200
	form_login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD" 401
	login "$NEW_USER" 'Other-Pass-123!'
}
login_race_password_changed_cleanup()
{
	authd_cleanup
}

atf_test_case login_race_locked cleanup
login_race_locked_head()
{
	atf_set descr "a login racing authctl user lock answers 429 and" \
	    "leaves no live session"
}
login_race_locked_body()
{
	start
	login_admin
	mkuser Locked
	race_hold users "$NEW_UID"
	race_run lock.out authctl_run user lock "$NEW_UID"
	race_login 429
	detail_is "Too many login attempts"
	header_is Retry-After 3600
	race_run_end lock.out
	sql_expect 0 "SELECT count(*) FROM sessions
	    WHERE user_id = $NEW_UID AND is_active"
	sql_expect 1 "SELECT count(*) FROM login_history
	    WHERE user_id = $NEW_UID AND NOT success
	    AND reason = 'locked by an administrator'"
}
login_race_locked_cleanup()
{
	authd_cleanup
}

atf_test_case login_race_user_gone cleanup
login_race_user_gone_head()
{
	atf_set descr "a login racing its user's deletion or move to another" \
	    "company answers 401 as for an unknown user, never 500"
}
login_race_user_gone_body()
{
	local other
	start
	login_admin
	ADM=$ACCESS
	mkcompany
	other=$NEW_CID
	mkuser Deleted
	race_hold users "$NEW_UID"
	race_change DELETE "/api/v1/users/$NEW_UID"
	race_login 401
	detail_is "Incorrect username or password"
	header_is WWW-Authenticate Bearer
	race_end 200
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "a deleted user has a session"

	mkuser Moved
	race_hold users "$NEW_UID"
	race_change PUT "/api/v1/users/$NEW_UID" "{\"company_id\": $other}"
	race_login 401
	detail_is "Incorrect username or password"
	header_is WWW-Authenticate Bearer
	race_end 200
	count_sessions "$NEW_UID"
	[ "$SESSIONS" = 0 ] || atf_fail "a moved user has a session"
	sql_expect 1 "SELECT count(*) FROM login_history WHERE NOT success
	    AND reason = 'moved to another company'"
	# In its new company, it logs in.
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
}
login_race_user_gone_cleanup()
{
	authd_cleanup
}

atf_test_case login_race_company_deleted cleanup
login_race_company_deleted_head()
{
	atf_set descr "a login racing the forced deletion of its company" \
	    "answers 401, never 500"
}
login_race_company_deleted_body()
{
	start
	login_admin
	ADM=$ACCESS
	mkcompany
	mkuser Doomed "$NEW_CID"
	# The deletion locks the company, then waits for the user's row.
	race_hold users "$NEW_UID"
	race_change DELETE "/api/v1/companies/$NEW_CID?force=true"
	race_login 401
	detail_is "Incorrect username or password"
	header_is WWW-Authenticate Bearer
	race_end 200
	sql_expect 0 "SELECT count(*) FROM sessions
	    WHERE company_id = $NEW_CID"
}
login_race_company_deleted_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case login_form
	atf_add_test_case login_form_empty
	atf_add_test_case keyholder_hash_area
	atf_add_test_case bearer_any_case
	atf_add_test_case login_json
	atf_add_test_case login_case_insensitive
	atf_add_test_case login_same_second
	atf_add_test_case login_wrong_credentials
	atf_add_test_case login_history
	atf_add_test_case login_missing_fields
	atf_add_test_case login_grant_type
	atf_add_test_case login_inactive_user
	atf_add_test_case login_inactive_company
	atf_add_test_case login_race_user_inactive
	atf_add_test_case login_race_company_inactive
	atf_add_test_case login_race_user_gone
	atf_add_test_case login_race_password_changed
	atf_add_test_case login_race_locked
	atf_add_test_case login_race_company_deleted
	atf_add_test_case login_bcrypt_rehash
	atf_add_test_case users_me
	atf_add_test_case users_me_not_authenticated
	atf_add_test_case logout
	atf_add_test_case refresh_ways
	atf_add_test_case refresh_missing
	atf_add_test_case refresh_grace
	atf_add_test_case refresh_after_grace
	atf_add_test_case refresh_grace_zero
	atf_add_test_case refresh_wrong_type
	atf_add_test_case refresh_parallel
	atf_add_test_case refresh_after_logout
	atf_add_test_case refresh_inactive
	atf_add_test_case introspect
	atf_add_test_case introspect_forbidden
	atf_add_test_case openid_configuration
	atf_add_test_case jwks_verify
	atf_add_test_case key_rotation
	atf_add_test_case key_broken
	atf_add_test_case refresh_stored_hash
	atf_add_test_case refresh_hs256
}
