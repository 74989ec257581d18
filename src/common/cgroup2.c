/* Where the cgroup v2 hierarchy is mounted, and which of its cgroups a
 * process is in: shared by the freezer (src/tree/freezer.c), the dump of a
 * process's cgroup and its restore. Nothing here changes a cgroup. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cgroup1.h"
#include "common/cgroup2.h"

int cgroup2_mount(char *mnt, size_t size)
{
	return cgroup_hierarchy_mount("", mnt, size);
}

int cgroup2_path_in(const char *text, char *path, size_t size)
{
	for (const char *line = text, *next; *line; line = next) {
		int len = (int)strcspn(line, "\n");

		next = line + len + (line[len] == '\n');
		if (!strncmp(line, "0::", 3))
			return snprintf(path, size, "%.*s", len - 3, line + 3) < (int)size ?
				       0 : -ENAMETOOLONG;
	}
	return -ENOENT;
}

int cgroup2_path_of(pid_t pid, char *path, size_t size)
{
	char *text;
	int ret = cgroup_text_read(pid, 0, &text);

	if (ret)
		return ret;
	ret = cgroup2_path_in(text, path, size);
	free(text);
	return ret;
}
