/* An epoll with every kind of registration: EPOLLET, EPOLLONESHOT (armed,
 * and one that already fired and is disarmed), EPOLLEXCLUSIVE, EPOLLWAKEUP,
 * each with its own data; and a second epoll watching the first. After
 * restore the first's fdinfo lists the same registrations, and both
 * behave as before: the fired one-shot stays silent, the nested epoll
 * wakes when the first has events. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "prog.h"

struct reg {
	int fd;
	uint32_t events;
	uint64_t data;
};

enum { ET, ONESHOT, FIRED, EXCLUSIVE, WAKEUP, NR_REGS };

/* The events the epoll's fdinfo lists for @tfd with @data, less EPOLLERR
 * and EPOLLHUP, which the kernel adds to every armed registration (and
 * less EPOLLWAKEUP on a kernel without CONFIG_PM_SLEEP); -1 if none. */
static long fdinfo_events(int epfd, int tfd, uint64_t data)
{
	char path[64], line[256];
	long found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long d;
		unsigned int ev;
		int fd;

		if (sscanf(line, "tfd: %d events: %x data: %llx", &fd, &ev, &d) == 3 &&
		    fd == tfd && d == data)
			found = ev & ~(uint32_t)(EPOLLERR | EPOLLHUP);
	}
	if (f)
		fclose(f);
	return found;
}

static bool fdinfo_has(int epfd, int tfd, uint32_t events, uint64_t data)
{
	return fdinfo_events(epfd, tfd, data) == (long)events;
}

/* The data of the events ready on @epfd now, as a bit set of reg indexes. */
static unsigned ready(int epfd)
{
	struct epoll_event ev[8];
	unsigned set = 0;
	int n = epoll_wait(epfd, ev, 8, 0);

	for (int i = 0; i < n; i++)
		set |= 1u << (ev[i].data.u64 & 0xff);
	return set;
}

int main(int argc, char **argv)
{
	struct reg regs[NR_REGS];
	int ep, outer, pipes[2];
	uint64_t v = 1;
	static const uint32_t flags[NR_REGS] = {
		[ET] = EPOLLIN | EPOLLET,
		[ONESHOT] = EPOLLIN | EPOLLONESHOT,
		[FIRED] = EPOLLIN | EPOLLONESHOT,
		[EXCLUSIVE] = EPOLLIN | EPOLLEXCLUSIVE,
		[WAKEUP] = EPOLLIN | EPOLLWAKEUP,
	};

	prog_init(argc, argv);
	ep = epoll_create1(0);
	outer = epoll_create1(0);
	if (ep < 0 || outer < 0 || pipe(pipes))
		return 1;
	for (int i = 0; i < NR_REGS; i++) {
		struct epoll_event ev = { .events = flags[i], .data.u64 = 0xabcd00ull | i };

		regs[i] = (struct reg){ i == ET ? pipes[0] : eventfd(0, EFD_NONBLOCK), flags[i],
					ev.data.u64 };
		if (regs[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, regs[i].fd, &ev)) {
			perror("epoll_ctl");
			return 1;
		}
	}
	struct epoll_event nested = { .events = EPOLLIN, .data.u64 = 0xfeed };
	if (epoll_ctl(outer, EPOLL_CTL_ADD, ep, &nested))
		return 1;
	/* The fired one-shot: an event, taken, leaves it disarmed. */
	if (write(regs[FIRED].fd, &v, sizeof(v)) != sizeof(v) ||
	    ready(ep) != 1u << FIRED || read(regs[FIRED].fd, &v, sizeof(v)) != sizeof(v))
		return 1;
	/* As the kernel keeps them (a fired one-shot keeps only its private
	 * bits); each must have at least its own flag. */
	for (int i = 0; i < NR_REGS; i++) {
		long ev = fdinfo_events(ep, regs[i].fd, regs[i].data);
		uint32_t own = flags[i] & ~(uint32_t)EPOLLIN;

		if (ev < 0 || ((uint32_t)ev & own) != (own & ~(uint32_t)EPOLLWAKEUP))
			return 1;
		regs[i].events = (uint32_t)ev;
	}
	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < NR_REGS; i++)
		PROG_CHECK(fdinfo_has(ep, regs[i].fd, regs[i].events, regs[i].data),
			   "registration %d (fd %d events %#x) is not in the epoll's fdinfo", i,
			   regs[i].fd, regs[i].events);
	PROG_CHECK(ready(ep) == 0 && ready(outer) == 0, "events before any write");
	v = 1;
	for (int i = ONESHOT; i < NR_REGS; i++)
		if (write(regs[i].fd, &v, sizeof(v)) != sizeof(v))
			prog_fail("write to eventfd %d", i);
	if (write(pipes[1], "x", 1) != 1)
		prog_fail("write to the pipe");
	{
		struct epoll_event ev;

		PROG_CHECK(epoll_wait(outer, &ev, 1, 0) == 1 && ev.data.u64 == 0xfeed,
			   "the nested epoll does not see the inner one ready");
	}
	unsigned got = ready(ep);
	PROG_CHECK(got == ((1u << ET) | (1u << ONESHOT) | (1u << EXCLUSIVE) | (1u << WAKEUP)),
		   "ready set %#x (the fired one-shot is bit %d)", got, FIRED);
	/* Edge-triggered: no second report without new data; the one-shot is
	 * disarmed now; the level-triggered ones report again. */
	got = ready(ep);
	PROG_CHECK(got == ((1u << EXCLUSIVE) | (1u << WAKEUP)), "second ready set %#x", got);
	prog_finish();
}
