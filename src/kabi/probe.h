/* Helpers shared by the feature probes in src/kabi: filling a result, short
 * lived child processes, reading a /proc file whole. Internal to the probes;
 * the rest of cryo uses features.h. */
#ifndef CRYO_KABI_PROBE_H
#define CRYO_KABI_PROBE_H

#include <sys/types.h>

#include "kabi/features.h"

/* Mark @res ok with a one-line explanation; returns 0. */
int feature_ok(struct feature_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Mark @res missing because of @err (a -errno); returns @err. */
int feature_missing(struct feature_result *res, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Forks a child that only waits in pause() until it is killed. */
int child_spawn_paused(pid_t *pid);

/* SIGKILLs @pid and reaps it; the counterpart of every child spawned. */
void child_kill_reap(pid_t pid);

/* Waits for @pid to end; returns 0, or -errno if waitpid fails. */
int child_reap(pid_t pid, int *status);

/* Runs @fn in a forked child and returns what it returned (0 or -errno).
 * @fn runs after fork in a process that may hold locks of threads it does
 * not have: it must make async-signal-safe calls only. */
int run_in_child(int (*fn)(void *arg), void *arg);

/* A PID number that no task, thread or process group uses now, near the
 * next PID the kernel would hand out. @attempt spreads retries apart. */
int pick_free_pid(unsigned int attempt, pid_t *pid);

#endif
