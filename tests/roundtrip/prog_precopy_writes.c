/* Pages written all through a dump come back as of one moment: what a
 * pre-copy dump (-R, pages copied while the process runs) must get right.
 * A writer thread sweeps round after round over pairs of pages, the first
 * of each pair in one mapping and the second in another, writing the
 * round's number into both, in order. Before writing a pair it checks that
 * both hold the previous round's number, so a page restored from an older
 * moment is caught when the sweep reaches it. Each round it also empties a
 * page with MADV_DONTNEED and reads it back (the zero page): it must read
 * zeros next round, never an older copy. On SIGTERM the main thread lets
 * the writer sweep twice more (every pair checked since the restore), stops
 * it, and checks the whole snapshot: every pair equal, the rounds falling
 * by at most one along the sweep. Every GROW_EVERY rounds it also writes
 * the round into the next GROW_BURST untouched pages of a mapping made
 * last (below the others): pages new since a pre-copy's first pass, more
 * than the room it leaves, so that the pages after them move (the variant
 * prog_precopy_moved leaves no room at all); the check wants the written
 * ones a prefix, each holding its burst's round. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096
#define NR_PAIRS 2048
#define GROW_PAGES 4096
#define GROW_BURST 32
#define GROW_EVERY 256

static uint64_t *firsts, *seconds;	/* word 0 of each page holds the round */
static volatile uint64_t *emptied;
static uint64_t *grown;	/* untouched until the writer grows into it */
static size_t nr_grown;
static atomic_uint_fast64_t rounds_done;
static atomic_bool stop;
static atomic_bool broken;
static char why[256];

static uint64_t *page(uint64_t *area, size_t i)
{
	return (uint64_t *)((char *)area + i * PAGE);
}

static void writer_fail(uint64_t round, size_t i, const char *what, uint64_t seen)
{
	if (atomic_exchange(&broken, true))
		return;
	snprintf(why, sizeof(why), "round %llu pair %zu: the %s page holds round %llu",
		 (unsigned long long)round, i, what, (unsigned long long)seen);
}

static void *writer(void *arg)
{
	(void)arg;
	for (uint64_t round = 1; !atomic_load(&stop); round++) {
		if (*emptied) {
			writer_fail(round, 0, "emptied", *emptied);
			return NULL;
		}
		for (size_t i = 0; i < NR_PAIRS; i++) {
			volatile uint64_t *a = page(firsts, i), *b = page(seconds, i);

			if (*a != round - 1)
				writer_fail(round, i, "first", *a);
			if (*b != round - 1)
				writer_fail(round, i, "second", *b);
			if (atomic_load(&broken))
				return NULL;
			*a = round;
			atomic_signal_fence(memory_order_seq_cst);
			*b = round;
		}
		if (round % GROW_EVERY == 0 && nr_grown + GROW_BURST <= GROW_PAGES) {
			for (size_t g = 0; g < GROW_BURST; g++)
				*page(grown, nr_grown + g) = round;
			nr_grown += GROW_BURST;
		}
		*emptied = round;
		madvise((void *)emptied, PAGE, MADV_DONTNEED);
		(void)*emptied;	/* read back: the zero page */
		atomic_store(&rounds_done, round);
		usleep(200);
	}
	return NULL;
}

static void check_snapshot(void)
{
	uint64_t top = *page(firsts, 0);

	for (size_t i = 0; i < NR_PAIRS; i++) {
		uint64_t a = *page(firsts, i), b = *page(seconds, i);

		if (a != b || (a != top && a + 1 != top)) {
			prog_fail("pair %zu holds rounds %llu and %llu, pair 0 round %llu", i,
				  (unsigned long long)a, (unsigned long long)b,
				  (unsigned long long)top);
			return;
		}
		top = a;
	}
	for (size_t g = 0; g < GROW_PAGES; g++) {
		uint64_t want = g < nr_grown ? (g / GROW_BURST + 1) * GROW_EVERY : 0;

		if (*page(grown, g) != want) {
			prog_fail("grown page %zu of %zu holds round %llu, not %llu", g, nr_grown,
				  (unsigned long long)*page(grown, g), (unsigned long long)want);
			return;
		}
	}
}

/* @n pages of private anonymous memory, each one touched (zeros). */
static void *anon_pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, n * PAGE);
	return p;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	uint64_t from;

	prog_init(argc, argv);
	firsts = anon_pages(NR_PAIRS);
	seconds = anon_pages(NR_PAIRS);
	emptied = anon_pages(1);
	grown = mmap(NULL, GROW_PAGES * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!firsts || !seconds || !emptied || grown == MAP_FAILED)
		return 2;
	if (pthread_create(&thread, NULL, writer, NULL))
		return 2;
	while (atomic_load(&rounds_done) < 3)
		usleep(1000);
	prog_ready();
	prog_wait_sigterm();
	from = atomic_load(&rounds_done);
	while (atomic_load(&rounds_done) < from + 2 && !atomic_load(&broken))
		usleep(1000);
	atomic_store(&stop, true);
	pthread_join(thread, NULL);
	if (atomic_load(&broken))
		prog_fail("%s", why);
	else
		check_snapshot();
	prog_finish();
}
