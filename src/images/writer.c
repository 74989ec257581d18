/* Writing image files: a hidden temporary file filled through one buffer
 * and renamed into place by image_finish(), so that a failed or interrupted
 * dump never leaves a file that looks complete under its final name. A
 * large pages file bypasses the page cache (O_DIRECT) where the filesystem
 * allows: copying gigabytes into the cache and out again costs more than
 * the disk. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "images/hasher.h"
#include "images/image.h"

/* Large enough that the pages file is written in large sequential writes;
 * bigger writes bypass it. */
#define IMG_WRITE_BUF (256u << 10)

/* What O_DIRECT needs of buffers, offsets and lengths: the page size
 * covers every logical block size. */
#define DIRECT_ALIGN 4096u

/* A pages file goes direct once it holds dir->direct_after bytes
 * (IMG_DIRECT_AFTER, 64 MiB); past that the copy into the page cache costs
 * more than the disk. Below it the cache takes the bytes, and their
 * writeback is started each time STREAM_CHUNK of them have gathered, so
 * that the disk writes while the dump reads on and the sync before the
 * kill waits only for the tail: a direct write waits for the disk one
 * buffer at a time while the tree stays frozen, writeback keeps several in
 * flight (16 MiB written and synced: 12-17 ms against 14-20 ms direct; the
 * 1 TiB rows' frozen time, median of 15 while another writer used the
 * disk: 37-44 ms against 61-77). */
#define STREAM_CHUNK (1ull << 20)

struct image_writer {
	struct image_dir *dir;
	const struct image_kind_desc *kind;
	int fd;
	char *tmp_name;
	char *name;
	char *path;
	uint8_t *buf;
	size_t used;
	uint32_t nr_records;
	bool may_direct;	/* a pages file, not yet refused O_DIRECT */
	bool direct;		/* fd is O_DIRECT */
	bool caller_hashes;	/* image_hash_by_caller() */
	bool positioned;	/* image_raw_positioned(): the caller writes at offsets */
	uint64_t written;	/* bytes in the file */
	uint64_t streamed;	/* bytes whose writeback was started */
	/* The file's digest, taken as its bytes go out: they are in memory
	 * then, and reading gigabytes back after the sync cost as much as
	 * writing them. */
	struct image_hasher *hasher;
	int err;	/* the first error; every later call returns it */
};

static void writer_free(struct image_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->dir->fd, w->tmp_name, 0);
	}
	image_hasher_free(w->hasher);
	free(w->buf);
	free(w->tmp_name);
	free(w->name);
	free(w->path);
	free(w);
}

static int writer_fail(struct image_writer *w, int err, const char *what)
{
	if (!w->err) {
		pr_err("cannot %s %s: %s", what, w->path, strerror(-err));
		w->err = err;
	}
	return w->err;
}

static bool direct_aligned(const struct image_writer *w, const void *buf, size_t len)
{
	return !((uintptr_t)buf % DIRECT_ALIGN || len % DIRECT_ALIGN || w->written % DIRECT_ALIGN);
}

/* Starts writing the file's cached bytes to the disk without waiting, so
 * that the sync before the inventory finds them written, whether it is an
 * fsync per file or one syncfs (image_dir_sync()): a tree's hundreds of
 * small files then reach the disk while the dump goes on, not all in the
 * syncfs. A failure shows at the sync. */
static void start_writeback(struct image_writer *w)
{
	sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	w->streamed = w->written;
}

/* The same for the bytes written since, once a chunk of them is there. A
 * caller writing at offsets may write them again: its file waits for
 * image_finish(). */
static void stream_writeback(struct image_writer *w)
{
	if (w->direct || w->positioned || w->written - w->streamed < STREAM_CHUNK)
		return;
	sync_file_range(w->fd, w->streamed, w->written - w->streamed, SYNC_FILE_RANGE_WRITE);
	w->streamed = w->written;
}

/* Turns O_DIRECT on or off. Off is for good: the filesystem refused it,
 * or the writes are not aligned. */
static int set_direct(struct image_writer *w, bool on)
{
	int flags = fcntl(w->fd, F_GETFL);

	if (flags < 0 || fcntl(w->fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT)) {
		/* A filesystem without direct I/O says so here (EINVAL). */
		if (on && errno == EINVAL) {
			w->may_direct = false;
			return 0;
		}
		return -errno;
	}
	w->direct = on;
	if (!on)
		w->may_direct = false;
	/* What went through the cache before heads for the disk now, beside
	 * the direct writes, instead of at the sync. */
	if (on)
		start_writeback(w);
	return 0;
}

static int write_all(struct image_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int ret = 0;

	if (w->may_direct && !w->direct && w->written >= w->dir->direct_after &&
	    direct_aligned(w, buf, len))
		ret = set_direct(w, true);
	else if (w->direct && !direct_aligned(w, buf, len))
		ret = set_direct(w, false);
	if (!ret && !w->caller_hashes && image_hasher_update(w->hasher, buf, len))
		ret = -EIO;
	if (ret)
		return ret;
	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A filesystem may refuse a direct write it let us ask for. */
			if (errno == EINVAL && w->direct) {
				ret = set_direct(w, false);
				if (ret)
					return ret;
				continue;
			}
			return -errno;
		}
		p += n;
		len -= n;
		w->written += n;
	}
	stream_writeback(w);
	return 0;
}

static int writer_flush(struct image_writer *w)
{
	int ret = write_all(w, w->buf, w->used);

	if (ret)
		return writer_fail(w, ret, "write");
	w->used = 0;
	return 0;
}

static int writer_append(struct image_writer *w, const void *data, size_t len)
{
	if (w->used + len > IMG_WRITE_BUF && writer_flush(w))
		return w->err;
	if (len >= IMG_WRITE_BUF) {
		int ret = write_all(w, data, len);

		return ret ? writer_fail(w, ret, "write") : 0;
	}
	memcpy(w->buf + w->used, data, len);
	w->used += len;
	return 0;
}

int image_open_write(struct image_dir *dir, enum image_kind kind, int id,
		     struct image_writer **out)
{
	const struct image_kind_desc *k = image_kind_get(kind);
	char name[64];
	struct image_writer *w;
	struct statfs sfs;

	if (!k || image_file_name(kind, id, name, sizeof(name))) {
		pr_err("no image file name for kind %d, id %d", kind, id);
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		pr_err("out of memory for image %s", name);
		return -ENOMEM;
	}
	w->dir = dir;
	w->kind = k;
	w->fd = -1;
	w->name = strdup(name);
	w->path = image_dir_file_path(dir, name);
	if (posix_memalign((void **)&w->buf, DIRECT_ALIGN, IMG_WRITE_BUF))
		w->buf = NULL;
	w->hasher = image_hasher_new(dir->digest_kind);
	if (!w->name || !w->path || !w->buf || !w->hasher ||
	    asprintf(&w->tmp_name, ".%s.tmp", name) < 0) {
		w->tmp_name = NULL;
		writer_free(w);
		pr_err("out of memory for image %s", name);
		return -ENOMEM;
	}
	/* The umask must not loosen or tighten 0600; O_NOFOLLOW keeps a planted
	 * symlink from redirecting the write. */
	/* tmpfs is the page cache: nothing to bypass there. */
	w->may_direct = (kind == IMG_PAGES || kind == IMG_PAGES2) && !(!fstatfs(dir->fd, &sfs) && sfs.f_type == TMPFS_MAGIC);
	/* A raw file may be read back by its caller (image_raw_positioned()). */
	w->fd = openat(dir->fd, w->tmp_name,
		       (k->desc ? O_WRONLY : O_RDWR) | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->fd < 0 || fchmod(w->fd, 0600)) {
		int ret = pr_errno_ret("cannot create %s", w->path);

		writer_free(w);
		return ret;
	}
	if (k->desc) {
		uint8_t hdr[IMG_HDR_SIZE];

		memcpy(hdr, IMG_MAGIC, IMG_MAGIC_LEN);
		put_le32(hdr + IMG_HDR_VERSION_OFF, IMG_FORMAT_VERSION);
		put_le32(hdr + IMG_HDR_KIND_OFF, k->kind);
		memcpy(hdr + IMG_HDR_DUMP_ID_OFF, dir->dump_id, IMG_DUMP_ID_SIZE);
		put_le32(hdr + IMG_HDR_CRC_OFF, crc32c(0, hdr, IMG_HDR_CRC_OFF));
		writer_append(w, hdr, sizeof(hdr));
	}
	*out = w;
	return 0;
}

int image_write_record(struct image_writer *w, const ProtobufCMessage *msg)
{
	_cleanup_free_ uint8_t *big = NULL;
	uint8_t *rec;
	size_t size;

	if (w->err)
		return w->err;
	if (msg->descriptor != w->kind->desc) {
		pr_err("%s: a %s record cannot go into this %s image", w->path, msg->descriptor->name,
		       w->kind->name);
		return w->err = -EINVAL;
	}
	/* Packing skips NULL required fields; catch them before they make an
	 * image that can never be read back. */
	if (!protobuf_c_message_check(msg)) {
		pr_err("%s: record %u lacks a required field", w->path, w->nr_records);
		return w->err = -EINVAL;
	}
	size = protobuf_c_message_get_packed_size(msg);
	if (size > IMG_RECORD_MAX || w->nr_records == UINT32_MAX) {
		pr_err("%s: record %u of %zu bytes is over the format's limits", w->path,
		       w->nr_records, size);
		return w->err = -EMSGSIZE;
	}
	if (w->used + IMG_REC_HDR_SIZE + size > IMG_WRITE_BUF && writer_flush(w))
		return w->err;
	/* Pack in place when it fits, to avoid a copy per record. */
	if (IMG_REC_HDR_SIZE + size <= IMG_WRITE_BUF) {
		rec = w->buf + w->used;
	} else {
		big = malloc(IMG_REC_HDR_SIZE + size);
		if (!big)
			return writer_fail(w, -ENOMEM, "write");
		rec = big;
	}
	put_le32(rec, size);
	protobuf_c_message_pack(msg, rec + IMG_REC_HDR_SIZE);
	put_le32(rec + 4, crc32c(crc32c(0, rec, 4), rec + IMG_REC_HDR_SIZE, size));
	w->nr_records++;
	if (big)
		return writer_append(w, big, IMG_REC_HDR_SIZE + size);
	w->used += IMG_REC_HDR_SIZE + size;
	return 0;
}

int image_write_raw(struct image_writer *w, const void *buf, size_t len)
{
	if (w->err)
		return w->err;
	if (w->kind->desc) {
		pr_err("%s: raw bytes cannot go into this %s image", w->path, w->kind->name);
		return w->err = -EINVAL;
	}
	return writer_append(w, buf, len);
}

int image_hash_by_caller(struct image_writer *w)
{
	/* A header or trailer would be written unseen by the caller. */
	if (w->kind->desc || w->written || w->used) {
		pr_err("%s: only a raw image not yet written can be hashed by its caller", w->path);
		return w->err = -EINVAL;
	}
	w->caller_hashes = true;
	return 0;
}

int image_raw_positioned(struct image_writer *w, int *fd)
{
	int ret = image_hash_by_caller(w);

	if (ret)
		return ret;
	/* Its caller overwrites what it wrote: the page cache takes that. */
	w->may_direct = false;
	w->positioned = true;
	*fd = w->fd;
	return 0;
}

int image_hash_raw(struct image_writer *w, const void *buf, size_t len)
{
	if (image_hasher_update(w->hasher, buf, len)) {
		pr_err("%s: its digest failed", w->path);
		return -EIO;
	}
	return 0;
}

int image_hash_export(struct image_writer *w, void *state, size_t size)
{
	return image_hasher_export(w->hasher, state, size);
}

int image_hash_import(struct image_writer *w, const void *state, size_t size)
{
	return image_hasher_import(w->hasher, state, size);
}

ssize_t image_splice_raw(struct image_writer *w, int pipe_fd, size_t max)
{
	int ret = 0;

	if (w->err)
		return w->err;
	if (w->kind->desc || !w->caller_hashes) {
		pr_err("%s: only a raw image its caller hashes can take spliced bytes", w->path);
		return w->err = -EINVAL;
	}
	/* What was appended before goes first. */
	if (w->used && writer_flush(w))
		return w->err;
	if (w->may_direct && !w->direct && w->written >= w->dir->direct_after &&
	    !(w->written % DIRECT_ALIGN))
		ret = set_direct(w, true);
	if (ret)
		return writer_fail(w, ret, "write");
	for (;;) {
		ssize_t n = splice(pipe_fd, NULL, w->fd, NULL, max, SPLICE_F_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		/* A filesystem may refuse a direct write it let us ask for. */
		if (n < 0 && errno == EINVAL && w->direct) {
			ret = set_direct(w, false);
			if (ret)
				return writer_fail(w, ret, "write");
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return -EAGAIN;
		if (n < 0)
			return writer_fail(w, -errno, "splice into");
		w->written += n;
		stream_writeback(w);
		return n;
	}
}

int image_write_single(struct image_dir *dir, enum image_kind kind, int id,
		       const ProtobufCMessage *msg)
{
	struct image_writer *w;
	int ret = image_open_write(dir, kind, id, &w);

	if (ret)
		return ret;
	ret = image_write_record(w, msg);
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

int image_finish(struct image_writer *w)
{
	uint8_t digest[IMG_DIGEST_MAX];
	int ret, fd;

	if (!w->err && w->kind->desc) {
		uint8_t trailer[IMG_TRAILER_SIZE];

		put_le32(trailer, IMG_END_MARK);
		put_le32(trailer + 4, w->nr_records);
		writer_append(w, trailer, sizeof(trailer));
	}
	if (!w->err)
		writer_flush(w);
	if (!w->err && w->positioned) {
		struct stat st;

		if (fstat(w->fd, &st))
			writer_fail(w, -errno, "stat");
		else
			w->written = (uint64_t)st.st_size;
	}
	if (!w->err) {
		image_hasher_final(w->hasher, digest);
		w->hasher = NULL;
		start_writeback(w);
		/* close() can report a delayed write error (NFS): check it. */
		fd = w->fd;
		w->fd = -1;
		if (close(fd))
			writer_fail(w, -errno, "close");
		else if (renameat(w->dir->fd, w->tmp_name, w->dir->fd, w->name))
			writer_fail(w, -errno, "rename into place");
		else if (image_dir_note_unsynced(w->dir, w->name, digest, w->written) && !w->err)
			w->err = -ENOMEM;
		if (w->err)
			unlinkat(w->dir->fd, w->tmp_name, 0);
		/* Renamed, but it would not be synced. */
		if (w->err == -ENOMEM)
			unlinkat(w->dir->fd, w->name, 0);
	}
	ret = w->err;
	writer_free(w);
	return ret;
}

uint64_t image_write_offset(const struct image_writer *w)
{
	return w->written + w->used;
}

void image_abort(struct image_writer *w)
{
	if (w)
		writer_free(w);
}
