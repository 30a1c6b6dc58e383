/*
 * The configuration outside the grammar: the defaults, the printer that
 * writes the effective configuration back in authd.conf(5) syntax (so
 * that "authd -nv" output can be saved and parsed again to the very same
 * structure), and the address networks of "metrics from" and "trusted
 * proxy".  The parser itself is parse.y.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define CONFIG_MAX_KEYHOLDERS	64

static void	config_net_default(struct config_net *, const char *);
static void	config_print_str(FILE *, const char *);

/* Only for the built-in defaults, which are known to be valid. */
static void
config_net_default(struct config_net *net, const char *s)
{
	if (config_net_parse(s, net) == -1)
		abort();
}

void
config_defaults(struct authd_config *c)
{
	long	 ncpu;

	/*
	 * Zeroed as a whole: padding and the bytes after each string's NUL
	 * are sent to the children and compared after a reload.
	 */
	memset(c, 0, sizeof(*c));

	strlcpy(c->c_listen[0].cl_addr, "127.0.0.1",
	    sizeof(c->c_listen[0].cl_addr));
	c->c_listen[0].cl_port = 8000;
	c->c_nlisten = 1;
	c->c_workers = 2;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > CONFIG_MAX_KEYHOLDERS)
		ncpu = CONFIG_MAX_KEYHOLDERS;
	c->c_keyholders = ncpu;
	strlcpy(c->c_user, "_authd", sizeof(c->c_user));
	strlcpy(c->c_chroot, "/var/empty", sizeof(c->c_chroot));
	strlcpy(c->c_control, "/var/run/authd.sock", sizeof(c->c_control));

	strlcpy(c->c_database, "dbname=authd", sizeof(c->c_database));
	c->c_db_pool = 4;
	strlcpy(c->c_redis_host, "127.0.0.1", sizeof(c->c_redis_host));
	c->c_redis_port = 6379;
	c->c_redis_db = 0;

	strlcpy(c->c_keydir, "/etc/authd/keys", sizeof(c->c_keydir));
	strlcpy(c->c_issuer, "http://127.0.0.1:8000", sizeof(c->c_issuer));
	c->c_alg = ALG_ES256;
	c->c_access_ttl = 1800;
	c->c_refresh_ttl = 604800;
	c->c_refresh_grace = 10;
	c->c_leeway = 30;

	c->c_hash = HASH_ARGON2ID;
	c->c_argon2_memory = 19456;
	c->c_argon2_iterations = 2;
	c->c_argon2_parallelism = 1;
	c->c_bcrypt_cost = 12;
	c->c_pw_min = 8;
	c->c_pw_max = 128;
	c->c_pw_upper = 1;	/* API.md: upper, digit, special */
	c->c_pw_lower = 0;
	c->c_pw_digit = 1;
	c->c_pw_special = 1;

	c->c_rate_per_minute = 100;
	c->c_login_rate_per_minute = 20;
	c->c_lockout_failures = 5;
	c->c_lockout_window = 900;
	c->c_lockout_time = 900;
	c->c_addr_failures = 100;
	c->c_max_body = 65536;
	c->c_max_headers = 16384;
	c->c_timeout = 30;
	c->c_max_connections = 1024;
	c->c_keyholder_queue = 64;

	config_net_default(&c->c_metrics[0], "127.0.0.1");
	config_net_default(&c->c_metrics[1], "::1");
	c->c_nmetrics = 2;
	c->c_hsts = 0;
	strlcpy(c->c_public_url, c->c_issuer, sizeof(c->c_public_url));

	strlcpy(c->c_smtp_from, "authd@localhost", sizeof(c->c_smtp_from));
	c->c_require_verified = 0;
	c->c_access_log = 1;
	c->c_sandbox = 1;
}

/* A quoted string that the lexer reads back unchanged. */
static void
config_print_str(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

void
config_print(FILE *fp, const struct authd_config *c)
{
	static const char	*algs[] = { "es256", "rs256", "hs256" };
	int			 i;

	for (i = 0; i < c->c_nlisten; i++)
		fprintf(fp, "listen on %s port %u\n", c->c_listen[i].cl_addr,
		    c->c_listen[i].cl_port);
	fprintf(fp, "prefork %d\n", c->c_workers);
	fprintf(fp, "keyholders %d\n", c->c_keyholders);
	fprintf(fp, "user ");
	config_print_str(fp, c->c_user);
	fprintf(fp, "\nchroot ");
	config_print_str(fp, c->c_chroot);
	fprintf(fp, "\nsocket ");
	config_print_str(fp, c->c_control);
	fprintf(fp, "\npidfile ");
	config_print_str(fp, c->c_pidfile);
	fprintf(fp, "\n\ndatabase ");
	config_print_str(fp, c->c_database);
	fprintf(fp, "\ndatabase pool %d\n", c->c_db_pool);
	/* The later of "redis host" and "redis socket" wins. */
	fprintf(fp, "redis host ");
	config_print_str(fp, c->c_redis_host);
	fprintf(fp, " port %u\n", c->c_redis_port);
	if (c->c_redis_path[0] != '\0') {
		fprintf(fp, "redis socket ");
		config_print_str(fp, c->c_redis_path);
		fprintf(fp, "\n");
	}
	fprintf(fp, "redis db %d\n", c->c_redis_db);
	fprintf(fp, "\nkeys ");
	config_print_str(fp, c->c_keydir);
	fprintf(fp, "\npepper ");
	config_print_str(fp, c->c_pepper);

	fprintf(fp, "\n\ntoken {\n\tissuer ");
	config_print_str(fp, c->c_issuer);
	fprintf(fp, "\n\talgorithm %s\n",
	    (size_t)c->c_alg < sizeof(algs) / sizeof(algs[0]) ?
	    algs[c->c_alg] : "invalid");
	fprintf(fp, "\taccess lifetime %d\n", c->c_access_ttl);
	fprintf(fp, "\trefresh lifetime %d\n", c->c_refresh_ttl);
	fprintf(fp, "\trefresh grace %d\n", c->c_refresh_grace);
	fprintf(fp, "\tleeway %d\n}\n", c->c_leeway);

	/* Both hashes' parameters; the one in use is printed last. */
	fprintf(fp, "\npassword {\n");
	if (c->c_hash != HASH_BCRYPT)
		fprintf(fp, "\thash bcrypt cost %d\n", c->c_bcrypt_cost);
	fprintf(fp, "\thash argon2id memory %u iterations %u "
	    "parallelism %u\n", c->c_argon2_memory, c->c_argon2_iterations,
	    c->c_argon2_parallelism);
	if (c->c_hash == HASH_BCRYPT)
		fprintf(fp, "\thash bcrypt cost %d\n", c->c_bcrypt_cost);
	fprintf(fp, "\tlength %d %d\n", c->c_pw_min, c->c_pw_max);
	fprintf(fp, "\trequire");
	if (c->c_pw_upper)
		fprintf(fp, " upper");
	if (c->c_pw_lower)
		fprintf(fp, " lower");
	if (c->c_pw_digit)
		fprintf(fp, " digit");
	if (c->c_pw_special)
		fprintf(fp, " special");
	if (!c->c_pw_upper && !c->c_pw_lower && !c->c_pw_digit &&
	    !c->c_pw_special)
		fprintf(fp, " none");
	fprintf(fp, "\n\tdeny list ");
	config_print_str(fp, c->c_pw_denylist);
	fprintf(fp, "\n}\n");

	fprintf(fp, "\nlimits {\n");
	fprintf(fp, "\trate %d\n", c->c_rate_per_minute);
	fprintf(fp, "\tlogin rate %d\n", c->c_login_rate_per_minute);
	fprintf(fp, "\tlockout %d failures window %d time %d\n",
	    c->c_lockout_failures, c->c_lockout_window, c->c_lockout_time);
	fprintf(fp, "\taddress failures %d\n", c->c_addr_failures);
	fprintf(fp, "\tbody %zu\n", c->c_max_body);
	fprintf(fp, "\theaders %zu\n", c->c_max_headers);
	fprintf(fp, "\ttimeout %d\n", c->c_timeout);
	fprintf(fp, "\tconnections %d\n", c->c_max_connections);
	fprintf(fp, "\tkeyholder queue %d\n}\n\n", c->c_keyholder_queue);

	for (i = 0; i < c->c_nproxies; i++)
		fprintf(fp, "trusted proxy %s\n", c->c_proxies[i].cn_str);
	for (i = 0; i < c->c_norigins; i++) {
		fprintf(fp, "cors origin ");
		config_print_str(fp, c->c_origins[i]);
		fprintf(fp, "\n");
	}
	for (i = 0; i < c->c_nmetrics; i++)
		fprintf(fp, "metrics from %s\n", c->c_metrics[i].cn_str);
	fprintf(fp, "hsts %d\n", c->c_hsts);
	fprintf(fp, "public url ");
	config_print_str(fp, c->c_public_url);
	fprintf(fp, "\n\nsmtp url ");
	config_print_str(fp, c->c_smtp_url);
	fprintf(fp, " from ");
	config_print_str(fp, c->c_smtp_from);
	fprintf(fp, "\nrequire verified email %s\n",
	    c->c_require_verified ? "yes" : "no");
	fprintf(fp, "access log %s\n", c->c_access_log ? "yes" : "no");
	fprintf(fp, "sandbox %s\n", c->c_sandbox ? "yes" : "no");
	/* Zero means the built-in default of each: nothing to print. */
	if (c->c_callback_private)
		fprintf(fp, "callback private yes\n");
	if (c->c_callback_timeout)
		fprintf(fp, "callback timeout %d\n", c->c_callback_timeout);
	if (c->c_callback_attempts)
		fprintf(fp, "callback attempts %d\n", c->c_callback_attempts);
	if (c->c_callback_backoff)
		fprintf(fp, "callback backoff %d\n", c->c_callback_backoff);
}

int
config_net_parse(const char *s, struct config_net *net)
{
	char		 buf[sizeof(net->cn_str)];
	char		*slash;
	const char	*errstr;
	int		 max, i, bits;

	memset(net, 0, sizeof(*net));
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return (-1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, net->cn_addr) == 1) {
		net->cn_af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, net->cn_addr) == 1) {
		net->cn_af = AF_INET6;
		max = 128;
	} else {
		memset(net, 0, sizeof(*net));
		return (-1);
	}
	net->cn_prefix = max;
	if (slash != NULL) {
		/* strtonum alone would take " 8" and "+8". */
		if (*slash == '\0' ||
		    strspn(slash, "0123456789") != strlen(slash)) {
			memset(net, 0, sizeof(*net));
			return (-1);
		}
		net->cn_prefix = strtonum(slash, 0, max, &errstr);
		if (errstr != NULL) {
			memset(net, 0, sizeof(*net));
			return (-1);
		}
	}
	/* Host bits are cleared so that matching and comparing are simple. */
	for (i = 0; i < 16; i++) {
		bits = net->cn_prefix - i * 8;
		if (bits <= 0)
			net->cn_addr[i] = 0;
		else if (bits < 8)
			net->cn_addr[i] &= 0xff << (8 - bits);
	}
	strlcpy(net->cn_str, s, sizeof(net->cn_str));
	return (0);
}

/*
 * An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d, and
 * matches the IPv4 networks.
 */
int
config_net_match(const struct config_net *net, int af, const void *addr)
{
	static const uint8_t	 mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const uint8_t		*a = addr;
	int			 full, rest;

	if (addr == NULL)
		return (0);
	if (af == AF_INET6 && net->cn_af == AF_INET &&
	    memcmp(a, mapped, sizeof(mapped)) == 0) {
		a += sizeof(mapped);
		af = AF_INET;
	}
	if (af != net->cn_af)
		return (0);
	full = net->cn_prefix / 8;
	rest = net->cn_prefix % 8;
	if (memcmp(a, net->cn_addr, full) != 0)
		return (0);
	if (rest != 0 &&
	    ((a[full] ^ net->cn_addr[full]) & (0xff << (8 - rest)) & 0xff))
		return (0);
	return (1);
}
