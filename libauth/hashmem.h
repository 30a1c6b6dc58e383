/*
 * One argon2 working area per process, kept between password hashes
 * (hashmem.c).  Only for programs linked with libsodium's archive and
 * -Wl,--wrap=mmap,--wrap=munmap.
 */
#ifndef HASHMEM_H
#define HASHMEM_H

#include <stddef.h>
#include <stdint.h>

/* Size the area for argon2 memory of len bytes (not resident yet). */
int		 hashmem_init(size_t);
void		 hashmem_free(void);
/* Between the two, libsodium's argon2 mapping is the area. */
void		 hashmem_enter(void);
void		 hashmem_leave(void);
/* Give the area's pages back to the kernel; it stays reserved. */
void		 hashmem_release(void);
/* How many mappings the area has served. */
uint64_t	 hashmem_served(void);

#endif /* HASHMEM_H */
