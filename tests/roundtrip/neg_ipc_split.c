/* A program whose child is in an IPC namespace of its own (unshare): a
 * tree in several IPC namespaces is not restored, so a dump must refuse
 * it, naming the child. On SIGTERM the program checks that the child is
 * still in its own namespace and still finds its semaphore set there. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define SEM_KEY 0x5e3a0101

/* Makes its namespace and a set in it, says so, and on SIGUSR1 exits 0 if
 * the set is still there. */
static void __attribute__((noreturn)) child(int ready[2])
{
	sigset_t usr1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (unshare(CLONE_NEWIPC) || semget(SEM_KEY, 1, IPC_CREAT | 0600) < 0)
		_exit(2);
	prog_child_ready(ready);
	while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
		;
	_exit(semget(SEM_KEY, 0, 0) < 0 ? 1 : 0);
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat ours, theirs;
	sigset_t term;
	char path[64], byte;
	int ready[2], status = -1;
	pid_t pid;

	prog_init(argc, argv);
	if (pipe(ready))
		return 1;
	pid = fork();
	if (pid == 0)
		child(ready);
	close(ready[1]);
	if (pid < 0 || read(ready[0], &byte, 1) != 1)
		return 1;
	close(ready[0]);
	prog_ready();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	PROG_CHECK(!stat("/proc/self/ns/ipc", &ours) && !stat(path, &theirs) &&
		   ours.st_ino != theirs.st_ino, "the child is no longer in its own IPC namespace");
	PROG_CHECK(semget(SEM_KEY, 0, 0) < 0, "the child's set is in the parent's namespace");
	kill(pid, SIGUSR1);
	waitpid(pid, &status, 0);
	PROG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "the child lost its semaphore set (status %#x)", status);
	prog_finish();
}
