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

/* The running XXH3 as libxxhash's XXH3_state_t (@size bytes), for a
 * freestanding XXH3 to go on with in another address space (the parasite,
 * blob/xxh3.h): made self-contained first, its secret copied in rather
 * than pointed to. Import takes it back once checked, so that libxxhash
 * never indexes outside its buffers. -EOPNOTSUPP for BLAKE2b. */
int image_hasher_export(struct image_hasher *h, void *state, size_t size);
int image_hasher_import(struct image_hasher *h, const void *state, size_t size);

#endif
