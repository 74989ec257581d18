/* Huge page sizes of hugetlb memory as images keep them (bytes), and as
 * mmap() and memfd_create() take them (log2 in the flags). The mappings
 * themselves are vma.c's, their objects memfd.c's and shmem.c's. */
#ifndef CRYO_MEM_HUGETLB_H
#define CRYO_MEM_HUGETLB_H

#include <linux/magic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/vfs.h>

#include "kabi/kabi.h"

/* Whether @page_size is one an image may hold (a power of two from 64 KiB
 * to 1 GiB, which covers every architecture's) and divides @size. */
static inline bool huge_page_size_valid(uint64_t page_size, uint64_t size)
{
	return page_size >= (64u << 10) && page_size <= (1u << 30) &&
	       !(page_size & (page_size - 1)) && !(size % page_size);
}

/* The MAP_HUGE_* or MFD_HUGE_* bits of @page_size, for @shift
 * (MAP_HUGE_SHIFT, MFD_HUGE_SHIFT: both the kernel's
 * HUGETLB_FLAG_ENCODE_SHIFT). */
static inline unsigned huge_page_size_flag(uint64_t page_size, unsigned shift)
{
	return (unsigned)__builtin_ctzll(page_size) << shift;
}

/* The huge page size of a hugetlbfs file (its block size), 0 for any
 * other file or when @fd cannot be asked. */
static inline uint64_t hugetlbfs_page_size(int fd)
{
	struct statfs fs;

	return !fstatfs(fd, &fs) && fs.f_type == HUGETLBFS_MAGIC ? (uint64_t)fs.f_bsize : 0;
}

#endif
