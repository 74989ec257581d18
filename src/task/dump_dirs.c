/* Dump of a task's cwd and root (and those of a thread that unshared its
 * fs info) as paths from the dumping process's root (files/dir_path.c: a
 * removed one is a ghost, made again at restore), and the umask of a
 * thread with fs info of its own. A removed cwd that one of the task's
 * fds holds too is named by that fd, so that restore gives both one
 * directory (one no fd of its own holds is a file object: dump_dirs_removed.c).
 * Restore is restore.c's and restore/child.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/kcmp.h>
#include <sys/syscall.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "files/ghost_dir.h"
#include "task/internal.h"
#include "task/task.h"

int task_fd_of_dir(const char *proc, const struct stat *st)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int found = -1;

	snprintf(path, sizeof(path), "%s/fd", proc);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct statx stx;

		/* Cached attributes only: a file of a FUSE server of the
		 * frozen tree must not be asked. */
		if (*end || end == e->d_name ||
		    statx(dirfd(dir), e->d_name, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &stx))
			continue;
		if (S_ISDIR(stx.stx_mode) && stx.stx_ino == st->st_ino &&
		    makedev(stx.stx_dev_major, stx.stx_dev_minor) == st->st_dev &&
		    (found < 0 || fd < found))
			found = (int)fd;
	}
	closedir(dir);
	return found;
}

/* cwd or root @name of @who, through @proc, as a path in *@out; a removed
 * directory is a ghost (*@ghost). Its stat in *@st. */
static int dump_dir(const char *who, const char *proc, const char *name, char **out,
		    GhostDir **ghost, struct stat *st)
{
	char link[64];
	struct dir_link d = { .who = who, .name = name, .proc_link = link };
	int ret;

	snprintf(link, sizeof(link), "%s/%s", proc, name);
	ret = dir_path_dump(&d, out, ghost);
	*st = d.st;
	return ret;
}

/* The cwd and root of a process, or of a thread with fs info of its own:
 * as paths, or ghosts; *@cwd_is_root when the cwd is the removed root
 * itself (chroot, then chdir("/")), one ghost then. A removed cwd or root
 * that an fd of @proc holds: that fd (the lowest) in *@cwd_fd, *@root_fd,
 * else -1, so restore makes one directory of them. */
static int dump_fs_dirs(const char *who, const char *proc, char **cwd, GhostDir **cwd_ghost,
			char **root, GhostDir **root_ghost, bool *cwd_is_root, int *cwd_fd,
			int *root_fd)
{
	struct stat c, r;
	int ret = dump_dir(who, proc, "cwd", cwd, cwd_ghost, &c);

	if (!ret)
		ret = dump_dir(who, proc, "root", root, root_ghost, &r);
	if (!ret && *root_ghost && c.st_dev == r.st_dev && c.st_ino == r.st_ino) {
		ghost_dir_free(*cwd_ghost);
		*cwd_ghost = NULL;
		*cwd_is_root = true;
	}
	*cwd_fd = !ret && *cwd_ghost ? task_fd_of_dir(proc, &c) : -1;
	*root_fd = !ret && *root_ghost ? task_fd_of_dir(proc, &r) : -1;
	return ret;
}

static int fs_cmp(pid_t a, pid_t b)
{
	long r = syscall(SYS_kcmp, a, b, KCMP_FS, 0, 0);

	return r < 0 ? -errno : (int)r;
}

/* The umask of thread @tid (its fs info's). */
static int thread_umask(pid_t pid, pid_t tid, uint32_t *umask_out)
{
	_cleanup_free_ char *status = NULL;
	char name[48];
	const char *umask_text;
	unsigned int value;
	int ret;

	snprintf(name, sizeof(name), "task/%d/status", tid);
	ret = proc_read(pid, name, &status);
	if (ret)
		return ret;
	umask_text = status_field(status, "Umask");
	if (!umask_text || sscanf(umask_text, "%o", &value) != 1 || value & ~0777u) {
		pr_err("dump: pid %d thread %d: no umask in /proc/%d/task/%d/status", pid, tid,
		       pid, tid);
		return -EIO;
	}
	*umask_out = value;
	return 0;
}

/* Thread @tid's own fs info: the tid of an earlier thread it shares it
 * with, or its cwd, root and umask. */
static int dump_thread_fs(TaskCore *core, pid_t tid, ThreadFs *fs)
{
	char who[48], proc[48];
	bool cwd_is_root = false;
	int ret, cwd_fd, root_fd;

	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadFs *other = core->threads[i]->fs;

		if (!other || other->has_shared_with || core->threads[i]->tid == tid)
			continue;
		ret = fs_cmp(core->threads[i]->tid, tid);
		if (ret < 0)
			return pr_errno_ret("dump: pid %d thread %d: cannot compare its fs info "
					    "(kcmp)", core->pid, tid);
		if (ret == 0) {
			fs->has_shared_with = true;
			fs->shared_with = core->threads[i]->tid;
			return 0;
		}
	}
	snprintf(who, sizeof(who), "pid %d thread %d", core->pid, tid);
	snprintf(proc, sizeof(proc), "/proc/%d/task/%d", core->pid, tid);
	ret = dump_fs_dirs(who, proc, &fs->cwd, &fs->cwd_ghost, &fs->root, &fs->root_ghost,
			   &cwd_is_root, &cwd_fd, &root_fd);
	if (!ret && cwd_is_root)
		fs->has_cwd_is_root = fs->cwd_is_root = true;
	if (cwd_fd >= 0) {
		fs->has_cwd_fd = true;
		fs->cwd_fd = (uint32_t)cwd_fd;
	}
	if (root_fd >= 0) {
		fs->has_root_fd = true;
		fs->root_fd = (uint32_t)root_fd;
	}
	if (!ret)
		ret = thread_umask(core->pid, tid, &fs->umask);
	fs->has_umask = !ret;
	return ret;
}

/* A thread that did unshare(CLONE_FS) has a cwd, root and umask of its
 * own, which no later chdir of its process changes: saved in its
 * ThreadCore. */
static int dump_threads_fs(struct inj_task *task, TaskCore *core)
{
	for (int i = 0; i < inj_thread_count(task); i++) {
		pid_t tid = inj_thread_tid(task, i);
		ThreadCore *thread;
		int ret;

		if (tid == core->pid)
			continue;
		ret = fs_cmp(core->pid, tid);
		if (ret < 0)
			return pr_errno_ret("dump: pid %d thread %d: cannot compare its fs info "
					    "(kcmp)", core->pid, tid);
		if (ret == 0)
			continue;
		thread = task_thread_get(core, tid);
		if (!thread || !(thread->fs = malloc(sizeof(*thread->fs))))
			return -ENOMEM;
		thread_fs__init(thread->fs);
		ret = dump_thread_fs(core, tid, thread->fs);
		if (ret)
			return ret;
	}
	return 0;
}

int dump_dirs(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	char who[24], proc[24];
	bool cwd_is_root = false;
	int ret, cwd_fd, root_fd;

	snprintf(who, sizeof(who), "pid %d", pid);
	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	ret = dump_fs_dirs(who, proc, &core->cwd, &core->cwd_ghost, &core->root, &core->root_ghost,
			   &cwd_is_root, &cwd_fd, &root_fd);
	if (!ret && cwd_is_root)
		core->has_cwd_is_root = core->cwd_is_root = true;
	if (cwd_fd >= 0) {
		core->has_cwd_fd = true;
		core->cwd_fd = (uint32_t)cwd_fd;
	}
	if (root_fd >= 0) {
		core->has_root_fd = true;
		core->root_fd = (uint32_t)root_fd;
	}
	if (!ret)
		ret = dump_threads_fs(task, core);
	return ret;
}
