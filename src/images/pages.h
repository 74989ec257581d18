/* The pages store of one task: a pagemap image (pagemap-PID.img) of sorted
 * ranges of virtual addresses, and a raw pages file (pages-PID.img) holding
 * the bytes of the present ranges back to back, in the same order. A large
 * dump writes two pages files on two threads (tmpfs copies into one file
 * under its inode lock): pages2-PID.img too, each present range naming its
 * file (PagemapEntry.pages_file), each file in address order. */
#ifndef CRYO_IMAGES_PAGES_H
#define CRYO_IMAGES_PAGES_H

#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"

/* The pagemap's unit; the inventory records it so that a set is refused
 * where pages have another size. */
#define IMG_PAGE_SIZE 4096u

/* pages-PID.img and pages2-PID.img. */
#define PAGES_FILES_MAX 2

/* ---- writing ---------------------------------------------------------------
 * Ranges must come in ascending address order; adjacent ranges of the same
 * state are merged into one entry. Present data is written sequentially in
 * large writes. */
struct pages_writer;

int pages_writer_open(struct image_dir *dir, int pid, struct pages_writer **out);
/* After pages_hash_by_caller(), before any write, the pages file's digest
 * is no longer taken by pages_write(): every page it is given goes to
 * pages_hash() first, in the same order, from one thread (which may run
 * ahead of the writes, in another thread). */
int pages_hash_by_caller(struct pages_writer *pw);
int pages_hash(struct pages_writer *pw, const void *data, uint64_t nr_pages);
/* Opens the second pages file (pages2-PID.img), hashed by its caller:
 * only spliced bytes go there (pages_note_spliced() with @file 1). Not for
 * a scratch store or one in place. */
int pages_open_second(struct pages_writer *pw);
/* The digest of pages file @file (0, or 1 once opened) as pages_hash()
 * feeds file 0's, handed to the parasite and back (image_hash_export());
 * XXH3 only (-EOPNOTSUPP for a signed set). */
int pages_hash_export(struct pages_writer *pw, uint32_t file, void *state, size_t size);
int pages_hash_import(struct pages_writer *pw, uint32_t file, const void *state, size_t size);
/* Records @nr_pages pages at @vaddr whose bytes come through
 * pages_splice() into pages file @file, in the same order as every other
 * present range of that file. */
int pages_note_spliced(struct pages_writer *pw, uint32_t file, uint64_t vaddr,
		       uint64_t nr_pages);
/* Moves up to @max bytes from @pipe_fd into pages file @file
 * (image_splice_raw()). Not beside pages_write() into file 0: the two
 * take turns; the two files' splices may run on two threads. */
ssize_t pages_splice(struct pages_writer *pw, uint32_t file, int pipe_fd, size_t max);
/* Saves @nr_pages pages at @vaddr whose bytes are at @data (file 0). */
int pages_write(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages, const void *data);
/* Records @nr_pages pages at @vaddr that read as zeros. */
int pages_write_zero(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages);
/* Records @nr_pages pages at @vaddr that are its parent's frames at
 * @parent_vaddr (IN_PARENT), or with @sibling (not 0) that sibling's,
 * which the parent holds only while it creates its children. */
int pages_write_in_parent(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages,
			  uint64_t parent_vaddr, uint32_t sibling);
/* Records @nr_pages pages at @vaddr unchanged since the parent image set
 * (a pre-dump), which holds them at the same address (IN_PARENT_IMAGE). */
int pages_write_in_parent_image(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages);
/* Finishes the pages file, then the pagemap, and frees @pw. On failure
 * neither file is left under its final name. */
int pages_writer_finish(struct pages_writer *pw);
void pages_writer_abort(struct pages_writer *pw);

/* ---- scratch stores ----------------------------------------------------------
 * The same writer into an unnamed file of the image directory (gone when
 * its fd closes, so never left behind), with its ranges kept in memory:
 * the passes of a pre-copy dump (mem/precopy.h) collect pages there and
 * merge them into the task's pages store afterwards. Nothing is hashed. */
struct pages_scratch_range {
	uint64_t vaddr, nr_pages;
	uint64_t file_off;	/* PRESENT only */
	uint64_t parent_vaddr;	/* IN_PARENT only */
	uint32_t sibling;	/* IN_PARENT only: PagemapEntry.sibling, or 0 */
	int state;		/* PagemapEntry__State */
};

struct pages_scratch {
	int fd;
	size_t nr, cap;
	struct pages_scratch_range *v;	/* ascending, adjacent ones merged */
};

int pages_scratch_open(struct image_dir *dir, int pid, struct pages_writer **out);
/* Ends the writing (freeing @pw, also on failure) and hands its file and
 * ranges to @out, which pages_scratch_free() releases. */
int pages_scratch_finish(struct pages_writer *pw, struct pages_scratch *out);
void pages_scratch_free(struct pages_scratch *s);
/* Appends @r, above every range of @s, merged with the last where it
 * continues it (in memory and, present, in the file). */
int pages_scratch_push(struct pages_scratch *s, const struct pages_scratch_range *r);

/* ---- in place ----------------------------------------------------------------
 * The pages store of a pre-copy dump, written while the task runs and
 * patched after: pages_inplace_open() opens the task's store, whose first
 * pass writes as a scratch store does (ranges kept in memory, nothing
 * hashed), but into the pages file itself; pages_reserve() leaves room for
 * pages to come. pages_inplace_first_done() hands those ranges over (fd -1)
 * with the bytes written so far; from then on every range is recorded in
 * address order as any store's, a present one by pages_write_at() at the
 * offset where its caller put its bytes (pages_inplace_fd()), never before
 * the end of the last. pages_writer_finish() then cuts the file after the
 * last range, zeroes what no range holds, and hashes the whole file. */
int pages_inplace_open(struct image_dir *dir, int pid, struct pages_writer **out);
int pages_reserve(struct pages_writer *pw, uint64_t nr_pages);
int pages_inplace_first_done(struct pages_writer *pw, struct pages_scratch *out, uint64_t *size);
int pages_inplace_fd(const struct pages_writer *pw);
int pages_write_at(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages, uint64_t file_off);

/* ---- reading -------------------------------------------------------------- */
struct pages_reader {
	struct image *pagemap;	/* PagemapEntry records, all checked */
	/* Each present range is read at its file_off in pages_fd[its
	 * pages_file]; [1] is -1 (and its path NULL) when no range is in
	 * pages2-PID.img. */
	int pages_fd[PAGES_FILES_MAX];
	char *pages_path[PAGES_FILES_MAX];	/* "DIR/pages-PID.img", for messages */
	uint32_t nr_files;	/* 1, or 2 */
};

int pages_reader_open(const struct image_dir *dir, int pid, struct pages_reader **out);
void pages_reader_close(struct pages_reader *pr);

/* The size of pages file @file (0: pages-@id.img, 1: pages2-@id.img) in
 * @dir, checked to be whole pages. */
int pages_file_size(const struct image_dir *dir, int id, uint32_t file, uint64_t *size);
/* The image kind of pages file @file. */
static inline enum image_kind pages_file_kind(uint32_t file)
{
	return file ? IMG_PAGES2 : IMG_PAGES;
}
/* The pages file of entry @e (a PagemapEntry, checked). */
#define pages_entry_file(e) ((e)->has_pages_file ? (e)->pages_file : 0u)

#endif
