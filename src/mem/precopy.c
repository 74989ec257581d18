/* Pre-copy (precopy.h): arming write tracking in a frozen process, the
 * first pass while it runs, and the bookkeeping of its frozen pass. The
 * write tracking is an async userfaultfd (UFFD_FEATURE_WP_ASYNC): a write
 * to a protected page is resolved by the kernel alone, which clears the
 * page's uffd-wp bit, and PAGEMAP_SCAN reports pages without it as
 * PAGE_IS_WRITTEN. Only pages present when armed are protected (arming
 * holes would fill page tables over whole reservations); a page made or
 * refilled since has no bit, reads as written, and is copied while frozen.
 * The merge of the two stores is precopy_merge.c's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procfs.h"
#include "images/proto/pagemap.pb-c.h"
#include "inject/inject.h"
#include "kabi/kabi.h"
#include "mem/pagedump.h"
#include "mem/precopy_internal.h"
#include "mem/uffd_wp.h"
#include "mem/vma.h"

#define PS IMG_PAGE_SIZE

int precopy_new(struct image_dir *dir, struct page_batch_pool *pool, struct precopy **out)
{
	struct precopy *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		pr_err("dump: out of memory for the pre-copy state");
		return -ENOMEM;
	}
	pc->dir = dir;
	pc->pool = pool;
	*out = pc;
	return 0;
}

size_t precopy_armed(const struct precopy *pc)
{
	return pc ? pc->nr : 0;
}

static void task_free(struct precopy_task *pt)
{
	if (pt->uffd >= 0)
		close(pt->uffd);
	if (pt->pidfd >= 0)
		close(pt->pidfd);
	if (pt->pagemap_fd >= 0)
		close(pt->pagemap_fd);
	pages_writer_abort(pt->store);
	pages_scratch_free(&pt->first);
	pages_scratch_free(&pt->frozen);
	pages_scratch_free(&pt->kept);
	free(pt->armed);
	free(pt->syscalls);
	memset(pt, 0, sizeof(*pt));
	pt->uffd = pt->pidfd = pt->pagemap_fd = -1;
}

/* Leaves @pt out of the pre-copy: it is dumped the usual way. */
static void task_drop(struct precopy_task *pt, const char *why, int err)
{
	pr_info("dump: pid %d: pre-copy left out (%s: %s); its pages are copied while frozen",
		pt->pid, why, strerror(-err));
	task_free(pt);
}

void precopy_free(struct precopy *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->nr; i++)
		task_free(&pc->tasks[i]);
	free(pc->tasks);
	free(pc);
}

/* ---- arming (frozen) ---------------------------------------------------- */

static int add_armed(struct precopy_task *pt, uint64_t start, uint64_t end)
{
	struct page_range *v = reallocarray(pt->armed, pt->nr_armed + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	pt->armed = v;
	v[pt->nr_armed++] = (struct page_range){ start, end };
	return 0;
}

/* Arms one private anonymous mapping: registered and its present pages
 * protected (uffd_wp.h). Registered by another userfaultfd, or a kind the
 * kernel will not protect: copied while frozen. */
static int arm_one(uint64_t start, uint64_t end, void *arg)
{
	struct precopy_task *pt = arg;
	int ret = uffd_wp_register(pt->uffd, start, end);

	if (!ret)
		ret = uffd_wp_protect(pt->pagemap_fd, start, end);
	if (ret == -EBUSY || ret == -EINVAL)
		return 0;
	return ret ? ret : add_armed(pt, start, end);
}

/* The threads of @task seized inside an interruptible system call. */
static int note_syscalls(struct precopy_task *pt, struct inj_task *task)
{
	_cleanup_free_ struct inj_regs *regs = aligned_alloc(64, sizeof(*regs));
	int nr = inj_thread_count(task);

	pt->syscalls = calloc(nr > 0 ? (size_t)nr : 1, sizeof(*pt->syscalls));
	if (!regs || !pt->syscalls)
		return -ENOMEM;
	for (int i = 0; i < nr; i++) {
		pid_t tid = inj_thread_tid(task, i);
		int ret = inj_get_regs(task, tid, regs);

		if (ret)
			return ret;
		if (inj_syscall_interrupted(&regs->gp) &&
		    regs->gp.orig_rax != (unsigned long)__NR_restart_syscall)
			pt->syscalls[pt->nr_syscalls++] = (struct precopy_syscall){ tid, regs->gp };
	}
	return 0;
}

void precopy_fix_restart(const struct precopy_task *pt, pid_t tid, struct user_regs_struct *gp)
{
	if (!pt || gp->orig_rax != (unsigned long)__NR_restart_syscall ||
	    !inj_syscall_interrupted(gp))
		return;
	for (size_t i = 0; i < pt->nr_syscalls; i++) {
		const struct user_regs_struct *was = &pt->syscalls[i].gp;

		if (pt->syscalls[i].tid != tid || was->rip != gp->rip || was->rdi != gp->rdi ||
		    was->rsi != gp->rsi || was->rdx != gp->rdx || was->r10 != gp->r10 ||
		    was->r8 != gp->r8 || was->r9 != gp->r9)
			continue;
		gp->orig_rax = was->orig_rax;
		return;
	}
}

static int grow_tasks(struct precopy *pc)
{
	struct precopy_task *v;

	if (pc->nr < pc->cap)
		return 0;
	v = reallocarray(pc->tasks, pc->cap ? 2 * pc->cap : 8, sizeof(*v));
	if (!v) {
		pr_err("dump: out of memory for the pre-copy state");
		return -ENOMEM;
	}
	pc->tasks = v;
	pc->cap = pc->cap ? 2 * pc->cap : 8;
	return 0;
}

int precopy_arm(struct precopy *pc, struct inj_task *task, bool has_parent, bool unpinned)
{
	pid_t pid = inj_task_pid(task);
	struct precopy_task *pt;
	int ret;

	/* What a child may share with its parent since fork() is compared
	 * frame by frame while frozen (cow.h), to be saved IN_PARENT: a copy
	 * taken before would be saved twice over. */
	if (has_parent) {
		pr_info("dump: pid %d: pre-copy left out: it may share pages with its parent",
			pid);
		return 0;
	}
	ret = grow_tasks(pc);
	if (ret)
		return ret;
	pt = &pc->tasks[pc->nr];
	memset(pt, 0, sizeof(*pt));
	pt->pid = pid;
	pt->dir = pc->dir;
	pt->unpinned = unpinned;
	pt->uffd = pt->pagemap_fd = -1;
	pt->first.fd = pt->frozen.fd = pt->kept.fd = -1;
	pt->pidfd = pidfd_open(pid, 0);
	if (pt->pidfd < 0) {
		ret = pr_errno_ret("dump: pid %d: cannot open a pidfd", pid);
		goto out;
	}
	pt->pagemap_fd = proc_open(pid, "pagemap");
	if (pt->pagemap_fd < 0) {
		ret = pt->pagemap_fd;
		pr_err("dump: pid %d: cannot open /proc/%d/pagemap: %s", pid, pid, strerror(-ret));
		goto out;
	}
	ret = uffd_wp_take(task, pt->pidfd, &pt->uffd);
	if (ret) {
		task_drop(pt, "an async write-protecting userfaultfd", ret);
		return 0;
	}
	ret = note_syscalls(pt, task);
	if (!ret)
		ret = uffd_wp_for_each_anon(pid, arm_one, pt);
	if (ret || !pt->nr_armed) {
		task_drop(pt, ret ? "arming the write protection" : "no mapping to track",
			  ret ? ret : -ENOENT);
		return 0;
	}
	pc->nr++;
	return 0;
out:
	task_free(pt);
	return ret;
}

/* ---- the first pass (running) -------------------------------------------- */

/* Room left in the pages file after each armed mapping with untouched
 * pages, for pages it gains before the frozen pass (a growing heap or
 * stack): without it, such a page would move every page after it. */
#define PRECOPY_SLACK_PAGES 16u

static uint64_t ranges_pages(const struct page_ranges *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->nr; i++)
		n += (r->v[i].end - r->v[i].start) / PS;
	return n;
}

/* Room in the pages file for pages the frozen pass will read: written in
 * order with the pages queued before it. */
static int reserve_room(struct pagedump *pd, struct pages_writer *pw, uint64_t *room)
{
	int ret;

	if (!*room)
		return 0;
	ret = pagedump_flush(pd);
	if (!ret)
		ret = pages_reserve(pw, *room);
	*room = 0;
	return ret;
}

/* The pages of mapping @v within its armed ranges (from @a on among
 * pt->armed): only pages protected since the arming can be trusted later. */
static int copy_armed(struct precopy_task *pt, struct pagedump *pd, const Vma *v, size_t a,
		      const struct page_ranges *ranges)
{
	int ret = 0;

	for (size_t r = 0; r < ranges->nr && !ret; r++) {
		for (size_t k = a; k < pt->nr_armed && pt->armed[k].start < ranges->v[r].end && !ret;
		     k++) {
			uint64_t s = ranges->v[r].start > pt->armed[k].start ? ranges->v[r].start :
									       pt->armed[k].start;
			uint64_t e = ranges->v[r].end < pt->armed[k].end ? ranges->v[r].end :
									  pt->armed[k].end;

			if (s < e)
				ret = pagedump_add(pd, v, s, e);
		}
	}
	return ret;
}

/* Every armed page, straight into the task's pages file, in address
 * order; a mapping the frozen pass will read whole (not armed: file
 * copy-on-write pages, the vDSO) gets room for its pages instead. */
static int copy_task(struct precopy *pc, struct precopy_task *pt)
{
	struct page_ranges ranges = { 0 };
	struct vma_list vmas = { 0 };
	struct pages_writer *pw = NULL;
	struct pagescan *ps = NULL;
	struct pagedump *pd = NULL;
	uint64_t room = 0;
	/* For tests: no room anywhere, so that the frozen pass's pages move
	 * what follows them. */
	bool no_room = getenv("CRYO_TEST_PRECOPY_NO_ROOM") != NULL;
	size_t a = 0;
	int ret;

	ret = vma_list_read(pt->pid, &vmas);
	if (!ret)
		ret = pages_inplace_open(pc->dir, pt->pid, &pw);
	if (!ret)
		ret = pagescan_open(pt->pid, PAGESCAN_AUTO, &ps);
	if (!ret)
		ret = pagedump_open(pt->pid, pw, pc->pool, &pd);
	if (!ret && pt->unpinned)
		pagedump_read_unpinned(pd);
	for (size_t i = 0; i < vmas.nr && !ret; i++) {
		const Vma *v = vmas.vmas[i];
		bool armed;
		uint64_t present;

		if (!vmas.resident[i] || vma_pages(v) == VMA_PAGES_NONE)
			continue;
		while (a < pt->nr_armed && pt->armed[a].end <= v->start)
			a++;
		armed = vma_pages(v) == VMA_PAGES_ANON && a < pt->nr_armed &&
			pt->armed[a].start < v->end;
		ret = pagescan_vma(ps, v, &ranges);
		if (ret)
			break;
		present = ranges_pages(&ranges);
		if (!armed) {
			room += no_room ? 0 : present;
			continue;
		}
		ret = reserve_room(pd, pw, &room);
		if (!ret)
			ret = copy_armed(pt, pd, v, a, &ranges);
		if (!no_room && (v->end - v->start) / PS > present)
			room = (v->end - v->start) / PS - present < PRECOPY_SLACK_PAGES ?
				       (v->end - v->start) / PS - present :
				       PRECOPY_SLACK_PAGES;
	}
	if (!ret)
		ret = pagedump_flush(pd);
	pagedump_close(pd);
	pagescan_close(ps);
	page_ranges_free(&ranges);
	vma_list_free(&vmas);
	if (!ret)
		ret = pages_inplace_first_done(pw, &pt->first, &pt->first_size);
	if (ret) {
		pages_writer_abort(pw);
		return ret;
	}
	pt->store = pw;
	return 0;
}

void precopy_first_pass(struct precopy *pc)
{
	for (size_t i = 0; i < pc->nr; i++) {
		struct precopy_task *pt = &pc->tasks[i];
		int ret = copy_task(pc, pt);

		if (ret)
			task_drop(pt, "the copy while it ran", ret);
		else
			pt->first_done = true;
	}
}

/* ---- the frozen pass ----------------------------------------------------- */

struct precopy_task *precopy_task(struct precopy *pc, pid_t pid)
{
	for (size_t i = 0; pc && i < pc->nr; i++) {
		struct precopy_task *pt = &pc->tasks[i];

		if (pt->pid != pid || !pt->first_done)
			continue;
		/* The pid of a process that exited may have been reused. */
		if (pidfd_send_signal(pt->pidfd, 0, NULL, 0)) {
			task_drop(pt, "not the process armed", -errno);
			return NULL;
		}
		return pt;
	}
	return NULL;
}

int precopy_frozen_open(struct precopy_task *pt, struct pages_writer **out)
{
	return pages_scratch_open(pt->dir, pt->pid, out);
}

int precopy_frozen_done(struct precopy_task *pt, struct pages_writer *pw)
{
	int ret = pages_scratch_finish(pw, &pt->frozen);

	if (!ret)
		pt->frozen_done = true;
	return ret;
}

/* The first of the first pass's ranges that ends after @addr. */
static size_t first_range_after(const struct pages_scratch *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].vaddr + s->v[mid].nr_pages * PS <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int push_kept(struct precopy_task *pt, uint64_t start, uint64_t end, uint64_t off)
{
	struct pages_scratch_range r = { .vaddr = start, .nr_pages = (end - start) / PS,
					 .file_off = off, .state = PAGEMAP_ENTRY__STATE__PRESENT };

	return pages_scratch_push(&pt->kept, &r);
}

/* Splits [@s, @e), pages to save that nobody wrote since the arming, into
 * those the first pass holds (kept, at their offset in its store) and the
 * rest (into @rest: zeros then, or not there). */
static int split_unwritten(struct precopy_task *pt, uint64_t s, uint64_t e,
			   struct page_ranges *rest)
{
	const struct pages_scratch *first = &pt->first;
	uint64_t at = s;
	int ret = 0;

	for (size_t f = first_range_after(first, s); f < first->nr && at < e && !ret; f++) {
		const struct pages_scratch_range *r = &first->v[f];
		uint64_t rs = r->vaddr, re = r->vaddr + r->nr_pages * PS;
		uint64_t ks = rs > at ? rs : at, ke = re < e ? re : e;

		if (rs >= e)
			break;
		if (r->state != PAGEMAP_ENTRY__STATE__PRESENT || ks >= ke)
			continue;
		if (ks > at)
			ret = page_ranges_push(rest, at, ks);
		if (!ret)
			ret = push_kept(pt, ks, ke, r->file_off + (ks - rs));
		at = ke;
	}
	if (!ret && at < e)
		ret = page_ranges_push(rest, at, e);
	return ret;
}

bool precopy_tracks(const struct precopy_task *pt, const Vma *v, bool guarded)
{
	size_t f;

	/* Guard regions read as swapped pages to a scan not told of them:
	 * such a mapping is scanned the usual way, and copied while frozen. */
	if (guarded || vma_pages(v) != VMA_PAGES_ANON)
		return false;
	f = first_range_after(&pt->first, v->start);
	return f < pt->first.nr && pt->first.v[f].vaddr < v->end;
}

struct precopy_scan {
	struct precopy_task *pt;
	struct page_ranges *out;
};

/* A run of pages to save: written since the arming, or taken from the
 * first pass where it holds them (split_unwritten()). */
static int take_scanned_run(uint64_t start, uint64_t end, bool written, void *arg)
{
	struct precopy_scan *scan = arg;

	return written ? page_ranges_push(scan->out, start, end) :
			 split_unwritten(scan->pt, start, end, scan->out);
}

/* One PAGEMAP_SCAN gives both the pages to save (those of
 * pagescan_vma(): present or swapped, not the zero page) and whether each
 * was written since the arming. */
int precopy_scan_vma(struct precopy_task *pt, const Vma *v, struct page_ranges *out)
{
	struct precopy_scan scan = { .pt = pt, .out = out };

	out->nr = 0;
	return uffd_wp_scan_written(pt->pagemap_fd, pt->pid, v->start, v->end, take_scanned_run,
				    &scan);
}
