/* The simplest task: a counter in a loop, with its state on the stack, in
 * a global and on the heap. After restore the count must go on from where
 * it was, never back and never lost. With "pages N" (prog_counter_pages),
 * every tick also writes the count into each page of N MiB of anonymous
 * memory, having checked that the page held the count before: memory that
 * changes right after a --leave-running dump's release, so a restored copy
 * whose pages were copied after the release (the count moved on) fails. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096u

static volatile uint64_t global_count;

/* The swept pages: each holds, in its first word, the last count written. */
static volatile uint64_t *pages;
static size_t nr_pages;

static void map_pages(int argc, char **argv)
{
	if (optind + 1 >= argc || strcmp(argv[optind], "pages"))
		return;
	nr_pages = strtoul(argv[optind + 1], NULL, 10) * (1u << 20) / PAGE;
	pages = mmap(NULL, nr_pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (pages == MAP_FAILED)
		exit(1);
	/* Present and not zero from the start: each is saved and spliced. */
	for (size_t i = 0; i < nr_pages; i++)
		pages[i * (PAGE / sizeof(*pages)) + 1] = i + 1;
}

/* Tick @count: every page must still hold @count - 1 (a dump may stop the
 * sweep anywhere, so a page may hold @count already). */
static bool sweep(uint64_t count)
{
	for (size_t i = 0; i < nr_pages; i++) {
		volatile uint64_t *w = &pages[i * (PAGE / sizeof(*pages))];

		if ((*w != count - 1 && *w != count) || w[1] != i + 1)
			return prog_fail("page %zu of the swept memory holds count %llu at tick %llu",
					 i, (unsigned long long)*w, (unsigned long long)count);
		*w = count;
	}
	return true;
}

int main(int argc, char **argv)
{
	uint64_t *heap_count = malloc(sizeof(*heap_count));
	volatile uint64_t stack_count = 0;
	struct timespec tick = { 0, 1000000 };
	sigset_t term;
	siginfo_t info;

	prog_init(argc, argv);
	map_pages(argc, argv);
	*heap_count = 0;
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Count until SIGTERM, checking the three copies agree on every step. */
	for (;;) {
		stack_count++;
		global_count++;
		(*heap_count)++;
		if (stack_count != global_count || global_count != *heap_count) {
			prog_fail("counts diverged: stack %llu global %llu heap %llu",
				  (unsigned long long)stack_count,
				  (unsigned long long)global_count,
				  (unsigned long long)*heap_count);
			break;
		}
		if (!sweep(global_count))
			break;
		if (sigtimedwait(&term, &info, &tick) == SIGTERM)
			break;
	}
	PROG_CHECK(global_count > 0, "never counted");
	prog_finish();
}
