/* Bench workload: one anonymous private mapping of SIZE MiB (argument),
 * every page filled with non-zero data, checked whole after restore. */
#include <getopt.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pattern.h"

int main(int argc, char **argv)
{
	uint64_t len;
	void *p;

	prog_init(argc, argv);
	if (optind >= argc)
		return 2;
	len = strtoull(argv[optind], NULL, 0) * MIB;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	pattern_fill(p, len, 1);
	prog_ready();
	prog_wait_sigterm();
	pattern_check(p, len, 1, "anonymous mapping");
	prog_finish();
}
