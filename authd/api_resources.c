/*
 * /api/v1/resources: resource types, the first half of a permission's
 * "<resource>:<action>".  Global ones (authctl init seeds them) belong to
 * the root company, are usable everywhere and written only by root
 * admins; the others belong to one company.  Writes go through
 * api_roles_call().
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
#define RESOURCES_WHERE \
	"(t.company_id IS NULL OR t.company_id = $1)"
#define RESOURCES_LIST_SQL \
	"SELECT (SELECT count(*) FROM resource_types t WHERE " \
	RESOURCES_WHERE "), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY id) FROM (" \
	"  SELECT t.id, authd_resource_json(t) AS j FROM resource_types t " \
	"  WHERE " RESOURCES_WHERE \
	"  ORDER BY t.id LIMIT $2 OFFSET $3) x), '[]'::jsonb)::text"
/* $1 company, $2 resource type. */
#define RESOURCE_GET_SQL \
	"SELECT authd_resource_json(t)::text FROM resource_types t " \
	"WHERE t.id = $2 AND " RESOURCES_WHERE

#define RESOURCE_CALL(fn) \
	"SELECT a_status, a_body FROM " fn "($1, $2, $3, $4, $5, $6, $7)"
#define RESOURCE_CREATE_SQL	RESOURCE_CALL("authd_resource_create")
#define RESOURCE_UPDATE_SQL	RESOURCE_CALL("authd_resource_update")
#define RESOURCE_DELETE_SQL	RESOURCE_CALL("authd_resource_delete")

#define RESOURCE_HAS_PERMS_MSG \
	"Cannot delete resource type that has associated permissions. " \
	"Please delete or reassign the permissions first."
#define RESOURCE_DESC_MAX	1000

static const struct field api_resources_create_fields[] = {
	{ "name", FIELD_STRING, 1, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, RESOURCE_DESC_MAX },
	{ "global", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

static const struct field api_resources_update_fields[] = {
	{ "name", FIELD_STRING, 0, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, RESOURCE_DESC_MAX },
	{ "global", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

/*
 * A NULL detail is the duplicate message, which names the name sent.
 * permissions_resource_type_id_fkey: a permission was created between the
 * delete function's check and its delete.
 */
static const struct api_dberr api_resources_errs[] = {
	{ "resource_types_global_name_key", 400, NULL, NULL },
	{ "resource_types_company_name_key", 400, NULL, NULL },
	{ "resource_types_name_scope", 400, NULL, NULL },
	{ "permissions_resource_type_id_fkey", 400, NULL,
	    RESOURCE_HAS_PERMS_MSG },
	{ "resource_types_name_check", 422, "name",
	    "String should have at most 100 characters" },
	{ "resource_types_company_id_fkey", 404, NULL, "Company not found" },
};

void
api_resources_list(struct http_req *hr)
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
	if (db_query(RESOURCES_LIST_SQL, 3, params, http_list_done, hr) == -1)
		http_unavailable(hr);
}

void
api_resources_get(struct http_req *hr)
{
	const char	*params[2];
	char		 id[INT64_STR], cid[INT64_STR];

	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	params[0] = cid;
	params[1] = id;
	hr->hr_notfound = "Resource type not found";
	if (db_query(RESOURCE_GET_SQL, 2, params, http_object_done, hr) == -1)
		http_unavailable(hr);
}

/*
 * Create and update: the duplicate message names the name sent (an
 * update without a name cannot clash).
 */
static void
api_resources_write(struct http_req *hr, const char *sql,
    const struct field *fields, size_t nfields)
{
	json_t		*body = NULL;
	const char	*name;
	char		 dup[API_DETAIL_MAX];

	dup[0] = '\0';
	if (fields != NULL) {
		if ((body = http_body_json(hr)) == NULL)
			return;
		if (validate_body(hr, body, fields, nfields) == -1) {
			json_decref(body);
			return;
		}
		if ((name = field_str(body, "name")) != NULL)
			snprintf(dup, sizeof(dup),
			    "Resource type with name '%s' already exists",
			    name);
	}
	api_roles_call(hr, sql, body, api_resources_errs,
	    NFIELDS(api_resources_errs), dup);
}

void
api_resources_create(struct http_req *hr)
{
	api_resources_write(hr, RESOURCE_CREATE_SQL,
	    api_resources_create_fields,
	    NFIELDS(api_resources_create_fields));
}

void
api_resources_update(struct http_req *hr)
{
	api_resources_write(hr, RESOURCE_UPDATE_SQL,
	    api_resources_update_fields,
	    NFIELDS(api_resources_update_fields));
}

void
api_resources_delete(struct http_req *hr)
{
	api_resources_write(hr, RESOURCE_DELETE_SQL, NULL, 0);
}
