/* The digests that bind an image set into one (digest.c). */
#ifndef CRYO_IMAGES_DIGEST_H
#define CRYO_IMAGES_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "images/image.h"
#include "images/proto/inventory.pb-c.h"

/* The digest of @kind and the size of file @name of @dir (a regular file,
 * read whole); the digest fills the first image_digest_size() bytes. */
int image_file_digest(const struct image_dir *dir, const char *name, enum image_digest_kind kind,
		      uint64_t *size, uint8_t digest[IMG_DIGEST_MAX]);
/* A file whose digest another checks as it reads the file (the restorer,
 * a pages file): image_set_verify() checks its entry and its size only and
 * hands over the XXH3-128 the inventory lists. */
struct image_deferred_digest {
	const char *name;
	bool listed;		/* set when the inventory lists it */
	uint64_t size;
	uint8_t xxh3[IMG_XXH3_SIZE];
};

/* Every file @inv lists has its size and digest, and every image file of
 * @dir but the inventory is listed; else refused, naming the file. A set
 * with a MAC (signed) is checked with BLAKE2b; the MAC is not checked
 * here (sign.c). The @nr_deferred files of @deferred (an unsigned set
 * only) are left to their readers' digests. */
int image_set_verify(const struct image_dir *dir, const Inventory *inv,
		     struct image_deferred_digest *deferred, size_t nr_deferred);

#endif
