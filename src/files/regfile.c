/* The "reg" kind: files opened by path (regular files, directories, and
 * anything opened with O_PATH), reopened by path with their flags and
 * position; regular files deleted while open, whose bytes are saved and
 * which restore recreates, fills (by mapping, on hugetlbfs) and unlinks
 * again; and, with --link-remap,
 * files unlinked from their path that other links keep (link_remap.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/time_units.h"
#include "files/kind.h"
#include "files/link_remap.h"
#include "mem/hugetlb.h"

#define DELETED_SUFFIX " (deleted)"

static struct timespec ns_to_timespec(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += NSEC_PER_SEC;
	}
	return ts;
}

static bool regfile_recognise(const struct fd_probe *p)
{
	return S_ISREG(p->st.st_mode) || S_ISDIR(p->st.st_mode) ||
	       ((p->flags & O_PATH) && p->link[0] == '/');
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

enum path_state {
	PATH_REACHED,		/* the file is at its path */
	PATH_DELETED,		/* no link is left: its bytes are saved */
	PATH_UNLINKED,		/* other links keep it: a link remap */
};

/* The path the file is open at; for a deleted file, the path it had. */
static int find_path(const struct fd_probe *p, char **path, enum path_state *state)
{
	size_t len = strlen(p->link), suffix = strlen(DELETED_SUFFIX);
	struct stat st;

	*state = PATH_REACHED;
	if (p->link[0] != '/') {
		pr_fd_err(p, "is not reachable by a path");
		return -EOPNOTSUPP;
	}
	/* A name may end in " (deleted)" and still exist: ask the file system. */
	if (!lstat(p->link, &st) && same_inode(&st, &p->st)) {
		*path = strdup(p->link);
		return *path ? 0 : -ENOMEM;
	}
	if (len <= suffix || strcmp(p->link + len - suffix, DELETED_SUFFIX)) {
		pr_fd_err(p, "its path now names another file (renamed over, or hidden by a mount)");
		return -ESTALE;
	}
	if (!S_ISREG(p->st.st_mode) && !S_ISDIR(p->st.st_mode)) {
		pr_fd_err(p, "deleted special files opened with O_PATH are not supported");
		return -EOPNOTSUPP;
	}
	*state = p->st.st_nlink ? PATH_UNLINKED : PATH_DELETED;
	*path = strndup(p->link, len - suffix);
	return *path ? 0 : -ENOMEM;
}

/* A regular file unlinked from its path that other links keep: one link
 * remap per inode, made for its first object; the others open the inode
 * from there. */
static int dump_unlinked(const struct file_dump *d, RegFile *reg)
{
	const struct fd_probe *p = d->p;

	if (!S_ISREG(p->st.st_mode)) {
		pr_fd_err(p, "this path was unlinked but the file has %lu other links, and is not "
			  "a regular file: not supported", (unsigned long)p->st.st_nlink);
		return -EOPNOTSUPP;
	}
	if (!file_dump_link_remap(d)) {
		pr_fd_err(p, "this path was unlinked but the file has %lu other links: dump with "
			  "--link-remap to save it through a link made beside it",
			  (unsigned long)p->st.st_nlink);
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < d->nr_same_inode; i++) {
		const FileEntry *other = d->same_inode[i];

		if (other->kind == FILE_ENTRY__KIND__REG && other->reg->link_remap) {
			d->fe->has_inode_of = true;
			d->fe->inode_of = other->id;
			return 0;
		}
	}
	return link_remap_make(d, reg->path, &reg->link_remap);
}

/* A deleted or unlinked file of a hugetlbfs mount keeps its page size,
 * which its mappings must have; a deleted one's contents are read and
 * made again through mappings of whole huge pages. The kernel only sizes
 * such a file by huge pages (ftruncate), so another size (left by
 * fallocate) could not be given back. */
static int note_huge_pages(const struct fd_probe *p, RegFile *reg, bool deleted)
{
	if (!S_ISREG(p->st.st_mode))
		return 0;
	reg->huge_page_size = hugetlbfs_page_size(p->dup);
	reg->has_huge_page_size = reg->huge_page_size != 0;
	if (deleted && reg->has_huge_page_size &&
	    !huge_page_size_valid(reg->huge_page_size, reg->size)) {
		pr_fd_err(p, "deleted hugetlbfs file of %llu bytes, not a multiple of its %llu kB "
			  "pages: not supported", (unsigned long long)reg->size,
			  (unsigned long long)reg->huge_page_size >> 10);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* A removed directory is made again in its folder at restore: one whose
 * folder was removed too has none (its ".." has no links either). */
static int check_removed_dir_folder(const struct fd_probe *p)
{
	struct stat up;

	if (fstatat(p->dup, "..", &up, 0))
		return pr_errno_ret("dump: pid %d %s (%s): cannot stat the folder of the removed "
				    "directory", p->pid, p->name, p->link);
	if (up.st_nlink)
		return 0;
	pr_fd_err(p, "a removed directory whose folder was removed too: not supported (only a "
		  "removed cwd or root is made again with its removed folders)");
	return -EOPNOTSUPP;
}

static int regfile_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	_cleanup_close_ int fd = -1;
	enum path_state state;
	RegFile *reg;
	int ret;

	reg = malloc(sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg_file__init(reg);
	d->fe->reg = reg;
	ret = find_path(p, &reg->path, &state);
	if (ret)
		return ret;
	reg->mode = p->st.st_mode;
	reg->size = p->st.st_size;
	if (state == PATH_REACHED)
		return 0;
	ret = note_huge_pages(p, reg, state == PATH_DELETED);
	if (ret)
		return ret;
	if (state == PATH_UNLINKED)
		return dump_unlinked(d, reg);
	if (S_ISDIR(p->st.st_mode)) {
		ret = check_removed_dir_folder(p);
		if (ret)
			return ret;
	}
	reg->has_deleted = reg->deleted = true;
	reg->has_uid = reg->has_gid = true;
	reg->uid = p->st.st_uid;
	reg->gid = p->st.st_gid;
	reg->has_atime_ns = reg->has_mtime_ns = true;
	reg->atime_ns = p->st.st_atim.tv_sec * NSEC_PER_SEC + p->st.st_atim.tv_nsec;
	reg->mtime_ns = p->st.st_mtim.tv_sec * NSEC_PER_SEC + p->st.st_mtim.tv_nsec;
	/* The bytes are saved once, with the first open of the inode. */
	if (d->nr_same_inode) {
		const FileEntry *first = d->same_inode[0];

		if (first->kind != FILE_ENTRY__KIND__REG || !first->reg->deleted) {
			pr_fd_err(p, "was deleted while the dump ran (file %u was not)", first->id);
			return -ESTALE;
		}
		d->fe->has_inode_of = true;
		d->fe->inode_of = first->id;
		return 0;
	}
	/* A removed directory is empty: nothing to save but its metadata. */
	if (S_ISDIR(p->st.st_mode))
		return 0;
	if (file_dump_ghost_limit(d) && reg->size > file_dump_ghost_limit(d)) {
		pr_fd_err(p, "deleted file of %llu bytes, more than --ghost-limit %llu: not saved",
			  (unsigned long long)reg->size,
			  (unsigned long long)file_dump_ghost_limit(d));
		return -EFBIG;
	}
	ret = probe_reopen(p, &fd);
	if (!ret)
		ret = contents_dump_file(d, fd, reg->size, reg->has_huge_page_size);
	return ret;
}

static int regfile_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const RegFile *reg = f->e->reg;

	if (reg->path[0] != '/') {
		load_err(img, f, "path '%s' is not absolute", reg->path);
		return -EBADMSG;
	}
	if (reg->size > INT64_MAX) {
		load_err(img, f, "size %llu is out of range", (unsigned long long)reg->size);
		return -EBADMSG;
	}
	if (reg->link_remap && (reg->deleted || !S_ISREG(reg->mode) || f->e->has_inode_of ||
				!link_remap_path_ok(reg->link_remap))) {
		load_err(img, f, "link remap '%s' is not a link dump makes to a regular file, or "
			 "the file is deleted, or not the first of its inode", reg->link_remap);
		return -EBADMSG;
	}
	/* Only a file reopened through its object has a page size to keep. */
	if (reg->has_huge_page_size &&
	    (!S_ISREG(reg->mode) || (!reg->deleted && !reg->link_remap && !f->e->has_inode_of) ||
	     !huge_page_size_valid(reg->huge_page_size, reg->deleted ? reg->size : 0))) {
		load_err(img, f, "huge page size %llu: not a power of two from 64 KiB to 1 GiB that "
			 "divides the size %llu of a deleted or unlinked regular file",
			 (unsigned long long)reg->huge_page_size, (unsigned long long)reg->size);
		return -EBADMSG;
	}
	if (!reg->deleted) {
		if (f->e->has_inode_of && !f->inode->e->reg->link_remap) {
			load_err(img, f, "a file opened by path shares no inode");
			return -EBADMSG;
		}
		return 0;
	}
	if ((!S_ISREG(reg->mode) && !S_ISDIR(reg->mode)) || !reg->has_uid || !reg->has_gid) {
		load_err(img, f, "a deleted file must be a regular file or a directory, with an owner");
		return -EBADMSG;
	}
	if (f->inode != f && !f->inode->e->reg->deleted) {
		load_err(img, f, "is deleted, but file %u of its inode is not", f->inode->e->id);
		return -EBADMSG;
	}
	if (f->inode == f && f->needed && S_ISREG(reg->mode))
		return contents_load(dir, img, f, reg->size, false);
	return 0;
}

/* Fills the recreated @fd of a deleted hugetlbfs file, made at @created,
 * which must be on a hugetlbfs mount of the saved page size: anywhere
 * else its mappings would have other pages. */
static int restore_huge_contents(const struct restore_ctx *r, const struct file_obj *first,
				 int fd, const char *created)
{
	const RegFile *reg = first->e->reg;
	uint64_t here = hugetlbfs_page_size(fd);

	if (!here) {
		restore_err(r, first, "was on a hugetlbfs mount, but %s is not", created);
		return -EXDEV;
	}
	if (here != reg->huge_page_size) {
		restore_err(r, first, "was on a hugetlbfs mount of %llu kB pages, but %s is on one "
			    "of %llu kB pages", (unsigned long long)reg->huge_page_size >> 10,
			    created, (unsigned long long)here >> 10);
		return -EXDEV;
	}
	return contents_restore_huge(r, first, fd, reg->size, reg->huge_page_size);
}

/* Recreates the inode of a deleted file: created, filled, unlinked; a
 * removed directory made and removed again. Or opens the inode of a file
 * unlinked from its path through its link remap. */
static int recreate_deleted(struct restore_ctx *r, const struct file_obj *first)
{
	const RegFile *reg = first->e->reg;
	_cleanup_free_ char *created = NULL;
	int fd, ret;

	if (reg->link_remap)
		return link_remap_open(r, first);
	fd = restore_create_beside(r, first, reg->path, reg->mode, reg->mode, 0,
				   S_ISDIR(reg->mode) ? O_RDONLY | O_DIRECTORY : O_RDWR, &created);
	if (fd < 0)
		return fd;
	if (S_ISDIR(reg->mode))
		ret = 0;
	else if (reg->has_huge_page_size)
		ret = restore_huge_contents(r, first, fd, created);
	else
		ret = contents_restore_file(r, first, fd, reg->size);
	if (!ret && (fchown(fd, reg->uid, reg->gid) || fchmod(fd, reg->mode & 07777))) {
		ret = -errno;
		restore_err(r, first, "cannot give the recreated %s its owner and mode: %s",
			    created, strerror(errno));
	}
	/* Times last: filling the file moved its mtime. UTIME_OMIT keeps
	 * what an older image did not save. */
	if (!ret) {
		struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (reg->has_atime_ns)
			times[0] = ns_to_timespec(reg->atime_ns);
		if (reg->has_mtime_ns)
			times[1] = ns_to_timespec(reg->mtime_ns);
		if (futimens(fd, times)) {
			ret = -errno;
			restore_err(r, first, "cannot give the recreated %s its times: %s", created,
				    strerror(errno));
		}
	}
	if ((S_ISDIR(reg->mode) ? rmdir(created) : unlink(created)) && !ret) {
		ret = -errno;
		restore_err(r, first, "cannot unlink the recreated %s: %s", created,
			    strerror(errno));
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return restore_add_inode(r, first, fd, -1);
}

static int regfile_open(struct restore_ctx *r, const struct file_obj *f)
{
	const RegFile *reg = f->e->reg;
	unsigned int flags = f->e->flags & ~(O_TMPFILE & ~O_DIRECTORY);
	struct stat st;
	int fd, ret;

	if (reg->deleted || reg->link_remap || f->e->has_inode_of)
		return restore_open_from_inode(r, f);
	if (!S_ISDIR(reg->mode))
		flags &= ~O_DIRECTORY;
	fd = restore_open_path(r, reg->path, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		restore_err(r, f, "cannot open %s: %s", reg->path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		restore_err(r, f, "cannot stat %s: %s", reg->path, strerror(errno));
		close(fd);
		return ret;
	}
	if ((st.st_mode & S_IFMT) != (reg->mode & S_IFMT)) {
		restore_err(r, f, "%s is not of the type it had (mode %o, now %o)", reg->path,
			    reg->mode, st.st_mode);
		close(fd);
		return -ESTALE;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != reg->size)
		pr_warn("restore: pid %d: %s was %llu bytes when dumped, now %llu", r->img->pid,
			reg->path, (unsigned long long)reg->size, (unsigned long long)st.st_size);
	return fd;
}

static uint64_t regfile_huge_page_size(const FileEntry *e)
{
	return e->reg->has_huge_page_size ? e->reg->huge_page_size : 0;
}

/* Only a deleted or unlinked file is mapped from its object; it may be
 * mapped past its end, as any file. */
static uint64_t regfile_mapped_limit(const FileEntry *e)
{
	return e->reg->deleted || e->reg->link_remap ? UINT64_MAX : 0;
}

static const char *regfile_describe(const FileEntry *e)
{
	return e->reg->path;
}

const struct file_kind regfile_kind = {
	.name = "reg",
	.type = FILE_ENTRY__KIND__REG,
	.in_flight_ok = true,
	.recognise = regfile_recognise,
	.dump = regfile_dump,
	.check = regfile_check,
	.open = regfile_open,
	.make_inode = recreate_deleted,
	.mapped_limit = regfile_mapped_limit,
	.huge_page_size = regfile_huge_page_size,
	.describe = regfile_describe,
	.inode_shared = true,
	.seekable = true,
};
