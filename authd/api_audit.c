/*
 * /api/v1/audit: the trail of every write of the admin API, newest
 * first.  An admin (or a holder of audit:read) reads its own company's
 * entries; a root admin reads every company's, or one company's with
 * ?company_id.  The entries themselves are written by each write's own
 * statement (see sql/003_companies.sql, authd_audit()).
 */
#include <sys/types.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authd.h"
#include "log.h"

#define AUDIT_ACTION_MAX	100

/*
 * $1 company or NULL (all), $2 action or NULL, $3 object_type or NULL,
 * $4 object_id or NULL, $5 limit, $6 skip.
 */
#define AUDIT_WHERE \
	"($1::bigint IS NULL OR a.company_id = $1) " \
	"AND ($2::text IS NULL OR a.action = $2) " \
	"AND ($3::text IS NULL OR a.object_type = $3) " \
	"AND ($4::bigint IS NULL OR a.object_id = $4)"
#define AUDIT_LIST_SQL \
	"SELECT (SELECT count(*) FROM audit_log a WHERE " AUDIT_WHERE "), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_audit_json(a) AS j, " \
	"    row_number() OVER (ORDER BY a.created_at DESC, a.id DESC) AS o " \
	"  FROM audit_log a WHERE " AUDIT_WHERE \
	"  ORDER BY a.created_at DESC, a.id DESC LIMIT $5 OFFSET $6) x), " \
	"'[]'::jsonb)::text"

/*
 * The client address of a request for an audit entry's ip_address
 * parameter: NULL when unknown (write "authd_inet($n)" or "$n::inet").
 */
const char *
api_audit_addr(const struct http_req *hr)
{
	return (hr->hr_addr[0] != '\0' ? hr->hr_addr : NULL);
}

/*
 * An optional id of the query into buf ("" when absent); -1 when it is
 * malformed, with the 422 entry appended to errors.
 */
static int
api_audit_query_id(struct http_req *hr, const char *key, char *buf,
    size_t len, json_t *errors)
{
	const char	*q, *errstr;
	long long	 v;

	buf[0] = '\0';
	if ((q = http_query(hr, key)) == NULL)
		return (0);
	v = strtonum(q, 1, LLONG_MAX, &errstr);
	if (errstr != NULL) {
		json_array_append_new(errors, http_verr("int_parsing",
		    "query", key, "Input should be a valid integer"));
		return (-1);
	}
	snprintf(buf, len, "%lld", v);
	return (0);
}

/* An optional word of the query; -1 when too long (422 entry added). */
static int
api_audit_query_word(struct http_req *hr, const char *key, const char **val,
    json_t *errors)
{
	*val = http_query(hr, key);
	if (*val != NULL && (**val == '\0' ||
	    strlen(*val) > AUDIT_ACTION_MAX)) {
		json_array_append_new(errors, http_verr("value_error",
		    "query", key, "Input should be a valid string"));
		*val = NULL;
		return (-1);
	}
	return (0);
}

void
api_audit_list(struct http_req *hr)
{
	const char	*params[6], *action, *otype;
	char		 cid[INT64_STR], oid[INT64_STR];
	char		 skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;
	json_t		*errors;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	if ((errors = json_array()) == NULL) {
		http_unavailable(hr);
		return;
	}
	/* Everyone but a root admin sees its own company, whatever it asks. */
	if (hr->hr_user.au_superuser && hr->hr_user.au_root)
		api_audit_query_id(hr, "company_id", cid, sizeof(cid), errors);
	else
		snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	api_audit_query_id(hr, "object_id", oid, sizeof(oid), errors);
	api_audit_query_word(hr, "action", &action, errors);
	api_audit_query_word(hr, "object_type", &otype, errors);
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return;
	}
	json_decref(errors);
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = cid[0] != '\0' ? cid : NULL;
	params[1] = action;
	params[2] = otype;
	params[3] = oid[0] != '\0' ? oid : NULL;
	params[4] = limit;
	params[5] = skip;
	if (db_query(AUDIT_LIST_SQL, 6, params, http_list_done, hr) == -1)
		http_unavailable(hr);
}
