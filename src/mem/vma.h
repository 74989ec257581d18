/* The mappings of a task as Vma records (mm.proto): read from
 * /proc/PID/smaps, with file identities taken through /proc/PID/map_files.
 * Also which pages of each kind of mapping dump must save. Finding and
 * copying those pages is pagescan.h's and pagedump.h's job. */
#ifndef CRYO_MEM_VMA_H
#define CRYO_MEM_VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "images/proto/mm.pb-c.h"

/* Vma.madvise bits: madvise() state shown in smaps VmFlags that restore
 * reapplies. Stored in images: never renumber. */
#define VMA_MADV_DONTFORK	(1u << 0)	/* "dc": MADV_DONTFORK */
#define VMA_MADV_WIPEONFORK	(1u << 1)	/* "wf": MADV_WIPEONFORK */
#define VMA_MADV_HUGEPAGE	(1u << 2)	/* "hg": MADV_HUGEPAGE */
#define VMA_MADV_NOHUGEPAGE	(1u << 3)	/* "nh": MADV_NOHUGEPAGE */
#define VMA_MADV_DONTDUMP	(1u << 4)	/* "dd": MADV_DONTDUMP */
#define VMA_MADV_MERGEABLE	(1u << 5)	/* "mg": MADV_MERGEABLE */
#define VMA_MADV_LOCKED		(1u << 6)	/* "lo": mlock, MAP_LOCKED */
#define VMA_MADV_LOCKONFAULT	(1u << 7)	/* "lf": mlock2(MLOCK_ONFAULT), with LOCKED */
#define VMA_MADV_DROPPABLE	(1u << 8)	/* "dp": mapped with MAP_DROPPABLE (6.11) */
#define VMA_MADV_ALL		((1u << 9) - 1)

/* The bits Vma.prot and Vma.flags may hold. */
#define VMA_PROT_ALL	(PROT_READ | PROT_WRITE | PROT_EXEC)
#define VMA_FLAGS_ALL	(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_NORESERVE)

/* Mappings live below this on x86_64 (47-bit user space); only
 * [vsyscall] lies above, at a fixed address. */
#define VMA_USER_END		0x800000000000ull
#define VMA_VSYSCALL_START	0xffffffffff600000ull
#define VMA_VSYSCALL_END	0xffffffffff601000ull

/* Which pages of a mapping dump saves; the rest comes back from
 * elsewhere at restore (the file, the kernel, or an empty mapping). */
enum vma_pages {
	VMA_PAGES_NONE,		/* shared file mappings, vvar/vsyscall */
	VMA_PAGES_ALL,		/* the vDSO: every page, so restore can compare it
				 * with this kernel's and proxy its entry points */
	VMA_PAGES_ANON,		/* private anonymous: present or swapped pages */
	VMA_PAGES_COW,		/* private file: only anonymous copies of file pages */
	VMA_PAGES_SHMEM,	/* shared memory: every present or swapped page */
};

/* Whether @v maps a file object of files.img (Vma.file_id): a memfd, a
 * deleted file or shared anonymous memory, which have no path to map them
 * from at restore, so their inode is saved whole with the files; or a
 * packet socket's rings, saved with the socket. */
static inline bool vma_has_file_object(const Vma *v)
{
	return v->kind == VMA__KIND__DELETED_FILE || v->kind == VMA__KIND__MEMFD ||
	       v->kind == VMA__KIND__PACKET_RING ||
	       (v->kind == VMA__KIND__ANON && (v->flags & MAP_SHARED));
}

static inline enum vma_pages vma_pages(const Vma *vma)
{
	bool shared = vma->flags & MAP_SHARED;

	switch (vma->kind) {
	/* Shared anonymous memory and SysV segments are saved once per
	 * object, with the file objects and the SysV segments, however many
	 * processes map them. */
	case VMA__KIND__ANON:
		return shared ? VMA_PAGES_NONE : VMA_PAGES_ANON;
	case VMA__KIND__HEAP:
	case VMA__KIND__STACK:
		return VMA_PAGES_ANON;
	/* The file of a memfd or a deleted file is saved whole with the
	 * file objects (Vma.file_id): a shared mapping of it needs no pages. */
	case VMA__KIND__FILE:
	case VMA__KIND__DELETED_FILE:
	case VMA__KIND__MEMFD:
		return shared ? VMA_PAGES_NONE : VMA_PAGES_COW;
	case VMA__KIND__SYSV_SHM:
	/* A packet ring's bytes are saved with its socket (packet_ring.c). */
	case VMA__KIND__PACKET_RING:
		return VMA_PAGES_NONE;
	case VMA__KIND__VDSO:
	/* An AIO ring: its header and events, for the restorer to copy
	 * into a new ring (restorer/aio.c). */
	case VMA__KIND__AIO:
		return VMA_PAGES_ALL;
	default:
		return VMA_PAGES_NONE;
	}
}

/* Whether dump keeps @v's zero pages as zero entries: private anonymous
 * memory reads as zeros by itself, so they are left out, but not from
 * hugetlb: a huge page written with zeros only is one the process holds
 * (its Private_Hugetlb), which restore makes again. */
static inline bool vma_keeps_zero_pages(const Vma *v)
{
	return vma_pages(v) != VMA_PAGES_ANON || v->has_huge_page_size;
}

/* The mappings of a task in address order. Each Vma and its strings are
 * owned by the list. */
struct vma_list {
	size_t nr;
	size_t cap;
	Vma **vmas;
	/* Per mapping, Rss + Swap from smaps in bytes: 0 means it has no
	 * page for pagescan to look for. */
	uint64_t *resident;
	/* Per mapping, whether smaps says guard regions were installed in
	 * it ("gu"): pagescan_guards() finds where. */
	bool *guarded;
};

/* Reads the mappings of @pid. Refuses, naming the mapping, what dump
 * cannot save faithfully: SysV SHM_HUGETLB segments, device
 * (VM_IO/VM_PFNMAP) and unknown special mappings. */
int vma_list_read(pid_t pid, struct vma_list *list);

/* The same from smaps text already open as @smaps; file-backed mappings
 * are still looked up in /proc/@pid/map_files. */
int vma_list_parse(pid_t pid, FILE *smaps, struct vma_list *list);
void vma_list_free(struct vma_list *list);

/* The Vma.madvise bits of the mapping of @pid holding @addr, from its
 * smaps VmFlags; -EIO when no mapping holds it. */
int vma_madvise_at(pid_t pid, uint64_t addr, uint32_t *madvise);

/* "7f0000000000..7f0000021000 [heap]", for messages. */
void vma_label(const Vma *vma, char *buf, size_t size);
#define VMA_LABEL_MAX 320

#endif
