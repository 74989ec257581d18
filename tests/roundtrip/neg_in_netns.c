/* A program started in a network namespace of its own (the table of test
 * programs has the runner unshare it before exec). cryo does not restore
 * namespaces yet, so a dump must refuse it by name, before any parasite
 * runs in it. On SIGTERM it checks that it is still in that namespace. */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat start, now, parent;
	char path[64];
	sigset_t term;

	prog_init(argc, argv);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", getppid());
	if (stat("/proc/self/ns/net", &start) || stat(path, &parent) ||
	    start.st_ino == parent.st_ino)
		return 1;
	prog_ready();
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	PROG_CHECK(!stat("/proc/self/ns/net", &now) && now.st_ino == start.st_ino,
		   "its network namespace changed");
	prog_finish();
}
