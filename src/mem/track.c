/* Write tracking across dumps (track.h): in one dump, taking a process's
 * tracker back from the parent set's, checking it is still that process
 * and address space, finding which mappings it covers, the scan that says
 * which pages nobody wrote, and arming for the next set. Why a page
 * without its written bit equals the parent's: its bit was set while the
 * tree was frozen, before the parent set read it, and any write since
 * (the task's, the kernel's through the task's page tables, ptrace's)
 * clears it; a page made since (a hole filled, a mapping new or moved, an
 * exec's new mm) never had one. The holder is track_holder.c's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/auxvec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/procfs.h"
#include "inject/inject.h"
#include "images/page_digests.h"
#include "images/pages.h"
#include "kabi/kabi.h"
#include "mem/track.h"
#include "mem/uffd_wp.h"
#include "mem/vma.h"

#define PS IMG_PAGE_SIZE

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- which process and address space ------------------------------------ */

static int read_exec_token(pid_t pid, struct track_exec_token *out)
{
	uint64_t auxv[1024] = { 0 };
	_cleanup_close_ int fd = proc_open(pid, "auxv");
	_cleanup_close_ int mem = -1;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, auxv, sizeof(auxv) - 2 * sizeof(*auxv));
	if (n < 0)
		return -errno;
	out->random_addr = 0;
	for (size_t i = 0; i + 1 < (size_t)n / sizeof(*auxv) && auxv[i] != AT_NULL; i += 2)
		if (auxv[i] == AT_RANDOM)
			out->random_addr = auxv[i + 1];
	if (!out->random_addr)
		return -ENOENT;
	/* /proc/PID/mem does not pin: a stack page shared with a child since
	 * fork stays shared. */
	mem = proc_open(pid, "mem");
	if (mem < 0)
		return mem;
	n = pread(mem, out->random, sizeof(out->random), (off_t)out->random_addr);
	if (n != (ssize_t)sizeof(out->random))
		return n < 0 ? -errno : -EIO;
	return 0;
}

/* Whether @held (a pidfd the holder kept) is the process at @pid now: a
 * pidfs inode names one process for the life of the system, across pid
 * namespaces; a pid reused by another process has another. Without pidfs
 * (before 6.9) every pidfd shares one inode: never the same, then. */
static bool same_process(int held, pid_t pid)
{
	_cleanup_close_ int now = pidfd_open(pid, 0);
	struct stat a, b;
	struct statfs fs;

	return now >= 0 && !fstatfs(held, &fs) && fs.f_type == PID_FS_MAGIC && !fstat(held, &a) &&
	       !fstat(now, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- taking the parent's trackers ---------------------------------------- */

int track_fetch(struct track *t, const struct image_dir *parent, const uint8_t *parent_id)
{
	pid_t holder = 0;
	int ret = track_holder_take(parent->fd, parent_id, &t->incoming, &t->nr_incoming, &holder);

	if (ret == -ENOMEM)
		return ret;
	if (ret == -ENOENT)
		pr_info("dump: parent image set %s has no write tracker (none armed, or its holder "
			"is gone): its pages are read and compared by digest", parent->path);
	else if (ret == -EXDEV)
		pr_warn("dump: parent image set %s: the write tracker there holds another set's "
			"(its dump id differs): its pages are read and compared by digest",
			parent->path);
	else if (ret)
		pr_warn("dump: parent image set %s: its write tracker did not answer right (%s): "
			"its pages are read and compared by digest", parent->path, strerror(-ret));
	else
		pr_info("dump: parent image set %s: write tracking of %zu processes taken from "
			"its holder, pid %d", parent->path, t->nr_incoming, holder);
	return 0;
}

/* The parent's tracker of @pid, taken out of the incoming ones. */
static bool claim_incoming(struct track *t, pid_t pid, struct track_held *out)
{
	for (size_t i = 0; i < t->nr_incoming; i++) {
		if (t->incoming[i].pid != pid)
			continue;
		*out = t->incoming[i];
		t->incoming[i] = t->incoming[--t->nr_incoming];
		return true;
	}
	return false;
}

/* ---- one process --------------------------------------------------------- */

/* Ends @tt's tracking, saying @why unless NULL. */
static void task_untrack(struct track_task *tt, const char *why, int err)
{
	if (why)
		pr_info("dump: pid %d: write tracking left out (%s: %s); its pages are read "
			"and compared by digest", tt->pid, why, strerror(-err));
	close_fd(&tt->uffd);
	close_fd(&tt->pidfd);
	close_fd(&tt->pagemap_fd);
	page_ranges_free(&tt->registered);
	page_ranges_free(&tt->trusted);
	tt->rearm = false;
}

struct register_walk {
	struct track_task *tt;
	bool check_trusted;
};

/* One private anonymous mapping: trusted when some async write-protecting
 * userfaultfd had it before and @uffd may register it (it has it already:
 * another one would be refused with EBUSY); registered for the next set
 * with rearm. */
static int register_one(uint64_t start, uint64_t end, void *arg)
{
	struct register_walk *w = arg;
	struct track_task *tt = w->tt;
	bool had = w->check_trusted && uffd_wp_async_registered(tt->pagemap_fd, start);
	int ret;

	if (!had && !tt->rearm)
		return 0;
	ret = uffd_wp_register(tt->uffd, start, end);
	if (ret == -EBUSY || ret == -EINVAL)
		return 0;
	if (!ret)
		ret = page_ranges_push(&tt->registered, start, end);
	if (!ret && had)
		ret = page_ranges_push(&tt->trusted, start, end);
	return ret;
}

static int grow_tasks(struct track *t)
{
	struct track_task *v;

	if (t->nr < t->cap)
		return 0;
	v = reallocarray(t->tasks, t->cap ? 2 * t->cap : 8, sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->tasks = v;
	t->cap = t->cap ? 2 * t->cap : 8;
	return 0;
}

/* The parent's tracker @in, if it is still @tt's process and address
 * space; closed otherwise. */
static bool adopt_incoming(struct track_task *tt, struct track_held *in)
{
	const char *why = NULL;

	if (!same_process(in->pidfd, tt->pid))
		why = "it is not the process armed: exited, and its pid reused";
	else if (in->token.random_addr != tt->token.random_addr ||
		 memcmp(in->token.random, tt->token.random, sizeof(in->token.random)))
		why = "its address space is not the one armed: it exec'd";
	if (why) {
		pr_info("dump: pid %d: the parent set's write tracker is dropped (%s); its pages "
			"are read and compared by digest", tt->pid, why);
		close_fd(&in->uffd);
		close_fd(&in->pidfd);
		return false;
	}
	tt->uffd = in->uffd;
	tt->pidfd = in->pidfd;
	return true;
}

int track_prepare(struct track *t, struct inj_task *task, struct track_task **out)
{
	pid_t pid = inj_task_pid(task);
	struct track_held in = { .uffd = -1, .pidfd = -1 };
	bool have_in = claim_incoming(t, pid, &in), adopted = false;
	struct register_walk walk;
	struct track_task *tt;
	int ret;

	*out = NULL;
	if (!have_in && !t->rearm)
		return 0;
	ret = grow_tasks(t);
	if (ret) {
		close_fd(&in.uffd);
		close_fd(&in.pidfd);
		return ret;
	}
	tt = &t->tasks[t->nr];
	*tt = (struct track_task){ .pid = pid, .uffd = -1, .pidfd = -1, .rearm = t->rearm };
	tt->pagemap_fd = proc_open(pid, "pagemap");
	ret = tt->pagemap_fd < 0 ? tt->pagemap_fd : read_exec_token(pid, &tt->token);
	if (ret) {
		close_fd(&in.uffd);
		close_fd(&in.pidfd);
		task_untrack(tt, "reading /proc/PID/pagemap and auxv", ret);
		return 0;
	}
	if (have_in)
		adopted = adopt_incoming(tt, &in);
	if (tt->rearm && tt->pidfd < 0) {
		tt->pidfd = pidfd_open(pid, 0);
		ret = tt->pidfd < 0 ? -errno : 0;
	}
	if (!ret && tt->rearm && tt->uffd < 0)
		ret = uffd_wp_take(task, tt->pidfd, &tt->uffd);
	if (ret) {
		task_untrack(tt, "an async write-protecting userfaultfd", ret);
		return 0;
	}
	/* The parent's tracker was dropped (said), and none is armed. */
	if (tt->uffd < 0) {
		task_untrack(tt, NULL, 0);
		return 0;
	}
	walk = (struct register_walk){ .tt = tt, .check_trusted = adopted };
	ret = uffd_wp_for_each_anon(pid, register_one, &walk);
	if (ret == -ENOMEM) {
		task_untrack(tt, "registering its mappings", ret);
		return ret;
	}
	if (ret || !tt->registered.nr) {
		task_untrack(tt, ret ? "registering its mappings" : "no mapping to track",
			     ret ? ret : -ENOENT);
		return 0;
	}
	t->nr++;
	*out = tt;
	return 0;
}

/* Whether [@start, @end) lies within one range of @r. */
static bool ranges_hold(const struct page_ranges *r, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = r->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nr && r->v[lo].start <= start && end <= r->v[lo].end;
}

bool track_covers(const struct track_task *tt, const Vma *v, bool guarded)
{
	/* Guard regions read as swapped pages to a scan not told of them. */
	return tt && !guarded && vma_pages(v) == VMA_PAGES_ANON &&
	       ranges_hold(&tt->registered, v->start, v->end);
}

/* Pushes the pages of [@start, @end), unwritten, within @tt's trusted
 * ranges that @parent holds a digest for (so non-zero bytes there). */
static int push_unread(const struct track_task *tt, const struct page_digests *parent,
		       uint64_t start, uint64_t end, size_t *cursor, struct page_ranges *out)
{
	int ret = 0;

	for (size_t i = 0; i < tt->trusted.nr && !ret; i++) {
		uint64_t s = tt->trusted.v[i].start > start ? tt->trusted.v[i].start : start;
		uint64_t e = tt->trusted.v[i].end < end ? tt->trusted.v[i].end : end;

		for (uint64_t at = s; at < e && !ret; at += PS)
			if (page_digests_find(parent, at, cursor))
				ret = page_ranges_push(out, at, at + PS);
	}
	return ret;
}

struct track_scan {
	struct track_task *tt;
	const struct page_digests *parent;
	struct page_ranges *present, *unread;
	size_t cursor;
};

/* Every run is read unless it is unwritten and the parent holds it. */
static int take_scanned_run(uint64_t start, uint64_t end, bool written, void *arg)
{
	struct track_scan *scan = arg;
	int ret = page_ranges_push(scan->present, start, end);

	if (!ret && scan->parent && !written)
		ret = push_unread(scan->tt, scan->parent, start, end, &scan->cursor, scan->unread);
	return ret;
}

int track_scan_vma(struct track_task *tt, const Vma *v, const struct page_digests *parent,
		   struct page_ranges *present, struct page_ranges *unread)
{
	struct track_scan scan = { .tt = tt, .parent = parent, .present = present,
				   .unread = unread };
	int ret;

	present->nr = unread->nr = 0;
	ret = uffd_wp_scan_written(tt->pagemap_fd, tt->pid, v->start, v->end, take_scanned_run,
				   &scan);
	/* Protected again before any page is read: a write after the read
	 * clears the bit, one before it is in what is read. */
	if (!ret && tt->rearm) {
		int err = uffd_wp_protect(tt->pagemap_fd, v->start, v->end);

		if (err) {
			pr_warn("dump: pid %d: cannot protect 0x%llx-0x%llx for the next dump "
				"(%s): its write tracking is not kept", tt->pid,
				(unsigned long long)v->start, (unsigned long long)v->end,
				strerror(-err));
			tt->rearm = false;
		}
	}
	return ret;
}

/* ---- handing over, and the end ------------------------------------------ */

void track_commit(struct track *t, struct image_dir *dir)
{
	_cleanup_free_ struct track_held *held = calloc(t->nr ? t->nr : 1, sizeof(*held));
	pid_t holder = 0;
	size_t nr = 0;
	int ret;

	if (!t->rearm || t->holder_fd < 0)
		return;
	if (!held) {
		pr_warn("dump: out of memory for the write trackers: the next dump reads every "
			"page");
		return;
	}
	for (size_t i = 0; i < t->nr; i++)
		if (t->tasks[i].rearm && t->tasks[i].uffd >= 0)
			held[nr++] = (struct track_held){ .pid = t->tasks[i].pid,
							  .uffd = t->tasks[i].uffd,
							  .pidfd = t->tasks[i].pidfd,
							  .token = t->tasks[i].token };
	/* Nothing armed: the holder sees its stream end and exits. */
	if (!nr)
		return;
	ret = track_holder_hand(t->holder_fd, dir, held, nr, &holder);
	if (ret)
		pr_warn("dump: the write tracking of %zu processes could not be handed to its "
			"holder (%s): the next dump reads every page", nr, strerror(-ret));
	else
		pr_info("dump: write tracking of %zu processes held by pid %d for the next dump "
			"(%s/%s)", nr, holder, dir->path, TRACK_SOCKET_NAME);
}

void track_free(struct track *t)
{
	for (size_t i = 0; i < t->nr; i++) {
		close_fd(&t->tasks[i].uffd);
		close_fd(&t->tasks[i].pidfd);
		close_fd(&t->tasks[i].pagemap_fd);
		page_ranges_free(&t->tasks[i].registered);
		page_ranges_free(&t->tasks[i].trusted);
	}
	for (size_t i = 0; i < t->nr_incoming; i++) {
		pr_info("dump: pid %d: the parent set's write tracker is dropped: not a live "
			"process of this dump", t->incoming[i].pid);
		close_fd(&t->incoming[i].uffd);
		close_fd(&t->incoming[i].pidfd);
	}
	free(t->tasks);
	free(t->incoming);
	t->tasks = NULL;
	t->incoming = NULL;
	t->nr = t->cap = t->nr_incoming = 0;
}
