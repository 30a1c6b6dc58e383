/*
 * libFuzzer target: the authd.conf parser (the SIGHUP path).  The input
 * is written to a file and parsed with config_parse(); the result is
 * printed, and when the first parse succeeded the printed text must
 * parse again to the same structure (memcmp, c_file aside, as in
 * t_config's round trip).  A failure of that round trip aborts.
 */
#include <sys/types.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 fuzz_dir[PATH_MAX];
static char	 fuzz_in[PATH_MAX];
static char	 fuzz_printed[PATH_MAX];
static int	 fuzz_null = -1;

static void
fuzz_cleanup(void)
{
	unlink(fuzz_in);
	unlink(fuzz_printed);
	rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
	const char	*tmp;
	int		 fd;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_config.XXXXXX", tmp);
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(fuzz_in, sizeof(fuzz_in), "%s/in.conf", fuzz_dir);
	snprintf(fuzz_printed, sizeof(fuzz_printed), "%s/printed.conf",
	    fuzz_dir);
	atexit(fuzz_cleanup);
	if ((fuzz_null = open("/dev/null", O_RDWR)) == -1)
		abort();
	/* An "include /dev/stdin" must not wait for a terminal. */
	if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(fd, STDIN_FILENO) == -1)
		abort();
	close(fd);
}

static void
fuzz_write(const char *path, const void *data, size_t len)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		abort();
	if (len > 0 && fwrite(data, 1, len, fp) != len)
		abort();
	if (fclose(fp) != 0)
		abort();
}

/* config_parse with its messages to stderr silenced. */
static int
fuzz_parse(const char *path, struct authd_config *conf)
{
	int	 saved, rv;

	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(fuzz_null, STDERR_FILENO) == -1)
		abort();
	rv = config_parse(path, conf);
	fflush(stderr);
	if (dup2(saved, STDERR_FILENO) == -1)
		abort();
	close(saved);
	(void)config_errors();
	return (rv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct authd_config	 conf, again;
	static int			 inited;
	char				*text = NULL;
	size_t				 len = 0;
	FILE				*fp;

	if (!inited) {
		fuzz_init();
		inited = 1;
	}
	fuzz_write(fuzz_in, data, size);
	memset(&conf, 0, sizeof(conf));
	if (fuzz_parse(fuzz_in, &conf) != 0) {
		config_clear_macros();
		return (0);
	}
	if ((fp = open_memstream(&text, &len)) == NULL)
		abort();
	config_print(fp, &conf);
	if (fclose(fp) != 0)
		abort();
	fuzz_write(fuzz_printed, text, len);
	memset(&again, 0, sizeof(again));
	if (fuzz_parse(fuzz_printed, &again) != 0) {
		fprintf(stderr, "printed configuration does not parse:\n%s",
		    text);
		abort();
	}
	if (strcmp(again.c_file, fuzz_printed) != 0)
		abort();
	memcpy(again.c_file, conf.c_file, sizeof(again.c_file));
	if (memcmp(&again, &conf, sizeof(again)) != 0) {
		fprintf(stderr, "round trip changed the configuration:\n%s",
		    text);
		abort();
	}
	free(text);
	config_clear_macros();
	return (0);
}
