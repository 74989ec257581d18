/* The page dump's other way out of a task: the parasite vmsplices the
 * non-zero pages of private anonymous, readable mappings into a pipe and
 * feeds the pages file's digest, while a thread of cryo's splices the pipe
 * into the pages file (or two threads into two, for a large task). One
 * copy instead of two (process_vm_readv, write).
 * Which ranges come here, and taking turns with the buffered path, is
 * pagedump.c's. */
#ifndef CRYO_MEM_PAGESPLICE_H
#define CRYO_MEM_PAGESPLICE_H

#include <stdint.h>
#include <sys/types.h>

#include "images/pages.h"
#include "images/proto/mm.pb-c.h"

struct inj_parasite;
struct pagesplice;
struct stats;

/* -EOPNOTSUPP when the pages file's digest cannot be fed by the parasite
 * (a signed set): the caller goes on without. With @nr_files 2, the
 * pages go to two pages files (pages_open_second()) on two writer
 * threads, batch by batch. */
int pagesplice_open(struct inj_parasite *parasite, pid_t pid, struct pages_writer *pw,
		    uint32_t nr_files, struct stats *stats, struct pagesplice **out);
/* Queues pages [@start, @end) of @vma, after everything queued so far; a
 * full batch goes to the parasite. */
int pagesplice_add(struct pagesplice *ps, const Vma *vma, uint64_t start, uint64_t end);
/* Sends what is queued and waits until every byte is in the pages file:
 * after it, the task's pages are no longer referenced by the pipe, and
 * the pages writer is the caller's again. */
int pagesplice_flush(struct pagesplice *ps);
void pagesplice_counts(const struct pagesplice *ps, uint64_t *read, uint64_t *saved,
		       uint64_t *zero);
/* Stops the splicing thread and drops the pipe. */
void pagesplice_close(struct pagesplice *ps);

#endif
