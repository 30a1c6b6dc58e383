#! /usr/bin/env atf-sh
# POST /api/v1/authz/check over real HTTP: the caller's own rights by
# permission name or by resource and action, a superuser's question about
# a user of its company, tenant isolation of that user_id, changes of
# roles counted at once, and the 422s of a body with neither form.

. "$(atf_get_srcdir)/../lib.sh"
. "$(atf_get_srcdir)/lib/authtest.sh"

# check CODE TOKEN JSON: POST /authz/check with the body, answering CODE.
check()
{
	bearer "$1" "$2" POST /api/v1/authz/check \
	    -H 'Content-Type: application/json' --data-binary "$3"
}

# allowed TOKEN JSON True|False: the check answers 200 {"allowed": ...}.
allowed()
{
	check 200 "$1" "$2"
	json_check http.body "j == {\"allowed\": $3}"
}

# verr_is TYPE LOC: the last answer is one validation error at LOC (the
# loc after "body", "" for the body itself).
verr_is()
{
	json_check http.body "len(j[\"detail\"]) == 1 and
	    j[\"detail\"][0][\"type\"] == \"$1\" and
	    \"/\".join(str(x) for x in j[\"detail\"][0][\"loc\"][1:]) == \"$2\" and
	    j[\"detail\"][0][\"loc\"][0] == \"body\""
}

# grant USER PERMISSION: a new role of the user's company holding the
# global PERMISSION, given to USER; sets ROLE_ID.
grant()
{
	sql "WITH r AS (INSERT INTO roles (company_id, name)
	    SELECT company_id, 'r_$(rand)' FROM users WHERE id = $1
	    RETURNING id, company_id),
	    g AS (INSERT INTO role_permissions (role_id, permission_id,
	    company_id) SELECT r.id, p.id, r.company_id FROM r, permissions p
	    WHERE p.name = '$2' AND p.company_id IS NULL RETURNING 1),
	    a AS (INSERT INTO user_roles (user_id, role_id, company_id)
	    SELECT $1, r.id, r.company_id FROM r)
	    SELECT r.id FROM r WHERE EXISTS (SELECT 1 FROM g)"
	ROLE_ID=$SQL
	[ -n "$ROLE_ID" ] || atf_fail "cannot grant $2 to user $1"
}

# tenant: company C with an admin and a plain user (role "user":
# users:read, profile:update), company D with a plain user; C, D,
# C_ADMIN, C_USER, D_USER (user ids); TC_ADMIN, TC_USER, TD_USER (tokens);
# T_ROOT (the root admin's).
tenant()
{
	login_admin
	T_ROOT=$ACCESS
	mkcompany
	C=$NEW_CID
	mkcompany
	D=$NEW_CID
	mkuser cadmin "$C" true
	C_ADMIN=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	TC_ADMIN=$ACCESS
	mkuser cuser "$C"
	C_USER=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	TC_USER=$ACCESS
	mkuser duser "$D"
	D_USER=$NEW_UID
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	TD_USER=$ACCESS
}

atf_test_case permission_form cleanup
permission_form_head()
{
	atf_set descr "{permission} answers for the caller from its effective" \
	    "permissions; superusers are allowed everything"
}
permission_form_body()
{
	start
	tenant
	allowed "$TC_USER" '{"permission": "users:read"}' True
	allowed "$TC_USER" '{"permission": "profile:update"}' True
	allowed "$TC_USER" '{"permission": "users:delete"}' False
	allowed "$TC_USER" '{"permission": "company:create"}' False
	allowed "$TC_USER" '{"permission": "no:such"}' False
	# Unknown fields are ignored; the route is the same without a slash.
	allowed "$TC_USER" '{"permission": "users:read", "x": 1}' True
	bearer 200 "$TC_USER" POST /api/v1/authz/check/ \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"permission": "users:delete"}'
	json_check http.body 'j == {"allowed": False}'
	# A company admin: every permission inside its company.
	allowed "$TC_ADMIN" '{"permission": "users:delete"}' True
	allowed "$TC_ADMIN" '{"permission": "no:such"}' True
	allowed "$T_ROOT" '{"permission": "company:create"}' True
	# Checking writes nothing.
	sql_expect 0 "SELECT count(*) FROM audit_log
	    WHERE actor_user_id IN ($C_USER, $C_ADMIN)"
}
permission_form_cleanup()
{
	authd_cleanup
}

atf_test_case resource_form cleanup
resource_form_head()
{
	atf_set descr "{resource, action} finds the permission by its" \
	    "resource type and action, or by the name resource:action"
}
resource_form_body()
{
	start
	tenant
	allowed "$TC_USER" '{"resource": "users", "action": "read"}' True
	allowed "$TC_USER" '{"resource": "users", "action": "delete"}' False
	allowed "$TC_USER" '{"resource": "companies", "action": "read"}' False
	allowed "$TC_USER" '{"resource": "nothing", "action": "read"}' False
	# company:read lives on the resource type "companies": either name
	# of it finds it.
	grant "$C_USER" company:read
	allowed "$TC_USER" '{"resource": "companies", "action": "read"}' True
	allowed "$TC_USER" '{"resource": "company", "action": "read"}' True
	allowed "$TC_USER" '{"resource": "companies", "action": "list"}' False
	allowed "$TC_USER" '{"permission": "company:read"}' True
	allowed "$TC_ADMIN" '{"resource": "anything", "action": "at all"}' True
}
resource_form_cleanup()
{
	authd_cleanup
}

atf_test_case user_id cleanup
user_id_head()
{
	atf_set descr "admins ask about a user of their company; another" \
	    "company's user is 404 like a missing one; others get 403"
}
user_id_body()
{
	local missing
	start
	tenant
	sql "SELECT max(id) + 1000 FROM users"
	missing=$SQL
	# The company admin about its plain user, and about itself.
	allowed "$TC_ADMIN" "{\"permission\": \"users:read\", \
	    \"user_id\": $C_USER}" True
	allowed "$TC_ADMIN" "{\"permission\": \"users:delete\", \
	    \"user_id\": $C_USER}" False
	allowed "$TC_ADMIN" "{\"resource\": \"users\", \"action\": \"delete\", \
	    \"user_id\": $C_ADMIN}" True
	# Another company's user, the root admin and a missing id: the same
	# 404, byte for byte.
	check 404 "$TC_ADMIN" "{\"permission\": \"users:read\", \
	    \"user_id\": $missing}"
	detail_is "User not found"
	cp http.body missing.body
	check 404 "$TC_ADMIN" "{\"permission\": \"users:read\", \
	    \"user_id\": $D_USER}"
	atf_check cmp -s http.body missing.body
	check 404 "$TC_ADMIN" "{\"permission\": \"users:read\", \
	    \"user_id\": $ADMIN_UID}"
	atf_check cmp -s http.body missing.body
	# A root admin about anyone.
	allowed "$T_ROOT" "{\"permission\": \"users:read\", \
	    \"user_id\": $D_USER}" True
	allowed "$T_ROOT" "{\"permission\": \"users:create\", \
	    \"user_id\": $D_USER}" False
	allowed "$T_ROOT" "{\"permission\": \"users:create\", \
	    \"user_id\": $C_ADMIN}" True
	check 404 "$T_ROOT" "{\"permission\": \"users:read\", \
	    \"user_id\": $missing}"
	detail_is "User not found"
	# A user who cannot act is allowed nothing: inactive, or in an
	# inactive company (even a superuser).
	sql "UPDATE users SET is_active = false WHERE id = $C_USER"
	allowed "$TC_ADMIN" "{\"permission\": \"users:read\", \
	    \"user_id\": $C_USER}" False
	sql "UPDATE companies SET is_active = false WHERE id = $D"
	sql "UPDATE users SET is_superuser = true WHERE id = $D_USER"
	allowed "$T_ROOT" "{\"permission\": \"users:read\", \
	    \"user_id\": $D_USER}" False
	# A plain user may ask about itself only.
	mkuser cuser2 "$C"
	login "$NEW_USER" "$AUTHD_ADMIN_PASSWORD"
	allowed "$ACCESS" "{\"permission\": \"users:read\", \
	    \"user_id\": $NEW_UID}" True
	check 403 "$ACCESS" "{\"permission\": \"users:read\", \
	    \"user_id\": $C_ADMIN}"
	detail_is "The user doesn't have enough privileges"
	check 403 "$ACCESS" "{\"permission\": \"users:read\", \
	    \"user_id\": $missing}"
	detail_is "The user doesn't have enough privileges"
	# Even one holding users:read.
	check 403 "$ACCESS" "{\"permission\": \"users:read\", \
	    \"user_id\": $C_USER}"
}
user_id_cleanup()
{
	authd_cleanup
}

atf_test_case effective_at_once cleanup
effective_at_once_head()
{
	atf_set descr "a role given or taken, or a permission of a parent" \
	    "role, counts on the next check"
}
effective_at_once_body()
{
	local parent
	start
	tenant
	allowed "$TC_USER" '{"permission": "audit:read"}' False
	grant "$C_USER" audit:read
	allowed "$TC_USER" '{"permission": "audit:read"}' True
	allowed "$TC_ADMIN" "{\"permission\": \"audit:read\", \
	    \"user_id\": $C_USER}" True
	sql "DELETE FROM user_roles WHERE user_id = $C_USER
	    AND role_id = $ROLE_ID"
	allowed "$TC_USER" '{"permission": "audit:read"}' False
	# Inherited: the user's role "user" gets a parent that holds
	# sessions:read, two levels up.
	sql "WITH g AS (INSERT INTO roles (company_id, name)
	    VALUES ($C, 'grand_$(rand)') RETURNING id),
	    p AS (INSERT INTO roles (company_id, name, parent_id)
	    SELECT $C, 'parent_$(rand)', g.id FROM g RETURNING id),
	    rp AS (INSERT INTO role_permissions (role_id, permission_id,
	    company_id) SELECT g.id, perm.id, $C FROM g, permissions perm
	    WHERE perm.name = 'sessions:read' AND perm.company_id IS NULL)
	    UPDATE roles SET parent_id = (SELECT id FROM p)
	    WHERE company_id = $C AND name = 'user' RETURNING parent_id"
	parent=$SQL
	[ -n "$parent" ] || atf_fail "no parent role made"
	allowed "$TC_USER" '{"permission": "sessions:read"}' True
	allowed "$TC_USER" '{"resource": "sessions", "action": "read"}' True
	# Taking it from the grandparent takes it from the user.
	sql "DELETE FROM role_permissions WHERE role_id =
	    (SELECT parent_id FROM roles WHERE id = $parent)"
	allowed "$TC_USER" '{"permission": "sessions:read"}' False
	# Another company's user, with the same role names, never had it.
	allowed "$TD_USER" '{"permission": "sessions:read"}' False
}
effective_at_once_cleanup()
{
	authd_cleanup
}

atf_test_case validation cleanup
validation_head()
{
	atf_set descr "a body without permission, or resource and action, is" \
	    "a 422; so are bad types"
}
validation_body()
{
	start
	login_admin
	check 422 "$ACCESS" '{}'
	verr_is missing permission
	json_check http.body 'j["detail"][0]["msg"] == "Field required"'
	check 422 "$ACCESS" ''
	verr_is missing permission
	check 422 "$ACCESS" '{"permission": null}'
	verr_is missing permission
	check 422 "$ACCESS" '{"resource": "users"}'
	verr_is missing action
	check 422 "$ACCESS" '{"action": "read"}'
	verr_is missing resource
	check 422 "$ACCESS" '{"user_id": 1}'
	verr_is missing permission
	check 422 "$ACCESS" \
	    '{"permission": "users:read", "resource": "users", "action": "read"}'
	verr_is value_error ""
	check 422 "$ACCESS" '{"permission": "users:read", "action": "read"}'
	verr_is value_error ""
	check 422 "$ACCESS" '{"permission": ""}'
	verr_is string_too_short permission
	check 422 "$ACCESS" "{\"permission\": \"$(printf '%0101d' 0)\"}"
	verr_is string_too_long permission
	check 422 "$ACCESS" '{"permission": 7}'
	verr_is value_error permission
	check 422 "$ACCESS" '{"resource": "users", "action": ""}'
	verr_is string_too_short action
	check 422 "$ACCESS" '{"permission": "users:read", "user_id": "1"}'
	verr_is int_parsing user_id
	check 422 "$ACCESS" '{"permission": "users:read", "user_id": 0}'
	verr_is int_parsing user_id
	check 422 "$ACCESS" '{"permission": '
	verr_is json_invalid 0
	check 422 "$ACCESS" \
	    '{"permission": "no:such", "permission": "users:read"}'
	verr_is json_invalid 0
	# Callers only.
	http_expect 401 POST "$AUTHD_URL/api/v1/authz/check" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"permission": "users:read"}'
	detail_is "Not authenticated"
	bearer 405 "$ACCESS" GET /api/v1/authz/check
}
validation_cleanup()
{
	authd_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case permission_form
	atf_add_test_case resource_form
	atf_add_test_case user_id
	atf_add_test_case effective_at_once
	atf_add_test_case validation
}
