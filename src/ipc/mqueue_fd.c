/* The "mqueue" file kind: an fd of a POSIX message queue, saved by the
 * queue's name and opened again by it (mq_open) in the restored process,
 * which is in the IPC namespace whose queues are saved with it
 * (ipc/posix_mq.c) or, for a tree in cryo's namespace, where the queue
 * outlives the tree as a file does. A queue unlinked while open has no
 * name to open it by: refused. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "files/kind.h"

/* The mqueue filesystem's (linux/magic.h). */
#define MQUEUE_MAGIC 0x19800202
#define DELETED_SUFFIX " (deleted)"

static bool mqueue_recognise(const struct fd_probe *p)
{
	struct statfs fs;

	return S_ISREG(p->st.st_mode) && p->link[0] == '/' && !fstatfs(p->dup, &fs) &&
	       fs.f_type == MQUEUE_MAGIC;
}

static int mqueue_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	size_t len = strlen(p->link), suffix = strlen(DELETED_SUFFIX);
	MqueueFile *m;

	if (len > suffix && !strcmp(p->link + len - suffix, DELETED_SUFFIX)) {
		pr_fd_err(p, "is a POSIX message queue unlinked while open: not supported");
		return -EOPNOTSUPP;
	}
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	mqueue_file__init(m);
	d->fe->mqueue = m;
	m->name = strdup(p->link);
	return m->name ? 0 : -ENOMEM;
}

/* "/name": one slash, then a name a directory entry can have. */
static int mqueue_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const char *name = f->e->mqueue->name;

	(void)dir;
	if (name[0] != '/' || !name[1] || strchr(name + 1, '/') || strlen(name) > NAME_MAX + 1 ||
	    !strcmp(name, "/.") || !strcmp(name, "/..")) {
		load_err(img, f, "'%.64s' is not the name of a POSIX message queue", name);
		return -EBADMSG;
	}
	if ((f->e->flags & O_ACCMODE) == O_ACCMODE) {
		load_err(img, f, "its access mode is not one mq_open() gives");
		return -EBADMSG;
	}
	return 0;
}

static int mqueue_open(struct restore_ctx *r, const struct file_obj *f)
{
	int flags = (int)(f->e->flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC;
	mqd_t q = mq_open(f->e->mqueue->name, flags);

	if (q < 0) {
		restore_err(r, f, "cannot open the POSIX message queue again: %s", strerror(errno));
		return -errno;
	}
	return (int)q;
}

static const char *mqueue_describe(const FileEntry *e)
{
	return e->mqueue->name;
}

const struct file_kind mqueue_kind = {
	.name = "mqueue",
	.type = FILE_ENTRY__KIND__MQUEUE,
	.recognise = mqueue_recognise,
	.dump = mqueue_dump,
	.check = mqueue_check,
	.open = mqueue_open,
	.describe = mqueue_describe,
};
