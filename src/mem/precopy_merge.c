/* The end of a pre-copy dump, after the release: the tracking stopped, and
 * each process's pages file, which the pass while it ran wrote in place,
 * completed by the frozen pass: its pages go into the room left between
 * the pages kept (a page written since, in the place of its old copy), or,
 * where no room is left, after the file's end with every page after them
 * moved there too (the file must stay in address order). Then the pagemap
 * and the digest: an ordinary image, restore knows nothing of pre-copy.
 * Arming and the passes are precopy.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "mem/precopy_internal.h"
#include "stats/stats.h"

#define PS IMG_PAGE_SIZE
/* The copy buffer where copy_file_range() is refused. */
#define PLACE_BUF (1u << 20)

struct place {
	struct precopy_task *pt;
	struct pages_writer *pw;
	int fd;			/* the pages file */
	uint64_t cursor;	/* where the last range placed ends */
	bool moved;		/* no room left: everything goes past the first pass's bytes */
	uint64_t moved_from;	/* the address where room ran out */
	uint64_t kept, placed, moved_pages;
};

/* @len bytes from @in_fd at @in_off to @out_fd at @out_off, in the kernel
 * where it can (the same file too: the two never overlap). */
static int copy_bytes(struct place *p, int in_fd, uint64_t in_off, uint64_t out_off, uint64_t len)
{
	_cleanup_free_ char *buf = NULL;
	loff_t in = (loff_t)in_off, out = (loff_t)out_off;

	while (len) {
		ssize_t n = copy_file_range(in_fd, &in, p->fd, &out, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
			      errno == ENOSYS))
			break;
		if (n < 0)
			return pr_errno_ret("dump: pid %d: cannot place pre-copied pages in its pages "
					    "file", p->pt->pid);
		if (n == 0)
			return -EIO;
		len -= (uint64_t)n;
	}
	if (len && !(buf = malloc(PLACE_BUF)))
		return -ENOMEM;
	while (len) {
		size_t want = len < PLACE_BUF ? len : PLACE_BUF;
		ssize_t r = pread(in_fd, buf, want, in);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || pwrite(p->fd, buf, (size_t)r, out) != r)
			return pr_errno_ret("dump: pid %d: cannot place pre-copied pages in its pages "
					    "file", p->pt->pid);
		in += r;
		out += r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* Past the first pass's bytes: nothing there is still to be read. */
static uint64_t move_target(struct place *p, uint64_t vaddr)
{
	if (!p->moved) {
		p->moved = true;
		p->moved_from = vaddr;
		if (p->cursor < p->pt->first_size)
			p->cursor = p->pt->first_size;
	}
	return p->cursor;
}

static int place_kept(struct place *p, const struct pages_scratch_range *r)
{
	uint64_t len = r->nr_pages * PS, at;
	int ret;

	p->kept += r->nr_pages;
	if (!p->moved && r->file_off >= p->cursor) {
		p->cursor = r->file_off + len;
		return pages_write_at(p->pw, r->vaddr, r->nr_pages, r->file_off);
	}
	at = move_target(p, r->vaddr);
	ret = copy_bytes(p, p->fd, r->file_off, at, len);
	if (!ret)
		ret = pages_write_at(p->pw, r->vaddr, r->nr_pages, at);
	p->cursor = at + len;
	p->moved_pages += r->nr_pages;
	return ret;
}

/* A present range of the frozen pass: at the cursor when it fits before
 * the next page kept (@limit), else past the first pass's bytes. */
static int place_frozen(struct place *p, const struct pages_scratch_range *r, uint64_t limit)
{
	uint64_t len = r->nr_pages * PS, at;
	int ret;

	if (!p->moved && p->cursor <= limit && len <= limit - p->cursor)
		at = p->cursor;
	else
		at = move_target(p, r->vaddr);
	ret = copy_bytes(p, p->pt->frozen.fd, r->file_off, at, len);
	if (!ret)
		ret = pages_write_at(p->pw, r->vaddr, r->nr_pages, at);
	p->cursor = at + len;
	p->placed += r->nr_pages;
	return ret;
}

static int place_frozen_range(struct place *p, const struct pages_scratch_range *r,
			      uint64_t limit)
{
	switch (r->state) {
	case PAGEMAP_ENTRY__STATE__PRESENT:
		return place_frozen(p, r, limit);
	case PAGEMAP_ENTRY__STATE__ZERO:
		return pages_write_zero(p->pw, r->vaddr, r->nr_pages);
	case PAGEMAP_ENTRY__STATE__IN_PARENT:
		return pages_write_in_parent(p->pw, r->vaddr, r->nr_pages, r->parent_vaddr,
					     r->sibling);
	default:
		return -EINVAL;
	}
}

static int complete_task(struct precopy_task *pt, struct stats *st)
{
	struct place p = { .pt = pt, .pw = pt->store, .fd = pages_inplace_fd(pt->store) };
	size_t f = 0, k = 0;
	int ret = 0;

	pt->store = NULL;
	while (!ret && (f < pt->frozen.nr || k < pt->kept.nr)) {
		const struct pages_scratch_range *r = k < pt->kept.nr ? &pt->kept.v[k] : NULL;

		if (!r || (f < pt->frozen.nr && pt->frozen.v[f].vaddr < r->vaddr)) {
			ret = place_frozen_range(&p, &pt->frozen.v[f++],
						 r ? r->file_off : UINT64_MAX);
			continue;
		}
		ret = place_kept(&p, r);
		k++;
	}
	if (ret) {
		pages_writer_abort(p.pw);
		return ret;
	}
	ret = pages_writer_finish(p.pw);
	if (!ret && st) {
		st->pages_written += p.kept;
		st->bytes_written += p.kept * PS;
	}
	if (!ret && p.moved)
		pr_info("dump: pid %d: pre-copy: no room left in its pages file at 0x%llx: %llu pages "
			"of the pass while it ran moved past its bytes", pt->pid,
			(unsigned long long)p.moved_from, (unsigned long long)p.moved_pages);
	if (!ret)
		pr_info("dump: pid %d: pre-copy: %llu pages from the pass while it ran, %llu from the "
			"frozen pass placed in its pages file (%zu ranges)", pt->pid,
			(unsigned long long)p.kept, (unsigned long long)p.placed, pt->frozen.nr);
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
		if (pc->tasks[i].frozen_done && pc->tasks[i].store)
			ret = complete_task(&pc->tasks[i], st);
	return ret;
}
