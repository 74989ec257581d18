/* A tree's own cgroup namespace: its root on each hierarchy is found at
 * dump from the root process's cgroups as cryo sees them and as it sees
 * them itself (cryo steps into its cgroup namespace to read them), and
 * made again at restore by a child that joins those cgroups and unshares
 * (inside the tree's user namespace when that owns it); a root is reached
 * as the tree's cgroups are (cgroup_mounts_lookup(): a hierarchy's root
 * mount, a bind of a cgroup below it, or cryo's own mount of one mounted
 * nowhere). Not the tree's cgroups themselves: restore/cgroups.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/cgroup1.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/user_ns.pb-c.h"
#include "ns/cgroup_ns.h"
#include "ns/user.h"

struct ns_cgroup_set {
	struct image *img;
	int back;	/* cryo's own cgroup namespace while it is in the tree's */
};

/* The root process's lines as it sees them: cryo enters its cgroup
 * namespace for the read, and comes back. */
static int read_inside(pid_t pid, struct cgroup_line *lines, size_t *nr)
{
	_cleanup_close_ int mine = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int theirs = -1;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", pid);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (mine < 0 || theirs < 0)
		return pr_errno_ret("dump: pid %d: cannot open its cgroup namespace", pid);
	if (setns(theirs, CLONE_NEWCGROUP))
		return pr_errno_ret("dump: pid %d: cannot enter its cgroup namespace", pid);
	ret = cgroup_lines_read(pid, 0, lines, nr);
	if (setns(mine, CLONE_NEWCGROUP))
		return pr_errno_ret("dump: cannot go back to cryo's cgroup namespace");
	if (ret)
		pr_err("dump: pid %d: cannot read its cgroups: %s", pid, strerror(-ret));
	return ret;
}

/* The namespace's root on one hierarchy: @out less its tail @in, which is
 * "/" at the root itself. */
static int root_of(pid_t pid, const struct cgroup_line *out, const struct cgroup_line *in,
		   char *root, size_t size)
{
	size_t lo = strlen(out->path), li = strlen(in->path);

	if (!strcmp(in->path, "/")) {
		snprintf(root, size, "%s", out->path);
		return 0;
	}
	if (!strncmp(in->path, "/..", 3) || li > lo || strcmp(out->path + lo - li, in->path)) {
		pr_err("dump: pid %d: its cgroup on hierarchy %u is %s as it sees it, %s as cryo "
		       "does: outside its cgroup namespace's root, which cannot be found", pid,
		       out->hierarchy, in->path, out->path);
		return -EOPNOTSUPP;
	}
	snprintf(root, size, "%.*s", (int)(lo - li), out->path);
	if (!root[0])
		snprintf(root, size, "/");
	return 0;
}

int ns_cgroup_dump(pid_t pid, const struct ns_ids *ids, struct image_dir *dir)
{
	struct cgroup_line *out = NULL, *in = NULL;
	CgroupNsRoot roots[CGROUP_HIERARCHIES_MAX], *ptrs[CGROUP_HIERARCHIES_MAX];
	char paths[CGROUP_HIERARCHIES_MAX][PATH_MAX];
	CgroupNs msg = CGROUP_NS__INIT;
	size_t nr_out = 0, nr_in = 0;
	struct ns_ids cryos;
	int ret = ns_ids_read(0, &cryos);

	if (ret || !ids->ino[NS_CGROUP] || ids->ino[NS_CGROUP] == cryos.ino[NS_CGROUP])
		return ret;
	out = calloc(CGROUP_HIERARCHIES_MAX, sizeof(*out));
	in = calloc(CGROUP_HIERARCHIES_MAX, sizeof(*in));
	/* Both views read together, not taken from the dump's one read of
	 * the tree's cgroups (task/cgroup_seen.c): a hierarchy made between
	 * two reads (a named one mounted for the first time) would be in
	 * one and not the other. */
	ret = out && in ? cgroup_lines_read(pid, 0, out, &nr_out) : -ENOMEM;
	if (ret)
		pr_err("dump: pid %d: cannot read its cgroups: %s", pid, strerror(-ret));
	if (!ret)
		ret = read_inside(pid, in, &nr_in);
	if (!ret && nr_in != nr_out) {
		pr_err("dump: pid %d: %zu cgroup hierarchies as it sees them, %zu as cryo does",
		       pid, nr_in, nr_out);
		ret = -EIO;
	}
	for (size_t i = 0; !ret && i < nr_out; i++) {
		ret = root_of(pid, &out[i], &in[i], paths[i], sizeof(paths[i]));
		cgroup_ns_root__init(&roots[i]);
		roots[i].hierarchy = out[i].hierarchy;
		roots[i].controllers = out[i].controllers;
		roots[i].path = paths[i];
		ptrs[i] = &roots[i];
	}
	msg.n_roots = nr_out;
	msg.roots = ptrs;
	if (!ret)
		ret = image_write_single(dir, IMG_CGROUPNS, 0, &msg.base);
	if (!ret)
		pr_info("dump: pid %d: its own cgroup namespace, rooted at %s on the unified "
			"hierarchy (%zu hierarchies)", pid, nr_out ? paths[nr_out - 1] : "?", nr_out);
	free(out);
	free(in);
	return ret;
}

int ns_cgroup_load(const struct image_dir *dir, struct ns_cgroup_set **out)
{
	struct ns_cgroup_set *set;
	int ret;

	*out = NULL;
	if (faccessat(dir->fd, "cgroupns.img", F_OK, 0) && errno == ENOENT)
		return 0;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->back = -1;
	ret = image_read(dir, IMG_CGROUPNS, 0, &set->img);
	if (ret) {
		free(set);
		return ret;
	}
	*out = set;
	return 0;
}

void ns_cgroup_free(struct ns_cgroup_set *set)
{
	if (!set)
		return;
	ns_cgroup_leave(set);
	image_free(set->img);
	free(set);
}

/* A v1 hierarchy mounted once and no longer lives on while processes are
 * in it (every process is in its root, and none can be moved); a
 * namespace rooted at its root needs nothing there when no mount reaches
 * that root (none, or only binds of cgroups below it). */
static bool at_v1_root(const CgroupNsRoot *r)
{
	return r->controllers[0] && !strcmp(r->path, "/");
}

/* The folder of each root cgroup, found before the child is made: the
 * mounts of its hierarchy (a bind of a cgroup below its root, a
 * container's, or cryo's own mount when none) and its place through them. */
struct root_dir {
	struct cgroup_mounts mounts;
	char dir[2 * PATH_MAX];	/* "": none needed (at_v1_root()) */
};

static int find_root_dir(const CgroupNsRoot *r, const char *yard, struct root_dir *d)
{
	const char *hierarchy = r->hierarchy ? r->controllers : "";
	char roots[1024];
	/* cryo's own mount only for a root below the hierarchy's: one that
	 * others unmount (to end it) is not kept alive for nothing. */
	int ret = cgroup_mounts_lookup(hierarchy, yard, !at_v1_root(r), &d->mounts);
	bool mounted = !ret;

	if (mounted)
		ret = cgroup_mounts_reach(&d->mounts, r->path, d->dir, sizeof(d->dir));
	if (ret == -ENOENT && at_v1_root(r)) {
		d->dir[0] = '\0';
		return 0;
	}
	if (ret >= 0)
		return 0;
	if (!mounted) {
		pr_err("restore: the tree's cgroup namespace has its root on hierarchy %u (%s), "
		       "which is not mounted here%s%s", r->hierarchy,
		       hierarchy[0] ? hierarchy : "unified",
		       ret == -ENOENT ? "" : ", and cryo cannot mount it: ",
		       ret == -ENOENT ? "" : strerror(-ret));
		return ret;
	}
	cgroup_mounts_say_roots(&d->mounts, roots, sizeof(roots));
	pr_err("restore: the tree's cgroup namespace has its root at %s on hierarchy %u (%s), "
	       "which no mount here reaches (mounted: %s)", r->path, r->hierarchy,
	       hierarchy[0] ? hierarchy : "unified", roots);
	return ret;
}

static void free_root_dirs(struct root_dir *dirs, size_t nr)
{
	for (size_t i = 0; dirs && i < nr; i++)
		cgroup_mounts_free(&dirs[i].mounts);
	free(dirs);
}

struct join_arg {
	const struct root_dir *dirs;
	size_t nr;
	int userns;
};

/* In the child: into each root cgroup, then its own namespace there. */
static int join_and_unshare(const struct join_arg *a)
{
	char path[sizeof(a->dirs->dir) + 16], pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	for (size_t i = 0; i < a->nr; i++) {
		_cleanup_close_ int fd = -1;

		if (!a->dirs[i].dir[0])
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.procs", a->dirs[i].dir);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid))
			return -errno;
	}
	if (a->userns >= 0 && setns(a->userns, CLONE_NEWUSER))
		return -errno;
	return unshare(CLONE_NEWCGROUP) ? -errno : 0;
}

/* Names the root cgroups that are missing, for the refusal. */
static void say_missing(const struct join_arg *a)
{
	for (size_t i = 0; i < a->nr; i++)
		if (a->dirs[i].dir[0] && access(a->dirs[i].dir, F_OK))
			pr_err("restore: the tree's cgroup namespace has its root at %s, which does "
			       "not exist (--manage-cgroups makes the tree's cgroups)",
			       a->dirs[i].dir);
}

/* A child joins the roots and unshares; cryo enters its namespace. */
static int enter_made(const struct join_arg *a)
{
	char path[64], byte = 0;
	int sync[2], ret = 0, status = 0, fd;
	pid_t child;

	if (pipe2(sync, O_CLOEXEC))
		return pr_errno_ret("restore: cannot make a pipe for the cgroup namespace");
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sync[0]);
		ret = join_and_unshare(a);
		if (ret)
			_exit(-ret & 0xff);
		if (write(sync[1], &byte, 1) != 1)
			_exit(EIO);
		/* Until cryo has entered its namespace. */
		pause();
		_exit(0);
	}
	close(sync[1]);
	if (child < 0 || read(sync[0], &byte, 1) != 1)
		ret = -EIO;
	close(sync[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", child);
	fd = ret ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!ret && (fd < 0 || setns(fd, CLONE_NEWCGROUP)))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	if (ret && WIFEXITED(status) && WEXITSTATUS(status))
		ret = -WEXITSTATUS(status);
	return ret;
}

int ns_cgroup_make(struct ns_cgroup_set *set, const struct ns_user_set *userns,
		   const char *yard)
{
	const CgroupNs *ns;
	struct join_arg a;
	struct root_dir *dirs;
	int ret = 0;

	if (!set)
		return 0;
	ns = (const CgroupNs *)set->img->records[0].msg;
	dirs = calloc(ns->n_roots ? ns->n_roots : 1, sizeof(*dirs));
	if (!dirs)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < ns->n_roots; i++)
		ret = find_root_dir(ns->roots[i], yard, &dirs[i]);
	a = (struct join_arg){ dirs, ns->n_roots,
			       userns && (userns->owned_kinds & CLONE_NEWCGROUP) ?
				       ns_user_fd(userns) : -1 };
	if (!ret) {
		set->back = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
		if (set->back < 0)
			ret = pr_errno_ret("restore: cannot open cryo's own cgroup namespace");
	}
	if (!ret) {
		ret = enter_made(&a);
		if (ret) {
			say_missing(&a);
			pr_err("restore: cannot make the tree's cgroup namespace: %s",
			       strerror(-ret));
		}
	}
	free_root_dirs(dirs, ns->n_roots);
	if (!ret)
		pr_info("restore: the tree's cgroup namespace is made (%zu hierarchies)",
			ns->n_roots);
	return ret;
}

void ns_cgroup_leave(struct ns_cgroup_set *set)
{
	if (!set || set->back < 0)
		return;
	if (setns(set->back, CLONE_NEWCGROUP))
		pr_warn("restore: cannot go back to cryo's own cgroup namespace: %s",
			strerror(errno));
	close(set->back);
	set->back = -1;
}
