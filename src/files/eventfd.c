/* The "eventfd" kind: its counter and EFD_SEMAPHORE, read from fdinfo and
 * given back by writing the counter into a new eventfd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "files/kind.h"

/* The kernel's ceiling: a write that would pass it blocks. */
#define EVENTFD_COUNT_MAX (UINT64_MAX - 1)

static bool eventfd_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

static int eventfd_dump(const struct file_dump *d)
{
	EventfdFile *e;
	uint64_t count, semaphore;
	int ret;

	ret = fdinfo_u64(d->p, "eventfd-count", 16, &count);
	if (!ret)
		ret = fdinfo_u64(d->p, "eventfd-semaphore", 10, &semaphore);
	if (ret)
		return ret;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	eventfd_file__init(e);
	d->fe->eventfd = e;
	e->count = count;
	e->semaphore = semaphore;
	return 0;
}

static int eventfd_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	(void)dir;
	if (f->e->eventfd->count > EVENTFD_COUNT_MAX) {
		load_err(img, f, "counter %#llx is above the kernel's maximum",
			 (unsigned long long)f->e->eventfd->count);
		return -EBADMSG;
	}
	return 0;
}

static int eventfd_open(struct restore_ctx *r, const struct file_obj *f)
{
	const EventfdFile *e = f->e->eventfd;
	int fd;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e->semaphore ? EFD_SEMAPHORE : 0));
	if (fd < 0) {
		restore_err(r, f, "cannot create an eventfd: %s", strerror(errno));
		return -errno;
	}
	/* eventfd() takes 32 bits only; a write adds all 64. */
	if (e->count && write(fd, &e->count, sizeof(e->count)) != sizeof(e->count)) {
		restore_err(r, f, "cannot set its counter to %llu: %s",
			    (unsigned long long)e->count, strerror(errno));
		close(fd);
		return -EIO;
	}
	return fd;
}

const struct file_kind eventfd_kind = {
	.name = "eventfd",
	.type = FILE_ENTRY__KIND__EVENTFD,
	.in_flight_ok = true,
	.recognise = eventfd_recognise,
	.dump = eventfd_dump,
	.check = eventfd_check,
	.open = eventfd_open,
};
