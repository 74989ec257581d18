/* The demo's program: counts up five times a second and says so, with the
 * time it started, so a restored copy visibly goes on from where it was. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	const struct timespec tick = { 0, 200 * 1000 * 1000 };
	time_t started = time(NULL);

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long count = 1;; count++) {
		printf("pid %d: count %lu (running since %ld s)\n", getpid(), count,
		       (long)(time(NULL) - started));
		nanosleep(&tick, NULL);
	}
}
