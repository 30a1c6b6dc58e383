#! /usr/bin/env atf-sh
# Attacks on the bearer token, over real HTTP against the PostgreSQL and
# Redis of regress/run.sh (SECURITY-CHECKLIST.md 1.1): alg none, HS256
# signed with the public key, tampered payloads and headers, unknown and
# injected kids, stripped and malleated signatures, bad claims in tokens
# with a valid signature, type confusion, tokens of deleted or inactive
# users, oversized tokens.  Tokens with a valid signature and chosen
# claims are minted with the daemon's private key (readable by root
# only: those cases need root) by lib/jwtool.py, which signs through the
# openssl command; each such case first shows that a minted token with
# honest claims is accepted, so that a refusal means the claim.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

BAD="Could not validate credentials"

# A daemon and a user of the root company, logged in: ACCESS, REFRESH,
# SID, NEW_UID.
setup()
{
	start
	mkuser Victim
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
}

# bad TOKEN...: every token is refused with 401 "Could not validate
# credentials".
bad()
{
	local t
	for t in "$@"; do
		denied "$t" "$BAD"
	done
}

atf_test_case alg_none cleanup
alg_none_head()
{
	atf_set descr "alg none in any case, or no alg, is refused"
}
alg_none_body()
{
	local alg
	setup
	for alg in none None NONE nOnE; do
		tamper T "h['alg'] = '$alg'; s = b''"
		case "$T" in
		*.*.)	;;
		*)	atf_fail "not an unsigned token: $T" ;;
		esac
		bad "$T"
		# With the signature left on, too.
		tamper T "h['alg'] = '$alg'"
		bad "$T"
	done
	tamper T "del h['alg']; s = b''"
	bad "$T"
	tamper T "del h['alg']"
	bad "$T"
	tamper T "h['alg'] = ''"
	bad "$T"
	tamper T "h['alg'] = 'es256'"
	bad "$T"
	works "$ACCESS"
}
alg_none_cleanup()
{
	authd_cleanup
}

atf_test_case hs256_public_key cleanup
hs256_public_key_head()
{
	atf_set descr "HS256 signed with the bytes of the public key is refused"
}
hs256_public_key_body()
{
	local kid f
	setup
	tok_header "$ACCESS"
	jget kid header.json 'j["kid"]'
	http_expect 200 GET "$AUTHD_URL/.well-known/jwks.json"
	cp http.body jwks.json
	jwtool pem jwks.json "$kid" >pub.pem || atf_fail "no PEM for $kid"
	if is_root; then
		# The PEM built from the JWKS is byte for byte the one that
		# openssl writes, which is what the daemon holds.
		openssl ec -in "$AUTHD_KEYS/$kid.pem" -pubout -out pub-openssl.pem \
		    2>/dev/null || atf_fail "openssl ec -pubout failed"
		atf_check cmp pub.pem pub-openssl.pem
	fi
	printf '%s' "$(cat pub.pem)" >pub-nonl.pem
	openssl pkey -pubin -in pub.pem -outform DER -out pub.der 2>/dev/null ||
	    atf_fail "openssl pkey failed"
	openssl ec -pubin -in pub.pem -conv_form uncompressed -outform DER \
	    -out pub-ec.der 2>/dev/null || atf_fail "openssl ec failed"
	for f in pub.pem pub-nonl.pem pub.der pub-ec.der; do
		T=$(jwtool hs256 "$f" "$ACCESS" "h['alg'] = 'HS256'") ||
		    atf_fail "jwtool hs256 failed"
		bad "$T"
		T=$(jwtool hs256 "$f" "$ACCESS" "h = {'alg': 'HS256', 'typ': 'JWT'}") ||
		    atf_fail "jwtool hs256 failed"
		bad "$T"
	done
	# The same family with other hashes.
	for alg in HS384 HS512 RS256 ES384 ES512 PS256 EdDSA; do
		tamper T "h['alg'] = '$alg'"
		bad "$T"
	done
	works "$ACCESS"
}
hs256_public_key_cleanup()
{
	authd_cleanup
}

atf_test_case tampered_payload cleanup
tampered_payload_head()
{
	atf_set descr "a changed payload or header under the old signature" \
	    "is refused"
}
tampered_payload_body()
{
	local victim other
	setup
	victim=$NEW_UID
	mkuser Other
	other=$NEW_UID
	for code in "c['sub'] = '$other'" "c['sub'] = '$ADMIN_UID'" \
	    "c['cid'] = c['cid'] + 1" "c['sid'] = c['sid'] + 1" \
	    "c['exp'] = c['exp'] + 3600" "c['iat'] = c['iat'] - 1" \
	    "c['jti'] = 'x' + c['jti']" "c['is_superuser'] = True" \
	    "c['type'] = 'access '" "c['iss'] = c['iss'] + '/'" \
	    "h['typ'] = 'JWT'; del h['typ']" \
	    "hraw = json.dumps(h, indent=1)" \
	    "craw = json.dumps(c, indent=1)" \
	    "craw = json.dumps(c, separators=(',', ':')) + ' '"; do
		tamper T "$code"
		[ "$T" != "$ACCESS" ] || atf_fail "tamper did not change: $code"
		bad "$T"
	done
	works "$ACCESS"
	bearer 200 "$ACCESS" GET /api/v1/users/me
	json_check http.body "j['id'] == $victim"
}
tampered_payload_cleanup()
{
	authd_cleanup
}

atf_test_case signature_stripped cleanup
signature_stripped_head()
{
	atf_set descr "stripped, truncated, flipped or re-encoded signatures," \
	    "2- and 4-part tokens are refused"
}
signature_stripped_body()
{
	local h p s
	setup
	h=${ACCESS%%.*}
	s=${ACCESS##*.}
	p=${ACCESS#*.}
	p=${p%.*}
	[ "$h.$p.$s" = "$ACCESS" ] || atf_fail "cannot split $ACCESS"
	bad "$h.$p." "$h.$p" "$h.$p.$s.$s" "$h.$p.$s." "a.b.c.d" \
	    "$h.$p.${s%?}" "$h.$p.${s}A" "$h.$p.$s=" "$h.$p.$s==" \
	    ".$p.$s" "$h..$s" ".." "$h.$p.$(echo "$s" | tr -- '-_' '+/')x" \
	    "{\"protected\":\"$h\",\"payload\":\"$p\",\"signature\":\"$s\"}"
	tamper T 'b = bytearray(s); b[0] ^= 1; s = bytes(b)'
	bad "$T"
	tamper T 'b = bytearray(s); b[63] ^= 0x80; s = bytes(b)'
	bad "$T"
	tamper T 's = s[:32]'
	bad "$T"
	tamper T 's = bytes(64)'
	bad "$T"
	# r || s with s replaced by n - s verifies as ECDSA, but a token
	# has one encoding only (low S).
	tamper T 'r, t = sig_rs(s); s = rs_sig(r, n - t)'
	bad "$T"
	works "$ACCESS"
}
signature_stripped_cleanup()
{
	authd_cleanup
}

atf_test_case kid_attacks cleanup
kid_attacks_head()
{
	atf_set descr "a valid signature under an unknown or injected kid is" \
	    "refused"
	atf_set require.user root
}
kid_attacks_body()
{
	local kid long
	require_root
	setup
	tok_header "$ACCESS"
	jget kid header.json 'j["kid"]'
	# Minted with honest claims: accepted.
	forge T "c['jti'] = 'minted-' + c['jti']"
	works "$T"
	long=$(head -c 10240 /dev/zero | tr '\0' a)
	for k in 0000000000000000 "${kid}0" "$(echo "$kid" |
	    tr '[:lower:]' '[:upper:]')" "../../../../dev/null" \
	    "../$(basename "$AUTHD_KEYS")/$kid" "$kid.pem" "./$kid" "current" \
	    "' OR '1'='1" "$long" "$kid%00"; do
		forge T "h['kid'] = '''$k'''"
		bad "$T"
	done
	forge T "h['kid'] = '$kid\\r\\nDEL k'"
	bad "$T"
	forge T "h['kid'] = '$kid\\u0000'"
	bad "$T"
	forge T "del h['kid']"
	bad "$T"
	forge T "h['kid'] = 5"
	bad "$T"
	forge T "h['kid'] = ['$kid']"
	bad "$T"
	# Key material or key locations in the header are never followed.
	forge T "h['jku'] = 'http://127.0.0.1:9/jwks.json'"
	bad "$T"
	forge T "h['jwk'] = {'kty': 'EC', 'crv': 'P-256', 'x': 'AA', 'y': 'AA'}"
	bad "$T"
	forge T "h['x5u'] = 'http://127.0.0.1:9/cert.pem'"
	bad "$T"
	forge T "h['crit'] = ['foo']; h['foo'] = 1"
	bad "$T"
	forge T "hraw = '{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"$kid\"}'"
	bad "$T"
	works "$ACCESS"
}
kid_attacks_cleanup()
{
	authd_cleanup
}

atf_test_case bad_claims cleanup
bad_claims_head()
{
	atf_set descr "validly signed tokens with expired, early, foreign or" \
	    "malformed claims are refused"
	atf_set require.user root
}
bad_claims_body()
{
	require_root
	setup
	forge T "c['jti'] = 'minted-' + c['jti']"
	works "$T"
	# The leeway is 30 s.
	forge T "c['exp'] = now - 5"
	works "$T"
	forge T "c['nbf'] = now + 5"
	works "$T"
	for code in "c['exp'] = now - 61" "c['exp'] = now - 3600" \
	    "c['iat'] = now - 7200; c['exp'] = now - 1800" \
	    "c['nbf'] = now + 120" "c['iat'] = now + 120" \
	    "c['iss'] = 'http://evil.example'" "c['iss'] = c['iss'] + '/'" \
	    "del c['iss']" "del c['exp']" "c['exp'] = str(now + 600)" \
	    "c['exp'] = '9999999999'" "c['exp'] = 1e20" "c['exp'] = now + 0.5" \
	    "c['exp'] = -1" "c['exp'] = None" "c['exp'] = True" \
	    "c['nbf'] = str(now)" "del c['iat']" "c['iat'] = str(now)" \
	    "c['sub'] = int(c['sub'])" "c['sub'] = '0'" "c['sub'] = 'abc'" \
	    "c['sub'] = '0' + c['sub']" "c['sub'] = ''" "del c['sub']" \
	    "del c['cid']" "c['cid'] = str(c['cid'])" "c['cid'] = 0" \
	    "del c['sid']" "c['sid'] = str(c['sid'])" "c['sid'] = -1" \
	    "del c['jti']" "c['jti'] = ''" "c['jti'] = 5" \
	    "del c['type']" "c['type'] = 'admin'" "c['type'] = 'ACCESS'" \
	    "craw = '[]'" "craw = '\"access\"'" "craw = 'not json'" \
	    "craw = json.dumps(c)[:-1]" \
	    "craw = json.dumps(c)[:-1] + ', \"sub\": \"$ADMIN_UID\"}'"; do
		forge T "$code"
		bad "$T"
	done
	works "$ACCESS"
}
bad_claims_cleanup()
{
	authd_cleanup
}

atf_test_case type_confusion cleanup
type_confusion_head()
{
	atf_set descr "a refresh token is no access token and the reverse"
}
type_confusion_body()
{
	setup
	denied "$REFRESH" "Invalid token type"
	denied "$REFRESH" "Invalid token type" /api/v1/users/me/sessions
	bearer 401 "$REFRESH" POST /api/v1/auth/logout
	detail_is "Invalid token type"
	session_active "$SID" t
	refresh 401 "$ACCESS"
	header_is WWW-Authenticate Bearer
	if is_root; then
		forge T "c['type'] = 'refresh'"
		denied "$T" "Invalid token type"
		forge T "c['type'] = 'access'" "$REFRESH"
		refresh 401 "$T"
	fi
	works "$ACCESS"
	refresh 200 "$REFRESH"
}
type_confusion_cleanup()
{
	authd_cleanup
}

atf_test_case session_mismatch cleanup
session_mismatch_head()
{
	atf_set descr "a validly signed token naming another user's or no" \
	    "session is refused"
	atf_set require.user root
}
session_mismatch_body()
{
	local victim other_sid
	require_root
	setup
	victim=$NEW_UID
	A=$ACCESS
	mkuser Other
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	other_sid=$SID
	# The victim's identity on the other user's session.
	forge T "c['sid'] = $other_sid" "$A"
	denied "$T" "Token has been revoked"
	# The other user's identity on the victim's session.
	forge T "c['sub'] = '$victim'"
	denied "$T" "Token has been revoked"
	forge T "c['sid'] = 999999999" "$A"
	denied "$T" "Token has been revoked"
	forge T "c['sub'] = '999999999'" "$A"
	denied "$T" "Token has been revoked"
	works "$A"
	works "$ACCESS"
}
session_mismatch_cleanup()
{
	authd_cleanup
}

atf_test_case forged_company cleanup
forged_company_head()
{
	atf_set descr "the company of a request is the session's, not a" \
	    "claim that disagrees with it"
	atf_set require.user root
}
forged_company_body()
{
	local root_sid
	require_root
	start
	login_admin
	root_sid=$SID
	mkcompany
	mkuser CompanyAdmin "$NEW_CID" true
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$ACCESS" GET /api/v1/sessions/
	json_check http.body "$root_sid not in [s['id'] for s in j]"
	# The company admin's own session, claiming the root company.
	forge T "c['cid'] = $ROOT_CID"
	http_expect_any_401_or_scoped "$T" "$root_sid"
}
forged_company_cleanup()
{
	authd_cleanup
}

# http_expect_any_401_or_scoped TOKEN SID: GET /api/v1/sessions/ with
# TOKEN is refused (401), or answers a list without session SID.
http_expect_any_401_or_scoped()
{
	local st
	st=$(http GET "$(base)/api/v1/sessions/" -H "Authorization: Bearer $1")
	case "$st" in
	401)	header_is WWW-Authenticate Bearer ;;
	200)	json_check http.body "$2 not in [s['id'] for s in j]" ;;
	*)	atf_fail "$(oneline "GET /api/v1/sessions/: status $st:" \
		    "$(head -c 300 http.body)")" ;;
	esac
}

atf_test_case company_moved cleanup
company_moved_head()
{
	atf_set descr "a token issued before its user moved to another company" \
	    "does not act in the old company"
}
company_moved_body()
{
	local old new stay_sid
	start
	mkcompany
	old=$NEW_CID
	mkuser Stays "$old"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	stay_sid=$SID
	mkuser Mover "$old" true
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	bearer 200 "$ACCESS" GET /api/v1/sessions/
	json_check http.body "$stay_sid in [s['id'] for s in j]"
	mkcompany
	new=$NEW_CID
	# What a root admin's PUT /users/{id} with company_id does to the
	# rows; the roles of the old company cannot follow the user.
	sql "DELETE FROM user_roles WHERE user_id = $NEW_UID;
	    UPDATE users SET company_id = $new WHERE id = $NEW_UID"
	http_expect_any_401_or_scoped "$ACCESS" "$stay_sid"
}
company_moved_cleanup()
{
	authd_cleanup
}

atf_test_case deleted_user cleanup
deleted_user_head()
{
	atf_set descr "the tokens of a deleted user are revoked"
}
deleted_user_body()
{
	setup
	sql "DELETE FROM users WHERE id = $NEW_UID"
	denied "$ACCESS" "Token has been revoked"
	refresh 401 "$REFRESH"
	detail_is "Invalid refresh token"
}
deleted_user_cleanup()
{
	authd_cleanup
}

atf_test_case inactive_user cleanup
inactive_user_head()
{
	atf_set descr "the tokens of an inactive user or company are refused"
}
inactive_user_body()
{
	setup
	sql "UPDATE users SET is_active = false WHERE id = $NEW_UID"
	denied "$ACCESS" "Token has been revoked"
	mkcompany
	mkuser Inside "$NEW_CID"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	works "$ACCESS"
	sql "UPDATE companies SET is_active = false WHERE id = $NEW_CID"
	denied "$ACCESS" "Token has been revoked"
}
inactive_user_cleanup()
{
	authd_cleanup
}

atf_test_case oversized cleanup
oversized_head()
{
	atf_set descr "oversized tokens are refused and the daemon stays up"
}
oversized_body()
{
	local big part st
	setup
	big=$(head -c 8192 /dev/zero | tr '\0' A)
	part=$(head -c 4000 /dev/zero | tr '\0' A)
	# Over 4 KiB, under the 16 KiB header limit.
	bad "$big" "$ACCESS$big" "$part.$part.$part"
	tamper T "c['pad'] = 'x' * 6000"
	bad "$T"
	if is_root; then
		forge T "c['pad'] = 'x' * 6000"
		bad "$T"
	fi
	# Over the header limit (16 KiB by default): refused by the HTTP
	# layer, never a 200 or a 5xx, and the daemon keeps serving.
	st=$(http GET "$AUTHD_URL/api/v1/users/me" \
	    -H "Authorization: Bearer $big.$big.$big")
	case "$st" in
	4*)	;;
	*)	atf_fail "a 24 KiB token answered $st" ;;
	esac
	{
		printf 'Authorization: Bearer '
		head -c 1048576 /dev/zero | tr '\0' A
		echo
	} >huge.header
	st=$(http GET "$AUTHD_URL/api/v1/users/me" -H @huge.header)
	case "$st" in
	2*|5*)	atf_fail "a 1 MiB token answered $st" ;;
	esac
	proc_alive "$AUTHD_PID" || atf_fail "the daemon died"
	works "$ACCESS"
	expect_children worker 2
}
oversized_cleanup()
{
	authd_cleanup
}

atf_test_case revoked_malleated cleanup
revoked_malleated_head()
{
	atf_set descr "a revoked token stays refused in every encoding"
}
revoked_malleated_body()
{
	setup
	A=$ACCESS
	bearer 200 "$A" POST /api/v1/auth/logout
	denied "$A" "Token has been revoked"
	tamper T 'r, t = sig_rs(s); s = rs_sig(r, n - t)'
	bearer 401 "$T" GET /api/v1/users/me
	header_is WWW-Authenticate Bearer
	if is_root; then
		# Signed anew with a fresh jti: the session is what is revoked.
		forge T "c['jti'] = 'fresh-' + c['jti']; c['iat'] = now"
		denied "$T" "Token has been revoked"
	fi
}
revoked_malleated_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case alg_none
	atf_add_test_case hs256_public_key
	atf_add_test_case tampered_payload
	atf_add_test_case signature_stripped
	atf_add_test_case kid_attacks
	atf_add_test_case bad_claims
	atf_add_test_case type_confusion
	atf_add_test_case session_mismatch
	atf_add_test_case forged_company
	atf_add_test_case company_moved
	atf_add_test_case deleted_user
	atf_add_test_case inactive_user
	atf_add_test_case oversized
	atf_add_test_case revoked_malleated
}
