/*
 * libFuzzer target: the second factor and sealed secrets (libauth/totp.c
 * and libauth/seal.c), which take bytes from clients and the database.
 * The first input byte picks the function; the rest is its input.
 *
 * Invariants (abort):
 * - totp_verify accepts only exactly six ASCII digits that equal the
 *   HOTP of the step it reports, a step within one of now and later than
 *   last_step, the first such step (checked against totp_hotp);
 * - totp_base32 writes only the RFC 4648 alphabet, ceil(8n/5) characters
 *   into a buffer of exactly the documented size, and decodes back to
 *   its input;
 * - seal_decrypt of bytes we did not seal never succeeds, and writes no
 *   more than inlen - SEAL_OVERHEAD bytes;
 * - seal_encrypt of the input then seal_decrypt gives the input back,
 *   and fails under another aad or with any one bit flipped.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"
#include "totp.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	 fuzz_key[SEAL_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};
/* RFC 6238's SHA-1 secret. */
static const uint8_t	 fuzz_totp_key[TOTP_SECRET_LEN] =
	"12345678901234567890";

static uint64_t
fuzz_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

/* Input: now (8 bytes), last_step (8 bytes), the code. */
static void
fuzz_totp(const uint8_t *data, size_t size)
{
	char		 code[64];
	uint64_t	 now, last, step = 0, t, s;
	int64_t		 want;
	size_t		 n, i;
	int		 ok, digits, match;

	if (size < 16)
		return;
	now = fuzz_u64(data);
	last = fuzz_u64(data + 8);
	/* Clocks before the second step do not happen. */
	if (now < 2 * TOTP_STEP || now > UINT64_MAX - 2 * TOTP_STEP)
		now = 2 * TOTP_STEP + now % ((uint64_t)1 << 40);
	/* Make a matching code reachable: the low bits pick a step's. */
	last = last % 4 == 0 ? 0 : now / TOTP_STEP - 3 + last % 4;
	n = size - 16 < sizeof(code) - 1 ? size - 16 : sizeof(code) - 1;
	memcpy(code, data + 16, n);
	code[n] = '\0';
	if (n == 1 && code[0] < 3) {
		/* Byte 0..2: the right code of step now-1..now+1. */
		want = totp_hotp(fuzz_totp_key, sizeof(fuzz_totp_key),
		    now / TOTP_STEP - 1 + (uint64_t)code[0], TOTP_DIGITS,
		    TOTP_SHA1);
		if (want < 0)
			abort();
		snprintf(code, sizeof(code), "%06lld", (long long)want);
	}
	ok = totp_verify(fuzz_totp_key, sizeof(fuzz_totp_key), code, now,
	    last, &step);
	t = now / TOTP_STEP;
	/* The reference: six ASCII digits, the first step that matches. */
	digits = strlen(code) == TOTP_DIGITS;
	for (i = 0; digits && i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			digits = 0;
	match = 0;
	for (s = t - 1; digits && !match && s <= t + 1; s++) {
		want = totp_hotp(fuzz_totp_key, sizeof(fuzz_totp_key), s,
		    TOTP_DIGITS, TOTP_SHA1);
		if (want < 0)
			abort();
		if (want == strtoll(code, NULL, 10) && s > last)
			match = 1;
	}
	if (match) {
		if (ok != 1 || step != s - 1)
			abort();
	} else if (ok != 0)
		abort();
}

static int
fuzz_b32val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= '2' && c <= '7')
		return (c - '2' + 26);
	return (-1);
}

static void
fuzz_base32(const uint8_t *data, size_t size)
{
	char		*out;
	uint8_t		*back;
	size_t		 outlen, len, i, o = 0;
	uint32_t	 buf = 0;
	int		 bits = 0, v;

	outlen = 8 * ((size + 4) / 5) + 1;
	if ((out = malloc(outlen)) == NULL ||
	    (back = malloc(size + 1)) == NULL)
		abort();
	if (totp_base32(data, size, out, outlen) != 0)
		abort();
	len = strlen(out);
	if (len != (size * 8 + 4) / 5)
		abort();
	for (i = 0; i < len; i++) {
		if ((v = fuzz_b32val(out[i])) == -1)
			abort();
		buf = buf << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			back[o++] = (uint8_t)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	if (o != size || (size > 0 && memcmp(back, data, size) != 0))
		abort();
	/* One byte short of the documented size must be refused. */
	if (size > 0 && totp_base32(data, size, out, len) != -1)
		abort();
	free(back);
	free(out);
}

static void
fuzz_unseal(const uint8_t *data, size_t size)
{
	uint8_t	*pt;
	size_t	 ptlen = 0;

	if (size < SEAL_OVERHEAD)
		pt = malloc(1);
	else
		pt = malloc(size - SEAL_OVERHEAD + 1);
	if (pt == NULL)
		abort();
	if (seal_decrypt(fuzz_key, "users:1:totp", data, size, pt,
	    &ptlen) == 0)
		abort();
	free(pt);
}

static void
fuzz_roundtrip(const uint8_t *data, size_t size)
{
	uint8_t	 box[SEAL_MAX], pt[SEAL_MAX_PLAIN + 1];
	size_t	 boxlen = 0, ptlen = 0, bit;

	if (size > SEAL_MAX_PLAIN) {
		if (seal_encrypt(fuzz_key, "aad", data, size, box,
		    &boxlen) != -1)
			abort();
		return;
	}
	if (seal_encrypt(fuzz_key, "aad", data, size, box, &boxlen) != 0 ||
	    boxlen != size + SEAL_OVERHEAD)
		abort();
	if (seal_decrypt(fuzz_key, "aad", box, boxlen, pt, &ptlen) != 0 ||
	    ptlen != size || (size > 0 && memcmp(pt, data, size) != 0))
		abort();
	if (seal_decrypt(fuzz_key, "aae", box, boxlen, pt, &ptlen) == 0)
		abort();
	bit = size > 0 ? (data[0] * 131u + size) % (boxlen * 8) : 0;
	box[bit / 8] ^= 1u << (bit % 8);
	if (seal_decrypt(fuzz_key, "aad", box, boxlen, pt, &ptlen) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return (0);
	switch (data[0] % 4) {
	case 0:
		fuzz_totp(data + 1, size - 1);
		break;
	case 1:
		fuzz_base32(data + 1, size - 1);
		break;
	case 2:
		fuzz_unseal(data + 1, size - 1);
		break;
	default:
		fuzz_roundtrip(data + 1, size - 1);
		break;
	}
	return (0);
}
