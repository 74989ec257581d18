/* Paths of what fdinfo names by kernel identity (inotify watches, fanotify
 * marks): a file by its file handle, inode and device; a mount by its id;
 * a filesystem by its device. Looked up through the task's root and its
 * mountinfo; pid 0 is the calling process, its own view. Not the parsing
 * of any kind's fdinfo lines. */
#ifndef CRYO_FILES_FHANDLE_H
#define CRYO_FILES_FHANDLE_H

#include <fcntl.h>
#include <sys/types.h>

#define FHANDLE_BYTES_MAX 128	/* MAX_HANDLE_SZ */

/* Reads @bytes bytes of hex at @hex into a new handle of @type (*@out, to
 * free); -EINVAL when malformed or too long. */
int fhandle_parse(const char *hex, unsigned int bytes, int type, struct file_handle **out);

/* The path, from @pid's root, of the file @fh names, tried through each
 * mount of its filesystem @sdev (the kernel's dev_t: major << 20 | minor)
 * and checked to be inode @ino there; 0, or -errno of the last try
 * (-ENOENT: the file was deleted, and no path leads to it). */
int fhandle_path(pid_t pid, unsigned long ino, unsigned int sdev, const struct file_handle *fh,
		 char **out);

/* The mount point of mount @mnt_id of @pid; -ENOENT when it has none. */
int mount_id_path(pid_t pid, int mnt_id, char **out);

/* A mount point of the filesystem @sdev in @pid's mount table, the first
 * that mounts its root when one does; -ENOENT when none. */
int fs_dev_path(pid_t pid, unsigned int sdev, char **out);

#endif
