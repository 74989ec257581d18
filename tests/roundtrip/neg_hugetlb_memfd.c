/* An fd of a hugetlb memfd (MFD_HUGETLB) of one 2 MiB page, written through
 * a mapping: dump refuses it by name, and the program must still read its
 * bytes afterwards. Needs a huge page reserved (vm.nr_hugepages). */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define HUGE (2u << 20)

int main(int argc, char **argv)
{
	char *mem;
	int fd;

	prog_init(argc, argv);
	fd = memfd_create("huge", MFD_HUGETLB);
	if (fd < 0 || ftruncate(fd, HUGE)) {
		perror("memfd_create MFD_HUGETLB");
		return 1;
	}
	mem = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return 1;
	mem[100] = 42;
	munmap(mem, HUGE);
	prog_ready();
	/* Runs on (the refusal test checks it keeps switching) until SIGTERM. */
	for (;;) {
		sigset_t pending;

		sigpending(&pending);
		if (sigismember(&pending, SIGTERM))
			break;
		usleep(10000);
	}
	prog_wait_sigterm();
	mem = mmap(NULL, HUGE, PROT_READ, MAP_SHARED, fd, 0);
	PROG_CHECK(mem != MAP_FAILED && mem[100] == 42, "the memfd lost its byte");
	prog_finish();
}
