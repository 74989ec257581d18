/* Write tracking with an async write-protecting userfaultfd (6.7): made in
 * a seized task, taken into cryo, ranges registered and their pages
 * protected, and whether a mapping is armed. A write to a protected page
 * is resolved by the kernel alone (it clears the page's uffd-wp bit), so
 * the task never waits on whoever holds the userfaultfd. Used by -R's
 * pre-copy (precopy.c) and by tracking across dumps (track.c); what to do
 * with the written bits is theirs. */
#ifndef CRYO_MEM_UFFD_WP_H
#define CRYO_MEM_UFFD_WP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct inj_task;

/* A userfaultfd made by @task itself (it belongs to the task's mm, which
 * its ioctls act on whoever calls them), taken into cryo by pidfd_getfd
 * through @pidfd and closed in the task again, with async write
 * protection enabled. User-mode only: no privilege is needed. */
int uffd_wp_take(struct inj_task *task, int pidfd, int *out);

/* Registers [@start, @end) for write protection: 0 when it is, or already
 * was, @uffd's; -EBUSY when another userfaultfd has it, -EINVAL for a
 * kind the kernel will not protect, -ESRCH when the mm @uffd belongs to
 * is gone (its process exec'd or exited). */
int uffd_wp_register(int uffd, uint64_t start, uint64_t end);

/* Protects the pages present or swapped in [@start, @end) of the mm
 * @pagemap_fd reads (holes are left alone: protecting them would fill
 * page tables over whole reservations). */
int uffd_wp_protect(int pagemap_fd, uint64_t start, uint64_t end);

/* Walks the pages to save in [@start, @end) of @pid's mm (@pagemap_fd:
 * present or swapped, not the zero page), in ascending runs, calling @fn
 * with each run and whether its pages were written since they were
 * protected, until @fn returns non-zero. One PAGEMAP_SCAN per 1024 runs. */
int uffd_wp_scan_written(int pagemap_fd, pid_t pid, uint64_t start, uint64_t end,
			 int (*fn)(uint64_t start, uint64_t end, bool written, void *arg),
			 void *arg);

/* Whether the mapping holding @addr is registered with some async
 * write-protecting userfaultfd (PM_SCAN_CHECK_WPASYNC). */
bool uffd_wp_async_registered(int pagemap_fd, uint64_t addr);

/* Whether a line of /proc/PID/maps (@perms, @inode, @name) is private
 * anonymous memory: what both trackers arm. */
bool uffd_wp_maps_line_anon(const char *perms, unsigned long inode, const char *name);

/* Calls @fn for each private anonymous mapping /proc/@pid/maps lists, in
 * ascending order, until it returns non-zero. maps, not smaps: smaps would
 * walk every page table of the task for its counts, while it is frozen. */
int uffd_wp_for_each_anon(pid_t pid, int (*fn)(uint64_t start, uint64_t end, void *arg),
			  void *arg);

#endif
