/*
 * One argon2 working area per process, kept between password hashes.
 *
 * libsodium maps argon2's memory (19 MiB with the default m=19456) with
 * mmap(2) at the start of every hash and unmaps it at the end.  Measured
 * under a login flood, a third of the keyholders' time went to the
 * kernel: faulting in, charging to the memory cgroup and zeroing 4,864
 * fresh pages per hash, the two keyholders contending for the same
 * locks as they did.  A process that links this file hands libsodium the
 * same area, resident already, for every hash instead.
 *
 * Only programs linked with libsodium's archive and
 * -Wl,--wrap=mmap,--wrap=munmap (see the Makefile) may call these
 * functions: the wrap applies to the calls of the objects linked in,
 * libsodium's among them, and __real_mmap is undefined without it.
 * libsodium has no interface for its own allocator; if a release maps
 * the memory another way, nothing here matches and each hash maps its
 * own memory as before.
 *
 * Only a mapping asked for between hashmem_enter() and hashmem_leave()
 * is served from the area: sodium_malloc(3) maps guard pages the same
 * way, and must get real ones.  The area is not zeroed between hashes.
 * Argon2 writes every block of the area before it reads it, so what a
 * hash leaves there never reaches the next one; and what it leaves,
 * blocks derived from one password and salt, tells no more than the
 * hash string they end in, which the workers that asked for the check
 * hold anyway.  libsodium does not clear the memory either: munmap(2)
 * hands the pages back as they are.  The area is left out of core dumps
 * and given back to the kernel by hashmem_release() when the process
 * is idle.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>

#include "hashmem.h"

/* Transparent huge pages are this size on x86-64 and arm64 (4 KiB). */
#define HASHMEM_ALIGN	(2UL * 1024 * 1024)

void	*__real_mmap(void *, size_t, int, int, int, off_t);
int	 __real_munmap(void *, size_t);
void	*__wrap_mmap(void *, size_t, int, int, int, off_t);
int	 __wrap_munmap(void *, size_t);

static uint8_t	*hm_area;	/* HASHMEM_ALIGN aligned, or NULL */
static size_t	 hm_len;
static int	 hm_open;	/* between hashmem_enter() and _leave() */
static int	 hm_busy;	/* the area is lent out */
static uint64_t	 hm_served;

static size_t
hashmem_round(size_t len)
{
	return ((len + HASHMEM_ALIGN - 1) & ~(HASHMEM_ALIGN - 1));
}

int
hashmem_init(size_t len)
{
	uint8_t		*p, *a;
	size_t		 full, head, tail;

	if (hm_busy)
		return (-1);
	len = hashmem_round(len);
	if (hm_area != NULL && hm_len == len)
		return (0);
	hashmem_free();
	if (len == 0)
		return (0);
	/* Room to align the start on a huge page boundary. */
	full = len + HASHMEM_ALIGN;
	if ((p = __real_mmap(NULL, full, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) == MAP_FAILED)
		return (-1);
	a = (uint8_t *)(((uintptr_t)p + HASHMEM_ALIGN - 1) &
	    ~(uintptr_t)(HASHMEM_ALIGN - 1));
	head = (size_t)(a - p);
	tail = full - head - len;
	if (head > 0)
		(void)__real_munmap(p, head);
	if (tail > 0)
		(void)__real_munmap(a + len, tail);
	/* Both are advice: without them the area only costs more. */
	(void)madvise(a, len, MADV_HUGEPAGE);
	(void)madvise(a, len, MADV_DONTDUMP);
	hm_area = a;
	hm_len = len;
	return (0);
}

void
hashmem_free(void)
{
	if (hm_area == NULL || hm_busy)
		return;
	(void)__real_munmap(hm_area, hm_len);
	hm_area = NULL;
	hm_len = 0;
}

void
hashmem_enter(void)
{
	hm_open = 1;
}

void
hashmem_leave(void)
{
	hm_open = 0;
}

void
hashmem_release(void)
{
	if (hm_area != NULL && !hm_busy)
		(void)madvise(hm_area, hm_len, MADV_DONTNEED);
}

uint64_t
hashmem_served(void)
{
	return (hm_served);
}

void *
__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	const int	 want = MAP_PRIVATE | MAP_ANONYMOUS;

	if (hm_open && !hm_busy && hm_area != NULL && addr == NULL &&
	    len > 0 && len <= hm_len && fd == -1 &&
	    prot == (PROT_READ | PROT_WRITE) &&
	    (flags & ~(MAP_POPULATE | MAP_NORESERVE)) == want) {
		hm_busy = 1;
		hm_served++;
		return (hm_area);
	}
	return (__real_mmap(addr, len, prot, flags, fd, off));
}

int
__wrap_munmap(void *addr, size_t len)
{
	if (hm_busy && addr == hm_area) {
		hm_busy = 0;
		return (0);
	}
	return (__real_munmap(addr, len));
}
