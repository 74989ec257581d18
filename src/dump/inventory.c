/* Writes the inventory of an image set. It goes last: a directory without
 * it is an incomplete dump, and restore refuses it. */
#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

#include "dump/dump.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"

#ifndef CRYO_VERSION
#define CRYO_VERSION "0.1"
#endif

int dump_write_inventory(struct image_dir *dir, pid_t root_pid)
{
	Inventory inv = INVENTORY__INIT;
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
	/* Every other image durable before the inventory says the set is whole. */
	ret = image_dir_sync(dir);
	if (ret)
		return ret;
	ret = image_open_write(dir, IMG_INVENTORY, 0, &w);
	if (ret)
		return ret;
	ret = image_write_record(w, &inv.base);
	if (ret) {
		image_abort(w);
		return ret;
	}
	ret = image_finish(w);
	return ret ? ret : image_dir_sync(dir);
}
