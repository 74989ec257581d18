/* One open PIDFD_THREAD pidfd of the program's second thread, held also by
 * a child that inherited it. A thread's pidfd is opened by its holder once
 * threads exist, after the fds: two holders cannot share one, so dump must
 * refuse. On SIGTERM the program checks the pidfd still reaches the thread,
 * and ends the child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parked_thread.h"
#include "prog.h"

#define PIDFD_FD 40

int main(int argc, char **argv)
{
	pid_t holder, thread_tid;
	int fd;

	prog_init(argc, argv);
	thread_tid = park_a_thread();
	if (thread_tid < 0)
		return 1;
	fd = pidfd_open(thread_tid, PIDFD_THREAD);
	if (fd < 0 || dup2(fd, PIDFD_FD) != PIDFD_FD || close(fd))
		return 1;
	holder = fork();
	if (holder == 0) {
		prog_wait_sigterm();
		_exit(0);
	}
	if (holder < 0)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(pidfd_send_signal(PIDFD_FD, 0, NULL, 0) == 0,
		   "the pidfd of thread %d no longer reaches it: %s", (int)thread_tid,
		   strerror(errno));
	kill(holder, SIGTERM);
	PROG_CHECK(waitpid(holder, NULL, 0) == holder, "the child did not exit");
	prog_finish();
}
