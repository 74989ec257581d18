/* A task blocked in nanosleep when it is checkpointed must go on sleeping
 * after restore: the call never fails with EINTR and never returns before
 * its full time has passed. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "prog.h"

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const struct timespec nap = { 0, 200 * 1000 * 1000 };
	sigset_t pending;
	long naps = 0;

	prog_init(argc, argv);
	prog_ready();
	for (;;) {
		long long start = now_ns();

		if (nanosleep(&nap, NULL)) {
			prog_fail("nanosleep failed: %s", strerror(errno));
			break;
		}
		if (now_ns() - start < 200 * 1000 * 1000LL) {
			prog_fail("nanosleep returned after %lld ns of 200 ms", now_ns() - start);
			break;
		}
		naps++;
		sigpending(&pending);
		if (sigismember(&pending, SIGTERM))
			break;
	}
	PROG_CHECK(naps > 0, "never slept");
	prog_finish();
}
