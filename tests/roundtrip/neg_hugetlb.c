/* A private MAP_HUGETLB mapping of one 2 MiB huge page, filled: dump
 * refuses hugetlb memory by name, and the program must still find its
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

	prog_init(argc, argv);
	mem = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		   -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap MAP_HUGETLB");
		return 1;
	}
	for (size_t i = 0; i < HUGE; i += 4096)
		mem[i] = (char)(i >> 12);
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
	for (size_t i = 0; i < HUGE; i += 4096)
		if (!PROG_CHECK(mem[i] == (char)(i >> 12), "byte %zu", i))
			break;
	prog_finish();
}
