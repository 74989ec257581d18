/* What pidfds need of the tree at restore: at load, that each refers to a
 * task the restore creates (a process, alive or a zombie, or a thread of
 * one); at finish, the pidfds of threads other than a main thread, put in
 * place by cryo from inside each seized process once every thread exists
 * (files_restore() held their numbers with a pidfd of the process itself).
 * What a pidfd is and the rest of its restore belong to src/files/pidfd.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "common/log.h"
#include "files/files.h"
#include "inject/inject.h"
#include "kabi/kabi.h"
#include "restore/restore.h"

/* The thread pidfds of @files, in a new array (NULL when none). */
static int list_thread_pidfds(const struct files_image *files, struct files_thread_pidfd **out,
			      size_t *nr)
{
	size_t n = files ? files_thread_pidfds(files, NULL, 0) : 0;

	*out = NULL;
	*nr = 0;
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*nr = files_thread_pidfds(files, *out, n);
	return 0;
}

struct target_check {
	const struct tree *tree;
	pid_t holder;
};

static int check_target(void *arg, int fd, pid_t pid, pid_t thread_of)
{
	const struct target_check *c = arg;
	int t = tree_find(c->tree, thread_of ? thread_of : pid);
	bool found = t >= 0 && !thread_of;

	for (size_t k = 1; t >= 0 && thread_of && k < c->tree->tasks[t].nr_threads; k++)
		found |= c->tree->tasks[t].threads[k] == pid;
	if (found)
		return 0;
	if (thread_of)
		pr_err("restore: pid %d fd %d: a pidfd of thread %d of pid %d, which the images "
		       "do not hold", c->holder, fd, pid, thread_of);
	else
		pr_err("restore: pid %d fd %d: a pidfd of pid %d, which the images do not hold",
		       c->holder, fd, pid);
	return -EBADMSG;
}

int restore_check_pidfds(const struct restore_set *rs)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		struct target_check c = { .tree = &rs->tree, .holder = rs->tasks[i].pid };

		if (rs->tasks[i].files)
			ret = files_pidfd_targets(rs->tasks[i].files, check_target, &c);
	}
	return ret;
}

/* Runs @nr in @task, which returns a number or -errno. */
static int remote(struct inj_task *task, long *result, long nr, unsigned long a1,
		  unsigned long a2, unsigned long a3)
{
	int ret = inj_syscall(task, result, nr, a1, a2, a3, 0, 0, 0);

	return ret ? ret : *result < 0 ? (int)*result : 0;
}

/* Opens one pidfd of @tp's thread in @task and puts it on each of its fds
 * (@tp[0..n), one open file), over the placeholders. */
static int replace_one(struct inj_task *task, const struct files_thread_pidfd *tp, size_t n)
{
	unsigned int open_flags = tp->flags & (O_NONBLOCK | PIDFD_THREAD);
	unsigned int setfl = tp->flags & (O_APPEND | O_NOATIME);
	long fd, ignored;
	int ret;

	ret = remote(task, &fd, SYS_pidfd_open, (unsigned long)tp->tid, open_flags, 0);
	if (ret) {
		pr_err("restore: pid %d fd %d: cannot open a pidfd of thread %d (flags %#o): %s",
		       inj_task_pid(task), tp->fd, tp->tid, open_flags, strerror(-ret));
		return ret;
	}
	if (setfl)
		ret = remote(task, &ignored, SYS_fcntl, (unsigned long)fd, F_SETFL,
			     open_flags | setfl);
	for (size_t i = 0; !ret && i < n; i++)
		ret = remote(task, &ignored, SYS_dup3, (unsigned long)fd, (unsigned long)tp[i].fd,
			     tp[i].cloexec ? O_CLOEXEC : 0);
	if (ret)
		pr_err("restore: pid %d fd %d: cannot put the pidfd of thread %d in place: %s",
		       inj_task_pid(task), tp->fd, tp->tid, strerror(-ret));
	/* The temporary took the lowest free number, which no saved fd has. */
	if (remote(task, &ignored, SYS_close, (unsigned long)fd, 0, 0) && !ret) {
		pr_err("restore: pid %d: cannot close fd %ld, a temporary pidfd",
		       inj_task_pid(task), fd);
		ret = -EIO;
	}
	return ret;
}

int restore_thread_pidfds(struct inj_task *task, const struct files_image *files)
{
	struct files_thread_pidfd *tp;
	size_t n;
	int ret;

	ret = list_thread_pidfds(files, &tp, &n);
	for (size_t i = 0, j; !ret && i < n; i = j) {
		for (j = i + 1; j < n && tp[j].file_id == tp[i].file_id; j++)
			;
		ret = replace_one(task, &tp[i], j - i);
	}
	free(tp);
	return ret;
}
