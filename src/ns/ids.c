/* Which namespaces a task is in, read from /proc/PID/ns/, and the dump's
 * rule that every task of a dump is in cryo's own (until namespaces are
 * restored). A task's namespace of a kind is identified by the inode of
 * its link (all namespaces live on the one nsfs). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/enter.h"
#include "ns/ns.h"

static const struct {
	const char *what;	/* in "... namespaces are not supported yet" */
	/* For the links of the namespace a task's next children go to: the
	 * kind's own link, and the unshare() that makes the two differ. */
	const char *children_of, *unshare;
	/* Made again at restore (own.c), shared by every process: what
	 * differs is the root's (tree/namespaces.c). */
	bool root_own;
} kinds[NS_NR_KINDS] = {
	[NS_PID] = { "PID" },
	[NS_PID_FOR_CHILDREN] = { "PID", "pid", "CLONE_NEWPID" },
	[NS_MNT] = { "mount" },
	[NS_NET] = { "network" },
	[NS_IPC] = { "IPC" },
	[NS_UTS] = { "UTS", .root_own = true },
	[NS_USER] = { "user" },
	[NS_CGROUP] = { "cgroup" },
	[NS_TIME] = { "time", .root_own = true },
	[NS_TIME_FOR_CHILDREN] = { "time", "time", "CLONE_NEWTIME", true },
};

/* /proc/self for pid 0, /proc/PID/task/TID for a thread. */
static void ns_path(pid_t pid, pid_t tid, const char *name, char *buf, size_t size)
{
	const char *sep = name ? "/" : "";

	name = name ? name : "";
	if (!pid)
		snprintf(buf, size, "/proc/self/ns%s%s", sep, name);
	else if (tid)
		snprintf(buf, size, "/proc/%d/task/%d/ns%s%s", pid, tid, sep, name);
	else
		snprintf(buf, size, "/proc/%d/ns%s%s", pid, sep, name);
}

int ns_ids_read(pid_t pid, struct ns_ids *ids)
{
	return ns_ids_read_thread(pid, 0, ids);
}

/* The inode in the text of link @name of @dir, "TYPE:[INODE]": reading
 * the link costs the kernel less than following it, as stat() would. */
static int read_ino(int dir, const char *name, const char *type, uint64_t *ino)
{
	char text[64], *end;
	size_t len = strlen(type);
	ssize_t n = readlinkat(dir, name, text, sizeof(text) - 1);

	if (n < 0)
		return -errno;
	text[n] = '\0';
	if ((size_t)n < len + 4 || strncmp(text, type, len) || strncmp(text + len, ":[", 2))
		return -EIO;
	errno = 0;
	*ino = strtoull(text + len + 2, &end, 10);
	if (errno || end == text + len + 2 || strcmp(end, "]") || !*ino)
		return -EIO;
	return 0;
}

int ns_ids_read_thread(pid_t pid, pid_t tid, struct ns_ids *ids)
{
	struct ns_ids read = { .ino = { 0 } };
	_cleanup_close_ int dir = -1;
	char path[64];
	int ret;

	/* One lookup of the task's directory, not one per link. */
	ns_path(pid, tid, NULL, path, sizeof(path));
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	for (int k = 0; k < NS_NR_KINDS; k++) {
		/* A *_for_children link says its kind's own name. ENOENT: a
		 * kind this kernel lacks, or a zombie's namespace. */
		ret = read_ino(dir, ns_kind_name(k),
			       kinds[k].children_of ? kinds[k].children_of : ns_kind_name(k),
			       &read.ino[k]);
		if (ret && ret != -ENOENT)
			return ret;
	}
	/* A live task (it has a mount namespace) always shows the pid
	 * namespace of its children, unless that one has no init yet. */
	read.pid_for_children_unborn = read.ino[NS_MNT] && !read.ino[NS_PID_FOR_CHILDREN];
	*ids = read;
	return 0;
}

int ns_check_dumpable(pid_t pid, pid_t tid, const struct ns_ids *ids,
		      const struct ns_ids *want)
{
	char who[48];

	if (tid)
		snprintf(who, sizeof(who), "pid %d thread %d", pid, tid);
	else
		snprintf(who, sizeof(who), "pid %d", pid);
	if (ids->pid_for_children_unborn) {
		pr_err("dump: %s: makes its children in its own pid namespace, which has no "
		       "process yet (after unshare(CLONE_NEWPID)): PID namespaces are not "
		       "supported yet", who);
		return -EOPNOTSUPP;
	}
	for (int k = 0; k < NS_NR_KINDS; k++) {
		unsigned long long ino = ids->ino[k];

		if (!ino || !want->ino[k] || ino == want->ino[k])
			continue;
		if (kinds[k].root_own && !kinds[k].unshare)
			pr_err("dump: %s: in its own %s namespace (%s:[%llu]), not the root's "
			       "(%s:[%llu]): every process of a tree must share the root's %s "
			       "namespace", who, ns_kind_name(k), ns_kind_name(k), ino,
			       ns_kind_name(k), (unsigned long long)want->ino[k], kinds[k].what);
		else if (kinds[k].unshare)
			pr_err("dump: %s: makes its children in its own %s namespace "
			       "(%s:[%llu], after unshare(%s)): %s namespaces are not supported "
			       "yet", who, kinds[k].children_of, ns_kind_name(k), ino,
			       kinds[k].unshare, kinds[k].what);
		else
			pr_err("dump: %s: in its own %s namespace (%s:[%llu]): %s namespaces "
			       "are not supported yet", who, ns_kind_name(k), ns_kind_name(k), ino,
			       kinds[k].what);
		return -EOPNOTSUPP;
	}
	return 0;
}

int ns_dump_enter(pid_t root, enum ns_kind kind, int nstype, struct ns_ids *ids, char *who,
		  size_t size, int *back)
{
	bool same;
	int ret = ns_same_as_cryo(root, kind, "dump", &same);

	*back = -1;
	if (ret || same)
		return ret;
	ret = ns_ids_read(root, ids);
	if (ret)
		return pr_errno_ret("dump: pid %d: cannot read its namespaces", root);
	snprintf(who, size, "pid %d's %s namespace (%s:[%llu])", root, kinds[kind].what,
		 ns_kind_name(kind), (unsigned long long)ids->ino[kind]);
	ret = ns_enter(root, ns_kind_name(kind), nstype, back);
	if (ret)
		pr_err("dump: %s: cannot enter it: %s", who, strerror(-ret));
	return ret ? ret : 1;
}

int ns_dump_leave(int back, enum ns_kind kind, int nstype)
{
	int ret = ns_leave(back, nstype);

	if (ret)
		pr_err("dump: cannot go back to cryo's own %s namespace: %s", kinds[kind].what,
		       strerror(-ret));
	return ret;
}

int ns_same_as_cryo(pid_t pid, enum ns_kind kind, const char *who, bool *same)
{
	char theirs_path[64], ours_path[64];
	struct stat theirs, ours;

	ns_path(pid, 0, ns_kind_name(kind), theirs_path, sizeof(theirs_path));
	ns_path(0, 0, ns_kind_name(kind), ours_path, sizeof(ours_path));
	if (stat(theirs_path, &theirs) || stat(ours_path, &ours))
		return pr_errno_ret("%s: pid %d: cannot compare its %s namespace with cryo's", who,
				    pid, ns_kind_name(kind));
	*same = theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
	return 0;
}
