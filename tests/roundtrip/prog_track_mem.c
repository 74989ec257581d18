/* Memory that changes between tracked pre-dumps and the dump
 * (test_track_mem): 2048 pages of private anonymous memory, each word
 * naming its page and the phase that last wrote it. Each SIGUSR1 moves to
 * the next phase, then writes the file phase-N in its directory:
 *  1: pages 0-15 written; pages 100-107 zapped (MADV_DONTNEED: zeros);
 *     pages 200-231 moved elsewhere by mremap, and 200-207 mapped anew
 *     there with phase-1 words; page 500 written with the bytes it holds;
 *     a new mapping of 16 pages; a child forked, which writes its own
 *     pages 300-303 and waits;
 *  2: pages 16-31 and page 0 written; the child writes its pages 304-307.
 * On SIGTERM every word must be what the phases wrote, the zapped pages
 * zeros, and the child checks its own copy on SIGUSR2 and says so by its
 * exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096UL
#define PAGES 2048UL
#define MOVED 32UL
#define FRESH 16UL
/* Words a child wrote: phase numbers no parent phase uses. */
#define CHILD_PHASE 7u

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

/* Whether pages [@from, @to) of @area hold @phase's words (@base: the
 * page number the words name for @area's first page). */
static bool holds(const uint64_t *area, size_t base, size_t from, size_t to, unsigned int phase,
		  const char *what)
{
	for (size_t p = from; p < to; p++)
		for (size_t i = 0; i < PAGE / 8; i++)
			if (area[p * PAGE / 8 + i] != word(base + p, i, phase))
				return prog_fail("%s page %zu word %zu is %#llx, expected "
						 "phase %u's", what, base + p, i,
						 (unsigned long long)area[p * PAGE / 8 + i], phase);
	return true;
}

/* The phase that last wrote page @p of the parent's area after @phase. */
static unsigned int writer_of(size_t p, unsigned int phase)
{
	if (phase >= 2 && (p == 0 || (p >= 16 && p < 32)))
		return 2;
	if (phase >= 1 && (p < 16 || (p >= 200 && p < 208)))
		return 1;
	return 0;
}

static bool zapped(size_t p, unsigned int phase)
{
	return phase >= 1 && p >= 100 && p < 108;
}

static bool unmapped(size_t p, unsigned int phase)
{
	return phase >= 1 && p >= 208 && p < 232;
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

/* The child: its own pages 300-303 (and 304-307 at phase 2), the rest
 * the parent's as of the fork. Exits 0 if its copy is right. */
static void __attribute__((noreturn)) child_main(uint64_t *area)
{
	unsigned int phase = 1;
	sigset_t set;
	int sig;

	fill(area, 300, 304, CHILD_PHASE);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		phase++;
		fill(area, 304, 308, CHILD_PHASE);
	}
	for (size_t p = 0; p < PAGES; p++) {
		unsigned int want = p >= 300 && p < (phase >= 2 ? 308u : 304u) ? CHILD_PHASE :
									   writer_of(p, 1);

		if (zapped(p, 1) || (p >= 200 && p < 232))
			continue;
		if (!holds(area, 0, p, p + 1, want, "child's"))
			_exit(1);
	}
	_exit(0);
}

static pid_t child;

static bool advance(uint64_t *area, uint64_t **moved, uint64_t **fresh, unsigned int phase)
{
	if (phase == 1) {
		fill(area, 0, 16, 1);
		if (madvise(area + 100 * PAGE / 8, 8 * PAGE, MADV_DONTNEED))
			return prog_fail("madvise: %s", strerror(errno));
		*moved = mremap(area + 200 * PAGE / 8, MOVED * PAGE, MOVED * PAGE, MREMAP_MAYMOVE |
				MREMAP_FIXED, *moved);
		if (*moved == MAP_FAILED)
			return prog_fail("mremap: %s", strerror(errno));
		if (mmap(area + 200 * PAGE / 8, 8 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			return prog_fail("cannot map pages 200-207 anew");
		fill(area, 200, 208, 1);
		/* Written, but with the same bytes: unchanged by its digest. */
		fill(area, 500, 501, 0);
		*fresh = mmap(*fresh, FRESH * PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (*fresh == MAP_FAILED)
			return prog_fail("mmap: %s", strerror(errno));
		fill(*fresh, 0, FRESH, 1);
		child = fork();
		if (child == 0)
			child_main(area);
		if (child < 0)
			return prog_fail("fork: %s", strerror(errno));
	} else if (phase == 2) {
		fill(area, 16, 32, 2);
		fill(area, 0, 1, 2);
		kill(child, SIGUSR1);
	}
	return true;
}

static void check(const uint64_t *area, const uint64_t *moved, const uint64_t *fresh,
		  unsigned int phase)
{
	for (size_t p = 0; p < PAGES; p++) {
		unsigned char in;

		if (unmapped(p, phase)) {
			void *at = (void *)(area + p * PAGE / 8);

			if (mincore(at, PAGE, &in) == 0 || errno != ENOMEM)
				prog_fail("page %zu is mapped, it was moved away in phase 1", p);
			continue;
		}
		if (zapped(p, phase)) {
			for (size_t i = 0; i < PAGE / 8; i++)
				if (area[p * PAGE / 8 + i])
					return (void)prog_fail("zapped page %zu is not zeros", p);
			continue;
		}
		if (!holds(area, 0, p, p + 1, writer_of(p, phase), "area"))
			return;
	}
	if (phase >= 1 && (!holds(moved, 200, 0, MOVED, 0, "moved") ||
			   !holds(fresh, 0, 0, FRESH, 1, "new mapping's")))
		return;
}

int main(int argc, char **argv)
{
	static volatile unsigned int phase;
	uint64_t *area, *moved, *fresh;
	sigset_t set;
	int sig, status;

	prog_init(argc, argv);
	area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	/* Where mremap moves pages 200-231, and where the new mapping goes:
	 * reserved now, so that neither lands in the hole the move leaves. */
	moved = mmap(NULL, MOVED * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fresh = mmap(NULL, FRESH * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || moved == MAP_FAILED || fresh == MAP_FAILED)
		return 1;
	fill(area, 0, PAGES, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaddset(&set, SIGTERM);
	prog_ready();
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		phase++;
		if (!advance(area, &moved, &fresh, phase))
			break;
		say_phase(phase);
	}
	check(area, moved, fresh, phase);
	if (child > 0) {
		kill(child, SIGUSR2);
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			prog_fail("the child's copy of the area is wrong (status %#x)", status);
	}
	prog_finish();
}
