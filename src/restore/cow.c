/* Stage 1 of restoring pages shared copy-on-write since fork() (mem/cow.h):
 * each process fills the pieces of its premapped mappings that
 * restore_cow_plan() (cow_plan.c) gave it, before it creates its children,
 * who inherit them over clone3: anonymous memory, or a private mapping of
 * the file with its written pages. The restorer's moves into place are
 * area.c and the restorer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/proto/pagemap.pb-c.h"
#include "mem/cow.h"
#include "mem/mm.h"
#include "restore/restore.h"

#define PS ((uint64_t)IMG_PAGE_SIZE)

static const PagemapEntry *entry(const struct image *pagemap, size_t i)
{
	return (const PagemapEntry *)pagemap->records[i].msg;
}

static uint64_t entry_end(const PagemapEntry *e)
{
	return e->vaddr + e->nr_pages * PS;
}

size_t restore_cow_first_entry_above(const struct image *pagemap, uint64_t addr)
{
	size_t lo = 0, hi = pagemap->nr_records;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entry_end(entry(pagemap, mid)) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void restore_cow_unplan(struct restore_set *rs)
{
	if (rs->cow_region)
		munmap((void *)rs->cow_region, rs->cow_region_size);
	rs->cow_region = rs->cow_region_size = 0;
	for (size_t i = 0; rs->tasks && i < rs->tree.nr; i++) {
		for (size_t m = 0; m < rs->tasks[i].nr_premaps; m++)
			free(rs->tasks[i].premaps[m].pieces);
		free(rs->tasks[i].premaps);
		free(rs->tasks[i].held);
		rs->tasks[i].premaps = NULL;
		rs->tasks[i].nr_premaps = 0;
		rs->tasks[i].held = NULL;
		rs->tasks[i].nr_held = 0;
	}
}

/* An inherited piece holds its parent's pages: those that are not also
 * this process's (IN_PARENT) are dropped, to read as zeros (or as the
 * file, in a private file mapping) or be read. */
static int drop_parents_pages(const struct restore_task *rt, const struct cow_piece *pc)
{
	const struct image *pagemap = rt->pages->pagemap;
	uint64_t addr = pc->start;

	for (size_t i = restore_cow_first_entry_above(pagemap, pc->start); addr < pc->end; i++) {
		const PagemapEntry *e = i < pagemap->nr_records && entry(pagemap, i)->vaddr < pc->end ?
						entry(pagemap, i) : NULL;
		uint64_t keep_from = e ? e->vaddr : pc->end;

		if (e && e->state != PAGEMAP_ENTRY__STATE__IN_PARENT)
			continue;
		if (keep_from > addr && madvise((void *)(pc->slot + (addr - pc->start)),
						keep_from - addr, MADV_DONTNEED))
			return pr_errno_ret("restore: pid %d: cannot drop its parent's pages at "
					    "0x%llx", rt->pid, (unsigned long long)addr);
		if (!e)
			break;
		addr = entry_end(e);
	}
	return 0;
}

/* The present pages of piece @pc, read into its slot. */
static int read_own_pages(const struct restore_task *rt, const int *fds,
			  const struct cow_piece *pc)
{
	const struct image *pagemap = rt->pages->pagemap;

	for (size_t i = restore_cow_first_entry_above(pagemap, pc->start);
	     i < pagemap->nr_records && entry(pagemap, i)->vaddr < pc->end; i++) {
		const PagemapEntry *e = entry(pagemap, i);
		uint64_t from = e->vaddr > pc->start ? e->vaddr : pc->start;
		uint64_t to = entry_end(e) < pc->end ? entry_end(e) : pc->end;
		uint64_t off, done = 0;

		if (e->state != PAGEMAP_ENTRY__STATE__PRESENT)
			continue;
		off = e->file_off + (from - e->vaddr);
		while (done < to - from) {
			ssize_t n = pread(fds[pages_entry_file(e)], (char *)(pc->slot + (from - pc->start)) + done,
					  to - from - done, (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pr_err("restore: pid %d: cannot read pages at 0x%llx from %s: %s",
				       rt->pid, (unsigned long long)(from + done),
				       rt->pages->pages_path[pages_entry_file(e)], n ? strerror(errno) : "file too short");
				return n ? -errno : -EIO;
			}
			done += (uint64_t)n;
		}
	}
	return 0;
}

/* The file of premapped mapping @v, for its own pieces: through O_PATH
 * first, so that a path the image names is opened only once it is the
 * regular file that was dumped. Stage 2 still opens it as the process
 * would (child.c), which refuses a file the process may not open. */
static int open_mapped_file(const struct restore_task *rt, const Vma *v, int *out)
{
	_cleanup_close_ int at = open(v->file_path, O_PATH | O_CLOEXEC);
	struct stat st;
	char path[64];
	int ret;

	if (at < 0 || fstat(at, &st))
		return pr_errno_ret("restore: pid %d: mapping 0x%llx-0x%llx, which its children "
				    "share: cannot open %s", rt->pid, (unsigned long long)v->start,
				    (unsigned long long)v->end, v->file_path);
	if (!S_ISREG(st.st_mode)) {
		pr_err("restore: pid %d: mapping 0x%llx-0x%llx: %s is not a regular file", rt->pid,
		       (unsigned long long)v->start, (unsigned long long)v->end, v->file_path);
		return -ESTALE;
	}
	ret = restore_vma_file_check(v, at);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", at);
	*out = open(path, O_RDONLY | O_CLOEXEC);
	if (*out < 0)
		return pr_errno_ret("restore: pid %d: mapping 0x%llx-0x%llx, which its children "
				    "share: cannot open %s", rt->pid, (unsigned long long)v->start,
				    (unsigned long long)v->end, v->file_path);
	return 0;
}

/* Own piece @pc of mapping @v at its slot: anonymous memory, or the file
 * at the piece's offset (opened into *@file_fd at the first). */
static int map_own_piece(const struct restore_task *rt, const Vma *v, const struct cow_piece *pc,
			 int *file_fd)
{
	int flags = MAP_PRIVATE | MAP_FIXED | (int)(v->flags & (MAP_GROWSDOWN | MAP_NORESERVE));
	bool file = v->kind == VMA__KIND__FILE;
	int ret = file && *file_fd < 0 ? open_mapped_file(rt, v, file_fd) : 0;

	if (ret)
		return ret;
	if (mmap((void *)pc->slot, pc->end - pc->start, PROT_READ | PROT_WRITE,
		 flags | (file ? 0 : MAP_ANONYMOUS), file ? *file_fd : -1,
		 file ? (off_t)(v->pgoff + (pc->start - v->start)) : 0) == MAP_FAILED)
		return pr_errno_ret("restore: pid %d: cannot map 0x%llx-0x%llx, which its "
				    "children share, at 0x%llx", rt->pid,
				    (unsigned long long)pc->start, (unsigned long long)pc->end,
				    (unsigned long long)pc->slot);
	return 0;
}

/* Held memory @h: anonymous at its slot, or its owner's file mapped
 * privately at the same offset, with its owner's saved pages (the owner's
 * own pages file, open in every process until stage 2). */
static int fill_held(const struct restore_set *rs, const struct restore_task *rt,
		     const struct cow_held *h)
{
	const struct restore_task *owner = &rs->tasks[h->owner];
	const Vma *v = owner->mm->vmas[h->vma];
	int flags = MAP_PRIVATE | MAP_FIXED | (h->growsdown ? MAP_GROWSDOWN : 0);
	_cleanup_close_ int file_fd = -1;
	int ret = h->file ? open_mapped_file(owner, v, &file_fd) : 0;

	if (ret)
		return ret;
	if (mmap((void *)h->slot, h->end - h->start, PROT_READ | PROT_WRITE,
		 flags | (h->file ? 0 : MAP_ANONYMOUS), file_fd,
		 h->file ? (off_t)(v->pgoff + (h->start - v->start)) : 0) == MAP_FAILED)
		return pr_errno_ret("restore: pid %d: cannot map 0x%llx-0x%llx of its child %d, "
				    "which its children share, at 0x%llx", rt->pid,
				    (unsigned long long)h->start, (unsigned long long)h->end,
				    owner->pid, (unsigned long long)h->slot);
	return read_own_pages(owner, owner->pages->pages_fd,
			      &(struct cow_piece){ .start = h->start, .end = h->end,
						   .slot = h->slot });
}

int restore_cow_premap(const struct restore_set *rs, size_t index)
{
	const struct restore_task *rt = &rs->tasks[index];
	int ret = 0;

	_cleanup_close_ int direct_fd = -1;
	int fds[PAGES_FILES_MAX], fd = rt->pages->pages_fd[0];

	/* A cold file is read around the cache, as the restorer reads the
	 * rest (area.c), through a file of its own: the pages fd's flags
	 * are the restorer's to set. */
	if (rt->nr_premaps && (rt->pages_cold || restore_pages_cold(fd))) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		direct_fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (direct_fd >= 0)
			fd = direct_fd;
	}
	/* A second pages file (a large dump's) is read as it is. */
	fds[0] = fd;
	fds[1] = rt->pages->pages_fd[1];
	for (size_t i = 0; !ret && i < rt->nr_premaps; i++) {
		const Vma *v = rt->mm->vmas[rt->premaps[i].vma];
		int file_fd = -1;

		for (size_t q = 0; !ret && q < rt->premaps[i].nr_pieces; q++) {
			const struct cow_piece *pc = &rt->premaps[i].pieces[q];

			if (pc->held)
				continue;
			ret = pc->inherited ? drop_parents_pages(rt, pc) :
					      map_own_piece(rt, v, pc, &file_fd);
			if (!ret)
				ret = read_own_pages(rt, fds, pc);
		}
		if (file_fd >= 0)
			close(file_fd);
	}
	for (size_t h = 0; !ret && h < rt->nr_held; h++)
		ret = fill_held(rs, rt, &rt->held[h]);
	return ret;
}
