/* Before anything of a restore is made: whether the kernel's pools of huge
 * pages can hold the tree's hugetlb memory (the reservations its mappings
 * and SysV segments will make), per page size. Making and filling that memory is the
 * restorer's and the file kinds' (memfd.c, shmem.c), not this file's. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "ipc/sysv_shm.h"
#include "mem/vma.h"
#include "restore/restore.h"

#define HUGEPAGES_SYSFS "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s"
/* Page sizes a tree may use at once: x86_64 has two. */
#define MAX_SIZES 4

/* The pages of one size the tree needs, and what first needed that size
 * (a mapping, a SysV segment), which the error names. */
struct huge_need {
	uint64_t page_size;
	uint64_t pages;
	char who[VMA_LABEL_MAX + 32];
};

struct huge_needs {
	struct huge_need v[MAX_SIZES];
	size_t nr;
};

/* A shared object counted already: by its identity at dump. */
struct huge_object {
	uint64_t dev, ino, end;
};

static int read_count(uint64_t page_size, const char *name, int64_t *out)
{
	_cleanup_free_ char *text = NULL;
	char path[128];
	int ret;

	snprintf(path, sizeof(path), HUGEPAGES_SYSFS, page_size >> 10, name);
	ret = read_text_file(path, &text);
	if (ret == -ENOENT) {
		*out = -1;
		return 0;
	}
	if (ret) {
		pr_err("restore: cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	*out = strtoll(text, NULL, 10);
	return 0;
}

/* Huge pages of @page_size a new reservation may take now: the free ones
 * not reserved, and what overcommit still allows; -1: no such size. */
static int pool_available(uint64_t page_size, int64_t *out)
{
	int64_t free_pages, resv, overcommit, surplus;
	int ret = read_count(page_size, "free_hugepages", &free_pages);

	if (!ret && free_pages >= 0)
		ret = read_count(page_size, "resv_hugepages", &resv);
	if (!ret && free_pages >= 0)
		ret = read_count(page_size, "nr_overcommit_hugepages", &overcommit);
	if (!ret && free_pages >= 0)
		ret = read_count(page_size, "surplus_hugepages", &surplus);
	if (ret)
		return ret;
	if (free_pages < 0) {
		*out = -1;
		return 0;
	}
	*out = free_pages - resv + (overcommit > surplus ? overcommit - surplus : 0);
	return 0;
}

/* Pages of @v's object not counted yet: a shared object is reserved once
 * for all its mappings, up to the furthest end any of them maps. */
static uint64_t object_pages(const Vma *v, struct huge_object *seen, size_t *nr_seen,
			     size_t max_seen)
{
	uint64_t end = (v->has_pgoff ? v->pgoff : 0) + (v->end - v->start), before = 0;
	size_t i;

	for (i = 0; i < *nr_seen; i++)
		if (seen[i].dev == v->file_dev && seen[i].ino == v->file_ino)
			break;
	if (i == *nr_seen) {
		if (i == max_seen)	/* too many to tell apart: count it whole */
			return (v->end - v->start) / v->huge_page_size;
		seen[i] = (struct huge_object){ v->file_dev, v->file_ino, 0 };
		(*nr_seen)++;
	}
	before = seen[i].end;
	if (end <= before)
		return 0;
	seen[i].end = end;
	return (end - before) / v->huge_page_size;
}

/* Adds @pages of @page_size to @needs; @who names the first need of a
 * size (the format and its arguments). */
static int __attribute__((format(printf, 4, 5)))
add_need(struct huge_needs *needs, uint64_t page_size, uint64_t pages, const char *fmt, ...)
{
	struct huge_need *n = NULL;
	va_list ap;

	for (size_t i = 0; i < needs->nr; i++)
		if (needs->v[i].page_size == page_size)
			n = &needs->v[i];
	if (!n) {
		if (needs->nr == MAX_SIZES) {
			pr_err("restore: hugetlb memory of more than %d page sizes", MAX_SIZES);
			return -EBADMSG;
		}
		n = &needs->v[needs->nr++];
		*n = (struct huge_need){ .page_size = page_size };
		va_start(ap, fmt);
		vsnprintf(n->who, sizeof(n->who), fmt, ap);
		va_end(ap);
	}
	n->pages += pages;
	return 0;
}

/* A SysV segment of huge pages reserves all of them when made. */
static int add_segment(void *needs, int id, uint64_t page_size, uint64_t pages)
{
	return add_need(needs, page_size, pages, "SysV segment %d", id);
}

/* What one mapping adds to the need of its page size. */
static int add_mapping(struct huge_needs *needs, pid_t pid, const Vma *v,
		       struct huge_object *seen, size_t *nr_seen, size_t max_seen)
{
	char label[VMA_LABEL_MAX];
	uint64_t pages;

	/* A private mapping reserves all its pages when mapped (with
	 * MAP_NORESERVE, it may take as many when touched). A shared one of
	 * a file opened by path (a hugetlbfs mount's) reserves nothing new:
	 * the file is the one dumped, whose inode kept the reservations of
	 * every range mapped before, as its pages. */
	if (v->flags & MAP_PRIVATE)
		pages = (v->end - v->start) / v->huge_page_size;
	else if (v->kind == VMA__KIND__FILE || v->kind == VMA__KIND__SYSV_SHM)
		pages = 0;	/* a SysV segment is counted whole (add_segment) */
	else
		pages = object_pages(v, seen, nr_seen, max_seen);
	vma_label(v, label, sizeof(label));
	return add_need(needs, v->huge_page_size, pages, "pid %d vma %s", pid, label);
}

static int check_need(const struct huge_need *n, int64_t available)
{
	const char *knob = n->page_size == 2u << 20 ? "/proc/sys/vm/nr_hugepages" : NULL;
	char sysfs[128];

	if (available >= 0 && (uint64_t)available >= n->pages)
		return 0;
	if (available < 0) {
		pr_err("restore: %s: hugetlb pages of %" PRIu64 " kB, which this kernel does not "
		       "have", n->who, n->page_size >> 10);
		return -EOPNOTSUPP;
	}
	snprintf(sysfs, sizeof(sysfs), HUGEPAGES_SYSFS, n->page_size >> 10, "nr_hugepages");
	pr_err("restore: %s: the tree's hugetlb memory needs %" PRIu64 " huge pages of %" PRIu64
	       " kB (%" PRIu64 " MiB), only %" PRId64 " are free: raise %s", n->who, n->pages,
	       n->page_size >> 10, (n->pages * n->page_size) >> 20, available,
	       knob ? knob : sysfs);
	return -ENOMEM;
}

int restore_check_huge_pages(const struct restore_set *rs)
{
	struct huge_needs needs = { .nr = 0 };
	struct huge_object seen[256];
	size_t nr_seen = 0;
	int ret = 0;

	for (size_t t = 0; t < rs->tree.nr && !ret; t++) {
		const Mm *mm = rs->tasks[t].mm;

		for (size_t i = 0; mm && i < mm->n_vmas && !ret; i++)
			if (mm->vmas[i]->has_huge_page_size)
				ret = add_mapping(&needs, rs->tasks[t].pid, mm->vmas[i], seen,
						  &nr_seen, sizeof(seen) / sizeof(seen[0]));
	}
	if (!ret)
		ret = sysv_shm_each_huge(rs->sysv, add_segment, &needs);
	for (size_t i = 0; i < needs.nr && !ret; i++) {
		int64_t available;

		ret = pool_available(needs.v[i].page_size, &available);
		if (!ret)
			ret = check_need(&needs.v[i], available);
	}
	return ret;
}
