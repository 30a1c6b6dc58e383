/*
 * Unit tests of libauth/policy.c: every rule of the password policy,
 * length in characters, the username and email rule, and the deny list
 * (a small file written here and the list shipped in etc/).
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "config.h"
#include "password.h"
#include "policy.h"

#define MSG_MIN		"Password must be at least 8 characters"
#define MSG_MAX		"Password must be at most 128 characters"
#define MSG_UPPER	"Password must contain an uppercase letter"
#define MSG_LOWER	"Password must contain a lowercase letter"
#define MSG_DIGIT	"Password must contain a digit"
#define MSG_SPECIAL	"Password must contain a special character"
#define MSG_NAME	"Password must not contain the username or email"
#define MSG_COMMON	"Password is too common"

/* The policy of API.md: 8 to 128, upper, digit, special; no deny list. */
static void
t_conf(struct authd_config *conf)
{
	config_defaults(conf);
	conf->c_pw_min = 8;
	conf->c_pw_max = 128;
	conf->c_pw_upper = 1;
	conf->c_pw_lower = 0;
	conf->c_pw_digit = 1;
	conf->c_pw_special = 1;
	conf->c_pw_denylist[0] = '\0';
	policy_free();
	ATF_REQUIRE(policy_init(conf) == 0);
}

/* Exactly one violation, msg. */
static void
t_only(const struct authd_config *conf, const char *pw, const char *user,
    const char *email, const char *msg)
{
	struct policy_violations	 pv;
	size_t				 n;

	n = policy_check(conf, pw, user, email, &pv);
	ATF_CHECK_EQ_MSG(n, 1, "\"%s\": %zu violations, first \"%s\"", pw, n,
	    n > 0 ? pv.pv_msg[0] : "");
	ATF_CHECK_STREQ_MSG(pv.pv_msg[0], msg, "\"%s\"", pw);
}

static void
t_ok(const struct authd_config *conf, const char *pw, const char *user,
    const char *email)
{
	struct policy_violations	 pv;
	size_t				 n;

	n = policy_check(conf, pw, user, email, &pv);
	ATF_CHECK_EQ_MSG(n, 0, "\"%s\" refused: \"%s\"", pw,
	    n > 0 ? pv.pv_msg[0] : "");
}

static void
t_write(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) >= 0);
	ATF_REQUIRE(fclose(fp) == 0);
}

ATF_TC_WITHOUT_HEAD(min_length);
ATF_TC_BODY(min_length, tc)
{
	struct authd_config	 conf;

	t_conf(&conf);
	t_only(&conf, "Abcde1!", NULL, NULL, MSG_MIN);
	t_ok(&conf, "Abcdf1!x", NULL, NULL);
	conf.c_pw_min = 12;
	t_only(&conf, "Abcdf1!xyzw", NULL, NULL,
	    "Password must be at least 12 characters");
	t_ok(&conf, "Abcdf1!xyzwq", NULL, NULL);
}

ATF_TC_WITHOUT_HEAD(max_length);
ATF_TC_BODY(max_length, tc)
{
	struct authd_config	 conf;
	char			 pw[PASSWORD_MAX + 8];

	t_conf(&conf);
	memset(pw, 'a', sizeof(pw));
	memcpy(pw, "A1!", 3);
	pw[128] = '\0';
	t_ok(&conf, pw, NULL, NULL);
	pw[128] = 'a';
	pw[129] = '\0';
	t_only(&conf, pw, NULL, NULL, MSG_MAX);
	/* More bytes than a keyholder takes is too long whatever the max. */
	conf.c_pw_max = 1024;
	memset(pw, 'a', sizeof(pw));
	memcpy(pw, "A1!", 3);
	pw[PASSWORD_MAX] = '\0';
	t_ok(&conf, pw, NULL, NULL);
	pw[PASSWORD_MAX] = 'a';
	pw[PASSWORD_MAX + 1] = '\0';
	t_only(&conf, pw, NULL, NULL, "Password must be at most 1024 "
	    "characters");
}

/* Length counts characters, not bytes. */
ATF_TC_WITHOUT_HEAD(utf8_length);
ATF_TC_BODY(utf8_length, tc)
{
	struct authd_config	 conf;
	char			 pw[600];
	size_t			 i;

	t_conf(&conf);
	ATF_CHECK_EQ(policy_utf8_len(""), 0);
	ATF_CHECK_EQ(policy_utf8_len("\xc3\xa9t\xc3\xa9"), 3); /* été */
	ATF_CHECK_EQ(policy_utf8_len("\xe6\x97\xa5\xe6\x9c\xac"), 2);
	ATF_CHECK_EQ(policy_utf8_len("\xf0\x9f\x94\x91"), 1);	/* emoji */
	/* A malformed byte counts as one character. */
	ATF_CHECK_EQ(policy_utf8_len("a\xff" "b\xc3"), 4);

	/* "A1!" and 4 two-byte characters: 11 bytes, 7 characters. */
	t_only(&conf, "A1!\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL, NULL,
	    MSG_MIN);
	/* "A1!" and 5 of them: 8 characters. */
	t_ok(&conf, "A1!\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL,
	    NULL);
	/* "A1" and 126 four-byte emoji: 128 characters in 506 bytes. */
	strlcpy(pw, "A1", sizeof(pw));
	for (i = 0; i < 126; i++)
		strlcat(pw, "\xf0\x9f\x94\x91", sizeof(pw));
	t_ok(&conf, pw, NULL, NULL);
	strlcat(pw, "\xf0\x9f\x94\x91", sizeof(pw));
	t_only(&conf, pw, NULL, NULL, MSG_MAX);
}

ATF_TC_WITHOUT_HEAD(classes);
ATF_TC_BODY(classes, tc)
{
	struct authd_config	 conf;

	t_conf(&conf);
	t_only(&conf, "abcdef1!", NULL, NULL, MSG_UPPER);
	t_only(&conf, "Abcdefg!", NULL, NULL, MSG_DIGIT);
	t_only(&conf, "Abcdefg1", NULL, NULL, MSG_SPECIAL);
	/* A space and a non-letter symbol are special. */
	t_ok(&conf, "Abc defg1", NULL, NULL);
	t_ok(&conf, "Abcdefg1\xf0\x9f\x94\x91", NULL, NULL);
	conf.c_pw_lower = 1;
	t_only(&conf, "ABCDEF1!", NULL, NULL, MSG_LOWER);
	t_ok(&conf, "ABCDEf1!", NULL, NULL);
	/* No class required: anything long enough passes. */
	conf.c_pw_upper = conf.c_pw_lower = 0;
	conf.c_pw_digit = conf.c_pw_special = 0;
	t_ok(&conf, "correct horse battery staple", NULL, NULL);
	t_ok(&conf, "aaaaaaaa", NULL, NULL);
}

/* With the C.UTF-8 locale, letters beyond ASCII have their case. */
ATF_TC_WITHOUT_HEAD(unicode_classes);
ATF_TC_BODY(unicode_classes, tc)
{
	struct authd_config	 conf;
	locale_t		 l;

	if ((l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) ==
	    (locale_t)0)
		atf_tc_skip("no C.UTF-8 locale");
	freelocale(l);
	t_conf(&conf);
	conf.c_pw_lower = 1;
	/* "Écolé1!x": É upper, é lower. */
	t_ok(&conf, "\xc3\x89" "col\xc3\xa9" "1!x", NULL, NULL);
	/* "écolé1!x": no uppercase letter. */
	t_only(&conf, "\xc3\xa9" "col\xc3\xa9" "1!x", NULL, NULL, MSG_UPPER);
	/* CJK letters are letters, not special characters. */
	conf.c_pw_lower = 0;
	t_only(&conf, "A1\xe6\x97\xa5\xe6\x9c\xac\xe6\x97\xa5\xe6\x9c\xac"
	    "\xe6\x97\xa5\xe6\x9c\xac", NULL, NULL, MSG_SPECIAL);
	/* The username "émile" inside "Q1!ÉMILEx". */
	t_only(&conf, "Q1!\xc3\x89MILEx", "\xc3\xa9mile", NULL, MSG_NAME);
}

/* Every rule fails at once, each named once, in the documented order. */
ATF_TC_WITHOUT_HEAD(all_rules);
ATF_TC_BODY(all_rules, tc)
{
	struct authd_config		 conf;
	struct policy_violations	 pv;
	char				 path[] = "deny.txt";

	t_conf(&conf);
	t_write(path, "bob\n");
	strlcpy(conf.c_pw_denylist, path, sizeof(conf.c_pw_denylist));
	policy_free();
	ATF_REQUIRE(policy_init(&conf) == 0);
	conf.c_pw_lower = 1;
	ATF_REQUIRE_EQ(policy_check(&conf, "", NULL, NULL, &pv), 5);
	ATF_CHECK_STREQ(pv.pv_msg[0], MSG_MIN);
	ATF_CHECK_STREQ(pv.pv_msg[1], MSG_UPPER);
	ATF_CHECK_STREQ(pv.pv_msg[2], MSG_LOWER);
	ATF_CHECK_STREQ(pv.pv_msg[3], MSG_DIGIT);
	ATF_CHECK_STREQ(pv.pv_msg[4], MSG_SPECIAL);
	/* "bob": short, no upper/digit/special, the username, common. */
	ATF_REQUIRE_EQ(policy_check(&conf, "bob", "Bob", "bob@x.org", &pv), 6);
	ATF_CHECK_STREQ(pv.pv_msg[0], MSG_MIN);
	ATF_CHECK_STREQ(pv.pv_msg[1], MSG_UPPER);
	ATF_CHECK_STREQ(pv.pv_msg[2], MSG_DIGIT);
	ATF_CHECK_STREQ(pv.pv_msg[3], MSG_SPECIAL);
	ATF_CHECK_STREQ(pv.pv_msg[4], MSG_NAME);
	ATF_CHECK_STREQ(pv.pv_msg[5], MSG_COMMON);
	policy_free();
}

ATF_TC_WITHOUT_HEAD(username_email);
ATF_TC_BODY(username_email, tc)
{
	struct authd_config	 conf;

	t_conf(&conf);
	/* The username, in any case, anywhere in the password. */
	t_only(&conf, "xxAlice1!", "alice", "a@x.org", MSG_NAME);
	t_only(&conf, "1!ALICExx", "alice", "a@x.org", MSG_NAME);
	t_only(&conf, "Q1!alice", "ALICE", NULL, MSG_NAME);
	/* The local part of the email; the domain is not compared. */
	t_only(&conf, "Bobby.Tables9!", "someone", "bobby.tables@x.org",
	    MSG_NAME);
	t_ok(&conf, "Example.org9!", "someone", "bobby@example.org");
	/* Both at once are one rule, named once. */
	t_only(&conf, "Carol+carl9!", "carol", "carl@x.org", MSG_NAME);
	/* Names shorter than three characters are not compared. */
	t_ok(&conf, "Xabcdef1!", "ab", "ab@x.org");
	t_only(&conf, "Xabcdef1!", "abc", "zz@x.org", MSG_NAME);
	/* NULL names are not compared. */
	t_ok(&conf, "Q1!alicex", NULL, NULL);
}

ATF_TC_WITHOUT_HEAD(denylist_file);
ATF_TC_BODY(denylist_file, tc)
{
	struct authd_config		 conf;
	struct policy_violations	 pv;

	t_conf(&conf);
	/* CRLF lines, an empty line, mixed case and a duplicate. */
	t_write("deny.txt", "Dragon1!x\r\n\nMonkey-123\nmonkey-123\n"
	    "P\xc3\x84SSW\xc3\x96RD9!\n");
	strlcpy(conf.c_pw_denylist, "deny.txt", sizeof(conf.c_pw_denylist));
	policy_free();
	ATF_REQUIRE(policy_init(&conf) == 0);
	ATF_CHECK_EQ(policy_denylist_size(), 3);
	t_only(&conf, "DRAGON1!X", NULL, NULL, MSG_COMMON);
	ATF_CHECK_EQ(policy_check(&conf, "dragon1!x", NULL, NULL, &pv), 2);
	ATF_CHECK_STREQ(pv.pv_msg[0], MSG_UPPER);
	ATF_CHECK_STREQ(pv.pv_msg[1], MSG_COMMON);
	ATF_CHECK_EQ(policy_denied("dragon1!x"), 1);
	t_only(&conf, "MONKEY-123", NULL, NULL, MSG_COMMON);
	ATF_CHECK_EQ(policy_denied("Dragon1!"), 0);
	ATF_CHECK_EQ(policy_denied("Dragon1!xy"), 0);
	ATF_CHECK_EQ(policy_denied(""), 0);
	t_ok(&conf, "Dragon1!xy", NULL, NULL);
	policy_free();
}

ATF_TC_WITHOUT_HEAD(denylist_once);
ATF_TC_BODY(denylist_once, tc)
{
	struct authd_config	 conf;

	t_conf(&conf);
	t_write("one.txt", "First1!xx\n");
	t_write("two.txt", "Second1!x\n");
	strlcpy(conf.c_pw_denylist, "one.txt", sizeof(conf.c_pw_denylist));
	policy_free();
	ATF_REQUIRE(policy_init(&conf) == 0);
	/* A second init (a reload) keeps what was loaded. */
	strlcpy(conf.c_pw_denylist, "two.txt", sizeof(conf.c_pw_denylist));
	ATF_REQUIRE(policy_init(&conf) == 0);
	ATF_CHECK_EQ(policy_denied("first1!xx"), 1);
	ATF_CHECK_EQ(policy_denied("second1!x"), 0);
	/* Even when the file is gone by then (a chroot). */
	ATF_REQUIRE(unlink("one.txt") == 0);
	ATF_CHECK_EQ(policy_denied("FIRST1!XX"), 1);
	policy_free();
	ATF_CHECK_EQ(policy_denied("first1!xx"), 0);
}

ATF_TC_WITHOUT_HEAD(denylist_missing);
ATF_TC_BODY(denylist_missing, tc)
{
	struct authd_config	 conf;

	t_conf(&conf);
	strlcpy(conf.c_pw_denylist, "no-such-file",
	    sizeof(conf.c_pw_denylist));
	policy_free();
	errno = 0;
	ATF_CHECK_EQ(policy_init(&conf), -1);
	ATF_CHECK_EQ(errno, ENOENT);
	ATF_CHECK_EQ(policy_denylist_size(), 0);
}

ATF_TC(denylist_shipped);
ATF_TC_HEAD(denylist_shipped, tc)
{
	atf_tc_set_md_var(tc, "descr", "the shipped list of 10,000 common "
	    "passwords loads and matches without regard to case");
}
ATF_TC_BODY(denylist_shipped, tc)
{
	struct authd_config	 conf;
	const char		*src;

	t_conf(&conf);
	src = atf_tc_get_config_var_wd(tc, "srcdir", ".");
	snprintf(conf.c_pw_denylist, sizeof(conf.c_pw_denylist),
	    "%s/../../etc/common-passwords.txt", src);
	policy_free();
	if (policy_init(&conf) == -1)
		atf_tc_fail("%s: %s", conf.c_pw_denylist, strerror(errno));
	/* Entries that only differ in case count once. */
	ATF_CHECK_MSG(policy_denylist_size() >= 9900 &&
	    policy_denylist_size() <= 10000, "%zu entries",
	    policy_denylist_size());
	ATF_CHECK_EQ(policy_denied("password"), 1);
	ATF_CHECK_EQ(policy_denied("PaSsWoRd"), 1);
	ATF_CHECK_EQ(policy_denied("123456"), 1);
	ATF_CHECK_EQ(policy_denied("QWERTY"), 1);
	ATF_CHECK_EQ(policy_denied("Zq8#vW2!pL0@"), 0);
	/* Case-insensitive only: "password1" is listed, with a suffix not. */
	ATF_CHECK_EQ(policy_denied("password1x"), 0);
	policy_free();
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, min_length);
	ATF_TP_ADD_TC(tp, max_length);
	ATF_TP_ADD_TC(tp, utf8_length);
	ATF_TP_ADD_TC(tp, classes);
	ATF_TP_ADD_TC(tp, unicode_classes);
	ATF_TP_ADD_TC(tp, all_rules);
	ATF_TP_ADD_TC(tp, username_email);
	ATF_TP_ADD_TC(tp, denylist_file);
	ATF_TP_ADD_TC(tp, denylist_once);
	ATF_TP_ADD_TC(tp, denylist_missing);
	ATF_TP_ADD_TC(tp, denylist_shipped);
	return (atf_no_error());
}
