/* Copying a task's pages into its pages store, in address order and large
 * batches: process_vm_readv with many ranges per call, and /proc/PID/mem
 * for mappings it cannot read (no PROT_READ). Which pages to copy is
 * decided by the caller (pagescan.h). */
#ifndef CRYO_MEM_PAGEDUMP_H
#define CRYO_MEM_PAGEDUMP_H

#include <stdint.h>
#include <sys/types.h>

#include "images/pages.h"
#include "images/proto/mm.pb-c.h"

/* The batch buffer: large enough that system calls are few, small enough
 * to stay in the caches between the read and the write. */
#define PAGEDUMP_BUF_SIZE (4u << 20)

struct inj_parasite;
struct page_ranges;
struct page_digests;
struct page_digests_writer;
struct pagedump;
struct stats;

struct pagedump_stats {
	uint64_t pages_read;	/* copied out of the task */
	uint64_t pages_saved;	/* written to the pages file */
	uint64_t pages_zero;	/* found to hold only zeros: not stored */
	uint64_t pages_in_parent;	/* the parent's frames: not stored (IN_PARENT) */
	uint64_t pages_in_parent_image;	/* unchanged since the parent set: not stored */
	uint64_t pages_unread;	/* of those, unwritten since (write tracking): not read */
};

struct page_batch_pool;
/* @pool (page_batch.h; NULL: none) lends the page buffers and takes them
 * back at pagedump_close(). */
int pagedump_open(pid_t pid, struct pages_writer *pw, struct page_batch_pool *pool,
		  struct pagedump **out);

/* Queues pages [@start, @end) of @vma, which must come after everything
 * queued so far. Pages that hold only zeros are left out of private
 * anonymous mappings (an untouched page reads the same) and recorded as
 * zero ranges elsewhere. Copies a batch whenever the buffer is full. */
int pagedump_add(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end);

/* The same for pages that are the parent's frames from @parent_start on
 * (shared copy-on-write since fork): recorded IN_PARENT, no bytes saved.
 * With @sibling (not 0): that sibling's frames, the parent's no more. */
int pagedump_add_in_parent(struct pagedump *pd, const Vma *vma, uint64_t start, uint64_t end,
			   uint64_t parent_start, uint32_t sibling);

/* Incremental dumps: a page whose digest equals the one @parent (the
 * parent set's digests of this task) holds for its address is recorded
 * IN_PARENT_IMAGE and not stored; the digest of every non-zero page read
 * goes to @out. Either may be NULL. Before anything is queued; not with
 * the parasite's splicing. */
void pagedump_set_parent(struct pagedump *pd, const struct page_digests *parent,
			 struct page_digests_writer *out);

/* Write tracking (mem/track.h): the pages in @unread (ascending, within
 * the mapping queued next), unwritten since the parent set read them and
 * held there, are recorded IN_PARENT_IMAGE without being read, the
 * parent's digests carried into this set's. NULL: none. Needs
 * pagedump_set_parent(); the ranges must outlive the mapping's queueing. */
void pagedump_set_unread(struct pagedump *pd, const struct page_ranges *unread);

/* Copies what is still queued. */
int pagedump_flush(struct pagedump *pd);

void pagedump_get_stats(const struct pagedump *pd, struct pagedump_stats *stats);

/* Pages read are also counted in @stats, batch by batch (NULL: not). */
void pagedump_set_stats(struct pagedump *pd, struct stats *stats);

/* process_vm_readv() pins the pages it reads, and the kernel unshares a
 * page shared copy-on-write with another process before pinning it: the
 * task would come out of its dump with copies. For a task that shares
 * pages with its parent or children, everything is read through
 * /proc/PID/mem instead, which does not pin. */
void pagedump_read_unpinned(struct pagedump *pd);

/* From now on the pages of private anonymous, readable mappings go
 * through @parasite (pagesplice.h): vmspliced by the task into a pipe and
 * spliced into the pages file, one copy fewer. -EOPNOTSUPP for a set
 * whose digest the parasite cannot take; @pd then goes on as before. The
 * parasite must outlive pagedump_flush(). @nr_files 2: into two pages
 * files, on two writer threads (pagesplice.h). */
int pagedump_splice_through(struct pagedump *pd, struct inj_parasite *parasite,
			    uint32_t nr_files);

/* The pages of [@addr, @addr + @len) are read and written at once, never
 * spliced: the kernel may write them while the parasite runs (a thread's
 * rseq area), and a spliced page is hashed when queued but copied only
 * when the pipe is drained. */
int pagedump_copy_not_splice(struct pagedump *pd, uint64_t addr, uint64_t len);

/* Frees @pd; the pages writer stays the caller's. */
void pagedump_close(struct pagedump *pd);

#endif
