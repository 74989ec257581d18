/* Unit tests of the checks restore runs on a loaded pagemap (order,
 * alignment, ranges within the pages file) and inventory. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"
#include "images/proto/pagemap.pb-c.h"

#define PS IMG_PAGE_SIZE

/* ---- pagemap checks -------------------------------------------------------- */

struct entry {
	uint64_t vaddr, nr_pages;
	int state;
	bool has_file_off;
	uint64_t file_off;
	bool has_parent_vaddr;
	uint64_t parent_vaddr;
	bool has_sibling;
	uint32_t sibling;
};

#define OFF(x) true, (x), false, 0, false, 0
#define NO_OFF false, 0, false, 0, false, 0
#define PARENT_AT(x) false, 0, true, (x), false, 0
#define OFF_PARENT_AT(off, x) true, (off), true, (x), false, 0
#define SIBLING(x) false, 0, false, 0, true, (x)
#define OFF_SIBLING(off, x) true, (off), false, 0, true, (x)

#define P PAGEMAP_ENTRY__STATE__PRESENT
#define Z PAGEMAP_ENTRY__STATE__ZERO
#define IP PAGEMAP_ENTRY__STATE__IN_PARENT

/* Writes @entries as pagemap-1.img with a pages file of @pages_size bytes
 * and reads it back; returns the error and, in *@msg, what was logged. */
static int read_pagemap(const struct entry *entries, size_t n, uint64_t pages_size, char **msg)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ unsigned char *zeros = calloc(1, pages_size + 1);
	struct image_writer *w;

	*msg = NULL;
	if (!tmp || !zeros || image_dir_create(tmp, &dir))
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
		e.has_parent_vaddr = entries[i].has_parent_vaddr;
		e.parent_vaddr = entries[i].parent_vaddr;
		e.has_sibling = entries[i].has_sibling;
		e.sibling = entries[i].sibling;
		image_write_record(w, &e.base);
	}
	if (image_finish(w) || image_open_write(dir, IMG_PAGES, 1, &w))
		return -EIO;
	image_write_raw(w, zeros, pages_size);
	return image_finish_and_read(w, dir, IMG_PAGEMAP, 1, msg);
}

/* The pagemap must be refused, with @where and @cause in the message. */
#define CHECK_PAGEMAP_REFUSED(pages_size, where, cause, ...)                        \
	do {                                                                       \
		static const struct entry e_[] = { __VA_ARGS__ };                  \
		char *msg_;                                                        \
		int ret_ = read_pagemap(e_, ARRAY_SIZE(e_), pages_size, &msg_);    \
                                                                                   \
		if (ret_ != -EBADMSG || !msg_ || !strstr(msg_, where) ||           \
		    !strstr(msg_, cause)) {                                        \
			harness_fail(__FILE__, __LINE__, "want \"%s\", got %d: %s", \
				     cause, ret_, msg_ ? msg_ : "");               \
			free(msg_);                                                \
			return;                                                    \
		}                                                                  \
		free(msg_);                                                        \
	} while (0)

#define IN_PAGEMAP "pagemap-1.img: offset "

TEST(pagemap_accepts_a_valid_map)
{
	static const struct entry valid[] = {
		{ 0x1000, 2, P, OFF(0) },
		{ 0x3000, 1, Z, NO_OFF },		/* adjacent, other state */
		{ 0x4000, 1, P, OFF(3 * PS) },	/* a gap in the file is allowed */
		{ 0x7fff0000, 1, P, OFF(4 * PS) },
		{ 0x7fff1000, 3, IP, NO_OFF },	/* the parent's: no bytes here */
		{ 0x7fff4000, 1, P, OFF(5 * PS) },
		{ 0x7fff5000, 2, IP, PARENT_AT(0x1000) },	/* moved since the fork */
		{ 0x7fff7000, 1, IP, SIBLING(42) },	/* a sibling's, the parent's no more */
	};
	_cleanup_free_ char *msg = NULL;
	int ret = read_pagemap(valid, ARRAY_SIZE(valid), 6 * PS, &msg);

	CHECK(ret == 0, "refused: %d: %s", ret, msg);
}

TEST(pagemap_refuses_overlap_and_disorder)
{
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "offset 53: range at 0x2000 overlaps the previous range, which ends at 0x3000",
			      { 0x1000, 2, P, OFF(0) }, { 0x2000, 1, Z, NO_OFF });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 comes after the higher range",
			      { 0x5000, 1, P, OFF(0) }, { 0x1000, 1, P, OFF(PS) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "precede the end of the previous range's",
			      { 0x1000, 1, P, OFF(PS) }, { 0x5000, 1, P, OFF(0) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "precede the end of the previous range's",
			      { 0x1000, 2, P, OFF(0) }, { 0x5000, 1, P, OFF(PS) });
}

TEST(pagemap_refuses_unaligned_and_impossible_ranges)
{
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1010 is not page-aligned", { 0x1010, 1, P, OFF(0) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has no valid file offset", { 0x1000, 1, P, OFF(100) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has no valid file offset", { 0x1000, 1, P, NO_OFF });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "zero range at 0x1000 has a file offset", { 0x1000, 1, Z, OFF(0) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has an impossible size of 0 pages", { 0x1000, 0, Z, NO_OFF });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has an impossible size",
			      { 0xfffffffffffff000ull, 2, Z, NO_OFF });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has no valid file offset",
			      { 0x1000, 2, P, OFF(0xfffffffffffff000ull) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "in-parent range at 0x1000 has a file offset",
			      { 0x1000, 1, IP, OFF(0) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1800 is not page-aligned",
			      { 0x1800, 1, IP, NO_OFF });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 has an invalid parent address",
			      { 0x1000, 1, IP, PARENT_AT(0x7010) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 has an invalid parent address",
			      { 0x1000, 2, IP, PARENT_AT(0xfffffffffffff000ull) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 has an invalid parent address",
			      { 0x1000, 1, Z, PARENT_AT(0x7000) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has no valid file offset",
			      { 0x1000, 1, P, OFF_PARENT_AT(0, 0x7000) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "overlaps the previous range",
			      { 0x1000, 2, P, OFF(0) }, { 0x2000, 1, IP, NO_OFF });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 has an invalid sibling",
			      { 0x1000, 1, IP, SIBLING(0) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 has an invalid sibling",
			      { 0x1000, 1, IP, SIBLING(0x80000000u) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "range at 0x1000 has an invalid sibling",
			      { 0x1000, 1, Z, SIBLING(42) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has no valid file offset",
			      { 0x1000, 1, P, OFF_SIBLING(0, 42) });
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has unknown state 5", { 0x1000, 1, 5, NO_OFF });
}

TEST(pagemap_refuses_pages_beyond_the_pages_file)
{
	CHECK_PAGEMAP_REFUSED(2 * PS, IN_PAGEMAP, "range at 0x3000: its pages end at byte 12288, past the end of pages-1.img (8192 bytes)",
			      { 0x1000, 1, P, OFF(0) }, { 0x3000, 2, P, OFF(PS) });
	CHECK_PAGEMAP_REFUSED(PS + 1, "pages-1.img: ", "is not a whole number of 4096-byte pages", { 0x1000, 1, P, OFF(0) });
}

TEST(pagemap_needs_its_pages_file)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *pages = NULL, *msg = NULL;
	struct image *img = NULL;
	struct capture cap;
	int ret;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!write_sample_pages(dir, 4), "write");
	pages = path_join(tmp, "pages-4.img");
	CHECK(!unlink(pages), "unlink");
	capture_begin(&cap, 2);
	ret = image_read(dir, IMG_PAGEMAP, 4, &img);
	msg = capture_end(&cap);
	image_free(img);
	CHECK(ret == -ENOENT && strstr(msg, "pages-4.img"), "%d: %s", ret, msg);
}

/* ---- inventory checks ------------------------------------------------------ */

static int read_inventory(const Inventory *inv, size_t copies, char **msg)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct image_writer *w;

	*msg = NULL;
	if (!tmp || image_dir_create(tmp, &dir) || image_open_write(dir, IMG_INVENTORY, 0, &w))
		return -EIO;
	for (size_t i = 0; i < copies; i++)
		image_write_record(w, &inv->base);
	return image_finish_and_read(w, dir, IMG_INVENTORY, 0, msg);
}

TEST(inventory_checks_its_contents)
{
	static const struct {
		size_t copies;
		uint32_t version, page_size;
		int32_t root_pid;
		const char *cause;
	} cases[] = {
		{ 1, IMG_FORMAT_VERSION, PS, 1, NULL },
		{ 0, IMG_FORMAT_VERSION, PS, 1, "offset 36: an inventory holds one record, this one holds 0" },
		{ 2, IMG_FORMAT_VERSION, PS, 1, "an inventory holds one record, this one holds 2" },
		{ 1, 7, PS, 1, "offset 36: format version 7 differs from the header's 2" },
		{ 1, IMG_FORMAT_VERSION, 16384, 1, "page size 16384, this cryo handles 4096-byte pages" },
		{ 1, IMG_FORMAT_VERSION, PS, 0, "root pid 0 is not a process id" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Inventory inv = INVENTORY__INIT;
		char *msg;
		int ret;
		bool ok;

		inv.format_version = cases[i].version;
		inv.cryo_version = "test";
		inv.root_pid = cases[i].root_pid;
		inv.page_size = cases[i].page_size;
		inv.arch = "x86_64";
		ret = read_inventory(&inv, cases[i].copies, &msg);
		ok = cases[i].cause ? ret == -EBADMSG && msg && strstr(msg, cases[i].cause) : ret == 0;
		CHECK(ok, "case %zu: %d: %s", i, ret, msg ? msg : "");
		free(msg);
	}
}
