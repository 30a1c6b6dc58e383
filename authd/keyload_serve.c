/*
 * authd-keyholder -K: the loader of the parent's keys (keyload.c says
 * why).  One request, its answer, exit.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdlib.h>

#include "authd.h"
#include "log.h"

void
keyload_serve(void)
{
	struct ipc		 ipc;
	struct ipc_msg		 msg;
	struct ipc_builder	*b;
	struct token_keyset	 ks;
	const char		*dir;
	uint32_t		 alg;
	char			 err[512];
	int			 i;

	log_procinit("keyload");
	if ((b = malloc(sizeof(*b))) == NULL)
		fatal(NULL);
	if (ipc_init(&ipc, AUTHD_PARENT_FD) == -1)
		fatal("ipc_init");
	if (proc_read_msg(&ipc, &msg, KEYLOAD_TIMEOUT_MS) != 1 ||
	    msg.im_hdr.ih_type != IMSG_KEYLOAD ||
	    ipc_get_u32(&msg, &alg) == -1 ||
	    ipc_get_str(&msg, &dir, PATH_MAX - 1) == -1 ||
	    ipc_get_end(&msg) == -1)
		fatalx("no key load request from the parent");

	if (token_keyset_load(dir, (enum config_alg)alg, 1, &ks, err,
	    sizeof(err)) == -1) {
		ipc_builder_init(b);
		ipc_put_str(b, err);
		if (ipc_compose_b(&ipc, IMSG_KEYLOAD_FAIL, 0, -1, b) == -1)
			fatal("compose");
	} else {
		for (i = 0; i < ks.ks_nkeys; i++) {
			ipc_builder_init(b);
			ipc_put_u32(b, i == ks.ks_current);
			if (token_key_serialize(&ks.ks_keys[i], 1, b) == -1 ||
			    ipc_compose_b(&ipc, IMSG_KEY, 0, -1, b) == -1)
				fatalx("key %s: too large",
				    ks.ks_keys[i].tk_kid);
			ipc_builder_clear(b);
		}
		ipc_builder_init(b);
		ipc_put_u32(b, (uint32_t)ks.ks_nkeys);
		if (ipc_compose_b(&ipc, IMSG_KEYS_DONE, 0, -1, b) == -1)
			fatal("compose");
		token_keyset_clear(&ks);
	}
	ipc_msg_free(&msg);
	if (ipc_flush(&ipc) == -1)
		fatal("flush");
	ipc_clear(&ipc);
	free(b);
	exit(0);
}
