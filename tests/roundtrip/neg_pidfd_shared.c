/* One open pidfd of a live child that two processes hold: the program
 * opened it, then forked a second child, which inherited it. Restore could
 * open it only once the first child exists, in one of the two: dump must
 * refuse. On SIGTERM the program checks that the pidfd still reaches the
 * child, and ends both children. */
#include <signal.h>
#include <sys/pidfd.h>
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
	pid_t target, holder;
	int fd;

	prog_init(argc, argv);
	target = fork_waiter();
	fd = target < 0 ? -1 : pidfd_open(target, 0);
	if (fd < 0 || dup2(fd, PIDFD_FD) != PIDFD_FD || close(fd))
		return 1;
	holder = fork_waiter();
	if (holder < 0)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(pidfd_send_signal(PIDFD_FD, SIGTERM, NULL, 0) == 0,
		   "the pidfd of child %d no longer signals it", target);
	kill(holder, SIGTERM);
	PROG_CHECK(waitpid(target, NULL, 0) == target && waitpid(holder, NULL, 0) == holder,
		   "the children did not exit");
	prog_finish();
}
