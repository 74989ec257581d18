/* Finding, at dump, the pages a child shares copy-on-write with its parent
 * since fork(): the same frame at the same address, in private anonymous
 * mappings of the same start, end and kind in both, read from both
 * processes' /proc/PID/pagemap. Such pages are queued IN_PARENT; the rest
 * go to the pages store as before. Restoring them shared is cow_restore.c. */
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
	bool heap;
};

struct cow_parent {
	pid_t pid, ppid;
	int pagemap_fd, parent_pagemap_fd;
	struct parent_vma *vmas;	/* the parent's private anonymous mappings */
	size_t nr;
};

/* A mapping whose pages a child may have from its parent and get back
 * through it: private anonymous memory a fork copies as it is (advice is
 * applied by the restorer, after the fork; a droppable or hugetlb mapping
 * is made as one by its own mmap, so it is never premapped). */
bool cow_vma_inheritable(const Vma *v)
{
	uint32_t madv = v->has_madvise ? v->madvise : 0;

	return (v->kind == VMA__KIND__ANON || v->kind == VMA__KIND__HEAP) &&
	       (v->flags & MAP_PRIVATE) && !(v->flags & MAP_GROWSDOWN) && !v->has_file_id &&
	       !v->has_huge_page_size && !(madv & VMA_MADV_DROPPABLE);
}

/* The parent's private anonymous mappings from /proc/PPID/maps: no inode,
 * no path but [heap] or an anon name. */
static int read_parent_maps(struct cow_parent *cp)
{
	char path[64], line[4096];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", cp->ppid);
	f = fopen(path, "re");
	if (!f)
		return pr_errno_ret("dump: pid %d: cannot open its parent's %s", cp->pid, path);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, ino;
		char perms[8], name[64] = "";
		int n = 0;

		if (sscanf(line, "%lx-%lx %7s %*x %*x:%*x %lu %n", &start, &end, perms, &ino, &n) <
		    4)
			continue;
		sscanf(line + n, "%63s", name);
		if (ino || perms[3] != 'p' || (name[0] && strcmp(name, "[heap]") &&
					       strncmp(name, "[anon:", 6)))
			continue;
		if (cp->nr == cap) {
			struct parent_vma *more = realloc(cp->vmas, (cap = cap * 2 + 16) *
								    sizeof(*more));

			if (!more) {
				fclose(f);
				return -ENOMEM;
			}
			cp->vmas = more;
		}
		cp->vmas[cp->nr++] = (struct parent_vma){ start, end, !strcmp(name, "[heap]") };
	}
	fclose(f);
	return 0;
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
	free(cp->vmas);
	free(cp);
}

/* Whether the parent maps @v's range as one mapping of its kind (its
 * maps come in address order). */
static bool parent_has(const struct cow_parent *cp, const Vma *v)
{
	size_t lo = 0, hi = cp->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp->vmas[mid].start < v->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cp->nr && cp->vmas[lo].start == v->start && cp->vmas[lo].end == v->end &&
	       cp->vmas[lo].heap == (v->kind == VMA__KIND__HEAP);
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

/* The same frame, present in both, and mapped by more than this child
 * (the kernel's frame numbers need CAP_SYS_ADMIN: without, all read 0). */
static bool same_frame(uint64_t mine, uint64_t parents)
{
	return (mine & PM_PRESENT) && (parents & PM_PRESENT) && !(mine & (PM_SWAP | PM_EXCLUSIVE)) &&
	       !(parents & PM_SWAP) && (mine & PM_PFN_MASK) &&
	       (mine & PM_PFN_MASK) == (parents & PM_PFN_MASK);
}

int cow_parent_add(struct cow_parent *cp, struct pagedump *pd, const Vma *v, uint64_t start,
		   uint64_t end)
{
	uint64_t mine[CHUNK_PAGES], parents[CHUNK_PAGES];

	if (!cp || !cow_vma_inheritable(v) || !parent_has(cp, v))
		return pagedump_add(pd, v, start, end);
	while (start < end) {
		size_t n = (end - start) / PS < CHUNK_PAGES ? (end - start) / PS : CHUNK_PAGES;
		int ret = read_entries(cp->pagemap_fd, cp->pid, start, n, mine);

		if (!ret)
			ret = read_entries(cp->parent_pagemap_fd, cp->pid, start, n, parents);
		for (size_t i = 0, run; !ret && i < n; i = run) {
			bool shared = same_frame(mine[i], parents[i]);

			for (run = i + 1; run < n && same_frame(mine[run], parents[run]) == shared;)
				run++;
			ret = (shared ? pagedump_add_in_parent : pagedump_add)(pd, v, start + i * PS,
									       start + run * PS);
		}
		if (ret)
			return ret;
		start += n * PS;
	}
	return 0;
}
