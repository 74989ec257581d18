/* Saved contents as FileChunk runs, apart from file objects: the part of
 * files/contents.c that other saved bytes (SysV segments) share with the
 * contents of memfds, deleted files, shared memory and pipes. */
#ifndef CRYO_FILES_CONTENTS_H
#define CRYO_FILES_CONTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/image.h"
#include "images/proto/filedata.pb-c.h"
#include "mem/mapped_ranges.h"

/* Saves the data of @ranges of @fd (sorted, not overlapping; holes left
 * out) as runs of at most FILE_CHUNK_MAX bytes into image @kind @id of
 * @dir, written even when empty. With @huge (a hugetlbfs file, which has
 * no holes to seek and whose unmade pages read as zeros), runs of zeros
 * are left out. @who names the holder in errors ("pid 12 mapping
 * 7f..-7f.. (SysV segment 3)"). */
int contents_dump_to_image(struct image_dir *dir, enum image_kind kind, int id, int fd,
			   const struct byte_range *ranges, size_t n, bool huge, const char *who);

/* The runs of a data image @img, as an array (freed by the caller). */
int contents_runs_of(const struct image *img, const FileChunk ***out);
/* What is wrong with the runs @chunks of an object of @size bytes: one
 * reaching past @size or, with @stream, not following the one before from
 * 0 (*@at: which); NULL when nothing. */
const char *contents_runs_problem(const FileChunk *const *chunks, size_t n, uint64_t size,
				  bool stream, size_t *at);
/* Copies the runs into @mem, the object's memory (checked runs only). */
void contents_copy_runs(uint8_t *mem, const FileChunk *const *chunks, size_t n);

#endif
