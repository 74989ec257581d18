/* The check of the inventory image: one record, describing an image set
 * this cryo can read. What the set holds is checked by each kind. */
#include <errno.h>

#include "images/format.h"
#include "images/kinds.h"
#include "images/pages.h"
#include "images/proto/inventory.pb-c.h"

int inventory_check(const struct image *img, const struct image_dir *dir, int id)
{
	const Inventory *inv;
	size_t off;

	(void)dir;
	(void)id;
	if (img->nr_records != 1) {
		off = img->nr_records ? img->records[1].offset : IMG_HDR_SIZE;
		image_error(img->path, off, "an inventory holds one record, this one holds %zu",
			    img->nr_records);
		return -EBADMSG;
	}
	inv = (const Inventory *)img->records[0].msg;
	off = img->records[0].offset;
	if (inv->format_version != img->version) {
		image_error(img->path, off, "format version %u differs from the header's %u",
			    inv->format_version, img->version);
		return -EBADMSG;
	}
	if (inv->root_pid <= 0) {
		image_error(img->path, off, "root pid %d is not a process id", inv->root_pid);
		return -EBADMSG;
	}
	if (inv->page_size != IMG_PAGE_SIZE) {
		image_error(img->path, off, "page size %u, this cryo handles %u-byte pages",
			    inv->page_size, IMG_PAGE_SIZE);
		return -EBADMSG;
	}
	return 0;
}
