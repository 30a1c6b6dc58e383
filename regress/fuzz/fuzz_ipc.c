/*
 * libFuzzer target: the IPC framing and payload getters, as a keyholder
 * sees a worker's bytes.  The input is written into one end of a
 * socketpair and read back with ipc_read()/ipc_get(); every message is
 * then decoded by the real token_key_deserialize() and by getter
 * sequences like the keyholder's decoders, and freed.
 *
 * Invariants (abort on violation): a getter never moves the read
 * position past the payload, a string it returns lies inside the payload
 * and is NUL-terminated there within the maximum, ipc_get_end() agrees
 * with the read position, and ASan/LSan see no bad access and no leak.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "token.h"

#define FUZZ_STR_MAX	1024

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check_pos(const struct ipc_msg *msg)
{
	if (msg->im_rpos > msg->im_hdr.ih_len)
		abort();
	if ((ipc_get_end(msg) == 0) != (msg->im_rpos == msg->im_hdr.ih_len))
		abort();
}

static int
fuzz_str(struct ipc_msg *msg, size_t max)
{
	const char	*s;
	size_t		 before = msg->im_rpos, len;

	if (ipc_get_str(msg, &s, max) == -1) {
		fuzz_check_pos(msg);
		return (-1);
	}
	if (s < (const char *)msg->im_data + before ||
	    s >= (const char *)msg->im_data + msg->im_hdr.ih_len)
		abort();
	len = strnlen(s, msg->im_hdr.ih_len - before);
	if (len == msg->im_hdr.ih_len - before || len > max)
		abort();
	if (msg->im_rpos != before + len + 1)
		abort();
	fuzz_check_pos(msg);
	return (0);
}

static int
fuzz_u32(struct ipc_msg *msg, uint32_t *v)
{
	size_t	 before = msg->im_rpos;
	int	 rv;

	rv = ipc_get_u32(msg, v);
	if (rv == 0 && msg->im_rpos != before + sizeof(*v))
		abort();
	fuzz_check_pos(msg);
	return (rv);
}

static int
fuzz_u64(struct ipc_msg *msg)
{
	uint64_t v;
	size_t	 before = msg->im_rpos;
	int	 rv;

	rv = ipc_get_u64(msg, &v);
	if (rv == 0 && msg->im_rpos != before + sizeof(v))
		abort();
	fuzz_check_pos(msg);
	return (rv);
}

static int
fuzz_data(struct ipc_msg *msg, size_t n)
{
	uint8_t	*buf;
	size_t	 before = msg->im_rpos;
	int	 rv;

	/* An exact-size heap buffer: ASan sees a getter writing past it. */
	if ((buf = malloc(n == 0 ? 1 : n)) == NULL)
		abort();
	rv = ipc_get_data(msg, buf, n);
	if (rv == 0 && msg->im_rpos != before + n)
		abort();
	free(buf);
	fuzz_check_pos(msg);
	return (rv);
}

/* The decoders of the keyholder's messages, by type. */
static void
fuzz_decode(struct ipc_msg *msg)
{
	struct token_keyset	 ks;
	uint32_t		 op, n;
	int			 i;

	msg->im_rpos = 0;
	switch (msg->im_hdr.ih_type % 6) {
	case 0:		/* a key from the parent */
		memset(&ks, 0, sizeof(ks));
		if (token_key_deserialize(msg, &ks.ks_keys[0]) == 0) {
			ks.ks_nkeys = 1;
			if (ipc_get_end(msg) != 0)
				abort();
		}
		token_keyset_clear(&ks);
		break;
	case 1:		/* verify_password: password, hash */
		if (fuzz_str(msg, FUZZ_STR_MAX) == 0 &&
		    fuzz_str(msg, 256) == 0)
			(void)ipc_get_end(msg);
		break;
	case 2:		/* unseal: length, box, aad */
		if (fuzz_u32(msg, &n) == 0 && n <= 4096 &&
		    fuzz_data(msg, n) == 0 && fuzz_str(msg, 128) == 0)
			(void)ipc_get_end(msg);
		break;
	case 3:		/* totp: code, last step, now */
		if (fuzz_str(msg, 16) == 0 && fuzz_u64(msg) == 0 &&
		    fuzz_u64(msg) == 0)
			(void)ipc_get_end(msg);
		break;
	case 4:		/* the whole payload as one blob */
		if (ipc_check_len(msg, msg->im_hdr.ih_len) != 0)
			abort();
		if (fuzz_data(msg, msg->im_hdr.ih_len) == 0 &&
		    ipc_get_end(msg) != 0)
			abort();
		break;
	default:	/* any sequence: each u32 picks the next getter */
		for (i = 0; i < 64; i++) {
			if (fuzz_u32(msg, &op) == -1)
				break;
			if ((op & 3) == 0 && fuzz_str(msg, op >> 2) == -1)
				break;
			if ((op & 3) == 1 && fuzz_u64(msg) == -1)
				break;
			if ((op & 3) == 2 && fuzz_data(msg, (op >> 2) &
			    0xffff) == -1)
				break;
			if ((op & 3) == 3 && ipc_get_end(msg) == 0)
				break;
		}
		break;
	}
	if (ipc_take_fd(msg) != -1)
		abort();	/* no descriptor was sent */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc	 ipc;
	struct ipc_msg	 msg;
	size_t		 off = 0;
	ssize_t		 n;
	int		 sv[2], r, eof = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (ipc_init(&ipc, sv[0]) == -1)
		abort();
	for (;;) {
		/* Feed in chunks so that frames arrive split. */
		if (off < size) {
			n = write(sv[1], data + off, size - off > 4096 ?
			    4096 : size - off);
			if (n > 0)
				off += n;
		}
		if (off == size && !eof) {
			shutdown(sv[1], SHUT_WR);
			eof = 1;
		}
		n = ipc_read(&ipc);
		if (n == -1 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		while ((r = ipc_get(&ipc, &msg)) == 1) {
			if (msg.im_hdr.ih_type & IPC_F_HASFD)
				abort();
			if (msg.im_hdr.ih_len > IPC_MAX_PAYLOAD ||
			    (msg.im_hdr.ih_len > 0) != (msg.im_data != NULL))
				abort();
			fuzz_decode(&msg);
			ipc_msg_free(&msg);
		}
		if (r == -1)
			break;
	}
	ipc_clear(&ipc);
	close(sv[1]);
	return (0);
}
