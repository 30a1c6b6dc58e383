/*
 * Password hashing for the keyholders and authctl.
 *
 * Three kinds of hash strings are recognised:
 *
 *   $argon2id$v=19$m=M,t=T,p=P$salt$hash
 *	made by libsodium's crypto_pwhash_str_alg (16-byte salt, 32-byte
 *	hash).  The input is the password, or base64(HMAC-SHA256(pepper,
 *	password)) when a pepper is configured.  libsodium only computes
 *	p=1, so new hashes are refused for another parallelism, but hashes
 *	with other p (from the reference implementation) still verify.
 *
 *   $authd-bcrypt$2b$NN$<53 characters>
 *	bcrypt made by authd: the "$authd-bcrypt" marker is followed by an
 *	ordinary "$2b$" string.  Its input is always pre-hashed,
 *	base64(HMAC-SHA256(pepper, password)), with an empty key when no
 *	pepper is configured, so that bcrypt's 72-byte truncation never
 *	applies and no NUL byte reaches it.  The marker is what tells
 *	these apart from imported hashes, which see the raw password.
 *
 *   $2a$NN$..., $2b$NN$..., $2y$NN$...
 *	plain bcrypt imported from the original service, of the raw
 *	password.  Passwords over 72 bytes are refused for them rather
 *	than silently truncated, and a match always asks for a rehash.
 *
 * Argon2id hashes record neither whether a pepper was used nor which:
 * the pepper is fixed for the life of the hashes.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <sodium.h>

#include "config.h"
#include "log.h"
#include "password.h"

#define PASSWORD_SALTLEN	16	/* argon2id and bcrypt salt bytes */
#define PASSWORD_PREHASHLEN	45	/* base64 of 32 bytes, with NUL */
#define PASSWORD_BCRYPT_LEN	60	/* "$2b$NN$" + 22 salt + 31 hash */
#define PASSWORD_BCRYPT_RAWMAX	72	/* bytes bcrypt looks at */
#define PASSWORD_AUTHD_BCRYPT	"$authd-bcrypt"
/* Sanity bounds for parameters read back from hash strings. */
#define PASSWORD_ARGON2_MAXMEM	(4U * 1024 * 1024)	/* KiB: 4 GiB */
#define PASSWORD_ARGON2_MAXT	4096U
#define PASSWORD_ARGON2_MAXP	16U

enum password_kind {
	PW_UNKNOWN,
	PW_ARGON2ID,
	PW_BCRYPT_AUTHD,
	PW_BCRYPT_IMPORTED
};

struct password_argon2 {
	uint32_t	 pa_m;
	uint32_t	 pa_t;
	uint32_t	 pa_p;
};

static int	 password_prehash(const struct password_params *, int,
		    const char *, size_t, char *);
static int	 password_parse_u32(const char **, char, uint32_t,
		    uint32_t *);
static int	 password_b64_run(const char **, char, size_t);
static int	 password_parse_argon2(const char *, struct password_argon2 *);
static int	 password_check_bcrypt(const char *);
static int	 password_bcrypt_cost(const char *);
static enum password_kind password_kind(const char *);
static int	 password_argon2_hash(const struct password_params *,
		    const char *, size_t, char *, size_t);
static int	 password_bcrypt_hash(const struct password_params *,
		    const char *, size_t, char *, size_t);
static int	 password_bcrypt_verify(const char *, const char *);
static int	 password_argon2_verify(const struct password_params *,
		    const char *, size_t, const char *, int *);

void
password_params_from_config(struct password_params *pp,
    const struct authd_config *conf)
{
	memset(pp, 0, sizeof(*pp));
	pp->pp_hash = conf->c_hash;
	pp->pp_argon2_memory = conf->c_argon2_memory;
	pp->pp_argon2_iterations = conf->c_argon2_iterations;
	pp->pp_argon2_parallelism = conf->c_argon2_parallelism;
	pp->pp_bcrypt_cost = conf->c_bcrypt_cost;
	pp->pp_pepper = NULL;
	pp->pp_pepperlen = 0;
}

int
password_init(void)
{
	if (sodium_init() < 0) {
		log_warnx("%s: sodium_init failed", __func__);
		return (-1);
	}
	return (0);
}

/*
 * Writes base64(HMAC-SHA256(key, password)) into out (at least
 * PASSWORD_PREHASHLEN bytes).  The key is the pepper; with no pepper and
 * always set, an empty key is used (new bcrypt hashes), otherwise the
 * caller uses the raw password and this returns 1.
 */
static int
password_prehash(const struct password_params *pp, int always,
    const char *pw, size_t pwlen, char *out)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	static const unsigned char	 nokey[1];
	const unsigned char		*key = nokey;
	size_t				 keylen = 0;

	if (pp->pp_pepper != NULL && pp->pp_pepperlen > 0) {
		key = pp->pp_pepper;
		keylen = pp->pp_pepperlen;
	} else if (!always)
		return (1);

	if (crypto_auth_hmacsha256_init(&st, key, keylen) != 0 ||
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)pw,
	    pwlen) != 0 ||
	    crypto_auth_hmacsha256_final(&st, mac) != 0) {
		sodium_memzero(&st, sizeof(st));
		return (-1);
	}
	sodium_bin2base64(out, PASSWORD_PREHASHLEN, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	return (0);
}

/* Reads a decimal number without leading zeros, ended by c. */
static int
password_parse_u32(const char **sp, char c, uint32_t max, uint32_t *v)
{
	const char	*s = *sp;
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i > 10)
			return (-1);
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || (i > 1 && s[0] == '0') || s[i] != c || n > max)
		return (-1);
	*v = (uint32_t)n;
	*sp = s + i + 1;
	return (0);
}

/* A run of at least min base64 characters (no padding), ended by c. */
static int
password_b64_run(const char **sp, char c, size_t min)
{
	const char	*s = *sp;
	size_t		 n;

	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/");
	if (n < min || s[n] != c)
		return (-1);
	*sp = s + n + (c != '\0');
	return (0);
}

/* Parses and bounds-checks "$argon2id$v=19$m=..,t=..,p=..$salt$hash". */
static int
password_parse_argon2(const char *h, struct password_argon2 *pa)
{
	static const char	 pfx[] = "$argon2id$v=19$m=";
	const char		*s;

	if (strlen(h) >= crypto_pwhash_STRBYTES ||
	    strncmp(h, pfx, sizeof(pfx) - 1) != 0)
		return (-1);
	s = h + sizeof(pfx) - 1;
	if (password_parse_u32(&s, ',', PASSWORD_ARGON2_MAXMEM,
	    &pa->pa_m) == -1 || strncmp(s, "t=", 2) != 0)
		return (-1);
	s += 2;
	if (password_parse_u32(&s, ',', PASSWORD_ARGON2_MAXT,
	    &pa->pa_t) == -1 || strncmp(s, "p=", 2) != 0)
		return (-1);
	s += 2;
	if (password_parse_u32(&s, '$', PASSWORD_ARGON2_MAXP,
	    &pa->pa_p) == -1)
		return (-1);
	if (pa->pa_t < 1 || pa->pa_p < 1 || pa->pa_m < 8 * pa->pa_p)
		return (-1);
	/* Salt of 8 bytes or more, hash of 16 bytes or more. */
	if (password_b64_run(&s, '$', 11) == -1 ||
	    password_b64_run(&s, '\0', 22) == -1)
		return (-1);
	return (0);
}

/* Checks "$2[aby]$NN$" followed by 53 bcrypt-base64 characters. */
static int
password_check_bcrypt(const char *h)
{
	if (strlen(h) != PASSWORD_BCRYPT_LEN || h[0] != '$' || h[1] != '2' ||
	    (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' ||
	    h[6] != '$')
		return (-1);
	if (password_bcrypt_cost(h) == -1)
		return (-1);
	if (strspn(h + 7, "./ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") != 53)
		return (-1);
	return (0);
}

static int
password_bcrypt_cost(const char *h)
{
	int	 cost;

	if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
		return (-1);
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return (-1);
	return (cost);
}

static enum password_kind
password_kind(const char *h)
{
	struct password_argon2	 pa;
	size_t			 mlen = sizeof(PASSWORD_AUTHD_BCRYPT) - 1;

	if (password_parse_argon2(h, &pa) == 0)
		return (PW_ARGON2ID);
	if (strncmp(h, PASSWORD_AUTHD_BCRYPT, mlen) == 0 &&
	    strncmp(h + mlen, "$2b$", 4) == 0 &&
	    password_check_bcrypt(h + mlen) == 0)
		return (PW_BCRYPT_AUTHD);
	if (password_check_bcrypt(h) == 0)
		return (PW_BCRYPT_IMPORTED);
	return (PW_UNKNOWN);
}

static int
password_argon2_hash(const struct password_params *pp, const char *pw,
    size_t pwlen, char *out, size_t outlen)
{
	char	 buf[crypto_pwhash_STRBYTES];
	char	 pre[PASSWORD_PREHASHLEN];
	int	 r;

	/*
	 * libsodium's crypto_pwhash always uses one lane; writing another
	 * p into the string would describe a hash it did not compute.
	 */
	if (pp->pp_argon2_parallelism != 1) {
		log_warnx("argon2 parallelism %u is not supported: libsodium "
		    "computes argon2id with p=1 only",
		    pp->pp_argon2_parallelism);
		return (-1);
	}
	if (pp->pp_argon2_iterations < crypto_pwhash_OPSLIMIT_MIN ||
	    pp->pp_argon2_memory > PASSWORD_ARGON2_MAXMEM ||
	    (size_t)pp->pp_argon2_memory * 1024 < crypto_pwhash_MEMLIMIT_MIN) {
		log_warnx("argon2 parameters out of range (m=%u KiB, t=%u)",
		    pp->pp_argon2_memory, pp->pp_argon2_iterations);
		return (-1);
	}
	if ((r = password_prehash(pp, 0, pw, pwlen, pre)) == -1)
		return (-1);
	if (r == 0) {
		pw = pre;
		pwlen = strlen(pre);
	}
	r = crypto_pwhash_str_alg(buf, pw, pwlen, pp->pp_argon2_iterations,
	    (size_t)pp->pp_argon2_memory * 1024, crypto_pwhash_ALG_ARGON2ID13);
	sodium_memzero(pre, sizeof(pre));
	if (r != 0) {
		log_warnx("argon2id hashing failed (out of memory?)");
		return (-1);
	}
	if (strlcpy(out, buf, outlen) >= outlen) {
		log_warnx("%s: output buffer too small", __func__);
		return (-1);
	}
	return (0);
}

static int
password_bcrypt_hash(const struct password_params *pp, const char *pw,
    size_t pwlen, char *out, size_t outlen)
{
	struct crypt_data	*cd;
	unsigned char		 rnd[PASSWORD_SALTLEN];
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char			 pre[PASSWORD_PREHASHLEN];
	const char		*h;
	int			 ret = -1;

	if (pp->pp_bcrypt_cost < 4 || pp->pp_bcrypt_cost > 31) {
		log_warnx("bcrypt cost %d out of range 4..31",
		    pp->pp_bcrypt_cost);
		return (-1);
	}
	if (password_prehash(pp, 1, pw, pwlen, pre) == -1)
		return (-1);
	randombytes_buf(rnd, sizeof(rnd));
	if (crypt_gensalt_rn("$2b$", (unsigned long)pp->pp_bcrypt_cost,
	    (const char *)rnd, sizeof(rnd), setting, sizeof(setting)) == NULL) {
		log_warn("crypt_gensalt_rn");
		goto done;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		log_warn("%s: calloc", __func__);
		goto done;
	}
	h = crypt_r(pre, setting, cd);
	if (h == NULL || password_check_bcrypt(h) == -1) {
		log_warnx("bcrypt hashing failed");
	} else if ((size_t)snprintf(out, outlen, "%s%s",
	    PASSWORD_AUTHD_BCRYPT, h) >= outlen) {
		log_warnx("%s: output buffer too small", __func__);
	} else
		ret = 0;
	freezero(cd, sizeof(*cd));
 done:
	sodium_memzero(pre, sizeof(pre));
	return (ret);
}

int
password_hash(const struct password_params *pp, const char *password,
    char *out, size_t outlen)
{
	size_t	 pwlen;

	if (outlen > 0)
		out[0] = '\0';
	if ((pwlen = strnlen(password, PASSWORD_MAX + 1)) > PASSWORD_MAX) {
		log_warnx("%s: password longer than %d bytes", __func__,
		    PASSWORD_MAX);
		return (-1);
	}
	switch (pp->pp_hash) {
	case HASH_ARGON2ID:
		return (password_argon2_hash(pp, password, pwlen, out,
		    outlen));
	case HASH_BCRYPT:
		return (password_bcrypt_hash(pp, password, pwlen, out,
		    outlen));
	}
	log_warnx("%s: unknown hash algorithm %d", __func__, pp->pp_hash);
	return (-1);
}

/* bcrypt of pw against h (a plain "$2?$" string): 1, 0 or -1. */
static int
password_bcrypt_verify(const char *pw, const char *h)
{
	struct crypt_data	*cd;
	const char		*out;
	int			 ret;

	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		log_warn("%s: calloc", __func__);
		return (-1);
	}
	out = crypt_r(pw, h, cd);
	if (out == NULL || strlen(out) != PASSWORD_BCRYPT_LEN)
		ret = -1;
	else
		ret = sodium_memcmp(out, h, PASSWORD_BCRYPT_LEN) == 0;
	freezero(cd, sizeof(*cd));
	return (ret);
}

static int
password_argon2_verify(const struct password_params *pp, const char *pw,
    size_t pwlen, const char *h, int *needs_rehash)
{
	struct password_argon2	 pa;
	char			 buf[crypto_pwhash_STRBYTES];
	char			 pre[PASSWORD_PREHASHLEN];
	int			 r;

	if (password_parse_argon2(h, &pa) == -1)
		return (-1);
	/* libsodium's prototypes read a full crypto_pwhash_STRBYTES. */
	memset(buf, 0, sizeof(buf));
	(void)strlcpy(buf, h, sizeof(buf));
	if ((r = password_prehash(pp, 0, pw, pwlen, pre)) == -1)
		return (-1);
	if (r == 0) {
		pw = pre;
		pwlen = strlen(pre);
	}
	r = crypto_pwhash_str_verify(buf, pw, pwlen);
	sodium_memzero(pre, sizeof(pre));
	if (r != 0)
		return (0);

	if (pp->pp_hash != HASH_ARGON2ID)
		*needs_rehash = 1;
	else if (crypto_pwhash_str_needs_rehash(buf,
	    pp->pp_argon2_iterations,
	    (size_t)pp->pp_argon2_memory * 1024) != 0)
		*needs_rehash = 1;
	else if (pa.pa_p != 1)
		*needs_rehash = 1;	/* new hashes are made with p=1 */
	return (1);
}

int
password_verify(const struct password_params *pp, const char *password,
    const char *hash, int *needs_rehash)
{
	char			 pre[PASSWORD_PREHASHLEN];
	const char		*inner;
	size_t			 pwlen;
	int			 r;

	*needs_rehash = 0;
	pwlen = strnlen(password, PASSWORD_MAX + 1);
	switch (password_kind(hash)) {
	case PW_ARGON2ID:
		if (pwlen > PASSWORD_MAX)
			return (0);
		return (password_argon2_verify(pp, password, pwlen, hash,
		    needs_rehash));
	case PW_BCRYPT_AUTHD:
		if (pwlen > PASSWORD_MAX)
			return (0);
		inner = hash + sizeof(PASSWORD_AUTHD_BCRYPT) - 1;
		if (password_prehash(pp, 1, password, pwlen, pre) == -1)
			return (-1);
		r = password_bcrypt_verify(pre, inner);
		sodium_memzero(pre, sizeof(pre));
		if (r == 1 && (pp->pp_hash != HASH_BCRYPT ||
		    password_bcrypt_cost(inner) != pp->pp_bcrypt_cost))
			*needs_rehash = 1;
		return (r);
	case PW_BCRYPT_IMPORTED:
		/*
		 * bcrypt reads only 72 bytes: a longer password would
		 * match on its prefix alone.
		 */
		if (pwlen > PASSWORD_BCRYPT_RAWMAX)
			return (0);
		r = password_bcrypt_verify(password, hash);
		if (r == 1)
			*needs_rehash = 1;
		return (r);
	case PW_UNKNOWN:
		break;
	}
	return (-1);
}

int
password_dummy(const struct password_params *pp, const char *password)
{
	char	 buf[PASSWORD_HASH_MAX];
	int	 r;

	r = password_hash(pp, password, buf, sizeof(buf));
	explicit_bzero(buf, sizeof(buf));
	return (r);
}
