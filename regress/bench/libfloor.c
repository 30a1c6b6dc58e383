/*
 * libfloor: what a process of authd costs in resident memory before it
 * does anything.  Built once for each of authd's programs and linked
 * with that program's libraries (libfloor-parent, libfloor-keyholder,
 * libfloor-worker), it only waits, so its resident set is the loader's
 * work: the pages of each library that relocation and start-up touch.
 * `make bench` reads each and counts it once for each process of its
 * role: the part of "rss_idle" that no code of authd can lower, short of
 * fewer processes or fewer libraries.
 *
 * usage: libfloor-<role>	(prints nothing; stop it with a signal)
 */
#include <unistd.h>

int
main(void)
{
	pause();
	return (0);
}
