/* Bench workload: COUNT (argument) one-page mappings, each filled, with
 * protections alternating read-write and read-only so that no two merge.
 * After restore it checks the data, and in /proc/self/maps that each page
 * is still its own mapping with its protection. The default
 * vm.max_map_count (65530) bounds COUNT. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pattern.h"

static void check_layout(uintptr_t base, uint64_t count)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long start, end;
	uint64_t seen = 0;
	char perms[8];

	if (!maps) {
		prog_fail("cannot open /proc/self/maps");
		return;
	}
	while (fscanf(maps, "%lx-%lx %7s%*[^\n]", &start, &end, perms) == 3) {
		uint64_t i = (start - base) / PAGE;
		bool writable = perms[1] == 'w';

		if (start < base || start >= base + count * PAGE)
			continue;
		if (end - start != PAGE || start != base + i * PAGE ||
		    writable != (i % 2 == 0)) {
			prog_fail("mapping %lx-%lx %s: expected page %llu alone, %s", start, end,
				  perms, (unsigned long long)i, i % 2 ? "read-only" : "read-write");
			break;
		}
		seen++;
	}
	fclose(maps);
	PROG_CHECK(seen == count, "%llu of %llu mappings found", (unsigned long long)seen,
		   (unsigned long long)count);
}

int main(int argc, char **argv)
{
	uint64_t count;
	uint8_t *base;

	prog_init(argc, argv);
	if (optind >= argc)
		return 2;
	count = strtoull(argv[optind], NULL, 0);
	/* A PROT_NONE guard page at each end, so that no neighbour merges. */
	base = mmap(NULL, (count + 2) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED || mprotect(base, PAGE, PROT_NONE) ||
	    mprotect(base + (count + 1) * PAGE, PAGE, PROT_NONE))
		return 2;
	base += PAGE;
	pattern_fill(base, count * PAGE, 3);
	for (uint64_t i = 1; i < count; i += 2)
		if (mprotect(base + i * PAGE, PAGE, PROT_READ))
			return 2;
	prog_ready();
	prog_wait_sigterm();
	pattern_check(base, count * PAGE, 3, "small mappings");
	check_layout((uintptr_t)base, count);
	prog_finish();
}
