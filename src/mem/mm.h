/* The address space of one task, as mm-PID.img (one Mm record) plus its
 * pages store: dumping it from a seized task, and loading it back for
 * restore with every field checked first. Applying it is restore's job. */
#ifndef CRYO_MEM_MM_H
#define CRYO_MEM_MM_H

#include <stdbool.h>
#include <stdint.h>

#include "images/image.h"
#include "images/proto/mm.pb-c.h"
#include "mem/pagescan.h"

struct cow_maps_cache;
struct files_dump_set;
struct inj_blob;
struct inj_task;
struct precopy_task;
struct track_task;
struct vma_list;

/* The most auxv words an image may hold; the kernel keeps far fewer. */
#define MM_AUXV_MAX_WORDS 512

struct stats;

struct mm_dump_opts {
	enum pagescan_method scan;	/* how present pages are found */
	/* The program break if the caller knows it (cryo's dump asks the
	 * parasite, which is safe if cryo dies meanwhile); otherwise it is read
	 * with a remote brk(0). */
	bool have_brk;
	uint64_t brk;
	/* MCL_FUTURE [| MCL_ONFAULT] in effect (mm_read_mlockall()); 0: none. */
	uint32_t mlockall;
	struct stats *stats;	/* pages counted here too; NULL: not */
	/* The dump's page buffers, lent to each task (page_batch.h); NULL:
	 * made and unmapped for this task alone. */
	struct page_batch_pool *page_buffers;
	/* The file objects of the dump, which the files of memfd, deleted-file
	 * and shared anonymous mappings join (files_dump_mappings()). */
	struct files_dump_set *files;
	/* The task's parent when it is a live process of the dump: pages
	 * shared with it since fork() are saved IN_PARENT (mem/cow.h). 0: none. */
	pid_t parent;
	/* The parent's live children dumped before it, in dump order: pages
	 * the parent no longer has but one of them does are saved IN_PARENT
	 * with that sibling. */
	const pid_t *siblings;
	size_t nr_siblings;
	/* The parents' and siblings' mappings, read once a dump; NULL: read
	 * for each child. */
	struct cow_maps_cache *cow_maps;
	/* It has live children in the dump: its pages are read unpinned
	 * too, so that it keeps the frames they share with it. */
	bool has_children;
	/* cryo's parasite: with it, a task with much private anonymous
	 * memory has those pages vmspliced (mem/pagesplice.h). NULL: not. */
	const struct inj_blob *parasite_blob;
	/* Its pre-copy state (mem/precopy.h): its pages go to a scratch
	 * store, and those copied unwritten before it froze are not read
	 * again. NULL: dumped the usual way. */
	struct precopy_task *precopy;
	/* Its write tracking across dumps (mem/track.h): pages of the
	 * mappings it covers that nobody wrote since the parent set read them
	 * are left there unread; with rearm, they are protected for the next
	 * set before they are read. NULL: none. */
	struct track_task *track;
	/* Incremental dumps: the parent image set (--prev-images-dir), whose
	 * digests of this task's pages tell which are unchanged (saved
	 * IN_PARENT_IMAGE); NULL: none. With @digests, every page's digest is
	 * written too (pagedigest-PID.img), for the next dump of the chain. */
	const struct image_dir *parent_set;
	bool digests;
	/* A pre-dump: the pages store alone, no mm-PID.img nor file objects. */
	bool pages_only;
	/* The task's mappings, read by the caller once no parasite was left in
	 * it (vma_list_read()), which mm_dump_with() takes over (leaving the
	 * list empty); NULL: read there. A tree's dump reads them on its
	 * tracing thread, which has time to spare (dump/process.c). */
	struct vma_list *vmas;
};

/* Writes mm-PID.img, pagemap-PID.img and pages-PID.img of @task into
 * @dir. On failure none of them is left under its final name. The files
 * of memfd and deleted-file mappings join opts->files, after files_dump()
 * of the task. */
/* The mm's default flags, which mlockall(MCL_FUTURE) sets: no interface
 * reads them, but every new mapping takes them, so the smaps VmFlags of
 * @fresh, a mapping made in @pid after it was frozen, show them (read
 * only when VmLck says some memory is locked, as @fresh would be). */
int mm_read_mlockall(pid_t pid, uint64_t fresh, uint32_t *mcl);

int mm_dump_with(struct inj_task *task, struct image_dir *dir, const struct mm_dump_opts *opts);

/* Reads mm-@pid.img of @dir and checks it, and its pagemap against its
 * mappings: every saved page lies in a mapping whose pages are saved.
 * Free the result with mm_free(). */
int mm_load(const struct image_dir *dir, int pid, Mm **out);
void mm_free(Mm *mm);
/* The mapping of @mm (checked: sorted, not overlapping) holding @addr, or
 * the first one above it; n_vmas if none. */
size_t mm_vma_at(const Mm *mm, uint64_t addr);

/* The checks of an mm image that need no other file: one record, mm
 * fields, auxv, and each mapping (alignment, order, kind, prot, flags,
 * paths, names). The images library calls it for every mm image read. */
int mm_check(const struct image *img, const struct image_dir *dir, int id);
/* mm-PID.img, with that check, for the image registry. */
extern const struct image_kind_set mem_image_kinds;

#endif
