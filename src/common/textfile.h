/* The one reader of whole text files (procfs, sysfs, cgroupfs): any size,
 * NUL-terminated, read until EOF. Parsing is the caller's. */
#ifndef CRYO_COMMON_TEXTFILE_H
#define CRYO_COMMON_TEXTFILE_H

#include <fcntl.h>

/* Reads @path (relative to @dirfd, or AT_FDCWD) into a new string that the
 * caller frees. -errno without logging: the caller names the task and the
 * file. */
int read_text_at(int dirfd, const char *path, char **text);

static inline int read_text_file(const char *path, char **text)
{
	return read_text_at(AT_FDCWD, path, text);
}

#endif
