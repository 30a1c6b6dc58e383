/*
 * POST /api/v1/authz/check: may a user do something?  For the caller,
 * or, for a superuser, for a user of its company (a root admin: of any
 * company).  The answer follows the route checks: a superuser may do
 * everything inside its company; anyone else needs the permission among
 * its effective ones (its roles and their parent chains), read from the
 * database in this request so that a change of roles counts at once.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"

/*
 * $1 user, $2 permission or NULL, $3 resource, $4 action, $5 the
 * company the user must be in, or NULL.  No row: no such user there.
 */
#define AUTHZ_CHECK_SQL \
	"SELECT coalesce(authd_user_allowed(u.id, $2, $3, $4), false) " \
	"FROM users u WHERE u.id = $1 " \
	"AND ($5::bigint IS NULL OR u.company_id = $5)"

static const struct field api_authz_fields[] = {
	{ "permission", FIELD_STRING, 0, 1, 100 },
	{ "resource", FIELD_STRING, 0, 1, 100 },
	{ "action", FIELD_STRING, 0, 1, 50 },
	{ "user_id", FIELD_INT, 0, 0, 0 },
};

/*
 * Exactly one form: "permission", or "resource" with "action".  0 when
 * the body has one; -1 after answering 422.
 */
static int
api_authz_form(struct http_req *hr, json_t *body)
{
	int	 perm, res, act;

	perm = field_present(body, "permission");
	res = field_present(body, "resource");
	act = field_present(body, "action");
	if (perm && (res || act)) {
		http_validation(hr, json_pack("[o]", http_verr("value_error",
		    "body", NULL, "Give either permission, or resource and "
		    "action, not both")));
		return (-1);
	}
	if (perm || (res && act))
		return (0);
	if (res)
		http_missing(hr, "body", "action");
	else if (act)
		http_missing(hr, "body", "resource");
	else
		http_missing(hr, "body", "permission");
	return (-1);
}

static void
api_authz_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 404, "User not found");
		return;
	}
	http_reply(hr, 200, json_pack("{s:b}", "allowed",
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0));
}

void
api_authz_check(struct http_req *hr)
{
	json_t		*body;
	const char	*params[5];
	char		 uid[INT64_STR], cid[INT64_STR];
	int64_t		 target;
	int		 rv;

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, api_authz_fields,
	    NFIELDS(api_authz_fields)) == -1 ||
	    api_authz_form(hr, body) == -1) {
		json_decref(body);
		return;
	}
	target = field_int(body, "user_id", hr->hr_user.au_uid);
	/* Asking about someone else is an admin's question. */
	if (target != hr->hr_user.au_uid && !hr->hr_user.au_superuser) {
		json_decref(body);
		http_error(hr, 403, "The user doesn't have enough privileges");
		return;
	}
	/*
	 * The caller's own permission by name: authentication has just
	 * read its effective permissions, in this request, from the
	 * database or from the cache that every change kills; asking
	 * again would read the same rows.
	 */
	if (target == hr->hr_user.au_uid && field_present(body, "permission")) {
		http_reply(hr, 200, json_pack("{s:b}", "allowed",
		    hr->hr_user.au_superuser || auth_has_perm(&hr->hr_user,
		    field_str(body, "permission"))));
		json_decref(body);
		return;
	}
	snprintf(uid, sizeof(uid), "%" PRId64, target);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	params[0] = uid;
	params[1] = field_str(body, "permission");
	params[2] = field_str(body, "resource");
	params[3] = field_str(body, "action");
	params[4] = hr->hr_user.au_superuser && hr->hr_user.au_root ? NULL :
	    cid;
	rv = db_query(AUTHZ_CHECK_SQL, 5, params, api_authz_done, hr);
	json_decref(body);
	if (rv == -1)
		http_unavailable(hr);
}
