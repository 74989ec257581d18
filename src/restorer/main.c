/* The restorer: the last stage of restoring a task, run inside it after the
 * restore code has put back its files and attributes. It replaces the whole
 * address space with the saved one (keeping only its own area), fills the
 * pages, sets the mm fields, maps the vDSO where it was, creates the other
 * threads (threads.c) and waits until each has set itself up, queues
 * pending signals, sets the main thread's own state, takes on the saved
 * credentials, reports to cryo and waits: cryo then sets the registers of
 * every thread through ptrace and lets the task go. */
#include <asm/errno.h>
#include <asm/fcntl.h>
#include <asm/prctl.h>
#include <linux/capability.h>
#include <linux/mman.h>
#include <linux/prctl.h>

#include "blob/syscall.h"
#include "restorer/restorer.h"

#ifndef ARCH_MAP_VDSO_64
#define ARCH_MAP_VDSO_64 0x2003
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102	/* 6.13 */
#endif
#define SECBIT_NO_SETUID_FIXUP (1u << 2)
#define USERNS_CLONE_FLAG 0x10000000 /* CLONE_NEWUSER */

static struct restorer_report report;

/* Records the first failure; every step returns it so that the entry can stop. */
static long fail(enum restorer_step step, long err, uint64_t addr)
{
	report.step = step;
	report.err = (int32_t)err;
	report.addr = addr;
	return err;
}

/* Unmaps [@from, @to) but the area. */
static long unmap_around_area(const struct restorer_args *a, uint64_t from, uint64_t to)
{
	long ret = 0;

	if (from < a->area_start && from < to)
		ret = sys_munmap((void *)from, (to < a->area_start ? to : a->area_start) - from);
	if (from < a->area_end)
		from = a->area_end;
	if (!ret && from < to)
		ret = sys_munmap((void *)from, to - from);
	return ret;
}

/* Mappings filled before the fork (pages the children share) go to their
 * places first, piece by piece, keeping their pages: the region they were
 * filled in is clear of every saved mapping, so no move lands on a piece
 * not moved yet. */
static long move_premapped(const struct restorer_args *a)
{
	const struct restorer_move *m = (const void *)a->premap_moves;

	for (uint32_t i = 0; i < a->nr_premap_moves; i++) {
		long addr = (long)sys_mremap((void *)m[i].from, m[i].len, m[i].len,
					     MREMAP_MAYMOVE | MREMAP_FIXED, (void *)m[i].to);

		if (blob_is_err((unsigned long)addr))
			return fail(RESTORER_STEP_MAP, addr, m[i].to);
		if ((uint64_t)addr != m[i].to)
			return fail(RESTORER_STEP_MAP, -EFAULT, m[i].to);
	}
	return 0;
}

/* Everything but the area and the premapped mappings, now in place. */
static long unmap_all_but_area(const struct restorer_args *a)
{
	const struct restorer_vma *v = (const void *)a->vmas;
	uint64_t from = 0;
	long ret = 0;

	for (uint32_t i = 0; !ret && i < a->nr_vmas; i++) {
		if (!v[i].premapped)
			continue;
		ret = unmap_around_area(a, from, v[i].start);
		from = v[i].end;
	}
	if (!ret && a->task_size > from)
		ret = unmap_around_area(a, from, a->task_size);
	return ret ? fail(RESTORER_STEP_UNMAP, ret, 0) : 0;
}

/* The end of the run of VMAs mapped with the one at *@i, and *@i its last. */
static uint64_t run_end(const struct restorer_args *a, uint32_t *i)
{
	const struct restorer_vma *v = (const void *)a->vmas;

	while (v[*i].map_with_next && *i + 1 < a->nr_vmas && v[*i + 1].start == v[*i].end)
		(*i)++;
	return v[*i].end;
}

/* Maps every VMA, writable for now where pages are to be filled in; a run
 * the kernel would merge anyway (map_with_next) with one mmap. */
static long map_vmas(const struct restorer_args *a)
{
	const struct restorer_vma *v = (const void *)a->vmas;

	for (uint32_t i = 0; i < a->nr_vmas; i++) {
		const struct restorer_vma *first = &v[i];
		void *addr;

		if (first->premapped)
			continue;
		if (first->shm_id >= 0) {
			long ret = attach_sysv_shm(first);

			if (ret)
				return fail(RESTORER_STEP_SHMAT, ret, first->start);
			continue;
		}
		addr = sys_mmap((void *)first->start, run_end(a, &i) - first->start,
				(int)restorer_vma_map_prot(first), (int)first->flags | MAP_FIXED,
				first->fd, (long)first->pgoff);
		if (blob_is_err((unsigned long)addr))
			return fail(RESTORER_STEP_MAP, (long)addr, first->start);
		if ((uint64_t)addr != first->start)
			return fail(RESTORER_STEP_MAP, -EFAULT, first->start);
	}
	/* The mappings hold their files now; a file shared by several is
	 * closed once and then fails quietly with EBADF. */
	for (uint32_t i = 0; i < a->nr_vmas; i++)
		if (v[i].fd >= 0)
			sys_close(v[i].fd);
	return 0;
}

/* @len bytes of pages file @file at @off into @dst, hashed on the way when
 * the pages are verified here. */
static long read_pages(const struct restorer_args *a, uint32_t file, char *dst, uint64_t len,
		       uint64_t off)
{
	while (len) {
		uint64_t want = a->verify_pages && len > a->verify_chunk ? a->verify_chunk : len;
		long n = sys_pread64(a->pages_fd[file], dst, want, off);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return fail(RESTORER_STEP_FILL, n ? n : -EIO, (uint64_t)dst);
		if (a->verify_pages)
			pages_hash_update(dst, (uint64_t)n);
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Bytes of the pages file no fill takes (a saved vDSO's pages) count in
 * its digest all the same: read through the scratch buffer. */
static long hash_skipped(const struct restorer_args *a, uint32_t file, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t len = to - from < a->scratch_size ? to - from : a->scratch_size;
		long ret = read_pages(a, file, (char *)a->scratch, len, from);

		if (ret)
			return ret;
		from += len;
	}
	return 0;
}

/* One present range from the pages file: by UFFDIO_COPY where the range
 * is large and userfaultfd takes it (no page zeroed first), else populated
 * in bulk (far cheaper than a fault per page while reading) and read into.
 * @uffd is opened at the first range that wants it; -1 until then, or
 * for good once userfaultfd is refused (the reads then do it all). */
static long fill_range(const struct restorer_args *a, long *uffd, char *dst, uint64_t len,
		       uint32_t file, uint64_t off, uint32_t plain)
{
	uint64_t done = 0;
	long ret;

	if (plain)
		return read_pages(a, file, dst, len, off);
	if (a->fill_copy && len >= RESTORER_COPY_FILL_MIN && *uffd == -1)
		*uffd = copy_fill_open();
	if (a->fill_copy && len >= RESTORER_COPY_FILL_MIN && *uffd >= 0) {
		ret = copy_fill_range(*uffd, a, dst, len, a->pages_fd[file], off, &done);
		if (ret == -ENOTRECOVERABLE)
			return fail(RESTORER_STEP_FILL, ret, (uint64_t)dst);
		if (!ret)
			return 0;
	}
	sys_madvise(dst + done, len - done, MADV_POPULATE_WRITE);
	return read_pages(a, file, dst + done, len - done, off + done);
}

/* A range cryo fills every other segment of (args.filler). */
static long fill_shared(const struct restorer_args *a, long uffd, const struct restorer_fill *f)
{
	long ret = filler_fill(a, uffd, f);

	return ret ? fail(RESTORER_STEP_FILL, ret, f->addr) : 0;
}

/* Whether fill @f is read ahead through @s (cold pages files). */
static int streams(const struct fill_stream *s, const struct restorer_fill *f)
{
	return s && (f->streamed || f->by_filler);
}

/* Fill @i queued on the stream: a filler's by segments, else whole. */
static long fill_streamed(struct fill_stream *s, uint32_t i)
{
	const struct restorer_fill *f = &((const struct restorer_fill *)s->a->fills)[i];
	long ret = f->by_filler ? filler_fill_stream(s, i) :
				  stream_read(s, i, (char *)f->addr, f->len, f->file, f->file_off);

	/* A read that failed may be of a fill queued before this one. */
	return ret ? fail(RESTORER_STEP_FILL, ret, s->failed_at ? s->failed_at : f->addr) : 0;
}

static long drain(struct fill_stream *s)
{
	long ret = s ? stream_drain(s) : 0;

	return ret ? fail(RESTORER_STEP_FILL, ret, s->failed_at) : 0;
}

/* The fills of pages file @file, in its order (the pagemap's check), so
 * that one pass hashes the whole file; the zero fills with file 0's. With
 * a stream (@s), the large fills are read ahead; whatever else reads or
 * hashes waits until the stream is done with what came before. */
static long fill_file(const struct restorer_args *a, uint32_t file, long *uffd,
		      struct fill_stream *s)
{
	const struct restorer_fill *f = (const void *)a->fills;
	uint64_t hashed = 0;
	long ret = 0;

	if (a->verify_pages)
		pages_hash_begin();
	for (uint32_t i = 0; i < a->nr_fills; i++) {
		char *dst = (char *)f[i].addr;
		uint64_t len = f[i].len, off = f[i].file_off;

		if (off == RESTORER_FILL_ZERO) {
			uint64_t step = f[i].touch_only ? 4096 : 1;

			for (uint64_t j = 0; !file && j < len; j += step)
				dst[j] = 0;
			continue;
		}
		if (f[i].file >= a->nr_pages_files)
			return fail(RESTORER_STEP_FILL, -EINVAL, (uint64_t)dst);
		if (f[i].file != file)
			continue;
		if (a->verify_pages && off < hashed)
			return fail(RESTORER_STEP_FILL, -EINVAL, (uint64_t)dst);
		if (!streams(s, &f[i]) || (a->verify_pages && off > hashed))
			ret = drain(s);
		if (!ret && a->verify_pages)
			ret = hash_skipped(a, file, hashed, off);
		/* Read before the fork: what was read is what is hashed. */
		if (!ret && f[i].in_place && a->verify_pages)
			pages_hash_update(dst, len);
		else if (!ret && streams(s, &f[i]))
			ret = fill_streamed(s, i);
		else if (!ret && f[i].by_filler)
			ret = fill_shared(a, *uffd, &f[i]);
		else if (!ret && !f[i].in_place)
			ret = fill_range(a, uffd, dst, len, file, off, f[i].plain);
		if (ret)
			return ret;
		hashed = off + len;
	}
	ret = drain(s);
	if (ret || !a->verify_pages)
		return ret;
	ret = hash_skipped(a, file, hashed, a->pages_size[file]);
	if (ret)
		return ret;
	return pages_hash_matches(a->pages_digest[file]) ?
		       0 : fail(RESTORER_STEP_PAGES_DIGEST, -EBADMSG, file);
}

/* Populating a range in bulk is far cheaper than faulting it in page by
 * page while reading, so each range is populated first. Each pages file
 * is filled and hashed in turn, and nothing of the task runs before cryo
 * has seen every digest match. A cold pages file (read O_DIRECT) is read
 * ahead through a stream when userfaultfd is there to copy with. */
static long fill_pages(const struct restorer_args *a)
{
	struct fill_stream stream, *s = NULL;
	long uffd = -1, ret = 0;

	if (a->filler) {
		ret = filler_begin(a, &uffd);
		if (ret)
			return fail(RESTORER_STEP_FILL, ret, 0);
	}
	if (a->read_ahead && uffd == -1)
		uffd = copy_fill_open();
	/* Without its buffers, the fills are read one at a time. */
	if (a->read_ahead && uffd >= 0 && !stream_open(&stream, a, uffd))
		s = &stream;
	for (uint32_t file = 0; file < a->nr_pages_files && !ret; file++)
		ret = fill_file(a, file, &uffd, s);
	if (s && stream_close(s) && !ret)
		ret = fail(RESTORER_STEP_FILL, -ENOTRECOVERABLE, 0);
	if (!ret && a->filler && uffd >= 0 && filler_end(a, uffd))
		ret = fail(RESTORER_STEP_FILL, -ENOTRECOVERABLE, 0);
	if (uffd >= 0)
		sys_close((int)uffd);
	return ret;
}

/* Once their pages are in: AIO rings before any advice or protection
 * applies to the mappings that replace them. */
static long restore_aio_rings(const struct restorer_args *a)
{
	const struct restorer_vma *v = (const void *)a->vmas;

	for (uint32_t i = 0; i < a->nr_vmas; i++) {
		long ret = v[i].aio_nr ? restore_aio_ring(&v[i]) : 0;

		if (ret)
			return fail(RESTORER_STEP_AIO, ret, v[i].start);
	}
	return 0;
}

/* movabs $target, %rax; jmp *%rax: reaches anywhere, clobbers only rax,
 * which the calling convention leaves free at a function's entry. */
static void patch_vdso_entries(const struct restorer_args *a)
{
	const struct restorer_patch *p = (const void *)a->patches;

	for (uint32_t i = 0; i < a->nr_patches; i++) {
		unsigned char *code = (unsigned char *)p[i].addr;
		uint64_t target = p[i].target;

		code[0] = 0x48;
		code[1] = 0xb8;
		for (int b = 0; b < 8; b++)
			code[2 + b] = (unsigned char)(target >> (8 * b));
		code[10] = 0xff;
		code[11] = 0xe0;
	}
}

static const struct {
	uint32_t bit;
	int advice;
} advices[] = {
	{ RESTORER_MADV_DONTFORK, MADV_DONTFORK },
	{ RESTORER_MADV_WIPEONFORK, 18 /* MADV_WIPEONFORK */ },
	{ RESTORER_MADV_HUGEPAGE, MADV_HUGEPAGE },
	{ RESTORER_MADV_NOHUGEPAGE, MADV_NOHUGEPAGE },
	{ RESTORER_MADV_DONTDUMP, MADV_DONTDUMP },
	{ RESTORER_MADV_MERGEABLE, MADV_MERGEABLE },
};

/* Guard markers replace whatever the range held: they go in once the
 * mapping is filled (guard pages hold nothing that was saved anyway). */
static long install_guards(const struct restorer_vma *v)
{
	const uint64_t *g = (const void *)v->guards;

	for (uint32_t i = 0; i < v->nr_guards; i++) {
		long ret = sys_madvise((void *)g[2 * i], g[2 * i + 1] - g[2 * i],
				       MADV_GUARD_INSTALL);

		if (ret)
			return fail(RESTORER_STEP_GUARD, ret, g[2 * i]);
	}
	return 0;
}

/* Final protections and advice, once the contents are in place; locking
 * last, as it faults every page in (or, on fault, marks the mapping). */
static long finish_vmas(const struct restorer_args *a)
{
	const struct restorer_vma *v = (const void *)a->vmas;

	for (uint32_t i = 0; i < a->nr_vmas; i++) {
		void *start = (void *)v[i].start;
		size_t len = v[i].end - v[i].start;
		long ret = 0;

		/* One already mapped with its own protection needs no call (half
		 * of 50,000 small mappings, read-write and read-only in turn). */
		if (!restorer_vma_mmapped(&v[i]) || restorer_vma_map_prot(&v[i]) != v[i].prot)
			ret = sys_mprotect(start, len, (int)v[i].prot);
		if (ret)
			return fail(RESTORER_STEP_PROTECT, ret, v[i].start);
		for (unsigned int j = 0; j < sizeof(advices) / sizeof(advices[0]); j++) {
			if (!(v[i].madvise & advices[j].bit))
				continue;
			ret = sys_madvise(start, len, advices[j].advice);
			if (ret)
				return fail(RESTORER_STEP_MADVISE, ret, v[i].start);
		}
		if (v[i].anon_name) {
			ret = sys_prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, v[i].start, len,
					v[i].anon_name);
			if (ret)
				return fail(RESTORER_STEP_ANON_NAME, ret, v[i].start);
		}
		ret = install_guards(&v[i]);
		if (ret)
			return ret;
		if (!(v[i].madvise & RESTORER_MADV_LOCKED))
			continue;
		ret = sys_mlock2(start, len,
				 v[i].madvise & RESTORER_MADV_LOCKONFAULT ? MLOCK_ONFAULT : 0);
		if (ret)
			return fail(RESTORER_STEP_MLOCK, ret, v[i].start);
	}
	return 0;
}

static long lazy_vmas(const struct restorer_args *a)
{
	uint64_t addr = 0;
	long ret = register_lazy_vmas(a, &report.uffd, &addr);

	return ret ? fail(RESTORER_STEP_UFFD, ret, addr) : 0;
}

static long restore_mm(const struct restorer_args *a)
{
	long ret = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&a->mm, sizeof(a->mm), 0);

	if (a->mm.exe_fd != (uint32_t)-1)
		sys_close((int)a->mm.exe_fd);
	if (ret)
		return fail(RESTORER_STEP_MM_MAP, ret, 0);
	if (a->vdso_block_start) {
		/* On success it returns the vDSO's size, not 0. */
		ret = sys_arch_prctl(ARCH_MAP_VDSO_64, a->vdso_block_start);
		if (ret < 0)
			return fail(RESTORER_STEP_VDSO, ret, a->vdso_block_start);
	}
	return 0;
}

/* Signals go back into the queues while all are blocked; the saved mask is
 * set with the registers, after the report. */
static long queue_signals(const struct restorer_args *a)
{
	const struct restorer_signal *s = (const void *)a->signals;

	for (uint32_t i = 0; i < a->nr_signals; i++) {
		long ret = s[i].tid ?
			sys_rt_tgsigqueueinfo(a->pid, s[i].tid, s[i].signo, s[i].siginfo) :
			sys_rt_sigqueueinfo(a->pid, s[i].signo, s[i].siginfo);

		if (ret)
			return fail(RESTORER_STEP_SIGNALS, ret, (uint64_t)s[i].signo);
	}
	return 0;
}

/* The main thread's sigaltstack, clear_child_tid, robust list, rseq, name and,
 * when the process did not set it for every thread, no_new_privs: after the
 * threads are made, so that those without it do not inherit it. */
static long restore_main_thread(const struct restorer_args *a)
{
	const struct restorer_thread *t = main_thread(a);
	int32_t step = RESTORER_STEP_DONE;
	uint64_t addr = 0;
	long ret;

	if (!t)
		return 0;
	ret = thread_own_state(t, &step, &addr);
	return ret ? fail(step, ret, addr) : 0;
}

/* Each process that shares this one's fs info is in its restorer (one
 * byte each): a chroot now changes no path their restore still opens. */
static long wait_fs_sharers(const struct restorer_args *a)
{
	long ret = 0;
	char byte;

	for (uint32_t i = 0; !ret && i < a->fs_wait_count; i++) {
		ret = sys_read(a->fs_wait_fd, &byte, 1);
		ret = ret == 1 ? 0 : ret < 0 ? ret : -EPIPE;
	}
	sys_close(a->fs_wait_fd);
	return ret;
}

/* The saved root: chroot() by its path, or, for a removed root made again
 * (no path reaches it), chroot(".") from inside it through its fd, and
 * back to the cwd stage 2 entered, unless the cwd is that root. */
static long enter_root(const struct restorer_args *a)
{
	long ret, cwd = -1;

	if (a->fs_wait_fd >= 0) {
		ret = wait_fs_sharers(a);
		if (ret)
			return ret;
	}
	if (a->root_fd < 0)
		return blob_syscall(__NR_chroot, a->root_path, 0, 0, 0, 0, 0);
	if (!a->cwd_is_root) {
		cwd = blob_syscall(__NR_open, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0, 0, 0);
		if (cwd < 0)
			return cwd;
	}
	ret = blob_syscall(__NR_fchdir, a->root_fd, 0, 0, 0, 0, 0);
	if (!ret)
		ret = blob_syscall(__NR_chroot, ".", 0, 0, 0, 0, 0);
	if (!ret && cwd >= 0)
		ret = blob_syscall(__NR_fchdir, cwd, 0, 0, 0, 0, 0);
	if (cwd >= 0)
		sys_close((int)cwd);
	sys_close(a->root_fd);
	return ret;
}

static long drop_bounding_caps(const struct restorer_creds *c)
{
	for (uint32_t cap = 0; cap <= c->last_cap && cap < 64; cap++) {
		long ret;

		if (c->cap_bounding & (1ULL << cap))
			continue;
		ret = sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static void cap_words(struct __user_cap_data_struct data[2], uint64_t effective,
		      uint64_t permitted, uint64_t inheritable)
{
	data[0] = (struct __user_cap_data_struct){ (uint32_t)effective, (uint32_t)permitted,
						   (uint32_t)inheritable };
	data[1] = (struct __user_cap_data_struct){ (uint32_t)(effective >> 32),
						   (uint32_t)(permitted >> 32),
						   (uint32_t)(inheritable >> 32) };
}

/*
 * The inheritable set goes first, while the bounding set is still whole
 * (capset refuses inheritable bits outside it), then the ambient set, while
 * no saved securebit (SECBIT_NO_CAP_AMBIENT_RAISE) forbids raising it. The
 * capabilities held now are kept for the steps that follow.
 */
static long restore_inheritable_and_ambient(const struct restorer_creds *c)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct now[2];
	long ret = sys_capget(&header, now);

	if (ret)
		return ret;
	cap_words(now, now[0].effective | (uint64_t)now[1].effective << 32,
		  now[0].permitted | (uint64_t)now[1].permitted << 32, c->cap_inheritable);
	ret = sys_capset(&header, now);
	for (uint32_t cap = 0; !ret && cap <= c->last_cap && cap < 64; cap++)
		if (c->cap_ambient & (1ULL << cap))
			ret = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	return ret;
}

/*
 * Credentials come last: once they are the task's own, this code may no
 * longer be allowed what came before. The uids change with the setuid
 * fixup off, so the capabilities stay until the saved securebits (which
 * need CAP_SETPCAP) and then the saved capability sets are put in place.
 * Every thread runs this for itself: credentials are per thread.
 */
long restore_creds(const struct restorer_args *a, const struct restorer_creds *c)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	long ret;

	if (!a->has_creds)
		return 0;
	ret = sys_prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0);
	if (!ret)
		ret = restore_inheritable_and_ambient(c);
	if (!ret)
		ret = drop_bounding_caps(c);
	/* In a user namespace the process's were set before it was entered. */
	if (!ret && ((a->userns_fd < 0 && !a->born_in_userns) || c->own_groups))
		ret = sys_setgroups(c->nr_groups, (const uint32_t *)c->groups);
	if (!ret)
		ret = sys_setresgid(c->gid, c->egid, c->sgid);
	if (!ret)
		ret = sys_setresuid(c->uid, c->euid, c->suid);
	if (!ret) {
		sys_setfsgid(c->fsgid);
		sys_setfsuid(c->fsuid);
		ret = sys_prctl(PR_SET_SECUREBITS, c->securebits, 0, 0, 0);
	}
	cap_words(data, c->cap_effective, c->cap_permitted, c->cap_inheritable);
	if (!ret)
		ret = sys_capset(&header, data);
	/* Changing uids resets dumpable; put the saved value back after. */
	if (!ret)
		ret = sys_prctl(PR_SET_DUMPABLE, c->dumpable, 0, 0, 0);
	return ret;
}

/*
 * Into the tree's user namespace: while the task is alone (the kernel
 * refuses a process with threads) and still has cryo's rights, which
 * setgroups needs when the namespace denies it; the ids and capabilities
 * inside are set with the credentials.
 */
static long enter_userns(const struct restorer_args *a)
{
	long ret = 0;

	if (a->born_in_userns) {
		sys_close(a->userns_fd);
		return 0;
	}
	if (a->has_creds)
		ret = sys_setgroups(a->creds.nr_groups, (const uint32_t *)a->creds.groups);
	if (!ret)
		ret = blob_syscall(__NR_setns, a->userns_fd, USERNS_CLONE_FLAG, 0, 0, 0, 0);
	sys_close(a->userns_fd);
	return ret ? fail(RESTORER_STEP_USERNS, ret, 0) : 0;
}

__attribute__((section(".text.entry"), used, noreturn)) void
blob_entry(struct restorer_args *a)
{
	long ret;

	report.uffd = -1;
	/* Past the restore's last path: the owner of its fs info may chroot. */
	if (a->fs_signal_fd >= 0) {
		sys_write(a->fs_signal_fd, "", 1);
		sys_close(a->fs_signal_fd);
	}
	ret = move_premapped(a);
	if (!ret)
		ret = unmap_all_but_area(a);

	if (!ret)
		ret = map_vmas(a);
	if (!ret)
		ret = fill_pages(a);
	if (!ret)
		ret = restore_aio_rings(a);
	if (!ret)
		patch_vdso_entries(a);
	if (!ret)
		ret = finish_vmas(a);
	/* Nothing may touch the lazy mappings from here until the task runs. */
	if (!ret)
		ret = lazy_vmas(a);
	/* Last of the memory: the mappings made so far are not to be locked. */
	if (!ret && a->mlockall) {
		ret = blob_syscall(__NR_mlockall, a->mlockall, 0, 0, 0, 0, 0);
		if (ret)
			fail(RESTORER_STEP_MLOCKALL, ret, 0);
	}
	if (!ret)
		ret = restore_mm(a);
	if (!ret && a->userns_fd >= 0)
		ret = enter_userns(a);
	/* The threads need the memory back, and the power to be created
	 * with their tids: before the credentials. */
	if (!ret)
		ret = create_threads(a, &report);
	if (!ret)
		ret = wait_threads(a, &report);
	if (!ret)
		ret = queue_signals(a);
	if (!ret)
		ret = restore_main_thread(a);
	for (uint32_t file = 0; file < a->nr_pages_files; file++)
		sys_close(a->pages_fd[file]);
	/* While cryo's privileges last; the cwd stays where stage 2 put it. */
	if (!ret && (a->root_path || a->root_fd >= 0)) {
		ret = enter_root(a);
		if (ret)
			fail(RESTORER_STEP_CHROOT, ret, 0);
	}
	if (!ret) {
		ret = restore_creds(a, &a->creds);
		if (ret)
			fail(RESTORER_STEP_CREDS, ret, 0);
	}
	if (!ret) {
		report.addr = a->vdso_text;
		report.area_start = a->area_start;
		report.area_end = a->area_end;
	}
	report.pid = a->pid;
	report.stage = RESTORE_STAGE_DONE;
	sys_write(a->report_fd, &report, sizeof(report));
	sys_close(a->report_fd);
	/* Nothing of the old process is left to return to. */
	if (ret)
		sys_exit_group(1);
	for (;;)
		sys_pause();
}
