/*
 * /api/v1/companies: the tenants.  Every user reads its own company;
 * only a root admin (a superuser of the root company) reads the others
 * and writes any.  The route table lets every admin in (no permission
 * names these routes) and the handlers refuse company admins, so that a
 * company admin gets the same 403 as a user without privileges, and a
 * company it does not belong to answers like a missing one.
 *
 * Each write is one statement that also records its audit entry; a
 * new company gets its default roles in the same statement, and a
 * deactivation revokes every session of the company in it.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "authd.h"
#include "log.h"

#define COMPANY_NAME_MAX	255
#define COMPANY_DESC_MAX	1000

/* $1 company or NULL (all), $2 limit, $3 skip. */
#define COMPANIES_WHERE "($1::bigint IS NULL OR c.id = $1)"
#define COMPANIES_LIST_SQL \
	"SELECT (SELECT count(*) FROM companies c WHERE " COMPANIES_WHERE \
	"), coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_company_json(c) AS j, c.id AS o " \
	"  FROM companies c WHERE " COMPANIES_WHERE \
	"  ORDER BY c.id LIMIT $2 OFFSET $3) x), '[]'::jsonb)::text"
/* $1 id, $2 the caller's company, or NULL for a root admin. */
#define COMPANY_GET_SQL \
	"SELECT authd_company_json(c)::text FROM companies c " \
	"WHERE c.id = $1 AND ($2::bigint IS NULL OR c.id = $2)"
/* $1 name, $2 description, $3 is_active, $4 actor, $5 client address. */
#define COMPANY_CREATE_SQL \
	"WITH c AS (INSERT INTO companies (name, description, is_active) " \
	"  VALUES ($1, $2, $3::boolean) RETURNING *), " \
	"r AS (SELECT authd_seed_company_roles(c.id) FROM c), " \
	"a AS (INSERT INTO audit_log (actor_user_id, company_id, action, " \
	"    object_type, object_id, detail, ip_address) " \
	"  SELECT $4, c.id, 'company.create', 'company', c.id, " \
	"    jsonb_build_object('name', c.name, 'is_active', c.is_active), " \
	"    authd_inet($5) FROM c) " \
	"SELECT authd_company_json(c)::text FROM c, r"
/*
 * $1 id, $2 name or NULL, $3 whether to set the description, $4 the
 * description, $5 is_active or NULL, $6 actor, $7 client address, $8 the
 * fields given (for the audit entry).  The root company is never
 * deactivated: that would lock every root admin out.  Answers the
 * company's is_root, and the updated object (NULL when refused); no row
 * for a missing company.
 */
#define COMPANY_UPDATE_SQL \
	"WITH t AS (SELECT id, is_root FROM companies WHERE id = $1), " \
	"c AS (UPDATE companies SET name = coalesce($2, name), " \
	"    description = CASE WHEN $3::boolean THEN $4 " \
	"      ELSE description END, " \
	"    is_active = coalesce($5::boolean, is_active) " \
	"  FROM t WHERE companies.id = t.id " \
	"  AND NOT (t.is_root AND $5::boolean IS FALSE) " \
	"  RETURNING companies.*), " \
	"s AS (SELECT authd_company_revoke_sessions(c.id) AS n FROM c " \
	"  WHERE NOT c.is_active), " \
	"a AS (INSERT INTO audit_log (actor_user_id, company_id, action, " \
	"    object_type, object_id, detail, ip_address) " \
	"  SELECT $6, c.id, 'company.update', 'company', c.id, " \
	"    jsonb_build_object('changes', $8::jsonb, " \
	"      'sessions_revoked', coalesce((SELECT n FROM s), 0)), " \
	"    authd_inet($7) FROM c) " \
	"SELECT t.is_root, (SELECT authd_company_json(c)::text FROM c), " \
	"  coalesce((SELECT n FROM s), 0) FROM t"
/* $1 id, $2 force, $3 actor, $4 client address. */
#define COMPANY_DELETE_SQL \
	"SELECT status, company::text " \
	"FROM authd_company_delete($1, $2::boolean, $3, $4)"

static const struct field api_companies_create_fields[] = {
	{ "name", FIELD_STRING, 1, 1, COMPANY_NAME_MAX },
	{ "description", FIELD_STRING, 0, 0, COMPANY_DESC_MAX },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
};

static const struct field api_companies_update_fields[] = {
	{ "name", FIELD_STRING, 0, 1, COMPANY_NAME_MAX },
	{ "description", FIELD_STRING, 0, 0, COMPANY_DESC_MAX },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
};

static int
api_companies_is_root_admin(const struct http_req *hr)
{
	return (hr->hr_user.au_superuser && hr->hr_user.au_root);
}

/* Writes are for root admins: 0 when the caller is one, else -1 (403). */
static int
api_companies_need_root_admin(struct http_req *hr)
{
	if (api_companies_is_root_admin(hr))
		return (0);
	http_error(hr, 403, "The user doesn't have enough privileges");
	return (-1);
}

/*
 * The body of a write, or NULL after answering.  is_root is never set
 * through the API (there is exactly one root company, made by authctl
 * init): a body naming it, with any value, is refused whole.
 */
static json_t *
api_companies_body(struct http_req *hr, const struct field *fields,
    size_t nfields)
{
	json_t	*body;

	if ((body = http_body_json(hr)) == NULL)
		return (NULL);
	if (json_object_get(body, "is_root") != NULL) {
		json_decref(body);
		http_error(hr, 403,
		    "Cannot change is_root through this endpoint");
		return (NULL);
	}
	if (validate_body(hr, body, fields, nfields) == -1) {
		json_decref(body);
		return (NULL);
	}
	return (body);
}

/*
 * The duplicate-name answer needs the name after the body is gone: the
 * request keeps a copy, freed with it.
 */
static int
api_companies_keep_name(struct http_req *hr, const char *name)
{
	if (name == NULL)
		return (0);
	if ((hr->hr_ctx = strdup(name)) == NULL)
		return (-1);
	hr->hr_ctx_free = free;
	return (0);
}

/* A write's failure: a duplicate name is the 400 of API.md. */
static void
api_companies_write_failed(struct http_req *hr, PGresult *res)
{
	const char	*constraint;
	char		 msg[COMPANY_NAME_MAX * 4 + 64];

	if (res != NULL && strcmp(db_sqlstate(res), "23505") == 0 &&
	    (constraint = PQresultErrorField(res,
	    PG_DIAG_CONSTRAINT_NAME)) != NULL &&
	    strcmp(constraint, "companies_name_key") == 0 &&
	    hr->hr_ctx != NULL) {
		snprintf(msg, sizeof(msg), "Company with name '%s' already "
		    "exists", (const char *)hr->hr_ctx);
		http_error(hr, 400, msg);
		return;
	}
	http_db_result(hr, res);
}

void
api_companies_list(struct http_req *hr)
{
	const char	*params[3];
	char		 cid[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = api_companies_is_root_admin(hr) ? NULL : cid;
	params[1] = limit;
	params[2] = skip;
	if (db_query(COMPANIES_LIST_SQL, 3, params, http_list_done, hr) == -1)
		http_unavailable(hr);
}

void
api_companies_get(struct http_req *hr)
{
	const char	*params[2];
	char		 id[INT64_STR], cid[INT64_STR];

	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	params[0] = id;
	params[1] = api_companies_is_root_admin(hr) ? NULL : cid;
	hr->hr_notfound = "Company not found";
	if (db_query(COMPANY_GET_SQL, 2, params, http_object_done, hr) == -1)
		http_unavailable(hr);
}

static void
api_companies_created(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res) || PQntuples(res) != 1) {
		api_companies_write_failed(hr, res);
		return;
	}
	log_info("request %s: company created by user %" PRId64,
	    hr->hr_reqid, hr->hr_user.au_uid);
	http_reply_text(hr, 200, PQgetvalue(res, 0, 0));
}

void
api_companies_create(struct http_req *hr)
{
	json_t		*body;
	const char	*params[5];
	char		 actor[INT64_STR];
	int		 rv;

	if (api_companies_need_root_admin(hr) == -1)
		return;
	if ((body = api_companies_body(hr, api_companies_create_fields,
	    NFIELDS(api_companies_create_fields))) == NULL)
		return;
	if (api_companies_keep_name(hr, field_str(body, "name")) == -1) {
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	snprintf(actor, sizeof(actor), "%" PRId64, hr->hr_user.au_uid);
	params[0] = field_str(body, "name");
	params[1] = field_str(body, "description");
	params[2] = field_bool(body, "is_active", 1) ? "true" : "false";
	params[3] = actor;
	params[4] = api_audit_addr(hr);
	/* db_query copies the parameters: the body may go at once. */
	rv = db_query(COMPANY_CREATE_SQL, 5, params, api_companies_created,
	    hr);
	json_decref(body);
	if (rv == -1)
		http_unavailable(hr);
}

static void
api_companies_updated(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res)) {
		api_companies_write_failed(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(hr, 404, "Company not found");
		return;
	}
	if (PQgetisnull(res, 0, 1)) {
		http_error(hr, 400, "Root company cannot be deactivated");
		return;
	}
	log_info("request %s: company %" PRId64 " updated by user %" PRId64
	    ", %s sessions revoked", hr->hr_reqid, hr->hr_id[0],
	    hr->hr_user.au_uid, PQgetvalue(res, 0, 2));
	http_reply_text(hr, 200, PQgetvalue(res, 0, 1));
}

/* The fields a PUT gives, as its audit entry records them. */
static char *
api_companies_changes(json_t *body)
{
	static const char *const names[] = {
		"name", "description", "is_active"
	};
	json_t	*changes, *v;
	char	*text;
	size_t	 i;

	if ((changes = json_object()) == NULL)
		return (NULL);
	for (i = 0; i < NFIELDS(names); i++) {
		if ((v = json_object_get(body, names[i])) == NULL ||
		    (json_is_null(v) && strcmp(names[i], "description") != 0))
			continue;
		if (json_object_set(changes, names[i], v) == -1) {
			json_decref(changes);
			return (NULL);
		}
	}
	text = json_dumps(changes, JSON_COMPACT);
	json_decref(changes);
	return (text);
}

void
api_companies_update(struct http_req *hr)
{
	json_t		*body;
	const char	*params[8];
	char		 id[INT64_STR], actor[INT64_STR], *changes;
	int		 rv, set_desc;

	if (api_companies_need_root_admin(hr) == -1)
		return;
	if ((body = api_companies_body(hr, api_companies_update_fields,
	    NFIELDS(api_companies_update_fields))) == NULL)
		return;
	if (api_companies_keep_name(hr, field_str(body, "name")) == -1 ||
	    (changes = api_companies_changes(body)) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return;
	}
	/* "description": null clears it; leaving it out keeps it. */
	set_desc = json_object_get(body, "description") != NULL;
	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(actor, sizeof(actor), "%" PRId64, hr->hr_user.au_uid);
	params[0] = id;
	params[1] = field_str(body, "name");
	params[2] = set_desc ? "true" : "false";
	params[3] = field_str(body, "description");
	params[4] = !field_present(body, "is_active") ? NULL :
	    field_bool(body, "is_active", 1) ? "true" : "false";
	params[5] = actor;
	params[6] = api_audit_addr(hr);
	params[7] = changes;
	rv = db_query(COMPANY_UPDATE_SQL, 8, params, api_companies_updated,
	    hr);
	free(changes);
	json_decref(body);
	if (rv == -1)
		http_unavailable(hr);
}

static void
api_companies_deleted(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;
	const char	*status;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	status = PQgetvalue(res, 0, 0);
	if (strcmp(status, "not_found") == 0)
		http_error(hr, 404, "Company not found");
	else if (strcmp(status, "root") == 0)
		http_error(hr, 400, "Root company cannot be deleted");
	else if (strcmp(status, "has_users") == 0)
		http_error(hr, 409, "Company still has users");
	else if (strcmp(status, "deleted") == 0 && !PQgetisnull(res, 0, 1)) {
		log_info("request %s: company %" PRId64 " deleted by user %"
		    PRId64, hr->hr_reqid, hr->hr_id[0], hr->hr_user.au_uid);
		http_reply_text(hr, 200, PQgetvalue(res, 0, 1));
	} else
		http_db_result(hr, res);
}

/* ?force=true|false (also 1|0); -1 after answering 422. */
static int
api_companies_force(struct http_req *hr, int *force)
{
	const char	*q = http_query(hr, "force");

	*force = 0;
	if (q == NULL || strcmp(q, "false") == 0 || strcmp(q, "0") == 0)
		return (0);
	if (strcmp(q, "true") == 0 || strcmp(q, "1") == 0) {
		*force = 1;
		return (0);
	}
	http_validation(hr, json_pack("[o]", http_verr("bool_parsing",
	    "query", "force", "Input should be a valid boolean")));
	return (-1);
}

void
api_companies_delete(struct http_req *hr)
{
	const char	*params[4];
	char		 id[INT64_STR], actor[INT64_STR];
	int		 force;

	if (api_companies_need_root_admin(hr) == -1)
		return;
	if (api_companies_force(hr, &force) == -1)
		return;
	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(actor, sizeof(actor), "%" PRId64, hr->hr_user.au_uid);
	params[0] = id;
	params[1] = force ? "true" : "false";
	params[2] = actor;
	params[3] = api_audit_addr(hr);
	if (db_query(COMPANY_DELETE_SQL, 4, params, api_companies_deleted,
	    hr) == -1)
		http_unavailable(hr);
}
