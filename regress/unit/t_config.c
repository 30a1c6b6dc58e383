/*
 * Tests of the authd.conf(5) parser and printer.
 *
 * The golden files live in regress/config: for each NAME.in there is
 * either NAME.ok, the expected config_print() output ("@NCPU@" stands for
 * the default number of key holders, which depends on the host), or
 * NAME.err, the expected messages on stderr.  The directory is found from
 * ATF's srcdir (the directory of this program, regress/unit), so the
 * tests run the same from kyua, from the repository root or from
 * regress/unit.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atf-c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define OUTMAX	65536

static char	 configdir[PATH_MAX];

/* Goes to regress/config, where the golden files are. */
static void
goto_configdir(const atf_tc_t *tc)
{
	const char	*srcdir;

	srcdir = atf_tc_get_config_var_wd(tc, "srcdir", ".");
	ATF_REQUIRE((size_t)snprintf(configdir, sizeof(configdir),
	    "%s/../config", srcdir) < sizeof(configdir));
	if (chdir(configdir) == -1)
		atf_tc_fail("chdir %s: %s", configdir, strerror(errno));
}

static char *
read_file(const char *path)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	fp = fopen(path, "r");
	ATF_REQUIRE_MSG(fp != NULL, "open %s: %s", path, strerror(errno));
	ATF_REQUIRE((buf = calloc(1, OUTMAX)) != NULL);
	n = fread(buf, 1, OUTMAX - 1, fp);
	ATF_REQUIRE(ferror(fp) == 0);
	ATF_REQUIRE_MSG(n < OUTMAX - 1, "%s too large", path);
	buf[n] = '\0';
	fclose(fp);
	return (buf);
}

/* A file in the test's temporary directory. */
static void
tmp_path(char *buf, size_t len, const char *name)
{
	const char	*dir;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	ATF_REQUIRE((size_t)snprintf(buf, len, "%s/t_config.%ld.%s", dir,
	    (long)getpid(), name) < len);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) >= 0);
	ATF_REQUIRE(fclose(fp) == 0);
}

/* config_parse() with its stderr captured into a new string. */
static int
parse_capture(const char *file, struct authd_config *conf, char **errout)
{
	char	 path[PATH_MAX];
	int	 fd, saved, rv;

	tmp_path(path, sizeof(path), "stderr");
	ATF_REQUIRE((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	fflush(stderr);
	ATF_REQUIRE((saved = dup(STDERR_FILENO)) != -1);
	ATF_REQUIRE(dup2(fd, STDERR_FILENO) != -1);
	rv = config_parse(file, conf);
	fflush(stderr);
	ATF_REQUIRE(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	close(fd);
	*errout = read_file(path);
	unlink(path);
	return (rv);
}

/* Parses text written to a temporary file; returns its stderr. */
static int
parse_text(const char *text, struct authd_config *conf, char **errout)
{
	char	 path[PATH_MAX];
	int	 rv;

	tmp_path(path, sizeof(path), "conf");
	write_file(path, text);
	rv = parse_capture(path, conf, errout);
	unlink(path);
	return (rv);
}

static char *
print_string(const struct authd_config *conf)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ATF_REQUIRE((fp = open_memstream(&buf, &len)) != NULL);
	config_print(fp, conf);
	ATF_REQUIRE(fclose(fp) == 0);
	return (buf);
}

/* Replaces @NCPU@ in a golden file by the default number of keyholders. */
static char *
expand_ncpu(const char *text)
{
	struct authd_config	 def;
	char			 num[16], *out, *p;
	const char		*at;
	size_t			 len;

	config_defaults(&def);
	snprintf(num, sizeof(num), "%d", def.c_keyholders);
	len = strlen(text) + 16;
	ATF_REQUIRE((out = calloc(1, len)) != NULL);
	p = out;
	while ((at = strstr(text, "@NCPU@")) != NULL) {
		memcpy(p, text, at - text);
		p += at - text;
		memcpy(p, num, strlen(num));
		p += strlen(num);
		text = at + 6;
	}
	strlcpy(p, text, len - (p - out));
	return (out);
}

/* Parses the printed form of conf and requires the same structure. */
static void
check_roundtrip(const struct authd_config *conf)
{
	struct authd_config	 again;
	char			 path[PATH_MAX], *text, *err;

	text = print_string(conf);
	tmp_path(path, sizeof(path), "printed");
	write_file(path, text);
	if (parse_capture(path, &again, &err) != 0)
		atf_tc_fail("printed configuration does not parse: %s\n%s",
		    err, text);
	unlink(path);
	ATF_REQUIRE_STREQ(again.c_file, path);
	memcpy(again.c_file, conf->c_file, sizeof(again.c_file));
	if (memcmp(&again, conf, sizeof(again)) != 0)
		atf_tc_fail("round trip changed the configuration:\n%s", text);
	free(err);
	free(text);
}

ATF_TC(defaults);
ATF_TC_HEAD(defaults, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_defaults() sets the "
	    "documented defaults");
}
ATF_TC_BODY(defaults, tc)
{
	struct authd_config	 c;
	long			 ncpu;

	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	ATF_CHECK_EQ(c.c_nlisten, 1);
	ATF_CHECK_STREQ(c.c_listen[0].cl_addr, "127.0.0.1");
	ATF_CHECK_EQ(c.c_listen[0].cl_port, 8000);
	ATF_CHECK_EQ(c.c_workers, 2);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ATF_CHECK_EQ(c.c_keyholders, ncpu < 1 ? 1 : ncpu > 64 ? 64 : ncpu);
	ATF_CHECK_STREQ(c.c_user, "_authd");
	ATF_CHECK_STREQ(c.c_chroot, "/var/empty");
	ATF_CHECK_STREQ(c.c_control, "/var/run/authd.sock");
	ATF_CHECK_STREQ(c.c_pidfile, "");
	ATF_CHECK_STREQ(c.c_database, "dbname=authd");
	ATF_CHECK_EQ(c.c_db_pool, 4);
	ATF_CHECK_STREQ(c.c_redis_path, "");
	ATF_CHECK_STREQ(c.c_redis_host, "127.0.0.1");
	ATF_CHECK_EQ(c.c_redis_port, 6379);
	ATF_CHECK_EQ(c.c_redis_db, 0);
	ATF_CHECK_STREQ(c.c_keydir, "/etc/authd/keys");
	ATF_CHECK_STREQ(c.c_pepper, "");
	ATF_CHECK_STREQ(c.c_issuer, "http://127.0.0.1:8000");
	ATF_CHECK_EQ(c.c_alg, ALG_ES256);
	ATF_CHECK_EQ(c.c_access_ttl, 1800);
	ATF_CHECK_EQ(c.c_refresh_ttl, 604800);
	ATF_CHECK_EQ(c.c_refresh_grace, 10);
	ATF_CHECK_EQ(c.c_leeway, 30);
	ATF_CHECK_EQ(c.c_hash, HASH_ARGON2ID);
	ATF_CHECK_EQ(c.c_argon2_memory, 19456);
	ATF_CHECK_EQ(c.c_argon2_iterations, 2);
	ATF_CHECK_EQ(c.c_argon2_parallelism, 1);
	ATF_CHECK_EQ(c.c_bcrypt_cost, 12);
	ATF_CHECK_EQ(c.c_pw_min, 8);
	ATF_CHECK_EQ(c.c_pw_max, 128);
	ATF_CHECK_EQ(c.c_pw_upper, 1);
	ATF_CHECK_EQ(c.c_pw_lower, 0);
	ATF_CHECK_EQ(c.c_pw_digit, 1);
	ATF_CHECK_EQ(c.c_pw_special, 1);
	ATF_CHECK_STREQ(c.c_pw_denylist, "");
	ATF_CHECK_EQ(c.c_rate_per_minute, 100);
	ATF_CHECK_EQ(c.c_login_rate_per_minute, 20);
	ATF_CHECK_EQ(c.c_lockout_failures, 5);
	ATF_CHECK_EQ(c.c_lockout_window, 900);
	ATF_CHECK_EQ(c.c_lockout_time, 900);
	ATF_CHECK_EQ(c.c_addr_failures, 100);
	ATF_CHECK_EQ(c.c_max_body, 65536);
	ATF_CHECK_EQ(c.c_max_headers, 16384);
	ATF_CHECK_EQ(c.c_timeout, 30);
	ATF_CHECK_EQ(c.c_max_connections, 1024);
	ATF_CHECK_EQ(c.c_keyholder_queue, 64);
	ATF_CHECK_EQ(c.c_nproxies, 0);
	ATF_CHECK_EQ(c.c_norigins, 0);
	ATF_CHECK_EQ(c.c_nmetrics, 2);
	ATF_CHECK_STREQ(c.c_metrics[0].cn_str, "127.0.0.1");
	ATF_CHECK_EQ(c.c_metrics[0].cn_af, AF_INET);
	ATF_CHECK_EQ(c.c_metrics[0].cn_prefix, 32);
	ATF_CHECK_STREQ(c.c_metrics[1].cn_str, "::1");
	ATF_CHECK_EQ(c.c_metrics[1].cn_af, AF_INET6);
	ATF_CHECK_EQ(c.c_metrics[1].cn_prefix, 128);
	ATF_CHECK_EQ(c.c_hsts, 0);
	ATF_CHECK_STREQ(c.c_public_url, c.c_issuer);
	ATF_CHECK_STREQ(c.c_smtp_url, "");
	ATF_CHECK_STREQ(c.c_smtp_from, "authd@localhost");
	ATF_CHECK_EQ(c.c_require_verified, 0);
	ATF_CHECK_EQ(c.c_access_log, 1);
	ATF_CHECK_EQ(c.c_sandbox, 1);
	/* Every unused byte is zero: the structure is compared and sent. */
	ATF_CHECK_EQ(c.c_user[sizeof(c.c_user) - 1], 0);
	ATF_CHECK_EQ(c.c_listen[3].cl_port, 0);
	ATF_CHECK_EQ(c.c_proxies[0].cn_af, 0);
}

ATF_TC(sample);
ATF_TC_HEAD(sample, tc)
{
	atf_tc_set_md_var(tc, "descr", "etc/authd.conf parses and round "
	    "trips");
}
ATF_TC_BODY(sample, tc)
{
	struct authd_config	 c;
	char			*err;

	goto_configdir(tc);
	if (parse_capture("../../etc/authd.conf", &c, &err) != 0)
		atf_tc_fail("etc/authd.conf: %s", err);
	ATF_CHECK_STREQ(err, "");
	ATF_CHECK_STREQ(c.c_user, "_authd");
	ATF_CHECK_STREQ(c.c_keydir, "/etc/authd/keys");
	ATF_CHECK_STREQ(c.c_database, "dbname=authd");
	ATF_CHECK_STREQ(c.c_redis_host, "127.0.0.1");
	ATF_CHECK_EQ(c.c_nlisten, 2);
	ATF_CHECK_STREQ(c.c_issuer, c.c_public_url);
	check_roundtrip(&c);
	free(err);
}

ATF_TC(golden);
ATF_TC_HEAD(golden, tc)
{
	atf_tc_set_md_var(tc, "descr", "regress/config/NAME.in gives "
	    "NAME.ok when printed, or the messages of NAME.err");
}
ATF_TC_BODY(golden, tc)
{
	struct authd_config	 c;
	struct dirent		*de;
	DIR			*dir;
	char			 name[NAME_MAX + 1], ok[NAME_MAX + 8];
	char			 errf[NAME_MAX + 8];
	char			*err, *want, *got, *expanded;
	size_t			 len;
	int			 nok = 0, nerr = 0, rv;

	goto_configdir(tc);
	ATF_REQUIRE((dir = opendir(".")) != NULL);
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".in") != 0)
			continue;
		strlcpy(name, de->d_name, sizeof(name));
		name[len - 3] = '\0';
		snprintf(ok, sizeof(ok), "%s.ok", name);
		snprintf(errf, sizeof(errf), "%s.err", name);
		rv = parse_capture(de->d_name, &c, &err);
		if (access(ok, F_OK) == 0) {
			if (rv != 0) {
				atf_tc_fail_nonfatal("%s: %s", de->d_name, err);
				free(err);
				continue;
			}
			ATF_CHECK_STREQ_MSG(err, "", "%s", de->d_name);
			want = read_file(ok);
			expanded = expand_ncpu(want);
			got = print_string(&c);
			ATF_CHECK_STREQ_MSG(got, expanded, "%s", de->d_name);
			check_roundtrip(&c);
			free(want);
			free(expanded);
			free(got);
			nok++;
		} else if (access(errf, F_OK) == 0) {
			ATF_CHECK_EQ_MSG(rv, -1, "%s", de->d_name);
			want = read_file(errf);
			ATF_CHECK_STREQ_MSG(err, want, "%s", de->d_name);
			/* config_errors() keeps what went to stderr. */
			ATF_CHECK_STREQ_MSG(config_errors(), want, "%s",
			    de->d_name);
			free(want);
			nerr++;
		} else
			atf_tc_fail_nonfatal("%s has neither .ok nor .err",
			    de->d_name);
		free(err);
	}
	closedir(dir);
	/* Nothing passes by finding no files. */
	ATF_CHECK(nok >= 6);
	ATF_CHECK(nerr >= 2);
}

ATF_TC(unknown_keyword);
ATF_TC_HEAD(unknown_keyword, tc)
{
	atf_tc_set_md_var(tc, "descr", "unknown keywords are errors with "
	    "their line");
}
ATF_TC_BODY(unknown_keyword, tc)
{
	struct authd_config	 c;
	char			*err;

	ATF_CHECK_EQ(parse_text("prefork 2\n\nfrobnicate yes\n"
	    "token {\n\tleway 30\n}\nkeyholders 2\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":3: unknown keyword \"frobnicate\"\n")
	    != NULL, "%s", err);
	ATF_CHECK_MSG(strstr(err, ":5: unknown keyword \"leway\"\n") != NULL,
	    "%s", err);
	/* Exactly those two: the parser recovered after each. */
	ATF_CHECK_EQ(strchr(strchr(err, '\n') + 1, '\n')[1], '\0');
	free(err);

	/* A keyword outside its block. */
	ATF_CHECK_EQ(parse_text("leeway 30\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: keyword \"leeway\" not allowed here")
	    != NULL, "%s", err);
	free(err);

	/* Keywords are case sensitive. */
	ATF_CHECK_EQ(parse_text("Prefork 2\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: unknown keyword \"Prefork\"") != NULL,
	    "%s", err);
	free(err);
}

ATF_TC(bad_port);
ATF_TC_HEAD(bad_port, tc)
{
	atf_tc_set_md_var(tc, "descr", "ports outside 1-65535 are refused");
}
ATF_TC_BODY(bad_port, tc)
{
	struct authd_config	 c;
	char			*err;

	ATF_CHECK_EQ(parse_text("listen on 127.0.0.1 port 0\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: port 0 out of range") != NULL, "%s",
	    err);
	free(err);
	ATF_CHECK_EQ(parse_text("\nredis host \"h\" port 65536\n", &c, &err),
	    -1);
	ATF_CHECK_MSG(strstr(err, ":2: port 65536 out of range") != NULL,
	    "%s", err);
	free(err);
	ATF_CHECK_EQ(parse_text("listen on ::1 port -1\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: port -1 out of range") != NULL, "%s",
	    err);
	free(err);
	ATF_CHECK_EQ(parse_text("listen on ::1 port 99999999999999999999\n",
	    &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: number 99999999999999999999 is too "
	    "large") != NULL, "%s", err);
	free(err);

	/* The limits themselves are accepted. */
	ATF_CHECK_EQ(parse_text("listen on ::1 port 1\nlisten on ::1 port "
	    "65535\n", &c, &err), 0);
	ATF_CHECK_EQ(c.c_nlisten, 2);
	ATF_CHECK_EQ(c.c_listen[0].cl_port, 1);
	ATF_CHECK_EQ(c.c_listen[1].cl_port, 65535);
	free(err);
}

ATF_TC(ranges);
ATF_TC_HEAD(ranges, tc)
{
	atf_tc_set_md_var(tc, "descr", "numbers are checked at both ends");
}
ATF_TC_BODY(ranges, tc)
{
	static const struct {
		const char	*text;
		int		 ok;
	} cases[] = {
		{ "prefork 1\n", 0 }, { "prefork 64\n", 0 },
		{ "prefork 65\n", -1 }, { "keyholders 0\n", -1 },
		{ "keyholders 64\n", 0 },
		{ "token { access lifetime 0 }\n", -1 },
		{ "token { refresh lifetime -5 }\n", -1 },
		{ "password { hash argon2id memory 8 }\n", 0 },
		{ "password { hash argon2id memory 4194304 }\n", 0 },
		{ "password { hash argon2id memory 4194305 }\n", -1 },
		{ "password { hash argon2id iterations 0 }\n", -1 },
		{ "password { hash argon2id parallelism 17 }\n", -1 },
		{ "password { hash argon2id memory 8 parallelism 2 }\n", -1 },
		{ "password { hash bcrypt cost 3 }\n", -1 },
		{ "password { hash bcrypt cost 31 }\n", 0 },
		{ "password { length 1 1 }\n", 0 },
		{ "password { length 1024 1024 }\n", 0 },
		{ "password { length 2 1 }\n", -1 },
		{ "password { require none }\n", 0 },
		{ "password { require none digit }\n", -1 },
		{ "limits { body 1023 }\n", -1 },
		{ "hsts 0\n", 0 }, { "hsts -1\n", -1 },
		{ "database pool 0\n", -1 },
		{ "listen on 1.2.3.4\nlisten on 1.2.3.5\nlisten on 1.2.3.6\n"
		  "listen on 1.2.3.7\n", 0 },
		{ "listen on 1.2.3.4\nlisten on 1.2.3.5\nlisten on 1.2.3.6\n"
		  "listen on 1.2.3.7\nlisten on 1.2.3.8\n", -1 },
		{ "listen on 1.2.3.4\nlisten on 1.2.3.4 port 8000\n", -1 },
		{ "listen on 10.0.0.0/8\n", -1 },
		{ "cors origin \"https://a.example\"\n"
		  "cors origin \"https://a.example\"\n", -1 },
		{ "cors origin \"http://a.example:80\"\n", -1 },
		{ "cors origin \"https://a.example:8443\"\n", 0 },
		{ "cors origin \"https://user@a.example\"\n", -1 },
		{ "smtp url \"http://mail\"\n", -1 },
		{ "smtp url \"\"\n", 0 },
		{ "smtp from \"a@b\\nBcc: x@y\"\n", -1 },
		{ "user \"\"\n", -1 },
		{ "database \"\"\n", -1 },
		{ "trusted proxy 10.0.0.0/8\ntrusted proxy 10.0.0.0/8\n", -1 },
	};
	struct authd_config	 c;
	char			*err;
	size_t			 i;
	int			 rv;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rv = parse_text(cases[i].text, &c, &err);
		ATF_CHECK_EQ_MSG(rv, cases[i].ok, "%s-> %s", cases[i].text,
		    err);
		if (rv == -1)
			ATF_CHECK_MSG(strstr(err, ":1: ") != NULL ||
			    strstr(err, ":2: ") != NULL ||
			    strstr(err, ":5: ") != NULL, "%s", err);
		free(err);
	}
}

ATF_TC(long_strings);
ATF_TC_HEAD(long_strings, tc)
{
	atf_tc_set_md_var(tc, "descr", "strings longer than their field are "
	    "errors, not truncated");
}
ATF_TC_BODY(long_strings, tc)
{
	struct authd_config	 c;
	char			 text[2048], *err;

	/* 63 bytes fit c_user[64], 64 do not. */
	snprintf(text, sizeof(text), "user \"%063d\"\n", 0);
	ATF_CHECK_EQ(parse_text(text, &c, &err), 0);
	ATF_CHECK_EQ(strlen(c.c_user), 63);
	free(err);
	snprintf(text, sizeof(text), "user \"%064d\"\n", 0);
	ATF_CHECK_EQ(parse_text(text, &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: user too long") != NULL, "%s", err);
	free(err);
	snprintf(text, sizeof(text), "database \"dbname=%01100d\"\n", 0);
	ATF_CHECK_EQ(parse_text(text, &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":1: database too long") != NULL, "%s",
	    err);
	free(err);
}

ATF_TC(macros);
ATF_TC_HEAD(macros, tc)
{
	atf_tc_set_md_var(tc, "descr", "undefined macros are errors; a -D "
	    "definition wins over the file's");
}
ATF_TC_BODY(macros, tc)
{
	struct authd_config	 c;
	char			*err;

	config_clear_macros();
	ATF_CHECK_EQ(parse_text("prefork 2\nkeyholders $nope\n", &c, &err),
	    -1);
	ATF_CHECK_MSG(strstr(err, ":2: macro \"nope\" not defined\n") != NULL,
	    "%s", err);
	/* The lexer's error is the only one for that line. */
	ATF_CHECK_EQ(strchr(err, '\n')[1], '\0');
	free(err);

	ATF_CHECK_EQ(parse_text("1bad-name = 3\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, "invalid macro name") != NULL, "%s", err);
	free(err);

	/* -D overrides the file's definition and defines new ones. */
	ATF_CHECK_EQ(config_define("workers=9"), 0);
	ATF_CHECK_EQ(config_define("db=host=db dbname=x"), 0);
	ATF_CHECK_EQ(config_define("empty="), 0);
	ATF_CHECK_EQ(config_define("noequals"), -1);
	ATF_CHECK_EQ(config_define("=value"), -1);
	ATF_CHECK_EQ(config_define("bad name=1"), -1);
	ATF_CHECK_EQ(parse_text("workers = 3\nprefork $workers\n"
	    "database $db\npidfile $empty\n", &c, &err), 0);
	ATF_CHECK_EQ(c.c_workers, 9);
	ATF_CHECK_STREQ(c.c_database, "host=db dbname=x");
	ATF_CHECK_STREQ(c.c_pidfile, "");
	free(err);

	/* -D definitions survive a reload; the file's own do not. */
	ATF_CHECK_EQ(parse_text("mine = 4\nprefork $workers\n", &c, &err), 0);
	ATF_CHECK_EQ(c.c_workers, 9);
	free(err);
	ATF_CHECK_EQ(parse_text("prefork $mine\n", &c, &err), -1);
	free(err);

	config_clear_macros();
	ATF_CHECK_EQ(parse_text("workers = 3\nprefork $workers\n", &c, &err),
	    0);
	ATF_CHECK_EQ(c.c_workers, 3);
	free(err);
}

ATF_TC(include_missing);
ATF_TC_HEAD(include_missing, tc)
{
	atf_tc_set_md_var(tc, "descr", "a missing include, a missing file "
	    "and an include loop are errors");
}
ATF_TC_BODY(include_missing, tc)
{
	struct authd_config	 c;
	char			 path[PATH_MAX], text[PATH_MAX + 64], *err;

	ATF_CHECK_EQ(parse_text("prefork 2\ninclude \"/nonexistent/x.conf\"\n"
	    "keyholders 2\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":2: include \"/nonexistent/x.conf\": No "
	    "such file or directory\n") != NULL, "%s", err);
	free(err);

	ATF_CHECK_EQ(parse_capture("/nonexistent/authd.conf", &c, &err), -1);
	ATF_CHECK_STREQ(err, "/nonexistent/authd.conf: No such file or "
	    "directory\n");
	free(err);

	ATF_CHECK_EQ(parse_capture("/", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, "Is a directory") != NULL, "%s", err);
	free(err);

	/* A file including itself stops at the nesting limit. */
	tmp_path(path, sizeof(path), "loop");
	snprintf(text, sizeof(text), "include \"%s\"\n", path);
	write_file(path, text);
	ATF_CHECK_EQ(parse_capture(path, &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, "nested too deep") != NULL, "%s", err);
	unlink(path);
	free(err);
}

ATF_TC(roundtrip);
ATF_TC_HEAD(roundtrip, tc)
{
	atf_tc_set_md_var(tc, "descr", "print, parse again: the same "
	    "structure, byte for byte");
}
ATF_TC_BODY(roundtrip, tc)
{
	struct authd_config	 c;
	char			*err;

	config_defaults(&c);
	check_roundtrip(&c);

	/* Strings that need escapes, the other hash, a socket. */
	ATF_CHECK_EQ(parse_text("pidfile \"/a \\\"b\\\" \\\\ c\"\n"
	    "redis socket \"/r.sock\"\n"
	    "password { hash bcrypt cost 5; require upper lower }\n"
	    "token { algorithm hs256; issuer \"https://x.example/\" }\n"
	    "trusted proxy 2001:db8::/32\ntrusted proxy 10.1.2.3/8\n"
	    "metrics from 192.168.0.0/16\n"
	    "require verified email yes\n", &c, &err), 0);
	ATF_CHECK_STREQ(c.c_pidfile, "/a \"b\" \\ c");
	ATF_CHECK_EQ(c.c_hash, HASH_BCRYPT);
	ATF_CHECK_EQ(c.c_alg, ALG_HS256);
	ATF_CHECK_STREQ(c.c_public_url, "https://x.example");
	check_roundtrip(&c);
	free(err);
}

ATF_TC(reparse);
ATF_TC_HEAD(reparse, tc)
{
	atf_tc_set_md_var(tc, "descr", "a second parse (a reload) starts "
	    "from the defaults");
}
ATF_TC_BODY(reparse, tc)
{
	struct authd_config	 a, b, def;
	char			*err;

	ATF_CHECK_EQ(parse_text("listen on ::1\nmetrics from 10.0.0.1\n"
	    "cors origin \"https://a.example\"\n", &a, &err), 0);
	ATF_CHECK_EQ(a.c_nlisten, 1);
	ATF_CHECK_EQ(a.c_nmetrics, 1);
	free(err);
	/* A failed parse in between leaves nothing behind. */
	ATF_CHECK_EQ(parse_text("token {\n\tissuer \"x", &b, &err), -1);
	free(err);
	ATF_CHECK_EQ(parse_text("# empty\n", &b, &err), 0);
	free(err);
	config_defaults(&def);
	memcpy(def.c_file, b.c_file, sizeof(def.c_file));
	ATF_CHECK(memcmp(&b, &def, sizeof(b)) == 0);
	ATF_CHECK_STREQ(config_errors(), "");
}

ATF_TC(syntax);
ATF_TC_HEAD(syntax, tc)
{
	atf_tc_set_md_var(tc, "descr", "comments, continuations, ';', "
	    "blocks on one line, no final newline");
}
ATF_TC_BODY(syntax, tc)
{
	struct authd_config	 c;
	char			*err;

	ATF_CHECK_EQ(parse_text("# comment\nprefork 3 # trailing\n"
	    "keyholders \\\n 5\nlimits { rate 7; timeout 8 }\n"
	    "token\n{\n\n leeway 1\n\n}\nhsts 9", &c, &err), 0);
	ATF_CHECK_STREQ(err, "");
	ATF_CHECK_EQ(c.c_workers, 3);
	ATF_CHECK_EQ(c.c_keyholders, 5);
	ATF_CHECK_EQ(c.c_rate_per_minute, 7);
	ATF_CHECK_EQ(c.c_timeout, 8);
	ATF_CHECK_EQ(c.c_leeway, 1);
	ATF_CHECK_EQ(c.c_hsts, 9);
	free(err);

	/* Line numbers count continued lines; NUL bytes are refused. */
	ATF_CHECK_EQ(parse_text("prefork \\\n 2\nbogus\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":3: unknown keyword \"bogus\"") != NULL,
	    "%s", err);
	free(err);
	ATF_CHECK_EQ(parse_text("prefork 2\n\001\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, ":2: invalid character 0x01") != NULL,
	    "%s", err);
	free(err);
	ATF_CHECK_EQ(parse_text("token { leeway 1\n", &c, &err), -1);
	ATF_CHECK_MSG(strstr(err, "end of file") != NULL, "%s", err);
	free(err);
}

ATF_TC(net_parse);
ATF_TC_HEAD(net_parse, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_net_parse() of IPv4 and IPv6 "
	    "addresses and networks");
}
ATF_TC_BODY(net_parse, tc)
{
	static const char	*bad[] = {
		"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/ 8", "10.0.0", "10.0.0.256", "::1/129", "::1/a",
		"example.com", "10.0.0.0/8/8", "fe80::1%eth0",
		"0123456789012345678901234567890123456789012345678901234567890"
		"123456789"
	};
	struct config_net	 n;
	uint8_t			 want[16];
	size_t			 i;

	ATF_REQUIRE_EQ(config_net_parse("10.1.2.3/8", &n), 0);
	ATF_CHECK_EQ(n.cn_af, AF_INET);
	ATF_CHECK_EQ(n.cn_prefix, 8);
	ATF_CHECK_STREQ(n.cn_str, "10.1.2.3/8");
	/* Host bits are cleared. */
	ATF_CHECK(n.cn_addr[0] == 10 && n.cn_addr[1] == 0 &&
	    n.cn_addr[2] == 0 && n.cn_addr[3] == 0);

	ATF_REQUIRE_EQ(config_net_parse("192.168.1.1", &n), 0);
	ATF_CHECK_EQ(n.cn_prefix, 32);
	ATF_REQUIRE_EQ(config_net_parse("0.0.0.0/0", &n), 0);
	ATF_CHECK_EQ(n.cn_prefix, 0);

	ATF_REQUIRE_EQ(config_net_parse("2001:db8:ffff::1/36", &n), 0);
	ATF_CHECK_EQ(n.cn_af, AF_INET6);
	ATF_CHECK_EQ(n.cn_prefix, 36);
	ATF_REQUIRE(inet_pton(AF_INET6, "2001:db8:f000::", want) == 1);
	ATF_CHECK(memcmp(n.cn_addr, want, 16) == 0);
	ATF_REQUIRE_EQ(config_net_parse("::1", &n), 0);
	ATF_CHECK_EQ(n.cn_prefix, 128);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&n, 0x5a, sizeof(n));
		ATF_CHECK_EQ_MSG(config_net_parse(bad[i], &n), -1, "%s",
		    bad[i]);
		ATF_CHECK_EQ_MSG(n.cn_af, 0, "%s", bad[i]);
	}
}

ATF_TC(net_match);
ATF_TC_HEAD(net_match, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_net_match() for IPv4, IPv6 "
	    "and IPv4-mapped addresses");
}
ATF_TC_BODY(net_match, tc)
{
	static const struct {
		const char	*net;
		const char	*addr;
		int		 match;
	} cases[] = {
		{ "10.0.0.0/8", "10.255.1.2", 1 },
		{ "10.0.0.0/8", "11.0.0.0", 0 },
		{ "10.0.0.0/8", "9.255.255.255", 0 },
		{ "172.16.0.0/12", "172.31.255.255", 1 },
		{ "172.16.0.0/12", "172.32.0.0", 0 },
		{ "127.0.0.1", "127.0.0.1", 1 },
		{ "127.0.0.1", "127.0.0.2", 0 },
		{ "0.0.0.0/0", "203.0.113.9", 1 },
		{ "0.0.0.0/0", "::1", 0 },
		{ "::1", "::1", 1 },
		{ "::1", "::2", 0 },
		{ "::1", "127.0.0.1", 0 },
		{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
		{ "2001:db8::/33", "2001:db8:8000::1", 0 },
		{ "::/0", "fe80::1", 1 },
		{ "127.0.0.1", "::ffff:127.0.0.1", 1 },
		{ "127.0.0.0/8", "::ffff:128.0.0.1", 0 },
		{ "::ffff:0:0/96", "::ffff:10.0.0.1", 1 },
	};
	struct config_net	 n;
	uint8_t			 addr[16];
	size_t			 i;
	int			 af;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ATF_REQUIRE_EQ(config_net_parse(cases[i].net, &n), 0);
		af = strchr(cases[i].addr, ':') != NULL ? AF_INET6 : AF_INET;
		ATF_REQUIRE(inet_pton(af, cases[i].addr, addr) == 1);
		ATF_CHECK_EQ_MSG(config_net_match(&n, af, addr),
		    cases[i].match, "%s in %s", cases[i].addr, cases[i].net);
	}
	ATF_CHECK_EQ(config_net_match(&n, AF_INET, NULL), 0);
	ATF_CHECK_EQ(config_net_match(&n, AF_UNIX, addr), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, defaults);
	ATF_TP_ADD_TC(tp, sample);
	ATF_TP_ADD_TC(tp, golden);
	ATF_TP_ADD_TC(tp, unknown_keyword);
	ATF_TP_ADD_TC(tp, bad_port);
	ATF_TP_ADD_TC(tp, ranges);
	ATF_TP_ADD_TC(tp, long_strings);
	ATF_TP_ADD_TC(tp, macros);
	ATF_TP_ADD_TC(tp, include_missing);
	ATF_TP_ADD_TC(tp, roundtrip);
	ATF_TP_ADD_TC(tp, reparse);
	ATF_TP_ADD_TC(tp, syntax);
	ATF_TP_ADD_TC(tp, net_parse);
	ATF_TP_ADD_TC(tp, net_match);
	return (atf_no_error());
}
