/*
 * HOTP/TOTP against the vectors of RFC 4226 appendix D and RFC 6238
 * appendix B, replay and window rules, and sealing of secrets.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "seal.h"
#include "totp.h"

static const uint8_t seed20[] = "12345678901234567890";
static const uint8_t seed32[] = "12345678901234567890123456789012";
static const uint8_t seed64[] = "1234567890123456789012345678901234567890"
    "123456789012345678901234";

ATF_TC_WITHOUT_HEAD(hotp_rfc4226);
ATF_TC_BODY(hotp_rfc4226, tc)
{
	static const int64_t	 want[10] = { 755224, 287082, 359152, 969429,
				    338314, 254676, 287922, 162583, 399871,
				    520489 };
	uint64_t		 i;

	for (i = 0; i < 10; i++)
		ATF_CHECK_EQ(totp_hotp(seed20, 20, i, 6, TOTP_SHA1), want[i]);
}

ATF_TC_WITHOUT_HEAD(totp_rfc6238);
ATF_TC_BODY(totp_rfc6238, tc)
{
	static const struct {
		uint64_t	 t;
		int64_t		 sha1, sha256, sha512;
	} v[] = {
		{ 59, 94287082, 46119246, 90693936 },
		{ 1111111109, 7081804, 68084774, 25091201 },
		{ 1111111111, 14050471, 67062674, 99943326 },
		{ 1234567890, 89005924, 91819424, 93441116 },
		{ 2000000000, 69279037, 90698825, 38618901 },
		{ 20000000000ULL, 65353130, 77737706, 47863826 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ATF_CHECK_EQ(totp_hotp(seed20, 20, v[i].t / 30, 8, TOTP_SHA1),
		    v[i].sha1);
		ATF_CHECK_EQ(totp_hotp(seed32, 32, v[i].t / 30, 8,
		    TOTP_SHA256), v[i].sha256);
		ATF_CHECK_EQ(totp_hotp(seed64, 64, v[i].t / 30, 8,
		    TOTP_SHA512), v[i].sha512);
		/* Six digits are the last six of eight. */
		ATF_CHECK_EQ(totp_hotp(seed20, 20, v[i].t / 30, 6, TOTP_SHA1),
		    v[i].sha1 % 1000000);
	}
}

static void
code_at(uint64_t t, char *buf, size_t len)
{
	snprintf(buf, len, "%06lld",
	    (long long)totp_hotp(seed20, 20, t / 30, 6, TOTP_SHA1));
}

ATF_TC_WITHOUT_HEAD(totp_window_and_replay);
ATF_TC_BODY(totp_window_and_replay, tc)
{
	uint64_t	 now = 1111111111, step = 0;
	char		 code[16];

	code_at(now, code, sizeof(code));
	ATF_CHECK_EQ(totp_verify(seed20, 20, code, now, 0, &step), 1);
	ATF_CHECK_EQ(step, now / 30);
	/* The same step again, or an earlier one, is a replay. */
	ATF_CHECK_EQ(totp_verify(seed20, 20, code, now, step, &step), 0);
	code_at(now - 30, code, sizeof(code));
	ATF_CHECK_EQ(totp_verify(seed20, 20, code, now, 0, &step), 1);
	code_at(now + 30, code, sizeof(code));
	ATF_CHECK_EQ(totp_verify(seed20, 20, code, now, 0, &step), 1);
	code_at(now - 60, code, sizeof(code));
	ATF_CHECK_EQ(totp_verify(seed20, 20, code, now, 0, &step), 0);
	code_at(now + 60, code, sizeof(code));
	ATF_CHECK_EQ(totp_verify(seed20, 20, code, now, 0, &step), 0);
}

ATF_TC_WITHOUT_HEAD(totp_malformed_codes);
ATF_TC_BODY(totp_malformed_codes, tc)
{
	const char	*bad[] = { "", "1", "01234", "1234567", " 123456",
			    "12345a", "123456 ", "+12345", "-12345" };
	uint64_t	 step;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ(totp_verify(seed20, 20, bad[i], 1111111111, 0,
		    &step), 0);
}

ATF_TC_WITHOUT_HEAD(base32_rfc4648);
ATF_TC_BODY(base32_rfc4648, tc)
{
	char	 out[64];

	ATF_REQUIRE_EQ(totp_base32(seed20, 20, out, sizeof(out)), 0);
	ATF_CHECK_STREQ(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	ATF_REQUIRE_EQ(totp_base32((const uint8_t *)"foobar", 6, out,
	    sizeof(out)), 0);
	ATF_CHECK_STREQ(out, "MZXW6YTBOI");
	ATF_CHECK_EQ(totp_base32(seed20, 20, out, 10), -1);
}

ATF_TC_WITHOUT_HEAD(seal_round_trip);
ATF_TC_BODY(seal_round_trip, tc)
{
	uint8_t	 key[SEAL_KEY_LEN], other[SEAL_KEY_LEN], box[SEAL_MAX];
	uint8_t	 pt[SEAL_MAX];
	size_t	 boxlen, ptlen;

	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	ATF_REQUIRE_EQ(seal_encrypt(key, "totp:1", seed20, 20, box, &boxlen),
	    0);
	ATF_CHECK_EQ(boxlen, 20 + SEAL_OVERHEAD);
	ATF_REQUIRE_EQ(seal_decrypt(key, "totp:1", box, boxlen, pt, &ptlen),
	    0);
	ATF_CHECK_EQ(ptlen, 20);
	ATF_CHECK(memcmp(pt, seed20, 20) == 0);
	/* Another row, another key, one flipped bit: nothing opens. */
	ATF_CHECK_EQ(seal_decrypt(key, "totp:2", box, boxlen, pt, &ptlen), -1);
	ATF_CHECK_EQ(seal_decrypt(other, "totp:1", box, boxlen, pt, &ptlen),
	    -1);
	box[boxlen - 1] ^= 1;
	ATF_CHECK_EQ(seal_decrypt(key, "totp:1", box, boxlen, pt, &ptlen), -1);
	ATF_CHECK_EQ(seal_decrypt(key, "totp:1", box, 10, pt, &ptlen), -1);
}

ATF_TC_WITHOUT_HEAD(seal_key_file);
ATF_TC_BODY(seal_key_file, tc)
{
	uint8_t	 k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN];
	char	 dir[] = "sealdir.XXXXXX", err[256], path[512];

	ATF_REQUIRE(mkdtemp(dir) != NULL);
	ATF_REQUIRE_EQ(seal_key_generate(dir, err, sizeof(err)), 1);
	ATF_REQUIRE_EQ(seal_key_generate(dir, err, sizeof(err)), 0);
	ATF_REQUIRE_EQ(seal_key_load(dir, k1, err, sizeof(err)), 0);
	ATF_REQUIRE_EQ(seal_key_load(dir, k2, err, sizeof(err)), 0);
	ATF_CHECK(memcmp(k1, k2, sizeof(k1)) == 0);
	snprintf(path, sizeof(path), "%s/%s", dir, SEAL_KEY_FILE);
	ATF_REQUIRE_EQ(chmod(path, 0640), 0);
	ATF_CHECK_EQ(seal_key_load(dir, k1, err, sizeof(err)), -1);
	ATF_CHECK(strstr(err, "group or others") != NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, hotp_rfc4226);
	ATF_TP_ADD_TC(tp, totp_rfc6238);
	ATF_TP_ADD_TC(tp, totp_window_and_replay);
	ATF_TP_ADD_TC(tp, totp_malformed_codes);
	ATF_TP_ADD_TC(tp, base32_rfc4648);
	ATF_TP_ADD_TC(tp, seal_round_trip);
	ATF_TP_ADD_TC(tp, seal_key_file);
	return (atf_no_error());
}
