/* Attaching a SysV segment in the restorer, where a mapping of it was.
 * shmat() maps a whole segment from its start, but a process may map only
 * part of it, at an offset (after munmap or mremap of part): so the whole
 * segment is attached wherever the kernel finds room, the part that was
 * mapped is moved to its place, and the rest is let go. The place is held
 * by a placeholder meanwhile, so the kernel's choice cannot overlap it. */
#include <asm/errno.h>
#include <linux/mman.h>

#include "blob/syscall.h"
#include "restorer/restorer.h"

long attach_sysv_shm(const struct restorer_vma *v)
{
	uint64_t len = v->end - v->start;
	void *hold, *whole, *moved;

	if (v->pgoff > v->shm_size || len > v->shm_size - v->pgoff)
		return -EINVAL;
	hold = sys_mmap((void *)v->start, len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (blob_is_err((unsigned long)hold))
		return (long)hold;
	whole = sys_shmat(v->shm_id, (void *)0, (int)v->shm_flags);
	if (blob_is_err((unsigned long)whole))
		return (long)whole;
	/* MREMAP_FIXED replaces the placeholder. */
	moved = sys_mremap((char *)whole + v->pgoff, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)v->start);
	sys_munmap(whole, v->shm_size);
	if (blob_is_err((unsigned long)moved))
		return (long)moved;
	return (uint64_t)moved == v->start ? 0 : -EFAULT;
}
