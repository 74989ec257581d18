/* Filling a range of restored memory by UFFDIO_COPY from a mapping of the
 * pages file: the kernel allocates each page and copies into it, where
 * MADV_POPULATE_WRITE then pread() zeroed every page before copying over it.
 * Only what userfaultfd takes (private anonymous and shmem mappings that
 * hold no page yet); the caller reads the rest its own way. With a filler,
 * cryo copies every other segment of the large ranges through the same
 * userfaultfd (restore/filler.c is its half). Lazy restore's userfaultfd is
 * uffd.c's, not this one. */
#include <asm/errno.h>
#include <asm/fcntl.h>
#include <linux/ioctl.h>
#include <linux/mman.h>
#include <linux/userfaultfd.h>

#include "blob/syscall.h"
#include "restorer/restorer.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define PAGE 4096UL

static long sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return blob_syscall(__NR_ioctl, fd, cmd, arg, 0, 0, 0);
}

long copy_fill_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	/* User-mode faults only: a fault of the kernel's in a registered
	 * range fails with EFAULT instead of waiting for a handler that
	 * never comes. */
	long fd = blob_syscall(__NR_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY, 0, 0, 0, 0, 0);
	long ret;

	if (fd < 0)
		return fd;
	ret = sys_ioctl((int)fd, UFFDIO_API, &api);
	if (ret) {
		sys_close((int)fd);
		return ret;
	}
	return fd;
}

long copy_fill_chunks(int uffd, char *dst, const char *src, uint64_t len, uint64_t chunk,
		      int hash, uint64_t *done)
{
	while (*done < len) {
		uint64_t want = len - *done < chunk ? len - *done : chunk;
		struct uffdio_copy copy = {
			.dst = (uint64_t)(dst + *done),
			.src = (uint64_t)(src + *done),
			.len = want,
			.mode = UFFDIO_COPY_MODE_DONTWAKE,
		};
		long ret = sys_ioctl(uffd, UFFDIO_COPY, &copy);

		/* EAGAIN: a part was copied (copy.copy bytes), go on from there. */
		if (ret && ret != -EAGAIN)
			return ret;
		if (copy.copy <= 0)
			return copy.copy ? copy.copy : -EAGAIN;
		if (hash)
			pages_hash_update(dst + *done, (uint64_t)copy.copy);
		*done += (uint64_t)copy.copy;
	}
	return 0;
}

long copy_fill_range(long uffd, const struct restorer_args *a, char *dst, uint64_t len,
		     int pages_fd, uint64_t off, uint64_t *done)
{
	struct uffdio_register reg = {
		.range = { .start = (uint64_t)dst, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_range range = { .start = (uint64_t)dst, .len = len };
	void *src;
	long ret;

	*done = 0;
	ret = sys_ioctl((int)uffd, UFFDIO_REGISTER, &reg);
	if (ret)
		return ret;
	/* Populated up front: a copy from a page not mapped yet takes the
	 * kernel's slow path, page by page. */
	src = sys_mmap(0, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, pages_fd, (long)off);
	if (blob_is_err((unsigned long)src)) {
		ret = (long)src;
	} else {
		ret = copy_fill_chunks((int)uffd, dst, src, len, a->verify_chunk,
				       (int)a->verify_pages, done);
		sys_munmap(src, len);
	}
	/* A range left registered would hang the task at its first fault. */
	if (sys_ioctl((int)uffd, UFFDIO_UNREGISTER, &range))
		return -ENOTRECOVERABLE;
	return ret;
}

/* The fills a filler may share: those copy_fill_range() would take, with
 * a part that is cryo's. */
static int filler_may_take(const struct restorer_args *a, const struct restorer_fill *f)
{
	return (a->fill_copy || a->read_ahead) && f->len >= RESTORER_COPY_FILL_MIN &&
	       !f->in_place && !f->plain && f->file_off != RESTORER_FILL_ZERO &&
	       restorer_filler_shares(f->file_off, f->len);
}

long filler_begin(const struct restorer_args *a, long *uffd)
{
	struct restorer_fill *f = (void *)a->fills;
	struct restorer_report r = { .pid = a->pid, .stage = RESTORE_STAGE_FILLER };
	uint32_t nr = 0;

	*uffd = copy_fill_open();
	if (*uffd < 0)
		return 0;	/* the reads do it all, as without a filler */
	for (uint32_t i = 0; i < a->nr_fills; i++) {
		struct uffdio_register reg = {
			.range = { .start = f[i].addr, .len = f[i].len },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		/* A range userfaultfd refuses is read by the restorer alone. */
		f[i].by_filler = filler_may_take(a, &f[i]) &&
				 !sys_ioctl((int)*uffd, UFFDIO_REGISTER, &reg);
		nr += f[i].by_filler;
	}
	if (!nr)
		return 0;
	r.uffd = (int32_t)*uffd;
	r.addr = a->fills;
	r.nr_fills = a->nr_fills;
	return sys_write(a->report_fd, &r, sizeof(r)) == sizeof(r) ? 0 : -EPIPE;
}

/* Every page is known to be in before the task runs. A page cryo has not
 * copied yet faults and waits until its UFFDIO_COPY wakes it. */
void filler_take(const struct restorer_args *a, const char *dst, uint64_t len)
{
	if (a->verify_pages) {
		pages_hash_update(dst, len);
		return;
	}
	for (uint64_t i = 0; i < len; i += PAGE)
		(void)*(const volatile char *)(dst + i);
}

long filler_fill(const struct restorer_args *a, long uffd, const struct restorer_fill *f)
{
	uint64_t end = f->file_off + f->len;
	char *src = sys_mmap(0, f->len, PROT_READ, MAP_PRIVATE, a->pages_fd[f->file],
			     (long)f->file_off);
	long ret = 0;

	if (blob_is_err((unsigned long)src))
		return (long)src;
	for (uint64_t off = f->file_off, cut; !ret && off < end; off = cut) {
		char *dst = (char *)f->addr + (off - f->file_off);
		uint64_t done = 0;

		cut = restorer_filler_segment_end(off, end);
		if (restorer_filler_owns(off)) {
			filler_take(a, dst, cut - off);
			continue;
		}
		/* See copy_fill_range(): the copy wants its source mapped. */
		ret = sys_madvise(src + (off - f->file_off), cut - off, MADV_POPULATE_READ);
		if (!ret)
			ret = copy_fill_chunks((int)uffd, dst, src + (off - f->file_off),
					       cut - off, a->verify_chunk, (int)a->verify_pages,
					       &done);
	}
	sys_munmap(src, f->len);
	return ret;
}

long filler_fill_stream(struct fill_stream *s, uint32_t fill)
{
	const struct restorer_fill *f = &((const struct restorer_fill *)s->a->fills)[fill];
	uint64_t end = f->file_off + f->len;
	long ret = 0;

	for (uint64_t off = f->file_off, cut; !ret && off < end; off = cut) {
		char *dst = (char *)f->addr + (off - f->file_off);

		cut = restorer_filler_segment_end(off, end);
		ret = restorer_filler_owns(off) ? stream_take(s, dst, cut - off) :
						  stream_read(s, fill, dst, cut - off, f->file, off);
	}
	return ret;
}

long filler_end(const struct restorer_args *a, long uffd)
{
	const struct restorer_fill *f = (const void *)a->fills;

	for (uint32_t i = 0; i < a->nr_fills; i++) {
		struct uffdio_range range = { .start = f[i].addr, .len = f[i].len };

		if (f[i].by_filler && sys_ioctl((int)uffd, UFFDIO_UNREGISTER, &range))
			return -ENOTRECOVERABLE;
	}
	return 0;
}
