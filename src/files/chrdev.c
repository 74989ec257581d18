/* The "chrdev" kind: character devices with no state worth saving
 * (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom), reopened by
 * path and checked to be the same device, or, for a node unlinked while
 * open, made again and unlinked. Terminals are tty.c's. */
#include <errno.h>
#include <fcntl.h>
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

static int chrdev_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	size_t len = strlen(p->link), suffix = strlen(DELETED_SUFFIX);
	bool deleted = false;
	CharDev *c;
	struct stat st;

	if (p->link[0] != '/' || lstat(p->link, &st) || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != p->st.st_rdev) {
		deleted = p->link[0] == '/' && p->st.st_nlink == 0 && len > suffix &&
			  !strcmp(p->link + len - suffix, DELETED_SUFFIX);
		if (!deleted) {
			pr_fd_err(p, "its path no longer names device %u:%u",
				  major(p->st.st_rdev), minor(p->st.st_rdev));
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
	c->path = deleted ? strndup(p->link, len - suffix) : strdup(p->link);
	if (deleted) {
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
