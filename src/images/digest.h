/* The digests that bind an image set into one (digest.c). */
#ifndef CRYO_IMAGES_DIGEST_H
#define CRYO_IMAGES_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "images/image.h"
#include "images/proto/inventory.pb-c.h"

#define IMG_XXH3_SIZE 16
#define IMG_BLAKE2B_SIZE 32
#define IMG_DIGEST_MAX 32

/* XXH3-128 (fast, keyless) of an unsigned set; BLAKE2b-256 of a signed
 * one, where a forged file must not be able to match its digest. */
enum image_digest_kind {
	IMG_DIGEST_XXH3_128,
	IMG_DIGEST_BLAKE2B_256,
};

/* The digest of @kind and the size of file @name of @dir (a regular file,
 * read whole); the digest fills the first image_digest_size() bytes. */
int image_file_digest(const struct image_dir *dir, const char *name, enum image_digest_kind kind,
		      uint64_t *size, uint8_t digest[IMG_DIGEST_MAX]);
size_t image_digest_size(enum image_digest_kind kind);
/* Every file @inv lists has its size and digest, and every image file of
 * @dir but the inventory is listed; else refused, naming the file. A set
 * with a MAC (signed) is checked with BLAKE2b; the MAC is not checked
 * here (sign.c). */
int image_set_verify(const struct image_dir *dir, const Inventory *inv);

#endif
