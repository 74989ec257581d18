/* Before a restore creates anything: every pid and tid of the tree must be
 * free. One held by a zombie is waited for, a bounded time, since its
 * parent may reap it late (dump killed it a moment ago, and init reaps
 * when it gets to it); one held by a live process fails at once. The
 * message says which holds it. Not the creation of the processes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/procfs.h"
#include "restore/restore.h"

#define POLL_MS 5

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(comm, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f && fgets(comm, (int)size, f))
		comm[strcspn(comm, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* "pid 12" for the process @owner, "pid 12: its thread 13" for a thread. */
static void name_pid(char *buf, size_t size, pid_t pid, pid_t owner)
{
	if (pid == owner)
		snprintf(buf, size, "pid %d", pid);
	else
		snprintf(buf, size, "pid %d: its thread %d", owner, pid);
}

/* Waits until @pid is free, while a zombie holds it and @deadline (ms) is
 * not past. */
static int wait_pid_free(pid_t pid, pid_t owner, long deadline, int wait_ms)
{
	char comm[64], who[64];
	bool said = false;
	struct proc_stat st;

	for (;;) {
		/* No /proc entry: the pid is free (or not ours to see). */
		if (proc_stat_read(pid, &st))
			return 0;
		read_comm(pid, comm, sizeof(comm));
		name_pid(who, sizeof(who), pid, owner);
		if (st.state != 'Z' && st.state != 'X') {
			pr_err("restore: %s is taken by a running process (%s): it must be free to "
			       "restore the process with its own PID", who, comm);
			return -EBUSY;
		}
		if (now_ms() >= deadline) {
			pr_err("restore: %s is taken by a zombie (%s) that its parent, pid %d, has "
			       "not reaped within %.1f s (--pid-wait)", who, comm, st.ppid,
			       wait_ms / 1000.0);
			return -EBUSY;
		}
		if (!said)
			pr_info("restore: %s is held by a zombie (%s); waiting for its parent, pid "
				"%d, to reap it", who, comm, st.ppid);
		said = true;
		nanosleep(&(struct timespec){ 0, POLL_MS * 1000000L }, NULL);
	}
}

int restore_wait_pids_free(const struct tree *tree, int wait_ms)
{
	long deadline = now_ms() + wait_ms;

	for (size_t i = 0; i < tree->nr; i++) {
		const struct tree_task *t = &tree->tasks[i];
		int ret = wait_pid_free(t->pid, t->pid, deadline, wait_ms);

		for (size_t j = 1; !ret && j < t->nr_threads; j++)
			ret = wait_pid_free(t->threads[j], t->pid, deadline, wait_ms);
		if (ret)
			return ret;
	}
	return 0;
}
