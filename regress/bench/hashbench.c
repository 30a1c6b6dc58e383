/*
 * hashbench: how long one password hash takes with given parameters,
 * and so how many logins per second the keyholders of this machine can
 * verify at most (one keyholder per CPU, one hash per login).
 *
 * usage: hashbench [-s] [-a argon2id|bcrypt] [-m KiB] [-t iterations]
 *	      [-p parallelism] [-c cost] [-n count] [-j jobs]
 *
 * Each round is one password_hash() and one password_verify(); both do
 * the same work, so a hash costs half a round.  The hashes run as the
 * keyholders run them, in one argon2 working area kept between hashes
 * (libauth/hashmem.c); with -s, as libsodium runs them alone, mapping
 * fresh memory for each.  With -j, that many processes hash at once,
 * as the keyholders of a login flood do, and the time of a hash is
 * their mean: hashes that share the machine's caches and memory
 * bandwidth take longer than one alone.  Prints one JSON object.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hashmem.h"
#include "log.h"
#include "password.h"

struct hashbench {
	struct password_params	 hb_pp;
	long long		 hb_rounds;
	int			 hb_stock;
};

static void	 hashbench_usage(void) __attribute__((noreturn));
static double	 hashbench_ms(const struct timespec *,
		    const struct timespec *);
static int	 hashbench_run(const struct hashbench *, double *, int *);
static int	 hashbench_jobs(const struct hashbench *, int, double *,
		    int *);

static void
hashbench_usage(void)
{
	fprintf(stderr, "usage: hashbench [-s] [-a argon2id|bcrypt] "
	    "[-m KiB] [-t iterations] [-p parallelism] [-c cost] "
	    "[-n count] [-j jobs]\n");
	exit(2);
}

static double
hashbench_ms(const struct timespec *a, const struct timespec *b)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1000.0 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e6);
}

/*
 * The rounds of one process: *ms is the time of a hash; *area whether
 * the working area served them.
 */
static int
hashbench_run(const struct hashbench *hb, double *ms, int *area)
{
	const struct password_params	*pp = &hb->hb_pp;
	struct timespec			 t0, t1;
	char				 hash[PASSWORD_HASH_MAX];
	const char			*pw = "correct horse battery staple";
	long long			 i;
	int				 rh;

	if (!hb->hb_stock && pp->pp_hash == HASH_ARGON2ID) {
		/* As authd-keyholder does (kh_apply_config()). */
		if (hashmem_init((size_t)pp->pp_argon2_memory * 1024) == -1) {
			fprintf(stderr, "hashbench: hashmem_init failed\n");
			return (-1);
		}
		hashmem_enter();
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < hb->hb_rounds; i++) {
		if (password_hash(pp, pw, hash, sizeof(hash)) == -1) {
			fprintf(stderr, "hashbench: password_hash failed\n");
			return (-1);
		}
		if (password_verify(pp, pw, hash, &rh) != 1) {
			fprintf(stderr, "hashbench: password_verify failed\n");
			return (-1);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	hashmem_leave();
	*ms = hashbench_ms(&t0, &t1) / (double)(2 * hb->hb_rounds);
	*area = hashmem_served() > 0;
	return (0);
}

/*
 * JOBS processes run their rounds at once; each writes its result to
 * a pipe of its own.  They start together: each waits for the end of
 * file of the start pipe, which comes when the last of them is forked.
 */
static int
hashbench_jobs(const struct hashbench *hb, int jobs, double *ms, int *area)
{
	struct { double ms; int area; }	 r;
	pid_t				 pid;
	int				 start[2], res[2], i, st, ok = 1;
	char				 c;

	if (pipe(start) == -1 || pipe(res) == -1) {
		perror("hashbench: pipe");
		return (-1);
	}
	for (i = 0; i < jobs; i++) {
		if ((pid = fork()) == -1) {
			perror("hashbench: fork");
			return (-1);
		}
		if (pid == 0) {
			close(start[1]);
			close(res[0]);
			(void)read(start[0], &c, 1);
			memset(&r, 0, sizeof(r));
			if (hashbench_run(hb, &r.ms, &r.area) == -1)
				_exit(1);
			_exit(write(res[1], &r, sizeof(r)) == sizeof(r) ?
			    0 : 1);
		}
	}
	close(start[0]);
	close(start[1]);
	close(res[1]);
	*ms = 0.0;
	*area = 1;
	for (i = 0; i < jobs; i++) {
		if (read(res[0], &r, sizeof(r)) != sizeof(r)) {
			ok = 0;
			break;
		}
		*ms += r.ms / jobs;
		*area = *area && r.area;
	}
	close(res[0]);
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			ok = 0;
	return (ok ? 0 : -1);
}

int
main(int argc, char *argv[])
{
	struct hashbench	 hb;
	struct password_params	*pp = &hb.hb_pp;
	const char		*errstr;
	double			 ms;
	long			 cpus;
	int			 ch, area, jobs = 1, r;

	/* password.c explains refusals through the log: show them. */
	log_init(1, LOG_USER);
	memset(&hb, 0, sizeof(hb));
	hb.hb_rounds = 10;
	/* The defaults of authd.conf(5). */
	pp->pp_hash = HASH_ARGON2ID;
	pp->pp_argon2_memory = 19456;
	pp->pp_argon2_iterations = 2;
	pp->pp_argon2_parallelism = 1;
	pp->pp_bcrypt_cost = 12;

	while ((ch = getopt(argc, argv, "a:c:j:m:n:p:st:")) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "argon2id") == 0)
				pp->pp_hash = HASH_ARGON2ID;
			else if (strcmp(optarg, "bcrypt") == 0)
				pp->pp_hash = HASH_BCRYPT;
			else
				hashbench_usage();
			break;
		case 'c':
			pp->pp_bcrypt_cost = (int)strtonum(optarg, 4, 31,
			    &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'j':
			jobs = (int)strtonum(optarg, 1, 256, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'm':
			pp->pp_argon2_memory = (uint32_t)strtonum(optarg, 8,
			    4194304, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'n':
			hb.hb_rounds = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'p':
			pp->pp_argon2_parallelism = (uint32_t)strtonum(optarg,
			    1, 16, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 's':
			hb.hb_stock = 1;
			break;
		case 't':
			pp->pp_argon2_iterations = (uint32_t)strtonum(optarg,
			    1, 1000, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		default:
			hashbench_usage();
		}
	}
	if (optind != argc)
		hashbench_usage();
	if (password_init() == -1) {
		fprintf(stderr, "hashbench: password_init failed\n");
		return (1);
	}
	if ((cpus = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		cpus = 1;
	if (jobs == 1)
		r = hashbench_run(&hb, &ms, &area);
	else
		r = hashbench_jobs(&hb, jobs, &ms, &area);
	if (r == -1)
		return (1);

	printf("{\"alg\":\"%s\",\"area\":%s,", pp->pp_hash == HASH_ARGON2ID ?
	    "argon2id" : "bcrypt", area ? "true" : "false");
	if (pp->pp_hash == HASH_ARGON2ID)
		printf("\"m\":%u,\"t\":%u,\"p\":%u,", pp->pp_argon2_memory,
		    pp->pp_argon2_iterations, pp->pp_argon2_parallelism);
	else
		printf("\"cost\":%d,", pp->pp_bcrypt_cost);
	printf("\"jobs\":%d,\"count\":%lld,\"ms_per_hash\":%.3f,"
	    "\"cpus\":%ld,\"ceiling_per_s\":%.1f}\n", jobs, hb.hb_rounds, ms,
	    cpus, ms > 0 ? (double)cpus * 1000.0 / ms : 0.0);
	return (0);
}
