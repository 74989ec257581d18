/* Files a process needs for a moment though only another process holds
 * them (an epoll registers a file whose fds the process closed): marked at
 * load, opened by cryo before the tree for the holder and the borrower
 * alike (prepare.c, as any file two processes share), and taken by the
 * borrower at restore. Finding the holder at dump is dump.c's. */
#include <errno.h>

#include "files/internal.h"

int files_borrow(struct files_image *img, const struct file_obj *by, uint32_t id)
{
	struct file_obj *f = files_find(img, id);
	const struct file_kind *k = f ? f->kind : NULL;

	if (!f || f == by) {
		load_err(img, by, "borrows file %u from another process, which is %s", id,
			 f ? "itself" : "not in files.img");
		return -EBADMSG;
	}
	if (k->opened_in_task &&
	    (!k->opened_by_cryo || k->opened_by_cryo(f->e) == FILE_OPENED_IN_TASK_ONLY)) {
		load_err(img, by, "borrows file %u, a %s that only its own process can open", id,
			 k->name);
		return -EBADMSG;
	}
	f->borrowed = true;
	return 0;
}

int restore_borrowed_fd(struct restore_ctx *r, const struct file_obj *by, uint32_t id)
{
	const struct file_obj *f = files_find(r->img, id);
	int fd, late;

	if (!f || !f->borrowed) {
		restore_err(r, by, "file %u was not loaded as one it borrows", id);
		return -EINVAL;
	}
	fd = files_prepared_fd(r->prepared, f, r->img);
	if (fd < 0)
		fd = restore_kept_fd(r, id);
	if (fd >= 0)
		return fd;
	late = files_prepared_late_fd(r->prepared, f, r->img);
	if (late < 0) {
		restore_err(r, by, "borrows %s file %u from another process, but cryo did not open "
			    "it for both", f->kind->name, id);
		return -ENOENT;
	}
	/* Kept, so that another epoll borrowing it takes the same copy. */
	fd = restore_take_late(r, f, late);
	if (fd < 0)
		return fd;
	return restore_keep_fd(r, f, fd) ? -ENOMEM : fd;
}
