/* The "pipe" kind: one end of a pipe or a FIFO, and the bytes left unread
 * in it, read at dump by tee() into a pipe of cryo's so that nothing is
 * consumed. Restore makes the pipe (or opens the FIFO, or makes a FIFO
 * unlinked while open again) once per inode, puts the bytes back, and
 * opens each end from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/files.h"
#include "files/kind.h"

#define DELETED_SUFFIX " (deleted)"

/* F_SETPIPE_SZ takes one page at least; above 1 GiB is not a pipe. */
#define PIPE_CAPACITY_MIN 4096u
#define PIPE_CAPACITY_MAX (1u << 30)

static bool pipe_recognise(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && !(p->flags & O_PATH);
}

static bool is_reader(unsigned int flags)
{
	return (flags & O_ACCMODE) != O_WRONLY;
}

/* Copies the @len unread bytes of the pipe @p into @buf without taking them
 * out: tee() duplicates the pipe's buffers into a pipe of ours. */
static int peek_pipe(const struct fd_probe *p, unsigned int capacity, void *buf, size_t len)
{
	_cleanup_close_ int rd = -1, wr = -1;
	int fds[2];
	ssize_t n;
	size_t got = 0;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK))
		return pr_errno_ret("dump: pid %d fd %d (%s): cannot make a pipe to copy its data",
				    p->pid, p->fd, p->link);
	rd = fds[0];
	wr = fds[1];
	/* As many slots as the task's pipe, so tee() takes all in one go. */
	if (fcntl(wr, F_SETPIPE_SZ, capacity) < (int)capacity)
		return pr_errno_ret("dump: pid %d fd %d (%s): cannot make a %u-byte pipe to copy "
				    "its data", p->pid, p->fd, p->link, capacity);
	n = tee(p->dup, wr, len, SPLICE_F_NONBLOCK);
	if (n != (ssize_t)len) {
		pr_fd_err(p, "cannot copy its %zu unread bytes: %s", len,
			  n < 0 ? strerror(errno) : "tee() copied fewer");
		return n < 0 ? -errno : -EIO;
	}
	while (got < len) {
		n = read(rd, (char *)buf + got, len - got);
		if (n <= 0)
			return pr_errno_ret("dump: pid %d fd %d (%s): cannot read its copied data",
					    p->pid, p->fd, p->link);
		got += n;
	}
	return 0;
}

/* Saves the unread bytes with this object unless another object of the
 * pipe already holds them. */
static int dump_data(const struct file_dump *d, PipeFile *pf)
{
	const struct fd_probe *p = d->p;
	_cleanup_free_ void *buf = NULL;
	int unread, ret;

	for (size_t i = 0; i < d->nr_same_inode; i++)
		if (d->same_inode[i]->pipe->has_data_size)
			return 0;
	if (ioctl(p->dup, FIONREAD, &unread))
		return pr_errno_ret("dump: pid %d fd %d (%s): cannot count its unread bytes",
				    p->pid, p->fd, p->link);
	if (unread <= 0)
		return 0;
	if ((unsigned int)unread > pf->capacity) {
		pr_fd_err(p, "holds %d bytes, more than its %u-byte capacity", unread, pf->capacity);
		return -EIO;
	}
	buf = malloc(unread);
	if (!buf)
		return -ENOMEM;
	ret = peek_pipe(p, pf->capacity, buf, unread);
	if (!ret)
		ret = contents_dump_bytes(d, buf, unread);
	if (ret)
		return ret;
	pf->has_data_size = true;
	pf->data_size = unread;
	return 0;
}

static int pipe_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	PipeFile *pf;
	int capacity;

	if (p->flags & O_DIRECT) {
		pr_fd_err(p, "packet-mode (O_DIRECT) pipes are not supported");
		return -EOPNOTSUPP;
	}
	capacity = fcntl(p->dup, F_GETPIPE_SZ);
	if (capacity < 0)
		return pr_errno_ret("dump: pid %d fd %d (%s): cannot read its capacity", p->pid,
				    p->fd, p->link);
	pf = malloc(sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	pipe_file__init(pf);
	d->fe->pipe = pf;
	pf->ino = p->st.st_ino;
	pf->capacity = capacity;
	if (p->link[0] == '/') {
		size_t len = strlen(p->link), suffix = strlen(DELETED_SUFFIX);
		struct stat st;

		if (!lstat(p->link, &st) && st.st_dev == p->st.st_dev && st.st_ino == p->st.st_ino) {
			pf->fifo_path = strdup(p->link);
		} else if (p->st.st_nlink == 0 && len > suffix &&
			   !strcmp(p->link + len - suffix, DELETED_SUFFIX)) {
			pf->fifo_path = strndup(p->link, len - suffix);
			pf->has_fifo_deleted = pf->fifo_deleted = true;
			pf->has_fifo_mode = pf->has_fifo_uid = pf->has_fifo_gid = true;
			pf->fifo_mode = p->st.st_mode & 07777;
			pf->fifo_uid = p->st.st_uid;
			pf->fifo_gid = p->st.st_gid;
		} else {
			pr_fd_err(p, "its FIFO's path now names another file, or none");
			return -ESTALE;
		}
		if (!pf->fifo_path)
			return -ENOMEM;
		if (pf->fifo_deleted) {
			int ret = dump_ghost_node_folder(p, "FIFO", pf->fifo_path);

			if (ret)
				return ret;
		}
	}
	if (d->nr_same_inode) {
		d->fe->has_inode_of = true;
		d->fe->inode_of = d->same_inode[0]->id;
	}
	return is_reader(d->fe->flags) ? dump_data(d, pf) : 0;
}

static int pipe_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const PipeFile *pf = f->e->pipe;

	if (pf->capacity < PIPE_CAPACITY_MIN || pf->capacity > PIPE_CAPACITY_MAX) {
		load_err(img, f, "capacity %u is out of range", pf->capacity);
		return -EBADMSG;
	}
	if (pf->fifo_path && pf->fifo_path[0] != '/') {
		load_err(img, f, "FIFO path '%s' is not absolute", pf->fifo_path);
		return -EBADMSG;
	}
	if (pf->fifo_deleted && (!pf->fifo_path || !pf->has_fifo_mode || pf->fifo_mode > 07777 ||
				 !pf->has_fifo_uid || !pf->has_fifo_gid)) {
		load_err(img, f, "a deleted FIFO needs its old path, a mode and an owner");
		return -EBADMSG;
	}
	if (f->inode != f && !f->inode->e->pipe->fifo_path != !pf->fifo_path) {
		load_err(img, f, "a pipe and a FIFO cannot share file %u's inode", f->inode->e->id);
		return -EBADMSG;
	}
	if (!pf->has_data_size)
		return 0;
	if (pf->data_size == 0 || pf->data_size > pf->capacity || !is_reader(f->e->flags)) {
		load_err(img, f, "%u saved bytes: must be 1 to its capacity (%u), in a reading end",
			 pf->data_size, pf->capacity);
		return -EBADMSG;
	}
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *o = &img->files[i];

		if (o != f && o->inode == f->inode && o->e->pipe->has_data_size) {
			load_err(img, f, "file %u of the same pipe has saved bytes too", o->e->id);
			return -EBADMSG;
		}
	}
	/* Loaded where the task opens it: an fd, or in flight. */
	return f->nr_fds || f->in_flight ? contents_load(dir, img, f, pf->data_size, true) : 0;
}

static const struct file_obj *holder_in(const struct files_image *img, const struct file_obj *f)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *o = &img->files[i];

		if (o->inode->e->id == f->inode->e->id && (o->nr_fds || o->in_flight) &&
		    o->e->pipe->has_data_size)
			return o;
	}
	return NULL;
}

/* The object of @f's pipe holding its saved bytes, if a process being
 * restored has it (its image has the bytes loaded). */
static const struct file_obj *data_holder(const struct restore_ctx *r, const struct file_obj *f)
{
	const struct file_obj *o = r->all ? NULL : holder_in(r->img, f);

	for (size_t i = 0; !o && i < r->nr_all; i++)
		o = holder_in(r->all[i], f);
	return o;
}

/* The caller's fd that stands for this pipe (criu's inherit_fd), or -1. */
static int inherited_fd(const struct restore_ctx *r, const PipeFile *pf)
{
	for (size_t i = 0; r->env && !pf->fifo_path && i < r->env->nr_pipes; i++)
		if (r->env->pipes[i].ino == pf->ino)
			return r->env->pipes[i].fd;
	return -1;
}

/* A FIFO unlinked while open, made again; the handle reads and writes,
 * so opening it never blocks. */
static int make_deleted_fifo(struct restore_ctx *r, const struct file_obj *f)
{
	const PipeFile *pf = f->e->pipe;

	return restore_make_ghost(r, f, pf->fifo_path, S_IFIFO, 0, O_RDWR | O_NONBLOCK,
				  pf->fifo_uid, pf->fifo_gid, pf->fifo_mode);
}

/* Makes the pipe, or opens the FIFO, with its capacity and saved bytes.
 * The handle reads and writes, so opening either end never blocks. */
static int pipe_create_inode(struct restore_ctx *r, const struct file_obj *f)
{
	const PipeFile *pf = f->e->pipe;
	const struct file_obj *holder = data_holder(r, f);
	int fd, wr = -1, ret = 0;

	/* The caller's own pipe: its bytes and capacity are the caller's. */
	if (inherited_fd(r, pf) >= 0) {
		fd = fcntl(inherited_fd(r, pf), F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			restore_err(r, f, "cannot take the inherited fd %d for pipe:[%llu]: %s",
				    inherited_fd(r, pf), (unsigned long long)pf->ino, strerror(errno));
			return -errno;
		}
		return restore_add_inode(r, f, fd, -1);
	}
	if (pf->fifo_deleted) {
		fd = make_deleted_fifo(r, f);
		if (fd < 0)
			return fd;
	} else if (pf->fifo_path) {
		struct stat st;

		fd = restore_open_path(r, pf->fifo_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			restore_err(r, f, "cannot open the FIFO %s: %s", pf->fifo_path,
				    strerror(errno));
			return -errno;
		}
		if (fstat(fd, &st) || !S_ISFIFO(st.st_mode)) {
			restore_err(r, f, "%s is no longer a FIFO", pf->fifo_path);
			close(fd);
			return -ESTALE;
		}
	} else {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
			restore_err(r, f, "cannot make a pipe: %s", strerror(errno));
			return -errno;
		}
		fd = fds[0];
		wr = fds[1];
	}
	if (fcntl(fd, F_GETPIPE_SZ) != (int)pf->capacity) {
		int got = fcntl(fd, F_SETPIPE_SZ, pf->capacity);

		if (got != (int)pf->capacity) {
			ret = got < 0 ? -errno : -EIO;
			restore_err(r, f, "cannot give the pipe its capacity of %u bytes: %s",
				    pf->capacity, got < 0 ? strerror(errno) : "the kernel gave another");
		}
	}
	if (!ret && holder)
		ret = contents_restore_bytes(r, holder, wr >= 0 ? wr : fd);
	if (ret) {
		close(fd);
		if (wr >= 0)
			close(wr);
		return ret;
	}
	return restore_add_inode(r, f, fd, wr);
}

static int pipe_open(struct restore_ctx *r, const struct file_obj *f)
{
	const struct inode_handle *h = restore_inode_get(r, f);

	if (!h)
		return -EIO;
	/* The very open file the caller gave; opened again through /proc with
	 * the saved flags (as criu does) when its access mode is another: a
	 * runtime may give a pipe end that reads and writes (podman's conmon
	 * gives O_RDWR for an end the container only wrote to). */
	if (inherited_fd(r, f->e->pipe) >= 0) {
		int mode = fcntl(h->fd, F_GETFL), fd;

		if (mode >= 0 && (mode & O_ACCMODE) != (int)(f->e->flags & O_ACCMODE))
			return restore_reopen(r, f, h->fd);
		fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	/* Only the ends pipe2() made lack O_LARGEFILE: open() adds it to an
	 * end opened again through /proc, and F_SETFL cannot take it away.
	 * An object saved without it gets the pipe2() end itself. */
	if (!f->e->pipe->fifo_path && !(f->e->flags & KERNEL_O_LARGEFILE)) {
		int fd = fcntl(is_reader(f->e->flags) ? h->fd : h->fd2, F_DUPFD_CLOEXEC, 0);

		if (fd < 0)
			restore_err(r, f, "cannot take an end of the new pipe: %s",
				    strerror(errno));
		return fd < 0 ? -errno : fd;
	}
	return restore_reopen(r, f, h->fd);
}

const struct file_kind pipe_kind = {
	.name = "pipe",
	.type = FILE_ENTRY__KIND__PIPE,
	.in_flight_ok = true,
	.recognise = pipe_recognise,
	.dump = pipe_dump,
	.check = pipe_check,
	.make_inode = pipe_create_inode,
	.open = pipe_open,
	.inode_shared = true,
};
