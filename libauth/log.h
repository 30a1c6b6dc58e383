/*
 * Logging in the style of OpenBSD daemons: stderr in the foreground (-d),
 * syslog otherwise.  log_init() must run before any chroot so that the
 * syslog socket is opened while /dev/log is still reachable.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

void	log_init(int debug, int facility);
void	log_procinit(const char *procname);
void	log_setverbose(int verbose);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	logit(int, const char *, ...) __attribute__((format(printf, 2, 3)));
void	vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* LOG_H */
