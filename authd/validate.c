/*
 * Validation of JSON request bodies, with the error entries of API.md
 * (pydantic's shapes, which the original service's clients expect).
 * A field that is absent or null is "not given" unless it is required.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "authd.h"

/* Length in characters: UTF-8 lead bytes, as clients count them. */
static size_t
validate_utf8_len(const char *s, size_t bytes)
{
	size_t	 i, n = 0;

	for (i = 0; i < bytes; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return (n);
}

static void
validate_err(json_t *errors, const char *type, const char *field,
    const char *msg)
{
	json_array_append_new(errors, http_verr(type, "body", field, msg));
}

static int
validate_string(const struct field *f, json_t *v, json_t *errors)
{
	char	 msg[80];
	size_t	 len;

	if (!json_is_string(v)) {
		validate_err(errors, "value_error", f->f_name,
		    "Input should be a valid string");
		return (-1);
	}
	len = validate_utf8_len(json_string_value(v), json_string_length(v));
	if (len < f->f_min) {
		snprintf(msg, sizeof(msg), "String should have at least %zu "
		    "character%s", f->f_min, f->f_min == 1 ? "" : "s");
		validate_err(errors, "string_too_short", f->f_name, msg);
		return (-1);
	}
	if (f->f_max > 0 && len > f->f_max) {
		snprintf(msg, sizeof(msg), "String should have at most %zu "
		    "characters", f->f_max);
		validate_err(errors, "string_too_long", f->f_name, msg);
		return (-1);
	}
	return (0);
}

static int
validate_array(const struct field *f, json_t *v, json_t *errors)
{
	size_t	 i;
	json_t	*e;

	if (!json_is_array(v) || (f->f_max > 0 &&
	    json_array_size(v) > f->f_max)) {
		validate_err(errors, "value_error", f->f_name,
		    "Input should be a valid list");
		return (-1);
	}
	json_array_foreach(v, i, e) {
		if (f->f_type == FIELD_IDS && (!json_is_integer(e) ||
		    json_integer_value(e) < 1)) {
			validate_err(errors, "int_parsing", f->f_name,
			    "Input should be a valid integer");
			return (-1);
		}
		if (f->f_type == FIELD_STRINGS && (!json_is_string(e) ||
		    json_string_length(e) == 0 ||
		    json_string_length(e) > 255)) {
			validate_err(errors, "value_error", f->f_name,
			    "Input should be a valid string");
			return (-1);
		}
	}
	return (0);
}

static int
validate_one(const struct field *f, json_t *v, json_t *errors)
{
	switch (f->f_type) {
	case FIELD_STRING:
		return (validate_string(f, v, errors));
	case FIELD_INT:
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			validate_err(errors, "int_parsing", f->f_name,
			    "Input should be a valid integer");
			return (-1);
		}
		return (0);
	case FIELD_BOOL:
		if (!json_is_boolean(v)) {
			validate_err(errors, "bool_parsing", f->f_name,
			    "Input should be a valid boolean");
			return (-1);
		}
		return (0);
	case FIELD_OBJECT:
		if (!json_is_object(v)) {
			validate_err(errors, "value_error", f->f_name,
			    "Input should be a valid dictionary");
			return (-1);
		}
		return (0);
	case FIELD_IDS:
	case FIELD_STRINGS:
		return (validate_array(f, v, errors));
	}
	return (-1);
}

/* Appends an entry to errors for each bad field; returns their number. */
int
validate_fields(json_t *body, const struct field *fields, size_t n,
    json_t *errors)
{
	json_t	*v;
	size_t	 i;
	int	 bad = 0;

	for (i = 0; i < n; i++) {
		v = json_object_get(body, fields[i].f_name);
		if (v == NULL || json_is_null(v)) {
			if (fields[i].f_required) {
				validate_err(errors, "missing",
				    fields[i].f_name, "Field required");
				bad++;
			}
			continue;
		}
		if (validate_one(&fields[i], v, errors) == -1)
			bad++;
	}
	return (bad);
}

/* 0 when the body is good; otherwise -1 after answering 422. */
int
validate_body(struct http_req *hr, json_t *body, const struct field *fields,
    size_t n)
{
	json_t	*errors = json_array();

	if (validate_fields(body, fields, n, errors) > 0) {
		http_validation(hr, errors);
		return (-1);
	}
	json_decref(errors);
	return (0);
}

/* The value of a validated string field, or NULL when not given. */
const char *
field_str(json_t *body, const char *name)
{
	return (json_string_value(json_object_get(body, name)));
}

int
field_bool(json_t *body, const char *name, int def)
{
	json_t	*v = json_object_get(body, name);

	return (json_is_boolean(v) ? json_is_true(v) : def);
}

int64_t
field_int(json_t *body, const char *name, int64_t def)
{
	json_t	*v = json_object_get(body, name);

	return (json_is_integer(v) ? json_integer_value(v) : def);
}

int
field_present(json_t *body, const char *name)
{
	json_t	*v = json_object_get(body, name);

	return (v != NULL && !json_is_null(v));
}

/*
 * An email address as clients expect one to be checked: one '@', a
 * local part and a dotted domain, no spaces, controls or characters
 * that only quoted forms allow.  Comparison is case-insensitive.
 */
int
validate_email(const char *s)
{
	const char	*at, *p;
	size_t		 local;

	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return (0);
	local = at - s;
	if (local == 0 || local > 64)
		return (0);
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f ||
		    strchr("\"(),:;<>[\\]", *p) != NULL)
			return (0);
	p = at + 1;
	if (*p == '\0' || *p == '.' || strchr(p, '.') == NULL ||
	    p[strlen(p) - 1] == '.' || strstr(p, "..") != NULL ||
	    s[0] == '.' || at[-1] == '.')
		return (0);
	return (1);
}
