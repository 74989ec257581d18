/* The "fanotify" kind: a group's fanotify_init() flags and event flags and
 * its marks (inode marks by file handle, mount, filesystem and mount
 * namespace marks, each with its mask, ignored mask and flags), all read
 * from fdinfo. Restore makes the group and adds each mark again. Events queued and not read are
 * dropped, as criu does (a warning names them). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/fhandle.h"
#include "files/kind.h"

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200	/* 5.19 */
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400	/* 6.0 */
#endif
#define FANOTIFY_MFLAGS_KNOWN (FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)
#define FANOTIFY_MARKS_MAX (1 << 20)

static bool fanotify_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[fanotify]") || !strcmp(p->link, "anon_inode:fanotify");
}

static FanotifyMark *new_mark(FanotifyFile *fa)
{
	FanotifyMark *m = malloc(sizeof(*m));

	if (!m)
		return NULL;
	fanotify_mark__init(m);
	m->path = NULL;
	fa->marks[fa->n_marks++] = m;
	return m;
}

static void set_mark(FanotifyMark *m, FanotifyMark__Type type, unsigned int mflags,
		     unsigned int mask, unsigned int ignored)
{
	m->type = type;
	m->mflags = mflags;
	m->mask = mask;
	m->ignored_mask = ignored;
}

/* "fanotify ino:... sdev:... mflags:... mask:... ignored_mask:... fhandle-...". */
static int inode_mark(const struct fd_probe *p, const char *line, FanotifyMark *m)
{
	_cleanup_free_ struct file_handle *fh = NULL;
	unsigned int sdev, mflags, mask, ignored, bytes;
	unsigned long ino;
	int type, hex_at = 0, ret;

	if (sscanf(line, "fanotify ino:%lx sdev:%x mflags:%x mask:%x ignored_mask:%x "
			 "fhandle-bytes:%x fhandle-type:%x f_handle:%n", &ino, &sdev, &mflags,
		   &mask, &ignored, &bytes, &type, &hex_at) != 7 || !hex_at) {
		pr_fd_err(p, "inode mark without a file handle (the file system has none?): %.80s",
			  line);
		return -EOPNOTSUPP;
	}
	ret = fhandle_parse(line + hex_at, bytes, type, &fh);
	if (ret) {
		pr_fd_err(p, "inode mark on inode %lu: malformed file handle", ino);
		return ret;
	}
	set_mark(m, FANOTIFY_MARK__TYPE__INODE, mflags, mask, ignored);
	ret = fhandle_path(p->pid, ino, sdev, fh, &m->path);
	if (ret)
		pr_fd_err(p, "cannot find the path of the marked inode %lu on %u:%u: %s", ino,
			  sdev >> 20, sdev & 0xfffff, strerror(-ret));
	return ret;
}

#define OWN_MNT_NS "/proc/self/ns/mnt"

/* "fanotify mnt_ns:INODE ...": only the holder's own mount namespace is
 * one restore makes again (the tree's, or the caller's it shares). */
static int mntns_mark(const struct fd_probe *p, const char *line, FanotifyMark *m)
{
	unsigned int mflags, mask, ignored;
	unsigned long long ns;
	char path[64];
	struct stat st;

	if (sscanf(line, "fanotify mnt_ns:%llu mflags:%x mask:%x ignored_mask:%x", &ns, &mflags,
		   &mask, &ignored) != 4) {
		pr_fd_err(p, "cannot parse a mount namespace mark: %.80s", line);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", p->pid);
	if (stat(path, &st))
		return pr_errno_ret("dump: pid %d %s (%s): cannot stat %s", p->pid, p->name,
				    p->link, path);
	if (st.st_ino != ns) {
		pr_fd_err(p, "marks mount namespace mnt:[%llu], not its process's own (mnt:[%lu]): "
			  "a mount namespace outside the dump: not supported", ns,
			  (unsigned long)st.st_ino);
		return -EOPNOTSUPP;
	}
	set_mark(m, FANOTIFY_MARK__TYPE__MNTNS, mflags, mask, ignored);
	m->has_mnt_ns = true;
	m->mnt_ns = ns;
	m->path = strdup(OWN_MNT_NS);
	return m->path ? 0 : -ENOMEM;
}

/* "fanotify mnt_id:..." or "fanotify sdev:..." (a filesystem). */
static int mount_or_fs_mark(const struct fd_probe *p, const char *line, FanotifyMark *m)
{
	unsigned int id, mflags, mask, ignored;
	int ret;

	if (sscanf(line, "fanotify mnt_id:%x mflags:%x mask:%x ignored_mask:%x", &id, &mflags,
		   &mask, &ignored) == 4) {
		set_mark(m, FANOTIFY_MARK__TYPE__MOUNT, mflags, mask, ignored);
		ret = mount_id_path(p->pid, (int)id, &m->path);
	} else if (sscanf(line, "fanotify sdev:%x mflags:%x mask:%x ignored_mask:%x", &id,
			  &mflags, &mask, &ignored) == 4) {
		set_mark(m, FANOTIFY_MARK__TYPE__FILESYSTEM, mflags, mask, ignored);
		ret = fs_dev_path(p->pid, id, &m->path);
	} else {
		pr_fd_err(p, "fanotify mark of an unknown kind: %.80s", line);
		return -EOPNOTSUPP;
	}
	if (ret)
		pr_fd_err(p, "cannot find the %s %#x of a fanotify mark in the task's mounts: %s",
			  m->type == FANOTIFY_MARK__TYPE__MOUNT ? "mount" : "filesystem", id,
			  strerror(-ret));
	return ret;
}

static int fanotify_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	const char *line, *group;
	size_t lines = 0;
	FanotifyFile *fa;
	int queued, ret;

	fa = malloc(sizeof(*fa));
	if (!fa)
		return -ENOMEM;
	fanotify_file__init(fa);
	d->fe->fanotify = fa;
	group = strstr(p->fdinfo, "fanotify flags:");
	if (!group || sscanf(group, "fanotify flags:%x event-flags:%x", &fa->flags,
			     &fa->event_flags) != 2) {
		pr_fd_err(p, "fdinfo shows no fanotify flags");
		return -EIO;
	}
	if (!ioctl(p->dup, FIONREAD, &queued) && queued > 0)
		pr_warn("dump: pid %d fd %d (%s): %d bytes of queued fanotify events are dropped",
			p->pid, p->fd, p->link, queued);
	for (line = p->fdinfo; (line = strstr(line, "\nfanotify ")); line++)
		lines++;
	fa->marks = calloc(lines + 1, sizeof(*fa->marks));
	if (!fa->marks)
		return -ENOMEM;
	for (line = p->fdinfo; (line = strstr(line, "\nfanotify ")); line++) {
		FanotifyMark *m;

		if (!strncmp(line + 1, "fanotify flags:", strlen("fanotify flags:")))
			continue;
		m = new_mark(fa);
		if (!m)
			return -ENOMEM;
		if (!strncmp(line + 1, "fanotify ino:", strlen("fanotify ino:")))
			ret = inode_mark(p, line + 1, m);
		else if (!strncmp(line + 1, "fanotify mnt_ns:", strlen("fanotify mnt_ns:")))
			ret = mntns_mark(p, line + 1, m);
		else
			ret = mount_or_fs_mark(p, line + 1, m);
		/* A required string must not stay NULL, even in a failed record. */
		if (!m->path && !(m->path = strdup("")))
			return -ENOMEM;
		if (ret)
			return ret;
	}
	return 0;
}

static int fanotify_check(const struct image_dir *dir, struct files_image *img,
			  struct file_obj *f)
{
	const FanotifyFile *fa = f->e->fanotify;

	(void)dir;
	if (fa->n_marks > FANOTIFY_MARKS_MAX) {
		load_err(img, f, "%zu fanotify marks, more than %d", fa->n_marks,
			 FANOTIFY_MARKS_MAX);
		return -EBADMSG;
	}
	for (size_t i = 0; i < fa->n_marks; i++) {
		const FanotifyMark *m = fa->marks[i];

		if (m->type < FANOTIFY_MARK__TYPE__INODE || m->type > FANOTIFY_MARK__TYPE__MNTNS ||
		    m->path[0] != '/' || (m->mflags & ~FANOTIFY_MFLAGS_KNOWN) ||
		    !(m->mask | m->ignored_mask) ||
		    ((m->type == FANOTIFY_MARK__TYPE__MNTNS) != !strcmp(m->path, OWN_MNT_NS))) {
			load_err(img, f, "fanotify mark %zu: type %d, path '%s' not absolute, flags "
				 "%#x unknown or no mask", i, m->type, m->path, m->mflags);
			return -EBADMSG;
		}
	}
	return 0;
}

static unsigned int mark_type_flag(const FanotifyMark *m)
{
	switch (m->type) {
	case FANOTIFY_MARK__TYPE__MOUNT:
		return FAN_MARK_MOUNT;
	case FANOTIFY_MARK__TYPE__FILESYSTEM:
		return FAN_MARK_FILESYSTEM;
	case FANOTIFY_MARK__TYPE__MNTNS:
		return FAN_MARK_MNTNS;
	default:
		return FAN_MARK_DONT_FOLLOW;	/* the very inode, even a symlink */
	}
}

/* Adds @m again: its mask, then its ignored mask (the way its flags say
 * it was added); an evictable mark is made so by its first add. */
static int restore_mark(const struct restore_ctx *r, const struct file_obj *f, int fd,
			const FanotifyMark *m)
{
	unsigned int base = FAN_MARK_ADD | mark_type_flag(m) | (m->mflags & FAN_MARK_EVICTABLE);
	unsigned int ignore = (m->mflags & FAN_MARK_IGNORE) ? FAN_MARK_IGNORE :
			      FAN_MARK_IGNORED_MASK | (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY);

	/* cryo makes a group two processes share in its own namespaces,
	 * which need not be the tree's (its own, or a --clone's). */
	if (m->type == FANOTIFY_MARK__TYPE__MNTNS && r->preparing) {
		restore_err(r, f, "a group that marks its mount namespace (mnt:[%llu] at dump), "
			    "shared by several processes: not supported",
			    (unsigned long long)m->mnt_ns);
		return -EOPNOTSUPP;
	}

	if (m->mask && fanotify_mark(fd, base, m->mask, AT_FDCWD, m->path)) {
		restore_err(r, f, "cannot mark %s (mask %#llx) again: %s", m->path,
			    (unsigned long long)m->mask, strerror(errno));
		return -errno;
	}
	if (m->ignored_mask && fanotify_mark(fd, base | ignore, m->ignored_mask, AT_FDCWD, m->path)) {
		restore_err(r, f, "cannot mark %s (ignored mask %#llx) again: %s", m->path,
			    (unsigned long long)m->ignored_mask, strerror(errno));
		return -errno;
	}
	return 0;
}

static int fanotify_open(struct restore_ctx *r, const struct file_obj *f)
{
	const FanotifyFile *fa = f->e->fanotify;
	int fd, ret = 0;

	fd = fanotify_init(fa->flags | FAN_CLOEXEC | FAN_NONBLOCK, fa->event_flags);
	if (fd < 0) {
		restore_err(r, f, "cannot create a fanotify group (flags %#x, event flags %#x): %s",
			    fa->flags, fa->event_flags, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < fa->n_marks && !ret; i++)
		ret = restore_mark(r, f, fd, fa->marks[i]);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

const struct file_kind fanotify_kind = {
	.name = "fanotify",
	.type = FILE_ENTRY__KIND__FANOTIFY,
	.recognise = fanotify_recognise,
	.dump = fanotify_dump,
	.check = fanotify_check,
	.open = fanotify_open,
};
