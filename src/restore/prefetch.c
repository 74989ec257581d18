/* A set of images out of the page cache (copied in, or written long ago)
 * is read a small file at a time, each read a wait on the disk: a tree's
 * restore asks for every process's small images at once first, so that
 * the disk serves them together while load reads them in order. Not its
 * business: reading or checking them (load.c), the pages files (read by
 * the restorers, O_DIRECT when cold: area.c). */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "images/image.h"
#include "kabi/kabi.h"
#include "restore/restore.h"

/* Whether the first page of the image named @name is in the page cache;
 * true too when that cannot be told (nothing is asked for then). */
static bool image_cached(const struct image_dir *dir, const char *name)
{
	struct kabi_cachestat_range range = { 0, 4096 };
	struct kabi_cachestat cs;
	int fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool cached = true;

	if (fd < 0)
		return true;
	if (!syscall(__NR_cachestat, fd, &range, &cs, 0))
		cached = cs.nr_cache > 0;
	close(fd);
	return cached;
}

void restore_prefetch_images(const struct image_dir *dir, const struct tree *tree)
{
	static const enum image_kind kinds[] = { IMG_CORE, IMG_MM, IMG_FDS, IMG_PAGEMAP };
	char name[64];

	if (!tree->nr || image_file_name(IMG_CORE, tree->tasks[0].pid, name, sizeof(name)) < 0 ||
	    image_cached(dir, name))
		return;
	for (size_t i = 0; i < tree->nr; i++) {
		if (tree->tasks[i].state != TREE_ALIVE)
			continue;
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			struct stat st;
			int fd;

			if (image_file_name(kinds[k], tree->tasks[i].pid, name, sizeof(name)) < 0)
				continue;
			/* Opened as load opens it; only a regular file is read. */
			fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (!fstat(fd, &st) && S_ISREG(st.st_mode))
				posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
			close(fd);
		}
	}
}
