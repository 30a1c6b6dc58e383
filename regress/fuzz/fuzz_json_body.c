/*
 * libFuzzer target: validation of JSON request bodies.  The first input
 * byte picks one of the field tables the routes use (copied from the
 * api_*.c files: login, user create, /users/me, role create, company
 * create, integration create, permission create, password reset); the
 * rest is the body, parsed as http_body_json() does
 * (JSON_REJECT_DUPLICATES) and checked by authd/validate.c's
 * validate_fields().  Password fields then go through policy_check().
 *
 * Invariants (abort): one error entry per bad field, each a well-formed
 * entry; a body that passes has every required field, every given field
 * of its type and, for strings, of a length within bounds counted here
 * independently; no string has a NUL byte; the policy's messages are
 * NUL-terminated and at most POLICY_MAX_VIOLATIONS.  LSan: every
 * reference is dropped.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authd.h"
#include "password.h"
#include "policy.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * http.c's http_verr, identical in behaviour: linking http.c would pull
 * the whole worker in.
 */
json_t *
http_verr(const char *type, const char *where, const char *field,
    const char *msg)
{
	if (field == NULL)
		return (json_pack("{s:s,s:[s],s:s}", "type", type, "loc", where,
		    "msg", msg));
	return (json_pack("{s:s,s:[s,s],s:s}", "type", type, "loc", where,
	    field, "msg", msg));
}

/* validate_body() answers with this; the harness calls validate_fields(). */
void
http_validation(struct http_req *hr, json_t *errors)
{
	(void)hr;
	json_decref(errors);
	abort();
}

/* The login form has no table in api_auth.c; these are its limits. */
static const struct field fuzz_login[] = {
	{ "username", FIELD_STRING, 1, 1, 254 },
	{ "password", FIELD_STRING, 1, 0, PASSWORD_MAX },
	{ "grant_type", FIELD_STRING, 0, 0, 64 },
	{ "totp_code", FIELD_STRING, 0, 0, 32 },
};
static const struct field fuzz_user_create[] = {
	{ "email", FIELD_STRING, 1, 3, 254 },
	{ "username", FIELD_STRING, 1, 1, 100 },
	{ "password", FIELD_STRING, 1, 0, 0 },
	{ "full_name", FIELD_STRING, 0, 0, 255 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
	{ "is_superuser", FIELD_BOOL, 0, 0, 0 },
	{ "role_ids", FIELD_IDS, 0, 0, 100 },
};
static const struct field fuzz_users_me[] = {
	{ "email", FIELD_STRING, 0, 3, 254 },
	{ "username", FIELD_STRING, 0, 1, 100 },
	{ "password", FIELD_STRING, 0, 0, 0 },
	{ "current_password", FIELD_STRING, 0, 0, PASSWORD_MAX },
	{ "full_name", FIELD_STRING, 0, 0, 255 },
};
static const struct field fuzz_role_create[] = {
	{ "name", FIELD_STRING, 1, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, 1000 },
	{ "is_default", FIELD_BOOL, 0, 0, 0 },
	{ "parent_id", FIELD_INT, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};
static const struct field fuzz_company_create[] = {
	{ "name", FIELD_STRING, 1, 1, 255 },
	{ "description", FIELD_STRING, 0, 0, 1000 },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
};
static const struct field fuzz_integration_create[] = {
	{ "name", FIELD_STRING, 1, 1, 255 },
	{ "description", FIELD_STRING, 0, 0, 1000 },
	{ "integration_type", FIELD_STRING, 1, 1, 32 },
	{ "callback_url", FIELD_STRING, 0, 1, 2048 },
	{ "configuration", FIELD_OBJECT, 0, 0, 0 },
	{ "events", FIELD_STRINGS, 0, 0, 32 },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
};
static const struct field fuzz_permission_create[] = {
	{ "name", FIELD_STRING, 0, 1, 100 },
	{ "description", FIELD_STRING, 0, 0, 1000 },
	{ "resource_type_id", FIELD_INT, 1, 0, 0 },
	{ "action", FIELD_STRING, 1, 1, 50 },
	{ "global", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};
static const struct field fuzz_reset[] = {
	{ "token", FIELD_STRING, 1, 1, 256 },
	{ "new_password", FIELD_STRING, 1, 0, PASSWORD_MAX },
	{ "email", FIELD_STRING, 0, 1, 254 },
};

static const struct {
	const struct field	*t_fields;
	size_t			 t_n;
	const char		*t_password;	/* policy-checked field */
} fuzz_tables[] = {
	{ fuzz_login, NFIELDS(fuzz_login), NULL },
	{ fuzz_user_create, NFIELDS(fuzz_user_create), "password" },
	{ fuzz_users_me, NFIELDS(fuzz_users_me), "password" },
	{ fuzz_role_create, NFIELDS(fuzz_role_create), NULL },
	{ fuzz_company_create, NFIELDS(fuzz_company_create), NULL },
	{ fuzz_integration_create, NFIELDS(fuzz_integration_create), NULL },
	{ fuzz_permission_create, NFIELDS(fuzz_permission_create), NULL },
	{ fuzz_reset, NFIELDS(fuzz_reset), "new_password" },
};

static struct authd_config	 fuzz_conf;

/* Characters of a UTF-8 string as clients count them: non-continuation. */
static size_t
fuzz_chars(const char *s, size_t bytes)
{
	size_t	 i, n = 0;

	for (i = 0; i < bytes; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return (n);
}

static void
fuzz_check_entry(json_t *e)
{
	json_t	*loc;

	if (!json_is_object(e) || !json_is_string(json_object_get(e, "type")) ||
	    !json_is_string(json_object_get(e, "msg")) ||
	    !json_is_array(loc = json_object_get(e, "loc")) ||
	    json_array_size(loc) != 2 ||
	    strcmp(json_string_value(json_array_get(loc, 0)), "body") != 0)
		abort();
}

static void
fuzz_check_valid(json_t *body, const struct field *f, size_t n)
{
	json_t	*v, *e;
	size_t	 i, k, len;

	for (i = 0; i < n; i++, f++) {
		v = json_object_get(body, f->f_name);
		if (v == NULL || json_is_null(v)) {
			if (f->f_required)
				abort();
			continue;
		}
		switch (f->f_type) {
		case FIELD_STRING:
			if (!json_is_string(v))
				abort();
			len = json_string_length(v);
			if (memchr(json_string_value(v), '\0', len) != NULL)
				abort();
			len = fuzz_chars(json_string_value(v), len);
			if (len < f->f_min || (f->f_max > 0 && len > f->f_max))
				abort();
			if (policy_utf8_len(json_string_value(v)) != len)
				abort();
			break;
		case FIELD_INT:
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				abort();
			break;
		case FIELD_BOOL:
			if (!json_is_boolean(v))
				abort();
			break;
		case FIELD_OBJECT:
			if (!json_is_object(v))
				abort();
			break;
		case FIELD_IDS:
		case FIELD_STRINGS:
			if (!json_is_array(v) ||
			    (f->f_max > 0 && json_array_size(v) > f->f_max))
				abort();
			json_array_foreach(v, k, e) {
				if (f->f_type == FIELD_IDS &&
				    (!json_is_integer(e) ||
				    json_integer_value(e) < 1))
					abort();
				if (f->f_type == FIELD_STRINGS &&
				    (!json_is_string(e) ||
				    json_string_length(e) == 0 ||
				    json_string_length(e) > 255 ||
				    memchr(json_string_value(e), '\0',
				    json_string_length(e)) != NULL))
					abort();
			}
			break;
		}
	}
}

static void
fuzz_policy(json_t *body, const char *name)
{
	struct policy_violations pv;
	const char		*pw;
	size_t			 n, i;

	if ((pw = field_str(body, name)) == NULL)
		return;
	n = policy_check(&fuzz_conf, pw, field_str(body, "username"),
	    field_str(body, "email"), &pv);
	if (n != pv.pv_count || n > POLICY_MAX_VIOLATIONS)
		abort();
	for (i = 0; i < n; i++)
		if (memchr(pv.pv_msg[i], '\0', POLICY_MSG_LEN) == NULL ||
		    pv.pv_msg[i][0] == '\0')
			abort();
	/* Too short or too long is a violation whatever else holds. */
	if ((policy_utf8_len(pw) < (size_t)fuzz_conf.c_pw_min ||
	    policy_utf8_len(pw) > (size_t)fuzz_conf.c_pw_max) && n == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 inited;
	json_t		*body, *errors;
	json_error_t	 jerr;
	size_t		 t, i;
	int		 bad;

	if (!inited) {
		config_defaults(&fuzz_conf);
		if (policy_init(&fuzz_conf) == -1)
			abort();
		inited = 1;
	}
	if (size < 1)
		return (0);
	t = data[0] % NFIELDS(fuzz_tables);
	body = json_loadb((const char *)data + 1, size - 1,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		return (0);
	if ((errors = json_array()) == NULL)
		abort();
	bad = validate_fields(body, fuzz_tables[t].t_fields,
	    fuzz_tables[t].t_n, errors);
	if (bad < 0 || (size_t)bad != json_array_size(errors) ||
	    (size_t)bad > fuzz_tables[t].t_n)
		abort();
	for (i = 0; i < json_array_size(errors); i++)
		fuzz_check_entry(json_array_get(errors, i));
	if (bad == 0 && json_is_object(body)) {
		fuzz_check_valid(body, fuzz_tables[t].t_fields,
		    fuzz_tables[t].t_n);
		if (fuzz_tables[t].t_password != NULL)
			fuzz_policy(body, fuzz_tables[t].t_password);
	}
	json_decref(errors);
	json_decref(body);
	return (0);
}
