/* An epoll watching a pipe's read end that the process closed after it
 * sent it to itself (SCM_RIGHTS, still queued on a socketpair it holds):
 * the file lives on in the message alone, no fd table of the tree holds
 * it, so dump refuses the epoll by name. The program runs on until
 * SIGTERM, then checks the epoll still reports the pipe and the message
 * still carries its read end. */
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

union control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static bool send_fd(int sock, int fd)
{
	union control control = { 0 };
	struct msghdr msg = { .msg_iov = &(struct iovec){ .iov_base = "m", .iov_len = 1 },
			      .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	*c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
			       .cmsg_type = SCM_RIGHTS };
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &msg, 0) == 1;
}

/* The fd the queued message carries, or -1. */
static int receive_fd(int sock)
{
	union control control = { 0 };
	char byte;
	struct msghdr msg = { .msg_iov = &(struct iovec){ .iov_base = &byte, .iov_len = 1 },
			      .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_DONTWAIT) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
	int ep, fds[2], sv[2], got;

	prog_init(argc, argv);
	ep = epoll_create1(0);
	if (ep < 0 || pipe(fds) || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) || !send_fd(sv[1], fds[0]))
		return 1;
	close(fds[0]);
	prog_ready();
	prog_run_until_sigterm();
	/* The read end in flight is still the only reader. */
	PROG_CHECK(write(fds[1], "x", 1) == 1 && epoll_wait(ep, &ev, 1, 0) == 1 && ev.data.u64 == 7,
		   "the epoll no longer reports the pipe");
	got = receive_fd(sv[0]);
	PROG_CHECK(got >= 0, "the message no longer carries the pipe's read end");
	prog_finish();
}
