/* files_load(): reading a task's fd table, the file objects and their
 * contents, and checking all of it before restore trusts any: fd numbers
 * in range and unique, every file id known, one kind part per record that
 * matches its kind, inodes shared only within a kind, the files mappings
 * refer to, then each kind's own checks. Restoring is in restore.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/image_check.h"
#include "files/internal.h"
#include "images/pages.h"

void load_err(const struct files_image *img, const struct file_obj *f, const char *fmt, ...)
{
	int saved_errno = errno;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	image_error(img->files_img->path, f->offset, "file %u (%s): %s", f->e->id,
		    f->kind->name, msg);
	errno = saved_errno;
}

struct file_obj *files_find(const struct files_image *img, uint32_t id)
{
	size_t lo = 0, hi = img->nr_files;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->files[mid].e->id == id)
			return &img->files[mid];
		if (img->files[mid].e->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct fd_slot *files_slot(const struct files_image *img, int fd)
{
	size_t lo = 0, hi = img->nr_fds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->fds[mid].fd == fd)
			return &img->fds[mid];
		if (img->fds[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void files_image_free(struct files_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nr_files; i++) {
		free(img->files[i].fds);
		free(img->files[i].deps);
		contents_put(&img->files[i]);
	}
	if (img->queues_fd >= 0)
		close(img->queues_fd);
	free(img->files);
	free(img->fds);
	image_free(img->fds_img);
	image_free(img->own_files_img);
	free(img);
}

int files_share_table(struct files_image *img, const struct files_image *owner)
{
	bool same = img->nr_fds == owner->nr_fds;

	for (size_t i = 0; same && i < img->nr_fds; i++)
		same = img->fds[i].fd == owner->fds[i].fd &&
		       img->fds[i].cloexec == owner->fds[i].cloexec &&
		       img->fds[i].file->e->id == owner->fds[i].file->e->id;
	if (!same) {
		image_error(img->fds_img->path, 0, "pid %d shares its fd table with pid %d, but "
			    "their saved fds differ", img->pid, owner->pid);
		return -EBADMSG;
	}
	img->table_shared = true;
	return 0;
}

int files_max_fd(const struct files_image *img)
{
	return img->nr_fds ? img->fds[img->nr_fds - 1].fd : -1;
}

/* Links the (already checked) record @i to its kind, inode and group. */
static void link_entry(struct files_image *img, size_t i)
{
	struct file_obj *f = &img->files[i];

	f->inode = f->e->has_inode_of ? files_find(img, f->e->inode_of) : f;
	f->group = f->e->has_group_of ? files_find(img, f->e->group_of) : f;
	f->group->nr_group++;
	/* Called by descending id, and a group's leader comes first: putting
	 * each member right after the leader leaves them in id order. */
	if (f->group != f) {
		f->next_in_group = f->group->next_in_group;
		f->group->next_in_group = f;
	}
}

/* What the image check could not say without the kinds: the kind is one
 * of cryo's, and allows the flags only some kinds have. */
static int check_kind(const struct files_image *img, size_t i)
{
	const struct file_obj *f = &img->files[i];

	if (!f->kind || (f->e->flags & ~(FILE_FLAGS_KNOWN | f->kind->own_flags))) {
		image_error(img->files_img->path, f->offset, "file %u (kind %d, flags %#o): %s",
			    f->e->id, f->e->kind, f->e->flags,
			    f->kind ? "unknown flags" : "no kind of cryo's");
		return -EBADMSG;
	}
	return 0;
}

/* A group must be whole, and its kind one that makes groups. */
static int check_groups(struct files_image *img)
{
	for (size_t i = 0; i < img->nr_files; i++) {
		struct file_obj *f = &img->files[i];
		unsigned int size = f->kind->group_size;

		if (f->inode != f && (f->inode->nr_group > 1 || f->inode->group != f->inode)) {
			load_err(img, f, "is opened again from file %u, which is made with a group",
				 f->inode->e->id);
			return -EBADMSG;
		}
		/* An object in no group: a kind with open makes it alone. */
		if (f->group != f || (f->nr_group == 1 && (!f->kind->create_group || f->kind->open)))
			continue;
		if (!f->kind->create_group) {
			load_err(img, f, "leads a group of %u, but its kind makes no groups",
				 f->nr_group);
			return -EBADMSG;
		}
		if (size && f->nr_group != size) {
			load_err(img, f, "leads a group of %u objects; its kind makes %u at once",
				 f->nr_group, size);
			return -EBADMSG;
		}
	}
	return 0;
}

static int load_files(struct files_image *img)
{
	const struct image *fi = img->files_img;

	img->files = calloc(fi->nr_records + 1, sizeof(*img->files));
	if (!img->files) {
		pr_err("%s: out of memory for %zu file objects", fi->path, fi->nr_records);
		return -ENOMEM;
	}
	for (size_t i = 0; i < fi->nr_records; i++) {
		img->files[i].e = (const FileEntry *)fi->records[i].msg;
		img->files[i].offset = fi->records[i].offset;
		img->files[i].kind = file_kind_of(img->files[i].e->kind);
	}
	img->nr_files = fi->nr_records;
	for (size_t i = 0; i < fi->nr_records; i++)
		if (check_kind(img, i))
			return -EBADMSG;
	for (size_t i = fi->nr_records; i > 0; i--)
		link_entry(img, i - 1);
	return check_groups(img);
}

static int load_fds(struct files_image *img)
{
	struct image *fi = img->fds_img;

	img->fds = calloc(fi->nr_records + 1, sizeof(*img->fds));
	if (!img->fds) {
		pr_err("%s: out of memory for %zu fds", fi->path, fi->nr_records);
		return -ENOMEM;
	}
	for (size_t i = 0; i < fi->nr_records; i++) {
		const FdEntry *fe = (const FdEntry *)fi->records[i].msg;
		struct fd_slot *s = &img->fds[i];

		s->fd = fe->fd;
		s->cloexec = fe->cloexec;
		s->file = files_find(img, fe->file_id);
		if (!s->file) {
			image_error(fi->path, fi->records[i].offset,
				    "fd %d refers to file %u, which files.img does not hold", fe->fd,
				    fe->file_id);
			return -EBADMSG;
		}
		img->nr_fds++;
	}
	return 0;
}

/* Gives each object the list of fds that refer to it, and marks what the
 * restore needs. */
static int link_fds(struct files_image *img)
{
	for (size_t i = 0; i < img->nr_fds; i++)
		img->fds[i].file->nr_fds++;
	for (size_t i = 0; i < img->nr_files; i++) {
		struct file_obj *f = &img->files[i];

		if (!f->nr_fds)
			continue;
		f->fds = malloc(f->nr_fds * sizeof(*f->fds));
		if (!f->fds) {
			pr_err("%s: out of memory", img->files_img->path);
			return -ENOMEM;
		}
		f->nr_fds = 0;
		f->needed = true;
		f->inode->needed = true;
		f->inode->nr_inode_users++;
	}
	for (size_t i = 0; i < img->nr_fds; i++) {
		struct file_obj *f = img->fds[i].file;

		f->fds[f->nr_fds++] = img->fds[i].fd;
	}
	return 0;
}

/* Whether mapping @m (its pgoff and length) lies within an object of
 * @size bytes rounded up to pages. */
static bool mapping_within_object(const struct files_mapping *m, uint64_t size)
{
	uint64_t limit = size > UINT64_MAX - (IMG_PAGE_SIZE - 1) ? UINT64_MAX :
			 (size + IMG_PAGE_SIZE - 1) / IMG_PAGE_SIZE * IMG_PAGE_SIZE;

	return m->pgoff <= limit && m->end - m->start <= limit - m->pgoff;
}

/* The objects the task's mappings open are needed too, with their
 * inode's contents. */
static int link_mappings(struct files_image *img, const struct files_mapping *mapped, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct files_mapping *m = &mapped[i];
		struct file_obj *f = files_find(img, m->file_id);
		uint64_t size, hps;

		if (!f) {
			image_error(img->files_img->path, 0, "a mapping of pid %d refers to "
				    "file %u, which files.img does not hold", img->pid, m->file_id);
			return -EBADMSG;
		}
		/* A memfd or a file may be mapped past its end (touching there
		 * gives SIGBUS until it grows), shared anonymous memory never. */
		size = f->kind->mapped_limit ? f->kind->mapped_limit(f->inode->e) : 0;
		if (!size) {
			load_err(img, f, "is mapped by pid %d, but is neither a memfd, shared "
				 "anonymous memory nor a deleted file", img->pid);
			return -EBADMSG;
		}
		if (!mapping_within_object(m, size)) {
			load_err(img, f, "pid %d mapping %#llx-%#llx maps %llu bytes from offset "
				 "%llu, past the end of its %llu bytes", img->pid,
				 (unsigned long long)m->start, (unsigned long long)m->end,
				 (unsigned long long)(m->end - m->start),
				 (unsigned long long)m->pgoff, (unsigned long long)size);
			return -EBADMSG;
		}
		hps = f->kind->huge_page_size ? f->kind->huge_page_size(f->inode->e) : 0;
		if (hps != m->huge_page_size) {
			load_err(img, f, "pid %d mapping %#llx-%#llx has pages of %llu bytes, not "
				 "its object's %llu (0: ordinary pages)", img->pid,
				 (unsigned long long)m->start, (unsigned long long)m->end,
				 (unsigned long long)m->huge_page_size, (unsigned long long)hps);
			return -EBADMSG;
		}
		f->needed = true;
		f->inode->needed = true;
		f->mapped = true;
		f->inode->mapped = true;
	}
	return 0;
}

int files_lift_queues(struct files_image *img, int base)
{
	int moved;

	if (img->queues_fd < 0)
		return 0;
	moved = fcntl(img->queues_fd, F_DUPFD_CLOEXEC, base);
	if (moved < 0)
		return pr_errno_ret("restore: pid %d: cannot move the fd of file-queues.img above %d",
				    img->pid, base);
	close(img->queues_fd);
	img->queues_fd = moved;
	return 0;
}

/* file-queues.img, when an object of the dump has its queued bytes there:
 * opened now, while cryo may (the restore reads it from the processes,
 * under their credentials, and from inside their namespaces), above the
 * fds files_restore() installs. */
static int open_queues(const struct image_dir *dir, struct files_image *img)
{
	int ret;

	for (size_t i = 0; i < img->nr_files; i++) {
		if (!img->files[i].e->has_contents_at)
			continue;
		ret = image_open_records(dir, IMG_FILE_QUEUES, 0, &img->queues_fd);
		if (!ret && img->queues_fd <= files_max_fd(img))
			ret = files_lift_queues(img, files_max_fd(img) + 1);
		return ret;
	}
	return 0;
}

int files_objects_read(const struct image_dir *dir, struct image **out)
{
	int ret = image_read(dir, IMG_FILES, 0, out);

	if (!ret && (ret = files_image_check(*out, dir, 0))) {
		image_free(*out);
		*out = NULL;
	}
	return ret;
}

int files_load_from(const struct image_dir *dir, const struct image *objects, int pid,
		    const struct files_mapping *mapped, size_t nr_mapped, struct files_image **out)
{
	struct files_image *img = calloc(1, sizeof(*img));
	int ret;

	if (!img) {
		pr_err("restore: pid %d: out of memory for its files", pid);
		return -ENOMEM;
	}
	img->pid = pid;
	img->queues_fd = -1;
	ret = image_read(dir, IMG_FDS, pid, &img->fds_img);
	if (!ret)
		ret = fds_image_check(img->fds_img, dir, pid);
	img->files_img = objects;
	if (!ret)
		ret = load_files(img);
	if (!ret)
		ret = load_fds(img);
	if (!ret)
		ret = link_fds(img);
	if (!ret)
		ret = link_mappings(img, mapped, nr_mapped);
	if (!ret)
		ret = in_flight_link(img);
	if (!ret)
		ret = open_queues(dir, img);
	for (size_t i = 0; i < img->nr_files && !ret; i++)
		if (img->files[i].kind->check)
			ret = img->files[i].kind->check(dir, img, &img->files[i]);
	for (size_t i = 0; i < img->nr_files && !ret; i++)
		if (img->files[i].kind->deps && img->files[i].nr_fds)
			ret = img->files[i].kind->deps(img, &img->files[i]);
	if (ret) {
		files_image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

int files_load(const struct image_dir *dir, int pid, const struct files_mapping *mapped,
	       size_t nr_mapped, struct files_image **out)
{
	struct image *objects = NULL;
	int ret = files_objects_read(dir, &objects);

	if (!ret)
		ret = files_load_from(dir, objects, pid, mapped, nr_mapped, out);
	if (ret)
		image_free(objects);
	else
		(*out)->own_files_img = objects;
	return ret;
}
