/* The "chrdev" kind: character devices with no state worth saving
 * (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom), reopened by
 * path and checked to be the same device, or, for a node unlinked while
 * open, made again and unlinked; with --evasive-devices, a node whose path
 * no longer leads to its device is saved by another node of /dev for it.
 * Terminals are tty.c's. */
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

#include "common/cleanup.h"
#include "files/kind.h"

#define DELETED_SUFFIX " (deleted)"

/* The memory devices of major 1 (Documentation/admin-guide/devices.txt). */
static bool stateless_device(unsigned int maj, unsigned int min)
{
	return maj == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9);
}

static bool chrdev_recognise(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && !(p->flags & O_PATH) &&
	       stateless_device(major(p->st.st_rdev), minor(p->st.st_rdev));
}

/* How deep below /dev a node for --evasive-devices is looked for. */
#define DEV_SEARCH_DEPTH 3

/* The shortest path below @dir (depth @depth at most) of a character
 * node for @rdev, into @best (empty: none yet); symlinks are not followed. */
static void find_node_below(const char *dir, dev_t rdev, int depth, char *best, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
		    lstat(path, &st))
			continue;
		if (S_ISCHR(st.st_mode) && st.st_rdev == rdev &&
		    (!best[0] || strlen(path) < strlen(best)))
			snprintf(best, size, "%s", path);
		else if (S_ISDIR(st.st_mode) && depth > 1)
			find_node_below(path, rdev, depth - 1, best, size);
	}
	if (d)
		closedir(d);
}

/* --evasive-devices: another path to @p's device, as criu takes "any path
 * to a device file if the original one is inaccessible"; NULL: none. */
static char *evasive_path(const struct fd_probe *p)
{
	char best[PATH_MAX] = "";

	find_node_below("/dev", p->st.st_rdev, DEV_SEARCH_DEPTH, best, sizeof(best));
	if (!best[0])
		return NULL;
	pr_info("dump: pid %d %s (%s): its path no longer names device %u:%u: saved as %s "
		"(--evasive-devices)", p->pid, p->name, p->link, major(p->st.st_rdev),
		minor(p->st.st_rdev), best);
	return strdup(best);
}

static int chrdev_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	size_t len = strlen(p->link), suffix = strlen(DELETED_SUFFIX);
	_cleanup_free_ char *other = NULL;
	bool deleted = false;
	CharDev *c;
	struct stat st;

	if (p->link[0] != '/' || lstat(p->link, &st) || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != p->st.st_rdev) {
		deleted = p->link[0] == '/' && p->st.st_nlink == 0 && len > suffix &&
			  !strcmp(p->link + len - suffix, DELETED_SUFFIX);
		if (file_dump_evasive_devices(d) && (other = evasive_path(p)))
			deleted = false;
		else if (!deleted) {
			pr_fd_err(p, "its path no longer names device %u:%u%s",
				  major(p->st.st_rdev), minor(p->st.st_rdev),
				  file_dump_evasive_devices(d) ?
					  ", and no node of /dev does (--evasive-devices)" :
					  " (--evasive-devices saves another node of /dev for it)");
			return -ESTALE;
		}
	}
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	char_dev__init(c);
	d->fe->chrdev = c;
	c->major = major(p->st.st_rdev);
	c->minor = minor(p->st.st_rdev);
	if (other)
		c->path = steal_ptr(other);
	else
		c->path = deleted ? strndup(p->link, len - suffix) : strdup(p->link);
	if (!c->path)
		return -ENOMEM;
	if (deleted) {
		int ret = dump_ghost_node_folder(p, "device node", c->path);

		if (ret)
			return ret;
		c->has_deleted = c->deleted = true;
		c->has_mode = c->has_uid = c->has_gid = true;
		c->mode = p->st.st_mode & 07777;
		c->uid = p->st.st_uid;
		c->gid = p->st.st_gid;
	}
	return c->path ? 0 : -ENOMEM;
}

static int chrdev_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const CharDev *c = f->e->chrdev;

	(void)dir;
	if (c->path[0] != '/' || !stateless_device(c->major, c->minor)) {
		load_err(img, f, "%s (%u:%u) is not a device cryo restores", c->path, c->major,
			 c->minor);
		return -EBADMSG;
	}
	if (c->deleted && (!c->has_mode || c->mode > 07777 || !c->has_uid || !c->has_gid)) {
		load_err(img, f, "the deleted node %s has no mode or owner", c->path);
		return -EBADMSG;
	}
	return 0;
}

/* A device node deleted while open, made again (no bytes to put back). */
static int open_deleted(struct restore_ctx *r, const struct file_obj *f)
{
	const CharDev *c = f->e->chrdev;

	return restore_make_ghost(r, f, c->path, S_IFCHR, makedev(c->major, c->minor),
				  (int)f->e->flags, c->uid, c->gid, c->mode);
}

static int chrdev_open(struct restore_ctx *r, const struct file_obj *f)
{
	const CharDev *c = f->e->chrdev;
	struct stat st;
	int fd, ret;

	if (c->deleted)
		return open_deleted(r, f);
	fd = restore_open_path(r, c->path, f->e->flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		restore_err(r, f, "cannot open %s: %s", c->path, strerror(errno));
		return -errno;
	}
	ret = fstat(fd, &st) ? -errno : 0;
	if (ret || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(c->major, c->minor)) {
		restore_err(r, f, "%s is not device %u:%u any more", c->path, c->major, c->minor);
		close(fd);
		return ret ? ret : -ESTALE;
	}
	return fd;
}

const struct file_kind chrdev_kind = {
	.name = "chrdev",
	.type = FILE_ENTRY__KIND__CHRDEV,
	.in_flight_ok = true,
	.recognise = chrdev_recognise,
	.dump = chrdev_dump,
	.check = chrdev_check,
	.open = chrdev_open,
};
