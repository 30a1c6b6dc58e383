/*
 * AES-256-GCM sealing of stored secrets (see seal.h).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "seal.h"

#define SEAL_VERSION	1
#define SEAL_NONCE	12
#define SEAL_TAG	16

static int
seal_path(const char *dir, char *path, size_t len)
{
	int	 n;

	n = snprintf(path, len, "%s/%s", dir, SEAL_KEY_FILE);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

int
seal_key_load(const char *dir, uint8_t key[SEAL_KEY_LEN], char *err,
    size_t errlen)
{
	char		 path[1024], hex[SEAL_KEY_LEN * 2 + 2];
	struct stat	 st;
	ssize_t		 n;
	size_t		 binlen;
	int		 fd, rv = -1;

	if (seal_path(dir, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return (-1);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s: %s; run authctl key generate", path,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errlen, "%s: must not be readable by group or "
		    "others (chmod 600)", path);
		goto out;
	}
	n = read(fd, hex, sizeof(hex));
	if (n < SEAL_KEY_LEN * 2 || (n == sizeof(hex) && hex[n - 1] != '\n') ||
	    sodium_hex2bin(key, SEAL_KEY_LEN, hex, SEAL_KEY_LEN * 2, NULL,
	    &binlen, NULL) != 0 || binlen != SEAL_KEY_LEN) {
		snprintf(err, errlen, "%s: not a key of %d hex digits", path,
		    SEAL_KEY_LEN * 2);
		goto out;
	}
	rv = 0;
 out:
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return (rv);
}

int
seal_key_generate(const char *dir, char *err, size_t errlen)
{
	char	 path[1024], hex[SEAL_KEY_LEN * 2 + 2];
	uint8_t	 key[SEAL_KEY_LEN];
	size_t	 len;
	int	 fd, rv = -1;

	if (seal_path(dir, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return (-1);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		if (errno == EEXIST)
			return (0);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	len = strlen(hex);
	hex[len++] = '\n';
	if (write(fd, hex, len) != (ssize_t)len || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
	} else
		rv = 1;
	close(fd);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	return (rv);
}

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
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) != 1 ||
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
