/* An epoll whose watched files moved to other fds after they were
 * registered (dup, then close of the registered number): one whose old
 * number is now free, one whose old number holds another file. After
 * restore each is still registered under its old number (fdinfo, and
 * EPOLL_CTL_DEL through the new number finds nothing), and still wakes the
 * epoll. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "prog.h"

#define FREE_AT 40	/* the first pipe's read end moves here */
#define TAKEN_AT 41	/* the second's moves here; its old number is reused */

/* Whether the epoll's fdinfo lists @tfd, for EPOLLIN, with @data. */
static bool fdinfo_lists(int epfd, int tfd, uint64_t data)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long d;
		unsigned int ev;
		int fd;

		if (sscanf(line, "tfd: %d events: %x data: %llx", &fd, &ev, &d) == 3)
			found |= fd == tfd && (ev & EPOLLIN) && d == data;
	}
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	int ep, a[2], b[2], free_no, taken_no, other;
	struct epoll_event ev = { .events = EPOLLIN };

	prog_init(argc, argv);
	ep = epoll_create1(0);
	if (ep < 0 || pipe(a) || pipe(b))
		return 1;
	free_no = a[0];
	taken_no = b[0];
	ev.data.u64 = 0xaaa;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev))
		return 1;
	ev.data.u64 = 0xbbb;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev))
		return 1;
	if (dup2(a[0], FREE_AT) != FREE_AT || dup2(b[0], TAKEN_AT) != TAKEN_AT)
		return 1;
	close(a[0]);
	close(b[0]);
	/* The lowest free number is a[0]'s: take it with a placeholder, so
	 * that the eventfd lands on b[0]'s old number, then free it again. */
	if (dup2(a[1], free_no) != free_no)
		return 1;
	other = eventfd(0, 0);
	close(free_no);
	if (other != taken_no) {
		fprintf(stderr, "eventfd at %d, not %d\n", other, taken_no);
		return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(fcntl(free_no, F_GETFD) < 0 && errno == EBADF, "fd %d is open", free_no);
	PROG_CHECK(fdinfo_lists(ep, free_no, 0xaaa), "no registration under fd %d", free_no);
	PROG_CHECK(fdinfo_lists(ep, taken_no, 0xbbb), "no registration under fd %d", taken_no);
	/* The key is the old number: the new one finds nothing. */
	PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, FREE_AT, NULL) < 0 && errno == ENOENT,
		   "EPOLL_CTL_DEL of fd %d: %s", FREE_AT, strerror(errno));
	PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, TAKEN_AT, NULL) < 0 && errno == ENOENT,
		   "EPOLL_CTL_DEL of fd %d: %s", TAKEN_AT, strerror(errno));
	PROG_CHECK(epoll_wait(ep, &ev, 1, 0) == 0, "ready before any write");
	if (write(a[1], "x", 1) != 1 || write(b[1], "y", 1) != 1)
		prog_fail("write");
	{
		struct epoll_event got[4];
		int n = epoll_wait(ep, got, 4, 0);
		uint64_t seen = 0;

		for (int i = 0; i < n; i++)
			seen |= got[i].data.u64 == 0xaaa ? 1 : got[i].data.u64 == 0xbbb ? 2 : 4;
		PROG_CHECK(n == 2 && seen == 3, "%d events, mask %#llx", n,
			   (unsigned long long)seen);
	}
	prog_finish();
}
