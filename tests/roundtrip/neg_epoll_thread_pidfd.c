/* An epoll watching a PIDFD_THREAD pidfd of the program's second thread
 * that only a child holds (the program closed its copy after the fork): a
 * thread's pidfd is opened by its holder alone, once threads exist, so
 * cryo cannot open it for the epoll's process too, and dump refuses the
 * epoll by name. On SIGTERM the program checks the epoll still watches the
 * pidfd (it lists it), and ends the child. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parked_thread.h"
#include "prog.h"

/* Whether @ep's fdinfo lists a registration under @tfd. */
static bool lists(int ep, int tfd)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		int fd;

		if (sscanf(line, "tfd: %d", &fd) == 1)
			found |= fd == tfd;
	}
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	pid_t holder, thread_tid;
	int ep, fd;

	prog_init(argc, argv);
	thread_tid = park_a_thread();
	if (thread_tid < 0)
		return 1;
	fd = pidfd_open(thread_tid, PIDFD_THREAD);
	ep = epoll_create1(0);
	if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return 1;
	holder = fork();
	if (holder == 0) {
		prog_wait_sigterm();
		_exit(0);
	}
	if (holder < 0 || close(fd))
		return 1;
	prog_ready();
	prog_run_until_sigterm();
	PROG_CHECK(lists(ep, fd), "the epoll no longer watches the pidfd of thread %d",
		   (int)thread_tid);
	kill(holder, SIGTERM);
	waitpid(holder, NULL, 0);
	prog_finish();
}
