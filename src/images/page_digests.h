/* Per-page digests of a task's pages (pagedigest-PID.img): written by a
 * pre-dump and by a dump with a parent set, read by the next dump of the
 * chain to tell which pages did not change. Not what a dump does with an
 * unchanged page (mem/pagededup.h), nor restoring a chain (pages_chain.h). */
#ifndef CRYO_IMAGES_PAGE_DIGESTS_H
#define CRYO_IMAGES_PAGE_DIGESTS_H

#include <stddef.h>
#include <stdint.h>

#include "images/image.h"

#define PAGE_DIGEST_SIZE 16

/* One entry per page, sorted by address. */
struct page_digests {
	size_t nr;
	uint64_t *vaddr;
	uint8_t (*digest)[PAGE_DIGEST_SIZE];
};

/* Reads pagedigest-@pid.img of @dir (checked); -ENOENT when it has none. */
int page_digests_load(const struct image_dir *dir, int pid, struct page_digests *out);
/* The digest of the page at @vaddr, or NULL. @cursor (start at 0) makes
 * lookups in ascending order cheap. */
const uint8_t *page_digests_find(const struct page_digests *pd, uint64_t vaddr, size_t *cursor);
void page_digests_free(struct page_digests *pd);

/* The check of the kind: sorted, page-aligned, whole digests. */
int page_digests_check(const struct image *img, const struct image_dir *dir, int id);

/* Writing, pages in ascending order (one thread). */
struct page_digests_writer;
int page_digests_writer_open(struct image_dir *dir, int pid, struct page_digests_writer **out);
int page_digests_add(struct page_digests_writer *w, uint64_t vaddr,
		     const uint8_t digest[PAGE_DIGEST_SIZE]);
int page_digests_writer_finish(struct page_digests_writer *w);
void page_digests_writer_abort(struct page_digests_writer *w);

#endif
