/* The check of locks.img on its own: each record a lock the kernel could
 * hold, and no two locks of one owner over the same bytes. Whether each
 * lock's process, fd and file agree with the fd tables is checked when
 * restore loads it (locks.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "files/files.h"
#include "files/internal.h"
#include "images/proto/locks.pb-c.h"

/* The kernel's OFFSET_MAX: a lock that ends there runs to the end of the
 * file, and is saved without an end. */
#define LOCK_OFFSET_MAX ((uint64_t)INT64_MAX)

static uint64_t lock_end(const FileLock *l)
{
	return l->has_end ? l->end : UINT64_MAX;
}

static int check_one(const char *path, size_t off, const FileLock *l)
{
	if (l->kind < FILE_LOCK__KIND__FLOCK || l->kind > FILE_LOCK__KIND__LEASE ||
	    l->type < FILE_LOCK__TYPE__READ || l->type > FILE_LOCK__TYPE__WRITE) {
		image_error(path, off, "lock kind %d, type %d: unknown", l->kind, l->type);
		return -EBADMSG;
	}
	if (l->pid <= 0 || l->fd < 0 || l->fd >= FILES_FD_LIMIT || !l->file_id) {
		image_error(path, off, "pid %d fd %d file %u: not a process, fd and file", l->pid,
			    l->fd, l->file_id);
		return -EBADMSG;
	}
	if ((l->kind == FILE_LOCK__KIND__FLOCK || l->kind == FILE_LOCK__KIND__LEASE) &&
	    (l->start || l->has_end)) {
		image_error(path, off, "pid %d fd %d: a flock() lock or a lease has no byte range",
			    l->pid, l->fd);
		return -EBADMSG;
	}
	if (l->start > LOCK_OFFSET_MAX ||
	    (l->has_end && (l->end < l->start || l->end >= LOCK_OFFSET_MAX))) {
		image_error(path, off, "pid %d fd %d: bytes %llu-%llu are not a lock's range",
			    l->pid, l->fd, (unsigned long long)l->start,
			    (unsigned long long)lock_end(l));
		return -EBADMSG;
	}
	return 0;
}

/* One owner: a process for POSIX locks, an open file description for
 * the others. */
static bool same_owner(const FileLock *a, const FileLock *b)
{
	if (a->kind != b->kind)
		return false;
	return a->kind == FILE_LOCK__KIND__POSIX ? a->pid == b->pid && a->file_id == b->file_id
						 : a->file_id == b->file_id;
}

#define LOCK_OF(r) ((const FileLock *)(r)->msg)

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* By owner, then by first byte. */
static int by_owner_and_start(const void *pa, const void *pb)
{
	const FileLock *a = LOCK_OF(*(const struct image_record *const *)pa);
	const FileLock *b = LOCK_OF(*(const struct image_record *const *)pb);
	bool posix = a->kind == FILE_LOCK__KIND__POSIX;

	if (a->kind != b->kind)
		return cmp_u64(a->kind, b->kind);
	if (a->file_id != b->file_id)
		return cmp_u64(a->file_id, b->file_id);
	if (posix && a->pid != b->pid)
		return cmp_u64((uint32_t)a->pid, (uint32_t)b->pid);
	return cmp_u64(a->start, b->start);
}

int locks_check(const struct image *img, const struct image_dir *dir, int id)
{
	const struct image_record **sorted;
	int ret = 0;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		ret = check_one(img->path, img->records[i].offset, LOCK_OF(&img->records[i]));
		if (ret)
			return ret;
	}
	/* The kernel merges an owner's locks: two that overlap were never held
	 * together. Sorted by owner and first byte, two of one owner overlap
	 * only if two neighbours do. */
	sorted = calloc(img->nr_records + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < img->nr_records; i++)
		sorted[i] = &img->records[i];
	qsort(sorted, img->nr_records, sizeof(*sorted), by_owner_and_start);
	for (size_t i = 1; !ret && i < img->nr_records; i++) {
		const FileLock *l = LOCK_OF(sorted[i]), *o = LOCK_OF(sorted[i - 1]);

		if (same_owner(l, o) && l->start <= lock_end(o)) {
			image_error(img->path, sorted[i]->offset, "pid %d fd %d: two locks of one "
				    "owner over the same bytes", l->pid, l->fd);
			ret = -EBADMSG;
		}
	}
	free(sorted);
	return ret;
}
