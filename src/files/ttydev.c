/* Terminals reopened by path, two kinds: "ttydev", a terminal device of its
 * own (/dev/console, a virtual console /dev/ttyN, a serial line), checked to
 * be the same device; and "devtty", /dev/tty, which names whatever the
 * opening process's controlling terminal is, so only the restored process
 * can open it. Their line settings are the device's, not saved. Ptys are
 * pty.c's, the shell's terminal (-j) tty.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files/kind.h"

/* /dev/tty (Documentation/admin-guide/devices.txt). */
#define DEVTTY_MAJOR 5
#define DEVTTY_MINOR 0

static bool is_devtty(dev_t rdev)
{
	return major(rdev) == DEVTTY_MAJOR && minor(rdev) == DEVTTY_MINOR;
}

/* Not O_PATH, and a terminal: isatty() is a TCGETS ioctl, which reads. The
 * kinds before these in the table took ptys and the shell's terminal. */
static bool is_terminal(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && !(p->flags & O_PATH) && isatty(p->dup);
}

static bool ttydev_recognise(const struct fd_probe *p)
{
	return is_terminal(p) && !is_devtty(p->st.st_rdev);
}

static bool devtty_recognise(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && !(p->flags & O_PATH) && is_devtty(p->st.st_rdev);
}

/* The record's part: field 15 + kind, one for each of the two kinds. */
static const CharDev *part(const FileEntry *e)
{
	return e->kind == FILE_ENTRY__KIND__DEVTTY ? e->devtty : e->ttydev;
}

static int by_path_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	struct stat st;
	CharDev *c;

	if (p->link[0] != '/' || stat(p->link, &st) || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != p->st.st_rdev) {
		pr_fd_err(p, "its path no longer names terminal %u:%u, so it cannot be opened "
			  "again", major(p->st.st_rdev), minor(p->st.st_rdev));
		return -ESTALE;
	}
	if (is_devtty(p->st.st_rdev) && !p->ctty) {
		pr_fd_err(p, "the task has /dev/tty open but no controlling terminal for it to "
			  "name at restore");
		return -EOPNOTSUPP;
	}
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	char_dev__init(c);
	if (d->fe->kind == FILE_ENTRY__KIND__DEVTTY)
		d->fe->devtty = c;
	else
		d->fe->ttydev = c;
	c->major = major(p->st.st_rdev);
	c->minor = minor(p->st.st_rdev);
	c->path = strdup(p->link);
	return c->path ? 0 : -ENOMEM;
}

static int by_path_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const CharDev *c = part(f->e);
	bool devtty = f->kind->type == FILE_ENTRY__KIND__DEVTTY;

	(void)dir;
	if (c->path[0] != '/' || devtty != (c->major == DEVTTY_MAJOR && c->minor == DEVTTY_MINOR)) {
		load_err(img, f, "%s (%u:%u) is not a %s", c->path, c->major, c->minor,
			 devtty ? "/dev/tty" : "terminal device");
		return -EBADMSG;
	}
	return 0;
}

/* Without O_NONBLOCK, opening a serial line waits for its carrier; the
 * saved flags are set afterwards. Never as a controlling terminal. */
static int by_path_open(struct restore_ctx *r, const struct file_obj *f)
{
	const CharDev *c = part(f->e);
	struct stat st;
	int fd, ret;

	fd = restore_open_path(r, c->path, (f->e->flags & O_ACCMODE) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		restore_err(r, f, "cannot open the terminal %s: %s", c->path, strerror(errno));
		return -errno;
	}
	ret = fstat(fd, &st) ? -errno : 0;
	if (ret || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(c->major, c->minor)) {
		restore_err(r, f, "%s is not terminal %u:%u any more", c->path, c->major, c->minor);
		close(fd);
		return ret ? ret : -ESTALE;
	}
	return fd;
}

static const char *by_path_describe(const FileEntry *e)
{
	return part(e)->path;
}

const struct file_kind ttydev_kind = {
	.name = "ttydev",
	.type = FILE_ENTRY__KIND__TTYDEV,
	.recognise = ttydev_recognise,
	.dump = by_path_dump,
	.check = by_path_check,
	.open = by_path_open,
	.describe = by_path_describe,
};

const struct file_kind devtty_kind = {
	.name = "devtty",
	.type = FILE_ENTRY__KIND__DEVTTY,
	.recognise = devtty_recognise,
	.dump = by_path_dump,
	.check = by_path_check,
	.open = by_path_open,
	.describe = by_path_describe,
	/* It names the controlling terminal of whoever opens it. */
	.opened_in_task = true,
};
