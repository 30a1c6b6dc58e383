/*
 * Passwords for "init", "user add" and "user passwd": read from the
 * terminal without echo or from a file (never from the command line,
 * where ps(1) and the shell's history would show them), checked against
 * the password policy, and hashed as the daemon's keyholders hash them:
 * the configured algorithm and parameters, with the configured pepper.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <readpassphrase.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "authctl.h"
#include "password.h"
#include "policy.h"

#define PW_PEPPER_MAX	1024

static int	 pw_pepper_read(const char *, uint8_t *, size_t *);
static int	 pw_file(const char *, char *, size_t);

/*
 * Reads the pepper exactly as the daemon's parent does: the raw bytes
 * of the file, which must be a regular file of 1 to PW_PEPPER_MAX bytes
 * that neither group nor others may read.
 */
static int
pw_pepper_read(const char *path, uint8_t *buf, size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("pepper %s", path);
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		warn("pepper %s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		warnx("pepper %s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		warnx("pepper %s: readable by group or others (mode %03o)",
		    path, (unsigned int)(st.st_mode & 0777));
		goto fail;
	}
	if (st.st_size < 1 || st.st_size > PW_PEPPER_MAX) {
		warnx("pepper %s: must hold 1 to %d bytes", path,
		    PW_PEPPER_MAX);
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				warnx("pepper %s: file shrank while read",
				    path);
			else
				warn("pepper %s", path);
			goto fail;
		}
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return (0);

 fail:
	explicit_bzero(buf, off);
	close(fd);
	return (-1);
}

int
pw_hash(const struct authd_config *conf, const char *password, char *hash,
    size_t hashlen)
{
	struct password_params	 pp;
	uint8_t			 pepper[PW_PEPPER_MAX];
	size_t			 pepperlen = 0;
	int			 rv = -1;

	if (sodium_init() == -1 || password_init() == -1) {
		warnx("libsodium initialisation failed");
		return (-1);
	}
	password_params_from_config(&pp, conf);
	if (conf->c_pepper[0] != '\0') {
		if (pw_pepper_read(conf->c_pepper, pepper, &pepperlen) == -1)
			return (-1);
		pp.pp_pepper = pepper;
		pp.pp_pepperlen = pepperlen;
	}
	if (password_hash(&pp, password, hash, hashlen) == -1)
		warnx("password hashing failed");
	else
		rv = 0;
	explicit_bzero(pepper, sizeof(pepper));
	return (rv);
}

int
pw_check(const struct authd_config *conf, const char *password,
    const char *username, const char *email)
{
	struct policy_violations	 pv;
	size_t				 i;

	if (policy_init(conf) == -1) {
		warn("password deny list %s", conf->c_pw_denylist);
		return (-1);
	}
	if (policy_check(conf, password, username, email, &pv) == 0)
		return (0);
	for (i = 0; i < pv.pv_count; i++)
		warnx("password refused: %s", pv.pv_msg[i]);
	return (-1);
}

/* The first line of a file, without its line end. */
static int
pw_file(const char *path, char *buf, size_t len)
{
	ssize_t		 n;
	size_t		 off = 0, line;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("%s", path);
		return (-1);
	}
	/* A pipe delivers in pieces: read to the first newline or EOF. */
	while (off < len - 1 && memchr(buf, '\n', off) == NULL) {
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			warn("%s", path);
			close(fd);
			explicit_bzero(buf, len);
			return (-1);
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	for (line = 0; line < off && buf[line] != '\n' && buf[line] != '\r';
	    line++)
		;
	if (line == len - 1) {
		warnx("%s: password longer than %zu bytes", path, len - 2);
		explicit_bzero(buf, len);
		return (-1);
	}
	/* A NUL would cut the password short without a word. */
	if (line == 0 || memchr(buf, '\0', line) != NULL) {
		warnx("%s: no password on the first line", path);
		explicit_bzero(buf, len);
		return (-1);
	}
	explicit_bzero(buf + line, off - line);
	buf[line] = '\0';
	return (0);
}

int
pw_read(const char *file, int confirm, char *buf, size_t len)
{
	char	*again;
	int	 rv = 0;

	if (file != NULL)
		return (pw_file(file, buf, len));
	if (readpassphrase("Password: ", buf, len, RPP_REQUIRE_TTY) == NULL) {
		warnx("no terminal to read the password from: give it in a "
		    "file with -p file");
		explicit_bzero(buf, len);
		return (-1);
	}
	if (buf[0] == '\0') {
		warnx("empty password");
		return (-1);
	}
	if (!confirm)
		return (0);
	if ((again = malloc(len)) == NULL) {
		warn(NULL);
		explicit_bzero(buf, len);
		return (-1);
	}
	if (readpassphrase("Again: ", again, len, RPP_REQUIRE_TTY) == NULL ||
	    strcmp(buf, again) != 0) {
		warnx("the passwords differ");
		explicit_bzero(buf, len);
		rv = -1;
	}
	explicit_bzero(again, len);
	free(again);
	return (rv);
}
