/* Shared between the files of the restorer blob; not an ABI (args.h is). */
#ifndef CRYO_RESTORER_RESTORER_H
#define CRYO_RESTORER_RESTORER_H

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

/* pages_hash.c: the running XXH3-128 of the pages file being filled, fed
 * in file order; begun again for each file. */
void pages_hash_begin(void);
void pages_hash_update(const void *buf, uint64_t len);
int pages_hash_matches(const uint8_t want[16]);

#endif
