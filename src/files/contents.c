/* Saved contents of file objects (file-data-ID.img): writing the bytes of a
 * memfd, a deleted file or a pipe as runs of at most FILE_CHUNK_MAX bytes,
 * checking them when read back, and writing them into the restored file.
 * Which objects have contents is up to their kinds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/image_check.h"
#include "files/internal.h"

/* Appends one run to @w. */
static int write_chunk(struct image_writer *w, uint64_t offset, uint8_t *buf, size_t len)
{
	FileChunk chunk = FILE_CHUNK__INIT;

	chunk.offset = offset;
	chunk.data.data = buf;
	chunk.data.len = len;
	return image_write_record(w, &chunk.base);
}

/* Saves [@start, @end) of @fd into @w, in runs. */
static int dump_range(const struct file_dump *d, int fd, struct image_writer *w, uint8_t *buf,
		      uint64_t start, uint64_t end)
{
	while (start < end) {
		size_t want = end - start < FILE_CHUNK_MAX ? end - start : FILE_CHUNK_MAX;
		size_t got = 0;
		int ret;

		while (got < want) {
			ssize_t n = pread(fd, buf + got, want - got, start + got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pr_fd_err(d->p, "cannot read its contents at offset %llu: %s",
					  (unsigned long long)(start + got),
					  n < 0 ? strerror(errno) : "the file shrank");
				return n < 0 ? -errno : -EIO;
			}
			got += n;
		}
		ret = write_chunk(w, start, buf, want);
		if (ret)
			return ret;
		start += want;
	}
	return 0;
}

int contents_dump_file(const struct file_dump *d, int fd, uint64_t size)
{
	_cleanup_free_ uint8_t *buf = malloc(FILE_CHUNK_MAX);
	struct image_writer *w;
	uint64_t off = 0;
	int ret;

	if (!buf) {
		pr_fd_err(d->p, "out of memory to read its contents");
		return -ENOMEM;
	}
	ret = image_open_write(d->dir, IMG_FILE_DATA, d->fe->id, &w);
	if (ret)
		return ret;
	/* Only the data between holes: a sparse memfd stays small. @fd is
	 * our own open file description, so seeking it is harmless. */
	while (off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			ret = -errno;
			pr_fd_err(d->p, "cannot find the data in its contents: %s", strerror(errno));
			break;
		}
		if ((uint64_t)hole > size)
			hole = size;
		ret = dump_range(d, fd, w, buf, data, hole);
		if (ret)
			break;
		off = hole;
	}
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

int contents_dump_bytes(const struct file_dump *d, const void *buf, size_t len)
{
	struct image_writer *w;
	int ret;

	ret = image_open_write(d->dir, IMG_FILE_DATA, d->fe->id, &w);
	if (ret)
		return ret;
	for (size_t off = 0; off < len && !ret; off += FILE_CHUNK_MAX) {
		size_t n = len - off < FILE_CHUNK_MAX ? len - off : FILE_CHUNK_MAX;

		ret = write_chunk(w, off, (uint8_t *)buf + off, n);
	}
	if (ret) {
		image_abort(w);
		return ret;
	}
	return image_finish(w);
}

int contents_load(const struct image_dir *dir, const struct files_image *img,
		  struct file_obj *f, uint64_t size, bool stream)
{
	struct image *data;
	uint64_t end = 0;
	int ret;

	ret = image_read(dir, IMG_FILE_DATA, f->e->id, &data);
	if (ret) {
		load_err(img, f, "its contents cannot be read");
		return ret;
	}
	ret = file_data_image_check(data, dir, f->e->id);
	for (size_t i = 0; i < data->nr_records && !ret; i++) {
		const FileChunk *c = (const FileChunk *)data->records[i].msg;
		const char *bad = NULL;

		if (stream && c->offset != end)
			bad = "runs must follow each other from offset 0";
		else if (c->offset > size || c->data.len > size - c->offset)
			bad = "the run ends past the file's size";
		if (bad) {
			image_error(data->path, data->records[i].offset,
				    "run %zu (offset %llu, %zu bytes): %s", i,
				    (unsigned long long)c->offset, c->data.len, bad);
			ret = -EBADMSG;
		}
		end = c->offset + c->data.len;
	}
	if (ret) {
		image_free(data);
		return ret;
	}
	if (stream && end != size) {
		image_error(data->path, 0, "holds %llu bytes, the record of file %u says %llu",
			    (unsigned long long)end, f->e->id, (unsigned long long)size);
		image_free(data);
		return -EBADMSG;
	}
	f->data = data;
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t offset, bool positioned)
{
	while (len) {
		ssize_t n = positioned ? pwrite(fd, buf, len, offset) : write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
		offset += n;
	}
	return 0;
}

int contents_restore_file(const struct restore_ctx *r, const struct file_obj *holder, int fd,
			  uint64_t size)
{
	if (ftruncate(fd, size)) {
		restore_err(r, holder, "cannot set the size of the recreated file to %llu: %s",
			    (unsigned long long)size, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; holder->data && i < holder->data->nr_records; i++) {
		const FileChunk *c = (const FileChunk *)holder->data->records[i].msg;
		int ret = write_all(fd, c->data.data, c->data.len, c->offset, true);

		if (ret) {
			restore_err(r, holder, "cannot write its contents at offset %llu: %s",
				    (unsigned long long)c->offset, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int contents_restore_bytes(const struct restore_ctx *r, const struct file_obj *holder, int fd)
{
	for (size_t i = 0; holder->data && i < holder->data->nr_records; i++) {
		const FileChunk *c = (const FileChunk *)holder->data->records[i].msg;
		int ret = write_all(fd, c->data.data, c->data.len, 0, false);

		if (ret) {
			restore_err(r, holder, "cannot write its saved %zu bytes back: %s",
				    c->data.len, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
