/* Dump of a directory a task holds (its cwd, root, or a directory fd) as a
 * path from the dumping process's root: the path its /proc link shows when
 * it leads there, else the path another mount of its filesystem gives (the
 * mount it was entered through was detached, or is another namespace's),
 * and for a removed directory (a ghost, made again at restore: ghost_dir.c)
 * its old name under the path of the first folder above it that was not
 * removed. And the removed folders of a deleted regular file. What no path
 * reaches is refused, saying why. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "files/fhandle.h"
#include "files/ghost_dir.h"

#define DELETED_SUFFIX " (deleted)"
#define NSEC_PER_SEC 1000000000ULL

/* The flags of a mount that change what a process may do in it. */
#define MOUNT_FLAGS (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME)

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether the mount @link is on is one of the dumping process's: if not,
 * it was detached (umount -l) or belongs to another mount namespace. */
static bool mount_is_ours(const char *link)
{
	_cleanup_free_ char *mount_point = NULL;
	struct statx stx;

	if (statx(AT_FDCWD, link, 0, STATX_MNT_ID, &stx) || !(stx.stx_mask & STATX_MNT_ID))
		return true;
	return !mount_id_path(0, (int)stx.stx_mnt_id, &mount_point);
}

/* The directory's path through another mount of its filesystem that the
 * dumping process has (its file handle opened there). */
static int path_through_another_mount(const struct dir_link *d, char **out)
{
	_cleanup_free_ struct file_handle *fh = malloc(sizeof(*fh) + FHANDLE_BYTES_MAX);
	unsigned int sdev = major(d->st.st_dev) << 20 | minor(d->st.st_dev);
	int mnt_id;

	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = FHANDLE_BYTES_MAX;
	if (name_to_handle_at(AT_FDCWD, d->link, fh, &mnt_id, AT_SYMLINK_FOLLOW))
		return -errno;
	return fhandle_path(0, d->st.st_ino, sdev, fh, out);
}

/* A directory its shown path no longer leads to: its path through another
 * mount, if that mount has the flags the task's had; else refused. */
static int find_elsewhere(const struct dir_link *d, const char *shown, char **out)
{
	_cleanup_free_ char *path = NULL;
	struct statvfs was, now;
	int ret = path_through_another_mount(d, &path);

	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		const char *why = mount_is_ours(d->link) ?
					  "it is hidden under a mount on top of it" :
					  "it is on a mount detached (umount -l) or of another "
					  "mount namespace";

		pr_err("dump: %s %s: directory \"%s\" cannot be reached by its path: %s, and "
		       "no mount of its filesystem (device %u:%u) here reaches it: not supported",
		       d->who, d->name, shown, why, major(d->st.st_dev), minor(d->st.st_dev));
		return -EOPNOTSUPP;
	}
	if (statvfs(d->link, &was) || statvfs(path, &now))
		return pr_errno_ret("dump: %s %s: cannot read the mount flags of \"%s\"",
				    d->who, d->name, path);
	if ((was.f_flag ^ now.f_flag) & MOUNT_FLAGS) {
		pr_err("dump: %s %s: directory \"%s\" is reached only through \"%s\", on a "
		       "mount with flags %#lx where the task's mount had %#lx: not supported",
		       d->who, d->name, shown, path, now.f_flag & MOUNT_FLAGS,
		       was.f_flag & MOUNT_FLAGS);
		return -EOPNOTSUPP;
	}
	pr_info("dump: %s %s: directory \"%s\" is on a mount no longer here: saved as \"%s\", "
		"through another mount of its filesystem", d->who, d->name, shown, path);
	*out = path;
	path = NULL;
	return 0;
}

/* The path of a live directory, checked to lead to it. */
static int find_dir(const struct dir_link *d, const char *shown, char **out)
{
	struct stat by_path;

	if (shown[0] == '/' && !stat(shown, &by_path) && same_inode(&by_path, &d->st)) {
		*out = strdup(shown);
		return *out ? 0 : -ENOMEM;
	}
	return find_elsewhere(d, shown, out);
}

static GhostDir *ghost_of(const struct stat *st)
{
	GhostDir *g = malloc(sizeof(*g));

	if (!g)
		return NULL;
	ghost_dir__init(g);
	g->mode = st->st_mode & 07777;
	g->uid = st->st_uid;
	g->gid = st->st_gid;
	g->has_atime_ns = g->has_mtime_ns = true;
	g->atime_ns = (uint64_t)st->st_atim.tv_sec * NSEC_PER_SEC + (uint64_t)st->st_atim.tv_nsec;
	g->mtime_ns = (uint64_t)st->st_mtim.tv_sec * NSEC_PER_SEC + (uint64_t)st->st_mtim.tv_nsec;
	return g;
}

void ghost_dir_free(GhostDir *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_removed_folders; i++)
		free(g->removed_folders[i]);
	free(g->removed_folders);
	free(g);
}

static int push_folder(GhostDir *g, GhostDir *folder)
{
	GhostDir **grown = folder ? realloc(g->removed_folders, (g->n_removed_folders + 1) *
								 sizeof(*grown)) :
				    NULL;

	if (!grown) {
		free(folder);
		return -ENOMEM;
	}
	g->removed_folders = grown;
	g->removed_folders[g->n_removed_folders++] = folder;
	return 0;
}

/* Cuts the last component off @path ("/a/b" becomes "/a", "/a" becomes
 * ""); false when there is none to cut. */
static bool cut_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return false;
	*slash = '\0';
	return true;
}

/* A removed directory: its old name under the path of the first folder
 * above it that was not removed (found as any live directory's), and its
 * metadata and that of each removed folder between, for restore to make
 * them again as ghosts. */
static int find_ghost(struct dir_link *d, char *shown, char **out, GhostDir **ghost)
{
	size_t len = strlen(shown), slen = strlen(DELETED_SUFFIX);
	_cleanup_free_ char *parent_path = NULL, *tail = NULL;
	struct dir_link parent = *d;
	struct stat below = d->st;
	GhostDir *g;
	int ret;

	if (len <= slen || strcmp(shown + len - slen, DELETED_SUFFIX) || shown[0] != '/') {
		pr_err("dump: %s %s: removed directory \"%s\" has no path to make it again at",
		       d->who, d->name, shown);
		return -EOPNOTSUPP;
	}
	shown[len - slen] = '\0';
	tail = strdup(shown);
	g = ghost_of(&d->st);
	if (!tail || !g) {
		free(g);
		return -ENOMEM;
	}
	/* ".." of a removed directory is still the folder it was in, removed
	 * or not. */
	snprintf(parent.link, sizeof(parent.link), "%s", d->proc_link);
	for (;;) {
		strcat(parent.link, "/..");
		if (stat(parent.link, &parent.st)) {
			ret = pr_errno_ret("dump: %s %s: cannot stat the folder of the removed "
					   "directory \"%s\"", d->who, d->name, tail);
			goto err;
		}
		if (same_inode(&parent.st, &below)) {
			ret = -EOPNOTSUPP;
			pr_err("dump: %s %s: removed directory \"%s\" was the root of a detached "
			       "mount, or in one: no path to make it again at", d->who, d->name,
			       tail);
			goto err;
		}
		if (!cut_last(shown)) {
			ret = -EOPNOTSUPP;
			pr_err("dump: %s %s: removed directory \"%s\" has no folder to make it "
			       "again in", d->who, d->name, tail);
			goto err;
		}
		if (parent.st.st_nlink)
			break;
		if (g->n_removed_folders == GHOST_DIR_MAX_FOLDERS) {
			ret = -EOPNOTSUPP;
			pr_err("dump: %s %s: removed directory \"%s\" was in more than %d folders "
			       "removed too: not supported", d->who, d->name, tail,
			       GHOST_DIR_MAX_FOLDERS);
			goto err;
		}
		ret = push_folder(g, ghost_of(&parent.st));
		if (ret)
			goto err;
		below = parent.st;
	}
	ret = find_dir(&parent, shown[0] ? shown : "/", &parent_path);
	if (ret)
		goto err;
	/* The removed part of the shown path goes under the live folder's. */
	if (asprintf(out, "%s%s", strcmp(parent_path, "/") ? parent_path : "",
		     tail + strlen(shown)) < 0) {
		ret = -ENOMEM;
		goto err;
	}
	*ghost = g;
	return 0;
err:
	ghost_dir_free(g);
	return ret;
}

int dir_path_dump(struct dir_link *d, char **out, GhostDir **ghost)
{
	char shown[PATH_MAX];
	ssize_t n;

	snprintf(d->link, sizeof(d->link), "%s", d->proc_link);
	n = readlink(d->link, shown, sizeof(shown) - 1);
	if (n < 0)
		return pr_errno_ret("dump: %s %s: cannot read %s", d->who, d->name, d->link);
	shown[n] = '\0';
	if (stat(d->link, &d->st))
		return pr_errno_ret("dump: %s %s: cannot stat %s", d->who, d->name, d->link);
	/* A removed directory has no links left, "." included. */
	if (S_ISDIR(d->st.st_mode) && d->st.st_nlink == 0)
		return find_ghost(d, shown, out, ghost);
	return find_dir(d, shown, out);
}

int ghost_file_removed_levels(const char *who, const char *what, const char *path,
			      unsigned int *levels)
{
	_cleanup_free_ char *folder = strdup(path);
	struct stat st;

	if (!folder)
		return -ENOMEM;
	*levels = 0;
	/* The kernel shows a folder by its name now: one no longer there was
	 * removed (a mount on top hides a name but keeps it there). */
	for (;;) {
		if (!cut_last(folder) || !folder[0])
			return 0;
		if (!stat(folder, &st))
			break;
		if (errno != ENOENT)
			return pr_errno_ret("dump: %s %s: cannot stat \"%s\", a folder of the "
					    "deleted file \"%s\"", who, what, folder, path);
		if (++*levels > GHOST_DIR_MAX_FOLDERS) {
			pr_err("dump: %s %s: deleted file \"%s\" was in more than %d folders "
			       "removed too: not supported", who, what, path,
			       GHOST_DIR_MAX_FOLDERS);
			return -EOPNOTSUPP;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_err("dump: %s %s: deleted file \"%s\": \"%s\" is no directory now: no folder "
		       "to make it again in", who, what, path, folder);
		return -EOPNOTSUPP;
	}
	return 0;
}
