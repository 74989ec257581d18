/* Fds in flight between two processes: the root holds one end of a
 * datagram pair, a pipe's write end and one end of a stream pair; its
 * child holds the other end of the datagram pair, on which a message
 * waits carrying the pipe's read end (bytes in the pipe) and the stream
 * pair's other end (bytes queued on it). So restore makes the datagram
 * pair in cryo (two processes hold it) and with it the files in flight,
 * one of whose pipe the root holds too. On SIGTERM the child reads the
 * message, the pipe and the socket, answers over the socket, then reads
 * what the root writes into the pipe; the root reads the answer, writes
 * into the pipe, and collects the child's verdict. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static bool reads(int fd, const char *what, const char *want)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	return PROG_CHECK(n == (ssize_t)strlen(want) && !memcmp(buf, want, n),
			  "%s reads %zd bytes, not '%s'", what, n, want);
}

/* The child's side after SIGTERM; its exit status is its verdict. */
static int child_checks(int q)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} control;
	char buf[32];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c;
	int fds[2];
	ssize_t n = recvmsg(q, &msg, MSG_DONTWAIT);

	c = CMSG_FIRSTHDR(&msg);
	if (n != 8 || memcmp(buf, "two fds!", 8) || !c || c->cmsg_len != CMSG_LEN(sizeof(fds)))
		return prog_fail("the child's message read %zd bytes", n), 2;
	memcpy(fds, CMSG_DATA(c), sizeof(fds));
	if (!reads(fds[0], "the pipe in flight", "piped") ||
	    !reads(fds[1], "the socket in flight", "queued for the child") ||
	    write(fds[1], "answer", 6) != 6 || !reads(fds[0], "the pipe in flight", "later"))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int q[2], p[2], s[2], ready[2], status;
	struct iovec iov = { .iov_base = "two fds!", .iov_len = 8 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	pid_t kid;

	prog_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, q) || socketpair(AF_UNIX, SOCK_STREAM, 0, s) ||
	    pipe(p) || pipe(ready) || write(p[1], "piped", 5) != 5 ||
	    write(s[0], "queued for the child", 20) != 20)
		return 1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	memcpy(CMSG_DATA(c), (int[]){ p[0], s[1] }, sizeof(int) * 2);
	if (sendmsg(q[0], &msg, 0) != 8)
		return 1;
	close(p[0]);
	close(s[1]);
	kid = fork();
	if (kid < 0)
		return 1;
	if (kid == 0) {
		close(q[0]);
		close(p[1]);
		close(s[0]);
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(child_checks(q[1]));
	}
	close(q[1]);
	close(ready[1]);
	while (read(ready[0], &status, 1) > 0)
		;
	close(ready[0]);
	prog_ready();
	prog_wait_sigterm();
	kill(kid, SIGTERM);
	reads(s[0], "the root's end of the pair in flight", "answer");
	PROG_CHECK(write(p[1], "later", 5) == 5, "the root cannot write into the pipe");
	PROG_CHECK(waitpid(kid, &status, 0) == kid && WIFEXITED(status) &&
		   !WEXITSTATUS(status), "the child found its files in flight not as saved "
		   "(status %#x)", status);
	prog_finish();
}
