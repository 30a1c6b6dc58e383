/*
 * The configuration of authd, as parsed from authd.conf(5).
 *
 * The structure is flat (no pointers) on purpose: the parent parses the
 * file and sends the whole structure to every child in one IPC message,
 * at start and on every reload, so children never read the file and can
 * live in a chroot.  Secrets are not in here, only the paths of the files
 * that hold them; the parent reads those.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_FILE		"/etc/authd.conf"
#define CONFIG_MAX_LISTEN	4
#define CONFIG_MAX_ORIGINS	16
#define CONFIG_MAX_METRICS	8
#define CONFIG_MAX_PROXIES	8
#define CONFIG_STR		256
#define CONFIG_LONGSTR		1024

enum config_alg {
	ALG_ES256,
	ALG_RS256,
	ALG_HS256
};

enum config_hash {
	HASH_ARGON2ID,
	HASH_BCRYPT
};

struct config_listen {
	char		 cl_addr[CONFIG_STR];	/* numeric address */
	uint16_t	 cl_port;
};

/* An address or network in CIDR form, for metrics and trusted proxies. */
struct config_net {
	char		 cn_str[64];	/* as written, for printing */
	int		 cn_af;		/* AF_INET or AF_INET6 */
	uint8_t		 cn_addr[16];
	int		 cn_prefix;
};

struct authd_config {
	char		 c_file[PATH_MAX];	/* the file it came from */

	/* processes */
	struct config_listen c_listen[CONFIG_MAX_LISTEN];
	int		 c_nlisten;		/* default 1: 127.0.0.1:8000 */
	int		 c_workers;		/* prefork; default 2 */
	int		 c_keyholders;		/* default: number of CPUs */
	char		 c_user[64];		/* default "_authd" */
	char		 c_chroot[PATH_MAX];	/* default "/var/empty" */
	/* default "/var/run/authd.sock" */
	char		 c_control[PATH_MAX];
	char		 c_pidfile[PATH_MAX];	/* default "" (none) */

	/* storage */
	char		 c_database[CONFIG_LONGSTR];	/* libpq conninfo */
	int		 c_db_pool;		/* a worker's; default 4 */
	char		 c_redis_path[PATH_MAX];	/* unix socket, or "" */
	char		 c_redis_host[CONFIG_STR];	/* default 127.0.0.1 */
	uint16_t	 c_redis_port;			/* default 6379 */
	int		 c_redis_db;			/* default 0 */

	/* keys and tokens */
	char		 c_keydir[PATH_MAX];	/* default "/etc/authd/keys" */
	char		 c_pepper[PATH_MAX];	/* pepper file, or "" */
	/* default "http://127.0.0.1:8000" */
	char		 c_issuer[CONFIG_STR];
	enum config_alg	 c_alg;			/* default ALG_ES256 */
	int		 c_access_ttl;		/* seconds, default 1800 */
	int		 c_refresh_ttl;		/* seconds, default 604800 */
	int		 c_refresh_grace;	/* seconds, default 10 */
	int		 c_leeway;		/* seconds, default 30 */

	/* password hashing and policy */
	enum config_hash c_hash;		/* default HASH_ARGON2ID */
	uint32_t	 c_argon2_memory;	/* KiB, default 19456 */
	uint32_t	 c_argon2_iterations;	/* default 2 */
	uint32_t	 c_argon2_parallelism;	/* default 1 */
	int		 c_bcrypt_cost;		/* default 12 */
	int		 c_pw_min;		/* default 8 */
	int		 c_pw_max;		/* default 128 */
	int		 c_pw_upper;		/* required classes, 0 or 1 */
	int		 c_pw_lower;		/* default 0 */
	int		 c_pw_digit;		/* default 1 */
	int		 c_pw_special;		/* default 1 */
	char		 c_pw_denylist[PATH_MAX];	/* default "" */

	/* limits */
	int		 c_rate_per_minute;	/* an address's; default 100 */
	int		 c_login_rate_per_minute;	/* default 20 */
	int		 c_lockout_failures;	/* per account, default 5 */
	int		 c_lockout_window;	/* seconds, default 900 */
	int		 c_lockout_time;	/* seconds, default 900 */
	int		 c_addr_failures;	/* per address, default 100 */
	size_t		 c_max_body;		/* bytes, default 65536 */
	size_t		 c_max_headers;		/* bytes, default 16384 */
	int		 c_timeout;		/* seconds; default 30 */
	int		 c_max_connections;	/* per worker, default 1024 */
	int		 c_keyholder_queue;	/* pending; default 64 */
	struct config_net c_proxies[CONFIG_MAX_PROXIES];
	int		 c_nproxies;

	/* HTTP surface */
	char		 c_origins[CONFIG_MAX_ORIGINS][CONFIG_STR];
	int		 c_norigins;
	struct config_net c_metrics[CONFIG_MAX_METRICS];
	int		 c_nmetrics;		/* default 127.0.0.1, ::1 */
	int		 c_hsts;		/* seconds, 0 = no header */
	char		 c_public_url[CONFIG_STR];	/* default: c_issuer */

	/* mail */
	/* smtp://host:port, or "" for no mail */
	char		 c_smtp_url[CONFIG_STR];
	/* default "authd@localhost" */
	char		 c_smtp_from[CONFIG_STR];
	int		 c_require_verified;	/* no login unverified */
	int		 c_access_log;		/* default 1 */
	int		 c_sandbox;		/* default 1 */

	/* outbound webhook deliveries (delivery.c); 0 = the default */
	/* loopback and private callback URLs allowed; default 0 */
	int		 c_callback_private;
	int		 c_callback_timeout;	/* seconds; default 10 */
	int		 c_callback_attempts;	/* attempts, default 8 */
	int		 c_callback_backoff;	/* first delay; default 10 s */
};

/*
 * Macros given with -D name=value before parsing.  config_parse() fills
 * *conf with the defaults, then the file.  It returns 0, or -1 after
 * printing every error as "file:line: message" to stderr (or the log).
 */
int	 config_define(const char *nameval);	/* "name=value" */
void	 config_clear_macros(void);
void	 config_defaults(struct authd_config *);
int	 config_parse(const char *file, struct authd_config *);
/*
 * The messages of the last config_parse(), one a line (as printed to
 * stderr), or "": for "authctl reload" and the log of a failed reload.
 */
const char *config_errors(void);
/* Writes the effective configuration in authd.conf syntax. */
void	 config_print(FILE *, const struct authd_config *);
/* Parses "a.b.c.d[/n]" or an IPv6 form into *net; 0 or -1. */
int	 config_net_parse(const char *, struct config_net *);
/* 1 when the address (AF_INET/AF_INET6, raw bytes) is inside net. */
int	 config_net_match(const struct config_net *, int af, const void *addr);

#endif /* CONFIG_H */
