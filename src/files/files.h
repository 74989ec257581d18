/* File descriptors: dumping a task's fd table and the open files behind it,
 * checking them when read back, and installing them again inside the
 * restored task. How each kind of file is handled is in its own file of
 * src/files/ (see internal.h); memory mappings of files are not here. */
#ifndef CRYO_FILES_H
#define CRYO_FILES_H

#include <stdbool.h>
#include <sys/types.h>

#include "images/image.h"

/* Writes fds-@pid.img and adds the task's file objects to files.img (and
 * their contents to file-data-ID.img). @pid must be stopped by the caller;
 * it is left untouched: no position, flag or queued byte changes.
 *
 * The tasks of one dump are dumped one after another into the same @dir:
 * an open file description already seen in an earlier task of the dump is
 * referred to, not dumped again. A directory that holds a finished dump
 * (inventory.img) or files.img written by another cryo run starts afresh.
 * Not thread-safe. An fd of a kind cryo cannot restore fails the dump with
 * a message naming pid, fd and file. */
int files_dump(pid_t pid, struct image_dir *dir, bool shell_job);

/* Everything about files that restoring one task needs, read from the
 * images and checked; it holds no descriptor. */
struct files_image;

/* Reads and checks the fd table of @pid, the file objects it refers to and
 * their saved contents. */
int files_load(const struct image_dir *dir, int pid, struct files_image **out);
void files_image_free(struct files_image *img);

/* The highest fd number files_restore() installs; -1 when none. */
int files_max_fd(const struct files_image *img);

/* Fails, with the reason, when @img cannot be restored with these options
 * (the shell's terminal without --shell-job). */
int files_check_restorable(const struct files_image *img, bool shell_job);

/* Runs in the restored task, before its memory is replaced: installs each
 * saved fd at its number with its flags, position and contents, and closes
 * every other fd up to files_max_fd(). Fds above that are left alone,
 * except for temporaries it opens and closes there. With @shell_job, the
 * shell's terminal becomes a duplicate of the first of fds 0, 1, 2 that is
 * a terminal. */
int files_restore(const struct files_image *img, bool shell_job);

#endif
