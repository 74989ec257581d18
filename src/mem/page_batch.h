/* The page buffers of pagedump.c: one buffer of pages read out of a
 * task and the ranges they came from, taken from and given back to a
 * small pool that outlives the task. */
#ifndef CRYO_MEM_PAGE_BATCH_H
#define CRYO_MEM_PAGE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/proto/mm.pb-c.h"
#include "mem/pagedump.h"

#define BATCH_MAX_RANGES (PAGEDUMP_BUF_SIZE / IMG_PAGE_SIZE)

struct queued_range {
	uint64_t addr;
	uint64_t len;
	size_t buf_off;
	const Vma *vma;
	bool in_parent;		/* the parent's frames: only zero runs are kept */
	/* Unwritten since the parent set read it (write tracking): left
	 * there unread, no room in the buffer, the parent's digests carried. */
	bool unread;
	uint64_t parent_addr;	/* in_parent: where the parent maps them */
	uint32_t sibling;	/* in_parent: the sibling that does instead, or 0 */
};

/* One buffer of pages and the ranges they came from. */
struct batch {
	uint8_t *buf;
	size_t used;		/* bytes of @buf claimed by queued ranges */
	size_t populated;	/* bytes of @buf faulted in (batch_populate()) */
	size_t nr;
	struct queued_range *q;
	/* Per page of @buf: unchanged since the parent set (pagedump_set_parent()). */
	uint8_t kept[PAGEDUMP_BUF_SIZE / IMG_PAGE_SIZE];
};

/* A buffer for @b, from the pool or new (not populated yet): -ENOMEM. */
int batch_init(struct batch *b);
/* Faults in @b's buffer up to @upto bytes. */
void batch_populate(struct batch *b, size_t upto);
/* Gives @b's buffer back to the pool (or frees it) and clears @b. */
void batch_release(struct batch *b);

#endif
