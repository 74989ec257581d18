/* The page buffers of pagedump.c: one buffer of pages read out of a
 * task and the ranges they came from, taken from and given back to a
 * small pool that the dump owns and that outlives each task. */
#ifndef CRYO_MEM_PAGE_BATCH_H
#define CRYO_MEM_PAGE_BATCH_H

#include <pthread.h>
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

/* Buffers outlive the task they served: the next task of a tree reuses
 * them. Fresh memory costs a fault per page, and on this kind of VM a
 * fresh page is dear; a pool of populated buffers pays that once. Tasks
 * may be dumped on two threads at once, hence the lock. */
#define PAGE_BATCH_POOL_MAX 4
struct page_batch_pool {
	pthread_mutex_t lock;
	struct batch kept[PAGE_BATCH_POOL_MAX];
	size_t nr;
};

/* A pool is made with { .lock = PTHREAD_MUTEX_INITIALIZER }. This unmaps
 * the buffers it keeps: call it once no task is dumped. */
void page_batch_pool_free(struct page_batch_pool *pool);

/* A buffer for @b, from @pool (NULL: none) or new, not populated yet:
 * -ENOMEM. */
int batch_init(struct page_batch_pool *pool, struct batch *b);
/* Faults in @b's buffer up to @upto bytes. */
void batch_populate(struct batch *b, size_t upto);
/* Gives @b's buffer back to @pool (or frees it: a full pool, or NULL)
 * and clears @b. */
void batch_release(struct page_batch_pool *pool, struct batch *b);

#endif
