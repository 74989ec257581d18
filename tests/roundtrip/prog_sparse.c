/* Chromium's pattern: 1 TiB of address space reserved (PROT_NONE,
 * MAP_NORESERVE) with a few read-write windows, 16 MiB of data in all. The
 * windows' data and the reservation's layout must come back. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

#define TIB (1ULL << 40)
#define WINDOWS 4
#define WINDOW_SIZE (4ULL << 20)

int main(int argc, char **argv)
{
	unsigned char *base;
	uint64_t offsets[WINDOWS] = { 0, 3ULL << 30, 300ULL << 30, TIB - WINDOW_SIZE };

	prog_init(argc, argv);
	base = mmap(NULL, TIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	for (int w = 0; w < WINDOWS; w++) {
		unsigned char *p = base + offsets[w];

		mprotect(p, WINDOW_SIZE, PROT_READ | PROT_WRITE);
		for (uint64_t i = 0; i < WINDOW_SIZE; i += 8)
			*(uint64_t *)(p + i) = (offsets[w] + i) * 0x9e3779b97f4a7c15ULL + (uint64_t)w;
	}
	prog_ready();
	prog_wait_sigterm();
	for (int w = 0; w < WINDOWS; w++) {
		unsigned char *p = base + offsets[w];

		for (uint64_t i = 0; i < WINDOW_SIZE; i += 8) {
			if (*(uint64_t *)(p + i) != (offsets[w] + i) * 0x9e3779b97f4a7c15ULL + (uint64_t)w) {
				prog_fail("window %d differs at offset %#llx", w, (unsigned long long)i);
				break;
			}
		}
	}
	/* The reservation between windows must still be there (mprotect fails on a hole). */
	PROG_CHECK(mprotect(base + WINDOW_SIZE, 1ULL << 30, PROT_NONE) == 0,
		   "the reservation after the first window is gone");
	PROG_CHECK(mprotect(base + (500ULL << 30), 1ULL << 30, PROT_NONE) == 0,
		   "the reservation in the middle is gone");
	prog_finish();
}
