/* Reading and checking the AIO rings of a task at dump (aio.h). The kernel
 * shows no list of submitted requests: the ring holds only completions, so
 * requests still in flight are seen only when one completes during the
 * dump (the tail moves). Restoring rings is restorer/aio.c's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/kabi.h"
#include "mem/aio.h"
#include "mem/vma.h"

#define AIO_RING_NAME "/[aio] (deleted)"

bool aio_is_ring(pid_t pid, uint64_t start, uint64_t end, const char *name)
{
	char link[96];
	struct statfs sfs;

	if (strcmp(name, AIO_RING_NAME))
		return false;
	snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
	return !statfs(link, &sfs) && (uint32_t)sfs.f_type == KABI_AIO_RING_MAGIC;
}

static int read_header(pid_t pid, const Vma *v, struct kabi_aio_ring *ring)
{
	_cleanup_close_ int fd = -1;
	char path[64], label[VMA_LABEL_MAX];
	ssize_t n;

	vma_label(v, label, sizeof(label));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("dump: pid %d vma %s: cannot open %s", pid, label, path);
	n = pread(fd, ring, sizeof(*ring), (off_t)v->start);
	if (n < 0)
		return pr_errno_ret("dump: pid %d vma %s: cannot read the AIO ring's header", pid,
				    label);
	if (n != sizeof(*ring)) {
		pr_err("dump: pid %d vma %s: the AIO ring's header is cut short", pid, label);
		return -EIO;
	}
	return 0;
}

int aio_ring_read(pid_t pid, Vma *v)
{
	uint64_t slots = (v->end - v->start - sizeof(struct kabi_aio_ring)) / KABI_AIO_EVENT_SIZE;
	struct kabi_aio_ring ring;
	char label[VMA_LABEL_MAX];
	int ret = read_header(pid, v, &ring);

	if (ret)
		return ret;
	vma_label(v, label, sizeof(label));
	if (ring.magic != KABI_AIO_RING_MAGIC || ring.header_length != sizeof(ring) ||
	    ring.compat_features != KABI_AIO_RING_COMPAT_FEATURES ||
	    ring.incompat_features != KABI_AIO_RING_INCOMPAT_FEATURES) {
		pr_err("dump: pid %d vma %s: AIO ring header of an unknown layout (magic %#x, "
		       "features %u/%u, header %u bytes)", pid, label, ring.magic,
		       ring.compat_features, ring.incompat_features, ring.header_length);
		return -EOPNOTSUPP;
	}
	/* head is the program's to write: one out of range would make
	 * the kernel wrap it, restore cannot. */
	if (ring.nr != slots || ring.head >= ring.nr || ring.tail >= ring.nr) {
		pr_err("dump: pid %d vma %s: AIO ring of %u events (the mapping holds %" PRIu64
		       ") with head %u and tail %u cannot be restored", pid, label, ring.nr,
		       slots, ring.head, ring.tail);
		return -EOPNOTSUPP;
	}
	v->has_aio_nr = v->has_aio_head = v->has_aio_tail = true;
	v->aio_nr = ring.nr;
	v->aio_head = ring.head;
	v->aio_tail = ring.tail;
	return 0;
}

int aio_rings_unchanged(pid_t pid, const struct vma_list *vmas)
{
	for (size_t i = 0; i < vmas->nr; i++) {
		const Vma *v = vmas->vmas[i];
		char label[VMA_LABEL_MAX];
		struct kabi_aio_ring ring;
		int ret;

		if (v->kind != VMA__KIND__AIO)
			continue;
		ret = read_header(pid, v, &ring);
		if (ret)
			return ret;
		if (ring.head == v->aio_head && ring.tail == v->aio_tail)
			continue;
		vma_label(v, label, sizeof(label));
		pr_err("dump: pid %d vma %s: AIO requests were in flight (the ring's tail moved "
		       "from %u to %u during the dump): in-flight AIO requests are not supported",
		       pid, label, v->aio_tail, ring.tail);
		return -EBUSY;
	}
	return 0;
}
