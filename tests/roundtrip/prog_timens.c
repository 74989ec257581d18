/* Round-trip program: a process in a time namespace of its own, whose
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME run a million and two million seconds
 * ahead of the machine's. After restore both go on from where they were:
 * never back, and never ahead by more than the time that passed. It makes
 * the namespace itself (unshare, offsets, exec of itself: exec enters the
 * time namespace of its children) before it says it is ready. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define MONOTONIC_AHEAD 1000000LL
#define BOOTTIME_AHEAD 2000000LL
#define NSEC 1000000000LL

static long long now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* Its time namespace is not its parent's (the runner's, the machine's). */
static bool in_own_time_ns(void)
{
	struct stat mine, theirs;
	char parents[64];

	snprintf(parents, sizeof(parents), "/proc/%d/ns/time", getppid());
	return !stat("/proc/self/ns/time", &mine) && !stat(parents, &theirs) &&
	       mine.st_ino != theirs.st_ino;
}

/* Into a new time namespace with the offsets, as the same program. */
static void enter_own_time_ns(char **argv)
{
	char text[96];
	int fd, len;

	len = snprintf(text, sizeof(text), "monotonic %lld 0\nboottime %lld 0\n", MONOTONIC_AHEAD,
		       BOOTTIME_AHEAD);
	if (unshare(CLONE_NEWTIME))
		return;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != len)
		return;
	close(fd);
	execv("/proc/self/exe", argv);
}

/* @later - @before of a clock: not negative, and at most @passed (the
 * real time that passed) and a second. */
static void check_goes_on(const char *clock, long long before, long long later, long long passed)
{
	PROG_CHECK(later >= before, "%s went back by %lld ns", clock, before - later);
	PROG_CHECK(later - before <= passed + NSEC, "%s went %lld ns ahead in %lld ns", clock,
		   later - before, passed);
}

int main(int argc, char **argv)
{
	long long mono, boot, real;

	if (!in_own_time_ns())
		enter_own_time_ns(argv);
	prog_init(argc, argv);
	if (!in_own_time_ns()) {
		prog_fail("cannot make a time namespace: %s", strerror(errno));
		prog_finish();
	}
	mono = now(CLOCK_MONOTONIC);
	boot = now(CLOCK_BOOTTIME);
	real = now(CLOCK_REALTIME);
	PROG_CHECK(mono >= MONOTONIC_AHEAD * NSEC && boot >= BOOTTIME_AHEAD * NSEC,
		   "the offsets are not in effect (monotonic %lld, boottime %lld)", mono, boot);
	prog_ready();
	prog_wait_sigterm();
	check_goes_on("CLOCK_MONOTONIC", mono, now(CLOCK_MONOTONIC), now(CLOCK_REALTIME) - real);
	check_goes_on("CLOCK_BOOTTIME", boot, now(CLOCK_BOOTTIME), now(CLOCK_REALTIME) - real);
	prog_finish();
}
