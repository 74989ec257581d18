/* One read of /proc/locks for a whole dump, made on a thread of its own
 * while the tree is frozen. Reading /proc/locks takes the kernel's
 * file_rwsem for writing (locks_start() in fs/locks.c), which waits for an
 * RCU grace period: 10-30 ms here, read twice a dump before, all of it
 * frozen time. What the lines mean is locks.c's. */
#ifndef CRYO_FILES_PROC_LOCKS_H
#define CRYO_FILES_PROC_LOCKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct proc_locks {
	pthread_t thread;
	bool started;	/* the thread runs, or ran and is not joined yet */
	bool done;	/* text and err are final */
	int err;	/* 0, or -errno of the read */
	char *text;	/* the whole file, NUL-terminated */
};

/* Starts reading /proc/locks on a thread. Call it with the processes of
 * the dump stopped: what they hold cannot change from then on, so the
 * text is as good as one read later. When no thread can be made, the read
 * happens at the first proc_locks_text() instead. */
void proc_locks_start(struct proc_locks *pl);
/* The text (waits for the thread); 0 or -errno (then *@text is NULL).
 * Not thread-safe: one caller at a time, as the files dump set. */
int proc_locks_text(struct proc_locks *pl, const char **text);
/* Waits for the thread if it still runs and frees the text. */
void proc_locks_free(struct proc_locks *pl);

#endif
