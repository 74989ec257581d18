/* Where the cgroup v2 hierarchy is mounted, and which of its cgroups a
 * process is in: shared by the freezer (src/tree/freezer.c), the dump of a
 * process's cgroup and its restore. Nothing here changes a cgroup. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/cgroup1.h"
#include "common/cgroup2.h"

int cgroup2_mount(char *mnt, size_t size)
{
	return cgroup_hierarchy_mount("", mnt, size);
}

/* The cgroup v2 path ("/a/b") of the "0::" line of @file. */
static int path_in(const char *file, char *path, size_t size)
{
	char line[PATH_MAX + 8];
	FILE *f;
	int ret = -ENOENT;

	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if ((size_t)snprintf(path, size, "%s", line + 3) < size)
			ret = 0;
	}
	fclose(f);
	return ret;
}

int cgroup2_path_of(pid_t pid, char *path, size_t size)
{
	char file[64];

	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	return path_in(file, path, size);
}

int cgroup2_path_of_thread(pid_t pid, pid_t tid, char *path, size_t size)
{
	char file[96];

	snprintf(file, sizeof(file), "/proc/%d/task/%d/cgroup", pid, tid);
	return path_in(file, path, size);
}
