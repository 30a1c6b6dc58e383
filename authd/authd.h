/*
 * authd: the structures shared by its processes and every IPC message.
 *
 * Processes: one parent, K keyholders, N workers (see authd(8)).  Each
 * child is a fresh exec of this binary with its role in argv; the parent
 * sends it its configuration, its keys and the descriptors of its peers
 * over the channel on descriptor AUTHD_PARENT_FD.
 */
#ifndef AUTHD_H
#define AUTHD_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "ipc.h"
#include "token.h"

#define AUTHD_PARENT_FD		3	/* a child's channel to the parent */
#define AUTHD_MAX_WORKERS	64
#define AUTHD_MAX_KEYHOLDERS	64
#define AUTHD_VERSION		"0.1.0"
#define PROC_KEYLOAD		(-2)	/* proc_exec() index: keyload.c */
#define KEYLOAD_TIMEOUT_MS	10000	/* each message of the key loader */

enum proc_role {
	PROC_PARENT,
	PROC_KEYHOLDER,
	PROC_WORKER,
	PROC_CONTROL	/* authctl, on the control socket */
};

/*
 * Every message of every channel.  The comment names the direction and
 * the payload (see the ipc_get_* calls of the receiver).
 */
enum imsg_type {
	IMSG_NONE,

	/* parent -> child */
	IMSG_CONFIG,		/* struct authd_config, exact size */
	IMSG_KEY,		/* token_key_serialize(); keyholder: private */
	IMSG_KEYS_DONE,		/* u32 number of keys sent */
	IMSG_KEYLOAD,		/* to keyload: u32 alg, str key directory */
	IMSG_KEYLOAD_FAIL,	/* from keyload: str what is wrong */
	IMSG_PEPPER,		/* raw bytes, keyholder only */
	IMSG_SEALKEY,		/* SEAL_KEY_LEN bytes, keyholder only */
	IMSG_PEER,		/* fd; u32 peer role, u32 peer index */
	IMSG_LISTEN,		/* fd; a listening socket, worker only */
	IMSG_CONN_TABLE,	/* fd; u32 worker index: conn.c's shared
				   table of open connections, worker only */
	IMSG_START,		/* empty: everything was sent, drop and run */
	IMSG_STATS_REQ,		/* empty */
	IMSG_LOG_VERBOSE,	/* u32 verbosity (authctl log) */

	/* child -> parent */
	IMSG_READY,		/* empty: privileges dropped, serving */
	IMSG_STATS,		/* struct proc_stats, exact size */
	IMSG_METRICS,		/* worker: struct metrics, exact size */
	IMSG_METRICS_REQ,	/* worker: empty; answered IMSG_METRICS_SUM */
	IMSG_METRICS_SUM,	/* parent: struct metrics of every process */

	/* worker -> keyholder, answered with the same ih_peerid */
	IMSG_KH_HASH_PASSWORD,	/* str password */
	IMSG_KH_VERIFY_PASSWORD,/* str password, str hash ("" = dummy) */
	IMSG_KH_SIGN_PAIR,	/* str access claims, str refresh claims
				   (JSON objects) */
	IMSG_KH_PUBLIC_KEYS,	/* empty */
	IMSG_KH_VERIFY_TOKEN,	/* str token (HS256: the secret is here) */
	/*
	 * Sealed secrets (TOTP seeds, integration secrets): AES-256-GCM
	 * with the seal key only keyholders hold.  aad names the row the
	 * secret belongs to ("totp:<user id>", "integration:<id>"), so a
	 * sealed blob moved to another row does not open.
	 */
	IMSG_KH_NEW_SECRET,	/* u32 nbytes (16..64), str aad */
	IMSG_KH_HMAC,		/* u32 n, data sealed[n], str aad,
				   u32 len, data message[len] */
	IMSG_KH_TOTP_VERIFY,	/* u32 n, data sealed[n], str aad, str code,
				   u64 last accepted step, u64 unix time */

	/* keyholder -> worker */
	IMSG_KH_HASH,		/* str hash */
	IMSG_KH_VERIFY,		/* u32 match, str new hash ("" = no rehash) */
	IMSG_KH_TOKENS,		/* str access JWS, str refresh JWS */
	IMSG_KH_JWKS,		/* str JWKS document */
	IMSG_KH_CLAIMS,		/* u32 valid, struct token_claims */
	IMSG_KH_SECRET,		/* u32 n, data secret[n] (shown once),
				   u32 m, data sealed[m] */
	IMSG_KH_MAC,		/* data HMAC-SHA256[32] */
	IMSG_KH_TOTP,		/* u32 ok, u64 accepted step */
	IMSG_KH_ERROR,		/* str reason (for the log, never a client) */

	/* authctl <-> parent, on the control socket */
	IMSG_CTL_SHOW_STATUS,	/* empty */
	IMSG_CTL_STATUS_PROC,	/* struct ctl_proc, one per process */
	IMSG_CTL_STATUS,	/* struct ctl_status */
	IMSG_CTL_RELOAD,	/* empty */
	IMSG_CTL_LOG_VERBOSE,	/* u32 verbosity */
	IMSG_CTL_OK,		/* empty */
	IMSG_CTL_FAIL,		/* str message */
	IMSG_CTL_END,		/* empty: end of a multi-part answer */

	IMSG_MAX
};

/* Counters a child reports to the parent for "authctl show status". */
struct proc_stats {
	uint64_t	 ps_requests;	/* HTTP requests or keyholder jobs */
	uint64_t	 ps_errors;
	uint32_t	 ps_queue;	/* keyholder: jobs waiting */
	uint32_t	 ps_db_up;	/* worker: 1 when PostgreSQL answers */
	uint32_t	 ps_redis_up;	/* worker: 1 when Redis answers */
	uint32_t	 ps_pad;
	uint64_t	 ps_usec;	/* keyholder: time spent on jobs */
};

struct ctl_proc {
	char		 cp_title[32];
	int32_t		 cp_pid;
	uint32_t	 cp_role;
	uint32_t	 cp_index;
	uint32_t	 cp_restarts;
	struct proc_stats cp_stats;
};

struct ctl_status {
	char		 cs_version[16];
	int64_t		 cs_started;	/* Unix time */
	uint32_t	 cs_workers;
	uint32_t	 cs_keyholders;
	uint64_t	 cs_reloads;
};

#endif /* AUTHD_H */

struct metrics;

/* A child process as the parent sees it. */
struct child {
	enum proc_role	 ch_role;
	int		 ch_index;
	pid_t		 ch_pid;		/* 0 while not running */
	struct ipc_ev	 ch_iev;		/* channel to it */
	int		 ch_ready;
	unsigned int	 ch_restarts;
	struct timespec	 ch_started;		/* monotonic */
	struct event	*ch_respawn;		/* backoff timer */
	struct proc_stats ch_stats;		/* last report */
	struct metrics	*ch_metrics;		/* worker: last report */
};

/* proc.c */
extern char		*authd_progdir;	/* where authd and its children are */
extern int		 authd_debug;
extern int		 authd_verbose;
const char	*proc_title(enum proc_role);
pid_t		 proc_exec(enum proc_role, int index, int fd);
int		 proc_program(enum proc_role, char *, size_t);
int		 proc_child_init(enum proc_role, int, char *[]);
void		 proc_drop(const struct authd_config *, enum proc_role,
		    int do_chroot, const char *const *readable);
int		 proc_read_msg(struct ipc *, struct ipc_msg *, int);
int		 proc_read_config(struct ipc *, struct authd_config *);
void		 proc_send_config(struct ipc_ev *, const struct authd_config *);

/* keyload.c */
int		 keyload_fetch(const char *dir, enum config_alg,
		    struct token_keyset *, char *err, size_t errlen);

/* keyload_serve.c */
void		 keyload_serve(void) __attribute__((noreturn));

/* parent.c */
void		 parent_main(struct authd_config *) __attribute__((noreturn));

/* control.c */
int		 control_listen(const char *path);
void		 control_init(struct event_base *, int fd);
void		 control_close(const char *path);

/* parent.c, for control.c */
int		 parent_reload(char *err, size_t errlen);
void		 parent_log_verbose(int verbose);
void		 parent_status(struct ipc_ev *, uint32_t peerid);

/*
 * Worker side.  A handler gets a struct http_req and finishes it, at once
 * or from a callback, with exactly one http_reply()/http_error() call,
 * which sends the answer and frees the request.
 */
struct evhttp_request;
struct evkeyvalq;
struct json_t;
struct pg_result;
struct redisReply;
struct ipc_msg;

enum http_who {
	WHO_ANYONE,		/* no authentication */
	WHO_USER,		/* any active user (later issues) */
	WHO_ADMIN,		/* superuser or the route's permission */
	WHO_APIKEY_OR_ADMIN	/* an integration's X-API-Key, or WHO_ADMIN */
};

#define ROUTE_NOSTORE	0x01	/* Cache-Control: no-store */
#define ROUTE_HTML	0x02	/* an HTML page, under API_DOCS_CSP */
#define ROUTE_NOINVAL	0x04	/* a POST that changes no cached caller */

struct http_req;
struct token_claims;
typedef void	(*http_handler)(struct http_req *);

struct route {
	int		 rt_method;	/* EVHTTP_REQ_* */
	const char	*rt_path;	/* segments; "{..._id}" and "{word}" */
	http_handler	 rt_handler;
	enum http_who	 rt_who;
	const char	*rt_perm;	/* permission that also grants it */
	int		 rt_flags;
};

#define HTTP_MAX_IDS	2

/* The caller of a request, once its access token has been checked. */
struct auth_user {
	int64_t		 au_uid;
	int64_t		 au_cid;
	int64_t		 au_sid;
	int		 au_superuser;
	int		 au_root;		/* of the root company */
	char		*au_perms_text;		/* JSON array of permission */
	struct json_t	*au_perms;		/* names; parsed when asked */
};

struct http_req {
	struct evhttp_request	*hr_req;
	const struct route	*hr_route;
	int			 hr_nomatch;	/* no route: 404, 405 */
	int64_t			 hr_id[HTTP_MAX_IDS];	/* {..._id}s in order */
	int			 hr_nids;
	const char		*hr_idname[HTTP_MAX_IDS];	/* in rt_path */
	int			 hr_idnamelen[HTTP_MAX_IDS];
	unsigned int		 hr_badids;	/* bit i: {id} i malformed */
	char			 hr_word[64];		/* a {word} */
	char			 hr_reqid[40];
	char			 hr_addr[64];		/* client address */
	char			 hr_peer[64];		/* connection's peer */
	const char		*hr_path;		/* without query */
	int			 hr_method;
	struct timespec		 hr_start;
	int			 hr_nostore;
	struct evkeyvalq	*hr_query;		/* parsed on demand */
	struct auth_user	 hr_user;		/* when authenticated */
	int			 hr_authed;
	const char		*hr_notfound;		/* 404 detail */
	void			*hr_ctx;		/* the handler's */
	void			 (*hr_ctx_free)(void *);
	char			*hr_ac_gens;		/* authcache.c */
	char			*hr_ac_session;
	char			*hr_ac_me;
	struct token_claims	*hr_ac_claims;	/* its token, verified */
	int64_t			 hr_inval_uid;	/* bump this user's entries */
};

/* http.c */
int		 http_init(struct event_base *, const struct authd_config *);
int		 http_listen(int fd);
void		 http_stop_listening(void);
void		 http_accepting(int);
struct evbuffer;
void		 http_error_page(struct evbuffer *, int status);
void		 http_reply(struct http_req *, int status, struct json_t *);
void		 http_reply_raw(struct http_req *, int status,
		    const char *content_type, const char *body, size_t len);
void		 http_error(struct http_req *, int status, const char *detail);
void		 http_unavailable(struct http_req *);
void		 http_run(struct http_req *);
void		 http_reply_text(struct http_req *, int status, const char *);
void		 http_set_header(struct http_req *, const char *, const char *);
const char	*http_header(struct http_req *, const char *);
const char	*http_query(struct http_req *, const char *);
int		 http_paging(struct http_req *, int64_t *skip, int64_t *limit);
struct json_t	*http_body_json(struct http_req *);
struct json_t	*http_body_fields(struct http_req *);
struct json_t	*http_verr(const char *type, const char *where,
		    const char *field, const char *msg);
void		 http_validation(struct http_req *, struct json_t *errors);
void		 http_missing(struct http_req *, const char *where,
		    const char *field);
void		 http_db_result(struct http_req *, struct pg_result *);
void		 http_list_done(struct pg_result *, void *);
void		 http_object_done(struct pg_result *, void *);
/* Text of an int64 for a query parameter. */
#define INT64_STR	24
unsigned int	 http_inflight(void);
uint64_t	 http_served(void);
uint64_t	 http_failed(void);

/* conn.c: a deadline for each request, which evhttp 2.1 lacks. */
struct evhttp;
int		 conn_init(struct event_base *, struct evhttp *, int timeout,
		    int max);
void		 conn_request(struct evhttp_request *);
#define CONN_TABLE_SIZE	(AUTHD_MAX_WORKERS * sizeof(atomic_int))
int		 conn_table_create(void);
void		 conn_table_gone(int);
int		 conn_share(int fd, int self);
void		 conn_withdraw(void);
void		 conn_free(void);

/* db.c: PostgreSQL, non-blocking, a small pool per worker. */
typedef void	(*db_cb)(struct pg_result *, void *);	/* NULL: failed */
int		 db_open(struct event_base *, const struct authd_config *);
const char *const *db_client_files(const struct authd_config *);
int		 db_query(const char *sql, int nparams,
		    const char *const *params, db_cb, void *);
int		 db_up(void);
void		 db_close(void);

/* redis.c: hiredis async on the same event loop. */
typedef void	(*redis_cb)(struct redisReply *, void *); /* NULL: failed */
int		 redis_init(struct event_base *, const struct authd_config *);
int		 redis_command(redis_cb, void *, const char *fmt, ...);
int		 redis_command_argv(redis_cb, void *, int, const char **);
int		 redis_multi(redis_cb, void *, int, const int *,
		    const char **[]);
struct redis_script {
	const char	*rs_body;
	char		 rs_sha[41];	/* hex, for EVALSHA */
};
void		 redis_script_add(struct redis_script *);
int		 redis_up(void);
void		 redis_shutdown(void);

/* khclient.c: requests to the least-loaded keyholder. */
typedef void	(*khc_cb)(struct ipc_msg *, void *);	/* NULL: failed */
void		 khc_init(struct event_base *, int queue_max);
int		 khc_add(int fd, int index);
int		 khc_request(uint32_t type, const struct ipc_builder *,
		    khc_cb, void *);
unsigned int	 khc_pending(void);

/* api_auth.c */
void		 api_auth_login(struct http_req *);
void		 api_auth_refresh(struct http_req *);
void		 api_auth_logout(struct http_req *);
void		 api_auth_introspect(struct http_req *);
void		 api_openid_configuration(struct http_req *);

/* cors.c */
void		 cors_headers(struct http_req *, struct evkeyvalq *);
void		 cors_allow(struct http_req *, unsigned int methods, char *,
		    size_t);
void		 cors_preflight(struct http_req *, unsigned int methods);

/* metrics.c */
struct metrics;
void		 metrics_request(int route, int status, long usec);
char		*metrics_text(const struct metrics *, size_t *);
int		 metrics_allowed(const char *peer);
void		 api_metrics(struct http_req *);
void		 worker_metrics_sum(struct ipc_msg *);
const struct route *http_route_at(size_t);

/* ratelimit.c */
typedef void	(*rl_login_cb)(int locked_seconds, void *);
void		 rl_init(void);
void		 rl_request(struct http_req *, void (*)(struct http_req *));

/* authcache.c: sessions and /users/me answers kept in Redis. */
#define AUTHCACHE_KEY_MAX	48
struct authcache_mget {
	char		 am_user[AUTHCACHE_KEY_MAX];
	char		 am_session[AUTHCACHE_KEY_MAX];
	char		 am_me[AUTHCACHE_KEY_MAX];
	const char	*am_argv[5];
	int		 am_argc;
};
int		 authcache_mget(struct http_req *, struct authcache_mget *);
void		 authcache_found(struct http_req *, const struct redisReply *);
int		 authcache_caller(struct http_req *,
		    const struct token_claims *);
void		 authcache_put_session(const struct http_req *, int64_t);
void		 authcache_put_me(const struct http_req *, const char *);
int		 authcache_bumps(const struct http_req *, int status);
int		 authcache_invalidate(const struct http_req *,
		    void (*)(void *), void *);
void		 authcache_clear(struct http_req *);
void		 rl_login_check(const char *account, const char *addr,
		    rl_login_cb, void *);
void		 rl_login_failed(const char *account, const char *addr);
void		 rl_login_release(const char *account);
void		 rl_login_succeeded(const char *account);
void		 rl_unlock(const char *account);
void		 rl_account_key(char *, size_t, int found, int64_t uid,
		    const char *username);

/* api_twofactor.c */
typedef void	(*tfa_login_cb)(int, void *);
void		 api_twofactor_setup(struct http_req *);
void		 api_twofactor_enable(struct http_req *);
void		 api_twofactor_disable(struct http_req *);
void		 tfa_login(int64_t uid, const char *sealed_hex,
		    uint64_t last_step, const char *code, tfa_login_cb, void *);

/* api_sessions.c */
void		 api_sessions_mine(struct http_req *);
void		 api_sessions_revoke_mine(struct http_req *);
void		 api_sessions_revoke_others(struct http_req *);
void		 api_sessions_list(struct http_req *);
void		 api_sessions_revoke(struct http_req *);

/* api_users.c */
void		 api_users_me(struct http_req *);
void		 api_users_update_me(struct http_req *);
void		 api_users_my_logins(struct http_req *);
void		 api_users_stats(struct http_req *);
void		 api_users_list(struct http_req *);
void		 api_users_create(struct http_req *);
void		 api_users_get(struct http_req *);
void		 api_users_update(struct http_req *);
void		 api_users_delete(struct http_req *);
void		 api_users_roles(struct http_req *);
void		 api_users_role_add(struct http_req *);
void		 api_users_role_remove(struct http_req *);
void		 api_users_logins(struct http_req *);

/* api_lockout.c */
void		 api_users_unlock(struct http_req *);

/* mail.c: SMTP through libcurl, asynchronous, on the worker's loop. */
enum mail_template {
	MAIL_PASSWORD_RESET,	/* username, link */
	MAIL_VERIFY_EMAIL,	/* username, link */
	MAIL_PASSWORD_CHANGED,	/* username, time, ip */
	MAIL_NEW_LOGIN		/* username, time, ip, device */
};
struct mail_var {
	const char	*mv_name;	/* "link" for ${link} */
	const char	*mv_value;
};
int		 mail_init(struct event_base *);
int		 mail_send(const char *to, const char *subject,
		    const char *body);
int		 mail_send_template(enum mail_template, const char *to,
		    const struct mail_var *, size_t nvars);
unsigned int	 mail_pending(void);

/* api_account.c: password reset and email verification by mail. */
void		 api_account_reset_request(struct http_req *);
void		 api_account_reset(struct http_req *);
void		 api_account_verify(struct http_req *);
void		 api_account_resend(struct http_req *);
/* Fire and forget: each reads the user's stored address, then mails. */
void		 account_send_verification(int64_t user_id);
void		 account_notify_password_changed(int64_t user_id,
		    const char *addr);
void		 account_notify_new_login(int64_t user_id, const char *addr,
		    const char *device);

/* api_service.c */
void		 api_root(struct http_req *);
void		 api_health_db(struct http_req *);
void		 api_health_redis(struct http_req *);
void		 api_jwks(struct http_req *);

/* api_docs.c: the OpenAPI document, /docs and /redoc. */
#define API_DOCS_CSP \
	"default-src 'none'; script-src 'self'; " \
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; " \
	"font-src 'self' data:; connect-src 'self'; worker-src blob:; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
void		 api_docs_openapi(struct http_req *);
void		 api_docs_swagger(struct http_req *);
void		 api_docs_redoc(struct http_req *);
void		 api_docs_asset(struct http_req *);

/* api_companies.c */
void		 api_companies_list(struct http_req *);
void		 api_companies_get(struct http_req *);
void		 api_companies_create(struct http_req *);
void		 api_companies_update(struct http_req *);
void		 api_companies_delete(struct http_req *);

/* api_audit.c */
void		 api_audit_list(struct http_req *);
/* The client address for an audit row's ip_address ($n::inet), or NULL. */
const char	*api_audit_addr(const struct http_req *);

/* api_authz.c */
void		 api_authz_check(struct http_req *);

/* api_roles.c: roles; also the write path of the two files below. */
#define API_DETAIL_MAX	512	/* an error detail that names a value */
/* A constraint violation and its API answer (422: at ["body", field]). */
struct api_dberr {
	const char	*de_constraint;	/* PG_DIAG_CONSTRAINT_NAME */
	int		 de_status;	/* 400, 404, 422 */
	const char	*de_field;	/* 422 only */
	const char	*de_detail;	/* NULL: the caller's dupdetail */
};
const char	*api_roles_mode(const struct auth_user *);
int		 api_roles_is_root(const struct auth_user *);
int		 api_roles_scope(struct http_req *, char *cid, size_t len);
void		 api_roles_call(struct http_req *, const char *sql,
		    struct json_t *body, const struct api_dberr *,
		    size_t nerrs, const char *dupdetail);
void		 api_roles_list(struct http_req *);
void		 api_roles_get(struct http_req *);
void		 api_roles_create(struct http_req *);
void		 api_roles_update(struct http_req *);
void		 api_roles_delete(struct http_req *);
void		 api_roles_permission_add(struct http_req *);
void		 api_roles_permission_remove(struct http_req *);

/* api_permissions.c */
void		 api_permissions_list(struct http_req *);
void		 api_permissions_get(struct http_req *);
void		 api_permissions_create(struct http_req *);
void		 api_permissions_update(struct http_req *);
void		 api_permissions_delete(struct http_req *);

/* api_resources.c */
void		 api_resources_list(struct http_req *);
void		 api_resources_get(struct http_req *);
void		 api_resources_create(struct http_req *);
void		 api_resources_update(struct http_req *);
void		 api_resources_delete(struct http_req *);

/* worker.c */
extern struct authd_config	 worker_conf;
extern struct token_keyset	 worker_keys;	/* public keys only */
const char	*worker_jwks(void);
int		 worker_parent_send(uint32_t type, uint32_t id,
		    const void *, size_t);
/* SQLSTATE of a failed result ("" if none), for the 400/404/409 mapping. */
const char	*db_sqlstate(const struct pg_result *);
/* The result is PGRES_TUPLES_OK or PGRES_COMMAND_OK. */
int		 db_ok(const struct pg_result *);

/* auth.c: bearer tokens of requests, and the tokens authd issues. */
void		 auth_request(struct http_req *);
int		 auth_has_perm(struct auth_user *, const char *);
/* Runs cb with TOKEN_OK and the claims, or TOKEN_INVALID (or -2: outage). */
typedef void	(*auth_verify_cb)(int, struct token_claims *, void *);
void		 auth_verify(const char *token, auth_verify_cb, void *);
void		 auth_new_jti(char *buf, size_t len);
int		 auth_sign_pair(int64_t uid, int64_t cid, int64_t sid,
		    const char *ajti, int64_t aexp, const char *rjti,
		    int64_t rexp, khc_cb, void *);

/* validate.c: request bodies against a table of fields. */
enum field_type {
	FIELD_STRING,
	FIELD_INT,		/* positive int64 (an id) */
	FIELD_BOOL,
	FIELD_OBJECT,
	FIELD_IDS,		/* array of positive int64 */
	FIELD_STRINGS		/* array of strings */
};

struct field {
	const char	*f_name;
	enum field_type	 f_type;
	int		 f_required;
	size_t		 f_min;		/* string length in characters */
	size_t		 f_max;		/* also the longest array */
};

int		 validate_fields(struct json_t *body, const struct field *,
		    size_t nfields, struct json_t *errors);
int		 validate_body(struct http_req *, struct json_t *body,
		    const struct field *, size_t nfields);
/* An email address as clients expect one checked; 1 when it is one. */
int		 validate_email(const char *);
const char	*field_str(struct json_t *body, const char *name);
int		 field_bool(struct json_t *body, const char *name, int def);
int64_t		 field_int(struct json_t *body, const char *name, int64_t def);
int		 field_present(struct json_t *body, const char *name);
#define NFIELDS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * api_integrations.c: integrations, their API keys (X-API-Key) and the
 * signatures made with their sealed secrets.
 */
#define INTEGRATION_KEY_LEN	46	/* "ak_" + base64url of 32 bytes */
/*
 * integration_auth: authenticates a request by its X-API-Key header.
 * Returns -1 when the request carries no X-API-Key (cb is not called, so
 * the caller may try a bearer token); otherwise 0, and cb runs exactly
 * once (maybe before the return) with ok 1 and the integration and its
 * company, ok 0 for an unknown, inactive or malformed key (answer 401
 * "Invalid or missing API key" with WWW-Authenticate: ApiKey, see
 * integration_fail()), or ok -1 on a database outage (answer 503).
 */
typedef void	(*integration_auth_cb)(struct http_req *, int64_t integration,
		    int64_t company, int ok);
int		 integration_auth(struct http_req *, integration_auth_cb);
void		 integration_fail(struct http_req *);
/* SHA-256 of a well-formed key in hex (65 bytes); -1 when malformed. */
int		 integration_key_hash(const char *key, char *hex, size_t len);
/*
 * HMAC-SHA256(secret, ts "." body) by a keyholder, for the integration's
 * sealed secret (hex, as the database gives it).  cb gets the 32-byte
 * MAC, or NULL on failure.  0 when queued; -1 when no keyholder can take
 * it; -2 when the message is too large for one IPC message.
 */
typedef void	(*integration_mac_cb)(const uint8_t *, void *);
int		 integration_hmac(int64_t integration, const char *sealed_hex,
		    const char *ts, const void *body, size_t len,
		    integration_mac_cb, void *);
void		 api_integrations_list(struct http_req *);
void		 api_integrations_get(struct http_req *);
void		 api_integrations_create(struct http_req *);
void		 api_integrations_update(struct http_req *);
void		 api_integrations_delete(struct http_req *);
void		 api_integrations_regenerate_key(struct http_req *);
void		 api_integrations_regenerate_secret(struct http_req *);

/* api_webhooks.c */
void		 api_webhooks_receive(struct http_req *);
void		 api_webhooks_events(struct http_req *);
void		 api_webhooks_deliveries(struct http_req *);

/*
 * delivery.c: outbound events, from the webhook_deliveries queue, sent
 * with libcurl on the worker's event loop.
 */
enum delivery_url {
	DELIVERY_URL_OK,
	DELIVERY_URL_SCHEME,		/* not an http or https URL */
	DELIVERY_URL_PRIVATE,		/* resolves to a refused address */
	DELIVERY_URL_UNRESOLVED		/* the host does not resolve */
};
typedef void	(*delivery_url_cb)(enum delivery_url, void *);
int		 delivery_init(struct event_base *);
void		 delivery_kick(void);
void		 delivery_enqueue(int64_t company, const char *event_type,
		    struct json_t *data);
int		 delivery_url_check(const char *url, delivery_url_cb, void *);
int		 delivery_event_known(const char *event_type);
