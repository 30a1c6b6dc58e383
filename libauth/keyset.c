/*
 * Key sets as bytes: reading and writing them in IPC messages, and
 * freeing them.  Apart from token.c, which parses and uses the keys with
 * OpenSSL, so that a process that only holds keys and passes them on
 * (the parent) links no OpenSSL at all.
 */
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "token.h"

const char *
token_alg_name(enum config_alg alg)
{
	switch (alg) {
	case ALG_ES256:
		return ("ES256");
	case ALG_RS256:
		return ("RS256");
	case ALG_HS256:
		return ("HS256");
	}
	return (NULL);
}

/*
 * A kid names a file in the key directory, so it is kept to characters
 * that cannot walk out of it or break a log line.
 */
int
token_kid_valid(const char *kid)
{
	size_t	 n;

	n = strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-");
	return (n > 0 && n < TOKEN_KID_LEN && kid[n] == '\0');
}

/*
 * Payload: str kid, u32 alg, u32 private length (0 when not sent),
 * private bytes, str public PEM ("" for HS256).
 */
int
token_key_serialize(const struct token_key *tk, int with_private,
    struct ipc_builder *ib)
{
	size_t	 start = ib->ib_len;
	size_t	 plen = 0;

	if (with_private && tk->tk_priv != NULL)
		plen = tk->tk_privlen;
	if (plen > TOKEN_FILE_MAX)
		return (-1);
	ipc_put_str(ib, tk->tk_kid);
	ipc_put_u32(ib, (uint32_t)tk->tk_alg);
	ipc_put_u32(ib, (uint32_t)plen);
	if (plen > 0)
		ipc_put_data(ib, tk->tk_priv, plen);
	ipc_put_str(ib, tk->tk_pub != NULL ? tk->tk_pub : "");
	if (ib->ib_error)
		return (-1);
	return ((int)(ib->ib_len - start));
}

int
token_key_deserialize(struct ipc_msg *im, struct token_key *tk)
{
	const char	*kid, *pub;
	uint32_t	 alg, plen;

	memset(tk, 0, sizeof(*tk));
	if (ipc_get_str(im, &kid, TOKEN_KID_LEN - 1) == -1 ||
	    !token_kid_valid(kid) ||
	    ipc_get_u32(im, &alg) == -1 || token_alg_name(alg) == NULL ||
	    ipc_get_u32(im, &plen) == -1 || plen > TOKEN_FILE_MAX)
		return (-1);
	(void)strlcpy(tk->tk_kid, kid, sizeof(tk->tk_kid));
	tk->tk_alg = (enum config_alg)alg;
	if (plen > 0) {
		if ((tk->tk_priv = malloc(plen)) == NULL)
			goto fail;
		tk->tk_privlen = plen;
		if (ipc_get_data(im, tk->tk_priv, plen) == -1)
			goto fail;
	}
	if (ipc_get_str(im, &pub, TOKEN_FILE_MAX) == -1)
		goto fail;
	/* ES256 and RS256 keys always verify, so they carry a public key. */
	if (alg != ALG_HS256) {
		if (pub[0] == '\0' || (tk->tk_pub = strdup(pub)) == NULL)
			goto fail;
		tk->tk_publen = strlen(pub);
	} else if (pub[0] != '\0')
		goto fail;
	if (ipc_get_end(im) == -1)
		goto fail;
	return (0);
 fail:
	if (tk->tk_priv != NULL)
		freezero(tk->tk_priv, tk->tk_privlen);
	free(tk->tk_pub);
	memset(tk, 0, sizeof(*tk));
	return (-1);
}
/* Frees the keys' bytes and zeroes the set; token_keyset_clear() as well. */
void
token_keyset_free(struct token_keyset *ks)
{
	struct token_key	*tk;
	int			 i;

	for (i = 0; i < ks->ks_nkeys && i < TOKEN_MAX_KEYS; i++) {
		tk = &ks->ks_keys[i];
		if (tk->tk_priv != NULL)
			freezero(tk->tk_priv, tk->tk_privlen);
		free(tk->tk_pub);
	}
	explicit_bzero(ks, sizeof(*ks));
	ks->ks_current = -1;
}
