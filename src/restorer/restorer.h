/* Shared between the files of the restorer blob; not an ABI (args.h is). */
#ifndef CRYO_RESTORER_RESTORER_H
#define CRYO_RESTORER_RESTORER_H

#include <linux/aio_abi.h>

#include "restorer/args.h"

/* main.c: takes on the saved credentials @c (the process's, a->creds, or
 * a thread's own) in the calling thread (raw setresuid and the like act on
 * it alone); 0 or -errno. */
long restore_creds(const struct restorer_args *a, const struct restorer_creds *c);

/* uffd.c: in a lazy restore, registers the mappings marked lazy with a
 * new userfaultfd, whose number goes to *@uffd (untouched when none is
 * marked). On failure, -errno with the address concerned in *@addr. */
long register_lazy_vmas(const struct restorer_args *a, int32_t *uffd, uint64_t *addr);

/* sysv_shm.c: attaches bytes pgoff.. of the SysV segment of @v at its
 * place, which holds nothing of the task yet; 0 or -errno. */
long attach_sysv_shm(const struct restorer_vma *v);

/* aio.c: replaces the anonymous mapping @v that holds a saved AIO ring's
 * pages by a new context's ring, at the same address (the context's id),
 * with the same head, tail and events; 0 or -errno. */
long restore_aio_ring(const struct restorer_vma *v);

/* threads.c */
/* What a thread sets for itself: sigaltstack, clear_child_tid, robust list,
 * rseq, name, no_new_privs. On failure, 0 or -errno with *step and *addr saying where. */
long thread_own_state(const struct restorer_thread *t, int32_t *step, uint64_t *addr);
/* Creates every thread but the main one with its tid; each sets its own
 * state and credentials, says so and pauses. On failure, the step, errno,
 * address and tid go to @report. */
long create_threads(const struct restorer_args *a, struct restorer_report *report);
/* Waits until every created thread is ready; a thread's failure becomes
 * the report's. */
long wait_threads(const struct restorer_args *a, struct restorer_report *report);
/* The main thread's entry in the thread table, or 0. */
const struct restorer_thread *main_thread(const struct restorer_args *a);

/* fill_copy.c: a userfaultfd for copy_fill_range(), or -errno. */
long copy_fill_open(void);
/* Fills @len bytes at @dst from pages file @pages_fd at @off by UFFDIO_COPY,
 * hashing them when a->verify_pages; *@done says how many bytes are filled
 * (and hashed). 0, or -errno with the rest left to the caller, or
 * -ENOTRECOVERABLE when the range could not be unregistered. */
long copy_fill_range(long uffd, const struct restorer_args *a, char *dst, uint64_t len,
		     int pages_fd, uint64_t off, uint64_t *done);

/* fill_copy.c, with a filler (args.filler): opens *@uffd, registers the
 * fills it may share (marking them by_filler) and tells cryo through the
 * report pipe; 0 or -errno (*@uffd -1: no userfaultfd, nothing shared). */
long filler_begin(const struct restorer_args *a, long *uffd);
/* Fills the restorer's segments of @f, hashing or reading cryo's ones in
 * file order as they come in; 0 or -errno. */
long filler_fill(const struct restorer_args *a, long uffd, const struct restorer_fill *f);
/* Unregisters every shared fill, once all is in: 0 or -ENOTRECOVERABLE. */
long filler_end(const struct restorer_args *a, long uffd);

/* fill_copy.c: copies @len bytes from @src to @dst (registered with @uffd)
 * by UFFDIO_COPY, @chunk at a time, each chunk hashed right after when
 * @hash; the bytes done (and hashed) go to *@done. 0 or -errno. */
long copy_fill_chunks(int uffd, char *dst, const char *src, uint64_t len, uint64_t chunk,
		      int hash, uint64_t *done);
/* cryo's segment at @dst, once it is in: hashed, or each page read. */
void filler_take(const struct restorer_args *a, const char *dst, uint64_t len);

/* fill_stream.c: reading O_DIRECT pages files ahead (args.read_ahead). */
#define STREAM_SLOTS 4
#define STREAM_PLACES 8
/* Where a part of a read goes: @len bytes at @dst, in fill @fill. */
struct stream_place {
	char *dst;
	uint64_t len;
	uint32_t fill;		/* its index in args.fills */
};
/* One read of a run of the file into a buffer, for up to STREAM_PLACES
 * places (the fills of a run), or cryo's segment to wait for (@take). */
struct stream_op {
	struct iocb cb;
	uint64_t off, len;	/* in the pages file */
	uint32_t file;
	uint32_t take;		/* cryo's segment: waited for and hashed, not read */
	uint32_t submitted;
	uint32_t done;		/* the read completed, with @res */
	long res;
	uint32_t nr_places;
	struct stream_place places[STREAM_PLACES];
};
struct fill_stream {
	const struct restorer_args *a;
	long uffd;
	aio_context_t ctx;	/* 0: each read waits as it is submitted */
	char *bufs;		/* STREAM_SLOTS buffers */
	struct stream_op ops[STREAM_SLOTS];
	uint32_t head, count;	/* the oldest queued, how many are */
	uint64_t failed_at;	/* where an operation that failed was to go */
};
/* Maps the buffers, sets up AIO and registers with @uffd every fill the
 * stream takes (marking it streamed, unless by_filler); 0 or -errno. */
long stream_open(struct fill_stream *s, const struct restorer_args *a, long uffd);
/* Queues @len bytes of pages file @file at @off for @dst, in fill @fill,
 * in the read before when they follow it in the file; the oldest
 * operations complete as room is needed. 0 or -errno. */
long stream_read(struct fill_stream *s, uint32_t fill, char *dst, uint64_t len, uint32_t file,
		 uint64_t off);
/* Queues cryo's segment at @dst (a filler's): hashed in its turn. */
long stream_take(struct fill_stream *s, char *dst, uint64_t len);
/* Completes everything queued, in order; 0 or -errno. */
long stream_drain(struct fill_stream *s);
/* Waits for any read in flight, frees the buffers and unregisters the
 * streamed fills: 0, or -ENOTRECOVERABLE when one stays registered. */
long stream_close(struct fill_stream *s);
/* fill_copy.c: a filler's fill @f through the stream: the restorer's
 * segments read, cryo's taken; 0 or -errno. */
long filler_fill_stream(struct fill_stream *s, uint32_t fill);

/* pages_hash.c: the running XXH3-128 of the pages file being filled, fed
 * in file order; begun again for each file. */
void pages_hash_begin(void);
void pages_hash_update(const void *buf, uint64_t len);
int pages_hash_matches(const uint8_t want[16]);

#endif
