/* Copying pages out of a seized task into the pages store: ranges are
 * queued into one buffer, read with as few process_vm_readv calls as the
 * iovec limit allows (or through /proc/PID/mem where the mapping is not
 * readable), checked for zeros, and handed to the pages writer in order. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "mem/pagedump.h"
#include "mem/vma.h"

#define PS IMG_PAGE_SIZE
#define BATCH_MAX_RANGES (PAGEDUMP_BUF_SIZE / PS)

struct queued_range {
	uint64_t addr;
	uint64_t len;
	size_t buf_off;
	const Vma *vma;
};

struct pagedump {
	pid_t pid;
	int mem_fd;		/* /proc/PID/mem */
	struct pages_writer *pw;
	uint8_t *buf;
	size_t used;		/* bytes of @buf claimed by queued ranges */
	size_t nr;
	struct queued_range *q;
	struct iovec *remote;	/* IOV_MAX of them, reused */
	struct pagedump_stats stats;
};

int pagedump_open(pid_t pid, struct pages_writer *pw, struct pagedump **out)
{
	struct pagedump *pd = calloc(1, sizeof(*pd));
	char path[64];
	int ret;

	if (!pd)
		goto err_nomem;
	pd->pid = pid;
	pd->pw = pw;
	pd->mem_fd = -1;
	pd->buf = malloc(PAGEDUMP_BUF_SIZE);
	pd->q = calloc(BATCH_MAX_RANGES, sizeof(*pd->q));
	pd->remote = calloc(IOV_MAX, sizeof(*pd->remote));
	if (!pd->buf || !pd->q || !pd->remote)
		goto err_nomem;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	pd->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pd->mem_fd < 0) {
		ret = pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
		pagedump_close(pd);
		return ret;
	}
	*out = pd;
	return 0;

err_nomem:
	pagedump_close(pd);
	pr_err("dump: pid %d: out of memory for a %u-byte page buffer", pid, PAGEDUMP_BUF_SIZE);
	return -ENOMEM;
}

void pagedump_close(struct pagedump *pd)
{
	if (!pd)
		return;
	if (pd->mem_fd >= 0)
		close(pd->mem_fd);
	free(pd->buf);
	free(pd->q);
	free(pd->remote);
	free(pd);
}

void pagedump_get_stats(const struct pagedump *pd, struct pagedump_stats *stats)
{
	*stats = pd->stats;
}

static int read_error(struct pagedump *pd, const struct queued_range *r, uint64_t addr, int err)
{
	char label[VMA_LABEL_MAX];

	vma_label(r->vma, label, sizeof(label));
	pr_err("dump: pid %d vma %s: cannot read pages at 0x%llx: %s", pd->pid, label,
	       (unsigned long long)addr, strerror(-err));
	return err;
}

/* Reads the part of @r from @skip bytes on through /proc/PID/mem, which
 * reaches pages the mapping's protection hides from process_vm_readv. */
static int read_through_mem(struct pagedump *pd, const struct queued_range *r, uint64_t skip)
{
	while (skip < r->len) {
		ssize_t n = pread(pd->mem_fd, pd->buf + r->buf_off + skip, r->len - skip,
				  (off_t)(r->addr + skip));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return read_error(pd, r, r->addr + skip, n < 0 ? -errno : -EIO);
		skip += n;
	}
	return 0;
}

/* Reads queued ranges [@first, @last), all readable, with process_vm_readv:
 * one local buffer and up to IOV_MAX remote ranges per call. */
static int read_remote(struct pagedump *pd, size_t first, size_t last)
{
	size_t k = first;
	uint64_t skip = 0;	/* bytes of range k already read */

	while (k < last) {
		struct iovec local = { pd->buf + pd->q[k].buf_off + skip, 0 };
		size_t cnt = 0;
		ssize_t n;

		for (size_t i = k; i < last && cnt < IOV_MAX; i++, cnt++) {
			uint64_t off = i == k ? skip : 0;

			pd->remote[cnt].iov_base = (void *)(uintptr_t)(pd->q[i].addr + off);
			pd->remote[cnt].iov_len = pd->q[i].len - off;
			local.iov_len += pd->q[i].len - off;
		}
		n = process_vm_readv(pd->pid, &local, 1, pd->remote, cnt, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EFAULT)
			return read_error(pd, &pd->q[k], pd->q[k].addr + skip, -errno);
		if (n <= 0) {
			/* The range at the head could not be read this way (a
			 * mapping the kernel refuses to pin): try the other. */
			int ret = read_through_mem(pd, &pd->q[k], skip);

			if (ret)
				return ret;
			k++;
			skip = 0;
			continue;
		}
		while (n > 0) {
			uint64_t rest = pd->q[k].len - skip;

			if ((uint64_t)n >= rest) {
				n -= rest;
				k++;
				skip = 0;
			} else {
				skip += n;
				n = 0;
			}
		}
	}
	return 0;
}

static bool page_is_zero(const uint8_t *page)
{
	const uint64_t *w = (const uint64_t *)page;

	if (w[0])
		return false;
	for (size_t i = 0; i < PS / sizeof(*w); i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	return true;
}

/* Hands the bytes of @r to the pages writer, run by run of zero or
 * non-zero pages. */
static int save_range(struct pagedump *pd, const struct queued_range *r)
{
	bool keep_zero = vma_pages(r->vma) != VMA_PAGES_ANON;
	const uint8_t *data = pd->buf + r->buf_off;
	uint64_t pages = r->len / PS;
	int ret = 0;

	for (uint64_t i = 0; i < pages && !ret;) {
		bool zero = page_is_zero(data + i * PS);
		uint64_t run = i + 1;

		while (run < pages && page_is_zero(data + run * PS) == zero)
			run++;
		if (!zero) {
			ret = pages_write(pd->pw, r->addr + i * PS, run - i, data + i * PS);
			pd->stats.pages_saved += run - i;
		} else {
			pd->stats.pages_zero += run - i;
			if (keep_zero)
				ret = pages_write_zero(pd->pw, r->addr + i * PS, run - i);
		}
		i = run;
	}
	return ret;
}

int pagedump_flush(struct pagedump *pd)
{
	int ret = 0;

	for (size_t i = 0; i < pd->nr && !ret;) {
		size_t j = i;

		if (!(pd->q[i].vma->prot & PROT_READ)) {
			ret = read_through_mem(pd, &pd->q[i], 0);
			i++;
			continue;
		}
		while (j < pd->nr && (pd->q[j].vma->prot & PROT_READ))
			j++;
		ret = read_remote(pd, i, j);
		i = j;
	}
	for (size_t i = 0; i < pd->nr && !ret; i++) {
		pd->stats.pages_read += pd->q[i].len / PS;
		ret = save_range(pd, &pd->q[i]);
	}
	pd->nr = 0;
	pd->used = 0;
	return ret;
}

int pagedump_add(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end)
{
	while (start < end) {
		uint64_t room = PAGEDUMP_BUF_SIZE - pd->used;
		uint64_t len = end - start < room ? end - start : room;
		struct queued_range *r = &pd->q[pd->nr++];
		int ret;

		r->addr = start;
		r->len = len;
		r->buf_off = pd->used;
		r->vma = vma;
		pd->used += len;
		start += len;
		if (pd->used == PAGEDUMP_BUF_SIZE || pd->nr == BATCH_MAX_RANGES) {
			ret = pagedump_flush(pd);
			if (ret)
				return ret;
		}
	}
	return 0;
}
