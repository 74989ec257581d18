/* The pages store: writing a task's pages as a pagemap plus a raw pages
 * file (or two, pages_open_second()), and checking a pagemap before
 * anything trusts it (alignment, order, overlap, and that present pages
 * lie within their pages file). Reading is pages_read.c's. The same
 * writer fills scratch stores (unnamed files) for a pre-copy dump, and its
 * pages file in place (written at offsets, patched, then hashed whole). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/kinds.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"

/* ---- checking ------------------------------------------------------------ */

int pages_file_size(const struct image_dir *dir, int id, uint32_t file, uint64_t *size)
{
	_cleanup_free_ char *path = NULL;
	char name[64];
	struct stat st;
	int ret;

	if (file >= PAGES_FILES_MAX)
		return -EINVAL;
	ret = image_file_name(pages_file_kind(file), id, name, sizeof(name));
	if (ret)
		return ret;
	path = image_dir_file_path(dir, name);
	if (!path)
		return -ENOMEM;
	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return pr_errno_ret("cannot stat %s", path);
	if (image_check_regular(path, st.st_mode))
		return -EBADMSG;
	if (st.st_size % IMG_PAGE_SIZE) {
		pr_err("%s: size %lld is not a whole number of %u-byte pages", path,
		       (long long)st.st_size, IMG_PAGE_SIZE);
		return -EBADMSG;
	}
	*size = st.st_size;
	return 0;
}

/* Whether @nr_pages pages from @start end before 2^64. */
static bool range_fits(uint64_t start, uint64_t nr_pages)
{
	return nr_pages <= (UINT64_MAX - start) / IMG_PAGE_SIZE;
}

static int check_entry(const char *path, size_t off, const PagemapEntry *e)
{
	if (e->vaddr % IMG_PAGE_SIZE) {
		image_error(path, off, "range at 0x%llx is not page-aligned",
			    (unsigned long long)e->vaddr);
		return -EBADMSG;
	}
	if (!e->nr_pages || !range_fits(e->vaddr, e->nr_pages)) {
		image_error(path, off, "range at 0x%llx has an impossible size of %llu pages",
			    (unsigned long long)e->vaddr, (unsigned long long)e->nr_pages);
		return -EBADMSG;
	}
	if (e->has_pages_file && (e->state != PAGEMAP_ENTRY__STATE__PRESENT ||
				  e->pages_file >= PAGES_FILES_MAX)) {
		image_error(path, off, "range at 0x%llx names pages file %u: %s",
			    (unsigned long long)e->vaddr, e->pages_file,
			    e->state == PAGEMAP_ENTRY__STATE__PRESENT ?
				    "there are two, 0 and 1" : "only a present range has one");
		return -EBADMSG;
	}
	switch (e->state) {
	case PAGEMAP_ENTRY__STATE__PRESENT:
		if (!e->has_file_off || e->file_off % IMG_PAGE_SIZE || e->has_parent_vaddr ||
		    e->has_sibling || !range_fits(e->file_off, e->nr_pages)) {
			image_error(path, off, "present range at 0x%llx has no valid file offset",
				    (unsigned long long)e->vaddr);
			return -EBADMSG;
		}
		return 0;
	case PAGEMAP_ENTRY__STATE__ZERO:
	case PAGEMAP_ENTRY__STATE__IN_PARENT:
	case PAGEMAP_ENTRY__STATE__IN_PARENT_IMAGE:
		if (e->has_parent_vaddr && (e->state != PAGEMAP_ENTRY__STATE__IN_PARENT ||
					    e->parent_vaddr % IMG_PAGE_SIZE ||
					    !range_fits(e->parent_vaddr, e->nr_pages))) {
			image_error(path, off, "range at 0x%llx has an invalid parent address",
				    (unsigned long long)e->vaddr);
			return -EBADMSG;
		}
		if (e->has_sibling && (e->state != PAGEMAP_ENTRY__STATE__IN_PARENT || !e->sibling ||
				       e->sibling > INT32_MAX)) {
			image_error(path, off, "range at 0x%llx has an invalid sibling",
				    (unsigned long long)e->vaddr);
			return -EBADMSG;
		}
		if (e->has_file_off) {
			image_error(path, off, "%s range at 0x%llx has a file offset",
				    e->state == PAGEMAP_ENTRY__STATE__ZERO ? "zero" :
				    e->state == PAGEMAP_ENTRY__STATE__IN_PARENT ? "in-parent" :
										  "in-parent-image",
				    (unsigned long long)e->vaddr);
			return -EBADMSG;
		}
		return 0;
	default:
		image_error(path, off, "range at 0x%llx has unknown state %d",
			    (unsigned long long)e->vaddr, e->state);
		return -EBADMSG;
	}
}

int pagemap_check(const struct image *img, const struct image_dir *dir, int id)
{
	uint64_t pages_size[PAGES_FILES_MAX] = { 0 }, file_end[PAGES_FILES_MAX] = { 0 };
	bool sized[PAGES_FILES_MAX] = { false };
	uint64_t vaddr_end = 0;
	char pages_name[64];
	int ret;

	/* Read on its own, a pagemap can only be checked against itself.
	 * With @dir, the pages file is there even when no range is in it. */
	if (dir) {
		ret = pages_file_size(dir, id, 0, &pages_size[0]);
		if (ret)
			return ret;
		sized[0] = true;
	}
	for (size_t i = 0; i < img->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)img->records[i].msg;
		size_t off = img->records[i].offset;
		unsigned long long va = e->vaddr;
		uint32_t f;

		ret = check_entry(img->path, off, e);
		if (ret)
			return ret;
		if (i && e->vaddr < vaddr_end) {
			const PagemapEntry *prev = (const PagemapEntry *)img->records[i - 1].msg;

			image_error(img->path, off, e->vaddr < prev->vaddr ?
				    "range at 0x%llx comes after the higher range ending at 0x%llx" :
				    "range at 0x%llx overlaps the previous range, which ends at 0x%llx",
				    va, (unsigned long long)vaddr_end);
			return -EBADMSG;
		}
		vaddr_end = e->vaddr + e->nr_pages * IMG_PAGE_SIZE;
		if (e->state != PAGEMAP_ENTRY__STATE__PRESENT)
			continue;
		f = pages_entry_file(e);
		/* Restore reads each pages file in one forward pass. */
		if (e->file_off < file_end[f]) {
			image_error(img->path, off,
				    "range at 0x%llx: its pages at file offset %llu precede the end of the previous range's (%llu)",
				    va, (unsigned long long)e->file_off, (unsigned long long)file_end[f]);
			return -EBADMSG;
		}
		file_end[f] = e->file_off + e->nr_pages * IMG_PAGE_SIZE;
		if (!dir)
			continue;
		/* The second file must be there once a range names it. */
		if (!sized[f]) {
			ret = pages_file_size(dir, id, f, &pages_size[f]);
			if (ret)
				return ret;
			sized[f] = true;
		}
		if (file_end[f] > pages_size[f]) {
			image_file_name(pages_file_kind(f), id, pages_name, sizeof(pages_name));
			image_error(img->path, off,
				    "range at 0x%llx: its pages end at byte %llu, past the end of %s (%llu bytes)",
				    va, (unsigned long long)file_end[f], pages_name,
				    (unsigned long long)pages_size[f]);
			return -EBADMSG;
		}
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------- */

struct pages_writer {
	struct image_dir *dir;
	int pid;
	struct image_writer *pagemap;
	/* pages-PID.img, and pages2-PID.img once pages_open_second() made it. */
	struct image_writer *pages[PAGES_FILES_MAX];
	PagemapEntry pending;	/* the last range, still growing by merges */
	bool has_pending;
	uint64_t vaddr_end;	/* where the last range ended */
	uint64_t file_off[PAGES_FILES_MAX];	/* bytes in each pages file so far */
	struct pages_scratch *scratch;	/* a scratch store: no image writers */
	/* In place (pages_inplace_open()): the pages file, written at
	 * offsets; its first pass fills @scratch (whose fd is this one), then
	 * pages_write_at() names where each range is. */
	int inplace_fd;
	struct pages_gap *gaps;	/* offsets no range holds: zeros */
	size_t nr_gaps, cap_gaps;
};

struct pages_gap {
	uint64_t start, end;
};

int pages_writer_open(struct image_dir *dir, int pid, struct pages_writer **out)
{
	struct pages_writer *pw = calloc(1, sizeof(*pw));
	int ret;

	if (!pw) {
		pr_err("pid %d: out of memory for the pages writer", pid);
		return -ENOMEM;
	}
	pw->dir = dir;
	pw->pid = pid;
	pw->inplace_fd = -1;
	ret = image_open_write(dir, IMG_PAGEMAP, pid, &pw->pagemap);
	if (ret)
		goto err_free;
	ret = image_open_write(dir, IMG_PAGES, pid, &pw->pages[0]);
	if (ret)
		goto err_pagemap;
	*out = pw;
	return 0;

err_pagemap:
	image_abort(pw->pagemap);
err_free:
	free(pw);
	return ret;
}

/* @len bytes at @off of @fd, a pre-copy store's file; @what names it. */
static int pwrite_all(const struct pages_writer *pw, int fd, const void *data, uint64_t len,
		      uint64_t off, const char *what)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)data + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno_ret("pid %d: cannot write %s", pw->pid, what);
		done += (uint64_t)n;
	}
	return 0;
}

/* The bytes of a present range: into the pages image, or the scratch file
 * (or the pages file in place) at the next offset. */
static int write_data(struct pages_writer *pw, const void *data, uint64_t len)
{
	if (!pw->scratch)
		return image_write_raw(pw->pages[0], data, len);
	return pwrite_all(pw, pw->scratch->fd, data, len, pw->file_off[0],
			  "a pre-copy pages store");
}

int pages_scratch_push(struct pages_scratch *s, const struct pages_scratch_range *r)
{
	struct pages_scratch_range *last = s->nr ? &s->v[s->nr - 1] : NULL;
	uint64_t len = last ? last->nr_pages * IMG_PAGE_SIZE : 0;

	if (last && last->state == r->state && last->vaddr + len == r->vaddr &&
	    (r->state != PAGEMAP_ENTRY__STATE__PRESENT || last->file_off + len == r->file_off) &&
	    (r->state != PAGEMAP_ENTRY__STATE__IN_PARENT ||
	     (last->parent_vaddr + len == r->parent_vaddr && last->sibling == r->sibling))) {
		last->nr_pages += r->nr_pages;
		return 0;
	}
	if (s->nr == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct pages_scratch_range *v = reallocarray(s->v, cap, sizeof(*v));

		if (!v) {
			pr_err("out of memory for %zu scratch page ranges", cap);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->nr++] = *r;
	return 0;
}

/* The finished last range: a pagemap record, or a scratch range. */
static int put_pending(struct pages_writer *pw)
{
	struct pages_scratch_range r = { .vaddr = pw->pending.vaddr,
					 .nr_pages = pw->pending.nr_pages,
					 .file_off = pw->pending.file_off,
					 .parent_vaddr = pw->pending.has_parent_vaddr ?
								 pw->pending.parent_vaddr :
								 pw->pending.vaddr,
					 .sibling = pw->pending.sibling,
					 .state = pw->pending.state };

	return pw->scratch ? pages_scratch_push(pw->scratch, &r) :
			     image_write_record(pw->pagemap, &pw->pending.base);
}

/* Where the parent maps the page after the pending range (IN_PARENT). */
static uint64_t pending_parent_end(const struct pages_writer *pw)
{
	return (pw->pending.has_parent_vaddr ? pw->pending.parent_vaddr : pw->pending.vaddr) +
	       pw->pending.nr_pages * IMG_PAGE_SIZE;
}

/* @data NULL for a present range: its bytes come through pages_splice().
 * @file: a present range's pages file (0 for any other). @parent_vaddr:
 * IN_PARENT only, where the parent (or @sibling) maps the first page. */
static int add_range(struct pages_writer *pw, uint32_t file, uint64_t vaddr, uint64_t nr_pages,
		     PagemapEntry__State state, const void *data, uint64_t parent_vaddr,
		     uint32_t sibling)
{
	uint64_t len = nr_pages * IMG_PAGE_SIZE;
	int ret;

	if (file >= PAGES_FILES_MAX || (file && !pw->pages[file]))
		return -EINVAL;

	if (vaddr % IMG_PAGE_SIZE || !nr_pages || !range_fits(vaddr, nr_pages) ||
	    (pw->has_pending && vaddr < pw->vaddr_end)) {
		pr_err("pid %d: pages at 0x%llx (%llu pages) are not after the last range, which ends at 0x%llx",
		       pw->pid, (unsigned long long)vaddr, (unsigned long long)nr_pages,
		       (unsigned long long)pw->vaddr_end);
		return -EINVAL;
	}
	if (state == PAGEMAP_ENTRY__STATE__PRESENT && data) {
		ret = write_data(pw, data, len);
		if (ret)
			return ret;
	}
	/* A present range is the last data in its pages file, so a present
	 * range adjacent to it in memory and in the same file is adjacent in
	 * the file too, unless room was left between them (in place). */
	if (pw->has_pending && pw->pending.state == state && pw->vaddr_end == vaddr &&
	    (state != PAGEMAP_ENTRY__STATE__PRESENT ||
	     (pages_entry_file(&pw->pending) == file &&
	      pw->pending.file_off + pw->pending.nr_pages * IMG_PAGE_SIZE == pw->file_off[file])) &&
	    (state != PAGEMAP_ENTRY__STATE__IN_PARENT ||
	     (pending_parent_end(pw) == parent_vaddr && pw->pending.sibling == sibling))) {
		pw->pending.nr_pages += nr_pages;
	} else {
		if (pw->has_pending) {
			ret = put_pending(pw);
			if (ret)
				return ret;
		}
		pagemap_entry__init(&pw->pending);
		pw->pending.vaddr = vaddr;
		pw->pending.nr_pages = nr_pages;
		pw->pending.state = state;
		pw->pending.has_file_off = state == PAGEMAP_ENTRY__STATE__PRESENT;
		pw->pending.file_off = pw->pending.has_file_off ? pw->file_off[file] : 0;
		pw->pending.has_pages_file = file != 0;
		pw->pending.pages_file = file;
		pw->pending.has_parent_vaddr = state == PAGEMAP_ENTRY__STATE__IN_PARENT &&
					       parent_vaddr != vaddr;
		pw->pending.parent_vaddr = pw->pending.has_parent_vaddr ? parent_vaddr : 0;
		pw->pending.has_sibling = state == PAGEMAP_ENTRY__STATE__IN_PARENT && sibling;
		pw->pending.sibling = pw->pending.has_sibling ? sibling : 0;
		pw->has_pending = true;
	}
	if (state == PAGEMAP_ENTRY__STATE__PRESENT)
		pw->file_off[file] += len;
	pw->vaddr_end = vaddr + len;
	return 0;
}

int pages_hash_by_caller(struct pages_writer *pw)
{
	return pw->scratch ? 0 : image_hash_by_caller(pw->pages[0]);
}

int pages_open_second(struct pages_writer *pw)
{
	int ret;

	if (pw->scratch || pw->inplace_fd >= 0 || pw->pages[1])
		return -EINVAL;
	ret = image_open_write(pw->dir, IMG_PAGES2, pw->pid, &pw->pages[1]);
	if (!ret)
		ret = image_hash_by_caller(pw->pages[1]);
	return ret;
}

int pages_hash(struct pages_writer *pw, const void *data, uint64_t nr_pages)
{
	return pw->scratch ? 0 : image_hash_raw(pw->pages[0], data, nr_pages * IMG_PAGE_SIZE);
}

int pages_hash_export(struct pages_writer *pw, uint32_t file, void *state, size_t size)
{
	if (file >= PAGES_FILES_MAX || !pw->pages[file])
		return -EINVAL;
	return image_hash_export(pw->pages[file], state, size);
}

int pages_hash_import(struct pages_writer *pw, uint32_t file, const void *state, size_t size)
{
	if (file >= PAGES_FILES_MAX || !pw->pages[file])
		return -EINVAL;
	return image_hash_import(pw->pages[file], state, size);
}

int pages_note_spliced(struct pages_writer *pw, uint32_t file, uint64_t vaddr,
		       uint64_t nr_pages)
{
	/* The pipe's bytes go to the pages file: never under pre-copy. */
	if (pw->scratch)
		return -EINVAL;
	return add_range(pw, file, vaddr, nr_pages, PAGEMAP_ENTRY__STATE__PRESENT, NULL, 0, 0);
}

ssize_t pages_splice(struct pages_writer *pw, uint32_t file, int pipe_fd, size_t max)
{
	if (file >= PAGES_FILES_MAX || !pw->pages[file])
		return -EINVAL;
	return image_splice_raw(pw->pages[file], pipe_fd, max);
}

int pages_write(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages, const void *data)
{
	return add_range(pw, 0, vaddr, nr_pages, PAGEMAP_ENTRY__STATE__PRESENT, data, 0, 0);
}

int pages_write_zero(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages)
{
	return add_range(pw, 0, vaddr, nr_pages, PAGEMAP_ENTRY__STATE__ZERO, NULL, 0, 0);
}

int pages_write_in_parent(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages,
			  uint64_t parent_vaddr, uint32_t sibling)
{
	if (parent_vaddr % IMG_PAGE_SIZE || !range_fits(parent_vaddr, nr_pages) ||
	    sibling > INT32_MAX)
		return -EINVAL;
	return add_range(pw, 0, vaddr, nr_pages, PAGEMAP_ENTRY__STATE__IN_PARENT, NULL,
			 parent_vaddr, sibling);
}

int pages_write_in_parent_image(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages)
{
	return add_range(pw, 0, vaddr, nr_pages, PAGEMAP_ENTRY__STATE__IN_PARENT_IMAGE, NULL, 0, 0);
}

static int inplace_seal(struct pages_writer *pw);

int pages_writer_finish(struct pages_writer *pw)
{
	int ret = 0;

	/* A store in place is finished once its first pass was handed over. */
	if (pw->scratch) {
		pages_writer_abort(pw);
		return -EINVAL;
	}
	if (pw->inplace_fd >= 0)
		ret = inplace_seal(pw);
	if (!ret && pw->has_pending)
		ret = image_write_record(pw->pagemap, &pw->pending.base);
	if (ret) {
		image_abort(pw->pages[0]);
		image_abort(pw->pages[1]);
		image_abort(pw->pagemap);
		goto out;
	}
	/* The pages files first: a pagemap in place names complete pages. */
	ret = image_finish(pw->pages[0]);
	if (ret) {
		image_abort(pw->pages[1]);
		image_abort(pw->pagemap);
		goto out;
	}
	ret = pw->pages[1] ? image_finish(pw->pages[1]) : 0;
	if (!ret)
		ret = image_finish(pw->pagemap);
	else
		image_abort(pw->pagemap);
	for (uint32_t f = 0; ret && f < PAGES_FILES_MAX; f++) {
		char name[64];

		if (!f || pw->pages[f]) {
			image_file_name(pages_file_kind(f), pw->pid, name, sizeof(name));
			unlinkat(pw->dir->fd, name, 0);
		}
	}
out:
	free(pw->gaps);
	free(pw);
	return ret;
}

void pages_writer_abort(struct pages_writer *pw)
{
	if (!pw)
		return;
	/* The first pass of a store in place: its fd is the pages image's. */
	if (pw->inplace_fd >= 0 && pw->scratch)
		pw->scratch->fd = -1;
	if (pw->scratch) {
		pages_scratch_free(pw->scratch);
		free(pw->scratch);
	}
	/* A scratch store has no image writers (NULL). */
	image_abort(pw->pages[0]);
	image_abort(pw->pages[1]);
	image_abort(pw->pagemap);
	free(pw->gaps);
	free(pw);
}

/* ---- scratch stores ------------------------------------------------------ */

/* An unnamed file where the filesystem makes one; else a name removed at
 * once. Either way nothing is left if cryo dies. */
static int open_scratch_file(struct image_dir *dir, int pid)
{
	char name[64];
	int fd = openat(dir->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : pr_errno_ret("pid %d: cannot make a scratch file in %s", pid,
						   dir->path);
	snprintf(name, sizeof(name), ".pre-copy-%d.scratch", pid);
	fd = openat(dir->fd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return pr_errno_ret("pid %d: cannot make %s in %s", pid, name, dir->path);
	unlinkat(dir->fd, name, 0);
	return fd;
}

int pages_scratch_open(struct image_dir *dir, int pid, struct pages_writer **out)
{
	struct pages_writer *pw = calloc(1, sizeof(*pw));

	if (pw)
		pw->scratch = calloc(1, sizeof(*pw->scratch));
	if (!pw || !pw->scratch) {
		free(pw);
		pr_err("pid %d: out of memory for a scratch pages store", pid);
		return -ENOMEM;
	}
	pw->dir = dir;
	pw->pid = pid;
	pw->inplace_fd = -1;
	pw->scratch->fd = open_scratch_file(dir, pid);
	if (pw->scratch->fd < 0) {
		int ret = pw->scratch->fd;

		free(pw->scratch);
		free(pw);
		return ret;
	}
	*out = pw;
	return 0;
}

int pages_scratch_finish(struct pages_writer *pw, struct pages_scratch *out)
{
	int ret = pw->has_pending ? put_pending(pw) : 0;

	if (ret) {
		pages_writer_abort(pw);
		return ret;
	}
	*out = *pw->scratch;
	free(pw->scratch);
	free(pw);
	return 0;
}

void pages_scratch_free(struct pages_scratch *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->v);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* ---- in place -------------------------------------------------------------- */

/* How much of the pages file is mapped at once to hash it. */
#define SEAL_WINDOW (4u << 20)

int pages_inplace_open(struct image_dir *dir, int pid, struct pages_writer **out)
{
	struct pages_writer *pw;
	int ret = pages_writer_open(dir, pid, &pw);

	if (ret)
		return ret;
	pw->scratch = calloc(1, sizeof(*pw->scratch));
	if (!pw->scratch) {
		pages_writer_abort(pw);
		pr_err("pid %d: out of memory for a pages store in place", pid);
		return -ENOMEM;
	}
	pw->scratch->fd = -1;
	ret = image_raw_positioned(pw->pages[0], &pw->inplace_fd);
	if (ret) {
		pages_writer_abort(pw);
		return ret;
	}
	pw->scratch->fd = pw->inplace_fd;
	*out = pw;
	return 0;
}

int pages_reserve(struct pages_writer *pw, uint64_t nr_pages)
{
	if (pw->inplace_fd < 0 || !pw->scratch || nr_pages > UINT64_MAX / IMG_PAGE_SIZE)
		return -EINVAL;
	pw->file_off[0] += nr_pages * IMG_PAGE_SIZE;
	return 0;
}

int pages_inplace_first_done(struct pages_writer *pw, struct pages_scratch *out, uint64_t *size)
{
	int ret = pw->has_pending ? put_pending(pw) : 0;

	if (!ret && (pw->inplace_fd < 0 || !pw->scratch))
		ret = -EINVAL;
	if (ret)
		return ret;
	*out = *pw->scratch;
	out->fd = -1;
	*size = pw->file_off[0];
	free(pw->scratch);
	pw->scratch = NULL;
	pw->has_pending = false;
	pw->vaddr_end = 0;
	pw->file_off[0] = 0;
	return 0;
}

int pages_inplace_fd(const struct pages_writer *pw)
{
	return pw->inplace_fd;
}

int pages_write_at(struct pages_writer *pw, uint64_t vaddr, uint64_t nr_pages, uint64_t file_off)
{
	if (pw->inplace_fd < 0 || pw->scratch || file_off % IMG_PAGE_SIZE ||
	    file_off < pw->file_off[0]) {
		pr_err("pid %d: pages at 0x%llx placed at %llu, before the end of the last range (%llu)",
		       pw->pid, (unsigned long long)vaddr, (unsigned long long)file_off,
		       (unsigned long long)pw->file_off[0]);
		return -EINVAL;
	}
	if (file_off > pw->file_off[0]) {
		if (pw->nr_gaps == pw->cap_gaps) {
			size_t cap = pw->cap_gaps ? 2 * pw->cap_gaps : 64;
			struct pages_gap *g = reallocarray(pw->gaps, cap, sizeof(*g));

			if (!g) {
				pr_err("pid %d: out of memory for %zu gaps of its pages file", pw->pid,
				       cap);
				return -ENOMEM;
			}
			pw->gaps = g;
			pw->cap_gaps = cap;
		}
		pw->gaps[pw->nr_gaps++] = (struct pages_gap){ pw->file_off[0], file_off };
		pw->file_off[0] = file_off;
	}
	return add_range(pw, 0, vaddr, nr_pages, PAGEMAP_ENTRY__STATE__PRESENT, NULL, 0, 0);
}

/* Bytes [@start, @end) read as zeros from now on: punched where the
 * filesystem can, else written. */
static int zero_gap(struct pages_writer *pw, const char *zeros, size_t zlen, uint64_t start,
		    uint64_t end)
{
	if (!fallocate(pw->inplace_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
		       (off_t)(end - start)))
		return 0;
	while (start < end) {
		size_t n = end - start < zlen ? end - start : zlen;
		int ret = pwrite_all(pw, pw->inplace_fd, zeros, n, start, "a gap of its pages file");

		if (ret)
			return ret;
		start += n;
	}
	return 0;
}

/* The bytes [@start, @end) of the pages file, in order, into its digest. */
static int hash_span(struct pages_writer *pw, uint64_t start, uint64_t end)
{
	while (start < end) {
		size_t n = end - start < SEAL_WINDOW ? end - start : SEAL_WINDOW;
		void *p = mmap(NULL, n, PROT_READ, MAP_SHARED | MAP_POPULATE, pw->inplace_fd,
			       (off_t)start);
		int ret;

		if (p == MAP_FAILED)
			return pr_errno_ret("pid %d: cannot map its pages file to hash it", pw->pid);
		ret = image_hash_raw(pw->pages[0], p, n);
		munmap(p, n);
		if (ret)
			return ret;
		start += n;
	}
	return 0;
}

/* The pages file ends with its last range; its gaps read as zeros; then
 * its digest is taken over every byte, in file order, as restore reads
 * it (gaps included). */
static int inplace_seal(struct pages_writer *pw)
{
	const size_t zlen = 1u << 20;
	_cleanup_free_ char *zeros = calloc(1, zlen);
	uint64_t at = 0;
	int ret = 0;

	if (!zeros)
		return -ENOMEM;
	if (ftruncate(pw->inplace_fd, (off_t)pw->file_off[0]))
		return pr_errno_ret("pid %d: cannot cut its pages file at %llu bytes", pw->pid,
				    (unsigned long long)pw->file_off[0]);
	for (size_t g = 0; g < pw->nr_gaps && !ret; g++)
		ret = zero_gap(pw, zeros, zlen, pw->gaps[g].start, pw->gaps[g].end);
	for (size_t g = 0; g < pw->nr_gaps && !ret; g++) {
		ret = hash_span(pw, at, pw->gaps[g].start);
		for (uint64_t z = pw->gaps[g].start; z < pw->gaps[g].end && !ret; z += zlen)
			ret = image_hash_raw(pw->pages[0], zeros,
					     pw->gaps[g].end - z < zlen ? pw->gaps[g].end - z : zlen);
		at = pw->gaps[g].end;
	}
	return ret ? ret : hash_span(pw, at, pw->file_off[0]);
}
