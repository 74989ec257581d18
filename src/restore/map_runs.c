/* Runs of VMAs mapped as one, and fills joined inside them (map_runs.h).
 * Joining only what the kernel merges by itself keeps every mapping
 * exactly as mapping them one by one did: the same VMAs once each gets
 * its protection, the same commit charge. Not what each VMA becomes
 * afterwards (restorer/main.c's finish_vmas()). */
#include <stdbool.h>
#include <sys/mman.h>

#include "restore/map_runs.h"

/* Memory the kernel merges with a neighbour mapped the same way: no file,
 * no huge pages, no growing down, no mapping type of its own (droppable). */
static bool plain_anonymous(const struct restorer_vma *v)
{
	return v->fd < 0 && restorer_vma_mmapped(v) &&
	       (v->flags & ~(uint32_t)MAP_NORESERVE) == (MAP_PRIVATE | MAP_ANONYMOUS);
}

static bool joinable(const struct restorer_vma *a, const struct restorer_vma *b)
{
	return a->end == b->start && plain_anonymous(a) && plain_anonymous(b) &&
	       a->flags == b->flags && a->lazy == b->lazy &&
	       restorer_vma_map_prot(a) == restorer_vma_map_prot(b);
}

void map_runs_mark(struct restorer_vma *v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		v[i].map_with_next = i + 1 < nr && joinable(&v[i], &v[i + 1]);
}

/* The VMA holding @addr, or @nr when none does. */
static size_t vma_at(const struct restorer_vma *v, size_t nr, uint64_t addr)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr && v[lo].start <= addr ? lo : nr;
}

/* Whether the bytes either side of @addr are in one mapping as mapped. */
static bool one_mapping_across(const struct restorer_vma *v, size_t nr, uint64_t addr)
{
	size_t i = vma_at(v, nr, addr - 1);

	if (i == nr)
		return false;
	return v[i].end > addr || (v[i].map_with_next && i + 1 < nr && v[i + 1].start == addr);
}

static bool continues(const struct restorer_fill *a, const struct restorer_fill *b)
{
	bool zero = a->file_off == RESTORER_FILL_ZERO;

	if (a->addr + a->len != b->addr || a->file != b->file || a->in_place != b->in_place ||
	    a->plain != b->plain || a->by_filler != b->by_filler ||
	    a->touch_only != b->touch_only)
		return false;
	return zero ? b->file_off == RESTORER_FILL_ZERO :
		      b->file_off != RESTORER_FILL_ZERO && a->file_off + a->len == b->file_off;
}

size_t map_runs_merge_fills(const struct restorer_vma *v, size_t nr_vmas,
			    struct restorer_fill *fills, size_t nr_fills)
{
	size_t n = 0;

	for (size_t k = 0; k < nr_fills; k++) {
		if (n && continues(&fills[n - 1], &fills[k]) &&
		    one_mapping_across(v, nr_vmas, fills[k].addr)) {
			fills[n - 1].len += fills[k].len;
			continue;
		}
		fills[n++] = fills[k];
	}
	return n;
}
