/* The one header of kernel ABI definitions that the installed (6.1) uapi
 * headers lack. Each entry names the kernel that introduced it and is
 * guarded, so newer headers take precedence. No code lives here. */
#ifndef CRYO_KABI_H
#define CRYO_KABI_H

#include <fcntl.h>		/* O_EXCL, which PIDFD_THREAD is */
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/fs.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sys/ptrace.h>
#include <asm/prctl.h>

/* ---- PAGEMAP_SCAN ioctl on /proc/PID/pagemap (6.7) ------------------------ */

/* Page categories, for the pm_scan_arg masks and page_region.categories.
 * Newer headers may have the ioctl but not every category. */
#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED	(1 << 0)	/* 6.7: async uffd-wp is armed */
#endif
#ifndef PAGE_IS_WRITTEN
#define PAGE_IS_WRITTEN		(1 << 1)	/* 6.7: written since last WP */
#endif
#ifndef PAGE_IS_FILE
#define PAGE_IS_FILE		(1 << 2)	/* 6.7 */
#endif
#ifndef PAGE_IS_PRESENT
#define PAGE_IS_PRESENT		(1 << 3)	/* 6.7 */
#endif
#ifndef PAGE_IS_SWAPPED
#define PAGE_IS_SWAPPED		(1 << 4)	/* 6.7 */
#endif
#ifndef PAGE_IS_PFNZERO
#define PAGE_IS_PFNZERO		(1 << 5)	/* 6.7: maps the zero page */
#endif
#ifndef PAGE_IS_HUGE
#define PAGE_IS_HUGE		(1 << 6)	/* 6.7: PMD-mapped THP or hugetlb */
#endif
#ifndef PAGE_IS_SOFT_DIRTY
#define PAGE_IS_SOFT_DIRTY	(1 << 7)	/* 6.7 */
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1 << 8)	/* 6.14: MADV_GUARD_INSTALL region */
#endif

/* prctl() (6.4): KSM for every mapping of the mm, now and to come. */
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE		67
#define PR_GET_MEMORY_MERGE		68
#endif

/* membarrier() (6.3): the REGISTER_* commands the calling mm has done. */
#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS	(1 << 9)
#endif

/* PR_SET_THP_DISABLE's flag (6.18): THP only where MADV_HUGEPAGE asks. */
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED	(1 << 1)
#endif

/* madvise() (6.1): put a range in huge pages now; glibc 2.36 lacks it. */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

/* mmap() mapping type (6.11): freed under memory pressure, never swapped. */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE		0x08
#endif
/* memfd_create() huge page sizes (4.14): linux/memfd.h has it, but
 * clashes with glibc's sys/mman.h; it is HUGETLB_FLAG_ENCODE_SHIFT, as
 * MAP_HUGE_SHIFT is. */
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT		26
#endif
/* shmget() huge page sizes (4.14): linux/shm.h has it, glibc's sys/shm.h
 * not; HUGETLB_FLAG_ENCODE_SHIFT too. */
#ifndef SHM_HUGE_SHIFT
#define SHM_HUGE_SHIFT		26
#endif

/* madvise() (6.13): accesses to the range raise SIGSEGV. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#endif

/* pm_scan_arg.flags (6.7) */
#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING	(1 << 0)	/* write-protect the pages matched */
#endif
#ifndef PM_SCAN_CHECK_WPASYNC
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)	/* fail on pages without async WP */
#endif

#ifndef PAGEMAP_SCAN
/* One run of pages [start, end) sharing the reported categories. */
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* Extensible by size: callers set size = sizeof(struct pm_scan_arg). The
 * ioctl returns the number of page_region entries filled in vec. */
struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;		/* out: where the walk stopped */
	__u64 vec;		/* struct page_region array */
	__u64 vec_len;
	__u64 max_pages;	/* 0: no limit */
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#endif

/* ---- PROCMAP_QUERY ioctl on /proc/PID/maps (6.11) ------------------------- */
#ifndef PROCMAP_QUERY
/* Bits of procmap_query.vma_flags, and of query_flags as what the mapping
 * found must have. */
#define PROCMAP_QUERY_VMA_READABLE		0x01
#define PROCMAP_QUERY_VMA_WRITABLE		0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE		0x04
#define PROCMAP_QUERY_VMA_SHARED		0x08
/* The mapping holding query_addr, else the first one above it. */
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA	0x10
#define PROCMAP_QUERY_FILE_BACKED_VMA		0x20

/* Extensible by size: callers set size = sizeof(struct procmap_query). */
struct procmap_query {
	__u64 size;
	__u64 query_flags;
	__u64 query_addr;
	__u64 vma_start;	/* out, as are the fields below but the addresses */
	__u64 vma_end;
	__u64 vma_flags;
	__u64 vma_page_size;
	__u64 vma_offset;
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;	/* in: the buffer's size; out: the name's, NUL included */
	__u32 build_id_size;
	__u64 vma_name_addr;
	__u64 build_id_addr;
};

#define PROCMAP_QUERY		_IOWR('f', 17, struct procmap_query)
#endif

/* ---- /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst;
 * never in a uapi header) ---------------------------------------------------- */
#define PME_SOFT_DIRTY		(1ULL << 55)	/* 3.11; "4" to clear_refs clears it */
#define PME_EXCLUSIVE		(1ULL << 56)	/* 4.2 */
#define PME_UFFD_WP		(1ULL << 57)	/* 5.13 */
#define PME_GUARD_REGION	(1ULL << 58)	/* 6.15 */
#define PME_FILE_OR_SHARED	(1ULL << 61)	/* 3.5 */
#define PME_SWAP		(1ULL << 62)
#define PME_PRESENT		(1ULL << 63)

/* ---- userfaultfd features, returned and requested by UFFDIO_API ----------- */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)	/* 6.4: WP also empty ptes */
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1 << 14)	/* 6.6: UFFDIO_POISON */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
/* 6.7: the kernel resolves WP faults itself and only records the write,
 * read back with PAGEMAP_SCAN PAGE_IS_WRITTEN. Implies WP_UNPOPULATED. */
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1 << 16)	/* 6.8: UFFDIO_MOVE */
#endif

/* ---- fanotify: marks of a mount namespace (6.14) ---------------------------- */
#ifndef FAN_MARK_MNTNS
#define FAN_MARK_MNTNS 0x00000110
#endif
/* fanotify_init(): events name mounts; what such a mark may ask for. */
#ifndef FAN_REPORT_MNT
#define FAN_REPORT_MNT 0x00004000
#endif
#ifndef FAN_MNT_ATTACH
#define FAN_MNT_ATTACH 0x01000000
#define FAN_MNT_DETACH 0x02000000
#endif

/* ---- ptrace ----------------------------------------------------------------- */
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
/* 5.13. Spelled with glibc's struct name (glibc 2.35 has both), so callers
 * read the same either way. */
#define PTRACE_GET_RSEQ_CONFIGURATION	0x420f

struct __ptrace_rseq_configuration {
	__u64 rseq_abi_pointer;
	__u32 rseq_abi_size;
	__u32 signature;
	__u32 flags;
	__u32 pad;
};
#endif

/* ---- arch_prctl: map a fresh vDSO where restore wants it (4.9) ------------ */
#ifndef ARCH_MAP_VDSO_64
#define ARCH_MAP_VDSO_64	0x2003
#endif

/* ---- prctl: POSIX timers created with chosen ids (6.17) ------------------ */
#ifndef PR_TIMER_CREATE_RESTORE_IDS
/* While ON, timer_create() takes the id it finds in its timer_t argument. */
#define PR_TIMER_CREATE_RESTORE_IDS	77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF	0
#define PR_TIMER_CREATE_RESTORE_IDS_ON	1
#endif

/* ---- sigaltstack flags ------------------------------------------------------ */
#ifndef SS_AUTODISARM
/* 4.7: the stack is disarmed while a handler runs on it. The kernel's is in
 * uapi linux/signal.h, which clashes with libc's signal.h. */
#define SS_AUTODISARM		(1U << 31)
#endif

/* ---- clone3 (5.3; set_tid 5.5; cgroup 5.7) --------------------------------- */
#ifndef CLONE_ARGS_SIZE_VER0
struct clone_args {
	__aligned_u64 flags;
	__aligned_u64 pidfd;
	__aligned_u64 child_tid;
	__aligned_u64 parent_tid;
	__aligned_u64 exit_signal;
	__aligned_u64 stack;
	__aligned_u64 stack_size;
	__aligned_u64 tls;
	__aligned_u64 set_tid;		/* 5.5: array of PIDs, innermost ns first */
	__aligned_u64 set_tid_size;	/* 5.5 */
	__aligned_u64 cgroup;		/* 5.7: with CLONE_INTO_CGROUP */
};
#define CLONE_ARGS_SIZE_VER0	64
#define CLONE_ARGS_SIZE_VER1	80
#define CLONE_ARGS_SIZE_VER2	88
#elif !defined(CLONE_ARGS_SIZE_VER2)
#error "linux/sched.h from 5.3-5.6: struct clone_args lacks set_tid; use headers from 5.7 or later"
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD		0x00001000	/* 5.2 */
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME		0x00000080	/* 5.6 */
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND	0x100000000ULL	/* 5.5, clone3 only */
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP	0x200000000ULL	/* 5.7, clone3 only */
#endif

/* ---- pidfds (pidfd_open 5.3) ------------------------------------------------ */
/* 6.9: pidfd_open() of one thread rather than a process. The kernel keeps it
 * in the file's f_flags, so fdinfo's "flags:" and F_GETFL show it. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD		O_EXCL
#endif
/* 6.9: pidfds are inodes of pidfs, one per process for the life of the
 * system (before, every pidfd shared one anonymous inode). */
#ifndef PID_FS_MAGIC
#define PID_FS_MAGIC		0x50494446
#endif
/* The kernel's PID_MAX_LIMIT on 64-bit: no pid is above it. */
#define KABI_PID_MAX_LIMIT	(4 * 1024 * 1024)

/* ---- cachestat (6.5) -------------------------------------------------------- */
/* How much of a file the page cache holds: a restore reads a cold pages
 * file with O_DIRECT, a warm one through the cache. */
#ifndef __NR_cachestat
#define __NR_cachestat		451
#endif
struct kabi_cachestat_range {
	__u64 off;
	__u64 len;		/* 0: to the end of the file */
};
struct kabi_cachestat {
	__u64 nr_cache;		/* pages in the page cache */
	__u64 nr_dirty;
	__u64 nr_writeback;
	__u64 nr_evicted;
	__u64 nr_recently_evicted;
};

/* ---- AIO rings (fs/aio.c: kernel-internal, in no uapi header) -------------- */
/* An io_setup() context is a ring mapped at the context's id: this header,
 * then struct io_event slots. The kernel writes tail; user space may move
 * head to reap. Its pseudo filesystem's statfs magic is the ring's magic. */
#define KABI_AIO_RING_MAGIC		0xa10a10a1
#define KABI_AIO_RING_COMPAT_FEATURES	1
#define KABI_AIO_RING_INCOMPAT_FEATURES	0
struct kabi_aio_ring {
	__u32 id;		/* the context's index in the mm's table */
	__u32 nr;		/* event slots */
	__u32 head;
	__u32 tail;
	__u32 magic;
	__u32 compat_features;
	__u32 incompat_features;
	__u32 header_length;	/* sizeof(struct kabi_aio_ring) */
};
#define KABI_AIO_EVENT_SIZE	32	/* sizeof(struct io_event) */

/* ---- capabilities ----------------------------------------------------------- */
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE	40	/* 5.9 */
#endif

/* The longest congestion control name with its NUL (TCP_CONGESTION); the
 * kernel's own TCP_CA_NAME_MAX (include/net/tcp.h), never in uapi. */
#ifndef TCP_CA_NAME_MAX
#define TCP_CA_NAME_MAX 16
#endif

/* ---- packet sockets ------------------------------------------------------- */
/* The size of the virtio-net header a packet socket adds (6.2). */
#ifndef PACKET_VNET_HDR_SZ
#define PACKET_VNET_HDR_SZ	24
#endif

/* ifa_proto of an IPv6 link-local address the kernel made (6.3). */
#ifndef IFA_PROTO_KERNEL_LL
#define IFA_PROTO_KERNEL_LL 3
#endif

#endif
