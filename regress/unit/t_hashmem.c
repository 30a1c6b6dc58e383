/*
 * Unit tests of libauth/hashmem.c: argon2 hashes computed in the working
 * area kept between hashes are the hashes libsodium computes alone, and
 * the area is lent only inside the window, only once at a time, only
 * for what fits, and gives its pages back when released.  Linked as the
 * keyholder is (the Makefile's HASHMEM_LIBS), so this file's own mmap(2)
 * calls are wrapped too.
 */
/*
 * With _FILE_OFFSET_BITS=64 (libpq's and libbsd's cflags) glibc names
 * mmap(2) mmap64, which the wrap does not cover; libsodium calls mmap.
 */
#undef _FILE_OFFSET_BITS
#include <sys/types.h>
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "config.h"
#include "hashmem.h"
#include "password.h"

#define T_KIB		1024
#define T_AREA		((size_t)T_KIB * 1024)

/* crypto_pwhash of pw with a fixed salt and m = kib KiB, t = 1. */
static void
t_raw(const char *pw, size_t kib, uint8_t out[32])
{
	uint8_t	 salt[crypto_pwhash_SALTBYTES];

	memset(salt, 0x5a, sizeof(salt));
	ATF_REQUIRE(crypto_pwhash(out, 32, pw, strlen(pw), salt, 1,
	    kib * 1024, crypto_pwhash_ALG_ARGON2ID13) == 0);
}

/* Anonymous memory resident in this process, in KiB. */
static long
t_rss_anon(void)
{
	FILE	*f;
	char	 line[128];
	long	 kib = -1;

	ATF_REQUIRE((f = fopen("/proc/self/status", "r")) != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld", &kib) == 1)
			break;
	fclose(f);
	ATF_REQUIRE(kib >= 0);
	return (kib);
}

ATF_TC_WITHOUT_HEAD(same_hash);
ATF_TC_BODY(same_hash, tc)
{
	uint8_t	 alone[32], area[32];

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE(hashmem_init(T_AREA) == 0);
	t_raw("correct horse", T_KIB, alone);
	ATF_CHECK_EQ(hashmem_served(), 0);

	hashmem_enter();
	t_raw("correct horse", T_KIB, area);
	hashmem_leave();
	ATF_CHECK_EQ(hashmem_served(), 1);
	ATF_CHECK(memcmp(alone, area, sizeof(area)) == 0);
}

/* What one hash leaves in the area never reaches the next. */
ATF_TC_WITHOUT_HEAD(stale_area);
ATF_TC_BODY(stale_area, tc)
{
	uint8_t	 alone[32], area[32];

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE(hashmem_init(T_AREA) == 0);
	t_raw("battery staple", T_KIB, alone);
	hashmem_enter();
	t_raw("correct horse", T_KIB, area);
	t_raw("battery staple", T_KIB, area);
	hashmem_leave();
	ATF_CHECK_EQ(hashmem_served(), 2);
	ATF_CHECK(memcmp(alone, area, sizeof(area)) == 0);
}

/* Hash strings made in the area verify outside it, and the reverse. */
ATF_TC_WITHOUT_HEAD(password_strings);
ATF_TC_BODY(password_strings, tc)
{
	struct password_params	 pp;
	char			 in[PASSWORD_HASH_MAX], out[PASSWORD_HASH_MAX];
	int			 rh;

	memset(&pp, 0, sizeof(pp));
	ATF_REQUIRE(password_init() == 0);
	pp.pp_hash = HASH_ARGON2ID;
	pp.pp_argon2_memory = T_KIB;
	pp.pp_argon2_iterations = 1;
	pp.pp_argon2_parallelism = 1;
	ATF_REQUIRE(hashmem_init(T_AREA) == 0);

	ATF_REQUIRE(password_hash(&pp, "pw one", out, sizeof(out)) == 0);
	hashmem_enter();
	ATF_REQUIRE(password_hash(&pp, "pw two", in, sizeof(in)) == 0);
	ATF_CHECK_EQ(password_verify(&pp, "pw one", out, &rh), 1);
	ATF_CHECK_EQ(password_verify(&pp, "pw two", out, &rh), 0);
	hashmem_leave();
	ATF_CHECK_EQ(hashmem_served(), 3);
	ATF_CHECK_EQ(password_verify(&pp, "pw two", in, &rh), 1);
	ATF_CHECK_EQ(password_verify(&pp, "pw one", in, &rh), 0);
	ATF_CHECK_EQ(hashmem_served(), 3);
}

/* A hash with more memory than the area maps its own. */
ATF_TC_WITHOUT_HEAD(too_large);
ATF_TC_BODY(too_large, tc)
{
	uint8_t	 alone[32], big[32];

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE(hashmem_init(T_AREA) == 0);
	t_raw("pw", 4 * T_KIB, alone);
	hashmem_enter();
	t_raw("pw", 4 * T_KIB, big);
	hashmem_leave();
	ATF_CHECK_EQ(hashmem_served(), 0);
	ATF_CHECK(memcmp(alone, big, sizeof(big)) == 0);
}

/*
 * Only read-write private anonymous mappings, one at a time: what else
 * is mapped meanwhile (guard pages, a second mapping) is a real one.
 */
ATF_TC_WITHOUT_HEAD(lent_once);
ATF_TC_BODY(lent_once, tc)
{
	const int	 rw = PROT_READ | PROT_WRITE;
	const int	 anon = MAP_PRIVATE | MAP_ANONYMOUS;
	void		*a, *b, *c, *n;

	ATF_REQUIRE(hashmem_init(T_AREA) == 0);
	a = mmap(NULL, 4096, rw, anon, -1, 0);
	ATF_REQUIRE(a != MAP_FAILED);
	ATF_CHECK_EQ(hashmem_served(), 0);
	ATF_REQUIRE(munmap(a, 4096) == 0);

	hashmem_enter();
	n = mmap(NULL, 4096, PROT_NONE, anon, -1, 0);
	ATF_REQUIRE(n != MAP_FAILED);
	ATF_CHECK_EQ(hashmem_served(), 0);
	a = mmap(NULL, 4096, rw, anon | MAP_POPULATE, -1, 0);
	ATF_REQUIRE(a != MAP_FAILED);
	ATF_CHECK_EQ(hashmem_served(), 1);
	b = mmap(NULL, 4096, rw, anon, -1, 0);
	ATF_REQUIRE(b != MAP_FAILED);
	ATF_CHECK(b != a);
	ATF_CHECK_EQ(hashmem_served(), 1);
	/* Busy: not given up, and not given back to the kernel either. */
	ATF_CHECK_EQ(hashmem_init(2 * T_AREA), -1);
	ATF_REQUIRE(munmap(b, 4096) == 0);
	ATF_REQUIRE(munmap(a, 4096) == 0);
	c = mmap(NULL, 4096, rw, anon, -1, 0);
	ATF_CHECK(c == a);
	ATF_CHECK_EQ(hashmem_served(), 2);
	ATF_REQUIRE(munmap(c, 4096) == 0);
	ATF_REQUIRE(munmap(n, 4096) == 0);
	hashmem_leave();
}

/* Released, the area's pages are no longer resident. */
ATF_TC_WITHOUT_HEAD(release);
ATF_TC_BODY(release, tc)
{
	uint8_t	 out[32];
	long	 before, used, after;

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE(hashmem_init(16 * T_AREA) == 0);
	before = t_rss_anon();
	hashmem_enter();
	t_raw("pw", 16 * T_KIB, out);
	hashmem_leave();
	used = t_rss_anon();
	ATF_CHECK_MSG(used - before >= 14 * 1024,
	    "the hash left %ld KiB resident", used - before);
	hashmem_release();
	after = t_rss_anon();
	ATF_CHECK_MSG(used - after >= 14 * 1024,
	    "release gave back %ld KiB", used - after);
	/* Still usable afterwards. */
	hashmem_enter();
	t_raw("pw", 16 * T_KIB, out);
	hashmem_leave();
	ATF_CHECK_EQ(hashmem_served(), 2);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, same_hash);
	ATF_TP_ADD_TC(tp, stale_area);
	ATF_TP_ADD_TC(tp, password_strings);
	ATF_TP_ADD_TC(tp, too_large);
	ATF_TP_ADD_TC(tp, lent_once);
	ATF_TP_ADD_TC(tp, release);
	return (atf_no_error());
}
