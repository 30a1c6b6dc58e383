/*
 * The keyholder: the only process that holds the private signing keys
 * and the pepper.  It has no network and no database; it answers
 * workers' requests to hash and verify passwords and to sign tokens.
 * Every request is checked for its exact shape; a malformed one closes
 * that worker's channel and never touches the keys.
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "authd.h"
#include "hashmem.h"
#include "log.h"
#include "password.h"
#include "seal.h"
#include "totp.h"
#include "token.h"

#define KH_MAX_PEERS	(AUTHD_MAX_WORKERS * 2)
#define KH_PEPPER_MAX	1024
#define KH_CLAIMS_MAX	2048
#define KH_NICE		10	/* below the workers: see keyholder_main */
#define KH_HASH_IDLE	1	/* seconds: then argon2's memory goes back */

struct kh_peer {
	struct ipc_ev	 kp_iev;
	int		 kp_used;
	int		 kp_worker;
};

static struct authd_config	 kh_conf;
static struct token_keyset	 kh_keys, kh_newkeys;
static struct password_params	 kh_params;
static uint8_t			*kh_pepper;	/* sodium_malloc'd */
static size_t			 kh_pepperlen;
static uint8_t			*kh_sealkey;	/* sodium_malloc'd */
static char			 kh_dummy[PASSWORD_HASH_MAX];
static struct ipc_ev		 kh_parent;
static struct kh_peer		 kh_peers[KH_MAX_PEERS];
static struct event_base	*kh_base;
static struct event		*kh_hash_idle;
static struct proc_stats	 kh_stats;
static int			 kh_index;

static void	 kh_dispatch_worker(int, short, void *);
static void	 kh_hash_done(void);

/*
 * Unknown users are verified against this hash so that a login costs the
 * same whether or not the account exists.  It follows the parameters.
 */
static void
kh_make_dummy(void)
{
	char	 pw[33];
	uint8_t	 raw[16];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
	hashmem_enter();
	if (password_hash(&kh_params, pw, kh_dummy, sizeof(kh_dummy)) == -1)
		fatalx("cannot hash with the configured parameters");
	kh_hash_done();
	sodium_memzero(pw, sizeof(pw));
}

static void
kh_apply_config(void)
{
	size_t	 area = 0;

	password_params_from_config(&kh_params, &kh_conf);
	kh_params.pp_pepper = kh_pepperlen ? kh_pepper : NULL;
	kh_params.pp_pepperlen = kh_pepperlen;
	/* bcrypt needs no working area; imported argon2 hashes map theirs. */
	if (kh_params.pp_hash == HASH_ARGON2ID)
		area = (size_t)kh_params.pp_argon2_memory * 1024;
	if (hashmem_init(area) == -1)
		log_warn("argon2 working area of %zu bytes", area);
}

/*
 * Password hashes run, from hashmem_enter() to here, in the argon2
 * working area that this process keeps between them (libauth/hashmem.c);
 * a second without a hash gives its pages back.
 */
static void
kh_hash_done(void)
{
	struct timeval	 idle = { KH_HASH_IDLE, 0 };

	hashmem_leave();
	if (kh_hash_idle != NULL && evtimer_add(kh_hash_idle, &idle) == -1)
		log_warnx("evtimer_add");
}

static void
kh_hash_release(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	hashmem_release();
}

static void
kh_reply(struct ipc_ev *iev, uint32_t type, uint32_t peerid,
    struct ipc_builder *b)
{
	if (ipc_ev_compose_b(iev, type, peerid, -1, b) == -1)
		log_warnx("reply to worker failed");
	ipc_builder_clear(b);
}

static int
kh_hash(struct ipc_msg *msg, struct ipc_builder *b)
{
	const char	*pw;
	char		 hash[PASSWORD_HASH_MAX];

	if (ipc_get_str(msg, &pw, PASSWORD_MAX) == -1 ||
	    ipc_get_end(msg) == -1)
		return (-1);
	if (password_hash(&kh_params, pw, hash, sizeof(hash)) == -1) {
		ipc_put_str(b, "hashing failed");
		return (IMSG_KH_ERROR);
	}
	ipc_put_str(b, hash);
	return (IMSG_KH_HASH);
}

static int
kh_verify(struct ipc_msg *msg, struct ipc_builder *b)
{
	const char	*pw, *hash;
	char		 newhash[PASSWORD_HASH_MAX] = "";
	int		 match, rehash = 0;

	if (ipc_get_str(msg, &pw, PASSWORD_MAX) == -1 ||
	    ipc_get_str(msg, &hash, PASSWORD_HASH_MAX) == -1 ||
	    ipc_get_end(msg) == -1)
		return (-1);
	if (*hash == '\0') {
		(void)password_verify(&kh_params, pw, kh_dummy, &rehash);
		match = 0;
		rehash = 0;
	} else if ((match = password_verify(&kh_params, pw, hash,
	    &rehash)) == -1)
		match = 0;
	if (match == 1 && rehash &&
	    password_hash(&kh_params, pw, newhash, sizeof(newhash)) == -1)
		newhash[0] = '\0';
	ipc_put_u32(b, match == 1);
	ipc_put_str(b, newhash);
	sodium_memzero(newhash, sizeof(newhash));
	return (IMSG_KH_VERIFY);
}

/* The claims must be an object naming this issuer; nothing else signs. */
static int
kh_claims_ok(const char *claims)
{
	json_t		*obj;
	json_error_t	 jerr;
	const char	*iss;
	int		 ok;

	if ((obj = json_loads(claims, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return (0);
	ok = json_is_object(obj) &&
	    (iss = json_string_value(json_object_get(obj, "iss"))) != NULL &&
	    strcmp(iss, kh_conf.c_issuer) == 0;
	json_decref(obj);
	return (ok);
}

/* A session's access token and refresh token, in one message. */
static int
kh_sign_pair(struct ipc_msg *msg, struct ipc_builder *b)
{
	const char	*claims[2];
	char		*tok[2] = { NULL, NULL };
	int		 i, type = IMSG_KH_TOKENS;

	if (ipc_get_str(msg, &claims[0], KH_CLAIMS_MAX) == -1 ||
	    ipc_get_str(msg, &claims[1], KH_CLAIMS_MAX) == -1 ||
	    ipc_get_end(msg) == -1 ||
	    !kh_claims_ok(claims[0]) || !kh_claims_ok(claims[1]))
		return (-1);
	for (i = 0; i < 2; i++)
		if ((tok[i] = token_sign(&kh_keys, claims[i])) == NULL) {
			ipc_put_str(b, "signing failed");
			type = IMSG_KH_ERROR;
			break;
		}
	if (type == IMSG_KH_TOKENS) {
		ipc_put_str(b, tok[0]);
		ipc_put_str(b, tok[1]);
	}
	free(tok[0]);
	free(tok[1]);
	return (type);
}

static int
kh_jwks(struct ipc_msg *msg, struct ipc_builder *b)
{
	char	*jwks;

	if (ipc_check_len(msg, 0) == -1)
		return (-1);
	if ((jwks = token_jwks(&kh_keys)) == NULL) {
		ipc_put_str(b, "no keys");
		return (IMSG_KH_ERROR);
	}
	ipc_put_str(b, jwks);
	free(jwks);
	return (IMSG_KH_JWKS);
}

static int
kh_verify_token(struct ipc_msg *msg, struct ipc_builder *b)
{
	struct token_claims	 tc;
	const char		*tok;

	if (ipc_get_str(msg, &tok, TOKEN_MAX_LEN) == -1 ||
	    ipc_get_end(msg) == -1)
		return (-1);
	memset(&tc, 0, sizeof(tc));
	if (token_verify(&kh_keys, kh_conf.c_alg, kh_conf.c_issuer,
	    kh_conf.c_leeway, time(NULL), tok, &tc) != TOKEN_OK) {
		memset(&tc, 0, sizeof(tc));
		ipc_put_u32(b, 0);
	} else
		ipc_put_u32(b, 1);
	ipc_put_data(b, &tc, sizeof(tc));
	return (IMSG_KH_CLAIMS);
}

/* Reads "u32 n, data sealed[n], str aad" and opens it into pt. */
static int
kh_unseal(struct ipc_msg *msg, uint8_t *pt, size_t *ptlen)
{
	uint8_t		 box[SEAL_MAX];
	const char	*aad;
	uint32_t	 n;

	if (ipc_get_u32(msg, &n) == -1 || n > sizeof(box) ||
	    ipc_get_data(msg, box, n) == -1 ||
	    ipc_get_str(msg, &aad, 128) == -1)
		return (-1);
	if (kh_sealkey == NULL ||
	    seal_decrypt(kh_sealkey, aad, box, n, pt, ptlen) == -1)
		return (-2);
	return (0);
}

/* A new random secret: shown once to the caller, and its sealed form. */
static int
kh_new_secret(struct ipc_msg *msg, struct ipc_builder *b)
{
	uint8_t		 secret[128], box[SEAL_MAX];
	char		 text[129];
	const char	*aad;
	uint32_t	 n;
	size_t		 boxlen;

	if (ipc_get_u32(msg, &n) == -1 || n < 16 || n > 64 ||
	    ipc_get_str(msg, &aad, 128) == -1 || ipc_get_end(msg) == -1)
		return (-1);
	randombytes_buf(secret, n);
	/*
	 * Partners key their HMACs with the secret as it is shown to them
	 * (openssl dgst -hmac "$secret"), so an integration's secret is
	 * its hex text, and that text is what is sealed.
	 */
	if (strncmp(aad, "integration:", 12) == 0) {
		if (n * 2 > sizeof(text) - 1)
			return (-1);
		sodium_bin2hex(text, sizeof(text), secret, n);
		n *= 2;
		memcpy(secret, text, n);
		sodium_memzero(text, sizeof(text));
	}
	if (kh_sealkey == NULL ||
	    seal_encrypt(kh_sealkey, aad, secret, n, box, &boxlen) == -1) {
		sodium_memzero(secret, sizeof(secret));
		ipc_put_str(b, "sealing failed");
		return (IMSG_KH_ERROR);
	}
	ipc_put_u32(b, n);
	ipc_put_data(b, secret, n);
	ipc_put_u32(b, boxlen);
	ipc_put_data(b, box, boxlen);
	sodium_memzero(secret, sizeof(secret));
	return (IMSG_KH_SECRET);
}

static int
kh_hmac(struct ipc_msg *msg, struct ipc_builder *b)
{
	crypto_auth_hmacsha256_state	 st;
	uint8_t		 secret[SEAL_MAX], mac[crypto_auth_hmacsha256_BYTES];
	const uint8_t	*data;
	size_t		 len;
	uint32_t	 n;
	int		 r;

	if ((r = kh_unseal(msg, secret, &len)) == -1)
		return (-1);
	if (ipc_get_u32(msg, &n) == -1 || n != msg->im_hdr.ih_len -
	    msg->im_rpos) {
		sodium_memzero(secret, sizeof(secret));
		return (-1);
	}
	data = msg->im_data + msg->im_rpos;
	msg->im_rpos += n;
	if (r == -2) {
		ipc_put_str(b, "cannot open the sealed secret");
		return (IMSG_KH_ERROR);
	}
	crypto_auth_hmacsha256_init(&st, secret, len);
	crypto_auth_hmacsha256_update(&st, data, n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(secret, sizeof(secret));
	ipc_put_data(b, mac, sizeof(mac));
	return (IMSG_KH_MAC);
}

static int
kh_totp(struct ipc_msg *msg, struct ipc_builder *b)
{
	uint8_t		 secret[SEAL_MAX];
	const char	*code;
	uint64_t	 last, now, step = 0;
	size_t		 len;
	int		 r, ok;

	if ((r = kh_unseal(msg, secret, &len)) == -1)
		return (-1);
	if (ipc_get_str(msg, &code, 16) == -1 ||
	    ipc_get_u64(msg, &last) == -1 || ipc_get_u64(msg, &now) == -1 ||
	    ipc_get_end(msg) == -1) {
		sodium_memzero(secret, sizeof(secret));
		return (-1);
	}
	if (r == -2) {
		ipc_put_str(b, "cannot open the sealed secret");
		return (IMSG_KH_ERROR);
	}
	ok = totp_verify(secret, len, code, now, last, &step);
	sodium_memzero(secret, sizeof(secret));
	ipc_put_u32(b, ok);
	ipc_put_u64(b, ok ? step : 0);
	return (IMSG_KH_TOTP);
}

/* Returns the reply type, or -1 for a message this peer may not send. */
static int
kh_request(struct ipc_msg *msg, struct ipc_builder *b)
{
	int	 type;

	switch (msg->im_hdr.ih_type) {
	case IMSG_KH_HASH_PASSWORD:
		hashmem_enter();
		type = kh_hash(msg, b);
		kh_hash_done();
		return (type);
	case IMSG_KH_VERIFY_PASSWORD:
		hashmem_enter();
		type = kh_verify(msg, b);
		kh_hash_done();
		return (type);
	case IMSG_KH_SIGN_PAIR:
		return (kh_sign_pair(msg, b));
	case IMSG_KH_PUBLIC_KEYS:
		return (kh_jwks(msg, b));
	case IMSG_KH_VERIFY_TOKEN:
		return (kh_verify_token(msg, b));
	case IMSG_KH_NEW_SECRET:
		return (kh_new_secret(msg, b));
	case IMSG_KH_HMAC:
		return (kh_hmac(msg, b));
	case IMSG_KH_TOTP_VERIFY:
		return (kh_totp(msg, b));
	default:
		return (-1);
	}
}

static void
kh_peer_close(struct kh_peer *p)
{
	ipc_ev_clear(&p->kp_iev);
	p->kp_used = 0;
}

static void
kh_dispatch_worker(int fd, short events, void *arg)
{
	struct kh_peer		*p = arg;
	struct ipc_builder	*b;
	struct ipc_msg		 msg;
	struct timespec		 t0, t1;
	int			 r, type;

	(void)fd;
	if (ipc_ev_io(&p->kp_iev, events) == -1) {
		kh_peer_close(p);
		return;
	}
	if ((b = malloc(sizeof(*b))) == NULL)
		fatal(NULL);
	while ((r = ipc_get(&p->kp_iev.ie_ipc, &msg)) == 1) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ipc_builder_init(b);
		type = kh_request(&msg, b);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		kh_stats.ps_usec += (t1.tv_sec - t0.tv_sec) * 1000000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (type == -1) {
			log_warnx("invalid message type %u from worker %d, "
			    "closing its channel", msg.im_hdr.ih_type,
			    p->kp_worker);
			ipc_msg_free(&msg);
			ipc_builder_clear(b);
			r = -1;
			break;
		}
		kh_stats.ps_requests++;
		kh_stats.ps_errors += type == IMSG_KH_ERROR;
		kh_reply(&p->kp_iev, type, msg.im_hdr.ih_peerid, b);
		ipc_msg_free(&msg);
	}
	free(b);
	if (r == -1)
		kh_peer_close(p);
}

static int
kh_add_peer(struct ipc_msg *msg)
{
	uint32_t	 role, idx;
	int		 i, fd;

	if (ipc_get_u32(msg, &role) == -1 || ipc_get_u32(msg, &idx) == -1 ||
	    ipc_get_end(msg) == -1 || role != PROC_WORKER ||
	    (fd = ipc_take_fd(msg)) == -1)
		return (-1);
	for (i = 0; i < KH_MAX_PEERS; i++)
		if (!kh_peers[i].kp_used)
			break;
	if (i == KH_MAX_PEERS) {
		log_warnx("too many worker channels");
		close(fd);
		return (0);
	}
	if (ipc_ev_init(&kh_peers[i].kp_iev, kh_base, fd, kh_dispatch_worker,
	    &kh_peers[i]) == -1) {
		close(fd);
		return (0);
	}
	kh_peers[i].kp_used = 1;
	kh_peers[i].kp_worker = idx;
	return (0);
}

static int
kh_add_key(struct ipc_msg *msg)
{
	struct token_key	*k;
	uint32_t		 current;

	if (kh_newkeys.ks_nkeys >= TOKEN_MAX_KEYS)
		return (-1);
	k = &kh_newkeys.ks_keys[kh_newkeys.ks_nkeys];
	if (ipc_get_u32(msg, &current) == -1 ||
	    token_key_deserialize(msg, k) == -1)
		return (-1);
	kh_newkeys.ks_nkeys++;
	if (current)
		kh_newkeys.ks_current = kh_newkeys.ks_nkeys - 1;
	return (0);
}

static int
kh_keys_done(struct ipc_msg *msg)
{
	uint32_t	 n;

	if (ipc_get_u32(msg, &n) == -1 || ipc_get_end(msg) == -1 ||
	    n != (uint32_t)kh_newkeys.ks_nkeys || n == 0)
		return (-1);
	token_keyset_clear(&kh_keys);
	kh_keys = kh_newkeys;
	memset(&kh_newkeys, 0, sizeof(kh_newkeys));
	return (0);
}

static int
kh_set_pepper(struct ipc_msg *msg)
{
	size_t	 len = msg->im_hdr.ih_len;

	if (len > KH_PEPPER_MAX)
		return (-1);
	if (kh_pepper != NULL)
		sodium_free(kh_pepper);
	kh_pepper = NULL;
	kh_pepperlen = 0;
	if (len > 0) {
		if ((kh_pepper = sodium_malloc(len)) == NULL)
			fatal("sodium_malloc");
		if (ipc_get_data(msg, kh_pepper, len) == -1)
			return (-1);
		sodium_mprotect_readonly(kh_pepper);
		kh_pepperlen = len;
	}
	kh_apply_config();
	kh_make_dummy();
	return (0);
}

static int
kh_parent_msg(struct ipc_msg *msg)
{
	uint32_t	 verbose;

	switch (msg->im_hdr.ih_type) {
	case IMSG_CONFIG:
		if (ipc_check_len(msg, sizeof(kh_conf)) == -1 ||
		    ipc_get_data(msg, &kh_conf, sizeof(kh_conf)) == -1)
			return (-1);
		kh_apply_config();
		return (0);
	case IMSG_LOG_VERBOSE:
		if (ipc_get_u32(msg, &verbose) == -1 ||
		    ipc_get_end(msg) == -1)
			return (-1);
		log_setverbose(verbose);
		return (0);
	case IMSG_KEY:
		return (kh_add_key(msg));
	case IMSG_KEYS_DONE:
		return (kh_keys_done(msg));
	case IMSG_PEPPER:
		return (kh_set_pepper(msg));
	case IMSG_SEALKEY:
		if (ipc_check_len(msg, SEAL_KEY_LEN) == -1)
			return (-1);
		if (kh_sealkey == NULL &&
		    (kh_sealkey = sodium_malloc(SEAL_KEY_LEN)) == NULL)
			fatal("sodium_malloc");
		sodium_mprotect_readwrite(kh_sealkey);
		if (ipc_get_data(msg, kh_sealkey, SEAL_KEY_LEN) == -1)
			return (-1);
		sodium_mprotect_readonly(kh_sealkey);
		return (0);
	case IMSG_PEER:
		return (kh_add_peer(msg));
	case IMSG_START:
		if (ipc_check_len(msg, 0) == -1)
			return (-1);
		ipc_ev_compose(&kh_parent, IMSG_READY, 0, -1, NULL, 0);
		return (0);
	default:
		return (-1);
	}
}

static void
kh_dispatch_parent(int fd, short events, void *arg)
{
	struct ipc_msg	 msg;
	int		 r;

	(void)fd;
	(void)arg;
	if (ipc_ev_io(&kh_parent, events) == -1)
		fatalx("parent channel closed");
	while ((r = ipc_get(&kh_parent.ie_ipc, &msg)) == 1) {
		r = kh_parent_msg(&msg);
		ipc_msg_free(&msg);
		if (r == -1)
			fatalx("invalid message from parent");
	}
	if (r == -1)
		fatalx("invalid message from parent");
}

static void
kh_report(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	ipc_ev_compose(&kh_parent, IMSG_STATS, 0, -1, &kh_stats,
	    sizeof(kh_stats));
}

static void __attribute__((noreturn))
keyholder_main(int index)
{
	struct event	*report;
	struct timeval	 one = { 1, 0 };

	kh_index = index;
	log_procinit(proc_title(PROC_KEYHOLDER));
	/* "authd: worker", as ps(1) showed it when all was one program. */
	setproctitle("-authd: %s", proc_title(PROC_KEYHOLDER));
	if (password_init() == -1)
		fatalx("password_init");
	if (ipc_ev_init(&kh_parent, NULL, AUTHD_PARENT_FD, NULL, NULL) == -1)
		fatal("ipc_ev_init");
	if (proc_read_config(&kh_parent.ie_ipc, &kh_conf) == -1)
		fatalx("no configuration from the parent");
	kh_apply_config();
	/*
	 * A password hash takes tens of milliseconds of CPU: under a flood
	 * of logins the workers' event loops must still get the CPU first,
	 * or every other request waits behind the hashes.
	 */
	if (setpriority(PRIO_PROCESS, 0, KH_NICE) == -1)
		log_warn("setpriority %d", KH_NICE);
	proc_drop(&kh_conf, PROC_KEYHOLDER, geteuid() == 0, NULL);

	if ((kh_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (ipc_ev_attach(&kh_parent, kh_base, kh_dispatch_parent, NULL) == -1)
		fatal("ipc_ev_attach");
	if ((report = event_new(kh_base, -1, EV_PERSIST, kh_report,
	    NULL)) == NULL || event_add(report, &one) == -1)
		fatalx("report timer");
	if ((kh_hash_idle = evtimer_new(kh_base, kh_hash_release,
	    NULL)) == NULL)
		fatalx("evtimer_new");
	log_debug("keyholder %d ready", kh_index);
	event_base_dispatch(kh_base);
	fatalx("event loop ended");
}

/*
 * authd-keyholder, started by authd(8) (proc_exec()): a keyholder, or
 * with -K the parent's key loader (keyload.c).
 */
int
main(int argc, char *argv[])
{
	int	 index;

	if ((index = proc_child_init(PROC_KEYHOLDER, argc, argv)) ==
	    PROC_KEYLOAD)
		keyload_serve();
	keyholder_main(index);
}
