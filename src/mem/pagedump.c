/* Copying pages out of a seized task into the pages store: ranges are
 * queued into one buffer, read with as few process_vm_readv calls as the
 * iovec limit allows (or through /proc/PID/mem where the mapping is not
 * readable), checked for zeros, and handed to the pages writer in order.
 * Two buffers take turns once a task has more than one buffer of pages: a
 * writer thread writes one while this thread reads the next, so the copy
 * out of the task overlaps the write. The digest of the pages file is
 * taken here, right after each read while the bytes are in the cache, not
 * beside the write: the writer's half was the longer (1 GiB into tmpfs:
 * 59% of the samples against 41%, XXH3 7.5% of them). process_vm_readv and
 * writes need no ptrace, so any thread may do them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/page_digests.h"
#include "mem/page_batch.h"
#include "mem/pagedump.h"
#include "mem/pagescan.h"
#include "mem/pagesplice.h"
#include "mem/vma.h"
#include "stats/stats.h"

#define PS IMG_PAGE_SIZE

struct pagedump {
	pid_t pid;
	int mem_fd;		/* /proc/PID/mem */
	struct pages_writer *pw;
	struct page_batch_pool *pool;	/* lends the batches' buffers; NULL: none */
	struct batch batches[2];
	struct batch *fill;	/* the one being queued and read */
	struct iovec *remote;	/* IOV_MAX of them, reused */
	uint64_t pages_read;
	struct stats *stats;	/* counted per batch read; NULL: none */
	bool unpinned;		/* read all through /proc/PID/mem: see pagedump_read_unpinned() */
	/* The parasite's way (pagesplice.c) for what it takes; it and the
	 * buffered path take turns on the pages file, each flushed first. */
	struct pagesplice *splice;
	/* Pages never spliced, sorted: see pagedump_copy_not_splice(). */
	uint64_t *copied;
	size_t nr_copied;
	/* The parent set's digests of this task, and where this dump's go. */
	const struct page_digests *parent_digests;
	struct page_digests_writer *digests_out;
	size_t parent_cursor;
	/* Pages of the mapping being queued to leave in the parent set
	 * unread (pagedump_set_unread()), and the first not passed yet. */
	const struct page_ranges *unread;
	size_t unread_at;
	/* Written by whoever saves batches; read once the writer is joined. */
	uint64_t pages_saved, pages_zero, pages_in_parent, pages_in_parent_image;
	uint64_t pages_unread;	/* of pages_in_parent_image: never read */

	/* The writer thread, started at the first full buffer. */
	bool writer_started;
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *to_save;	/* handed to the writer, NULL when it is idle */
	bool stop;
	int save_err;		/* the writer's first error */
};

int pagedump_open(pid_t pid, struct pages_writer *pw, struct page_batch_pool *pool,
		  struct pagedump **out)
{
	struct pagedump *pd = calloc(1, sizeof(*pd));
	char path[64];
	int ret;

	if (!pd)
		goto err_nomem;
	pd->pid = pid;
	pd->pw = pw;
	pd->pool = pool;
	pd->mem_fd = -1;
	pd->fill = &pd->batches[0];
	pthread_mutex_init(&pd->lock, NULL);
	pthread_cond_init(&pd->cond, NULL);
	pd->remote = calloc(IOV_MAX, sizeof(*pd->remote));
	if (batch_init(pd->pool, &pd->batches[0]) || !pd->remote)
		goto err_nomem;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	pd->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pd->mem_fd < 0) {
		ret = pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
		pagedump_close(pd);
		return ret;
	}
	ret = pages_hash_by_caller(pw);
	if (ret) {
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

void pagedump_set_stats(struct pagedump *pd, struct stats *stats)
{
	pd->stats = stats;
}

void pagedump_read_unpinned(struct pagedump *pd)
{
	pd->unpinned = true;
}

/* Waits until the writer has saved what it was given; its error, if any. */
static int writer_wait_idle(struct pagedump *pd)
{
	int err;

	pthread_mutex_lock(&pd->lock);
	while (pd->to_save)
		pthread_cond_wait(&pd->cond, &pd->lock);
	err = pd->save_err;
	pthread_mutex_unlock(&pd->lock);
	return err;
}

static void writer_stop(struct pagedump *pd)
{
	if (!pd->writer_started)
		return;
	pthread_mutex_lock(&pd->lock);
	pd->stop = true;
	pthread_cond_broadcast(&pd->cond);
	pthread_mutex_unlock(&pd->lock);
	pthread_join(pd->writer, NULL);
	pd->writer_started = false;
}

void pagedump_close(struct pagedump *pd)
{
	if (!pd)
		return;
	pagesplice_close(pd->splice);
	free(pd->copied);
	writer_stop(pd);
	if (pd->mem_fd >= 0)
		close(pd->mem_fd);
	for (int i = 0; i < 2; i++)
		batch_release(pd->pool, &pd->batches[i]);
	free(pd->remote);
	pthread_mutex_destroy(&pd->lock);
	pthread_cond_destroy(&pd->cond);
	free(pd);
}

void pagedump_get_stats(const struct pagedump *pd, struct pagedump_stats *stats)
{
	stats->pages_read = pd->pages_read;
	stats->pages_saved = pd->pages_saved;
	stats->pages_zero = pd->pages_zero;
	stats->pages_in_parent = pd->pages_in_parent;
	stats->pages_in_parent_image = pd->pages_in_parent_image;
	stats->pages_unread = pd->pages_unread;
	if (pd->splice)
		pagesplice_counts(pd->splice, &stats->pages_read, &stats->pages_saved,
				  &stats->pages_zero);
}

int pagedump_splice_through(struct pagedump *pd, struct inj_parasite *parasite,
			    uint32_t nr_files)
{
	return pagesplice_open(parasite, pd->pid, pd->pw, nr_files, pd->stats, &pd->splice);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int pagedump_copy_not_splice(struct pagedump *pd, uint64_t addr, uint64_t len)
{
	/* 64 bits wide: PS is unsigned int, and ~(PS - 1) alone would clear
	 * the address's upper half (no page ever matched). */
	const uint64_t page_mask = ~(uint64_t)(PS - 1);
	uint64_t first = addr & page_mask, last = (addr + (len ? len : 1) - 1) & page_mask;
	uint64_t *more;

	if (last < first)
		return -EINVAL;
	more = realloc(pd->copied, (pd->nr_copied + (last - first) / PS + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	pd->copied = more;
	for (uint64_t page = first; page <= last; page += PS)
		pd->copied[pd->nr_copied++] = page;
	qsort(pd->copied, pd->nr_copied, sizeof(*pd->copied), cmp_u64);
	return 0;
}

/* The first page of [@start, @end) that must not be spliced, else @end. */
static uint64_t first_copied_page(const struct pagedump *pd, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < pd->nr_copied; i++)
		if (pd->copied[i] >= start && pd->copied[i] < end)
			return pd->copied[i];
	return end;
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
static int read_through_mem(struct pagedump *pd, struct batch *b, const struct queued_range *r,
			    uint64_t skip)
{
	while (skip < r->len) {
		ssize_t n = pread(pd->mem_fd, b->buf + r->buf_off + skip, r->len - skip,
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
static int read_remote(struct pagedump *pd, struct batch *b, size_t first, size_t last)
{
	size_t k = first;
	uint64_t skip = 0;	/* bytes of range k already read */

	while (k < last) {
		struct iovec local = { b->buf + b->q[k].buf_off + skip, 0 };
		size_t cnt = 0;
		ssize_t n;

		for (size_t i = k; i < last && cnt < IOV_MAX; i++, cnt++) {
			uint64_t off = i == k ? skip : 0;

			pd->remote[cnt].iov_base = (void *)(uintptr_t)(b->q[i].addr + off);
			pd->remote[cnt].iov_len = b->q[i].len - off;
			local.iov_len += b->q[i].len - off;
		}
		n = process_vm_readv(pd->pid, &local, 1, pd->remote, cnt, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EFAULT)
			return read_error(pd, &b->q[k], b->q[k].addr + skip, -errno);
		if (n <= 0) {
			/* The range at the head could not be read this way (a
			 * mapping the kernel refuses to pin): try the other. */
			int ret = read_through_mem(pd, b, &b->q[k], skip);

			if (ret)
				return ret;
			k++;
			skip = 0;
			continue;
		}
		while (n > 0) {
			uint64_t rest = b->q[k].len - skip;

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

static int hash_batch(struct pagedump *pd, const struct batch *b);
static int compare_with_parent(struct pagedump *pd, struct batch *b);

/* Reads every range queued in @b, then feeds their digest. */
static int read_batch(struct pagedump *pd, struct batch *b)
{
	uint64_t read = 0;
	int ret = 0;

	for (size_t i = 0; i < b->nr && !ret;) {
		size_t j = i;

		if (b->q[i].unread) {
			i++;
			continue;
		}
		if (pd->unpinned || !(b->q[i].vma->prot & PROT_READ)) {
			ret = read_through_mem(pd, b, &b->q[i], 0);
			i++;
			continue;
		}
		while (j < b->nr && (b->q[j].vma->prot & PROT_READ) && !b->q[j].unread)
			j++;
		ret = read_remote(pd, b, i, j);
		i = j;
	}
	for (size_t i = 0; i < b->nr; i++)
		read += b->q[i].unread ? 0 : b->q[i].len / PS;
	pd->pages_read += read;
	stats_pages_read(pd->stats, read);
	if (!ret)
		ret = compare_with_parent(pd, b);
	return ret ? ret : hash_batch(pd, b);
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

enum page_class { PAGE_ZERO, PAGE_NEW, PAGE_KEPT };

/* Page @i of @r: zeros, bytes to store, or unchanged since the parent set. */
static enum page_class page_class(const struct batch *b, const struct queued_range *r,
				  uint64_t i)
{
	if (b->kept[r->buf_off / PS + i])
		return PAGE_KEPT;
	return page_is_zero(b->buf + r->buf_off + i * PS) ? PAGE_ZERO : PAGE_NEW;
}

/* The end of the run of pages of one class that starts at page @i of @r;
 * *@cls says which. Hashing and saving cut the same runs. */
static uint64_t run_end(const struct batch *b, const struct queued_range *r, uint64_t i,
			enum page_class *cls)
{
	uint64_t run = i + 1, pages = r->len / PS;

	*cls = page_class(b, r, i);
	while (run < pages && page_class(b, r, run) == *cls)
		run++;
	return run;
}

/* The parent set's digests of @r's pages, which were not read, go on
 * into this set's: the next dump of the chain compares with them. */
static int carry_digests(struct pagedump *pd, const struct queued_range *r)
{
	for (uint64_t i = 0; pd->digests_out && i < r->len / PS; i++) {
		const uint8_t *was = page_digests_find(pd->parent_digests, r->addr + i * PS,
						       &pd->parent_cursor);
		int ret;

		/* Queued unread only where the parent holds a digest. */
		if (!was)
			return -EIO;
		ret = page_digests_add(pd->digests_out, r->addr + i * PS, was);
		if (ret)
			return ret;
	}
	return 0;
}

/* Each non-zero page's digest, kept and compared with the parent set's:
 * equal, the page is left in the parent (kept). Pages the parent process
 * holds (IN_PARENT) are neither. */
static int compare_with_parent(struct pagedump *pd, struct batch *b)
{
	memset(b->kept, 0, sizeof(b->kept));
	if (!pd->parent_digests && !pd->digests_out)
		return 0;
	for (size_t k = 0; k < b->nr; k++) {
		const struct queued_range *r = &b->q[k];
		const uint8_t *data = b->buf + r->buf_off;

		if (r->unread) {
			int ret = carry_digests(pd, r);

			if (ret)
				return ret;
			continue;
		}
		for (uint64_t i = 0; !r->in_parent && i < r->len / PS; i++) {
			XXH128_canonical_t c;
			const uint8_t *was;
			int ret;

			if (page_is_zero(data + i * PS))
				continue;
			XXH128_canonicalFromHash(&c, XXH3_128bits(data + i * PS, PS));
			was = pd->parent_digests ?
				      page_digests_find(pd->parent_digests, r->addr + i * PS,
							&pd->parent_cursor) : NULL;
			if (was && !memcmp(was, c.digest, PAGE_DIGEST_SIZE))
				b->kept[r->buf_off / PS + i] = 1;
			ret = pd->digests_out ?
				      page_digests_add(pd->digests_out, r->addr + i * PS, c.digest) : 0;
			if (ret)
				return ret;
		}
	}
	return 0;
}

void pagedump_set_parent(struct pagedump *pd, const struct page_digests *parent,
			 struct page_digests_writer *out)
{
	pd->parent_digests = parent;
	pd->digests_out = out;
}

/* Feeds the digest with the pages of @b that save_batch() will write, in
 * the same order: the non-zero ones. */
static int hash_batch(struct pagedump *pd, const struct batch *b)
{
	int ret = 0;

	for (size_t k = 0; k < b->nr && !ret; k++) {
		const uint8_t *data = b->buf + b->q[k].buf_off;
		uint64_t pages = b->q[k].len / PS;

		if (b->q[k].in_parent || b->q[k].unread)
			continue;
		for (uint64_t i = 0, run; i < pages && !ret; i = run) {
			enum page_class cls;

			run = run_end(b, &b->q[k], i, &cls);
			if (cls == PAGE_NEW)
				ret = pages_hash(pd->pw, data + i * PS, run - i);
		}
	}
	return ret;
}

/* Hands the bytes of @r to the pages writer, run by run of zero or
 * non-zero pages. */
static int save_range(struct pagedump *pd, const struct batch *b, const struct queued_range *r)
{
	bool keep_zero = vma_keeps_zero_pages(r->vma);
	const uint8_t *data = b->buf + r->buf_off;
	uint64_t pages = r->len / PS;
	int ret = 0;

	if (r->unread) {
		pd->pages_in_parent_image += pages;
		pd->pages_unread += pages;
		return pages_write_in_parent_image(pd->pw, r->addr, pages);
	}
	for (uint64_t i = 0; i < pages && !ret;) {
		enum page_class cls;
		uint64_t run = run_end(b, r, i, &cls);
		bool zero = cls == PAGE_ZERO;

		if (cls == PAGE_KEPT) {
			ret = pages_write_in_parent_image(pd->pw, r->addr + i * PS, run - i);
			pd->pages_in_parent_image += run - i;
		} else if (!zero && r->in_parent) {
			ret = pages_write_in_parent(pd->pw, r->addr + i * PS, run - i,
						    r->parent_addr + i * PS, r->sibling);
			pd->pages_in_parent += run - i;
		} else if (!zero) {
			ret = pages_write(pd->pw, r->addr + i * PS, run - i, data + i * PS);
			pd->pages_saved += run - i;
		} else {
			pd->pages_zero += run - i;
			if (keep_zero)
				ret = pages_write_zero(pd->pw, r->addr + i * PS, run - i);
		}
		i = run;
	}
	return ret;
}

static int save_batch(struct pagedump *pd, struct batch *b)
{
	int ret = 0;

	for (size_t i = 0; i < b->nr && !ret; i++)
		ret = save_range(pd, b, &b->q[i]);
	b->nr = 0;
	b->used = 0;
	return ret;
}

static void *writer_main(void *arg)
{
	struct pagedump *pd = arg;

	pthread_mutex_lock(&pd->lock);
	for (;;) {
		struct batch *b;
		int ret;

		while (!pd->to_save && !pd->stop)
			pthread_cond_wait(&pd->cond, &pd->lock);
		if (!pd->to_save)
			break;
		b = pd->to_save;
		pthread_mutex_unlock(&pd->lock);
		/* After an error the rest is dropped: the dump fails anyway. */
		ret = pd->save_err ? 0 : save_batch(pd, b);
		b->nr = b->used = 0;
		pthread_mutex_lock(&pd->lock);
		if (ret && !pd->save_err)
			pd->save_err = ret;
		pd->to_save = NULL;
		pthread_cond_broadcast(&pd->cond);
	}
	pthread_mutex_unlock(&pd->lock);
	return NULL;
}

/* Gives the full batch to the writer thread (started on first use) and
 * switches to the other buffer, once the writer has let go of it. */
static int hand_to_writer(struct pagedump *pd)
{
	struct batch *next = pd->fill == &pd->batches[0] ? &pd->batches[1] : &pd->batches[0];
	int ret;

	if (!pd->writer_started) {
		if (batch_init(pd->pool, next)) {
			pr_err("dump: pid %d: out of memory for a second %u-byte page buffer",
			       pd->pid, PAGEDUMP_BUF_SIZE);
			return -ENOMEM;
		}
		ret = pthread_create(&pd->writer, NULL, writer_main, pd);
		if (ret) {
			pr_err("dump: pid %d: cannot start the page writer thread: %s", pd->pid,
			       strerror(ret));
			return -ret;
		}
		pd->writer_started = true;
	}
	ret = writer_wait_idle(pd);
	if (ret)
		return ret;
	pthread_mutex_lock(&pd->lock);
	pd->to_save = pd->fill;
	pthread_cond_broadcast(&pd->cond);
	pthread_mutex_unlock(&pd->lock);
	pd->fill = next;
	return 0;
}

/* Reads and saves what the buffered path has queued, and waits for it. */
static int flush_buffered(struct pagedump *pd)
{
	int ret;

	if (!pd->fill->nr)
		return pd->writer_started ? writer_wait_idle(pd) : 0;
	ret = read_batch(pd, pd->fill);
	if (ret)
		return ret;
	if (!pd->writer_started)
		return save_batch(pd, pd->fill);
	ret = hand_to_writer(pd);
	if (!ret)
		ret = writer_wait_idle(pd);
	return ret;
}

int pagedump_flush(struct pagedump *pd)
{
	int ret = flush_buffered(pd);

	if (!ret && pd->splice)
		ret = pagesplice_flush(pd->splice);
	return ret;
}

/* The parasite reads from inside the task, where a fault would kill it:
 * only private anonymous memory (no file to shrink under it). Not for a
 * task that shares pages copy-on-write with its parent or children: those
 * are read unpinned on purpose, and what vmsplice's references do to the
 * sharing is not checked. */
static bool spliced(const struct pagedump *pd, const Vma *vma, bool in_parent)
{
	return pd->splice && !pd->unpinned && !in_parent && vma_pages(vma) == VMA_PAGES_ANON &&
	       (vma->prot & PROT_READ);
}

static int copy_range(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end,
		      bool in_parent, uint64_t parent_addr, uint32_t sibling);

static int queue_range(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end,
		       bool in_parent, uint64_t parent_addr, uint32_t sibling)
{
	uint64_t copied;
	int ret;

	if (!spliced(pd, vma, in_parent))
		return copy_range(pd, vma, start, end, in_parent, parent_addr, sibling);
	/* Spliced around the pages that must be copied, in address order. */
	while (start < end) {
		copied = first_copied_page(pd, start, end);
		if (start < copied) {
			ret = flush_buffered(pd);
			if (!ret)
				ret = pagesplice_add(pd->splice, vma, start, copied);
			if (ret)
				return ret;
		}
		if (copied == end)
			break;
		pr_debug("dump: pid %d: page 0x%llx copied, not spliced (the kernel may write it "
			 "while the parasite runs)", pd->pid, (unsigned long long)copied);
		ret = copy_range(pd, vma, copied, copied + PS, false, 0, 0);
		if (ret)
			return ret;
		start = copied + PS;
	}
	return 0;
}

/* Through the buffers: read by process_vm_readv (or /proc/PID/mem) and
 * written by the writer thread, after what the parasite spliced. */
static int copy_range(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end,
		      bool in_parent, uint64_t parent_addr, uint32_t sibling)
{
	int ret;

	if (pd->splice) {
		ret = pagesplice_flush(pd->splice);
		if (ret)
			return ret;
	}
	while (start < end) {
		struct batch *b = pd->fill;
		uint64_t room = PAGEDUMP_BUF_SIZE - b->used;
		uint64_t len = end - start < room ? end - start : room;
		struct queued_range *r = &b->q[b->nr++];
		int ret;

		r->addr = start;
		r->len = len;
		r->buf_off = b->used;
		r->vma = vma;
		r->in_parent = in_parent;
		r->unread = false;
		r->parent_addr = parent_addr;
		r->sibling = sibling;
		b->used += len;
		batch_populate(b, b->used);
		start += len;
		parent_addr += len;
		if (b->used == PAGEDUMP_BUF_SIZE || b->nr == BATCH_MAX_RANGES) {
			ret = read_batch(pd, b);
			if (!ret)
				ret = hand_to_writer(pd);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Queues [@start, @end) to be left in the parent set without reading:
 * a slot among the batch's ranges, no room in its buffer. */
static int queue_unread(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end)
{
	struct batch *b = pd->fill;
	struct queued_range *r = &b->q[b->nr++];
	int ret;

	*r = (struct queued_range){ .addr = start, .len = end - start, .buf_off = b->used,
				    .vma = vma, .unread = true };
	if (b->nr < BATCH_MAX_RANGES)
		return 0;
	ret = read_batch(pd, b);
	return ret ? ret : hand_to_writer(pd);
}

void pagedump_set_unread(struct pagedump *pd, const struct page_ranges *unread)
{
	pd->unread = unread && unread->nr ? unread : NULL;
	pd->unread_at = 0;
}

int pagedump_add(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end)
{
	const struct page_ranges *u = pd->unread;
	int ret = 0;

	/* Runs of pages to read and of pages left unread, in address order. */
	while (u && start < end && !ret) {
		uint64_t s, e;

		while (pd->unread_at < u->nr && u->v[pd->unread_at].end <= start)
			pd->unread_at++;
		if (pd->unread_at == u->nr || u->v[pd->unread_at].start >= end)
			break;
		s = u->v[pd->unread_at].start > start ? u->v[pd->unread_at].start : start;
		e = u->v[pd->unread_at].end < end ? u->v[pd->unread_at].end : end;
		if (start < s)
			ret = queue_range(pd, vma, start, s, false, 0, 0);
		if (!ret)
			ret = queue_unread(pd, vma, s, e);
		start = e;
	}
	return ret || start >= end ? ret : queue_range(pd, vma, start, end, false, 0, 0);
}

/* Read all the same: a page that reads as zeros stays out of the image
 * as in any private anonymous mapping, so that an IN_PARENT page always
 * has a saved one in the parent (its zero page is shared too). */
int pagedump_add_in_parent(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end,
			   uint64_t parent_start, uint32_t sibling)
{
	return queue_range(pd, vma, start, end, true, parent_start, sibling);
}
