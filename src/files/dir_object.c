/* Removed directories that are the cwd or root of processes (or threads)
 * of the tree and that another process shares, by an fd or as its own cwd
 * or root: one file object of the dump for the inode, made from cryo's
 * copy (kept to the end, as a file in flight is, so that kcmp finds it
 * again), so that restore makes the directory once and every process
 * enters the same one. At load each task that enters it marks it needed;
 * at restore it is opened from what cryo prepared, or made once in the
 * task. Which cwd and root are shared is the task part's to find. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/dump_set.h"
#include "files/probe.h"

/* ---- dump -------------------------------------------------------------------- */

static int self_pidfd(struct files_dump_set *set)
{
	if (set->self_pidfd < 0) {
		set->self_pidfd = pidfd_open(getpid(), 0);
		if (set->self_pidfd < 0)
			return pr_errno_ret("dump: cannot open a pidfd of cryo to read a removed "
					    "directory");
	}
	return 0;
}

/* A new object for the directory cryo holds at @copy, which it keeps. */
static int dump_new(struct files_dump_set *set, const char *who, const char *what, int copy,
		    struct inode_bucket **b, uint32_t *id)
{
	const struct file_kind *kind;
	struct dump_obj *o;
	struct fd_probe p;
	size_t pos = 0;
	int ret;

	ret = probe_fd(set->self_pidfd, getpid(), copy, -1, &p);
	if (ret)
		return ret;
	p.net = set->net;
	kind = file_kind_recognise(&p);
	if (!kind || kind->type != FILE_ENTRY__KIND__REG || !S_ISDIR(p.st.st_mode) ||
	    p.st.st_nlink) {
		pr_err("dump: %s %s: not a removed directory any more (%s)", who, what, p.link);
		ret = -ESTALE;
		goto out;
	}
	*b = bucket_get(set, p.st.st_dev, p.st.st_ino);
	ret = *b ? bucket_search(set, *b, &p, &pos, &o) : -ENOMEM;
	if (!ret && o) {
		pr_err("dump: %s %s: cryo's own copy is already an object of the dump", who,
		       what);
		ret = -EEXIST;
	}
	if (!ret)
		ret = obj_add(set, &p, kind, *b, pos, &o);
	if (ret)
		goto out;
	*id = o->fe->id;
	ret = obj_dump(set, &p, kind, o, NULL, 0);
out:
	probe_release(&p);
	return ret;
}

int files_dump_dir_object(struct files_dump_set *set, const char *who, const char *what,
			  const char *proc_link, uint32_t *id)
{
	_cleanup_close_ int fd = -1;
	struct inode_bucket *b;
	struct stat st;
	int copy, ret;

	fd = open(proc_link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return pr_errno_ret("dump: %s %s: cannot open it through %s", who, what,
				    proc_link);
	b = bucket_get(set, st.st_dev, st.st_ino);
	if (!b)
		return -ENOMEM;
	if (b->dir_object) {
		*id = b->dir_object;
		return 0;
	}
	ret = self_pidfd(set);
	if (ret)
		return ret;
	/* Kept to the end, as the object's open file, from here. */
	ret = in_flight_keep(set, fd, &st);
	if (ret)
		return ret;
	copy = fd;
	fd = -1;
	ret = dump_new(set, who, what, copy, &b, id);
	if (!ret)
		b->dir_object = *id;
	return ret;
}

/* ---- load -------------------------------------------------------------------- */

int files_need_dir(struct files_image *img, uint32_t id, const char *who, const char *what)
{
	struct file_obj *f = files_find(img, id);
	const RegFile *reg = f && f->e->kind == FILE_ENTRY__KIND__REG ? f->e->reg : NULL;

	if (!reg || !S_ISDIR(reg->mode) || !reg->deleted) {
		image_error(img->files_img->path, 0, "%s %s is file %u, which %s", who, what, id,
			    f ? "is not a removed directory" : "files.img does not hold");
		return -EBADMSG;
	}
	f->needed = f->dir = true;
	f->inode->needed = f->inode->dir = true;
	return 0;
}

/* ---- restore ----------------------------------------------------------------- */

/* Object @id at a new fd of r->high or above: from what cryo prepared (it
 * or its inode), else from its inode made here. */
static int open_dir(struct restore_ctx *r, uint32_t id, int *out)
{
	const struct file_obj *f = files_find(r->img, id);
	const struct inode_handle *h;
	int from, fd;

	if (!f || !f->dir) {
		pr_err("restore: pid %d: file %u was not loaded as a removed cwd or root", r->img->pid,
		       id);
		return -EINVAL;
	}
	from = files_prepared_fd(r->prepared, f, r->img);
	if (from < 0)
		from = files_prepared_fd(r->prepared, f->inode, r->img);
	if (from < 0) {
		h = restore_inode_get(r, f->inode);
		if (!h)
			return -EIO;
		from = h->fd;
	}
	fd = fcntl(from, F_DUPFD_CLOEXEC, r->high);
	if (fd < 0) {
		restore_err(r, f, "cannot keep the removed directory above fd %d: %s", r->high,
			    strerror(errno));
		return -errno;
	}
	*out = fd;
	return 0;
}

int files_open_dirs(const struct files_image *img, const struct files_prepared *prepared,
		    const uint32_t *ids, int *fds, size_t n, int base)
{
	struct restore_ctx r = { .img = img, .high = base, .tty = -1, .prepared = prepared,
				 .env = prepared ? prepared->env : NULL };
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && !ret; i++)
		if (ids[i])
			ret = open_dir(&r, ids[i], &fds[i]);
	restore_ctx_release(&r);
	for (size_t i = 0; ret && i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	return ret;
}
