/* Writes the inventory of an image set. It goes last: a directory without
 * it is an incomplete dump, and restore refuses it. With a key, it is
 * signed and its digests are BLAKE2b (images/sign.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "common/log.h"
#include "dump/dump.h"
#include "images/digest.h"
#include "images/pages.h"
#include "images/sign.h"
#include "images/proto/inventory.pb-c.h"
#include "net/net.h"

#ifndef CRYO_VERSION
#define CRYO_VERSION "0.1"
#endif

struct digests {
	FileDigest *entries, **list;
	uint8_t (*bytes)[IMG_DIGEST_MAX];
};

/* The digest of file @i of the dump: the one its writer took as it wrote,
 * if the file is still there at that size (a file the dump wrote without a
 * writer, or changed after, is read back). */
static int digest_of(const struct image_dir *dir, size_t i, enum image_digest_kind kind,
		     uint64_t *size, uint8_t digest[IMG_DIGEST_MAX])
{
	const struct image_written_digest *w = &dir->digests[i];
	struct stat st;

	if (w->known && dir->digest_kind == kind) {
		if (fstatat(dir->fd, dir->written[i], &st, AT_SYMLINK_NOFOLLOW))
			return -errno;
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == w->size) {
			*size = w->size;
			memcpy(digest, w->digest, image_digest_size(kind));
			return 0;
		}
	}
	return image_file_digest(dir, dir->written[i], kind, size, digest);
}

/* Every file this dump wrote, with its digest. */
static int digest_written(const struct image_dir *dir, Inventory *inv, struct digests *d,
			  enum image_digest_kind kind)
{
	size_t n = dir->nr_written;

	d->entries = calloc(n + 1, sizeof(*d->entries));
	d->list = calloc(n + 1, sizeof(*d->list));
	d->bytes = calloc(n + 1, sizeof(*d->bytes));
	if (!d->entries || !d->list || !d->bytes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		FileDigest *f = &d->entries[inv->n_files];
		int ret;

		file_digest__init(f);
		f->name = dir->written[i];
		ret = digest_of(dir, i, kind, &f->size, d->bytes[inv->n_files]);
		/* Written, then removed again (the pages of a task whose mm failed). */
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		if (kind == IMG_DIGEST_BLAKE2B_256) {
			f->has_blake2b_256 = true;
			f->blake2b_256.data = d->bytes[inv->n_files];
			f->blake2b_256.len = IMG_BLAKE2B_SIZE;
		} else {
			f->has_xxh3_128 = true;
			f->xxh3_128.data = d->bytes[inv->n_files];
			f->xxh3_128.len = IMG_XXH3_SIZE;
		}
		d->list[inv->n_files++] = f;
	}
	inv->files = d->list;
	return 0;
}

int dump_write_inventory(struct image_dir *dir, pid_t root_pid, struct net_run *net,
			 bool hold_lock, const struct sign_key *key,
			 const struct dump_lineage *lineage)
{
	enum image_digest_kind kind = key ? IMG_DIGEST_BLAKE2B_256 : IMG_DIGEST_XXH3_128;
	Inventory inv = INVENTORY__INIT;
	struct digests d = { 0 };
	uint8_t mac[SIGN_MAC_SIZE];
	struct image_writer *w;
	struct utsname uts;
	int ret;

	if (uname(&uts))
		return -errno;
	inv.format_version = IMG_FORMAT_VERSION;
	inv.cryo_version = CRYO_VERSION;
	inv.root_pid = root_pid;
	inv.created = (uint64_t)time(NULL);
	inv.page_size = IMG_PAGE_SIZE;
	inv.arch = uts.machine;
	inv.kernel_release = uts.release;
	/* The id every header of this dump carries (image_dir_create()). */
	inv.has_dump_id = true;
	inv.dump_id.data = dir->dump_id;
	inv.dump_id.len = IMG_DUMP_ID_SIZE;
	if (lineage && lineage->pre_dump)
		inv.has_pre_dump = inv.pre_dump = true;
	if (lineage && lineage->parent) {
		inv.has_parent_dump_id = true;
		inv.parent_dump_id.data = (uint8_t *)lineage->parent_id;
		inv.parent_dump_id.len = IMG_DUMP_ID_SIZE;
	}
	ret = net_lock_save(net, &inv, hold_lock);
	if (ret)
		return ret;
	/* Every other image durable before the inventory says the set is whole. */
	ret = image_dir_sync(dir);
	if (!ret)
		ret = digest_written(dir, &inv, &d, kind);
	if (!ret && key)
		ret = image_set_sign(&inv, key, mac);
	if (!ret)
		ret = image_open_write(dir, IMG_INVENTORY, 0, &w);
	if (!ret) {
		ret = image_write_record(w, &inv.base);
		if (ret)
			image_abort(w);
		else
			ret = image_finish(w);
	}
	free(d.entries);
	free(d.list);
	free(d.bytes);
	return ret ? ret : image_dir_sync(dir);
}
