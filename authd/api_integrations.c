/*
 * Integrations of a company: the admin routes, the API keys partners
 * present in X-API-Key, and the HMAC-SHA256 signatures made with their
 * secrets.
 *
 * The key is "ak_" and 32 random bytes in base64url; authd keeps only
 * its SHA-256, so a key is checked with one indexed lookup and the table
 * leaks nothing usable.  The secret (32 random bytes as 64 hex digits,
 * the HMAC key as that text) is
 * made and sealed by a keyholder with the additional data
 * "integration:<id>"; only keyholders can open it, so every signature is
 * computed there.  Both are shown in full once, in the answer of create
 * or of the regenerate route.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"
#include "seal.h"

#define INTEG_KEY_PREFIX	"ak_"
#define INTEG_KEY_RAW		32
#define INTEG_SECRET_RAW	32
#define INTEG_PREFIX_LEN	8
#define INTEG_HASH_HEX		(crypto_hash_sha256_BYTES * 2 + 1)
#define INTEG_SEALED_HEX	(SEAL_MAX * 2 + 1)
#define INTEG_AAD_MAX		48
#define INTEG_DESC_MAX		1000
#define INTEG_EVENTS_MAX	32
#define INTEG_TYPE_MAX		32

#define INTEG_WHERE_KEY \
	"i.api_key_hash = decode($1, 'hex') AND i.is_active " \
	"AND EXISTS (SELECT 1 FROM companies c WHERE c.id = i.company_id " \
	"  AND c.is_active)"
#define INTEG_AUTH_SQL \
	"SELECT i.id, i.company_id FROM integrations i WHERE " INTEG_WHERE_KEY
/* $1 company, $2 limit, $3 offset. */
#define INTEG_LIST_SQL \
	"SELECT (SELECT count(*) FROM integrations i " \
	"  WHERE i.company_id = $1), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_integration_json(i) AS j, " \
	"    row_number() OVER (ORDER BY i.id) AS o " \
	"  FROM integrations i WHERE i.company_id = $1 " \
	"  ORDER BY i.id LIMIT $2 OFFSET $3) x), '[]'::jsonb)::text"
#define INTEG_GET_SQL \
	"SELECT authd_integration_json(i)::text FROM integrations i " \
	"WHERE i.id = $1 AND i.company_id = $2"
#define INTEG_EXISTS_SQL \
	"SELECT i.id FROM integrations i WHERE i.id = $1 AND i.company_id = $2"
#define INTEG_NEXT_ID_SQL	"SELECT authd_integration_next_id()"
/* $1 actor, $2 company, $3 address, $4 id, ... */
#define INTEG_CREATE_SQL \
	"SELECT authd_integration_create($1, $2, $3, $4, $5::jsonb, " \
	"decode($6, 'hex'), $7, decode($8, 'hex'))"
#define INTEG_UPDATE_SQL \
	"SELECT a_status, a_body FROM authd_integration_update($1, $2, $3, " \
	"$4, $5::jsonb)"
#define INTEG_DELETE_SQL \
	"SELECT authd_integration_delete($1, $2, $3, $4)"
#define INTEG_REGEN_SQL \
	"SELECT authd_integration_regenerate($1, $2, $3, $4, " \
	"decode($5, 'hex'), $6, decode($7, 'hex'))"

enum integ_op {
	INTEG_CREATE,
	INTEG_UPDATE,
	INTEG_REGEN_KEY,
	INTEG_REGEN_SECRET
};

/* The state of one write request; the key and secret are zeroed. */
struct integ_ctx {
	struct http_req	*ic_hr;
	enum integ_op	 ic_op;
	json_t		*ic_body;
	char		 ic_id[INT64_STR];
	char		 ic_key[INTEGRATION_KEY_LEN + 1];
	char		 ic_hash[INTEG_HASH_HEX];
	char		 ic_prefix[INTEG_PREFIX_LEN + 1];
	char		 ic_secret[INTEG_SECRET_RAW * 2 + 1];
	char		 ic_sealed[INTEG_SEALED_HEX];
};

struct integ_auth {
	struct http_req		*ia_hr;
	integration_auth_cb	 ia_cb;
};

struct integ_mac {
	integration_mac_cb	 im_cb;
	void			*im_arg;
};

static const struct field api_integrations_create_fields[] = {
	{ "name", FIELD_STRING, 1, 1, 255 },
	{ "description", FIELD_STRING, 0, 0, INTEG_DESC_MAX },
	{ "integration_type", FIELD_STRING, 1, 1, INTEG_TYPE_MAX },
	{ "callback_url", FIELD_STRING, 0, 1, 2048 },
	{ "configuration", FIELD_OBJECT, 0, 0, 0 },
	{ "events", FIELD_STRINGS, 0, 0, INTEG_EVENTS_MAX },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

static const struct field api_integrations_update_fields[] = {
	{ "name", FIELD_STRING, 0, 1, 255 },
	{ "description", FIELD_STRING, 0, 0, INTEG_DESC_MAX },
	{ "integration_type", FIELD_STRING, 0, 1, INTEG_TYPE_MAX },
	{ "callback_url", FIELD_STRING, 0, 1, 2048 },
	{ "configuration", FIELD_OBJECT, 0, 0, 0 },
	{ "events", FIELD_STRINGS, 0, 0, INTEG_EVENTS_MAX },
	{ "is_active", FIELD_BOOL, 0, 0, 0 },
	{ "company_id", FIELD_INT, 0, 0, 0 },
};

static void	 api_integrations_next_id(struct integ_ctx *);

/* --- API keys ---------------------------------------------------------- */

static int
api_integrations_b64url(int c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

int
integration_key_hash(const char *key, char *hex, size_t len)
{
	uint8_t	 h[crypto_hash_sha256_BYTES];
	size_t	 i, plen = strlen(INTEG_KEY_PREFIX);

	if (len < INTEG_HASH_HEX || key == NULL ||
	    strnlen(key, INTEGRATION_KEY_LEN + 1) != INTEGRATION_KEY_LEN ||
	    strncmp(key, INTEG_KEY_PREFIX, plen) != 0)
		return (-1);
	for (i = plen; i < INTEGRATION_KEY_LEN; i++)
		if (!api_integrations_b64url((unsigned char)key[i]))
			return (-1);
	crypto_hash_sha256(h, (const unsigned char *)key, INTEGRATION_KEY_LEN);
	sodium_bin2hex(hex, len, h, sizeof(h));
	return (0);
}

/* A new key in ic_key, with its hash and its visible prefix. */
static void
api_integrations_new_key(struct integ_ctx *ic)
{
	uint8_t	 raw[INTEG_KEY_RAW];
	size_t	 plen = strlen(INTEG_KEY_PREFIX);

	randombytes_buf(raw, sizeof(raw));
	memcpy(ic->ic_key, INTEG_KEY_PREFIX, plen);
	sodium_bin2base64(ic->ic_key + plen, sizeof(ic->ic_key) - plen, raw,
	    sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	if (integration_key_hash(ic->ic_key, ic->ic_hash,
	    sizeof(ic->ic_hash)) == -1)
		fatalx("%s: malformed new key", __func__);
	memcpy(ic->ic_prefix, ic->ic_key, INTEG_PREFIX_LEN);
	ic->ic_prefix[INTEG_PREFIX_LEN] = '\0';
}

void
integration_fail(struct http_req *hr)
{
	http_set_header(hr, "WWW-Authenticate", "ApiKey");
	http_error(hr, 401, "Invalid or missing API key");
}

static void
integration_auth_done(PGresult *res, void *arg)
{
	struct integ_auth	 ia = *(struct integ_auth *)arg;
	const char		*errstr;
	int64_t			 id, cid;

	free(arg);
	if (!db_ok(res)) {
		if (res != NULL)
			log_warnx("request %s: API key lookup: %s",
			    ia.ia_hr->hr_reqid, PQresultErrorMessage(res));
		ia.ia_cb(ia.ia_hr, 0, 0, -1);
		return;
	}
	if (PQntuples(res) != 1) {
		ia.ia_cb(ia.ia_hr, 0, 0, 0);
		return;
	}
	id = strtonum(PQgetvalue(res, 0, 0), 1, INT64_MAX, &errstr);
	if (errstr == NULL)
		cid = strtonum(PQgetvalue(res, 0, 1), 1, INT64_MAX, &errstr);
	if (errstr != NULL) {
		ia.ia_cb(ia.ia_hr, 0, 0, -1);
		return;
	}
	ia.ia_cb(ia.ia_hr, id, cid, 1);
}

/*
 * The key is looked up on every request, so a regenerated, deleted or
 * deactivated key stops working at once, on every worker and node.
 */
int
integration_auth(struct http_req *hr, integration_auth_cb cb)
{
	struct integ_auth	*ia;
	const char		*key, *params[1];
	char			 hex[INTEG_HASH_HEX];

	if ((key = http_header(hr, "X-API-Key")) == NULL)
		return (-1);
	if (integration_key_hash(key, hex, sizeof(hex)) == -1) {
		cb(hr, 0, 0, 0);
		return (0);
	}
	if ((ia = malloc(sizeof(*ia))) == NULL) {
		cb(hr, 0, 0, -1);
		return (0);
	}
	ia->ia_hr = hr;
	ia->ia_cb = cb;
	params[0] = hex;
	if (db_query(INTEG_AUTH_SQL, 1, params, integration_auth_done,
	    ia) == -1) {
		free(ia);
		cb(hr, 0, 0, -1);
	}
	return (0);
}

/* --- signatures ---------------------------------------------------------- */

static void
integration_hmac_done(struct ipc_msg *msg, void *arg)
{
	struct integ_mac	 im = *(struct integ_mac *)arg;
	uint8_t			 mac[crypto_auth_hmacsha256_BYTES];

	free(arg);
	if (msg == NULL || ipc_get_data(msg, mac, sizeof(mac)) == -1 ||
	    ipc_get_end(msg) == -1) {
		im.im_cb(NULL, im.im_arg);
		return;
	}
	im.im_cb(mac, im.im_arg);
	sodium_memzero(mac, sizeof(mac));
}

int
integration_hmac(int64_t integration, const char *sealed_hex, const char *ts,
    const void *body, size_t len, integration_mac_cb cb, void *arg)
{
	struct ipc_builder	*b;
	struct integ_mac	*im;
	uint8_t			 sealed[SEAL_MAX];
	char			 aad[INTEG_AAD_MAX];
	size_t			 n, tslen = strlen(ts), total;
	int			 rv;

	if (sodium_hex2bin(sealed, sizeof(sealed), sealed_hex,
	    strlen(sealed_hex), NULL, &n, NULL) == -1)
		return (-1);
	snprintf(aad, sizeof(aad), "integration:%" PRId64, integration);
	total = tslen + 1 + len;
	/* u32 n, sealed, aad and its NUL, u32 len, message. */
	if (len > IPC_MAX_PAYLOAD || 4 + n + strlen(aad) + 1 + 4 + total >
	    IPC_MAX_PAYLOAD)
		return (-2);
	if ((b = malloc(sizeof(*b))) == NULL)
		return (-1);
	if ((im = malloc(sizeof(*im))) == NULL) {
		free(b);
		return (-1);
	}
	im->im_cb = cb;
	im->im_arg = arg;
	ipc_builder_init(b);
	ipc_put_u32(b, n);
	ipc_put_data(b, sealed, n);
	ipc_put_str(b, aad);
	ipc_put_u32(b, total);
	ipc_put_data(b, ts, tslen);
	ipc_put_data(b, ".", 1);
	ipc_put_data(b, body, len);
	rv = khc_request(IMSG_KH_HMAC, b, integration_hmac_done, im);
	ipc_builder_clear(b);
	free(b);
	if (rv == -1)
		free(im);
	return (rv);
}

/* --- the admin routes ----------------------------------------------------- */

static void
api_integrations_ctx_free(void *arg)
{
	struct integ_ctx	*ic = arg;

	json_decref(ic->ic_body);
	sodium_memzero(ic, sizeof(*ic));
	free(ic);
}

static struct integ_ctx *
api_integrations_ctx(struct http_req *hr, enum integ_op op, json_t *body)
{
	struct integ_ctx	*ic;

	if ((ic = calloc(1, sizeof(*ic))) == NULL) {
		json_decref(body);
		http_unavailable(hr);
		return (NULL);
	}
	ic->ic_hr = hr;
	ic->ic_op = op;
	ic->ic_body = body;
	hr->hr_ctx = ic;
	hr->hr_ctx_free = api_integrations_ctx_free;
	/* The answer carries a key or a secret. */
	if (op != INTEG_UPDATE)
		hr->hr_nostore = 1;
	return (ic);
}

static void
api_integrations_cid(struct http_req *hr, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64, hr->hr_user.au_cid);
}

static void
api_integrations_id(struct http_req *hr, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64, hr->hr_id[0]);
}

void
api_integrations_list(struct http_req *hr)
{
	const char	*params[3];
	char		 cid[INT64_STR], skip[INT64_STR], limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	api_integrations_cid(hr, cid, sizeof(cid));
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = cid;
	params[1] = limit;
	params[2] = skip;
	if (db_query(INTEG_LIST_SQL, 3, params, http_list_done, hr) == -1)
		http_unavailable(hr);
}

void
api_integrations_get(struct http_req *hr)
{
	const char	*params[2];
	char		 id[INT64_STR], cid[INT64_STR];

	api_integrations_id(hr, id, sizeof(id));
	api_integrations_cid(hr, cid, sizeof(cid));
	params[0] = id;
	params[1] = cid;
	hr->hr_notfound = "Integration not found";
	if (db_query(INTEG_GET_SQL, 2, params, http_object_done, hr) == -1)
		http_unavailable(hr);
}

static int
api_integrations_type_ok(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len < 1 || len > INTEG_TYPE_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return (0);
	return (1);
}

/*
 * The checks validate_body() cannot make: the pattern of
 * integration_type, the known event names, the type of
 * configuration.require_signature.  -1 after answering 422.
 */
static int
api_integrations_check(struct http_req *hr, json_t *body)
{
	json_t		*errors = json_array(), *v, *e;
	const char	*type;
	size_t		 i;

	if ((type = field_str(body, "integration_type")) != NULL &&
	    !api_integrations_type_ok(type))
		json_array_append_new(errors, http_verr("value_error", "body",
		    "integration_type",
		    "String should match pattern '^[a-z0-9_-]{1,32}$'"));
	v = json_object_get(body, "events");
	json_array_foreach(v, i, e)
		if (!delivery_event_known(json_string_value(e))) {
			json_array_append_new(errors, http_verr("value_error",
			    "body", "events", "Unknown event type"));
			break;
		}
	v = json_object_get(json_object_get(body, "configuration"),
	    "require_signature");
	if (v != NULL && !json_is_boolean(v))
		json_array_append_new(errors, http_verr("bool_parsing", "body",
		    "configuration", "require_signature should be a valid "
		    "boolean"));
	if (json_array_size(errors) > 0) {
		http_validation(hr, errors);
		return (-1);
	}
	json_decref(errors);
	return (0);
}

static const char *
api_integrations_url_msg(enum delivery_url r)
{
	switch (r) {
	case DELIVERY_URL_SCHEME:
		return ("URL scheme should be 'http' or 'https'");
	case DELIVERY_URL_PRIVATE:
		return ("URL host resolves to a loopback or private address");
	case DELIVERY_URL_UNRESOLVED:
		return ("URL host does not resolve");
	default:
		return ("Invalid URL");
	}
}

/* Where a write goes once its callback_url is known to be acceptable. */
static void	 api_integrations_update_go(struct integ_ctx *);

static void
api_integrations_url_done(enum delivery_url r, void *arg)
{
	struct integ_ctx	*ic = arg;

	if (r != DELIVERY_URL_OK) {
		http_validation(ic->ic_hr, json_pack("[o]", http_verr(
		    "value_error", "body", "callback_url",
		    api_integrations_url_msg(r))));
		return;
	}
	if (ic->ic_op == INTEG_CREATE)
		api_integrations_next_id(ic);
	else
		api_integrations_update_go(ic);
}

/* Checks callback_url, if given, then goes on. */
static void
api_integrations_url(struct integ_ctx *ic)
{
	const char	*url = field_str(ic->ic_body, "callback_url");

	if (url == NULL) {
		api_integrations_url_done(DELIVERY_URL_OK, ic);
		return;
	}
	if (delivery_url_check(url, api_integrations_url_done, ic) == -1)
		http_unavailable(ic->ic_hr);
}

/* The Integration object of the database with the new key or secret. */
static void
api_integrations_reply_secret(struct integ_ctx *ic, const char *text)
{
	json_t	*obj;

	if ((obj = json_loads(text, 0, NULL)) == NULL ||
	    !json_is_object(obj)) {
		json_decref(obj);
		http_error(ic->ic_hr, 500, "Internal Server Error");
		return;
	}
	if (ic->ic_key[0] != '\0')
		json_object_set_new(obj, "api_key", json_string(ic->ic_key));
	if (ic->ic_secret[0] != '\0')
		json_object_set_new(obj, "api_secret",
		    json_string(ic->ic_secret));
	http_reply(ic->ic_hr, 200, obj);
}

static void
api_integrations_written(PGresult *res, void *arg)
{
	struct integ_ctx	*ic = arg;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(ic->ic_hr, res);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		http_error(ic->ic_hr, 404, "Integration not found");
		return;
	}
	log_info("request %s: integration %s: %s by user %" PRId64,
	    ic->ic_hr->hr_reqid, ic->ic_id, ic->ic_op == INTEG_CREATE ?
	    "created" : ic->ic_op == INTEG_REGEN_KEY ? "key regenerated" :
	    "secret regenerated", ic->ic_hr->hr_user.au_uid);
	api_integrations_reply_secret(ic, PQgetvalue(res, 0, 0));
}

static void
api_integrations_store(struct integ_ctx *ic)
{
	struct http_req	*hr = ic->ic_hr;
	const char	*params[8];
	char		 uid[INT64_STR], cid[INT64_STR], *body;
	int		 r;

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	api_integrations_cid(hr, cid, sizeof(cid));
	params[0] = uid;
	params[1] = cid;
	params[2] = api_audit_addr(hr);
	params[3] = ic->ic_id;
	if (ic->ic_op == INTEG_CREATE) {
		if ((body = json_dumps(ic->ic_body, JSON_COMPACT)) == NULL) {
			http_unavailable(hr);
			return;
		}
		params[4] = body;
		params[5] = ic->ic_hash;
		params[6] = ic->ic_prefix;
		params[7] = ic->ic_sealed;
		r = db_query(INTEG_CREATE_SQL, 8, params,
		    api_integrations_written, ic);
		free(body);
	} else {
		params[4] = ic->ic_op == INTEG_REGEN_KEY ? ic->ic_hash : NULL;
		params[5] = ic->ic_op == INTEG_REGEN_KEY ? ic->ic_prefix : NULL;
		params[6] = ic->ic_op == INTEG_REGEN_SECRET ? ic->ic_sealed :
		    NULL;
		r = db_query(INTEG_REGEN_SQL, 7, params,
		    api_integrations_written, ic);
	}
	if (r == -1)
		http_unavailable(hr);
}

static void
api_integrations_secret_done(struct ipc_msg *msg, void *arg)
{
	struct integ_ctx	*ic = arg;
	uint8_t			 secret[INTEG_SECRET_RAW * 2], sealed[SEAL_MAX];
	uint32_t		 n, m;

	/* The keyholder gives an integration's secret as its hex text. */
	if (msg == NULL || ipc_get_u32(msg, &n) == -1 ||
	    n != sizeof(secret) || ipc_get_data(msg, secret, n) == -1 ||
	    ipc_get_u32(msg, &m) == -1 || m > sizeof(sealed) ||
	    ipc_get_data(msg, sealed, m) == -1 || ipc_get_end(msg) == -1) {
		sodium_memzero(secret, sizeof(secret));
		log_warnx("request %s: no new secret from a keyholder",
		    ic->ic_hr->hr_reqid);
		http_unavailable(ic->ic_hr);
		return;
	}
	memcpy(ic->ic_secret, secret, sizeof(secret));
	ic->ic_secret[sizeof(secret)] = '\0';
	sodium_memzero(secret, sizeof(secret));
	sodium_bin2hex(ic->ic_sealed, sizeof(ic->ic_sealed), sealed, m);
	api_integrations_store(ic);
}

/* A new secret sealed for this integration's id by a keyholder. */
static void
api_integrations_new_secret(struct integ_ctx *ic)
{
	struct ipc_builder	*b;
	char			 aad[INTEG_AAD_MAX];
	int			 r;

	if ((b = malloc(sizeof(*b))) == NULL) {
		http_unavailable(ic->ic_hr);
		return;
	}
	snprintf(aad, sizeof(aad), "integration:%s", ic->ic_id);
	ipc_builder_init(b);
	ipc_put_u32(b, INTEG_SECRET_RAW);
	ipc_put_str(b, aad);
	r = khc_request(IMSG_KH_NEW_SECRET, b, api_integrations_secret_done,
	    ic);
	free(b);
	if (r == -1)
		http_unavailable(ic->ic_hr);
}

static void
api_integrations_id_done(PGresult *res, void *arg)
{
	struct integ_ctx	*ic = arg;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(ic->ic_hr, res);
		return;
	}
	if (strlcpy(ic->ic_id, PQgetvalue(res, 0, 0), sizeof(ic->ic_id)) >=
	    sizeof(ic->ic_id)) {
		http_error(ic->ic_hr, 500, "Internal Server Error");
		return;
	}
	api_integrations_new_key(ic);
	api_integrations_new_secret(ic);
}

static void
api_integrations_next_id(struct integ_ctx *ic)
{
	if (db_query(INTEG_NEXT_ID_SQL, 0, NULL, api_integrations_id_done,
	    ic) == -1)
		http_unavailable(ic->ic_hr);
}

/*
 * Create: check the body and callback_url, take the id, have a keyholder
 * make and seal the secret for that id, make the key, insert the row.
 */
void
api_integrations_create(struct http_req *hr)
{
	struct integ_ctx	*ic;
	json_t			*body;

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, api_integrations_create_fields,
	    NFIELDS(api_integrations_create_fields)) == -1 ||
	    api_integrations_check(hr, body) == -1) {
		json_decref(body);
		return;
	}
	/*
	 * An integration belongs to its creator's company, a root admin's
	 * too: naming another is refused, never ignored (API.md).
	 */
	if (field_int(body, "company_id", hr->hr_user.au_cid) !=
	    hr->hr_user.au_cid) {
		json_decref(body);
		http_error(hr, 403, "You can only create integrations in your "
		    "own company");
		return;
	}
	if ((ic = api_integrations_ctx(hr, INTEG_CREATE, body)) == NULL)
		return;
	api_integrations_url(ic);
}

static void
api_integrations_updated(PGresult *res, void *arg)
{
	struct integ_ctx	*ic = arg;
	const char		*errstr;
	int			 status;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(ic->ic_hr, res);
		return;
	}
	status = strtonum(PQgetvalue(res, 0, 0), 200, 499, &errstr);
	if (errstr != NULL) {
		http_error(ic->ic_hr, 500, "Internal Server Error");
		return;
	}
	http_reply_text(ic->ic_hr, status, PQgetvalue(res, 0, 1));
}

static void
api_integrations_update_go(struct integ_ctx *ic)
{
	struct http_req	*hr = ic->ic_hr;
	const char	*params[5];
	char		 uid[INT64_STR], cid[INT64_STR], id[INT64_STR], *body;
	int		 r;

	if ((body = json_dumps(ic->ic_body, JSON_COMPACT)) == NULL) {
		http_unavailable(hr);
		return;
	}
	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	api_integrations_cid(hr, cid, sizeof(cid));
	api_integrations_id(hr, id, sizeof(id));
	params[0] = uid;
	params[1] = cid;
	params[2] = api_audit_addr(hr);
	params[3] = id;
	params[4] = body;
	r = db_query(INTEG_UPDATE_SQL, 5, params, api_integrations_updated,
	    ic);
	free(body);
	if (r == -1)
		http_unavailable(hr);
}

void
api_integrations_update(struct http_req *hr)
{
	struct integ_ctx	*ic;
	json_t			*body;

	if ((body = http_body_json(hr)) == NULL)
		return;
	if (validate_body(hr, body, api_integrations_update_fields,
	    NFIELDS(api_integrations_update_fields)) == -1 ||
	    api_integrations_check(hr, body) == -1) {
		json_decref(body);
		return;
	}
	if ((ic = api_integrations_ctx(hr, INTEG_UPDATE, body)) == NULL)
		return;
	api_integrations_url(ic);
}

static void
api_integrations_deleted(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		http_error(hr, 404, "Integration not found");
		return;
	}
	log_info("request %s: integration %" PRId64 " deleted by user %"
	    PRId64, hr->hr_reqid, hr->hr_id[0], hr->hr_user.au_uid);
	http_reply_text(hr, 200, PQgetvalue(res, 0, 0));
}

void
api_integrations_delete(struct http_req *hr)
{
	const char	*params[4];
	char		 uid[INT64_STR], cid[INT64_STR], id[INT64_STR];

	snprintf(uid, sizeof(uid), "%" PRId64, hr->hr_user.au_uid);
	api_integrations_cid(hr, cid, sizeof(cid));
	api_integrations_id(hr, id, sizeof(id));
	params[0] = uid;
	params[1] = cid;
	params[2] = api_audit_addr(hr);
	params[3] = id;
	if (db_query(INTEG_DELETE_SQL, 4, params, api_integrations_deleted,
	    hr) == -1)
		http_unavailable(hr);
}

static void
api_integrations_exists(PGresult *res, void *arg)
{
	struct integ_ctx	*ic = arg;

	if (!db_ok(res)) {
		http_db_result(ic->ic_hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		http_error(ic->ic_hr, 404, "Integration not found");
		return;
	}
	if (ic->ic_op == INTEG_REGEN_KEY) {
		api_integrations_new_key(ic);
		api_integrations_store(ic);
	} else
		api_integrations_new_secret(ic);
}

/*
 * Regenerating first checks that the integration is the caller's: no
 * keyholder work for somebody else's id.  The write checks it again.
 */
static void
api_integrations_regenerate(struct http_req *hr, enum integ_op op)
{
	struct integ_ctx	*ic;
	const char		*params[2];
	char			 cid[INT64_STR];

	if ((ic = api_integrations_ctx(hr, op, NULL)) == NULL)
		return;
	api_integrations_id(hr, ic->ic_id, sizeof(ic->ic_id));
	api_integrations_cid(hr, cid, sizeof(cid));
	params[0] = ic->ic_id;
	params[1] = cid;
	if (db_query(INTEG_EXISTS_SQL, 2, params, api_integrations_exists,
	    ic) == -1)
		http_unavailable(hr);
}

void
api_integrations_regenerate_key(struct http_req *hr)
{
	api_integrations_regenerate(hr, INTEG_REGEN_KEY);
}

void
api_integrations_regenerate_secret(struct http_req *hr)
{
	api_integrations_regenerate(hr, INTEG_REGEN_SECRET);
}
