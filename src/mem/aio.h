/* AIO contexts at dump: an io_setup() ring is a mapping named "/[aio]
 * (deleted)"; this reads and checks its header into the Vma. Its pages are
 * saved whole like any others (vma.h); restoring it is the restorer's. */
#ifndef CRYO_MEM_AIO_H
#define CRYO_MEM_AIO_H

#include <stdbool.h>
#include <sys/types.h>

#include "images/proto/mm.pb-c.h"

struct vma_list;

/* Whether the smaps entry of @pid at @start..@end named @name is an AIO
 * ring: its name, and the aio pseudo filesystem behind it. */
bool aio_is_ring(pid_t pid, uint64_t start, uint64_t end, const char *name);

/* Reads the ring header at @v->start of the (stopped) task @pid into
 * @v's aio fields; a header the kernel would not have written is refused. */
int aio_ring_read(pid_t pid, Vma *v);

/* After the pages were copied: a ring whose head or tail moved since
 * aio_ring_read() had requests in flight (completed meanwhile), which
 * cryo cannot save; refused naming the ring. */
int aio_rings_unchanged(pid_t pid, const struct vma_list *vmas);

#endif
