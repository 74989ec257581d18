/* Memory of a known size, for the statistics of a dump: 4096 pages of
 * private anonymous memory filled with a pattern (none of them zero) and
 * 1024 pages written and then zeroed (present, but only zeros, so left
 * out of the image). On SIGTERM every word must still be as it was.
 * test_everyday checks --display-stats against these numbers. */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "prog.h"

#define PAGE 4096UL
#define FILLED_PAGES 4096UL
#define ZEROED_PAGES 1024UL

static uint64_t word_at(size_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL | 1;
}

int main(int argc, char **argv)
{
	volatile uint8_t *zeroed;
	uint64_t *filled;

	prog_init(argc, argv);
	filled = mmap(NULL, FILLED_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zeroed = mmap(NULL, ZEROED_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (filled == MAP_FAILED || zeroed == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < FILLED_PAGES * PAGE / 8; i++)
		filled[i] = word_at(i);
	/* A write makes each page present; the second leaves only zeros. */
	for (size_t p = 0; p < ZEROED_PAGES; p++) {
		zeroed[p * PAGE + 8] = 1;
		zeroed[p * PAGE + 8] = 0;
	}
	prog_ready();
	prog_wait_sigterm();

	for (size_t i = 0; i < FILLED_PAGES * PAGE / 8; i++)
		if (filled[i] != word_at(i)) {
			prog_fail("filled word %zu is %#llx, expected %#llx", i,
				  (unsigned long long)filled[i], (unsigned long long)word_at(i));
			break;
		}
	for (size_t i = 0; i < ZEROED_PAGES * PAGE; i++)
		if (zeroed[i]) {
			prog_fail("zeroed byte %zu is %#x", i, zeroed[i]);
			break;
		}
	prog_finish();
}
