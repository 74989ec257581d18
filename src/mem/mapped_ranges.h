/* Which parts of one shared memory object (a shmem inode: shared anonymous
 * memory or a SysV segment) the processes of a dump map, by file offset,
 * read from their /proc/PID/maps. Dump saves those parts of an object
 * once, however many processes map them. Not the bytes themselves. */
#ifndef CRYO_MEM_MAPPED_RANGES_H
#define CRYO_MEM_MAPPED_RANGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes [start, end) of a file. */
struct byte_range {
	uint64_t start, end;
};

/* The union of the offsets [pgoff, pgoff + length) at which the processes
 * @pids map the inode (@dev, @ino), clipped to @size, sorted and merged.
 * A pid that has exited is skipped. *@out is to be freed; 0 or -errno,
 * logged but for -ENOMEM, which the caller reports naming the pid and
 * mapping or fd that hold the object. */
int mapped_ranges_of(const pid_t *pids, size_t nr_pids, dev_t dev, ino_t ino, uint64_t size,
		     struct byte_range **out, size_t *nr);

#endif
