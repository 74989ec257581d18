/* The simplest task: a counter in a loop, with its state on the stack, in
 * a global and on the heap. After restore the count must go on from where
 * it was, never back and never lost. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <signal.h>

#include "prog.h"

static volatile uint64_t global_count;

int main(int argc, char **argv)
{
	uint64_t *heap_count = malloc(sizeof(*heap_count));
	volatile uint64_t stack_count = 0;
	struct timespec tick = { 0, 1000000 };
	sigset_t term;
	siginfo_t info;

	prog_init(argc, argv);
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
		if (sigtimedwait(&term, &info, &tick) == SIGTERM)
			break;
	}
	PROG_CHECK(global_count > 0, "never counted");
	prog_finish();
}
