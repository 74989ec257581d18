/* What the lazy-restore test programs (prog_lazy_*) share: a pattern that
 * tells each word of an area from every other, and how many pages of an
 * area are not in memory yet, from /proc/self/pagemap. */
#ifndef CRYO_TESTS_LAZY_UTIL_H
#define CRYO_TESTS_LAZY_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "prog.h"

#define LAZY_PAGE 4096UL
#define LAZY_MIB (1UL << 20)

/* The word at index @i of an area filled with @seed; never zero. */
static inline uint64_t lazy_word(uint64_t i, uint64_t seed)
{
	return ((i + 1) ^ (seed << 40)) * 0x9e3779b97f4a7c15ull | 1;
}

static inline void lazy_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = lazy_word(i, seed);
}

/* Checks @len bytes at @p, which hold words @first.. of the pattern. */
static inline bool lazy_check(const void *p, size_t len, uint64_t first, uint64_t seed,
			      const char *what)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != lazy_word(first + i, seed))
			return prog_fail("%s: word %zu is %#llx, expected %#llx", what, i,
					 (unsigned long long)w[i],
					 (unsigned long long)lazy_word(first + i, seed));
	return true;
}

static inline bool lazy_check_zero(const void *p, size_t len, const char *what)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return prog_fail("%s: word %zu is %#llx, expected zero", what, i,
					 (unsigned long long)w[i]);
	return true;
}

/* Pages of [p, p + len) that are neither present nor swapped; -1 on error. */
static inline long lazy_missing_pages(const void *p, size_t len)
{
	size_t n = len / LAZY_PAGE;
	uint64_t *entries = calloc(n, sizeof(*entries));
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long missing = -1;

	if (entries && fd >= 0 &&
	    pread(fd, entries, n * 8, (off_t)((uintptr_t)p / LAZY_PAGE * 8)) == (ssize_t)(n * 8)) {
		missing = 0;
		for (size_t i = 0; i < n; i++)
			missing += !(entries[i] & (3ULL << 62));
	}
	if (fd >= 0)
		close(fd);
	free(entries);
	return missing;
}

/* After a lazy restore whose page server trickles, most of a large area
 * has not come in yet: otherwise the test would prove nothing. */
static inline bool lazy_mostly_missing(const void *p, size_t len, const char *what)
{
	long missing = lazy_missing_pages(p, len);

	return PROG_CHECK(missing >= (long)(len / LAZY_PAGE / 2),
			  "%s: %ld of %zu pages missing after a lazy restore (the test needs "
			  "pages not served yet)", what, missing, len / LAZY_PAGE);
}

#endif
