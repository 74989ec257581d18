/* Probes of the ways dump learns about memory: PAGEMAP_SCAN for present
 * pages, soft-dirty bits, userfaultfd write-protect and its async mode
 * (dirty tracking for incremental dumps). They work on mappings of our own
 * that they unmap again. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "kabi/kabi.h"
#include "kabi/probe.h"

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* An anonymous private mapping that THP will not fold into a huge page, so
 * page-granular answers are predictable. */
static void *map_test_pages(size_t pages)
{
	void *addr = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (addr == MAP_FAILED)
		return NULL;
	madvise(addr, pages * page_size(), MADV_NOHUGEPAGE);
	return addr;
}

/* Returns the number of regions filled in @vec, or -errno. */
static int pagemap_scan(int pagemap, void *start, size_t len, uint64_t flags,
			uint64_t category_mask, struct page_region *vec, size_t vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = (uintptr_t)start,
		.end = (uintptr_t)start + len,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = category_mask,
		.return_mask = category_mask,
	};
	int n = ioctl(pagemap, PAGEMAP_SCAN, &arg);

	if (n < 0)
		return -errno;
	if (arg.walk_end != arg.end && (size_t)n < vec_len)
		return -EPROTO;
	return n;
}

/* True when @r covers exactly pages [first, last) of @base. */
static bool region_is(const struct page_region *r, const uint8_t *base, size_t first, size_t last)
{
	return r->start == (uintptr_t)base + first * page_size() &&
	       r->end == (uintptr_t)base + last * page_size();
}

int probe_pagemap_scan(struct feature_result *res)
{
	const size_t pages = 8;
	struct page_region vec[8];
	_cleanup_close_ int pagemap = -1;
	uint8_t *area;
	int n;

	area = map_test_pages(pages);
	if (!area)
		return feature_missing(res, -errno, "cannot map test pages (%s)", strerror(errno));
	/* Touch pages 0, 2, 3 and 6: three runs of present pages. */
	area[0] = area[2 * page_size()] = area[3 * page_size()] = area[6 * page_size()] = 1;
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		n = -errno;
	else
		n = pagemap_scan(pagemap, area, pages * page_size(), 0, PAGE_IS_PRESENT, vec,
				 ARRAY_SIZE(vec));
	if (n >= 0) {
		pr_debug("PAGEMAP_SCAN: %d regions over %zu pages", n, pages);
		if (n != 3 || !region_is(&vec[0], area, 0, 1) || !region_is(&vec[1], area, 2, 4) ||
		    !region_is(&vec[2], area, 6, 7))
			n = -EPROTO;
	}
	munmap(area, pages * page_size());
	if (n == -EPROTO)
		return feature_missing(res, n, "the ioctl did not report exactly the 4 touched pages "
				       "of 8; dump falls back to reading /proc/PID/pagemap in chunks");
	if (n < 0)
		return feature_missing(res, n, "the ioctl failed (%s); dump falls back to reading "
				       "/proc/PID/pagemap in chunks", strerror(-n));
	return feature_ok(res, "found the 4 touched pages of 8 in one ioctl; dump finds present "
			       "pages without reading 8 bytes per page");
}

static int pagemap_entry(int pagemap, const void *addr, uint64_t *entry)
{
	off_t off = (off_t)((uintptr_t)addr / page_size() * sizeof(*entry));
	ssize_t n = pread(pagemap, entry, sizeof(*entry), off);

	if (n < 0)
		return -errno;
	return n == sizeof(*entry) ? 0 : -EIO;
}

int probe_soft_dirty(struct feature_result *res)
{
	_cleanup_close_ int pagemap = -1, clear_refs = -1;
	uint64_t before = 0, after = 0;
	volatile uint8_t *area;
	int ret = 0;

	area = map_test_pages(1);
	if (!area)
		return feature_missing(res, -errno, "cannot map a test page (%s)", strerror(errno));
	area[0] = 1;
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (pagemap < 0 || clear_refs < 0)
		ret = -errno;
	/* "4" clears the soft-dirty bits; the next write must set one again. */
	else if (write(clear_refs, "4", 1) != 1)
		ret = -errno;
	else if (!(ret = pagemap_entry(pagemap, (void *)area, &before))) {
		area[0] = 2;
		ret = pagemap_entry(pagemap, (void *)area, &after);
	}
	munmap((void *)area, page_size());
	pr_debug("soft-dirty: pagemap entry %#llx after clear_refs, %#llx after a write",
		 (unsigned long long)before, (unsigned long long)after);
	if (!ret && (before & PME_SOFT_DIRTY || !(after & PME_SOFT_DIRTY)))
		ret = -EOPNOTSUPP;
	if (ret)
		return feature_missing(res, ret, "not available, incremental dumps use userfaultfd "
				       "write-protect instead");
	return feature_ok(res, "a write after clear_refs set the bit; incremental dumps could "
			       "track dirty pages with it");
}

/* A userfaultfd, through the syscall or, where that is refused, through
 * /dev/userfaultfd (6.1), whose permission is the file mode. */
static int uffd_open(const char **how)
{
	_cleanup_close_ int dev = -1;
	int fd, err;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		*how = "userfaultfd()";
		return fd;
	}
	err = -errno;
	pr_debug("userfaultfd(): %s; trying /dev/userfaultfd", strerror(-err));
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return err;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	*how = "/dev/userfaultfd";
	return fd;
}

/* The API handshake enables @features; it also reports every feature the
 * kernel has in *@available. */
static int uffd_api(int uffd, uint64_t features, uint64_t *available)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (ioctl(uffd, UFFDIO_API, &api))
		return -errno;
	*available = api.features;
	return 0;
}

static int uffd_register_wp(int uffd, void *start, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)start, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (!(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT)))
		return -EOPNOTSUPP;
	return 0;
}

static int uffd_write_protect(int uffd, void *start, size_t len, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)start, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

int probe_uffd_wp(struct feature_result *res)
{
	_cleanup_close_ int uffd = -1, pagemap = -1;
	uint64_t available = 0, entry = 0;
	const char *how = "";
	const char *step;
	uint8_t *area;
	int ret;

	area = map_test_pages(1);
	if (!area)
		return feature_missing(res, -errno, "cannot map a test page (%s)", strerror(errno));
	area[0] = 1;
	step = "opening a userfaultfd";
	uffd = uffd_open(&how);
	ret = uffd < 0 ? uffd : 0;
	if (!ret) {
		step = "UFFDIO_API with UFFD_FEATURE_PAGEFAULT_FLAG_WP";
		ret = uffd_api(uffd, UFFD_FEATURE_PAGEFAULT_FLAG_WP, &available);
	}
	if (!ret) {
		step = "UFFDIO_REGISTER in write-protect mode";
		ret = uffd_register_wp(uffd, area, page_size());
	}
	if (!ret) {
		step = "UFFDIO_WRITEPROTECT";
		ret = uffd_write_protect(uffd, area, page_size(), true);
	}
	/* The kernel's own view: the pte now carries the uffd-wp bit. */
	if (!ret) {
		step = "checking the pagemap uffd-wp bit";
		pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		ret = pagemap < 0 ? -errno : pagemap_entry(pagemap, area, &entry);
		if (!ret && !(entry & PME_UFFD_WP))
			ret = -EPROTO;
		if (!ret)
			ret = uffd_write_protect(uffd, area, page_size(), false);
	}
	munmap(area, page_size());
	if (ret)
		return feature_missing(res, ret, "%s failed (%s); incremental dumps and lazy "
				       "restore are not possible", step, strerror(-ret));
	pr_debug("userfaultfd via %s: features %#llx", how, (unsigned long long)available);
	return feature_ok(res, "write-protected a registered page (via %s); async mode %s",
			  how, available & UFFD_FEATURE_WP_ASYNC ? "available" : "not available");
}

int probe_uffd_wp_async(struct feature_result *res)
{
	const uint64_t features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	const size_t pages = 4;
	_cleanup_close_ int uffd = -1, pagemap = -1;
	struct page_region vec[4];
	uint64_t available;
	const char *how, *step;
	uint8_t *area;
	int ret, n = 0;

	area = map_test_pages(pages);
	if (!area)
		return feature_missing(res, -errno, "cannot map test pages (%s)", strerror(errno));
	memset(area, 1, pages * page_size());
	step = "opening a userfaultfd";
	uffd = uffd_open(&how);
	ret = uffd < 0 ? uffd : 0;
	if (!ret) {
		step = "UFFDIO_API with UFFD_FEATURE_WP_ASYNC";
		ret = uffd_api(uffd, features, &available);
	}
	if (!ret) {
		step = "UFFDIO_REGISTER in write-protect mode";
		ret = uffd_register_wp(uffd, area, pages * page_size());
	}
	if (!ret) {
		step = "opening /proc/self/pagemap";
		pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		ret = pagemap < 0 ? -errno : 0;
	}
	/* Protect everything, write one page, and ask which pages were written:
	 * one incremental-dump cycle in miniature. */
	if (!ret) {
		step = "PAGEMAP_SCAN with PM_SCAN_WP_MATCHING";
		ret = pagemap_scan(pagemap, area, pages * page_size(),
				   PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0, NULL, 0);
	}
	if (ret >= 0) {
		area[2 * page_size()] = 2;
		step = "PAGEMAP_SCAN for PAGE_IS_WRITTEN";
		n = ret = pagemap_scan(pagemap, area, pages * page_size(), 0, PAGE_IS_WRITTEN, vec,
				       ARRAY_SIZE(vec));
	}
	if (ret >= 0 && (n != 1 || !region_is(&vec[0], area, 2, 3)))
		ret = -EPROTO;
	munmap(area, pages * page_size());
	if (ret < 0)
		return feature_missing(res, ret, "%s failed (%s); incremental dumps are not possible",
				       step, strerror(-ret));
	return feature_ok(res, "after protecting 4 pages and writing 1, PAGEMAP_SCAN reported just "
			       "that one; incremental dumps can track dirty pages");
}
