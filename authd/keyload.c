/*
 * The signing keys, loaded in a process of their own.
 *
 * The parent needs the keys only as bytes to hand on: the private PEM
 * to the keyholders, the public PEM to the workers.  But loading a key
 * file means parsing it with OpenSSL (to check it and derive its public
 * key), and that touches 2.7 MiB of libcrypto which would then stay
 * resident in the parent for its whole life.  So at start and at every
 * reload the parent runs "authd-keyholder -K", which loads the key
 * directory with token_keyset_load(), sends back every key in the
 * messages the keyholders get (IMSG_KEY, IMSG_KEYS_DONE), and exits.
 * It runs with the parent's privileges, which reading the keys needs,
 * and a failure reaches the parent as the message token_keyset_load()
 * wrote.  This file is the parent's side; keyload_serve.c, in
 * authd-keyholder, is the loader's.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"

static int	 keyload_take(struct ipc_msg *, struct token_keyset *,
		    char *, size_t);

/*
 * One message of the loader: 0 when more are to come, 1 when the set is
 * complete, -1 when loading failed (err says why).
 */
static int
keyload_take(struct ipc_msg *msg, struct token_keyset *ks, char *err,
    size_t errlen)
{
	const char	*why;
	uint32_t	 current, n;

	switch (msg->im_hdr.ih_type) {
	case IMSG_KEY:
		if (ks->ks_nkeys == TOKEN_MAX_KEYS ||
		    ipc_get_u32(msg, &current) == -1 ||
		    token_key_deserialize(msg,
		    &ks->ks_keys[ks->ks_nkeys]) == -1)
			break;
		if (current)
			ks->ks_current = ks->ks_nkeys;
		ks->ks_nkeys++;
		return (0);
	case IMSG_KEYS_DONE:
		if (ipc_get_u32(msg, &n) == -1 || ipc_get_end(msg) == -1 ||
		    n != (uint32_t)ks->ks_nkeys || ks->ks_current == -1)
			break;
		return (1);
	case IMSG_KEYLOAD_FAIL:
		if (ipc_get_str(msg, &why, errlen - 1) == -1 ||
		    ipc_get_end(msg) == -1)
			break;
		(void)strlcpy(err, why, errlen);
		return (-1);
	}
	snprintf(err, errlen, "key loader: invalid answer");
	return (-1);
}

/*
 * The parent's side: runs the loader on dir and fills ks.  0, or -1 with
 * err set and ks empty.
 */
int
keyload_fetch(const char *dir, enum config_alg alg, struct token_keyset *ks,
    char *err, size_t errlen)
{
	struct ipc		 ipc;
	struct ipc_msg		 msg;
	struct ipc_builder	 b;
	pid_t			 pid;
	int			 sp[2], r, wstatus, state = 0;

	memset(ks, 0, sizeof(*ks));
	ks->ks_current = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(err, errlen, "key loader: socketpair: %s",
		    strerror(errno));
		return (-1);
	}
	pid = proc_exec(PROC_KEYHOLDER, PROC_KEYLOAD, sp[1]);
	(void)close(sp[1]);
	if (pid == -1) {
		(void)close(sp[0]);
		snprintf(err, errlen, "key loader: cannot start it");
		return (-1);
	}
	if (ipc_init(&ipc, sp[0]) == -1) {
		(void)close(sp[0]);
		snprintf(err, errlen, "key loader: %s", strerror(errno));
		state = -1;
		goto reap;
	}
	ipc_builder_init(&b);
	ipc_put_u32(&b, (uint32_t)alg);
	ipc_put_str(&b, dir);
	snprintf(err, errlen, "key loader: no answer");
	if (ipc_compose_b(&ipc, IMSG_KEYLOAD, 0, -1, &b) == -1 ||
	    ipc_flush(&ipc) == -1)
		state = -1;
	while (state == 0 &&
	    (r = proc_read_msg(&ipc, &msg, KEYLOAD_TIMEOUT_MS)) == 1) {
		state = keyload_take(&msg, ks, err, errlen);
		ipc_msg_free(&msg);
	}
	ipc_clear(&ipc);
 reap:
	if (state != 1)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) == -1 && errno == EINTR)
		;
	if (state != 1) {
		token_keyset_free(ks);
		return (-1);
	}
	return (0);
}
