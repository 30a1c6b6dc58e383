/*
 * The sandbox of the children: the last step of proc_drop(), after the
 * chroot, the user change and PR_SET_NO_NEW_PRIVS.
 *
 * - A seccomp-bpf allow-list per role.  The filter checks the
 *   architecture first and kills the whole process (not just the thread)
 *   on any system call it does not list: the parent logs the death as
 *   "killed by signal 31 (SIGSYS)" and reacts as to any other death of
 *   that child.  A few calls that libraries make to probe for something
 *   optional (a configuration file, a syslog socket) fail with an errno
 *   instead, so that a keyholder does not die because OpenSSL looked for
 *   openssl.cnf.
 * - Landlock, where the kernel has it: keyholders may not open any file;
 *   workers may read below /etc, /usr and /lib (resolver configuration,
 *   CA certificates, NSS modules) and libpq's own files (~/.pgpass,
 *   client certificates), and write nothing.  Without Landlock
 *   this is logged at debug level and the rest goes on.
 * - RLIMIT_NPROC 0 in keyholders.  The limit belongs to the process that
 *   sets it, not to its uid: it stops that keyholder from making a
 *   process or thread (the count of processes is per uid, so with any
 *   process of the uid running, a limit of 0 refuses every fork), but
 *   the parent, whose own limit is untouched, can still respawn
 *   children when every process runs as the same user (authd started
 *   by an ordinary user).  Workers do not get it: libcurl resolves
 *   host names in a thread (the threaded resolver of Debian's libcurl),
 *   and a thread counts as a process for RLIMIT_NPROC.  In workers the
 *   seccomp filter allows clone(2) only with CLONE_THREAD, which forbids
 *   fork(2) and allows the resolver's thread.
 *
 * The model is OpenSSH's sandbox-seccomp-filter.c.  The sandbox is off
 * when the configuration says "sandbox no" and in builds with
 * AddressSanitizer, whose LeakSanitizer needs clone(2), ptrace(2) and
 * /proc at exit.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"
#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER	"AddressSanitizer"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER	"AddressSanitizer"
#endif
#endif

/*
 * The architectures the filter knows.  On any other the filter is not
 * built (the numbers below would be wrong) and the parent says so.
 */
#if defined(__x86_64__)
#define SANDBOX_ARCH		AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH		AUDIT_ARCH_AARCH64
#endif

/* The low 32 bits of a system call argument. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SC_ARG_LO(n)	(offsetof(struct seccomp_data, args) + (n) * 8)
#else
#define SC_ARG_LO(n)	(offsetof(struct seccomp_data, args) + (n) * 8 + 4)
#endif

#define SANDBOX_MAX_INSNS	512

struct sandbox_prog {
	struct sock_filter	 sp_insn[SANDBOX_MAX_INSNS];
	size_t			 sp_len;
};

/* Landlock, through raw system calls: glibc has no wrappers. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif
#define SANDBOX_LL_NET_BIND_TCP		(1ULL << 0)
#define SANDBOX_LL_NET_CONNECT_TCP	(1ULL << 1)
#define SANDBOX_LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)
#define SANDBOX_LL_SCOPE_SIGNAL		(1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6, whatever the headers say. */
struct sandbox_ll_attr {
	uint64_t	 la_fs;
	uint64_t	 la_net;
	uint64_t	 la_scoped;
};

const char *
sandbox_off_reason(const struct authd_config *conf)
{
#ifdef SANDBOX_SANITIZER
	(void)conf;
	return ("built with " SANDBOX_SANITIZER);
#else
	if (!conf->c_sandbox)
		return ("disabled by the configuration (sandbox no)");
#ifndef SANDBOX_ARCH
	return ("no seccomp filter for this architecture");
#endif
	return (NULL);
#endif
}

/* --- seccomp-bpf ---------------------------------------------------- */

#ifdef SANDBOX_ARCH
static void
sc_insn(struct sandbox_prog *p, uint16_t code, uint32_t k, uint8_t jt,
    uint8_t jf)
{
	struct sock_filter	 f = BPF_JUMP(code, k, jt, jf);

	if (p->sp_len >= SANDBOX_MAX_INSNS)
		fatalx("%s: filter too long", __func__);
	p->sp_insn[p->sp_len++] = f;
}

static void
sc_load_nr(struct sandbox_prog *p)
{
	sc_insn(p, BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr), 0, 0);
}

static void
sc_ret(struct sandbox_prog *p, uint32_t action)
{
	sc_insn(p, BPF_RET | BPF_K, action, 0, 0);
}

/* Allows system call nr. */
static void
sc_allow(struct sandbox_prog *p, long nr)
{
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
	sc_ret(p, SECCOMP_RET_ALLOW);
}

/* Makes system call nr fail with errno err, without running it. */
static void
sc_errno(struct sandbox_prog *p, long nr, int err)
{
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
	sc_ret(p, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA));
}

/*
 * The argument checks look at the low 32 bits only: every argument
 * checked here is an int to the kernel (domain, prot, flags, pid) except
 * clone's flags, of which only CLONE_THREAD is required.  A failed check
 * goes on to the next rules, so that a later sc_errno() can answer the
 * same call differently.
 */

/* Allows nr when argument arg equals val. */
static void
sc_allow_arg(struct sandbox_prog *p, long nr, int arg, uint32_t val)
{
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4);
	sc_insn(p, BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(arg), 0, 0);
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, val, 0, 1);
	sc_ret(p, SECCOMP_RET_ALLOW);
	sc_load_nr(p);
}

/* Allows nr when argument arg has no bit outside mask. */
static void
sc_allow_mask(struct sandbox_prog *p, long nr, int arg, uint32_t mask)
{
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4);
	sc_insn(p, BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(arg), 0, 0);
	sc_insn(p, BPF_JMP | BPF_JSET | BPF_K, ~mask, 1, 0);
	sc_ret(p, SECCOMP_RET_ALLOW);
	sc_load_nr(p);
}

/* Allows nr when argument arg has every bit of flags. */
static void
sc_allow_flags(struct sandbox_prog *p, long nr, int arg, uint32_t flags)
{
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 5);
	sc_insn(p, BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(arg), 0, 0);
	sc_insn(p, BPF_ALU | BPF_AND | BPF_K, flags, 0, 0);
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, flags, 0, 1);
	sc_ret(p, SECCOMP_RET_ALLOW);
	sc_load_nr(p);
}

/* Checks the architecture, then loads the system call number. */
static void
sc_begin(struct sandbox_prog *p)
{
	p->sp_len = 0;
	sc_insn(p, BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch), 0, 0);
	sc_insn(p, BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0);
	sc_ret(p, SECCOMP_RET_KILL_PROCESS);
	sc_load_nr(p);
#if defined(__x86_64__)
	/* The x32 ABI has the same arch value: its numbers have this bit. */
	sc_insn(p, BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1);
	sc_ret(p, SECCOMP_RET_KILL_PROCESS);
#endif
}

/* What every child does, whatever its role. */
static void
sc_common(struct sandbox_prog *p)
{
	uint32_t	 self = (uint32_t)getpid();

	/* IPC on the socketpairs (ipc.c), log lines on stderr. */
	sc_allow(p, __NR_read);
	sc_allow(p, __NR_readv);
	sc_allow(p, __NR_write);
	sc_allow(p, __NR_writev);
	sc_allow(p, __NR_recvmsg);	/* IPC with descriptor passing */
	sc_allow(p, __NR_sendmsg);
	sc_allow(p, __NR_sendto);	/* syslog(3) on its open socket */
	sc_allow(p, __NR_close);
	/* libevent's loop (epoll) and the poll(2) of proc_read_config(). */
	sc_allow(p, __NR_epoll_create1);
	sc_allow(p, __NR_epoll_ctl);
	sc_allow(p, __NR_epoll_pwait);
#ifdef __NR_epoll_wait
	sc_allow(p, __NR_epoll_wait);
#endif
#ifdef __NR_poll
	sc_allow(p, __NR_poll);
#endif
	sc_allow(p, __NR_ppoll);
	sc_allow(p, __NR_fcntl);	/* O_NONBLOCK, FD_CLOEXEC */
	/*
	 * libevent's buffers ask how much a socket has to read; any other
	 * ioctl (isatty(3) on stderr, say) fails without reaching a driver.
	 */
	sc_allow_arg(p, __NR_ioctl, 1, FIONREAD);
	sc_errno(p, __NR_ioctl, ENOTTY);
	sc_allow(p, __NR_pipe2);	/* libevent's signal pipe */
	sc_allow(p, __NR_eventfd2);	/* libevent's wake-up of a loop */
	/* Memory: malloc(3), Argon2's arrays, OpenSSL. */
	sc_allow(p, __NR_brk);
	sc_allow(p, __NR_munmap);
	sc_allow(p, __NR_mremap);
	sc_allow(p, __NR_madvise);
	sc_allow(p, __NR_mlock);	/* sodium_mlock(3) of secrets */
	sc_allow(p, __NR_munlock);
	sc_allow(p, __NR_futex);	/* glibc's locks */
	/* Time: libevent's timers, when the vDSO falls back. */
	sc_allow(p, __NR_clock_gettime);
	sc_allow(p, __NR_clock_getres);
	sc_allow(p, __NR_gettimeofday);
	sc_allow(p, __NR_clock_nanosleep);
	sc_allow(p, __NR_nanosleep);
	sc_allow(p, __NR_getrandom);	/* libsodium, OpenSSL, salts */
	sc_allow(p, __NR_getpid);	/* syslog's LOG_PID, abort(3) */
	sc_allow(p, __NR_gettid);
	sc_allow(p, __NR_getuid);	/* libraries asking who they are */
	sc_allow(p, __NR_geteuid);
	sc_allow(p, __NR_getgid);
	sc_allow(p, __NR_getegid);
	/* Signals: libevent's handlers, abort(3). */
	sc_allow(p, __NR_rt_sigaction);
	sc_allow(p, __NR_rt_sigprocmask);
	sc_allow(p, __NR_rt_sigreturn);
	sc_allow(p, __NR_restart_syscall);
	/* abort(3) and raise(3) signal this process, and no other. */
	sc_allow_arg(p, __NR_kill, 0, self);
	sc_allow_arg(p, __NR_tgkill, 0, self);
	/* stdio on open descriptors (fstat is newfstatat in glibc 2.33+). */
	sc_allow(p, __NR_fstat);
#ifdef __NR_newfstatat
	sc_allow(p, __NR_newfstatat);
#endif
	sc_allow(p, __NR_lseek);
	sc_allow(p, __NR_exit);
	sc_allow(p, __NR_exit_group);
}

static void
sc_install(struct sandbox_prog *p, const char *role)
{
	struct sock_fprog	 prog;

	sc_ret(p, SECCOMP_RET_KILL_PROCESS);
	memset(&prog, 0, sizeof(prog));
	prog.len = (unsigned short)p->sp_len;
	prog.filter = p->sp_insn;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1)
		fatal("%s: seccomp filter (\"sandbox no\" in authd.conf "
		    "runs without it)", role);
	log_debug("%s: seccomp filter of %zu instructions installed", role,
	    p->sp_len);
}
#endif /* SANDBOX_ARCH */

/* --- Landlock ------------------------------------------------------- */

static int
ll_abi(void)
{
#ifdef __NR_landlock_create_ruleset
	return ((int)syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION));
#else
	errno = ENOSYS;
	return (-1);
#endif
}

/* Every file system right that the kernel's Landlock ABI knows. */
static uint64_t
ll_fs_rights(int abi)
{
	uint64_t	 r;

	r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return (r);
}

/*
 * Restricts this process with Landlock: every file system right is
 * handled, and only the paths given may be read; net are the TCP rights
 * denied (ABI 4 and later).  Signals to processes outside this one and
 * abstract sockets are scoped away too (ABI 6).  Returns quietly when
 * the kernel has no Landlock.
 */
static void
sandbox_landlock(const char *role, const char *const *paths, uint64_t net)
{
#ifdef __NR_landlock_create_ruleset
	struct sandbox_ll_attr			 attr;
	struct landlock_path_beneath_attr	 pb;
	struct stat				 st;
	size_t					 attrlen;
	int					 abi, rfd, fd, i;

	if ((abi = ll_abi()) < 1) {
		log_debug("%s: no Landlock in this kernel (%s)", role,
		    strerror(errno));
		return;
	}
	memset(&attr, 0, sizeof(attr));
	attr.la_fs = ll_fs_rights(abi);
	attrlen = sizeof(attr.la_fs);
	if (abi >= 4) {
		attr.la_net = net;
		attrlen = offsetof(struct sandbox_ll_attr, la_scoped);
	}
	if (abi >= 6) {
		attr.la_scoped = SANDBOX_LL_SCOPE_ABSTRACT_UNIX |
		    SANDBOX_LL_SCOPE_SIGNAL;
		attrlen = sizeof(attr);
	}
	if ((rfd = (int)syscall(__NR_landlock_create_ruleset, &attr,
	    attrlen, 0)) == -1)
		fatal("%s: landlock_create_ruleset", role);
	for (i = 0; paths != NULL && paths[i] != NULL; i++) {
		/* Absent (a chroot, another layout): nothing to allow. */
		if ((fd = open(paths[i], O_PATH | O_CLOEXEC)) == -1)
			continue;
		if (fstat(fd, &st) == -1)
			fatal("%s: fstat %s", role, paths[i]);
		memset(&pb, 0, sizeof(pb));
		pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
		if (S_ISDIR(st.st_mode))
			pb.allowed_access |= LANDLOCK_ACCESS_FS_READ_DIR;
		pb.parent_fd = fd;
		if (syscall(__NR_landlock_add_rule, rfd,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1)
			fatal("%s: landlock_add_rule %s", role, paths[i]);
		close(fd);
	}
	if (syscall(__NR_landlock_restrict_self, rfd, 0) == -1)
		fatal("%s: landlock_restrict_self", role);
	close(rfd);
	log_debug("%s: Landlock ABI %d ruleset in force", role, abi);
#else
	(void)paths;
	(void)net;
	log_debug("%s: built without Landlock", role);
#endif
}

/* --- the roles ------------------------------------------------------ */

/*
 * A keyholder reads and writes its socketpairs, allocates memory, reads
 * the clock and the random source, and exits.  It opens no file and no
 * socket, makes no process or thread, maps nothing executable.
 */
void
sandbox_keyholder(const struct authd_config *conf)
{
	const char		*role = proc_title(PROC_KEYHOLDER);
	struct rlimit		 rl;
#ifdef SANDBOX_ARCH
	static struct sandbox_prog	 p;
#endif

	if (sandbox_off_reason(conf) != NULL)
		return;
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("%s: setrlimit RLIMIT_NPROC", role);
	/* No file, no TCP: nothing to allow. */
	sandbox_landlock(role, NULL, SANDBOX_LL_NET_BIND_TCP |
	    SANDBOX_LL_NET_CONNECT_TCP);
#ifdef SANDBOX_ARCH
	sc_begin(&p);
	sc_common(&p);
	/* Memory never executable: a keyholder loads no code. */
	sc_allow_mask(&p, __NR_mmap, 2, PROT_READ | PROT_WRITE);
	sc_allow_mask(&p, __NR_mprotect, 2, PROT_READ | PROT_WRITE);
	/*
	 * OpenSSL looks for its configuration file at its first use, after
	 * the drop: it is told no, as the chroot would tell it.
	 */
	sc_errno(&p, __NR_openat, EACCES);
#ifdef __NR_open
	sc_errno(&p, __NR_open, EACCES);
#endif
	/*
	 * syslog(3) makes a new socket when syslogd went away: it fails,
	 * and the message is lost rather than the keyholder.  A socket of
	 * any other domain kills.
	 */
	sc_insn(&p, BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4);
	sc_insn(&p, BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(0), 0, 0);
	sc_insn(&p, BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1);
	sc_ret(&p, SECCOMP_RET_ERRNO | EACCES);
	sc_load_nr(&p);
	sc_install(&p, role);
#endif
}

/*
 * The files a worker may read after the drop, when it is not chrooted:
 * the resolver's configuration (getaddrinfo in libcurl's resolver
 * thread, evdns, libpq), /etc/passwd (libpq names the local user), CA
 * certificates and openssl.cnf, NSS and OpenSSL modules.
 */
static const char *const sandbox_worker_system[] = {
	"/etc",
	"/usr",
	"/lib",
	"/lib64",
	"/dev/urandom",		/* OpenSSL without getrandom(2) */
};

#define SANDBOX_MAX_PATHS	32
#define SANDBOX_NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct sandbox_paths {
	const char	*sp_list[SANDBOX_MAX_PATHS + 1];
	int		 sp_n;
};

static void
sandbox_path_add(struct sandbox_paths *sp, const char *path)
{
	if (path == NULL || path[0] == '\0' || sp->sp_n >= SANDBOX_MAX_PATHS)
		return;
	sp->sp_list[sp->sp_n] = path;
	sp->sp_list[++sp->sp_n] = NULL;
}

/*
 * A worker serves HTTP on the inherited listening socket, talks to
 * PostgreSQL and Redis, sends mail and webhooks with libcurl (whose
 * resolver is a thread), resolves names (evdns, getaddrinfo) and speaks
 * TLS.  It forks nothing, execs nothing, binds and listens on nothing,
 * and opens files for reading only.
 */
void
sandbox_worker(const struct authd_config *conf, const char *const *readable)
{
	const char		*role = proc_title(PROC_WORKER);
	static struct sandbox_paths	 sp;
	size_t				 i;
#ifdef SANDBOX_ARCH
	static struct sandbox_prog	 p;
	uint32_t			 rdonly;
#endif

	if (sandbox_off_reason(conf) != NULL)
		return;
	memset(&sp, 0, sizeof(sp));
	for (i = 0; i < SANDBOX_NITEMS(sandbox_worker_system); i++)
		sandbox_path_add(&sp, sandbox_worker_system[i]);
	for (; readable != NULL && *readable != NULL; readable++)
		sandbox_path_add(&sp, *readable);
	/* Connecting over TCP is its job; a TCP port of its own is not. */
	sandbox_landlock(role, sp.sp_list, SANDBOX_LL_NET_BIND_TCP);
#ifdef SANDBOX_ARCH
	sc_begin(&p);
	sc_common(&p);
	/* Sockets: clients, PostgreSQL, Redis, SMTP, webhooks, DNS. */
	sc_allow_arg(&p, __NR_socket, 0, AF_UNIX);
	sc_allow_arg(&p, __NR_socket, 0, AF_INET);
	sc_allow_arg(&p, __NR_socket, 0, AF_INET6);
	/* getaddrinfo(3) asks the kernel for the local addresses. */
	sc_allow_arg(&p, __NR_socket, 0, AF_NETLINK);
	sc_allow(&p, __NR_socketpair);	/* libcurl's wake-up pairs */
	sc_allow(&p, __NR_connect);
	sc_allow(&p, __NR_accept);
	sc_allow(&p, __NR_accept4);	/* evhttp's listener */
	sc_allow(&p, __NR_getsockname);
	sc_allow(&p, __NR_getpeername);
	sc_allow(&p, __NR_getsockopt);	/* SO_ERROR after connect */
	sc_allow(&p, __NR_setsockopt);	/* TCP_NODELAY, keepalive */
	sc_allow(&p, __NR_shutdown);
	sc_allow(&p, __NR_recvfrom);	/* DNS answers, TLS records */
	sc_allow(&p, __NR_sendmmsg);	/* glibc's resolver: A and AAAA */
	sc_allow(&p, __NR_recvmmsg);
	sc_allow(&p, __NR_bind);	/* netlink sockets of getaddrinfo */
	sc_allow(&p, __NR_timerfd_create);	/* conn.c: a yield's turn */
	sc_allow(&p, __NR_timerfd_settime);
	/*
	 * Files, for reading only (Landlock narrows where): a write or
	 * create fails with EACCES rather than killing the worker.
	 */
	rdonly = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_DIRECTORY |
	    O_NOFOLLOW | O_LARGEFILE | O_PATH;
	sc_allow_mask(&p, __NR_openat, 2, rdonly);
	sc_errno(&p, __NR_openat, EACCES);
#ifdef __NR_open
	sc_allow_mask(&p, __NR_open, 1, rdonly);
	sc_errno(&p, __NR_open, EACCES);
#endif
	sc_allow(&p, __NR_pread64);	/* dlopen(3) of NSS modules */
	sc_allow(&p, __NR_getdents64);	/* OpenSSL's CA directory */
#ifdef __NR_access
	sc_allow(&p, __NR_access);
#endif
	sc_allow(&p, __NR_faccessat);
	sc_allow(&p, __NR_faccessat2);
#ifdef __NR_stat
	sc_allow(&p, __NR_stat);
#endif
	sc_allow(&p, __NR_statx);
	/* Code may be mapped: NSS modules and OpenSSL providers. */
	sc_allow(&p, __NR_mmap);
	sc_allow(&p, __NR_mprotect);
	/*
	 * Threads, not processes: libcurl's resolver thread.  clone3(2)
	 * passes its flags in memory that a filter cannot read: ENOSYS makes
	 * glibc fall back to clone(2), whose flags it can.
	 */
	sc_errno(&p, __NR_clone3, ENOSYS);
	sc_allow_flags(&p, __NR_clone, 0, CLONE_THREAD);
	sc_allow(&p, __NR_set_robust_list);	/* a new thread's setup */
	sc_allow(&p, __NR_rseq);
	sc_allow(&p, __NR_sched_getaffinity);
	sc_allow(&p, __NR_sched_yield);
	sc_allow(&p, __NR_uname);	/* the resolver's gethostname(3) */
	sc_allow(&p, __NR_sysinfo);	/* qsort(3) of large arrays */
	sc_install(&p, role);
#endif
}
