/* The body of the time-namespace programs (prog_timens, and
 * prog_timens_userns, which the runner starts as root of a user namespace
 * of its own, so that its time namespace belongs to that user namespace):
 * a process in a time namespace of its own, whose CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME run a million and two million seconds ahead of the
 * machine's. After restore both go on from where they were: never back,
 * and never ahead by more than the time that passed; and its time
 * namespace still belongs to its user namespace. It makes the namespace
 * itself (unshare, offsets, exec of itself: exec enters the time
 * namespace of its children) before it says it is ready. */
#ifndef CRYO_TESTS_TIMENS_PROG_H
#define CRYO_TESTS_TIMENS_PROG_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>

#include "prog.h"

#define MONOTONIC_AHEAD 1000000LL
#define BOOTTIME_AHEAD 2000000LL
#define NSEC 1000000000LL

/* Its time namespace belongs to its user namespace (the machine's for
 * prog_timens, its own for prog_timens_userns). */
static bool time_ns_owned_by_own_userns(void)
{
	struct stat user, owner;
	int fd = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
	int got = fd < 0 ? -1 : ioctl(fd, NS_GET_USERNS);
	bool ok = got >= 0 && !fstat(got, &owner) && !stat("/proc/self/ns/user", &user);

	if (got >= 0)
		close(got);
	if (fd >= 0)
		close(fd);
	if (!ok)
		return prog_fail("the owner of its time namespace: %s", strerror(errno));
	return PROG_CHECK(owner.st_ino == user.st_ino, "its time namespace belongs to user:[%lu], "
			  "not its own user:[%lu]", (unsigned long)owner.st_ino,
			  (unsigned long)user.st_ino);
}

static long long now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* The time namespace it was started in, kept across its exec. */
#define TIMENS_PROG_OUTER "CRYO_TEST_TIMENS_OUTER"

static unsigned long time_ns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/time", &st) ? 0 : (unsigned long)st.st_ino;
}

/* Its time namespace is not the one it was started in (the runner's, the
 * machine's; its parent's, which a process in a user namespace of its own
 * may not look at). */
static bool in_own_time_ns(void)
{
	const char *outer = getenv(TIMENS_PROG_OUTER);

	return outer && time_ns_ino() && strtoul(outer, NULL, 10) != time_ns_ino();
}

/* Into a new time namespace with the offsets, as the same program. */
static void enter_own_time_ns(char **argv)
{
	char text[96], outer[32];
	int fd, len;

	len = snprintf(text, sizeof(text), "monotonic %lld 0\nboottime %lld 0\n", MONOTONIC_AHEAD,
		       BOOTTIME_AHEAD);
	snprintf(outer, sizeof(outer), "%lu", time_ns_ino());
	if (setenv(TIMENS_PROG_OUTER, outer, 1) || unshare(CLONE_NEWTIME))
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

static int timens_prog_main(int argc, char **argv)
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
	time_ns_owned_by_own_userns();
	prog_ready();
	prog_wait_sigterm();
	check_goes_on("CLOCK_MONOTONIC", mono, now(CLOCK_MONOTONIC), now(CLOCK_REALTIME) - real);
	check_goes_on("CLOCK_BOOTTIME", boot, now(CLOCK_BOOTTIME), now(CLOCK_REALTIME) - real);
	time_ns_owned_by_own_userns();
	prog_finish();
}

#endif
