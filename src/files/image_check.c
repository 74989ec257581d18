/* The checks of fds-PID.img, files.img and file-data-ID.img that each file
 * allows on its own. Only the images library and the schemas are used
 * here, so that readers such as `cryo show` and the fuzz target can run
 * them; what needs the images together, or the kinds, is load.c's. */
#include <errno.h>
#include <fcntl.h>

#include "common/cleanup.h"
#include "files/image_check.h"
#include "files/internal.h"
#include "images/proto/locks.pb-c.h"

int fds_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	int prev = -1;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const FdEntry *fe = (const FdEntry *)img->records[i].msg;

		if (fe->fd < 0 || fe->fd >= FILES_FD_LIMIT) {
			image_error(img->path, img->records[i].offset,
				    "fd %d is out of range (0 to %d)", fe->fd, FILES_FD_LIMIT - 1);
			return -EBADMSG;
		}
		if (fe->fd <= prev) {
			image_error(img->path, img->records[i].offset,
				    "fd %d: fds must be unique and ascending", fe->fd);
			return -EBADMSG;
		}
		if (fe->file_id == 0) {
			image_error(img->path, img->records[i].offset, "fd %d: file id 0", fe->fd);
			return -EBADMSG;
		}
		prev = fe->fd;
	}
	return 0;
}

/* What is wrong with the owner fields of @e (owner.c's), or NULL. */
static const char *owner_problem(const FileEntry *e)
{
	if (e->owner && (e->owner->type > F_OWNER_PGRP || e->owner->pid <= 0))
		return "its owner must be a thread, process or group (type 0-2) of a pid above 0";
	if (e->has_signal && (e->signal == 0 || e->signal > 64))
		return "its signal (F_SETSIG) must be 1-64";
	return NULL;
}

/* How many kind parts (the optional sub-messages) @e carries. */
static unsigned int kind_parts(const FileEntry *e)
{
	const ProtobufCMessageDescriptor *d = e->base.descriptor;
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];

		if (fd->id > 15 && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    fd->label == PROTOBUF_C_LABEL_OPTIONAL && *(void *const *)((const char *)e + fd->offset))
			n++;
	}
	return n;
}

/* Whether @e carries the part its kind names: field 15 + kind. */
static bool has_own_part(const FileEntry *e)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field(e->base.descriptor, 15 + e->kind);

	return fd && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
	       *(void *const *)((const char *)e + fd->offset);
}

/* The record with @id among the first @n of @img (ids ascend); NULL if none. */
static const FileEntry *find_before(const struct image *img, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const FileEntry *e = (const FileEntry *)img->records[mid].msg;

		if (e->id == id)
			return e;
		if (e->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* What is wrong with run @c that follows runs ending at *@end; NULL if
 * nothing, and *@end moved past it. */
static const char *run_problem(const FileChunk *c, uint64_t *end)
{
	if (c->data.len == 0 || c->data.len > FILE_CHUNK_MAX)
		return "a run must hold 1 byte to 1 MiB";
	if (c->offset < *end)
		return "runs must be sorted and not overlap";
	if (c->offset > UINT64_MAX - c->data.len)
		return "the run ends past 2^64";
	*end = c->offset + c->data.len;
	return NULL;
}

static const char *contents_problem(const FileEntry *e)
{
	uint64_t end = 0, total = 0;
	const char *problem;

	if (e->contents_in_file && e->n_contents)
		return "contents both in the record and in a file";
	if (e->has_contents_at && !e->contents_in_file)
		return "an offset in file-queues.img for contents kept in the record";
	for (size_t i = 0; i < e->n_contents; i++) {
		problem = run_problem(e->contents[i], &end);
		if (problem)
			return problem;
		total += e->contents[i]->data.len;
	}
	return total > FILE_INLINE_MAX ? "more than 64 KiB of contents in the record" : NULL;
}

/* What is wrong with @e's group_of: it must name an earlier object of its
 * kind that leads the group, and neither may share an inode. */
static const char *group_problem(const struct image *img, size_t i, const FileEntry *e)
{
	const FileEntry *first;

	if (!e->has_group_of)
		return NULL;
	first = find_before(img, i, e->group_of);
	if (!first || first->has_group_of || first->kind != e->kind)
		return "its group must be led by an earlier object of its kind";
	if (e->has_inode_of || first->has_inode_of)
		return "an object made with a group is the first of its inode";
	return NULL;
}

static const char *entry_problem(const struct image *img, size_t i)
{
	const FileEntry *e = (const FileEntry *)img->records[i].msg;
	const FileEntry *prev = i ? (const FileEntry *)img->records[i - 1].msg : NULL;
	const char *problem;

	if (e->id == 0 || (prev && e->id <= prev->id))
		return "ids must be above 0 and ascending";
	if (!protobuf_c_enum_descriptor_get_value(&file_entry__kind__descriptor, e->kind))
		return "unknown kind";
	if (kind_parts(e) != 1 || !has_own_part(e))
		return "must hold one kind part, its kind's";
	if (e->flags & ~(FILE_FLAGS_KNOWN | FILE_FLAGS_KIND_SPECIFIC))
		return "unknown flags";
	if ((e->flags & O_ACCMODE) == O_ACCMODE)
		return "access mode 3 does not exist";
	if (e->pos > INT64_MAX)
		return "position out of range";
	if (e->has_inode_of) {
		const FileEntry *first = find_before(img, i, e->inode_of);

		if (!first || first->has_inode_of || first->kind != e->kind)
			return "its inode must be that of an earlier object of its kind, "
			       "the first opened";
	}
	problem = owner_problem(e);
	if (problem)
		return problem;
	problem = group_problem(img, i, e);
	return problem ? problem : contents_problem(e);
}

int files_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const FileEntry *e = (const FileEntry *)img->records[i].msg;
		const char *problem = entry_problem(img, i);

		if (problem) {
			image_error(img->path, img->records[i].offset,
				    "file %u (kind %d, flags %#o): %s", e->id, e->kind, e->flags,
				    problem);
			return -EBADMSG;
		}
	}
	return 0;
}

/* The runs of a data image: of one object (file-data-ID.img), sorted and
 * not overlapping; of many (@objects, file-queues.img), each object's
 * from 0, every other run following the one before. */
static int runs_check(const struct image *img, bool objects)
{
	uint64_t end = 0;

	for (size_t i = 0; i < img->nr_records; i++) {
		const FileChunk *c = (const FileChunk *)img->records[i].msg;
		const char *problem = NULL;

		if (objects && c->offset == 0)
			end = 0;
		if (objects && c->offset != end)
			problem = "a run must start an object (offset 0) or follow the one before";
		if (!problem)
			problem = run_problem(c, &end);
		if (problem) {
			image_error(img->path, img->records[i].offset,
				    "run %zu (offset %llu, %zu bytes): %s", i,
				    (unsigned long long)c->offset, c->data.len, problem);
			return -EBADMSG;
		}
	}
	return 0;
}

int file_data_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	return runs_check(img, false);
}

static int file_queues_image_check(const struct image *img, const struct image_dir *dir, int id)
{
	(void)dir;
	(void)id;
	return runs_check(img, true);
}

static const struct image_kind_desc files_kinds[] = {
	{ IMG_FDS, "fds", "fds-%d.img", &fd_entry__descriptor, fds_image_check },
	{ IMG_FILES, "files", "files.img", &file_entry__descriptor, files_image_check },
	{ IMG_FILE_DATA, "file-data", "file-data-%d.img", &file_chunk__descriptor,
	  file_data_image_check },
	{ IMG_FILE_QUEUES, "file-queues", "file-queues.img", &file_chunk__descriptor,
	  file_queues_image_check },
	{ IMG_LOCKS, "locks", "locks.img", &file_lock__descriptor, locks_check },
};

const struct image_kind_set files_image_kinds = { "files", files_kinds,
						  ARRAY_SIZE(files_kinds) };
