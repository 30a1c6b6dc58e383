/*
 * hashbench: how long one password hash takes with given parameters,
 * and so how many logins per second the keyholders of this machine can
 * verify at most (one keyholder per CPU, one hash per login).
 *
 * usage: hashbench [-s] [-a argon2id|bcrypt] [-m KiB] [-t iterations]
 *	      [-p parallelism] [-c cost] [-n count]
 *
 * Each round is one password_hash() and one password_verify(); both do
 * the same work, so a hash costs half a round.  The hashes run as the
 * keyholders run them, in one argon2 working area kept between hashes
 * (libauth/hashmem.c); with -s, as libsodium runs them alone, mapping
 * fresh memory for each.  Prints one JSON object.
 */
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

static void	 hashbench_usage(void) __attribute__((noreturn));
static double	 hashbench_ms(const struct timespec *,
		    const struct timespec *);

static void
hashbench_usage(void)
{
	fprintf(stderr, "usage: hashbench [-s] [-a argon2id|bcrypt] "
	    "[-m KiB] [-t iterations] [-p parallelism] [-c cost] "
	    "[-n count]\n");
	exit(2);
}

static double
hashbench_ms(const struct timespec *a, const struct timespec *b)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1000.0 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e6);
}

int
main(int argc, char *argv[])
{
	struct password_params	 pp;
	struct timespec		 t0, t1;
	char			 hash[PASSWORD_HASH_MAX];
	const char		*errstr, *pw = "correct horse battery staple";
	double			 ms;
	long			 cpus;
	long long		 n = 10, i;
	int			 ch, rh, stock = 0;

	/* password.c explains refusals through the log: show them. */
	log_init(1, LOG_USER);
	memset(&pp, 0, sizeof(pp));
	/* The defaults of authd.conf(5). */
	pp.pp_hash = HASH_ARGON2ID;
	pp.pp_argon2_memory = 19456;
	pp.pp_argon2_iterations = 2;
	pp.pp_argon2_parallelism = 1;
	pp.pp_bcrypt_cost = 12;

	while ((ch = getopt(argc, argv, "a:c:m:n:p:st:")) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "argon2id") == 0)
				pp.pp_hash = HASH_ARGON2ID;
			else if (strcmp(optarg, "bcrypt") == 0)
				pp.pp_hash = HASH_BCRYPT;
			else
				hashbench_usage();
			break;
		case 'c':
			pp.pp_bcrypt_cost = (int)strtonum(optarg, 4, 31,
			    &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'm':
			pp.pp_argon2_memory = (uint32_t)strtonum(optarg, 8,
			    4194304, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'n':
			n = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 'p':
			pp.pp_argon2_parallelism = (uint32_t)strtonum(optarg,
			    1, 16, &errstr);
			if (errstr != NULL)
				hashbench_usage();
			break;
		case 's':
			stock = 1;
			break;
		case 't':
			pp.pp_argon2_iterations = (uint32_t)strtonum(optarg,
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
	if (!stock && pp.pp_hash == HASH_ARGON2ID) {
		/* As authd-keyholder does (kh_apply_config()). */
		if (hashmem_init((size_t)pp.pp_argon2_memory * 1024) == -1) {
			fprintf(stderr, "hashbench: hashmem_init failed\n");
			return (1);
		}
		hashmem_enter();
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (password_hash(&pp, pw, hash, sizeof(hash)) == -1) {
			fprintf(stderr, "hashbench: password_hash failed\n");
			return (1);
		}
		if (password_verify(&pp, pw, hash, &rh) != 1) {
			fprintf(stderr, "hashbench: password_verify failed\n");
			return (1);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	hashmem_leave();
	ms = hashbench_ms(&t0, &t1) / (double)(2 * n);

	printf("{\"alg\":\"%s\",\"area\":%s,", pp.pp_hash == HASH_ARGON2ID ?
	    "argon2id" : "bcrypt", hashmem_served() > 0 ? "true" : "false");
	if (pp.pp_hash == HASH_ARGON2ID)
		printf("\"m\":%u,\"t\":%u,\"p\":%u,", pp.pp_argon2_memory,
		    pp.pp_argon2_iterations, pp.pp_argon2_parallelism);
	else
		printf("\"cost\":%d,", pp.pp_bcrypt_cost);
	printf("\"count\":%lld,\"ms_per_hash\":%.3f,\"cpus\":%ld,"
	    "\"ceiling_per_s\":%.1f}\n", n, ms, cpus,
	    ms > 0 ? (double)cpus * 1000.0 / ms : 0.0);
	return (0);
}
