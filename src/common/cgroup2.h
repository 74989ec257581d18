/* The cgroup v2 hierarchy: its mount point and a process's cgroup
 * (cgroup2.c). */
#ifndef CRYO_COMMON_CGROUP2_H
#define CRYO_COMMON_CGROUP2_H

#include <stddef.h>
#include <sys/types.h>

/* The mount point of the cgroup v2 hierarchy whose root is "/", into
 * @mnt; -ENOENT when none is mounted. */
int cgroup2_mount(char *mnt, size_t size);

/* The cgroup v2 path of @pid ("/a/b", from its "0::" line) into @path;
 * -ENOENT when it has none. */
int cgroup2_path_of(pid_t pid, char *path, size_t size);
/* The same from the text of a /proc/PID/cgroup. */
int cgroup2_path_in(const char *text, char *path, size_t size);

#endif
