/* Link remaps (criu's --link-remap): a regular file open by a path that was
 * unlinked while other links keep it has no path cryo knows of. Dump makes a
 * hidden link to it beside its old path; restore opens the file through that
 * link and removes it. Which files need one is regfile.c's to decide. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/link_remap.h"

#define LINK_REMAP_PREFIX ".cryo-link-remap."

/* Splits @path ("/a/b/c") into a copy of its folder ("/a/b", "/" for "/c")
 * and a pointer to its last part in @path. */
static char *split_path(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash + 1;
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* The folder the link goes into: the old path's, or the nearest one above
 * it that still exists (the file's folder may have been removed too). */
static int open_link_folder(const struct fd_probe *p, const char *path, char **folder)
{
	_cleanup_free_ char *dir = NULL;
	const char *base;
	char *up;
	int fd;

	dir = split_path(path, &base);
	while (dir) {
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			*folder = dir;
			dir = NULL;
			return fd;
		}
		fd = -errno;
		if (fd != -ENOENT || !strcmp(dir, "/")) {
			pr_fd_err(p, "cannot open %s to link the file into: %s", dir, strerror(-fd));
			return fd;
		}
		up = split_path(dir, &base);
		free(dir);
		dir = up;
	}
	return -ENOMEM;
}

int link_remap_make(const struct file_dump *d, const char *path, char **out)
{
	const struct fd_probe *p = d->p;
	_cleanup_free_ char *folder = NULL;
	_cleanup_close_ int dir_fd = -1;
	char self[64], name[64];

	dir_fd = open_link_folder(p, path, &folder);
	if (dir_fd < 0)
		return dir_fd;
	/* The /proc link of cryo's copy reaches the inode; linkat() follows it. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", p->dup);
	for (int attempt = 0; attempt < 100; attempt++) {
		uint32_t rnd;

		if (getrandom(&rnd, sizeof(rnd), 0) < 0)
			return pr_errno_ret("dump: pid %d %s: no random bytes for a link name",
					    p->pid, p->name);
		snprintf(name, sizeof(name), LINK_REMAP_PREFIX "%08x", rnd);
		if (!linkat(AT_FDCWD, self, dir_fd, name, AT_SYMLINK_FOLLOW))
			break;
		if (errno != EEXIST) {
			int err = errno;

			pr_fd_err(p, "cannot link the file as %s/%s (--link-remap): %s", folder,
				  name, strerror(err));
			return -err;
		}
		name[0] = '\0';
	}
	if (!name[0]) {
		pr_fd_err(p, "no free name in %s to link the file as (--link-remap)", folder);
		return -EEXIST;
	}
	if (asprintf(out, "%s%s%s", folder, strcmp(folder, "/") ? "/" : "", name) < 0) {
		unlinkat(dir_fd, name, 0);
		return -ENOMEM;
	}
	/* A failed dump removes it with its images. */
	if (image_dir_note_outside(d->dir, dir_fd, name)) {
		free(*out);
		return -ENOMEM;
	}
	dir_fd = -1;
	pr_info("dump: pid %d %s (%s): linked as %s", p->pid, p->name, p->link, *out);
	return 0;
}

bool link_remap_path_ok(const char *link)
{
	const char *base = strrchr(link, '/');

	return link[0] == '/' && base &&
	       !strncmp(base + 1, LINK_REMAP_PREFIX, strlen(LINK_REMAP_PREFIX)) &&
	       base[1 + strlen(LINK_REMAP_PREFIX)] && !strstr(link, "/../");
}

/* Gives the link's dentry the old name @path, if free, and removes it from
 * there: the files opened through it then show "@path (deleted)" in /proc,
 * as they did. Else the link is just removed. */
static int remove_link(const struct restore_ctx *r, const struct file_obj *f, int dir_fd,
		       const char *base)
{
	const char *link = f->e->reg->link_remap, *path = f->e->reg->path, *old_base;
	_cleanup_free_ char *old_dir = NULL;
	_cleanup_close_ int old_fd = -1;
	bool renamed = false;

	old_dir = split_path(path, &old_base);
	if (old_dir && *old_base)
		old_fd = restore_open_path(r, old_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (old_fd >= 0 && !renameat2(dir_fd, base, old_fd, old_base, RENAME_NOREPLACE))
		renamed = true;
	if (renamed ? unlinkat(old_fd, old_base, 0) : unlinkat(dir_fd, base, 0)) {
		int err = errno;

		restore_err(r, f, "cannot remove %s, the link dump made to the file: %s",
			    renamed ? path : link, strerror(err));
		return -err;
	}
	return 0;
}

int link_remap_open(struct restore_ctx *r, const struct file_obj *f)
{
	const RegFile *reg = f->e->reg;
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dir_fd = -1;
	const char *base;
	struct stat st;
	int fd, ret;

	dir = split_path(reg->link_remap, &base);
	if (!dir)
		return -ENOMEM;
	dir_fd = restore_open_path(r, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = dir_fd < 0 ? -1 : openat(dir_fd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		restore_err(r, f, "cannot open %s, the link dump made to the file unlinked from "
			    "%s: %s", reg->link_remap, reg->path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		restore_err(r, f, "%s, the link dump made to the file unlinked from %s, is not a "
			    "regular file now", reg->link_remap, reg->path);
		close(fd);
		return -ESTALE;
	}
	ret = remove_link(r, f, dir_fd, base);
	if (ret) {
		close(fd);
		return ret;
	}
	return restore_add_inode(r, f, fd, -1);
}
