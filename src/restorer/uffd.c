/* The restorer's half of a lazy restore: the mappings marked lazy stay
 * empty and are registered with a new userfaultfd (MISSING mode), whose
 * number goes to cryo in the report; cryo takes the file with
 * pidfd_getfd, closes this copy, and its page server fills the pages.
 * Before that, the pages holding each thread's rseq area are populated:
 * the kernel writes there as soon as rseq is registered, before any page
 * server could answer a fault. */
#include <asm/fcntl.h>
#include <linux/ioctl.h>
#include <linux/mman.h>
#include <linux/userfaultfd.h>

#include "blob/syscall.h"
#include "restorer/restorer.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PAGE 4096UL

static long sys_userfaultfd(int flags)
{
	return blob_syscall(__NR_userfaultfd, flags, 0, 0, 0, 0, 0);
}

static long sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return blob_syscall(__NR_ioctl, fd, cmd, arg, 0, 0, 0);
}

static long populate_rseq_pages(const struct restorer_args *a, uint64_t *addr)
{
	const struct restorer_thread *t = (const void *)a->threads;

	for (uint32_t i = 0; i < a->nr_threads; i++) {
		uint64_t start, end;
		long ret;

		if (!t[i].rseq_abi || !t[i].rseq_len)
			continue;
		start = t[i].rseq_abi & ~(PAGE - 1);
		end = (t[i].rseq_abi + t[i].rseq_len + PAGE - 1) & ~(PAGE - 1);
		ret = sys_madvise((void *)start, end - start, MADV_POPULATE_WRITE);
		if (ret) {
			*addr = start;
			return ret;
		}
	}
	return 0;
}

long register_lazy_vmas(const struct restorer_args *a, int32_t *uffd, uint64_t *addr)
{
	const struct restorer_vma *v = (const void *)a->vmas;
	struct uffdio_api api = { .api = UFFD_API, .features = a->uffd_features };
	uint32_t i;
	long fd, ret;

	for (i = 0; i < a->nr_vmas && !v[i].lazy; i++)
		;
	if (i == a->nr_vmas)
		return 0;
	ret = populate_rseq_pages(a, addr);
	if (ret)
		return ret;
	*addr = 0;
	fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fd;
	ret = sys_ioctl((int)fd, UFFDIO_API, &api);
	for (; !ret && i < a->nr_vmas; i++) {
		struct uffdio_register reg = {
			.range = { .start = v[i].start, .len = v[i].end - v[i].start },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (!v[i].lazy)
			continue;
		ret = sys_ioctl((int)fd, UFFDIO_REGISTER, &reg);
		if (ret)
			*addr = v[i].start;
	}
	if (ret) {
		sys_close((int)fd);
		return ret;
	}
	*uffd = (int32_t)fd;
	return 0;
}
