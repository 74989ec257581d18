/* Reading image files: the whole file is loaded, then every byte is checked
 * before it is trusted (magic, version, kind, header and record checksums,
 * record lengths, decoding, the trailer's count) and finally the kind's own
 * check runs. Every error names the file, the byte offset and the cause. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/image.h"

void image_error(const char *path, size_t offset, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s: offset %zu: %s", path, offset, msg);
}

void image_free(struct image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nr_records; i++)
		protobuf_c_message_free_unpacked(img->records[i].msg, NULL);
	free(img->records);
	free(img->path);
	free(img);
}

/* Checks the header; on success *@kind is the kind it names. */
static int parse_header(const char *path, const uint8_t *buf, size_t len, uint32_t *version,
			const struct image_kind_desc **kind)
{
	size_t hdr_size, crc_off;
	uint32_t crc, want;

	if (len == 0) {
		image_error(path, 0, "empty file, not an image");
		return -EBADMSG;
	}
	if (memcmp(buf, IMG_MAGIC, len < IMG_MAGIC_LEN ? len : IMG_MAGIC_LEN)) {
		image_error(path, 0, "not a cryo image (bad magic)");
		return -EBADMSG;
	}
	/* The version is checked before the checksum: a newer format may lay
	 * out the rest of its header differently. */
	if (len >= IMG_HDR_VERSION_OFF + 4) {
		*version = get_le32(buf + IMG_HDR_VERSION_OFF);
		if (*version > IMG_FORMAT_VERSION) {
			image_error(path, IMG_HDR_VERSION_OFF,
				    "format version %u is newer than this cryo reads (up to %u): use a newer cryo",
				    *version, IMG_FORMAT_VERSION);
			return -EPROTONOSUPPORT;
		}
		if (*version == 0) {
			image_error(path, IMG_HDR_VERSION_OFF, "format version 0 does not exist");
			return -EBADMSG;
		}
	}
	hdr_size = len >= IMG_HDR_VERSION_OFF + 4 ? img_hdr_size(*version) : IMG_HDR_SIZE;
	crc_off = hdr_size - 4;
	if (len < hdr_size) {
		image_error(path, len, "file ends inside the %zu-byte header", hdr_size);
		return -EBADMSG;
	}
	crc = get_le32(buf + crc_off);
	want = crc32c(0, buf, crc_off);
	if (crc != want) {
		image_error(path, crc_off,
			    "header checksum 0x%08x does not match the header (0x%08x)", crc, want);
		return -EBADMSG;
	}
	*kind = image_kind_get(get_le32(buf + IMG_HDR_KIND_OFF));
	if (!*kind || !(*kind)->desc) {
		image_error(path, IMG_HDR_KIND_OFF, "unknown image kind %u",
			    get_le32(buf + IMG_HDR_KIND_OFF));
		return -EBADMSG;
	}
	return 0;
}

static int add_record(struct image *img, size_t *capacity, size_t offset, ProtobufCMessage *msg)
{
	if (img->nr_records == *capacity) {
		size_t cap = *capacity ? *capacity * 2 : 16;
		struct image_record *r = reallocarray(img->records, cap, sizeof(*r));

		if (!r)
			return -ENOMEM;
		img->records = r;
		*capacity = cap;
	}
	img->records[img->nr_records].offset = offset;
	img->records[img->nr_records].msg = msg;
	img->nr_records++;
	return 0;
}

/* Decodes records from @off up to and including the trailer. */
static int parse_records(struct image *img, const uint8_t *buf, size_t len, size_t off)
{
	const char *path = img->path;
	size_t capacity = 0;

	for (;;) {
		size_t left = len - off;
		uint32_t rlen, crc, want;
		ProtobufCMessage *msg;

		if (left == 0) {
			image_error(path, off, "file ends after %zu records without the end marker",
				    img->nr_records);
			return -EBADMSG;
		}
		if (left < 4) {
			image_error(path, off, "file ends inside a record header");
			return -EBADMSG;
		}
		rlen = get_le32(buf + off);
		if (rlen == IMG_END_MARK)
			break;
		if (left < IMG_REC_HDR_SIZE) {
			image_error(path, off, "file ends inside a record header");
			return -EBADMSG;
		}
		if (rlen > left - IMG_REC_HDR_SIZE) {
			image_error(path, off, "record length %u exceeds the %zu bytes left", rlen,
				    left - IMG_REC_HDR_SIZE);
			return -EBADMSG;
		}
		if (rlen > IMG_RECORD_MAX) {
			image_error(path, off, "record length %u exceeds the limit of %u bytes", rlen,
				    IMG_RECORD_MAX);
			return -EBADMSG;
		}
		crc = get_le32(buf + off + 4);
		want = crc32c(crc32c(0, buf + off, 4), buf + off + IMG_REC_HDR_SIZE, rlen);
		if (crc != want) {
			image_error(path, off, "record %zu: checksum 0x%08x does not match its contents (0x%08x)",
				    img->nr_records, crc, want);
			return -EBADMSG;
		}
		msg = protobuf_c_message_unpack(img->kind->desc, NULL, rlen,
						buf + off + IMG_REC_HDR_SIZE);
		if (!msg) {
			image_error(path, off, "record %zu does not decode as a %s", img->nr_records,
				    img->kind->desc->name);
			return -EBADMSG;
		}
		if (add_record(img, &capacity, off, msg)) {
			protobuf_c_message_free_unpacked(msg, NULL);
			image_error(path, off, "out of memory for record %zu", img->nr_records);
			return -ENOMEM;
		}
		off += IMG_REC_HDR_SIZE + rlen;
	}
	if (len - off < IMG_TRAILER_SIZE) {
		image_error(path, off, "file ends inside the trailer");
		return -EBADMSG;
	}
	if (get_le32(buf + off + 4) != img->nr_records) {
		image_error(path, off + 4, "the trailer counts %u records, the file holds %zu",
			    get_le32(buf + off + 4), img->nr_records);
		return -EBADMSG;
	}
	off += IMG_TRAILER_SIZE;
	if (off != len) {
		image_error(path, off, "%zu bytes follow the trailer", len - off);
		return -EBADMSG;
	}
	return 0;
}

/* Decodes @buf; with @expect non-zero, a file of another kind is refused. */
static int decode(const char *path, const uint8_t *buf, size_t len, enum image_kind expect,
		  struct image **out)
{
	const struct image_kind_desc *kind;
	struct image *img;
	uint32_t version;
	int ret;

	ret = parse_header(path, buf, len, &version, &kind);
	if (ret)
		return ret;
	if (expect && kind->kind != expect) {
		image_error(path, IMG_HDR_KIND_OFF, "the header says kind '%s', expected '%s'",
			    kind->name, image_kind_get(expect)->name);
		return -EBADMSG;
	}
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		pr_err("%s: out of memory", path);
		return -ENOMEM;
	}
	img->kind = kind;
	img->version = version;
	img->has_dump_id = version >= 2;
	if (img->has_dump_id)
		memcpy(img->dump_id, buf + IMG_HDR_DUMP_ID_OFF, IMG_DUMP_ID_SIZE);
	ret = parse_records(img, buf, len, img_hdr_size(version));
	if (ret) {
		image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

/* Loads the whole of regular file @fd, of @size bytes as fstat said: no
 * more is read, so a file that grows (or is not what it says) cannot
 * make the reader run on. */
static int read_whole(int fd, const char *path, off_t size, uint8_t **out, size_t *out_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	if (size < 0 || (uint64_t)size > IMG_RECORDS_MAX_BYTES) {
		pr_err("%s: %lld bytes, more than an image of records may hold (%llu): refused",
		       path, (long long)size, (unsigned long long)IMG_RECORDS_MAX_BYTES);
		return -EFBIG;
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf) {
		pr_err("%s: out of memory", path);
		return -ENOMEM;
	}
	while (len < (size_t)size) {
		ssize_t n = read(fd, buf + len, (size_t)size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno_ret("cannot read %s", path);
		if (n == 0) {
			pr_err("%s: shrank from %lld to %zu bytes while read", path, (long long)size,
			       len);
			return -EIO;
		}
		len += (size_t)n;
	}
	*out = steal_ptr(buf);
	*out_len = len;
	return 0;
}

const char *image_dump_id_text(const uint8_t id[IMG_DUMP_ID_SIZE], char *buf)
{
	for (int i = 0; i < IMG_DUMP_ID_SIZE; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
	return buf;
}

/* A file of another dump is refused by name before its digest is even
 * computed: the set was mixed. */
static int check_dump_id(const struct image *img, const struct image_dir *dir)
{
	char have[2 * IMG_DUMP_ID_SIZE + 1], want[2 * IMG_DUMP_ID_SIZE + 1];

	if (!dir || !dir->has_dump_id)
		return 0;
	if (!img->has_dump_id) {
		image_error(img->path, IMG_HDR_VERSION_OFF, "format %u names no dump (made by an "
			    "older cryo): cannot be tied to this set, refused", img->version);
		return -EBADMSG;
	}
	if (memcmp(img->dump_id, dir->dump_id, IMG_DUMP_ID_SIZE)) {
		pr_err("restore: %s: belongs to dump %s, not %s", img->path,
		       image_dump_id_text(img->dump_id, have), image_dump_id_text(dir->dump_id, want));
		return -EBADMSG;
	}
	return 0;
}

/* Runs the kind's own check on a decoded image and hands it out. */
static int check_image(struct image *img, const struct image_dir *dir, int id,
		       struct image **out)
{
	int ret = check_dump_id(img, dir);

	if (!ret && img->kind->check)
		ret = img->kind->check(img, dir, id);
	if (ret) {
		image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

int image_parse(const char *path, const void *buf, size_t len, struct image **out)
{
	struct image *img;
	int ret;

	ret = decode(path, buf, len, 0, &img);
	if (ret)
		return ret;
	return check_image(img, NULL, 0, out);
}

int image_read_file(const char *path, struct image **out)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t len;
	int ret;

	fd = image_open_regular(AT_FDCWD, path, path, &st);
	if (fd < 0)
		return fd;
	ret = read_whole(fd, path, st.st_size, &buf, &len);
	if (ret)
		return ret;
	return image_parse(path, buf, len, out);
}

/* Opens image @kind of @id in @dir: the fd, its path in *@path (freed by
 * the caller) and its stat in *@st. */
static int open_in_dir(const struct image_dir *dir, enum image_kind kind, int id, char **path,
		       struct stat *st)
{
	const struct image_kind_desc *k = image_kind_get(kind);
	char name[64];

	if (!k || !k->desc || image_file_name(kind, id, name, sizeof(name))) {
		pr_err("no image with records of kind %d, id %d", kind, id);
		return -EINVAL;
	}
	*path = image_dir_file_path(dir, name);
	if (!*path)
		return -ENOMEM;
	return image_open_regular(dir->fd, name, *path, st);
}

int image_read(const struct image_dir *dir, enum image_kind kind, int id, struct image **out)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	struct image *img;
	struct stat st;
	size_t len;
	int ret;

	fd = open_in_dir(dir, kind, id, &path, &st);
	if (fd < 0)
		return fd;
	ret = read_whole(fd, path, st.st_size, &buf, &len);
	if (ret)
		return ret;
	ret = decode(path, buf, len, kind, &img);
	if (ret)
		return ret;
	return check_image(img, dir, id, out);
}

int image_open_records(const struct image_dir *dir, enum image_kind kind, int id, int *fd_out)
{
	const struct image_kind_desc *k;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t hdr[IMG_HDR_SIZE];
	struct image img = { 0 };
	struct stat st;
	uint32_t version;
	ssize_t n;
	int ret;

	fd = open_in_dir(dir, kind, id, &path, &st);
	if (fd < 0)
		return fd;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return pr_errno_ret("cannot read %s", path);
	ret = parse_header(path, hdr, (size_t)n, &version, &k);
	if (ret)
		return ret;
	if (k->kind != kind || version < 2) {
		image_error(path, IMG_HDR_KIND_OFF, "not a '%s' image of format 2 or later",
			    image_kind_get(kind)->name);
		return -EBADMSG;
	}
	img.path = path;
	img.version = version;
	img.has_dump_id = true;
	memcpy(img.dump_id, hdr + IMG_HDR_DUMP_ID_OFF, IMG_DUMP_ID_SIZE);
	ret = check_dump_id(&img, dir);
	if (ret)
		return ret;
	*fd_out = steal_fd(fd);
	return 0;
}

int image_read_record_at(int fd, const char *shown, enum image_kind kind, uint64_t off,
			 ProtobufCMessage **msg, uint64_t *next)
{
	const struct image_kind_desc *k = image_kind_get(kind);
	_cleanup_free_ uint8_t *rec = NULL;
	uint8_t hdr[IMG_REC_HDR_SIZE];
	uint32_t rlen;
	ssize_t n;

	if (off < IMG_HDR_SIZE) {
		image_error(shown, off, "no record starts inside the header");
		return -EBADMSG;
	}
	n = pread(fd, hdr, sizeof(hdr), (off_t)off);
	if (n < 0)
		return pr_errno_ret("cannot read %s", shown);
	rlen = (size_t)n < sizeof(hdr) ? 0 : get_le32(hdr);
	if ((size_t)n < sizeof(hdr) || rlen == IMG_END_MARK || rlen > IMG_RECORD_MAX) {
		image_error(shown, off, "no record of at most %u bytes starts here", IMG_RECORD_MAX);
		return -EBADMSG;
	}
	rec = malloc(rlen ? rlen : 1);
	if (!rec)
		return -ENOMEM;
	n = pread(fd, rec, rlen, (off_t)(off + IMG_REC_HDR_SIZE));
	if (n < 0)
		return pr_errno_ret("cannot read %s", shown);
	if ((uint32_t)n != rlen) {
		image_error(shown, off, "file ends inside a record of %u bytes", rlen);
		return -EBADMSG;
	}
	if (get_le32(hdr + 4) != crc32c(crc32c(0, hdr, 4), rec, rlen)) {
		image_error(shown, off, "record checksum does not match its contents");
		return -EBADMSG;
	}
	*msg = protobuf_c_message_unpack(k->desc, NULL, rlen, rec);
	if (!*msg) {
		image_error(shown, off, "record does not decode as a %s", k->desc->name);
		return -EBADMSG;
	}
	*next = off + IMG_REC_HDR_SIZE + rlen;
	return 0;
}
