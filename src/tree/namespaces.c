/* The namespaces of a tree being dumped: each process's are read (for
 * pstree.img) and must be cryo's own, since restore makes every process
 * in cryo's namespaces, but for the IPC and network namespaces: the tree
 * may have one of its own (ns/ipc.h, ns/net.h), which all its processes
 * and threads must then share. One exception more: cryo may run in another mount
 * namespace than the tree (a private copy with a mount for its images, as
 * the full-disk test does), since every file is saved by the path cryo
 * sees and checked to lead to the same file; the tree's processes must
 * still share one. Checked right after seizing, before anything else is
 * collected, so the refusal names the namespace rather than whatever would
 * break first. Each thread is checked too: unshare() in a thread gives it
 * namespaces of its own that its process's links do not show. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "ns/ns.h"
#include "tree/tree.h"

/* A tree in several IPC or network namespaces would need one made per
 * process. */
static int check_one(pid_t pid, pid_t tid, const struct ns_ids *ids, const struct ns_ids *want,
		     enum ns_kind k, const char *what)
{
	char who[48];

	if (!ids->ino[k] || ids->ino[k] == want->ino[k])
		return 0;
	if (tid)
		snprintf(who, sizeof(who), "pid %d thread %d", pid, tid);
	else
		snprintf(who, sizeof(who), "pid %d", pid);
	pr_err("dump: %s: in another %s namespace (%s:[%llu]) than its tree's root (%s:[%llu]): "
	       "a tree in several %s namespaces is not supported", who, what, ns_kind_name(k),
	       (unsigned long long)ids->ino[k], ns_kind_name(k),
	       (unsigned long long)want->ino[k], what);
	return -EOPNOTSUPP;
}

static int check_ipc(pid_t pid, pid_t tid, const struct ns_ids *ids, const struct ns_ids *want)
{
	int ret = check_one(pid, tid, ids, want, NS_IPC, "IPC");

	return ret ? ret : check_one(pid, tid, ids, want, NS_NET, "network");
}

int tree_read_namespaces(struct tree *tree)
{
	struct ns_ids want;
	int ret = ns_ids_read(0, &want);

	if (ret) {
		pr_err("dump: cannot read cryo's own namespaces: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < tree->nr; i++) {
		struct tree_task *t = &tree->tasks[i];

		ret = ns_ids_read(t->pid, &t->ns);
		if (ret) {
			pr_err("dump: pid %d: cannot read its namespaces (/proc/%d/ns): %s", t->pid,
			       t->pid, strerror(-ret));
			return ret;
		}
		if (i == 0 && t->ns.ino[NS_MNT] != want.ino[NS_MNT]) {
			pr_warn("dump: pid %d: in mount namespace mnt:[%llu], not cryo's (mnt:[%llu]): "
				"its files are saved by the paths cryo sees", t->pid,
				(unsigned long long)t->ns.ino[NS_MNT],
				(unsigned long long)want.ino[NS_MNT]);
			want.ino[NS_MNT] = t->ns.ino[NS_MNT];
		}
		if (i == 0) {
			want.ino[NS_IPC] = t->ns.ino[NS_IPC];
			want.ino[NS_NET] = t->ns.ino[NS_NET];
		}
		ret = check_ipc(t->pid, 0, &t->ns, &want);
		if (!ret)
			ret = ns_check_dumpable(t->pid, 0, &t->ns, &want);
		if (ret)
			return ret;
		/* The leader's are the process's; the others may differ. */
		for (size_t j = 1; j < t->nr_threads; j++) {
			struct ns_ids thread;

			ret = ns_ids_read_thread(t->pid, t->threads[j], &thread);
			if (ret) {
				pr_err("dump: pid %d thread %d: cannot read its namespaces: %s",
				       t->pid, t->threads[j], strerror(-ret));
				return ret;
			}
			ret = check_ipc(t->pid, t->threads[j], &thread, &want);
			if (!ret)
				ret = ns_check_dumpable(t->pid, t->threads[j], &thread, &want);
			if (ret)
				return ret;
		}
	}
	return 0;
}
