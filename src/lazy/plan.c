/* Which pages a lazy restore serves from its page server and which the
 * restorer still fills (lazy.h). Both sides of a restore ask these
 * functions, so that what the restorer leaves empty is exactly what the
 * page server has pending. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"
#include "lazy/lazy.h"
#include "mem/mm.h"
#include "mem/vma.h"

#define PAGE ((uint64_t)IMG_PAGE_SIZE)

bool lazy_vma(const Vma *v)
{
	bool anon = v->kind == VMA__KIND__ANON || v->kind == VMA__KIND__HEAP ||
		    v->kind == VMA__KIND__STACK;
	uint32_t madv = v->has_madvise ? v->madvise : 0;

	/* Locked memory must be resident: the restorer locks it once filled.
	 * Hugetlb memory is filled by the restorer too: a page server's
	 * copies of 256 KiB cannot make a huge page. */
	return anon && (v->flags & MAP_PRIVATE) && !(v->flags & MAP_SHARED) &&
	       !v->has_file_id && !v->has_huge_page_size &&
	       !(madv & (VMA_MADV_WIPEONFORK | VMA_MADV_LOCKED));
}

static const PagemapEntry *entry(const struct image *pagemap, size_t i)
{
	return (const PagemapEntry *)pagemap->records[i].msg;
}

static uint64_t entry_end(const PagemapEntry *e)
{
	return e->vaddr + e->nr_pages * PAGE;
}

bool lazy_vma_registered(const Mm *mm, size_t index, const struct image *pagemap)
{
	const Vma *v = mm->vmas[index];
	size_t lo = 0, hi = pagemap->nr_records;

	if (!lazy_vma(v))
		return false;
	/* The first entry ending above the mapping's start. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entry_end(entry(pagemap, mid)) <= v->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < pagemap->nr_records && entry(pagemap, lo)->vaddr < v->end; lo++)
		if (entry(pagemap, lo)->state == PAGEMAP_ENTRY__STATE__PRESENT)
			return true;
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The pages [first, last] an rseq area spans, as the restorer populates
 * them; false if the thread has none. */
static bool rseq_pages(const Rseq *r, uint64_t *first, uint64_t *last)
{
	if (!r || !r->abi_size)
		return false;
	*first = r->abi_pointer & ~(PAGE - 1);
	*last = (r->abi_pointer + r->abi_size - 1) & ~(PAGE - 1);
	return true;
}

int lazy_pins_make(const TaskCore *core, struct lazy_pins *pins)
{
	uint64_t first, last;
	size_t n = 0;

	pins->nr = 0;
	for (size_t i = 0; i < core->n_threads; i++)
		if (rseq_pages(core->threads[i]->rseq, &first, &last))
			n += (last - first) / PAGE + 1;
	pins->pages = calloc(n + 1, sizeof(*pins->pages));
	if (!pins->pages)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < core->n_threads; i++)
		if (rseq_pages(core->threads[i]->rseq, &first, &last))
			for (uint64_t page = first; page <= last; page += PAGE)
				pins->pages[n++] = page;
	qsort(pins->pages, n, sizeof(*pins->pages), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (!pins->nr || pins->pages[pins->nr - 1] != pins->pages[i])
			pins->pages[pins->nr++] = pins->pages[i];
	return 0;
}

void lazy_pins_free(struct lazy_pins *pins)
{
	free(pins->pages);
	pins->pages = NULL;
	pins->nr = 0;
}

/* The first pin at or above @addr. */
static size_t pin_at(const struct lazy_pins *pins, uint64_t addr)
{
	size_t lo = 0, hi = pins->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pins->pages[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t lazy_fills_max(const Mm *mm, const struct image *pagemap, const struct lazy_pins *pins)
{
	return pagemap->nr_records + mm->n_vmas + pins->nr;
}

size_t lazy_eager_fills(const Mm *mm, const struct lazy_pins *pins,
			const struct restorer_fill *in, struct restorer_fill *out)
{
	/* @out may be @in: the fills are made in place. */
	const struct restorer_fill f = *in, *fill = &f;
	uint64_t addr = fill->addr, end = fill->addr + fill->len;
	size_t n = 0;

	/* Zeros are written where the mapping needs them, never served. */
	if (fill->file_off == RESTORER_FILL_ZERO) {
		out[0] = *fill;
		return 1;
	}
	for (size_t v = mm_vma_at(mm, addr); addr < end; v++) {
		uint64_t piece_end = end;
		bool lazy = false;

		/* The pagemap was checked to lie in mappings without gaps. */
		if (v < mm->n_vmas && mm->vmas[v]->start <= addr) {
			lazy = lazy_vma(mm->vmas[v]);
			if (mm->vmas[v]->end < piece_end)
				piece_end = mm->vmas[v]->end;
		}
		if (!lazy) {
			out[n++] = (struct restorer_fill){
				.addr = addr, .len = piece_end - addr,
				.file_off = fill->file_off + (addr - fill->addr),
				.file = fill->file, .plain = fill->plain };
		} else {
			for (size_t p = pin_at(pins, addr); p < pins->nr && pins->pages[p] < piece_end;
			     p++)
				out[n++] = (struct restorer_fill){
					.addr = pins->pages[p], .len = PAGE,
					.file_off = fill->file_off + (pins->pages[p] - fill->addr),
					.file = fill->file };
		}
		addr = piece_end;
	}
	return n;
}

int lazy_pending_make(const Mm *mm, const struct image *pagemap, const struct lazy_pins *pins,
		      const struct cow_premap *premaps, size_t nr_premaps, struct pending *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < pagemap->nr_records; i++) {
		const PagemapEntry *e = entry(pagemap, i);
		uint64_t addr = e->vaddr, end = entry_end(e);

		if (e->state != PAGEMAP_ENTRY__STATE__PRESENT)
			continue;
		for (size_t v = mm_vma_at(mm, addr); !ret && addr < end; v++) {
			uint64_t piece_end = end;
			bool lazy = false;

			if (v < mm->n_vmas && mm->vmas[v]->start <= addr) {
				lazy = lazy_vma(mm->vmas[v]);
				if (mm->vmas[v]->end < piece_end)
					piece_end = mm->vmas[v]->end;
			}
			/* Pieces end at mapping boundaries, so that no copy
			 * spans two mappings (UFFDIO_COPY refuses that). */
			if (lazy)
				ret = pending_append(p, addr, piece_end, pages_entry_file(e),
						     e->file_off + (addr - e->vaddr));
			addr = piece_end;
		}
	}
	for (size_t k = 0; !ret && k < pins->nr; k++)
		ret = pending_remove(p, pins->pages[k], pins->pages[k] + PAGE);
	for (size_t k = 0; !ret && k < nr_premaps; k++)
		ret = pending_remove(p, mm->vmas[premaps[k].vma]->start, mm->vmas[premaps[k].vma]->end);
	return ret;
}
