/* Round-trip program: epolls in flight (SCM_RIGHTS). A datagram socketpair
 * with two messages queued: the first carries an epoll no fd holds, which
 * watches a pipe's read end holding bytes (EPOLLIN, data 0x1111) and an
 * eventfd at 0 (EPOLLIN, data 0x2222), the pipe end registered under a
 * number it was moved from since; the second carries an epoll the program
 * also holds, which watches the eventfd (data 0x3333). On SIGTERM: both
 * messages read; the first epoll reports the pipe and, once the eventfd is
 * written, both, with their data, and its fdinfo lists the same target
 * numbers; the second is the same open file as the one held (kcmp) and
 * reports the eventfd. */
#include <linux/kcmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static int send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = "e", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_DONTWAIT) != 1 || !(c = CMSG_FIRSTHDR(&msg)) ||
	    c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The target fd numbers in @ep's fdinfo, ascending (the kernel lists them
 * in the order of its tree, by file address), written into @out. */
static void fdinfo_targets(int ep, char *out, size_t size)
{
	char path[64], line[256];
	int tfd[8];
	size_t n = 0, len = 0;
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (n < 8 && sscanf(line, "tfd: %d", &tfd[n]) == 1)
			n++;
	fclose(f);
	qsort(tfd, n, sizeof(*tfd), cmp_int);
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%d,", tfd[i]);
}

/* The data of the events @ep reports now, summed, and how many. */
static int ready(int ep, uint64_t *sum)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 0);

	*sum = 0;
	for (int i = 0; i < n; i++)
		*sum += ev[i].data.u64;
	return n;
}

int main(int argc, char **argv)
{
	int sv[2], p[2], efd, ep, held, moved, got, got2;
	char before[64], after[64];
	uint64_t sum, one = 1;

	prog_init(argc, argv);
	efd = eventfd(0, 0);
	ep = epoll_create1(0);
	held = epoll_create1(0);
	if (efd < 0 || ep < 0 || held < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(p) ||
	    write(p[1], "bytes", 5) != 5)
		return 1;
	PROG_CHECK(!epoll_ctl(ep, EPOLL_CTL_ADD, p[0],
			      &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 0x1111 }) &&
			   !epoll_ctl(ep, EPOLL_CTL_ADD, efd,
				      &(struct epoll_event){ .events = EPOLLIN,
							     .data.u64 = 0x2222 }) &&
			   !epoll_ctl(held, EPOLL_CTL_ADD, efd,
				      &(struct epoll_event){ .events = EPOLLIN,
							     .data.u64 = 0x3333 }),
		   "epoll_ctl");
	/* The pipe end moves to another number after it was registered. */
	moved = dup(p[0]);
	close(p[0]);
	fdinfo_targets(ep, before, sizeof(before));
	PROG_CHECK(!send_fd(sv[1], ep) && !send_fd(sv[1], held), "sendmsg");
	close(ep);
	prog_ready();
	prog_wait_sigterm();

	got = recv_fd(sv[0]);
	got2 = recv_fd(sv[0]);
	if (!PROG_CHECK(got >= 0 && got2 >= 0, "the messages carry no epolls"))
		prog_finish();
	fdinfo_targets(got, after, sizeof(after));
	PROG_CHECK(!strcmp(before, after), "targets %s, not %s", after, before);
	PROG_CHECK(ready(got, &sum) == 1 && sum == 0x1111, "%d ready before the eventfd (sum %#llx)",
		   ready(got, &sum), (unsigned long long)sum);
	PROG_CHECK(syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, held, got2) == 0,
		   "the second epoll is not the one held");
	PROG_CHECK(ready(held, &sum) == 0, "the held epoll reports the eventfd before it is written");
	PROG_CHECK(write(efd, &one, sizeof(one)) == sizeof(one), "eventfd write");
	PROG_CHECK(ready(got, &sum) == 2 && sum == 0x1111 + 0x2222,
		   "%d ready after the eventfd (sum %#llx)", ready(got, &sum),
		   (unsigned long long)sum);
	PROG_CHECK(ready(got2, &sum) == 1 && sum == 0x3333, "held epoll: %d ready (sum %#llx)",
		   ready(got2, &sum), (unsigned long long)sum);
	PROG_CHECK(read(moved, before, sizeof(before)) == 5, "the pipe lost its bytes");
	prog_finish();
}
