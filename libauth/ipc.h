/*
 * Message framing between authd's processes, after OpenBSD's imsg.
 *
 * Every message is a fixed header followed by at most IPC_MAX_PAYLOAD
 * bytes of payload.  A file descriptor may travel with a message
 * (SCM_RIGHTS).  Payloads are built with the ipc_put_* functions and read
 * back with the ipc_get_* getters, which check every length: a getter
 * never reads past the payload, strings must be NUL-terminated inside it,
 * and ipc_get_end() fails when bytes are left over.  A receiver treats any
 * getter failure as a protocol error of that channel.
 */
#ifndef IPC_H
#define IPC_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define IPC_MAX_PAYLOAD		(64 * 1024)
#define IPC_HEADER_SIZE		sizeof(struct ipc_hdr)
#define IPC_READ_SIZE		(IPC_MAX_PAYLOAD + IPC_HEADER_SIZE)
/* Descriptors that may wait in one channel before the reader takes them. */
#define IPC_MAX_FDS		16
/*
 * On the wire the high bit of ih_type says that a descriptor was sent with
 * the message; message types must therefore stay below it.  ipc_get()
 * strips the bit: a received im_hdr.ih_type never carries it.
 */
#define IPC_F_HASFD		0x80000000U

struct ipc_hdr {
	uint32_t	 ih_type;
	uint32_t	 ih_len;	/* payload length, header excluded */
	uint32_t	 ih_peerid;	/* a reply's is its request's */
	uint32_t	 ih_pid;
};

/* A received message.  Owns im_data and, unless taken, im_fd. */
struct ipc_msg {
	struct ipc_hdr	 im_hdr;
	uint8_t		*im_data;
	size_t		 im_rpos;	/* read position of the getters */
	int		 im_fd;		/* -1 when none came with it */
};

/* A message queued for writing. */
struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 io_entry;
	uint8_t			*io_buf;	/* header and payload */
	size_t			 io_len;
	size_t			 io_wpos;
	int			 io_fd;		/* sent with the first byte */
};
TAILQ_HEAD(ipc_outq, ipc_out);

/* One end of a channel: a non-blocking stream socket and its buffers. */
struct ipc {
	int		 i_fd;
	pid_t		 i_pid;		/* our pid, put in each header */
	uint8_t		*i_rbuf;	/* IPC_READ_SIZE * 2 bytes */
	size_t		 i_rlen;	/* end of the bytes read */
	size_t		 i_rpos;	/* start of the bytes not yet taken */
	int		 i_fds[IPC_MAX_FDS];	/* received, not yet taken */
	int		 i_nfds;
	struct ipc_outq	 i_outq;
	size_t		 i_queued;	/* messages in i_outq */
};

/* A payload under construction. */
struct ipc_builder {
	uint8_t		 ib_data[IPC_MAX_PAYLOAD];
	size_t		 ib_len;
	int		 ib_error;	/* set when a put did not fit */
};

/*
 * Channel setup and teardown.  ipc_init sets O_NONBLOCK on fd and, when it
 * succeeds, the channel owns fd: ipc_clear closes it, with every
 * descriptor queued in either direction, and zeroes the buffers.  On
 * failure the caller still owns fd.
 */
int	 ipc_init(struct ipc *, int fd);
void	 ipc_clear(struct ipc *);

/*
 * Reading: ipc_read() reads what the socket has (-1 with errno, EAGAIN
 * included; 0 on EOF; else bytes read).  ipc_get() takes the next whole
 * message: 1 when one was taken, 0 when more bytes are needed, -1 on a
 * protocol error (length over the maximum, a descriptor announced but
 * not received; errno EBADMSG) or ENOMEM.  Call ipc_get() until it
 * returns 0 after every read.  ipc_read() fails with EBADMSG when the
 * peer sent more descriptors than IPC_MAX_FDS can hold (the extra ones
 * are closed) and with ENOBUFS when the reader left its buffer full.
 */
ssize_t	 ipc_read(struct ipc *);
int	 ipc_get(struct ipc *, struct ipc_msg *);
void	 ipc_msg_free(struct ipc_msg *);	/* zeroes; closes im_fd */

/*
 * Writing: queue, then flush.  fd is -1 or passed; it is owned by the
 * channel from the call on, even when the call fails, and closed once
 * sent.  type must not have IPC_F_HASFD set; len at most IPC_MAX_PAYLOAD.
 * ipc_compose_b refuses a builder with ib_error set (EMSGSIZE).
 */
int	 ipc_compose(struct ipc *, uint32_t type, uint32_t peerid, int fd,
	    const void *data, size_t len);
int	 ipc_compose_b(struct ipc *, uint32_t type, uint32_t peerid, int fd,
	    const struct ipc_builder *);
/* 1 when everything is written, 0 when some is left, -1 on error (errno). */
int	 ipc_flush_nb(struct ipc *);
/* Blocks until the queue is empty; -1 on error. */
int	 ipc_flush(struct ipc *);

/* Payload building: each put appends; a put that does not fit sets ib_error. */
void	 ipc_builder_init(struct ipc_builder *);
void	 ipc_put_u32(struct ipc_builder *, uint32_t);
void	 ipc_put_u64(struct ipc_builder *, uint64_t);
/* The string with its NUL. */
void	 ipc_put_str(struct ipc_builder *, const char *);
void	 ipc_put_data(struct ipc_builder *, const void *, size_t);
void	 ipc_builder_clear(struct ipc_builder *);	/* explicit_bzero */

/*
 * Getters return 0 on success and -1 when the payload is too short, a
 * string is not NUL-terminated within it, or a string is longer than max.
 * ipc_get_str points into the message; it does not copy.
 */
int	 ipc_get_u32(struct ipc_msg *, uint32_t *);
int	 ipc_get_u64(struct ipc_msg *, uint64_t *);
int	 ipc_get_str(struct ipc_msg *, const char **, size_t max);
int	 ipc_get_data(struct ipc_msg *, void *, size_t);
int	 ipc_get_end(const struct ipc_msg *);	/* -1 if bytes remain */
/* Exact size check for fixed payloads: -1 unless im_hdr.ih_len == len. */
int	 ipc_check_len(const struct ipc_msg *, size_t len);
/* Takes ownership of the message's descriptor (-1 if none). */
int	 ipc_take_fd(struct ipc_msg *);

/*
 * A channel driven by libevent.  The event is persistent for reading;
 * ipc_ev_update() adds writing while messages are queued.  The handler is
 * an ordinary libevent callback (fd, events, ie_data) that calls
 * ipc_ev_io() and then takes the messages.  ipc_ev_init owns fd as
 * ipc_init does; ipc_ev_clear frees the event and clears the channel.
 * Once ie_dead is set the event is deleted and compose fails.
 */
struct ipc_ev {
	struct ipc	 ie_ipc;
	struct event	*ie_ev;
	struct event_base *ie_base;
	short		 ie_events;
	void		 (*ie_handler)(int, short, void *);
	void		*ie_data;
	int		 ie_dead;	/* closed, or a protocol error */
};

int	 ipc_ev_init(struct ipc_ev *, struct event_base *, int fd,
	    void (*)(int, short, void *), void *);
/*
 * A child first reads its configuration with blocking reads before it
 * has an event base: ipc_ev_init(iev, NULL, fd, NULL, NULL) sets up the
 * channel without an event, and ipc_ev_attach() later adds the event
 * keeping whatever was already read, and activates it once so that
 * messages already buffered are dispatched.  EAGAIN is not an error.
 */
int	 ipc_ev_attach(struct ipc_ev *, struct event_base *,
	    void (*)(int, short, void *), void *);
void	 ipc_ev_update(struct ipc_ev *);
void	 ipc_ev_clear(struct ipc_ev *);
int	 ipc_ev_compose(struct ipc_ev *, uint32_t type, uint32_t peerid,
	    int fd, const void *data, size_t len);
int	 ipc_ev_compose_b(struct ipc_ev *, uint32_t type, uint32_t peerid,
	    int fd, const struct ipc_builder *);
/*
 * Called from the handler with the events it got: writes on EV_WRITE,
 * reads on EV_READ.  Returns -1 when the channel is closed or broken;
 * then the caller stops using it.  Messages are then taken with
 * ipc_get(&iev->ie_ipc, &msg) until it returns 0.
 */
int	 ipc_ev_io(struct ipc_ev *, short events);

#endif /* IPC_H */
