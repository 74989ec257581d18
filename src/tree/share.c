/* What processes of a tree share besides memory: an fd table (clone with
 * CLONE_FILES) or fs info (CLONE_FS: cwd, root, umask), found at dump with
 * kcmp(), and which share an mm (CLONE_VM without CLONE_THREAD). Restore can share either again between a process and its
 * parent, by creating the child with CLONE_FILES or CLONE_FS (under a
 * chroot, fs info only where no fd table is shared too); any other
 * pattern, such as fs info shared with a thread of the parent (or, by
 * CLONE_PARENT, of a sibling) that has fs info of its own, is refused here
 * before anything is written. */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "tree/tree.h"

struct kcmp_order {
	int type;
	int err;
};

static long kcmp_pair(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0);
}

/* Orders processes by the kernel object @type they use, so that those
 * that share one end up next to each other. */
static int cmp_by_object(const void *x, const void *y, void *arg)
{
	struct kcmp_order *o = arg;
	long r = kcmp_pair(*(const pid_t *)x, *(const pid_t *)y, o->type);

	if (r < 0 && !o->err)
		o->err = -errno;
	return r == 1 ? -1 : r == 2 ? 1 : 0;
}

static const char *what(int type)
{
	return type == KCMP_FILES ? "its fd table (CLONE_FILES)" : "its fs info (CLONE_FS: cwd, "
								  "root, umask)";
}

/* @pids share objects of @type only along parent links: no two of them
 * use the same one. */
static int check_distinct(pid_t *pids, size_t n, int type)
{
	struct kcmp_order o = { .type = type };

	qsort_r(pids, n, sizeof(*pids), cmp_by_object, &o);
	if (o.err)
		return pr_errno_ret("dump: cannot compare the processes' %s (kcmp)",
				    type == KCMP_FILES ? "fd tables" : "fs info");
	for (size_t i = 1; i < n; i++) {
		if (kcmp_pair(pids[i - 1], pids[i], type))
			continue;
		pr_err("dump: pids %d and %d share %s, but not through a parent that shares it "
		       "with its child: restore cannot build that", pids[i - 1], pids[i],
		       what(type));
		return -EOPNOTSUPP;
	}
	return 0;
}

static bool chrooted(pid_t pid)
{
	char path[64], root[8];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	n = readlink(path, root, sizeof(root));
	return n != 1 || root[0] != '/';
}

/* Whether process @i is in an fd table it shares with another process. */
static bool in_shared_table(const struct tree *tree, size_t i)
{
	if (tree->tasks[i].shares_files)
		return true;
	for (size_t j = i + 1; j < tree->nr; j++)
		if (tree->tasks[j].shares_files && tree->tasks[j].parent == (int)i)
			return true;
	return false;
}

/* Under a chroot, only the first process of a group that shares fs info
 * chroots at restore, once the others are past their last path; they tell
 * it through a pipe, whose ends in an fd table shared with another process
 * would be closed under them. */
static int check_chroot(const struct tree *tree, size_t i)
{
	size_t owner = i;

	if (!chrooted(tree->tasks[i].pid))
		return 0;
	while (tree->tasks[owner].shares_fs)
		owner = (size_t)tree->tasks[owner].parent;
	if (!in_shared_table(tree, i) && !in_shared_table(tree, owner))
		return 0;
	pr_err("dump: pid %d shares its fs info (CLONE_FS) with pid %d under a chroot, and one "
	       "of them shares its fd table (CLONE_FILES) too: not supported",
	       tree->tasks[i].pid, tree->tasks[owner].pid);
	return -EOPNOTSUPP;
}

/* Whether process @i shares its fs info with one of @owner's threads other
 * than its main one, which have it on their own after unshare(CLONE_FS):
 * refused, naming @how the owner is related to it. */
static int check_threads_of(const struct tree *tree, size_t i, size_t owner, const char *how)
{
	const struct tree_task *t = &tree->tasks[i], *o = &tree->tasks[owner];

	for (size_t k = 1; k < o->nr_threads; k++) {
		/* One that shares its main thread's is check_distinct()'s. */
		if (kcmp_pair(t->pid, o->threads[k], KCMP_FS) ||
		    !kcmp_pair(o->pid, o->threads[k], KCMP_FS))
			continue;
		pr_err("dump: pid %d shares its fs info (CLONE_FS: cwd, root, umask) with thread "
		       "%d of %s %d, which has fs info of its own (unshare(CLONE_FS)): restore "
		       "cannot share it again", t->pid, o->threads[k], how, o->pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Process @i, whose fs info is not its parent's (main thread's): refused
 * when it is a thread's of its parent or, made with CLONE_PARENT by a
 * sibling's thread, of a sibling: restore makes processes from the main
 * thread, whose clone cannot share another thread's fs info. */
static int check_thread_fs(const struct tree *tree, size_t i)
{
	int parent = tree->tasks[i].parent, ret;

	if (parent < 0)
		return 0;
	ret = check_threads_of(tree, i, (size_t)parent, "its parent");
	for (size_t j = (size_t)parent + 1; !ret && j < tree->nr; j++)
		if (j != i && tree->tasks[j].parent == parent &&
		    tree->tasks[j].state == TREE_ALIVE)
			ret = check_threads_of(tree, i, j, "its sibling (CLONE_PARENT)");
	return ret;
}

/* Marks shares_mm on every live process whose mm another one uses: the
 * pids sorted by mm, neighbours compared (a parasite in one would show in
 * the other's memory, dump/pipeline.c). */
static int find_shared_mm(struct tree *tree, pid_t *pids)
{
	struct kcmp_order o = { .type = KCMP_VM };
	size_t n = 0;

	for (size_t i = 0; i < tree->nr; i++)
		if (tree->tasks[i].state == TREE_ALIVE)
			pids[n++] = tree->tasks[i].pid;
	qsort_r(pids, n, sizeof(*pids), cmp_by_object, &o);
	if (o.err)
		return pr_errno_ret("dump: cannot compare the processes' memory (kcmp)");
	for (size_t i = 1; i < n; i++) {
		if (kcmp_pair(pids[i - 1], pids[i], KCMP_VM))
			continue;
		for (size_t k = 0; k < tree->nr; k++)
			if (tree->tasks[k].pid == pids[i - 1] || tree->tasks[k].pid == pids[i])
				tree->tasks[k].shares_mm = true;
	}
	return 0;
}

bool tree_task_shares_inside(const struct tree *tree, size_t i)
{
	return tree->tasks[i].shares_mm || in_shared_table(tree, i);
}

int tree_find_sharing(struct tree *tree)
{
	static const int types[] = { KCMP_FILES, KCMP_FS };
	pid_t *tops = calloc(tree->nr + 1, sizeof(*tops));
	int ret = tops ? 0 : -ENOMEM;

	for (size_t k = 0; !ret && k < 2; k++) {
		size_t n = 0;

		for (size_t i = 0; !ret && i < tree->nr; i++) {
			struct tree_task *t = &tree->tasks[i];
			pid_t parent = t->parent < 0 ? t->ppid : tree->tasks[t->parent].pid;

			if (t->state != TREE_ALIVE)
				continue;
			/* Another process outside the tree may not be
			 * traceable: only a yes counts there. */
			if (kcmp_pair(t->pid, parent, types[k])) {
				tops[n++] = t->pid;
				if (types[k] == KCMP_FS)
					ret = check_thread_fs(tree, i);
				continue;
			}
			if (t->parent < 0) {
				pr_err("dump: pid %d shares %s with its parent %d, which is not "
				       "being dumped: restore cannot share it again", t->pid,
				       what(types[k]), parent);
				ret = -EOPNOTSUPP;
			} else if (types[k] == KCMP_FILES) {
				t->shares_files = true;
			} else {
				t->shares_fs = true;
			}
		}
		if (!ret)
			ret = check_distinct(tops, n, types[k]);
	}
	for (size_t i = 0; !ret && i < tree->nr; i++)
		if (tree->tasks[i].shares_fs)
			ret = check_chroot(tree, i);
	if (!ret)
		ret = find_shared_mm(tree, tops);
	free(tops);
	if (ret == -ENOMEM)
		pr_err("dump: out of memory comparing the processes");
	return ret;
}
