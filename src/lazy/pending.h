/* The pages of one address space that a lazy restore still has to serve:
 * sorted, disjoint ranges of addresses, each with where its bytes start in
 * which pages file. Served ranges, and ranges the process dropped (munmap,
 * MADV_DONTNEED), are taken out; mremap moves them. Pure bookkeeping: no
 * system calls. */
#ifndef CRYO_LAZY_PENDING_H
#define CRYO_LAZY_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pending_range {
	uint64_t start, end;	/* start == end: emptied, awaiting compaction */
	uint64_t file_off;	/* of start */
	uint32_t file;		/* in this pages file (PagemapEntry.pages_file) */
};

struct pending {
	struct pending_range *r;
	size_t nr, cap;
	size_t nr_empty;	/* emptied entries still in the array */
	size_t cursor;		/* no non-empty range before it */
	uint64_t bytes;		/* still to serve */
};

void pending_init(struct pending *p);
void pending_free(struct pending *p);
/* Appends a range above every range added so far; 0 or -ENOMEM, -EINVAL. */
int pending_append(struct pending *p, uint64_t start, uint64_t end, uint32_t file,
		   uint64_t file_off);
/* The range holding @addr, or NULL. */
const struct pending_range *pending_find(const struct pending *p, uint64_t addr);
/* The lowest range still pending, or NULL when all is served. */
const struct pending_range *pending_first(struct pending *p);
/* Takes [start, end) out; 0 or -ENOMEM (a range cut in two needs room). */
int pending_remove(struct pending *p, uint64_t start, uint64_t end);
/* What was pending in [from, from + len) is now at [to, to + len). */
int pending_move(struct pending *p, uint64_t from, uint64_t to, uint64_t len);
/* @dst (initialised, empty) becomes a copy of @src. */
int pending_copy(struct pending *dst, const struct pending *src);

#endif
