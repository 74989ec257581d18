/* The state of a pre-copy dump, shared by precopy.c (arming, the passes)
 * and precopy_merge.c (the frozen pass placed into the pages file after
 * the release); nothing else sees it. */
#ifndef CRYO_MEM_PRECOPY_INTERNAL_H
#define CRYO_MEM_PRECOPY_INTERNAL_H

#include <sys/user.h>

#include "mem/precopy.h"

/* A thread the first seize found inside an interruptible system call. */
struct precopy_syscall {
	pid_t tid;
	struct user_regs_struct gp;
};

struct precopy_task {
	pid_t pid;
	struct image_dir *dir;
	int pidfd;		/* the process armed, to know it again */
	int uffd;		/* cryo's only copy; closing it ends the tracking */
	int pagemap_fd;
	bool unpinned;
	struct page_range *armed;	/* the ranges registered, ascending */
	size_t nr_armed;
	/* The task's own pages store, in place: the pass while it ran wrote
	 * its pages file (@first_size bytes, its ranges in @first, fd -1);
	 * the frozen pass's pages are placed into it after the release. */
	struct pages_writer *store;
	struct pages_scratch first;
	uint64_t first_size;
	bool first_done;
	struct pages_scratch frozen;	/* the frozen pass */
	bool frozen_done;
	/* What the merge takes from the first store (fd unused): ascending,
	 * disjoint from frozen's ranges. */
	struct pages_scratch kept;
	struct precopy_syscall *syscalls;	/* see precopy_fix_restart() */
	size_t nr_syscalls;
};

struct precopy {
	struct image_dir *dir;
	struct page_batch_pool *pool;	/* the dump's page buffers; NULL: none */
	struct precopy_task *tasks;
	size_t nr, cap;
};

#endif
