/* A flock() whose open file description only a mapping keeps: the fd it
 * was taken through is closed, so no fd of the dump reaches the lock, and
 * a dump must refuse it (found in /proc/locks). On SIGTERM the program
 * checks that the lock is still held: a new open of the file cannot take
 * it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	int fd, again;
	char *mem;

	prog_init(argc, argv);
	snprintf(path, sizeof(path), "%s/locked", prog_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) || flock(fd, LOCK_EX))
		return 1;
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return 1;
	close(fd);
	mem[0] = 'x';
	prog_ready();
	prog_run_until_sigterm();
	again = open(path, O_RDONLY | O_CLOEXEC);
	PROG_CHECK(again >= 0, "cannot open %s again", path);
	PROG_CHECK(flock(again, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK,
		   "the flock kept by the mapping alone is gone");
	PROG_CHECK(mem[0] == 'x', "the mapping lost its byte");
	prog_finish();
}
