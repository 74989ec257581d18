/* A program in a user namespace of its own (the runner's, root mapped to
 * 100000) in a shape dump refuses, chosen by NEG_USERNS_MODE: "nested" (it
 * unshares a second user namespace, two levels below cryo's), "split" (its
 * child does), "cgroup-split" (its child unshares a cgroup namespace),
 * "threads" (a thread, without a pid namespace of that user namespace). On
 * SIGTERM it checks it is still so. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* An empty uid_map: a user namespace nobody wrote maps for. */
static bool in_unmapped_ns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	int c = f ? fgetc(f) : 'x';

	if (f)
		fclose(f);
	return c == EOF;
}

int main(int argc, char **argv)
{
	const char *mode = getenv("NEG_USERNS_MODE");
	struct timespec ms = { 0, 1000 * 1000 };
	sigset_t term;
	int ready[2], status = -1;
	pthread_t thread;
	pid_t pid = 0;
	char byte;

	prog_init(argc, argv);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	mode = mode ? mode : "";
	if (!strcmp(mode, "nested")) {
		if (unshare(CLONE_NEWUSER))
			prog_fail("unshare(CLONE_NEWUSER): %s", strerror(errno));
	} else if (!strcmp(mode, "split") || !strcmp(mode, "cgroup-split")) {
		if (pipe(ready))
			return 1;
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (unshare(strcmp(mode, "split") ? CLONE_NEWCGROUP : CLONE_NEWUSER))
				_exit(2);
			prog_child_ready(ready);
			prog_wait_sigterm();
			_exit(!strcmp(mode, "split") && !in_unmapped_ns() ? 1 : 0);
		}
		close(ready[1]);
		while (read(ready[0], &byte, 1) > 0)
			;
		close(ready[0]);
	} else if (!strcmp(mode, "threads")) {
		if (pthread_create(&thread, NULL, idle, NULL))
			prog_fail("pthread_create failed");
	} else {
		prog_fail("NEG_USERNS_MODE '%s': not nested, split, cgroup-split or threads", mode);
	}
	prog_ready();
	/* Running, as the runner checks: a 1 ms wait at a time. */
	while (sigtimedwait(&term, NULL, &ms) != SIGTERM)
		;
	if (!strcmp(mode, "nested"))
		PROG_CHECK(in_unmapped_ns(), "no longer in its nested user namespace");
	if (pid > 0) {
		kill(pid, SIGTERM);
		PROG_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0, "the child left its user namespace (%#x)",
			   status);
	}
	prog_finish();
}
