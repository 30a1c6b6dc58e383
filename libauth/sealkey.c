/*
 * The seal key's file (see seal.h): reading and making it.  Apart from
 * seal.c, which uses the key with OpenSSL, so that the parent, which only
 * reads the key and passes it on, links no OpenSSL.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"

static int
seal_path(const char *dir, char *path, size_t len)
{
	int	 n;

	n = snprintf(path, len, "%s/%s", dir, SEAL_KEY_FILE);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

int
seal_key_load(const char *dir, uint8_t key[SEAL_KEY_LEN], char *err,
    size_t errlen)
{
	char		 path[1024], hex[SEAL_KEY_LEN * 2 + 2];
	struct stat	 st;
	ssize_t		 n;
	size_t		 binlen;
	int		 fd, rv = -1;

	if (seal_path(dir, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return (-1);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s: %s; run authctl key generate", path,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errlen, "%s: must not be readable by group or "
		    "others (chmod 600)", path);
		goto out;
	}
	n = read(fd, hex, sizeof(hex));
	if (n < SEAL_KEY_LEN * 2 || (n == sizeof(hex) && hex[n - 1] != '\n') ||
	    sodium_hex2bin(key, SEAL_KEY_LEN, hex, SEAL_KEY_LEN * 2, NULL,
	    &binlen, NULL) != 0 || binlen != SEAL_KEY_LEN) {
		snprintf(err, errlen, "%s: not a key of %d hex digits", path,
		    SEAL_KEY_LEN * 2);
		goto out;
	}
	rv = 0;
 out:
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return (rv);
}

int
seal_key_generate(const char *dir, char *err, size_t errlen)
{
	char	 path[1024], hex[SEAL_KEY_LEN * 2 + 2];
	uint8_t	 key[SEAL_KEY_LEN];
	size_t	 len;
	int	 fd, rv = -1;

	if (seal_path(dir, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return (-1);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		if (errno == EEXIST)
			return (0);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	len = strlen(hex);
	hex[len++] = '\n';
	if (write(fd, hex, len) != (ssize_t)len || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
	} else
		rv = 1;
	close(fd);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	return (rv);
}
