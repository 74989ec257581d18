/* The pool of page buffers (page_batch.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/page_batch.h"

/* Buffers outlive the task they served: the next task of a tree reuses
 * them. Fresh memory costs a fault per page, and on this kind of VM a
 * fresh page is dear; a pool of populated buffers pays that once. */
#define POOL_MAX 4
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct batch pool[POOL_MAX];
static size_t pool_nr;

int batch_init(struct batch *b)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_nr)
		*b = pool[--pool_nr];
	pthread_mutex_unlock(&pool_lock);
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

void batch_release(struct batch *b)
{
	bool kept = false;

	if (b->buf && b->q) {
		b->nr = b->used = 0;
		pthread_mutex_lock(&pool_lock);
		if (pool_nr < POOL_MAX) {
			pool[pool_nr++] = *b;
			kept = true;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (!kept) {
		if (b->buf)
			munmap(b->buf, PAGEDUMP_BUF_SIZE);
		free(b->q);
	}
	memset(b, 0, sizeof(*b));
}
