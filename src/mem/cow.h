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

/* At restore, a part [@start, @end) of a premapped mapping (below), held
 * at @slot until the restorer moves it into place. @inherited: a part of
 * the parent's premapped memory, got over clone3 with the parent's pages
 * (the process drops those that are not its parent's and reads its own);
 * else memory of its own, mapped fresh at @slot. @held: inherited from
 * memory the parent holds for its children (struct cow_held), whose pages
 * are all the process's already: nothing to drop or read. */
struct cow_piece {
	uint64_t start, end;
	uint64_t slot;
	bool inherited, held;
};

/* Memory a process holds at restore only while it creates its children:
 * the pages [@start, @end) of its child @owner (index in the tree) that
 * the owner and later siblings share (IN_PARENT with a sibling) and the
 * process itself no longer has. Mapped at @slot as the owner's mapping
 * @vma is (anonymous, growing down or not; or privately from its file at
 * the same offset, the pages being anonymous copies in a private file
 * mapping), filled with the owner's saved pages; its restorer unmaps it
 * with the rest. */
struct cow_held {
	uint64_t start, end;
	uint64_t slot;
	size_t owner;
	uint32_t vma;		/* in the owner's mappings: the first, when merged */
	bool growsdown;
	bool file;		/* @vma maps a file (then one mapping: never merged) */
};

/* A mapping cow_vma_inheritable() takes that a process maps and fills
 * before it creates its children (so that they inherit its pages), in
 * pieces that tile it, in address order, in the region cryo keeps free for
 * that. A file's is mapped from the file, whose pages its own fill. */
struct cow_premap {
	uint32_t vma;		/* index in the process's mappings */
	uint32_t nr_pieces;
	struct cow_piece *pieces;
};

/* Whether @v is memory a child gets from its parent by fork() and keeps
 * shared through restore: private anonymous (ANON, HEAP or STACK) or a
 * private mapping of a file by path (FILE), not droppable, not hugetlb.
 * The restore side asks the same of both mappings. */
bool cow_vma_inheritable(const Vma *v);

/* Whether page @addr of the child's mapping @v can be the page at
 * @parent_addr of a parent's mapping that starts at @parent_start and maps
 * file @parent_path from @parent_pgoff (NULL: anonymous): both anonymous,
 * or the same file at the same offset, which a fork and mremap() keep. */
bool cow_backing_matches(const Vma *v, uint64_t addr, const char *parent_path,
			 uint64_t parent_pgoff, uint64_t parent_start, uint64_t parent_addr);

/* Child @pid of live parent @ppid (both stopped): the parent's mappings
 * and both pagemaps, opened once per child, and those of @siblings, the
 * live children of @ppid dumped before it, in dump order. @has_children:
 * @pid has live children in the dump (then pages a sibling moved are not
 * looked for: see cow_dump.c). */
int cow_parent_open(pid_t pid, pid_t ppid, const pid_t *siblings, size_t nr_siblings,
		    bool has_children, struct cow_parent **out);
void cow_parent_close(struct cow_parent *cp);

/* Queues pages [@start, @end) of @v to @pd: runs that are the parent's
 * frames in its mappings cow_vma_inheritable() takes, at the same
 * addresses or not, with pagedump_add_in_parent(); runs whose frames the
 * parent maps nowhere but a sibling has (at the same address, or moved),
 * the same way with that sibling; the rest with pagedump_add(). With @cp
 * NULL, all with pagedump_add(). */
int cow_parent_add(struct cow_parent *cp, struct pagedump *pd, const Vma *v, uint64_t start,
		   uint64_t end);

#endif
