/* The ranges a lazy restore still has to serve (pending.h). A sorted array:
 * served ranges are emptied in place and swept out now and then, so that
 * serving many small ranges one by one never moves the whole array each
 * time. Invariant: every entry starts above the previous one's start, and
 * every non-empty entry ends at or below the next one's start. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/pending.h"

void pending_init(struct pending *p)
{
	memset(p, 0, sizeof(*p));
}

void pending_free(struct pending *p)
{
	free(p->r);
	pending_init(p);
}

static bool is_empty(const struct pending_range *r)
{
	return r->start == r->end;
}

static int reserve(struct pending *p, size_t more)
{
	struct pending_range *r;
	size_t cap;

	if (p->nr + more <= p->cap)
		return 0;
	cap = p->cap ? p->cap * 2 : 16;
	while (cap < p->nr + more)
		cap *= 2;
	r = realloc(p->r, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	p->r = r;
	p->cap = cap;
	return 0;
}

int pending_append(struct pending *p, uint64_t start, uint64_t end, uint32_t file,
		   uint64_t file_off)
{
	if (start >= end || (p->nr && start < p->r[p->nr - 1].end))
		return -EINVAL;
	if (reserve(p, 1))
		return -ENOMEM;
	p->r[p->nr++] = (struct pending_range){ start, end, file_off, file };
	p->bytes += end - start;
	return 0;
}

/* The last entry starting at or below @addr, or -1. */
static long last_at_or_below(const struct pending *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->r[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

const struct pending_range *pending_find(const struct pending *p, uint64_t addr)
{
	long i = last_at_or_below(p, addr);

	if (i < 0 || is_empty(&p->r[i]) || addr >= p->r[i].end)
		return NULL;
	return &p->r[i];
}

static void compact(struct pending *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nr; i++)
		if (!is_empty(&p->r[i]))
			p->r[n++] = p->r[i];
	p->nr = n;
	p->nr_empty = 0;
	p->cursor = 0;
}

const struct pending_range *pending_first(struct pending *p)
{
	while (p->cursor < p->nr && is_empty(&p->r[p->cursor]))
		p->cursor++;
	return p->cursor < p->nr ? &p->r[p->cursor] : NULL;
}

static void insert_at(struct pending *p, size_t i, struct pending_range r)
{
	memmove(&p->r[i + 1], &p->r[i], (p->nr - i) * sizeof(*p->r));
	p->r[i] = r;
	p->nr++;
	if (p->cursor > i)
		p->cursor = i;
}

int pending_remove(struct pending *p, uint64_t start, uint64_t end)
{
	long first = last_at_or_below(p, start);

	if (start >= end)
		return 0;
	for (size_t i = first < 0 ? 0 : (size_t)first; i < p->nr && p->r[i].start < end; i++) {
		struct pending_range *x = &p->r[i];
		uint64_t lo = x->start > start ? x->start : start;
		uint64_t hi = x->end < end ? x->end : end;

		if (is_empty(x) || x->end <= start)
			continue;
		if (lo == x->start && hi == x->end) {
			x->end = x->start;
			p->nr_empty++;
		} else if (lo == x->start) {
			x->file_off += hi - x->start;
			x->start = hi;
		} else if (hi == x->end) {
			x->end = lo;
		} else {
			struct pending_range tail = { hi, x->end, x->file_off + (hi - x->start),
						      x->file };

			if (reserve(p, 1))
				return -ENOMEM;
			x = &p->r[i];
			x->end = lo;
			insert_at(p, i + 1, tail);
			i++;
		}
		p->bytes -= hi - lo;
	}
	if (p->nr_empty > 64 && p->nr_empty > p->nr / 2)
		compact(p);
	return 0;
}

int pending_move(struct pending *p, uint64_t from, uint64_t to, uint64_t len)
{
	struct pending_range *moved;
	size_t n = 0;
	int ret = 0;

	if (!len || from == to)
		return 0;
	moved = malloc((p->nr + 2) * sizeof(*moved));
	if (!moved)
		return -ENOMEM;
	for (size_t i = 0; i < p->nr; i++) {
		const struct pending_range *x = &p->r[i];
		uint64_t lo = x->start > from ? x->start : from;
		uint64_t hi = x->end < from + len ? x->end : from + len;

		if (is_empty(x) || lo >= hi)
			continue;
		moved[n++] = (struct pending_range){ lo - from + to, hi - from + to,
						     x->file_off + (lo - x->start), x->file };
	}
	ret = pending_remove(p, from, from + len);
	if (!ret)
		ret = pending_remove(p, to, to + len);
	if (!ret)
		ret = reserve(p, n);
	/* No emptied entry may sit inside a range put back. */
	if (!ret)
		compact(p);
	for (size_t k = 0; !ret && k < n; k++) {
		insert_at(p, (size_t)(last_at_or_below(p, moved[k].start) + 1), moved[k]);
		p->bytes += moved[k].end - moved[k].start;
	}
	free(moved);
	return ret;
}

int pending_copy(struct pending *dst, const struct pending *src)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < src->nr; i++)
		if (!is_empty(&src->r[i]))
			ret = pending_append(dst, src->r[i].start, src->r[i].end, src->r[i].file,
					     src->r[i].file_off);
	return ret;
}
