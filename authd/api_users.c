/*
 * /api/v1/users: the caller's own account.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "authd.h"
#include "log.h"

#define USERS_ME_SQL \
	"SELECT (authd_user_json(u) || jsonb_build_object(" \
	"  'roles', authd_user_role_names(u.id), " \
	"  'permissions', authd_user_permission_names(u.id)))::text " \
	"FROM users u WHERE u.id = $1"

void
api_users_me(struct http_req *hr)
{
	const char	*params[1];
	char		 uid[INT64_STR];

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	params[0] = uid;
	hr->hr_notfound = "User not found";
	if (db_query(USERS_ME_SQL, 1, params, http_object_done, hr) == -1)
		http_unavailable(hr);
}
