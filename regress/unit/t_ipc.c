/*
 * Unit tests of libauth/ipc.c: framing, getters, descriptor passing and
 * the libevent glue, over real socketpairs.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>
#include <event2/event.h>

#include "ipc.h"

static void	t_pair(struct ipc *, struct ipc *);
static void	t_rawpair(int *, struct ipc *);
static void	t_writeall(int, const void *, size_t);
static int	t_nfds(void);
static void	t_pipe_send(struct ipc *, uint32_t, const char *, int *);
static void	t_fd_expect(int, const char *);
static uint8_t	t_pattern(uint32_t, size_t);

static void
t_pair(struct ipc *a, struct ipc *b)
{
	int	 sv[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ATF_REQUIRE(ipc_init(a, sv[0]) == 0);
	ATF_REQUIRE(ipc_init(b, sv[1]) == 0);
	ATF_REQUIRE(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
}

/* A raw blocking socket (*raw) to write hand-made frames into b. */
static void
t_rawpair(int *raw, struct ipc *b)
{
	int	 sv[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	*raw = sv[0];
	ATF_REQUIRE(ipc_init(b, sv[1]) == 0);
}

static void
t_writeall(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		ATF_REQUIRE(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Open descriptors of this process, for leak checks. */
static int
t_nfds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	ATF_REQUIRE((d = opendir("/proc/self/fd")) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/*
 * Composes a message carrying the read end of a new pipe whose write end
 * has text written into it and is then closed.  *rfd gets the number the
 * read end had here.
 */
static void
t_pipe_send(struct ipc *ipc, uint32_t type, const char *text, int *rfd)
{
	int	 p[2];

	ATF_REQUIRE(pipe(p) == 0);
	t_writeall(p[1], text, strlen(text));
	close(p[1]);
	if (rfd != NULL)
		*rfd = p[0];
	ATF_REQUIRE(ipc_compose(ipc, type, 0, p[0], text, strlen(text)) == 0);
}

/* Reads fd to EOF, expects text, closes fd. */
static void
t_fd_expect(int fd, const char *text)
{
	char	 buf[256];
	size_t	 len = 0;
	ssize_t	 n;

	ATF_REQUIRE(fd != -1);
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	ATF_REQUIRE(n == 0);
	buf[len] = '\0';
	ATF_REQUIRE_STREQ(buf, text);
	close(fd);
}

static uint8_t
t_pattern(uint32_t seq, size_t i)
{
	return ((uint8_t)((seq * 131u + i * 7u + (i >> 8)) & 0xff));
}

ATF_TC_WITHOUT_HEAD(roundtrip);
ATF_TC_BODY(roundtrip, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	const char	*p[] = { "one", "two two", "three three three" };
	size_t		 i;

	t_pair(&a, &b);
	for (i = 0; i < 3; i++)
		ATF_REQUIRE(ipc_compose(&a, 10 + i, 100 + i, -1, p[i],
		    strlen(p[i])) == 0);
	ATF_REQUIRE(a.i_queued == 3);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	ATF_REQUIRE(a.i_queued == 0);
	ATF_REQUIRE(ipc_read(&b) > 0);
	for (i = 0; i < 3; i++) {
		ATF_REQUIRE(ipc_get(&b, &m) == 1);
		ATF_REQUIRE(m.im_hdr.ih_type == 10 + i);
		ATF_REQUIRE(m.im_hdr.ih_peerid == 100 + i);
		ATF_REQUIRE(m.im_hdr.ih_pid == (uint32_t)getpid());
		ATF_REQUIRE(m.im_hdr.ih_len == strlen(p[i]));
		ATF_REQUIRE(memcmp(m.im_data, p[i], strlen(p[i])) == 0);
		ATF_REQUIRE(m.im_fd == -1);
		ipc_msg_free(&m);
		ATF_REQUIRE(m.im_data == NULL);
	}
	ATF_REQUIRE(ipc_get(&b, &m) == 0);

	/* The other direction works as well. */
	ATF_REQUIRE(ipc_compose(&b, 7, 8, -1, "x", 1) == 0);
	ATF_REQUIRE(ipc_flush(&b) == 0);
	ATF_REQUIRE(ipc_read(&a) == (ssize_t)IPC_HEADER_SIZE + 1);
	ATF_REQUIRE(ipc_get(&a, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 7 && m.im_data[0] == 'x');
	ipc_msg_free(&m);

	/* Nothing to read yet: EAGAIN.  Peer gone: EOF. */
	errno = 0;
	ATF_REQUIRE(ipc_read(&a) == -1 && errno == EAGAIN);
	ipc_clear(&b);
	ATF_REQUIRE(ipc_read(&a) == 0);
	ipc_clear(&a);
}

ATF_TC_WITHOUT_HEAD(many_in_one_read);
ATF_TC_BODY(many_in_one_read, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	uint32_t	 i, v;
	const uint32_t	 n = 500;

	t_pair(&a, &b);
	for (i = 0; i < n; i++)
		ATF_REQUIRE(ipc_compose(&a, 1, i, -1, &i, sizeof(i)) == 0);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	ATF_REQUIRE(ipc_read(&b) ==
	    (ssize_t)(n * (IPC_HEADER_SIZE + sizeof(i))));
	for (i = 0; i < n; i++) {
		ATF_REQUIRE(ipc_get(&b, &m) == 1);
		ATF_REQUIRE(m.im_hdr.ih_peerid == i);
		ATF_REQUIRE(ipc_check_len(&m, sizeof(v)) == 0);
		ATF_REQUIRE(ipc_get_u32(&m, &v) == 0 && v == i);
		ATF_REQUIRE(ipc_get_end(&m) == 0);
		ipc_msg_free(&m);
	}
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	ATF_REQUIRE(b.i_rlen == 0 && b.i_rpos == 0);
	ipc_clear(&a);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(split_bytewise);
ATF_TC_BODY(split_bytewise, tc)
{
	struct ipc	 b;
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		 stream[2 * sizeof(h) + 5 + 3];
	size_t		 i, len = 0, got = 0;
	int		 raw, r;

	/* Two frames made by hand: the wire format is the host header. */
	h.ih_type = 3; h.ih_len = 5; h.ih_peerid = 42; h.ih_pid = 9;
	memcpy(stream + len, &h, sizeof(h)); len += sizeof(h);
	memcpy(stream + len, "hello", 5); len += 5;
	h.ih_type = 4; h.ih_len = 3; h.ih_peerid = 43;
	memcpy(stream + len, &h, sizeof(h)); len += sizeof(h);
	memcpy(stream + len, "abc", 3); len += 3;

	t_rawpair(&raw, &b);
	for (i = 0; i < len; i++) {
		t_writeall(raw, stream + i, 1);
		ATF_REQUIRE(ipc_read(&b) == 1);
		r = ipc_get(&b, &m);
		if (i == sizeof(h) + 5 - 1 || i == len - 1) {
			ATF_REQUIRE(r == 1);
			ATF_REQUIRE(m.im_hdr.ih_pid == 9);
			if (got++ == 0) {
				ATF_REQUIRE(m.im_hdr.ih_type == 3);
				ATF_REQUIRE(m.im_hdr.ih_peerid == 42);
				ATF_REQUIRE(memcmp(m.im_data, "hello", 5) == 0);
			} else {
				ATF_REQUIRE(m.im_hdr.ih_type == 4);
				ATF_REQUIRE(m.im_hdr.ih_peerid == 43);
				ATF_REQUIRE(memcmp(m.im_data, "abc", 3) == 0);
			}
			ipc_msg_free(&m);
		} else
			ATF_REQUIRE(r == 0);
	}
	ATF_REQUIRE(got == 2);
	close(raw);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(truncated_header);
ATF_TC_BODY(truncated_header, tc)
{
	struct ipc	 b;
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		 buf[sizeof(h) + 4];
	int		 raw;

	memset(&h, 0, sizeof(h));
	h.ih_type = 5;
	h.ih_len = 4;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "wxyz", 4);

	t_rawpair(&raw, &b);
	t_writeall(raw, buf, 10);
	ATF_REQUIRE(ipc_read(&b) == 10);
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	/* Header complete, payload not. */
	t_writeall(raw, buf + 10, sizeof(h) - 10 + 2);
	ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	t_writeall(raw, buf + sizeof(h) + 2, 2);
	ATF_REQUIRE(ipc_read(&b) == 2);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 5);
	ATF_REQUIRE(memcmp(m.im_data, "wxyz", 4) == 0);
	ipc_msg_free(&m);
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	close(raw);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(oversize);
ATF_TC_BODY(oversize, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	uint8_t		*big;
	int		 raw;

	/* The largest payload goes through... */
	ATF_REQUIRE((big = malloc(IPC_MAX_PAYLOAD + 1)) != NULL);
	memset(big, 0xa5, IPC_MAX_PAYLOAD + 1);
	t_pair(&a, &b);
	ATF_REQUIRE(ipc_compose(&a, 1, 0, -1, big, IPC_MAX_PAYLOAD) == 0);
	/* ...one more byte is refused at the sender. */
	errno = 0;
	ATF_REQUIRE(ipc_compose(&a, 1, 0, -1, big, IPC_MAX_PAYLOAD + 1) == -1);
	ATF_REQUIRE(errno == EINVAL);
	ATF_REQUIRE(a.i_queued == 1);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	while (ipc_get(&b, &m) == 0)
		ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE(m.im_hdr.ih_len == IPC_MAX_PAYLOAD);
	ATF_REQUIRE(memcmp(m.im_data, big, IPC_MAX_PAYLOAD) == 0);
	ipc_msg_free(&m);
	ipc_clear(&a);
	ipc_clear(&b);
	free(big);

	/* A header announcing too much is a protocol error at once. */
	t_rawpair(&raw, &b);
	memset(&h, 0, sizeof(h));
	h.ih_type = 1;
	h.ih_len = IPC_MAX_PAYLOAD + 1;
	t_writeall(raw, &h, sizeof(h));
	ATF_REQUIRE(ipc_read(&b) == (ssize_t)sizeof(h));
	errno = 0;
	ATF_REQUIRE(ipc_get(&b, &m) == -1);
	ATF_REQUIRE(errno == EBADMSG);
	ATF_REQUIRE(m.im_data == NULL && m.im_fd == -1);
	h.ih_len = UINT32_MAX;
	close(raw);
	ipc_clear(&b);

	t_rawpair(&raw, &b);
	t_writeall(raw, &h, sizeof(h));
	ATF_REQUIRE(ipc_read(&b) == (ssize_t)sizeof(h));
	ATF_REQUIRE(ipc_get(&b, &m) == -1);
	close(raw);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(zero_length);
ATF_TC_BODY(zero_length, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	struct ipc_builder ib;
	uint32_t	 v;
	const char	*s;

	t_pair(&a, &b);
	ATF_REQUIRE(ipc_compose(&a, 9, 1, -1, NULL, 0) == 0);
	ipc_builder_init(&ib);
	ATF_REQUIRE(ipc_compose_b(&a, 10, 2, -1, &ib) == 0);
	/* NULL data with a length is a caller bug. */
	ATF_REQUIRE(ipc_compose(&a, 9, 1, -1, NULL, 1) == -1);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	ATF_REQUIRE(ipc_read(&b) == 2 * (ssize_t)IPC_HEADER_SIZE);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 9 && m.im_hdr.ih_len == 0);
	ATF_REQUIRE(m.im_data == NULL && m.im_fd == -1);
	ATF_REQUIRE(ipc_check_len(&m, 0) == 0);
	ATF_REQUIRE(ipc_get_end(&m) == 0);
	ATF_REQUIRE(ipc_get_u32(&m, &v) == -1);
	ATF_REQUIRE(ipc_get_str(&m, &s, 10) == -1);
	ATF_REQUIRE(ipc_get_data(&m, NULL, 0) == 0);
	ipc_msg_free(&m);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 10 && m.im_hdr.ih_len == 0);
	ipc_msg_free(&m);
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	ipc_clear(&a);
	ipc_clear(&b);
}

/* Hands a payload to the getters as ipc_get would. */
static void
t_msg(struct ipc_msg *m, const void *data, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->im_fd = -1;
	m->im_hdr.ih_len = (uint32_t)len;
	if (len > 0) {
		ATF_REQUIRE((m->im_data = malloc(len)) != NULL);
		memcpy(m->im_data, data, len);
	}
}

ATF_TC_WITHOUT_HEAD(getters_exact);
ATF_TC_BODY(getters_exact, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	struct ipc_builder *ib;
	uint32_t	 v32;
	uint64_t	 v64;
	const char	*s, *e;
	uint8_t		 raw[5];

	ATF_REQUIRE((ib = malloc(sizeof(*ib))) != NULL);
	ipc_builder_init(ib);
	ipc_put_u32(ib, 0xdeadbeef);
	ipc_put_u64(ib, 0x0123456789abcdefULL);
	ipc_put_str(ib, "user@example.org");
	ipc_put_str(ib, "");
	ipc_put_data(ib, "\0\1\2\3\4", 5);
	ATF_REQUIRE(ib->ib_error == 0);
	ATF_REQUIRE(ib->ib_len == 4 + 8 + 17 + 1 + 5);

	t_pair(&a, &b);
	ATF_REQUIRE(ipc_compose_b(&a, 2, 3, -1, ib) == 0);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(ipc_check_len(&m, ib->ib_len) == 0);
	ATF_REQUIRE(ipc_check_len(&m, ib->ib_len - 1) == -1);
	ATF_REQUIRE(ipc_check_len(&m, ib->ib_len + 1) == -1);
	ATF_REQUIRE(ipc_get_u32(&m, &v32) == 0 && v32 == 0xdeadbeef);
	ATF_REQUIRE(ipc_get_u64(&m, &v64) == 0 &&
	    v64 == 0x0123456789abcdefULL);
	/* The limit is the length without the NUL, inclusive. */
	ATF_REQUIRE(ipc_get_str(&m, &s, 16) == 0);
	ATF_REQUIRE_STREQ(s, "user@example.org");
	ATF_REQUIRE(ipc_get_str(&m, &e, 0) == 0);
	ATF_REQUIRE_STREQ(e, "");
	ATF_REQUIRE(ipc_get_end(&m) == -1);
	ATF_REQUIRE(ipc_get_data(&m, raw, sizeof(raw)) == 0);
	ATF_REQUIRE(memcmp(raw, "\0\1\2\3\4", 5) == 0);
	ATF_REQUIRE(ipc_get_end(&m) == 0);
	ATF_REQUIRE(ipc_get_u32(&m, &v32) == -1);
	ipc_msg_free(&m);

	ipc_builder_clear(ib);
	ipc_clear(&a);
	ipc_clear(&b);
	free(ib);
}

ATF_TC_WITHOUT_HEAD(getters_bad_str);
ATF_TC_BODY(getters_bad_str, tc)
{
	struct ipc_msg	 m;
	const char	*s = NULL;

	/* No NUL inside the payload. */
	t_msg(&m, "abcdef", 6);
	ATF_REQUIRE(ipc_get_str(&m, &s, 100) == -1);
	ATF_REQUIRE(s == NULL && m.im_rpos == 0);
	ipc_msg_free(&m);

	/* Longer than max, then within max. */
	t_msg(&m, "abcdef", 7);
	ATF_REQUIRE(ipc_get_str(&m, &s, 5) == -1);
	ATF_REQUIRE(m.im_rpos == 0);
	ATF_REQUIRE(ipc_get_str(&m, &s, 6) == 0);
	ATF_REQUIRE_STREQ(s, "abcdef");
	ATF_REQUIRE(ipc_get_end(&m) == 0);
	ipc_msg_free(&m);

	/* The NUL of a second string lies past the end. */
	t_msg(&m, "ab\0cd", 5);
	ATF_REQUIRE(ipc_get_str(&m, &s, 10) == 0);
	ATF_REQUIRE_STREQ(s, "ab");
	ATF_REQUIRE(ipc_get_str(&m, &s, 10) == -1);
	ATF_REQUIRE(ipc_get_end(&m) == -1);
	ipc_msg_free(&m);
}

ATF_TC_WITHOUT_HEAD(getters_past_end);
ATF_TC_BODY(getters_past_end, tc)
{
	struct ipc_msg	 m;
	uint32_t	 v32 = 0x11111111;
	uint64_t	 v64;
	uint8_t		 buf[16];

	t_msg(&m, &v32, sizeof(v32));
	ATF_REQUIRE(ipc_get_u64(&m, &v64) == -1);
	ATF_REQUIRE(ipc_get_data(&m, buf, 5) == -1);
	ATF_REQUIRE(m.im_rpos == 0);
	ATF_REQUIRE(ipc_get_data(&m, buf, 2) == 0);
	ATF_REQUIRE(ipc_get_u32(&m, &v32) == -1);
	/* Two bytes left over: the decoder must refuse the message. */
	ATF_REQUIRE(ipc_get_end(&m) == -1);
	ATF_REQUIRE(ipc_get_data(&m, buf, 2) == 0);
	ATF_REQUIRE(ipc_get_end(&m) == 0);
	ATF_REQUIRE(ipc_get_data(&m, buf, 1) == -1);
	ATF_REQUIRE(ipc_check_len(&m, 4) == 0);
	ATF_REQUIRE(ipc_check_len(&m, 8) == -1);
	ipc_msg_free(&m);

	t_msg(&m, "12345678abc", 11);
	ATF_REQUIRE(ipc_get_u64(&m, &v64) == 0);
	ATF_REQUIRE(ipc_get_u32(&m, &v32) == -1);
	ATF_REQUIRE(ipc_get_end(&m) == -1);
	ipc_msg_free(&m);
}

ATF_TC_WITHOUT_HEAD(builder_overflow);
ATF_TC_BODY(builder_overflow, tc)
{
	struct ipc	 a, b;
	struct ipc_builder *ib;
	uint8_t		*big;
	size_t		 i;
	int		 p[2];

	ATF_REQUIRE((ib = malloc(sizeof(*ib))) != NULL);
	ATF_REQUIRE((big = calloc(1, IPC_MAX_PAYLOAD)) != NULL);
	ipc_builder_init(ib);
	ipc_put_data(ib, big, IPC_MAX_PAYLOAD - 3);
	ATF_REQUIRE(ib->ib_error == 0);
	ipc_put_u32(ib, 1);
	ATF_REQUIRE(ib->ib_error == 1);
	ATF_REQUIRE(ib->ib_len == IPC_MAX_PAYLOAD - 3);
	/* Later puts that would fit do not hide the error. */
	ipc_put_str(ib, "");
	ATF_REQUIRE(ib->ib_error == 1);
	ATF_REQUIRE(ib->ib_len == IPC_MAX_PAYLOAD - 3);

	t_pair(&a, &b);
	ATF_REQUIRE(pipe(p) == 0);
	errno = 0;
	ATF_REQUIRE(ipc_compose_b(&a, 1, 0, p[0], ib) == -1);
	ATF_REQUIRE(errno == EMSGSIZE);
	ATF_REQUIRE(a.i_queued == 0 && TAILQ_EMPTY(&a.i_outq));
	/* The descriptor was the channel's and is closed. */
	ATF_REQUIRE(fcntl(p[0], F_GETFD) == -1 && errno == EBADF);
	close(p[1]);

	/* Exactly full is fine; clear zeroes what was put. */
	ipc_builder_init(ib);
	memset(big, 'p', IPC_MAX_PAYLOAD);
	ipc_put_data(ib, big, IPC_MAX_PAYLOAD);
	ATF_REQUIRE(ib->ib_error == 0 && ib->ib_len == IPC_MAX_PAYLOAD);
	ATF_REQUIRE(ipc_compose_b(&a, 1, 0, -1, ib) == 0);
	ipc_builder_clear(ib);
	ATF_REQUIRE(ib->ib_len == 0 && ib->ib_error == 0);
	for (i = 0; i < IPC_MAX_PAYLOAD; i++)
		ATF_REQUIRE(ib->ib_data[i] == 0);
	ipc_put_str(ib, NULL);
	ATF_REQUIRE(ib->ib_error == 1);

	ipc_clear(&a);
	ipc_clear(&b);
	free(big);
	free(ib);
}

ATF_TC_WITHOUT_HEAD(compose_bad_type);
ATF_TC_BODY(compose_bad_type, tc)
{
	struct ipc	 a, b;
	int		 p[2];

	t_pair(&a, &b);
	ATF_REQUIRE(pipe(p) == 0);
	errno = 0;
	ATF_REQUIRE(ipc_compose(&a, IPC_F_HASFD | 1, 0, p[0], "x", 1) == -1);
	ATF_REQUIRE(errno == EINVAL);
	ATF_REQUIRE(fcntl(p[0], F_GETFD) == -1 && errno == EBADF);
	ATF_REQUIRE(a.i_queued == 0);
	close(p[1]);
	ipc_clear(&a);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(fd_pass);
ATF_TC_BODY(fd_pass, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	int		 p[2], fd;

	t_pair(&a, &b);
	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE(ipc_compose(&a, 77, 5, p[0], "pipe", 4) == 0);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	/* Sent, so closed here (nothing was opened since). */
	ATF_REQUIRE(fcntl(p[0], F_GETFD) == -1 && errno == EBADF);
	ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE(b.i_nfds == 1);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(b.i_nfds == 0);
	/* The flag is not part of the type seen by the receiver. */
	ATF_REQUIRE(m.im_hdr.ih_type == 77);
	ATF_REQUIRE(m.im_hdr.ih_len == 4);
	ATF_REQUIRE(m.im_fd != -1);
	ATF_REQUIRE(fcntl(m.im_fd, F_GETFD) & FD_CLOEXEC);
	fd = ipc_take_fd(&m);
	ATF_REQUIRE(m.im_fd == -1);
	ATF_REQUIRE(ipc_take_fd(&m) == -1);
	ipc_msg_free(&m);
	/* Taken: ipc_msg_free left it open. */
	ATF_REQUIRE(fcntl(fd, F_GETFD) != -1);
	t_writeall(p[1], "through the pipe", 16);
	close(p[1]);
	t_fd_expect(fd, "through the pipe");
	ipc_clear(&a);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(fd_two);
ATF_TC_BODY(fd_two, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;

	t_pair(&a, &b);
	t_pipe_send(&a, 1, "first", NULL);
	ATF_REQUIRE(ipc_compose(&a, 2, 0, -1, "none", 4) == 0);
	t_pipe_send(&a, 3, "second", NULL);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	/* Read everything before taking anything: both fds wait in order. */
	while (b.i_rlen < 3 * IPC_HEADER_SIZE + 5 + 4 + 6)
		ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE(b.i_nfds == 2);

	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 1);
	t_fd_expect(ipc_take_fd(&m), "first");
	ipc_msg_free(&m);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 2 && m.im_fd == -1);
	ipc_msg_free(&m);
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_hdr.ih_type == 3);
	t_fd_expect(ipc_take_fd(&m), "second");
	ipc_msg_free(&m);
	ATF_REQUIRE(ipc_get(&b, &m) == 0);
	ipc_clear(&a);
	ipc_clear(&b);
}

ATF_TC_WITHOUT_HEAD(fd_noleak);
ATF_TC_BODY(fd_noleak, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	int		 before, i;

	before = t_nfds();
	t_pair(&a, &b);
	/* Two sent, then two left in the output queue. */
	t_pipe_send(&a, 1, "s1", NULL);
	t_pipe_send(&a, 1, "s2", NULL);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	t_pipe_send(&a, 1, "u1", NULL);
	t_pipe_send(&a, 1, "u2", NULL);
	ATF_REQUIRE(a.i_queued == 2);
	ATF_REQUIRE(t_nfds() == before + 2 + 2);

	for (i = 0; i < 10 && b.i_nfds < 2; i++)
		ATF_REQUIRE(ipc_read(&b) > 0);
	ATF_REQUIRE(b.i_nfds == 2);
	ATF_REQUIRE(t_nfds() == before + 2 + 2 + 2);
	/* One message taken but not its fd; the other never taken. */
	ATF_REQUIRE(ipc_get(&b, &m) == 1);
	ATF_REQUIRE(m.im_fd != -1);
	ipc_msg_free(&m);
	ATF_REQUIRE(t_nfds() == before + 2 + 2 + 1);

	ipc_clear(&a);
	ipc_clear(&b);
	ATF_REQUIRE(t_nfds() == before);
	/* Clearing twice is harmless. */
	ipc_clear(&a);
	ATF_REQUIRE(t_nfds() == before);
}

ATF_TC_WITHOUT_HEAD(fd_overflow);
ATF_TC_BODY(fd_overflow, tc)
{
	struct ipc	 a, b;
	ssize_t		 n = 0;
	int		 before, i;

	before = t_nfds();
	t_pair(&a, &b);
	for (i = 0; i < IPC_MAX_FDS + 2; i++)
		t_pipe_send(&a, 1, "x", NULL);
	ATF_REQUIRE(ipc_flush(&a) == 0);
	/* The reader never takes a message: the fd queue fills up. */
	for (i = 0; i < 100; i++) {
		if ((n = ipc_read(&b)) == -1)
			break;
		ATF_REQUIRE(n > 0);
	}
	ATF_REQUIRE(n == -1 && errno == EBADMSG);
	ATF_REQUIRE(b.i_nfds == IPC_MAX_FDS);
	/* The extra one was closed, not kept. */
	ATF_REQUIRE(t_nfds() == before + 2 + IPC_MAX_FDS);
	ipc_clear(&a);
	ipc_clear(&b);
	ATF_REQUIRE(t_nfds() == before);
}

/* A hostile peer: many descriptors in one sendmsg, or none announced. */
ATF_TC_WITHOUT_HEAD(fd_hostile);
ATF_TC_BODY(fd_hostile, tc)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) *
				    (IPC_MAX_FDS + 4))];
	} cmsgbuf;
	int		 fds[IPC_MAX_FDS + 4];
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	struct ipc	 b;
	struct ipc_msg	 m;
	struct ipc_hdr	 h;
	int		 before, raw, i;

	before = t_nfds();
	t_rawpair(&raw, &b);
	for (i = 0; i < IPC_MAX_FDS + 4; i++)
		ATF_REQUIRE((fds[i] = dup(raw)) != -1);
	memset(&h, 0, sizeof(h));
	h.ih_type = 1 | IPC_F_HASFD;
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = &h;
	iov.iov_len = sizeof(h);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	ATF_REQUIRE(sendmsg(raw, &msg, 0) == (ssize_t)sizeof(h));
	for (i = 0; i < IPC_MAX_FDS + 4; i++)
		close(fds[i]);
	errno = 0;
	ATF_REQUIRE(ipc_read(&b) == -1);
	ATF_REQUIRE(errno == EBADMSG);
	ATF_REQUIRE(b.i_nfds <= IPC_MAX_FDS);
	close(raw);
	ipc_clear(&b);
	ATF_REQUIRE(t_nfds() == before);

	/* The flag says a descriptor came, but none did. */
	t_rawpair(&raw, &b);
	h.ih_len = 1;
	t_writeall(raw, &h, sizeof(h));
	t_writeall(raw, "z", 1);
	while (b.i_rlen < sizeof(h) + 1)
		ATF_REQUIRE(ipc_read(&b) > 0);
	errno = 0;
	ATF_REQUIRE(ipc_get(&b, &m) == -1);
	ATF_REQUIRE(errno == EBADMSG);
	ATF_REQUIRE(m.im_data == NULL);
	close(raw);
	ipc_clear(&b);
	ATF_REQUIRE(t_nfds() == before);
}

ATF_TC_WITHOUT_HEAD(volume_nonblocking);
ATF_TC_BODY(volume_nonblocking, tc)
{
	struct ipc	 a, b;
	struct ipc_msg	 m;
	struct ipc_out	*out;
	uint8_t		*buf;
	const uint32_t	 total = 2000;
	const size_t	 size = 30 * 1024;
	uint32_t	 composed = 0, received = 0, seq;
	size_t		 i;
	int		 r, partial = 0, pending = 0, rounds = 0;
	ssize_t		 n;

	ATF_REQUIRE((buf = malloc(size)) != NULL);
	t_pair(&a, &b);
	while (received < total) {
		ATF_REQUIRE(++rounds < 1000000);
		/* Keep some hundred messages queued at the writer. */
		while (composed < total && a.i_queued < 100) {
			for (i = 0; i < size; i++)
				buf[i] = t_pattern(composed, i);
			memcpy(buf, &composed, sizeof(composed));
			ATF_REQUIRE(ipc_compose(&a, 1, composed, -1, buf,
			    size) == 0);
			composed++;
		}
		r = ipc_flush_nb(&a);
		ATF_REQUIRE(r != -1);
		if (r == 0) {
			pending++;
			out = TAILQ_FIRST(&a.i_outq);
			ATF_REQUIRE(out != NULL);
			if (out->io_wpos > 0)
				partial++;
		}
		n = ipc_read(&b);
		ATF_REQUIRE(n > 0 || (n == -1 && errno == EAGAIN));
		while ((r = ipc_get(&b, &m)) == 1) {
			ATF_REQUIRE(m.im_hdr.ih_peerid == received);
			ATF_REQUIRE(ipc_get_u32(&m, &seq) == 0);
			ATF_REQUIRE(seq == received);
			ATF_REQUIRE(m.im_hdr.ih_len == size);
			for (i = sizeof(seq); i < size; i++)
				if (m.im_data[i] != t_pattern(seq, i))
					break;
			ATF_REQUIRE(i == size);
			ipc_msg_free(&m);
			received++;
		}
		ATF_REQUIRE(r == 0);
	}
	ATF_REQUIRE(a.i_queued == 0 && TAILQ_EMPTY(&a.i_outq));
	/* The socket buffer is far smaller: writes had to stop midway. */
	ATF_REQUIRE(pending > 0);
	ATF_REQUIRE(partial > 0);
	ipc_clear(&a);
	ipc_clear(&b);
	free(buf);
}

/* Two libevent channels: a sends, b echoes, a checks the echoes. */
struct t_ev {
	struct ipc_ev	 te_a;
	struct ipc_ev	 te_b;
	struct event_base *te_base;
	uint32_t	 te_sent;
	uint32_t	 te_echoed;
	uint32_t	 te_back;
	int		 te_fdok;
	int		 te_bclosed;
	int		 te_error;
};

#define T_EV_COUNT	200
#define T_EV_SIZE	(40 * 1024)

static void	t_ev_a(int, short, void *);
static void	t_ev_b(int, short, void *);

static void
t_ev_fill(uint8_t *buf, uint32_t seq)
{
	size_t	 i;

	for (i = 0; i < T_EV_SIZE; i++)
		buf[i] = t_pattern(seq, i);
}

static void
t_ev_a(int fd, short events, void *arg)
{
	struct t_ev	*t = arg;
	struct ipc_msg	 m;
	int		 r;

	(void)fd;
	if (ipc_ev_io(&t->te_a, events) == -1) {
		t->te_error = 1;
		return;
	}
	while ((r = ipc_get(&t->te_a.ie_ipc, &m)) == 1) {
		if (m.im_hdr.ih_peerid != t->te_back ||
		    m.im_hdr.ih_len != T_EV_SIZE ||
		    m.im_data[T_EV_SIZE - 1] !=
		    t_pattern(t->te_back, T_EV_SIZE - 1))
			t->te_error = 1;
		ipc_msg_free(&m);
		t->te_back++;
	}
	if (r == -1)
		t->te_error = 1;
	/* All answered: closing our end lets b see EOF. */
	if (t->te_back == T_EV_COUNT)
		ipc_ev_clear(&t->te_a);
}

static void
t_ev_b(int fd, short events, void *arg)
{
	struct t_ev	*t = arg;
	struct ipc_msg	 m;
	int		 r, pfd;
	char		 c;

	(void)fd;
	if (ipc_ev_io(&t->te_b, events) == -1) {
		/* EOF once a is done; anything earlier is an error. */
		if (t->te_back != T_EV_COUNT)
			t->te_error = 1;
		t->te_bclosed = 1;
		ipc_ev_clear(&t->te_b);
		event_base_loopbreak(t->te_base);
		return;
	}
	while ((r = ipc_get(&t->te_b.ie_ipc, &m)) == 1) {
		if (m.im_hdr.ih_type == 2) {
			pfd = ipc_take_fd(&m);
			if (pfd != -1 && read(pfd, &c, 1) == 1 && c == 'f')
				t->te_fdok = 1;
			if (pfd != -1)
				close(pfd);
		} else if (ipc_ev_compose(&t->te_b, 1, m.im_hdr.ih_peerid,
		    -1, m.im_data, m.im_hdr.ih_len) == -1)
			t->te_error = 1;
		else
			t->te_echoed++;
		ipc_msg_free(&m);
	}
	if (r == -1)
		t->te_error = 1;
}

ATF_TC_WITHOUT_HEAD(ev_roundtrip);
ATF_TC_BODY(ev_roundtrip, tc)
{
	struct t_ev	*t;
	struct timeval	 tv = { 20, 0 };
	uint8_t		*buf;
	int		 sv[2], p[2], before;

	before = t_nfds();
	ATF_REQUIRE((t = calloc(1, sizeof(*t))) != NULL);
	ATF_REQUIRE((buf = malloc(T_EV_SIZE)) != NULL);
	ATF_REQUIRE((t->te_base = event_base_new()) != NULL);
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ATF_REQUIRE(ipc_ev_init(&t->te_a, t->te_base, sv[0], t_ev_a, t) == 0);
	ATF_REQUIRE(ipc_ev_init(&t->te_b, t->te_base, sv[1], t_ev_b, t) == 0);
	ATF_REQUIRE(t->te_a.ie_events == EV_READ);

	ATF_REQUIRE(pipe(p) == 0);
	t_writeall(p[1], "f", 1);
	close(p[1]);
	ATF_REQUIRE(ipc_ev_compose(&t->te_a, 2, 0, p[0], NULL, 0) == 0);
	ATF_REQUIRE(t->te_a.ie_events == (EV_READ | EV_WRITE));
	for (t->te_sent = 0; t->te_sent < T_EV_COUNT; t->te_sent++) {
		t_ev_fill(buf, t->te_sent);
		ATF_REQUIRE(ipc_ev_compose(&t->te_a, 1, t->te_sent, -1, buf,
		    T_EV_SIZE) == 0);
	}
	/* A safety net: b breaks the loop once it saw a's EOF. */
	ATF_REQUIRE(event_base_loopexit(t->te_base, &tv) == 0);
	ATF_REQUIRE(event_base_dispatch(t->te_base) == 0);

	ATF_REQUIRE(t->te_error == 0);
	ATF_REQUIRE(t->te_fdok == 1);
	ATF_REQUIRE(t->te_echoed == T_EV_COUNT);
	ATF_REQUIRE(t->te_back == T_EV_COUNT);
	ATF_REQUIRE(t->te_bclosed == 1);
	ATF_REQUIRE(t->te_a.ie_dead && t->te_b.ie_dead);
	/* Dead channels refuse to queue, and close what they were given. */
	ATF_REQUIRE(ipc_ev_compose(&t->te_a, 1, 0, -1, "x", 1) == -1);

	ipc_ev_clear(&t->te_a);
	ipc_ev_clear(&t->te_b);
	event_base_free(t->te_base);
	free(buf);
	free(t);
	ATF_REQUIRE(t_nfds() == before);
}

struct t_eof {
	struct ipc_ev	 tf_ev;
	int		 tf_calls;
	int		 tf_ret;
};

static void
t_eof_cb(int fd, short events, void *arg)
{
	struct t_eof	*t = arg;

	(void)fd;
	t->tf_calls++;
	t->tf_ret = ipc_ev_io(&t->tf_ev, events);
}

/* Writing is watched only while queued; EOF kills the channel. */
ATF_TC_WITHOUT_HEAD(ev_eof);
ATF_TC_BODY(ev_eof, tc)
{
	struct event_base *base;
	struct t_eof	*t;
	struct ipc_hdr	 h;
	char		 buf[sizeof(h) + 2];
	int		 sv[2], p[2], before;

	before = t_nfds();
	ATF_REQUIRE((t = calloc(1, sizeof(*t))) != NULL);
	ATF_REQUIRE((base = event_base_new()) != NULL);
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ATF_REQUIRE(ipc_ev_init(&t->tf_ev, base, sv[0], t_eof_cb, t) == 0);

	ATF_REQUIRE(ipc_ev_compose(&t->tf_ev, 6, 1, -1, "hi", 2) == 0);
	ATF_REQUIRE(t->tf_ev.ie_events == (EV_READ | EV_WRITE));
	ATF_REQUIRE(event_base_loop(base, EVLOOP_ONCE) == 0);
	ATF_REQUIRE(t->tf_calls == 1 && t->tf_ret == 0);
	ATF_REQUIRE(t->tf_ev.ie_events == EV_READ);
	ATF_REQUIRE(t->tf_ev.ie_ipc.i_queued == 0);
	ATF_REQUIRE(read(sv[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	memcpy(&h, buf, sizeof(h));
	ATF_REQUIRE(h.ih_type == 6 && h.ih_len == 2);
	ATF_REQUIRE(memcmp(buf + sizeof(h), "hi", 2) == 0);

	close(sv[1]);
	ATF_REQUIRE(event_base_loop(base, EVLOOP_ONCE) == 0);
	ATF_REQUIRE(t->tf_calls == 2 && t->tf_ret == -1);
	ATF_REQUIRE(t->tf_ev.ie_dead == 1);
	ATF_REQUIRE(event_pending(t->tf_ev.ie_ev, EV_READ | EV_WRITE,
	    NULL) == 0);
	ATF_REQUIRE(ipc_ev_io(&t->tf_ev, EV_READ) == -1);
	ATF_REQUIRE(pipe(p) == 0);
	errno = 0;
	ATF_REQUIRE(ipc_ev_compose(&t->tf_ev, 6, 1, p[0], "x", 1) == -1);
	ATF_REQUIRE(errno == EPIPE);
	ATF_REQUIRE(fcntl(p[0], F_GETFD) == -1 && errno == EBADF);
	close(p[1]);

	ipc_ev_clear(&t->tf_ev);
	event_base_free(base);
	free(t);
	ATF_REQUIRE(t_nfds() == before);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundtrip);
	ATF_TP_ADD_TC(tp, many_in_one_read);
	ATF_TP_ADD_TC(tp, split_bytewise);
	ATF_TP_ADD_TC(tp, truncated_header);
	ATF_TP_ADD_TC(tp, oversize);
	ATF_TP_ADD_TC(tp, zero_length);
	ATF_TP_ADD_TC(tp, getters_exact);
	ATF_TP_ADD_TC(tp, getters_bad_str);
	ATF_TP_ADD_TC(tp, getters_past_end);
	ATF_TP_ADD_TC(tp, builder_overflow);
	ATF_TP_ADD_TC(tp, compose_bad_type);
	ATF_TP_ADD_TC(tp, fd_pass);
	ATF_TP_ADD_TC(tp, fd_two);
	ATF_TP_ADD_TC(tp, fd_noleak);
	ATF_TP_ADD_TC(tp, fd_overflow);
	ATF_TP_ADD_TC(tp, fd_hostile);
	ATF_TP_ADD_TC(tp, volume_nonblocking);
	ATF_TP_ADD_TC(tp, ev_roundtrip);
	ATF_TP_ADD_TC(tp, ev_eof);
	return (atf_no_error());
}
