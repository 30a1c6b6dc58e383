/*
 * authctl key generate|rotate|list: the signing keys in the key
 * directory of the configuration.  These work on the files directly, so
 * that keys can be made before authd first starts; a running authd picks
 * up a rotation on reload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authctl.h"
#include "config.h"
#include "seal.h"
#include "token.h"

static int	 key_noargs(struct ctl_ctx *, const char *);
static int	 key_new(struct ctl_ctx *, int);
static int	 key_print_json(json_t *);

static int
key_noargs(struct ctl_ctx *cc, const char *cmd)
{
	if (cc->cc_argc != 0) {
		fprintf(stderr, "usage: authctl key %s\n", cmd);
		return (-1);
	}
	return (0);
}

/* Prints and frees j; an AUTHCTL_EXIT_* status. */
static int
key_print_json(json_t *j)
{
	char	*s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		fprintf(stderr, "authctl: out of memory\n");
		return (AUTHCTL_EXIT_ERROR);
	}
	printf("%s\n", s);
	free(s);
	json_decref(j);
	return (AUTHCTL_EXIT_OK);
}

static int
key_new(struct ctl_ctx *cc, int rotate)
{
	const struct authd_config	*conf = &cc->cc_conf;
	const char			*alg = token_alg_name(conf->c_alg);
	char				 kid[TOKEN_KID_LEN];
	char				 cur[TOKEN_KID_LEN], err[512];
	int				 iscur, sealed;

	if (key_noargs(cc, rotate ? "rotate" : "generate") == -1)
		return (AUTHCTL_EXIT_USAGE);
	if (token_key_generate(conf->c_keydir, conf->c_alg, rotate, kid,
	    sizeof(kid), err, sizeof(err)) == -1) {
		fprintf(stderr, "authctl: %s\n", err);
		return (AUTHCTL_EXIT_ERROR);
	}
	iscur = token_key_current(conf->c_keydir, cur, sizeof(cur), NULL,
	    0) == 0 && strcmp(cur, kid) == 0;
	/* The seal key is made once, with the first signing key. */
	if ((sealed = seal_key_generate(conf->c_keydir, err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "authctl: %s\n", err);
		return (AUTHCTL_EXIT_ERROR);
	}

	if (cc->cc_json)
		return (key_print_json(json_pack("{s:s, s:s, s:s, s:b}",
		    "kid", kid, "alg", alg, "dir", conf->c_keydir,
		    "current", iscur)));
	printf("%s key %s created in %s%s\n", alg, kid, conf->c_keydir,
	    iscur ? "; it is the current signing key" : "");
	if (sealed)
		printf("seal key created in %s/%s\n", conf->c_keydir,
		    SEAL_KEY_FILE);
	if (rotate)
		printf("run \"authctl reload\" (or send SIGHUP to authd) to "
		    "sign with it; older keys keep verifying until they are "
		    "removed\n");
	return (AUTHCTL_EXIT_OK);
}

int
key_generate(struct ctl_ctx *cc)
{
	return (key_new(cc, 0));
}

int
key_rotate(struct ctl_ctx *cc)
{
	return (key_new(cc, 1));
}

int
key_list(struct ctl_ctx *cc)
{
	const struct authd_config	*conf = &cc->cc_conf;
	struct token_keyset		 ks;
	json_t				*arr, *k;
	char				 err[512];
	int				 i;

	if (key_noargs(cc, "list") == -1)
		return (AUTHCTL_EXIT_USAGE);
	if (token_keyset_load(conf->c_keydir, conf->c_alg, 0, &ks, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "authctl: %s\n", err);
		return (AUTHCTL_EXIT_ERROR);
	}
	if (cc->cc_json) {
		if ((arr = json_array()) == NULL) {
			token_keyset_clear(&ks);
			fprintf(stderr, "authctl: out of memory\n");
			return (AUTHCTL_EXIT_ERROR);
		}
		for (i = 0; i < ks.ks_nkeys; i++) {
			k = json_pack("{s:s, s:s, s:b}",
			    "kid", ks.ks_keys[i].tk_kid,
			    "alg", token_alg_name(ks.ks_keys[i].tk_alg),
			    "current", i == ks.ks_current);
			if (k == NULL || json_array_append_new(arr, k) != 0) {
				json_decref(arr);
				token_keyset_clear(&ks);
				fprintf(stderr, "authctl: out of memory\n");
				return (AUTHCTL_EXIT_ERROR);
			}
		}
		token_keyset_clear(&ks);
		return (key_print_json(json_pack("{s:o}", "keys", arr)));
	}
	printf("%-*s %-6s %s\n", TOKEN_KID_LEN / 4, "KID", "ALG", "CURRENT");
	for (i = 0; i < ks.ks_nkeys; i++)
		printf("%-*s %-6s %s\n", TOKEN_KID_LEN / 4,
		    ks.ks_keys[i].tk_kid,
		    token_alg_name(ks.ks_keys[i].tk_alg),
		    i == ks.ks_current ? "*" : "");
	token_keyset_clear(&ks);
	return (AUTHCTL_EXIT_OK);
}
