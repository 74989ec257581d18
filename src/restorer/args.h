/* What the restore code hands to the restorer blob: one block of fixed-width
 * fields, built by the new task itself just before it jumps into the blob,
 * inside the area the blob keeps while everything else is unmapped. Pointers
 * are absolute addresses inside that area. Freestanding-safe. */
#ifndef CRYO_RESTORER_ARGS_H
#define CRYO_RESTORER_ARGS_H

#include <stdint.h>

/* A mapping to recreate: mmap(start, end - start, prot, flags | MAP_FIXED, fd, pgoff),
 * or bytes pgoff.. of a SysV segment attached there (shm_id >= 0). */
struct restorer_vma {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	int32_t fd;		/* -1 for anonymous memory */
	uint32_t prot;
	uint32_t flags;
	uint32_t madvise;	/* RESTORER_MADV_* bits */
	uint32_t has_fills;	/* pages go in: map it writable until filled */
	int32_t shm_id;		/* the SysV segment to attach; -1: none */
	uint64_t shm_size;	/* its size rounded up to whole pages */
	uint32_t shm_flags;	/* SHM_RDONLY or 0 */
	uint32_t lazy;		/* registered with the userfaultfd (lazy restore) */
	uint32_t nr_guards;	/* guard regions to install, once filled */
	uint64_t guards;	/* their [start, end) pairs, in the area */
	/* An AIO ring (aio_nr > 0): mapped private anonymous to take its saved
	 * pages, then replaced by a new ring of aio_nr events with that head
	 * and tail and those events (restorer/aio.c). */
	uint32_t aio_nr;
	uint32_t aio_head;
	uint32_t aio_tail;
	/* Mapped by one mmap with the next VMA, which the kernel would merge
	 * with it anyway (restore/map_runs.c); its own prot comes after. */
	uint32_t map_with_next;
	/* Mapped and filled before the restore's fork of the children (pages
	 * they share): brought into place by the premap moves (below), never
	 * mapped anew. */
	uint64_t premapped;
	/* Its PR_SET_VMA_ANON_NAME name, NUL-terminated in the area; 0: none. */
	uint64_t anon_name;
};

/* The protection map_vmas() gives a VMA it mmaps: writable for now where
 * pages are to be filled in (PROT_READ | PROT_WRITE, spelled as numbers:
 * this header is freestanding). */
static inline uint32_t restorer_vma_map_prot(const struct restorer_vma *v)
{
	return v->prot | (v->has_fills ? 0x1u | 0x2u : 0);
}

/* Whether map_vmas() mmaps the VMA itself (not attached, not moved into
 * place, not replaced by an AIO ring afterwards). */
static inline int restorer_vma_mmapped(const struct restorer_vma *v)
{
	return v->shm_id < 0 && !v->premapped && !v->aio_nr;
}

/* A piece of a premapped mapping: @len bytes moved from @from to @to
 * (mremap, which keeps the pages and their sharing). */
struct restorer_move {
	uint64_t from, to, len;
};

/* Advice to apply once a mapping is filled; each bit is one MADV_* call. */
#define RESTORER_MADV_DONTFORK (1u << 0)
#define RESTORER_MADV_WIPEONFORK (1u << 1)
#define RESTORER_MADV_HUGEPAGE (1u << 2)
#define RESTORER_MADV_NOHUGEPAGE (1u << 3)
#define RESTORER_MADV_DONTDUMP (1u << 4)
#define RESTORER_MADV_MERGEABLE (1u << 5)
/* Not advice: mlock2() last, with MLOCK_ONFAULT for LOCKONFAULT. */
#define RESTORER_MADV_LOCKED (1u << 6)
#define RESTORER_MADV_LOCKONFAULT (1u << 7)

/* A task's pages files: one, or the two of a large dump (images/pages.h's
 * PAGES_FILES_MAX). */
#define RESTORER_PAGES_FILES 2

/* Page contents to put back: @len bytes at @addr from pages file @file at
 * @file_off, or zeros when @file_off is RESTORER_FILL_ZERO. */
struct restorer_fill {
	uint64_t addr;
	uint64_t len;
	uint64_t file_off;
	uint32_t file;		/* below args.nr_pages_files */
	/* Set by the restorer: registered with its userfaultfd and read
	 * ahead through the stream (args.read_ahead). */
	uint32_t streamed;
	/* The pages are there already (a premapped mapping, read before the
	 * fork): only hashed, from memory, in the file's order. */
	uint32_t in_place;
	/* Hugetlb memory: read into as it is, neither UFFDIO_COPY (which
	 * wants whole huge pages) nor populated (the reads fault each huge
	 * page in once). */
	uint32_t plain;
	/* Set by the restorer: registered with the userfaultfd it hands to
	 * cryo, which fills the segments restorer_filler_owns() gives it. */
	uint32_t by_filler;
	/* Zeros into memory that reads as zeros once there (private
	 * anonymous hugetlb: a new huge page is cleared): a byte every 4 KiB
	 * makes its pages, where writing every byte cost 0.3 s a GiB. */
	uint32_t touch_only;
};
#define RESTORER_FILL_ZERO (~0ULL)

/* With a filler (args.filler), a registered fill is cut at multiples of
 * RESTORER_FILLER_SEGMENT in the pages file; cryo copies the segments
 * this says are its own, the restorer the others, so no page is copied
 * twice and both sides tell them apart with no list. */
#define RESTORER_FILLER_SEGMENT (4ULL << 20)
static inline int restorer_filler_owns(uint64_t file_off)
{
	return (file_off / RESTORER_FILLER_SEGMENT) % 2 == 1;
}
/* The end of the segment holding @file_off, at most @end. */
static inline uint64_t restorer_filler_segment_end(uint64_t file_off, uint64_t end)
{
	uint64_t next = (file_off / RESTORER_FILLER_SEGMENT + 1) * RESTORER_FILLER_SEGMENT;

	return next < end ? next : end;
}
/* Whether cryo owns a segment of [@file_off, +@len): only then is a fill
 * shared, so the restorer holds its userfaultfd open until cryo took it
 * and copied (it waits on cryo's pages before closing it). */
static inline int restorer_filler_shares(uint64_t file_off, uint64_t len)
{
	uint64_t end = file_off + len;

	return restorer_filler_owns(file_off) || restorer_filler_segment_end(file_off, end) < end;
}

/* A jump written at @addr to @target: an entry point of a saved vDSO sent
 * on to the same function of this kernel's vDSO. */
struct restorer_patch {
	uint64_t addr;
	uint64_t target;
};
#define RESTORER_PATCH_SIZE 12	/* movabs $target, %rax; jmp *%rax */

/* A signal to queue again: the kernel's 128-byte siginfo. */
struct restorer_signal {
	uint8_t siginfo[128];
	int32_t tid;		/* 0: queued for the whole process */
	int32_t signo;
};

/* The kernel's struct prctl_mm_map, for PR_SET_MM_MAP. */
struct restorer_mm_map {
	uint64_t start_code, end_code;
	uint64_t start_data, end_data;
	uint64_t start_brk, brk;
	uint64_t start_stack;
	uint64_t arg_start, arg_end;
	uint64_t env_start, env_end;
	uint64_t auxv;		/* pointer to the words */
	uint32_t auxv_size;	/* in bytes */
	uint32_t exe_fd;
};

struct restorer_creds {
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint32_t nr_groups;
	uint32_t securebits;
	uint64_t groups;	/* pointer to nr_groups uint32_t */
	uint64_t cap_inheritable, cap_permitted, cap_effective, cap_bounding, cap_ambient;
	uint32_t last_cap;	/* highest capability this kernel knows */
	uint32_t dumpable;
	/* A thread's groups, other than its process's: set even in a user
	 * namespace (then as ids inside it), where the process's were set
	 * before it was entered. */
	uint32_t own_groups;
	uint32_t reserved;
};

/* One thread of the task, the main one included: what it sets for itself in
 * the restorer, and where it says how that went. The main thread is the
 * one whose @tid is the pid; every other one is created by clone3 with its
 * @tid, on @stack, inside the area. */
struct restorer_thread {
	int32_t tid;
	int32_t state;		/* futex word, RESTORER_THREAD_*, set by the thread */
	int32_t step;		/* where it failed (enum restorer_step) */
	int32_t err;		/* -errno */
	uint64_t addr;		/* the address concerned */
	uint64_t stack;		/* lowest address of its stack (0: main thread) */
	uint64_t stack_size;
	uint64_t altstack_sp;	/* altstack_size 0: none */
	uint64_t altstack_size;
	uint32_t altstack_flags;
	uint32_t has_clear_child_tid;
	uint64_t clear_child_tid;
	uint64_t robust_list;	/* 0: none */
	uint64_t robust_list_len;
	uint64_t rseq_abi;	/* 0: no rseq registration */
	uint32_t rseq_len;
	uint32_t rseq_sig;
	uint64_t creds;		/* its own struct restorer_creds; 0: the process's */
	uint32_t no_new_privs;	/* sets it (the process did not for every thread) */
	/* Fs info of its own (it did unshare(CLONE_FS)): it unshares it
	 * again, chroots into @fs_root_fd, enters @fs_cwd_fd (-1: the root is
	 * its cwd), closes both and takes @fs_umask. */
	uint32_t own_fs;
	int32_t fs_root_fd;
	int32_t fs_cwd_fd;
	uint32_t fs_umask;
	/* The thread with fs info of its own whose fs info this one shares:
	 * that thread creates it (CLONE_FS) once it entered its own. 0: the
	 * main thread creates it. */
	int32_t fs_maker;
	char comm[16];		/* "": keeps the name it inherits (the process's) */
};

#define RESTORER_THREAD_STARTING 0
#define RESTORER_THREAD_READY 1
#define RESTORER_THREAD_FAILED 2

/* How the restorer reports: the step it failed at, the errno, an address. */
enum restorer_step {
	RESTORER_STEP_DONE = 0,
	RESTORER_STEP_UNMAP,
	RESTORER_STEP_MAP,
	RESTORER_STEP_FILL,
	RESTORER_STEP_PROTECT,
	RESTORER_STEP_MADVISE,
	RESTORER_STEP_MM_MAP,
	RESTORER_STEP_VDSO,
	RESTORER_STEP_SIGNALS,
	RESTORER_STEP_RSEQ,
	RESTORER_STEP_CREDS,
	RESTORER_STEP_CLONE,
	RESTORER_STEP_ALTSTACK,
	RESTORER_STEP_ROBUST_LIST,
	RESTORER_STEP_NAME,
	RESTORER_STEP_WAIT,
	RESTORER_STEP_UFFD,
	RESTORER_STEP_SHMAT,
	RESTORER_STEP_GUARD,
	RESTORER_STEP_MLOCK,
	RESTORER_STEP_CHROOT,
	RESTORER_STEP_PAGES_DIGEST,
	RESTORER_STEP_USERNS,
	RESTORER_STEP_AIO,
	RESTORER_STEP_MLOCKALL,
	RESTORER_STEP_NO_NEW_PRIVS,
	RESTORER_STEP_THREAD_FS,
	RESTORER_STEP_ANON_NAME,
};

/* The stages every process of a restore reports through the one pipe all
 * share; cryo lets them all on to the next stage together. */
enum restorer_stage {
	RESTORE_STAGE_CREATED = 1,	/* its session, group and children exist */
	RESTORE_STAGE_PREPARED,		/* files and attributes are in place */
	RESTORE_STAGE_DONE,		/* the restorer has finished: cryo takes over */
	/* Not a stage: the restorer registered the fills marked by_filler
	 * with @uffd and waits for cryo to copy its segments (restore/filler.c). */
	RESTORE_STAGE_FILLER,
};

/* Written whole (smaller than PIPE_BUF), so reports of many processes
 * never mix. */
struct restorer_report {
	int32_t pid;
	int32_t stage;		/* enum restorer_stage */
	int32_t step;		/* -1: failed before the restorer, see message */
	int32_t err;		/* -errno, 0 when done */
	uint64_t addr;		/* the mapping or page concerned; when done,
				 * where the [vdso] now is (0: none) */
	int32_t tid;		/* the thread that failed, 0: the task as a whole */
	int32_t uffd;		/* when done: the userfaultfd of a lazy restore, -1: none;
				 * RESTORE_STAGE_FILLER: the filler's */
	uint32_t nr_fills;	/* RESTORE_STAGE_FILLER: the fill table, at @addr */
	uint32_t reserved;
	/* When done: the restorer's own area, which cryo unmaps last. */
	uint64_t area_start;
	uint64_t area_end;
	char message[256];	/* the error the restore code logged, if any */
};

struct restorer_args {
	uint64_t area_start;	/* this area: blob, args, stack */
	uint64_t area_end;
	int32_t pages_fd[RESTORER_PAGES_FILES];	/* [1] -1 with one file */
	uint32_t nr_pages_files;
	int32_t report_fd;	/* the pipe to cryo, for one struct restorer_report */

	uint64_t vmas;		/* struct restorer_vma[nr_vmas], sorted */
	uint32_t nr_vmas;
	uint32_t nr_fills;
	uint64_t fills;		/* struct restorer_fill[nr_fills] */
	uint64_t premap_moves;	/* struct restorer_move[nr_premap_moves] */
	uint32_t nr_premap_moves;
	uint32_t reserved_moves;

	/* ARCH_MAP_VDSO_64 here: at the saved [vvar] start, or elsewhere when
	 * the saved vDSO is proxied; 0 when the task had no vDSO. */
	uint64_t vdso_block_start;
	uint64_t vdso_text;	/* where [vdso] lands in that block */
	uint64_t patches;	/* struct restorer_patch[nr_patches] */
	uint32_t nr_patches;
	uint32_t reserved;

	struct restorer_mm_map mm;

	uint64_t signals;	/* struct restorer_signal[nr_signals] */
	uint32_t nr_signals;
	uint32_t has_creds;
	struct restorer_creds creds;

	uint64_t threads;	/* struct restorer_thread[nr_threads] */
	uint32_t nr_threads;
	uint32_t reserved2;

	/* Highest address user space can map: everything below the area and
	 * above it up to here is unmapped first. */
	uint64_t task_size;
	int32_t pid;
	int32_t tid;

	/* UFFDIO_API features of the userfaultfd that the VMAs marked lazy
	 * are registered with (lazy/lazy.h). */
	uint64_t uffd_features;

	/* The path (from cryo's root) to chroot() into, before the creds;
	 * 0: cryo's root stays. */
	uint64_t root_path;
	/* Or a removed root made again (O_PATH), chrooted into from inside
	 * and closed; -1: none. The cwd then goes back where it was, unless
	 * @cwd_is_root: the root is the cwd too. */
	int32_t root_fd;
	uint32_t cwd_is_root;
	/* Fs info shared with other processes (CLONE_FS) under a chroot: the
	 * first of the group reads @fs_wait_count bytes from @fs_wait_fd
	 * before it chroots, one written on @fs_signal_fd by each other one
	 * as it enters its restorer (past the last path the restore's code
	 * opens); -1: none. */
	int32_t fs_wait_fd;
	uint32_t fs_wait_count;
	int32_t fs_signal_fd;
	uint32_t reserved_fs;
	/* With verify_pages, the restorer hashes every byte of each pages
	 * file (pages_size bytes) with XXH3-128 as it reads it, the bytes no
	 * fill takes through @scratch, and fails unless the digest is
	 * @pages_digest, the inventory's (RESTORER_STEP_PAGES_DIGEST, the
	 * file's number as the address). Without, cryo checked the files
	 * before (a signed set, a lazy restore). */
	uint32_t verify_pages;
	uint32_t scratch_size;	/* bytes, whole pages */
	/* Bytes read and hashed at a time: small enough to hash them while
	 * in the cache, large enough that an O_DIRECT read keeps the disk's
	 * queue full. */
	uint64_t verify_chunk;
	uint64_t scratch;	/* page-aligned, for O_DIRECT */
	uint64_t pages_size[RESTORER_PAGES_FILES];
	uint8_t pages_digest[RESTORER_PAGES_FILES][16];
	/* Fill present ranges of at least RESTORER_COPY_FILL_MIN bytes by
	 * UFFDIO_COPY from a mapping of the pages file (a file read through
	 * the page cache; an O_DIRECT one is read straight into memory). */
	uint32_t fill_copy;
	/* The tree's user namespace, entered before the threads are made and
	 * the credentials (ids inside it) set; -1: cryo's. */
	int32_t userns_fd;
	/* Born inside it (its pid namespace is the user namespace's): the fd
	 * is only closed, and the groups are those it was born with. */
	int32_t born_in_userns;
	/* mlockall() these flags (MCL_FUTURE [| MCL_ONFAULT]) once the
	 * mappings are done; 0: not. */
	uint32_t mlockall;
	/* cryo fills part of the large copy fills (RESTORER_FILLER_SEGMENT)
	 * on another core while the restorer fills the rest; the restorer
	 * still hashes every byte, in file order, from the task's memory. */
	uint32_t filler;
	/* The pages files are read O_DIRECT (cold): the large copy fills go
	 * through restorer/fill_stream.c, several reads in flight into the
	 * restorer's buffers and each copied into place by UFFDIO_COPY. */
	uint32_t read_ahead;
};
#define RESTORER_COPY_FILL_MIN (256u << 10)

#endif
