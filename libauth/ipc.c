/*
 * Message framing between authd's processes, after OpenBSD's imsg and
 * OpenSMTPD's mproc.  See ipc.h for the contract.
 *
 * The peer of a channel may be hostile (a compromised worker talking to a
 * keyholder), so nothing it sends is trusted: lengths are checked before
 * any copy, descriptors it passes are bounded, and buffers that held
 * payloads (passwords) are zeroed as soon as they are done with.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"

#define IPC_RBUF_SIZE	(IPC_READ_SIZE * 2)
/* Buffers gathered into one sendmsg(). */
#define IPC_IOV_MAX	64

static void	ipc_out_free(struct ipc_out *);
static int	ipc_queue_fd(struct ipc *, int);
static int	ipc_dequeue_fd(struct ipc *);
static void	ipc_consume(struct ipc *, size_t);
static void	ipc_put(struct ipc_builder *, const void *, size_t);
static int	ipc_get_raw(struct ipc_msg *, void *, size_t);

int
ipc_init(struct ipc *ipc, int fd)
{
	int	 flags, i;

	memset(ipc, 0, sizeof(*ipc));
	ipc->i_fd = -1;
	for (i = 0; i < IPC_MAX_FDS; i++)
		ipc->i_fds[i] = -1;
	TAILQ_INIT(&ipc->i_outq);

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	if ((flags & O_NONBLOCK) == 0 &&
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return (-1);
	/*
	 * Not calloc(3): from the heap it would clear, and so bring into
	 * memory, 128 KiB a channel that small messages, read from its
	 * start, never reach.
	 */
	if ((ipc->i_rbuf = malloc(IPC_RBUF_SIZE)) == NULL)
		return (-1);
	ipc->i_fd = fd;
	ipc->i_pid = getpid();
	return (0);
}

void
ipc_clear(struct ipc *ipc)
{
	struct ipc_out	*out;
	int		 fd;

	while ((out = TAILQ_FIRST(&ipc->i_outq)) != NULL) {
		TAILQ_REMOVE(&ipc->i_outq, out, io_entry);
		ipc_out_free(out);
	}
	ipc->i_queued = 0;
	while ((fd = ipc_dequeue_fd(ipc)) != -1)
		close(fd);
	if (ipc->i_rbuf != NULL) {
		explicit_bzero(ipc->i_rbuf, IPC_RBUF_SIZE);
		free(ipc->i_rbuf);
		ipc->i_rbuf = NULL;
	}
	ipc->i_rlen = ipc->i_rpos = 0;
	if (ipc->i_fd != -1) {
		close(ipc->i_fd);
		ipc->i_fd = -1;
	}
}

static void
ipc_out_free(struct ipc_out *out)
{
	if (out->io_fd != -1)
		close(out->io_fd);
	/* io_buf lives in the same allocation, right after the struct. */
	explicit_bzero(out->io_buf, out->io_len);
	free(out);
}

/* Descriptors are kept in arrival order; a message takes the oldest. */
static int
ipc_queue_fd(struct ipc *ipc, int fd)
{
	if (ipc->i_nfds >= IPC_MAX_FDS) {
		close(fd);
		return (-1);
	}
	ipc->i_fds[ipc->i_nfds++] = fd;
	return (0);
}

static int
ipc_dequeue_fd(struct ipc *ipc)
{
	int	 fd;

	if (ipc->i_nfds <= 0)
		return (-1);
	fd = ipc->i_fds[0];
	memmove(&ipc->i_fds[0], &ipc->i_fds[1],
	    (size_t)(ipc->i_nfds - 1) * sizeof(ipc->i_fds[0]));
	ipc->i_fds[--ipc->i_nfds] = -1;
	return (fd);
}

ssize_t
ipc_read(struct ipc *ipc)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 left, i, nfds;
	int		 fd, overflow = 0;

	/*
	 * Move what is left of a partial message to the front, zeroing
	 * the bytes it leaves behind, so that a whole message always fits.
	 */
	if (ipc->i_rpos > 0) {
		left = ipc->i_rlen - ipc->i_rpos;
		memmove(ipc->i_rbuf, ipc->i_rbuf + ipc->i_rpos, left);
		explicit_bzero(ipc->i_rbuf + left, ipc->i_rlen - left);
		ipc->i_rlen = left;
		ipc->i_rpos = 0;
	}
	if (ipc->i_rlen >= IPC_RBUF_SIZE) {
		errno = ENOBUFS;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ipc->i_rbuf + ipc->i_rlen;
	iov.iov_len = IPC_RBUF_SIZE - ipc->i_rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	do {
		n = recvmsg(ipc->i_fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	ipc->i_rlen += (size_t)n;

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if (ipc_queue_fd(ipc, fd) == -1)
				overflow = 1;
		}
	}
	/*
	 * MSG_CTRUNC: the peer sent more descriptors than one message can
	 * carry; the kernel closed the ones that did not fit.  Either way the
	 * peer broke the protocol and the descriptors no longer match their
	 * messages.
	 */
	if (overflow || (msg.msg_flags & MSG_CTRUNC)) {
		errno = EBADMSG;
		return (-1);
	}
	return (n);
}

/* Drops a taken message from the read buffer, zeroing its bytes. */
static void
ipc_consume(struct ipc *ipc, size_t len)
{
	explicit_bzero(ipc->i_rbuf + ipc->i_rpos, len);
	ipc->i_rpos += len;
	if (ipc->i_rpos == ipc->i_rlen)
		ipc->i_rpos = ipc->i_rlen = 0;
}

int
ipc_get(struct ipc *ipc, struct ipc_msg *msg)
{
	struct ipc_hdr	 hdr;
	size_t		 avail;
	uint8_t		*data = NULL;
	int		 fd = -1;

	memset(msg, 0, sizeof(*msg));
	msg->im_fd = -1;

	avail = ipc->i_rlen - ipc->i_rpos;
	if (avail < IPC_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ipc->i_rbuf + ipc->i_rpos, sizeof(hdr));
	if (hdr.ih_len > IPC_MAX_PAYLOAD) {
		errno = EBADMSG;
		return (-1);
	}
	if (avail - IPC_HEADER_SIZE < hdr.ih_len)
		return (0);

	if (hdr.ih_len > 0) {
		if ((data = malloc(hdr.ih_len)) == NULL)
			return (-1);
		memcpy(data, ipc->i_rbuf + ipc->i_rpos + IPC_HEADER_SIZE,
		    hdr.ih_len);
	}
	if (hdr.ih_type & IPC_F_HASFD) {
		/* The descriptor rides with the first byte: it is here. */
		if ((fd = ipc_dequeue_fd(ipc)) == -1) {
			if (data != NULL) {
				explicit_bzero(data, hdr.ih_len);
				free(data);
			}
			errno = EBADMSG;
			return (-1);
		}
		hdr.ih_type &= ~IPC_F_HASFD;
	}
	ipc_consume(ipc, IPC_HEADER_SIZE + hdr.ih_len);

	msg->im_hdr = hdr;
	msg->im_data = data;
	msg->im_rpos = 0;
	msg->im_fd = fd;
	return (1);
}

void
ipc_msg_free(struct ipc_msg *msg)
{
	if (msg->im_data != NULL) {
		explicit_bzero(msg->im_data, msg->im_hdr.ih_len);
		free(msg->im_data);
		msg->im_data = NULL;
	}
	if (msg->im_fd != -1) {
		close(msg->im_fd);
		msg->im_fd = -1;
	}
	msg->im_hdr.ih_len = 0;
	msg->im_rpos = 0;
}

int
ipc_compose(struct ipc *ipc, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct ipc_out	*out;
	struct ipc_hdr	 hdr;

	if ((type & IPC_F_HASFD) || len > IPC_MAX_PAYLOAD ||
	    (data == NULL && len > 0) || ipc->i_fd == -1) {
		errno = EINVAL;
		goto fail;
	}
	if ((out = malloc(sizeof(*out) + IPC_HEADER_SIZE + len)) == NULL)
		goto fail;
	out->io_buf = (uint8_t *)(out + 1);
	out->io_len = IPC_HEADER_SIZE + len;
	out->io_wpos = 0;
	out->io_fd = fd;

	hdr.ih_type = type | (fd != -1 ? IPC_F_HASFD : 0);
	hdr.ih_len = (uint32_t)len;
	hdr.ih_peerid = peerid;
	hdr.ih_pid = (uint32_t)ipc->i_pid;
	memcpy(out->io_buf, &hdr, sizeof(hdr));
	if (len > 0)
		memcpy(out->io_buf + IPC_HEADER_SIZE, data, len);

	TAILQ_INSERT_TAIL(&ipc->i_outq, out, io_entry);
	ipc->i_queued++;
	return (0);

 fail:
	if (fd != -1)
		close(fd);
	return (-1);
}

int
ipc_compose_b(struct ipc *ipc, uint32_t type, uint32_t peerid, int fd,
    const struct ipc_builder *ib)
{
	if (ib->ib_error) {
		if (fd != -1)
			close(fd);
		errno = EMSGSIZE;
		return (-1);
	}
	return (ipc_compose(ipc, type, peerid, fd, ib->ib_data, ib->ib_len));
}

int
ipc_flush_nb(struct ipc *ipc)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec	 iov[IPC_IOV_MAX];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ipc_out	*out;
	ssize_t		 n;
	size_t		 done, left;
	int		 niov, fd;

	while (!TAILQ_EMPTY(&ipc->i_outq)) {
		/*
		 * Gather buffers, but let a message with a descriptor start
		 * its own sendmsg() so that the descriptor goes with its
		 * first byte, and end it so it goes with no later one.
		 */
		niov = 0;
		fd = -1;
		TAILQ_FOREACH(out, &ipc->i_outq, io_entry) {
			if (niov == IPC_IOV_MAX)
				break;
			if (out->io_fd != -1) {
				if (niov > 0)
					break;
				fd = out->io_fd;
			}
			iov[niov].iov_base = out->io_buf + out->io_wpos;
			iov[niov].iov_len = out->io_len - out->io_wpos;
			niov++;
			if (fd != -1)
				break;
		}

		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)niov;
		if (fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = &cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
		}

		if ((n = sendmsg(ipc->i_fd, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: the kernel is short of memory; retry. */
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return (0);
			return (-1);
		}
		/* Once any byte went, the descriptor went with it. */
		if (fd != -1 && n > 0) {
			out = TAILQ_FIRST(&ipc->i_outq);
			close(out->io_fd);
			out->io_fd = -1;
		}

		done = (size_t)n;
		while (done > 0 && (out = TAILQ_FIRST(&ipc->i_outq)) != NULL) {
			left = out->io_len - out->io_wpos;
			if (done < left) {
				out->io_wpos += done;
				break;
			}
			done -= left;
			TAILQ_REMOVE(&ipc->i_outq, out, io_entry);
			ipc->i_queued--;
			ipc_out_free(out);
		}
	}
	return (1);
}

int
ipc_flush(struct ipc *ipc)
{
	struct pollfd	 pfd;
	int		 r;

	for (;;) {
		if ((r = ipc_flush_nb(ipc)) != 0)
			return (r == 1 ? 0 : -1);
		pfd.fd = ipc->i_fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return (-1);
	}
}

void
ipc_builder_init(struct ipc_builder *ib)
{
	ib->ib_len = 0;
	ib->ib_error = 0;
}

static void
ipc_put(struct ipc_builder *ib, const void *data, size_t len)
{
	if (ib->ib_error)
		return;
	if (len > sizeof(ib->ib_data) - ib->ib_len) {
		ib->ib_error = 1;
		return;
	}
	if (len > 0)
		memcpy(ib->ib_data + ib->ib_len, data, len);
	ib->ib_len += len;
}

void
ipc_put_u32(struct ipc_builder *ib, uint32_t v)
{
	ipc_put(ib, &v, sizeof(v));
}

void
ipc_put_u64(struct ipc_builder *ib, uint64_t v)
{
	ipc_put(ib, &v, sizeof(v));
}

void
ipc_put_str(struct ipc_builder *ib, const char *s)
{
	if (s == NULL) {
		ib->ib_error = 1;
		return;
	}
	ipc_put(ib, s, strlen(s) + 1);
}

void
ipc_put_data(struct ipc_builder *ib, const void *data, size_t len)
{
	if (data == NULL && len > 0) {
		ib->ib_error = 1;
		return;
	}
	ipc_put(ib, data, len);
}

void
ipc_builder_clear(struct ipc_builder *ib)
{
	/* Puts never write past ib_len, so that is all there is to zero. */
	explicit_bzero(ib->ib_data, ib->ib_len);
	ib->ib_len = 0;
	ib->ib_error = 0;
}

static int
ipc_get_raw(struct ipc_msg *msg, void *buf, size_t len)
{
	if (msg->im_rpos > msg->im_hdr.ih_len ||
	    len > msg->im_hdr.ih_len - msg->im_rpos)
		return (-1);
	if (len > 0) {
		memcpy(buf, msg->im_data + msg->im_rpos, len);
		msg->im_rpos += len;
	}
	return (0);
}

int
ipc_get_u32(struct ipc_msg *msg, uint32_t *v)
{
	return (ipc_get_raw(msg, v, sizeof(*v)));
}

int
ipc_get_u64(struct ipc_msg *msg, uint64_t *v)
{
	return (ipc_get_raw(msg, v, sizeof(*v)));
}

int
ipc_get_str(struct ipc_msg *msg, const char **s, size_t max)
{
	const uint8_t	*start, *nul;
	size_t		 left;

	if (msg->im_rpos >= msg->im_hdr.ih_len || msg->im_data == NULL)
		return (-1);
	start = msg->im_data + msg->im_rpos;
	left = msg->im_hdr.ih_len - msg->im_rpos;
	if ((nul = memchr(start, '\0', left)) == NULL)
		return (-1);
	if ((size_t)(nul - start) > max)
		return (-1);
	*s = (const char *)start;
	msg->im_rpos += (size_t)(nul - start) + 1;
	return (0);
}

int
ipc_get_data(struct ipc_msg *msg, void *buf, size_t len)
{
	return (ipc_get_raw(msg, buf, len));
}

int
ipc_get_end(const struct ipc_msg *msg)
{
	return (msg->im_rpos == msg->im_hdr.ih_len ? 0 : -1);
}

int
ipc_check_len(const struct ipc_msg *msg, size_t len)
{
	return (msg->im_hdr.ih_len == len ? 0 : -1);
}

int
ipc_take_fd(struct ipc_msg *msg)
{
	int	 fd;

	fd = msg->im_fd;
	msg->im_fd = -1;
	return (fd);
}

int
ipc_ev_init(struct ipc_ev *iev, struct event_base *base, int fd,
    void (*handler)(int, short, void *), void *data)
{
	memset(iev, 0, sizeof(*iev));
	if (ipc_init(&iev->ie_ipc, fd) == -1)
		return (-1);
	iev->ie_base = base;
	iev->ie_handler = handler;
	iev->ie_data = data;
	iev->ie_events = EV_READ;
	if (base == NULL)
		return (0);	/* ipc_ev_attach() adds the event later */
	if ((iev->ie_ev = event_new(base, fd, EV_READ | EV_PERSIST, handler,
	    data)) == NULL)
		goto fail;
	if (event_add(iev->ie_ev, NULL) == -1)
		goto fail;
	return (0);

 fail:
	if (iev->ie_ev != NULL) {
		event_free(iev->ie_ev);
		iev->ie_ev = NULL;
	}
	/* On failure the caller keeps fd, as with ipc_init. */
	iev->ie_ipc.i_fd = -1;
	ipc_clear(&iev->ie_ipc);
	return (-1);
}

int
ipc_ev_attach(struct ipc_ev *iev, struct event_base *base,
    void (*handler)(int, short, void *), void *data)
{
	short	 events = EV_READ;

	if (iev->ie_dead || iev->ie_ev != NULL || base == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (iev->ie_ipc.i_queued > 0)
		events |= EV_WRITE;
	iev->ie_base = base;
	iev->ie_handler = handler;
	iev->ie_data = data;
	iev->ie_events = events;
	if ((iev->ie_ev = event_new(base, iev->ie_ipc.i_fd,
	    events | EV_PERSIST, handler, data)) == NULL)
		return (-1);
	if (event_add(iev->ie_ev, NULL) == -1) {
		event_free(iev->ie_ev);
		iev->ie_ev = NULL;
		return (-1);
	}
	/* Messages read while blocking for the config wait in the buffer. */
	event_active(iev->ie_ev, EV_READ, 0);
	return (0);
}

void
ipc_ev_update(struct ipc_ev *iev)
{
	short	 events;

	if (iev->ie_dead || iev->ie_ev == NULL)
		return;
	events = EV_READ;
	if (iev->ie_ipc.i_queued > 0)
		events |= EV_WRITE;
	if (events == iev->ie_events)
		return;
	/* A pending event cannot be reassigned: delete it first. */
	event_del(iev->ie_ev);
	if (event_assign(iev->ie_ev, iev->ie_base, iev->ie_ipc.i_fd,
	    events | EV_PERSIST, iev->ie_handler, iev->ie_data) == -1 ||
	    event_add(iev->ie_ev, NULL) == -1) {
		iev->ie_dead = 1;
		return;
	}
	iev->ie_events = events;
}

void
ipc_ev_clear(struct ipc_ev *iev)
{
	if (iev->ie_ev != NULL) {
		event_del(iev->ie_ev);
		event_free(iev->ie_ev);
		iev->ie_ev = NULL;
	}
	ipc_clear(&iev->ie_ipc);
	iev->ie_dead = 1;
}

int
ipc_ev_compose(struct ipc_ev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (iev->ie_dead) {
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	if (ipc_compose(&iev->ie_ipc, type, peerid, fd, data, len) == -1)
		return (-1);
	ipc_ev_update(iev);
	return (0);
}

int
ipc_ev_compose_b(struct ipc_ev *iev, uint32_t type, uint32_t peerid, int fd,
    const struct ipc_builder *ib)
{
	if (iev->ie_dead) {
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	if (ipc_compose_b(&iev->ie_ipc, type, peerid, fd, ib) == -1)
		return (-1);
	ipc_ev_update(iev);
	return (0);
}

int
ipc_ev_io(struct ipc_ev *iev, short events)
{
	ssize_t	 n;

	if (iev->ie_dead)
		return (-1);
	if ((events & EV_WRITE) && ipc_flush_nb(&iev->ie_ipc) == -1)
		goto dead;
	if (events & EV_READ) {
		n = ipc_read(&iev->ie_ipc);
		if (n == 0)
			goto dead;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			goto dead;
	}
	ipc_ev_update(iev);
	return (iev->ie_dead ? -1 : 0);

 dead:
	/* Stop the event: a closed socket would wake us forever. */
	iev->ie_dead = 1;
	if (iev->ie_ev != NULL)
		event_del(iev->ie_ev);
	return (-1);
}
