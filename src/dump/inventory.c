/* Writes the inventory of an image set. It goes last: a directory without
 * it is an incomplete dump, and restore refuses it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>

#include "common/log.h"
#include "dump/dump.h"
#include "images/digest.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"
#include "net/net.h"

#ifndef CRYO_VERSION
#define CRYO_VERSION "0.1"
#endif

struct digests {
	FileDigest *entries, **list;
	uint8_t (*bytes)[IMG_DIGEST_SIZE];
};

/* Every file this dump wrote, hashed as it now is on disk. */
static int digest_written(const struct image_dir *dir, Inventory *inv, struct digests *d)
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
		ret = image_file_digest(dir, f->name, &f->size, d->bytes[inv->n_files]);
		/* Written, then removed again (the pages of a task whose mm failed). */
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		f->xxh3_128.data = d->bytes[inv->n_files];
		f->xxh3_128.len = IMG_DIGEST_SIZE;
		d->list[inv->n_files++] = f;
	}
	inv->files = d->list;
	return 0;
}

int dump_write_inventory(struct image_dir *dir, pid_t root_pid, bool hold_lock)
{
	Inventory inv = INVENTORY__INIT;
	struct digests d = { 0 };
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
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
	if (getrandom(dump_id, sizeof(dump_id), 0) != sizeof(dump_id))
		return pr_errno_ret("dump: cannot draw the dump's id");
	inv.has_dump_id = true;
	inv.dump_id.data = dump_id;
	inv.dump_id.len = sizeof(dump_id);
	ret = net_lock_save(&inv, hold_lock);
	if (ret)
		return ret;
	/* Every other image durable before the inventory says the set is whole. */
	ret = image_dir_sync(dir);
	if (!ret)
		ret = digest_written(dir, &inv, &d);
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
