/* A datagram socketpair with a message queued that carries the read end
 * of a pipe holding bytes (SCM_RIGHTS): a dump must refuse it and leave
 * the queue as it was (the peek's copies of the fd closed). On SIGTERM the
 * program reads the message: its bytes, and the fd, which reads the
 * pipe's bytes and then EOF (cryo kept no copy of the write end). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	char buf[32];
	struct iovec iov = { .iov_base = "with an fd", .iov_len = 10 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int sv[2], p[2], fd;
	ssize_t n;

	prog_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(p) || write(p[1], "piped", 5) != 5)
		return 1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	if (sendmsg(sv[1], &msg, 0) != 10)
		return 1;
	close(p[0]);
	close(p[1]);
	prog_ready();
	prog_wait_sigterm();
	iov = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	msg.msg_controllen = sizeof(control.buf);
	n = recvmsg(sv[0], &msg, MSG_DONTWAIT);
	c = CMSG_FIRSTHDR(&msg);
	if (n != 10 || memcmp(buf, "with an fd", 10) || !c || c->cmsg_type != SCM_RIGHTS) {
		prog_fail("the message read %zd bytes, %s", n, c ? "with its fd" : "without an fd");
		prog_finish();
	}
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	n = read(fd, buf, sizeof(buf));
	PROG_CHECK(n == 5 && !memcmp(buf, "piped", 5), "its fd reads %zd bytes", n);
	n = read(fd, buf, sizeof(buf));
	PROG_CHECK(n == 0, "its pipe has a writer left (read %zd)", n);
	prog_finish();
}
