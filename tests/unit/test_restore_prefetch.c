/* Unit tests of restore's prefetch of the small images (restore/prefetch.c):
 * out of the page cache, every live process's core, mm, fds and pagemap
 * images are asked of the disk at once; a set in the cache is left alone,
 * and a file that is not a regular one is only opened, never read. Made on
 * /var/tmp: tmpfs keeps every page in the cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "images/image.h"
#include "kabi/kabi.h"
#include "restore/restore.h"

#define FILE_BYTES (64 * 1024)

static char dir_path[] = "/var/tmp/cryo-prefetch-XXXXXX";

/* How many pages of @name are in the page cache; -1 when that is unknown. */
static long cached_pages(const char *name)
{
	struct kabi_cachestat_range range = { 0, 0 };
	struct kabi_cachestat cs;
	char path[256];
	long n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir_path, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !syscall(__NR_cachestat, fd, &range, &cs, 0))
		n = (long)cs.nr_cache;
	if (fd >= 0)
		close(fd);
	return n;
}

/* Writes @name with FILE_BYTES of data and drops it from the page cache. */
static bool write_cold(const char *name)
{
	static char data[FILE_BYTES] = { 1 };
	char path[256];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir_path, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = write(fd, data, sizeof(data)) == sizeof(data) && !fsync(fd) &&
	     !posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return ok && cached_pages(name) == 0;
}

/* Waits up to a second for @name to be in the cache whole: the prefetch
 * only starts the reads. */
static bool becomes_cached(const char *name)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 100; i++) {
		if (cached_pages(name) == FILE_BYTES / 4096)
			return true;
		nanosleep(&nap, NULL);
	}
	return false;
}

static void remove_all(void)
{
	static const char *const names[] = { "core-10.img", "mm-10.img", "fds-10.img",
					     "pagemap-10.img", "core-11.img", "mm-11.img",
					     "core-12.img", "mm-12.img" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir_path, names[i]);
		unlink(path);
	}
	rmdir(dir_path);
}

TEST(small_images_of_a_cold_set_are_read_ahead_and_a_cached_one_left_alone)
{
	struct tree_task tasks[3] = {
		{ .pid = 10, .state = TREE_ALIVE, .parent = -1 },
		{ .pid = 11, .state = TREE_ZOMBIE, .parent = 0 },
		{ .pid = 12, .state = TREE_ALIVE, .parent = 0 },
	};
	struct tree tree = { .tasks = tasks, .nr = 3 };
	struct image_dir *dir = NULL;
	char fifo[256];

	CHECK(mkdtemp(dir_path), "cannot make %s: %s", dir_path, strerror(errno));
	CHECK_GOTO(!image_dir_open(dir_path, &dir), out, "cannot open %s", dir_path);
	CHECK_GOTO(write_cold("core-10.img") && write_cold("mm-10.img") &&
			   write_cold("fds-10.img") && write_cold("pagemap-10.img") &&
			   write_cold("core-11.img") && write_cold("core-12.img"),
		   out, "cannot write the images out of the cache (is /var/tmp tmpfs?)");
	/* A FIFO where an image should be: opened without blocking, not read. */
	snprintf(fifo, sizeof(fifo), "%s/mm-12.img", dir_path);
	CHECK_GOTO(!mkfifo(fifo, 0600), out, "cannot make %s", fifo);
	restore_prefetch_images(dir, &tree);
	CHECK_GOTO(becomes_cached("core-10.img") && becomes_cached("mm-10.img") &&
			   becomes_cached("fds-10.img") && becomes_cached("pagemap-10.img") &&
			   becomes_cached("core-12.img"),
		   out, "a live process's image was not read ahead");
	CHECK_GOTO(cached_pages("core-11.img") == 0, out, "a zombie's core was read ahead");
	/* The root's core in the cache: the set counts as cached, nothing more. */
	CHECK_GOTO(write_cold("mm-10.img") && write_cold("core-12.img"), out,
		   "cannot drop the images again");
	restore_prefetch_images(dir, &tree);
	usleep(200 * 1000);
	CHECK_GOTO(cached_pages("mm-10.img") == 0 && cached_pages("core-12.img") == 0, out,
		   "a set whose root's core is cached was read ahead");
out:
	if (dir)
		image_dir_close(dir);
	remove_all();
}
