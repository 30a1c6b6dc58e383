/*
 * AES-256-GCM sealing of stored secrets (see seal.h); the key's file is
 * sealkey.c's.
 */
#include <sys/types.h>

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "seal.h"

#define SEAL_VERSION	1
#define SEAL_NONCE	12
#define SEAL_TAG	16

int
seal_encrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad,
    const uint8_t *pt, size_t ptlen, uint8_t *out, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		*nonce = out + 1, *ct = out + 1 + SEAL_NONCE;
	int		 n, rv = -1;

	if (ptlen > SEAL_MAX_PLAIN || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	out[0] = SEAL_VERSION;
	randombytes_buf(nonce, SEAL_NONCE);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad,
	    strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, pt, ptlen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
	    ct + ptlen) != 1)
		goto out;
	*outlen = ptlen + SEAL_OVERHEAD;
	rv = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	return (rv);
}

int
seal_decrypt(const uint8_t key[SEAL_KEY_LEN], const char *aad,
    const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen)
{
	EVP_CIPHER_CTX	*ctx;
	const uint8_t	*nonce = in + 1, *ct = in + 1 + SEAL_NONCE;
	size_t		 ctlen;
	uint8_t		 tag[SEAL_TAG];
	int		 n, rv = -1;

	if (inlen < SEAL_OVERHEAD || inlen > SEAL_MAX || in[0] != SEAL_VERSION)
		return (-1);
	ctlen = inlen - SEAL_OVERHEAD;
	memcpy(tag, ct + ctlen, SEAL_TAG);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (-1);
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad,
	    strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &n, ct, ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
	    tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + n, &n) != 1) {
		sodium_memzero(pt, ctlen);
		goto out;
	}
	*ptlen = ctlen;
	rv = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	return (rv);
}
