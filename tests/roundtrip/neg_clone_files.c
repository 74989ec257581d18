/* A process and a child made with raw clone(CLONE_FILES), sharing one fd
 * table, which dump must refuse for now. On SIGTERM the parent checks that
 * an fd the child opened after the dump attempt is in its own table too. */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define CHILD_FD 40

int main(int argc, char **argv)
{
	int ready[2];
	pid_t child;
	char byte;

	prog_init(argc, argv);
	if (pipe(ready))
		return 1;
	child = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, NULL);
	if (child == 0) {
		sigset_t usr1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
			;
		_exit(dup2(0, CHILD_FD) == CHILD_FD ? 0 : 1);
	}
	if (child < 0 || read(ready[0], &byte, 1) != 1)
		return 1;
	prog_ready();
	prog_wait_sigterm();
	PROG_CHECK(syscall(SYS_kcmp, getpid(), child, KCMP_FILES, 0, 0) == 0,
		   "the child no longer shares the fd table");
	kill(child, SIGUSR1);
	waitpid(child, NULL, 0);
	PROG_CHECK(fcntl(CHILD_FD, F_GETFD) >= 0, "fd %d the child opened is not in the table",
		   CHILD_FD);
	prog_finish();
}
