/* An epoll watching a pipe's read end that the process closed after a
 * child inherited it: the file lives on, but no fd of the process holds
 * it, so dump refuses the epoll by name. Both processes run on until
 * SIGTERM; the program then checks the epoll still reports the pipe. */
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
	int ep, fds[2];
	pid_t child;

	prog_init(argc, argv);
	ep = epoll_create1(0);
	if (ep < 0 || pipe(fds) || epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev))
		return 1;
	child = fork();
	if (child == 0) {
		/* Holds the read end; ends with its parent's SIGTERM. */
		prog_wait_sigterm();
		_exit(0);
	}
	if (child < 0)
		return 1;
	close(fds[0]);
	prog_ready();
	prog_run_until_sigterm();
	/* While the child still holds the read end, the only reader. */
	PROG_CHECK(write(fds[1], "x", 1) == 1 && epoll_wait(ep, &ev, 1, 0) == 1 && ev.data.u64 == 7,
		   "the epoll no longer reports the pipe");
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	prog_finish();
}
