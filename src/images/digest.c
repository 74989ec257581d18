/* Binds the files of an image set into one: the inventory lists every
 * other file with its size and XXH3-128 digest (libxxhash), so that a set
 * with a file edited, truncated, missing, added or taken from another dump
 * is refused by name before anything is restored from it. Not a defence
 * against someone who rewrites the inventory too: that needs a key. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/digest.h"
#include "images/image.h"

#define DIGEST_CHUNK (1 << 20)

/* Reads around the page cache where the filesystem allows, as restore
 * reads the pages (a set of GiBs hashed must not evict everything else):
 * a second open with O_DIRECT of the same inode. */
static int reopen_direct(const struct image_dir *dir, const char *name, const struct stat *st)
{
	struct stat again;
	int fd = openat(dir->fd, name, O_RDONLY | O_DIRECT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && (fstat(fd, &again) || again.st_dev != st->st_dev ||
			again.st_ino != st->st_ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int image_file_digest(const struct image_dir *dir, const char *name, uint64_t *size,
		      uint8_t digest[IMG_DIGEST_SIZE])
{
	_cleanup_free_ char *shown = image_dir_file_path(dir, name);
	_cleanup_free_ uint8_t *buf = aligned_alloc(4096, DIGEST_CHUNK);
	_cleanup_close_ int fd = -1, direct = -1;
	XXH3_state_t *state = XXH3_createState();
	XXH128_canonical_t canonical;
	uint64_t done = 0;
	struct stat st;
	int ret = 0;

	if (!shown || !buf || !state) {
		XXH3_freeState(state);
		return -ENOMEM;
	}
	fd = image_open_regular(dir->fd, name, shown, &st);
	if (fd < 0) {
		XXH3_freeState(state);
		return fd;
	}
	direct = reopen_direct(dir, name, &st);
	XXH3_128bits_reset(state);
	while (!ret && done < (uint64_t)st.st_size) {
		ssize_t n = pread(direct >= 0 ? direct : fd, buf, DIGEST_CHUNK, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n ? pr_errno_ret("cannot read %s", shown) : -EIO;
		else if (XXH3_128bits_update(state, buf, (size_t)n) != XXH_OK)
			ret = -EIO;
		else
			done += (uint64_t)n;
	}
	if (ret == -EIO)
		pr_err("%s: shrank or could not be hashed while read", shown);
	if (direct < 0)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (!ret) {
		XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
		memcpy(digest, canonical.digest, IMG_DIGEST_SIZE);
		*size = done;
	}
	XXH3_freeState(state);
	return ret;
}

static const FileDigest *listed(const Inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			return inv->files[i];
	return NULL;
}

static int check_listed(const struct image_dir *dir, const FileDigest *f)
{
	uint8_t digest[IMG_DIGEST_SIZE];
	uint64_t size;
	int ret;

	if (f->xxh3_128.len != IMG_DIGEST_SIZE || strchr(f->name, '/') || !f->name[0]) {
		pr_err("%s/inventory.img: the entry of \"%s\" is not a file name with a %d-byte "
		       "digest", dir->path, f->name, IMG_DIGEST_SIZE);
		return -EBADMSG;
	}
	ret = image_file_digest(dir, f->name, &size, digest);
	if (ret == -ENOENT)
		pr_err("%s/%s: listed in the inventory, missing: an incomplete set", dir->path,
		       f->name);
	if (ret)
		return ret;
	if (size != f->size) {
		pr_err("%s/%s: %llu bytes, the inventory says %llu: truncated, grown or from "
		       "another dump", dir->path, f->name, (unsigned long long)size,
		       (unsigned long long)f->size);
		return -EBADMSG;
	}
	if (memcmp(digest, f->xxh3_128.data, IMG_DIGEST_SIZE)) {
		pr_err("%s/%s: its digest differs from the inventory's: changed since the dump, "
		       "or from another dump", dir->path, f->name);
		return -EBADMSG;
	}
	return 0;
}

/* An image file the inventory does not list was not written by this dump. */
static int check_unlisted(const struct image_dir *dir, const Inventory *inv)
{
	_cleanup_close_ int list_fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = list_fd >= 0 ? fdopendir(list_fd) : NULL;
	struct dirent *de;
	int ret = 0, id;

	if (!d)
		return pr_errno_ret("cannot list image directory %s", dir->path);
	steal_fd(list_fd);
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, "inventory.img") || !image_kind_match(de->d_name, &id) ||
		    listed(inv, de->d_name))
			continue;
		pr_err("%s/%s: not part of this dump (the inventory does not list it)", dir->path,
		       de->d_name);
		ret = -EBADMSG;
	}
	closedir(d);
	return ret;
}

int image_set_verify(const struct image_dir *dir, const Inventory *inv)
{
	int ret = 0;

	if (!inv->n_files || !inv->has_dump_id) {
		pr_err("%s/inventory.img: lists no digests of the set's files (a dump by an older "
		       "cryo): refused", dir->path);
		return -EBADMSG;
	}
	for (size_t i = 0; !ret && i < inv->n_files; i++)
		ret = check_listed(dir, inv->files[i]);
	return ret ? ret : check_unlisted(dir, inv);
}
