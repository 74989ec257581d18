/* The data every bench workload writes into its memory and checks after
 * restore: each 8-byte word is a hash of its own address and a seed, never
 * zero, so a page that comes back at the wrong place, zeroed or from
 * another run is caught. */
#ifndef CRYO_BENCH_PATTERN_H
#define CRYO_BENCH_PATTERN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "prog.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define TIB (1ull << 40)
#define PAGE 4096ull

static inline uint64_t pattern_word(const void *addr, uint64_t seed)
{
	return ((uint64_t)(uintptr_t)addr ^ seed) * 0x9e3779b97f4a7c15ull | 1;
}

/* Fills @len bytes at @p. Touching fresh memory page by page is slow on
 * some VMs (12-19 us a fault here): the range is populated in bulk first,
 * as the restorer does, which is what a long-running process would have. */
static inline void pattern_fill(void *p, uint64_t len, uint64_t seed)
{
	uint64_t *w = p;

	madvise(p, len, MADV_POPULATE_WRITE);
	for (uint64_t i = 0; i < len / 8; i++)
		w[i] = pattern_word(&w[i], seed);
}

/* Checks @len bytes at @p; records the first difference through prog_fail. */
static inline bool pattern_check(const void *p, uint64_t len, uint64_t seed, const char *what)
{
	const uint64_t *w = p;

	for (uint64_t i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(&w[i], seed))
			return prog_fail("%s: word at %p is 0x%llx, expected 0x%llx", what,
					 (void *)&w[i], (unsigned long long)w[i],
					 (unsigned long long)pattern_word(&w[i], seed));
	return true;
}

#endif
