/* files_restore(): inside the restored task, installs every saved fd at its
 * number. Objects are opened by their kinds in dependency order (an epoll
 * after its targets), at any number, then moved above the restored range
 * and duplicated onto each fd that refers to them, so no temporary ever
 * sits on a number still to be restored. files_open_mappings() then opens
 * the files of memfd and deleted-file mappings. Checking is in load.c;
 * the inodes and groups objects are opened from are units.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/internal.h"

void restore_err(const struct restore_ctx *r, const struct file_obj *f, const char *fmt, ...)
{
	int saved_errno = errno;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->nr_fds)
		pr_err("restore: pid %d fd %d (%s file %u): %s", r->img->pid, f->fds[0],
		       f->kind->name, f->e->id, msg);
	else
		pr_err("restore: pid %d: %s file %u: %s", r->img->pid, f->kind->name, f->e->id,
		       msg);
	errno = saved_errno;
}

int restore_set_state(const struct restore_ctx *r, const struct file_obj *f, int fd)
{
	unsigned int want = f->e->flags;
	int got;

	got = fcntl(fd, F_GETFL);
	if (got >= 0 && !(want & O_PATH) &&
	    ((unsigned int)got & FILE_FLAGS_SETFL) != (want & FILE_FLAGS_SETFL)) {
		if (fcntl(fd, F_SETFL, ((unsigned int)got & ~FILE_FLAGS_SETFL) |
					       (want & FILE_FLAGS_SETFL))) {
			restore_err(r, f, "cannot set flags %#o: %s", want & FILE_FLAGS_SETFL,
				    strerror(errno));
			return -errno;
		}
		got = fcntl(fd, F_GETFL);
	}
	if (got < 0) {
		restore_err(r, f, "cannot read its flags back: %s", strerror(errno));
		return -errno;
	}
	if (((unsigned int)got & FILE_FLAGS_CHECKED) != (want & FILE_FLAGS_CHECKED)) {
		restore_err(r, f, "has flags %#o, not the saved %#o",
			    (unsigned int)got & FILE_FLAGS_CHECKED, want & FILE_FLAGS_CHECKED);
		return -EIO;
	}
	if (f->kind->seekable && !(want & O_PATH)) {
		off_t pos = lseek(fd, f->e->pos, SEEK_SET);

		if (pos != (off_t)f->e->pos) {
			restore_err(r, f, "cannot set the position to %llu: %s",
				    (unsigned long long)f->e->pos,
				    pos < 0 ? strerror(errno) : "the file refused it");
			return pos < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

int restore_take_late(const struct restore_ctx *r, const struct file_obj *f, int late)
{
	/* The copy this process inherited is the placeholder, cryo's is
	 * the file. */
	int fd = (int)syscall(SYS_pidfd_getfd, r->prepared->cryo_pidfd, late, 0);

	if (fd < 0) {
		restore_err(r, f, "cannot take it from cryo's fd %d: %s", late, strerror(errno));
		return -errno;
	}
	fd = restore_move_high(r, fd);
	if (fd < 0)
		restore_err(r, f, "cannot move it above fd %d: %s", r->high - 1, strerror(-fd));
	return fd;
}

/* Opens @f, or takes the open file cryo prepared for it, and puts it at
 * each of its fds. */
static int install(struct restore_ctx *r, const struct file_obj *f)
{
	int fd = files_prepared_fd(r->prepared, f, r->img), ret = 0;
	int late = files_prepared_late_fd(r->prepared, f, r->img);
	bool prepared = fd >= 0, from_cryo = fd >= 0;

	/* Opened already to be sent in flight: the same open file. */
	if (!prepared && f->in_flight) {
		fd = restore_kept_fd(r, f->e->id);
		prepared = fd >= 0;
	}

	if (late >= 0) {
		fd = restore_take_late(r, f, late);
		if (fd < 0)
			return fd;
	} else if (!prepared) {
		fd = restore_open_object(r, f);
		if (fd < 0)
			return fd;
		fd = restore_move_high(r, fd);
		if (fd < 0) {
			restore_err(r, f, "cannot move it above fd %d: %s", r->high - 1,
				    strerror(-fd));
			return fd;
		}
		if (!f->kind->shares_foreign_file)
			ret = restore_set_state(r, f, fd);
	}
	for (size_t i = 0; i < f->nr_fds && !ret; i++) {
		int target = f->fds[i];
		const struct fd_slot *s = files_slot(r->img, target);

		if (dup3(fd, target, s->cloexec ? O_CLOEXEC : 0) != target) {
			ret = -errno;
			pr_err("restore: pid %d fd %d (%s file %u): cannot install it: %s",
			       r->img->pid, target, f->kind->name, f->e->id, strerror(errno));
		}
	}
	if (!ret && from_cryo && f->kind->shared_ready)
		ret = f->kind->shared_ready(r, f, fd);
	/* Not on a file shared with the world outside (cryo's terminal). */
	if (!ret && f->nr_fds && !f->kind->shares_foreign_file)
		ret = owner_restore(r, f, f->fds[0]);
	/* A queue not filled yet will send it. */
	if (!prepared && !ret && f->in_flight)
		return restore_keep_fd(r, f, fd);
	if (!prepared)
		close(fd);
	return ret;
}

/* Installs every object an fd refers to, each after those it depends on. */
static int install_all(struct restore_ctx *r)
{
	const struct files_image *img = r->img;
	_cleanup_free_ bool *done = calloc(img->nr_files + 1, sizeof(*done));
	size_t left = 0;

	if (!done) {
		pr_err("restore: pid %d: out of memory", img->pid);
		return -ENOMEM;
	}
	for (size_t i = 0; i < img->nr_files; i++)
		if (img->files[i].nr_fds)
			left++;
		else
			done[i] = true;
	while (left) {
		size_t installed = 0;

		for (size_t i = 0; i < img->nr_files; i++) {
			const struct file_obj *f = &img->files[i];
			bool ready = !done[i];
			int ret;

			for (size_t j = 0; j < f->nr_deps && ready; j++)
				ready = done[f->deps[j] - img->files];
			if (!ready)
				continue;
			ret = install(r, f);
			if (ret)
				return ret;
			restore_release_inode(r, f);
			done[i] = true;
			installed++;
		}
		if (!installed) {
			pr_err("restore: pid %d: %zu files wait for each other (an epoll cycle)",
			       img->pid, left);
			return -ELOOP;
		}
		left -= installed;
	}
	return 0;
}

int files_check_restorable(const struct files_image *img, bool shell_job)
{
	struct rlimit lim;

	for (size_t i = 0; i < img->nr_files; i++) {
		const struct file_obj *f = &img->files[i];
		int ret;

		if (!f->nr_fds || !f->kind->check_restorable)
			continue;
		ret = f->kind->check_restorable(img, f, shell_job);
		if (ret)
			return ret;
	}
	/* Temporaries need numbers above the restored ones. */
	if (!getrlimit(RLIMIT_NOFILE, &lim) && lim.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)files_max_fd(img) + 1 >= lim.rlim_cur) {
		pr_err("restore: pid %d fd %d leaves no room below cryo's open files limit (%llu)",
		       img->pid, files_max_fd(img), (unsigned long long)lim.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

/* A copy of the first of fds 0-2 that is a terminal, above the restored
 * range, for the objects that were the shell's terminal. */
int restore_find_terminal(struct restore_ctx *r)
{
	for (size_t i = 0; i < r->img->nr_files; i++) {
		if (!r->img->files[i].nr_fds || !r->img->files[i].kind->uses_cryo_terminal)
			continue;
		for (int fd = 0; fd < 3; fd++) {
			if (!isatty(fd))
				continue;
			r->tty = fcntl(fd, F_DUPFD_CLOEXEC, r->high);
			if (r->tty < 0)
				return pr_errno_ret("restore: pid %d: cannot keep a copy of fd %d, "
						    "cryo's terminal", r->img->pid, fd);
			return 0;
		}
		restore_err(r, &r->img->files[i], "was the shell's terminal, but none of cryo's "
			    "stdin, stdout and stderr is a terminal");
		return -ENOTTY;
	}
	return 0;
}

int files_restore(const struct files_image *img, const struct files_prepared *prepared,
		  bool shell_job)
{
	struct restore_ctx r = { .img = img, .high = files_max_fd(img) + 1, .tty = -1,
				 .prepared = prepared, .env = prepared ? prepared->env : NULL };
	int ret;

	ret = files_check_restorable(img, shell_job);
	if (!ret)
		ret = restore_find_terminal(&r);
	if (!ret && r.high > 0 && close_range(0, r.high - 1, 0))
		ret = pr_errno_ret("restore: pid %d: cannot close fds 0 to %d", img->pid,
				   r.high - 1);
	if (!ret)
		ret = install_all(&r);
	if (!ret)
		ret = restore_kept_ready(&r);
	/* Left over only when the restore failed. */
	restore_ctx_release(&r);
	if (!ret)
		pr_info("restore: pid %d: %zu fds restored", img->pid, img->nr_fds);
	return ret;
}

/* An fd of the task on @inode's file, or -1. */
static int task_fd_of(const struct files_image *img, const struct file_obj *inode)
{
	for (size_t i = 0; i < img->nr_files; i++)
		if (img->files[i].inode == inode && img->files[i].nr_fds)
			return img->files[i].fds[0];
	return -1;
}

/* Opens the file of @m from its inode: the task's fd of it, or the inode
 * made from the saved contents (once, kept in @r). */
static int open_mapping(struct restore_ctx *r, struct files_mapping *m)
{
	const struct file_obj *f = files_find(r->img, m->file_id)->inode;
	const struct inode_handle *h;
	char path[64];
	int from = task_fd_of(r->img, f), fd;

	if (from < 0)
		from = files_prepared_fd(r->prepared, f, r->img);
	if (from < 0) {
		h = restore_inode_get(r, f);
		if (!h)
			return -EIO;
		from = h->fd;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", from);
	/* A socket (a packet socket's rings) cannot be opened again: its
	 * own open file is mapped. */
	if (f->e->kind == FILE_ENTRY__KIND__PACKET_SOCKET)
		fd = fcntl(from, F_DUPFD_CLOEXEC, 0);
	else
		fd = open(path, (m->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		restore_err(r, f, "cannot open it for the mapping %#llx-%#llx (%s): %s",
			    (unsigned long long)m->start, (unsigned long long)m->end, path,
			    strerror(errno));
		return -errno;
	}
	m->fd = restore_move_high(r, fd);
	if (m->fd < 0) {
		restore_err(r, f, "cannot move the file of mapping %#llx-%#llx above fd %d: %s",
			    (unsigned long long)m->start, (unsigned long long)m->end, r->high,
			    strerror(-m->fd));
		return m->fd;
	}
	return 0;
}

int files_open_mappings(const struct files_image *img, const struct files_prepared *prepared,
			struct files_mapping *maps, size_t n, int base)
{
	struct restore_ctx r = { .img = img, .high = base, .tty = -1, .prepared = prepared,
				 .env = prepared ? prepared->env : NULL };
	int ret = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		ret = open_mapping(&r, &maps[i]);
		if (ret)
			break;
	}
	restore_ctx_release(&r);
	if (ret)
		while (i-- > 0)
			close(maps[i].fd);
	return ret;
}
