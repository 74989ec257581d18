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
#include "common/textfile.h"
#include "files/kind.h"

#define HANDLE_BYTES_MAX 128	/* MAX_HANDLE_SZ */
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
	int type, hex_at = 0;

	if (sscanf(line, "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x "
			 "fhandle-type:%x f_handle:%n", &w->wd, &w->ino, &w->sdev, &w->mask,
		   &ignored, &bytes, &type, &hex_at) != 7 || !hex_at) {
		pr_fd_err(p, "watch without a file handle (the file system has none?): %.80s", line);
		return -EOPNOTSUPP;
	}
	if (bytes > HANDLE_BYTES_MAX) {
		pr_fd_err(p, "watch wd %d: file handle of %u bytes is too long", w->wd, bytes);
		return -EINVAL;
	}
	w->fh = malloc(sizeof(*w->fh) + bytes);
	if (!w->fh)
		return -ENOMEM;
	w->fh->handle_bytes = bytes;
	w->fh->handle_type = type;
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int byte;

		if (sscanf(line + hex_at + 2 * i, "%2x", &byte) != 1) {
			pr_fd_err(p, "watch wd %d: malformed file handle", w->wd);
			return -EINVAL;
		}
		w->fh->f_handle[i] = byte;
	}
	return 0;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Opens the watched file through mount @mount_point of the task and
 * finds the path it is at; 0 when found. */
static int path_through(const struct fd_probe *p, const struct watch *w, const char *mount_point,
			char **out)
{
	_cleanup_close_ int mount_fd = -1, fd = -1;
	char path[PATH_MAX + 64], link[PATH_MAX + 1];
	struct stat st;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/root%s", p->pid, mount_point);
	mount_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (mount_fd < 0)
		return -errno;
	fd = open_by_handle_at(mount_fd, w->fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';
	if (link[0] != '/' || lstat(link, &st) || st.st_ino != w->ino ||
	    major(st.st_dev) != w->sdev >> 20 || minor(st.st_dev) != (w->sdev & 0xfffff))
		return -ESTALE;
	*out = strdup(link);
	return *out ? 0 : -ENOMEM;
}

/* The path of the file @w watches, tried through each mount of its file
 * system (a bind mount may not reach it). */
static int watch_path(const struct fd_probe *p, const struct watch *w, char **out)
{
	_cleanup_free_ char *mountinfo = NULL;
	char path[64], dev[32];
	int ret, last = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", p->pid);
	ret = read_text_file(path, &mountinfo);
	if (ret) {
		pr_fd_err(p, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	snprintf(dev, sizeof(dev), " %u:%u ", w->sdev >> 20, w->sdev & 0xfffff);
	for (char *line = strtok(mountinfo, "\n"); line; line = strtok(NULL, "\n")) {
		char *at = strstr(line, dev), *mount_point, *end;

		/* "ID PARENT MAJ:MIN ROOT MOUNT_POINT ...": dev is field 3. */
		if (!at || at != strchr(strchr(line, ' ') + 1, ' '))
			continue;
		mount_point = strchr(at + strlen(dev), ' ');
		if (!mount_point)
			continue;
		end = strchr(++mount_point, ' ');
		if (end)
			*end = '\0';
		unescape(mount_point);
		last = path_through(p, w, mount_point, out);
		if (!last)
			return 0;
	}
	pr_fd_err(p, "cannot find the path of watch wd %d (inode %lu on %u:%u): %s", w->wd, w->ino,
		  w->sdev >> 20, w->sdev & 0xfffff, strerror(-last));
	return last;
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
};
