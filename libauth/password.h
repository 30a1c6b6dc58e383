/*
 * Password hashing, used only by keyholders (and by authctl, which runs
 * as the administrator).
 *
 * New hashes are argon2id (libsodium crypto_pwhash, PHC string
 * "$argon2id$v=19$m=...,t=...,p=...$salt$hash") or bcrypt (libcrypt
 * crypt_r, "$2b$NN$..."), as configured.  When a pepper is configured the
 * password is first turned into HMAC-SHA256(pepper, password), base64
 * encoded; this also keeps bcrypt's 72-byte truncation out of reach.
 * Hashes imported from the original service are plain bcrypt of the raw
 * password ("$2a$", "$2b$", "$2y$"); they verify as they are and always
 * ask for a rehash.
 *
 * bcrypt hashes made by authd are "$authd-bcrypt$2b$NN$...": the marker
 * says the input was base64(HMAC-SHA256(pepper, password)), with an empty
 * key when there is no pepper, so they are never confused with imported
 * ones and no password is ever truncated.  libsodium computes argon2id
 * with one lane only: password_hash() refuses a parallelism other than 1
 * (hashes with another p still verify, and ask for a rehash).
 */
#ifndef PASSWORD_H
#define PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define PASSWORD_HASH_MAX	256	/* longest hash string, with NUL */
#define PASSWORD_MAX		1024	/* longest password accepted */

struct password_params {
	enum config_hash pp_hash;
	uint32_t	 pp_argon2_memory;	/* KiB */
	uint32_t	 pp_argon2_iterations;
	uint32_t	 pp_argon2_parallelism;
	int		 pp_bcrypt_cost;
	const uint8_t	*pp_pepper;		/* NULL for none */
	size_t		 pp_pepperlen;
};

/* Fills params from the configuration; the pepper is set separately. */
void	 password_params_from_config(struct password_params *,
	    const struct authd_config *);
/* Must be called once before use (sodium_init). 0 or -1. */
int	 password_init(void);
/* Writes a NUL-terminated hash into out.  0 or -1. */
int	 password_hash(const struct password_params *, const char *password,
	    char *out, size_t outlen);
/*
 * 1 when the password matches, 0 when not, -1 when the hash is not one
 * we know.  *needs_rehash is set to 1 when the hash matched but was made
 * with another algorithm or other parameters than params.
 * The comparison is in constant time.
 */
int	 password_verify(const struct password_params *, const char *password,
	    const char *hash, int *needs_rehash);
/*
 * Does the work of one hash with params and discards it, so that a login
 * for an unknown user costs what a real one costs.  0 or -1.
 */
int	 password_dummy(const struct password_params *, const char *password);

#endif /* PASSWORD_H */
