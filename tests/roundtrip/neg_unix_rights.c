/* A datagram socketpair with a message queued that carries the read end
 * of a pipe holding bytes and a fanotify (SCM_RIGHTS): a dump must refuse
 * the fanotify, which it cannot send again, and leave the queue as it was
 * (the peek's copies closed, and the pipe's end that cryo had saved
 * before it met the fanotify let go). On SIGTERM the program reads the
 * message: its bytes, and both fds; the pipe reads its bytes and then EOF
 * (cryo kept no copy of the write end). */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} control;
	char buf[32];
	struct iovec iov = { .iov_base = "with an fd", .iov_len = 10 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int sv[2], p[2], fds[2], ep = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY);
	ssize_t n;

	prog_init(argc, argv);
	if (ep < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(p) ||
	    write(p[1], "piped", 5) != 5)
		return 1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), (int[]){ p[0], ep }, sizeof(fds));
	if (sendmsg(sv[1], &msg, 0) != 10)
		return 1;
	close(p[0]);
	close(p[1]);
	close(ep);
	prog_ready();
	prog_wait_sigterm();
	iov = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	msg.msg_controllen = sizeof(control.buf);
	n = recvmsg(sv[0], &msg, MSG_DONTWAIT);
	c = CMSG_FIRSTHDR(&msg);
	if (n != 10 || memcmp(buf, "with an fd", 10) || !c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(fds))) {
		prog_fail("the message read %zd bytes, %s", n, c ? "with fds" : "without fds");
		prog_finish();
	}
	memcpy(fds, CMSG_DATA(c), sizeof(fds));
	n = read(fds[0], buf, sizeof(buf));
	PROG_CHECK(n == 5 && !memcmp(buf, "piped", 5), "its pipe reads %zd bytes", n);
	n = read(fds[0], buf, sizeof(buf));
	PROG_CHECK(n == 0, "its pipe has a writer left (read %zd)", n);
	n = read(fds[1], buf, sizeof(buf));
	PROG_CHECK(n < 0 && errno == EAGAIN, "its fanotify is not a quiet fanotify (read %zd)", n);
	prog_finish();
}
