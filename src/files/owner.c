/* Signal-driven I/O of an open file, for every kind: its owner (F_SETOWN,
 * F_SETOWN_EX: a thread, a process or a process group), the signal it
 * sends (F_SETSIG) and O_ASYNC. Read at dump through the probe's copy of
 * the file (the very same open file description); set again at restore
 * in stage 2, when every process exists; an owner that is a thread only
 * once the restorer has made the threads, by cryo (restore/fd_owners.c,
 * from files_thread_owners()). Not here: the other status flags and the
 * position (restore.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "files/internal.h"

int owner_dump(const struct fd_probe *p, FileEntry *fe)
{
	struct f_owner_ex owner = { 0 };
	int sig;

	/* An O_PATH file has no owner: fcntl() refuses to say (EBADF). */
	if (p->fd < 0 || (p->flags & O_PATH))
		return 0;
	if (fcntl(p->dup, F_GETOWN_EX, &owner) < 0) {
		pr_fd_err(p, "cannot read its owner (F_GETOWN_EX): %s", strerror(errno));
		return -errno;
	}
	sig = fcntl(p->dup, F_GETSIG);
	if (sig < 0) {
		pr_fd_err(p, "cannot read its signal (F_GETSIG): %s", strerror(errno));
		return -errno;
	}
	if (owner.pid > 0) {
		fe->owner = malloc(sizeof(*fe->owner));
		if (!fe->owner)
			return -ENOMEM;
		file_owner__init(fe->owner);
		fe->owner->type = (uint32_t)owner.type;
		fe->owner->pid = owner.pid;
	}
	if (sig) {
		fe->has_signal = true;
		fe->signal = (uint32_t)sig;
	}
	return 0;
}

static const char *const owner_names[] = { "thread", "process", "process group" };

int owner_restore(const struct restore_ctx *r, const struct file_obj *f, int fd)
{
	const FileEntry *e = f->e;
	int flags;

	/* A thread does not exist yet: cryo gives it later (files_thread_owners()). */
	if (e->owner && e->owner->type != F_OWNER_TID) {
		struct f_owner_ex owner = { (enum __pid_type)e->owner->type, e->owner->pid };

		if (fcntl(fd, F_SETOWN_EX, &owner)) {
			restore_err(r, f, "cannot give it its owner, %s %d (F_SETOWN_EX): %s",
				    owner_names[e->owner->type], e->owner->pid, strerror(errno));
			return -errno;
		}
	}
	if (e->has_signal && fcntl(fd, F_SETSIG, (int)e->signal)) {
		restore_err(r, f, "cannot set its signal %u (F_SETSIG): %s", e->signal,
			    strerror(errno));
		return -errno;
	}
	if (!(e->flags & O_ASYNC))
		return 0;
	/* Last: the kernel ties signal-driven I/O to this fd number (si_fd). */
	/* open() may have left the flag without enabling it: off, then on. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_ASYNC) ||
	    fcntl(fd, F_SETFL, flags | O_ASYNC) || !(fcntl(fd, F_GETFL) & O_ASYNC)) {
		restore_err(r, f, "cannot set O_ASYNC: %s", strerror(errno));
		return errno ? -errno : -EIO;
	}
	return 0;
}

size_t files_thread_owners(const struct files_image *img, struct files_thread_owner *out,
			   size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nr_files && !img->table_shared; i++) {
		const struct file_obj *f = &img->files[i];

		if (!f->nr_fds || !f->e->owner || f->e->owner->type != F_OWNER_TID ||
		    f->kind->shares_foreign_file)
			continue;
		if (n < max) {
			out[n].fd = f->fds[0];
			out[n].tid = f->e->owner->pid;
		}
		n++;
	}
	return n;
}
