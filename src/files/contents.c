/* Saved contents of file objects: the bytes of a memfd, a deleted file or
 * a pipe, as runs of at most FILE_CHUNK_MAX bytes, kept in the object's
 * record when they are small (FileEntry.contents) and in file-data-ID.img
 * otherwise; checking them when read back, and writing them into the
 * restored file. Which objects have contents is up to their kinds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/contents.h"
#include "files/dump_set.h"
#include "files/image_check.h"
#include "files/internal.h"

/* Where dumped runs go: the record @fe, a data file of its own, or the
 * dump's file-queues.img; @who names the holder of the bytes in errors. */
struct run_sink {
	FileEntry *fe;
	struct image_writer *w;		/* NULL: into the record */
	bool shared;			/* w is the dump's file-queues.img */
	bool skip_zeros;		/* runs all of zeros are holes (hugetlbfs) */
	char who[256];
};

/* A sink for d->fe's contents, not yet open. */
static void sink_init(struct run_sink *s, const struct file_dump *d)
{
	s->fe = d->fe;
	s->w = NULL;
	s->shared = false;
	s->skip_zeros = false;
	snprintf(s->who, sizeof(s->who), "pid %d %s (%s)", d->p->pid, d->p->name, d->p->link);
}

/* Starts saving the @total bytes of d->fe's contents: in the record while
 * they are small and the dump's records hold less than their budget; else
 * queued bytes (@queue) in file-queues.img, read back one object at a
 * time at restore, and a file's in a data file of its own. */
static int sink_open(struct run_sink *s, const struct file_dump *d, uint64_t total, bool queue)
{
	struct files_dump_set *set = d->set;
	int ret;

	if (total <= FILE_INLINE_MAX && set->inline_bytes + total <= FILE_INLINE_BUDGET) {
		set->inline_bytes += total;
		return 0;
	}
	d->fe->has_contents_in_file = d->fe->contents_in_file = true;
	if (!queue)
		return image_open_write(d->dir, IMG_FILE_DATA, d->fe->id, &s->w);
	if (!set->queues) {
		ret = image_open_write(d->dir, IMG_FILE_QUEUES, 0, &set->queues);
		if (ret)
			return ret;
	}
	s->w = set->queues;
	s->shared = true;
	d->fe->has_contents_at = true;
	d->fe->contents_at = image_write_offset(set->queues);
	return 0;
}

static int sink_put(struct run_sink *s, uint64_t offset, const uint8_t *buf, size_t len)
{
	FileEntry *fe = s->fe;
	FileChunk **bigger, *c;

	if (s->w) {
		FileChunk chunk = FILE_CHUNK__INIT;

		chunk.offset = offset;
		chunk.data.data = (uint8_t *)buf;
		chunk.data.len = len;
		return image_write_record(s->w, &chunk.base);
	}
	bigger = reallocarray(fe->contents, fe->n_contents + 1, sizeof(*bigger));
	if (!bigger)
		return -ENOMEM;
	fe->contents = bigger;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	file_chunk__init(c);
	c->offset = offset;
	c->data.data = malloc(len);
	if (!c->data.data) {
		free(c);
		return -ENOMEM;
	}
	memcpy(c->data.data, buf, len);
	c->data.len = len;
	fe->contents[fe->n_contents++] = c;
	return 0;
}

/* Ends saving: the data file is finished, or dropped after an error. */
static int sink_close(struct run_sink *s, int ret)
{
	/* The dump's file-queues.img is finished with files.img; a failed
	 * write fails it then too. */
	if (!s->w || s->shared)
		return ret;
	if (ret) {
		image_abort(s->w);
		return ret;
	}
	return image_finish(s->w);
}

static bool all_zero(const uint8_t *buf, size_t len)
{
	return !len || (!buf[0] && !memcmp(buf, buf + 1, len - 1));
}

/* Saves [@start, @end) of @fd, in runs. */
static int dump_range(struct run_sink *s, int fd, uint8_t *buf, uint64_t start, uint64_t end)
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
				ret = n < 0 ? -errno : -EIO;
				pr_err("dump: %s: cannot read its contents at offset %llu: %s",
				       s->who, (unsigned long long)(start + got),
				       n < 0 ? strerror(-ret) : "the file shrank");
				return ret;
			}
			got += n;
		}
		ret = s->skip_zeros && all_zero(buf, want) ? 0 : sink_put(s, start, buf, want);
		if (ret)
			return ret;
		start += want;
	}
	return 0;
}

/* Walks the data between the holes of [@start, @end) of @fd: saves it
 * into @s when @save, and adds up its length in *@total. @fd is our own
 * open file description, so seeking it is harmless. */
static int walk_data(struct run_sink *s, bool save, int fd, uint64_t start, uint64_t end,
		     uint8_t *buf, uint64_t *total)
{
	uint64_t off = start;
	int ret;

	while (off < end) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return pr_errno_ret("dump: %s: cannot find the data in its contents",
					    s->who);
		if ((uint64_t)data >= end)
			break;
		if ((uint64_t)hole > end)
			hole = end;
		*total += hole - data;
		if (save) {
			ret = dump_range(s, fd, buf, data, hole);
			if (ret)
				return ret;
		}
		off = hole;
	}
	return 0;
}

/* Saves the data of @ranges of @fd into @s. */
static int walk_ranges(struct run_sink *s, int fd, const struct byte_range *ranges, size_t n)
{
	_cleanup_free_ uint8_t *buf = malloc(FILE_CHUNK_MAX);
	uint64_t total = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++)
		ret = walk_data(s, true, fd, ranges[i].start, ranges[i].end, buf, &total);
	return ret;
}

static int dump_ranges(const struct file_dump *d, int fd, const struct byte_range *ranges,
		       size_t n, bool skip_zeros)
{
	struct run_sink s;
	uint64_t total = 0;
	int ret = 0;

	/* The total first: small contents stay in the record. */
	sink_init(&s, d);
	s.skip_zeros = skip_zeros;
	for (size_t i = 0; i < n && !ret; i++)
		ret = walk_data(&s, false, fd, ranges[i].start, ranges[i].end, NULL, &total);
	if (ret)
		return ret;
	ret = sink_open(&s, d, total, false);
	if (ret)
		return ret;
	return sink_close(&s, walk_ranges(&s, fd, ranges, n));
}

int contents_dump_ranges(const struct file_dump *d, int fd, const struct byte_range *ranges,
			 size_t n)
{
	return dump_ranges(d, fd, ranges, n, false);
}

int contents_dump_huge(const struct file_dump *d, int fd, const struct byte_range *ranges,
		       size_t n)
{
	return dump_ranges(d, fd, ranges, n, true);
}

int contents_dump_to_image(struct image_dir *dir, enum image_kind kind, int id, int fd,
			   const struct byte_range *ranges, size_t n, bool huge, const char *who)
{
	struct run_sink s = { 0 };
	int ret;

	snprintf(s.who, sizeof(s.who), "%s", who);
	s.skip_zeros = huge;
	ret = image_open_write(dir, kind, id, &s.w);
	if (ret)
		return ret;
	return sink_close(&s, walk_ranges(&s, fd, ranges, n));
}

int contents_dump_file(const struct file_dump *d, int fd, uint64_t size, bool huge)
{
	struct byte_range whole = { 0, size };

	return dump_ranges(d, fd, &whole, 1, huge);
}

int contents_dump_bytes(const struct file_dump *d, const void *buf, size_t len)
{
	struct run_sink s;
	int ret;

	sink_init(&s, d);
	ret = sink_open(&s, d, len, true);
	for (size_t off = 0; off < len && !ret; off += FILE_CHUNK_MAX) {
		size_t n = len - off < FILE_CHUNK_MAX ? len - off : FILE_CHUNK_MAX;

		ret = sink_put(&s, off, (const uint8_t *)buf + off, n);
	}
	return sink_close(&s, ret);
}

/* The file-data images read so far. Every process of a restore loads the
 * objects it holds, and a shared one (memory that all map, say) may hold
 * gigabytes: it is read and checked once, whichever processes need it. */
struct loaded_data {
	const struct image_dir *dir;
	uint32_t id;
	unsigned int users;
	struct image *img;
	struct loaded_data *next;
};

static struct loaded_data *loaded;

static int get_data_image(const struct image_dir *dir, uint32_t id, struct image **out)
{
	struct loaded_data *d;
	int ret;

	for (d = loaded; d; d = d->next) {
		if (d->dir == dir && d->id == id) {
			d->users++;
			*out = d->img;
			return 0;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = image_read(dir, IMG_FILE_DATA, (int)id, &d->img);
	if (!ret)
		ret = file_data_image_check(d->img, dir, (int)id);
	if (ret) {
		image_free(d->img);
		free(d);
		return ret;
	}
	*d = (struct loaded_data){ dir, id, 1, d->img, loaded };
	loaded = d;
	*out = d->img;
	return 0;
}

void contents_put(struct file_obj *f)
{
	for (struct loaded_data **at = &loaded; f->data && *at; at = &(*at)->next) {
		struct loaded_data *d = *at;

		if (d->img != f->data)
			continue;
		if (--d->users == 0) {
			*at = d->next;
			image_free(d->img);
			free(d);
		}
		break;
	}
	f->data = NULL;
	free(f->chunks);
	f->chunks = NULL;
}

int contents_runs_of(const struct image *img, const FileChunk ***out)
{
	const FileChunk **chunks = calloc(img->nr_records + 1, sizeof(*chunks));

	if (!chunks)
		return -ENOMEM;
	for (size_t i = 0; i < img->nr_records; i++)
		chunks[i] = (const FileChunk *)img->records[i].msg;
	*out = chunks;
	return 0;
}

/* Reads file-data-ID.img of @f into f->data and lists its runs. */
static int load_data_file(const struct image_dir *dir, const struct files_image *img,
			  struct file_obj *f)
{
	int ret = get_data_image(dir, f->e->id, &f->data);

	if (ret) {
		load_err(img, f, "its contents cannot be read");
		return ret;
	}
	ret = contents_runs_of(f->data, &f->chunks);
	if (!ret)
		f->nr_chunks = f->data->nr_records;
	return ret;
}

const char *contents_runs_problem(const FileChunk *const *chunks, size_t n, uint64_t size,
				  bool stream, size_t *at)
{
	uint64_t end = 0;

	/* Sorted and not overlapping is checked with each image; what
	 * needs the object's size is checked here. */
	for (size_t i = 0; i < n; i++) {
		const FileChunk *c = chunks[i];

		*at = i;
		if (stream && c->offset != end)
			return "runs must follow each other from 0";
		if (c->offset > size || c->data.len > size - c->offset)
			return "the run ends past the file's size";
		end = c->offset + c->data.len;
	}
	return NULL;
}

/* Reads the runs of @e's queued bytes from file-queues.img (@fd), which
 * follow each other from 0 up to @size bytes, checking each; keeps them
 * in *@out (*@nr of them) unless @out is NULL. */
static int read_queue_runs(int fd, const FileEntry *e, uint64_t size, FileChunk ***out,
			   size_t *nr, char *why, size_t why_size)
{
	uint64_t got = 0, off = e->contents_at;
	FileChunk **runs = NULL;
	size_t n = 0;
	int ret = 0;

	while (got < size && !ret) {
		ProtobufCMessage *msg;
		FileChunk *c, **more;

		ret = image_read_record_at(fd, "file-queues.img", IMG_FILE_QUEUES, off, &msg, &off);
		if (ret) {
			snprintf(why, why_size, "run %zu of its contents cannot be read", n);
			break;
		}
		c = (FileChunk *)msg;
		if (c->offset != got || !c->data.len || c->data.len > FILE_CHUNK_MAX ||
		    c->data.len > size - got) {
			snprintf(why, why_size, "run %zu (offset %llu, %zu bytes) does not follow "
				 "the one before within its %llu bytes", n,
				 (unsigned long long)c->offset, c->data.len,
				 (unsigned long long)size);
			protobuf_c_message_free_unpacked(msg, NULL);
			ret = -EBADMSG;
			break;
		}
		got += c->data.len;
		if (!out) {
			protobuf_c_message_free_unpacked(msg, NULL);
			n++;
			continue;
		}
		more = reallocarray(runs, n + 1, sizeof(*runs));
		if (!more) {
			protobuf_c_message_free_unpacked(msg, NULL);
			ret = -ENOMEM;
			break;
		}
		runs = more;
		runs[n++] = c;
	}
	if (ret || !out) {
		for (size_t i = 0; out && i < n; i++)
			protobuf_c_message_free_unpacked(&runs[i]->base, NULL);
		free(runs);
		if (!ret)
			*nr = n;
		return ret;
	}
	*out = runs;
	*nr = n;
	return 0;
}

/* Queued bytes in file-queues.img are checked now and read again by the
 * restore that writes them back (contents_view_open()): a restore never
 * holds every queue at once. */
static int load_queued(const struct files_image *img, struct file_obj *f, uint64_t size)
{
	char why[256];
	size_t runs;
	int ret;

	if (img->queues_fd < 0) {
		load_err(img, f, "its contents are in file-queues.img, which was not opened");
		return -EBADMSG;
	}
	if (size > UINT32_MAX) {
		load_err(img, f, "%llu bytes queued: more than any queue holds",
			 (unsigned long long)size);
		return -EBADMSG;
	}
	ret = read_queue_runs(img->queues_fd, f->e, size, NULL, &runs, why, sizeof(why));
	if (ret) {
		load_err(img, f, "%s", why);
		return ret;
	}
	f->nr_chunks = (uint32_t)runs;
	f->queues_fd = &img->queues_fd;
	f->queued_size = size;
	return 0;
}

int contents_load(const struct image_dir *dir, const struct files_image *img,
		  struct file_obj *f, uint64_t size, bool stream)
{
	const char *problem;
	uint64_t end = 0;
	size_t at;
	int ret;

	if (f->e->has_contents_at) {
		if (!stream) {
			load_err(img, f, "only queued bytes may be in file-queues.img");
			return -EBADMSG;
		}
		return load_queued(img, f, size);
	}
	if (f->e->contents_in_file) {
		ret = load_data_file(dir, img, f);
		if (ret)
			return ret;
	} else {
		f->chunks = calloc(f->e->n_contents + 1, sizeof(*f->chunks));
		if (!f->chunks)
			return -ENOMEM;
		for (size_t i = 0; i < f->e->n_contents; i++)
			f->chunks[i] = f->e->contents[i];
		f->nr_chunks = f->e->n_contents;
	}
	problem = contents_runs_problem(f->chunks, f->nr_chunks, size, stream, &at);
	if (problem) {
		load_err(img, f, "run %zu (offset %llu, %zu bytes): %s", at,
			 (unsigned long long)f->chunks[at]->offset, f->chunks[at]->data.len,
			 problem);
		return -EBADMSG;
	}
	if (f->nr_chunks)
		end = f->chunks[f->nr_chunks - 1]->offset + f->chunks[f->nr_chunks - 1]->data.len;
	if (stream && end != size) {
		load_err(img, f, "its contents hold %llu bytes, its record says %llu",
			 (unsigned long long)end, (unsigned long long)size);
		return -EBADMSG;
	}
	return 0;
}

int contents_view_open(const struct restore_ctx *r, const struct file_obj *f,
		       struct contents_view *v)
{
	char why[256];
	int ret;

	*v = (struct contents_view){ .chunks = f->chunks, .nr_chunks = f->nr_chunks };
	if (!f->queues_fd)
		return 0;
	ret = read_queue_runs(*f->queues_fd, f->e, f->queued_size, &v->own, &v->nr_chunks, why,
			      sizeof(why));
	if (ret) {
		restore_err(r, f, "its queued bytes, checked before, cannot be read again: %s",
			    why);
		return ret;
	}
	v->chunks = (const FileChunk *const *)v->own;
	return 0;
}

void contents_view_close(struct contents_view *v)
{
	for (size_t i = 0; v->own && i < v->nr_chunks; i++)
		protobuf_c_message_free_unpacked(&v->own[i]->base, NULL);
	free(v->own);
	*v = (struct contents_view){ 0 };
}

void contents_copy_runs(uint8_t *mem, const FileChunk *const *chunks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy(mem + chunks[i]->offset, chunks[i]->data.data, chunks[i]->data.len);
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

static int set_size(const struct restore_ctx *r, const struct file_obj *holder, int fd,
		    uint64_t size)
{
	if (ftruncate(fd, size)) {
		int ret = -errno;

		restore_err(r, holder, "cannot set the size of the recreated file to %llu: %s",
			    (unsigned long long)size, strerror(-ret));
		return ret;
	}
	return 0;
}

int contents_restore_file(const struct restore_ctx *r, const struct file_obj *holder, int fd,
			  uint64_t size)
{
	int ret = set_size(r, holder, fd, size);

	if (ret)
		return ret;
	for (size_t i = 0; i < holder->nr_chunks; i++) {
		const FileChunk *c = holder->chunks[i];
		int ret = write_all(fd, c->data.data, c->data.len, c->offset, true);

		if (ret) {
			restore_err(r, holder, "cannot write its contents at offset %llu: %s",
				    (unsigned long long)c->offset, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int contents_restore_huge(const struct restore_ctx *r, const struct file_obj *holder, int fd,
			  uint64_t size, uint64_t huge_page_size)
{
	int ret = set_size(r, holder, fd, size);

	if (ret)
		return ret;
	for (size_t i = 0; i < holder->nr_chunks; i++) {
		const FileChunk *c = holder->chunks[i];
		uint64_t from = c->offset / huge_page_size * huge_page_size;
		uint64_t len = (c->offset + c->data.len + huge_page_size - 1) / huge_page_size *
				       huge_page_size - from;
		uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)from);

		if (mem == MAP_FAILED) {
			ret = -errno;
			restore_err(r, holder, "cannot map %llu bytes of it at offset %llu to fill "
				    "it: %s%s", (unsigned long long)len, (unsigned long long)from,
				    strerror(-ret),
				    ret == -ENOMEM ? " (not enough free huge pages: see "
						     "/proc/sys/vm/nr_hugepages)" : "");
			return ret;
		}
		memcpy(mem + (c->offset - from), c->data.data, c->data.len);
		munmap(mem, len);
	}
	return 0;
}

int contents_restore_bytes(const struct restore_ctx *r, const struct file_obj *holder, int fd)
{
	struct contents_view v;
	int ret = contents_view_open(r, holder, &v);

	for (size_t i = 0; i < v.nr_chunks && !ret; i++) {
		const FileChunk *c = v.chunks[i];

		ret = write_all(fd, c->data.data, c->data.len, 0, false);
		if (ret)
			restore_err(r, holder, "cannot write its saved %zu bytes back: %s",
				    c->data.len, strerror(-ret));
	}
	contents_view_close(&v);
	return ret;
}
