/* --manage-cgroups at restore: each restored process goes back into the
 * cgroups it was in, moved by cryo before it runs (cg_move()), and the
 * tree's own cgroups get their saved settings (written by cgroup_props.c)
 * by criu's modes: "none": all must exist, no setting is written;
 * "props": all must exist, settings are written; "soft": missing ones are
 * made and set, existing ones left alone; "full": missing ones made, all
 * set; "strict" (criu's): every one made anew with its settings, and one
 * that exists already fails the restore. What restore made or changed is
 * undone if it fails. Without the option, or with "ignore", processes stay
 * in cryo's cgroups. This file: those steps for any hierarchy, and the
 * unified one (TaskCore.cgroup, a thread's in a threaded cgroup of its own
 * ThreadCore.cgroup, cgroups.img); the v1 ones are cgroups_v1.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/options.h"
#include "common/log.h"
#include "common/procfs.h"
#include "restore/cgroup_props.h"
#include "restore/cgroups.h"

/* " in cgroup v1 hierarchy X" for a v1 hierarchy's messages, as two
 * "%s" arguments; nothing for the unified one. */
#define IN_HIERARCHY(h) (h)->controllers[0] ? " in cgroup v1 hierarchy " : "", (h)->controllers

/* Where cgroup @path goes at restore (into @buf, or @path itself); NULL
 * for one outside the moved subtree, when there is one. */
static const char *placed(const struct cg_hierarchy *h, const char *path, char *buf,
			  size_t size)
{
	size_t len = strcmp(h->from, "/") ? strlen(h->from) : 0;

	if (!h->to)
		return path;
	if (strncmp(path, h->from, len) || (path[len] && path[len] != '/'))
		return NULL;
	snprintf(buf, size, "%s%s", strcmp(h->to, "/") || !path[len] ? h->to : "", path + len);
	return buf;
}

const char *cg_placed(const struct cg_hierarchy *h, const char *path, char *buf, size_t size)
{
	const char *where = placed(h, path, buf, size);

	return where ? where : path;
}

/* Whether --cgroup-root @r names a controller of hierarchy @controllers
 * (criu's: "" names the unified one). */
static bool root_names(const struct cgroup_root_opt *r, const char *controllers)
{
	if (!controllers[0] || !r->controller[0])
		return !controllers[0] && !r->controller[0];
	return cgroup_controllers_meet(r->controller, controllers);
}

int cg_pick_root(struct cg_hierarchy *h, const struct cgroup_root_opt *roots, size_t nr_roots,
		 const char *root_cgroup)
{
	const char *named = NULL, *any = NULL;

	for (size_t i = 0; i < nr_roots; i++) {
		const struct cgroup_root_opt *r = &roots[i];

		if (r->any) {
			any = r->path;
			continue;
		}
		if (!root_names(r, h->controllers))
			continue;
		if (named && strcmp(named, r->path)) {
			pr_err("restore: --cgroup-root: two roots, %s and %s, for one "
			       "hierarchy (%s)", named, r->path,
			       h->controllers[0] ? h->controllers : "cgroup v2");
			return -EINVAL;
		}
		named = r->path;
	}
	h->to = named ? named : any;
	if (!h->to)
		return 0;
	if (!root_cgroup) {
		pr_err("restore: --cgroup-root %s: the dump saved no cgroup of the root "
		       "process%s%s", h->to, IN_HIERARCHY(h));
		return -ENOENT;
	}
	snprintf(h->from, sizeof(h->from), "%s", root_cgroup);
	pr_info("restore: cgroup %s%s%s and those below it go to %s", h->from, IN_HIERARCHY(h),
		h->to);
	return 0;
}

int cg_find_mounts(const struct restore_cgroups *cg, struct cg_hierarchy *h)
{
	char name[256];
	int ret = cgroup_mounts_lookup(h->controllers, cg->yard, true, &h->mounts);

	if (!ret && cg->yard)
		pr_info("restore: --cgroup-yard: %s%s at %s (root %s)",
			h->controllers[0] ? "cgroup v1 hierarchy " : "cgroup v2", h->controllers,
			h->mounts.m[0].point, h->mounts.m[0].root);
	else if (!ret && h->mounts.m[0].owns_root_fd)
		pr_info("restore: cgroup v1 hierarchy %s is mounted nowhere: reached through a "
			"mount of cryo's own, attached nowhere", h->controllers);
	if (!ret)
		return 0;
	cgroup_yard_name(h->controllers, name, sizeof(name));
	if (cg->yard)
		pr_err("restore: --cgroup-yard %s: %s/%s is not a mount of %s%s (cryo mounts "
		       "nothing into a yard: mount it there)", cg->yard, cg->yard, name,
		       h->controllers[0] ? "cgroup v1 hierarchy " : "cgroup v2", h->controllers);
	else if (ret == -ENOENT && h->controllers[0])
		pr_err("restore: the tree was in cgroup v1 hierarchy %s, which does not exist here "
		       "(--manage-cgroups=%s needs it; =ignore leaves cgroups alone)",
		       h->controllers, cg->mode);
	else if (h->controllers[0])
		pr_err("restore: the tree was in cgroup v1 hierarchy %s, which is mounted nowhere "
		       "here, and cryo cannot mount it: %s", h->controllers, strerror(-ret));
	else
		pr_err("restore: --manage-cgroups=%s: no cgroup v2 hierarchy is mounted", cg->mode);
	return ret;
}

/* The folder of cgroup @where (where it goes) of @h: the length of the
 * mount point it is reached through; -ENOENT (said) when none reaches it. */
static int cg_dir(const struct cg_hierarchy *h, const char *where, char *dir, size_t size)
{
	char roots[1024];
	int ret = cgroup_mounts_reach(&h->mounts, where, dir, size);

	if (ret != -ENOENT)
		return ret;
	cgroup_mounts_say_roots(&h->mounts, roots, sizeof(roots));
	pr_err("restore: cgroup %s%s%s: no mount of it here reaches it (mounted: %s)", where,
	       IN_HIERARCHY(h), roots);
	return ret;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* Makes cgroup @path (its full path) and notes it. A new cpuset v1
 * cgroup has neither CPUs nor memory nodes, and no process could join
 * it: it takes its parent's, until its saved ones are written. */
static int make_one(struct restore_cgroups *cg, const char *path, bool cpuset)
{
	int ret;

	if (cg->nr_created == CGROUPS_CREATED_MAX)
		return -E2BIG;
	if (mkdir(path, 0755))
		return -errno;
	cg->created[cg->nr_created] = strdup(path);
	if (!cg->created[cg->nr_created]) {
		rmdir(path);
		return -ENOMEM;
	}
	cg->nr_created++;
	if (!cpuset)
		return 0;
	ret = cgroup_props_inherit(path, "cpuset.cpus");
	return ret ? ret : cgroup_props_inherit(path, "cpuset.mems");
}

/* Makes @cgroup (under the mount that reaches it) and its missing parents. */
static int make_cgroup(struct restore_cgroups *cg, const struct cg_hierarchy *h, pid_t pid,
		       const char *cgroup)
{
	bool cpuset = cgroup_controllers_meet("cpuset", h->controllers);
	char path[2 * PATH_MAX];
	int base = cg_dir(h, cgroup, path, sizeof(path));

	/* The mount's own folder is there. */
	if (base < 0 || !path[base])
		return base < 0 ? base : 0;
	/* Each prefix ending at a '/' after the mount point's, then the whole. */
	for (char *slash = strchr(path + base + 1, '/');; slash = strchr(slash + 1, '/')) {
		char saved = slash ? *slash : '\0';

		if (slash)
			*slash = '\0';
		if (!is_dir(path) && strlen(path) > (size_t)base) {
			int ret = make_one(cg, path, cpuset);

			if (ret) {
				pr_err("restore: cannot make the cgroup %s%s%s (for %s %d): %s",
				       path, IN_HIERARCHY(h),
				       pid ? "pid" : "the tree's cgroups, pid", pid, strerror(-ret));
				return ret;
			}
			pr_info("restore: pid %d: made cgroup %s", pid, path);
		}
		if (!slash)
			break;
		*slash = saved;
	}
	return 0;
}

/* Whether a missing cgroup is an error in @mode, said if so. */
static int refuse_missing(const char *mode, const struct cg_hierarchy *h, pid_t pid,
			  const char *cgroup)
{
	if (strcmp(mode, "none") && strcmp(mode, "props"))
		return 0;
	if (pid)
		pr_err("restore: pid %d: its cgroup %s%s%s does not exist (--manage-cgroups=%s "
		       "needs it)", pid, cgroup, IN_HIERARCHY(h), mode);
	else
		pr_err("restore: cgroup %s%s%s does not exist (--manage-cgroups=%s needs it)",
		       cgroup, IN_HIERARCHY(h), mode);
	return -ENOENT;
}

int cg_settle(struct restore_cgroups *cg, const struct cg_hierarchy *h, const CgroupEntry *e)
{
	char path[2 * PATH_MAX], buf[PATH_MAX];
	const char *where = placed(h, e->path, buf, sizeof(buf));
	bool made = false;
	int ret = 0;

	/* "none" writes no setting: only the processes' cgroups count; above
	 * the root process's, with --cgroup-root: not the tree's. */
	if (!strcmp(cg->mode, "none") || !where)
		return 0;
	ret = cg_dir(h, where, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = 0;
	if (!is_dir(path)) {
		ret = refuse_missing(cg->mode, h, 0, where);
		if (!ret)
			ret = make_cgroup(cg, h, 0, where);
		made = true;
	} else if (!strcmp(cg->mode, "strict")) {
		pr_err("restore: cgroup %s%s%s exists already (--manage-cgroups=strict makes "
		       "each of the tree's own cgroups anew)", where, IN_HIERARCHY(h));
		ret = -EEXIST;
	}
	if (ret || (!made && !strcmp(cg->mode, "soft")))
		return ret;
	return cgroup_props_write(path, e, made ? NULL : &cg->undo);
}

int cg_ensure(struct restore_cgroups *cg, const struct cg_hierarchy *h, pid_t pid,
	      const char *cgroup)
{
	char path[2 * PATH_MAX], buf[PATH_MAX];
	const char *where = cg_placed(h, cgroup, buf, sizeof(buf));
	int ret = cg_dir(h, where, path, sizeof(path));

	if (ret < 0)
		return ret;
	if (is_dir(path))
		return 0;
	ret = refuse_missing(cg->mode, h, pid, where);
	return ret ? ret : make_cgroup(cg, h, pid, where);
}

/* The unified hierarchy, when the dump saved cgroups there: the saved
 * settings of the tree's own cgroups (parents first in cgroups.img),
 * then the cgroups of processes and of threads in threaded ones. */
static int prepare_v2(struct restore_cgroups *cg, const struct restore_set *rs,
		      const struct cgroup_root_opt *roots, size_t nr_roots)
{
	const TaskCore *root = rs->tree.nr ? rs->tasks[0].core : NULL;
	struct cg_hierarchy *h = &cg->v2;
	bool saved = rs->cgroup_img != NULL;
	int ret;

	for (size_t i = 0; i < rs->tree.nr; i++)
		saved |= rs->tasks[i].core && rs->tasks[i].core->cgroup;
	if (!saved)
		return 0;
	h->controllers = "";
	if (cg_find_mounts(cg, h))
		return -ENOENT;
	cg->has_v2 = true;
	ret = cg_pick_root(h, roots, nr_roots, root ? root->cgroup : NULL);
	for (size_t i = 0; !ret && rs->cgroup_img && i < rs->cgroup_img->nr_records; i++)
		ret = cg_settle(cg, h, (const CgroupEntry *)rs->cgroup_img->records[i].msg);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const TaskCore *core = rs->tasks[i].core;

		if (rs->tree.tasks[i].state != TREE_ALIVE || !core || !core->cgroup)
			continue;
		ret = cg_ensure(cg, h, core->pid, core->cgroup);
		for (size_t t = 0; !ret && t < core->n_threads; t++)
			if (core->threads[t]->cgroup)
				ret = cg_ensure(cg, h, core->pid, core->threads[t]->cgroup);
	}
	return ret;
}

/* A --cgroup-root that meets no saved hierarchy (one naming a controller
 * none has, or any with none saved) changes nothing, as in criu (runc
 * names every hierarchy it put cryo in): said. */
static void say_unused_roots(const struct restore_cgroups *cg,
			     const struct cgroup_root_opt *roots, size_t nr_roots)
{
	for (size_t i = 0; i < nr_roots; i++) {
		bool used = roots[i].any ? cg->has_v2 || cg->nr_v1 :
					   cg->has_v2 && root_names(&roots[i], "");

		for (size_t j = 0; !used && j < cg->nr_v1; j++)
			used = root_names(&roots[i], cg->v1[j].controllers);
		if (!used)
			pr_warn("restore: --cgroup-root %s%s%s: the dump saved no cgroup of %s: "
				"not used", roots[i].controller, roots[i].any ? "" : ":",
				roots[i].path, roots[i].any ? "the tree" : "that controller");
	}
}

int restore_cgroups_prepare(struct restore_set *rs, const char *mode,
			    const struct cgroup_root_opt *roots, size_t nr_roots, const char *yard)
{
	struct restore_cgroups *cg;
	int ret;

	if (!mode || !strcmp(mode, "ignore"))
		return 0;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	rs->cgroups = cg;
	cg->mode = mode;
	cg->yard = yard;
	ret = prepare_v2(cg, rs, roots, nr_roots);
	if (!ret)
		ret = cgroups_v1_prepare(cg, rs, roots, nr_roots);
	if (!ret)
		say_unused_roots(cg, roots, nr_roots);
	return ret;
}

struct host_tid_arg {
	pid_t pid, tid;	/* the process as cryo sees it; the thread as the tree does */
};

/* @host when the last NSpid of its status is the tid looked for. */
static int host_tid_match(pid_t host, void *arg)
{
	const struct host_tid_arg *a = arg;
	char status[96], line[256];
	FILE *f;
	int found = 0;

	snprintf(status, sizeof(status), "/proc/%d/task/%d/status", a->pid, host);
	f = fopen(status, "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *last = strrchr(line, '\t');

		if (!strncmp(line, "NSpid:", 6) && last && atoi(last + 1) == a->tid)
			found = host;
	}
	if (f)
		fclose(f);
	return found;
}

pid_t cg_host_tid(const struct restore_task *rt, pid_t tid)
{
	struct host_tid_arg a = { .pid = rt->host_pid, .tid = tid };
	int found;

	/* Itself, unless the tree has a pid namespace of its own, where the
	 * last NSpid of a thread's status says which it is. */
	if (rt->host_pid == rt->pid)
		return tid;
	found = proc_each_thread(rt->host_pid, host_tid_match, &a);
	return found > 0 ? found : -ESRCH;
}

int cg_move(const struct cg_hierarchy *h, const char *cgroup, const char *file, pid_t id,
	    pid_t pid, pid_t tid)
{
	char path[2 * PATH_MAX + 32], buf[PATH_MAX], text[16];
	const char *where = cg_placed(h, cgroup, buf, sizeof(buf));
	int fd, len, ret = 0;

	if (id < 0) {
		pr_err("restore: pid %d thread %d: not found to move into its cgroup %s%s%s", pid,
		       tid, where, IN_HIERARCHY(h));
		return id;
	}
	ret = cg_dir(h, where, path, sizeof(path) - 32);
	if (ret < 0)
		return ret;
	ret = 0;
	snprintf(path + strlen(path), 32, "/%s", file);
	len = snprintf(text, sizeof(text), "%d", id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)len) != len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret && tid)
		pr_err("restore: pid %d thread %d: cannot go back into its cgroup %s%s%s: %s", pid,
		       tid, where, IN_HIERARCHY(h), strerror(-ret));
	else if (ret)
		pr_err("restore: pid %d: cannot go back into its cgroup %s%s%s: %s", pid, where,
		       IN_HIERARCHY(h), strerror(-ret));
	return ret;
}

int restore_cgroup_join(const struct restore_set *rs, const struct restore_task *rt)
{
	const struct restore_cgroups *cg = rs->cgroups;
	const TaskCore *core = rt->core;
	int ret = 0;

	if (!cg)
		return 0;
	if (cg->has_v2 && core->cgroup)
		ret = cg_move(&cg->v2, core->cgroup, "cgroup.procs", rt->host_pid, rt->pid, 0);
	/* A thread the process's move took along, into its threaded cgroup. */
	for (size_t t = 0; !ret && cg->has_v2 && t < core->n_threads; t++)
		if (core->threads[t]->cgroup)
			ret = cg_move(&cg->v2, core->threads[t]->cgroup, "cgroup.threads",
				      cg_host_tid(rt, core->threads[t]->tid), rt->pid,
				      core->threads[t]->tid);
	return ret ? ret : cgroups_v1_join(cg, rt);
}

void restore_cgroups_end(struct restore_set *rs, bool failed)
{
	struct restore_cgroups *cg = rs->cgroups;

	if (!cg)
		return;
	for (size_t i = cg->nr_created; i-- > 0;) {
		if (failed && rmdir(cg->created[i]))
			pr_warn("restore: cannot remove the cgroup %s it made: %s",
				cg->created[i], strerror(errno));
		free(cg->created[i]);
	}
	cgroup_props_undo(cg->undo, failed);
	cgroup_mounts_free(&cg->v2.mounts);
	for (size_t i = 0; i < cg->nr_v1; i++)
		cgroup_mounts_free(&cg->v1[i].mounts);
	free(cg);
	rs->cgroups = NULL;
}
