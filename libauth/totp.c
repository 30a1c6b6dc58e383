/*
 * HOTP and TOTP (see totp.h).
 */
#include <sys/types.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "totp.h"

int64_t
totp_hotp(const uint8_t *key, size_t keylen, uint64_t counter, int digits,
    enum totp_hash hash)
{
	const EVP_MD	*md;
	uint8_t		 msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen, off;
	uint32_t	 bin;
	int64_t		 mod = 1;
	int		 i;

	switch (hash) {
	case TOTP_SHA1:
		md = EVP_sha1();
		break;
	case TOTP_SHA256:
		md = EVP_sha256();
		break;
	case TOTP_SHA512:
		md = EVP_sha512();
		break;
	default:
		return (-1);
	}
	if (digits < 6 || digits > 9)
		return (-1);
	for (i = 7; i >= 0; i--) {
		msg[i] = counter & 0xff;
		counter >>= 8;
	}
	if (HMAC(md, key, keylen, msg, sizeof(msg), mac, &maclen) == NULL)
		return (-1);
	/* RFC 4226 5.3: dynamic truncation. */
	off = mac[maclen - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	    ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8) |
	    (uint32_t)mac[off + 3];
	sodium_memzero(mac, sizeof(mac));
	for (i = 0; i < digits; i++)
		mod *= 10;
	return ((int64_t)(bin % mod));
}

static int
totp_parse(const char *code, uint32_t *val)
{
	uint32_t	 v = 0;
	int		 i;

	for (i = 0; i < TOTP_DIGITS; i++) {
		if (code[i] < '0' || code[i] > '9')
			return (-1);
		v = v * 10 + (code[i] - '0');
	}
	if (code[TOTP_DIGITS] != '\0')
		return (-1);
	*val = v;
	return (0);
}

int
totp_verify(const uint8_t *key, size_t keylen, const char *code,
    uint64_t now, uint64_t last_step, uint64_t *step)
{
	uint64_t	 t = now / TOTP_STEP, s;
	uint32_t	 want, got;
	int64_t		 c;
	int		 found = 0;

	if (totp_parse(code, &want) == -1)
		return (0);
	/* Every candidate is computed, so the time does not tell which. */
	for (s = t - 1; s <= t + 1; s++) {
		if ((c = totp_hotp(key, keylen, s, TOTP_DIGITS,
		    TOTP_SHA1)) < 0)
			return (0);
		got = (uint32_t)c;
		if (sodium_memcmp(&got, &want, sizeof(got)) == 0 &&
		    s > last_step && !found) {
			*step = s;
			found = 1;
		}
	}
	return (found);
}

int
totp_base32(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	static const char	 alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t			 i, o = 0;
	uint32_t		 buf = 0;
	int			 bits = 0;

	for (i = 0; i < len; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			if (o + 1 >= outlen)
				return (-1);
			out[o++] = alphabet[(buf >> (bits - 5)) & 0x1f];
			bits -= 5;
		}
	}
	if (bits > 0) {
		if (o + 1 >= outlen)
			return (-1);
		out[o++] = alphabet[(buf << (5 - bits)) & 0x1f];
	}
	out[o] = '\0';
	return (0);
}
