/* The pool of page buffers (page_batch.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/page_batch.h"

static void batch_unmap(struct batch *b)
{
	if (b->buf)
		munmap(b->buf, PAGEDUMP_BUF_SIZE);
	free(b->q);
	memset(b, 0, sizeof(*b));
}

void page_batch_pool_free(struct page_batch_pool *pool)
{
	while (pool->nr)
		batch_unmap(&pool->kept[--pool->nr]);
	pthread_mutex_destroy(&pool->lock);
}

int batch_init(struct page_batch_pool *pool, struct batch *b)
{
	if (pool) {
		pthread_mutex_lock(&pool->lock);
		if (pool->nr)
			*b = pool->kept[--pool->nr];
		pthread_mutex_unlock(&pool->lock);
	}
	if (b->buf)
		return 0;
	/* Page-aligned, so the pages file can take it with O_DIRECT;
	 * populated as it fills (batch_populate()). */
	b->buf = mmap(NULL, PAGEDUMP_BUF_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->buf == MAP_FAILED)
		b->buf = NULL;
	b->q = calloc(BATCH_MAX_RANGES, sizeof(*b->q));
	return b->buf && b->q ? 0 : -ENOMEM;
}

/* Faults in @b's buffer up to @upto, a sixteenth at a time: a dump whose
 * pages the parasite splices copies a page or two, and paid 1.5-2 ms for
 * all 4 MiB. A failure is left to the read into it. */
void batch_populate(struct batch *b, size_t upto)
{
	const size_t step = PAGEDUMP_BUF_SIZE / 16;
	size_t end = (upto + step - 1) / step * step;

	if (upto > b->populated) {
		end = end > PAGEDUMP_BUF_SIZE ? PAGEDUMP_BUF_SIZE : end;
		madvise(b->buf + b->populated, end - b->populated, MADV_POPULATE_WRITE);
		b->populated = end;
	}
}

void batch_release(struct page_batch_pool *pool, struct batch *b)
{
	bool kept = false;

	if (pool && b->buf && b->q) {
		b->nr = b->used = 0;
		pthread_mutex_lock(&pool->lock);
		if (pool->nr < PAGE_BATCH_POOL_MAX) {
			pool->kept[pool->nr++] = *b;
			kept = true;
		}
		pthread_mutex_unlock(&pool->lock);
	}
	if (kept)
		memset(b, 0, sizeof(*b));
	else
		batch_unmap(b);
}
