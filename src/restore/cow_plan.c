/* Planning, at load, the pages processes share copy-on-write since fork()
 * (mem/cow.h): each IN_PARENT page is checked against its parent's
 * mappings and pages (or its sibling's, which the parent then holds), and
 * every mapping a process fills before it creates its children is cut
 * into pieces, each its own memory or a part of its parent's, at slots in
 * one region kept free in cryo. Stage 1's fills are cow.c; the restorer's
 * moves into place are area.c and the restorer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "mem/cow.h"
#include "mem/mm.h"
#include "restore/restore.h"

#define PS ((uint64_t)IMG_PAGE_SIZE)

/* IN_PARENT pages [@start, @end) of mapping @vma, the parent's from
 * @parent on in its mapping @pvma. @held: the pages of sibling @owner
 * (or of the process itself) from @parent on, in its mapping @pvma, that
 * the parent holds for them. */
struct run {
	uint64_t start, end, parent;
	uint32_t vma, pvma;
	bool held;
	size_t owner;
};

/* Per process while planning. */
struct plan_task {
	struct run *runs;	/* in address order */
	size_t nr_runs, cap_runs;
	bool *premapped;	/* per mapping */
	bool *tight;		/* per mapping: inherited pieces only where runs are */
	uint64_t *own_slot;	/* per mapping: offset + 1 of its own memory; 0: none */
	struct cow_held *held;	/* what its children ask it to hold, unmerged */
	size_t nr_held, cap_held;
};

/* The mapping of @mm holding @addr; n_vmas if none. */
static size_t vma_holding(const Mm *mm, uint64_t addr)
{
	size_t i = mm_vma_at(mm, addr);

	return i < mm->n_vmas && mm->vmas[i]->start <= addr ? i : mm->n_vmas;
}

static const PagemapEntry *entry(const struct image *pagemap, size_t i)
{
	return (const PagemapEntry *)pagemap->records[i].msg;
}

static uint64_t entry_end(const PagemapEntry *e)
{
	return e->vaddr + e->nr_pages * PS;
}

/* Whether every page of [@addr, @end) has a saved page in @pagemap: its
 * bytes, or (unless @bytes_only) its own parent's. */
static bool pages_saved(const struct image *pagemap, uint64_t addr, uint64_t end, bool bytes_only)
{
	for (size_t i = restore_cow_first_entry_above(pagemap, addr); addr < end; i++) {
		const PagemapEntry *e;

		if (i == pagemap->nr_records)
			return false;
		e = entry(pagemap, i);
		if (e->vaddr > addr ||
		    (e->state != PAGEMAP_ENTRY__STATE__PRESENT &&
		     (bytes_only || e->state != PAGEMAP_ENTRY__STATE__IN_PARENT)))
			return false;
		addr = entry_end(e);
	}
	return true;
}

/* Room in array *@v of @nr elements of @size bytes for one more. */
static int grow(void *v, size_t nr, size_t *cap, size_t size)
{
	void *more;

	if (nr < *cap)
		return 0;
	more = reallocarray(*(void **)v, *cap ? 2 * *cap : 16, size);
	if (!more)
		return -ENOMEM;
	*(void **)v = more;
	*cap = *cap ? 2 * *cap : 16;
	return 0;
}

static int push_run(struct plan_task *pl, const struct run *r)
{
	struct run *last = pl->nr_runs ? &pl->runs[pl->nr_runs - 1] : NULL;

	if (last && last->vma == r->vma && last->pvma == r->pvma && last->end == r->start &&
	    last->parent + (last->end - last->start) == r->parent && last->held == r->held &&
	    last->owner == r->owner) {
		last->end = r->end;
		return 0;
	}
	if (grow(&pl->runs, pl->nr_runs, &pl->cap_runs, sizeof(*r)))
		return -ENOMEM;
	pl->runs[pl->nr_runs++] = *r;
	return 0;
}

/* Whether page @addr of @v can be page @parent of its parent's @pv: both
 * anonymous, or one file (by path and inode) at the same offset, so that
 * the pages it does not take from the parent read the same either way. */
static bool same_backing(const Vma *v, uint64_t addr, const Vma *pv, uint64_t parent)
{
	bool file = pv->kind == VMA__KIND__FILE;

	return cow_backing_matches(v, addr, file ? pv->file_path : NULL, pv->pgoff, pv->start,
				   parent) &&
	       (!file || (v->has_file_ino == pv->has_file_ino && v->file_ino == pv->file_ino &&
			  v->has_file_dev == pv->has_file_dev && v->file_dev == pv->file_dev));
}

static int live_parent(const struct restore_set *rs, size_t i, uint64_t addr)
{
	int p = rs->tree.tasks[i].parent;

	if (p < 0 || rs->tree.tasks[p].state != TREE_ALIVE || !rs->tasks[p].mm) {
		pr_err("restore: pid %d: pages at 0x%llx are its parent's (IN_PARENT), and it has "
		       "no live parent in the dump", rs->tasks[i].pid, (unsigned long long)addr);
		return -EBADMSG;
	}
	return 0;
}

static int push_held(struct plan_task *pl, const struct cow_held *h)
{
	if (grow(&pl->held, pl->nr_held, &pl->cap_held, sizeof(*h)))
		return -ENOMEM;
	pl->held[pl->nr_held++] = *h;
	return 0;
}

/* Whether page @addr of @v can be page @at of @ov, its parent's or its
 * sibling's: private mappings growing the same way, of the same backing
 * (a sibling's the parent holds as such: anonymous, or mapped from the
 * same file at the same offset). */
static bool backing_fits(const Vma *v, uint64_t addr, const Vma *ov, uint64_t at)
{
	if (!cow_vma_inheritable(v) || !ov || !cow_vma_inheritable(ov) ||
	    (v->flags & MAP_GROWSDOWN) != (ov->flags & MAP_GROWSDOWN))
		return false;
	return same_backing(v, addr, ov, at);
}

/* The index of process @i's sibling @pid into *@o: another live child of
 * its parent with memory saved. */
static int find_sibling(const struct restore_set *rs, size_t i, uint64_t addr, uint32_t pid,
			int *o)
{
	int p = rs->tree.tasks[i].parent;

	*o = tree_find(&rs->tree, (pid_t)pid);
	if (*o < 0 || (size_t)*o == i || rs->tree.tasks[*o].parent != p ||
	    rs->tree.tasks[*o].state != TREE_ALIVE || !rs->tasks[*o].mm || !rs->tasks[*o].pages) {
		pr_err("restore: pid %d: pages at 0x%llx are its sibling %u's (IN_PARENT), which "
		       "is no other live child of its parent %d in the dump", rs->tasks[i].pid,
		       (unsigned long long)addr, pid, rs->tasks[p].pid);
		return -EBADMSG;
	}
	return 0;
}

/* IN_PARENT pages [@addr, @end) of process @i, from @at on the parent's
 * (@o < 0) or those of its sibling @o, which the parent no longer has and
 * holds for both from before it creates them: cut at both processes'
 * mappings, each piece checked. */
static int link_range(const struct restore_set *rs, struct plan_task *plan, size_t i,
		      uint64_t addr, uint64_t end, uint64_t at, int o)
{
	const struct restore_task *rt = &rs->tasks[i];
	int p = rs->tree.tasks[i].parent;
	const char *whose = o < 0 ? "parent" : "sibling";
	const struct restore_task *ot;
	int ret = live_parent(rs, i, addr);

	if (ret)
		return ret;
	ot = &rs->tasks[o < 0 ? p : o];
	while (addr < end) {
		/* mm_load() checked that saved pages lie in mappings. */
		size_t j = vma_holding(rt->mm, addr), k = vma_holding(ot->mm, at);
		const Vma *v = j < rt->mm->n_vmas ? rt->mm->vmas[j] : NULL;
		const Vma *ov = k < ot->mm->n_vmas ? ot->mm->vmas[k] : NULL;
		uint64_t len = end - addr;

		if (!v)
			return -EBADMSG;
		if (!backing_fits(v, addr, ov, at)) {
			pr_err("restore: pid %d: pages at 0x%llx are its %s's (IN_PARENT), but its "
			       "%s %d has no private mapping of the same kind (anonymous, or the "
			       "same file at the same offset) at 0x%llx",
			       rt->pid, (unsigned long long)addr, whose, whose, ot->pid,
			       (unsigned long long)at);
			return -EBADMSG;
		}
		len = v->end - addr < len ? v->end - addr : len;
		len = ov->end - at < len ? ov->end - at : len;
		/* A sibling saved the bytes its parent is to hold. */
		if (!pages_saved(ot->pages->pagemap, at, at + len, o >= 0)) {
			pr_err("restore: pid %d: pages at 0x%llx-0x%llx are its %s's (IN_PARENT), "
			       "but its %s %d has no %s saved at 0x%llx-0x%llx", rt->pid,
			       (unsigned long long)addr, (unsigned long long)(addr + len), whose,
			       whose, ot->pid, o < 0 ? "page" : "bytes", (unsigned long long)at,
			       (unsigned long long)(at + len));
			return -EBADMSG;
		}
		ret = push_run(&plan[i], &(struct run){ .start = addr, .end = addr + len,
							.parent = at, .vma = (uint32_t)j,
							.pvma = (uint32_t)k, .held = o >= 0,
							.owner = o < 0 ? 0 : (size_t)o });
		if (!ret && o >= 0)
			ret = push_held(&plan[p], &(struct cow_held){
							  .start = at, .end = at + len,
							  .owner = (size_t)o, .vma = (uint32_t)k,
							  .growsdown = ov->flags & MAP_GROWSDOWN,
							  .file = ov->kind == VMA__KIND__FILE });
		if (ret)
			return ret;
		plan[i].premapped[j] = true;
		plan[o < 0 ? p : o].premapped[k] = true;
		addr += len;
		at += len;
	}
	return 0;
}

static int link_task(const struct restore_set *rs, struct plan_task *plan, size_t i)
{
	const struct image *pagemap = rs->tasks[i].pages->pagemap;
	int ret = 0;

	for (size_t r = 0; !ret && r < pagemap->nr_records; r++) {
		const PagemapEntry *e = entry(pagemap, r);
		uint64_t at = e->has_parent_vaddr ? e->parent_vaddr : e->vaddr;
		int o = -1;

		if (e->state != PAGEMAP_ENTRY__STATE__IN_PARENT)
			continue;
		if (e->has_sibling)
			ret = find_sibling(rs, i, e->vaddr, e->sibling, &o);
		if (!ret)
			ret = link_range(rs, plan, i, e->vaddr, entry_end(e), at, o);
	}
	return ret;
}

static int compare_held(const void *a, const void *b)
{
	const struct cow_held *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int compare_runs(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* What process @p's children ask it to hold, merged into its held
 * memory (by owner, then address), and each part given to its owner as
 * a run of its own pages, cut at the owner's mappings. */
static int plan_held(struct restore_set *rs, struct plan_task *plan, size_t p)
{
	struct plan_task *pl = &plan[p];
	size_t n = 0;
	int ret = 0;

	qsort(pl->held, pl->nr_held, sizeof(*pl->held), compare_held);
	for (size_t h = 0; h < pl->nr_held; h++) {
		struct cow_held *last = n ? &pl->held[n - 1] : NULL;

		/* A file's held memory is one mapping of its file. */
		if (last && last->owner == pl->held[h].owner &&
		    last->growsdown == pl->held[h].growsdown && pl->held[h].start <= last->end &&
		    ((!last->file && !pl->held[h].file) || last->vma == pl->held[h].vma))
			last->end = pl->held[h].end > last->end ? pl->held[h].end : last->end;
		else
			pl->held[n++] = pl->held[h];
	}
	for (size_t h = 0; !ret && h < n; h++) {
		const struct cow_held *hd = &pl->held[h];
		const Mm *mm = rs->tasks[hd->owner].mm;

		for (uint64_t at = hd->start; !ret && at < hd->end;) {
			size_t k = vma_holding(mm, at);
			uint64_t to = mm->vmas[k]->end < hd->end ? mm->vmas[k]->end : hd->end;

			ret = push_run(&plan[hd->owner],
				       &(struct run){ .start = at, .end = to, .parent = at,
						      .vma = (uint32_t)k, .pvma = (uint32_t)k,
						      .held = true, .owner = hd->owner });
			at = to;
		}
	}
	/* The parent's planning takes them over. */
	rs->tasks[p].held = pl->held;
	rs->tasks[p].nr_held = n;
	pl->held = NULL;
	pl->nr_held = pl->cap_held = 0;
	return ret;
}

/* Where the parent's held memory has the pages of run @r of owner
 * @r->owner, into *@slot; -EINVAL if nowhere (never, as planned). */
static int held_slot(const struct restore_task *pt, const struct run *r, uint64_t *slot)
{
	size_t lo = 0, hi = pt->nr_held;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cow_held *h = &pt->held[mid];

		if (h->owner < r->owner || (h->owner == r->owner && h->end <= r->parent))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == pt->nr_held || pt->held[lo].owner != r->owner || pt->held[lo].start > r->parent ||
	    pt->held[lo].end < r->parent + (r->end - r->start))
		return -EINVAL;
	*slot = pt->held[lo].slot + (r->parent - pt->held[lo].start);
	return 0;
}

static int push_piece(struct cow_premap *pm, size_t *cap, const struct cow_piece *piece)
{
	if (piece->start == piece->end)
		return 0;
	if (grow(&pm->pieces, pm->nr_pieces, cap, sizeof(*piece)))
		return -ENOMEM;
	pm->pieces[pm->nr_pieces++] = *piece;
	return 0;
}

/* [@start, @end) of process @i's mapping @j from its own memory. */
static int own_piece(struct plan_task *pl, size_t j, const Vma *v, uint64_t *size,
		     struct cow_premap *pm, size_t *cap, uint64_t start, uint64_t end)
{
	if (start == end)
		return 0;
	if (!pl->own_slot[j]) {
		pl->own_slot[j] = *size + 1;
		*size += v->end - v->start + PS;
	}
	return push_piece(pm, cap, &(struct cow_piece){ .start = start, .end = end,
							.slot = pl->own_slot[j] - 1 +
								(start - v->start) });
}

/* The premap of mapping @k of process @i (premapped: it has one). */
static const struct cow_premap *premap_of(const struct restore_task *rt, uint32_t k)
{
	size_t lo = 0, hi = rt->nr_premaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rt->premaps[mid].vma < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rt->nr_premaps && rt->premaps[lo].vma == k ? &rt->premaps[lo] : NULL;
}

/* [@start, @end) of a mapping from the parent's premap @ppm, the parent's
 * from @parent on: cut where the parent's own pieces are. */
static int inherited_pieces(const struct cow_premap *ppm, struct cow_premap *pm, size_t *cap,
			    uint64_t start, uint64_t end, uint64_t parent)
{
	size_t q = 0;
	int ret = 0;

	while (!ret && start < end) {
		const struct cow_piece *pp;
		uint64_t len;

		while (q < ppm->nr_pieces && ppm->pieces[q].end <= parent)
			q++;
		if (q == ppm->nr_pieces || ppm->pieces[q].start > parent)
			return -EINVAL;	/* the parent's pieces tile its mapping */
		pp = &ppm->pieces[q];
		len = pp->end - parent < end - start ? pp->end - parent : end - start;
		ret = push_piece(pm, cap, &(struct cow_piece){
						  .start = start, .end = start + len,
						  .slot = pp->slot + (parent - pp->start),
						  .inherited = true });
		start += len;
		parent += len;
	}
	return ret;
}

/* The pieces of mapping @j of process @i, whose runs start at @r: runs of
 * one parent mapping at one distance make one piece, widened over the
 * pages between them and to the mapping's ends as far as the parent's
 * mapping goes (those pages are dropped in stage 1); what is left is the
 * process's own. Tight: no widening. */
static int plan_pieces(struct restore_set *rs, struct plan_task *plan, size_t i, size_t j,
		       size_t r, struct cow_premap *pm, uint64_t *size)
{
	struct plan_task *pl = &plan[i];
	const Vma *v = rs->tasks[i].mm->vmas[j];
	const struct restore_task *pt = NULL;
	uint64_t at = v->start;
	size_t cap = 0;
	int ret = 0;

	free(pm->pieces);
	*pm = (struct cow_premap){ .vma = (uint32_t)j };
	if (r < pl->nr_runs && pl->runs[r].vma == j)
		pt = &rs->tasks[rs->tree.tasks[i].parent];
	while (!ret && r < pl->nr_runs && pl->runs[r].vma == j) {
		const struct run *first = &pl->runs[r], *last = first;
		uint64_t lo = first->start, hi, next_start, slot;
		const Vma *pv;

		/* Held memory is taken exactly where the runs are. */
		if (first->held) {
			ret = held_slot(pt, first, &slot);
			if (!ret)
				ret = own_piece(pl, j, v, size, pm, &cap, at, first->start);
			if (!ret)
				ret = push_piece(pm, &cap,
						 &(struct cow_piece){ .start = first->start,
								      .end = first->end, .slot = slot,
								      .inherited = true, .held = true });
			at = first->end;
			r++;
			continue;
		}
		/* The parent's mapping (a held run's pvma is its owner's). */
		pv = pt->mm->vmas[first->pvma];
		while (!pl->tight[j] && r + 1 < pl->nr_runs && pl->runs[r + 1].vma == j &&
		       !pl->runs[r + 1].held &&
		       pl->runs[r + 1].pvma == first->pvma &&
		       pl->runs[r + 1].start - first->start == pl->runs[r + 1].parent - first->parent)
			last = &pl->runs[++r];
		r++;
		next_start = r < pl->nr_runs && pl->runs[r].vma == j ? pl->runs[r].start : v->end;
		hi = last->end;
		if (!pl->tight[j]) {
			uint64_t below = first->parent - pv->start, above = pv->end - (last->parent +
									(last->end - last->start));

			lo = lo - at < below ? at : lo - below;
			hi = next_start - hi < above ? next_start : hi + above;
		}
		ret = own_piece(pl, j, v, size, pm, &cap, at, lo);
		if (!ret)
			ret = inherited_pieces(premap_of(pt, first->pvma), pm, &cap, lo, hi,
					       first->parent - (first->start - lo));
		at = hi;
	}
	return ret ? ret : own_piece(pl, j, v, size, pm, &cap, at, v->end);
}

/* A piece of the parent's memory, as process @i's premap @m uses it. */
struct use {
	uint64_t slot, end;
	size_t m, piece;
};

static int compare_uses(const void *a, const void *b)
{
	const struct use *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Whether two inherited pieces of process @i take the same memory of its
 * parent's (a piece widened over a page another piece has): each such
 * mapping is made tight, *@found says whether one was. */
static int find_overlaps(struct restore_set *rs, struct plan_task *plan, size_t i, bool *found,
			 bool refuse)
{
	const struct restore_task *rt = &rs->tasks[i];
	struct use *uses = NULL;
	size_t n = 0, cap = 0;

	*found = false;
	for (size_t m = 0; m < rt->nr_premaps; m++)
		cap += rt->premaps[m].nr_pieces;
	uses = calloc(cap + 1, sizeof(*uses));
	if (!uses)
		return -ENOMEM;
	for (size_t m = 0; m < rt->nr_premaps; m++)
		for (size_t q = 0; q < rt->premaps[m].nr_pieces; q++) {
			const struct cow_piece *pc = &rt->premaps[m].pieces[q];

			if (pc->inherited)
				uses[n++] = (struct use){ pc->slot, pc->slot + (pc->end - pc->start),
							  m, q };
		}
	qsort(uses, n, sizeof(*uses), compare_uses);
	for (size_t u = 1; u < n; u++) {
		const struct use *a = &uses[u - 1], *b = &uses[u];

		if (a->end <= b->slot)
			continue;
		if (refuse) {
			pr_err("restore: pid %d: pages at 0x%llx and at 0x%llx are the same page of "
			       "its parent's (IN_PARENT)", rt->pid,
			       (unsigned long long)rt->premaps[a->m].pieces[a->piece].start,
			       (unsigned long long)rt->premaps[b->m].pieces[b->piece].start);
			free(uses);
			return -EBADMSG;
		}
		plan[i].tight[rt->premaps[a->m].vma] = true;
		plan[i].tight[rt->premaps[b->m].vma] = true;
		*found = true;
	}
	free(uses);
	return 0;
}

/* The premaps of process @i, its parent's made already (tree order). */
static int plan_task(struct restore_set *rs, struct plan_task *plan, size_t i, uint64_t *size)
{
	struct restore_task *rt = &rs->tasks[i];
	bool again = false;
	size_t n = 0;
	int ret = 0;

	/* Its held memory first, before its children's pieces take it. */
	for (size_t h = 0; h < rt->nr_held; h++) {
		rt->held[h].slot = *size;
		*size += rt->held[h].end - rt->held[h].start + PS;
	}
	for (size_t j = 0; j < rt->mm->n_vmas; j++)
		n += plan[i].premapped[j];
	if (!n)
		return 0;
	rt->premaps = calloc(n, sizeof(*rt->premaps));
	if (!rt->premaps)
		return -ENOMEM;
	for (int round = 0; !ret && (round == 0 || again); round++) {
		size_t r = 0, m = 0;

		for (size_t j = 0; !ret && j < rt->mm->n_vmas; j++) {
			if (!plan[i].premapped[j])
				continue;
			while (r < plan[i].nr_runs && plan[i].runs[r].vma < j)
				r++;
			/* Only tight ones change in a second round. */
			if (round == 0 || plan[i].tight[j])
				ret = plan_pieces(rs, plan, i, j, r, &rt->premaps[m], size);
			m++;
		}
		rt->nr_premaps = m;
		if (!ret)
			ret = find_overlaps(rs, plan, i, &again, round > 0);
	}
	return ret;
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
	at = restore_find_gap(mms, n, NULL, size);
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
	for (size_t i = 0; i < rs->tree.nr; i++) {
		for (size_t m = 0; m < rs->tasks[i].nr_premaps; m++)
			for (size_t q = 0; q < rs->tasks[i].premaps[m].nr_pieces; q++)
				rs->tasks[i].premaps[m].pieces[q].slot += at;
		for (size_t h = 0; h < rs->tasks[i].nr_held; h++)
			rs->tasks[i].held[h].slot += at;
	}
	return 0;
}

int restore_cow_plan(struct restore_set *rs)
{
	struct plan_task *plan = calloc(rs->tree.nr + 1, sizeof(*plan));
	uint64_t size = 0;
	int ret = plan ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < rs->tree.nr; i++) {
		size_t n = rs->tasks[i].mm ? rs->tasks[i].mm->n_vmas + 1 : 1;

		plan[i].premapped = calloc(n, sizeof(*plan[i].premapped));
		plan[i].tight = calloc(n, sizeof(*plan[i].tight));
		plan[i].own_slot = calloc(n, sizeof(*plan[i].own_slot));
		if (!plan[i].premapped || !plan[i].tight || !plan[i].own_slot)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tasks[i].mm && rs->tasks[i].pages)
			ret = link_task(rs, plan, i);
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (plan[i].nr_held)
			ret = plan_held(rs, plan, i);
	/* An owner's runs came after its own links. */
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (plan[i].nr_runs > 1)
			qsort(plan[i].runs, plan[i].nr_runs, sizeof(*plan[i].runs), compare_runs);
	/* Tree order: a parent's pieces are planned before its children's. */
	for (size_t i = 0; !ret && i < rs->tree.nr; i++)
		if (rs->tasks[i].mm)
			ret = plan_task(rs, plan, i, &size);
	if (!ret && size)
		ret = reserve_region(rs, size);
	for (size_t i = 0; plan && i < rs->tree.nr; i++) {
		free(plan[i].runs);
		free(plan[i].premapped);
		free(plan[i].tight);
		free(plan[i].own_slot);
		free(plan[i].held);
	}
	free(plan);
	return ret;
}
