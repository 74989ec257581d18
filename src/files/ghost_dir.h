/* Directories a task holds (cwd, root, a directory fd): their paths from
 * the dumping process's root, and removed ones ("ghost" directories) with
 * the removed folders they were in, saved (dir_path.c) and made again at
 * restore (ghost_dir.c); and the removed folders of a deleted regular
 * file. Not what a task does with them (task/dump_dirs.c, task/restore.c,
 * files/regfile.c). */
#ifndef CRYO_FILES_GHOST_DIR_H
#define CRYO_FILES_GHOST_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "images/proto/ghost_dir.pb-c.h"

/* How many removed folders a removed directory or file may be in. */
#define GHOST_DIR_MAX_FOLDERS 32

/* A directory a task holds, reached through a /proc link. */
struct dir_link {
	const char *who;	/* "pid 12" or "pid 12 thread 14", for messages */
	const char *name;	/* "cwd", "root" or "fd 7", for messages */
	const char *proc_link;	/* /proc/PID/cwd, /proc/PID/task/TID/root, /proc/PID/fd/7 */
	/* proc_link, or a folder above it: proc_link/.. (/.. again for each
	 * removed folder) */
	char link[96 + 3 * (GHOST_DIR_MAX_FOLDERS + 1)];
	struct stat st;		/* the directory itself, through proc_link */
};

/* ---- dump (dir_path.c) ------------------------------------------------------- */

/* @d's directory as a path from the dumping process's root in *@out: the
 * path the link shows when it leads there, else one through another mount
 * of its filesystem; a removed directory is a ghost (*@ghost: its metadata
 * and that of the removed folders it was in, its old name under the first
 * live folder above it). What no path reaches is refused by name. */
int dir_path_dump(struct dir_link *d, char **out, GhostDir **ghost);

/* Frees a GhostDir of dir_path_dump() and its removed folders. */
void ghost_dir_free(GhostDir *g);

/* A deleted file at @path (the path it had): how many of its last folders
 * are gone too (*@levels; none of @path's folders exists from there up to
 * the first that does). -EOPNOTSUPP, said with @who and @what, when more
 * than GHOST_DIR_MAX_FOLDERS, or the first that exists is no directory. */
int ghost_file_removed_levels(const char *who, const char *what, const char *path,
			      unsigned int *levels);

/* ---- image checks (ghost_dir_check.c) ---------------------------------------- */

/* The first of the last @n components of @path, counted from its end
 * (0 its last), that is no plain name ("", ".", ".."), which restore could
 * not make and remove; -1 when all are. */
int ghost_dir_unnamed_level(const char *path, size_t n);

/* The first level of @g (0 itself, i its removed folder i - 1) whose mode
 * has other bits than permissions or that has removed folders of its own
 * (only the ghost has); -1 when none. */
int ghost_dir_bad_level(const GhostDir *g);

/* ---- restore (ghost_dir.c) --------------------------------------------------- */

/* A removed directory @g (the @what of @who, for messages) made again at
 * its old path @path, or beside it when the name is taken, with the
 * removed folders it was in: each empty but for the next, with its mode,
 * owner and times, removed again innermost first once opened. Its fd
 * (O_RDONLY | O_DIRECTORY) in *@fd. */
int ghost_dir_make(const char *who, const char *what, const char *path, const GhostDir *g,
		   int *fd);

/* The @levels removed folders of a deleted file to be made again at
 * @path: made (mode 0700; the outermost beside its old name when that is
 * taken), so that the file is made at *@made (to free); ghost_file_folders_
 * remove() removes them once it is. */
int ghost_file_folders_make(const char *who, const char *what, const char *path,
			    unsigned int levels, char **made);

/* Removes the @levels folders of @made (the file's path in them, its file
 * gone), innermost first; 0 or the first -errno, said with @who. */
int ghost_file_folders_remove(const char *who, const char *what, char *made,
			      unsigned int levels);

#endif
