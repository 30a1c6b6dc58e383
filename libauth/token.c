/*
 * Signing keys and JSON Web Tokens.
 *
 * token_verify() caps the length, splits the token itself, decodes every
 * part with a strict base64url decoder (no padding, no stray bits), reads
 * the header with jansson refusing duplicate names, accepts only the
 * header names alg, kid and typ, pins the algorithm by exact name, picks
 * the key by kid, and checks the claims from its own parse of the
 * payload, so that a string or a float where a number belongs is refused
 * instead of read as 0.
 *
 * ES256 and RS256 signatures are made and checked here with OpenSSL's
 * EVP interface and keys parsed once (token_pkey_get): libjwt 1.10
 * parses the PEM key again on every call, which under OpenSSL 3 costs
 * twenty times the signature itself.  HS256 goes through libjwt, which
 * has no key to parse.
 *
 * ES256 signatures are kept in low-S form: token_sign() replaces s with
 * n - s when s > n/2 and token_verify() refuses a high s, so a signed
 * token has exactly one valid encoding.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "token.h"

#define TOKEN_HS_SECRETLEN	32
#define TOKEN_RSA_BITS		2048
#define TOKEN_ES256_SIGLEN	64
#define TOKEN_HS256_SIGLEN	32
#define TOKEN_CURRENT		"current"
#define TOKEN_CURRENT_TMP	"current.tmp"
#define TOKEN_SUFFIX		".pem"

/* The order n of P-256, and n/2 rounded down. */
static const uint8_t token_p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
};
static const uint8_t token_p256_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
	0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8
};

static void	 token_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static jwt_alg_t token_jwt_alg(enum config_alg);
static char	*token_b64url(const uint8_t *, size_t);
static uint8_t	*token_b64url_dec(const char *, size_t, size_t *);
static int	 token_read_fd(int, uint8_t **, size_t *);
static int	 token_write_file(int, const char *, const void *, size_t,
		    int);
static int	 token_read_current(int, char *, size_t);
static int	 token_pkey_check(EVP_PKEY *, enum config_alg, char *,
		    size_t);
static int	 token_pkey_pub(EVP_PKEY *, char **, size_t *);
static int	 token_pkey_kid(EVP_PKEY *, char *, size_t);
static int	 token_load_one(int, const char *, enum config_alg, int,
		    struct token_key *, char *, size_t, char *, size_t);
static int	 token_key_cmp(const void *, const void *);
static int	 token_es256_low_s_raw(uint8_t *);
static int	 token_header_check(const char *, size_t, enum config_alg,
		    char *);
static int	 token_claim_int(json_t *, const char *, int, int64_t *);
static int	 token_claim_str(json_t *, const char *, char *, size_t);
static int	 token_claims_check(const char *, size_t, const char *, int,
		    time_t, struct token_claims *);
static int	 token_jwk_add(json_t *, const struct token_key *);
static EVP_PKEY	*token_pkey_get(const struct token_key *, int);
static void	 token_pkey_flush(void);
static char	*token_sign_evp(const struct token_key *, const char *);
static int	 token_verify_evp(const struct token_key *, const char *,
		    size_t, const uint8_t *, size_t);

/*
 * Keys parsed from their PEM text, found again by that text: a parse
 * costs more than a signature.  Emptied whenever a key set is cleared.
 */
#define TOKEN_PKEY_CACHE	(2 * TOKEN_MAX_KEYS)
static struct token_pkey_entry {
	uint8_t		*tpe_pem;
	size_t		 tpe_len;
	int		 tpe_private;
	EVP_PKEY	*tpe_pkey;
} token_pkeys[TOKEN_PKEY_CACHE];
static int		 token_pkeys_next;

static void
token_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static jwt_alg_t
token_jwt_alg(enum config_alg alg)
{
	switch (alg) {
	case ALG_ES256:
		return (JWT_ALG_ES256);
	case ALG_RS256:
		return (JWT_ALG_RS256);
	case ALG_HS256:
		return (JWT_ALG_HS256);
	}
	return (JWT_ALG_INVAL);
}

static char *
token_b64url(const uint8_t *data, size_t len)
{
	size_t	 n;
	char	*s;

	n = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((s = malloc(n)) == NULL)
		return (NULL);
	sodium_bin2base64(s, n, data, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (s);
}

/*
 * Strict base64url: the whole of s[0..len) must be the alphabet without
 * padding, with no bits set past the last byte.  Returns a malloc'd
 * buffer with a NUL after the *outlen bytes, or NULL.
 */
static uint8_t *
token_b64url_dec(const char *s, size_t len, size_t *outlen)
{
	uint8_t		*out;
	const char	*end;
	size_t		 max = len / 4 * 3 + 3, i;

	/*
	 * libsodium's decoder reads some bytes outside the alphabet (0xff)
	 * as letters, which would give a token a second encoding.
	 */
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return (NULL);
	if (len == 0 || (out = malloc(max + 1)) == NULL)
		return (NULL);
	if (sodium_base642bin(out, max, s, len, NULL, outlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != s + len) {
		free(out);
		return (NULL);
	}
	out[*outlen] = '\0';
	return (out);
}

static int
token_read_fd(int fd, uint8_t **bufp, size_t *lenp)
{
	uint8_t	*buf;
	size_t	 len = 0;
	ssize_t	 n;

	if ((buf = malloc(TOKEN_FILE_MAX + 1)) == NULL)
		return (-1);
	for (;;) {
		n = read(fd, buf + len, TOKEN_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			freezero(buf, TOKEN_FILE_MAX + 1);
			return (-1);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TOKEN_FILE_MAX) {
			freezero(buf, TOKEN_FILE_MAX + 1);
			errno = EFBIG;
			return (-1);
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return (0);
}

/* Writes name in dfd with mode 0600; excl refuses an existing file. */
static int
token_write_file(int dfd, const char *name, const void *data, size_t len,
    int excl)
{
	const uint8_t	*p = data;
	ssize_t		 n;
	int		 fd, flags, save;

	flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    (excl ? O_EXCL : O_TRUNC);
	if ((fd = openat(dfd, name, flags, 0600)) == -1)
		return (-1);
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		save = errno;
		(void)unlinkat(dfd, name, 0);
		errno = save;
		return (-1);
	}
	return (0);
 fail:
	save = errno;
	(void)close(fd);
	(void)unlinkat(dfd, name, 0);
	errno = save;
	return (-1);
}

/* Reads the kid named by the "current" file: 0, or -1 with errno. */
static int
token_read_current(int dfd, char *kid, size_t kidlen)
{
	char	 buf[TOKEN_KID_LEN + 2];
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(dfd, TOKEN_CURRENT, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n == -1)
		return (-1);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!token_kid_valid(buf) || strlcpy(kid, buf, kidlen) >= kidlen) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

int
token_key_current(const char *dir, char *kid, size_t kidlen, char *err,
    size_t errlen)
{
	int	 dfd, r;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		token_err(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	r = token_read_current(dfd, kid, kidlen);
	if (r == -1)
		token_err(err, errlen, "%s/%s: %s", dir, TOKEN_CURRENT,
		    errno == EINVAL ? "not a valid key id" : strerror(errno));
	(void)close(dfd);
	return (r);
}

/* 0 when pk is a key for alg; otherwise -1 and the reason. */
static int
token_pkey_check(EVP_PKEY *pk, enum config_alg alg, char *why,
    size_t whylen)
{
	char	 group[64];
	size_t	 glen;

	switch (alg) {
	case ALG_ES256:
		if (!EVP_PKEY_is_a(pk, "EC")) {
			token_err(why, whylen, "not an EC key");
			return (-1);
		}
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group),
		    &glen) != 1 || strcmp(group, "prime256v1") != 0) {
			token_err(why, whylen, "not a P-256 key");
			return (-1);
		}
		return (0);
	case ALG_RS256:
		if (!EVP_PKEY_is_a(pk, "RSA")) {
			token_err(why, whylen, "not an RSA key");
			return (-1);
		}
		if (EVP_PKEY_get_bits(pk) < TOKEN_RSA_BITS) {
			token_err(why, whylen, "RSA key shorter than %d bits",
			    TOKEN_RSA_BITS);
			return (-1);
		}
		return (0);
	case ALG_HS256:
		break;
	}
	token_err(why, whylen, "not a key for %s", token_alg_name(alg));
	return (-1);
}

/* The public key as a malloc'd, NUL-terminated PEM. */
static int
token_pkey_pub(EVP_PKEY *pk, char **pem, size_t *pemlen)
{
	BIO	*bio;
	char	*data;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return (-1);
	if (PEM_write_bio_PUBKEY(bio, pk) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (*pem = malloc((size_t)n + 1)) == NULL) {
		BIO_free(bio);
		return (-1);
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	*pemlen = (size_t)n;
	BIO_free(bio);
	return (0);
}

/* kid: the first 16 hex digits of the SHA-256 of the public key DER. */
static int
token_pkey_kid(EVP_PKEY *pk, char *kid, size_t kidlen)
{
	unsigned char	*der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	int		 n, r;

	if ((n = i2d_PUBKEY(pk, &der)) <= 0)
		return (-1);
	r = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (r != 1 || kidlen < 17)
		return (-1);
	sodium_bin2hex(kid, 17, md, 8);
	return (0);
}

/*
 * Loads one key file.  Returns 0 when loaded, 1 when skipped (why says
 * why), -1 on an error (err says what).
 */
static int
token_load_one(int dfd, const char *name, enum config_alg alg,
    int with_private, struct token_key *tk, char *why, size_t whylen,
    char *err, size_t errlen)
{
	struct stat	 st;
	EVP_PKEY	*pk = NULL;
	BIO		*bio = NULL;
	uint8_t		*buf = NULL, *sec = NULL;
	size_t		 len = 0, seclen;
	int		 fd, ret = -1, ispem;

	memset(tk, 0, sizeof(*tk));
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		token_err(err, errlen, "%s: %s", name, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		token_err(err, errlen, "%s: %s", name, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		token_err(why, whylen, "not a regular file");
		ret = 1;
		goto done;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		token_err(err, errlen, "%s: key file is accessible by group "
		    "or others (mode %04o); chmod 600 it", name,
		    (unsigned int)(st.st_mode & 07777));
		goto done;
	}
	if (token_read_fd(fd, &buf, &len) == -1) {
		token_err(err, errlen, "%s: %s", name, strerror(errno));
		goto done;
	}
	ispem = strstr((char *)buf, "-----BEGIN") != NULL;

	tk->tk_alg = alg;
	if (alg == ALG_HS256) {
		if (ispem) {
			token_err(why, whylen, "a PEM key, not an HS256 "
			    "secret");
			ret = 1;
			goto done;
		}
		if ((sec = malloc(len + 1)) == NULL ||
		    sodium_base642bin(sec, len + 1, (char *)buf, len,
		    " \t\r\n", &seclen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0) {
			token_err(err, errlen, "%s: not a base64 secret", name);
			goto done;
		}
		if (seclen < TOKEN_HS_SECRETLEN) {
			token_err(err, errlen, "%s: secret shorter than %d "
			    "bytes", name, TOKEN_HS_SECRETLEN);
			goto done;
		}
		if (with_private) {
			tk->tk_priv = sec;
			tk->tk_privlen = seclen;
			sec = NULL;
		}
		ret = 0;
		goto done;
	}

	if (!ispem) {
		token_err(why, whylen, "not a PEM key");
		ret = 1;
		goto done;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		token_err(err, errlen, "%s: cannot read the private key", name);
		goto done;
	}
	if (token_pkey_check(pk, alg, why, whylen) == -1) {
		ret = 1;
		goto done;
	}
	if (token_pkey_pub(pk, &tk->tk_pub, &tk->tk_publen) == -1) {
		token_err(err, errlen, "%s: cannot derive the public key",
		    name);
		goto done;
	}
	if (with_private) {
		tk->tk_priv = buf;
		tk->tk_privlen = len;
		buf = NULL;
	}
	ret = 0;
 done:
	if (ret != 0) {
		free(tk->tk_pub);
		tk->tk_pub = NULL;
	}
	if (sec != NULL)
		freezero(sec, len + 1);
	if (buf != NULL)
		freezero(buf, TOKEN_FILE_MAX + 1);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	(void)close(fd);
	return (ret);
}

static int
token_key_cmp(const void *a, const void *b)
{
	const struct token_key	*ka = a, *kb = b;

	return (strcmp(ka->tk_kid, kb->tk_kid));
}

int
token_keyset_load(const char *dir, enum config_alg alg, int with_private,
    struct token_keyset *ks, char *err, size_t errlen)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d = NULL;
	char		 cur[TOKEN_KID_LEN], kid[TOKEN_KID_LEN];
	char		 why[128];
	size_t		 n, slen = sizeof(TOKEN_SUFFIX) - 1;
	int		 dfd, fd2, i, r;

	memset(ks, 0, sizeof(*ks));
	ks->ks_current = -1;
	if (token_alg_name(alg) == NULL) {
		token_err(err, errlen, "unknown algorithm %d", (int)alg);
		return (-1);
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		token_err(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	/* Whoever may write the directory may plant a key. */
	if (fstat(dfd, &st) == -1 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		token_err(err, errlen, "%s: key directory is writable by "
		    "group or others", dir);
		(void)close(dfd);
		return (-1);
	}
	if (token_read_current(dfd, cur, sizeof(cur)) == -1) {
		token_err(err, errlen, "%s: no current key (%s/%s: %s); run "
		    "authctl key generate", dir, dir, TOKEN_CURRENT,
		    errno == EINVAL ? "not a valid key id" : strerror(errno));
		(void)close(dfd);
		return (-1);
	}
	if ((fd2 = dup(dfd)) == -1 || (d = fdopendir(fd2)) == NULL) {
		token_err(err, errlen, "%s: %s", dir, strerror(errno));
		if (fd2 != -1)
			(void)close(fd2);
		(void)close(dfd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n <= slen || strcmp(de->d_name + n - slen,
		    TOKEN_SUFFIX) != 0)
			continue;
		if (n - slen >= sizeof(kid)) {
			log_warnx("%s/%s: skipped: name too long for a key id",
			    dir, de->d_name);
			continue;
		}
		memcpy(kid, de->d_name, n - slen);
		kid[n - slen] = '\0';
		if (!token_kid_valid(kid)) {
			log_warnx("%s/%s: skipped: not a valid key id", dir,
			    de->d_name);
			continue;
		}
		if (ks->ks_nkeys == TOKEN_MAX_KEYS) {
			token_err(err, errlen, "%s: more than %d keys", dir,
			    TOKEN_MAX_KEYS);
			goto fail;
		}
		r = token_load_one(dfd, de->d_name, alg, with_private,
		    &ks->ks_keys[ks->ks_nkeys], why, sizeof(why), err, errlen);
		if (r == -1)
			goto fail;
		if (r == 1) {
			log_warnx("%s/%s: skipped for %s: %s", dir,
			    de->d_name, token_alg_name(alg), why);
			continue;
		}
		(void)strlcpy(ks->ks_keys[ks->ks_nkeys].tk_kid, kid,
		    sizeof(ks->ks_keys[0].tk_kid));
		ks->ks_nkeys++;
	}
	/* Keys in a stable order, whatever readdir gives. */
	qsort(ks->ks_keys, (size_t)ks->ks_nkeys, sizeof(ks->ks_keys[0]),
	    token_key_cmp);
	for (i = 0; i < ks->ks_nkeys; i++)
		if (strcmp(ks->ks_keys[i].tk_kid, cur) == 0)
			ks->ks_current = i;
	if (ks->ks_current == -1) {
		token_err(err, errlen, "%s: current key %s is missing or not "
		    "an %s key", dir, cur, token_alg_name(alg));
		goto fail;
	}
	(void)closedir(d);
	(void)close(dfd);
	return (0);
 fail:
	(void)closedir(d);
	(void)close(dfd);
	token_keyset_clear(ks);
	return (-1);
}

void
token_keyset_clear(struct token_keyset *ks)
{
	token_pkey_flush();
	token_keyset_free(ks);
}

void
token_keyset_strip_private(struct token_keyset *ks)
{
	struct token_key	*tk;
	int			 i;

	token_pkey_flush();
	for (i = 0; i < ks->ks_nkeys; i++) {
		tk = &ks->ks_keys[i];
		if (tk->tk_priv != NULL)
			freezero(tk->tk_priv, tk->tk_privlen);
		tk->tk_priv = NULL;
		tk->tk_privlen = 0;
	}
}

int
token_key_generate(const char *dir, enum config_alg alg, int make_current,
    char *kid, size_t kidlen, char *err, size_t errlen)
{
	struct stat	 st;
	EVP_PKEY	*pk = NULL;
	BIO		*bio = NULL;
	uint8_t		 sec[TOKEN_HS_SECRETLEN], rnd[8];
	char		 newkid[TOKEN_KID_LEN], cur[TOKEN_KID_LEN];
	char		 name[TOKEN_KID_LEN + sizeof(TOKEN_SUFFIX)], line[80];
	char		*data = NULL, *b64 = NULL;
	size_t		 datalen = 0, n = 0;
	long		 bl;
	int		 dfd = -1, ret = -1, setcur;

	if (token_alg_name(alg) == NULL) {
		token_err(err, errlen, "unknown algorithm %d", (int)alg);
		return (-1);
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		token_err(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return (-1);
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(dfd, &st) == -1) {
		token_err(err, errlen, "%s: %s", dir, strerror(errno));
		goto done;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		token_err(err, errlen, "%s: key directory is writable by "
		    "group or others", dir);
		goto done;
	}

	if (alg == ALG_HS256) {
		if (RAND_priv_bytes(sec, sizeof(sec)) != 1 ||
		    RAND_bytes(rnd, sizeof(rnd)) != 1) {
			token_err(err, errlen, "no random bytes");
			goto done;
		}
		sodium_bin2hex(newkid, sizeof(newkid), rnd, sizeof(rnd));
		n = sodium_base64_encoded_len(sizeof(sec),
		    sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = calloc(1, n + 1)) == NULL) {
			token_err(err, errlen, "out of memory");
			goto done;
		}
		sodium_bin2base64(b64, n, sec, sizeof(sec),
		    sodium_base64_VARIANT_ORIGINAL);
		datalen = strlen(b64);
		b64[datalen++] = '\n';
		data = b64;
	} else {
		pk = alg == ALG_ES256 ? EVP_EC_gen("P-256") :
		    EVP_RSA_gen(TOKEN_RSA_BITS);
		if (pk == NULL || token_pkey_kid(pk, newkid,
		    sizeof(newkid)) == -1 ||
		    (bio = BIO_new(BIO_s_mem())) == NULL ||
		    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL,
		    NULL) != 1 || (bl = BIO_get_mem_data(bio, &data)) <= 0) {
			token_err(err, errlen, "cannot generate a %s key",
			    token_alg_name(alg));
			goto done;
		}
		datalen = (size_t)bl;
	}

	(void)snprintf(name, sizeof(name), "%s%s", newkid, TOKEN_SUFFIX);
	if (token_write_file(dfd, name, data, datalen, 1) == -1) {
		token_err(err, errlen, "%s/%s: %s", dir, name,
		    strerror(errno));
		goto done;
	}
	/*
	 * The new key becomes current when asked, or when the current one
	 * is missing; "current" is replaced by a rename so that a reader
	 * never sees it half written.
	 */
	setcur = make_current;
	if (!setcur) {
		if (token_read_current(dfd, cur, sizeof(cur)) == -1)
			setcur = 1;
		else {
			(void)snprintf(line, sizeof(line), "%s%s", cur,
			    TOKEN_SUFFIX);
			if (faccessat(dfd, line, F_OK, AT_SYMLINK_NOFOLLOW)
			    == -1)
				setcur = 1;
		}
	}
	if (setcur) {
		(void)snprintf(line, sizeof(line), "%s\n", newkid);
		if (token_write_file(dfd, TOKEN_CURRENT_TMP, line,
		    strlen(line), 0) == -1 ||
		    renameat(dfd, TOKEN_CURRENT_TMP, dfd,
		    TOKEN_CURRENT) == -1 || fsync(dfd) == -1) {
			token_err(err, errlen, "%s/%s: %s", dir, TOKEN_CURRENT,
			    strerror(errno));
			(void)unlinkat(dfd, TOKEN_CURRENT_TMP, 0);
			goto done;
		}
	}
	if (strlcpy(kid, newkid, kidlen) >= kidlen) {
		token_err(err, errlen, "kid buffer too small");
		goto done;
	}
	ret = 0;
 done:
	explicit_bzero(sec, sizeof(sec));
	if (b64 != NULL)
		freezero(b64, n + 1);
	if (bio != NULL) {
		/* The memory BIO holds the private PEM: clear it. */
		if ((bl = BIO_get_mem_data(bio, &data)) > 0)
			explicit_bzero(data, (size_t)bl);
		BIO_free(bio);
	}
	EVP_PKEY_free(pk);
	if (dfd != -1)
		(void)close(dfd);
	return (ret);
}

/* Puts a raw r || s ES256 signature in low-S form, in place.  0 or -1. */
static int
token_es256_low_s_raw(uint8_t *sig)
{
	BIGNUM	*n = NULL, *s = NULL;
	int	 ret = -1;

	if (memcmp(sig + 32, token_p256_half_n, 32) <= 0)
		return (0);
	if ((n = BN_bin2bn(token_p256_n, 32, NULL)) != NULL &&
	    (s = BN_bin2bn(sig + 32, 32, NULL)) != NULL &&
	    BN_sub(s, n, s) == 1 && BN_bn2binpad(s, sig + 32, 32) == 32)
		ret = 0;
	BN_free(n);
	BN_free(s);
	return (ret);
}

/*
 * Parses a key's PEM text once: the private key of tk with priv, the
 * public one otherwise.  NULL when tk has no such key or it does not
 * parse.
 */
static EVP_PKEY *
token_pkey_get(const struct token_key *tk, int priv)
{
	struct token_pkey_entry	*e;
	const uint8_t		*pem = priv ? tk->tk_priv :
				    (const uint8_t *)tk->tk_pub;
	size_t			 len = priv ? tk->tk_privlen : tk->tk_publen;
	EVP_PKEY		*pk;
	BIO			*bio;
	int			 i;

	if (pem == NULL || len == 0 || len > INT32_MAX)
		return (NULL);
	for (i = 0; i < TOKEN_PKEY_CACHE; i++) {
		e = &token_pkeys[i];
		if (e->tpe_pkey != NULL && e->tpe_private == priv &&
		    e->tpe_len == len && CRYPTO_memcmp(e->tpe_pem, pem,
		    len) == 0)
			return (e->tpe_pkey);
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return (NULL);
	pk = priv ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
	    PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL)
		return (NULL);
	e = &token_pkeys[token_pkeys_next];
	token_pkeys_next = (token_pkeys_next + 1) % TOKEN_PKEY_CACHE;
	if ((e->tpe_pem = malloc(len)) == NULL) {
		EVP_PKEY_free(pk);
		return (NULL);
	}
	memcpy(e->tpe_pem, pem, len);
	e->tpe_len = len;
	e->tpe_private = priv;
	e->tpe_pkey = pk;
	return (pk);
}

static void
token_pkey_flush(void)
{
	struct token_pkey_entry	*e;
	int			 i;

	for (i = 0; i < TOKEN_PKEY_CACHE; i++) {
		e = &token_pkeys[i];
		if (e->tpe_pem != NULL)
			freezero(e->tpe_pem, e->tpe_len);
		EVP_PKEY_free(e->tpe_pkey);
		memset(e, 0, sizeof(*e));
	}
	token_pkeys_next = 0;
}

/*
 * The signature of input with a private key: raw r || s in low-S form
 * for ES256 (RFC 7518 3.4), the PKCS #1 v1.5 block for RS256.
 */
static uint8_t *
token_evp_sign(const struct token_key *tk, const char *input,
    size_t *siglen)
{
	EVP_PKEY	*pk;
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	const BIGNUM	*r, *s;
	const uint8_t	*p;
	uint8_t		*der = NULL, *sig = NULL;
	size_t		 derlen = 0;

	if ((pk = token_pkey_get(tk, 1)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, NULL, &derlen, (const uint8_t *)input,
	    strlen(input)) != 1 || (der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(ctx, der, &derlen, (const uint8_t *)input,
	    strlen(input)) != 1)
		goto done;
	if (tk->tk_alg == ALG_RS256) {
		sig = der;
		der = NULL;
		*siglen = derlen;
		goto done;
	}
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    (sig = malloc(TOKEN_ES256_SIGLEN)) == NULL)
		goto done;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 ||
	    BN_bn2binpad(s, sig + 32, 32) != 32 ||
	    token_es256_low_s_raw(sig) == -1) {
		free(sig);
		sig = NULL;
		goto done;
	}
	*siglen = TOKEN_ES256_SIGLEN;
 done:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(der);
	return (sig);
}

/*
 * An ES256 or RS256 token of the claims, signed with tk.  The claims are
 * signed as they are written once they parse as one JSON object: they
 * are not rewritten, which cost as much as the rest of a signature but
 * the curve arithmetic.
 */
static char *
token_sign_evp(const struct token_key *tk, const char *claims_json)
{
	json_t		*claims;
	char		 hdr[64 + TOKEN_KID_LEN];
	char		*h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL;
	char		*tok = NULL;
	uint8_t		*sig = NULL;
	size_t		 siglen;
	int		 n;

	if ((claims = json_loads(claims_json, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return (NULL);
	n = json_is_object(claims);
	json_decref(claims);
	if (!n)
		return (NULL);
	/* A kid is [A-Za-z0-9_-] only (token_kid_valid): no escapes. */
	n = snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}", token_alg_name(tk->tk_alg), tk->tk_kid);
	if (n < 0 || (size_t)n >= sizeof(hdr) ||
	    (h64 = token_b64url((const uint8_t *)hdr, (size_t)n)) == NULL ||
	    (p64 = token_b64url((const uint8_t *)claims_json,
	    strlen(claims_json))) == NULL ||
	    asprintf(&input, "%s.%s", h64, p64) == -1) {
		input = NULL;
		goto done;
	}
	if ((sig = token_evp_sign(tk, input, &siglen)) == NULL ||
	    (s64 = token_b64url(sig, siglen)) == NULL ||
	    asprintf(&tok, "%s.%s", input, s64) == -1)
		tok = NULL;
 done:
	free(h64);
	free(p64);
	free(s64);
	free(sig);
	free(input);
	return (tok);
}

/*
 * Checks an ES256 or RS256 signature over the signing input (header
 * and payload, the first len bytes of the token).  0 when it is good.
 */
static int
token_verify_evp(const struct token_key *tk, const char *input, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_PKEY	*pk;
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	uint8_t		*der = NULL;
	const uint8_t	*check = sig;
	int		 derlen, ret = -1;

	if ((pk = token_pkey_get(tk, 0)) == NULL)
		return (-1);
	if (tk->tk_alg == ALG_ES256) {
		if (siglen != TOKEN_ES256_SIGLEN ||
		    (es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1)
			goto done;
		r = s = NULL;	/* es owns them */
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto done;
		check = der;
		siglen = (size_t)derlen;
	}
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(ctx, check, siglen, (const uint8_t *)input,
	    len) == 1)
		ret = 0;
 done:
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	OPENSSL_free(der);
	return (ret);
}

char *
token_sign(const struct token_keyset *ks, const char *claims_json)
{
	const struct token_key	*tk;
	jwt_t			*jwt = NULL;
	char			*tok = NULL;

	if (ks->ks_current < 0 || ks->ks_current >= ks->ks_nkeys)
		return (NULL);
	tk = &ks->ks_keys[ks->ks_current];
	if (tk->tk_priv == NULL || tk->tk_privlen > INT32_MAX)
		return (NULL);
	if (tk->tk_alg == ALG_ES256 || tk->tk_alg == ALG_RS256) {
		if ((tok = token_sign_evp(tk, claims_json)) == NULL)
			return (NULL);
	} else {
		if (jwt_new(&jwt) != 0)
			return (NULL);
		if (jwt_add_grants_json(jwt, claims_json) != 0 ||
		    jwt_add_header(jwt, "kid", tk->tk_kid) != 0 ||
		    jwt_set_alg(jwt, token_jwt_alg(tk->tk_alg), tk->tk_priv,
		    (int)tk->tk_privlen) != 0 ||
		    (tok = jwt_encode_str(jwt)) == NULL)
			goto fail;
		jwt_free(jwt);
		jwt = NULL;
	}
	/* A token we could not verify is no use to anyone. */
	if (strlen(tok) > TOKEN_MAX_LEN) {
		log_warnx("%s: token longer than %d bytes", __func__,
		    TOKEN_MAX_LEN);
		goto fail;
	}
	return (tok);
 fail:
	if (jwt != NULL)
		jwt_free(jwt);
	free(tok);
	return (NULL);
}

/*
 * Checks the decoded header: an object with only alg, kid and typ, alg
 * exactly the pinned name, typ "JWT" when present.  Copies kid.
 */
static int
token_header_check(const char *hdr, size_t len, enum config_alg pinned,
    char *kid)
{
	json_error_t	 jerr;
	json_t		*h, *v;
	const char	*name, *s, *alg = NULL;
	int		 ret = -1;

	if ((h = json_loadb(hdr, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return (-1);
	if (!json_is_object(h))
		goto done;
	kid[0] = '\0';
	json_object_foreach(h, name, v) {
		if (!json_is_string(v))
			goto done;
		s = json_string_value(v);
		/*
		 * Everything else (crit, jwk, jku, x5u, x5c, ...) asks the
		 * verifier for something we do not do: refuse it.
		 */
		if (strcmp(name, "alg") == 0)
			alg = s;
		else if (strcmp(name, "typ") == 0) {
			if (strcmp(s, "JWT") != 0)
				goto done;
		} else if (strcmp(name, "kid") == 0) {
			if (!token_kid_valid(s))
				goto done;
			(void)strlcpy(kid, s, TOKEN_KID_LEN);
		} else
			goto done;
	}
	if (alg == NULL || kid[0] == '\0' ||
	    strcmp(alg, token_alg_name(pinned)) != 0)
		goto done;
	ret = 0;
 done:
	json_decref(h);
	return (ret);
}

/* A JSON integer claim; required or not.  0, 1 when absent, -1. */
static int
token_claim_int(json_t *c, const char *name, int required, int64_t *v)
{
	json_t	*j;

	if ((j = json_object_get(c, name)) == NULL)
		return (required ? -1 : 1);
	if (!json_is_integer(j))
		return (-1);
	*v = json_integer_value(j);
	return (0);
}

static int
token_claim_str(json_t *c, const char *name, char *buf, size_t len)
{
	json_t	*j;

	if ((j = json_object_get(c, name)) == NULL || !json_is_string(j) ||
	    json_string_length(j) == 0 ||
	    strlen(json_string_value(j)) != json_string_length(j) ||
	    strlcpy(buf, json_string_value(j), len) >= len)
		return (-1);
	return (0);
}

static int
token_claims_check(const char *payload, size_t len, const char *issuer,
    int leeway, time_t now, struct token_claims *tc)
{
	json_error_t	 jerr;
	json_t		*c;
	const char	*errstr;
	int64_t		 nbf;
	int		 r, ret = -1;

	if ((c = json_loadb(payload, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return (-1);
	if (!json_is_object(c))
		goto done;
	if (token_claim_str(c, "iss", tc->tc_iss, sizeof(tc->tc_iss)) == -1 ||
	    strcmp(tc->tc_iss, issuer) != 0)
		goto done;
	if (token_claim_int(c, "exp", 1, &tc->tc_exp) != 0 ||
	    tc->tc_exp <= 0 || tc->tc_exp <= (int64_t)now - leeway)
		goto done;
	if (token_claim_int(c, "iat", 1, &tc->tc_iat) != 0 ||
	    tc->tc_iat < 0 || tc->tc_iat > (int64_t)now + leeway)
		goto done;
	if ((r = token_claim_int(c, "nbf", 0, &nbf)) == -1 ||
	    (r == 0 && nbf > (int64_t)now + leeway))
		goto done;
	if (token_claim_str(c, "sub", tc->tc_sub, sizeof(tc->tc_sub)) == -1 ||
	    tc->tc_sub[0] == '0' ||
	    strspn(tc->tc_sub, "0123456789") != strlen(tc->tc_sub))
		goto done;
	tc->tc_uid = strtonum(tc->tc_sub, 1, INT64_MAX, &errstr);
	if (errstr != NULL)
		goto done;
	if (token_claim_int(c, "cid", 1, &tc->tc_cid) != 0 ||
	    tc->tc_cid <= 0 ||
	    token_claim_int(c, "sid", 1, &tc->tc_sid) != 0 ||
	    tc->tc_sid <= 0)
		goto done;
	if (token_claim_str(c, "jti", tc->tc_jti, sizeof(tc->tc_jti)) == -1)
		goto done;
	if (token_claim_str(c, "type", tc->tc_type,
	    sizeof(tc->tc_type)) == -1 ||
	    (strcmp(tc->tc_type, "access") != 0 &&
	    strcmp(tc->tc_type, "refresh") != 0))
		goto done;
	ret = 0;
 done:
	json_decref(c);
	return (ret);
}

/* The signature sig over the first len bytes of token, by key tk; 0 when
   good. */
static int
token_signature_ok(const struct token_key *tk, enum config_alg pinned,
    const char *token, size_t len, const uint8_t *sig, size_t slen)
{
	const unsigned char	*key;
	size_t			 keylen;
	jwt_t			*jwt = NULL;
	int			 ret = -1;

	switch (pinned) {
	case ALG_ES256:
		if (slen != TOKEN_ES256_SIGLEN ||
		    memcmp(sig + 32, token_p256_half_n, 32) > 0)
			break;
		/* FALLTHROUGH */
	case ALG_RS256:
		ret = token_verify_evp(tk, token, len, sig, slen);
		break;
	case ALG_HS256:
		key = tk->tk_priv;
		keylen = tk->tk_privlen;
		if (slen != TOKEN_HS256_SIGLEN || key == NULL || keylen == 0 ||
		    keylen > INT32_MAX)
			break;
		if (jwt_decode(&jwt, token, key, (int)keylen) == 0 &&
		    jwt != NULL && jwt_get_alg(jwt) == token_jwt_alg(pinned))
			ret = 0;
		if (jwt != NULL)
			jwt_free(jwt);
		break;
	}
	return (ret);
}

static int
token_check(const struct token_keyset *ks, enum config_alg pinned,
    const char *issuer, int leeway, time_t now, const char *token,
    struct token_claims *claims, int signature)
{
	const struct token_key	*tk = NULL;
	const char		*d1, *d2, *alg;
	uint8_t			*hdr = NULL, *pay = NULL, *sig = NULL;
	char			 kid[TOKEN_KID_LEN];
	size_t			 len, hlen, plen, slen;
	int			 i, ret = TOKEN_INVALID;

	memset(claims, 0, sizeof(*claims));
	/* libjwt decodes with alloca: nothing long gets that far. */
	if ((len = strnlen(token, TOKEN_MAX_LEN + 1)) > TOKEN_MAX_LEN)
		return (TOKEN_INVALID);
	if ((alg = token_alg_name(pinned)) == NULL || leeway < 0)
		return (TOKEN_INVALID);
	if ((d1 = strchr(token, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return (TOKEN_INVALID);
	if ((hdr = token_b64url_dec(token, (size_t)(d1 - token),
	    &hlen)) == NULL ||
	    (pay = token_b64url_dec(d1 + 1, (size_t)(d2 - d1 - 1),
	    &plen)) == NULL ||
	    (sig = token_b64url_dec(d2 + 1, strlen(d2 + 1), &slen)) == NULL)
		goto done;
	if (token_header_check((char *)hdr, hlen, pinned, kid) == -1)
		goto done;
	for (i = 0; i < ks->ks_nkeys; i++)
		if (ks->ks_keys[i].tk_alg == pinned &&
		    strcmp(ks->ks_keys[i].tk_kid, kid) == 0)
			tk = &ks->ks_keys[i];
	if (tk == NULL)
		goto done;
	if (signature && token_signature_ok(tk, pinned, token,
	    (size_t)(d2 - token), sig, slen) == -1)
		goto done;
	if (token_claims_check((char *)pay, plen, issuer, leeway, now,
	    claims) == -1)
		goto done;
	ret = TOKEN_OK;
 done:
	free(hdr);
	free(pay);
	free(sig);
	if (ret != TOKEN_OK)
		memset(claims, 0, sizeof(*claims));
	return (ret);
}

int
token_verify(const struct token_keyset *ks, enum config_alg pinned,
    const char *issuer, int leeway, time_t now, const char *token,
    struct token_claims *claims)
{
	return (token_check(ks, pinned, issuer, leeway, now, token, claims,
	    1));
}

int
token_peek(const struct token_keyset *ks, enum config_alg pinned,
    const char *issuer, int leeway, time_t now, const char *token,
    struct token_claims *claims)
{
	return (token_check(ks, pinned, issuer, leeway, now, token, claims,
	    0));
}

/* Appends the JWK of tk to keys; HS256 keys are never published. */
static int
token_jwk_add(json_t *keys, const struct token_key *tk)
{
	EVP_PKEY	*pk = NULL;
	BIO		*bio = NULL;
	BIGNUM		*a = NULL, *b = NULL;
	json_t		*k = NULL;
	uint8_t		 buf[1024];
	char		*s1 = NULL, *s2 = NULL;
	int		 n1, n2, ret = -1;

	if (tk->tk_alg == ALG_HS256 || tk->tk_pub == NULL)
		return (0);
	if ((bio = BIO_new_mem_buf(tk->tk_pub, (int)tk->tk_publen)) == NULL ||
	    (pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL)
		goto done;
	if (tk->tk_alg == ALG_ES256) {
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X,
		    &a) != 1 ||
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y,
		    &b) != 1 ||
		    BN_bn2binpad(a, buf, 32) != 32 ||
		    (s1 = token_b64url(buf, 32)) == NULL ||
		    BN_bn2binpad(b, buf, 32) != 32 ||
		    (s2 = token_b64url(buf, 32)) == NULL)
			goto done;
		k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "kty", "EC", "crv", "P-256", "x", s1, "y", s2,
		    "kid", tk->tk_kid, "alg", "ES256", "use", "sig");
	} else {
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N,
		    &a) != 1 ||
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E,
		    &b) != 1 ||
		    (n1 = BN_num_bytes(a)) > (int)sizeof(buf) ||
		    BN_bn2bin(a, buf) != n1 ||
		    (s1 = token_b64url(buf, (size_t)n1)) == NULL ||
		    (n2 = BN_num_bytes(b)) > (int)sizeof(buf) ||
		    BN_bn2bin(b, buf) != n2 ||
		    (s2 = token_b64url(buf, (size_t)n2)) == NULL)
			goto done;
		k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
		    "kty", "RSA", "n", s1, "e", s2,
		    "kid", tk->tk_kid, "alg", "RS256", "use", "sig");
	}
	if (k == NULL || json_array_append_new(keys, k) != 0)
		goto done;
	ret = 0;
 done:
	BN_free(a);
	BN_free(b);
	free(s1);
	free(s2);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return (ret);
}

char *
token_jwks(const struct token_keyset *ks)
{
	json_t	*doc, *keys;
	char	*s = NULL;
	int	 i;

	if ((doc = json_object()) == NULL)
		return (NULL);
	if ((keys = json_array()) == NULL ||
	    json_object_set_new(doc, "keys", keys) != 0)
		goto done;
	for (i = 0; i < ks->ks_nkeys; i++)
		if (token_jwk_add(keys, &ks->ks_keys[i]) == -1)
			goto done;
	s = json_dumps(doc, JSON_COMPACT);
 done:
	json_decref(doc);
	return (s);
}

