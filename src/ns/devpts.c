/* A devpts instance of a clone's own: made by cryo as a detached mount
 * (so that the ptys cryo makes before the tree land in it), then attached
 * on /dev/pts, with /dev/ptmx bound to its ptmx, by the clone's init in
 * its new mount namespace; and where a pty's instance is mounted at dump.
 * Which ptys are made where is files/pty_make.c's; the rest of a mount
 * tree is not this file's. */
#include <errno.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ns/ns.h"

/* The options of cryo's /dev/pts (the instance the tree's ptys were in,
 * when it is the same host) that a new one takes: new ptys' owner group
 * and mode, and the most it holds. Not ptmxmode: see ns_devpts_make(). */
static int copy_callers_options(int fs)
{
	static const char *const kept[] = { "uid", "gid", "mode", "max" };
	struct libmnt_table *table = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *pts = table ? mnt_table_find_target(table, "/dev/pts",
							      MNT_ITER_BACKWARD) : NULL;
	const char *opts = pts ? mnt_fs_get_fs_options(pts) : NULL;
	int ret = 0;

	for (size_t i = 0; !ret && opts && i < sizeof(kept) / sizeof(kept[0]); i++) {
		char *value = NULL, *copy;
		size_t len = 0;

		if (mnt_optstr_get_option(opts, kept[i], &value, &len) || !value)
			continue;
		copy = strndup(value, len);
		if (!copy || fsconfig(fs, FSCONFIG_SET_STRING, kept[i], copy, 0))
			ret = copy ? pr_errno_ret("restore: --clone: cannot give a devpts instance "
						  "%s=%s (cryo's /dev/pts has it)", kept[i], copy) :
				     -ENOMEM;
		free(copy);
	}
	if (table)
		mnt_unref_table(table);
	return ret;
}

int ns_devpts_make(void)
{
	_cleanup_close_ int fs = fsopen("devpts", FSOPEN_CLOEXEC);
	int mnt, ret;

	if (fs < 0)
		return pr_errno_ret("restore: --clone: cannot make a devpts instance (fsopen)");
	/* Every mount of devpts is a new instance since 4.7; newinstance says
	 * so to older kernels. Anyone may open its ptmx, as /dev/ptmx (bound
	 * to it) lets anyone; mode 0620 unless cryo's instance says else. */
	if (fsconfig(fs, FSCONFIG_SET_FLAG, "newinstance", NULL, 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "ptmxmode", "0666", 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0620", 0))
		return pr_errno_ret("restore: --clone: cannot configure a devpts instance "
				    "(newinstance,ptmxmode=0666,mode=0620)");
	ret = copy_callers_options(fs);
	if (ret)
		return ret;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		return pr_errno_ret("restore: --clone: cannot make a devpts instance");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return pr_errno_ret("restore: --clone: cannot mount a devpts instance (fsmount)");
	return mnt;
}

void ns_devpts_path(int mnt, char *path, size_t size)
{
	snprintf(path, size, "/proc/self/fd/%d", mnt);
}

int ns_devpts_attach(int mnt)
{
	/* A copy made now, in the new namespace, has a mount id above every
	 * mount the namespace copied, and /proc/PID/mountinfo lists mounts
	 * by id: it then comes after /dev, its parent, as a dump of the
	 * clone's mounts expects (ns/mnt_dump.c). */
	int copy = open_tree(mnt, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

	if (copy < 0)
		return -errno;
	if (move_mount(copy, "", AT_FDCWD, "/dev/pts", MOVE_MOUNT_F_EMPTY_PATH)) {
		close(copy);
		return -errno;
	}
	close(copy);
	/* A program opens /dev/ptmx: it must reach this instance too. */
	if (mount("/dev/pts/ptmx", "/dev/ptmx", NULL, MS_BIND, NULL))
		return -errno;
	return 0;
}

int ns_devpts_mountpoint(dev_t dev, char **mountpoint)
{
	struct libmnt_table *table = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	int ret = -ENOENT;

	*mountpoint = NULL;
	if (!table || !it)
		ret = -ENOMEM;
	/* Its root: a bind of one of its folders cannot reach its ptmx. */
	while (ret == -ENOENT && !mnt_table_next_fs(table, it, &fs)) {
		if (mnt_fs_get_devno(fs) != dev || !mnt_fs_get_fstype(fs) ||
		    strcmp(mnt_fs_get_fstype(fs), "devpts") || !mnt_fs_get_root(fs) ||
		    strcmp(mnt_fs_get_root(fs), "/"))
			continue;
		*mountpoint = strdup(mnt_fs_get_target(fs));
		ret = *mountpoint ? 0 : -ENOMEM;
	}
	mnt_free_iter(it);
	if (table)
		mnt_unref_table(table);
	return ret;
}

/* How many masters one call may hold to reach an index: the kernel's
 * default kernel.pty.max. */
#define PTY_OPEN_TRIES 4096

int ns_devpts_open_index(const char *ptmx, unsigned int index, int flags, unsigned int *got)
{
	_cleanup_free_ int *held = calloc(PTY_OPEN_TRIES, sizeof(*held));
	size_t nr = 0;
	int fd = -1, ret = 0, waits = 0;

	if (!held)
		return -ENOMEM;
	while (!ret) {
		int m = open(ptmx, flags | O_NOCTTY | O_CLOEXEC);

		if (m < 0) {
			ret = -errno;
			break;
		}
		if (ioctl(m, TIOCGPTN, got)) {
			ret = -errno;
			close(m);
			break;
		}
		if (*got == index) {
			fd = m;
			break;
		}
		/* A pty just closed gives its index back a moment later. */
		if (*got > index && waits++ < 100) {
			close(m);
			while (nr)
				close(held[--nr]);
			usleep(10 * 1000);
			continue;
		}
		if (*got > index || nr == PTY_OPEN_TRIES) {
			close(m);
			ret = -EEXIST;
			break;
		}
		held[nr++] = m;
	}
	while (nr)
		close(held[--nr]);
	return ret ? ret : fd;
}
