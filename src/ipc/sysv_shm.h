/* SysV shared memory segments attached by processes of a dump: saved once
 * per segment at dump (sysv-shm.img, its bytes in sysv-shm-data-ID.img),
 * made again by cryo with the same id, key, size, mode and owner before
 * any process of a restore exists, and attached by each process's restorer
 * where it had them (restorer/sysv_shm.c). The dumping and restoring cryo
 * must be in the IPC namespace of the processes. */
#ifndef CRYO_IPC_SYSV_SHM_H
#define CRYO_IPC_SYSV_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"
#include "images/proto/mm.pb-c.h"

/* Writes the segments that any of the live processes @pids has attached,
 * and their mapped bytes, into @dir; writes nothing when there is none.
 * With @whole_namespace (a tree's own IPC namespace, which cryo is in),
 * also every segment of the namespace that nobody attaches, whole.
 * Refuses (naming pid and mapping) what restore could not make again: a
 * segment of another IPC namespace, one attached by processes outside the
 * dump, one locked in memory (SHM_LOCK). */
int sysv_shm_dump(const pid_t *pids, size_t n, bool whole_namespace, struct image_dir *dir);

/* The checks of sysv-shm.img that need no other file (the image registry
 * runs them): ids ascending, sizes, modes. */
int sysv_shm_image_check(const struct image *img, const struct image_dir *dir, int id);
/* sysv-shm.img and sysv-shm-data-ID.img, with their checks, for the image
 * registry. */
extern const struct image_kind_set ipc_image_kinds;

/* The segments of a dump being restored, read and checked. */
struct sysv_shm_set;

/* Reads sysv-shm.img of @dir (none: an empty set) and the bytes of each
 * segment, all checked. */
int sysv_shm_load(const struct image_dir *dir, struct sysv_shm_set **out);
/* Checks a SysV mapping of @pid against its segment: saved, same key and
 * size, within it. */
int sysv_shm_check_vma(const struct sysv_shm_set *set, pid_t pid, const Vma *v);
/* In cryo, before any process exists: refuses if any id is taken, or the
 * key of a segment not marked for removal, then makes every segment with
 * its id and fills it (a removed one whose key is taken now, with
 * IPC_PRIVATE). On failure, what was made is removed again. */
int sysv_shm_create(struct sysv_shm_set *set);
/* Calls @add for each segment of huge pages (SHM_HUGETLB) in @set, with
 * its id, page size and the pages it reserves when made (all of them),
 * until one returns non-zero, which it returns. */
int sysv_shm_each_huge(const struct sysv_shm_set *set,
		       int (*add)(void *ctx, int id, uint64_t page_size, uint64_t pages), void *ctx);
/* Once every process has attached its segments: marks for removal those
 * that were. */
int sysv_shm_finish(struct sysv_shm_set *set);
/* After a failed restore: removes every segment sysv_shm_create() made. */
void sysv_shm_remove_created(struct sysv_shm_set *set);
void sysv_shm_free(struct sysv_shm_set *set);

#endif
