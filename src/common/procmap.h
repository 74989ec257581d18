/* A few mappings of a process out of many, without reading all of
 * /proc/PID/maps: the PROCMAP_QUERY ioctl (6.11) asks the kernel for the
 * mapping at an address, or the next one with given protections. A process
 * of 50,000 mappings has a dozen executable ones; its maps text is 2.4 MB.
 * The maps text is read instead where the kernel lacks the ioctl. */
#ifndef CRYO_COMMON_PROCMAP_H
#define CRYO_COMMON_PROCMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/procfs.h"

/* What a mapping must be for proc_each_mapping() to pass it on: the
 * kernel's own bits for PROCMAP_QUERY, so that it skips the others. */
enum proc_mapping_need {
	PROC_MAPPING_READ = 0x01,
	PROC_MAPPING_WRITE = 0x02,
	PROC_MAPPING_EXEC = 0x04,
	PROC_MAPPING_SHARED = 0x08,
	PROC_MAPPING_FILE = 0x20,	/* backed by a file (SysV and shmem included) */
};

/* Calls @fn with each mapping of @pid that is all @need says, in address
 * order, until it returns nonzero, which is returned. The line's name is
 * only valid during the call. -errno without logging when the mappings
 * cannot be read. */
int proc_each_mapping(pid_t pid, unsigned need,
		      int (*fn)(const struct proc_maps_line *m, void *arg), void *arg);

/* The mapping of @pid that holds @addr, its name copied into @name (@size
 * bytes; a longer name is cut or left out); -ENOENT when none does, -errno without logging when
 * the mappings cannot be read. */
int proc_mapping_at(pid_t pid, uint64_t addr, struct proc_maps_line *m, char *name, size_t size);

/* The first mapping that ends above @addr (holding it, or the next one),
 * asked of @maps_fd (/proc/PID/maps, open for a series of such calls), as
 * proc_mapping_at() answers; -EOPNOTSUPP where the kernel lacks
 * PROCMAP_QUERY (the caller reads the maps text then). */
int proc_mapping_from(int maps_fd, uint64_t addr, struct proc_maps_line *m, char *name,
		      size_t size);

/* The mapping that starts highest below @addr, asked of @maps_fd as above;
 * -ENOENT when none, -EOPNOTSUPP as above. The query answers only
 * upwards: probes go down from @addr by @step, doubling, and the space
 * between the probe that found one and @addr is halved down to a page:
 * some 60 queries at most, however many mappings lie there. */
int proc_mapping_below(int maps_fd, uint64_t addr, uint64_t step, struct proc_maps_line *m,
		       char *name, size_t size);

#endif
