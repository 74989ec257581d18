/* Arming async write-protecting userfaultfds (uffd_wp.h): making one in a
 * task, registering and protecting ranges, probing a mapping. Which
 * ranges, and what the written bits mean, is the callers'. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/textfile.h"
#include "inject/inject.h"
#include "kabi/kabi.h"
#include "mem/uffd_wp.h"

#define PS 4096u
/* page_region entries per PAGEMAP_SCAN. */
#define SCAN_REGIONS 1024

static int enable_async_wp(int uffd)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };

	if (ioctl(uffd, UFFDIO_API, &api))
		return -errno;
	return (api.features & UFFD_FEATURE_WP_ASYNC) ? 0 : -EOPNOTSUPP;
}

int uffd_wp_take(struct inj_task *task, int pidfd, int *out)
{
	pid_t pid = inj_task_pid(task);
	long fd, closed;
	int ret, err, uffd;

	ret = inj_syscall(task, &fd, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY,
			  0, 0, 0, 0, 0);
	if (ret)
		return ret;
	if (fd < 0)
		return (int)fd;
	uffd = pidfd_getfd(pidfd, (int)fd, 0);
	err = uffd < 0 ? -errno : 0;
	/* The task's own fd goes at once, so that it is never dumped. */
	ret = inj_syscall(task, &closed, SYS_close, (unsigned long)fd, 0, 0, 0, 0, 0);
	if (!ret && closed)
		ret = (int)closed;
	if (ret) {
		pr_err("dump: pid %d: cannot close the userfaultfd %ld made for write tracking: %s",
		       pid, fd, strerror(-ret));
		if (uffd >= 0)
			close(uffd);
		return ret;
	}
	if (!err)
		err = enable_async_wp(uffd);
	if (err) {
		if (uffd >= 0)
			close(uffd);
		return err;
	}
	*out = uffd;
	return 0;
}

int uffd_wp_register(int uffd, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = { .range = { start, end - start },
				       .mode = UFFDIO_REGISTER_MODE_WP };

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

int uffd_wp_protect(int pagemap_fd, uint64_t start, uint64_t end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = start,
		.end = end,
		.category_mask = PAGE_IS_WRITTEN,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	while (arg.start < end) {
		if (ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) < 0)
			return -errno;
		if (arg.walk_end <= arg.start)
			return -EIO;
		arg.start = arg.walk_end;
	}
	return 0;
}

int uffd_wp_scan_written(int pagemap_fd, pid_t pid, uint64_t start, uint64_t end,
			 int (*fn)(uint64_t start, uint64_t end, bool written, void *arg),
			 void *arg)
{
	_cleanup_free_ struct page_region *regions = calloc(SCAN_REGIONS, sizeof(*regions));
	struct pm_scan_arg scan = {
		.size = sizeof(scan),
		.start = start,
		.end = end,
		.vec = (uint64_t)(uintptr_t)regions,
		.vec_len = SCAN_REGIONS,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PFNZERO,
	};
	int ret = 0;

	if (!regions)
		return -ENOMEM;
	while (scan.start < end && !ret) {
		long n = ioctl(pagemap_fd, PAGEMAP_SCAN, &scan);

		if (n < 0)
			return pr_errno_ret("dump: pid %d: PAGEMAP_SCAN of written pages at 0x%llx",
					    pid, (unsigned long long)scan.start);
		for (long i = 0; i < n && !ret; i++) {
			const struct page_region *r = &regions[i];
			/* When the regions run out, the last one may reach past
			 * walk_end with the categories of its start (seen on 6.18):
			 * what lies past walk_end is scanned again next. */
			uint64_t run_end = r->end < scan.walk_end ? r->end : scan.walk_end;

			if ((r->categories & PAGE_IS_PFNZERO) || r->start >= run_end)
				continue;
			ret = fn(r->start, run_end, r->categories & PAGE_IS_WRITTEN, arg);
		}
		if (scan.walk_end <= scan.start)
			return -EIO;
		scan.start = scan.walk_end;
	}
	return ret;
}

bool uffd_wp_async_registered(int pagemap_fd, uint64_t addr)
{
	/* No output wanted: the check is made per mapping before any page
	 * is walked, and fails the call with EPERM. */
	struct pm_scan_arg arg = { .size = sizeof(arg), .flags = PM_SCAN_CHECK_WPASYNC,
				   .start = addr, .end = addr + PS };

	return ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) >= 0;
}

bool uffd_wp_maps_line_anon(const char *perms, unsigned long inode, const char *name)
{
	return perms[3] == 'p' && !inode &&
	       (!*name || !strcmp(name, "[heap]") || !strcmp(name, "[stack]") ||
		!strncmp(name, "[anon:", 6));
}

int uffd_wp_for_each_anon(pid_t pid, int (*fn)(uint64_t start, uint64_t end, void *arg),
			  void *arg)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	ret = read_text_file(path, &text);
	if (ret)
		return ret;
	for (char *line = text, *next; *line && !ret; line = next) {
		unsigned long start, end, inode;
		char perms[5];
		int name_at = 0;

		next = strchr(line, '\n');
		next = next ? (*next = 0, next + 1) : line + strlen(line);
		if (sscanf(line, "%lx-%lx %4s %*x %*s %lu %n", &start, &end, perms, &inode,
			   &name_at) < 4 || !name_at ||
		    !uffd_wp_maps_line_anon(perms, inode, line + name_at))
			continue;
		ret = fn(start, end, arg);
	}
	return ret;
}
