/* The "reg" kind: files opened by path (regular files, directories, and
 * anything opened with O_PATH), reopened by path with their flags and
 * position; regular files deleted while open, whose bytes are saved and
 * which restore recreates, fills (by mapping, on hugetlbfs) and unlinks
 * again, in the removed folders they were in made again (ghost_dir.c);
 * removed directories likewise; and, with --link-remap,
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
#include "files/ghost_dir.h"
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

/* A removed directory: its path found again through its ".." (the first
 * folder above it that was not removed), and the removed folders it was
 * in, which restore makes again around it. */
static int dump_removed_dir(const struct fd_probe *p, RegFile *reg)
{
	char who[24], proc_link[64];
	struct dir_link d = { .who = who, .name = p->name, .proc_link = proc_link };
	GhostDir *ghost = NULL;
	char *path = NULL;
	int ret;

	snprintf(who, sizeof(who), "pid %d", p->pid);
	/* Through cryo's copy: an fd in flight has no number in the task. */
	snprintf(proc_link, sizeof(proc_link), "/proc/self/fd/%d", p->dup);
	ret = dir_path_dump(&d, &path, &ghost);
	if (!ret && !ghost) {
		pr_fd_err(p, "was removed, but \"%s\" is that directory now", path);
		ret = -ESTALE;
	}
	if (ret) {
		free(path);
		return ret;
	}
	free(reg->path);
	reg->path = path;
	reg->n_removed_folders = ghost->n_removed_folders;
	reg->removed_folders = ghost->removed_folders;
	ghost->n_removed_folders = 0;
	ghost->removed_folders = NULL;
	ghost_dir_free(ghost);
	return 0;
}

/* A deleted file whose folders were removed too: how many, for restore to
 * make them again. */
static int note_removed_levels(const struct fd_probe *p, RegFile *reg)
{
	char who[24];
	unsigned int levels;
	int ret;

	snprintf(who, sizeof(who), "pid %d", p->pid);
	ret = ghost_file_removed_levels(who, p->name, reg->path, &levels);
	if (!ret && levels) {
		reg->has_removed_levels = true;
		reg->removed_levels = levels;
	}
	return ret;
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
	ret = S_ISDIR(p->st.st_mode) ? dump_removed_dir(p, reg) : note_removed_levels(p, reg);
	if (ret)
		return ret;
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

/* The removed folders of a deleted file, which restore makes and removes:
 * plain names of its path, with metadata for a directory's, a count for a
 * regular file's. */
static bool removed_folders_valid(const RegFile *reg)
{
	GhostDir folders = GHOST_DIR__INIT;

	folders.n_removed_folders = reg->n_removed_folders;
	folders.removed_folders = reg->removed_folders;
	if (reg->n_removed_folders &&
	    (!reg->deleted || !S_ISDIR(reg->mode) ||
	     reg->n_removed_folders > GHOST_DIR_MAX_FOLDERS || ghost_dir_bad_level(&folders) >= 0 ||
	     ghost_dir_unnamed_level(reg->path, reg->n_removed_folders + 1) >= 0))
		return false;
	return !reg->has_removed_levels ||
	       (reg->deleted && S_ISREG(reg->mode) && reg->removed_levels <= GHOST_DIR_MAX_FOLDERS &&
		ghost_dir_unnamed_level(reg->path, reg->removed_levels + 1) < 0);
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
	if (!removed_folders_valid(reg)) {
		load_err(img, f, "removed folders: not those of a deleted file or directory, more "
			 "than %d, or not plain names of its path", GHOST_DIR_MAX_FOLDERS);
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

/* Names a restored file in the messages of ghost_dir.c. */
struct file_who {
	char who[24], what[48];
};

static struct file_who file_who(const struct restore_ctx *r, const struct file_obj *f)
{
	struct file_who w;

	snprintf(w.who, sizeof(w.who), "pid %d", r->img->pid);
	snprintf(w.what, sizeof(w.what), "file %u", f->e->id);
	return w;
}

/* Removes the folders made again around a deleted file (@made: its path in
 * them), once it is gone. */
static int remove_made_folders(const struct restore_ctx *r, const struct file_obj *first,
			       char *made)
{
	struct file_who w = file_who(r, first);

	return ghost_file_folders_remove(w.who, w.what, made, first->e->reg->removed_levels);
}

/* A removed directory in removed folders: the chain made again, as for a
 * removed cwd. */
static int recreate_removed_chain(struct restore_ctx *r, const struct file_obj *first)
{
	const RegFile *reg = first->e->reg;
	struct file_who w = file_who(r, first);
	GhostDir g = GHOST_DIR__INIT;
	int fd, ret;

	g.mode = reg->mode & 07777;
	g.uid = reg->uid;
	g.gid = reg->gid;
	g.has_atime_ns = reg->has_atime_ns;
	g.atime_ns = (uint64_t)reg->atime_ns;
	g.has_mtime_ns = reg->has_mtime_ns;
	g.mtime_ns = (uint64_t)reg->mtime_ns;
	g.n_removed_folders = reg->n_removed_folders;
	g.removed_folders = reg->removed_folders;
	ret = ghost_dir_make(w.who, w.what, reg->path, &g, &fd);
	return ret ? ret : restore_add_inode(r, first, fd, -1);
}

/* A deleted regular file made again at @path, or beside it; in the
 * removed folders it was in, made again first (*@made_folders: the path
 * whose folders to remove once it is gone). */
static int create_deleted(struct restore_ctx *r, const struct file_obj *first, char **created,
			  char **made_folders)
{
	const RegFile *reg = first->e->reg;
	const char *path = reg->path;
	int ret;

	if (reg->has_removed_levels && reg->removed_levels) {
		struct file_who w = file_who(r, first);

		ret = ghost_file_folders_make(w.who, w.what, reg->path, reg->removed_levels,
					      made_folders);
		if (ret)
			return ret;
		path = *made_folders;
	}
	return restore_create_beside(r, first, path, reg->mode, reg->mode, 0,
				     S_ISDIR(reg->mode) ? O_RDONLY | O_DIRECTORY : O_RDWR, created);
}

/* Recreates the inode of a deleted file: created, filled, unlinked; a
 * removed directory made and removed again (with the removed folders either
 * was in). Or opens the inode of a file unlinked from its path through its
 * link remap. */
static int recreate_deleted(struct restore_ctx *r, const struct file_obj *first)
{
	const RegFile *reg = first->e->reg;
	_cleanup_free_ char *created = NULL, *made_folders = NULL;
	int fd, ret;

	if (reg->link_remap)
		return link_remap_open(r, first);
	if (reg->n_removed_folders)
		return recreate_removed_chain(r, first);
	fd = create_deleted(r, first, &created, &made_folders);
	if (fd < 0 && made_folders)
		remove_made_folders(r, first, made_folders);
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
	if (made_folders && remove_made_folders(r, first, made_folders) && !ret)
		ret = -EIO;
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
