/* Small process and file helpers shared by the runners that drive the cryo
 * binary (test_roundtrip, test_shell_job, test_negative). */
#ifndef CRYO_TESTS_RUNNER_UTIL_H
#define CRYO_TESTS_RUNNER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

void sleep_ms(long ms);
long now_ms(void);
/* Waits up to @ms for child @pid to end; false on timeout (it is left as is). */
bool wait_child(pid_t pid, long ms, int *status);
/* Removes @path and everything below it. */
void remove_tree(const char *path);
/* A subreaper's part after a process tree ended: reaps every child that
 * came back to the caller, for up to @ms; false if some still run. */
bool reap_all_children(long ms);
/* The same, but child @keep (a program's peer) may go on running. */
bool reap_children_but(pid_t keep, long ms);
/* Kills and reaps every child of the caller, and the orphans that come
 * back to it as their parents die (a subreaper's cleanup). */
void end_all_children(void);

/* A thread of @pid other than its leader; 0 if none. */
pid_t other_thread(pid_t pid);
/* The id of the SysV segment neg_sysv_shm made for @pid, or -1. */
int sysv_segment_of(pid_t pid);

/* Moves the caller into a new network namespace with its loopback up, so
 * that what a test plants there (a stale lock table) is seen by no other
 * cryo on the machine: the fd of the namespace it left, or -errno. */
int enter_private_netns(void);
/* Back into namespace @saved (from enter_private_netns()), closing it. */
void leave_private_netns(int saved);

/* Keeps the first reason a check failed in @why; always false, so that a
 * check can end with "return note_why(...)". */
bool note_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
