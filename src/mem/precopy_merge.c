/* The end of a pre-copy dump, after the release: the tracking stopped, and
 * each process's pages store written from its two scratch stores in
 * address order (the frozen pass's ranges, and the first pass's pages kept
 * unwritten), so that the image is an ordinary one: restore knows nothing
 * of pre-copy. Arming and the passes are precopy.c's. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "mem/precopy_internal.h"
#include "stats/stats.h"

#define PS IMG_PAGE_SIZE
/* How much of a scratch file is mapped at once. */
#define MERGE_WINDOW (4u << 20)

struct merge {
	struct precopy_task *pt;
	struct pages_writer *pw;
};

/* Pages [@vaddr, +@nr_pages) whose bytes are at @off of scratch file @fd,
 * written from a mapping of it: its cached pages, with no copy into a
 * buffer first (page-aligned, so the pages file may go O_DIRECT). */
static int copy_present(struct merge *m, int fd, uint64_t vaddr, uint64_t nr_pages, uint64_t off)
{
	while (nr_pages) {
		uint64_t n = nr_pages < MERGE_WINDOW / PS ? nr_pages : MERGE_WINDOW / PS;
		void *src = mmap(NULL, n * PS, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)off);
		int ret;

		if (src == MAP_FAILED)
			return pr_errno_ret("dump: pid %d: cannot map back pre-copied pages at 0x%llx",
					    m->pt->pid, (unsigned long long)vaddr);
		ret = pages_write(m->pw, vaddr, n, src);
		munmap(src, n * PS);
		if (ret)
			return ret;
		/* Read once: freed at once, so that a store in memory (tmpfs)
		 * never holds the pages twice over. */
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)(n * PS));
		vaddr += n * PS;
		off += n * PS;
		nr_pages -= n;
	}
	return 0;
}

static int copy_frozen_range(struct merge *m, const struct pages_scratch_range *r)
{
	switch (r->state) {
	case PAGEMAP_ENTRY__STATE__PRESENT:
		return copy_present(m, m->pt->frozen.fd, r->vaddr, r->nr_pages, r->file_off);
	case PAGEMAP_ENTRY__STATE__ZERO:
		return pages_write_zero(m->pw, r->vaddr, r->nr_pages);
	case PAGEMAP_ENTRY__STATE__IN_PARENT:
		return pages_write_in_parent(m->pw, r->vaddr, r->nr_pages, r->parent_vaddr);
	default:
		return -EINVAL;
	}
}

static int merge_task(struct precopy_task *pt, struct stats *st)
{
	struct merge m = { .pt = pt };
	size_t f = 0, k = 0;
	uint64_t kept = 0;
	int ret = pages_writer_open(pt->dir, pt->pid, &m.pw);

	while (!ret && (f < pt->frozen.nr || k < pt->kept.nr)) {
		const struct pages_scratch_range *r = k < pt->kept.nr ? &pt->kept.v[k] : NULL;

		if (!r || (f < pt->frozen.nr && pt->frozen.v[f].vaddr < r->vaddr)) {
			ret = copy_frozen_range(&m, &pt->frozen.v[f++]);
			continue;
		}
		ret = copy_present(&m, pt->first.fd, r->vaddr, r->nr_pages, r->file_off);
		kept += r->nr_pages;
		k++;
	}
	if (ret) {
		pages_writer_abort(m.pw);
		return ret;
	}
	ret = pages_writer_finish(m.pw);
	if (!ret && st) {
		st->pages_written += kept;
		st->bytes_written += kept * PS;
	}
	if (!ret)
		pr_info("dump: pid %d: pre-copy: %llu pages from the pass while it ran, %zu ranges "
			"from the frozen pass", pt->pid, (unsigned long long)kept, pt->frozen.nr);
	return ret;
}

int precopy_finish(struct precopy *pc, struct stats *st)
{
	int ret = 0;

	if (!pc)
		return 0;
	/* Closing a userfaultfd unregisters its ranges and clears their
	 * protection: the processes run unhindered from here on. */
	for (size_t i = 0; i < pc->nr; i++) {
		if (pc->tasks[i].uffd >= 0)
			close(pc->tasks[i].uffd);
		pc->tasks[i].uffd = -1;
	}
	for (size_t i = 0; i < pc->nr && !ret; i++)
		if (pc->tasks[i].frozen_done)
			ret = merge_task(&pc->tasks[i], st);
	return ret;
}
