/* cryo's own mappings, read from /proc/self/maps once before the tree is
 * forked: every process starts as a copy of them, so each need not read
 * its own maps (twice: the restorer's gap and the vDSO's place cost a
 * tree of 500 7% of its restore's CPU), and cryo's heap made cheap to
 * copy at each fork. Not the gap's choice (area.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "kabi/features.h"
#include "kabi/kabi.h"
#include "restore/restore.h"

static int add_range(struct maps_now *m, size_t *cap, uint64_t start, uint64_t end)
{
	if (m->nr == *cap) {
		size_t more = *cap ? *cap * 2 : 256;
		struct maps_range *r = realloc(m->ranges, more * sizeof(*r));

		if (!r)
			return -ENOMEM;
		m->ranges = r;
		*cap = more;
	}
	m->ranges[m->nr++] = (struct maps_range){ start, end };
	return 0;
}

int maps_now_read(struct maps_now *m)
{
	_cleanup_free_ char *maps = NULL;
	struct vdso_layout vdso;
	size_t cap = 0;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = read_text_file("/proc/self/maps", &maps);
	if (ret)
		return ret;
	for (const char *line = maps, *next; !ret && *line; line = next) {
		unsigned long start, end;

		next = strchrnul(line, '\n');
		if (*next)
			next++;
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		ret = add_range(m, &cap, start, end);
		if (memmem(line, (size_t)(next - line), "[heap]", 6)) {
			m->heap_start = start;
			m->heap_end = end;
		}
	}
	/* This kernel's block: [vvar], [vvar_vclock], then [vdso]; none: 0. */
	if (!ret)
		ret = vdso_layout_parse(maps, &vdso);
	if (!ret) {
		m->vdso_block_start = vdso_layout_start(&vdso);
		m->vdso_text = vdso.vdso.start;
		m->vdso_block_end = vdso.vdso.end;
	} else if (ret == -ENOENT) {
		ret = 0;
	}
	if (ret)
		maps_now_free(m);
	return ret;
}

#define HUGE_PAGE_SIZE (2UL << 20)

/* Every process of the tree starts as a copy of cryo: each fork copies
 * one page table entry per page of cryo's heap (the decoded images of all
 * processes), and each process unmaps them all again in its restorer.
 * Backed by huge pages, the heap is a few entries to copy and to unmap (a
 * tree of 500: see docs/ARCHITECTURE.md, Benchmarks); a process that
 * writes into one splits only that one. The collapse copies the heap
 * once, so it is worth it only for a tree of several processes; it is an
 * optimisation, so a kernel or a moment without huge pages leaves the
 * heap as it is. Only whole 2 MiB pages of the heap's mapping are made:
 * maps_now_grow_heap() first makes its last one whole. */
void maps_now_collapse_heap(const struct maps_now *m)
{
	if (m->heap_end <= m->heap_start)
		return;
	if (madvise((void *)m->heap_start, m->heap_end - m->heap_start, MADV_COLLAPSE))
		pr_debug("restore: cryo's heap %#llx-%#llx not in huge pages: %s",
			 (unsigned long long)m->heap_start, (unsigned long long)m->heap_end,
			 strerror(errno));
	else
		pr_info("restore: cryo's heap (%llu KiB) put in huge pages before the tree is forked",
			(unsigned long long)(m->heap_end - m->heap_start) >> 10);
}

int maps_now_grow_heap(size_t more)
{
	uintptr_t end = (uintptr_t)sbrk(0), grow;
	char *added;

	if (end == (uintptr_t)-1)
		return -errno;
	grow = ((end + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1)) - end + more;
	added = grow ? sbrk((intptr_t)grow) : NULL;
	if (added == (void *)-1)
		return -errno;
	/* Never given back: cryo exits soon after the restore. What a test
	 * adds is written, so that it is heap in use like the rest. */
	if (more)
		memset(added + grow - more, 0x5a, more);
	return 0;
}

void maps_now_free(struct maps_now *m)
{
	free(m->ranges);
	memset(m, 0, sizeof(*m));
}
