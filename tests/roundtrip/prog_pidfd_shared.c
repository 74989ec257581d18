/* Round-trip program: one open pidfd of a live child that two processes
 * hold. The program opened it, then forked a second child, which inherited
 * it. After restore both still hold one open file (kcmp), which signals the
 * first child: the program ends it through the pidfd and reaps it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define PIDFD_FD 40

static pid_t fork_waiter(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prog_wait_sigterm();
		_exit(0);
	}
	return pid;
}

int main(int argc, char **argv)
{
	pid_t target, holder, me;
	siginfo_t si = { 0 };
	int fd;

	prog_init(argc, argv);
	target = fork_waiter();
	fd = target < 0 ? -1 : pidfd_open(target, PIDFD_NONBLOCK);
	if (fd < 0 || dup2(fd, PIDFD_FD) != PIDFD_FD || close(fd))
		return 1;
	holder = fork_waiter();
	if (holder < 0)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	me = getpid();
	PROG_CHECK(syscall(SYS_kcmp, me, holder, KCMP_FILE, PIDFD_FD, PIDFD_FD) == 0,
		   "the pidfd is no longer one open file with child %d's", holder);
	PROG_CHECK(fcntl(PIDFD_FD, F_GETFL) & O_NONBLOCK, "the pidfd lost O_NONBLOCK");
	PROG_CHECK(waitid(P_PIDFD, PIDFD_FD, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0,
		   "waitid on the live child's pidfd: %s", strerror(errno));
	PROG_CHECK(pidfd_send_signal(PIDFD_FD, SIGTERM, NULL, 0) == 0,
		   "the pidfd of child %d no longer signals it: %s", target, strerror(errno));
	kill(holder, SIGTERM);
	/* A nonblocking pidfd makes waitid() fail with EAGAIN until the exit:
	 * poll says when. */
	PROG_CHECK(poll(&(struct pollfd){ .fd = PIDFD_FD, .events = POLLIN }, 1, 5000) == 1,
		   "the pidfd of child %d did not poll readable after SIGTERM", target);
	PROG_CHECK(waitid(P_PIDFD, PIDFD_FD, &si, WEXITED) == 0 && si.si_pid == target,
		   "waitid for child %d through its pidfd: %s", target, strerror(errno));
	PROG_CHECK(waitpid(holder, NULL, 0) == holder, "child %d did not exit", holder);
	prog_finish();
}
