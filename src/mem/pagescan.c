/* Which pages of a mapping to save, found with the PAGEMAP_SCAN ioctl on
 * /proc/PID/pagemap (page table runs, no per-page cost), or by reading that
 * file 8 bytes per page in bounded chunks when the ioctl is missing. Both
 * apply the same rule, vma_pages(), and must give the same answer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/pages.h"
#include "kabi/kabi.h"
#include "mem/pagescan.h"
#include "mem/vma.h"

/* page_region entries per ioctl; the array is reused for every call. */
#define SCAN_REGIONS 4096

/* What a scan of many mappings at once asks to know of each region: the
 * rules of vma_pages() are applied per mapping afterwards. */
#define SCAN_CATEGORIES (PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | PAGE_IS_FILE | \
			 PAGE_IS_GUARD)

/* Bytes of pagemap per read. One read of a huge mapping's pagemap would
 * exceed the kernel's single-read limit (0x7ffff000): a 1 TiB mapping has
 * 2 GiB of pagemap. */
#define PAGEMAP_CHUNK (512u << 10)
#define PAGEMAP_CHUNK_ENTRIES (PAGEMAP_CHUNK / sizeof(uint64_t))

/* A pagemap entry's PFN is in the bits below the soft-dirty bit. */
#define PME_PFN_MASK (PME_SOFT_DIRTY - 1)

#define HUGE_PAGE_SIZE (2ull << 20)
#define HUGE_PAGE_PFNS (HUGE_PAGE_SIZE / IMG_PAGE_SIZE)

struct pagescan {
	pid_t pid;
	enum pagescan_method method;
	int pagemap_fd;
	struct page_region *regions;
	uint64_t *entries;		/* a pagemap chunk; allocated on first use */
	bool zero_probed;
	uint64_t zero_pfn;		/* the shared zero page, 0 if not seen */
	uint64_t huge_zero_pfn;		/* the huge zero page's first pfn, 0 if not seen */
	/* PAGE_IS_GUARD, or 0 on a kernel whose PAGEMAP_SCAN lacks it
	 * (before 6.14): guard markers look swapped there, and reading one
	 * fails with EIO, so such a dump fails naming the page. */
	uint64_t guard_category;

	/* One ioctl covers many mappings: its regions, complete for
	 * [scanned_start, scanned_end), are used up mapping by mapping. */
	uint64_t scan_end;		/* where the caller's last mapping ends */
	bool wide_failed;		/* then every mapping is scanned alone */
	size_t nr_scanned, next_region;
	uint64_t scanned_start, scanned_end;
};

void page_ranges_free(struct page_ranges *ranges)
{
	free(ranges->v);
	memset(ranges, 0, sizeof(*ranges));
}

int page_ranges_push(struct page_ranges *r, uint64_t start, uint64_t end)
{
	if (r->nr && r->v[r->nr - 1].end == start) {
		r->v[r->nr - 1].end = end;
		return 0;
	}
	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct page_range *v = reallocarray(r->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->nr].start = start;
	r->v[r->nr].end = end;
	r->nr++;
	return 0;
}

int pagescan_open(pid_t pid, enum pagescan_method method, struct pagescan **out)
{
	struct pagescan *ps = calloc(1, sizeof(*ps));
	char path[64];

	if (!ps || !(ps->regions = calloc(SCAN_REGIONS, sizeof(*ps->regions)))) {
		free(ps);
		pr_err("dump: pid %d: out of memory for the page scanner", pid);
		return -ENOMEM;
	}
	ps->pid = pid;
	ps->method = method;
	ps->guard_category = PAGE_IS_GUARD;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	ps->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ps->pagemap_fd < 0) {
		int ret = pr_errno_ret("dump: pid %d: cannot open %s", pid, path);

		free(ps->regions);
		free(ps);
		return ret;
	}
	*out = ps;
	return 0;
}

void pagescan_close(struct pagescan *ps)
{
	if (!ps)
		return;
	close(ps->pagemap_fd);
	free(ps->regions);
	free(ps->entries);
	free(ps);
}

enum pagescan_method pagescan_method(const struct pagescan *ps)
{
	return ps->method;
}

/* ---- PAGEMAP_SCAN ------------------------------------------------------------- */

static int scan_ioctl(struct pagescan *ps, const Vma *vma, enum vma_pages policy,
		      struct page_ranges *out)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = vma->start,
		.end = vma->end,
		.vec = (uintptr_t)ps->regions,
		.vec_len = SCAN_REGIONS,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	/* Inverted categories must be absent: no guard marker, no zero page,
	 * and for private file mappings no page of the file itself. */
	if (policy == VMA_PAGES_ANON)
		arg.category_mask = PAGE_IS_PFNZERO;
	else if (policy == VMA_PAGES_COW)
		arg.category_mask = PAGE_IS_PFNZERO | PAGE_IS_FILE;
	arg.category_mask |= ps->guard_category;
	arg.category_inverted = arg.category_mask;
	for (;;) {
		int n = ioctl(ps->pagemap_fd, PAGEMAP_SCAN, &arg);

		if (n < 0 && errno == EINVAL && ps->guard_category) {
			ps->guard_category = 0;
			arg.category_mask &= ~(uint64_t)PAGE_IS_GUARD;
			arg.category_inverted = arg.category_mask;
			continue;
		}
		if (n < 0)
			return -errno;
		/* The walk stops early when the regions are used up; it goes on
		 * from where it stopped. The last region may reach past that
		 * point (seen on 6.18 with alternating categories): the rest of
		 * it is scanned again. */
		for (int i = 0; i < n; i++) {
			uint64_t end = ps->regions[i].end < arg.walk_end ? ps->regions[i].end :
									   arg.walk_end;

			if (ps->regions[i].start < end && page_ranges_push(out, ps->regions[i].start, end))
				return -ENOMEM;
		}
		if (arg.walk_end >= arg.end)
			return 0;
		if (arg.walk_end <= arg.start)
			return -EPROTO;
		arg.start = arg.walk_end;
	}
}

void pagescan_set_end(struct pagescan *ps, uint64_t end)
{
	ps->scan_end = end;
	ps->nr_scanned = ps->next_region = 0;
	ps->scanned_start = ps->scanned_end = 0;
}

/* The rule of scan_ioctl()'s masks, applied to a region's categories. */
static bool region_wanted(uint64_t categories, enum vma_pages policy)
{
	if (!(categories & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)) || (categories & PAGE_IS_GUARD))
		return false;
	if (policy == VMA_PAGES_SHMEM)
		return true;
	if (categories & PAGE_IS_PFNZERO)
		return false;
	return policy != VMA_PAGES_COW || !(categories & PAGE_IS_FILE);
}

/* Scans from @addr towards the end the caller set, as far as the regions
 * array holds: a task of 50,000 mappings costs a few ioctls, not 50,000. */
static int scan_wide(struct pagescan *ps, uint64_t addr, uint64_t vma_end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = addr,
		.end = ps->scan_end > vma_end ? ps->scan_end : vma_end,
		.vec = (uintptr_t)ps->regions,
		.vec_len = SCAN_REGIONS,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = SCAN_CATEGORIES,
	};
	int n;

	arg.return_mask &= ~(uint64_t)PAGE_IS_GUARD | ps->guard_category;
	n = ioctl(ps->pagemap_fd, PAGEMAP_SCAN, &arg);
	if (n < 0 && errno == EINVAL && ps->guard_category) {
		ps->guard_category = 0;
		arg.return_mask &= ~(uint64_t)PAGE_IS_GUARD;
		n = ioctl(ps->pagemap_fd, PAGEMAP_SCAN, &arg);
	}
	if (n < 0)
		return -errno;
	if (arg.walk_end <= addr)
		return -EPROTO;
	ps->nr_scanned = n;
	ps->next_region = 0;
	ps->scanned_start = addr;
	ps->scanned_end = arg.walk_end;
	return 0;
}

static int scan_ioctl_wide(struct pagescan *ps, const Vma *vma, enum vma_pages policy,
			   struct page_ranges *out)
{
	uint64_t addr = vma->start;

	while (addr < vma->end) {
		uint64_t upto;
		int ret;

		if (addr < ps->scanned_start || addr >= ps->scanned_end) {
			ret = scan_wide(ps, addr, vma->end);
			if (ret)
				return ret;
		}
		upto = vma->end < ps->scanned_end ? vma->end : ps->scanned_end;
		for (size_t i = ps->next_region; i < ps->nr_scanned; i++) {
			const struct page_region *r = &ps->regions[i];
			uint64_t start = r->start > addr ? r->start : addr;
			uint64_t end = r->end < upto ? r->end : upto;

			if (r->start >= upto)
				break;
			/* Regions wholly before this mapping serve no later one. */
			if (r->end <= addr) {
				ps->next_region = i + 1;
				continue;
			}
			if (region_wanted(r->categories, policy) && page_ranges_push(out, start, end))
				return -ENOMEM;
		}
		addr = upto;
	}
	return 0;
}

/* ---- reading /proc/PID/pagemap ------------------------------------------------ */

/* The pfn a read fault maps at @addr of our own memory, 0 if none shows. */
static uint64_t own_pfn(int pagemap, volatile const char *addr)
{
	uint64_t entry;

	(void)*addr;
	if (pread(pagemap, &entry, sizeof(entry), (uintptr_t)addr / IMG_PAGE_SIZE * sizeof(entry)) !=
	    sizeof(entry) || !(entry & PME_PRESENT))
		return 0;
	return entry & PME_PFN_MASK;
}

/* The pagemap file shows the zero pages only as pfns. Two separate read
 * faults get the same pfn only if it is a shared zero page; kernels that
 * give each read fault a page of its own, or hide pfns (no CAP_SYS_ADMIN),
 * leave nothing to recognise, and the page is read like any other. */
static void probe_zero_pfns(struct pagescan *ps)
{
	_cleanup_close_ int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t len = 3 * HUGE_PAGE_SIZE;
	char *area, *huge;
	uint64_t a, b;

	ps->zero_probed = true;
	if (pagemap < 0)
		return;
	area = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return;
	a = own_pfn(pagemap, area);
	b = own_pfn(pagemap, area + IMG_PAGE_SIZE);
	if (a && a == b)
		ps->zero_pfn = a;
	/* Two huge-page-aligned areas: where THP and its zero page are on,
	 * a read fault maps the huge zero page. */
	huge = (char *)(((uintptr_t)area + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1));

	if (!madvise(huge, 2 * HUGE_PAGE_SIZE, MADV_HUGEPAGE)) {
		a = own_pfn(pagemap, huge + IMG_PAGE_SIZE);
		b = own_pfn(pagemap, huge + HUGE_PAGE_SIZE + IMG_PAGE_SIZE);
		if (a && a == b && a != ps->zero_pfn)
			ps->huge_zero_pfn = a - 1;
	}
	munmap(area, len);
	pr_debug("dump: zero page pfn %#llx, huge zero page pfn %#llx",
		 (unsigned long long)ps->zero_pfn, (unsigned long long)ps->huge_zero_pfn);
}

static bool is_zero_pfn(const struct pagescan *ps, uint64_t pfn)
{
	return (ps->zero_pfn && pfn == ps->zero_pfn) ||
	       (ps->huge_zero_pfn && pfn - ps->huge_zero_pfn < HUGE_PAGE_PFNS);
}

/* The same rule as the ioctl's masks in scan_ioctl(). */
static bool entry_wanted(const struct pagescan *ps, uint64_t e, enum vma_pages policy)
{
	if (!(e & (PME_PRESENT | PME_SWAP)) || (e & PME_GUARD_REGION))
		return false;
	if (policy == VMA_PAGES_SHMEM)
		return true;
	if ((e & PME_PRESENT) && is_zero_pfn(ps, e & PME_PFN_MASK))
		return false;
	return policy != VMA_PAGES_COW || !(e & PME_FILE_OR_SHARED);
}

static int read_entries(struct pagescan *ps, uint64_t addr, size_t count)
{
	size_t done = 0;

	while (done < count) {
		off_t off = (addr / IMG_PAGE_SIZE + done) * sizeof(uint64_t);
		ssize_t n = pread(ps->pagemap_fd, ps->entries + done,
				  (count - done) * sizeof(uint64_t), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || n % sizeof(uint64_t))
			return -EIO;
		done += n / sizeof(uint64_t);
	}
	return 0;
}

static int scan_pagemap(struct pagescan *ps, const Vma *vma, enum vma_pages policy,
			struct page_ranges *out)
{
	int ret;

	if (!ps->entries && !(ps->entries = malloc(PAGEMAP_CHUNK)))
		return -ENOMEM;
	if (!ps->zero_probed)
		probe_zero_pfns(ps);
	for (uint64_t addr = vma->start; addr < vma->end;) {
		uint64_t pages = (vma->end - addr) / IMG_PAGE_SIZE;
		size_t count = pages < PAGEMAP_CHUNK_ENTRIES ? pages : PAGEMAP_CHUNK_ENTRIES;

		ret = read_entries(ps, addr, count);
		if (ret)
			return ret;
		for (size_t i = 0; i < count; i++) {
			uint64_t page = addr + i * IMG_PAGE_SIZE;

			if (entry_wanted(ps, ps->entries[i], policy) &&
			    page_ranges_push(out, page, page + IMG_PAGE_SIZE))
				return -ENOMEM;
		}
		addr += count * IMG_PAGE_SIZE;
	}
	return 0;
}

int pagescan_vma(struct pagescan *ps, const Vma *vma, struct page_ranges *out)
{
	enum vma_pages policy = vma_pages(vma);
	char label[VMA_LABEL_MAX];
	int ret = 0;

	out->nr = 0;
	if (policy == VMA_PAGES_NONE)
		return 0;
	if (policy == VMA_PAGES_ALL)
		return page_ranges_push(out, vma->start, vma->end) ? -ENOMEM : 0;
	if (ps->method != PAGESCAN_PAGEMAP) {
		if (ps->scan_end && !ps->wide_failed) {
			ret = scan_ioctl_wide(ps, vma, policy, out);
			/* A mapping the caller skips may be one the walk cannot
			 * take: the narrow scans never touch it. */
			if (ret && ret != -ENOTTY && ret != -ENOMEM) {
				pr_debug("dump: pid %d: PAGEMAP_SCAN over many mappings failed (%s); one mapping at a time",
					 ps->pid, strerror(-ret));
				ps->wide_failed = true;
				out->nr = 0;
				ret = scan_ioctl(ps, vma, policy, out);
			}
		} else {
			ret = scan_ioctl(ps, vma, policy, out);
		}
		if (ret == -ENOTTY && ps->method == PAGESCAN_AUTO) {
			pr_info("dump: pid %d: no PAGEMAP_SCAN in this kernel; reading /proc/%d/pagemap instead",
				ps->pid, ps->pid);
			ps->method = PAGESCAN_PAGEMAP;
			out->nr = 0;
		} else if (!ret) {
			ps->method = PAGESCAN_IOCTL;
		}
	}
	if (ps->method == PAGESCAN_PAGEMAP)
		ret = scan_pagemap(ps, vma, policy, out);
	if (ret) {
		vma_label(vma, label, sizeof(label));
		pr_err("dump: pid %d vma %s: cannot find its pages with %s: %s", ps->pid, label,
		       ps->method == PAGESCAN_PAGEMAP ? "/proc/PID/pagemap" : "PAGEMAP_SCAN",
		       strerror(-ret));
	}
	return ret;
}

/* ---- guard regions ------------------------------------------------------------ */

static int guards_ioctl(struct pagescan *ps, const Vma *vma, struct page_ranges *out)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = vma->start,
		.end = vma->end,
		.vec = (uintptr_t)ps->regions,
		.vec_len = SCAN_REGIONS,
		.category_mask = PAGE_IS_GUARD,
	};

	for (;;) {
		int n = ioctl(ps->pagemap_fd, PAGEMAP_SCAN, &arg);

		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++)
			if (page_ranges_push(out, ps->regions[i].start, ps->regions[i].end))
				return -ENOMEM;
		if (arg.walk_end >= arg.end)
			return 0;
		if (arg.walk_end <= arg.start)
			return -EPROTO;
		arg.start = arg.walk_end;
	}
}

static int guards_pagemap(struct pagescan *ps, const Vma *vma, struct page_ranges *out)
{
	int ret;

	if (!ps->entries && !(ps->entries = malloc(PAGEMAP_CHUNK)))
		return -ENOMEM;
	for (uint64_t addr = vma->start; addr < vma->end;) {
		uint64_t pages = (vma->end - addr) / IMG_PAGE_SIZE;
		size_t count = pages < PAGEMAP_CHUNK_ENTRIES ? pages : PAGEMAP_CHUNK_ENTRIES;

		ret = read_entries(ps, addr, count);
		if (ret)
			return ret;
		for (size_t i = 0; i < count; i++) {
			uint64_t page = addr + i * IMG_PAGE_SIZE;

			if ((ps->entries[i] & PME_GUARD_REGION) &&
			    page_ranges_push(out, page, page + IMG_PAGE_SIZE))
				return -ENOMEM;
		}
		addr += count * IMG_PAGE_SIZE;
	}
	return 0;
}

int pagescan_guards(struct pagescan *ps, const Vma *vma, struct page_ranges *out)
{
	char label[VMA_LABEL_MAX];
	int ret;

	out->nr = 0;
	/* PAGEMAP_SCAN names guard markers from 6.14, pagemap from 6.15. */
	ret = -EINVAL;
	if (ps->method != PAGESCAN_PAGEMAP && ps->guard_category)
		ret = guards_ioctl(ps, vma, out);
	if (ret == -EINVAL || ret == -ENOTTY) {
		ps->guard_category = 0;
		out->nr = 0;
		ret = guards_pagemap(ps, vma, out);
	}
	if (ret) {
		vma_label(vma, label, sizeof(label));
		pr_err("dump: pid %d vma %s: cannot find its guard regions: %s", ps->pid, label,
		       strerror(-ret));
	}
	return ret;
}
