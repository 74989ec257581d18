/* Pages shared copy-on-write since fork(): found at dump (cow_dump.c) by
 * frame numbers and recorded IN_PARENT; restore side in restore/cow.h. */
#ifndef CRYO_MEM_COW_H
#define CRYO_MEM_COW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/proto/mm.pb-c.h"

struct cow_parent;
struct pagedump;

/* At restore, a private anonymous mapping a process maps and fills before
 * it creates its children (so that they inherit its pages), at @slot in
 * the region cryo keeps free for that; the restorer moves it to its place.
 * @inherited: the process got it from its parent's premap of the same
 * mapping (IN_PARENT pages) and only writes its own pages in it. */
struct cow_premap {
	uint32_t vma;		/* index in the process's mappings */
	bool inherited;
	uint64_t slot;
};

/* Whether @v is memory a child gets from its parent by fork() and keeps
 * shared through restore: private anonymous (ANON or HEAP), not a stack,
 * not droppable. The restore side asks the same of both mappings. */
bool cow_vma_inheritable(const Vma *v);

/* Child @pid of live parent @ppid (both stopped): the parent's mappings
 * and both pagemaps, opened once per child. */
int cow_parent_open(pid_t pid, pid_t ppid, struct cow_parent **out);
void cow_parent_close(struct cow_parent *cp);

/* Queues pages [@start, @end) of @v to @pd: runs that are the parent's
 * frames at the same addresses in a mapping of the same start, end and
 * kind with pagedump_add_in_parent(), the rest with pagedump_add(). With
 * @cp NULL, all with pagedump_add(). */
int cow_parent_add(struct cow_parent *cp, struct pagedump *pd, const Vma *v, uint64_t start,
		   uint64_t end);

#endif
