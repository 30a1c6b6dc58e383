/*
 * Inbound webhooks (POST /api/v1/webhooks/{type}) and the admin views of
 * an integration's received events and outbound deliveries.
 *
 * A webhook is checked in the order of the API: the key, the type, the
 * signature and its timestamp, replay, the JSON.  The signature is
 * "sha256=" and the hex HMAC-SHA256, keyed with the integration's secret,
 * of X-Timestamp, "." and the body as sent; a keyholder computes it, the
 * worker compares in constant time.  A signature is accepted once: Redis
 * (SET NX, ten minutes, longer than the five-minute window) refuses a
 * replay at once, and the unique signature_hash of webhook_events refuses
 * it for good, also while Redis is away.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"

#define WH_WINDOW		300	/* seconds either side of now */
#define WH_REPLAY_TTL		600	/* seconds a signature is kept */
#define WH_SIG_PREFIX		"sha256="
#define WH_MAC_LEN		crypto_auth_hmacsha256_BYTES
#define WH_HEX(n)		((n) * 2 + 1)
#define WH_TYPE_MAX		32

#define WH_LOOKUP_SQL \
	"SELECT i.id, i.company_id, i.integration_type, " \
	"  coalesce(i.configuration->'require_signature' = 'true'::jsonb, " \
	"  false), encode(i.api_secret_sealed, 'hex') " \
	"FROM integrations i " \
	"WHERE i.api_key_hash = decode($1, 'hex') AND i.is_active " \
	"AND EXISTS (SELECT 1 FROM companies c WHERE c.id = i.company_id " \
	"  AND c.is_active)"
/* The integration is checked again: it may have gone meanwhile. */
#define WH_STORE_SQL \
	"INSERT INTO webhook_events (integration_id, company_id, payload, " \
	"  signature_valid, signature_hash) " \
	"SELECT i.id, i.company_id, $2::jsonb, $3::boolean, " \
	"  decode($4, 'hex') FROM integrations i " \
	"WHERE i.id = $1 AND i.is_active RETURNING id"
/* $1 integration, $2 company, $3 limit, $4 offset. */
#define WH_EVENTS_SQL \
	"SELECT EXISTS (SELECT 1 FROM integrations i " \
	"  WHERE i.id = $1 AND i.company_id = $2), " \
	"(SELECT count(*) FROM webhook_events e " \
	"  WHERE e.integration_id = $1 AND e.company_id = $2), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_webhook_event_json(e) AS j, row_number() OVER " \
	"    (ORDER BY e.received_at DESC, e.id DESC) AS o " \
	"  FROM webhook_events e " \
	"  WHERE e.integration_id = $1 AND e.company_id = $2 " \
	"  ORDER BY e.received_at DESC, e.id DESC LIMIT $3 OFFSET $4) x), " \
	"'[]'::jsonb)::text"
#define WH_DELIVERIES_SQL \
	"SELECT EXISTS (SELECT 1 FROM integrations i " \
	"  WHERE i.id = $1 AND i.company_id = $2), " \
	"(SELECT count(*) FROM webhook_deliveries d " \
	"  WHERE d.integration_id = $1 AND d.company_id = $2), " \
	"coalesce((SELECT jsonb_agg(j ORDER BY o) FROM (" \
	"  SELECT authd_delivery_json(d) AS j, row_number() OVER " \
	"    (ORDER BY d.created_at DESC, d.id DESC) AS o " \
	"  FROM webhook_deliveries d " \
	"  WHERE d.integration_id = $1 AND d.company_id = $2 " \
	"  ORDER BY d.created_at DESC, d.id DESC LIMIT $3 OFFSET $4) x), " \
	"'[]'::jsonb)::text"

struct wh_ctx {
	struct http_req	*wc_hr;
	int64_t		 wc_id;
	char		 wc_idstr[INT64_STR];
	char		 wc_type[WH_TYPE_MAX + 1];
	int		 wc_require;
	char		*wc_sealed;		/* hex */
	char		*wc_body;		/* NUL-terminated copy */
	size_t		 wc_len;
	int		 wc_signed;
	uint8_t		 wc_sig[WH_MAC_LEN];
	int64_t		 wc_ts;
	char		 wc_sighash[WH_HEX(crypto_hash_sha256_BYTES)];
	char		 wc_rkey[128];		/* the Redis key of replay */
};

static void	 api_webhooks_json(struct wh_ctx *);

static void
api_webhooks_free(void *arg)
{
	struct wh_ctx	*wc = arg;

	free(wc->wc_sealed);
	if (wc->wc_body != NULL)
		sodium_memzero(wc->wc_body, wc->wc_len);
	free(wc->wc_body);
	free(wc);
}

/* The body exactly as sent: the signature covers these bytes. */
static int
api_webhooks_body(struct wh_ctx *wc)
{
	struct evbuffer	*buf;
	size_t		 len;

	buf = evhttp_request_get_input_buffer(wc->wc_hr->hr_req);
	len = evbuffer_get_length(buf);
	if ((wc->wc_body = malloc(len + 1)) == NULL)
		return (-1);
	if (evbuffer_copyout(buf, wc->wc_body, len) != (ev_ssize_t)len)
		return (-1);
	wc->wc_body[len] = '\0';
	wc->wc_len = len;
	return (0);
}

static void
api_webhooks_sigfail(struct http_req *hr, const char *detail)
{
	http_error(hr, 401, detail);
}

/*
 * "sha256=<64 hex digits>" into wc_sig, and X-Timestamp as decimal Unix
 * seconds.  -1 when either is malformed: "Invalid signature".
 */
static int
api_webhooks_parse_sig(struct wh_ctx *wc, const char *sig, const char *ts)
{
	const char	*hex, *errstr;
	size_t		 n, plen = strlen(WH_SIG_PREFIX), i;

	if (strncasecmp(sig, WH_SIG_PREFIX, plen) != 0)
		return (-1);
	hex = sig + plen;
	if (strlen(hex) != WH_MAC_LEN * 2 ||
	    sodium_hex2bin(wc->wc_sig, sizeof(wc->wc_sig), hex, strlen(hex),
	    NULL, &n, NULL) == -1 || n != WH_MAC_LEN)
		return (-1);
	if (ts == NULL || ts[0] == '\0' || strlen(ts) > 19)
		return (-1);
	for (i = 0; ts[i] != '\0'; i++)
		if (ts[i] < '0' || ts[i] > '9')
			return (-1);
	wc->wc_ts = strtonum(ts, 0, INT64_MAX, &errstr);
	return (errstr == NULL ? 0 : -1);
}

static void
api_webhooks_stored(PGresult *res, void *arg)
{
	struct wh_ctx	*wc = arg;
	struct http_req	*hr = wc->wc_hr;
	const char	*state = db_sqlstate(res), *errstr;
	int64_t		 id;

	if (!db_ok(res)) {
		if (res != NULL && strcmp(state, "23505") == 0) {
			http_error(hr, 409, "Duplicate delivery");
			return;
		}
		/* jsonb refuses what jansson took (\u0000, say). */
		if (res != NULL && strncmp(state, "22", 2) == 0) {
			http_error(hr, 400, "Invalid JSON payload");
			return;
		}
		/* Never stored: a retry must not be a replay. */
		if (wc->wc_signed)
			(void)redis_command(NULL, NULL, "DEL %s", wc->wc_rkey);
		/* The integration was deleted while this was on its way. */
		if (res != NULL && strcmp(state, "23503") == 0) {
			integration_fail(hr);
			return;
		}
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		integration_fail(hr);
		return;
	}
	id = strtonum(PQgetvalue(res, 0, 0), 1, INT64_MAX, &errstr);
	if (errstr != NULL) {
		http_error(hr, 500, "Internal Server Error");
		return;
	}
	log_info("request %s: webhook event %" PRId64 " for integration %s",
	    hr->hr_reqid, id, wc->wc_idstr);
	http_reply(hr, 200, json_pack("{s:s,s:s+,s:{s:b,s:s,s:I}}",
	    "status", "success", "message", "Webhook received for ",
	    hr->hr_word, "data", "processed", 1, "type", hr->hr_word,
	    "event_id", (json_int_t)id));
}

static int
api_webhooks_digit(int c)
{
	return (c >= '0' && c <= '9');
}

/* The length of the RFC 8259 number that s[0..len) is, or 0. */
static size_t
api_webhooks_number(const char *s, size_t len)
{
	size_t	 i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && api_webhooks_digit(s[i]))
			i++;
	else
		return (0);
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && api_webhooks_digit(s[i]); i++)
			;
		if (i == d)
			return (0);
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && api_webhooks_digit(s[i]); i++)
			;
		if (i == d)
			return (0);
	}
	return (i == len ? i : 0);
}

/*
 * jansson refuses numbers that do not fit an int64 or a double, though
 * RFC 8259 sets no limit and jsonb keeps them exactly.  It is only asked
 * whether the body is JSON, so it reads a copy in which every well-formed
 * number outside strings is "0" and blanks; a malformed one is left for
 * it to refuse.  A run of number characters is judged whole, so that no
 * part of a malformed one ("--1") becomes a number.  The body stored is
 * the one sent.
 */
static void
api_webhooks_mask_numbers(char *s, size_t len)
{
	static const char	 numchars[] = "0123456789+-.eE";
	size_t			 i = 0, run;
	int			 instr = 0;

	while (i < len) {
		if (instr) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				instr = 0;
			i++;
			continue;
		}
		if (s[i] == '"') {
			instr = 1;
			i++;
			continue;
		}
		if (s[i] != '-' && !api_webhooks_digit(s[i])) {
			i++;
			continue;
		}
		for (run = 0; i + run < len && s[i + run] != '\0' &&
		    strchr(numchars, s[i + run]) != NULL; run++)
			;
		if (run > 0 && api_webhooks_number(s + i, run) == run) {
			s[i] = '0';
			memset(s + i + 1, ' ', run - 1);
		}
		i += run;
	}
}

static void
api_webhooks_json(struct wh_ctx *wc)
{
	struct http_req	*hr = wc->wc_hr;
	json_error_t	 jerr;
	json_t		*v;
	const char	*params[4];
	char		*copy;

	if ((copy = malloc(wc->wc_len + 1)) == NULL) {
		http_unavailable(hr);
		return;
	}
	memcpy(copy, wc->wc_body, wc->wc_len + 1);
	api_webhooks_mask_numbers(copy, wc->wc_len);
	v = json_loadb(copy, wc->wc_len, JSON_DECODE_ANY, &jerr);
	sodium_memzero(copy, wc->wc_len);
	free(copy);
	if (v == NULL) {
		http_error(hr, 400, "Invalid JSON payload");
		return;
	}
	json_decref(v);
	params[0] = wc->wc_idstr;
	params[1] = wc->wc_body;
	params[2] = wc->wc_signed ? "true" : NULL;
	params[3] = wc->wc_signed ? wc->wc_sighash : NULL;
	if (db_query(WH_STORE_SQL, 4, params, api_webhooks_stored, wc) == -1)
		http_unavailable(hr);
}

static void
api_webhooks_replay_done(struct redisReply *reply, void *arg)
{
	struct wh_ctx	*wc = arg;

	if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
		http_error(wc->wc_hr, 409, "Duplicate delivery");
		return;
	}
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		log_warnx("request %s: replay check in Redis failed; the "
		    "database still refuses a replay", wc->wc_hr->hr_reqid);
	api_webhooks_json(wc);
}

static void
api_webhooks_replay(struct wh_ctx *wc)
{
	uint8_t	 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, wc->wc_sig, sizeof(wc->wc_sig));
	sodium_bin2hex(wc->wc_sighash, sizeof(wc->wc_sighash), h, sizeof(h));
	snprintf(wc->wc_rkey, sizeof(wc->wc_rkey), "authd:webhook:%s:%s",
	    wc->wc_idstr, wc->wc_sighash);
	if (redis_command(api_webhooks_replay_done, wc, "SET %s 1 NX EX %d",
	    wc->wc_rkey, WH_REPLAY_TTL) == -1)
		api_webhooks_replay_done(NULL, wc);
}

static void
api_webhooks_mac_done(const uint8_t *mac, void *arg)
{
	struct wh_ctx	*wc = arg;
	int64_t		 now = time(NULL);

	if (mac == NULL) {
		log_warnx("request %s: no HMAC from a keyholder",
		    wc->wc_hr->hr_reqid);
		http_unavailable(wc->wc_hr);
		return;
	}
	if (sodium_memcmp(mac, wc->wc_sig, WH_MAC_LEN) != 0) {
		api_webhooks_sigfail(wc->wc_hr, "Invalid signature");
		return;
	}
	if (wc->wc_ts < now - WH_WINDOW || wc->wc_ts > now + WH_WINDOW) {
		api_webhooks_sigfail(wc->wc_hr,
		    "Signature timestamp outside the allowed window");
		return;
	}
	api_webhooks_replay(wc);
}

static void
api_webhooks_signature(struct wh_ctx *wc)
{
	struct http_req	*hr = wc->wc_hr;
	const char	*sig, *ts;
	int		 r;

	if ((sig = http_header(hr, "X-Signature")) == NULL) {
		if (wc->wc_require) {
			api_webhooks_sigfail(hr, "Signature required");
			return;
		}
		api_webhooks_json(wc);
		return;
	}
	ts = http_header(hr, "X-Timestamp");
	if (api_webhooks_parse_sig(wc, sig, ts) == -1) {
		api_webhooks_sigfail(hr, "Invalid signature");
		return;
	}
	wc->wc_signed = 1;
	r = integration_hmac(wc->wc_id, wc->wc_sealed, ts, wc->wc_body,
	    wc->wc_len, api_webhooks_mac_done, wc);
	if (r == -2)
		http_error(hr, 413, "Request body too large");
	else if (r == -1)
		http_unavailable(hr);
}

static void
api_webhooks_found(PGresult *res, void *arg)
{
	struct wh_ctx	*wc = arg;
	struct http_req	*hr = wc->wc_hr;
	char		 detail[API_DETAIL_MAX];
	const char	*errstr;

	/* An outage is never taken for a missing key, nor the reverse. */
	if (!db_ok(res)) {
		http_db_result(hr, res);
		return;
	}
	if (PQntuples(res) != 1) {
		integration_fail(hr);
		return;
	}
	wc->wc_id = strtonum(PQgetvalue(res, 0, 0), 1, INT64_MAX, &errstr);
	if (errstr != NULL || strlcpy(wc->wc_idstr, PQgetvalue(res, 0, 0),
	    sizeof(wc->wc_idstr)) >= sizeof(wc->wc_idstr) ||
	    strlcpy(wc->wc_type, PQgetvalue(res, 0, 2),
	    sizeof(wc->wc_type)) >= sizeof(wc->wc_type) ||
	    (wc->wc_sealed = strdup(PQgetvalue(res, 0, 4))) == NULL) {
		http_error(hr, 500, "Internal Server Error");
		return;
	}
	wc->wc_require = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	if (strcmp(wc->wc_type, hr->hr_word) != 0) {
		snprintf(detail, sizeof(detail),
		    "This endpoint is for %s integrations only", hr->hr_word);
		http_error(hr, 400, detail);
		return;
	}
	api_webhooks_signature(wc);
}

void
api_webhooks_receive(struct http_req *hr)
{
	struct wh_ctx	*wc;
	const char	*key, *params[1];
	char		 hex[WH_HEX(crypto_hash_sha256_BYTES)];

	key = http_header(hr, "X-API-Key");
	if (integration_key_hash(key, hex, sizeof(hex)) == -1) {
		integration_fail(hr);
		return;
	}
	if ((wc = calloc(1, sizeof(*wc))) == NULL) {
		http_unavailable(hr);
		return;
	}
	wc->wc_hr = hr;
	hr->hr_ctx = wc;
	hr->hr_ctx_free = api_webhooks_free;
	if (api_webhooks_body(wc) == -1) {
		http_unavailable(hr);
		return;
	}
	params[0] = hex;
	if (db_query(WH_LOOKUP_SQL, 1, params, api_webhooks_found, wc) == -1)
		http_unavailable(hr);
}

/* --- the admin views ------------------------------------------------------ */

static void
api_webhooks_list_done(PGresult *res, void *arg)
{
	struct http_req	*hr = arg;

	if (!db_ok(res) || PQntuples(res) != 1) {
		http_db_result(hr, res);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		http_error(hr, 404, "Integration not found");
		return;
	}
	http_set_header(hr, "X-Total-Count", PQgetvalue(res, 0, 1));
	http_reply_text(hr, 200, PQgetvalue(res, 0, 2));
}

static void
api_webhooks_list(struct http_req *hr, const char *sql)
{
	const char	*params[4];
	char		 id[INT64_STR], cid[INT64_STR], skip[INT64_STR],
			 limit[INT64_STR];
	int64_t		 nskip, nlimit;

	if (http_paging(hr, &nskip, &nlimit) == -1)
		return;
	snprintf(id, sizeof(id), "%" PRId64, hr->hr_id[0]);
	snprintf(cid, sizeof(cid), "%" PRId64, hr->hr_user.au_cid);
	snprintf(skip, sizeof(skip), "%" PRId64, nskip);
	snprintf(limit, sizeof(limit), "%" PRId64, nlimit);
	params[0] = id;
	params[1] = cid;
	params[2] = limit;
	params[3] = skip;
	if (db_query(sql, 4, params, api_webhooks_list_done, hr) == -1)
		http_unavailable(hr);
}

void
api_webhooks_events(struct http_req *hr)
{
	api_webhooks_list(hr, WH_EVENTS_SQL);
}

void
api_webhooks_deliveries(struct http_req *hr)
{
	api_webhooks_list(hr, WH_DELIVERIES_SQL);
}
