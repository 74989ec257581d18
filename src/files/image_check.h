/* Checks of the files images that need nothing but the image itself, with
 * the signature of the image registry's check callbacks (images/image.h),
 * so that the registry may run them for every reader. */
#ifndef CRYO_FILES_IMAGE_CHECK_H
#define CRYO_FILES_IMAGE_CHECK_H

#include "images/image.h"

/* The fd numbers are ascending, unique and in range. */
int fds_image_check(const struct image *img, const struct image_dir *dir, int id);
/* Ids ascend from 1; each record has a known kind and exactly that kind's
 * part; flags, position and shared inodes are sane. */
int files_image_check(const struct image *img, const struct image_dir *dir, int id);
/* Runs of 1 byte to 1 MiB, sorted, not overlapping. */
int file_data_image_check(const struct image *img, const struct image_dir *dir, int id);

/* fds-PID.img, files.img, file-data-ID.img and locks.img, with their
 * checks, for the image registry. */
extern const struct image_kind_set files_image_kinds;

#endif
