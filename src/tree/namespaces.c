/* The namespaces of a tree being dumped: each process's are read (for
 * pstree.img) and must be those of the dumping process (cryo, or its child
 * inside the tree's pid namespace, dump/pid_ns.c), since restore makes
 * every process in those, but for the UTS and time namespaces, which are
 * made again (ns/own.c): every process must be in the root's. The tree
 * may also have an IPC and a network namespace of its own (ns/ipc.h,
 * ns/net.h), which all its processes and threads must then share. One more
 * exception: the root's mount namespace may be another (its mounts are
 * saved, ns/mnt_dump.c), and every file is saved by the path the dumping
 * process sees and checked to lead to the same file; the tree's processes
 * must still share one. Checked right after seizing, before anything else
 * is collected, so the refusal names the namespace rather than whatever
 * would break first. Each thread is checked too: unshare() in a thread
 * gives it namespaces of its own that its process's links do not show.
 * Also whether an init root has a /proc of its own pid namespace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "ns/ns.h"
#include "ns/user.h"
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

	if (!ret)
		ret = check_one(pid, tid, ids, want, NS_USER, "user");
	if (!ret)
		ret = check_one(pid, tid, ids, want, NS_CGROUP, "cgroup");
	return ret ? ret : check_one(pid, tid, ids, want, NS_NET, "network");
}

/* Whether the /proc the root @pid sees is one of the pid namespace cryo
 * (the dumping child, in the root's pid namespace) is in: its "self" then
 * names cryo by the pid cryo has. */
static bool root_has_own_proc(pid_t pid)
{
	char path[64], text[16];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/root/proc/self", pid);
	n = readlink(path, text, sizeof(text) - 1);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return strtol(text, NULL, 10) == getpid();
}

int tree_read_namespaces(struct tree *tree)
{
	struct ns_ids want;
	bool threads_ok = true;
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
		/* UTS and time namespaces are made again (ns/own.c): the
		 * root's may be its own, and every process must share it; so
		 * may its IPC and network namespaces (ns/ipc.c, ns/net.c). */
		if (i == 0) {
			want.ino[NS_UTS] = t->ns.ino[NS_UTS];
			want.ino[NS_TIME] = t->ns.ino[NS_TIME];
			want.ino[NS_TIME_FOR_CHILDREN] = t->ns.ino[NS_TIME];
			want.ino[NS_IPC] = t->ns.ino[NS_IPC];
			want.ino[NS_NET] = t->ns.ino[NS_NET];
			/* And its user namespace (ns/user.c). */
			ret = ns_user_check_root(t->pid, &t->ns, &threads_ok);
			if (ret)
				return ret;
			want.ino[NS_USER] = t->ns.ino[NS_USER];
			/* And its cgroup namespace (ns/cgroup_ns.c). */
			want.ino[NS_CGROUP] = t->ns.ino[NS_CGROUP];
		}
		if (t->nr_threads > 1 && !threads_ok) {
			pr_err("dump: pid %d: has %zu threads in its own user namespace "
			       "(user:[%llu]) without a pid namespace of that user namespace: "
			       "their tids could not be chosen from inside: not supported yet",
			       t->pid, t->nr_threads, (unsigned long long)t->ns.ino[NS_USER]);
			return -EOPNOTSUPP;
		}
		ret = check_ipc(t->pid, 0, &t->ns, &want);
		if (!ret)
			ret = ns_check_dumpable(t->pid, 0, &t->ns, &want);
		if (ret)
			return ret;
		/* The init of its pid namespace, dumped from inside it (dump/pid_ns.c). */
		if (i == 0 && t->pid == 1)
			tree->own_proc = root_has_own_proc(t->pid);
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
