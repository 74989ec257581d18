/* Printing images as JSON, generically from the protobuf-c descriptors, so
 * a new kind needs no printer. Output is valid JSON whatever the bytes in
 * the image; the caller checks ferror() of the stream. */
#ifndef CRYO_IMAGES_JSON_H
#define CRYO_IMAGES_JSON_H

#include <stdio.h>

#include "images/image.h"

/* A JSON string literal, with invalid UTF-8 replaced by U+FFFD. */
void json_print_string(FILE *out, const char *s, size_t len);

/* @msg on one line: fields in schema order; optional fields only when
 * present; repeated fields as arrays; enums by name; bytes in hex;
 * floating-point values that JSON cannot express as "nan", "inf", "-inf". */
void json_print_message(FILE *out, const ProtobufCMessage *msg);

/* {"kind": ..., "version": ..., "records": [...]}, one record per line,
 * indented by @depth levels of two spaces. */
void json_print_image(FILE *out, const struct image *img, int depth);

#endif
