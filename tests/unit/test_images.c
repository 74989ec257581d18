/* Unit tests of the image format, the good paths: the CRC32C, the kinds'
 * names, round trips of the inventory and of pages files (direct or not,
 * empty), and the pages writer's order. Damage is test_images_damage.c's,
 * file modes and failed writes test_images_files.c's, the pagemap and
 * inventory checks test_images_checks.c's. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/crc32c.h"
#include "images/digest.h"
#include "images/format.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"
#include "images/proto/pagemap.pb-c.h"

#define PS IMG_PAGE_SIZE


TEST(crc32c_matches_the_standard_check_value)
{
	CHECK(crc32c(0, "123456789", 9) == 0xe3069283, "got 0x%08x", crc32c(0, "123456789", 9));
	CHECK(crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xe3069283, "chaining differs");
	CHECK(crc32c_bytewise(0, "123456789", 9) == 0xe3069283, "the fallback got 0x%08x",
	      crc32c_bytewise(0, "123456789", 9));
	CHECK(crc32c(0, "", 0) == 0, "empty input");
}

/* The fast path (SSE4.2 here) agrees with the byte-wise table at every
 * length and alignment, chained or not. */
TEST(crc32c_fast_path_matches_the_bytewise_one)
{
	static uint8_t buf[4096 + 16];
	uint32_t seed = 1;

	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len < 300; len += 7)
			CHECK(crc32c(0x1234, buf + off, len) == crc32c_bytewise(0x1234, buf + off, len),
			      "differs at offset %zu, length %zu", off, len);
	CHECK(crc32c(0, buf, sizeof(buf)) == crc32c_bytewise(0, buf, sizeof(buf)),
	      "differs over %zu bytes", sizeof(buf));
}

TEST(kind_names_format_and_match_back)
{
	static const enum image_kind all[] = { IMG_INVENTORY, IMG_PAGEMAP, IMG_PAGES };
	char name[64];
	int id;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		const struct image_kind_desc *k = image_kind_get(all[i]);

		CHECK(k && k->kind == all[i], "kind %d missing", all[i]);
		CHECK(!image_file_name(all[i], 1234, name, sizeof(name)), "kind %d", all[i]);
		CHECK(image_kind_match(name, &id) == k, "%s does not match back", name);
		CHECK(id == (strstr(k->pattern, "%d") ? 1234 : 0), "%s gave id %d", name, id);
	}
	CHECK(!strcmp(name, "pages-1234.img"), "got %s", name);
	CHECK(image_kind_get(0) == NULL, "kind 0 exists");
	CHECK(!image_kind_match("pagemap-01.img", &id), "leading zero matched");
	CHECK(!image_kind_match("pagemap-.img", &id), "empty id matched");
	CHECK(!image_kind_match("pagemap--1.img", &id), "negative id matched");
	CHECK(!image_kind_match("pagemap-99999999999.img", &id), "huge id matched");
	CHECK(!image_kind_match(".pagemap-1.img.tmp", &id), "temporary file matched");
	CHECK(!image_kind_match("inventory.img.tmp", &id), "suffix ignored");
	CHECK(image_file_name(IMG_PAGEMAP, 1, name, 8) == -ENAMETOOLONG, "short buffer");
}

TEST(inventory_round_trip)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_image_ struct image *img = NULL;
	const Inventory *inv;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!write_inventory(dir, 4321), "write");
	CHECK(!image_read(dir, IMG_INVENTORY, 0, &img), "read");
	CHECK(img->kind->kind == IMG_INVENTORY && img->version == IMG_FORMAT_VERSION, "header");
	CHECK(img->nr_records == 1, "%zu records", img->nr_records);
	CHECK(img->records[0].offset == IMG_HDR_SIZE, "offset %zu", img->records[0].offset);
	inv = (const Inventory *)img->records[0].msg;
	CHECK(inv->format_version == IMG_FORMAT_VERSION && inv->root_pid == 4321 &&
	      inv->created == SAMPLE_CREATED && inv->page_size == PS, "numbers differ");
	CHECK(!strcmp(inv->cryo_version, "0.1-test") && !strcmp(inv->arch, "x86_64") &&
	      !strcmp(inv->kernel_release, "6.1.0-test"), "strings differ");
}

TEST(pages_round_trip_merges_adjacent_ranges)
{
	static const struct {
		uint64_t vaddr, nr_pages;
		PagemapEntry__State state;
		uint64_t file_off;
	} want[] = {
		{ SAMPLE_BASE, 2, PAGEMAP_ENTRY__STATE__PRESENT, 0 },
		{ SAMPLE_BASE + 2 * PS, 3, PAGEMAP_ENTRY__STATE__ZERO, 0 },
		{ SAMPLE_BASE + 5 * PS, 1, PAGEMAP_ENTRY__STATE__PRESENT, 2 * PS },
		{ SAMPLE_BASE + 8 * PS, 2, PAGEMAP_ENTRY__STATE__PRESENT, 3 * PS },
	};
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct pages_reader *pr = NULL;
	static unsigned char page[PS];
	uint64_t size;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!write_sample_pages(dir, 99), "write");
	CHECK(!pages_file_size(dir, 99, 0, &size) && size == 5 * PS, "pages file size");
	CHECK(!pages_reader_open(dir, 99, &pr), "read");
	CHECK_GOTO(pr->pagemap->nr_records == ARRAY_SIZE(want), out, "%zu entries",
		   pr->pagemap->nr_records);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const PagemapEntry *e = (const PagemapEntry *)pr->pagemap->records[i].msg;
		bool present = want[i].state == PAGEMAP_ENTRY__STATE__PRESENT;

		CHECK_GOTO(e->vaddr == want[i].vaddr && e->nr_pages == want[i].nr_pages &&
			   e->state == want[i].state && e->has_file_off == present &&
			   (!present || e->file_off == want[i].file_off), out,
			   "entry %zu: 0x%llx %llu %d %llu", i, (unsigned long long)e->vaddr,
			   (unsigned long long)e->nr_pages, e->state,
			   (unsigned long long)e->file_off);
	}
	for (unsigned p = 0; p < 5; p++) {
		CHECK_GOTO(pread(pr->pages_fd[0], page, PS, p * PS) == PS, out, "page %u", p);
		for (size_t i = 0; i < PS; i++)
			CHECK_GOTO(page[i] == sample_byte(p, i), out, "page %u byte %zu", p, i);
	}
out:
	pages_reader_close(pr);
}

/* A pages file goes O_DIRECT past its first 4 MiB (the directory's
 * threshold lowered from 64 MiB) where the filesystem takes it, and back to the page cache for good at the first unaligned
 * write: the bytes must come out the same every way, and the digest the
 * writer took as it wrote (of @kind) must be that of the file. */
static const char *write_pages_mixed(const char *parent, enum image_digest_kind kind)
{
	uint8_t digest[IMG_DIGEST_MAX];
	uint64_t size;
	_cleanup_tree_ char *path = NULL;
	const size_t big = 6u << 20, total = big + 5 * PS;
	_cleanup_free_ unsigned char *back = malloc(total);
	_cleanup_close_ int fd = -1;
	struct image_dir *dir = NULL;
	struct image_writer *w;
	unsigned char *src;
	const char *why = NULL;

	if (asprintf(&path, "%s/cryo-direct-XXXXXX", parent) < 0 || !mkdtemp(path) || !back)
		return "scratch directory";
	if (posix_memalign((void **)&src, PS, total + PS))
		return "memory";
	for (size_t i = 0; i < total + PS; i++)
		src[i] = (unsigned char)(i * 7 + i / PS);
	if (image_dir_create(path, &dir)) {
		why = "open";
		goto out;
	}
	dir->digest_kind = kind;
	dir->direct_after = 4u << 20;
	if (image_open_write(dir, IMG_PAGES, 1, &w)) {
		why = "open";
		goto out;
	}
	/* 6 MiB in 1 MiB writes (direct after 4), two aligned pages, one page
	 * from an odd address, then two aligned pages again. */
	for (size_t off = 0; off < big; off += 1u << 20)
		if (image_write_raw(w, src + off, 1u << 20))
			why = "write";
	if (why || image_write_raw(w, src + big, 2 * PS) ||
	    image_write_raw(w, src + big + 2 * PS + 1, PS) ||
	    image_write_raw(w, src + big + 3 * PS, 2 * PS) || image_finish(w)) {
		why = "write";
		goto out;
	}
	fd = openat(dir->fd, "pages-1.img", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, back, total, 0) != (ssize_t)total || pread(fd, back, 1, total) != 0) {
		why = "the pages file has not the size written";
		goto out;
	}
	if (memcmp(back, src, big + 2 * PS) ||
	    memcmp(back + big + 2 * PS, src + big + 2 * PS + 1, PS) ||
	    memcmp(back + big + 3 * PS, src + big + 3 * PS, 2 * PS))
		why = "the pages file does not hold the bytes written";
	else if (dir->nr_written != 1 || !dir->digests[0].known || dir->digests[0].size != total)
		why = "the writer noted no digest of the whole file";
	else if (image_file_digest(dir, "pages-1.img", kind, &size, digest) || size != total ||
		 memcmp(digest, dir->digests[0].digest, image_digest_size(kind)))
		why = "the digest the writer took is not the file's";
out:
	image_dir_close(dir);
	free(src);
	return why;
}

/* A few finished files are synced one by one, many with one syncfs;
 * either way every one is counted, and none is left counted after. */
TEST(finished_files_are_counted_until_synced)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	const size_t many = IMG_DIR_FSYNC_MAX + 6;
	struct image_writer *w;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	for (size_t i = 0; i < 3; i++) {
		CHECK(!image_open_write(dir, IMG_PAGES, (int)i + 1, &w), "open");
		CHECK(!image_finish(w), "finish");
	}
	CHECK(dir->nr_unsynced == 3, "%zu files counted, 3 finished", dir->nr_unsynced);
	CHECK(!image_dir_sync(dir) && dir->nr_unsynced == 0, "sync of a few files");
	for (size_t i = 0; i < many; i++) {
		CHECK(!image_open_write(dir, IMG_PAGES, (int)i + 1, &w), "open");
		CHECK(!image_finish(w), "finish");
	}
	CHECK(dir->nr_unsynced == many, "%zu files counted, %zu finished", dir->nr_unsynced, many);
	CHECK(!image_dir_sync(dir) && dir->nr_unsynced == 0, "sync of many files");
}

TEST(pages_file_is_the_same_direct_or_not)
{
	const char *tmp = getenv("TMPDIR");
	const char *why = write_pages_mixed(tmp ? tmp : "/tmp", IMG_DIGEST_XXH3_128);

	CHECK(!why, "on %s: %s", tmp ? tmp : "/tmp", why);
	why = write_pages_mixed("/dev/shm", IMG_DIGEST_XXH3_128);
	CHECK(!why, "on /dev/shm: %s", why);
}

/* The signed set's digests (BLAKE2b) are taken as written too. */
TEST(writer_digest_is_the_files_blake2b_direct_or_not)
{
	const char *tmp = getenv("TMPDIR");
	const char *why = write_pages_mixed(tmp ? tmp : "/tmp", IMG_DIGEST_BLAKE2B_256);

	CHECK(!why, "on %s: %s", tmp ? tmp : "/tmp", why);
	why = write_pages_mixed("/dev/shm", IMG_DIGEST_BLAKE2B_256);
	CHECK(!why, "on /dev/shm: %s", why);
}

TEST(empty_pages_store_round_trip)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct pages_writer *pw;
	struct pages_reader *pr;
	uint64_t size;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!pages_writer_open(dir, 5, &pw), "open");
	CHECK(!pages_writer_finish(pw), "finish");
	CHECK(!pages_file_size(dir, 5, 0, &size) && size == 0, "pages file");
	CHECK(!pages_reader_open(dir, 5, &pr), "read");
	CHECK(pr->pagemap->nr_records == 0, "%zu entries", pr->pagemap->nr_records);
	pages_reader_close(pr);
}

TEST(pages_writer_refuses_ranges_out_of_order)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	static unsigned char page[2 * PS];
	struct pages_writer *pw;
	struct capture cap;
	char *msg;
	int bad_order, overlap, unaligned, empty;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!pages_writer_open(dir, 3, &pw), "open");
	capture_begin(&cap, 2);
	pages_write(pw, 0x10000, 2, page);
	bad_order = pages_write(pw, 0x8000, 1, page);
	overlap = pages_write_zero(pw, 0x11000, 1);
	unaligned = pages_write(pw, 0x20010, 1, page);
	empty = pages_write(pw, 0x30000, 0, page);
	msg = capture_end(&cap);
	pages_writer_abort(pw);
	CHECK(bad_order == -EINVAL && overlap == -EINVAL && unaligned == -EINVAL &&
	      empty == -EINVAL, "%d %d %d %d", bad_order, overlap, unaligned, empty);
	CHECK(strstr(msg, "pid 3: pages at 0x8000"), "message: %s", msg);
	free(msg);
	CHECK(!file_exists(tmp, "pagemap-3.img") && !file_exists(tmp, ".pagemap-3.img.tmp") &&
	      !file_exists(tmp, ".pages-3.img.tmp"), "abort left files");
}
