/* Unit tests of a pages store in two files (pages-PID.img, pages2-PID.img):
 * the writer puts each present range in the file it is told, merging only
 * within one file; the reader opens the second file only when a range
 * names it; the pagemap check holds each file to its own order and size,
 * and refuses a file number a range cannot have. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"

#define PS IMG_PAGE_SIZE
#define P PAGEMAP_ENTRY__STATE__PRESENT
#define Z PAGEMAP_ENTRY__STATE__ZERO
/* No second pages file at all. */
#define NO_SECOND UINT64_MAX

struct entry {
	uint64_t vaddr, nr_pages;
	int state;
	bool has_file_off;
	uint64_t file_off;
	bool has_pages_file;
	uint32_t pages_file;
};

static int write_raw(struct image_dir *dir, enum image_kind kind, uint64_t size)
{
	_cleanup_free_ unsigned char *zeros = calloc(1, size + 1);
	struct image_writer *w;

	if (!zeros || image_open_write(dir, kind, 1, &w))
		return -EIO;
	image_write_raw(w, zeros, size);
	return image_finish(w);
}

/* Writes @entries as pagemap-1.img beside pages files of @size0 and @size1
 * bytes (none for NO_SECOND) and reads it back: the error, and in *@msg
 * what was logged. */
static int read_pagemap(const struct entry *entries, size_t n, uint64_t size0, uint64_t size1,
			char **msg)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct image_writer *w;

	*msg = NULL;
	if (!tmp || image_dir_create(tmp, &dir) || write_raw(dir, IMG_PAGES, size0) ||
	    (size1 != NO_SECOND && write_raw(dir, IMG_PAGES2, size1)))
		return -ENOMEM;
	if (image_open_write(dir, IMG_PAGEMAP, 1, &w))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		PagemapEntry e = PAGEMAP_ENTRY__INIT;

		e.vaddr = entries[i].vaddr;
		e.nr_pages = entries[i].nr_pages;
		e.state = entries[i].state;
		e.has_file_off = entries[i].has_file_off;
		e.file_off = entries[i].file_off;
		e.has_pages_file = entries[i].has_pages_file;
		e.pages_file = entries[i].pages_file;
		image_write_record(w, &e.base);
	}
	return image_finish_and_read(w, dir, IMG_PAGEMAP, 1, msg);
}

#define F0(off) true, (off), false, 0
#define F1(off) true, (off), true, 1
#define NO_OFF false, 0, false, 0
#define FN(off, file) true, (off), true, (file)

/* The pagemap must be refused with @err, @cause in the message. */
#define CHECK_REFUSED(size0, size1, err, cause, ...)                                   \
	do {                                                                           \
		static const struct entry e_[] = { __VA_ARGS__ };                      \
		char *msg_;                                                            \
		int ret_ = read_pagemap(e_, ARRAY_SIZE(e_), size0, size1, &msg_);      \
                                                                                       \
		if (ret_ != (err) || !msg_ || !strstr(msg_, cause)) {                  \
			harness_fail(__FILE__, __LINE__, "want \"%s\", got %d: %s", cause, \
				     ret_, msg_ ? msg_ : "");                          \
			free(msg_);                                                    \
			return;                                                        \
		}                                                                      \
		free(msg_);                                                            \
	} while (0)

TEST(pagemap_of_two_files_is_checked_file_by_file)
{
	static const struct entry valid[] = {
		{ 0x1000, 1, P, F0(0) },
		{ 0x2000, 1, P, F1(0) },	/* each file's offsets from 0 */
		{ 0x3000, 1, P, F0(PS) },
		{ 0x4000, 2, P, F1(PS) },
		{ 0x6000, 1, Z, NO_OFF },
		{ 0x7000, 1, P, FN(2 * PS, 0) },	/* file 0, said so */
	};
	_cleanup_free_ char *msg = NULL;
	int ret = read_pagemap(valid, ARRAY_SIZE(valid), 3 * PS, 3 * PS, &msg);

	CHECK(ret == 0, "refused: %d: %s", ret, msg);
	/* Order is each file's own: file 1 going back is refused... */
	CHECK_REFUSED(2 * PS, 2 * PS, -EBADMSG, "range at 0x3000: its pages at file offset 0 precede",
		      { 0x1000, 1, P, F1(PS) }, { 0x2000, 1, P, F0(0) }, { 0x3000, 1, P, F1(0) });
	/* ... and its size is its own. */
	CHECK_REFUSED(4 * PS, PS, -EBADMSG, "past the end of pages2-1.img (4096 bytes)",
		      { 0x1000, 1, P, F0(0) }, { 0x2000, 2, P, F1(0) });
	CHECK_REFUSED(PS, NO_SECOND, -ENOENT, "pages2-1.img", { 0x1000, 1, P, F1(0) });
	CHECK_REFUSED(PS, PS, -EBADMSG, "range at 0x1000 names pages file 2: there are two",
		      { 0x1000, 1, P, FN(0, 2) });
	CHECK_REFUSED(PS, PS, -EBADMSG, "range at 0x1000 names pages file 1: only a present range",
		      { 0x1000, 1, Z, false, 0, true, 1 });
}

/* A page of @letter into pages file @file through a pipe, as the splicing
 * threads put it there. */
static int splice_page(struct pages_writer *pw, uint32_t file, uint64_t vaddr, char letter)
{
	char page[PS];
	int fds[2], ret;

	memset(page, letter, sizeof(page));
	if (pipe(fds))
		return -errno;
	ret = write(fds[1], page, PS) == PS ? 0 : -EIO;
	if (!ret)
		ret = pages_hash(pw, page, 1);
	if (!ret)
		ret = pages_note_spliced(pw, file, vaddr, 1);
	if (!ret)
		ret = pages_splice(pw, file, fds[0], PS) == PS ? 0 : -EIO;
	close(fds[0]);
	close(fds[1]);
	return ret;
}

static const PagemapEntry *entry_of(const struct pages_reader *pr, size_t i)
{
	return (const PagemapEntry *)pr->pagemap->records[i].msg;
}

/* What page @i of entry @e holds, read from its file. */
static char letter_at(const struct pages_reader *pr, const PagemapEntry *e, uint64_t i)
{
	char c = 0;

	if (pread(pr->pages_fd[pages_entry_file(e)], &c, 1, (off_t)(e->file_off + i * PS + 7)) != 1)
		return 0;
	return c;
}

TEST(pages_writer_splits_ranges_between_two_files)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct pages_reader *pr = NULL;
	struct pages_writer *pw;
	uint64_t size;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!pages_writer_open(dir, 1, &pw) && !pages_hash_by_caller(pw), "open");
	CHECK(pages_note_spliced(pw, 1, 0x1000, 1) == -EINVAL, "file 1 before it is open");
	CHECK(!pages_open_second(pw), "open the second file");
	CHECK(!splice_page(pw, 0, 0x1000, 'a') && !splice_page(pw, 1, 0x2000, 'b') &&
	      !splice_page(pw, 0, 0x3000, 'c') && !splice_page(pw, 1, 0x4000, 'd') &&
	      !splice_page(pw, 1, 0x5000, 'e') && !pages_write_zero(pw, 0x6000, 1),
	      "splice");
	CHECK(!pages_writer_finish(pw), "finish");
	CHECK(!pages_reader_open(dir, 1, &pr), "read back");
	CHECK(pr->nr_files == 2 && pr->pagemap->nr_records == 5, "%u files, %zu ranges",
	      pr->nr_files, pr->pagemap->nr_records);
	/* Adjacent in memory, merged only within one file. */
	CHECK(entry_of(pr, 2)->vaddr == 0x3000 && pages_entry_file(entry_of(pr, 2)) == 0 &&
	      entry_of(pr, 2)->file_off == PS, "page c");
	CHECK(entry_of(pr, 3)->vaddr == 0x4000 && entry_of(pr, 3)->nr_pages == 2 &&
	      pages_entry_file(entry_of(pr, 3)) == 1 && entry_of(pr, 3)->file_off == PS,
	      "pages d and e");
	CHECK(!entry_of(pr, 4)->has_pages_file, "a zero range names no file");
	CHECK(letter_at(pr, entry_of(pr, 0), 0) == 'a' && letter_at(pr, entry_of(pr, 1), 0) == 'b' &&
	      letter_at(pr, entry_of(pr, 2), 0) == 'c' && letter_at(pr, entry_of(pr, 3), 0) == 'd' &&
	      letter_at(pr, entry_of(pr, 3), 1) == 'e', "the bytes in their files");
	CHECK(!pages_file_size(dir, 1, 1, &size) && size == 3 * PS, "pages2-1.img");
	pages_reader_close(pr);
}

/* A store that never opened its second file is the one-file format: no
 * range names a file, no pages2 file exists, the reader opens one. */
TEST(pages_writer_of_one_file_writes_the_old_format)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct pages_reader *pr = NULL;
	struct pages_writer *pw;
	char page[PS];

	memset(page, 'x', sizeof(page));
	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!pages_writer_open(dir, 1, &pw), "open");
	CHECK(!pages_write(pw, 0x1000, 1, page) && !pages_writer_finish(pw), "write");
	CHECK(!pages_reader_open(dir, 1, &pr), "read back");
	CHECK(pr->nr_files == 1 && pr->pages_fd[1] == -1 && !entry_of(pr, 0)->has_pages_file,
	      "%u files", pr->nr_files);
	CHECK(faccessat(dir->fd, "pages2-1.img", F_OK, 0) && errno == ENOENT, "a second file");
	pages_reader_close(pr);
}
