/* A program with 256 MiB of data, for the negative tests only: its dump is
 * long enough to kill the dumper in the middle of it. It counts while it
 * waits, and on SIGTERM checks every word of its data and that its signal
 * mask is still exactly the one it set (only SIGTERM blocked). */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "prog.h"

#define DATA_SIZE (256UL << 20)

static uint64_t word_at(size_t i)
{
	return i * 0x9e3779b97f4a7c15ULL + 1;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	uint64_t *data, count = 0;
	sigset_t term, mask;

	prog_init(argc, argv);
	data = malloc(DATA_SIZE);
	if (!data)
		return 1;
	for (size_t i = 0; i < DATA_SIZE / 8; i++)
		data[i] = word_at(i);
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	do
		count++;
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM);

	for (size_t i = 0; i < DATA_SIZE / 8; i++) {
		if (data[i] != word_at(i)) {
			prog_fail("data differs at byte %#zx", i * 8);
			break;
		}
	}
	sigprocmask(SIG_BLOCK, NULL, &mask);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		PROG_CHECK(sigismember(&mask, sig) == (sig == SIGTERM),
			   "signal %d is %sblocked", sig, sig == SIGTERM ? "not " : "");
	PROG_CHECK(count > 1, "never counted");
	prog_finish();
}
