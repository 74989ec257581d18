/* Fewer system calls for many small mappings at restore (issue 17's
 * 50,000 mappings): which neighbouring VMAs the restorer maps with one
 * mmap, and the page fills that then lie in one mapping and one stretch of
 * a pages file, made one. Not the final protections, advice or names,
 * which each VMA still gets after its pages are in. */
#ifndef CRYO_RESTORE_MAP_RUNS_H
#define CRYO_RESTORE_MAP_RUNS_H

#include <stddef.h>

#include "restorer/args.h"

/* Sets map_with_next on each of the @nr sorted VMAs the kernel would merge
 * with the next one were they mapped one by one: private anonymous memory
 * of the same flags and first protection, end to end. */
void map_runs_mark(struct restorer_vma *v, size_t nr);

/* Joins each fill to the one before it where the two continue each other
 * (addresses, pages file and offset, kind) inside one mapping as the
 * restorer maps it (a VMA, or a run map_runs_mark() made). Returns the
 * new count; the fills stay in their order. */
size_t map_runs_merge_fills(const struct restorer_vma *v, size_t nr_vmas,
			    struct restorer_fill *fills, size_t nr_fills);

#endif
