/*
 * The parent's side of the table of open connections that the workers
 * share (conn.c): one slot a worker, count * 2 + full, -1 while that
 * worker is not running.  Apart from conn.c so that the parent's program
 * links none of the HTTP code.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <stdatomic.h>
#include <unistd.h>

#include "authd.h"

static atomic_int	*conn_table;	/* AUTHD_MAX_WORKERS */

/*
 * Parent: the table of open connections the workers share, every slot
 * -1 (no worker accepting).  Returns a descriptor to hand to each worker,
 * or -1; without the table workers accept as they can.
 */
int
conn_table_create(void)
{
	int	 fd, i;

	if ((fd = memfd_create("authd-connections", MFD_CLOEXEC)) == -1)
		return (-1);
	if (ftruncate(fd, CONN_TABLE_SIZE) == -1 ||
	    (conn_table = mmap(NULL, CONN_TABLE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0)) == MAP_FAILED) {
		conn_table = NULL;
		close(fd);
		return (-1);
	}
	for (i = 0; i < AUTHD_MAX_WORKERS; i++)
		atomic_init(&conn_table[i], -1);
	return (fd);
}

/* Parent: worker i has stopped accepting (it exited). */
void
conn_table_gone(int i)
{
	if (conn_table != NULL && i >= 0 && i < AUTHD_MAX_WORKERS)
		atomic_store(&conn_table[i], -1);
}
