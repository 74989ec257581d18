/* A running digest of one image file, of either kind (hasher.c), fed with
 * the bytes as they go by: by the image writer as it writes them, by the
 * digest pass when it reads a file back. */
#ifndef CRYO_IMAGES_HASHER_H
#define CRYO_IMAGES_HASHER_H

#include <stddef.h>
#include <stdint.h>

#include "images/image.h"

struct image_hasher;

/* NULL (logged) without memory or when libsodium cannot start. */
struct image_hasher *image_hasher_new(enum image_digest_kind kind);
int image_hasher_update(struct image_hasher *h, const void *buf, size_t len);
/* Writes the digest (image_digest_size() bytes of @digest) and frees @h. */
void image_hasher_final(struct image_hasher *h, uint8_t digest[IMG_DIGEST_MAX]);
void image_hasher_free(struct image_hasher *h);

#endif
