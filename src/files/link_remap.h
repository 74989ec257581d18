/* Link remaps (link_remap.c): the hidden link dump makes to a file whose
 * path was unlinked while other links keep it, for regfile.c. */
#ifndef CRYO_FILES_LINK_REMAP_H
#define CRYO_FILES_LINK_REMAP_H

#include "files/kind.h"

/* Links d->p's file as a free ".cryo-link-remap.N" in the folder of @path
 * (its old path), or the nearest one above that exists; its path in *@out.
 * A failed dump removes it (image_dir_note_outside()). */
int link_remap_make(const struct file_dump *d, const char *path, char **out);
/* Whether @link is an absolute path whose last part is a name
 * link_remap_make() gives: restore removes no other file. */
bool link_remap_path_ok(const char *link);
/* make_inode of @f, whose RegFile.link_remap is set: opens the file through
 * the link (O_PATH), removes the link, and keeps the inode. */
int link_remap_open(struct restore_ctx *r, const struct file_obj *f);

#endif
