/* Between the filler's two files: filler.c (which task, the copies from a
 * mapping of the pages file) and filler_direct.c (cryo's segments of a cold
 * pages file, read O_DIRECT ahead). Private to restore/. */
#ifndef CRYO_RESTORE_FILLER_H
#define CRYO_RESTORE_FILLER_H

#include <stddef.h>
#include <stdint.h>

struct filler_progress {
	uint64_t bytes;		/* copied so far */
	uint64_t first_off;	/* in the pages file, of the first copied */
	uint64_t at;		/* the task's address being copied */
	uint32_t file;		/* from this pages file */
};

/* A part of cryo's: @len bytes of the pages file at @off go to @dst. */
struct filler_piece {
	uint64_t dst;
	uint64_t off;
	uint64_t len;
};

/* @len bytes at @dst (registered with @uffd) from @src, by UFFDIO_COPY,
 * waking the restorer if it waits there; 0 or -errno. */
int filler_copy_segment(int uffd, uint64_t dst, const char *src, uint64_t len);

/* Copies @pieces (in file order) from @fd, open O_DIRECT, into the task
 * through @uffd, the reads of the next segments in flight while one is
 * copied; @done says how far it went. 0 or -errno. */
int filler_copy_direct(int fd, int uffd, const struct filler_piece *pieces, size_t nr,
		       struct filler_progress *done);

#endif
