/* Dump of a task's cwd and root as paths from the dumping process's root:
 * the path /proc/PID/{cwd,root} shows when it leads there, else the path
 * another mount of its filesystem gives (the mount it was entered through
 * was detached, or is another namespace's), and for a removed directory
 * (a ghost, made again at restore) its old name under its parent's path.
 * What no path reaches is refused, saying why, and so is a thread's own
 * cwd or root. Restore is restore.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "files/fhandle.h"
#include "task/internal.h"

#define DELETED_SUFFIX " (deleted)"

/* The flags of a mount that change what a process may do in it. */
#define MOUNT_FLAGS (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME)

struct dir_link {
	pid_t pid;
	const char *name;	/* "cwd" or "root", for messages */
	char link[64];		/* /proc/PID/NAME, or its folder's /proc/PID/NAME/.. */
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

		pr_err("dump: pid %d %s: directory \"%s\" cannot be reached by its path: %s, and "
		       "no mount of its filesystem (device %u:%u) here reaches it: not supported",
		       d->pid, d->name, shown, why, major(d->st.st_dev), minor(d->st.st_dev));
		return -EOPNOTSUPP;
	}
	if (statvfs(d->link, &was) || statvfs(path, &now))
		return pr_errno_ret("dump: pid %d %s: cannot read the mount flags of \"%s\"",
				    d->pid, d->name, path);
	if ((was.f_flag ^ now.f_flag) & MOUNT_FLAGS) {
		pr_err("dump: pid %d %s: directory \"%s\" is reached only through \"%s\", on a "
		       "mount with flags %#lx where the task's mount had %#lx: not supported",
		       d->pid, d->name, shown, path, now.f_flag & MOUNT_FLAGS,
		       was.f_flag & MOUNT_FLAGS);
		return -EOPNOTSUPP;
	}
	pr_info("dump: pid %d %s: directory \"%s\" is on a mount no longer here: saved as \"%s\", "
		"through another mount of its filesystem", d->pid, d->name, shown, path);
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

/* A removed directory: its old name under its parent's path (found as
 * any live directory's), and its mode and owner, for restore to make it
 * again as a ghost. */
static int find_ghost(const struct dir_link *d, char *shown, char **out, GhostDir **ghost)
{
	size_t len = strlen(shown), slen = strlen(DELETED_SUFFIX);
	_cleanup_free_ char *parent_path = NULL;
	struct dir_link parent = *d;
	char *base;
	int ret;

	if (len <= slen || strcmp(shown + len - slen, DELETED_SUFFIX) || shown[0] != '/') {
		pr_err("dump: pid %d %s: removed directory \"%s\" has no path to make it again at",
		       d->pid, d->name, shown);
		return -EOPNOTSUPP;
	}
	shown[len - slen] = '\0';
	/* ".." of a removed directory is still the folder it was in. */
	snprintf(parent.link, sizeof(parent.link), "/proc/%d/%s/..", d->pid, d->name);
	if (stat(parent.link, &parent.st))
		return pr_errno_ret("dump: pid %d %s: cannot stat the folder of the removed "
				    "directory \"%s\"", d->pid, d->name, shown);
	if (same_inode(&parent.st, &d->st) || parent.st.st_nlink == 0) {
		pr_err("dump: pid %d %s: removed directory \"%s\" %s: no path to make it again at",
		       d->pid, d->name, shown,
		       same_inode(&parent.st, &d->st) ? "was the root of a detached mount" :
							"was in a folder removed too");
		return -EOPNOTSUPP;
	}
	base = strrchr(shown, '/');
	*base++ = '\0';
	ret = find_dir(&parent, shown[0] ? shown : "/", &parent_path);
	if (ret)
		return ret;
	*ghost = malloc(sizeof(**ghost));
	if (!*ghost || asprintf(out, "%s/%s", strcmp(parent_path, "/") ? parent_path : "",
				base) < 0) {
		free(*ghost);
		*ghost = NULL;
		return -ENOMEM;
	}
	ghost_dir__init(*ghost);
	(*ghost)->mode = d->st.st_mode & 07777;
	(*ghost)->uid = d->st.st_uid;
	(*ghost)->gid = d->st.st_gid;
	return 0;
}

/* cwd or root (@d->name) as a path in *@out; a removed directory is a
 * ghost (*@ghost). */
static int dump_dir(struct dir_link *d, char **out, GhostDir **ghost)
{
	char shown[PATH_MAX];
	ssize_t n;

	snprintf(d->link, sizeof(d->link), "/proc/%d/%s", d->pid, d->name);
	n = readlink(d->link, shown, sizeof(shown) - 1);
	if (n < 0)
		return pr_errno_ret("dump: pid %d %s: cannot read %s", d->pid, d->name, d->link);
	shown[n] = '\0';
	if (stat(d->link, &d->st))
		return pr_errno_ret("dump: pid %d %s: cannot stat %s", d->pid, d->name, d->link);
	/* A removed directory has no links left, "." included. */
	if (S_ISDIR(d->st.st_mode) && d->st.st_nlink == 0)
		return find_ghost(d, shown, out, ghost);
	return find_dir(d, shown, out);
}

/* A thread that did unshare(CLONE_FS) may have a cwd or root of its own:
 * restore makes every thread share its process's. */
static int check_thread_dirs(struct inj_task *task, const struct dir_link *process)
{
	for (int i = 0; i < inj_thread_count(task); i++) {
		pid_t tid = inj_thread_tid(task, i);
		char link[64];
		struct stat st;

		if (tid == process->pid)
			continue;
		snprintf(link, sizeof(link), "/proc/%d/task/%d/%s", process->pid, tid,
			 process->name);
		if (stat(link, &st))
			return pr_errno_ret("dump: pid %d thread %d: cannot stat %s", process->pid,
					    tid, link);
		if (!same_inode(&st, &process->st)) {
			pr_err("dump: pid %d thread %d: a %s of its own (it unshared its fs info, "
			       "unshare(CLONE_FS)): not supported", process->pid, tid, process->name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int dump_dirs(struct inj_task *task, TaskCore *core)
{
	pid_t pid = inj_task_pid(task);
	struct dir_link cwd = { .pid = pid, .name = "cwd" }, root = { .pid = pid, .name = "root" };
	int ret = dump_dir(&cwd, &core->cwd, &core->cwd_ghost);

	if (!ret)
		ret = dump_dir(&root, &core->root, &core->root_ghost);
	if (!ret)
		ret = check_thread_dirs(task, &cwd);
	if (!ret)
		ret = check_thread_dirs(task, &root);
	/* chroot(dir) then chdir("/"): one removed directory, made once. */
	if (!ret && core->root_ghost && same_inode(&cwd.st, &root.st)) {
		free(core->cwd_ghost);
		core->cwd_ghost = NULL;
		core->has_cwd_is_root = core->cwd_is_root = true;
	}
	return ret;
}
