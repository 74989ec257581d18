/* Pre-copy for a dump that leaves its tree running (-R): write tracking is
 * armed while the tree is frozen (an async write-protecting userfaultfd per
 * process, taken into cryo), every page is copied while it runs again, and
 * the frozen pass then reads only the pages written since. The first pass
 * writes the process's pages file in place, the frozen pass a scratch
 * store whose pages are placed into it after the release. Which processes,
 * and when, is the dump's business (dump.c). */
#ifndef CRYO_MEM_PRECOPY_H
#define CRYO_MEM_PRECOPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "images/image.h"
#include "images/pages.h"
#include "mem/pagescan.h"

struct inj_task;
struct precopy;
struct precopy_task;
struct stats;

/* Below this much anonymous memory (RssAnon of the tree) -R dumps the
 * usual way: two seizes cost more than the copy saves. */
#define PRECOPY_MIN_BYTES (64ull << 20)

struct page_batch_pool;
/* @pool lends the page buffers of the first pass (mem/page_batch.h), which
 * the frozen pass then finds populated; NULL: none. */
int precopy_new(struct image_dir *dir, struct page_batch_pool *pool, struct precopy **out);

/* Frozen: arms write tracking in the private anonymous mappings of @task
 * (with @has_parent, a live parent in the dump, not those it may share
 * with it since fork). Where the kernel or the process does not allow it,
 * the process is left out, logged, and dumped the usual way (returns 0).
 * @unpinned: read its pages without pinning them (pagedump_read_unpinned()). */
int precopy_arm(struct precopy *pc, struct inj_task *task, bool has_parent, bool unpinned);

/* How many processes were armed. */
size_t precopy_armed(const struct precopy *pc);

/* Running: copies the pages of every armed process into its pages file.
 * A process whose copy fails (it exited, it unmapped what was being read)
 * is left out. */
void precopy_first_pass(struct precopy *pc);

/* Frozen again: the pre-copy state of live process @pid, or NULL when it
 * has none (not armed, or not the process that was: its pidfd is dead). */
struct precopy_task *precopy_task(struct precopy *pc, pid_t pid);

/* The frozen pass of @pt, called by the memory dump: its pages go to a
 * scratch store (precopy_frozen_open/_done). For a mapping the first pass
 * copied (precopy_tracks()), precopy_scan_vma() replaces pagescan_vma():
 * it puts the same pages into @out, less those the first pass holds and
 * nobody wrote since, which the merge takes from there. */
int precopy_frozen_open(struct precopy_task *pt, struct pages_writer **out);
bool precopy_tracks(const struct precopy_task *pt, const Vma *v, bool guarded);
int precopy_scan_vma(struct precopy_task *pt, const Vma *v, struct page_ranges *out);
int precopy_frozen_done(struct precopy_task *pt, struct pages_writer *pw);

/* A thread the first seize interrupted in a system call such as nanosleep
 * ran on through restart_syscall, whose kernel state no image keeps
 * (restored, it would return EINTR). Where @tid is still in that same call
 * (its instruction and arguments), its saved registers name the call
 * itself again, which restore re-enters. */
void precopy_fix_restart(const struct precopy_task *pt, pid_t tid, struct user_regs_struct *gp);

/* After the release: stops tracking (the userfaultfds closed), then
 * completes pages-PID.img of every process with its frozen pass's pages
 * and writes its pagemap-PID.img. Pages kept from the first pass count in
 * @st. */
int precopy_finish(struct precopy *pc, struct stats *st);

void precopy_free(struct precopy *pc);

#endif
