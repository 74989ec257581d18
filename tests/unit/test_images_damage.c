/* Unit tests of the image format: every kind of damage is refused by name
 * (truncation at each length, each single-bit flip, wrong magic, version or
 * kind, bad lengths, undecodable records), old format 1 is still read, and
 * the writer refuses bad records. */
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
