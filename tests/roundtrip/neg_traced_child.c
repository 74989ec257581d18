/* A parent that holds its child in a ptrace stop (PTRACE_ATTACH, as a
 * debugger does), for the negative tests: cryo cannot seize a task another
 * tracer holds, so the dump must be refused naming the tracer, and leave
 * both as they were. The child's pid goes to prog_dir()/child. On SIGTERM
 * the parent checks that it still traces the child, stopped, then lets it
 * go and ends it. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 1000000 };
	struct user_regs_struct regs;
	char path[4096];
	sigset_t term;
	pid_t child;
	int status, fd;

	prog_init(argc, argv);
	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	if (child < 0 || ptrace(PTRACE_ATTACH, child, NULL, NULL) ||
	    waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		return 1;
	snprintf(path, sizeof(path), "%s/child", prog_dir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dprintf(fd, "%d\n", child) < 0 || close(fd))
		return 1;
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* Wakes every 1 ms, so the test sees it keep running. */
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;

	PROG_CHECK(prog_tracer_of(child) == getpid(), "the child is traced by %ld, not by us",
		   prog_tracer_of(child));
	PROG_CHECK(ptrace(PTRACE_GETREGS, child, NULL, &regs) == 0,
		   "the child is no longer in our ptrace stop");
	PROG_CHECK(waitpid(child, &status, WNOHANG) == 0, "the child changed state");
	ptrace(PTRACE_DETACH, child, NULL, NULL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	prog_finish();
}
