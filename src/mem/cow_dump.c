/* Finding, at dump, the pages a child shares copy-on-write with its parent
 * since fork(): a page on the same frame as one of the parent's private
 * anonymous pages (or anonymous copies in a private file mapping), at the
 * same address or wherever the child moved it, read from both processes'
 * /proc/PID/pagemap. Such pages are queued IN_PARENT with the parent's
 * address; such a page the parent no longer has but a sibling dumped
 * before has (at the same address, or where one of them moved it),
 * IN_PARENT with that sibling; the rest
 * go to the pages store as before. Restoring them shared is restore/cow.c. */
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

/* A sibling dumped before the child: for the pages being compared, its
 * pagemap entries (opened at the first), and its private anonymous
 * mappings (read at the first frame it shares): a wide tree whose
 * children share nothing but with their parent reads none of those. */
struct sibling {
	pid_t pid;
	int pagemap_fd;		/* -1: not open yet */
	bool have_vmas;
	struct parent_vma *vmas;
	size_t nr;
	uint64_t entries[CHUNK_PAGES];
	uint64_t entries_at, entries_end;	/* what @entries holds; empty at first */
	/* Its shared frames over @vmas, built the first time a page of the
	 * child is found at no sibling's address (one of them moved it). */
	struct frame_index index;
};

struct cow_parent {
	pid_t pid, ppid;
	int pagemap_fd, parent_pagemap_fd;
	struct parent_vma *vmas;	/* the parent's private anonymous mappings */
	size_t nr;
	struct frame_index index;
	struct sibling *siblings;	/* in dump order */
	size_t nr_siblings;
	/* Look for pages a sibling (or the child) moved: only in a child
	 * with no live children, whose shared frames the parent does not
	 * map can then be only a sibling's (or a process's outside the
	 * dump); a child's pages shared with its own children would
	 * index every earlier sibling for nothing. */
	bool find_moved;
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

static int push_parent_vma(struct parent_vma **vmas, size_t *nr, size_t *cap,
			   const struct parent_vma *pv)
{
	if (*nr == *cap) {
		size_t more_cap = *cap * 2 + 16;
		struct parent_vma *more = reallocarray(*vmas, more_cap, sizeof(*more));

		if (!more)
			return -ENOMEM;
		*vmas = more;
		*cap = more_cap;
	}
	(*vmas)[(*nr)++] = *pv;
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

/* The mappings of @of (the parent of @pid, or a sibling) that
 * cow_vma_inheritable() would take, from /proc/PID/smaps (maps shows no
 * VmFlags): neither droppable nor hugetlb. */
static int read_inheritable_maps(pid_t pid, pid_t of, struct parent_vma **vmas, size_t *nr)
{
	_cleanup_free_ char *buf = malloc(1 << 20);
	_cleanup_fclose_ FILE *f = NULL;
	struct parent_vma pv = { 0 };
	char path[64], line[4096 + 128];
	bool candidate = false;
	size_t cap = 0;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", of);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open %s", pid, path);
	if (buf)
		setvbuf(f, buf, _IOFBF, 1 << 20);
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned long start, end, pgoff, ino;
		char perms[8], *name;
		int n = 0;

		if (!strncmp(line, "VmFlags:", 8)) {
			pv.growsdown = has_vm_flag(line, "gd");
			if (candidate && !has_vm_flag(line, "dp") && !has_vm_flag(line, "ht")) {
				ret = push_parent_vma(vmas, nr, &cap, &pv);
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
		ret = pr_errno_ret("dump: pid %d: cannot read %s", pid, path);
	return ret;
}

static void free_vmas(struct parent_vma *vmas, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(vmas[i].claimed);
		free(vmas[i].path);
	}
	free(vmas);
}

static int open_siblings(struct cow_parent *cp, const pid_t *siblings, size_t nr)
{
	cp->siblings = calloc(nr + 1, sizeof(*cp->siblings));
	if (!cp->siblings)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++)
		cp->siblings[cp->nr_siblings++] = (struct sibling){ .pid = siblings[i],
								    .pagemap_fd = -1 };
	return 0;
}

int cow_parent_open(pid_t pid, pid_t ppid, const pid_t *siblings, size_t nr_siblings,
		    bool has_children, struct cow_parent **out)
{
	struct cow_parent *cp = calloc(1, sizeof(*cp));
	int ret;

	*out = NULL;
	if (!cp)
		return -ENOMEM;
	cp->pid = pid;
	cp->ppid = ppid;
	cp->find_moved = !has_children;
	cp->parent_pagemap_fd = -1;
	cp->pagemap_fd = proc_open(pid, "pagemap");
	cp->parent_pagemap_fd = cp->pagemap_fd < 0 ? -1 : proc_open(ppid, "pagemap");
	if (cp->pagemap_fd < 0 || cp->parent_pagemap_fd < 0) {
		ret = cp->pagemap_fd < 0 ? cp->pagemap_fd : cp->parent_pagemap_fd;
		pr_err("dump: pid %d: cannot open /proc/%d/pagemap: %s", pid,
		       cp->pagemap_fd < 0 ? pid : ppid, strerror(-ret));
		goto err;
	}
	ret = read_inheritable_maps(pid, ppid, &cp->vmas, &cp->nr);
	if (!ret)
		ret = open_siblings(cp, siblings, nr_siblings);
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
	free_vmas(cp->vmas, cp->nr);
	for (size_t i = 0; i < cp->nr_siblings; i++) {
		if (cp->siblings[i].pagemap_fd >= 0)
			close(cp->siblings[i].pagemap_fd);
		free_vmas(cp->siblings[i].vmas, cp->siblings[i].nr);
		free(cp->siblings[i].index.pfn);
		free(cp->siblings[i].index.addr);
	}
	free(cp->siblings);
	free(cp->index.pfn);
	free(cp->index.addr);
	free(cp);
}

/* The mapping of @vmas (in address order) holding @addr; @nr if none. */
static size_t vma_at(const struct parent_vma *vmas, size_t nr, uint64_t addr)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr && vmas[lo].start <= addr ? lo : nr;
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

static int claim_in(struct parent_vma *vmas, size_t nr, const Vma *v, uint64_t mine,
		    uint64_t addr, bool *ok)
{
	size_t k = vma_at(vmas, nr, addr);
	struct parent_vma *pv = &vmas[k];
	uint64_t page;

	*ok = false;
	if (k == nr || pv->growsdown != !!(v->flags & MAP_GROWSDOWN) ||
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

static int claim(struct cow_parent *cp, const Vma *v, uint64_t mine, uint64_t addr, bool *ok)
{
	return claim_in(cp->vmas, cp->nr, v, mine, addr, ok);
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

/* Every shared frame of mappings @vmas of the process whose pagemap is
 * @pagemap_fd (the parent's or a sibling's) into @fi. */
static int index_build(struct frame_index *fi, pid_t pid, int pagemap_fd,
		       const struct parent_vma *vmas, size_t nr)
{
	uint64_t entries[CHUNK_PAGES];
	int ret = 0;

	fi->built = true;
	for (size_t k = 0; !ret && k < nr; k++) {
		for (uint64_t at = vmas[k].start; !ret && at < vmas[k].end;) {
			size_t n = (vmas[k].end - at) / PS < CHUNK_PAGES ?
					   (vmas[k].end - at) / PS : CHUNK_PAGES;

			ret = read_entries(pagemap_fd, pid, at, n, entries);
			for (size_t i = 0; !ret && i < n; i++)
				if (shared_frame(entries[i]))
					ret = index_add(fi, entries[i] & PM_PFN_MASK, at + i * PS);
			at += n * PS;
		}
	}
	return ret;
}

/* Where @fi has the frame of @mine; 0: nowhere. */
static uint64_t index_lookup(const struct frame_index *fi, uint64_t mine)
{
	size_t i;

	if (!fi->nr)
		return 0;
	i = index_slot(fi, mine & PM_PFN_MASK);
	return fi->pfn[i] ? fi->addr[i] : 0;
}

/* Where the parent maps the frame of @mine, a shared page the child does
 * not have at the parent's address; 0: nowhere. */
static int index_find(struct cow_parent *cp, uint64_t mine, uint64_t *addr)
{
	int ret = cp->index.built ? 0 :
				    index_build(&cp->index, cp->pid, cp->parent_pagemap_fd, cp->vmas,
						cp->nr);

	*addr = ret ? 0 : index_lookup(&cp->index, mine);
	return ret;
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

/* Sibling @s's inheritable mappings: anonymous, or private mappings of a
 * file by path, whose anonymous copies the parent holds mapped from the
 * same file at the same offset. */
static int sibling_vmas(const struct cow_parent *cp, struct sibling *s)
{
	int ret;

	if (s->have_vmas)
		return 0;
	ret = read_inheritable_maps(cp->pid, s->pid, &s->vmas, &s->nr);
	s->have_vmas = !ret;
	return ret;
}

/* Sibling @s's pagemap entry for page @addr of the child's mapping @v,
 * read a chunk at a time (beyond its mappings, entries read 0). */
static int sibling_pagemap(const struct cow_parent *cp, struct sibling *s)
{
	if (s->pagemap_fd >= 0)
		return 0;
	s->pagemap_fd = proc_open(s->pid, "pagemap");
	if (s->pagemap_fd < 0) {
		pr_err("dump: pid %d: cannot open /proc/%d/pagemap: %s", cp->pid, s->pid,
		       strerror(-s->pagemap_fd));
		return s->pagemap_fd;
	}
	return 0;
}

static int sibling_entry(const struct cow_parent *cp, struct sibling *s, const Vma *v,
			 uint64_t addr, uint64_t *e)
{
	int ret = sibling_pagemap(cp, s);

	if (ret)
		return ret;
	if (addr < s->entries_at || addr >= s->entries_end) {
		size_t n = (v->end - addr) / PS < CHUNK_PAGES ? (v->end - addr) / PS : CHUNK_PAGES;

		ret = read_entries(s->pagemap_fd, s->pid, addr, n, s->entries);
		if (ret)
			return ret;
		s->entries_at = addr;
		s->entries_end = addr + n * PS;
	}
	*e = s->entries[(addr - s->entries_at) / PS];
	return 0;
}

/* Where sibling @s maps the frame of @mine elsewhere than the child
 * does, in one of its inheritable mappings; 0: nowhere. */
static int sibling_moved(const struct cow_parent *cp, struct sibling *s, uint64_t mine,
			 uint64_t *at)
{
	int ret = 0;

	*at = 0;
	if (!s->index.built) {
		ret = sibling_pagemap(cp, s);
		if (!ret)
			ret = sibling_vmas(cp, s);
		if (!ret)
			ret = index_build(&s->index, cp->pid, s->pagemap_fd, s->vmas, s->nr);
	}
	if (!ret)
		*at = index_lookup(&s->index, mine);
	return ret;
}

/* Whether sibling @s has the frame of @mine at @addr, in one of its
 * inheritable mappings. */
static int sibling_has_here(const struct cow_parent *cp, struct sibling *s, const Vma *v,
			    uint64_t addr, uint64_t mine, bool *here)
{
	uint64_t e = 0;
	int ret = sibling_entry(cp, s, v, addr, &e);

	*here = false;
	if (ret || !(e & PM_PRESENT) || (e & PM_SWAP) || (e & PM_PFN_MASK) != (mine & PM_PFN_MASK))
		return ret;
	ret = sibling_vmas(cp, s);
	*here = !ret && vma_at(s->vmas, s->nr, addr) < s->nr;
	return ret;
}

/* The sibling whose page the child's page @addr of its mapping @v is
 * (anonymous, or an anonymous copy in a private file mapping), when the
 * parent maps its frame nowhere (it wrote or unmapped its copy since the
 * fork): the first, in dump order, that has the frame in an inheritable
 * mapping, at @addr or wherever it (or the child) moved it with
 * mremap(), into *@out, and where into *@at; 0: none. Every child picks
 * that same first one, which compared its own page with the same parent
 * and with the siblings before it, none of which has the frame, and so
 * saved it PRESENT. A child that would have to index every earlier
 * sibling to know (see find_moved) and finds none at its address, or
 * whose page of that sibling is given already (a KSM frame mapped twice)
 * or of another backing (anonymous, or another file or offset), keeps a
 * copy. */
static int sibling_of(struct cow_parent *cp, const Vma *v, uint64_t addr, uint64_t mine,
		      uint64_t parents, uint32_t *out, uint64_t *at)
{
	size_t first = cp->nr_siblings;
	uint64_t there = 0;
	bool ok = false;
	int ret;

	*out = 0;
	*at = 0;
	if (!cp->nr_siblings || !shared_frame(mine) || same_frame(mine, parents))
		return 0;
	ret = index_find(cp, mine, &there);
	if (ret || there)
		return ret;
	for (size_t i = 0; !ret && first == cp->nr_siblings && i < cp->nr_siblings; i++) {
		bool here = false;

		ret = sibling_has_here(cp, &cp->siblings[i], v, addr, mine, &here);
		if (here) {
			first = i;
			there = addr;
		}
	}
	/* An earlier sibling may have it elsewhere. */
	for (size_t i = 0; !ret && (cp->find_moved || first < cp->nr_siblings) && i < first; i++) {
		uint64_t moved = 0;

		ret = sibling_moved(cp, &cp->siblings[i], mine, &moved);
		if (moved) {
			first = i;
			there = moved;
		}
	}
	if (ret || first == cp->nr_siblings)
		return ret;
	ret = claim_in(cp->siblings[first].vmas, cp->siblings[first].nr, v, addr, there, &ok);
	if (!ret && ok) {
		*out = (uint32_t)cp->siblings[first].pid;
		*at = there;
	}
	return ret;
}

/* Queues the run [@start, @end): its parent's (or @sibling's) from
 * @parent on, or the child's own with @parent 0. */
static int add_run(struct pagedump *pd, const Vma *v, uint64_t start, uint64_t end,
		   uint64_t parent, uint32_t sibling)
{
	if (start == end)
		return 0;
	return parent ? pagedump_add_in_parent(pd, v, start, end, parent, sibling) :
			pagedump_add(pd, v, start, end);
}

int cow_parent_add(struct cow_parent *cp, struct pagedump *pd, const Vma *v, uint64_t start,
		   uint64_t end)
{
	uint64_t mine[CHUNK_PAGES], parents[CHUNK_PAGES];
	uint64_t run_start = start, run_parent = 0;
	uint32_t run_sibling = 0;
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
			uint32_t sibling = 0;

			ret = parent_addr_of(cp, v, addr, mine[i], parents[i], &parent);
			if (!ret && !parent)
				ret = sibling_of(cp, v, addr, mine[i], parents[i], &sibling,
						 &parent);
			if (ret || (parent == run_next && sibling == run_sibling))
				continue;
			ret = add_run(pd, v, run_start, addr, run_parent, run_sibling);
			run_start = addr;
			run_parent = parent;
			run_sibling = sibling;
		}
		start += n * PS;
	}
	return ret ? ret : add_run(pd, v, run_start, end, run_parent, run_sibling);
}
