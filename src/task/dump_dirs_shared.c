/* A removed cwd or root that is not the process's alone: another process
 * of the dump holds it by an fd, or has it as its cwd or root, or another
 * thread of the process with fs info of its own does. Such a directory is
 * saved as a file object (TaskCore.cwd_file, root_file; ThreadFs the
 * same), which restore makes once for all, so that they stay one
 * directory; one only the process itself holds stays a ghost of its own
 * (or its fd's, dump_dirs.c). The object is the files part's to make. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "task/internal.h"
#include "task/task.h"

static bool same_dir(const char *link, const struct stat *st)
{
	struct stat o;

	return !stat(link, &o) && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

/* Whether the cwd or root of @task ("/proc/PID/task/TID") is @st. */
static bool fs_has_dir(const char *task, const struct stat *st)
{
	char link[96];

	snprintf(link, sizeof(link), "%s/cwd", task);
	if (same_dir(link, st))
		return true;
	snprintf(link, sizeof(link), "%s/root", task);
	return same_dir(link, st);
}

/* Whether another process @pid holds @st: by an fd, or as the cwd or root
 * of one of its threads. */
static bool process_has_dir(pid_t pid, const struct stat *st)
{
	char proc[64];
	struct dirent *e;
	bool found;
	DIR *dir;

	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	if (task_fd_of_dir(proc, st) >= 0)
		return true;
	snprintf(proc, sizeof(proc), "/proc/%d/task", pid);
	dir = opendir(proc);
	if (!dir)
		return false;
	found = false;
	while (!found && (e = readdir(dir))) {
		char task[96];

		if (e->d_name[0] == '.')
			continue;
		snprintf(task, sizeof(task), "/proc/%d/task/%.16s", pid, e->d_name);
		found = fs_has_dir(task, st);
	}
	closedir(dir);
	return found;
}

/* Whether the fs info of @core's process other than @self's (0: the
 * process's own, else that thread's) holds @st: the process's, or a
 * thread's of its own. */
static bool own_other_fs_has_dir(const TaskCore *core, pid_t self, const struct stat *st)
{
	char task[64];

	snprintf(task, sizeof(task), "/proc/%d/task/%d", core->pid, core->pid);
	if (self && fs_has_dir(task, st))
		return true;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];

		if (!t->fs || t->fs->has_shared_with || t->tid == self)
			continue;
		snprintf(task, sizeof(task), "/proc/%d/task/%d", core->pid, t->tid);
		if (fs_has_dir(task, st))
			return true;
	}
	return false;
}

static bool shared(const TaskCore *core, pid_t self, const struct stat *st,
		   const struct task_dir_objects *objs)
{
	if (own_other_fs_has_dir(core, self, st))
		return true;
	for (size_t i = 0; i < objs->nr_pids; i++)
		if (objs->pids[i] != core->pid && process_has_dir(objs->pids[i], st))
			return true;
	return false;
}

/* The removed @what ("cwd", "root") of @who, through @task: a file object
 * in *@id (and *@has) when shared. */
static int one_dir(const TaskCore *core, pid_t self, const char *who, const char *task,
		   const char *what, const struct task_dir_objects *objs, protobuf_c_boolean *has,
		   uint32_t *id)
{
	char link[96];
	struct stat st;

	snprintf(link, sizeof(link), "%s/%s", task, what);
	if (stat(link, &st))
		return pr_errno_ret("dump: %s %s: cannot stat %s", who, what, link);
	if (!shared(core, self, &st, objs))
		return 0;
	pr_info("dump: %s %s: a removed directory that another process or thread holds "
		"too: saved as one file object", who, what);
	*has = true;
	return objs->make(objs->arg, who, what, link, id);
}

int task_dump_shared_dirs(TaskCore *core, const struct task_dir_objects *objs)
{
	char who[48], task[64];
	int ret = 0;

	snprintf(who, sizeof(who), "pid %d", core->pid);
	snprintf(task, sizeof(task), "/proc/%d", core->pid);
	if (core->cwd_ghost && !core->has_cwd_fd)
		ret = one_dir(core, 0, who, task, "cwd", objs, &core->has_cwd_file,
			      &core->cwd_file);
	if (!ret && core->root_ghost && !core->has_root_fd)
		ret = one_dir(core, 0, who, task, "root", objs, &core->has_root_file,
			      &core->root_file);
	for (size_t i = 0; !ret && i < core->n_threads; i++) {
		ThreadFs *fs = core->threads[i]->fs;
		pid_t tid = core->threads[i]->tid;

		if (!fs || fs->has_shared_with)
			continue;
		snprintf(who, sizeof(who), "pid %d thread %d", core->pid, tid);
		snprintf(task, sizeof(task), "/proc/%d/task/%d", core->pid, tid);
		if (fs->cwd_ghost && !fs->has_cwd_fd)
			ret = one_dir(core, tid, who, task, "cwd", objs, &fs->has_cwd_file,
				      &fs->cwd_file);
		if (!ret && fs->root_ghost && !fs->has_root_fd)
			ret = one_dir(core, tid, who, task, "root", objs, &fs->has_root_file,
				      &fs->root_file);
	}
	return ret;
}
