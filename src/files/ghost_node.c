/* Making a file again that was deleted while open (a "ghost"): a regular
 * file, a directory, a FIFO or a device node, at its old path or, when that
 * name is taken now, at a free name beside it. Kinds fill and unlink what
 * this makes; what a ghost's bytes are is theirs to know. At dump, the
 * refusal of a node whose folder was removed too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/ghost_dir.h"
#include "files/kind.h"

/* Makes one node of @type at @name; 0, or -errno (-EEXIST: name taken). */
static int make_node(const char *name, mode_t type, mode_t mode, dev_t rdev)
{
	int ret;

	if (S_ISDIR(type))
		ret = mkdir(name, 0700);
	else if (S_ISFIFO(type))
		ret = mkfifo(name, 0600);
	else if (S_ISCHR(type))
		ret = mknod(name, S_IFCHR | 0600, rdev);
	else {
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			      mode & 07777);

		ret = fd < 0 ? -1 : close(fd);
	}
	return ret ? -errno : 0;
}

int restore_create_beside(const struct restore_ctx *r, const struct file_obj *f,
			  const char *path, mode_t type, mode_t mode, dev_t rdev, int flags,
			  char **created)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		_cleanup_free_ char *name = NULL;
		uint32_t rnd = 0;
		int fd, ret;

		if (attempt == 0)
			name = strdup(path);
		else if (getrandom(&rnd, sizeof(rnd), 0) < 0 ||
			 asprintf(&name, "%s.cryo-%08x", path, rnd) < 0)
			name = NULL;
		if (!name)
			return -ENOMEM;
		ret = make_node(name, type & S_IFMT, mode, rdev);
		if (ret == -EEXIST)
			continue;
		if (ret) {
			restore_err(r, f, "cannot recreate the deleted file %s: %s", path, strerror(-ret));
			return ret;
		}
		fd = open(name, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd < 0) {
			ret = -errno;
			if (S_ISDIR(type))
				rmdir(name);
			else
				unlink(name);
			restore_err(r, f, "cannot open %s, made again: %s", name, strerror(-ret));
			return ret;
		}
		*created = name;
		name = NULL;
		return fd;
	}
	restore_err(r, f, "cannot find a free name beside %s to recreate it", path);
	return -EEXIST;
}

int restore_make_ghost(const struct restore_ctx *r, const struct file_obj *f, const char *path,
		       mode_t type, dev_t rdev, int flags, uid_t uid, gid_t gid, mode_t mode)
{
	_cleanup_free_ char *name = NULL;
	int fd, ret = 0;

	fd = restore_create_beside(r, f, path, type, mode, rdev, flags, &name);
	if (fd < 0)
		return fd;
	if (fchown(fd, uid, gid) || fchmod(fd, mode & 07777)) {
		ret = -errno;
		restore_err(r, f, "cannot give %s, made again, its owner and mode: %s", name,
			    strerror(-ret));
	}
	if (unlink(name) && !ret) {
		ret = -errno;
		restore_err(r, f, "cannot unlink %s, made again: %s", name, strerror(-ret));
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int dump_ghost_node_folder(const struct fd_probe *p, const char *what, const char *path)
{
	char who[24];
	unsigned int levels;
	int ret;

	snprintf(who, sizeof(who), "pid %d", p->pid);
	ret = ghost_file_removed_levels(who, p->name, path, &levels);
	if (ret || !levels)
		return ret;
	pr_fd_err(p, "deleted %s whose folder was removed too: not supported (only regular "
		  "files and directories are made again in removed folders)", what);
	return -EOPNOTSUPP;
}
