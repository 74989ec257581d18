/* Restoring pages shared copy-on-write since fork() as shared (mem/cow.h):
 * at load, each IN_PARENT page is checked against its parent's mappings and
 * pages, and every mapping a process must fill before it creates its
 * children gets a slot in one region kept free in cryo; in stage 1 each
 * process fills its slots, and its children inherit them over clone3. The
 * restorer's move of the slots into place is in area.c and the restorer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "mem/cow.h"
#include "mem/mm.h"
#include "restore/restore.h"

#define PS ((uint64_t)IMG_PAGE_SIZE)

static const PagemapEntry *entry(const struct image *pagemap, size_t i)
{
	return (const PagemapEntry *)pagemap->records[i].msg;
}

static uint64_t entry_end(const PagemapEntry *e)
{
	return e->vaddr + e->nr_pages * PS;
}

/* The first entry of @pagemap that ends above @addr. */
static size_t first_entry_above(const struct image *pagemap, uint64_t addr)
{
	size_t lo = 0, hi = pagemap->nr_records;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entry_end(entry(pagemap, mid)) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The mapping of @mm holding @addr; n_vmas if none. */
static size_t vma_holding(const Mm *mm, uint64_t addr)
{
	size_t i = mm_vma_at(mm, addr);

	return i < mm->n_vmas && mm->vmas[i]->start <= addr ? i : mm->n_vmas;
}

/* Whether every page of [@addr, @end) has a saved page in @pagemap: its
 * bytes, or its own parent's. */
static bool pages_saved(const struct image *pagemap, uint64_t addr, uint64_t end)
{
	for (size_t i = first_entry_above(pagemap, addr); addr < end; i++) {
		const PagemapEntry *e;

		if (i == pagemap->nr_records)
			return false;
		e = entry(pagemap, i);
		if (e->vaddr > addr || (e->state != PAGEMAP_ENTRY__STATE__PRESENT &&
					e->state != PAGEMAP_ENTRY__STATE__IN_PARENT))
			return false;
		addr = entry_end(e);
	}
	return true;
}

/* Per process while planning: for each mapping, 1 + the parent's mapping
 * it inherits (0: none), and whether it is premapped. */
struct plan_task {
	uint32_t *from_parent;
	bool *premapped;
	uint64_t *slot;		/* offset in the region + 1; 0: none yet */
};

/* One IN_PARENT piece [@addr, @end) of process @i, inside its mapping @j. */
static int link_piece(const struct restore_set *rs, struct plan_task *plan, size_t i, size_t j,
		      uint64_t addr, uint64_t end)
{
	const struct restore_task *rt = &rs->tasks[i];
	int p = rs->tree.tasks[i].parent;
	const Vma *v = rt->mm->vmas[j];
	const struct restore_task *pt;
	size_t k;

	if (p < 0 || rs->tree.tasks[p].state != TREE_ALIVE || !rs->tasks[p].mm) {
		pr_err("restore: pid %d: pages at 0x%llx are its parent's (IN_PARENT), and it has "
		       "no live parent in the dump", rt->pid, (unsigned long long)addr);
		return -EBADMSG;
	}
	pt = &rs->tasks[p];
	k = vma_holding(pt->mm, v->start);
	if (!cow_vma_inheritable(v) || k == pt->mm->n_vmas || pt->mm->vmas[k]->start != v->start ||
	    pt->mm->vmas[k]->end != v->end || pt->mm->vmas[k]->kind != v->kind ||
	    !cow_vma_inheritable(pt->mm->vmas[k])) {
		pr_err("restore: pid %d: pages at 0x%llx are its parent's (IN_PARENT), but its parent "
		       "%d has no private anonymous mapping 0x%llx-0x%llx of the same kind",
		       rt->pid, (unsigned long long)addr, pt->pid, (unsigned long long)v->start,
		       (unsigned long long)v->end);
		return -EBADMSG;
	}
	if (!pages_saved(pt->pages->pagemap, addr, end)) {
		pr_err("restore: pid %d: pages at 0x%llx-0x%llx are its parent's (IN_PARENT), but its "
		       "parent %d has no page saved there", rt->pid, (unsigned long long)addr,
		       (unsigned long long)end, pt->pid);
		return -EBADMSG;
	}
	plan[i].from_parent[j] = (uint32_t)k + 1;
	plan[i].premapped[j] = true;
	plan[p].premapped[k] = true;
	return 0;
}

/* Every IN_PARENT range of process @i, cut at its mappings. */
static int link_task(const struct restore_set *rs, struct plan_task *plan, size_t i)
{
	const struct restore_task *rt = &rs->tasks[i];
	const struct image *pagemap = rt->pages->pagemap;
	int ret = 0;

	for (size_t r = 0; !ret && r < pagemap->nr_records; r++) {
		const PagemapEntry *e = entry(pagemap, r);
		uint64_t addr = e->vaddr, end = entry_end(e);

		while (!ret && e->state == PAGEMAP_ENTRY__STATE__IN_PARENT && addr < end) {
			/* mm_load() checked that saved pages lie in mappings. */
			size_t j = vma_holding(rt->mm, addr);
			uint64_t piece_end;

			if (j == rt->mm->n_vmas)
				return -EBADMSG;
			piece_end = rt->mm->vmas[j]->end < end ? rt->mm->vmas[j]->end : end;
			ret = link_piece(rs, plan, i, j, addr, piece_end);
			addr = piece_end;
		}
	}
	return ret;
}

/* Slots in tree order (parents first): an inherited mapping takes its
 * parent's, any other premapped one the next free place, a page apart. */
static int assign_slots(struct restore_set *rs, struct plan_task *plan, uint64_t *size)
{
	*size = 0;
	for (size_t i = 0; i < rs->tree.nr; i++) {
		struct restore_task *rt = &rs->tasks[i];
		size_t n = 0;

		if (!rt->mm)
			continue;
		for (size_t j = 0; j < rt->mm->n_vmas; j++)
			n += plan[i].premapped[j];
		if (!n)
			continue;
		rt->premaps = calloc(n, sizeof(*rt->premaps));
		if (!rt->premaps)
			return -ENOMEM;
		for (size_t j = 0; j < rt->mm->n_vmas; j++) {
			const Vma *v = rt->mm->vmas[j];
			uint32_t k = plan[i].from_parent[j];

			if (!plan[i].premapped[j])
				continue;
			if (k) {
				plan[i].slot[j] = plan[rs->tree.tasks[i].parent].slot[k - 1];
			} else {
				plan[i].slot[j] = *size + 1;
				*size += v->end - v->start + PS;
			}
			rt->premaps[rt->nr_premaps++] = (struct cow_premap){
				.vma = (uint32_t)j, .inherited = k != 0, .slot = plan[i].slot[j] - 1 };
		}
	}
	return 0;
}

/* The region: clear of cryo's mappings and of every saved one, so that
 * no move into place lands on a slot not moved yet. */
static int reserve_region(struct restore_set *rs, uint64_t size)
{
	const Mm **mms = calloc(rs->tree.nr + 1, sizeof(*mms));
	size_t n = 0;
	uint64_t at;
	void *mem;

	if (!mms)
		return -ENOMEM;
	for (size_t i = 0; i < rs->tree.nr; i++)
		if (rs->tasks[i].mm)
			mms[n++] = rs->tasks[i].mm;
	at = restore_find_gap(mms, n, size);
	free(mms);
	if (!at) {
		pr_err("restore: no free room of %llu bytes for the memory processes share with "
		       "their children", (unsigned long long)size);
		return -ENOMEM;
	}
	mem = mmap((void *)at, size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (mem == MAP_FAILED)
		return pr_errno_ret("restore: cannot keep 0x%llx-0x%llx for the memory processes "
				    "share with their children", (unsigned long long)at,
				    (unsigned long long)(at + size));
	rs->cow_region = at;
	rs->cow_region_size = size;
	for (size_t i = 0; i < rs->tree.nr; i++)
		for (size_t j = 0; j < rs->tasks[i].nr_premaps; j++)
			rs->tasks[i].premaps[j].slot += at;
	return 0;
}

int restore_cow_plan(struct restore_set *rs)
{
	struct plan_task *plan = calloc(rs->tree.nr + 1, sizeof(*plan));
	uint64_t size = 0;
	int ret = plan ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		size_t n = rs->tasks[i].mm ? rs->tasks[i].mm->n_vmas + 1 : 1;

		plan[i].from_parent = calloc(n, sizeof(*plan[i].from_parent));
		plan[i].premapped = calloc(n, sizeof(*plan[i].premapped));
		plan[i].slot = calloc(n, sizeof(*plan[i].slot));
		if (!plan[i].from_parent || !plan[i].premapped || !plan[i].slot)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tasks[i].mm && rs->tasks[i].pages)
			ret = link_task(rs, plan, i);
	if (!ret)
		ret = assign_slots(rs, plan, &size);
	if (!ret && size)
		ret = reserve_region(rs, size);
	for (size_t i = 0; plan && i < rs->tree.nr; i++) {
		free(plan[i].from_parent);
		free(plan[i].premapped);
		free(plan[i].slot);
	}
	free(plan);
	return ret;
}

void restore_cow_unplan(struct restore_set *rs)
{
	if (rs->cow_region)
		munmap((void *)rs->cow_region, rs->cow_region_size);
	rs->cow_region = rs->cow_region_size = 0;
	for (size_t i = 0; rs->tasks && i < rs->tree.nr; i++) {
		free(rs->tasks[i].premaps);
		rs->tasks[i].premaps = NULL;
		rs->tasks[i].nr_premaps = 0;
	}
}

/* An inherited mapping holds its parent's pages: those that are not also
 * this process's (IN_PARENT) are dropped, to read as zeros or be read. */
static int drop_parents_pages(const struct restore_task *rt, const Vma *v, uint64_t slot)
{
	const struct image *pagemap = rt->pages->pagemap;
	uint64_t addr = v->start;

	for (size_t i = first_entry_above(pagemap, v->start); addr < v->end; i++) {
		const PagemapEntry *e = i < pagemap->nr_records ? entry(pagemap, i) : NULL;
		uint64_t keep_from = e && e->vaddr < v->end ? e->vaddr : v->end;

		if (e && e->state != PAGEMAP_ENTRY__STATE__IN_PARENT)
			continue;
		if (keep_from > addr && madvise((void *)(slot + (addr - v->start)),
						keep_from - addr, MADV_DONTNEED))
			return pr_errno_ret("restore: pid %d: cannot drop its parent's pages at "
					    "0x%llx", rt->pid, (unsigned long long)addr);
		if (!e || e->vaddr >= v->end)
			break;
		addr = entry_end(e);
	}
	return 0;
}

/* The present pages of mapping @v, read into its slot. */
static int read_own_pages(const struct restore_task *rt, int fd, const Vma *v, uint64_t slot)
{
	const struct image *pagemap = rt->pages->pagemap;

	for (size_t i = first_entry_above(pagemap, v->start);
	     i < pagemap->nr_records && entry(pagemap, i)->vaddr < v->end; i++) {
		const PagemapEntry *e = entry(pagemap, i);
		uint64_t from = e->vaddr > v->start ? e->vaddr : v->start;
		uint64_t to = entry_end(e) < v->end ? entry_end(e) : v->end;
		uint64_t off, done = 0;

		if (e->state != PAGEMAP_ENTRY__STATE__PRESENT)
			continue;
		off = e->file_off + (from - e->vaddr);
		while (done < to - from) {
			ssize_t n = pread(fd, (char *)(slot + (from - v->start)) + done,
					  to - from - done, (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pr_err("restore: pid %d: cannot read pages at 0x%llx from %s: %s",
				       rt->pid, (unsigned long long)(from + done),
				       rt->pages->pages_path, n ? strerror(errno) : "file too short");
				return n ? -errno : -EIO;
			}
			done += (uint64_t)n;
		}
	}
	return 0;
}

int restore_cow_premap(const struct restore_set *rs, size_t index)
{
	const struct restore_task *rt = &rs->tasks[index];
	int ret = 0;

	_cleanup_close_ int direct_fd = -1;
	int fd = rt->pages->pages_fd;

	/* A cold file is read around the cache, as the restorer reads the
	 * rest (area.c), through a file of its own: the pages fd's flags
	 * are the restorer's to set. */
	if (rt->nr_premaps && (rt->pages_cold || restore_pages_cold(fd))) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		direct_fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (direct_fd >= 0)
			fd = direct_fd;
	}
	for (size_t i = 0; !ret && i < rt->nr_premaps; i++) {
		const struct cow_premap *pm = &rt->premaps[i];
		const Vma *v = rt->mm->vmas[pm->vma];
		uint64_t len = v->end - v->start;

		if (pm->inherited) {
			ret = drop_parents_pages(rt, v, pm->slot);
		} else if (mmap((void *)pm->slot, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
			ret = pr_errno_ret("restore: pid %d: cannot map 0x%llx-0x%llx, which its "
					   "children share, at 0x%llx", rt->pid,
					   (unsigned long long)v->start, (unsigned long long)v->end,
					   (unsigned long long)pm->slot);
		}
		if (!ret)
			ret = read_own_pages(rt, fd, v, pm->slot);
	}
	return ret;
}
