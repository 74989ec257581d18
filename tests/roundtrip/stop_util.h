/* What the programs about stopped children (prog_stopped*) share: whether
 * a child's threads are all in a job-control stop, whether its parent can
 * still see that stop through waitid, SIGCHLD pending, and continuing a
 * child and reaping its verdict (its exit status). */
#ifndef CRYO_TESTS_STOP_UTIL_H
#define CRYO_TESTS_STOP_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "prog.h"

static inline void stop_nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The state letter of thread @tid of @pid ('?' when unreadable). */
static inline char stop_thread_state(pid_t pid, pid_t tid)
{
	char path[96], text[512], *end;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	end = strrchr(text, ')');
	return end && end[1] == ' ' ? end[2] : '?';
}

/* How many threads @pid has, and how many of them are in a job-control
 * stop ('T'). */
static inline void stop_count_threads(pid_t pid, int *threads, int *stopped)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	*threads = *stopped = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0)
			continue;
		(*threads)++;
		*stopped += stop_thread_state(pid, tid) == 'T';
	}
	if (d)
		closedir(d);
}

/* The signal of a stop of @child that a wait would still report, without
 * taking it (0: none to report). */
static inline int stop_unreported(pid_t child)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, child, &info, WSTOPPED | WNOHANG | WNOWAIT))
		return -1;
	return info.si_pid == child && info.si_code == CLD_STOPPED ? info.si_status : 0;
}

/* Waits up to 5 s for a stop of @child to be reportable. */
static inline bool stop_wait_reportable(pid_t child, int sig)
{
	for (int i = 0; i < 500; i++) {
		if (stop_unreported(child) == sig)
			return true;
		stop_nap_ms(10);
	}
	return false;
}

static inline bool stop_sigchld_pending(void)
{
	sigset_t pending;

	sigpending(&pending);
	return sigismember(&pending, SIGCHLD);
}

/* Takes every pending SIGCHLD (it is blocked), without waiting. */
static inline void stop_drain_sigchld(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, NULL, &zero) == SIGCHLD)
		;
}

/* SIGCONT to @child, whose parent must then see it continued. */
static inline bool stop_continue(pid_t child)
{
	siginfo_t info;

	if (kill(child, SIGCONT))
		return prog_fail("kill(%d, SIGCONT) failed", child);
	for (int i = 0; i < 500; i++) {
		memset(&info, 0, sizeof(info));
		if (waitid(P_PID, child, &info, WCONTINUED | WNOHANG)) {
			int status = 0;

			waitpid(child, &status, WNOHANG);
			return prog_fail("child %d: waitid(WCONTINUED): %s (exit status %#x)",
					 child, strerror(errno), status);
		}
		if (info.si_pid == child)
			return PROG_CHECK(info.si_code == CLD_CONTINUED, "child %d: si_code %d",
					  child, info.si_code);
		stop_nap_ms(10);
	}
	return prog_fail("child %d: no CLD_CONTINUED within 5 s of SIGCONT", child);
}

/* Reaps @child, whose exit status is its own verdict (0: its checks passed). */
static inline bool stop_reap(pid_t child)
{
	int status = 0;

	for (int i = 0; i < 500; i++) {
		if (waitpid(child, &status, WNOHANG) == child)
			return PROG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					  "child %d ended with status %#x (its own check failed)",
					  child, status);
		stop_nap_ms(10);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return prog_fail("child %d did not end within 5 s of being told to", child);
}

#endif
