/* The per-kind checks that the registry in kinds.c points to. Private to
 * the images library: callers reach them through image_read(). */
#ifndef CRYO_IMAGES_KINDS_H
#define CRYO_IMAGES_KINDS_H

#include "images/image.h"

int inventory_check(const struct image *img, const struct image_dir *dir, int id);
int pagemap_check(const struct image *img, const struct image_dir *dir, int id);

#endif
