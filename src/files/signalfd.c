/* The "signalfd" kind: the set of signals it accepts, from fdinfo. Signals
 * queued to the task are the task's, not the signalfd's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files/kind.h"

static bool signalfd_recognise(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

static int signalfd_dump(const struct file_dump *d)
{
	SignalfdFile *s;
	uint64_t mask;
	int ret;

	ret = fdinfo_u64(d->p, "sigmask", 16, &mask);
	if (ret)
		return ret;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	signalfd_file__init(s);
	d->fe->signalfd = s;
	s->sigmask = mask;
	return 0;
}

static int signalfd_open(struct restore_ctx *r, const struct file_obj *f)
{
	uint64_t mask = f->e->signalfd->sigmask;
	int fd;

	/* The raw call takes the kernel's 64-bit mask as it is; glibc's
	 * sigaddset() would refuse the signals it keeps for itself. */
	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);
	if (fd < 0) {
		restore_err(r, f, "cannot create a signalfd for mask %#llx: %s",
			    (unsigned long long)mask, strerror(errno));
		return -errno;
	}
	return fd;
}

const struct file_kind signalfd_kind = {
	.name = "signalfd",
	.type = FILE_ENTRY__KIND__SIGNALFD,
	.recognise = signalfd_recognise,
	.dump = signalfd_dump,
	.open = signalfd_open,
	.in_flight_ok = true,
};
