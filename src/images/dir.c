/* Image directories: created mode 0700 because images hold the secrets of
 * the dumped processes, opened once and then addressed by descriptor so a
 * rename of the path midway cannot mix two directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/image.h"

static int dir_new(const char *path, int fd, struct image_dir **out)
{
	struct image_dir *dir = malloc(sizeof(*dir));

	if (!dir || !(dir->path = strdup(path))) {
		free(dir);
		pr_err("out of memory for image directory %s", path);
		return -ENOMEM;
	}
	dir->fd = fd;
	*out = dir;
	return 0;
}

int image_dir_open(const char *path, struct image_dir **out)
{
	_cleanup_close_ int fd = -1;
	int ret;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("cannot open image directory %s", path);
	ret = dir_new(path, fd, out);
	if (!ret)
		steal_fd(fd);
	return ret;
}

int image_dir_create(const char *path, struct image_dir **out)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int ret;

	if (mkdir(path, 0700) && errno != EEXIST)
		return pr_errno_ret("cannot create image directory %s", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("cannot open image directory %s", path);
	if (fstat(fd, &st))
		return pr_errno_ret("cannot stat image directory %s", path);
	/* An existing directory, or the umask, may have left it open to others. */
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700))
		return pr_errno_ret("cannot make image directory %s mode 0700", path);
	ret = dir_new(path, fd, out);
	if (!ret)
		steal_fd(fd);
	return ret;
}

void image_dir_close(struct image_dir *dir)
{
	if (!dir)
		return;
	close(dir->fd);
	free(dir->path);
	free(dir);
}

char *image_dir_file_path(const struct image_dir *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir->path, name) < 0) {
		pr_err("out of memory for %s/%s", dir->path, name);
		return NULL;
	}
	return path;
}

/* One syncfs writes out every dirty file of the filesystem and commits the
 * journal once; an fsync per file commits it once per file, which for a
 * tree of hundreds of processes (thousands of images) cost seconds where
 * this costs tens of milliseconds. The price is that other dirty data on
 * the same filesystem is written out too. */
int image_dir_sync(struct image_dir *dir)
{
	if (syncfs(dir->fd))
		return pr_errno_ret("cannot sync the filesystem of image directory %s", dir->path);
	/* Where syncfs misses the directory (a filesystem without a journal). */
	if (fsync(dir->fd))
		return pr_errno_ret("cannot sync image directory %s", dir->path);
	return 0;
}
