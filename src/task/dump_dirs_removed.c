/* A removed cwd or root that no fd of the process holds (one that does is
 * that fd's directory, dump_dirs.c) is saved as a file object
 * (TaskCore.cwd_file, root_file; ThreadFs the same): one object per
 * directory, which every process or thread that stands in it and every fd
 * of it share, those of other processes and those in flight in a socket's
 * queue alike, so that restore makes the directory once and all enter the
 * same one. The object is the files part's to make. */
#include <stdio.h>

#include "common/log.h"
#include "task/task.h"

/* The removed @what ("cwd", "root") of @who, through @task: a file object
 * in *@id (and *@has). */
static int one_dir(const char *who, const char *task, const char *what,
		   const struct task_dir_objects *objs, protobuf_c_boolean *has, uint32_t *id)
{
	char link[96];

	snprintf(link, sizeof(link), "%s/%s", task, what);
	pr_debug("dump: %s %s: a removed directory: saved as a file object", who, what);
	*has = true;
	return objs->make(objs->arg, who, what, link, id);
}

int task_dump_removed_dirs(TaskCore *core, const struct task_dir_objects *objs)
{
	char who[48], task[64];
	int ret = 0;

	snprintf(who, sizeof(who), "pid %d", core->pid);
	snprintf(task, sizeof(task), "/proc/%d", core->pid);
	if (core->cwd_ghost && !core->has_cwd_fd)
		ret = one_dir(who, task, "cwd", objs, &core->has_cwd_file, &core->cwd_file);
	if (!ret && core->root_ghost && !core->has_root_fd)
		ret = one_dir(who, task, "root", objs, &core->has_root_file, &core->root_file);
	for (size_t i = 0; !ret && i < core->n_threads; i++) {
		ThreadFs *fs = core->threads[i]->fs;
		pid_t tid = core->threads[i]->tid;

		if (!fs || fs->has_shared_with)
			continue;
		snprintf(who, sizeof(who), "pid %d thread %d", core->pid, tid);
		snprintf(task, sizeof(task), "/proc/%d/task/%d", core->pid, tid);
		if (fs->cwd_ghost && !fs->has_cwd_fd)
			ret = one_dir(who, task, "cwd", objs, &fs->has_cwd_file, &fs->cwd_file);
		if (!ret && fs->root_ghost && !fs->has_root_fd)
			ret = one_dir(who, task, "root", objs, &fs->has_root_file, &fs->root_file);
	}
	return ret;
}
