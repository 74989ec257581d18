/* Two siblings that share one fd table their parent does not: a child
 * forked by the program made the other with raw clone(CLONE_FILES |
 * CLONE_PARENT), so both are the program's children. Restore can share a
 * table only between a process and its parent: dump must refuse. On
 * SIGTERM the program checks that the two still share it: an fd the first
 * opens after the dump attempt is in the second's table too. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define CHILD_FD 40

static void __attribute__((noreturn)) second(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
}

/* Makes its sibling, tells the program its pid, and on SIGUSR1 opens
 * CHILD_FD in the table they share. */
static void __attribute__((noreturn)) first(int ready)
{
	sigset_t usr1;
	pid_t sibling;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	sibling = (pid_t)syscall(SYS_clone, CLONE_FILES | CLONE_PARENT | SIGCHLD, NULL, NULL,
				 NULL, NULL);
	if (sibling == 0)
		second();
	if (sibling < 0 || write(ready, &sibling, sizeof(sibling)) != sizeof(sibling))
		_exit(1);
	while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
		;
	_exit(dup2(0, CHILD_FD) == CHILD_FD ? 0 : 1);
}

int main(int argc, char **argv)
{
	char path[64];
	pid_t one, two = -1;
	int ready[2], status = -1;

	prog_init(argc, argv);
	if (pipe(ready))
		return 1;
	one = fork();
	if (one == 0)
		first(ready[1]);
	if (one < 0 || read(ready[0], &two, sizeof(two)) != sizeof(two))
		return 1;
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(syscall(SYS_kcmp, one, two, KCMP_FILES, 0, 0) == 0,
		   "the siblings %d and %d no longer share the fd table", one, two);
	PROG_CHECK(syscall(SYS_kcmp, getpid(), two, KCMP_FILES, 0, 0) > 0,
		   "the program shares the siblings' fd table");
	kill(one, SIGUSR1);
	waitpid(one, &status, 0);
	PROG_CHECK(status == 0, "the first sibling ended with status %#x", status);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", two, CHILD_FD);
	PROG_CHECK(access(path, F_OK) == 0, "fd %d the first sibling opened is not in the "
		   "second's table", CHILD_FD);
	kill(two, SIGKILL);
	waitpid(two, NULL, 0);
	prog_finish();
}
