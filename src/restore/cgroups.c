/* --manage-cgroups at restore, for cgroup v2: each restored process goes
 * back into the cgroup it was in (TaskCore.cgroup), moved by cryo through
 * cgroup.procs before it runs (a thread in a threaded cgroup of its own,
 * ThreadCore.cgroup, then through cgroup.threads), and the tree's own cgroups get their saved
 * settings (cgroups.img, written by cgroup_props.c) by criu's modes:
 * "none": all must exist, no setting is written; "props": all must exist,
 * settings are written; "soft": missing ones are made and set, existing
 * ones left alone; "full": missing ones made, all set; "strict" (criu's):
 * every one made anew with its settings, and one that exists already fails
 * the restore. What restore made or changed is undone if it fails. Without the option, or with "ignore", processes stay in
 * cryo's cgroup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cgroup2.h"
#include "common/log.h"
#include "restore/cgroup_props.h"
#include "restore/restore.h"

#define CGROUPS_CREATED_MAX 256

struct restore_cgroups {
	char mnt[PATH_MAX];
	char *created[CGROUPS_CREATED_MAX];	/* in the order made */
	size_t nr_created;
	struct cgroup_undo *undo;	/* settings changed in existing cgroups */
	/* --cgroup-root: the root process's cgroup @from, and those below
	 * it, go below @to instead; @to NULL: where they were. */
	char from[PATH_MAX];
	const char *to;
};

/* Where cgroup @path goes at restore (into @buf, or @path itself); NULL
 * for one outside the moved subtree, when there is one. */
static const char *placed(const struct restore_cgroups *cg, const char *path, char *buf,
			  size_t size)
{
	size_t len = strcmp(cg->from, "/") ? strlen(cg->from) : 0;

	if (!cg->to)
		return path;
	if (strncmp(path, cg->from, len) || (path[len] && path[len] != '/'))
		return NULL;
	snprintf(buf, size, "%s%s", strcmp(cg->to, "/") || !path[len] ? cg->to : "", path + len);
	return buf;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* Makes @path (under the mount) and its missing parents, noting each. */
static int make_cgroup(struct restore_cgroups *cg, pid_t pid, const char *cgroup)
{
	char path[2 * PATH_MAX];
	size_t base = strlen(cg->mnt);

	snprintf(path, sizeof(path), "%s%s", cg->mnt, cgroup);
	/* Each prefix ending at a '/' after the mount point's, then the whole. */
	for (char *slash = strchr(path + base + 1, '/');; slash = strchr(slash + 1, '/')) {
		char saved = slash ? *slash : '\0';

		if (slash)
			*slash = '\0';
		if (!is_dir(path) && strlen(path) > base) {
			if (mkdir(path, 0755) || cg->nr_created == CGROUPS_CREATED_MAX) {
				int ret = errno ? -errno : -E2BIG;

				pr_err("restore: cannot make the cgroup %s (for %s %d): %s", path,
				       pid ? "pid" : "the tree's cgroups, pid", pid, strerror(-ret));
				return ret;
			}
			cg->created[cg->nr_created] = strdup(path);
			if (!cg->created[cg->nr_created])
				return -ENOMEM;
			cg->nr_created++;
			pr_info("restore: pid %d: made cgroup %s", pid, path);
		}
		if (!slash)
			break;
		*slash = saved;
	}
	return 0;
}

/* Whether a missing cgroup is an error in @mode, said if so. */
static int refuse_missing(const char *mode, pid_t pid, const char *cgroup)
{
	if (strcmp(mode, "none") && strcmp(mode, "props"))
		return 0;
	if (pid)
		pr_err("restore: pid %d: its cgroup %s does not exist (--manage-cgroups=%s "
		       "needs it)", pid, cgroup, mode);
	else
		pr_err("restore: cgroup %s does not exist (--manage-cgroups=%s needs it)",
		       cgroup, mode);
	return -ENOENT;
}

/* The saved settings of the tree's own cgroups, by @mode; parents come
 * before their children in cgroups.img. */
static int restore_settings(struct restore_cgroups *cg, const struct image *img,
			    const char *mode)
{
	int ret = 0;

	/* "none" writes no setting: only the processes' cgroups count. */
	if (!strcmp(mode, "none"))
		return 0;
	for (size_t i = 0; !ret && img && i < img->nr_records; i++) {
		const CgroupEntry *e = (const CgroupEntry *)img->records[i].msg;
		char path[2 * PATH_MAX], buf[PATH_MAX];
		const char *where = placed(cg, e->path, buf, sizeof(buf));
		bool made = false;

		/* Above the root process's, with --cgroup-root: not the tree's. */
		if (!where)
			continue;
		snprintf(path, sizeof(path), "%s%s", cg->mnt, where);
		if (!is_dir(path)) {
			ret = refuse_missing(mode, 0, where);
			if (!ret)
				ret = make_cgroup(cg, 0, where);
			made = true;
		} else if (!strcmp(mode, "strict")) {
			pr_err("restore: cgroup %s exists already (--manage-cgroups=strict makes "
			       "each of the tree's own cgroups anew)", where);
			ret = -EEXIST;
		}
		if (ret || (!made && !strcmp(mode, "soft")))
			continue;
		ret = cgroup_props_write(path, e, made ? NULL : &cg->undo);
	}
	return ret;
}

/* Makes saved cgroup @cgroup of process @pid where it goes, when missing
 * and the mode allows. */
static int ensure_cgroup(struct restore_cgroups *cg, const char *mode, pid_t pid,
			 const char *cgroup)
{
	char path[2 * PATH_MAX], buf[PATH_MAX];
	const char *where = placed(cg, cgroup, buf, sizeof(buf));
	int ret;

	where = where ? where : cgroup;
	snprintf(path, sizeof(path), "%s%s", cg->mnt, where);
	if (is_dir(path))
		return 0;
	ret = refuse_missing(mode, pid, where);
	return ret ? ret : make_cgroup(cg, pid, where);
}

int restore_cgroups_prepare(struct restore_set *rs, const char *mode, const char *root)
{
	struct restore_cgroups *cg;
	int ret;

	if (!mode || !strcmp(mode, "ignore"))
		return 0;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	rs->cgroups = cg;
	if (cgroup2_mount(cg->mnt, sizeof(cg->mnt))) {
		pr_err("restore: --manage-cgroups=%s: no cgroup v2 hierarchy is mounted", mode);
		return -ENOENT;
	}
	if (root) {
		const TaskCore *core = rs->tree.nr ? rs->tasks[0].core : NULL;

		if (!core || !core->cgroup) {
			pr_err("restore: --cgroup-root %s: the dump saved no cgroup v2 of the root "
			       "process", root);
			return -ENOENT;
		}
		snprintf(cg->from, sizeof(cg->from), "%s", core->cgroup);
		cg->to = root;
	}
	ret = restore_settings(cg, rs->cgroup_img, mode);
	/* Then the cgroups without saved settings (not the tree's own), of
	 * processes and of threads in threaded cgroups of their own. */
	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		const TaskCore *core = rs->tasks[i].core;

		if (rs->tree.tasks[i].state != TREE_ALIVE || !core || !core->cgroup)
			continue;
		ret = ensure_cgroup(cg, mode, core->pid, core->cgroup);
		for (size_t t = 0; !ret && t < core->n_threads; t++)
			if (core->threads[t]->cgroup)
				ret = ensure_cgroup(cg, mode, core->pid, core->threads[t]->cgroup);
	}
	return ret;
}

/* The tid cryo sees of thread @tid of @rt: itself, unless the tree has a
 * pid namespace of its own, where the last NSpid of a thread's status says
 * which it is. */
static pid_t host_tid(const struct restore_task *rt, pid_t tid)
{
	char dir_path[64], status[128], line[256];
	pid_t found = -ESRCH;
	struct dirent *e;
	DIR *dir;

	if (rt->host_pid == rt->pid)
		return tid;
	snprintf(dir_path, sizeof(dir_path), "/proc/%d/task", rt->host_pid);
	dir = opendir(dir_path);
	while (dir && found < 0 && (e = readdir(dir))) {
		FILE *f;

		snprintf(status, sizeof(status), "%s/%.16s/status", dir_path, e->d_name);
		f = fopen(status, "re");
		while (f && fgets(line, sizeof(line), f)) {
			char *last;

			if (strncmp(line, "NSpid:", 6))
				continue;
			last = strrchr(line, '\t');
			if (last && atoi(last + 1) == tid)
				found = (pid_t)atoi(e->d_name);
		}
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

/* Moves thread @t, which the process's move took along, into its own
 * threaded cgroup (cgroup.threads). */
static int join_thread(const struct restore_cgroups *cg, const struct restore_task *rt,
		       const ThreadCore *t)
{
	char path[2 * PATH_MAX + 16], buf[PATH_MAX], tid[16];
	const char *where = placed(cg, t->cgroup, buf, sizeof(buf));
	pid_t host = host_tid(rt, t->tid);
	int fd, len, ret = 0;

	where = where ? where : t->cgroup;
	if (host < 0) {
		pr_err("restore: pid %d thread %d: not found to move into its cgroup %s", rt->pid,
		       t->tid, where);
		return host;
	}
	snprintf(path, sizeof(path), "%s%s/cgroup.threads", cg->mnt, where);
	len = snprintf(tid, sizeof(tid), "%d", host);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, tid, (size_t)len) != len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("restore: pid %d thread %d: cannot go back into its threaded cgroup %s: %s",
		       rt->pid, t->tid, where, strerror(-ret));
	return ret;
}

int restore_cgroup_join(const struct restore_set *rs, const struct restore_task *rt)
{
	const struct restore_cgroups *cg = rs->cgroups;
	char path[2 * PATH_MAX + 16], buf[PATH_MAX], pid[16];
	const char *where;
	int fd, len, ret = 0;

	if (!cg || !rt->core->cgroup)
		return 0;
	where = placed(cg, rt->core->cgroup, buf, sizeof(buf));
	where = where ? where : rt->core->cgroup;
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", cg->mnt, where);
	len = snprintf(pid, sizeof(pid), "%d", rt->host_pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)len) != len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("restore: pid %d: cannot go back into its cgroup %s: %s", rt->pid,
		       where, strerror(-ret));
	for (size_t t = 0; !ret && t < rt->core->n_threads; t++)
		if (rt->core->threads[t]->cgroup)
			ret = join_thread(cg, rt, rt->core->threads[t]);
	return ret;
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
	free(cg);
	rs->cgroups = NULL;
}
