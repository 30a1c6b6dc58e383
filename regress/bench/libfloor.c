/*
 * libfloor: what a process of authd costs in resident memory before it
 * does anything.  It is linked with authd's libraries (authd's link line)
 * and only waits, so its resident set is the loader's work: the pages of
 * each library that relocation and start-up touch.  `make bench` reads it
 * and multiplies it by the number of authd processes: the part of
 * "rss_idle" that no code of authd can lower, short of fewer processes or
 * fewer libraries.
 *
 * usage: libfloor	(prints nothing; stop it with a signal)
 */
#include <unistd.h>

int
main(void)
{
	pause();
	return (0);
}
