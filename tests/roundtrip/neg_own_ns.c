/* A program whose child is in a UTS namespace of its own (unshare, then a
 * hostname of its own). cryo restores one UTS namespace, the root's, for
 * the whole tree, so a dump must refuse it, naming the child and the
 * namespace. On SIGTERM the
 * program checks that the child is still in its own namespace and still
 * sees its own hostname. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define CHILD_HOSTNAME "cryo-own-uts"

/* Sets its namespace up, says so, and on SIGUSR1 exits 0 if its hostname
 * is still its own. */
static void __attribute__((noreturn)) child(int ready[2])
{
	char name[64] = "";
	sigset_t usr1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (unshare(CLONE_NEWUTS) || sethostname(CHILD_HOSTNAME, strlen(CHILD_HOSTNAME)))
		_exit(2);
	prog_child_ready(ready);
	while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
		;
	gethostname(name, sizeof(name));
	_exit(strcmp(name, CHILD_HOSTNAME) ? 1 : 0);
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
	/* Ticks, so that the runner sees it still runs after the dump. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &tick) != SIGTERM)
		;
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", pid);
	PROG_CHECK(!stat("/proc/self/ns/uts", &ours) && !stat(path, &theirs) &&
		   ours.st_ino != theirs.st_ino, "the child is no longer in its own UTS namespace");
	kill(pid, SIGUSR1);
	waitpid(pid, &status, 0);
	PROG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "the child lost its hostname (status %#x)", status);
	prog_finish();
}
