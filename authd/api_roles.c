/*
 * /api/v1/roles: a company's roles, their grants and their parent chain.
 *
 * Reads are plain queries filtered on the caller's company.  Every write
 * is one call of a PL/pgSQL function of sql/005_roles.sql, which checks,
 * writes and records the audit_log row in one transaction and answers
 * with a status and a JSON text; this file also holds that call path,
 * shared with api_permissions.c and api_resources.c.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"

/* $1 company, $2 with permissions, $3 limit, $4 offset. */
#define ROLES_LIST_SQL \
	"SELECT (SELECT count(*) FROM roles WHERE company_id = $1), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY id) FROM (" \
	"  SELECT r.id, CASE WHEN $2::boolean " \
	"    THEN authd_role_with_permissions_json(r) " \
	"    ELSE authd_role_json(r) END AS j " \
	"  FROM roles r WHERE r.company_id = $1 " \
	"  ORDER BY r.id LIMIT $3 OFFSET $4) x), '[]'::jsonb)::text"
/* $1 role, $2 company or NULL (root admin). */
#define ROLE_GET_SQL \
	"SELECT authd_role_with_permissions_json(r)::text FROM roles r " \
	"WHERE r.id = $1 AND ($2::bigint IS NULL OR r.company_id = $2)"

#define ROLE_CALL(fn) \
	"SELECT a_status, a_body FROM " fn "($1, $2, $3, $4, $5, $6, $7)"
#define ROLE_CREATE_SQL		ROLE_CALL("authd_role_create")
#define ROLE_UPDATE_SQL		ROLE_CALL("authd_role_update")
#define ROLE_DELETE_SQL		ROLE_CALL("authd_role_delete")
#define ROLE_PERM_ADD_SQL	ROLE_CALL("authd_role_permission_add")
#define ROLE_PERM_REMOVE_SQL	ROLE_CALL("authd_role_permission_remove")

#define ROLE_CYCLE_MSG	"Value error, a role cannot be its own ancestor"
#define ROLE_DUP_MSG \
	"The role with this name already exists in the system."
#define ROLE_DESC_MAX	1000

/* The state of a write, for its callback. */
struct api_roles_write {
	const struct api_dberr	*aw_errs;
	size_t			 aw_nerrs;
	char			 aw_detail[API_DETAIL_MAX];
};

static const struct field api_roles_create_fields[] = {
	{ "name", FIELD_STRING, 1, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, ROLE_DESC_MAX },
	{ "is_default", FIELD_BOOL, 0, 0, 0 },
	{ "parent_id", FIELD_INT, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

static const struct field api_roles_update_fields[] = {
	{ "name", FIELD_STRING, 0, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, ROLE_DESC_MAX },
	{ "is_default", FIELD_BOOL, 0, 0, 0 },
	{ "parent_id", FIELD_INT, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

/*
 * What the database may refuse.  roles_parent_fk: the parent was deleted
 * between the function's check and its insert.
 */
static const struct api_dberr api_roles_errs[] = {
	{ "roles_company_name_key", 400, NULL, ROLE_DUP_MSG },
	{ "roles_parent_fk", 404, NULL, "Parent role not found" },
	{ "roles_parent_cycle", 422, "parent_id", ROLE_CYCLE_MSG },
	{ "roles_parent_self_check", 422, "parent_id", ROLE_CYCLE_MSG },
	{ "roles_name_check", 422, "name", "Value error, invalid name" },
	{ "roles_company_id_fkey", 404, NULL, "Company not found" },
	{ "role_permissions_role_fk", 404, NULL, "Role not found" },
	{ "role_permissions_permission_id_fkey", 404, NULL,
	    "Permission not found" },
	{ "role_permissions_permission_scope", 404, NULL,
	    "Permission not found" },
};

/*
 * How the caller acts: "root" (a superuser of the root company, on every
 * company), "admin" (a superuser of another company) or "user" (someone
 * the route's permission let in, inside its own company and within what
 * it holds itself).
 */
const char *
api_roles_mode(const struct auth_user *au)
{
	if (au->au_superuser)
		return (au->au_root ? "root" : "admin");
	return ("user");
}

int
api_roles_is_root(const struct auth_user *au)
{
	return (au->au_superuser && au->au_root);
}

/*
 * The company a read of a root admin is narrowed to by ?company_id; for
 * everyone else their own, whatever the query says.  *cid is "" when a
 * root admin named none: the caller decides what that means.  -1 after
 * answering 422.
 */
int
api_roles_scope(struct http_req *hr, char *cid, size_t len)
{
	const char	*q, *errstr;
	long long	 v;

	if (!api_roles_is_root(&hr->hr_user)) {
		snprintf(cid, len, "%" PRId64, hr->hr_user.au_cid);
		return (0);
	}
	cid[0] = '\0';
	if ((q = http_query(hr, "company_id")) == NULL)
		return (0);
	v = strtonum(q, 1, INT64_MAX, &errstr);
	if (errstr != NULL) {
		http_validation(hr, json_pack("[o]", http_verr("int_parsing",
		    "query", "company_id", "Input should be a valid integer")));
		return (-1);
	}
	snprintf(cid, len, "%lld", v);
	return (0);
}

/*
 * Maps a constraint violation to its API answer.  0 when answered; -1
 * when it is not one of the list.
 */
static int
api_roles_dberr(struct http_req *hr, const struct api_roles_write *aw,
    PGresult *res)
{
	const char	*constraint, *detail;
	size_t		 i;

	if (strncmp(db_sqlstate(res), "23", 2) != 0 ||
	    (constraint = PQresultErrorField(res,
	    PG_DIAG_CONSTRAINT_NAME)) == NULL)
		return (-1);
	for (i = 0; i < aw->aw_nerrs; i++) {
		if (strcmp(aw->aw_errs[i].de_constraint, constraint) != 0)
			continue;
		detail = aw->aw_errs[i].de_detail != NULL ?
		    aw->aw_errs[i].de_detail : aw->aw_detail;
		if (aw->aw_errs[i].de_status == 422)
			http_validation(hr, json_pack("[o]", http_verr(
			    "value_error", "body", aw->aw_errs[i].de_field,
			    detail)));
		else
			http_error(hr, aw->aw_errs[i].de_status, detail);
		return (0);
	}
	/*
	 * An integrity error nobody foresaw is still the client's request
	 * meeting the data, not a fault of the server: a 409, logged so
	 * that the list above can learn it.
	 */
	log_warnx("request %s: unmapped constraint %s", hr->hr_reqid,
	    constraint);
	http_error(hr, 409, "The request conflicts with the current state");
	return (0);
}

static void
api_roles_write_done(PGresult *res, void *arg)
{
	struct http_req		*hr = arg;
	struct api_roles_write	*aw = hr->hr_ctx;
	const char		*errstr;
	long long		 status;

	if (res != NULL && !db_ok(res) && api_roles_dberr(hr, aw, res) == 0)
		return;
	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1 || PQnfields(res) != 2) {
		log_warnx("request %s: write answered %d rows", hr->hr_reqid,
		    PQntuples(res));
		http_error(hr, 500, "Internal Server Error");
		return;
	}
	status = strtonum(PQgetvalue(res, 0, 0), 200, 599, &errstr);
	if (errstr != NULL) {
		log_warnx("request %s: write status %s", hr->hr_reqid, errstr);
		http_error(hr, 500, "Internal Server Error");
		return;
	}
	if (status == 200)
		log_info("request %s: %s %s by user %" PRId64, hr->hr_reqid,
		    hr->hr_method == EVHTTP_REQ_DELETE ? "DELETE" :
		    hr->hr_method == EVHTTP_REQ_PUT ? "PUT" : "POST",
		    hr->hr_path, hr->hr_user.au_uid);
	http_reply_text(hr, (int)status, PQgetvalue(res, 0, 1));
}

/*
 * Calls a write function of sql/005_roles.sql (sql is "SELECT a_status,
 * a_body FROM fn($1, ... $7)") with the caller, the path's ids and the
 * body (NULL: none), and answers with what it returns.  errs maps the
 * constraint violations; an entry without a detail takes dupdetail.
 * Consumes body.
 */
void
api_roles_call(struct http_req *hr, const char *sql, json_t *body,
    const struct api_dberr *errs, size_t nerrs, const char *dupdetail)
{
	struct api_roles_write	*aw;
	const char		*params[7];
	char			 uid[INT64_STR], cid[INT64_STR];
	char			 id0[INT64_STR], id1[INT64_STR], *text;
	int			 r;

	if (body == NULL)
		body = json_object();
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL || (aw = calloc(1, sizeof(*aw))) == NULL) {
		free(text);
		http_unavailable(hr);
		return;
	}
	aw->aw_errs = errs;
	aw->aw_nerrs = nerrs;
	if (dupdetail != NULL &&
	    strlcpy(aw->aw_detail, dupdetail, sizeof(aw->aw_detail)) >=
	    sizeof(aw->aw_detail))
		log_debug("request %s: detail truncated", hr->hr_reqid);
	hr->hr_ctx = aw;
	hr->hr_ctx_free = free;

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	snprintf(id0, sizeof(id0), "%" PRId64, hr->hr_id[0]);
	snprintf(id1, sizeof(id1), "%" PRId64, hr->hr_id[1]);
	params[0] = uid;
	params[1] = cid;
	params[2] = api_roles_mode(&hr->hr_user);
	params[3] = hr->hr_addr[0] != '\0' ? hr->hr_addr : NULL;
	params[4] = hr->hr_nids > 0 ? id0 : NULL;
	params[5] = hr->hr_nids > 1 ? id1 : NULL;
	params[6] = text;
	r = db_query(sql, 7, params, api_roles_write_done, hr);
	free(text);
	if (r == -1)
		http_unavailable(hr);
}

/* include_permissions: pydantic's spellings of a boolean; -1 if none. */
static int
api_roles_bool(const char *s)
{
	static const char *const yes[] = { "true", "1", "yes", "on", "t", "y" };
	static const char *const no[] = { "false", "0", "no", "off", "f", "n" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return (1);
		if (strcasecmp(s, no[i]) == 0)
			return (0);
	}
	return (-1);
}

/*
 * The roles of the caller's company; a root admin may name another
 * with ?company_id.
 */
void
api_roles_list(struct http_req *hr)
{
	const char	*params[4], *q;
	char		 cid[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;
	int		 with = 1;

	if (api_roles_scope(hr, cid, sizeof(cid)) == -1)
		return;
	if (cid[0] == '\0')
		snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	if ((q = http_query(hr, "include_permissions")) != NULL &&
	    (with = api_roles_bool(q)) == -1) {
		http_validation(hr, json_pack("[o]", http_verr("bool_parsing",
		    "query", "include_permissions",
		    "Input should be a valid boolean")));
		return;
	}
	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = cid;
	params[1] = with ? "true" : "false";
	params[2] = limit;
	params[3] = skip;
	if (db_query(ROLES_LIST_SQL, 4, params, http_list_done, hr) == -1)
		http_unavailable(hr);
}

void
api_roles_get(struct http_req *hr)
{
	const char	*params[2];
	char		 id[INT64_STR], cid[INT64_STR];

	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	params[0] = id;
	params[1] = api_roles_is_root(&hr->hr_user) ? NULL : cid;
	hr->hr_notfound = "Role not found";
	if (db_query(ROLE_GET_SQL, 2, params, http_object_done, hr) == -1)
		http_unavailable(hr);
}

static void
api_roles_write(struct http_req *hr, const char *sql,
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
	api_roles_call(hr, sql, body, api_roles_errs, NFIELDS(api_roles_errs),
	    NULL);
}

void
api_roles_create(struct http_req *hr)
{
	api_roles_write(hr, ROLE_CREATE_SQL, api_roles_create_fields,
	    NFIELDS(api_roles_create_fields));
}

void
api_roles_update(struct http_req *hr)
{
	api_roles_write(hr, ROLE_UPDATE_SQL, api_roles_update_fields,
	    NFIELDS(api_roles_update_fields));
}

void
api_roles_delete(struct http_req *hr)
{
	api_roles_write(hr, ROLE_DELETE_SQL, NULL, 0);
}

void
api_roles_permission_add(struct http_req *hr)
{
	api_roles_write(hr, ROLE_PERM_ADD_SQL, NULL, 0);
}

void
api_roles_permission_remove(struct http_req *hr)
{
	api_roles_write(hr, ROLE_PERM_REMOVE_SQL, NULL, 0);
}
