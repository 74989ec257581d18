/* Unit tests of how an image set reaches the disk before its sync: a
 * buffered pages file's writeback is started as it is written, every
 * finished file's when it is finished (however many), and a pages file
 * goes O_DIRECT only from the directory's threshold on. Read through
 * cachestat(), on a disk filesystem: tmpfs has no writeback. */
#include <errno.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "harness.h"
#include "test_images_util.h"
#include "kabi/kabi.h"

#define PS IMG_PAGE_SIZE

/* A scratch directory on a filesystem with writeback: $TMPDIR or /tmp,
 * else /var/tmp; NULL if none is. */
static char *disk_temp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *parents[] = { tmp ? tmp : "/tmp", "/var/tmp" };
	struct statfs sfs;
	char *path;

	for (size_t i = 0; i < 2; i++) {
		if (statfs(parents[i], &sfs) || sfs.f_type == TMPFS_MAGIC ||
		    sfs.f_type == RAMFS_MAGIC)
			continue;
		if (asprintf(&path, "%s/cryo-sync-XXXXXX", parents[i]) < 0)
			return NULL;
		if (mkdtemp(path))
			return path;
		free(path);
	}
	return NULL;
}

/* The page cache's count of @name in @dir: 0, or -errno. */
static int cache_of(const struct image_dir *dir, const char *name, uint64_t off, uint64_t len,
		    struct kabi_cachestat *cs)
{
	struct kabi_cachestat_range range = { off, len };
	_cleanup_close_ int fd = openat(dir->fd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || syscall(__NR_cachestat, fd, &range, cs, 0))
		return -errno;
	return 0;
}

static uint8_t *pattern(size_t size)
{
	uint8_t *buf;

	if (posix_memalign((void **)&buf, PS, size))
		return NULL;
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 13 + i / PS);
	return buf;
}

/* 8 MiB in 1 MiB writes, the file not finished: its bytes are in the
 * cache (not direct, under 64 MiB), and no more than the last chunk of
 * them waits there for writeback to start. */
TEST(pages_file_heads_for_the_disk_as_it_is_written)
{
	_cleanup_tree_ char *tmp = disk_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ uint8_t *src = pattern(1u << 20);
	const uint64_t size = 8u << 20;
	struct image_writer *w;
	struct kabi_cachestat cs;
	int ret;

	if (!tmp) {
		harness_skip("no scratch directory on a filesystem with writeback");
		return;
	}
	CHECK(src && !image_dir_create(tmp, &dir), "scratch directory");
	CHECK(!image_open_write(dir, IMG_PAGES, 1, &w), "open");
	for (uint64_t off = 0; off < size; off += 1u << 20)
		CHECK(!image_write_raw(w, src, 1u << 20), "write at %llu",
		      (unsigned long long)off);
	ret = cache_of(dir, ".pages-1.img.tmp", 0, 0, &cs);
	image_abort(w);
	CHECK(!ret, "cachestat: %s", strerror(-ret));
	CHECK(cs.nr_cache == size / PS, "%llu of %llu pages in the cache: not written buffered",
	      (unsigned long long)cs.nr_cache, (unsigned long long)(size / PS));
	CHECK(cs.nr_dirty <= (1u << 20) / PS,
	      "%llu pages dirty, their writeback not started while written",
	      (unsigned long long)cs.nr_dirty);
}

/* Past IMG_DIR_FSYNC_MAX files the sync is one syncfs, which would find
 * them all still dirty: each one's writeback starts when it is finished. */
TEST(every_finished_file_heads_for_the_disk_before_the_sync)
{
	_cleanup_tree_ char *tmp = disk_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ uint8_t *src = pattern(64u << 10);
	const int files = IMG_DIR_FSYNC_MAX + 6;
	uint64_t dirty = 0, cached = 0;
	struct image_writer *w;

	if (!tmp) {
		harness_skip("no scratch directory on a filesystem with writeback");
		return;
	}
	CHECK(src && !image_dir_create(tmp, &dir), "scratch directory");
	for (int i = 1; i <= files; i++) {
		CHECK(!image_open_write(dir, IMG_PAGES, i, &w), "open %d", i);
		CHECK(!image_write_raw(w, src, 64u << 10) && !image_finish(w), "write %d", i);
	}
	for (int i = 1; i <= files; i++) {
		struct kabi_cachestat cs;
		char name[64];
		int ret;

		snprintf(name, sizeof(name), "pages-%d.img", i);
		ret = cache_of(dir, name, 0, 0, &cs);
		CHECK(!ret, "cachestat of %s: %s", name, strerror(-ret));
		dirty += cs.nr_dirty;
		cached += cs.nr_cache;
	}
	CHECK(cached == (uint64_t)files * (64u << 10) / PS, "%llu pages cached",
	      (unsigned long long)cached);
	CHECK(!dirty, "%llu pages of %d finished files dirty before the sync",
	      (unsigned long long)dirty, files);
	CHECK(!image_dir_sync(dir) && dir->nr_unsynced == 0, "sync");
}

/* The threshold is the directory's: from it on the bytes bypass the cache
 * (ext4 takes O_DIRECT), below it they go through it. */
TEST(pages_file_goes_direct_from_the_directorys_threshold)
{
	_cleanup_tree_ char *tmp = disk_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	_cleanup_free_ uint8_t *src = pattern(1u << 20);
	struct kabi_cachestat before, past;
	struct image_writer *w;
	struct statfs sfs;

	if (!tmp) {
		harness_skip("no scratch directory on a filesystem with writeback");
		return;
	}
	CHECK(!statfs(tmp, &sfs), "statfs %s", tmp);
	if (sfs.f_type != EXT4_SUPER_MAGIC) {
		harness_skip("%s is not ext4, known to take O_DIRECT", tmp);
		return;
	}
	CHECK(src && !image_dir_create(tmp, &dir), "scratch directory");
	dir->direct_after = 2u << 20;
	CHECK(!image_open_write(dir, IMG_PAGES, 1, &w), "open");
	for (int i = 0; i < 4; i++)
		CHECK(!image_write_raw(w, src, 1u << 20), "write %d", i);
	CHECK(!image_finish(w), "finish");
	CHECK(!cache_of(dir, "pages-1.img", 0, 2u << 20, &before) &&
	      !cache_of(dir, "pages-1.img", 2u << 20, 2u << 20, &past), "cachestat");
	CHECK(before.nr_cache == (2u << 20) / PS, "%llu pages below the threshold cached",
	      (unsigned long long)before.nr_cache);
	CHECK(past.nr_cache == 0, "%llu pages past the threshold cached: not written direct",
	      (unsigned long long)past.nr_cache);
}
