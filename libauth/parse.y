/*
 * The parser of authd.conf(5).
 *
 * The lexer is written by hand: a bare word is looked up in a sorted
 * keyword table, "-?[0-9]+" is a NUMBER, anything else a STRING.  Macros
 * ("name = value") expand where "$name" starts a token; a value that
 * looks like one word is read as if it had been written there, any other
 * value (a conninfo string with spaces, say) is one STRING, so a macro
 * never splits into several tokens.  Every error is printed as
 * "file:line: message" and parsing goes on to the end, so that one run
 * of "authd -n" shows every mistake.
 *
 * config_parse() may run many times in one process (SIGHUP reload): all
 * state lives in the file-scope variables below and is reset at the start
 * of each run; the file stack and the file's own macros are freed at its
 * end, the macros given with -D stay until config_clear_macros().
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

#define CONF_MAX_INCLUDE	16	/* nesting depth of include */
#define CONF_MAX_WORD		8192	/* longest token */
#define CONF_MAX_ERRORS		4096	/* bytes kept for config_errors() */
#define CONF_UNGET		4

/* Password character classes, as bits of a "require" line. */
#define CLASS_UPPER		0x01
#define CLASS_LOWER		0x02
#define CLASS_DIGIT		0x04
#define CLASS_SPECIAL		0x08
#define CLASS_NONE		0x10
#define CLASS_ERROR		0x20

struct conf_file {
	TAILQ_ENTRY(conf_file)	 cf_entry;
	FILE			*cf_stream;
	char			*cf_name;
	int			 cf_lineno;
	int			 cf_eof;	/* gave its fake last newline */
	int			 cf_unget[CONF_UNGET];
	int			 cf_nunget;
};
TAILQ_HEAD(conf_files, conf_file);

struct conf_sym {
	TAILQ_ENTRY(conf_sym)	 cs_entry;
	char			*cs_name;
	char			*cs_val;
	int			 cs_persist;	/* from -D: the file cannot */
};
TAILQ_HEAD(conf_syms, conf_sym);

static struct conf_files	 conf_files =
				    TAILQ_HEAD_INITIALIZER(conf_files);
static struct conf_syms		 conf_syms =
				    TAILQ_HEAD_INITIALIZER(conf_syms);
static struct conf_file		*conf_file;	/* the one being read */
static int			 conf_depth;
static struct authd_config	*conf;
static int			 conf_nerrors;
static char			 conf_errbuf[CONF_MAX_ERRORS];
static size_t			 conf_errlen;

/* The first explicit line of these replaces the built-in default. */
static int			 conf_listen_set;
static int			 conf_metrics_set;
static int			 conf_public_set;

/* What the lexer returned last, for the messages of syntax errors. */
static int			 conf_toklineno;
static int			 conf_tokfirst;	/* first token of a statement */
static int			 conf_tokword;	/* unknown bare word */
static int			 conf_tokerror;	/* ERROR: already reported */
static int			 conf_tokeof;
static int			 conf_tokidx;	/* index in the statement */
static int			 conf_macroval;	/* reading a macro's value */
static char			 conf_stmtword[64]; /* its unknown first word */
static int			 conf_atstart = 1;
static char			 conf_toktext[64];

static void	 conf_errorx(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static int	 yylex(void);
static int	 yyerror(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
int		 yyparse(void);

static int	 conf_pushfile(const char *, int);
static int	 conf_popfile(void);
static void	 conf_closeall(void);
static int	 conf_symset(const char *, const char *, int);
static const char *conf_symget(const char *);
static void	 conf_symclear(int);
static int	 conf_setstr(char *, size_t, const char *, const char *);
static int	 conf_range(const char *, long long, long long, long long);
static int	 conf_safestr(const char *, const char *, int);
static int	 conf_url(const char *, const char *, int);
static int	 conf_public(const char *);
static int	 conf_origin(const char *, char *, size_t);
static int	 conf_smtpfrom(const char *);
static void	 conf_listen(const char *, long long);
static void	 conf_net(const char *, struct config_net *, int *, int,
		    const char *);
%}

%define api.prefix {config_yy}

%union {
	long long	 number;
	char		*string;
}

%token	ATTEMPTS BACKOFF CALLBACK PRIVATE
%token	ACCESS ADDRESS ALGORITHM ARGON2ID BCRYPT BODY CHROOT CONNECTIONS
%token	CORS COST DATABASE DB DENY EMAIL FAILURES FROM GRACE HASH HEADERS
%token	HOST HSTS INCLUDE ISSUER ITERATIONS KEYHOLDER KEYHOLDERS KEYS LEEWAY
%token	LENGTH LIFETIME LIMITS LIST LISTEN LOCKOUT LOGIN MEMORY METRICS ON
%token	ORIGIN PARALLELISM PASSWORD PEPPER PIDFILE POOL PORT PREFORK PROXY
%token	PUBLIC QUEUE RATE REDIS REFRESH REQUIRE SANDBOX SMTP SOCKET TIME
%token	TIMEOUT
%token	TOKEN TRUSTED URL USER VERIFIED WINDOW LOG
%token	ERROR
%token	<string>	STRING
%token	<number>	NUMBER
%type	<string>	strval smtpfrom
%type	<number>	port classes class
%destructor { free($$); } <string>

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{ yyerrok; }
		;

include		: INCLUDE STRING		{
			conf_pushfile($2, 1);
			free($2);
		}
		;

strval		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", $1) == -1) {
				yyerror("out of memory");
				YYABORT;
			}
		}
		;

varset		: STRING '=' strval		{
			const char	*s;

			for (s = $1; *s != '\0'; s++)
				if (!isalnum((unsigned char)*s) && *s != '_')
					break;
			if (*$1 == '\0' || *s != '\0')
				yyerror("invalid macro name \"%s\"", $1);
			else if (conf_symset($1, $3, 0) == -1)
				yyerror("cannot set macro %s", $1);
			free($1);
			free($3);
		}
		;

nls		: '\n'
		| nls '\n'
		;

optnls		: /* empty */
		| nls
		;

port		: /* empty */			{ $$ = 0; }
		| PORT NUMBER			{
			if (conf_range("port", $2, 1, 65535) == -1)
				$$ = -1;
			else
				$$ = $2;
		}
		;

main		: LISTEN ON STRING port		{
			if ($4 != -1)
				conf_listen($3, $4 == 0 ? 8000 : $4);
			free($3);
		}
		| PREFORK NUMBER		{
			if (conf_range("prefork", $2, 1, 64) == 0)
				conf->c_workers = $2;
		}
		| KEYHOLDERS NUMBER		{
			if (conf_range("keyholders", $2, 1, 64) == 0)
				conf->c_keyholders = $2;
		}
		| USER strval			{
			if (*$2 == '\0')
				yyerror("user must not be empty");
			else if (conf_safestr("user", $2, 0) == 0)
				conf_setstr(conf->c_user, sizeof(conf->c_user),
				    $2, "user");
			free($2);
		}
		| CHROOT STRING			{
			if (*$2 == '\0')
				yyerror("chroot must not be empty");
			else
				conf_setstr(conf->c_chroot,
				    sizeof(conf->c_chroot), $2, "chroot");
			free($2);
		}
		| SOCKET STRING			{
			if (*$2 == '\0')
				yyerror("socket must not be empty");
			else
				conf_setstr(conf->c_control,
				    sizeof(conf->c_control), $2, "socket");
			free($2);
		}
		| PIDFILE STRING		{
			conf_setstr(conf->c_pidfile, sizeof(conf->c_pidfile),
			    $2, "pidfile");
			free($2);
		}
		| DATABASE STRING		{
			if (*$2 == '\0')
				yyerror("database must not be empty");
			else if (conf_safestr("database", $2, 1) == 0)
				conf_setstr(conf->c_database,
				    sizeof(conf->c_database), $2, "database");
			free($2);
		}
		| DATABASE POOL NUMBER		{
			if (conf_range("database pool", $3, 1, 64) == 0)
				conf->c_db_pool = $3;
		}
		| REDIS SOCKET STRING		{
			conf_setstr(conf->c_redis_path,
			    sizeof(conf->c_redis_path), $3, "redis socket");
			free($3);
		}
		| REDIS HOST STRING port	{
			if (*$3 == '\0')
				yyerror("redis host must not be empty");
			else if ($4 != -1 &&
			    conf_safestr("redis host", $3, 0) == 0 &&
			    conf_setstr(conf->c_redis_host,
			    sizeof(conf->c_redis_host), $3,
			    "redis host") == 0) {
				/* The later of socket and host wins. */
				memset(conf->c_redis_path, 0,
				    sizeof(conf->c_redis_path));
				conf->c_redis_port = $4 == 0 ? 6379 : $4;
			}
			free($3);
		}
		| REDIS DB NUMBER		{
			if (conf_range("redis db", $3, 0, 65535) == 0)
				conf->c_redis_db = $3;
		}
		| KEYS STRING			{
			if (*$2 == '\0')
				yyerror("keys must not be empty");
			else
				conf_setstr(conf->c_keydir,
				    sizeof(conf->c_keydir), $2, "keys");
			free($2);
		}
		| PEPPER STRING			{
			conf_setstr(conf->c_pepper, sizeof(conf->c_pepper),
			    $2, "pepper");
			free($2);
		}
		| TOKEN optnls '{' tokenbody tokenlast '}'
		| TOKEN optnls '{' tokenbody error '}'	{ yyerrok; }
		| PASSWORD optnls '{' pwbody pwlast '}'
		| PASSWORD optnls '{' pwbody error '}'	{ yyerrok; }
		| LIMITS optnls '{' limitbody limitlast '}'
		| LIMITS optnls '{' limitbody error '}'	{ yyerrok; }
		| TRUSTED PROXY STRING		{
			conf_net($3, conf->c_proxies, &conf->c_nproxies,
			    CONFIG_MAX_PROXIES, "trusted proxy");
			free($3);
		}
		| CORS ORIGIN STRING		{
			char	 buf[CONFIG_STR];
			int	 i;

			if (conf_origin($3, buf, sizeof(buf)) == 0) {
				for (i = 0; i < conf->c_norigins; i++)
					if (strcmp(conf->c_origins[i],
					    buf) == 0)
						break;
				if (i < conf->c_norigins)
					yyerror("duplicate cors origin %s",
					    buf);
				else if (conf->c_norigins ==
				    CONFIG_MAX_ORIGINS)
					yyerror("too many cors origins "
					    "(%d at most)", CONFIG_MAX_ORIGINS);
				else
					conf_setstr(conf->c_origins[
					    conf->c_norigins++],
					    CONFIG_STR, buf, "cors origin");
			}
			free($3);
		}
		| METRICS FROM STRING		{
			if (!conf_metrics_set) {
				conf_metrics_set = 1;
				memset(conf->c_metrics, 0,
				    sizeof(conf->c_metrics));
				conf->c_nmetrics = 0;
			}
			conf_net($3, conf->c_metrics, &conf->c_nmetrics,
			    CONFIG_MAX_METRICS, "metrics from");
			free($3);
		}
		| HSTS NUMBER			{
			if (conf_range("hsts", $2, 0, 315360000) == 0)
				conf->c_hsts = $2;
		}
		| PUBLIC URL STRING		{
			if (conf_url("public url", $3, 0) == 0 &&
			    conf_public($3) == 0)
				conf_public_set = 1;
			free($3);
		}
		| SMTP URL STRING smtpfrom	{
			if (*$3 == '\0' || conf_url("smtp url", $3, 1) == 0)
				conf_setstr(conf->c_smtp_url,
				    sizeof(conf->c_smtp_url), $3, "smtp url");
			if ($4 != NULL && conf_smtpfrom($4) == 0)
				conf_setstr(conf->c_smtp_from,
				    sizeof(conf->c_smtp_from), $4, "smtp from");
			free($3);
			free($4);
		}
		| SMTP FROM STRING		{
			if (conf_smtpfrom($3) == 0)
				conf_setstr(conf->c_smtp_from,
				    sizeof(conf->c_smtp_from), $3, "smtp from");
			free($3);
		}
		| SANDBOX STRING		{
			if (strcmp($2, "yes") == 0)
				conf->c_sandbox = 1;
			else if (strcmp($2, "no") == 0)
				conf->c_sandbox = 0;
			else
				yyerror("sandbox: yes or no, not \"%s\"", $2);
			free($2);
		}
		| ACCESS LOG STRING		{
			if (strcmp($3, "yes") == 0)
				conf->c_access_log = 1;
			else if (strcmp($3, "no") == 0)
				conf->c_access_log = 0;
			else
				yyerror("access log: yes or no, not \"%s\"",
				    $3);
			free($3);
		}
		| CALLBACK PRIVATE STRING	{
			if (strcmp($3, "yes") == 0)
				conf->c_callback_private = 1;
			else if (strcmp($3, "no") == 0)
				conf->c_callback_private = 0;
			else
				yyerror("callback private: yes or no, "
				    "not \"%s\"", $3);
			free($3);
		}
		| CALLBACK TIMEOUT NUMBER	{
			if (conf_range("callback timeout", $3, 1, 300) == 0)
				conf->c_callback_timeout = $3;
		}
		| CALLBACK ATTEMPTS NUMBER	{
			if (conf_range("callback attempts", $3, 1, 100) == 0)
				conf->c_callback_attempts = $3;
		}
		| CALLBACK BACKOFF NUMBER	{
			if (conf_range("callback backoff", $3, 1, 86400) == 0)
				conf->c_callback_backoff = $3;
		}
		| REQUIRE VERIFIED EMAIL STRING	{
			if (strcmp($4, "yes") == 0)
				conf->c_require_verified = 1;
			else if (strcmp($4, "no") == 0)
				conf->c_require_verified = 0;
			else
				yyerror("require verified email: yes or no, "
				    "not \"%s\"", $4);
			free($4);
		}
		;

smtpfrom	: /* empty */			{ $$ = NULL; }
		| FROM STRING			{ $$ = $2; }
		;

tokenbody	: /* empty */
		| tokenbody '\n'
		| tokenbody tokenopt '\n'
		| tokenbody error '\n'		{ yyerrok; }
		;

tokenlast	: /* empty */
		| tokenopt
		;

tokenopt	: ISSUER STRING			{
			if (conf_url("issuer", $2, 0) == 0 &&
			    conf_setstr(conf->c_issuer, sizeof(conf->c_issuer),
			    $2, "issuer") == 0 && !conf_public_set)
				/* The public url follows the issuer. */
				conf_public($2);
			free($2);
		}
		| ALGORITHM STRING		{
			if (strcasecmp($2, "es256") == 0)
				conf->c_alg = ALG_ES256;
			else if (strcasecmp($2, "rs256") == 0)
				conf->c_alg = ALG_RS256;
			else if (strcasecmp($2, "hs256") == 0)
				conf->c_alg = ALG_HS256;
			else
				yyerror("unknown algorithm \"%s\" "
				    "(es256, rs256 or hs256)", $2);
			free($2);
		}
		| ACCESS LIFETIME NUMBER	{
			if (conf_range("access lifetime", $3, 1,
			    315360000) == 0)
				conf->c_access_ttl = $3;
		}
		| REFRESH LIFETIME NUMBER	{
			if (conf_range("refresh lifetime", $3, 1,
			    315360000) == 0)
				conf->c_refresh_ttl = $3;
		}
		| REFRESH GRACE NUMBER		{
			if (conf_range("refresh grace", $3, 0, 3600) == 0)
				conf->c_refresh_grace = $3;
		}
		| LEEWAY NUMBER			{
			if (conf_range("leeway", $2, 0, 3600) == 0)
				conf->c_leeway = $2;
		}
		;

pwbody	: /* empty */
		| pwbody '\n'
		| pwbody pwopt '\n'
		| pwbody error '\n'		{ yyerrok; }
		;

pwlast	: /* empty */
		| pwopt
		;

pwopt		: HASH ARGON2ID argon2opts	{
			if (conf->c_argon2_memory <
			    8 * conf->c_argon2_parallelism)
				yyerror("argon2id memory must be at least "
				    "8 KiB per lane (%u)",
				    8 * conf->c_argon2_parallelism);
			else
				conf->c_hash = HASH_ARGON2ID;
		}
		| HASH BCRYPT bcryptopts	{
			conf->c_hash = HASH_BCRYPT;
		}
		| LENGTH NUMBER NUMBER		{
			if (conf_range("minimum length", $2, 1, 1024) == 0 &&
			    conf_range("maximum length", $3, 1, 1024) == 0) {
				if ($2 > $3)
					yyerror("minimum length %lld exceeds "
					    "maximum %lld", $2, $3);
				else {
					conf->c_pw_min = $2;
					conf->c_pw_max = $3;
				}
			}
		}
		| REQUIRE classes		{
			if ($2 & CLASS_ERROR)
				;	/* reported */
			else if (($2 & CLASS_NONE) && $2 != CLASS_NONE)
				yyerror("require none cannot be combined "
				    "with a class");
			else {
				conf->c_pw_upper = ($2 & CLASS_UPPER) != 0;
				conf->c_pw_lower = ($2 & CLASS_LOWER) != 0;
				conf->c_pw_digit = ($2 & CLASS_DIGIT) != 0;
				conf->c_pw_special = ($2 & CLASS_SPECIAL) != 0;
			}
		}
		| DENY LIST STRING		{
			conf_setstr(conf->c_pw_denylist,
			    sizeof(conf->c_pw_denylist), $3, "deny list");
			free($3);
		}
		;

argon2opts	: /* empty */
		| argon2opts argon2opt
		;

argon2opt	: MEMORY NUMBER			{
			if (conf_range("argon2id memory", $2, 8, 4194304) == 0)
				conf->c_argon2_memory = $2;
		}
		| ITERATIONS NUMBER		{
			if (conf_range("argon2id iterations", $2, 1,
			    UINT32_MAX) == 0)
				conf->c_argon2_iterations = $2;
		}
		| PARALLELISM NUMBER		{
			if (conf_range("argon2id parallelism", $2, 1, 16) == 0)
				conf->c_argon2_parallelism = $2;
		}
		;

bcryptopts	: /* empty */
		| COST NUMBER			{
			if (conf_range("bcrypt cost", $2, 4, 31) == 0)
				conf->c_bcrypt_cost = $2;
		}
		;

classes		: class
		| classes class			{ $$ = $1 | $2; }
		;

class		: STRING			{
			if (strcmp($1, "upper") == 0)
				$$ = CLASS_UPPER;
			else if (strcmp($1, "lower") == 0)
				$$ = CLASS_LOWER;
			else if (strcmp($1, "digit") == 0)
				$$ = CLASS_DIGIT;
			else if (strcmp($1, "special") == 0)
				$$ = CLASS_SPECIAL;
			else if (strcmp($1, "none") == 0)
				$$ = CLASS_NONE;
			else {
				yyerror("unknown character class \"%s\" "
				    "(upper, lower, digit, special or none)",
				    $1);
				$$ = CLASS_ERROR;
			}
			free($1);
		}
		;

limitbody	: /* empty */
		| limitbody '\n'
		| limitbody limitopt '\n'
		| limitbody error '\n'		{ yyerrok; }
		;

limitlast	: /* empty */
		| limitopt
		;

limitopt	: RATE NUMBER			{
			if (conf_range("rate", $2, 1, 100000) == 0)
				conf->c_rate_per_minute = $2;
		}
		| LOGIN RATE NUMBER		{
			if (conf_range("login rate", $3, 1, 100000) == 0)
				conf->c_login_rate_per_minute = $3;
		}
		| LOCKOUT NUMBER FAILURES lockoutopts {
			if (conf_range("lockout failures", $2, 1, 10000) == 0)
				conf->c_lockout_failures = $2;
		}
		| ADDRESS FAILURES NUMBER	{
			if (conf_range("address failures", $3, 1,
			    1000000) == 0)
				conf->c_addr_failures = $3;
		}
		| BODY NUMBER			{
			if (conf_range("body", $2, 1024, 67108864) == 0)
				conf->c_max_body = $2;
		}
		| HEADERS NUMBER		{
			if (conf_range("headers", $2, 1024, 1048576) == 0)
				conf->c_max_headers = $2;
		}
		| TIMEOUT NUMBER		{
			if (conf_range("timeout", $2, 1, 3600) == 0)
				conf->c_timeout = $2;
		}
		| CONNECTIONS NUMBER		{
			if (conf_range("connections", $2, 1, 65536) == 0)
				conf->c_max_connections = $2;
		}
		| KEYHOLDER QUEUE NUMBER	{
			if (conf_range("keyholder queue", $3, 1, 65536) == 0)
				conf->c_keyholder_queue = $3;
		}
		;

lockoutopts	: /* empty */
		| lockoutopts lockoutopt
		;

lockoutopt	: WINDOW NUMBER			{
			if (conf_range("lockout window", $2, 1,
			    31536000) == 0)
				conf->c_lockout_window = $2;
		}
		| TIME NUMBER			{
			if (conf_range("lockout time", $2, 1, 31536000) == 0)
				conf->c_lockout_time = $2;
		}
		;

%%

struct conf_keyword {
	const char	*k_name;
	int		 k_val;
};

/* Sorted by name: looked up with bsearch(3). */
static const struct conf_keyword conf_keywords[] = {
	{ "access",		ACCESS },
	{ "address",		ADDRESS },
	{ "algorithm",		ALGORITHM },
	{ "argon2id",		ARGON2ID },
	{ "attempts",		ATTEMPTS },
	{ "backoff",		BACKOFF },
	{ "bcrypt",		BCRYPT },
	{ "body",		BODY },
	{ "callback",		CALLBACK },
	{ "chroot",		CHROOT },
	{ "connections",	CONNECTIONS },
	{ "cors",		CORS },
	{ "cost",		COST },
	{ "database",		DATABASE },
	{ "db",			DB },
	{ "deny",		DENY },
	{ "email",		EMAIL },
	{ "failures",		FAILURES },
	{ "from",		FROM },
	{ "grace",		GRACE },
	{ "hash",		HASH },
	{ "headers",		HEADERS },
	{ "host",		HOST },
	{ "hsts",		HSTS },
	{ "include",		INCLUDE },
	{ "issuer",		ISSUER },
	{ "iterations",		ITERATIONS },
	{ "keyholder",		KEYHOLDER },
	{ "keyholders",		KEYHOLDERS },
	{ "keys",		KEYS },
	{ "leeway",		LEEWAY },
	{ "length",		LENGTH },
	{ "lifetime",		LIFETIME },
	{ "limits",		LIMITS },
	{ "list",		LIST },
	{ "listen",		LISTEN },
	{ "lockout",		LOCKOUT },
	{ "log",		LOG },
	{ "login",		LOGIN },
	{ "memory",		MEMORY },
	{ "metrics",		METRICS },
	{ "on",			ON },
	{ "origin",		ORIGIN },
	{ "parallelism",	PARALLELISM },
	{ "password",		PASSWORD },
	{ "pepper",		PEPPER },
	{ "pidfile",		PIDFILE },
	{ "pool",		POOL },
	{ "port",		PORT },
	{ "prefork",		PREFORK },
	{ "private",		PRIVATE },
	{ "proxy",		PROXY },
	{ "public",		PUBLIC },
	{ "queue",		QUEUE },
	{ "rate",		RATE },
	{ "redis",		REDIS },
	{ "refresh",		REFRESH },
	{ "require",		REQUIRE },
	{ "sandbox",		SANDBOX },
	{ "smtp",		SMTP },
	{ "socket",		SOCKET },
	{ "time",		TIME },
	{ "timeout",		TIMEOUT },
	{ "token",		TOKEN },
	{ "trusted",		TRUSTED },
	{ "url",		URL },
	{ "user",		USER },
	{ "verified",		VERIFIED },
	{ "window",		WINDOW }
};

static int
conf_kwcmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct conf_keyword *)e)->k_name));
}

static int
conf_lookup(const char *s)
{
	const struct conf_keyword	*kw;

	kw = bsearch(s, conf_keywords,
	    sizeof(conf_keywords) / sizeof(conf_keywords[0]),
	    sizeof(conf_keywords[0]), conf_kwcmp);
	return (kw != NULL ? kw->k_val : STRING);
}

/* Keeps the text of every message for config_errors() too. */
static void
conf_errappend(const char *line)
{
	size_t	 len;

	len = strlen(line);
	if (conf_errlen + len + 2 > sizeof(conf_errbuf))
		return;
	memcpy(conf_errbuf + conf_errlen, line, len);
	conf_errlen += len;
	conf_errbuf[conf_errlen++] = '\n';
	conf_errbuf[conf_errlen] = '\0';
}

/* Prints one error, and keeps it for config_errors(). */
static void
conf_errorx(const char *fmt, ...)
{
	va_list	 ap;
	char	 line[PATH_MAX + 1100];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	conf_nerrors++;
	fprintf(stderr, "%s\n", line);
	conf_errappend(line);
}

static int
yyerror(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	if (strcmp(fmt, "syntax error") == 0) {
		/* The lexer has said what was wrong with its token. */
		if (conf_tokerror)
			return (0);
		if (conf_tokfirst && conf_tokword)
			snprintf(msg, sizeof(msg), "unknown keyword \"%s\"",
			    conf_toktext);
		else if (conf_tokfirst && !conf_tokeof &&
		    isalpha((unsigned char)conf_toktext[0]))
			snprintf(msg, sizeof(msg),
			    "keyword \"%s\" not allowed here", conf_toktext);
		else if (conf_tokidx == 1 && conf_stmtword[0] != '\0')
			snprintf(msg, sizeof(msg), "unknown keyword \"%s\"",
			    conf_stmtword);
		else if (strcmp(conf_toktext, "\n") == 0)
			snprintf(msg, sizeof(msg),
			    "syntax error at end of line");
		else if (conf_tokeof)
			snprintf(msg, sizeof(msg),
			    "syntax error at end of file");
		else
			snprintf(msg, sizeof(msg), "syntax error near \"%s\"",
			    conf_toktext);
	} else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (conf_file != NULL)
		conf_errorx("%s:%d: %s", conf_file->cf_name, conf_toklineno,
		    msg);
	else
		conf_errorx("%s", msg);
	return (0);
}

static int
conf_igetc(void)
{
	if (conf_file->cf_nunget > 0)
		return (conf_file->cf_unget[--conf_file->cf_nunget]);
	return (getc(conf_file->cf_stream));
}

static void
conf_ungetc(int c)
{
	if (c == EOF)
		return;
	/* The lexer never backs up more than two characters. */
	if (conf_file->cf_nunget < CONF_UNGET)
		conf_file->cf_unget[conf_file->cf_nunget++] = c;
}

/*
 * The next character.  Outside quotes a backslash-newline joins lines,
 * and the end of an included file continues with the file including it
 * (after one fake newline, so its last line ends there).
 */
static int
conf_getc(int quoted)
{
	int	 c, next;

	c = conf_igetc();
	if (quoted)
		return (c);
	while (c == '\\') {
		next = conf_igetc();
		if (next != '\n') {
			conf_ungetc(next);
			break;
		}
		conf_file->cf_lineno++;
		c = conf_igetc();
	}
	if (c == EOF) {
		if (!conf_file->cf_eof) {
			conf_file->cf_eof = 1;
			return ('\n');
		}
		while (c == EOF) {
			if (conf_popfile() == EOF)
				return (EOF);
			c = conf_igetc();
		}
	}
	return (c);
}

/* After an error in a token, skip the rest of the line but its newline. */
static int
conf_findeol(void)
{
	int	 c;

	for (;;) {
		c = conf_igetc();
		if (c == '\n' || c == EOF) {
			conf_ungetc(c);
			break;
		}
	}
	conf_tokerror = 1;
	return (ERROR);
}

static int
conf_inword(int c)
{
	if (c == EOF || c > 0x7e)
		return (0);
	return (isalnum(c) || (ispunct(c) && c != '(' && c != ')' &&
	    c != '{' && c != '}' && c != '<' && c != '>' && c != '!' &&
	    c != '=' && c != '#' && c != ',' && c != ';' && c != '"' &&
	    c != '\''));
}

/* A bare word: a NUMBER, a keyword or a STRING. */
static int
conf_word(const char *buf)
{
	const char	*errstr, *p;
	long long	 n;
	int		 tok;

	p = buf[0] == '-' ? buf + 1 : buf;
	if (*p != '\0' && strspn(p, "0123456789") == strlen(p)) {
		n = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			yyerror("number %s is %s", buf, errstr);
			return (conf_findeol());
		}
		yylval.number = n;
		return (NUMBER);
	}
	if (!conf_macroval && (tok = conf_lookup(buf)) != STRING)
		return (tok);
	if ((yylval.string = strdup(buf)) == NULL) {
		yyerror("out of memory");
		return (conf_findeol());
	}
	conf_tokword = 1;
	return (STRING);
}

/* "$name": its value, read as one token. */
static int
conf_expand(void)
{
	char		 name[CONF_MAX_WORD];
	const char	*val, *p;
	size_t		 len = 0;
	int		 c;

	for (;;) {
		c = conf_getc(0);
		if (c == EOF || (!isalnum(c) && c != '_'))
			break;
		if (len + 1 >= sizeof(name)) {
			yyerror("macro name too long");
			return (conf_findeol());
		}
		name[len++] = c;
	}
	name[len] = '\0';
	conf_ungetc(c);
	strlcpy(conf_toktext, name, sizeof(conf_toktext));
	if ((val = conf_symget(name)) == NULL) {
		yyerror("macro \"%s\" not defined", name);
		return (conf_findeol());
	}
	for (p = val; *p != '\0' && conf_inword((unsigned char)*p); p++)
		;
	if (*val != '\0' && *p == '\0')
		return (conf_word(val));
	if ((yylval.string = strdup(val)) == NULL) {
		yyerror("out of memory");
		return (conf_findeol());
	}
	return (STRING);
}

static int
conf_quoted(int quote)
{
	char	 buf[CONF_MAX_WORD];
	size_t	 len = 0;
	int	 c, next;

	for (;;) {
		if ((c = conf_getc(1)) == EOF || c == '\n') {
			yyerror("unterminated quoted string");
			conf_ungetc(c);
			return (conf_findeol());
		}
		if (c == quote)
			break;
		if (c == '\\') {
			next = conf_getc(1);
			if (next == quote || next == '\\')
				c = next;
			else if (next == '\n') {
				conf_file->cf_lineno++;
				continue;
			} else
				conf_ungetc(next);
		} else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
			yyerror("control character in quoted string");
			return (conf_findeol());
		}
		if (len + 1 >= sizeof(buf)) {
			yyerror("string too long");
			return (conf_findeol());
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	if ((yylval.string = strdup(buf)) == NULL) {
		yyerror("out of memory");
		return (conf_findeol());
	}
	return (STRING);
}

static int
conf_lex(void)
{
	char	 buf[CONF_MAX_WORD];
	size_t	 len;
	int	 c;

	do {
		c = conf_getc(0);
	} while (c == ' ' || c == '\t' || c == '\r');
	conf_toklineno = conf_file != NULL ? conf_file->cf_lineno : 0;
	conf_toktext[0] = '\0';

	if (c == '#')
		while ((c = conf_getc(0)) != '\n' && c != EOF)
			;
	switch (c) {
	case EOF:
		conf_tokeof = 1;
		return (0);
	case '\n':
		strlcpy(conf_toktext, "\n", sizeof(conf_toktext));
		conf_file->cf_lineno++;
		return ('\n');
	case ';':
		/* A newline that lets one line hold several statements. */
		strlcpy(conf_toktext, ";", sizeof(conf_toktext));
		return ('\n');
	case '$':
		return (conf_expand());
	case '"':
	case '\'':
		return (conf_quoted(c));
	}
	if (conf_inword(c)) {
		len = 0;
		do {
			if (len + 1 >= sizeof(buf)) {
				yyerror("word too long");
				return (conf_findeol());
			}
			buf[len++] = c;
		} while (conf_inword(c = conf_getc(0)));
		conf_ungetc(c);
		buf[len] = '\0';
		strlcpy(conf_toktext, buf, sizeof(conf_toktext));
		return (conf_word(buf));
	}
	if (c < 0x20 || c > 0x7e) {
		yyerror("invalid character 0x%02x", c);
		return (conf_findeol());
	}
	conf_toktext[0] = c;
	conf_toktext[1] = '\0';
	return (c);
}

static int
yylex(void)
{
	int	 tok;

	conf_tokerror = 0;
	conf_tokword = 0;
	conf_tokeof = 0;
	conf_tokfirst = conf_atstart;
	tok = conf_lex();
	if (tok == STRING && conf_toktext[0] == '\0')
		strlcpy(conf_toktext, yylval.string, sizeof(conf_toktext));
	/*
	 * "foo 12" fails at "12" (a bare word may start "name = value"):
	 * remember an unknown first word to name it in the message.
	 */
	if (conf_tokfirst)
		conf_tokidx = 0;
	else
		conf_tokidx++;
	if (conf_tokfirst && conf_tokword)
		strlcpy(conf_stmtword, conf_toktext, sizeof(conf_stmtword));
	else if (conf_tokfirst)
		conf_stmtword[0] = '\0';
	/* In "name = value" the value is never a keyword. */
	conf_macroval = tok == '=' && conf_tokidx == 1;
	conf_atstart = (tok == '\n' || tok == '{' || tok == '}');
	return (tok);
}

/*
 * Opens a file and makes it the one being read.  A relative include is
 * found next to the file that includes it, so a configuration tree can
 * move as a whole.
 */
static int
conf_pushfile(const char *name, int include)
{
	struct conf_file	*nf;
	struct stat		 st;
	char			*path = NULL, *slash;

	if (include && conf_depth >= CONF_MAX_INCLUDE) {
		yyerror("include \"%s\": nested too deep", name);
		return (-1);
	}
	if (include && name[0] != '/' && conf_file != NULL &&
	    (slash = strrchr(conf_file->cf_name, '/')) != NULL) {
		if (asprintf(&path, "%.*s/%s",
		    (int)(slash - conf_file->cf_name), conf_file->cf_name,
		    name) == -1)
			path = NULL;
	} else
		path = strdup(name);
	if (path == NULL) {
		yyerror("out of memory");
		return (-1);
	}
	if ((nf = calloc(1, sizeof(*nf))) == NULL) {
		free(path);
		yyerror("out of memory");
		return (-1);
	}
	nf->cf_name = path;
	/*
	 * An included file starts with a newline that ends the include
	 * statement before the file's first token; it counts as line 0.
	 */
	nf->cf_lineno = include ? 0 : 1;
	if (include) {
		nf->cf_unget[0] = '\n';
		nf->cf_nunget = 1;
	}
	if ((nf->cf_stream = fopen(path, "r")) != NULL &&
	    fstat(fileno(nf->cf_stream), &st) == 0 && !S_ISREG(st.st_mode))
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	else if (nf->cf_stream != NULL)
		errno = 0;
	if (nf->cf_stream == NULL || errno != 0) {
		if (include)
			yyerror("include \"%s\": %s", path, strerror(errno));
		else
			conf_errorx("%s: %s", path, strerror(errno));
		if (nf->cf_stream != NULL)
			fclose(nf->cf_stream);
		free(path);
		free(nf);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&conf_files, nf, cf_entry);
	conf_file = nf;
	conf_depth++;
	return (0);
}

/* Back to the including file; EOF at the end of the first one. */
static int
conf_popfile(void)
{
	struct conf_file	*prev;

	if ((prev = TAILQ_PREV(conf_file, conf_files, cf_entry)) == NULL)
		return (EOF);
	TAILQ_REMOVE(&conf_files, conf_file, cf_entry);
	fclose(conf_file->cf_stream);
	free(conf_file->cf_name);
	free(conf_file);
	conf_file = prev;
	conf_depth--;
	return (0);
}

static void
conf_closeall(void)
{
	struct conf_file	*f;

	while ((f = TAILQ_FIRST(&conf_files)) != NULL) {
		TAILQ_REMOVE(&conf_files, f, cf_entry);
		fclose(f->cf_stream);
		free(f->cf_name);
		free(f);
	}
	conf_file = NULL;
	conf_depth = 0;
}

static struct conf_sym *
conf_symfind(const char *name)
{
	struct conf_sym	*sym;

	TAILQ_FOREACH(sym, &conf_syms, cs_entry)
		if (strcmp(sym->cs_name, name) == 0)
			return (sym);
	return (NULL);
}

/* A -D definition wins over the file's own. */
static int
conf_symset(const char *name, const char *val, int persist)
{
	struct conf_sym	*sym;
	char		*nval;

	if ((sym = conf_symfind(name)) != NULL && sym->cs_persist &&
	    !persist)
		return (0);
	if ((nval = strdup(val)) == NULL)
		return (-1);
	if (sym != NULL) {
		free(sym->cs_val);
		sym->cs_val = nval;
		sym->cs_persist = persist;
		return (0);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL ||
	    (sym->cs_name = strdup(name)) == NULL) {
		free(sym);
		free(nval);
		return (-1);
	}
	sym->cs_val = nval;
	sym->cs_persist = persist;
	TAILQ_INSERT_TAIL(&conf_syms, sym, cs_entry);
	return (0);
}

static const char *
conf_symget(const char *name)
{
	struct conf_sym	*sym;

	return ((sym = conf_symfind(name)) != NULL ? sym->cs_val : NULL);
}

/* Drops the file's macros, or all of them. */
static void
conf_symclear(int all)
{
	struct conf_sym	*sym, *next;

	for (sym = TAILQ_FIRST(&conf_syms); sym != NULL; sym = next) {
		next = TAILQ_NEXT(sym, cs_entry);
		if (sym->cs_persist && !all)
			continue;
		TAILQ_REMOVE(&conf_syms, sym, cs_entry);
		free(sym->cs_name);
		free(sym->cs_val);
		free(sym);
	}
}

/*
 * Copies a string into a field of the configuration, whose unused bytes
 * are zeroed so that two equal configurations compare equal byte by byte.
 */
static int
conf_setstr(char *dst, size_t size, const char *src, const char *what)
{
	if (strlen(src) >= size) {
		yyerror("%s too long (%zu bytes at most)", what, size - 1);
		return (-1);
	}
	memset(dst, 0, size);
	memcpy(dst, src, strlen(src));
	return (0);
}

static int
conf_range(const char *what, long long n, long long min, long long max)
{
	if (n < min || n > max) {
		yyerror("%s %lld out of range (%lld-%lld)", what, n, min, max);
		return (-1);
	}
	return (0);
}

/*
 * Strings that become protocol fields or header values must not hold
 * control characters, nor, unless allowed, white space.
 */
static int
conf_safestr(const char *what, const char *s, int spaces)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			yyerror("%s must not contain control characters",
			    what);
			return (-1);
		}
		if (*s == ' ' && !spaces) {
			yyerror("%s must not contain white space", what);
			return (-1);
		}
	}
	return (0);
}

/*
 * Measures the "scheme://host[:port]" at the start of s: the scheme
 * must be http or https, or smtp or smtps with smtp set.  Returns the
 * length of that prefix, 0 when there is none.  *defport tells whether
 * the port was written although it is the scheme's default.
 */
static size_t
conf_authority(const char *s, int smtp, int *defport)
{
	const char	*p, *errstr;
	char		 port[8];
	long long	 pn, dport;
	size_t		 n;

	*defport = 0;
	if (strncasecmp(s, smtp ? "smtps://" : "https://", 8) == 0) {
		p = s + 8;
		dport = smtp ? 465 : 443;
	} else if (strncasecmp(s, smtp ? "smtp://" : "http://", 7) == 0) {
		p = s + 7;
		dport = smtp ? 25 : 80;
	} else
		return (0);
	if (*p == '[') {
		n = strspn(p + 1, "0123456789abcdefABCDEF:.");
		if (n == 0 || p[1 + n] != ']')
			return (0);
		p += n + 2;
	} else {
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
		if (n == 0)
			return (0);
		p += n;
	}
	if (*p == ':') {
		n = strspn(p + 1, "0123456789");
		if (n == 0 || n >= sizeof(port))
			return (0);
		memcpy(port, p + 1, n);
		port[n] = '\0';
		pn = strtonum(port, 1, 65535, &errstr);
		if (errstr != NULL)
			return (0);
		*defport = pn == dport;
		p += n + 1;
	}
	return (p - s);
}

/* An absolute http(s) URL, or smtp(s) with smtp set. */
static int
conf_url(const char *what, const char *s, int smtp)
{
	size_t	 n;
	int	 defport;

	if (conf_safestr(what, s, 0) == -1)
		return (-1);
	n = conf_authority(s, smtp, &defport);
	if (n == 0 || (s[n] != '\0' && s[n] != '/' && s[n] != '?')) {
		yyerror("%s \"%s\" is not a %s URL", what, s, smtp ?
		    "smtp://host[:port] or smtps://" :
		    "http://host[:port] or https://");
		return (-1);
	}
	return (0);
}

/* Links are built as public url + "/path": no trailing slash. */
static int
conf_public(const char *url)
{
	char	 buf[CONFIG_STR];
	size_t	 len;

	if (conf_setstr(buf, sizeof(buf), url, "public url") == -1)
		return (-1);
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '/')
		buf[--len] = '\0';
	return (conf_setstr(conf->c_public_url, sizeof(conf->c_public_url),
	    buf, "public url"));
}

/*
 * An origin is compared with the Origin header a browser sends: scheme
 * and host in lower case, no default port, no path.
 */
static int
conf_origin(const char *s, char *out, size_t outlen)
{
	size_t	 n, i;
	int	 defport;

	n = conf_authority(s, 0, &defport);
	if (n == 0 || s[n] != '\0') {
		yyerror("cors origin \"%s\" is not scheme://host[:port] "
		    "(http or https, without a path)", s);
		return (-1);
	}
	if (defport) {
		yyerror("cors origin \"%s\": browsers omit the default port",
		    s);
		return (-1);
	}
	if (n >= outlen) {
		yyerror("cors origin too long (%zu bytes at most)", outlen - 1);
		return (-1);
	}
	for (i = 0; i < n; i++)
		out[i] = tolower((unsigned char)s[i]);
	out[n] = '\0';
	return (0);
}

/* One plain address: it goes into a mail header. */
static int
conf_smtpfrom(const char *s)
{
	const char	*at;

	if (conf_safestr("smtp from", s, 0) == -1)
		return (-1);
	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strpbrk(s, "<>\",;()[]\\") != NULL) {
		yyerror("smtp from \"%s\" is not a mail address", s);
		return (-1);
	}
	return (0);
}

static void
conf_listen(const char *addr, long long port)
{
	struct config_net	 net;
	struct config_listen	*cl;
	int			 i;

	if (config_net_parse(addr, &net) == -1 || strchr(addr, '/') != NULL) {
		yyerror("listen on \"%s\": not a numeric IPv4 or IPv6 address",
		    addr);
		return;
	}
	if (!conf_listen_set) {
		/* The first listen line replaces the default. */
		conf_listen_set = 1;
		memset(conf->c_listen, 0, sizeof(conf->c_listen));
		conf->c_nlisten = 0;
	}
	for (i = 0; i < conf->c_nlisten; i++)
		if (strcmp(conf->c_listen[i].cl_addr, addr) == 0 &&
		    conf->c_listen[i].cl_port == port) {
			yyerror("duplicate listen on %s port %lld", addr, port);
			return;
		}
	if (conf->c_nlisten == CONFIG_MAX_LISTEN) {
		yyerror("too many listen lines (%d at most)",
		    CONFIG_MAX_LISTEN);
		return;
	}
	cl = &conf->c_listen[conf->c_nlisten];
	if (conf_setstr(cl->cl_addr, sizeof(cl->cl_addr), addr,
	    "listen address") == -1)
		return;
	cl->cl_port = port;
	conf->c_nlisten++;
}

static void
conf_net(const char *s, struct config_net *nets, int *n, int max,
    const char *what)
{
	struct config_net	 net;
	int			 i;

	if (config_net_parse(s, &net) == -1) {
		yyerror("%s \"%s\": not an address or network", what, s);
		return;
	}
	for (i = 0; i < *n; i++)
		if (nets[i].cn_af == net.cn_af &&
		    nets[i].cn_prefix == net.cn_prefix &&
		    memcmp(nets[i].cn_addr, net.cn_addr,
		    sizeof(net.cn_addr)) == 0) {
			yyerror("duplicate %s %s", what, s);
			return;
		}
	if (*n == max) {
		yyerror("too many %s lines (%d at most)", what, max);
		return;
	}
	nets[(*n)++] = net;
}

int
config_define(const char *nameval)
{
	char	*name, *val;
	size_t	 i;
	int	 rv;

	if ((val = strchr(nameval, '=')) == NULL || val == nameval)
		return (-1);
	if ((name = strndup(nameval, val - nameval)) == NULL)
		return (-1);
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
			free(name);
			return (-1);
		}
	rv = conf_symset(name, val + 1, 1);
	free(name);
	return (rv);
}

void
config_clear_macros(void)
{
	conf_symclear(1);
}

const char *
config_errors(void)
{
	return (conf_errbuf);
}

int
config_parse(const char *file, struct authd_config *c)
{
	conf = c;
	config_defaults(conf);
	conf_nerrors = 0;
	conf_errlen = 0;
	conf_errbuf[0] = '\0';
	conf_listen_set = conf_metrics_set = conf_public_set = 0;
	conf_atstart = 1;
	conf_macroval = 0;
	conf_toklineno = 0;
	conf_closeall();
	conf_symclear(0);

	if (strlen(file) >= sizeof(conf->c_file)) {
		conf_errorx("%s: file name too long", file);
		conf = NULL;
		return (-1);
	}
	strlcpy(conf->c_file, file, sizeof(conf->c_file));
	if (conf_pushfile(file, 0) == -1) {
		conf = NULL;
		return (-1);
	}
	if (yyparse() != 0 && conf_nerrors == 0)
		yyerror("cannot parse the file");
	conf_closeall();
	/* The next parse (a reload) starts from its own definitions. */
	conf_symclear(0);
	conf = NULL;
	return (conf_nerrors > 0 ? -1 : 0);
}
