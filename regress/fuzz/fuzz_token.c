/*
 * libFuzzer target: bearer-token verification.  At start the harness
 * makes an ES256 and an HS256 key directory (token_key_generate into a
 * temporary directory, token_keyset_load) and signs a few tokens with
 * token_sign.  Each input is verified against both keysets.
 *
 * Input: a first byte 0 means the rest is the token.  A first byte 1
 * or 2 edits one of the tokens signed at start, so that the fuzzer works
 * on valid tokens although the keys are new on each run: byte 2 picks
 * the token, bytes 3-4 a position, and the rest overwrites (1) or is
 * inserted (2) there.  Other first bytes: the whole input is the token.
 *
 * Invariant (abort): a token is accepted only when it is byte for byte
 * one of the tokens we signed with that keyset, and then its claims are
 * the ones we signed.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "token.h"

#define FUZZ_ISS	"https://auth.example.test"
#define FUZZ_NTOK	4	/* tokens signed per keyset */
#define FUZZ_LEEWAY	30

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_set {
	enum config_alg		 fs_alg;
	struct token_keyset	 fs_ks;
	char			*fs_tok[FUZZ_NTOK];
	int64_t			 fs_uid[FUZZ_NTOK];
};

static struct fuzz_set	 fuzz_sets[2] = {
	{ .fs_alg = ALG_ES256 },
	{ .fs_alg = ALG_HS256 }
};
static time_t		 fuzz_now;
static char		 fuzz_dir[PATH_MAX];

static void
fuzz_cleanup(void)
{
	char	 cmd[PATH_MAX + 16];
	int	 i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < FUZZ_NTOK; j++)
			free(fuzz_sets[i].fs_tok[j]);
		token_keyset_clear(&fuzz_sets[i].fs_ks);
	}
	if (fuzz_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
		(void)system(cmd);
	}
}

static void
fuzz_init(void)
{
	struct fuzz_set	*fs;
	const char	*tmp;
	char		 dir[PATH_MAX], kid[TOKEN_KID_LEN], err[512];
	char		 claims[512];
	int		 i, j;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_token.XXXXXX", tmp);
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	fuzz_now = time(NULL);
	for (i = 0; i < 2; i++) {
		fs = &fuzz_sets[i];
		snprintf(dir, sizeof(dir), "%s/%s", fuzz_dir,
		    token_alg_name(fs->fs_alg));
		if (token_key_generate(dir, fs->fs_alg, 1, kid, sizeof(kid),
		    err, sizeof(err)) == -1 ||
		    token_keyset_load(dir, fs->fs_alg, 1, &fs->fs_ks, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "fuzz_token: %s\n", err);
			abort();
		}
		for (j = 0; j < FUZZ_NTOK; j++) {
			fs->fs_uid[j] = 40 + j;
			snprintf(claims, sizeof(claims), "{\"iss\":\"%s\","
			    "\"sub\":\"%lld\",\"cid\":7,\"sid\":%d,"
			    "\"jti\":\"jti-%d\",\"type\":\"%s\",\"iat\":%lld,"
			    "\"exp\":%lld}", FUZZ_ISS,
			    (long long)fs->fs_uid[j], 90 + j, j,
			    j % 2 ? "refresh" : "access", (long long)fuzz_now,
			    (long long)fuzz_now + 600);
			if ((fs->fs_tok[j] = token_sign(&fs->fs_ks, claims)) ==
			    NULL)
				abort();
		}
	}
	/* The harness is only as good as this: our own tokens verify. */
	for (i = 0; i < 2; i++) {
		struct token_claims	 tc;

		fs = &fuzz_sets[i];
		for (j = 0; j < FUZZ_NTOK; j++)
			if (token_verify(&fs->fs_ks, fs->fs_alg, FUZZ_ISS,
			    FUZZ_LEEWAY, fuzz_now, fs->fs_tok[j], &tc) !=
			    TOKEN_OK)
				abort();
	}
}

/* The token an input stands for; malloc'd, NUL-terminated. */
static char *
fuzz_token(const uint8_t *data, size_t size)
{
	const char	*base;
	char		*tok;
	size_t		 blen, pos, n, len;
	int		 mode = size > 0 ? data[0] : 0;

	if ((mode == 1 || mode == 2) && size >= 4) {
		base = fuzz_sets[(data[1] / FUZZ_NTOK) % 2].fs_tok[data[1] %
		    FUZZ_NTOK];
		blen = strlen(base);
		pos = ((size_t)data[2] << 8 | data[3]) % (blen + 1);
		data += 4;
		n = size - 4;
		len = mode == 2 ? blen + n : (pos + n > blen ? pos + n : blen);
		if ((tok = calloc(1, len + 1)) == NULL)
			abort();
		memcpy(tok, base, pos);
		memcpy(tok + pos, data, n);
		if (mode == 2)
			memcpy(tok + pos + n, base + pos, blen - pos);
		else if (pos + n < blen)
			memcpy(tok + pos + n, base + pos + n, blen - pos - n);
		return (tok);
	}
	if (mode == 0 && size > 0) {
		data++;
		size--;
	}
	if ((tok = malloc(size + 1)) == NULL)
		abort();
	memcpy(tok, data, size);
	tok[size] = '\0';
	return (tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 inited;
	struct token_claims	 tc;
	struct fuzz_set		*fs;
	char			*tok;
	int			 i, j;

	if (!inited) {
		fuzz_init();
		inited = 1;
	}
	tok = fuzz_token(data, size);
	for (i = 0; i < 2; i++) {
		fs = &fuzz_sets[i];
		memset(&tc, 0, sizeof(tc));
		if (token_verify(&fs->fs_ks, fs->fs_alg, FUZZ_ISS,
		    FUZZ_LEEWAY, fuzz_now, tok, &tc) != TOKEN_OK)
			continue;
		for (j = 0; j < FUZZ_NTOK; j++)
			if (strcmp(tok, fs->fs_tok[j]) == 0)
				break;
		if (j == FUZZ_NTOK) {
			fprintf(stderr, "fuzz_token: %s accepted a token it "
			    "did not sign: %s\n", token_alg_name(fs->fs_alg),
			    tok);
			abort();
		}
		if (tc.tc_uid != fs->fs_uid[j] || tc.tc_cid != 7 ||
		    tc.tc_sid != 90 + j || strcmp(tc.tc_iss, FUZZ_ISS) != 0 ||
		    tc.tc_exp != (int64_t)fuzz_now + 600)
			abort();
	}
	free(tok);
	return (0);
}
