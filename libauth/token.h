/*
 * Signing keys and JSON Web Tokens.
 *
 * A key directory holds one file per key, "<kid>.pem" (a PEM private key
 * for ES256 and RS256, or a base64 secret of 32 bytes or more for HS256),
 * and a file "current" that names the kid that signs new tokens.  Every
 * key in the directory verifies tokens, so after a rotation the previous
 * key keeps verifying until its tokens have expired and it is removed.
 *
 * Verification pins everything libjwt 1.10 leaves open: the token length
 * is capped before decoding (libjwt uses alloca), the algorithm of the
 * header must equal the configured one, the kid must name a known key,
 * and iss, exp, nbf and iat are checked here with a leeway.  Header
 * names other than alg, kid and typ (crit, jwk, jku, x5u, x5c, ...) are
 * refused, and ES256 signatures are made and accepted in low-S form only,
 * so that a token has exactly one valid encoding.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

#define TOKEN_MAX_KEYS		8
#define TOKEN_FILE_MAX		(64 * 1024)	/* largest key file read */
#define TOKEN_MAX_LEN		4096	/* longest token we decode */
#define TOKEN_KID_LEN		64

struct token_key {
	char		 tk_kid[TOKEN_KID_LEN];
	enum config_alg	 tk_alg;
	uint8_t		*tk_priv;	/* PEM or secret; NULL where not held */
	size_t		 tk_privlen;
	char		*tk_pub;	/* PEM public key; NULL for HS256 */
	size_t		 tk_publen;
};

struct token_keyset {
	struct token_key ks_keys[TOKEN_MAX_KEYS];
	int		 ks_nkeys;
	int		 ks_current;	/* index of the signing key */
};

struct token_claims {
	char		 tc_iss[CONFIG_STR];
	char		 tc_sub[32];
	int64_t		 tc_uid;	/* sub as a number */
	int64_t		 tc_cid;
	int64_t		 tc_sid;
	char		 tc_jti[64];
	int64_t		 tc_iat;
	int64_t		 tc_exp;
	char		 tc_type[16];	/* "access" or "refresh" */
};

enum token_result {
	TOKEN_OK = 0,
	TOKEN_INVALID = -1	/* any failure: signature, alg, kid, claims */
};

/*
 * Loads every key of dir for alg; private parts are kept only when
 * with_private is set.  0, or -1 with a message in err.
 * Refuses key files readable by group or others.
 */
int	 token_keyset_load(const char *dir, enum config_alg, int with_private,
	    struct token_keyset *, char *err, size_t errlen);
/*
 * Frees every key, zeroing private material, and forgets the keys that
 * token_sign() and token_verify() parsed.  token_keyset_free() (in
 * keyset.c, without OpenSSL) only frees, for a process that never signs
 * or verifies.
 */
void	 token_keyset_clear(struct token_keyset *);
void	 token_keyset_free(struct token_keyset *);
/* Drops private material, keeping what verifies (public keys). */
void	 token_keyset_strip_private(struct token_keyset *);
/*
 * Creates a new key in dir (created 0700 if missing), file mode 0600;
 * makes it current when make_current is set or no key is current.
 * The new kid is written to kid.  0, or -1 with a message in err.
 */
int	 token_key_generate(const char *dir, enum config_alg, int make_current,
	    char *kid, size_t kidlen, char *err, size_t errlen);
/* Reads the kid named by dir's "current" file.  0, or -1 with err. */
int	 token_key_current(const char *dir, char *kid, size_t kidlen,
	    char *err, size_t errlen);

/* Returns a malloc'd compact JWS of claims (a JSON object text) or NULL. */
char	*token_sign(const struct token_keyset *, const char *claims_json);
/*
 * Verifies a compact JWS with the keys of ks (public keys suffice for
 * ES256 and RS256; HS256 needs the secret).  TOKEN_OK fills *claims.
 * Every claim of token_claims is required; nbf is checked when present.
 */
int	 token_verify(const struct token_keyset *, enum config_alg pinned,
	    const char *issuer, int leeway, time_t now, const char *token,
	    struct token_claims *claims);
/*
 * Everything token_verify() checks but the signature: the form, the
 * algorithm, a kid of ks, the claims.  Only for a token that is then
 * found byte for byte where authd keeps what it signed (a session's
 * refresh token hash); never as a verification.
 */
int	 token_peek(const struct token_keyset *, enum config_alg pinned,
	    const char *issuer, int leeway, time_t now, const char *token,
	    struct token_claims *claims);
/* Returns the malloc'd JWKS document (RFC 7517) of the public keys. */
char	*token_jwks(const struct token_keyset *);
/* "ES256", "RS256", "HS256"; NULL for a value outside the enum. */
const char *token_alg_name(enum config_alg);
/* A kid is 1 to TOKEN_KID_LEN - 1 of [A-Za-z0-9_-]. */
int	 token_kid_valid(const char *);

/*
 * Keys travel from the parent to children as one IPC payload each:
 * these write and read that form.  Serialize returns bytes written or -1.
 * Deserialize reads the whole payload (it fails on trailing bytes);
 * the receiver frees the key with token_keyset_clear() or
 * token_keyset_free() of its set.
 */
struct ipc_builder;
struct ipc_msg;
int	 token_key_serialize(const struct token_key *, int with_private,
	    struct ipc_builder *);
int	 token_key_deserialize(struct ipc_msg *, struct token_key *);

#endif /* TOKEN_H */
