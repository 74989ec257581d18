/* The one list of the parts that own image kinds: the program registers
 * them all before it reads or writes an image. */
#ifndef CRYO_CLI_IMAGE_KINDS_H
#define CRYO_CLI_IMAGE_KINDS_H

/* Registers the image kinds of every part; -errno (logged) on a clash,
 * which is a bug. Calling it again does nothing. */
int cryo_register_image_kinds(void);

#endif
