/* A pidfd of a live child in flight in a socketpair that both the program
 * and the child hold: cryo fills the pair's queue before it creates the
 * processes, when the child does not exist yet, so the restore must be
 * refused naming the pidfd. Killed by the dump, it never checks anything
 * after SIGTERM; run alone it passes when the pidfd still reaps its child. */
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = "pidfd", .iov_len = 5 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	siginfo_t info = { 0 };
	int sv[2], pfd;
	pid_t child;

	prog_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 1;
	/* The child holds both ends too: the pair is shared. */
	child = fork();
	if (child < 0)
		return 1;
	if (!child) {
		for (;;)
			pause();
	}
	pfd = pidfd_open(child, 0);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	if (pfd >= 0)
		memcpy(CMSG_DATA(c), &pfd, sizeof(int));
	if (pfd < 0 || sendmsg(sv[1], &msg, 0) != 5) {
		kill(child, SIGKILL);
		return 1;
	}
	close(pfd);
	prog_ready();
	prog_wait_sigterm();
	msg.msg_controllen = sizeof(control.buf);
	if (PROG_CHECK(recvmsg(sv[0], &msg, MSG_DONTWAIT) == 5 && (c = CMSG_FIRSTHDR(&msg)),
		       "no message with a pidfd")) {
		memcpy(&pfd, CMSG_DATA(c), sizeof(int));
		PROG_CHECK(!syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) &&
				   !waitid(P_PIDFD, pfd, &info, WEXITED) && info.si_pid == child,
			   "the pidfd in flight does not reap the child");
	}
	if (!kill(child, SIGKILL))
		waitpid(child, NULL, 0);
	prog_finish();
}
