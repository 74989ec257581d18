/* The digests that bind an image set into one (digest.c). */
#ifndef CRYO_IMAGES_DIGEST_H
#define CRYO_IMAGES_DIGEST_H

#include <stdint.h>

#include "images/image.h"
#include "images/proto/inventory.pb-c.h"

#define IMG_DIGEST_SIZE 16
#define IMG_DUMP_ID_SIZE 16

/* XXH3-128 and size of file @name of @dir (a regular file, read whole). */
int image_file_digest(const struct image_dir *dir, const char *name, uint64_t *size,
		      uint8_t digest[IMG_DIGEST_SIZE]);
/* Every file @inv lists has its size and digest, and every image file of
 * @dir but the inventory is listed; else refused, naming the file. */
int image_set_verify(const struct image_dir *dir, const Inventory *inv);

#endif
