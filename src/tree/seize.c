/* Finding and freezing a process tree for dump. Each process is seized
 * (every thread stopped) before its children are read: a stopped process
 * cannot fork, so no child appears unseen. Children are read from every
 * thread, since a thread's children are listed under it. A child that has
 * exited is a zombie: noted with its wait status, never seized. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/procfs.h"
#include "inject/inject.h"
#include "tree/tree.h"

static bool is_dead_state(char state)
{
	return state == 'Z' || state == 'X';
}

static int add_task(struct tree *tree, const struct tree_task *t)
{
	struct tree_task *tasks = reallocarray(tree->tasks, tree->nr + 1, sizeof(*tasks));

	if (!tasks) {
		pr_err("dump: out of memory for %zu processes", tree->nr + 1);
		return -ENOMEM;
	}
	tree->tasks = tasks;
	tasks[tree->nr++] = *t;
	return 0;
}

static int note_threads(struct tree_task *t)
{
	int n = inj_thread_count(t->inj);

	t->threads = calloc((size_t)n, sizeof(*t->threads));
	if (!t->threads)
		return -ENOMEM;
	/* The leader first, as restore creates it first. */
	t->threads[t->nr_threads++] = t->pid;
	for (int i = 0; i < n; i++)
		if (inj_thread_tid(t->inj, i) != t->pid)
			t->threads[t->nr_threads++] = inj_thread_tid(t->inj, i);
	return 0;
}

/* Adds @pid, a child of task @parent (-1 for the root): seized when alive,
 * as a zombie when it has exited (even while being seized). */
static int add_process(struct tree *tree, pid_t pid, int parent, const struct timespec *deadline)
{
	struct tree_task t = { .pid = pid, .parent = parent };
	struct proc_stat st;
	int ret;

	if (proc_stat_read(pid, &st)) {
		pr_err("dump: pid %d: no such process", pid);
		return -ESRCH;
	}
	if (!is_dead_state(st.state)) {
		ret = inj_seize_until(pid, deadline, &t.inj);
		/* It may have exited meanwhile: then it is a zombie now. */
		if (ret && (ret == -ETIMEDOUT || proc_stat_read(pid, &st) ||
			    !is_dead_state(st.state)))
			return ret;
	}
	if (parent < 0 && !t.inj) {
		pr_err("dump: pid %d is a zombie: there is nothing left of it to dump", pid);
		return -ESRCH;
	}
	t.ppid = st.ppid;
	t.pgid = st.pgid;
	t.sid = st.sid;
	t.exit_signal = st.exit_signal;
	t.state = t.inj ? TREE_ALIVE : TREE_ZOMBIE;
	t.exit_status = t.inj ? 0 : st.exit_code;
	if (!t.inj)
		memcpy(t.comm, st.comm, sizeof(t.comm));
	if (t.inj && note_threads(&t)) {
		inj_release(t.inj);
		return -ENOMEM;
	}
	ret = add_task(tree, &t);
	if (ret) {
		if (t.inj)
			inj_release(t.inj);
		free(t.threads);
	}
	return ret;
}

static bool in_tree(const struct tree *tree, pid_t pid)
{
	return tree_find(tree, pid) >= 0;
}

/* Adds the children listed under each thread of task @index. */
static int add_children(struct tree *tree, size_t index, const struct timespec *deadline)
{
	for (size_t i = 0; i < tree->tasks[index].nr_threads; i++) {
		pid_t pid = tree->tasks[index].pid, tid = tree->tasks[index].threads[i];
		char path[96];
		FILE *f;
		int child, ret = 0;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tid);
		f = fopen(path, "re");
		if (!f)
			return pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
		while (!ret && fscanf(f, "%d", &child) == 1)
			if (!in_tree(tree, child))
				ret = add_process(tree, child, (int)index, deadline);
		fclose(f);
		if (ret)
			return ret;
	}
	return 0;
}

/* cryo cannot freeze a process it runs below: it would freeze itself. */
static int check_not_above_us(pid_t root)
{
	struct proc_stat st;

	for (pid_t p = getppid(); p > 1; p = st.ppid) {
		if (p == root) {
			pr_err("dump: pid %d is an ancestor of cryo itself: cryo cannot dump the "
			       "tree it runs in", root);
			return -EDEADLK;
		}
		if (proc_stat_read(p, &st))
			break;
	}
	return 0;
}

int tree_seize(pid_t root, const struct timespec *deadline, struct tree *tree)
{
	int ret;

	memset(tree, 0, sizeof(*tree));
	ret = check_not_above_us(root);
	if (ret)
		return ret;
	ret = add_process(tree, root, -1, deadline);
	/* The array grows as it is walked: each process's children go after it. */
	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			ret = add_children(tree, i, deadline);
	if (ret)
		tree_release(tree, false);
	return ret;
}

/* How long dump waits for the processes it killed to die: SIGKILL is
 * quick, but a process with much memory takes a while to free it. */
#define KILLED_WAIT_MS 30000

/* Reaps the threads of @pid that died while cryo still traced them: the
 * kernel keeps a traced thread until its tracer waits for it, and reports
 * the group leader dead only once every other thread is gone. */
static void reap_traced_threads(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		pid_t tid = (pid_t)strtol(d->d_name, NULL, 10);

		if (tid > 0 && tid != pid)
			waitpid(tid, NULL, __WALL | WNOHANG);
	}
	closedir(dir);
}

/* Waits until every process of @pidfds (-1: none) is dead, a zombie or
 * gone: the pidfd of a process becomes readable once all its threads have
 * exited. Then a restore only ever waits for their parents to reap them. */
static void wait_killed(const struct tree *tree, int *pidfds)
{
	struct pollfd *polls = calloc(tree->nr + 1, sizeof(*polls));
	int left_ms = KILLED_WAIT_MS, slice_ms = 1;

	/* A killed process frees its memory in its exit, on one core; cryo
	 * reaps it from this side at the same time (1 GiB: 68 -> 44 ms). The
	 * kernel refuses a process whose mm another one still uses: it then
	 * only waits. */
	for (size_t i = 0; i < tree->nr; i++)
		if (pidfds[i] >= 0)
			process_mrelease(pidfds[i], 0);
	while (polls && left_ms > 0) {
		nfds_t n = 0;
		int ret;

		for (size_t i = 0; i < tree->nr; i++)
			if (pidfds[i] >= 0) {
				/* One thread: none of its own to reap (a
				 * frozen process makes none). */
				if (tree->tasks[i].nr_threads > 1)
					reap_traced_threads(tree->tasks[i].pid);
				polls[n++] = (struct pollfd){ .fd = pidfds[i], .events = POLLIN };
			}
		if (!n)
			break;
		/* A thread that dies after its reaping above keeps the pidfd
		 * unreadable until the next pass, which no poll wakes for: the
		 * first passes come soon (a 64-thread process waited 100 ms
		 * for one such thread, every dump). */
		ret = poll(polls, n, slice_ms);
		if (ret < 0 && errno != EINTR)
			break;
		left_ms -= slice_ms;
		slice_ms = slice_ms * 2 > 100 ? 100 : slice_ms * 2;
		for (nfds_t j = 0; ret > 0 && j < n; j++)
			for (size_t i = 0; polls[j].revents && i < tree->nr; i++)
				if (pidfds[i] == polls[j].fd) {
					close(pidfds[i]);
					pidfds[i] = -1;
				}
	}
	for (size_t i = 0; i < tree->nr; i++)
		if (pidfds[i] >= 0) {
			pr_warn("dump: pid %d was killed but is still not dead after %d s",
				tree->tasks[i].pid, KILLED_WAIT_MS / 1000);
			close(pidfds[i]);
		}
	free(polls);
}

void tree_release(struct tree *tree, bool kill_all)
{
	int *pidfds = kill_all ? malloc(tree->nr * sizeof(*pidfds) + 1) : NULL;

	/* Killed while still frozen, so that none runs past the images; through
	 * a pidfd taken while it is still held, so the wait is for this very
	 * process. */
	for (size_t i = 0; kill_all && i < tree->nr; i++) {
		if (pidfds)
			pidfds[i] = tree->tasks[i].inj ?
					    (int)syscall(SYS_pidfd_open, tree->tasks[i].pid, 0) : -1;
		if (tree->tasks[i].inj)
			kill(tree->tasks[i].pid, SIGKILL);
	}
	/* Children first, so that no parent runs while a child is still held. */
	for (size_t i = tree->nr; i-- > 0;)
		if (tree->tasks[i].inj)
			inj_release(tree->tasks[i].inj);
	if (pidfds)
		wait_killed(tree, pidfds);
	free(pidfds);
	tree_free(tree);
}
