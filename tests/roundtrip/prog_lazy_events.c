/* What a process does to memory a lazy restore has not served yet, and
 * what it must then read: MADV_DONTNEED makes pages zeros (served or not),
 * munmap and a new mapping in the hole give zeros, mremap moves the saved
 * bytes along with the pages. Run in the lazy cycle only. */
#include <sys/mman.h>

#include "lazy_util.h"

#define AREA (16 * LAZY_MIB)
#define SEED 9

int main(int argc, char **argv)
{
	char *area, *moved, *hole;

	prog_init(argc, argv);
	area = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Where the last quarter will be moved to: reserved now, so that the
	 * place is known and free. */
	moved = mmap(NULL, AREA / 4, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || moved == MAP_FAILED)
		return 1;
	lazy_fill(area, AREA, SEED);
	prog_ready();
	prog_wait_sigterm();

	lazy_mostly_missing(area, AREA, "the area");
	/* Served first, then dropped: zeros, as for any anonymous memory. */
	lazy_check(area, 64 * 1024, 0, SEED, "the first 64 KiB");
	madvise(area, 64 * 1024, MADV_DONTNEED);
	/* Dropped before it was served: zeros, never the saved bytes. */
	PROG_CHECK(lazy_missing_pages(area + 4 * LAZY_MIB, 4 * LAZY_MIB) > 0,
		   "4-8 MiB was all served before MADV_DONTNEED");
	madvise(area + 4 * LAZY_MIB, 4 * LAZY_MIB, MADV_DONTNEED);
	/* Unmapped and mapped again: a new mapping, all zeros. */
	munmap(area + 8 * LAZY_MIB, LAZY_MIB);
	hole = mmap(area + 8 * LAZY_MIB, LAZY_MIB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	/* Moved before it was served: the saved bytes follow the pages. */
	PROG_CHECK(lazy_missing_pages(area + 12 * LAZY_MIB, 4 * LAZY_MIB) > 0,
		   "12-16 MiB was all served before mremap");
	if (mremap(area + 12 * LAZY_MIB, 4 * LAZY_MIB, 4 * LAZY_MIB, MREMAP_MAYMOVE | MREMAP_FIXED,
		   moved) != moved)
		prog_fail("mremap failed");

	lazy_check_zero(area, 64 * 1024, "the first 64 KiB after MADV_DONTNEED");
	lazy_check(area + 64 * 1024, 4 * LAZY_MIB - 64 * 1024, 64 * 1024 / 8, SEED, "64 KiB-4 MiB");
	lazy_check_zero(area + 4 * LAZY_MIB, 4 * LAZY_MIB, "4-8 MiB after MADV_DONTNEED");
	if (PROG_CHECK(hole == area + 8 * LAZY_MIB, "the hole was not mapped again"))
		lazy_check_zero(hole, LAZY_MIB, "8-9 MiB mapped again");
	lazy_check(area + 9 * LAZY_MIB, 3 * LAZY_MIB, 9 * LAZY_MIB / 8, SEED, "9-12 MiB");
	lazy_check(moved, 4 * LAZY_MIB, 12 * LAZY_MIB / 8, SEED, "12-16 MiB, moved");
	prog_finish();
}
