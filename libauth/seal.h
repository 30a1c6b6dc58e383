/*
 * Sealed secrets: AES-256-GCM under the seal key, which only the parent
 * (reading it) and the keyholders (using it) ever hold.  A sealed blob is
 * version(1) || nonce(12) || ciphertext || tag(16); the additional data
 * names the row the secret belongs to, so a blob copied to another row
 * does not open.  The key lives in "seal.key" in the key directory.
 */
#ifndef SEAL_H
#define SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN		32
#define SEAL_OVERHEAD		(1 + 12 + 16)
#define SEAL_MAX_PLAIN		256
#define SEAL_MAX		(SEAL_MAX_PLAIN + SEAL_OVERHEAD)
#define SEAL_KEY_FILE		"seal.key"

int	 seal_key_load(const char *dir, uint8_t key[SEAL_KEY_LEN], char *err,
	    size_t errlen);
/* Creates dir/seal.key (mode 0600) unless it exists; 1 created, 0, -1. */
int	 seal_key_generate(const char *dir, char *err, size_t errlen);
/* out must have room for ptlen + SEAL_OVERHEAD bytes.  0 or -1. */
int	 seal_encrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad,
	    const uint8_t *pt, size_t ptlen, uint8_t *out, size_t *outlen);
/* pt must have room for inlen - SEAL_OVERHEAD bytes.  0 or -1. */
int	 seal_decrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad,
	    const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen);

#endif /* SEAL_H */
