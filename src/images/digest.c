/* Binds the files of an image set into one: the inventory lists every
 * other file with its size and digest (XXH3-128 from libxxhash, or
 * BLAKE2b-256 from libsodium for a signed set), so that a set with a file
 * edited, truncated, missing, added or taken from another dump is refused
 * by name before anything is restored from it. Against someone who
 * rewrites the inventory too, only the key's MAC helps (sign.c). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/digest.h"
#include "images/hasher.h"
#include "images/image.h"

#define DIGEST_CHUNK (1 << 20)

/* A large file is read around the page cache where the filesystem allows,
 * as restore reads the pages (a set of GiBs hashed must not evict
 * everything else): a second open with O_DIRECT of the same inode. A small
 * one is read through the cache, where its reader has just put it: a
 * tree's thousands of small images each read again from the disk made
 * most of a restore's reading stage. */
#define DIGEST_DIRECT_MIN DIGEST_CHUNK
static int reopen_direct(const struct image_dir *dir, const char *name, const struct stat *st)
{
	struct stat again;
	int fd;

	if (st->st_size < DIGEST_DIRECT_MIN)
		return -1;
	fd = openat(dir->fd, name, O_RDONLY | O_DIRECT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &again) || again.st_dev != st->st_dev ||
			again.st_ino != st->st_ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* As large as the file, a page at least (O_DIRECT's alignment), a chunk at
 * most: a 1 MiB buffer a file was an mmap and munmap each. */
static size_t digest_buffer_size(const struct stat *st)
{
	uint64_t size = ((uint64_t)st->st_size + 4095) & ~(uint64_t)4095;

	return size < 4096 ? 4096 : size > DIGEST_CHUNK ? DIGEST_CHUNK : (size_t)size;
}

int image_file_digest(const struct image_dir *dir, const char *name, enum image_digest_kind kind,
		      uint64_t *size, uint8_t digest[IMG_DIGEST_MAX])
{
	_cleanup_free_ char *shown = image_dir_file_path(dir, name);
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1, direct = -1;
	struct image_hasher *h;
	uint64_t done = 0;
	size_t buf_size;
	struct stat st;
	int ret = 0;

	if (!shown)
		return -ENOMEM;
	fd = image_open_regular(dir->fd, name, shown, &st);
	if (fd < 0)
		return fd;
	buf_size = digest_buffer_size(&st);
	buf = aligned_alloc(4096, buf_size);
	if (!buf)
		return -ENOMEM;
	h = image_hasher_new(kind);
	if (!h)
		return -ENOMEM;
	direct = reopen_direct(dir, name, &st);
	while (!ret && done < (uint64_t)st.st_size) {
		ssize_t n = pread(direct >= 0 ? direct : fd, buf, buf_size, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n ? pr_errno_ret("cannot read %s", shown) : -EIO;
		else if (image_hasher_update(h, buf, (size_t)n))
			ret = -EIO;
		else
			done += (uint64_t)n;
	}
	if (ret == -EIO)
		pr_err("%s: shrank or could not be hashed while read", shown);
	if (direct < 0 && st.st_size >= DIGEST_DIRECT_MIN)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (!ret) {
		image_hasher_final(h, digest);
		*size = done;
	} else {
		image_hasher_free(h);
	}
	return ret;
}

/* The inventory's entries and the deferred digests, sorted by name: a
 * tree of 500 has ~2,500 files, and a scan of the lists for each of them
 * was 3 million strcmp() calls, 14% of cryo's CPU in a restore's loading. */
struct names_sorted {
	const FileDigest **files;
	struct image_deferred_digest **deferred;
};

static int cmp_file_name(const void *a, const void *b)
{
	const FileDigest *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int cmp_deferred_name(const void *a, const void *b)
{
	const struct image_deferred_digest *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int names_sort(struct names_sorted *n, const Inventory *inv,
		      struct image_deferred_digest *deferred, size_t nr_deferred)
{
	n->files = malloc((inv->n_files + 1) * sizeof(*n->files));
	n->deferred = malloc((nr_deferred + 1) * sizeof(*n->deferred));
	if (!n->files || !n->deferred)
		return -ENOMEM;
	for (size_t i = 0; i < inv->n_files; i++)
		n->files[i] = inv->files[i];
	for (size_t i = 0; i < nr_deferred; i++)
		n->deferred[i] = &deferred[i];
	qsort(n->files, inv->n_files, sizeof(*n->files), cmp_file_name);
	qsort(n->deferred, nr_deferred, sizeof(*n->deferred), cmp_deferred_name);
	return 0;
}

static bool listed(const struct names_sorted *n, const Inventory *inv, const char *name)
{
	FileDigest key = { .name = (char *)name };
	const FileDigest *k = &key;

	return bsearch(&k, n->files, inv->n_files, sizeof(*n->files), cmp_file_name) != NULL;
}

static struct image_deferred_digest *deferred_named(const struct names_sorted *n,
						    size_t nr_deferred, const char *name)
{
	struct image_deferred_digest key = { .name = name }, *k = &key, **found;

	found = bsearch(&k, n->deferred, nr_deferred, sizeof(*n->deferred), cmp_deferred_name);
	return found ? *found : NULL;
}

static int size_mismatch(const struct image_dir *dir, const FileDigest *f, uint64_t size)
{
	pr_err("%s/%s: %llu bytes, the inventory says %llu: truncated, grown or from "
	       "another dump", dir->path, f->name, (unsigned long long)size,
	       (unsigned long long)f->size);
	return -EBADMSG;
}

/* Its size now; its digest is its reader's to check. */
static int defer_listed(const struct image_dir *dir, const FileDigest *f,
			struct image_deferred_digest *d)
{
	_cleanup_free_ char *shown = image_dir_file_path(dir, f->name);
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!shown)
		return -ENOMEM;
	fd = image_open_regular(dir->fd, f->name, shown, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size != f->size)
		return size_mismatch(dir, f, (uint64_t)st.st_size);
	d->listed = true;
	d->size = f->size;
	memcpy(d->xxh3, f->xxh3_128.data, IMG_XXH3_SIZE);
	return 0;
}

static int check_listed(const struct image_dir *dir, const FileDigest *f,
			enum image_digest_kind kind, const struct names_sorted *names,
			size_t nr_deferred)
{
	struct image_deferred_digest *deferred = kind == IMG_DIGEST_XXH3_128 ?
							 deferred_named(names, nr_deferred, f->name) :
							 NULL;
	const ProtobufCBinaryData *want = kind == IMG_DIGEST_BLAKE2B_256 ? &f->blake2b_256 :
									 &f->xxh3_128;
	bool present = kind == IMG_DIGEST_BLAKE2B_256 ? f->has_blake2b_256 : f->has_xxh3_128;
	size_t len = image_digest_size(kind);
	uint8_t digest[IMG_DIGEST_MAX];
	uint64_t size;
	int ret;

	if (!present || want->len != len || strchr(f->name, '/') || !f->name[0]) {
		pr_err("%s/inventory.img: the entry of \"%s\" is not a file name with a %zu-byte "
		       "%s digest", dir->path, f->name, len,
		       kind == IMG_DIGEST_BLAKE2B_256 ? "BLAKE2b" : "XXH3");
		return -EBADMSG;
	}
	ret = deferred ? defer_listed(dir, f, deferred) : 1;
	if (ret == 1)
		ret = image_file_digest(dir, f->name, kind, &size, digest);
	else if (!ret)
		return 0;
	if (ret == -ENOENT)
		pr_err("%s/%s: listed in the inventory, missing: an incomplete set", dir->path,
		       f->name);
	if (ret)
		return ret;
	if (size != f->size)
		return size_mismatch(dir, f, size);
	if (memcmp(digest, want->data, len)) {
		pr_err("%s/%s: its digest differs from the inventory's: changed since the dump, "
		       "or from another dump", dir->path, f->name);
		return -EBADMSG;
	}
	return 0;
}

/* An image file the inventory does not list was not written by this dump. */
static int check_unlisted(const struct image_dir *dir, const Inventory *inv,
			  const struct names_sorted *names)
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
		    listed(names, inv, de->d_name))
			continue;
		pr_err("%s/%s: not part of this dump (the inventory does not list it)", dir->path,
		       de->d_name);
		ret = -EBADMSG;
	}
	closedir(d);
	return ret;
}

int image_set_verify(const struct image_dir *dir, const Inventory *inv,
		     struct image_deferred_digest *deferred, size_t nr_deferred)
{
	enum image_digest_kind kind = inv->has_mac ? IMG_DIGEST_BLAKE2B_256 : IMG_DIGEST_XXH3_128;
	struct names_sorted names = { NULL, NULL };
	int ret = 0;

	if (!inv->n_files || !inv->has_dump_id) {
		pr_err("%s/inventory.img: lists no digests of the set's files (a dump by an older "
		       "cryo): refused", dir->path);
		return -EBADMSG;
	}
	ret = names_sort(&names, inv, deferred, nr_deferred);
	for (size_t i = 0; !ret && i < inv->n_files; i++)
		ret = check_listed(dir, inv->files[i], kind, &names, nr_deferred);
	if (!ret)
		ret = check_unlisted(dir, inv, &names);
	free(names.files);
	free(names.deferred);
	return ret;
}
