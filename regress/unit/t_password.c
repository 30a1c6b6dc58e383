/*
 * Unit tests of libauth/password.c: argon2id and bcrypt hashing, the
 * reference vectors of both, the pepper, imported bcrypt hashes and the
 * rehash decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "config.h"
#include "password.h"

/* Cheap parameters: these tests are about behaviour, not cost. */
static void
t_params(struct password_params *pp, enum config_hash h)
{
	memset(pp, 0, sizeof(*pp));
	ATF_REQUIRE(password_init() == 0);
	pp->pp_hash = h;
	pp->pp_argon2_memory = 1024;
	pp->pp_argon2_iterations = 1;
	pp->pp_argon2_parallelism = 1;
	pp->pp_bcrypt_cost = 4;
}

static const uint8_t t_pepper1[] = "pepper-one-0123456789abcdef";
static const uint8_t t_pepper2[] = "pepper-two-0123456789abcdef";

ATF_TC_WITHOUT_HEAD(argon2id_roundtrip);
ATF_TC_BODY(argon2id_roundtrip, tc)
{
	struct password_params	 pp;
	char			 h[PASSWORD_HASH_MAX];
	int			 rh = -1;

	t_params(&pp, HASH_ARGON2ID);
	ATF_REQUIRE(password_hash(&pp, "correct horse", h, sizeof(h)) == 0);
	ATF_CHECK_MSG(strncmp(h, "$argon2id$v=19$m=1024,t=1,p=1$", 30) == 0,
	    "hash %s", h);
	ATF_CHECK_EQ(password_verify(&pp, "correct horse", h, &rh), 1);
	ATF_CHECK_EQ(rh, 0);
	ATF_CHECK_EQ(password_verify(&pp, "correct horsf", h, &rh), 0);
	ATF_CHECK_EQ(password_verify(&pp, "", h, &rh), 0);
	ATF_CHECK_EQ(password_verify(&pp, "correct horse ", h, &rh), 0);
}

ATF_TC_WITHOUT_HEAD(argon2id_needs_rehash);
ATF_TC_BODY(argon2id_needs_rehash, tc)
{
	struct password_params	 pp, p2;
	char			 h[PASSWORD_HASH_MAX];
	int			 rh;

	t_params(&pp, HASH_ARGON2ID);
	ATF_REQUIRE(password_hash(&pp, "pw", h, sizeof(h)) == 0);

	p2 = pp;
	p2.pp_argon2_memory = 2048;
	rh = 0;
	ATF_CHECK_EQ(password_verify(&p2, "pw", h, &rh), 1);
	ATF_CHECK_EQ(rh, 1);

	p2 = pp;
	p2.pp_argon2_iterations = 2;
	rh = 0;
	ATF_CHECK_EQ(password_verify(&p2, "pw", h, &rh), 1);
	ATF_CHECK_EQ(rh, 1);

	p2 = pp;
	p2.pp_hash = HASH_BCRYPT;
	rh = 0;
	ATF_CHECK_EQ(password_verify(&p2, "pw", h, &rh), 1);
	ATF_CHECK_EQ(rh, 1);

	/* A wrong password never asks for a rehash. */
	rh = 0;
	ATF_CHECK_EQ(password_verify(&p2, "px", h, &rh), 0);
	ATF_CHECK_EQ(rh, 0);
}

/* Vectors of the reference implementation (phc-winner-argon2 test.c). */
ATF_TC_WITHOUT_HEAD(argon2id_reference_vectors);
ATF_TC_BODY(argon2id_reference_vectors, tc)
{
	struct password_params	 pp;
	int			 rh;

	t_params(&pp, HASH_ARGON2ID);
	pp.pp_argon2_memory = 256;
	pp.pp_argon2_iterations = 2;

	rh = -1;
	ATF_CHECK_EQ(password_verify(&pp, "password",
	    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"
	    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", &rh), 1);
	ATF_CHECK_EQ(rh, 0);
	ATF_CHECK_EQ(password_verify(&pp, "passwore",
	    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"
	    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", &rh), 0);

	/* p=2 verifies, and asks for a rehash since we make p=1. */
	rh = 0;
	ATF_CHECK_EQ(password_verify(&pp, "password",
	    "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$"
	    "bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", &rh), 1);
	ATF_CHECK_EQ(rh, 1);

	pp.pp_argon2_memory = 65536;
	rh = -1;
	ATF_CHECK_EQ(password_verify(&pp, "password",
	    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
	    "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", &rh), 1);
	ATF_CHECK_EQ(rh, 0);
	ATF_CHECK_EQ(password_verify(&pp, "differentpassword",
	    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
	    "C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94", &rh), 1);
	ATF_CHECK_EQ(password_verify(&pp, "password",
	    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
	    "C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94", &rh), 0);
}

ATF_TC_WITHOUT_HEAD(argon2id_parallelism_refused);
ATF_TC_BODY(argon2id_parallelism_refused, tc)
{
	struct password_params	 pp;
	char			 h[PASSWORD_HASH_MAX];

	t_params(&pp, HASH_ARGON2ID);
	pp.pp_argon2_parallelism = 4;
	ATF_CHECK_EQ(password_hash(&pp, "pw", h, sizeof(h)), -1);
	ATF_CHECK_EQ(h[0], '\0');
}

ATF_TC_WITHOUT_HEAD(unique_salts);
ATF_TC_BODY(unique_salts, tc)
{
	struct password_params	 pp;
	char			 a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	t_params(&pp, HASH_ARGON2ID);
	ATF_REQUIRE(password_hash(&pp, "same", a, sizeof(a)) == 0);
	ATF_REQUIRE(password_hash(&pp, "same", b, sizeof(b)) == 0);
	ATF_CHECK(strcmp(a, b) != 0);
	/* The salt field itself differs, not only the hash. */
	ATF_CHECK(strncmp(a, b, strrchr(a, '$') - a) != 0);

	pp.pp_hash = HASH_BCRYPT;
	ATF_REQUIRE(password_hash(&pp, "same", a, sizeof(a)) == 0);
	ATF_REQUIRE(password_hash(&pp, "same", b, sizeof(b)) == 0);
	ATF_CHECK(strncmp(a, b, strlen("$authd-bcrypt$2b$04$") + 22) != 0);
}

/* Openwall crypt_blowfish and jBCrypt vectors, imported as they are. */
static const struct {
	const char	*pw;
	const char	*hash;
} t_bcrypt_vectors[] = {
	{ "U*U",
	  "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" },
	{ "U*U*",
	  "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK" },
	{ "U*U*U",
	  "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a" },
	{ "",
	  "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy" },
	{ "0123456789abcdefghijklmnopqrstuvwxyz"
	  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
	  "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui" },
	{ "abcdefghijklmnopqrstuvwxyz",
	  "$2a$08$aTsUwsyowQuzRrDqFflhgekJ8d9/7Z3GV3UcgvzQW3J5zMyrTvlz." },
	{ "~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
	  "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO" },
	/* 2b and 2y differ from 2a only for 8-bit or long input. */
	{ "U*U",
	  "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" },
	{ "U*U",
	  "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" },
};

ATF_TC_WITHOUT_HEAD(bcrypt_reference_vectors);
ATF_TC_BODY(bcrypt_reference_vectors, tc)
{
	struct password_params	 pp;
	size_t			 i, nv;
	const char		*pw, *h;
	int			 rh;

	t_params(&pp, HASH_BCRYPT);
	/* Imported hashes see the raw password even with a pepper. */
	pp.pp_pepper = t_pepper1;
	pp.pp_pepperlen = sizeof(t_pepper1) - 1;
	nv = sizeof(t_bcrypt_vectors) / sizeof(t_bcrypt_vectors[0]);
	for (i = 0; i < nv; i++) {
		pw = t_bcrypt_vectors[i].pw;
		h = t_bcrypt_vectors[i].hash;
		rh = 0;
		ATF_CHECK_EQ_MSG(password_verify(&pp, pw, h, &rh), 1,
		    "vector %zu", i);
		ATF_CHECK_EQ_MSG(rh, 1, "vector %zu: imported, needs rehash",
		    i);
		rh = 0;
		ATF_CHECK_EQ_MSG(password_verify(&pp, "U*U*U*U", h, &rh), 0,
		    "vector %zu with a wrong password", i);
		ATF_CHECK_EQ(rh, 0);
	}
}

ATF_TC_WITHOUT_HEAD(bcrypt_raw_over_72_refused);
ATF_TC_BODY(bcrypt_raw_over_72_refused, tc)
{
	struct password_params	 pp;
	const char		*h72 =
	    "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
	char			 pw[128];
	int			 rh;

	t_params(&pp, HASH_BCRYPT);
	(void)snprintf(pw, sizeof(pw), "%s%s",
	    "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
	    "chars after 72 are ignored");
	/* Plain bcrypt would match on the first 72 bytes alone. */
	ATF_CHECK_EQ(password_verify(&pp, pw, h72, &rh), 0);
	pw[72] = '\0';
	ATF_CHECK_EQ(password_verify(&pp, pw, h72, &rh), 1);
}

ATF_TC_WITHOUT_HEAD(bcrypt_roundtrip);
ATF_TC_BODY(bcrypt_roundtrip, tc)
{
	struct password_params	 pp;
	char			 h[PASSWORD_HASH_MAX], pw[101];
	int			 rh;

	t_params(&pp, HASH_BCRYPT);
	ATF_REQUIRE(password_hash(&pp, "hunter2", h, sizeof(h)) == 0);
	ATF_CHECK_MSG(strncmp(h, "$authd-bcrypt$2b$04$", 20) == 0 &&
	    strlen(h) == 13 + 60, "hash %s", h);
	rh = -1;
	ATF_CHECK_EQ(password_verify(&pp, "hunter2", h, &rh), 1);
	ATF_CHECK_EQ(rh, 0);
	ATF_CHECK_EQ(password_verify(&pp, "hunter3", h, &rh), 0);

	/* Cost or algorithm changed: rehash. */
	pp.pp_bcrypt_cost = 5;
	ATF_CHECK_EQ(password_verify(&pp, "hunter2", h, &rh), 1);
	ATF_CHECK_EQ(rh, 1);
	pp.pp_bcrypt_cost = 4;
	pp.pp_hash = HASH_ARGON2ID;
	ATF_CHECK_EQ(password_verify(&pp, "hunter2", h, &rh), 1);
	ATF_CHECK_EQ(rh, 1);

	/* Pre-hashing keeps long passwords whole: byte 100 counts. */
	pp.pp_hash = HASH_BCRYPT;
	memset(pw, 'a', 100);
	pw[100] = '\0';
	ATF_REQUIRE(password_hash(&pp, pw, h, sizeof(h)) == 0);
	ATF_CHECK_EQ(password_verify(&pp, pw, h, &rh), 1);
	pw[99] = 'b';
	ATF_CHECK_EQ(password_verify(&pp, pw, h, &rh), 0);
	pw[99] = 'a';
	pw[80] = '\0';
	ATF_CHECK_EQ(password_verify(&pp, pw, h, &rh), 0);

	/* The wrapped string is not a plain bcrypt of the raw password. */
	ATF_REQUIRE(password_hash(&pp, "hunter2", h, sizeof(h)) == 0);
	ATF_CHECK_EQ(password_verify(&pp, "hunter2", h + 13, &rh), 0);
}

ATF_TC_WITHOUT_HEAD(pepper);
ATF_TC_BODY(pepper, tc)
{
	struct password_params	 pp, p1, p2;
	char			 h[PASSWORD_HASH_MAX];
	int			 rh;
	enum config_hash	 algs[] = { HASH_ARGON2ID, HASH_BCRYPT };
	size_t			 i;

	for (i = 0; i < 2; i++) {
		t_params(&pp, algs[i]);
		p1 = pp;
		p1.pp_pepper = t_pepper1;
		p1.pp_pepperlen = sizeof(t_pepper1) - 1;
		p2 = pp;
		p2.pp_pepper = t_pepper2;
		p2.pp_pepperlen = sizeof(t_pepper2) - 1;

		ATF_REQUIRE(password_hash(&p1, "secret", h, sizeof(h)) == 0);
		ATF_CHECK_EQ(password_verify(&p1, "secret", h, &rh), 1);
		ATF_CHECK_EQ(rh, 0);
		ATF_CHECK_EQ_MSG(password_verify(&p2, "secret", h, &rh), 0,
		    "alg %zu: wrong pepper", i);
		ATF_CHECK_EQ_MSG(password_verify(&pp, "secret", h, &rh), 0,
		    "alg %zu: no pepper", i);

		/* And a hash made without a pepper fails with one. */
		ATF_REQUIRE(password_hash(&pp, "secret", h, sizeof(h)) == 0);
		ATF_CHECK_EQ(password_verify(&pp, "secret", h, &rh), 1);
		ATF_CHECK_EQ(password_verify(&p1, "secret", h, &rh), 0);
	}
}

ATF_TC_WITHOUT_HEAD(garbage_hash);
ATF_TC_BODY(garbage_hash, tc)
{
	static const char *bad[] = {
		"",
		"garbage",
		"$argon2id$",
		"$argon2id$v=19$m=1024,t=1,p=1$",
		"$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$",
		"$argon2id$v=18$m=256,t=2,p=1$c29tZXNhbHQ$"
		    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$"
		    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$"
		    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=999999999,t=2,p=1$c29tZXNhbHQ$"
		    "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"
		    "iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW",
		"$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!",
		"$authd-bcrypt$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0Xou"
		    "QYb4YMJKvyOeW",
		"$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
		"*0",
	};
	struct password_params	 pp;
	size_t			 i;
	int			 rh;

	t_params(&pp, HASH_ARGON2ID);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rh = 7;
		ATF_CHECK_EQ_MSG(password_verify(&pp, "password", bad[i], &rh),
		    -1, "%s", bad[i]);
		ATF_CHECK_EQ(rh, 0);
	}
}

ATF_TC_WITHOUT_HEAD(length_limits);
ATF_TC_BODY(length_limits, tc)
{
	struct password_params	 pp;
	char			 h[PASSWORD_HASH_MAX], *pw;
	int			 rh;

	t_params(&pp, HASH_ARGON2ID);
	ATF_REQUIRE((pw = malloc(PASSWORD_MAX + 2)) != NULL);
	memset(pw, 'x', PASSWORD_MAX);
	pw[PASSWORD_MAX] = '\0';
	ATF_CHECK_EQ(password_hash(&pp, pw, h, sizeof(h)), 0);
	ATF_CHECK_EQ(password_verify(&pp, pw, h, &rh), 1);
	pw[PASSWORD_MAX] = 'x';
	pw[PASSWORD_MAX + 1] = '\0';
	ATF_CHECK_EQ(password_hash(&pp, pw, h, sizeof(h)), -1);
	free(pw);

	/* An output buffer too small fails rather than truncates. */
	ATF_CHECK_EQ(password_hash(&pp, "pw", h, 20), -1);
	pp.pp_hash = HASH_BCRYPT;
	ATF_CHECK_EQ(password_hash(&pp, "pw", h, 60), -1);
}

ATF_TC_WITHOUT_HEAD(dummy);
ATF_TC_BODY(dummy, tc)
{
	struct password_params	 pp;

	t_params(&pp, HASH_ARGON2ID);
	ATF_CHECK_EQ(password_dummy(&pp, "whatever"), 0);
	pp.pp_hash = HASH_BCRYPT;
	ATF_CHECK_EQ(password_dummy(&pp, "whatever"), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, argon2id_roundtrip);
	ATF_TP_ADD_TC(tp, argon2id_needs_rehash);
	ATF_TP_ADD_TC(tp, argon2id_reference_vectors);
	ATF_TP_ADD_TC(tp, argon2id_parallelism_refused);
	ATF_TP_ADD_TC(tp, unique_salts);
	ATF_TP_ADD_TC(tp, bcrypt_reference_vectors);
	ATF_TP_ADD_TC(tp, bcrypt_raw_over_72_refused);
	ATF_TP_ADD_TC(tp, bcrypt_roundtrip);
	ATF_TP_ADD_TC(tp, pepper);
	ATF_TP_ADD_TC(tp, garbage_hash);
	ATF_TP_ADD_TC(tp, length_limits);
	ATF_TP_ADD_TC(tp, dummy);
	return (atf_no_error());
}
