/* The private mappings of a dump's processes that a child may share pages
 * with (its parent's, an earlier sibling's), as mem/cow_dump.c compares
 * them; private to src/mem. Not the comparison itself. */
#ifndef CRYO_MEM_COW_MAPS_H
#define CRYO_MEM_COW_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/proto/mm.pb-c.h"

struct parent_vma {
	uint64_t start, end;
	bool growsdown;
	char *path;		/* a private file mapping's file; NULL: anonymous */
	uint64_t pgoff;		/* its offset in the file, in bytes */
	const Vma *same_file;	/* the child's mapping last found of that file */
	uint64_t *claimed;	/* a bit a page given to one of the child's pages */
};

struct cow_maps_cache;

/* The mappings of @of (the parent of @pid, or a sibling) that
 * cow_vma_inheritable() would take, in address order, each with its own
 * @path and no @claimed bits yet; free them with cow_maps_free(). With
 * @cache, @of's smaps is read once for the whole dump: every process is
 * stopped and cured before any child compares with it, so its mappings
 * cannot change between children. */
int cow_maps_read(struct cow_maps_cache *cache, pid_t pid, pid_t of, struct parent_vma **vmas,
		  size_t *nr);
void cow_maps_free(struct parent_vma *vmas, size_t nr);

#endif
