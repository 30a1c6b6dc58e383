/*
 * /api/v1/permissions: the global permissions (owned by the root
 * company, usable everywhere, written only by root admins) and each
 * company's own.  A name is unique among the global ones and one
 * company's together, so a company cannot shadow "users:read"; when a
 * create names none, it is "<resource type name>:<action>", the form the
 * admin routes check.  Writes go through api_roles_call().
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "authd.h"
#include "log.h"

/*
 * The rows a read sees: the global ones and those of company $1, for a
 * root admin too (it names another company with ?company_id in a list).
 * $2 limit, $3 offset.
 */
#define PERMISSIONS_WHERE \
	"(p.company_id IS NULL OR p.company_id = $1)"
#define PERMISSIONS_LIST_SQL \
	"SELECT (SELECT count(*) FROM permissions p WHERE " \
	PERMISSIONS_WHERE "), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY id) FROM (" \
	"  SELECT p.id, authd_permission_json(p) AS j FROM permissions p " \
	"  WHERE " PERMISSIONS_WHERE \
	"  ORDER BY p.id LIMIT $2 OFFSET $3) x), '[]'::jsonb)::text"
/* $1 company, $2 permission. */
#define PERMISSION_GET_SQL \
	"SELECT authd_permission_json(p)::text FROM permissions p " \
	"WHERE p.id = $2 AND " PERMISSIONS_WHERE

#define PERMISSION_CALL(fn) \
	"SELECT a_status, a_body FROM " fn "($1, $2, $3, $4, $5, $6, $7)"
#define PERMISSION_CREATE_SQL	PERMISSION_CALL("authd_permission_create")
#define PERMISSION_UPDATE_SQL	PERMISSION_CALL("authd_permission_update")
#define PERMISSION_DELETE_SQL	PERMISSION_CALL("authd_permission_delete")

#define PERMISSION_DUP_MSG \
	"The permission with this name already exists in the system."
#define PERMISSION_DESC_MAX	1000

static const struct field api_permissions_create_fields[] = {
	{ "name", FIELD_STRING, 0, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, PERMISSION_DESC_MAX },
	{ "resource_type_id", FIELD_INT, 1, 0, 0 },
	{ "action", FIELD_STRING, 1, 1, 50 },
	{ "global", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

static const struct field api_permissions_update_fields[] = {
	{ "name", FIELD_STRING, 0, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, PERMISSION_DESC_MAX },
	{ "resource_type_id", FIELD_INT, 0, 0, 0 },
	{ "action", FIELD_STRING, 0, 1, 50 },
	{ "global", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

/*
 * The three ways a name can clash (two partial unique indexes and the
 * trigger that refuses a crossing between global and company rows), and
 * a resource type deleted or out of scope meanwhile.  permissions_name_check:
 * a derived name over 100 characters.
 */
static const struct api_dberr api_permissions_errs[] = {
	{ "permissions_global_name_key", 400, NULL, PERMISSION_DUP_MSG },
	{ "permissions_company_name_key", 400, NULL, PERMISSION_DUP_MSG },
	{ "permissions_name_scope", 400, NULL, PERMISSION_DUP_MSG },
	{ "permissions_resource_type_id_fkey", 404, NULL,
	    "Resource type not found" },
	{ "permissions_resource_type_scope", 404, NULL,
	    "Resource type not found" },
	{ "permissions_name_check", 422, "name",
	    "String should have at most 100 characters" },
	{ "permissions_action_check", 422, "action",
	    "String should have at most 50 characters" },
	{ "permissions_company_id_fkey", 404, NULL, "Company not found" },
};

void
api_permissions_list(struct http_req *hr)
{
	const char	*params[3];
	char		 cid[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (api_roles_scope(hr, cid, sizeof(cid)) == -1)
		return;
	if (cid[0] == '\0')
		snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = cid;
	params[1] = limit;
	params[2] = skip;
	if (db_query(PERMISSIONS_LIST_SQL, 3, params, http_list_done,
	    hr) == -1)
		http_unavailable(hr);
}

void
api_permissions_get(struct http_req *hr)
{
	const char	*params[2];
	char		 id[INT64_STR], cid[INT64_STR];

	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	params[0] = cid;
	params[1] = id;
	hr->hr_notfound = "Permission not found";
	if (db_query(PERMISSION_GET_SQL, 2, params, http_object_done,
	    hr) == -1)
		http_unavailable(hr);
}

static void
api_permissions_write(struct http_req *hr, const char *sql,
    const struct field *fields, size_t nfields)
{
	json_t	*body = NULL;

	if (fields != NULL) {
		if ((body = http_body_json(hr)) == NULL)
			return;
		if (validate_body(hr, body, fields, nfields) == -1) {
			json_decref(body);
			return;
		}
	}
	api_roles_call(hr, sql, body, api_permissions_errs,
	    NFIELDS(api_permissions_errs), NULL);
}

void
api_permissions_create(struct http_req *hr)
{
	api_permissions_write(hr, PERMISSION_CREATE_SQL,
	    api_permissions_create_fields,
	    NFIELDS(api_permissions_create_fields));
}

void
api_permissions_update(struct http_req *hr)
{
	api_permissions_write(hr, PERMISSION_UPDATE_SQL,
	    api_permissions_update_fields,
	    NFIELDS(api_permissions_update_fields));
}

void
api_permissions_delete(struct http_req *hr)
{
	api_permissions_write(hr, PERMISSION_DELETE_SQL, NULL, 0);
}
