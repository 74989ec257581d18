/* Memory that changes between a pre-dump and the dump (test_predump): 512
 * pages of private anonymous memory, each word naming its page and the
 * phase that last wrote it. Each SIGUSR1 moves to the next phase, then
 * writes the file phase-N in its directory:
 *  1: pages 0-31 written again; pages 400-415 unmapped and mapped anew
 *     with phase-1 words; pages 416-431 unmapped for good (a hole);
 *  2: pages 32-47 written again, and page 5 set back to its phase-0 words
 *     (a page equal to the first pre-dump's, changed in between).
 * On SIGTERM every word must be what the phases wrote, the hole a hole. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include "prog.h"

#define PAGE 4096UL
#define PAGES 512UL

static uint64_t word(size_t page, size_t i, unsigned int phase)
{
	return ((uint64_t)phase << 56) ^ ((page + 1) * 0x9e3779b97f4a7c15ULL) ^ (i << 3) ^ 1;
}

static void fill(uint64_t *area, size_t from, size_t to, unsigned int phase)
{
	for (size_t p = from; p < to; p++)
		for (size_t i = 0; i < PAGE / 8; i++)
			area[p * PAGE / 8 + i] = word(p, i, phase);
}

/* The phase that last wrote page @p after @phase phases. */
static unsigned int writer_of(size_t p, unsigned int phase)
{
	if (phase >= 2 && p >= 32 && p < 48)
		return 2;
	if (phase >= 2 && p == 5)
		return 0;
	if (phase >= 1 && (p < 32 || (p >= 400 && p < 416)))
		return 1;
	return 0;
}

static void say_phase(unsigned int phase)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/phase-%u", prog_dir(), phase);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static bool advance(uint64_t *area, unsigned int phase)
{
	if (phase == 1) {
		fill(area, 0, 32, 1);
		if (munmap(area + 400 * PAGE / 8, 32 * PAGE) ||
		    mmap(area + 400 * PAGE / 8, 16 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			return prog_fail("cannot map pages 400-415 anew");
		fill(area, 400, 416, 1);
	} else if (phase == 2) {
		fill(area, 32, 48, 2);
		fill(area, 5, 6, 0);
	}
	return true;
}

int main(int argc, char **argv)
{
	static volatile unsigned int phase;
	uint64_t *area;
	sigset_t set;
	int sig;

	prog_init(argc, argv);
	area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	if (area == MAP_FAILED)
		return 1;
	fill(area, 0, PAGES, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaddset(&set, SIGTERM);
	prog_ready();
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		phase++;
		if (!advance(area, phase))
			break;
		say_phase(phase);
	}
	for (size_t p = 0; p < PAGES; p++) {
		unsigned char in;

		if (p >= 416 && p < 432 && phase >= 1) {
			if (mincore(area + p * PAGE / 8, PAGE, &in) == 0 || errno != ENOMEM)
				prog_fail("page %zu is mapped, it was unmapped in phase 1", p);
			continue;
		}
		for (size_t i = 0; i < PAGE / 8; i++)
			if (area[p * PAGE / 8 + i] != word(p, i, writer_of(p, phase))) {
				prog_fail("page %zu word %zu is %#llx, expected phase %u's %#llx (after "
					  "phase %u)", p, i, (unsigned long long)area[p * PAGE / 8 + i],
					  writer_of(p, phase),
					  (unsigned long long)word(p, i, writer_of(p, phase)), phase);
				p = PAGES;
				break;
			}
	}
	prog_finish();
}
