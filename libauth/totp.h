/*
 * One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238).  authd uses
 * SHA-1, 6 digits and 30-second steps, as authenticator apps do; the
 * other hashes and lengths exist for the RFC test vectors.
 */
#ifndef TOTP_H
#define TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP		30
#define TOTP_DIGITS		6
#define TOTP_SECRET_LEN		20	/* 160 bits, RFC 4226 R6 */

enum totp_hash {
	TOTP_SHA1,
	TOTP_SHA256,
	TOTP_SHA512
};

/* The code for a counter, as a number below 10^digits; -1 on error. */
int64_t	 totp_hotp(const uint8_t *key, size_t keylen, uint64_t counter,
	    int digits, enum totp_hash);
/*
 * Checks a 6-digit code against the steps now-1, now and now+1 that are
 * later than last_step (a step is accepted once).  1 with *step set to
 * the matching step, 0 when no step matches.  The code must be exactly
 * six ASCII digits.
 */
int	 totp_verify(const uint8_t *key, size_t keylen, const char *code,
	    uint64_t now, uint64_t last_step, uint64_t *step);
/* RFC 4648 base32 without padding; out needs 8 * ceil(len / 5) + 1. */
int	 totp_base32(const uint8_t *in, size_t len, char *out, size_t outlen);

#endif /* TOTP_H */
