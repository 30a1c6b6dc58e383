/*
 * The last step of a child's privilege drop (proc_drop()): a seccomp-bpf
 * allow-list of system calls, a Landlock ruleset where the kernel has
 * Landlock, and RLIMIT_NPROC 0 where no thread is ever made.  One entry
 * point per role; see sandbox.c for why each system call is allowed.
 */
#ifndef AUTHD_SANDBOX_H
#define AUTHD_SANDBOX_H

struct authd_config;

void		 sandbox_keyholder(const struct authd_config *);
/* readable: files besides the system's, db_client_files() */
void		 sandbox_worker(const struct authd_config *,
		    const char *const *readable);
/* Why the sandbox is off in this process, or NULL when it is on. */
const char	*sandbox_off_reason(const struct authd_config *);

#endif /* AUTHD_SANDBOX_H */
