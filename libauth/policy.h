/*
 * The password policy of authd.conf(5): length in characters, required
 * classes, not containing the username or the local part of the email,
 * not in a deny list of common passwords.
 *
 * The deny list is read once per process by policy_init(), before the
 * process drops its privileges (a worker may then live in a chroot that
 * has no path to the file), and kept in memory as a sorted array of
 * lowercased entries.  Character classes are Unicode classes when the
 * C.UTF-8 locale could be loaded at policy_init() time, ASCII otherwise;
 * a character that is neither a letter nor a digit counts as special.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

#include "config.h"

#define POLICY_MAX_VIOLATIONS	8	/* one per rule */
#define POLICY_MSG_LEN		64
#define POLICY_NAME_MIN		3	/* shorter names: not compared */
#define POLICY_DENY_MAXLINE	1024	/* longer lines are skipped */

struct policy_violations {
	char	 pv_msg[POLICY_MAX_VIOLATIONS][POLICY_MSG_LEN];
	size_t	 pv_count;
};

/*
 * Loads the locale and the deny list of conf (if any), once per process:
 * later calls do nothing and return 0.  -1 with errno when the deny list
 * cannot be read (nothing is kept then, and a later call tries again).
 */
int	 policy_init(const struct authd_config *);
/* Frees the deny list (tests, and a process that re-initialises). */
void	 policy_free(void);
/* Entries in the loaded deny list. */
size_t	 policy_denylist_size(void);
/* 1 when the password, lowercased, is in the deny list. */
int	 policy_denied(const char *password);
/* Length in characters of a UTF-8 string. */
size_t	 policy_utf8_len(const char *);
/*
 * Checks password against conf's policy.  username and email may be
 * NULL (not compared).  Fills pv with one message per failed rule, in a
 * fixed order, and returns their number (0: acceptable).
 */
size_t	 policy_check(const struct authd_config *, const char *password,
	    const char *username, const char *email,
	    struct policy_violations *pv);

#endif /* POLICY_H */
