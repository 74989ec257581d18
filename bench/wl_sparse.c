/* Bench workload: a 1 TiB reservation with 16 MiB of it written, in one of
 * two layouts (argument):
 *   windows:   1 TiB PROT_NONE, four 4 MiB windows made read-write and
 *              filled (how Chromium and JITs reserve address space);
 *   scattered: 1 TiB read-write MAP_NORESERVE with 64 runs of 256 KiB
 *              written far apart: nothing but the page tables tells where. */
#include <getopt.h>
#include <string.h>
#include <sys/mman.h>

#include "pattern.h"

static const uint64_t window_offsets[] = { 0, 3 * GIB, 300 * GIB, TIB - 4 * MIB };

int main(int argc, char **argv)
{
	bool windows;
	uint8_t *base;

	prog_init(argc, argv);
	if (optind >= argc)
		return 2;
	windows = !strcmp(argv[optind], "windows");
	base = mmap(NULL, TIB, windows ? PROT_NONE : PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return 2;
	if (windows) {
		for (int i = 0; i < 4; i++) {
			if (mprotect(base + window_offsets[i], 4 * MIB, PROT_READ | PROT_WRITE))
				return 2;
			pattern_fill(base + window_offsets[i], 4 * MIB, i);
		}
	} else {
		for (int i = 0; i < 64; i++)
			pattern_fill(base + i * (TIB / 64), 256 * KIB, i);
	}
	prog_ready();
	prog_wait_sigterm();
	if (windows) {
		for (int i = 0; i < 4; i++)
			pattern_check(base + window_offsets[i], 4 * MIB, i, "window");
	} else {
		for (int i = 0; i < 64; i++)
			pattern_check(base + i * (TIB / 64), 256 * KIB, i, "scattered run");
	}
	prog_finish();
}
