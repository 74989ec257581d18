/* Builds the restorer's area inside the new task and jumps into it. The area
 * (blob, arguments, stack) must survive the restorer unmapping everything
 * else, so it goes in a gap that neither the saved mappings nor the task's
 * current ones (cryo's own) occupy. The credentials in it are area_creds.c's. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blobs/restorer-blob.h"
#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "kabi/kabi.h"
#include "lazy/lazy.h"
#include "mem/hugetlb.h"
#include "mem/vma.h"
#include "ns/user.h"
#include "restore/area.h"
#include "restore/map_runs.h"
#include "restore/restore.h"
#include "restore/vdso.h"
#include "restorer/args.h"
#include "task/task.h"

#define PAGE 4096UL
#define STACK_SIZE (64UL * 1024)
/* Each created thread runs the restorer on a stack of its own: no signal
 * frame ever lands there (all are blocked), so a few pages are plenty. */
#define THREAD_STACK_SIZE (16UL * 1024)
/* The top of user space with 4-level page tables. */
#define TASK_SIZE_4LEVEL 0x7ffffffff000UL

static uint64_t page_up(uint64_t n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

static int cmp_range(const void *a, const void *b)
{
	const struct maps_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Collects what is occupied now (@now) and after (the saved VMAs of each
 * of @mms). */
static struct maps_range *occupied_ranges(const Mm *const *mms, size_t nr_mms,
					  const struct maps_now *now, size_t *count)
{
	size_t n = now->nr;
	struct maps_range *r;

	for (size_t m = 0; m < nr_mms; m++)
		n += mms[m]->n_vmas;
	r = malloc((n + 1) * sizeof(*r));
	if (!r)
		return NULL;
	memcpy(r, now->ranges, now->nr * sizeof(*r));
	n = now->nr;
	for (size_t m = 0; m < nr_mms; m++)
		for (size_t i = 0; i < mms[m]->n_vmas; i++)
			r[n++] = (struct maps_range){ mms[m]->vmas[i]->start, mms[m]->vmas[i]->end };
	qsort(r, n, sizeof(*r), cmp_range);
	*count = n;
	return r;
}

uint64_t restore_find_gap(const Mm *const *mms, size_t nr_mms, const struct maps_now *now,
			  uint64_t size)
{
	struct maps_now read_now;
	uint64_t limit = TASK_SIZE_4LEVEL, found = 0;
	struct maps_range *r;
	size_t n;

	if (!now) {
		if (maps_now_read(&read_now))
			return 0;
		r = occupied_ranges(mms, nr_mms, &read_now, &n);
		maps_now_free(&read_now);
	} else {
		r = occupied_ranges(mms, nr_mms, now, &n);
	}
	if (!r)
		return 0;
	for (size_t i = n; i-- > 0;) {
		if (r[i].end + PAGE + size + PAGE <= limit) {
			found = limit - PAGE - size;
			break;
		}
		if (r[i].start < limit)
			limit = r[i].start;
	}
	if (!found && limit >= (1UL << 20) + size + PAGE)
		found = limit - PAGE - size;
	free(r);
	return found;
}

static uint32_t madvise_bits(uint32_t vma_madv)
{
	static const struct {
		uint32_t from, to;
	} map[] = {
		{ VMA_MADV_DONTFORK, RESTORER_MADV_DONTFORK },
		{ VMA_MADV_WIPEONFORK, RESTORER_MADV_WIPEONFORK },
		{ VMA_MADV_HUGEPAGE, RESTORER_MADV_HUGEPAGE },
		{ VMA_MADV_NOHUGEPAGE, RESTORER_MADV_NOHUGEPAGE },
		{ VMA_MADV_DONTDUMP, RESTORER_MADV_DONTDUMP },
		{ VMA_MADV_MERGEABLE, RESTORER_MADV_MERGEABLE },
		{ VMA_MADV_LOCKED, RESTORER_MADV_LOCKED },
		{ VMA_MADV_LOCKONFAULT, RESTORER_MADV_LOCKONFAULT },
	};
	uint32_t bits = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (vma_madv & map[i].from)
			bits |= map[i].to;
	return bits;
}

static bool kernel_area(const Vma *v)
{
	return v->kind == VMA__KIND__VDSO || v->kind == VMA__KIND__VVAR ||
	       v->kind == VMA__KIND__VVAR_VCLOCK || v->kind == VMA__KIND__VSYSCALL;
}

/* Kernel areas are the kernel's to map, except a proxied vDSO, which comes
 * back as private memory filled from the image, and its old data pages,
 * kept as empty read-only placeholders so the layout stays as it was. */
static bool restored_by_us(const Vma *v, const struct vdso_plan *plan)
{
	if (!kernel_area(v))
		return true;
	return plan->proxy && v->kind != VMA__KIND__VSYSCALL;
}

/* A lazy restore cuts fills at mapping boundaries and adds the pinned
 * pages; a premapped mapping cuts a range in up to three. */
static size_t count_fills(const struct restore_task *rt, const struct lazy_pins *pins)
{
	size_t premap_cuts = 2 * rt->nr_premaps;

	if (pins)
		return lazy_fills_max(rt->mm, rt->pages->pagemap, pins) + premap_cuts;
	return rt->pages->pagemap->nr_records + premap_cuts;
}

/* Whether mapping @index was filled before the fork (cow_plan.c). Asked
 * in mapping order: *@p is the cursor in the premaps, also in order. */
static bool premapped(const struct restore_task *rt, size_t *p, size_t index)
{
	while (*p < rt->nr_premaps && rt->premaps[*p].vma < index)
		(*p)++;
	return *p < rt->nr_premaps && rt->premaps[*p].vma == index;
}

static size_t count_moves(const struct restore_task *rt)
{
	size_t n = 0;

	for (size_t i = 0; i < rt->nr_premaps; i++)
		n += rt->premaps[i].nr_pieces;
	return n;
}

/* Each piece of a premapped mapping, from its slot to its place. */
static int fill_moves(struct restorer_args *args, struct area *area, const struct restore_task *rt)
{
	size_t n = count_moves(rt);
	struct restorer_move *m = area_alloc(area, n * sizeof(*m));

	if (!m && n)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < rt->nr_premaps; i++)
		for (size_t q = 0; q < rt->premaps[i].nr_pieces; q++) {
			const struct cow_piece *pc = &rt->premaps[i].pieces[q];

			m[n++] = (struct restorer_move){ pc->slot, pc->start, pc->end - pc->start };
		}
	args->premap_moves = (uint64_t)(uintptr_t)m;
	args->nr_premap_moves = (uint32_t)n;
	return 0;
}

static int fill_vmas(struct restorer_args *args, struct area *area, const struct restore_task *rt,
		     const int *vma_fds, const struct restorer_fill *fills, size_t nr_fills,
		     const struct vdso_plan *plan, bool lazy)
{
	const Mm *mm = rt->mm;
	struct restorer_vma *v = area_alloc(area, mm->n_vmas * sizeof(*v));
	size_t n = 0, f = 0, pm = 0;

	if (!v && mm->n_vmas)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Vma *src = mm->vmas[i];

		if (!restored_by_us(src, plan))
			continue;
		/* Fills and VMAs are both sorted: one pass finds which VMAs get pages. */
		while (f < nr_fills && fills[f].addr + fills[f].len <= src->start)
			f++;
		v[n] = (struct restorer_vma){
			.start = src->start,
			.end = src->end,
			.pgoff = src->has_pgoff ? src->pgoff : 0,
			.fd = vma_fds[i],
			.prot = src->prot,
			.flags = src->flags,
			.madvise = madvise_bits(src->has_madvise ? src->madvise : 0),
			.has_fills = f < nr_fills && fills[f].addr < src->end,
			.shm_id = -1,
			.premapped = premapped(rt, &pm, i),
		};
		v[n].lazy = lazy && !v[n].premapped && lazy_vma_registered(mm, i, rt->pages->pagemap);
		/* A SysV segment is attached, not mapped: its id is the inode,
		 * its size the file's (checked against sysv-shm.img at load). */
		if (src->kind == VMA__KIND__SYSV_SHM) {
			v[n].shm_id = (int32_t)src->file_ino;
			v[n].shm_size = page_up(src->file_size);
			v[n].shm_flags = src->has_file_writable && src->file_writable ? 0 : SHM_RDONLY;
		}
		/* An AIO ring takes its pages in anonymous memory, which the
		 * restorer replaces with a new ring (restorer/aio.c). */
		if (src->kind == VMA__KIND__AIO) {
			v[n].flags = MAP_PRIVATE | MAP_ANONYMOUS;
			v[n].aio_nr = src->aio_nr;
			v[n].aio_head = src->aio_head;
			v[n].aio_tail = src->aio_tail;
		}
		/* MAP_DROPPABLE is a mapping type of its own, in MAP_TYPE's place. */
		if (src->has_madvise && (src->madvise & VMA_MADV_DROPPABLE))
			v[n].flags = (v[n].flags & ~(uint32_t)MAP_TYPE) | MAP_DROPPABLE;
		if (src->n_guards) {
			uint64_t *g = area_alloc(area, src->n_guards * sizeof(*g));

			if (!g)
				return -ENOMEM;
			memcpy(g, src->guards, src->n_guards * sizeof(*g));
			v[n].guards = (uint64_t)(uintptr_t)g;
			v[n].nr_guards = (uint32_t)(src->n_guards / 2);
		}
		if (src->anon_name) {
			char *name = area_alloc(area, strlen(src->anon_name) + 1);

			if (!name)
				return -ENOMEM;
			strcpy(name, src->anon_name);
			v[n].anon_name = (uint64_t)(uintptr_t)name;
		}
		/* Shared anonymous memory maps the object restore made for it:
		 * with MAP_ANONYMOUS the kernel would ignore the fd. */
		if (v[n].fd >= 0)
			v[n].flags &= ~(uint32_t)MAP_ANONYMOUS;
		/* Private hugetlb memory: its page size in the flags (a hugetlbfs
		 * file mapped has its own). */
		else if (src->has_huge_page_size)
			v[n].flags |= MAP_HUGETLB |
				      huge_page_size_flag(src->huge_page_size, MAP_HUGE_SHIFT);
		if (kernel_area(src)) {
			v[n].fd = -1;
			v[n].pgoff = 0;
			v[n].flags = MAP_PRIVATE | MAP_ANONYMOUS;
			if (src->kind != VMA__KIND__VDSO)
				v[n].prot = PROT_READ;
		}
		n++;
	}
	args->vmas = (uint64_t)(uintptr_t)v;
	args->nr_vmas = (uint32_t)n;
	return 0;
}

/* Fresh private anonymous memory reads as zeros by itself; anywhere else
 * (a file, shared memory) zero ranges must be written. So must hugetlb's:
 * a huge page written with zeros only is a page the process holds (its
 * Private_Hugetlb), not one it never touched. */
static bool zero_by_itself(const Vma *v)
{
	return (v->flags & MAP_PRIVATE) && !v->has_huge_page_size &&
	       (v->kind == VMA__KIND__ANON || v->kind == VMA__KIND__HEAP ||
		v->kind == VMA__KIND__STACK);
}

/* Cuts [@addr, @end) of a range at the premapped mappings: the part from
 * @addr that is, or is not, inside one (*@in_place); @p is the cursor. */
static uint64_t premap_cut(const struct restore_task *rt, size_t *p, uint64_t addr, uint64_t end,
			   bool *in_place)
{
	const Vma *v;

	while (*p < rt->nr_premaps && rt->mm->vmas[rt->premaps[*p].vma]->end <= addr)
		(*p)++;
	*in_place = false;
	if (*p == rt->nr_premaps)
		return end;
	v = rt->mm->vmas[rt->premaps[*p].vma];
	if (v->start > addr)
		return v->start < end ? v->start : end;
	*in_place = true;
	return v->end < end ? v->end : end;
}

/* Present ranges read from the pages file; zero ranges as zero_by_itself()
 * says; those in premapped mappings were read in stage 1 and are only
 * hashed; IN_PARENT ones came with the premap. With @pins, a lazy restore:
 * what lazy.h leaves to the page server is not filled. */
static int fill_pages(struct restorer_args *args, struct area *area, const struct restore_task *rt,
		      const struct vdso_plan *plan, const struct lazy_pins *pins)
{
	const Mm *mm = rt->mm;
	const struct pages_reader *pr = rt->pages;
	size_t max = count_fills(rt, pins);
	struct restorer_fill *fills = area_alloc(area, max * sizeof(*fills));
	size_t n = 0, v = 0, p = 0;

	if (!fills && max)
		return -ENOMEM;
	for (size_t i = 0; i < pr->pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)pr->pagemap->records[i].msg;
		uint64_t end = e->vaddr + e->nr_pages * IMG_PAGE_SIZE;

		while (v < mm->n_vmas && mm->vmas[v]->end <= e->vaddr)
			v++;
		/* The saved vDSO's pages are only needed for a proxy. */
		if (v < mm->n_vmas && !restored_by_us(mm->vmas[v], plan))
			continue;
		if (e->state == PAGEMAP_ENTRY__STATE__IN_PARENT)
			continue;
		if (e->state == PAGEMAP_ENTRY__STATE__ZERO && v < mm->n_vmas &&
		    zero_by_itself(mm->vmas[v]))
			continue;
		for (uint64_t addr = e->vaddr, cut; addr < end; addr = cut) {
			bool in_place;

			cut = premap_cut(rt, &p, addr, end, &in_place);
			fills[n] = (struct restorer_fill){
				.addr = addr,
				.len = cut - addr,
				.file_off = e->state == PAGEMAP_ENTRY__STATE__PRESENT ?
						    e->file_off + (addr - e->vaddr) :
						    RESTORER_FILL_ZERO,
				.file = pages_entry_file(e),
				.in_place = in_place,
				.plain = v < mm->n_vmas && mm->vmas[v]->has_huge_page_size,
			};
			/* Zeros of private hugetlb memory only make its pages. */
			fills[n].touch_only = fills[n].plain &&
					      fills[n].file_off == RESTORER_FILL_ZERO &&
					      mm->vmas[v]->kind == VMA__KIND__ANON &&
					      (mm->vmas[v]->flags & MAP_PRIVATE);
			n += pins && !in_place ? lazy_eager_fills(mm, pins, &fills[n], &fills[n]) : 1;
		}
	}
	args->fills = (uint64_t)(uintptr_t)fills;
	args->nr_fills = (uint32_t)n;
	return 0;
}

static int fill_mm(struct restorer_args *args, struct area *area, const Mm *mm, int exe_fd)
{
	uint64_t *auxv = area_alloc(area, mm->n_auxv * sizeof(uint64_t));

	if (!auxv && mm->n_auxv)
		return -ENOMEM;
	if (mm->n_auxv)
		memcpy(auxv, mm->auxv, mm->n_auxv * sizeof(uint64_t));
	args->mm = (struct restorer_mm_map){
		.start_code = mm->start_code,
		.end_code = mm->end_code,
		.start_data = mm->start_data,
		.end_data = mm->end_data,
		.start_brk = mm->start_brk,
		.brk = mm->brk,
		.start_stack = mm->start_stack,
		.arg_start = mm->arg_start,
		.arg_end = mm->arg_end,
		.env_start = mm->env_start,
		.env_end = mm->env_end,
		.auxv = (uint64_t)(uintptr_t)auxv,
		.auxv_size = (uint32_t)(mm->n_auxv * sizeof(uint64_t)),
		.exe_fd = (uint32_t)exe_fd,
	};
	args->mlockall = mm->has_mlockall ? mm->mlockall : 0;
	return 0;
}

static size_t count_pending(const TaskCore *core)
{
	size_t n = core->n_shared_pending;

	for (size_t i = 0; i < core->n_threads; i++)
		n += core->threads[i]->n_pending;
	return n;
}

static int push_signal(struct restorer_signal *s, const PendingSignal *p, int32_t tid)
{
	if (p->siginfo.len != sizeof(s->siginfo))
		return -EBADMSG;
	memcpy(s->siginfo, p->siginfo.data, sizeof(s->siginfo));
	memcpy(&s->signo, p->siginfo.data, sizeof(int32_t));
	s->tid = tid;
	return 0;
}

/* The process's queue, then each thread's, each in its saved order. */
static int fill_signals(struct restorer_args *args, struct area *area, const TaskCore *core)
{
	size_t total = count_pending(core), n = 0;
	struct restorer_signal *s = area_alloc(area, total * sizeof(*s));
	int ret;

	if (!s && total)
		return -ENOMEM;
	for (size_t i = 0; i < core->n_shared_pending; i++) {
		ret = push_signal(&s[n++], core->shared_pending[i], 0);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCore *t = core->threads[i];

		for (size_t j = 0; j < t->n_pending; j++) {
			ret = push_signal(&s[n++], t->pending[j], t->tid);
			if (ret)
				return ret;
		}
	}
	args->signals = (uint64_t)(uintptr_t)s;
	args->nr_signals = (uint32_t)n;
	return 0;
}

/* A thread's own fs info: the root and cwd stage 2 opened for it, or the
 * thread whose own it shares, which creates it. */
static void fill_thread_fs(struct restorer_thread *t, const struct restore_task *rt, size_t i)
{
	const ThreadFs *fs = rt->core->threads[i]->fs;

	if (!fs)
		return;
	if (fs->has_shared_with) {
		t->fs_maker = fs->shared_with;
		return;
	}
	t->own_fs = 1;
	t->fs_root_fd = rt->thread_fs_fds[2 * i];
	t->fs_cwd_fd = rt->thread_fs_fds[2 * i + 1];
	t->fs_umask = fs->umask;
}

/* Every thread's own state, and a stack for each one to be created. */
static int fill_threads(struct restorer_args *args, struct area *area,
			const struct restore_task *rt)
{
	const TaskCore *core = rt->core;

	struct restorer_thread *threads = area_alloc(area, core->n_threads * sizeof(*threads));

	if (!threads)
		return -ENOMEM;
	for (size_t i = 0; i < core->n_threads; i++) {
		const ThreadCore *src = core->threads[i];
		struct restorer_thread *t = &threads[i];

		memset(t, 0, sizeof(*t));
		t->tid = src->tid;
		if (src->tid != core->pid) {
			void *stack = area_alloc(area, THREAD_STACK_SIZE);

			if (!stack)
				return -ENOMEM;
			t->stack = (uint64_t)(uintptr_t)stack;
			t->stack_size = THREAD_STACK_SIZE;
		}
		if (src->altstack) {
			t->altstack_sp = src->altstack->sp;
			t->altstack_size = src->altstack->size;
			t->altstack_flags = src->altstack->flags;
		}
		t->has_clear_child_tid = src->has_clear_child_tid;
		t->clear_child_tid = src->clear_child_tid;
		if (src->has_robust_list) {
			t->robust_list = src->robust_list;
			t->robust_list_len = src->robust_list_len;
		}
		if (src->rseq) {
			t->rseq_abi = src->rseq->abi_pointer;
			t->rseq_len = src->rseq->abi_size;
			t->rseq_sig = src->rseq->signature;
		}
		if (src->comm)
			snprintf(t->comm, sizeof(t->comm), "%s", src->comm);
		fill_thread_fs(t, rt, i);
	}
	args->threads = (uint64_t)(uintptr_t)threads;
	args->nr_threads = (uint32_t)core->n_threads;
	return 0;
}

/* The restorer reads the bytes of the pages file no fill takes (a saved
 * vDSO's pages) through this much room, to hash them. */
#define VERIFY_SCRATCH (64u << 10)

/* The pages file's digest, checked by the restorer as it reads the file. */
static int fill_verify(struct restorer_args *args, struct area *area,
		       const struct restore_task *rt)
{
	char *scratch;

	if (!rt->pages_verify)
		return 0;
	scratch = area_alloc(area, VERIFY_SCRATCH + PAGE);
	if (!scratch)
		return -ENOMEM;
	args->verify_pages = 1;
	args->scratch = page_up((uint64_t)(uintptr_t)scratch);
	args->scratch_size = VERIFY_SCRATCH;
	memcpy(args->pages_size, rt->pages_size, sizeof(args->pages_size));
	memcpy(args->pages_digest, rt->pages_digest, sizeof(args->pages_digest));
	return 0;
}

/* How much room the arguments need: the arrays plus alignment slack. */
/* A root other than cryo's: its path, for the restorer's chroot(), or
 * the fd of the removed root stage 2 made again. Not done earlier: the
 * restore's own code reads /proc until it jumps. */
static int fill_root(struct restorer_args *args, struct area *area, const struct restore_task *rt)
{
	const TaskCore *core = rt->core;
	size_t len;
	char *path;

	args->root_fd = rt->ghost_root_fd;
	args->cwd_is_root = core->cwd_is_root;
	/* Fs info shared under a chroot: the owner chroots once its members
	 * are in their restorers (restore/shared_fs.c). */
	args->fs_wait_fd = rt->fs_wait_fd;
	args->fs_wait_count = rt->fs_members;
	args->fs_signal_fd = rt->fs_signal_fd;
	if (!core->root || !strcmp(core->root, "/") || rt->ghost_root_fd >= 0 ||
	    rt->fs_signal_fd >= 0)
		return 0;
	len = strlen(core->root) + 1;
	path = area_alloc(area, len);
	if (!path)
		return -ENOMEM;
	memcpy(path, core->root, len);
	args->root_path = (uint64_t)(uintptr_t)path;
	return 0;
}

static size_t args_size(const struct restore_task *rt, const struct lazy_pins *pins)
{
	const TaskCore *core = rt->core;
	size_t n = sizeof(struct restorer_args) + 64 * 8;

	n += rt->mm->n_vmas * sizeof(struct restorer_vma);
	for (size_t i = 0; i < rt->mm->n_vmas; i++)
		n += rt->mm->vmas[i]->n_guards * sizeof(uint64_t) + 64;
	n += count_fills(rt, pins) * sizeof(struct restorer_fill);
	n += count_moves(rt) * sizeof(struct restorer_move) + 64;
	n += rt->mm->n_auxv * sizeof(uint64_t);
	n += count_pending(core) * sizeof(struct restorer_signal);
	n += area_creds_room(core);
	n += core->n_threads * (sizeof(struct restorer_thread) + 64 + THREAD_STACK_SIZE);
	n += (core->root ? strlen(core->root) : 0) + 64 + 1;
	if (rt->pages_verify && !pins)
		n += VERIFY_SCRATCH + PAGE;
	return page_up(n);
}

static void __attribute__((noreturn)) jump(uint64_t entry, uint64_t stack_top,
					   struct restorer_args *args)
{
	/* As if called: the return-address slot below a 16-byte aligned top.
	 * @args goes straight into rdi: moved there inside the asm, it could
	 * overwrite whatever register the compiler chose for @entry. */
	asm volatile("mov %0, %%rsp\n\t"
		     "jmp *%1\n\t"
		     :
		     : "r"(stack_top - 8), "r"(entry), "D"(args)
		     : "memory");
	__builtin_unreachable();
}

static int fill_vdso(struct restorer_args *args, struct area *area,
		     const struct vdso_plan *plan)
{
	struct restorer_patch *patches = area_alloc(area, plan->nr_patches * sizeof(*patches));

	if (!patches && plan->nr_patches)
		return -ENOMEM;
	if (plan->nr_patches)
		memcpy(patches, plan->patches, plan->nr_patches * sizeof(*patches));
	args->patches = (uint64_t)(uintptr_t)patches;
	args->nr_patches = (uint32_t)plan->nr_patches;
	args->vdso_block_start = plan->block_start;
	args->vdso_text = plan->block_start ? plan->block_start + plan->text_offset : 0;
	return 0;
}

/* A pages file mostly outside the page cache (a restore on another host,
 * or after the cache was dropped) is read with O_DIRECT: the disk then
 * writes straight into the process's memory, with no page cache to fill
 * and copy from, about twice as fast here. A file mostly in the cache is
 * read through it: a copy from memory beats the disk. Every fill is whole
 * pages at page offsets, as O_DIRECT wants on a disk of 4 KiB blocks or
 * smaller; a filesystem whose fcntl() refuses O_DIRECT is read through the
 * cache. */
static int pages_cold(int pages_fd, bool *cold)
{
	struct kabi_cachestat_range range = { 0, 0 };
	struct kabi_cachestat cs;
	struct stat st;

	if (fstat(pages_fd, &st) || !st.st_size || syscall(__NR_cachestat, pages_fd, &range, &cs, 0))
		return -errno;
	*cold = cs.nr_cache * PAGE * 2 <= (uint64_t)st.st_size;
	return 0;
}

uint64_t restore_pages_bytes(const struct pages_reader *pr)
{
	uint64_t bytes = 0;
	struct stat st;

	for (uint32_t f = 0; f < pr->nr_files; f++)
		if (!fstat(pr->pages_fd[f], &st))
			bytes += (uint64_t)st.st_size;
	return bytes;
}

bool restore_pages_cold(int pages_fd)
{
	bool cold = false;

	return !pages_cold(pages_fd, &cold) && cold;
}

/* @cold_at_load: what cryo found, for a process whose cachestat() is
 * refused (one born in its user namespace, where the file is not its). */
static bool read_direct_when_cold(int pages_fd, bool cold_at_load)
{
	bool cold = cold_at_load;
	int flags;

	if (pages_cold(pages_fd, &cold) && !cold_at_load)
		return false;
	if (!cold)
		return false;
	flags = fcntl(pages_fd, F_GETFL);
	return flags >= 0 && !fcntl(pages_fd, F_SETFL, flags | O_DIRECT);
}

/* The area at the highest gap of @room bytes, where @size of it is mapped.
 * cryo's mappings at fork say where this process's were; a place taken
 * since (by what the process mapped itself) is looked for again in its
 * own /proc/self/maps. */
static void *map_area(const struct restore_task *rt, const struct maps_now *now, uint64_t room,
		      uint64_t size, uint64_t *start)
{
	for (int pass = 0; pass < 2; pass++) {
		void *mem;

		*start = restore_find_gap((const Mm *const *)&rt->mm, 1, pass ? NULL : now, room);
		if (!*start)
			break;
		mem = mmap((void *)*start, size, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (mem != MAP_FAILED)
			return mem;
		if (errno != EEXIST || !now)
			return MAP_FAILED;
	}
	pr_err("restore: pid %d: no room for the restorer (%#lx bytes)", rt->pid,
	       (unsigned long)room);
	errno = ENOMEM;
	return MAP_FAILED;
}

/* A cold pages file this large is read ahead (restorer/fill_stream.c).
 * The stream's 16 MiB of buffers are fresh memory, dear on this VM: 16 MiB
 * of pages restored took 70 ms read ahead against 30-50 ms without, where
 * 1 GiB gains about 0.9 s; the buffers pay from about 45 MiB on. */
#define READ_AHEAD_MIN_BYTES (64ULL << 20)

/* CRYO_TEST_READ_AHEAD_MIN (bytes) moves the threshold, for tests;
 * CRYO_TEST_NO_READ_AHEAD turns it off, for measurements. */
static bool read_ahead_pays(uint64_t bytes)
{
	const char *min = getenv("CRYO_TEST_READ_AHEAD_MIN");

	if (getenv("CRYO_TEST_NO_READ_AHEAD"))
		return false;
	return bytes >= (min ? strtoull(min, NULL, 0) : READ_AHEAD_MIN_BYTES);
}

int restorer_enter(struct restore_task *rt, const struct maps_now *now, int report_fd, int exe_fd,
		   const int *vma_fds, bool lazy)
{
	struct lazy_pins pins = { 0 };
	size_t blob_size = (size_t)(restorer_blob_end - restorer_blob_bytes);
	uint64_t code_size = page_up(RESTORER_BLOB_MEM_SIZE);
	uint64_t size, room, start;
	struct restorer_args *args;
	struct vdso_plan plan;
	struct area area;
	void *mem;
	int ret;

	if (lazy) {
		ret = lazy_pins_make(rt->core, &pins);
		if (ret)
			return ret;
	}
	ret = vdso_plan_make(rt->mm, rt->pages, now, &plan);
	if (ret)
		return ret;
	/* A vDSO has fewer functions than its size holds symbols. */
	size = code_size + args_size(rt, lazy ? &pins : NULL) + STACK_SIZE +
	       page_up((plan.saved_size / sizeof(Elf64_Sym) + 1) * sizeof(struct restorer_patch));
	/* A proxied vDSO needs a free place for the new one: right above the area. */
	room = size + (plan.proxy ? PAGE + plan.block_size : 0);
	mem = map_area(rt, now, room, size, &start);
	if (mem == MAP_FAILED)
		return -errno;
	ret = vdso_plan_place(&plan, plan.proxy ? start + size + PAGE : plan.block_start);
	if (ret)
		return ret;
	memcpy(mem, restorer_blob_bytes, blob_size);
	area = (struct area){ (char *)mem + code_size, (char *)mem + size - STACK_SIZE };
	args = area_alloc(&area, sizeof(*args));
	memset(args, 0, sizeof(*args));
	args->area_start = start;
	args->area_end = start + size;
	memcpy(args->pages_fd, rt->pages->pages_fd, sizeof(args->pages_fd));
	args->nr_pages_files = rt->pages->nr_files;
	args->report_fd = report_fd;
	args->task_size = TASK_SIZE_4LEVEL;
	args->pid = rt->pid;
	args->tid = rt->pid;
	args->uffd_features = LAZY_UFFD_FEATURES;
	args->userns_fd = ns_user_fd(rt->userns);
	args->born_in_userns = ns_user_born_inside(rt->userns);

	ret = fill_pages(args, &area, rt, &plan, lazy ? &pins : NULL);
	lazy_pins_free(&pins);
	if (!ret)
		ret = fill_vmas(args, &area, rt, vma_fds, (const void *)args->fills,
				args->nr_fills, &plan, lazy);
	if (!ret) {
		struct restorer_vma *v = (void *)(uintptr_t)args->vmas;

		map_runs_mark(v, args->nr_vmas);
		/* A lazy restore's fills are the eager few the page server
		 * leaves (lazy/plan.c): kept as planned. */
		if (!lazy)
			args->nr_fills = (uint32_t)map_runs_merge_fills(
				v, args->nr_vmas, (void *)(uintptr_t)args->fills, args->nr_fills);
	}
	if (!ret)
		ret = fill_moves(args, &area, rt);
	if (!ret)
		ret = fill_vdso(args, &area, &plan);
	if (!ret)
		ret = fill_mm(args, &area, rt->mm, exe_fd);
	if (!ret)
		ret = fill_signals(args, &area, rt->core);
	if (!ret)
		ret = fill_threads(args, &area, rt);
	if (!ret)
		ret = area_fill_creds(args, (struct restorer_thread *)(uintptr_t)args->threads,
				      &area, rt);
	if (!ret)
		ret = fill_root(args, &area, rt);
	/* A lazy restore's pages were checked by cryo: the server sends them. */
	if (!ret && !lazy)
		ret = fill_verify(args, &area, rt);
	vdso_plan_free(&plan);
	if (ret)
		return ret;
	/* Lazy restore's page server reads the file through its own copy. A
	 * direct read of 512 KiB at a time leaves the disk idle between reads
	 * (1 GiB from disk: 3.2 s, against 2.0 s read whole, in one bench at
	 * load 11); 32 MiB at a time took 1.8 s, as the whole read. */
	args->verify_chunk = 1u << 20;
	args->fill_copy = 1;
	if (!lazy && read_direct_when_cold(rt->pages->pages_fd[0], rt->pages_cold)) {
		/* Both files of a dump went to the same disk: both direct. */
		if (rt->pages->nr_files > 1)
			read_direct_when_cold(rt->pages->pages_fd[1], true);
		args->verify_chunk = 32u << 20;
		args->fill_copy = 0;
		args->read_ahead = read_ahead_pays(restore_pages_bytes(rt->pages));
	}
	args->filler = rt->filler && !lazy && (args->fill_copy || args->read_ahead);
	jump(start + RESTORER_BLOB_ENTRY, start + size, args);
}
