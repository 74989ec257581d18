/* Unit tests of the image format: round trips of every kind; refusal of
 * every kind of damage (truncation at each length, each single-bit flip,
 * wrong magic, version or kind, bad lengths); the pagemap and inventory
 * checks; file modes; and failed writes that must leave nothing behind. */
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

/* The bytes of a file written into a scratch directory by @write. */
static unsigned char *sample_file(int (*write)(struct image_dir *, int), const char *name,
				  size_t *len)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *path = NULL;

	if (!tmp || image_dir_create(tmp, &dir) || write(dir, 7))
		return NULL;
	path = path_join(tmp, name);
	return path ? read_file(path, len) : NULL;
}

/* Parses @len bytes copied to a buffer of exactly that size, so the
 * sanitizer sees any read past the end; returns the error and, in *@msg,
 * what was logged. */
static int parse_copy(const unsigned char *bytes, size_t len, char **msg)
{
	unsigned char *copy = malloc(len ? len : 1);
	struct image *img = NULL;
	struct capture cap;
	int ret;

	memcpy(copy, bytes, len);
	capture_begin(&cap, 2);
	ret = image_parse("sample.img", copy, len, &img);
	*msg = capture_end(&cap);
	image_free(img);
	free(copy);
	return ret;
}

static void forge_header(unsigned char *buf, uint32_t version, uint32_t kind)
{
	memcpy(buf, IMG_MAGIC, IMG_MAGIC_LEN);
	put_le32(buf + IMG_HDR_VERSION_OFF, version);
	put_le32(buf + IMG_HDR_KIND_OFF, kind);
	put_le32(buf + IMG_HDR_CRC_OFF, crc32c(0, buf, IMG_HDR_CRC_OFF));
}

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
	CHECK(!pages_file_size(dir, 99, &size) && size == 5 * PS, "pages file size");
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
		CHECK_GOTO(pread(pr->pages_fd, page, PS, p * PS) == PS, out, "page %u", p);
		for (size_t i = 0; i < PS; i++)
			CHECK_GOTO(page[i] == sample_byte(p, i), out, "page %u byte %zu", p, i);
	}
out:
	pages_reader_close(pr);
}

/* A pages file goes O_DIRECT past its first 4 MiB where the filesystem
 * takes it, and back to the page cache for good at the first unaligned
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
	CHECK(!pages_file_size(dir, 5, &size) && size == 0, "pages file");
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

/* Every prefix of a valid file must be refused with a message that names
 * the file and an offset: truncation anywhere, even at a record boundary. */
static void check_every_truncation(const unsigned char *bytes, size_t len)
{
	for (size_t cut = 0; cut < len; cut++) {
		char *msg;
		int ret = parse_copy(bytes, cut, &msg);
		bool named = msg && strstr(msg, "sample.img: offset ");

		free(msg);
		CHECK(ret < 0 && named, "truncated to %zu of %zu bytes: %d", cut, len, ret);
	}
}

TEST(every_truncation_is_refused)
{
	_cleanup_free_ unsigned char *pagemap = NULL, *inventory = NULL;
	size_t pagemap_len, inventory_len;
	char *msg;

	pagemap = sample_file(write_sample_pages, "pagemap-7.img", &pagemap_len);
	inventory = sample_file(write_inventory, "inventory.img", &inventory_len);
	CHECK(pagemap && inventory, "sample files");
	CHECK(!parse_copy(pagemap, pagemap_len, &msg), "the whole file fails: %s", msg);
	free(msg);
	check_every_truncation(pagemap, pagemap_len);
	if (harness_failed())
		return;
	check_every_truncation(inventory, inventory_len);
}

/* A CRC32C catches every single-bit error in what it covers; the format
 * must leave no bit uncovered. */
static void check_every_bit_flip(unsigned char *bytes, size_t len)
{
	for (size_t bit = 0; bit < len * 8; bit++) {
		char *msg;
		int ret;

		bytes[bit / 8] ^= 1u << (bit % 8);
		ret = parse_copy(bytes, len, &msg);
		bytes[bit / 8] ^= 1u << (bit % 8);
		free(msg);
		CHECK(ret < 0, "flipping bit %zu of byte %zu went unnoticed", bit % 8, bit / 8);
	}
}

TEST(every_bit_flip_is_detected)
{
	_cleanup_free_ unsigned char *pagemap = NULL, *inventory = NULL;
	size_t pagemap_len, inventory_len;

	pagemap = sample_file(write_sample_pages, "pagemap-7.img", &pagemap_len);
	inventory = sample_file(write_inventory, "inventory.img", &inventory_len);
	CHECK(pagemap && inventory, "sample files");
	check_every_bit_flip(pagemap, pagemap_len);
	if (harness_failed())
		return;
	check_every_bit_flip(inventory, inventory_len);
}

TEST(wrong_magic_is_refused)
{
	_cleanup_free_ unsigned char *bytes = NULL;
	_cleanup_free_ char *msg = NULL;
	size_t len;

	bytes = sample_file(write_inventory, "inventory.img", &len);
	CHECK(bytes, "sample file");
	memcpy(bytes, "CRIUIMG", 7);
	CHECK(parse_copy(bytes, len, &msg) == -EBADMSG, "accepted");
	CHECK(strstr(msg, "sample.img: offset 0: not a cryo image (bad magic)"), "message: %s", msg);
}

TEST(future_version_is_refused_clearly)
{
	_cleanup_free_ unsigned char *bytes = NULL;
	_cleanup_free_ char *msg = NULL;
	size_t len;

	bytes = sample_file(write_inventory, "inventory.img", &len);
	CHECK(bytes, "sample file");
	/* A newer cryo may change everything after the version, even the
	 * header checksum: the version alone must decide. */
	put_le32(bytes + IMG_HDR_VERSION_OFF, IMG_FORMAT_VERSION + 1);
	memset(bytes + IMG_HDR_KIND_OFF, 0xee, len - IMG_HDR_KIND_OFF);
	CHECK(parse_copy(bytes, len, &msg) == -EPROTONOSUPPORT, "accepted");
	CHECK(strstr(msg, "sample.img: offset 8: format version 3 is newer than this cryo reads (up to 2)"),
	      "message: %s", msg);
}

TEST(version_zero_is_refused)
{
	unsigned char bytes[IMG_HDR_SIZE + IMG_TRAILER_SIZE];
	_cleanup_free_ char *msg = NULL;

	forge_header(bytes, 0, IMG_PAGEMAP);
	put_le32(bytes + IMG_HDR_SIZE, IMG_END_MARK);
	put_le32(bytes + IMG_HDR_SIZE + 4, 0);
	CHECK(parse_copy(bytes, sizeof(bytes), &msg) == -EBADMSG, "accepted");
	CHECK(strstr(msg, "offset 8: format version 0"), "message: %s", msg);
}

/* Format 1 had a 20-byte header without a dump id: still read (cryo show),
 * and known to name no dump. */
TEST(format_1_header_without_dump_id_is_read)
{
	unsigned char bytes[IMG_V1_HDR_SIZE + IMG_TRAILER_SIZE];
	struct image *img = NULL;
	int ret;

	memcpy(bytes, IMG_MAGIC, IMG_MAGIC_LEN);
	put_le32(bytes + IMG_HDR_VERSION_OFF, 1);
	put_le32(bytes + IMG_HDR_KIND_OFF, IMG_PAGEMAP);
	put_le32(bytes + IMG_V1_HDR_CRC_OFF, crc32c(0, bytes, IMG_V1_HDR_CRC_OFF));
	put_le32(bytes + IMG_V1_HDR_SIZE, IMG_END_MARK);
	put_le32(bytes + IMG_V1_HDR_SIZE + 4, 0);
	ret = image_parse("v1.img", bytes, sizeof(bytes), &img);
	CHECK(ret == 0, "refused: %d", ret);
	CHECK(img->version == 1 && !img->has_dump_id && img->nr_records == 0,
	      "version %u, dump id %d, %zu records", img->version, img->has_dump_id,
	      img->nr_records);
	image_free(img);
}

TEST(unknown_kind_is_refused)
{
	unsigned char bytes[IMG_HDR_SIZE + IMG_TRAILER_SIZE];
	_cleanup_free_ char *msg = NULL, *raw_msg = NULL;

	forge_header(bytes, IMG_FORMAT_VERSION, 77);
	put_le32(bytes + IMG_HDR_SIZE, IMG_END_MARK);
	put_le32(bytes + IMG_HDR_SIZE + 4, 0);
	CHECK(parse_copy(bytes, sizeof(bytes), &msg) == -EBADMSG, "kind 77 accepted");
	CHECK(strstr(msg, "sample.img: offset 12: unknown image kind 77"), "message: %s", msg);
	/* The raw pages kind never has a header. */
	forge_header(bytes, IMG_FORMAT_VERSION, IMG_PAGES);
	CHECK(parse_copy(bytes, sizeof(bytes), &raw_msg) == -EBADMSG, "pages header accepted");
}

TEST(wrong_kind_is_refused)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *from = NULL, *to = NULL, *msg = NULL;
	struct image *img = NULL;
	struct capture cap;
	int ret;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!write_inventory(dir, 1), "write");
	from = path_join(tmp, "inventory.img");
	to = path_join(tmp, "pagemap-1.img");
	CHECK(!rename(from, to), "rename");
	capture_begin(&cap, 2);
	ret = image_read(dir, IMG_PAGEMAP, 1, &img);
	msg = capture_end(&cap);
	image_free(img);
	CHECK(ret == -EBADMSG, "read as a pagemap: %d", ret);
	CHECK(strstr(msg, "pagemap-1.img: offset 12: the header says kind 'inventory', expected 'pagemap'"),
	      "message: %s", msg);
}

TEST(oversize_record_length_is_refused)
{
	_cleanup_free_ unsigned char *bytes = NULL, *huge = NULL;
	_cleanup_free_ char *msg = NULL, *huge_msg = NULL;
	char want[128];
	size_t len, huge_len = IMG_HDR_SIZE + IMG_REC_HDR_SIZE + IMG_RECORD_MAX + 1 + IMG_TRAILER_SIZE;

	bytes = sample_file(write_sample_pages, "pagemap-7.img", &len);
	CHECK(bytes, "sample file");
	put_le32(bytes + IMG_HDR_SIZE, 0xfffffffe);
	CHECK(parse_copy(bytes, len, &msg) == -EBADMSG, "accepted");
	snprintf(want, sizeof(want),
		 "sample.img: offset 36: record length 4294967294 exceeds the %zu bytes left",
		 len - IMG_HDR_SIZE - IMG_REC_HDR_SIZE);
	CHECK(strstr(msg, want), "message: %s", msg);

	/* Within the file, yet over the format's limit. */
	huge = calloc(1, huge_len);
	CHECK(huge, "memory");
	forge_header(huge, IMG_FORMAT_VERSION, IMG_PAGEMAP);
	put_le32(huge + IMG_HDR_SIZE, IMG_RECORD_MAX + 1);
	CHECK(parse_copy(huge, huge_len, &huge_msg) == -EBADMSG, "accepted");
	CHECK(strstr(huge_msg, "offset 36: record length 16777217 exceeds the limit"),
	      "message: %s", huge_msg);
}

TEST(trailer_count_and_trailing_bytes_are_checked)
{
	_cleanup_free_ unsigned char *bytes = NULL, *longer = NULL;
	_cleanup_free_ char *msg = NULL, *extra_msg = NULL;
	size_t len;

	bytes = sample_file(write_sample_pages, "pagemap-7.img", &len);
	CHECK(bytes, "sample file");
	longer = malloc(len + 1);
	CHECK(longer, "memory");
	memcpy(longer, bytes, len);
	longer[len] = 0;
	CHECK(parse_copy(longer, len + 1, &extra_msg) == -EBADMSG, "trailing byte accepted");
	CHECK(strstr(extra_msg, "1 bytes follow the trailer"), "message: %s", extra_msg);
	put_le32(bytes + len - 4, 3);
	CHECK(parse_copy(bytes, len, &msg) == -EBADMSG, "wrong count accepted");
	CHECK(strstr(msg, "the trailer counts 3 records, the file holds 4"), "message: %s", msg);
}

TEST(undecodable_record_is_refused)
{
	/* A valid frame around bytes that are not a PagemapEntry: field 1 as a
	 * length-delimited string running past the record. */
	static const unsigned char payload[] = { 0x0a, 0x05, 0x01 };
	unsigned char bytes[IMG_HDR_SIZE + IMG_REC_HDR_SIZE + sizeof(payload) + IMG_TRAILER_SIZE];
	unsigned char *rec = bytes + IMG_HDR_SIZE;
	_cleanup_free_ char *msg = NULL;

	forge_header(bytes, IMG_FORMAT_VERSION, IMG_PAGEMAP);
	put_le32(rec, sizeof(payload));
	memcpy(rec + IMG_REC_HDR_SIZE, payload, sizeof(payload));
	put_le32(rec + 4, crc32c(crc32c(0, rec, 4), payload, sizeof(payload)));
	put_le32(rec + IMG_REC_HDR_SIZE + sizeof(payload), IMG_END_MARK);
	put_le32(rec + IMG_REC_HDR_SIZE + sizeof(payload) + 4, 1);
	CHECK(parse_copy(bytes, sizeof(bytes), &msg) == -EBADMSG, "accepted");
	CHECK(strstr(msg, "offset 36: record 0 does not decode as a PagemapEntry"), "message: %s",
	      msg);
}

TEST(writer_refuses_bad_records)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ char *msg = NULL;
	Inventory incomplete = INVENTORY__INIT;
	PagemapEntry entry = PAGEMAP_ENTRY__INIT;
	struct image_writer *w, *raw;
	struct capture cap;
	int wrong_type, missing, raw_ret, finish;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!image_open_write(dir, IMG_INVENTORY, 0, &w), "open");
	CHECK(!image_open_write(dir, IMG_PAGES, 1, &raw), "open raw");
	capture_begin(&cap, 2);
	wrong_type = image_write_record(w, &entry.base);
	raw_ret = image_write_record(raw, &entry.base);
	image_abort(raw);
	finish = image_finish(w);
	CHECK(!image_open_write(dir, IMG_INVENTORY, 0, &w), "open again");
	missing = image_write_record(w, &incomplete.base);
	image_abort(w);
	msg = capture_end(&cap);
	CHECK(wrong_type == -EINVAL && raw_ret == -EINVAL && missing == -EINVAL,
	      "%d %d %d", wrong_type, raw_ret, missing);
	CHECK(finish == -EINVAL, "finish after an error: %d", finish);
	CHECK(strstr(msg, "a PagemapEntry record cannot go into this inventory image") &&
	      strstr(msg, "inventory.img: record 0 lacks a required field"), "message: %s", msg);
	CHECK(!file_exists(tmp, "inventory.img") && !file_exists(tmp, ".inventory.img.tmp"),
	      "a failed writer left a file");
}

TEST(file_appears_only_when_finished)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	PagemapEntry e = PAGEMAP_ENTRY__INIT;
	struct image_writer *w;

	CHECK(tmp && !image_dir_create(tmp, &dir), "scratch directory");
	e.vaddr = 0x1000;
	e.nr_pages = 1;
	e.state = PAGEMAP_ENTRY__STATE__ZERO;
	CHECK(!image_open_write(dir, IMG_PAGEMAP, 2, &w), "open");
	CHECK(!image_write_record(w, &e.base), "record");
	CHECK(file_exists(tmp, ".pagemap-2.img.tmp") && !file_exists(tmp, "pagemap-2.img"),
	      "not under a temporary name while written");
	image_abort(w);
	CHECK(!file_exists(tmp, ".pagemap-2.img.tmp") && !file_exists(tmp, "pagemap-2.img"),
	      "abort left a file");
	CHECK(!image_open_write(dir, IMG_PAGEMAP, 2, &w), "open");
	CHECK(!image_write_record(w, &e.base), "record");
	CHECK(!image_finish(w), "finish");
	CHECK(!file_exists(tmp, ".pagemap-2.img.tmp") && file_exists(tmp, "pagemap-2.img"),
	      "finish did not rename");
}

static mode_t mode_of(const char *dir, const char *name)
{
	_cleanup_free_ char *path = name ? path_join(dir, name) : strdup(dir);
	struct stat st;

	return path && !stat(path, &st) ? st.st_mode & 07777 : (mode_t)-1;
}

TEST(directory_is_0700_and_files_0600_whatever_the_umask)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *fresh = NULL, *existing = NULL;
	struct image_dir *dir;
	mode_t old = umask(0);
	int ret;

	CHECK(tmp, "scratch directory");
	fresh = path_join(tmp, "fresh");
	existing = path_join(tmp, "existing");
	ret = image_dir_create(fresh, &dir);
	if (!ret) {
		ret = write_inventory(dir, 1);
		image_dir_close(dir);
	}
	/* A loose existing directory is tightened; a strict umask must not
	 * make files unreadable to their owner either. */
	mkdir(existing, 0755);
	umask(0277);
	if (!ret && !(ret = image_dir_create(existing, &dir))) {
		ret = write_sample_pages(dir, 1);
		image_dir_close(dir);
	}
	umask(old);
	CHECK(!ret, "writing failed: %d", ret);
	CHECK(mode_of(fresh, NULL) == 0700, "new directory mode %o", mode_of(fresh, NULL));
	CHECK(mode_of(existing, NULL) == 0700, "existing directory mode %o",
	      mode_of(existing, NULL));
	CHECK(mode_of(fresh, "inventory.img") == 0600, "inventory mode %o",
	      mode_of(fresh, "inventory.img"));
	CHECK(mode_of(existing, "pagemap-1.img") == 0600 && mode_of(existing, "pages-1.img") == 0600,
	      "pages store modes %o %o", mode_of(existing, "pagemap-1.img"),
	      mode_of(existing, "pages-1.img"));
}

/* Writes 2 pages through the buffer and 128 straight to the kernel into
 * @path, which cannot hold them; checks the failure names the file and
 * leaves nothing behind. Returns NULL or what went wrong. */
static const char *write_until_full(const char *path, int want_err)
{
	static unsigned char data[128 * PS];
	static char why[256];
	struct image_dir *dir;
	struct pages_writer *pw;
	struct capture cap;
	char *msg;
	int ret, finish;

	if (image_dir_create(path, &dir))
		return "cannot create the image directory";
	if (pages_writer_open(dir, 9, &pw)) {
		image_dir_close(dir);
		return "cannot open the pages writer";
	}
	capture_begin(&cap, 2);
	ret = pages_write(pw, 0x10000, 2, data);
	if (!ret)
		ret = pages_write(pw, 0x100000, 128, data);
	finish = pages_writer_finish(pw);
	msg = capture_end(&cap);
	image_dir_close(dir);
	snprintf(why, sizeof(why), "write %d, finish %d, message: %s", ret, finish, msg ? msg : "");
	if (finish != want_err || !msg || !strstr(msg, "pages-9.img: ") ||
	    !strstr(msg, strerror(-want_err))) {
		free(msg);
		return why;
	}
	free(msg);
	if (file_exists(path, "pagemap-9.img") || file_exists(path, "pages-9.img") ||
	    file_exists(path, ".pagemap-9.img.tmp") || file_exists(path, ".pages-9.img.tmp"))
		return "a failed write left a file behind";
	return NULL;
}

TEST(failed_write_leaves_no_file)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL;
	struct rlimit old, small = { 64 * 1024, 0 };
	void (*old_handler)(int);
	const char *why;

	CHECK(tmp && (path = path_join(tmp, "img")), "scratch directory");
	/* A file size limit fails writes the way a full disk does (EFBIG
	 * instead of ENOSPC), on any filesystem, without privileges. */
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	why = write_until_full(path, -EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);
	CHECK(!why, "%s", why);
}

static int enter_private_mounts(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (!unshare(CLONE_NEWNS))
		return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -1;
	/* Files can only be created once our ids are mapped in the new
	 * user namespace. */
	fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd < 0 || write(fd, "deny", 4) != 4)
		return -1;
	close(fd);
	snprintf(map, sizeof(map), "0 %d 1", (int)uid);
	fd = open("/proc/self/uid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return -1;
	close(fd);
	snprintf(map, sizeof(map), "0 %d 1", (int)gid);
	fd = open("/proc/self/gid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return -1;
	close(fd);
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

TEST(full_filesystem_leaves_no_file)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL;
	int status;
	pid_t pid;

	CHECK(tmp && (path = path_join(tmp, "img")), "scratch directory");
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		const char *why;

		/* A small tmpfs, private to this child, is a real full disk. */
		if (enter_private_mounts() || mount("tmpfs", tmp, "tmpfs", 0, "size=64k,mode=0700")) {
			printf("    cannot mount a tmpfs here: %s\n", strerror(errno));
			fflush(stdout);
			_exit(77);
		}
		why = write_until_full(path, -ENOSPC);
		umount(tmp);
		if (why)
			printf("    %s\n", why);
		fflush(stdout);
		_exit(why ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child died: 0x%x", status);
	if (WEXITSTATUS(status) == 77) {
		harness_skip("no mount namespace to make a small tmpfs in");
		return;
	}
	CHECK(WEXITSTATUS(status) == 0, "see above");
}

/* ---- pagemap checks -------------------------------------------------------- */

struct entry {
	uint64_t vaddr, nr_pages;
	int state;
	bool has_file_off;
	uint64_t file_off;
};

#define OFF(x) true, (x)
#define NO_OFF false, 0

#define P PAGEMAP_ENTRY__STATE__PRESENT
#define Z PAGEMAP_ENTRY__STATE__ZERO

/* Writes @entries as pagemap-1.img with a pages file of @pages_size bytes
 * and reads it back; returns the error and, in *@msg, what was logged. */
static int read_pagemap(const struct entry *entries, size_t n, uint64_t pages_size, char **msg)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ unsigned char *zeros = calloc(1, pages_size + 1);
	struct image_writer *w;
	struct image *img = NULL;
	struct capture cap;
	int ret;

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
		image_write_record(w, &e.base);
	}
	if (image_finish(w) || image_open_write(dir, IMG_PAGES, 1, &w))
		return -EIO;
	image_write_raw(w, zeros, pages_size);
	if (image_finish(w))
		return -EIO;
	capture_begin(&cap, 2);
	ret = image_read(dir, IMG_PAGEMAP, 1, &img);
	*msg = capture_end(&cap);
	image_free(img);
	return ret;
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
	};
	_cleanup_free_ char *msg = NULL;
	int ret = read_pagemap(valid, ARRAY_SIZE(valid), 5 * PS, &msg);

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
	CHECK_PAGEMAP_REFUSED(4 * PS, IN_PAGEMAP, "has unknown state 3", { 0x1000, 1, 3, NO_OFF });
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
	struct image *img = NULL;
	struct capture cap;
	int ret;

	*msg = NULL;
	if (!tmp || image_dir_create(tmp, &dir) || image_open_write(dir, IMG_INVENTORY, 0, &w))
		return -EIO;
	for (size_t i = 0; i < copies; i++)
		image_write_record(w, &inv->base);
	if (image_finish(w))
		return -EIO;
	capture_begin(&cap, 2);
	ret = image_read(dir, IMG_INVENTORY, 0, &img);
	*msg = capture_end(&cap);
	image_free(img);
	return ret;
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
