/*
 * Unit tests of libauth/token.c: key generation and loading, signing and
 * verification for ES256, RS256 and HS256, an ES256 check with OpenSSL
 * alone, the token attacks of SECURITY-CHECKLIST 1.1, rotation, JWKS and
 * the IPC form of keys.
 *
 * Forged tokens are made by hand: header and payload are base64url
 * encoded and, for HS256, signed with HMAC-SHA256 of the real secret, so
 * that each refusal is the one rule under test and not a bad signature.
 * Every forging helper is checked against a positive control first.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atf-c.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "config.h"
#include "ipc.h"
#include "token.h"

#define T_ISS		"https://auth.example.test"
#define T_LEEWAY	30

static time_t	 t_now;

struct t_dir {
	char	 td_path[PATH_MAX];
};

static void
t_mkdir(struct t_dir *td)
{
	const char	*tmp;

	memset(td, 0, sizeof(*td));
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)snprintf(td->td_path, sizeof(td->td_path), "%s/t_token.XXXXXX",
	    tmp);
	ATF_REQUIRE(mkdtemp(td->td_path) != NULL);
	t_now = time(NULL);
}

static void
t_rmdir(struct t_dir *td)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[PATH_MAX * 2];

	if ((d = opendir(td->td_path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(p, sizeof(p), "%s/%s", td->td_path, de->d_name);
		(void)unlink(p);
	}
	(void)closedir(d);
	(void)rmdir(td->td_path);
}

/* A new key in dir, loaded (with private parts) into ks. */
static void
t_keyset(struct t_dir *td, enum config_alg alg, struct token_keyset *ks,
    char *kid)
{
	char	 err[512];

	ATF_REQUIRE_MSG(token_key_generate(td->td_path, alg, 1, kid,
	    TOKEN_KID_LEN, err, sizeof(err)) == 0, "%s", err);
	ATF_REQUIRE_MSG(token_keyset_load(td->td_path, alg, 1, ks, err,
	    sizeof(err)) == 0, "%s", err);
}

static void
t_claims(char *buf, size_t len)
{
	(void)snprintf(buf, len, "{\"iss\":\"%s\",\"sub\":\"42\",\"cid\":7,"
	    "\"sid\":99,\"jti\":\"jti-1\",\"type\":\"access\",\"iat\":%lld,"
	    "\"exp\":%lld}", T_ISS, (long long)t_now, (long long)t_now + 600);
}

static int
t_verify(const struct token_keyset *ks, enum config_alg alg,
    const char *tok)
{
	struct token_claims	 tc;

	return (token_verify(ks, alg, T_ISS, T_LEEWAY, t_now, tok, &tc));
}

static char *
t_b64(const void *p, size_t len)
{
	size_t	 n;
	char	*s;

	n = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ATF_REQUIRE((s = malloc(n)) != NULL);
	sodium_bin2base64(s, n, p, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (s);
}

static uint8_t *
t_unb64(const char *s, size_t slen, size_t *len)
{
	uint8_t	*p;

	ATF_REQUIRE((p = malloc(slen + 1)) != NULL);
	ATF_REQUIRE(sodium_base642bin(p, slen + 1, s, slen, NULL, len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
	return (p);
}

/*
 * base64url(hdr) "." base64url(pay) "." signature, the signature being
 * HMAC-SHA256 with key (NULL: empty signature).
 */
static char *
t_forge(const char *hdr, const char *pay, const void *key, size_t keylen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		*h, *p, *s, *si, *tok;
	size_t		 n;

	h = t_b64(hdr, strlen(hdr));
	p = t_b64(pay, strlen(pay));
	n = strlen(h) + strlen(p) + 2;
	ATF_REQUIRE((si = malloc(n)) != NULL);
	(void)snprintf(si, n, "%s.%s", h, p);
	if (key != NULL)
		ATF_REQUIRE(HMAC(EVP_sha256(), key, (int)keylen,
		    (unsigned char *)si, strlen(si), mac, &maclen) != NULL);
	s = t_b64(mac, maclen);
	n = strlen(si) + strlen(s) + 2;
	ATF_REQUIRE((tok = malloc(n)) != NULL);
	(void)snprintf(tok, n, "%s.%s", si, s);
	free(h);
	free(p);
	free(s);
	free(si);
	return (tok);
}

/* HS256 token of pay with the header fields hextra, by the real key. */
static char *
t_hs(const struct token_keyset *ks, const char *hextra, const char *pay)
{
	const struct token_key	*tk = &ks->ks_keys[ks->ks_current];
	char			 hdr[1024];

	(void)snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"%s}", tk->tk_kid, hextra);
	return (t_forge(hdr, pay, tk->tk_priv, tk->tk_privlen));
}

/* A token signed by libjwt itself with any alg, kid and key. */
static char *
t_libjwt(jwt_alg_t alg, const char *kid, const void *key, size_t keylen,
    const char *claims)
{
	jwt_t	*jwt;
	char	*tok;

	ATF_REQUIRE(jwt_new(&jwt) == 0);
	ATF_REQUIRE(jwt_add_grants_json(jwt, claims) == 0);
	ATF_REQUIRE(jwt_add_header(jwt, "kid", kid) == 0);
	ATF_REQUIRE(jwt_set_alg(jwt, alg, key, (int)keylen) == 0);
	ATF_REQUIRE((tok = jwt_encode_str(jwt)) != NULL);
	jwt_free(jwt);
	return (tok);
}

static void
t_roundtrip(enum config_alg alg)
{
	struct t_dir		 td;
	struct token_keyset	 ks, pub;
	struct token_claims	 tc;
	char			 kid[TOKEN_KID_LEN], err[512], claims[512];
	char			*tok, *jwks;
	json_t			*j;
	json_error_t		 jerr;

	t_mkdir(&td);
	t_keyset(&td, alg, &ks, kid);
	ATF_CHECK_EQ(ks.ks_nkeys, 1);
	ATF_CHECK_EQ(ks.ks_current, 0);
	ATF_CHECK_STREQ(ks.ks_keys[0].tk_kid, kid);
	ATF_CHECK_EQ(strlen(kid), 16);

	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
	ATF_REQUIRE_EQ(token_verify(&ks, alg, T_ISS, T_LEEWAY, t_now, tok,
	    &tc), TOKEN_OK);
	ATF_CHECK_STREQ(tc.tc_iss, T_ISS);
	ATF_CHECK_STREQ(tc.tc_sub, "42");
	ATF_CHECK_EQ(tc.tc_uid, 42);
	ATF_CHECK_EQ(tc.tc_cid, 7);
	ATF_CHECK_EQ(tc.tc_sid, 99);
	ATF_CHECK_STREQ(tc.tc_jti, "jti-1");
	ATF_CHECK_STREQ(tc.tc_type, "access");
	ATF_CHECK_EQ(tc.tc_iat, (int64_t)t_now);
	ATF_CHECK_EQ(tc.tc_exp, (int64_t)t_now + 600);

	/* The other pinned algorithms refuse it. */
	ATF_CHECK_EQ(t_verify(&ks, alg == ALG_ES256 ? ALG_RS256 : ALG_ES256,
	    tok), TOKEN_INVALID);
	ATF_CHECK_EQ(t_verify(&ks, alg == ALG_HS256 ? ALG_RS256 : ALG_HS256,
	    tok), TOKEN_INVALID);
	/* Wrong issuer. */
	ATF_CHECK_EQ(token_verify(&ks, alg, "https://evil.test", T_LEEWAY,
	    t_now, tok, &tc), TOKEN_INVALID);

	/* Workers verify with public keys alone; HS256 cannot. */
	ATF_REQUIRE_MSG(token_keyset_load(td.td_path, alg, 0, &pub, err,
	    sizeof(err)) == 0, "%s", err);
	ATF_CHECK(pub.ks_keys[0].tk_priv == NULL);
	ATF_CHECK(token_sign(&pub, claims) == NULL);
	ATF_CHECK_EQ(t_verify(&pub, alg, tok),
	    alg == ALG_HS256 ? TOKEN_INVALID : TOKEN_OK);

	ATF_REQUIRE((jwks = token_jwks(&ks)) != NULL);
	ATF_REQUIRE((j = json_loads(jwks, 0, &jerr)) != NULL);
	ATF_CHECK_EQ(json_array_size(json_object_get(j, "keys")),
	    alg == ALG_HS256 ? 0 : 1);
	if (alg != ALG_HS256) {
		ATF_CHECK_STREQ(json_string_value(json_object_get(
		    json_array_get(json_object_get(j, "keys"), 0), "kid")),
		    kid);
		ATF_CHECK_STREQ(json_string_value(json_object_get(
		    json_array_get(json_object_get(j, "keys"), 0), "alg")),
		    token_alg_name(alg));
	} else
		ATF_CHECK_STREQ(jwks, "{\"keys\":[]}");
	json_decref(j);
	free(jwks);
	free(tok);
	token_keyset_clear(&pub);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/*
 * token_peek checks all that token_verify checks but the signature: a
 * token with another token's signature peeks well and does not verify;
 * an unknown kid, a foreign issuer or an expired token do neither.
 */
ATF_TC_WITHOUT_HEAD(peek);
ATF_TC_BODY(peek, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	struct token_claims	 c;
	char			 kid[TOKEN_KID_LEN], claims[512], *j;
	char			*a, *b, *mixed;
	size_t			 n;

	t_mkdir(&td);
	t_keyset(&td, ALG_ES256, &ks, kid);
	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((a = token_sign(&ks, claims)) != NULL);
	ATF_REQUIRE((j = strstr(claims, "jti-1")) != NULL);
	j[4] = '2';
	ATF_REQUIRE((b = token_sign(&ks, claims)) != NULL);
	ATF_REQUIRE_EQ(token_peek(&ks, ALG_ES256, T_ISS, T_LEEWAY, t_now, a,
	    &c), TOKEN_OK);
	ATF_CHECK_EQ(c.tc_sid, 99);
	/* a's header and claims, b's signature (of other claims). */
	n = strlen(a) + strlen(b) + 1;
	ATF_REQUIRE((mixed = malloc(n)) != NULL);
	(void)snprintf(mixed, n, "%.*s%s", (int)(strrchr(a, '.') - a), a,
	    strrchr(b, '.'));
	ATF_CHECK(strcmp(mixed, a) != 0);
	ATF_CHECK_EQ(token_peek(&ks, ALG_ES256, T_ISS, T_LEEWAY, t_now, mixed,
	    &c), TOKEN_OK);
	ATF_CHECK_EQ(token_verify(&ks, ALG_ES256, T_ISS, T_LEEWAY, t_now,
	    mixed, &c), TOKEN_INVALID);
	ATF_CHECK_EQ(token_peek(&ks, ALG_ES256, "https://evil.test",
	    T_LEEWAY, t_now, a, &c), TOKEN_INVALID);
	ATF_CHECK_EQ(token_peek(&ks, ALG_ES256, T_ISS, T_LEEWAY,
	    t_now + 600 + T_LEEWAY + 1, a, &c), TOKEN_INVALID);
	ATF_CHECK_EQ(token_peek(&ks, ALG_RS256, T_ISS, T_LEEWAY, t_now, a,
	    &c), TOKEN_INVALID);
	(void)strlcpy(ks.ks_keys[0].tk_kid, "another", TOKEN_KID_LEN);
	ATF_CHECK_EQ(token_peek(&ks, ALG_ES256, T_ISS, T_LEEWAY, t_now, a,
	    &c), TOKEN_INVALID);
	free(a);
	free(b);
	free(mixed);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

ATF_TC_WITHOUT_HEAD(sign_verify_es256);
ATF_TC_BODY(sign_verify_es256, tc)
{
	t_roundtrip(ALG_ES256);
}

ATF_TC_WITHOUT_HEAD(sign_verify_rs256);
ATF_TC_BODY(sign_verify_rs256, tc)
{
	t_roundtrip(ALG_RS256);
}

ATF_TC_WITHOUT_HEAD(sign_verify_hs256);
ATF_TC_BODY(sign_verify_hs256, tc)
{
	t_roundtrip(ALG_HS256);
}

/*
 * The ES256 token checked with OpenSSL alone: the key from the JWKS x/y,
 * the signature as JOSE r||s (64 bytes) turned into DER.
 */
ATF_TC_WITHOUT_HEAD(es256_openssl_independent);
ATF_TC_BODY(es256_openssl_independent, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512];
	char			*tok, *jwks, *dot;
	json_t			*j, *k;
	json_error_t		 jerr;
	uint8_t			*x, *y, *sig, pub[65];
	unsigned char		*der = NULL;
	size_t			 xl, yl, sl;
	int			 derlen, i;
	OSSL_PARAM_BLD		*bld;
	OSSL_PARAM		*params;
	EVP_PKEY_CTX		*pctx;
	EVP_PKEY		*pk = NULL;
	EVP_MD_CTX		*md;
	ECDSA_SIG		*es;

	t_mkdir(&td);
	t_keyset(&td, ALG_ES256, &ks, kid);
	ATF_REQUIRE((jwks = token_jwks(&ks)) != NULL);
	ATF_REQUIRE((j = json_loads(jwks, 0, &jerr)) != NULL);
	k = json_array_get(json_object_get(j, "keys"), 0);
	ATF_CHECK_STREQ(json_string_value(json_object_get(k, "kty")), "EC");
	ATF_CHECK_STREQ(json_string_value(json_object_get(k, "crv")), "P-256");
	ATF_CHECK_STREQ(json_string_value(json_object_get(k, "use")), "sig");
	x = t_unb64(json_string_value(json_object_get(k, "x")),
	    strlen(json_string_value(json_object_get(k, "x"))), &xl);
	y = t_unb64(json_string_value(json_object_get(k, "y")),
	    strlen(json_string_value(json_object_get(k, "y"))), &yl);
	ATF_REQUIRE_EQ(xl, 32);
	ATF_REQUIRE_EQ(yl, 32);
	pub[0] = 0x04;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);

	ATF_REQUIRE((bld = OSSL_PARAM_BLD_new()) != NULL);
	ATF_REQUIRE(OSSL_PARAM_BLD_push_utf8_string(bld,
	    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1);
	ATF_REQUIRE(OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) == 1);
	ATF_REQUIRE((params = OSSL_PARAM_BLD_to_param(bld)) != NULL);
	ATF_REQUIRE((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC",
	    NULL)) != NULL);
	ATF_REQUIRE(EVP_PKEY_fromdata_init(pctx) == 1);
	ATF_REQUIRE(EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY,
	    params) == 1);

	t_claims(claims, sizeof(claims));
	/* Several tokens: both halves of the signature get exercised. */
	for (i = 0; i < 8; i++) {
		ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
		ATF_REQUIRE((dot = strrchr(tok, '.')) != NULL);
		sig = t_unb64(dot + 1, strlen(dot + 1), &sl);
		ATF_REQUIRE_EQ_MSG(sl, 64, "JOSE ES256 signatures are r||s");

		ATF_REQUIRE((es = ECDSA_SIG_new()) != NULL);
		ATF_REQUIRE(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
		    BN_bin2bn(sig + 32, 32, NULL)) == 1);
		der = NULL;
		ATF_REQUIRE((derlen = i2d_ECDSA_SIG(es, &der)) > 0);
		ATF_REQUIRE((md = EVP_MD_CTX_new()) != NULL);
		ATF_REQUIRE(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    pk) == 1);
		ATF_CHECK_EQ(EVP_DigestVerify(md, der, (size_t)derlen,
		    (unsigned char *)tok, (size_t)(dot - tok)), 1);
		/* And a changed message does not verify. */
		ATF_REQUIRE(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    pk) == 1);
		ATF_CHECK(EVP_DigestVerify(md, der, (size_t)derlen,
		    (unsigned char *)tok, (size_t)(dot - tok) - 1) != 1);
		EVP_MD_CTX_free(md);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
		free(sig);
		free(tok);
	}
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	json_decref(j);
	free(jwks);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/*
 * ECDSA (r, s) and (r, n - s) are both valid: we sign low-S only and
 * refuse the other, so a revoked token cannot come back re-encoded.
 */
/*
 * Found by fuzz_token: libsodium's base64 decoder reads a byte outside
 * the alphabet (0xff) as a letter, so a signed token with such a byte in
 * place of one of its own was accepted: a second encoding of it.
 */
ATF_TC_WITHOUT_HEAD(b64_outside_alphabet);
ATF_TC_BODY(b64_outside_alphabet, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512], *tok;
	size_t			 len, i;
	int			 accepted = 0;
	char			 saved;

	t_mkdir(&td);
	t_keyset(&td, ALG_ES256, &ks, kid);
	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
	ATF_REQUIRE_EQ(t_verify(&ks, ALG_ES256, tok), TOKEN_OK);
	len = strlen(tok);
	for (i = 0; i < len; i++) {
		if (tok[i] == '.')
			continue;
		saved = tok[i];
		tok[i] = (char)0xff;
		if (t_verify(&ks, ALG_ES256, tok) == TOKEN_OK)
			accepted++;
		tok[i] = (char)0x80;
		if (t_verify(&ks, ALG_ES256, tok) == TOKEN_OK)
			accepted++;
		tok[i] = saved;
	}
	ATF_CHECK_EQ(accepted, 0);
	ATF_CHECK_EQ(t_verify(&ks, ALG_ES256, tok), TOKEN_OK);
	free(tok);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

ATF_TC_WITHOUT_HEAD(es256_malleability);
ATF_TC_BODY(es256_malleability, tc)
{
	static const uint8_t n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
	};
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512], *tok, *dot;
	char			*s2, *tok2;
	uint8_t			*sig;
	size_t			 sl;
	BIGNUM			*bn, *bs;
	int			 i;

	t_mkdir(&td);
	t_keyset(&td, ALG_ES256, &ks, kid);
	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((bn = BN_bin2bn(n, 32, NULL)) != NULL);
	for (i = 0; i < 16; i++) {
		ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
		ATF_REQUIRE_EQ(t_verify(&ks, ALG_ES256, tok), TOKEN_OK);
		dot = strrchr(tok, '.');
		sig = t_unb64(dot + 1, strlen(dot + 1), &sl);
		ATF_REQUIRE((bs = BN_bin2bn(sig + 32, 32, NULL)) != NULL);
		ATF_REQUIRE(BN_sub(bs, bn, bs) == 1);
		ATF_REQUIRE(BN_bn2binpad(bs, sig + 32, 32) == 32);
		s2 = t_b64(sig, sl);
		ATF_REQUIRE(asprintf(&tok2, "%.*s.%s", (int)(dot - tok), tok,
		    s2) > 0);
		ATF_CHECK_EQ(t_verify(&ks, ALG_ES256, tok2), TOKEN_INVALID);
		BN_free(bs);
		free(s2);
		free(tok2);
		free(sig);
		free(tok);
	}
	BN_free(bn);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/* alg none in every case, with an empty signature, and no alg at all. */
ATF_TC_WITHOUT_HEAD(attack_alg_none);
ATF_TC_BODY(attack_alg_none, tc)
{
	static const char *algs[] = { "none", "None", "NONE", "nOnE" };
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512], hdr[256];
	char			*tok;
	size_t			 i;
	enum config_alg		 a;

	t_mkdir(&td);
	for (a = ALG_ES256; a <= ALG_HS256; a++) {
		t_keyset(&td, a, &ks, kid);
		t_claims(claims, sizeof(claims));
		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			(void)snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\","
			    "\"kid\":\"%s\",\"typ\":\"JWT\"}", algs[i], kid);
			tok = t_forge(hdr, claims, NULL, 0);
			ATF_CHECK_MSG(tok[strlen(tok) - 1] == '.', "%s", tok);
			ATF_CHECK_EQ_MSG(t_verify(&ks, a, tok), TOKEN_INVALID,
			    "alg %s", algs[i]);
			free(tok);
		}
		(void)snprintf(hdr, sizeof(hdr), "{\"kid\":\"%s\"}", kid);
		tok = t_forge(hdr, claims, NULL, 0);
		ATF_CHECK_EQ(t_verify(&ks, a, tok), TOKEN_INVALID);
		free(tok);
		token_keyset_clear(&ks);
		t_rmdir(&td);
		t_mkdir(&td);
	}
	t_rmdir(&td);
}

/* HS256 with the bytes of the published public key as the secret. */
ATF_TC_WITHOUT_HEAD(attack_hs256_with_public_key);
ATF_TC_BODY(attack_hs256_with_public_key, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	const struct token_key	*tk;
	char			 kid[TOKEN_KID_LEN], claims[512], hdr[256];
	char			*tok, *hs;
	enum config_alg		 a;

	for (a = ALG_ES256; a <= ALG_RS256; a++) {
		t_mkdir(&td);
		t_keyset(&td, a, &ks, kid);
		tk = &ks.ks_keys[0];
		t_claims(claims, sizeof(claims));
		(void)snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\","
		    "\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
		tok = t_forge(hdr, claims, tk->tk_pub, tk->tk_publen);
		ATF_CHECK_EQ(t_verify(&ks, a, tok), TOKEN_INVALID);
		free(tok);
		/* Without the trailing newline. */
		tok = t_forge(hdr, claims, tk->tk_pub, tk->tk_publen - 1);
		ATF_CHECK_EQ(t_verify(&ks, a, tok), TOKEN_INVALID);
		free(tok);
		/* The same via libjwt, and lower-case "hs256". */
		tok = t_libjwt(JWT_ALG_HS256, kid, tk->tk_pub, tk->tk_publen,
		    claims);
		ATF_CHECK_EQ(t_verify(&ks, a, tok), TOKEN_INVALID);
		ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID);
		free(tok);
		(void)snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\","
		    "\"kid\":\"%s\"}", a == ALG_ES256 ? "es256" : "rs256",
		    kid);
		ATF_REQUIRE((hs = t_forge(hdr, claims, tk->tk_pub,
		    tk->tk_publen)) != NULL);
		ATF_CHECK_EQ(t_verify(&ks, a, hs), TOKEN_INVALID);
		free(hs);
		token_keyset_clear(&ks);
		t_rmdir(&td);
	}
}

/* Right signature, wrong algorithm: RS256 vs ES256, HS512 vs HS256. */
ATF_TC_WITHOUT_HEAD(attack_alg_substitution);
ATF_TC_BODY(attack_alg_substitution, tc)
{
	struct t_dir		 tes, trs, ths;
	struct token_keyset	 es, rs, hs;
	char			 eskid[TOKEN_KID_LEN], rskid[TOKEN_KID_LEN];
	char			 hskid[TOKEN_KID_LEN], claims[512], *tok;

	t_mkdir(&tes);
	t_mkdir(&trs);
	t_mkdir(&ths);
	t_keyset(&tes, ALG_ES256, &es, eskid);
	t_keyset(&trs, ALG_RS256, &rs, rskid);
	t_keyset(&ths, ALG_HS256, &hs, hskid);
	t_claims(claims, sizeof(claims));

	/* A valid RS256 token, offered where ES256 is pinned. */
	ATF_REQUIRE((tok = token_sign(&rs, claims)) != NULL);
	ATF_REQUIRE_EQ(t_verify(&rs, ALG_RS256, tok), TOKEN_OK);
	ATF_CHECK_EQ(t_verify(&es, ALG_ES256, tok), TOKEN_INVALID);
	free(tok);
	/* The same with the ES key's kid. */
	tok = t_libjwt(JWT_ALG_RS256, eskid, rs.ks_keys[0].tk_priv,
	    rs.ks_keys[0].tk_privlen, claims);
	ATF_CHECK_EQ(t_verify(&es, ALG_ES256, tok), TOKEN_INVALID);
	free(tok);
	/* HS512 and HS384 with the right secret: not the pinned alg. */
	tok = t_libjwt(JWT_ALG_HS512, hskid, hs.ks_keys[0].tk_priv,
	    hs.ks_keys[0].tk_privlen, claims);
	ATF_CHECK_EQ(t_verify(&hs, ALG_HS256, tok), TOKEN_INVALID);
	free(tok);
	tok = t_libjwt(JWT_ALG_HS384, hskid, hs.ks_keys[0].tk_priv,
	    hs.ks_keys[0].tk_privlen, claims);
	ATF_CHECK_EQ(t_verify(&hs, ALG_HS256, tok), TOKEN_INVALID);
	free(tok);
	/* Positive control for the helper. */
	tok = t_libjwt(JWT_ALG_HS256, hskid, hs.ks_keys[0].tk_priv,
	    hs.ks_keys[0].tk_privlen, claims);
	ATF_CHECK_EQ(t_verify(&hs, ALG_HS256, tok), TOKEN_OK);
	free(tok);

	token_keyset_clear(&es);
	token_keyset_clear(&rs);
	token_keyset_clear(&hs);
	t_rmdir(&tes);
	t_rmdir(&trs);
	t_rmdir(&ths);
}

ATF_TC_WITHOUT_HEAD(attack_tamper);
ATF_TC_BODY(attack_tamper, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512];
	char			*tok, *bad, *p, *evil, *d1, *d2;
	uint8_t			*sig;
	size_t			 sl;
	enum config_alg		 a;

	for (a = ALG_ES256; a <= ALG_HS256; a++) {
		t_mkdir(&td);
		t_keyset(&td, a, &ks, kid);
		t_claims(claims, sizeof(claims));
		ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
		ATF_REQUIRE_EQ(t_verify(&ks, a, tok), TOKEN_OK);
		d1 = strchr(tok, '.');
		d2 = strrchr(tok, '.');

		/* Payload with another sub, old signature. */
		(void)snprintf(claims, sizeof(claims), "{\"iss\":\"%s\","
		    "\"sub\":\"1\",\"cid\":7,\"sid\":99,\"jti\":\"jti-1\","
		    "\"type\":\"access\",\"iat\":%lld,\"exp\":%lld}", T_ISS,
		    (long long)t_now, (long long)t_now + 600);
		p = t_b64(claims, strlen(claims));
		ATF_REQUIRE(asprintf(&evil, "%.*s.%s%s", (int)(d1 - tok), tok,
		    p, d2) > 0);
		ATF_CHECK_EQ(t_verify(&ks, a, evil), TOKEN_INVALID);
		free(evil);
		free(p);

		/* One bit of the signature flipped. */
		sig = t_unb64(d2 + 1, strlen(d2 + 1), &sl);
		sig[sl / 2] ^= 0x01;
		p = t_b64(sig, sl);
		ATF_REQUIRE(asprintf(&evil, "%.*s.%s", (int)(d2 - tok), tok,
		    p) > 0);
		ATF_CHECK_EQ(t_verify(&ks, a, evil), TOKEN_INVALID);
		free(evil);
		free(p);
		free(sig);

		/* Signature dropped, or its last character. */
		bad = strdup(tok);
		ATF_REQUIRE(bad != NULL);
		bad[strlen(bad) - 1] = '\0';
		ATF_CHECK_EQ(t_verify(&ks, a, bad), TOKEN_INVALID);
		bad[d2 - tok + 1] = '\0';
		ATF_CHECK_EQ(t_verify(&ks, a, bad), TOKEN_INVALID);
		free(bad);
		free(tok);
		token_keyset_clear(&ks);
		t_rmdir(&td);
	}
}

/* Shapes: 2 parts, 4 parts, padding, foreign characters, blanks. */
ATF_TC_WITHOUT_HEAD(attack_shape);
ATF_TC_BODY(attack_shape, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512];
	char			*tok, *bad, *d2;
	size_t			 n;

	t_mkdir(&td);
	t_keyset(&td, ALG_HS256, &ks, kid);
	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
	ATF_REQUIRE_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_OK);
	n = strlen(tok);
	d2 = strrchr(tok, '.');

	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, ""), TOKEN_INVALID);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, ".."), TOKEN_INVALID);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, "a.b.c.d"), TOKEN_INVALID);
	ATF_REQUIRE(asprintf(&bad, "%.*s", (int)(d2 - tok), tok) > 0);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	ATF_REQUIRE(asprintf(&bad, "%s.%s", tok, d2 + 1) > 0);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	ATF_REQUIRE(asprintf(&bad, "%s.", tok) > 0);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	ATF_REQUIRE(asprintf(&bad, "%s=", tok) > 0);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	ATF_REQUIRE(asprintf(&bad, " %s", tok) > 0);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	/* base64 '+' and '/' instead of '-' and '_'. */
	bad = strdup(tok);
	ATF_REQUIRE(bad != NULL);
	bad[n - 2] = bad[n - 2] == '+' ? '/' : '+';
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	/* The last character with stray low bits: another encoding. */
	bad = strdup(tok);
	ATF_REQUIRE(bad != NULL);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : (char)(bad[n - 1] ^ 0x01);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, bad), TOKEN_INVALID);
	free(bad);
	/* JWS JSON serialization. */
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, "{\"payload\":\"e30\","
	    "\"signatures\":[]}"), TOKEN_INVALID);
	free(tok);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/* Unknown kids and kids that try to name a path, SQL or a new line. */
ATF_TC_WITHOUT_HEAD(attack_kid);
ATF_TC_BODY(attack_kid, tc)
{
	static const char *kids[] = {
		"0123456789abcdef",
		"../../../../dev/null",
		"' OR '1'='1",
		"x\r\nDEL k",
		"",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct t_dir		 td;
	struct token_keyset	 ks;
	const struct token_key	*tk;
	char			 kid[TOKEN_KID_LEN], claims[512], *tok;
	size_t			 i;

	t_mkdir(&td);
	t_keyset(&td, ALG_HS256, &ks, kid);
	tk = &ks.ks_keys[0];
	t_claims(claims, sizeof(claims));
	tok = t_libjwt(JWT_ALG_HS256, kid, tk->tk_priv, tk->tk_privlen,
	    claims);
	ATF_REQUIRE_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_OK);
	free(tok);
	for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		tok = t_libjwt(JWT_ALG_HS256, kids[i], tk->tk_priv,
		    tk->tk_privlen, claims);
		ATF_CHECK_EQ_MSG(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID,
		    "kid %zu", i);
		free(tok);
	}
	/* No kid at all. */
	tok = t_forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims,
	    tk->tk_priv, tk->tk_privlen);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID);
	free(tok);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/* Header names we do not implement, duplicate names, a foreign typ. */
ATF_TC_WITHOUT_HEAD(attack_header);
ATF_TC_BODY(attack_header, tc)
{
	static const char *extra[] = {
		",\"crit\":[\"exp\"]",
		",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}",
		",\"jku\":\"https://evil.test/jwks\"",
		",\"x5u\":\"https://evil.test/cert\"",
		",\"x5c\":[\"MIIB\"]",
		",\"alg\":\"HS256\"",
		",\"cty\":\"JWT\"",
	};
	struct t_dir		 td;
	struct token_keyset	 ks;
	const struct token_key	*tk;
	char			 kid[TOKEN_KID_LEN], claims[512], hdr[256];
	char			*tok;
	size_t			 i;

	t_mkdir(&td);
	t_keyset(&td, ALG_HS256, &ks, kid);
	tk = &ks.ks_keys[0];
	t_claims(claims, sizeof(claims));
	tok = t_hs(&ks, "", claims);
	ATF_REQUIRE_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_OK);
	free(tok);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		tok = t_hs(&ks, extra[i], claims);
		ATF_CHECK_EQ_MSG(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID,
		    "header extra %s", extra[i]);
		free(tok);
	}
	(void)snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\","
	    "\"typ\":\"at+jwt\"}", kid);
	tok = t_forge(hdr, claims, tk->tk_priv, tk->tk_privlen);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID);
	free(tok);
	/* Header that is not an object, or not JSON. */
	tok = t_forge("[\"HS256\"]", claims, tk->tk_priv, tk->tk_privlen);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID);
	free(tok);
	tok = t_forge("alg=HS256", claims, tk->tk_priv, tk->tk_privlen);
	ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID);
	free(tok);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/* Claims, each token correctly signed so that only the claim fails. */
ATF_TC_WITHOUT_HEAD(attack_claims);
ATF_TC_BODY(attack_claims, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], p[1024], *tok;
	long long		 now;
	size_t			 i;
	const char		*fmt_ok = "{\"iss\":\"" T_ISS "\","
	    "\"sub\":\"42\",\"cid\":7,\"sid\":99,\"jti\":\"j\","
	    "\"type\":\"%s\",\"iat\":%lld,\"exp\":%lld%s}";
	struct {
		const char	*name;
		const char	*type;
		long long	 iat, exp;
		const char	*extra;
		int		 ok;
	} c[8];
	static const char *raw[] = {
		/* missing exp, exp as string, as float, negative */
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":\"9999999999\"}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":1e20}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":-1}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999.0}",
		/* wrong or missing iss, iss as a number */
		"{\"iss\":\"https://evil.test\",\"sub\":\"42\",\"cid\":7,"
		    "\"sid\":99,\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"sub\":\"42\",\"cid\":7,\"sid\":99,\"jti\":\"j\","
		    "\"type\":\"access\",\"iat\":%lld,\"exp\":9999999999}",
		"{\"iss\":1,\"sub\":\"42\",\"cid\":7,\"sid\":99,\"jti\":\"j\","
		    "\"type\":\"access\",\"iat\":%lld,\"exp\":9999999999}",
		/* sub: zero, leading zero, sign, number, letters, too big */
		"{\"iss\":\"" T_ISS "\",\"sub\":\"0\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"042\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"-42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":42,\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"4x2\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"9223372036854775808\","
		    "\"cid\":7,\"sid\":99,\"jti\":\"j\",\"type\":\"access\","
		    "\"iat\":%lld,\"exp\":9999999999}",
		/* cid, sid: zero, string, missing */
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":0,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,"
		    "\"sid\":\"99\",\"jti\":\"j\",\"type\":\"access\","
		    "\"iat\":%lld,\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		/* jti: empty, missing, number */
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"type\":\"access\",\"iat\":%lld,\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":5,\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		/* iat missing or a string */
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"exp\":9999999999}",
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"cid\":7,\"sid\":99,"
		    "\"jti\":\"j\",\"type\":\"access\",\"iat\":\"%lld\","
		    "\"exp\":9999999999}",
		/* duplicate names: the second sub would win in libjwt */
		"{\"iss\":\"" T_ISS "\",\"sub\":\"42\",\"sub\":\"1\",\"cid\":7,"
		    "\"sid\":99,\"jti\":\"j\",\"type\":\"access\",\"iat\":%lld,"
		    "\"exp\":9999999999}",
		/* not an object */
		"[%lld]",
		"\"%lld\"",
	};

	t_mkdir(&td);
	t_keyset(&td, ALG_HS256, &ks, kid);
	now = (long long)t_now;

	memset(c, 0, sizeof(c));
	c[0].name = "valid"; c[0].type = "access";
	c[0].iat = now; c[0].exp = now + 60; c[0].extra = ""; c[0].ok = 1;
	c[1].name = "refresh"; c[1].type = "refresh";
	c[1].iat = now; c[1].exp = now + 60; c[1].extra = ""; c[1].ok = 1;
	c[2].name = "exp now-61 (leeway 30)"; c[2].type = "access";
	c[2].iat = now - 3600; c[2].exp = now - 61; c[2].extra = "";
	c[3].name = "exp now-5 within leeway"; c[3].type = "access";
	c[3].iat = now - 3600; c[3].exp = now - 5; c[3].extra = "";
	c[3].ok = 1;
	c[4].name = "nbf now+120"; c[4].type = "access";
	c[4].iat = now; c[4].exp = now + 600; c[4].extra = ",\"nbf\":";
	c[5].name = "iat far future"; c[5].type = "access";
	c[5].iat = now + 3600; c[5].exp = now + 7200; c[5].extra = "";
	c[6].name = "type mfa"; c[6].type = "mfa";
	c[6].iat = now; c[6].exp = now + 60; c[6].extra = "";
	c[7].name = "nbf now-10"; c[7].type = "access";
	c[7].iat = now; c[7].exp = now + 600; c[7].extra = ",\"nbf\":";
	c[7].ok = 1;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char	 extra[64];

		if (strcmp(c[i].extra, ",\"nbf\":") == 0)
			(void)snprintf(extra, sizeof(extra), ",\"nbf\":%lld",
			    i == 4 ? now + 120 : now - 10);
		else
			extra[0] = '\0';
		(void)snprintf(p, sizeof(p), fmt_ok, c[i].type, c[i].iat,
		    c[i].exp, extra);
		tok = t_hs(&ks, "", p);
		ATF_CHECK_EQ_MSG(t_verify(&ks, ALG_HS256, tok),
		    c[i].ok ? TOKEN_OK : TOKEN_INVALID, "%s", c[i].name);
		free(tok);
	}
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		(void)snprintf(p, sizeof(p), raw[i], now);
		tok = t_hs(&ks, "", p);
		ATF_CHECK_EQ_MSG(t_verify(&ks, ALG_HS256, tok), TOKEN_INVALID,
		    "%s", p);
		free(tok);
	}
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/* The length cap comes before any decoding. */
ATF_TC_WITHOUT_HEAD(attack_oversized);
ATF_TC_BODY(attack_oversized, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], *p, *pad, *tok;
	size_t			 padlen;

	t_mkdir(&td);
	t_keyset(&td, ALG_HS256, &ks, kid);
	ATF_REQUIRE((p = malloc(8192)) != NULL);
	ATF_REQUIRE((pad = malloc(4096)) != NULL);
	for (padlen = 2000; padlen <= 3700; padlen += 1700) {
		memset(pad, 'x', padlen);
		pad[padlen] = '\0';
		(void)snprintf(p, 8192, "{\"iss\":\"%s\",\"sub\":\"42\","
		    "\"cid\":7,\"sid\":99,\"jti\":\"j\",\"type\":\"access\","
		    "\"iat\":%lld,\"exp\":%lld,\"pad\":\"%s\"}", T_ISS,
		    (long long)t_now, (long long)t_now + 60, pad);
		tok = t_hs(&ks, "", p);
		if (padlen == 2000) {
			ATF_CHECK(strlen(tok) < TOKEN_MAX_LEN);
			ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok), TOKEN_OK);
		} else {
			ATF_CHECK_MSG(strlen(tok) >= 5000, "%zu", strlen(tok));
			ATF_CHECK_EQ(t_verify(&ks, ALG_HS256, tok),
			    TOKEN_INVALID);
		}
		free(tok);
	}
	/* And token_sign refuses to make what would not verify. */
	ATF_CHECK(token_sign(&ks, p) == NULL);
	free(p);
	free(pad);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

ATF_TC_WITHOUT_HEAD(rotation);
ATF_TC_BODY(rotation, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks, ks2;
	char			 k1[TOKEN_KID_LEN], k2[TOKEN_KID_LEN];
	char			 k3[TOKEN_KID_LEN], cur[TOKEN_KID_LEN];
	char			 claims[512], err[512], *t1, *t2, *jwks;
	struct token_claims	 cl;

	t_mkdir(&td);
	t_keyset(&td, ALG_ES256, &ks, k1);
	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((t1 = token_sign(&ks, claims)) != NULL);
	token_keyset_clear(&ks);

	/* Generated without make_current: the old key stays current. */
	ATF_REQUIRE_MSG(token_key_generate(td.td_path, ALG_ES256, 0, k3,
	    sizeof(k3), err, sizeof(err)) == 0, "%s", err);
	ATF_REQUIRE(token_key_current(td.td_path, cur, sizeof(cur), err,
	    sizeof(err)) == 0);
	ATF_CHECK_STREQ(cur, k1);

	/* Rotation: a new current key. */
	ATF_REQUIRE_MSG(token_key_generate(td.td_path, ALG_ES256, 1, k2,
	    sizeof(k2), err, sizeof(err)) == 0, "%s", err);
	ATF_CHECK(strcmp(k1, k2) != 0);
	ATF_REQUIRE(token_key_current(td.td_path, cur, sizeof(cur), err,
	    sizeof(err)) == 0);
	ATF_CHECK_STREQ(cur, k2);
	ATF_REQUIRE_MSG(token_keyset_load(td.td_path, ALG_ES256, 1, &ks2, err,
	    sizeof(err)) == 0, "%s", err);
	ATF_CHECK_EQ(ks2.ks_nkeys, 3);
	ATF_CHECK_STREQ(ks2.ks_keys[ks2.ks_current].tk_kid, k2);

	ATF_REQUIRE((t2 = token_sign(&ks2, claims)) != NULL);
	ATF_CHECK_EQ(token_verify(&ks2, ALG_ES256, T_ISS, T_LEEWAY, t_now, t1,
	    &cl), TOKEN_OK);
	ATF_CHECK_EQ(token_verify(&ks2, ALG_ES256, T_ISS, T_LEEWAY, t_now, t2,
	    &cl), TOKEN_OK);
	/* The new token names the new kid. */
	{
		size_t	 hl;
		char	*dot = strchr(t2, '.');
		uint8_t	*h = t_unb64(t2, (size_t)(dot - t2), &hl);
		char	 want[TOKEN_KID_LEN + 16];

		(void)snprintf(want, sizeof(want), "\"kid\":\"%s\"", k2);
		ATF_CHECK_MSG(strstr((char *)h, want) != NULL, "%s", h);
		free(h);
	}
	ATF_REQUIRE((jwks = token_jwks(&ks2)) != NULL);
	ATF_CHECK(strstr(jwks, k1) != NULL);
	ATF_CHECK(strstr(jwks, k2) != NULL);
	ATF_CHECK(strstr(jwks, k3) != NULL);
	free(jwks);
	free(t1);
	free(t2);
	token_keyset_clear(&ks2);
	t_rmdir(&td);
}

ATF_TC_WITHOUT_HEAD(keyset_load_errors);
ATF_TC_BODY(keyset_load_errors, tc)
{
	struct t_dir		 td, other;
	struct token_keyset	 ks;
	struct stat		 st;
	char			 kid[TOKEN_KID_LEN], k2[TOKEN_KID_LEN];
	char			 err[512], p[PATH_MAX * 2], q[PATH_MAX * 2];

	t_mkdir(&td);
	/* Empty directory: no current key. */
	ATF_CHECK_EQ(token_keyset_load(td.td_path, ALG_ES256, 1, &ks, err,
	    sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "no current key") != NULL, "%s", err);

	ATF_REQUIRE(token_key_generate(td.td_path, ALG_ES256, 1, kid,
	    sizeof(kid), err, sizeof(err)) == 0);
	(void)snprintf(p, sizeof(p), "%s/%s.pem", td.td_path, kid);
	ATF_REQUIRE(stat(p, &st) == 0);
	ATF_CHECK_EQ(st.st_mode & 07777, 0600);
	ATF_REQUIRE(stat(td.td_path, &st) == 0);
	ATF_CHECK_EQ(st.st_mode & 077, 0);

	ATF_REQUIRE(chmod(p, 0644) == 0);
	ATF_CHECK_EQ(token_keyset_load(td.td_path, ALG_ES256, 1, &ks, err,
	    sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "group or others") != NULL, "%s", err);
	ATF_CHECK_EQ(ks.ks_nkeys, 0);
	ATF_REQUIRE(chmod(p, 0640) == 0);
	ATF_CHECK_EQ(token_keyset_load(td.td_path, ALG_ES256, 1, &ks, err,
	    sizeof(err)), -1);
	ATF_REQUIRE(chmod(p, 0600) == 0);
	ATF_REQUIRE(token_keyset_load(td.td_path, ALG_ES256, 1, &ks, err,
	    sizeof(err)) == 0);
	token_keyset_clear(&ks);

	/* A key of another algorithm is skipped, not loaded. */
	t_mkdir(&other);
	ATF_REQUIRE(token_key_generate(other.td_path, ALG_RS256, 1, k2,
	    sizeof(k2), err, sizeof(err)) == 0);
	(void)snprintf(q, sizeof(q), "%s/%s.pem", other.td_path, k2);
	(void)snprintf(p, sizeof(p), "%s/%s.pem", td.td_path, k2);
	ATF_REQUIRE(rename(q, p) == 0);
	ATF_REQUIRE_MSG(token_keyset_load(td.td_path, ALG_ES256, 1, &ks, err,
	    sizeof(err)) == 0, "%s", err);
	ATF_CHECK_EQ(ks.ks_nkeys, 1);
	ATF_CHECK_STREQ(ks.ks_keys[0].tk_kid, kid);
	token_keyset_clear(&ks);

	/* The current key missing from the directory. */
	(void)snprintf(p, sizeof(p), "%s/%s.pem", td.td_path, kid);
	ATF_REQUIRE(unlink(p) == 0);
	ATF_CHECK_EQ(token_keyset_load(td.td_path, ALG_ES256, 1, &ks, err,
	    sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, kid) != NULL, "%s", err);

	/* A key directory others may write to. */
	ATF_REQUIRE(chmod(td.td_path, 0777) == 0);
	ATF_CHECK_EQ(token_keyset_load(td.td_path, ALG_RS256, 1, &ks, err,
	    sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "writable") != NULL, "%s", err);
	ATF_REQUIRE(chmod(td.td_path, 0700) == 0);
	t_rmdir(&other);
	t_rmdir(&td);
}

ATF_TC_WITHOUT_HEAD(strip_private);
ATF_TC_BODY(strip_private, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks;
	char			 kid[TOKEN_KID_LEN], claims[512], *tok;

	t_mkdir(&td);
	t_keyset(&td, ALG_ES256, &ks, kid);
	t_claims(claims, sizeof(claims));
	ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
	token_keyset_strip_private(&ks);
	ATF_CHECK(ks.ks_keys[0].tk_priv == NULL);
	ATF_CHECK(token_sign(&ks, claims) == NULL);
	ATF_CHECK_EQ(t_verify(&ks, ALG_ES256, tok), TOKEN_OK);
	free(tok);
	token_keyset_clear(&ks);
	t_rmdir(&td);
}

/* A key through a real channel, as the parent sends it to children. */
static void
t_ipc_key(const struct token_key *tk, int with_private,
    struct token_key *out, int trailing)
{
	struct ipc		 a, b;
	struct ipc_builder	*ib;
	struct ipc_msg		 im;
	int			 sv[2], r;

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ATF_REQUIRE(ipc_init(&a, sv[0]) == 0);
	ATF_REQUIRE(ipc_init(&b, sv[1]) == 0);
	ATF_REQUIRE((ib = malloc(sizeof(*ib))) != NULL);
	ipc_builder_init(ib);
	ATF_REQUIRE(token_key_serialize(tk, with_private, ib) > 0);
	if (trailing)
		ipc_put_u32(ib, 0);
	ATF_REQUIRE(ipc_compose_b(&a, 1, 0, -1, ib) == 0);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	ipc_builder_clear(ib);
	free(ib);
	while ((r = ipc_get(&b, &im)) == 0)
		ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE_EQ(r, 1);
	r = token_key_deserialize(&im, out);
	ATF_CHECK_EQ(r, trailing ? -1 : 0);
	ipc_msg_free(&im);
	ipc_clear(&a);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(key_serialize);
ATF_TC_BODY(key_serialize, tc)
{
	struct t_dir		 td;
	struct token_keyset	 ks, got;
	char			 kid[TOKEN_KID_LEN], claims[512], *tok;
	enum config_alg		 a;

	for (a = ALG_ES256; a <= ALG_HS256; a++) {
		t_mkdir(&td);
		t_keyset(&td, a, &ks, kid);
		t_claims(claims, sizeof(claims));

		memset(&got, 0, sizeof(got));
		got.ks_nkeys = 1;
		got.ks_current = 0;
		t_ipc_key(&ks.ks_keys[0], 1, &got.ks_keys[0], 0);
		ATF_CHECK_STREQ(got.ks_keys[0].tk_kid, kid);
		ATF_CHECK_EQ(got.ks_keys[0].tk_alg, a);
		ATF_REQUIRE_EQ(got.ks_keys[0].tk_privlen,
		    ks.ks_keys[0].tk_privlen);
		ATF_CHECK(memcmp(got.ks_keys[0].tk_priv, ks.ks_keys[0].tk_priv,
		    ks.ks_keys[0].tk_privlen) == 0);
		ATF_REQUIRE((tok = token_sign(&got, claims)) != NULL);
		ATF_CHECK_EQ(t_verify(&ks, a, tok), TOKEN_OK);
		free(tok);
		token_keyset_clear(&got);

		/* Public only: verifies (ES, RS) but cannot sign. */
		got.ks_nkeys = 1;
		got.ks_current = 0;
		t_ipc_key(&ks.ks_keys[0], 0, &got.ks_keys[0], 0);
		ATF_CHECK(got.ks_keys[0].tk_priv == NULL);
		ATF_CHECK(token_sign(&got, claims) == NULL);
		ATF_REQUIRE((tok = token_sign(&ks, claims)) != NULL);
		ATF_CHECK_EQ(t_verify(&got, a, tok),
		    a == ALG_HS256 ? TOKEN_INVALID : TOKEN_OK);
		free(tok);
		token_keyset_clear(&got);

		/* Trailing bytes are a protocol error. */
		t_ipc_key(&ks.ks_keys[0], 1, &got.ks_keys[0], 1);
		ATF_CHECK(got.ks_keys[0].tk_priv == NULL);
		token_keyset_clear(&ks);
		t_rmdir(&td);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sign_verify_es256);
	ATF_TP_ADD_TC(tp, peek);
	ATF_TP_ADD_TC(tp, b64_outside_alphabet);
	ATF_TP_ADD_TC(tp, sign_verify_rs256);
	ATF_TP_ADD_TC(tp, sign_verify_hs256);
	ATF_TP_ADD_TC(tp, es256_openssl_independent);
	ATF_TP_ADD_TC(tp, es256_malleability);
	ATF_TP_ADD_TC(tp, attack_alg_none);
	ATF_TP_ADD_TC(tp, attack_hs256_with_public_key);
	ATF_TP_ADD_TC(tp, attack_alg_substitution);
	ATF_TP_ADD_TC(tp, attack_tamper);
	ATF_TP_ADD_TC(tp, attack_shape);
	ATF_TP_ADD_TC(tp, attack_kid);
	ATF_TP_ADD_TC(tp, attack_header);
	ATF_TP_ADD_TC(tp, attack_claims);
	ATF_TP_ADD_TC(tp, attack_oversized);
	ATF_TP_ADD_TC(tp, rotation);
	ATF_TP_ADD_TC(tp, keyset_load_errors);
	ATF_TP_ADD_TC(tp, strip_private);
	ATF_TP_ADD_TC(tp, key_serialize);
	return (atf_no_error());
}
