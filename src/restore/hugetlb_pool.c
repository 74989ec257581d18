/* Before anything of a restore is made: whether the kernel's pools of huge
 * pages can hold the tree's hugetlb memory (the reservations its mappings
 * will make), per page size. Making and filling that memory is the
 * restorer's and the file kinds' (memfd.c, shmem.c), not this file's. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "mem/vma.h"
#include "restore/restore.h"

#define HUGEPAGES_SYSFS "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s"
/* Page sizes a tree may use at once: x86_64 has two. */
#define MAX_SIZES 4

/* The pages of one size the tree needs, and its first mapping of that
 * size, which the error names. */
struct huge_need {
	uint64_t page_size;
	uint64_t pages;
	pid_t pid;
	const Vma *vma;
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

/* What one mapping adds to the need of its page size. */
static int add_mapping(struct huge_need *needs, size_t *nr, pid_t pid, const Vma *v,
		       struct huge_object *seen, size_t *nr_seen, size_t max_seen)
{
	struct huge_need *n = NULL;
	uint64_t pages;

	/* A private mapping reserves all its pages when mapped (with
	 * MAP_NORESERVE, it may take as many when touched). A shared one of
	 * a file opened by path (a hugetlbfs mount's) reserves nothing new:
	 * the file is the one dumped, whose inode kept the reservations of
	 * every range mapped before, as its pages. */
	if (v->flags & MAP_PRIVATE)
		pages = (v->end - v->start) / v->huge_page_size;
	else if (v->kind == VMA__KIND__FILE)
		pages = 0;
	else
		pages = object_pages(v, seen, nr_seen, max_seen);
	for (size_t i = 0; i < *nr; i++)
		if (needs[i].page_size == v->huge_page_size)
			n = &needs[i];
	if (!n) {
		if (*nr == MAX_SIZES) {
			pr_err("restore: pid %d: hugetlb mappings of more than %d page sizes", pid,
			       MAX_SIZES);
			return -EBADMSG;
		}
		n = &needs[(*nr)++];
		*n = (struct huge_need){ .page_size = v->huge_page_size, .pid = pid, .vma = v };
	}
	n->pages += pages;
	return 0;
}

static int check_need(const struct huge_need *n, int64_t available)
{
	char label[VMA_LABEL_MAX];
	const char *knob = n->page_size == 2u << 20 ? "/proc/sys/vm/nr_hugepages" : NULL;
	char sysfs[128];

	if (available >= 0 && (uint64_t)available >= n->pages)
		return 0;
	vma_label(n->vma, label, sizeof(label));
	if (available < 0) {
		pr_err("restore: pid %d vma %s: hugetlb pages of %" PRIu64 " kB, which this "
		       "kernel does not have", n->pid, label, n->page_size >> 10);
		return -EOPNOTSUPP;
	}
	snprintf(sysfs, sizeof(sysfs), HUGEPAGES_SYSFS, n->page_size >> 10, "nr_hugepages");
	pr_err("restore: pid %d vma %s: the tree's hugetlb memory needs %" PRIu64 " huge pages "
	       "of %" PRIu64 " kB (%" PRIu64 " MiB), only %" PRId64 " are free: raise %s",
	       n->pid, label, n->pages, n->page_size >> 10, (n->pages * n->page_size) >> 20,
	       available, knob ? knob : sysfs);
	return -ENOMEM;
}

int restore_check_huge_pages(const struct restore_set *rs)
{
	struct huge_need needs[MAX_SIZES];
	struct huge_object seen[256];
	size_t nr = 0, nr_seen = 0;
	int ret = 0;

	for (size_t t = 0; t < rs->tree.nr && !ret; t++) {
		const Mm *mm = rs->tasks[t].mm;

		for (size_t i = 0; mm && i < mm->n_vmas && !ret; i++)
			if (mm->vmas[i]->has_huge_page_size)
				ret = add_mapping(needs, &nr, rs->tasks[t].pid, mm->vmas[i], seen,
						  &nr_seen, sizeof(seen) / sizeof(seen[0]));
	}
	for (size_t i = 0; i < nr && !ret; i++) {
		int64_t available;

		ret = pool_available(needs[i].page_size, &available);
		if (!ret)
			ret = check_need(&needs[i], available);
	}
	return ret;
}
