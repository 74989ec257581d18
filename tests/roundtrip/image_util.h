/* Image sets for the negative and trust tests (image_util.c). */
#ifndef CRYO_TESTS_IMAGE_UTIL_H
#define CRYO_TESTS_IMAGE_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "cryo_driver.h"

/* A user other than root, who owns images in the trust tests. */
#define OTHER_UID 1000

/* Starts test program @prog and dumps it (it is killed), leaving the images
 * in @p->dir/img and the image's pid in @pid. */
bool make_image(struct prog *p, const char *prog, char *img, pid_t *pid);
/* The same, with @setup(@arg) run in the program's child before exec. */
bool make_image_as(struct prog *p, const char *prog, child_setup_fn setup, void *arg, char *img,
		   pid_t *pid);
/* After a failed restore: nothing of @image_pid runs, no child but @keep. */
bool nothing_restored(const struct prog *p, pid_t image_pid, pid_t keep);
bool copy_file(const char *from, const char *to);
/* A fresh copy of image directory @from in @to (removed first). */
bool copy_images(const char *from, const char *to);
/* The names of the image files in @dir, sorted. */
int list_images(const char *dir, char names[][64], int max);
/* Restores @dir, which must be refused with a message holding @key and
 * @key2 (unless NULL); no process may be left behind. */
bool restore_refused(const struct prog *p, const char *dir, pid_t image_pid,
		     const char *what, const char *key, const char *key2);
/* Restores a copy of @img after @change(path) made one thing wrong with
 * file @name of it (the directory with @name NULL): refused with @key. */
bool refused_after(const struct prog *p, const char *img, pid_t image_pid,
		   const char *name, int (*change)(const char *path), const char *key);

/* A failed dump removes what it wrote: no image and no temporary file is
 * left in @dir (a log may be). False, with why, naming the first left. */
bool no_image_files(const char *dir);

#endif
