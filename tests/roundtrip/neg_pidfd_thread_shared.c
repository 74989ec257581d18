/* One open PIDFD_THREAD pidfd of the program's second thread, held also by
 * a child that inherited it. A thread's pidfd is opened by its holder once
 * threads exist, after the fds: two holders cannot share one, so dump must
 * refuse. On SIGTERM the program checks the pidfd still reaches the thread,
 * and ends the child. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#define PIDFD_FD 40

static _Atomic pid_t thread_tid;

static void *park(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	pid_t holder;
	int fd;

	prog_init(argc, argv);
	if (pthread_create(&thread, NULL, park, NULL))
		return 1;
	while (!thread_tid)
		usleep(1000);
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
