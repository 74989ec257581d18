/* Restoring an AIO context inside the task: io_setup() makes a ring of the
 * saved size, writes to a scratch memfd (which complete at once) move the
 * kernel's own tail to the saved one while head follows, the saved events
 * are copied in, and mremap() puts the ring at the saved address, which
 * the kernel then takes as the context's id. Dump is mem/aio.c's. */
#include <asm/errno.h>
#include <linux/aio_abi.h>
#include <linux/mman.h>

#include "blob/syscall.h"
#include "kabi/kabi.h"
#include "restorer/restorer.h"

#define SUBMIT_BATCH 64

/* The io_setup() argument that gives a ring of @nr events: the kernel
 * doubles the request and adds two slots, then fills whole pages. */
static unsigned long nr_request(uint32_t nr)
{
	return (nr - 2) / 2;
}

/* Submits @count writes of one byte to @fd, each completing at once, with
 * head following the tail up to @head: the kernel's tail, which no one but
 * it can write, ends at @count modulo the ring's size. */
static long advance_tail(aio_context_t ctx, struct kabi_aio_ring *ring, uint32_t count,
			 uint32_t head, int fd)
{
	static char byte;
	struct iocb cb = {
		.aio_fildes = (uint32_t)fd,
		.aio_lio_opcode = IOCB_CMD_PWRITE,
		.aio_buf = (uint64_t)(unsigned long)&byte,
		.aio_nbytes = 1,
	};
	struct iocb *list[SUBMIT_BATCH];

	for (int i = 0; i < SUBMIT_BATCH; i++)
		list[i] = &cb;
	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < SUBMIT_BATCH ? count - done : SUBMIT_BATCH;
		long ret;

		/* Reaping by writing head frees the slots for the next batch. */
		ring->head = done < head ? done : head;
		ret = blob_syscall(__NR_io_submit, ctx, n, list, 0, 0, 0);
		if (ret <= 0)
			return ret ? ret : -EAGAIN;
		done += (uint32_t)ret;
	}
	ring->head = head;
	return 0;
}

static long fill_ring(aio_context_t ctx, const struct restorer_vma *v)
{
	struct kabi_aio_ring *ring = (void *)ctx;
	uint32_t head = v->aio_head, tail = v->aio_tail;
	/* A tail behind head has gone round once more than head. */
	uint32_t count = tail >= head ? tail : tail + v->aio_nr;
	const char *from = (const char *)v->start + sizeof(*ring);
	char *to = (char *)ctx + sizeof(*ring);
	long ret = 0;

	if (ring->nr != v->aio_nr)
		return -ERANGE;	/* this machine's CPU count made it another size */
	if (count) {
		int fd = (int)blob_syscall(__NR_memfd_create, "cryo-aio", 0, 0, 0, 0, 0);

		if (fd < 0)
			return fd;
		ret = advance_tail(ctx, ring, count, head, fd);
		sys_close(fd);
		if (ret)
			return ret;
	}
	for (uint64_t i = 0; i < v->end - v->start - sizeof(*ring); i++)
		to[i] = from[i];
	return 0;
}

long restore_aio_ring(const struct restorer_vma *v)
{
	uint64_t len = v->end - v->start;
	aio_context_t ctx = 0;
	struct timespec zero = { 0, 0 };
	void *moved;
	long ret;

	ret = blob_syscall(__NR_io_setup, nr_request(v->aio_nr), &ctx, 0, 0, 0, 0);
	if (ret)
		return ret;
	ret = fill_ring(ctx, v);
	if (ret) {
		blob_syscall(__NR_io_destroy, ctx, 0, 0, 0, 0, 0);
		return ret;
	}
	/* Replaces the anonymous copy; the kernel follows the move. */
	moved = sys_mremap((void *)ctx, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)v->start);
	if (blob_is_err((unsigned long)moved))
		return (long)moved;
	if ((uint64_t)moved != v->start)
		return -EFAULT;
	/* The context answers to its old id: a look that reaps nothing. */
	return blob_syscall(__NR_io_getevents, v->start, 0, 0, 0, &zero, 0);
}
