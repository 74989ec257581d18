/* The checks of a removed directory's image (GhostDir, in a task's core
 * image or a RegFile) that its restore relies on: plain names to make and
 * remove, modes of permission bits. Apart from ghost_dir.c so that image
 * readers and the fuzz target link them without the restore's code. */
#include <string.h>

#include "files/ghost_dir.h"

int ghost_dir_unnamed_level(const char *path, size_t n)
{
	const char *end = path + strlen(path), *name;

	for (size_t i = 0; i < n; i++) {
		for (name = end; name > path && name[-1] != '/'; name--)
			;
		if (name == path || name == end || (end - name == 1 && name[0] == '.') ||
		    (end - name == 2 && !strncmp(name, "..", 2)))
			return (int)i;
		end = name - 1;
	}
	return -1;
}

int ghost_dir_bad_level(const GhostDir *g)
{
	if (g->mode & ~07777u)
		return 0;
	for (size_t i = 0; i < g->n_removed_folders; i++)
		if (g->removed_folders[i]->mode & ~07777u ||
		    g->removed_folders[i]->n_removed_folders)
			return (int)i + 1;
	return -1;
}
