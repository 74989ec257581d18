/* What processes of a tree share besides memory: an fd table (clone with
 * CLONE_FILES) or fs info (CLONE_FS: cwd, root, umask), found at dump with
 * kcmp(). Restore can share either again between a process and its
 * parent, by creating the child with CLONE_FILES or CLONE_FS; any other
 * pattern is refused here before anything is written. */
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

/* Under a chroot, the paths restore opens are taken from cryo's root,
 * which a process that shares fs info could not keep apart. */
static int check_root(pid_t pid)
{
	char path[64], root[8];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	n = readlink(path, root, sizeof(root));
	if (n == 1 && root[0] == '/')
		return 0;
	pr_err("dump: pid %d shares its fs info (CLONE_FS) under a chroot: not supported", pid);
	return -EOPNOTSUPP;
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
				ret = check_root(t->pid);
			}
		}
		if (!ret)
			ret = check_distinct(tops, n, types[k]);
	}
	free(tops);
	if (ret == -ENOMEM)
		pr_err("dump: out of memory comparing the processes");
	return ret;
}
