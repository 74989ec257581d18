/* Pages through a pipe: batches of ranges go to the parasite
 * (PARASITE_CMD_VMSPLICE_PAGES), which skips zero pages, feeds the digest
 * and vmsplices the rest, while the splicer thread here splices whatever
 * the pipe holds onto the end of the pages file. The pagemap entries are
 * written from each reply, in the same order as the bytes. The pipe is
 * cryo's (sized up to pipe-max-size, charged to cryo); the task holds its
 * write end only during a command. Not the choice of ranges (pagedump.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "inject/inject.h"
#include "mem/pagesplice.h"
#include "mem/vma.h"
#include "parasite/commands.h"
#include "stats/stats.h"

#define PS IMG_PAGE_SIZE
/* What one splice may move: the pipe holds far less. */
#define SPLICE_MAX (1u << 30)

struct pagesplice {
	struct inj_parasite *parasite;
	pid_t pid;
	struct pages_writer *pw;
	struct stats *stats;
	int pipe_rd, pipe_wr;
	int devnull;		/* where the pipe drains after a failed write */
	/* The batch being queued: the command's argument, and the mapping of
	 * each range (for messages). */
	struct parasite_vmsplice_arg *arg;
	const Vma **arg_vma;
	uint64_t arg_pages;
	struct parasite_vmsplice_reply reply;
	uint64_t pages_read, pages_saved, pages_zero;

	pthread_t splicer;
	bool splicer_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t expected;	/* bytes the parasite put in the pipe */
	uint64_t moved;		/* bytes the splicer took out */
	bool splicer_done;
	int err;		/* the splicer's first error */
};

#define ARG_SIZE \
	(sizeof(struct parasite_vmsplice_arg) + \
	 PARASITE_VMSPLICE_MAX_RANGES * sizeof(struct parasite_page_range))

static void note_err(struct pagesplice *ps, int err)
{
	pthread_mutex_lock(&ps->lock);
	if (!ps->err)
		ps->err = err;
	pthread_mutex_unlock(&ps->lock);
}

/* One splice out of the pipe, never waiting on it: into the pages file,
 * or into /dev/null once that failed. */
static ssize_t splice_some(struct pagesplice *ps, bool failed)
{
	ssize_t n;

	if (!failed)
		return pages_splice(ps->pw, ps->pipe_rd, SPLICE_MAX);
	n = splice(ps->pipe_rd, NULL, ps->devnull, NULL, SPLICE_MAX, SPLICE_F_NONBLOCK);
	return n < 0 ? -errno : n;
}

/* Takes everything out of the pipe until no writer is left. It waits in
 * poll(), not in splice(): a splice takes the file position when it
 * starts, and the buffered path may write between two batches. After an
 * error it keeps draining (into /dev/null), so that the parasite never
 * waits on a full pipe for a reader that gave up; if even that fails, the
 * read end is closed and the parasite's vmsplice fails instead. */
static void *splicer_main(void *arg)
{
	struct pagesplice *ps = arg;
	bool failed = false;

	for (;;) {
		struct pollfd pfd = { .fd = ps->pipe_rd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			note_err(ps, -errno);
			break;
		}
		n = splice_some(ps, failed);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n == 0)
			break;
		if (n < 0) {
			note_err(ps, (int)n);
			if (failed)
				break;
			failed = true;
			continue;
		}
		pthread_mutex_lock(&ps->lock);
		ps->moved += n;
		pthread_cond_broadcast(&ps->cond);
		pthread_mutex_unlock(&ps->lock);
	}
	close(ps->pipe_rd);
	pthread_mutex_lock(&ps->lock);
	ps->splicer_done = true;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

/* As large as fs/pipe-max-size lets cryo make it: the larger, the fewer
 * wake-ups between the parasite and the splicer. */
static void size_pipe(int fd)
{
	unsigned long max = 1ul << 20;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");

	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 1ul << 20;
		fclose(f);
	}
	if (max > (64ul << 20))
		max = 64ul << 20;
	/* Past the per-user limits the kernel refuses: take what it gives. */
	while (max >= (64ul << 10) && fcntl(fd, F_SETPIPE_SZ, (int)max) < 0)
		max /= 2;
}

/* An empty batch: does the pipe reach the parasite? A task at its
 * RLIMIT_NOFILE has no room for it (the kernel drops it): -EOPNOTSUPP,
 * and the pages go the other way. */
static int probe(struct pagesplice *ps)
{
	size_t len;
	int ret = inj_parasite_call_with_fd(ps->parasite, PARASITE_CMD_VMSPLICE_PAGES, ps->pipe_wr,
					    ps->arg, sizeof(*ps->arg), &ps->reply,
					    sizeof(ps->reply), &len);

	if (ret == -EBADF) {
		pr_info("dump: pid %d: no room for a pipe among its fds: its pages are read, not "
			"spliced", ps->pid);
		return -EOPNOTSUPP;
	}
	if (!ret && len != offsetof(struct parasite_vmsplice_reply, zero))
		ret = -EPROTO;
	if (ret)
		pr_err("dump: pid %d: the parasite did not take a pipe for its pages: %s", ps->pid,
		       strerror(-ret));
	return ret;
}

int pagesplice_open(struct inj_parasite *parasite, pid_t pid, struct pages_writer *pw,
		    struct stats *stats, struct pagesplice **out)
{
	struct pagesplice *ps = calloc(1, sizeof(*ps));
	int fds[2], ret;

	if (!ps)
		return -ENOMEM;
	ps->parasite = parasite;
	ps->pid = pid;
	ps->pw = pw;
	ps->stats = stats;
	ps->pipe_rd = ps->pipe_wr = ps->devnull = -1;
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->cond, NULL);
	/* 64-byte aligned, as the XXH3 state at its start wants (and
	 * aligned_alloc() would want a size of whole 64-byte blocks). */
	if (posix_memalign((void **)&ps->arg, 64, ARG_SIZE))
		ps->arg = NULL;
	ps->arg_vma = calloc(PARASITE_VMSPLICE_MAX_RANGES, sizeof(*ps->arg_vma));
	if (!ps->arg || !ps->arg_vma) {
		ret = -ENOMEM;
		goto err;
	}
	ps->arg->nr_ranges = 0;
	/* A signed set's digest is not XXH3: the parasite cannot feed it. */
	ret = pages_hash_export(pw, ps->arg->digest, sizeof(ps->arg->digest));
	if (ret)
		goto err;
	if (pipe2(fds, O_CLOEXEC)) {
		ret = pr_errno_ret("dump: pid %d: cannot make a pipe for its pages", pid);
		goto err;
	}
	ps->pipe_rd = fds[0];
	ps->pipe_wr = fds[1];
	size_pipe(ps->pipe_wr);
	ps->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (ps->devnull < 0) {
		ret = pr_errno_ret("dump: pid %d: cannot open /dev/null", pid);
		goto err;
	}
	ret = -pthread_create(&ps->splicer, NULL, splicer_main, ps);
	if (ret) {
		pr_err("dump: pid %d: cannot start the page splicer thread: %s", pid,
		       strerror(-ret));
		goto err;
	}
	ps->splicer_started = true;
	ret = probe(ps);
	if (ret)
		goto err;
	*out = ps;
	return 0;
err:
	pagesplice_close(ps);
	return ret;
}

static int parasite_error(struct pagesplice *ps, int err)
{
	char label[VMA_LABEL_MAX];

	vma_label(ps->arg_vma[0], label, sizeof(label));
	pr_err("dump: pid %d vma %s: the parasite could not splice %llu pages from 0x%llx: %s",
	       ps->pid, label, (unsigned long long)ps->arg_pages,
	       (unsigned long long)ps->arg->ranges[0].addr, strerror(-err));
	return err;
}

/* Writes the pagemap entries of the batch from the reply's zero bits. */
static int note_batch(struct pagesplice *ps, uint64_t *saved)
{
	const struct parasite_vmsplice_arg *a = ps->arg;
	uint64_t page_nr = 0;
	int ret = 0;

	*saved = 0;
	for (uint64_t i = 0; i < a->nr_ranges && !ret; i++) {
		uint64_t pages = a->ranges[i].len / PS;

		for (uint64_t p = 0, run; p < pages && !ret; p = run) {
			bool zero = ps->reply.zero[(page_nr + p) / 64] >> ((page_nr + p) % 64) & 1;

			for (run = p + 1; run < pages; run++)
				if ((ps->reply.zero[(page_nr + run) / 64] >> ((page_nr + run) % 64) &
				     1) != zero)
					break;
			/* Private anonymous: a zero page is left out, as the
			 * buffered path does, but for hugetlb's. */
			if (zero) {
				ps->pages_zero += run - p;
				if (vma_keeps_zero_pages(ps->arg_vma[i]))
					ret = pages_write_zero(ps->pw, a->ranges[i].addr + p * PS,
							       run - p);
				continue;
			}
			ret = pages_note_spliced(ps->pw, a->ranges[i].addr + p * PS, run - p);
			*saved += run - p;
		}
		page_nr += pages;
	}
	return ret;
}

static int send_batch(struct pagesplice *ps)
{
	struct parasite_vmsplice_arg *a = ps->arg;
	size_t want = offsetof(struct parasite_vmsplice_reply, zero) +
		      (ps->arg_pages + 63) / 64 * sizeof(uint64_t);
	size_t len = 0;
	uint64_t saved;
	int ret;

	if (!a->nr_ranges)
		return 0;
	ret = pages_hash_export(ps->pw, a->digest, sizeof(a->digest));
	if (ret)
		return ret;
	ret = inj_parasite_call_with_fd(ps->parasite, PARASITE_CMD_VMSPLICE_PAGES, ps->pipe_wr, a,
					sizeof(*a) + a->nr_ranges * sizeof(a->ranges[0]),
					&ps->reply, sizeof(ps->reply), &len);
	if (!ret && len != want)
		ret = -EPROTO;
	if (ret)
		return parasite_error(ps, ret);
	ret = pages_hash_import(ps->pw, ps->reply.digest, sizeof(ps->reply.digest));
	if (!ret)
		ret = note_batch(ps, &saved);
	if (!ret && saved != ps->reply.pages_spliced)
		ret = parasite_error(ps, -EPROTO);
	if (ret)
		return ret;
	ps->pages_read += ps->arg_pages;
	ps->pages_saved += saved;
	stats_pages_read(ps->stats, ps->arg_pages);
	pthread_mutex_lock(&ps->lock);
	ps->expected += saved * PS;
	ret = ps->err;
	pthread_mutex_unlock(&ps->lock);
	a->nr_ranges = 0;
	ps->arg_pages = 0;
	return ret;
}

int pagesplice_add(struct pagesplice *ps, const Vma *vma, uint64_t start, uint64_t end)
{
	struct parasite_vmsplice_arg *a = ps->arg;

	while (start < end) {
		uint64_t room = (PARASITE_VMSPLICE_MAX_PAGES - ps->arg_pages) * PS;
		uint64_t len = end - start < room ? end - start : room;
		struct parasite_page_range *last = a->nr_ranges ? &a->ranges[a->nr_ranges - 1] : NULL;
		int ret;

		if (last && last->addr + last->len == start && ps->arg_vma[a->nr_ranges - 1] == vma) {
			last->len += len;
		} else {
			a->ranges[a->nr_ranges].addr = start;
			a->ranges[a->nr_ranges].len = len;
			ps->arg_vma[a->nr_ranges++] = vma;
		}
		ps->arg_pages += len / PS;
		start += len;
		if (ps->arg_pages == PARASITE_VMSPLICE_MAX_PAGES ||
		    a->nr_ranges == PARASITE_VMSPLICE_MAX_RANGES) {
			ret = send_batch(ps);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int pagesplice_flush(struct pagesplice *ps)
{
	int ret = send_batch(ps);

	pthread_mutex_lock(&ps->lock);
	while (!ret && !ps->err && !ps->splicer_done && ps->moved < ps->expected)
		pthread_cond_wait(&ps->cond, &ps->lock);
	if (!ret)
		ret = ps->err;
	if (!ret && ps->moved != ps->expected) {
		pr_err("dump: pid %d: %llu bytes of pages went into the pipe, %llu came out",
		       ps->pid, (unsigned long long)ps->expected, (unsigned long long)ps->moved);
		ret = -EIO;
	}
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

void pagesplice_counts(const struct pagesplice *ps, uint64_t *read, uint64_t *saved,
		       uint64_t *zero)
{
	*read += ps->pages_read;
	*saved += ps->pages_saved;
	*zero += ps->pages_zero;
}

void pagesplice_close(struct pagesplice *ps)
{
	if (!ps)
		return;
	/* The task closed its copy after its last command: with ours gone,
	 * the splicer meets the pipe's end once it is empty. */
	if (ps->pipe_wr >= 0)
		close(ps->pipe_wr);
	/* The splicer closes the read end; without it, it is ours. */
	if (ps->splicer_started)
		pthread_join(ps->splicer, NULL);
	else if (ps->pipe_rd >= 0)
		close(ps->pipe_rd);
	if (ps->devnull >= 0)
		close(ps->devnull);
	pthread_mutex_destroy(&ps->lock);
	pthread_cond_destroy(&ps->cond);
	free(ps->arg);
	free(ps->arg_vma);
	free(ps);
}
