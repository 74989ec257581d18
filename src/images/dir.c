/* Image directories: created mode 0700 because images hold the secrets of
 * the dumped processes, opened once and then addressed by descriptor so a
 * rename of the path midway cannot mix two directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/image.h"

struct image_dir_lock {
	pthread_mutex_t mutex;
};

static int dir_new(const char *path, int fd, struct image_dir **out)
{
	struct image_dir *dir = malloc(sizeof(*dir));

	if (dir)
		dir->lists_lock = malloc(sizeof(*dir->lists_lock));
	if (!dir || !dir->lists_lock || !(dir->path = strdup(path))) {
		if (dir)
			free(dir->lists_lock);
		free(dir);
		pr_err("out of memory for image directory %s", path);
		return -ENOMEM;
	}
	dir->fd = fd;
	dir->direct_after = IMG_DIRECT_AFTER;
	dir->nr_unsynced = 0;
	dir->written = NULL;
	dir->nr_written = 0;
	dir->outside = NULL;
	dir->nr_outside = 0;
	dir->digests = NULL;
	dir->digest_kind = IMG_DIGEST_XXH3_128;
	dir->has_dump_id = false;
	pthread_mutex_init(&dir->lists_lock->mutex, NULL);
	*out = dir;
	return 0;
}

int image_dir_open(const char *path, struct image_dir **out)
{
	return image_dir_open_at(AT_FDCWD, path, path, out);
}

int image_dir_open_at(int at_fd, const char *path, const char *shown, struct image_dir **out)
{
	_cleanup_free_ char *bare = strdup(path);
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len;
	int ret;

	if (!bare) {
		pr_err("out of memory for image directory %s", shown);
		return -ENOMEM;
	}
	/* A trailing slash would make the kernel follow a symlink. */
	len = strlen(bare);
	while (len > 1 && bare[len - 1] == '/')
		bare[--len] = '\0';
	fd = openat(at_fd, bare, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
	    !fstatat(at_fd, bare, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode)) {
		pr_err("image directory %s is a symbolic link: refused (name the directory "
		       "itself)", shown);
		return -ELOOP;
	}
	if (fd < 0)
		return pr_errno_ret("cannot open image directory %s", shown);
	ret = dir_new(shown, fd, out);
	if (!ret)
		steal_fd(fd);
	return ret;
}

int image_check_regular(const char *shown, mode_t mode)
{
	static const struct {
		mode_t type;
		const char *name;
	} types[] = {
		{ S_IFLNK, "a symbolic link" }, { S_IFIFO, "a FIFO" },
		{ S_IFCHR, "a character device" }, { S_IFBLK, "a block device" },
		{ S_IFSOCK, "a socket" }, { S_IFDIR, "a directory" },
	};
	const char *what = "not a regular file";

	if (S_ISREG(mode))
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((mode & S_IFMT) == types[i].type)
			what = types[i].name;
	pr_err("%s is %s, not an image file: refused", shown, what);
	return S_ISLNK(mode) ? -ELOOP : -EINVAL;
}

int image_open_regular(int dir_fd, const char *name, const char *shown, struct stat *st)
{
	_cleanup_close_ int fd = -1;

	/* O_NONBLOCK: a FIFO in an image's place must not block the open. */
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return image_check_regular(shown, S_IFLNK);
	if (fd < 0)
		return pr_errno_ret("cannot open %s", shown);
	if (fstat(fd, st))
		return pr_errno_ret("cannot stat %s", shown);
	if (image_check_regular(shown, st->st_mode))
		return -EINVAL;
	return steal_fd(fd);
}

int image_dir_open_file(const struct image_dir *dir, const char *name, struct stat *st)
{
	_cleanup_free_ char *shown = image_dir_file_path(dir, name);

	if (!shown)
		return -ENOMEM;
	return image_open_regular(dir->fd, name, shown, st);
}

/* One writer at a time: the lock goes when its holder closes the
 * directory or dies. */
static int take_writer_lock(const char *path, int fd)
{
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno == EWOULDBLOCK) {
		pr_err("image directory %s: another cryo is writing into it", path);
		return -EBUSY;
	}
	return pr_errno_ret("cannot lock image directory %s", path);
}

/* With the writer lock held, any ".NAME.tmp" of an image name is a dead
 * writer's (a dumper killed mid-dump leaves its pages file, up to GiBs). */
static int remove_stale_at(const char *path, int fd)
{
	_cleanup_close_ int list_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = list_fd >= 0 ? fdopendir(list_fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!d)
		return pr_errno_ret("cannot list image directory %s", path);
	steal_fd(list_fd);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char name[256];
		int id;

		if (de->d_name[0] != '.' || len < 6 || strcmp(de->d_name + len - 4, ".tmp"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name + 1);
		if (!image_kind_match(name, &id))
			continue;
		if (unlinkat(fd, de->d_name, 0) && errno != ENOENT) {
			ret = pr_errno_ret("cannot remove %s/%s", path, de->d_name);
			break;
		}
		pr_info("removed %s/%s, left by a cryo that died while writing it", path,
			de->d_name);
	}
	closedir(d);
	return ret;
}

int image_dir_create(const char *path, struct image_dir **out)
{
	_cleanup_close_ int fd = -1;

	if (mkdir(path, 0700) && errno != EEXIST)
		return pr_errno_ret("cannot create image directory %s", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pr_errno_ret("cannot open image directory %s", path);
	return image_dir_create_fd(fd, path, out);
}

int image_dir_create_fd(int dir_fd, const char *path, struct image_dir **out)
{
	_cleanup_close_ int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	struct stat st;
	int ret;

	if (fd < 0)
		return pr_errno_ret("cannot use image directory %s", path);
	if (fstat(fd, &st))
		return pr_errno_ret("cannot stat image directory %s", path);
	/* An existing directory, or the umask, may have left it open to others. */
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700))
		return pr_errno_ret("cannot make image directory %s mode 0700", path);
	ret = take_writer_lock(path, fd);
	if (!ret)
		ret = remove_stale_at(path, fd);
	if (!ret)
		ret = dir_new(path, fd, out);
	if (ret)
		return ret;
	steal_fd(fd);
	/* Every file of this dump names it in its header. */
	if (getrandom((*out)->dump_id, IMG_DUMP_ID_SIZE, 0) != IMG_DUMP_ID_SIZE) {
		ret = pr_errno_ret("dump: cannot draw the dump's id");
		image_dir_close(*out);
		return ret;
	}
	(*out)->has_dump_id = true;
	return 0;
}

int image_dir_remove_stale(struct image_dir *dir, const char *path)
{
	struct image_dir *opened = NULL;
	int ret;

	if (!dir) {
		ret = image_dir_open(path, &opened);
		if (ret)
			return ret;
		dir = opened;
	}
	ret = take_writer_lock(dir->path, dir->fd);
	if (!ret)
		ret = remove_stale_at(dir->path, dir->fd);
	/* Its lock goes with its fd. */
	image_dir_close(opened);
	return ret;
}

int image_dir_note_outside(struct image_dir *dir, int dir_fd, const char *name)
{
	struct image_outside_file *more;

	pthread_mutex_lock(&dir->lists_lock->mutex);
	more = reallocarray(dir->outside, dir->nr_outside + 1, sizeof(*more));
	if (more)
		dir->outside = more;
	if (!more || !(more[dir->nr_outside].name = strdup(name))) {
		pthread_mutex_unlock(&dir->lists_lock->mutex);
		close(dir_fd);
		pr_err("out of memory for the files made beside the images of %s", dir->path);
		return -ENOMEM;
	}
	more[dir->nr_outside++].dir_fd = dir_fd;
	pthread_mutex_unlock(&dir->lists_lock->mutex);
	return 0;
}

static void forget_outside(struct image_dir *dir, bool remove)
{
	for (size_t i = 0; i < dir->nr_outside; i++) {
		struct image_outside_file *o = &dir->outside[i];

		if (remove && unlinkat(o->dir_fd, o->name, 0) && errno != ENOENT)
			pr_warn("cannot remove %s, made by the failed run: %s", o->name,
				strerror(errno));
		close(o->dir_fd);
		free(o->name);
	}
	free(dir->outside);
	dir->outside = NULL;
	dir->nr_outside = 0;
}

void image_dir_remove_written(struct image_dir *dir)
{
	forget_outside(dir, true);
	for (size_t i = 0; i < dir->nr_written; i++) {
		if (unlinkat(dir->fd, dir->written[i], 0) && errno != ENOENT)
			pr_warn("cannot remove %s/%s of the failed run: %s", dir->path,
				dir->written[i], strerror(errno));
		free(dir->written[i]);
	}
	if (dir->nr_written)
		pr_info("removed the %zu files the failed run had written into %s",
			dir->nr_written, dir->path);
	free(dir->written);
	free(dir->digests);
	dir->written = NULL;
	dir->digests = NULL;
	dir->nr_written = 0;
}

static void forget_unsynced(struct image_dir *dir)
{
	for (size_t i = 0; i < dir->nr_unsynced && i < IMG_DIR_FSYNC_MAX; i++)
		free(dir->unsynced[i]);
	dir->nr_unsynced = 0;
}

void image_dir_close(struct image_dir *dir)
{
	if (!dir)
		return;
	forget_unsynced(dir);
	forget_outside(dir, false);
	for (size_t i = 0; i < dir->nr_written; i++)
		free(dir->written[i]);
	free(dir->written);
	free(dir->digests);
	close(dir->fd);
	pthread_mutex_destroy(&dir->lists_lock->mutex);
	free(dir->lists_lock);
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

static int note_unsynced(struct image_dir *dir, const char *name, const uint8_t *digest,
			 uint64_t size)
{
	char **more = reallocarray(dir->written, dir->nr_written + 1, sizeof(*more));
	struct image_written_digest *d;

	if (more)
		dir->written = more;
	d = more ? reallocarray(dir->digests, dir->nr_written + 1, sizeof(*d)) : NULL;
	if (d)
		dir->digests = d;
	if (!d || !(dir->written[dir->nr_written] = strdup(name))) {
		pr_err("out of memory for the files written into %s", dir->path);
		return -ENOMEM;
	}
	d = &dir->digests[dir->nr_written++];
	d->known = digest != NULL;
	d->size = size;
	if (digest)
		memcpy(d->digest, digest, image_digest_size(dir->digest_kind));
	if (dir->nr_unsynced < IMG_DIR_FSYNC_MAX) {
		dir->unsynced[dir->nr_unsynced] = strdup(name);
		if (!dir->unsynced[dir->nr_unsynced]) {
			pr_err("out of memory for the files to sync in %s", dir->path);
			return -ENOMEM;
		}
	}
	dir->nr_unsynced++;
	return 0;
}

int image_dir_note_unsynced(struct image_dir *dir, const char *name, const uint8_t *digest,
			    uint64_t size)
{
	int ret;

	pthread_mutex_lock(&dir->lists_lock->mutex);
	ret = note_unsynced(dir, name, digest, size);
	pthread_mutex_unlock(&dir->lists_lock->mutex);
	return ret;
}

static int fsync_one(const struct image_dir *dir, const char *name)
{
	_cleanup_close_ int fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	/* Removed since (the pages of a task whose mm failed): nothing to keep. */
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fsync(fd))
		return pr_errno_ret("cannot sync %s/%s", dir->path, name);
	return 0;
}

/* The renames that put the files in place. */
static int fsync_dir(const struct image_dir *dir)
{
	if (fsync(dir->fd))
		return pr_errno_ret("cannot sync image directory %s", dir->path);
	return 0;
}

/* Threads that fsync at once. Each fsync ends with a flush of the disk's
 * cache; flushes asked for together are merged by the block layer, so the
 * files of a small dump wait for about one instead of one each. */
#define FSYNC_THREADS 8

struct fsync_run {
	const struct image_dir *dir;
	atomic_size_t next;
	atomic_int err;		/* the first failure */
};

/* Jobs 0 to nr_unsynced - 1 are the files, job nr_unsynced the directory:
 * its renames are all done, so its sync need not wait for the files'. */
static void *fsync_some(void *arg)
{
	struct fsync_run *run = arg;
	const struct image_dir *dir = run->dir;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) <= dir->nr_unsynced) {
		int ret = i < dir->nr_unsynced ? fsync_one(dir, dir->unsynced[i]) : fsync_dir(dir);
		int none = 0;

		if (ret)
			atomic_compare_exchange_strong(&run->err, &none, ret);
	}
	return NULL;
}

static int fsync_each(struct image_dir *dir)
{
	struct fsync_run run = { .dir = dir };
	pthread_t threads[FSYNC_THREADS - 1];
	size_t started = 0;

	atomic_init(&run.next, 0);
	atomic_init(&run.err, 0);
	/* A thread that cannot start leaves its share to the others. */
	while (started < FSYNC_THREADS - 1 && started < dir->nr_unsynced &&
	       !pthread_create(&threads[started], NULL, fsync_some, &run))
		started++;
	fsync_some(&run);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return atomic_load(&run.err);
}

/* An fsync per file costs about a millisecond here; a tree of hundreds of
 * processes has thousands of images, and their fsyncs cost seconds. Past
 * IMG_DIR_FSYNC_MAX files one syncfs writes them all out together (0.06 s
 * for 1,200 files, where batched fsyncs took 1.3 s), at the price of
 * writing out the other dirty data of the filesystem too: for a few files
 * that price is the larger one. syncfs covers the directory's entries
 * (all the filesystem's metadata): no fsync of it after. Either way each
 * file's writeback started when it was finished (image_finish()), so the
 * wait here is for the tail. */
int image_dir_sync(struct image_dir *dir)
{
	int ret = 0;

	if (dir->nr_unsynced <= IMG_DIR_FSYNC_MAX)
		ret = fsync_each(dir);
	else if (syncfs(dir->fd))
		ret = pr_errno_ret("cannot sync the filesystem of image directory %s", dir->path);
	if (!ret)
		forget_unsynced(dir);
	return ret;
}
