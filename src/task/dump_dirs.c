/* Dump of a task's cwd and root (and those of a thread that unshared its
 * fs info) as paths from the dumping process's root: the path
 * /proc/PID/{cwd,root} shows when it leads there, else the path another
 * mount of its filesystem gives (the mount it was entered through was
 * detached, or is another namespace's), and for a removed directory (a
 * ghost, made again at restore) its old name under the path of the first
 * folder above it that was not removed. What no path reaches is refused,
 * saying why. Restore is restore.c's and restore/thread_dirs.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/kcmp.h>
#include <sys/syscall.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/time_units.h"
#include "files/fhandle.h"
#include "task/internal.h"
#include "task/task.h"

#define DELETED_SUFFIX " (deleted)"

/* The flags of a mount that change what a process may do in it. */
#define MOUNT_FLAGS (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME)

struct dir_link {
	const char *who;	/* "pid 12" or "pid 12 thread 14", for messages */
	const char *proc;	/* /proc/PID or /proc/PID/task/TID */
	const char *name;	/* "cwd" or "root" */
	/* PROC/NAME, or a folder above it: PROC/NAME/.. (/.. again for each
	 * removed folder) */
	char link[64 + 3 * (TASK_MAX_REMOVED_FOLDERS + 1)];
	struct stat st;		/* the directory itself, through link */
};

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether the mount @link is on is one of the dumping process's: if not,
 * it was detached (umount -l) or belongs to another mount namespace. */
static bool mount_is_ours(const char *link)
{
	_cleanup_free_ char *mount_point = NULL;
	struct statx stx;

	if (statx(AT_FDCWD, link, 0, STATX_MNT_ID, &stx) || !(stx.stx_mask & STATX_MNT_ID))
		return true;
	return !mount_id_path(0, (int)stx.stx_mnt_id, &mount_point);
}

/* The directory's path through another mount of its filesystem that the
 * dumping process has (its file handle opened there). */
static int path_through_another_mount(const struct dir_link *d, char **out)
{
	_cleanup_free_ struct file_handle *fh = malloc(sizeof(*fh) + FHANDLE_BYTES_MAX);
	unsigned int sdev = major(d->st.st_dev) << 20 | minor(d->st.st_dev);
	int mnt_id;

	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = FHANDLE_BYTES_MAX;
	if (name_to_handle_at(AT_FDCWD, d->link, fh, &mnt_id, AT_SYMLINK_FOLLOW))
		return -errno;
	return fhandle_path(0, d->st.st_ino, sdev, fh, out);
}

/* A directory its shown path no longer leads to: its path through another
 * mount, if that mount has the flags the task's had; else refused. */
static int find_elsewhere(const struct dir_link *d, const char *shown, char **out)
{
	_cleanup_free_ char *path = NULL;
	struct statvfs was, now;
	int ret = path_through_another_mount(d, &path);

	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		const char *why = mount_is_ours(d->link) ?
					  "it is hidden under a mount on top of it" :
					  "it is on a mount detached (umount -l) or of another "
					  "mount namespace";

		pr_err("dump: %s %s: directory \"%s\" cannot be reached by its path: %s, and "
		       "no mount of its filesystem (device %u:%u) here reaches it: not supported",
		       d->who, d->name, shown, why, major(d->st.st_dev), minor(d->st.st_dev));
		return -EOPNOTSUPP;
	}
	if (statvfs(d->link, &was) || statvfs(path, &now))
		return pr_errno_ret("dump: %s %s: cannot read the mount flags of \"%s\"",
				    d->who, d->name, path);
	if ((was.f_flag ^ now.f_flag) & MOUNT_FLAGS) {
		pr_err("dump: %s %s: directory \"%s\" is reached only through \"%s\", on a "
		       "mount with flags %#lx where the task's mount had %#lx: not supported",
		       d->who, d->name, shown, path, now.f_flag & MOUNT_FLAGS,
		       was.f_flag & MOUNT_FLAGS);
		return -EOPNOTSUPP;
	}
	pr_info("dump: %s %s: directory \"%s\" is on a mount no longer here: saved as \"%s\", "
		"through another mount of its filesystem", d->who, d->name, shown, path);
	*out = path;
	path = NULL;
	return 0;
}

/* The path of a live directory, checked to lead to it. */
static int find_dir(const struct dir_link *d, const char *shown, char **out)
{
	struct stat by_path;

	if (shown[0] == '/' && !stat(shown, &by_path) && same_inode(&by_path, &d->st)) {
		*out = strdup(shown);
		return *out ? 0 : -ENOMEM;
	}
	return find_elsewhere(d, shown, out);
}

static GhostDir *ghost_of(const struct stat *st)
{
	GhostDir *g = malloc(sizeof(*g));

	if (!g)
		return NULL;
	ghost_dir__init(g);
	g->mode = st->st_mode & 07777;
	g->uid = st->st_uid;
	g->gid = st->st_gid;
	g->has_atime_ns = g->has_mtime_ns = true;
	g->atime_ns = (uint64_t)st->st_atim.tv_sec * NSEC_PER_SEC + (uint64_t)st->st_atim.tv_nsec;
	g->mtime_ns = (uint64_t)st->st_mtim.tv_sec * NSEC_PER_SEC + (uint64_t)st->st_mtim.tv_nsec;
	return g;
}

void task_ghost_dir_free(GhostDir *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_removed_folders; i++)
		free(g->removed_folders[i]);
	free(g->removed_folders);
	free(g);
}

/* Cuts the last component off @path ("/a/b" becomes "/a", "/a" becomes
 * ""); false when there is none to cut. */
static bool cut_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return false;
	*slash = '\0';
	return true;
}

/* A removed directory: its old name under the path of the first folder
 * above it that was not removed (found as any live directory's), and its
 * metadata and that of each removed folder between, for restore to make
 * them again as ghosts. */
static int find_ghost(struct dir_link *d, char *shown, char **out, GhostDir **ghost)
{
	size_t len = strlen(shown), slen = strlen(DELETED_SUFFIX);
	_cleanup_free_ char *parent_path = NULL, *tail = NULL;
	struct dir_link parent = *d;
	struct stat below = d->st;
	GhostDir *g;
	int ret;

	if (len <= slen || strcmp(shown + len - slen, DELETED_SUFFIX) || shown[0] != '/') {
		pr_err("dump: %s %s: removed directory \"%s\" has no path to make it again at",
		       d->who, d->name, shown);
		return -EOPNOTSUPP;
	}
	shown[len - slen] = '\0';
	tail = strdup(shown);
	g = ghost_of(&d->st);
	if (!tail || !g) {
		free(g);
		return -ENOMEM;
	}
	/* ".." of a removed directory is still the folder it was in, removed
	 * or not. */
	snprintf(parent.link, sizeof(parent.link), "%s/%s", d->proc, d->name);
	for (;;) {
		GhostDir *folder;

		strcat(parent.link, "/..");
		if (stat(parent.link, &parent.st)) {
			ret = pr_errno_ret("dump: %s %s: cannot stat the folder of the removed "
					   "directory \"%s\"", d->who, d->name, tail);
			goto err;
		}
		if (same_inode(&parent.st, &below)) {
			ret = -EOPNOTSUPP;
			pr_err("dump: %s %s: removed directory \"%s\" was the root of a detached "
			       "mount, or in one: no path to make it again at", d->who, d->name,
			       tail);
			goto err;
		}
		if (!cut_last(shown)) {
			ret = -EOPNOTSUPP;
			pr_err("dump: %s %s: removed directory \"%s\" has no folder to make it "
			       "again in", d->who, d->name, tail);
			goto err;
		}
		if (parent.st.st_nlink)
			break;
		if (g->n_removed_folders == TASK_MAX_REMOVED_FOLDERS) {
			ret = -EOPNOTSUPP;
			pr_err("dump: %s %s: removed directory \"%s\" was in more than %d folders "
			       "removed too: not supported", d->who, d->name, tail,
			       TASK_MAX_REMOVED_FOLDERS);
			goto err;
		}
		folder = ghost_of(&parent.st);
		if (!folder || task_push(g->removed_folders, g->n_removed_folders, folder)) {
			free(folder);
			ret = -ENOMEM;
			goto err;
		}
		below = parent.st;
	}
	ret = find_dir(&parent, shown[0] ? shown : "/", &parent_path);
	if (ret)
		goto err;
	/* The removed part of the shown path goes under the live folder's. */
	if (asprintf(out, "%s%s", strcmp(parent_path, "/") ? parent_path : "",
		     tail + strlen(shown)) < 0) {
		ret = -ENOMEM;
		goto err;
	}
	*ghost = g;
	return 0;
err:
	task_ghost_dir_free(g);
	return ret;
}

/* cwd or root (@d->name) as a path in *@out; a removed directory is a
 * ghost (*@ghost). */
static int dump_dir(struct dir_link *d, char **out, GhostDir **ghost)
{
	char shown[PATH_MAX];
	ssize_t n;

	snprintf(d->link, sizeof(d->link), "%s/%s", d->proc, d->name);
	n = readlink(d->link, shown, sizeof(shown) - 1);
	if (n < 0)
		return pr_errno_ret("dump: %s %s: cannot read %s", d->who, d->name, d->link);
	shown[n] = '\0';
	if (stat(d->link, &d->st))
		return pr_errno_ret("dump: %s %s: cannot stat %s", d->who, d->name, d->link);
	/* A removed directory has no links left, "." included. */
	if (S_ISDIR(d->st.st_mode) && d->st.st_nlink == 0)
		return find_ghost(d, shown, out, ghost);
	return find_dir(d, shown, out);
}

/* The cwd and root of a process, or of a thread with fs info of its own:
 * as paths, or ghosts; *@cwd_is_root when the cwd is the removed root
 * itself (chroot, then chdir("/")), one ghost then. */
static int dump_fs_dirs(const char *who, const char *proc, char **cwd, GhostDir **cwd_ghost,
			char **root, GhostDir **root_ghost, bool *cwd_is_root)
{
	struct dir_link c = { .who = who, .proc = proc, .name = "cwd" };
	struct dir_link r = { .who = who, .proc = proc, .name = "root" };
	int ret = dump_dir(&c, cwd, cwd_ghost);

	if (!ret)
		ret = dump_dir(&r, root, root_ghost);
	if (!ret && *root_ghost && same_inode(&c.st, &r.st)) {
		task_ghost_dir_free(*cwd_ghost);
		*cwd_ghost = NULL;
		*cwd_is_root = true;
	}
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
	int ret;

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
			   &cwd_is_root);
	if (!ret && cwd_is_root)
		fs->has_cwd_is_root = fs->cwd_is_root = true;
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
	int ret;

	snprintf(who, sizeof(who), "pid %d", pid);
	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	ret = dump_fs_dirs(who, proc, &core->cwd, &core->cwd_ghost, &core->root, &core->root_ghost,
			   &cwd_is_root);
	if (!ret && cwd_is_root)
		core->has_cwd_is_root = core->cwd_is_root = true;
	if (!ret)
		ret = dump_threads_fs(task, core);
	return ret;
}
