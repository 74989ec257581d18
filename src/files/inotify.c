/* The "inotify" kind: its watches, each with its watch descriptor, mask
 * and path (found from the file handle fdinfo shows). Restore adds the
 * watches again so that each gets its old descriptor. Events queued and
 * not read are not saved. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/fhandle.h"
#include "files/kind.h"

/* Getting a watch descriptor back costs one add and remove per number
 * skipped: bound it. */
#define INOTIFY_WD_MAX (1 << 24)
#define INOTIFY_MASK_KNOWN (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)

struct watch {
	int wd;
	unsigned long ino;
	unsigned int sdev;	/* the kernel's dev_t: major << 20 | minor */
	unsigned int mask;
	struct file_handle *fh;
};

static bool inotify_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:inotify") || !strcmp(p->link, "anon_inode:[inotify]");
}

/* Parses one "inotify wd:..." line of fdinfo into @w; w->fh to free. */
static int parse_watch(const struct fd_probe *p, const char *line, struct watch *w)
{
	unsigned int ignored, bytes;
	int type, hex_at = 0, ret;

	if (sscanf(line, "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x "
			 "fhandle-type:%x f_handle:%n", &w->wd, &w->ino, &w->sdev, &w->mask,
		   &ignored, &bytes, &type, &hex_at) != 7 || !hex_at) {
		pr_fd_err(p, "watch without a file handle (the file system has none?): %.80s", line);
		return -EOPNOTSUPP;
	}
	ret = fhandle_parse(line + hex_at, bytes, type, &w->fh);
	if (ret == -EINVAL)
		pr_fd_err(p, "watch wd %d: malformed file handle of %u bytes", w->wd, bytes);
	return ret;
}

/* The path of the file @w watches (fhandle.h). */
static int watch_path(const struct fd_probe *p, const struct watch *w, char **out)
{
	int ret = fhandle_path(p->pid, w->ino, w->sdev, w->fh, out);

	/* inotify_add_watch() takes a path: a deleted file (kept by an fd)
	 * would be watched while its ghost is linked, which is not built. */
	if (ret == -ENOENT)
		pr_fd_err(p, "watch wd %d is of a deleted file (inode %lu on %u:%u), which no "
			  "path leads to: not supported", w->wd, w->ino, w->sdev >> 20,
			  w->sdev & 0xfffff);
	else if (ret)
		pr_fd_err(p, "cannot find the path of watch wd %d (inode %lu on %u:%u): %s", w->wd,
			  w->ino, w->sdev >> 20, w->sdev & 0xfffff, strerror(-ret));
	return ret;
}

static int add_watch(const struct fd_probe *p, InotifyFile *in, const char *line)
{
	struct watch w = { 0 };
	InotifyWatch *iw = NULL;
	int ret;

	ret = parse_watch(p, line, &w);
	if (!ret) {
		iw = malloc(sizeof(*iw));
		ret = iw ? 0 : -ENOMEM;
	}
	if (!ret) {
		inotify_watch__init(iw);
		in->watches[in->n_watches++] = iw;
		iw->wd = w.wd;
		iw->mask = w.mask;
		ret = watch_path(p, &w, &iw->path);
		/* A required string must not stay NULL, even in a failed record. */
		if (ret)
			iw->path = strdup("");
	}
	free(w.fh);
	return ret;
}

static int cmp_watch_wd(const void *a, const void *b)
{
	int x = (*(InotifyWatch *const *)a)->wd, y = (*(InotifyWatch *const *)b)->wd;

	return x < y ? -1 : x > y;
}

static int inotify_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	const char *line;
	size_t lines = 0;
	InotifyFile *in;
	int queued, ret;

	if (!ioctl(p->dup, FIONREAD, &queued) && queued > 0)
		pr_warn("dump: pid %d fd %d (%s): %d bytes of queued events are not saved", p->pid,
			p->fd, p->link, queued);
	for (line = p->fdinfo; (line = strstr(line, "inotify wd:")); line++)
		lines++;
	in = malloc(sizeof(*in));
	if (!in)
		return -ENOMEM;
	inotify_file__init(in);
	d->fe->inotify = in;
	in->watches = calloc(lines + 1, sizeof(*in->watches));
	if (!in->watches)
		return -ENOMEM;
	for (line = p->fdinfo; (line = strstr(line, "inotify wd:")); line++) {
		if (line != p->fdinfo && line[-1] != '\n')
			continue;
		ret = add_watch(p, in, line);
		if (ret)
			return ret;
	}
	qsort(in->watches, in->n_watches, sizeof(*in->watches), cmp_watch_wd);
	return 0;
}

static int inotify_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const InotifyFile *in = f->e->inotify;

	(void)dir;
	for (size_t i = 0; i < in->n_watches; i++) {
		const InotifyWatch *w = in->watches[i];

		if (w->wd < 1 || w->wd > INOTIFY_WD_MAX || (i > 0 && w->wd <= in->watches[i - 1]->wd)) {
			load_err(img, f, "watch descriptor %d: out of range (1 to %d) or not ascending",
				 w->wd, INOTIFY_WD_MAX);
			return -EBADMSG;
		}
		if (w->path[0] != '/' || (w->mask & ~INOTIFY_MASK_KNOWN) ||
		    !(w->mask & IN_ALL_EVENTS)) {
			load_err(img, f, "watch %d: path '%s' not absolute or mask %#x unknown",
				 w->wd, w->path, w->mask);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Adds @w so that it gets its saved descriptor. Descriptors are handed out
 * in increasing order, so the numbers in between are taken and given back. */
static int restore_watch(const struct restore_ctx *r, const struct file_obj *f, int fd,
			 const InotifyWatch *w, int last_wd)
{
	for (;;) {
		int wd = inotify_add_watch(fd, w->path, w->mask);

		if (wd < 0) {
			restore_err(r, f, "cannot watch %s (mask %#x) again: %s", w->path, w->mask,
				    strerror(errno));
			return -errno;
		}
		if (wd == w->wd)
			return 0;
		if (wd <= last_wd || wd > w->wd) {
			restore_err(r, f, "watching %s gave descriptor %d, not the saved %d%s",
				    w->path, wd, w->wd,
				    wd <= last_wd ? ": the file is already watched" : "");
			return -EEXIST;
		}
		if (inotify_rm_watch(fd, wd)) {
			restore_err(r, f, "cannot give back watch descriptor %d: %s", wd,
				    strerror(errno));
			return -errno;
		}
	}
}

static int inotify_open(struct restore_ctx *r, const struct file_obj *f)
{
	const InotifyFile *in = f->e->inotify;
	char buf[4096];
	int fd, ret = 0, last_wd = 0;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		restore_err(r, f, "cannot create an inotify instance: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < in->n_watches && !ret; i++) {
		ret = restore_watch(r, f, fd, in->watches[i], last_wd);
		last_wd = in->watches[i]->wd;
	}
	/* Drop the IN_IGNORED events that giving numbers back queued. */
	while (!ret && read(fd, buf, sizeof(buf)) > 0)
		;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

const struct file_kind inotify_kind = {
	.name = "inotify",
	.type = FILE_ENTRY__KIND__INOTIFY,
	.recognise = inotify_recognise,
	.dump = inotify_dump,
	.check = inotify_check,
	.open = inotify_open,
	.in_flight_ok = true,
};
