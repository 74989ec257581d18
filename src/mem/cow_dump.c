/* Finding, at dump, the pages a child shares copy-on-write with its parent
 * since fork(): a page on the same frame as one of the parent's private
 * anonymous pages (or anonymous copies in a private file mapping), at the
 * same address or wherever the child moved it, read from both processes'
 * /proc/PID/pagemap. Such pages are queued IN_PARENT with the parent's
 * address; the rest go to the pages store as before. Restoring them shared
 * is restore/cow.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procfs.h"
#include "mem/cow.h"
#include "mem/pagedump.h"
#include "mem/vma.h"

#define PS IMG_PAGE_SIZE
/* /proc/PID/pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_EXCLUSIVE (1ULL << 56)
#define PM_SWAP (1ULL << 62)
#define PM_PRESENT (1ULL << 63)
/* Pagemap entries read at a time. */
#define CHUNK_PAGES 512

struct parent_vma {
	uint64_t start, end;
	bool growsdown;
	char *path;		/* a private file mapping's file; NULL: anonymous */
	uint64_t pgoff;		/* its offset in the file, in bytes */
	const Vma *same_file;	/* the child's mapping last found of that file */
	uint64_t *claimed;	/* a bit a page given to one of the child's pages */
};

/* The parent's shared frames (not PM_MMAP_EXCLUSIVE), frame to address:
 * open addressing, built the first time a page of the child is shared but
 * not with the parent's page at its own address. */
struct frame_index {
	uint64_t *pfn, *addr;	/* pfn 0: a free slot */
	size_t cap, nr;
	bool built;
};

struct cow_parent {
	pid_t pid, ppid;
	int pagemap_fd, parent_pagemap_fd;
	struct parent_vma *vmas;	/* the parent's private anonymous mappings */
	size_t nr;
	struct frame_index index;
};

/* A mapping whose pages a child may have from its parent and get back
 * through it: private anonymous memory a fork copies as it is, stacks
 * included, and a private mapping of a file by path, whose written pages
 * are anonymous copies (advice is applied by the restorer, after the fork;
 * a hugetlb mapping is made as one by its own mmap, so it is never
 * premapped; a droppable one is wiped on fork, and the kernel refuses
 * MADV_KEEPONFORK on it, so it never shares a page; a deleted file or a
 * memfd is made again only after the fork, in stage 2). */
bool cow_vma_inheritable(const Vma *v)
{
	uint32_t madv = v->has_madvise ? v->madvise : 0;

	return (v->kind == VMA__KIND__ANON || v->kind == VMA__KIND__HEAP ||
		v->kind == VMA__KIND__STACK || (v->kind == VMA__KIND__FILE && v->file_path)) &&
	       (v->flags & MAP_PRIVATE) && !v->has_file_id && !v->has_huge_page_size &&
	       !(madv & VMA_MADV_DROPPABLE);
}

bool cow_backing_matches(const Vma *v, uint64_t addr, const char *parent_path,
			 uint64_t parent_pgoff, uint64_t parent_start, uint64_t parent_addr)
{
	if (v->kind != VMA__KIND__FILE || !parent_path)
		return v->kind != VMA__KIND__FILE && !parent_path;
	return !strcmp(v->file_path, parent_path) &&
	       v->pgoff + (addr - v->start) == parent_pgoff + (parent_addr - parent_start);
}

/* Whether smaps VmFlags @flags (" rd wr mr ...") hold @code. */
static bool has_vm_flag(const char *flags, const char *code)
{
	for (const char *at = strstr(flags, code); at; at = strstr(at + 1, code))
		if (at[-1] == ' ' && (at[2] == ' ' || at[2] == '\n' || !at[2]))
			return true;
	return false;
}

static int push_parent_vma(struct cow_parent *cp, size_t *cap, const struct parent_vma *pv)
{
	if (cp->nr == *cap) {
		size_t more_cap = *cap * 2 + 16;
		struct parent_vma *more = reallocarray(cp->vmas, more_cap, sizeof(*more));

		if (!more)
			return -ENOMEM;
		cp->vmas = more;
		*cap = more_cap;
	}
	cp->vmas[cp->nr++] = *pv;
	return 0;
}

/* Whether a mapping of /proc/PID/smaps, private (@perms), of inode @ino
 * and named @name, is one cow_vma_inheritable() would take (its VmFlags
 * are checked apart): anonymous, [heap], [stack] or an anon name, or a
 * file by path that is not deleted. */
static bool inheritable_line(const char *perms, unsigned long ino, const char *name)
{
	static const char deleted[] = " (deleted)";
	size_t len = strlen(name);

	if (perms[3] != 'p')
		return false;
	if (ino)
		return name[0] == '/' &&
		       (len < sizeof(deleted) - 1 || strcmp(name + len - (sizeof(deleted) - 1), deleted));
	return !name[0] || !strcmp(name, "[heap]") || !strcmp(name, "[stack]") ||
	       !strncmp(name, "[anon:", 6);
}

/* The parent's mappings that cow_vma_inheritable() would take, from
 * /proc/PPID/smaps (maps shows no VmFlags): neither droppable nor hugetlb. */
static int read_parent_maps(struct cow_parent *cp)
{
	_cleanup_free_ char *buf = malloc(1 << 20);
	_cleanup_fclose_ FILE *f = NULL;
	struct parent_vma pv = { 0 };
	char path[64], line[4096 + 128];
	bool candidate = false;
	size_t cap = 0;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", cp->ppid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open its parent's %s", cp->pid, path);
	if (buf)
		setvbuf(f, buf, _IOFBF, 1 << 20);
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned long start, end, pgoff, ino;
		char perms[8], *name;
		int n = 0;

		if (!strncmp(line, "VmFlags:", 8)) {
			pv.growsdown = has_vm_flag(line, "gd");
			if (candidate && !has_vm_flag(line, "dp") && !has_vm_flag(line, "ht")) {
				ret = push_parent_vma(cp, &cap, &pv);
				if (!ret)
					pv.path = NULL;	/* the list's now */
			}
			free(pv.path);
			pv.path = NULL;
			candidate = false;
			continue;
		}
		if (sscanf(line, "%lx-%lx %7s %lx %*x:%*x %lu %n", &start, &end, perms, &pgoff, &ino,
			   &n) < 5)
			continue;
		name = line + n;
		name[strcspn(name, "\n")] = '\0';
		candidate = inheritable_line(perms, ino, name);
		free(pv.path);
		pv = (struct parent_vma){ .start = start, .end = end, .pgoff = pgoff };
		if (candidate && ino && !(pv.path = strdup(name)))
			ret = -ENOMEM;
	}
	free(pv.path);
	if (!ret && ferror(f))
		ret = pr_errno_ret("dump: pid %d: cannot read its parent's %s", cp->pid, path);
	return ret;
}

int cow_parent_open(pid_t pid, pid_t ppid, struct cow_parent **out)
{
	struct cow_parent *cp = calloc(1, sizeof(*cp));
	int ret;

	*out = NULL;
	if (!cp)
		return -ENOMEM;
	cp->pid = pid;
	cp->ppid = ppid;
	cp->parent_pagemap_fd = -1;
	cp->pagemap_fd = proc_open(pid, "pagemap");
	cp->parent_pagemap_fd = cp->pagemap_fd < 0 ? -1 : proc_open(ppid, "pagemap");
	if (cp->pagemap_fd < 0 || cp->parent_pagemap_fd < 0) {
		ret = cp->pagemap_fd < 0 ? cp->pagemap_fd : cp->parent_pagemap_fd;
		pr_err("dump: pid %d: cannot open /proc/%d/pagemap: %s", pid,
		       cp->pagemap_fd < 0 ? pid : ppid, strerror(-ret));
		goto err;
	}
	ret = read_parent_maps(cp);
	if (ret)
		goto err;
	*out = cp;
	return 0;
err:
	cow_parent_close(cp);
	return ret;
}

void cow_parent_close(struct cow_parent *cp)
{
	if (!cp)
		return;
	if (cp->pagemap_fd >= 0)
		close(cp->pagemap_fd);
	if (cp->parent_pagemap_fd >= 0)
		close(cp->parent_pagemap_fd);
	for (size_t i = 0; i < cp->nr; i++) {
		free(cp->vmas[i].claimed);
		free(cp->vmas[i].path);
	}
	free(cp->vmas);
	free(cp->index.pfn);
	free(cp->index.addr);
	free(cp);
}

/* The parent's private anonymous mapping holding @addr; cp->nr if none
 * (its maps come in address order). */
static size_t parent_vma_at(const struct cow_parent *cp, uint64_t addr)
{
	size_t lo = 0, hi = cp->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cp->nr && cp->vmas[lo].start <= addr ? lo : cp->nr;
}

/* Gives the parent's page at @addr to page @mine of the child's mapping
 * @v: false if it is no page of a mapping the restore can share (growing
 * down as @v does, of the same file at the same offset or anonymous as @v
 * is: a frame KSM merged may be in any mapping), or given already (a KSM
 * frame may be mapped twice), so that restore never moves one parent page
 * to two places. */
/* cow_backing_matches() with the paths compared once per pair of
 * mappings, not once per page. */
static bool backing_matches(struct parent_vma *pv, const Vma *v, uint64_t mine, uint64_t addr)
{
	if (pv->path && v == pv->same_file)
		return v->pgoff + (mine - v->start) == pv->pgoff + (addr - pv->start);
	if (!cow_backing_matches(v, mine, pv->path, pv->pgoff, pv->start, addr))
		return false;
	if (pv->path)
		pv->same_file = v;
	return true;
}

static int claim(struct cow_parent *cp, const Vma *v, uint64_t mine, uint64_t addr, bool *ok)
{
	size_t k = parent_vma_at(cp, addr);
	struct parent_vma *pv = &cp->vmas[k];
	uint64_t page;

	*ok = false;
	if (k == cp->nr || pv->growsdown != !!(v->flags & MAP_GROWSDOWN) ||
	    !backing_matches(pv, v, mine, addr))
		return 0;
	if (!pv->claimed) {
		pv->claimed = calloc((pv->end - pv->start) / PS / 64 + 1, sizeof(uint64_t));
		if (!pv->claimed)
			return -ENOMEM;
	}
	page = (addr - pv->start) / PS;
	if (pv->claimed[page / 64] & (1ULL << (page % 64)))
		return 0;
	pv->claimed[page / 64] |= 1ULL << (page % 64);
	*ok = true;
	return 0;
}

static int read_entries(int fd, pid_t pid, uint64_t addr, size_t n, uint64_t *out)
{
	size_t want = n * sizeof(*out), got = 0;

	while (got < want) {
		ssize_t r = pread(fd, (char *)out + got, want - got,
				  (off_t)((addr / PS) * sizeof(*out) + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return pr_errno_ret("dump: pid %d: cannot read the pagemap at 0x%llx", pid,
					    (unsigned long long)addr);
		got += (size_t)r;
	}
	return 0;
}

/* A page present on a frame some other mapping has too (the kernel's frame
 * numbers need CAP_SYS_ADMIN: without, all read 0). */
static bool shared_frame(uint64_t e)
{
	return (e & PM_PRESENT) && !(e & (PM_SWAP | PM_EXCLUSIVE)) && (e & PM_PFN_MASK);
}

/* The same frame, present in both, and mapped by more than this child. */
static bool same_frame(uint64_t mine, uint64_t parents)
{
	return shared_frame(mine) && (parents & PM_PRESENT) && !(parents & PM_SWAP) &&
	       (mine & PM_PFN_MASK) == (parents & PM_PFN_MASK);
}

static size_t index_slot(const struct frame_index *fi, uint64_t pfn)
{
	size_t i = (size_t)(pfn * 0x9e3779b97f4a7c15ULL) & (fi->cap - 1);

	while (fi->pfn[i] && fi->pfn[i] != pfn)
		i = (i + 1) & (fi->cap - 1);
	return i;
}

static int index_add(struct frame_index *fi, uint64_t pfn, uint64_t addr)
{
	size_t i;

	if (2 * (fi->nr + 1) > fi->cap) {
		struct frame_index bigger = { .cap = fi->cap ? 2 * fi->cap : 1024 };

		bigger.pfn = calloc(bigger.cap, sizeof(*bigger.pfn));
		bigger.addr = calloc(bigger.cap, sizeof(*bigger.addr));
		if (!bigger.pfn || !bigger.addr) {
			free(bigger.pfn);
			free(bigger.addr);
			return -ENOMEM;
		}
		for (size_t k = 0; k < fi->cap; k++) {
			if (!fi->pfn[k])
				continue;
			i = index_slot(&bigger, fi->pfn[k]);
			bigger.pfn[i] = fi->pfn[k];
			bigger.addr[i] = fi->addr[k];
		}
		bigger.nr = fi->nr;
		free(fi->pfn);
		free(fi->addr);
		*fi = bigger;
	}
	i = index_slot(fi, pfn);
	if (!fi->pfn[i])
		fi->nr++;
	fi->pfn[i] = pfn;
	fi->addr[i] = addr;
	return 0;
}

/* Every shared frame of the parent's private anonymous mappings. */
static int index_build(struct cow_parent *cp)
{
	uint64_t parents[CHUNK_PAGES];
	int ret = 0;

	cp->index.built = true;
	for (size_t k = 0; !ret && k < cp->nr; k++) {
		for (uint64_t at = cp->vmas[k].start; !ret && at < cp->vmas[k].end;) {
			size_t n = (cp->vmas[k].end - at) / PS < CHUNK_PAGES ?
					   (cp->vmas[k].end - at) / PS : CHUNK_PAGES;

			ret = read_entries(cp->parent_pagemap_fd, cp->pid, at, n, parents);
			for (size_t i = 0; !ret && i < n; i++)
				if (shared_frame(parents[i]))
					ret = index_add(&cp->index, parents[i] & PM_PFN_MASK,
							at + i * PS);
			at += n * PS;
		}
	}
	return ret;
}

/* Where the parent maps the frame of @mine, a shared page the child does
 * not have at the parent's address; 0: nowhere. */
static int index_find(struct cow_parent *cp, uint64_t mine, uint64_t *addr)
{
	int ret = cp->index.built ? 0 : index_build(cp);
	size_t i;

	*addr = 0;
	if (ret || !cp->index.nr)
		return ret;
	i = index_slot(&cp->index, mine & PM_PFN_MASK);
	*addr = cp->index.pfn[i] ? cp->index.addr[i] : 0;
	return 0;
}

/* Where the parent maps page @addr of the child's mapping @v, whose entry
 * is @mine and the parent's entry at the same address @parents; 0: it has
 * it not. */
static int parent_addr_of(struct cow_parent *cp, const Vma *v, uint64_t addr, uint64_t mine,
			  uint64_t parents, uint64_t *out)
{
	bool ok = false;
	int ret = 0;

	*out = 0;
	if (same_frame(mine, parents))
		ret = claim(cp, v, addr, addr, &ok);
	if (!ret && ok) {
		*out = addr;
		return 0;
	}
	if (ret || !shared_frame(mine))
		return ret;
	ret = index_find(cp, mine, out);
	if (!ret && *out)
		ret = claim(cp, v, addr, *out, &ok);
	if (!ok)
		*out = 0;
	return ret;
}

/* Queues the run [@start, @end): its parent's from @parent on, or the
 * child's own with @parent 0. */
static int add_run(struct pagedump *pd, const Vma *v, uint64_t start, uint64_t end,
		   uint64_t parent)
{
	if (start == end)
		return 0;
	return parent ? pagedump_add_in_parent(pd, v, start, end, parent) :
			pagedump_add(pd, v, start, end);
}

int cow_parent_add(struct cow_parent *cp, struct pagedump *pd, const Vma *v, uint64_t start,
		   uint64_t end)
{
	uint64_t mine[CHUNK_PAGES], parents[CHUNK_PAGES];
	uint64_t run_start = start, run_parent = 0;
	int ret = 0;

	if (!cp || !cow_vma_inheritable(v))
		return pagedump_add(pd, v, start, end);
	while (!ret && start < end) {
		size_t n = (end - start) / PS < CHUNK_PAGES ? (end - start) / PS : CHUNK_PAGES;

		ret = read_entries(cp->pagemap_fd, cp->pid, start, n, mine);
		if (!ret)
			ret = read_entries(cp->parent_pagemap_fd, cp->pid, start, n, parents);
		for (size_t i = 0; !ret && i < n; i++) {
			uint64_t addr = start + i * PS, parent;
			uint64_t run_next = run_parent ? run_parent + (addr - run_start) : 0;

			ret = parent_addr_of(cp, v, addr, mine[i], parents[i], &parent);
			if (ret || parent == run_next)
				continue;
			ret = add_run(pd, v, run_start, addr, run_parent);
			run_start = addr;
			run_parent = parent;
		}
		start += n * PS;
	}
	return ret ? ret : add_run(pd, v, run_start, end, run_parent);
}
