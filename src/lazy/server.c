/* The page server of a lazy restore: serves the userfaultfd of every
 * restored process, and of every child forked from one since, until all
 * their pending pages are in. A fault is answered with a copy of up to
 * FAULT_CHUNK around it, bounded by its pending range; between faults,
 * the lowest pending range of each space in turn is copied in chunks of
 * BACKGROUND_CHUNK, so that the processes end up whole soon even where
 * they never touch. A space is closed once nothing of it is pending, which
 * unregisters its memory; the server exits when none is left.
 *
 * The events keep the pending ranges true to the process: a fork gives the
 * child a copy of its parent's (what was missing in the parent is missing
 * in the child), munmap and MADV_DONTNEED take ranges out (those pages read
 * zeros from then on), mremap moves them. While the kernel has such an
 * event queued, copies into that space fail with EAGAIN: the event is read
 * first, then the copy is tried again.
 *
 * Serving fails as a whole: once a page cannot be served, every process
 * served is killed before any userfaultfd is closed (stop.c), since
 * closing it would let each one read zeros where its data was. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "kabi/kabi.h"
#include "lazy/lazy.h"

#define PAGE 4096ULL
#define FAULT_CHUNK (256 * 1024ULL)
#define BACKGROUND_CHUNK (2 * 1024 * 1024ULL)
/* With trickle (tests), the background pass copies one page this often, so
 * that faults, forks and events meet pages that are still pending. */
#define TRICKLE_MS 20
#define MSGS_PER_READ 64

struct deferred_fault {
	uint64_t addr;
	bool write;
};

struct space {
	struct lazy_space s;
	bool blocked;			/* EAGAIN: an event is coming */
	struct deferred_fault *deferred;	/* faults met with EAGAIN */
	size_t nr_deferred, cap_deferred;
	int ended;			/* -ESRCH: gone; other -errno: failed */
	uint64_t faults, fault_bytes, background_bytes, total_bytes;
	double start;
};

struct server {
	struct space **sp;
	size_t nr, cap;
	size_t next;			/* round robin of the background pass */
	char *buf;			/* BACKGROUND_CHUNK of page data */
	char *zeros;			/* one page */
	bool trickle;
	long fail_after;		/* tests: copies after this many fail */
	long copies;
	int failed;			/* -errno: serving stops, all are killed */
	struct pollfd *polls;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void describe(const struct space *sp, char *buf, size_t size)
{
	if (sp->s.pid)
		snprintf(buf, size, "pid %d", sp->s.pid);
	else
		snprintf(buf, size, "a process forked from pid %d or its children", sp->s.parent);
}

static int add_space(struct server *srv, const struct lazy_space *s)
{
	struct space *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return -ENOMEM;
	if (srv->nr == srv->cap) {
		size_t cap = srv->cap ? srv->cap * 2 : 16;
		struct space **more = realloc(srv->sp, cap * sizeof(*more));
		struct pollfd *polls = realloc(srv->polls, cap * sizeof(*polls));

		if (polls)
			srv->polls = polls;
		if (!more || !polls) {
			if (more)
				srv->sp = more;
			free(sp);
			return -ENOMEM;
		}
		srv->sp = more;
		srv->cap = cap;
	}
	sp->s = *s;
	sp->total_bytes = s->pending.bytes;
	sp->start = now();
	srv->sp[srv->nr++] = sp;
	return 0;
}

/* Closing the userfaultfd unregisters the memory: any page still missing
 * then faults in as zeros, as unregistered anonymous memory does. */
static void close_space(struct server *srv, size_t i, const char *why)
{
	struct space *sp = srv->sp[i];
	char who[48];

	describe(sp, who, sizeof(who));
	pr_info("lazy: %s: %s after %.3f s: of %llu KiB pending, %llu KiB copied on %llu faults "
		"and %llu KiB in the background", who, why, now() - sp->start,
		(unsigned long long)(sp->total_bytes >> 10),
		(unsigned long long)(sp->fault_bytes >> 10), (unsigned long long)sp->faults,
		(unsigned long long)(sp->background_bytes >> 10));
	close(sp->s.uffd);
	pending_free(&sp->s.pending);
	free(sp->deferred);
	free(sp);
	srv->sp[i] = srv->sp[--srv->nr];
}

static void wake(const struct space *sp, uint64_t addr, uint64_t len)
{
	struct uffdio_range range = { .start = addr, .len = len };

	ioctl(sp->s.uffd, UFFDIO_WAKE, &range);
}

static int read_pages(const struct space *sp, char *buf, uint64_t len, uint32_t file,
		      uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(sp->s.pages_fd[file], buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n ? errno : EIO;
			char who[48];

			describe(sp, who, sizeof(who));
			pr_err("lazy: %s: cannot read the pages file at %llu: %s", who,
			       (unsigned long long)(off + done), strerror(err));
			return -err;
		}
		done += (uint64_t)n;
	}
	return 0;
}

/*
 * Copies [start, end) from the pages file at @off into the space and takes
 * it out of the pending ranges. A page already there (EEXIST) or whose
 * mapping is gone (ENOENT, for the page alone) is passed over; a copy that
 * spans two mappings is refused whole with ENOENT, so the length is halved
 * until it fits. Returns 0, -EAGAIN (an event must be read first; what was
 * copied is already out), -ESRCH (the process is gone) or another -errno.
 */
static int copy_range(struct server *srv, struct space *sp, uint64_t start, uint64_t end,
		      uint32_t file, uint64_t off, uint64_t *copied)
{
	uint64_t len = end - start, done = 0, try_len = len;
	int ret = read_pages(sp, srv->buf, len, file, off);

	if (!ret && srv->fail_after > 0 && srv->copies++ >= srv->fail_after) {
		pr_err("lazy: failing the copy at %#llx on purpose (CRYO_TEST_LAZY_FAIL_AFTER)",
		       (unsigned long long)start);
		ret = -EIO;
	}
	while (!ret && done < len) {
		struct uffdio_copy copy = {
			.dst = start + done,
			.src = (uint64_t)(uintptr_t)(srv->buf + done),
			.len = try_len < len - done ? try_len : len - done,
		};
		int err;

		if (!ioctl(sp->s.uffd, UFFDIO_COPY, &copy))
			copy.copy = (int64_t)copy.len;
		if (copy.copy > 0) {
			ret = pending_remove(&sp->s.pending, copy.dst, copy.dst + (uint64_t)copy.copy);
			done += (uint64_t)copy.copy;
			*copied += (uint64_t)copy.copy;
			try_len = len;
			continue;
		}
		err = copy.copy < 0 ? (int)-copy.copy : errno;
		if (err == ENOENT && copy.len > PAGE) {
			try_len = (copy.len / 2) & ~(PAGE - 1);
			continue;
		}
		if (err == EEXIST || err == ENOENT) {
			wake(sp, copy.dst, PAGE);
			ret = pending_remove(&sp->s.pending, copy.dst, copy.dst + PAGE);
			done += PAGE;
			continue;
		}
		ret = -err;
	}
	return ret;
}

/* A page that is not pending reads as zeros: the zero page for a read, a
 * page of its own for a write (which would otherwise fault again). */
static int serve_zero(struct server *srv, struct space *sp, uint64_t page, bool write)
{
	int err;

	if (write) {
		struct uffdio_copy copy = { .dst = page, .src = (uint64_t)(uintptr_t)srv->zeros,
					    .len = PAGE };

		if (!ioctl(sp->s.uffd, UFFDIO_COPY, &copy))
			return 0;
		err = copy.copy < 0 ? (int)-copy.copy : errno;
	} else {
		struct uffdio_zeropage zero = { .range = { .start = page, .len = PAGE } };

		if (!ioctl(sp->s.uffd, UFFDIO_ZEROPAGE, &zero))
			return 0;
		err = zero.zeropage < 0 ? (int)-zero.zeropage : errno;
	}
	if (err == EEXIST || err == ENOENT) {
		wake(sp, page, PAGE);
		return 0;
	}
	return -err;
}

static int serve_fault(struct server *srv, struct space *sp, uint64_t addr, bool write)
{
	uint64_t page = addr & ~(PAGE - 1), window = page & ~(FAULT_CHUNK - 1);
	const struct pending_range *r = pending_find(&sp->s.pending, page);
	uint64_t start, end;

	if (!r)
		return serve_zero(srv, sp, page, write);
	start = r->start > window ? r->start : window;
	end = r->end < window + FAULT_CHUNK ? r->end : window + FAULT_CHUNK;
	sp->faults++;
	return copy_range(srv, sp, start, end, r->file, r->file_off + (start - r->start),
			  &sp->fault_bytes);
}

static int defer_fault(struct space *sp, uint64_t addr, bool write)
{
	if (sp->nr_deferred == sp->cap_deferred) {
		size_t cap = sp->cap_deferred ? sp->cap_deferred * 2 : 16;
		struct deferred_fault *more = realloc(sp->deferred, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		sp->deferred = more;
		sp->cap_deferred = cap;
	}
	sp->deferred[sp->nr_deferred++] = (struct deferred_fault){ addr, write };
	return 0;
}

/* Faults met with EAGAIN are served again once the event is read; those
 * that meet it again wait for the next round. */
static int retry_deferred(struct server *srv, struct space *sp)
{
	size_t n = sp->nr_deferred;

	sp->nr_deferred = 0;
	for (size_t i = 0; i < n; i++) {
		struct deferred_fault f = sp->deferred[i];
		int ret = serve_fault(srv, sp, f.addr, f.write);

		if (ret == -EAGAIN) {
			sp->blocked = true;
			sp->deferred[sp->nr_deferred++] = f;
		} else if (ret) {
			return ret;
		}
	}
	return 0;
}

/* A child forked by a process being served: its memory is registered as
 * its parent's was, and its missing pages are the parent's pending ones. */
static int follow_fork(struct server *srv, size_t i, int uffd)
{
	const struct space *parent = srv->sp[i];
	struct lazy_space child = {
		.uffd = uffd,
		.pages_fd = { parent->s.pages_fd[0], parent->s.pages_fd[1] },
		.parent = parent->s.pid ? parent->s.pid : parent->s.parent,
		.pid_ns_below = parent->s.pid_ns_below,
	};
	int ret;

	pending_init(&child.pending);
	ret = pending_copy(&child.pending, &parent->s.pending);
	if (!ret)
		ret = add_space(srv, &child);
	if (ret) {
		pr_err("lazy: a child of pid %d: cannot follow it: %s", child.parent, strerror(-ret));
		pending_free(&child.pending);
		close(uffd);
		return ret;
	}
	pr_debug("lazy: pid %d forked: its child has %llu KiB pending", child.parent,
		 (unsigned long long)(child.pending.bytes >> 10));
	return 0;
}

static int handle_msg(struct server *srv, size_t i, const struct uffd_msg *m)
{
	struct space *sp = srv->sp[i];
	int ret;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT: {
		bool write = m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE;

		/* A forked child is known from its first fault on, to be
		 * killed by pid should serving fail. The thread id is in the
		 * faulting task's pid namespace: below cryo's, it stays
		 * unknown and is found under its parent (kill_all()). */
		if (!sp->s.pid && !sp->s.pid_ns_below && m->arg.pagefault.feat.ptid)
			sp->s.pid = lazy_tgid_of((pid_t)m->arg.pagefault.feat.ptid);

		ret = serve_fault(srv, sp, m->arg.pagefault.address, write);
		if (ret == -EAGAIN) {
			sp->blocked = true;
			return defer_fault(sp, m->arg.pagefault.address, write);
		}
		return ret;
	}
	case UFFD_EVENT_FORK:
		return follow_fork(srv, i, (int)m->arg.fork.ufd);
	case UFFD_EVENT_REMAP:
		return pending_move(&sp->s.pending, m->arg.remap.from, m->arg.remap.to,
				    m->arg.remap.len);
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		return pending_remove(&sp->s.pending, m->arg.remove.start, m->arg.remove.end);
	default:
		pr_warn("lazy: unknown userfaultfd event %#x ignored", m->event);
		return 0;
	}
}

/* Reads and handles every message queued on space @i. */
static int drain(struct server *srv, size_t i)
{
	struct uffd_msg msgs[MSGS_PER_READ];

	for (;;) {
		ssize_t n = read(srv->sp[i]->s.uffd, msgs, sizeof(msgs));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0 || n % sizeof(msgs[0]))
			return n < 0 ? -errno : -EIO;
		srv->sp[i]->blocked = false;
		for (size_t k = 0; k < (size_t)n / sizeof(msgs[0]); k++) {
			int ret = handle_msg(srv, i, &msgs[k]);

			if (ret)
				return ret;
		}
	}
}

/* One chunk of the lowest pending range of the next space in turn. */
static int background(struct server *srv, size_t *which)
{
	for (size_t k = 0; k < srv->nr; k++) {
		size_t i = (srv->next + k) % srv->nr;
		struct space *sp = srv->sp[i];
		const struct pending_range *r;
		uint64_t end;
		int ret;

		if (sp->blocked || sp->ended || !(r = pending_first(&sp->s.pending)))
			continue;
		end = r->start + (srv->trickle ? PAGE : BACKGROUND_CHUNK);
		if (end > r->end)
			end = r->end;
		srv->next = i + 1;
		*which = i;
		ret = copy_range(srv, sp, r->start, end, r->file, r->file_off,
				 &sp->background_bytes);
		if (ret == -EAGAIN) {
			sp->blocked = true;
			ret = 0;
		}
		return ret;
	}
	return 0;
}

/* Marks a space to be closed: -ESRCH, its process is gone; anything else
 * is an error that leaves its pages unserved, and fails the server. */
static void end_space(struct server *srv, struct space *sp, int err)
{
	char who[48];

	if (sp->ended)
		return;
	sp->ended = err;
	if (err == -ESRCH)
		return;
	describe(sp, who, sizeof(who));
	pr_err("lazy: %s: serving its pages failed: %s", who, strerror(-err));
	if (!srv->failed)
		srv->failed = err;
}

/* Kills every process served, forked children included: those whose pid
 * is not known yet are found under the process they were forked from. */
static void kill_all(struct server *srv)
{
	for (size_t i = 0; i < srv->nr; i++)
		if (!srv->sp[i]->s.pid && srv->sp[i]->s.parent)
			lazy_kill_registered_descendants(srv->sp[i]->s.parent);
	for (size_t i = 0; i < srv->nr; i++) {
		char who[48];

		if (!srv->sp[i]->s.pid || srv->sp[i]->ended == -ESRCH)
			continue;
		describe(srv->sp[i], who, sizeof(who));
		pr_err("lazy: %s: killed: its pages can no longer be served", who);
		kill(srv->sp[i]->s.pid, SIGKILL);
	}
}

/* Closes the spaces that are done, gone or failed. */
static void sweep(struct server *srv)
{
	for (size_t i = srv->nr; i-- > 0;) {
		const struct space *sp = srv->sp[i];

		if (sp->ended)
			close_space(srv, i, sp->ended == -ESRCH ? "gone" : "failed");
		else if (!sp->s.pending.bytes && !sp->nr_deferred)
			close_space(srv, i, "all served");
	}
}

/* How long to wait for messages: not at all while there is background
 * work, briefly while a space waits for an event that may never show. */
static int poll_timeout(const struct server *srv)
{
	bool work = false, stalled = false;

	for (size_t i = 0; i < srv->nr; i++) {
		work |= !srv->sp[i]->blocked && srv->sp[i]->s.pending.bytes;
		stalled |= srv->sp[i]->blocked;
	}
	if (srv->trickle)
		return TRICKLE_MS;
	return work ? 0 : stalled ? 1 : -1;
}

static int serve_round(struct server *srv)
{
	size_t np = srv->nr, which;
	int ready, err;

	for (size_t i = 0; i < np; i++)
		srv->polls[i] = (struct pollfd){ .fd = srv->sp[i]->s.uffd, .events = POLLIN };
	ready = poll(srv->polls, np, poll_timeout(srv));
	if (ready < 0 && errno != EINTR) {
		err = -errno;
		pr_err("lazy: poll of the userfaultfds of %zu processes: %s", np, strerror(-err));
		return err;
	}
	/* A space blocked with no event to show is tried again. */
	for (size_t i = 0; ready == 0 && i < np; i++)
		srv->sp[i]->blocked = false;
	/* Forks append spaces while this runs: they are polled next round. */
	for (size_t i = 0; ready > 0 && i < np; i++) {
		struct space *sp = srv->sp[i];

		if (!srv->polls[i].revents || sp->ended)
			continue;
		err = drain(srv, i);
		if (err)
			end_space(srv, sp, err);
	}
	for (size_t i = 0; i < srv->nr; i++) {
		struct space *sp = srv->sp[i];

		if (sp->nr_deferred && !sp->ended && (err = retry_deferred(srv, sp)))
			end_space(srv, sp, err);
	}
	err = background(srv, &which);
	if (err)
		end_space(srv, srv->sp[which], err);
	return srv->failed;
}

int lazy_serve(struct lazy_space *spaces, size_t n, const struct lazy_test_opts *test)
{
	struct server srv = { .trickle = test->trickle, .fail_after = test->fail_after };
	int ret = 0;

	srv.buf = mmap(NULL, BACKGROUND_CHUNK + PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (srv.buf == MAP_FAILED)
		ret = -errno;
	else
		srv.zeros = srv.buf + BACKGROUND_CHUNK;
	for (size_t i = 0; i < n; i++) {
		if (!ret && !(ret = add_space(&srv, &spaces[i])))
			continue;
		pr_err("lazy: pid %d: killed: the page server cannot take it: %s",
		       spaces[i].pid, strerror(-ret));
		kill(spaces[i].pid, SIGKILL);
		close(spaces[i].uffd);
		pending_free(&spaces[i].pending);
	}
	/* Nothing is closed in a round that failed: it is killed first. */
	if (!ret)
		sweep(&srv);
	while (!ret && srv.nr && !(ret = serve_round(&srv)))
		sweep(&srv);
	if (ret)
		kill_all(&srv);
	while (srv.nr)
		close_space(&srv, srv.nr - 1, "stopped");
	free(srv.sp);
	free(srv.polls);
	if (srv.buf != MAP_FAILED)
		munmap(srv.buf, BACKGROUND_CHUNK + PAGE);
	return ret;
}
