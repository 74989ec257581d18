/* Pages through pipes: batches of ranges go to the parasite
 * (PARASITE_CMD_VMSPLICE_PAGES), which skips zero pages, feeds the digest
 * and vmsplices the rest into the pipe of cryo's it is handed. A mover
 * thread here takes whatever that pipe holds into one of two stage pipes
 * (pipe to pipe: the page references move, nothing is copied), and a
 * writer thread splices full stages onto the end of the pages file, in
 * order. A write holds its pipe's lock until it is done (an O_DIRECT one
 * until the disk has the bytes), so with one pipe the parasite waited for
 * every write; with the stages it fills the next while the last is
 * written. The pagemap entries are written from each reply, in the same
 * order as the bytes. The pipes are cryo's (sized up to pipe-max-size,
 * charged to cryo); the task holds the first's write end only during a
 * command. A large task's pages go by two lanes, each its own pipes, mover,
 * writer and pages file (tmpfs copies into one file under its inode lock,
 * so two writers of one file take turns): batches alternate between them,
 * each no larger than a lane's pipes hold, so that one lane's writer copies
 * while the parasite fills the other. Not the choice of ranges
 * (pagedump.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

/* Two are enough for the parasite to fill one while the other is
 * written; a write waits for nothing but the disk. */
#define STAGES 2

struct stage {
	int rd, wr;
	uint64_t bytes;		/* moved into it, not yet written out */
};

/* One pipe of the parasite's, its stages and threads, into one pages file. */
struct lane {
	struct pagesplice *ps;
	uint32_t file;		/* the pages file it writes */
	int pipe_rd, pipe_wr;	/* the parasite's pipe */
	int wake;		/* eventfd: the writer finished a stage */
	struct stage stages[STAGES];
	uint64_t stage_cap;	/* bytes a stage pipe holds */
	uint64_t room;		/* bytes its pipe and stages hold together */

	pthread_t mover, writer;
	bool mover_started, writer_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Stages are used in turn: stage handed % STAGES is the one the mover
	 * fills, written % STAGES the next to write; the writer is idle when
	 * the two counts meet. */
	uint64_t handed, written;
	bool mover_done;	/* nothing more will be handed */
	bool writer_done;
	bool fatal;		/* bytes could not even be dropped: stop moving */
	uint64_t expected;	/* bytes the parasite put in the pipe */
	uint64_t moved;		/* bytes written out (or dropped after an error) */
	int err;		/* the threads' first error */
};

struct pagesplice {
	struct inj_parasite *parasite;
	pid_t pid;
	struct pages_writer *pw;
	struct stats *stats;
	int devnull;		/* where a stage drains after a failed write */
	struct lane lanes[PAGES_FILES_MAX];
	uint32_t nr_lanes;
	uint32_t next_lane;	/* takes the next batch */
	uint64_t batch_max;	/* pages a batch holds */
	/* The batch being queued: the command's argument, and the mapping of
	 * each range (for messages). */
	struct parasite_vmsplice_arg *arg;
	const Vma **arg_vma;
	uint64_t arg_pages;
	struct parasite_vmsplice_reply reply;
	uint64_t pages_read, pages_saved, pages_zero;
};

#define ARG_SIZE \
	(sizeof(struct parasite_vmsplice_arg) + \
	 PARASITE_VMSPLICE_MAX_RANGES * sizeof(struct parasite_page_range))

static void note_err(struct lane *l, int err)
{
	pthread_mutex_lock(&l->lock);
	if (!l->err)
		l->err = err;
	pthread_mutex_unlock(&l->lock);
}

/* Writes stage @s out whole: into the pages file, or into /dev/null once
 * that failed (*@failed), so that its page references go. */
static int write_stage(struct lane *l, struct stage *s, uint64_t bytes, bool *failed)
{
	while (bytes) {
		ssize_t n;

		if (!*failed) {
			n = pages_splice(l->ps->pw, l->file, s->rd, bytes);
		} else {
			n = splice(s->rd, NULL, l->ps->devnull, NULL, bytes, SPLICE_F_NONBLOCK);
			n = n < 0 ? -errno : n;
		}
		if (n == -EINTR)
			continue;
		/* The mover counted these bytes in: a pipe short of them is a bug. */
		if (n == 0 || n == -EAGAIN)
			n = -EIO;
		if (n < 0) {
			note_err(l, (int)n);
			if (*failed)
				return (int)n;
			*failed = true;
			continue;
		}
		bytes -= n;
	}
	return 0;
}

/* Writes the stages the mover hands over, in order, until it is done. */
static void *writer_main(void *arg)
{
	struct lane *l = arg;
	bool failed = false;
	const uint64_t one = 1;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct stage *s;
		uint64_t bytes;
		bool drop;
		int ret;

		while (l->handed == l->written && !l->mover_done)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->handed == l->written)
			break;
		s = &l->stages[l->written % STAGES];
		bytes = s->bytes;
		drop = l->fatal;
		pthread_mutex_unlock(&l->lock);
		ret = drop ? 0 : write_stage(l, s, bytes, &failed);
		pthread_mutex_lock(&l->lock);
		if (ret)
			l->fatal = true;
		s->bytes = 0;
		l->written++;
		l->moved += bytes;
		pthread_cond_broadcast(&l->cond);
		/* The mover may hold a stage it fills: it can come now. */
		if (write(l->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
			l->fatal = true;
	}
	l->writer_done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* Hands the stage being filled to the writer when it holds anything and
 * the writer is idle or @now. With every stage handed already (the mover
 * leaving after the writer gave up), none is being filled. */
static void hand_stage(struct lane *l, bool now)
{
	struct stage *s = &l->stages[l->handed % STAGES];

	pthread_mutex_lock(&l->lock);
	if (l->handed - l->written < STAGES && s->bytes && (now || l->handed == l->written)) {
		l->handed++;
		pthread_cond_broadcast(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
}

/* The stage to fill, once the writer has let go of it; NULL when the
 * writer gave up. */
static struct stage *free_stage(struct lane *l)
{
	struct stage *s;

	pthread_mutex_lock(&l->lock);
	while (l->handed - l->written == STAGES && !l->fatal)
		pthread_cond_wait(&l->cond, &l->lock);
	s = l->fatal ? NULL : &l->stages[l->handed % STAGES];
	pthread_mutex_unlock(&l->lock);
	return s;
}

/* Moves everything out of the parasite's pipe into the stages until no
 * writer of it is left. It waits in poll(), for bytes or for the writer to
 * finish a stage (then the partly filled one goes, so the disk never waits
 * while there are bytes), never in splice(). A stage goes when full or when
 * the writer is idle: the writes grow as the disk falls behind. If the
 * bytes cannot even be dropped, the read end is closed and the parasite's
 * vmsplice fails instead. */
static void *mover_main(void *arg)
{
	struct lane *l = arg;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = l->pipe_rd, .events = POLLIN },
					 { .fd = l->wake, .events = POLLIN } };
		struct stage *s = free_stage(l);
		uint64_t count;
		bool full;
		ssize_t n;

		if (!s)
			break;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			note_err(l, -errno);
			break;
		}
		if ((pfd[1].revents & POLLIN) && read(l->wake, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN) {
			note_err(l, -errno);
			break;
		}
		if (!pfd[0].revents) {
			hand_stage(l, false);
			continue;
		}
		n = splice(l->pipe_rd, NULL, s->wr, NULL, SPLICE_MAX, SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		/* The stage is full (the parasite's pipe has bytes). */
		if (n < 0 && errno == EAGAIN) {
			hand_stage(l, true);
			continue;
		}
		if (n == 0)
			break;
		if (n < 0) {
			note_err(l, -errno);
			break;
		}
		pthread_mutex_lock(&l->lock);
		s->bytes += n;
		full = s->bytes >= l->stage_cap;
		pthread_mutex_unlock(&l->lock);
		hand_stage(l, full);
	}
	close(l->pipe_rd);
	l->pipe_rd = -1;
	hand_stage(l, true);
	pthread_mutex_lock(&l->lock);
	l->mover_done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* As large as fs/pipe-max-size lets cryo make it: the larger, the fewer
 * wake-ups between the parasite and the mover. Its size in bytes. */
static uint64_t size_pipe(int fd)
{
	unsigned long max = 1ul << 20;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	int size;

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
	size = fcntl(fd, F_GETPIPE_SZ);
	return size > 0 ? (uint64_t)size : PS;
}

/* A pipe, sized, into @rd and @wr. */
static int make_pipe(pid_t pid, int *rd, int *wr, uint64_t *size)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return pr_errno_ret("dump: pid %d: cannot make a pipe for its pages", pid);
	*rd = fds[0];
	*wr = fds[1];
	*size = size_pipe(fds[1]);
	return 0;
}

static int start_thread(struct lane *l, pthread_t *t, void *(*fn)(void *), bool *started,
			const char *what)
{
	int ret = pthread_create(t, NULL, fn, l);

	if (ret) {
		pr_err("dump: pid %d: cannot start the page %s thread: %s", l->ps->pid, what,
		       strerror(ret));
		return -ret;
	}
	*started = true;
	return 0;
}

/* An empty batch: does the pipe reach the parasite? A task at its
 * RLIMIT_NOFILE has no room for it (the kernel drops it): -EOPNOTSUPP,
 * and the pages go the other way. */
static int probe(struct pagesplice *ps)
{
	size_t len;
	int ret = inj_parasite_call_with_fd(ps->parasite, PARASITE_CMD_VMSPLICE_PAGES,
					    ps->lanes[0].pipe_wr,
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

/* Lane @l of @ps, writing pages file @file: its pipes and threads. */
static int lane_open(struct pagesplice *ps, struct lane *l, uint32_t file)
{
	uint64_t cap = 0;
	int ret;

	l->ps = ps;
	l->file = file;
	ret = make_pipe(ps->pid, &l->pipe_rd, &l->pipe_wr, &cap);
	for (int i = 0; i < STAGES && !ret; i++)
		ret = make_pipe(ps->pid, &l->stages[i].rd, &l->stages[i].wr, &l->stage_cap);
	if (ret)
		return ret;
	l->room = cap + STAGES * l->stage_cap;
	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake < 0)
		return pr_errno_ret("dump: pid %d: cannot open an eventfd", ps->pid);
	ret = start_thread(l, &l->writer, writer_main, &l->writer_started, "writer");
	if (!ret)
		ret = start_thread(l, &l->mover, mover_main, &l->mover_started, "mover");
	return ret;
}

int pagesplice_open(struct inj_parasite *parasite, pid_t pid, struct pages_writer *pw,
		    uint32_t nr_files, struct stats *stats, struct pagesplice **out)
{
	struct pagesplice *ps = calloc(1, sizeof(*ps));
	int ret;

	if (!ps)
		return -ENOMEM;
	if (!nr_files || nr_files > PAGES_FILES_MAX) {
		free(ps);
		return -EINVAL;
	}
	ps->parasite = parasite;
	ps->pid = pid;
	ps->pw = pw;
	ps->stats = stats;
	ps->devnull = -1;
	for (uint32_t n = 0; n < PAGES_FILES_MAX; n++) {
		struct lane *l = &ps->lanes[n];

		l->pipe_rd = l->pipe_wr = l->wake = -1;
		for (int i = 0; i < STAGES; i++)
			l->stages[i].rd = l->stages[i].wr = -1;
		pthread_mutex_init(&l->lock, NULL);
		pthread_cond_init(&l->cond, NULL);
	}
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
	ret = pages_hash_export(pw, 0, ps->arg->digest, sizeof(ps->arg->digest));
	if (ret)
		goto err;
	ps->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (ps->devnull < 0) {
		ret = pr_errno_ret("dump: pid %d: cannot open /dev/null", pid);
		goto err;
	}
	ret = lane_open(ps, &ps->lanes[0], 0);
	if (ret)
		goto err;
	ps->nr_lanes = 1;
	ps->batch_max = PARASITE_VMSPLICE_MAX_PAGES;
	ret = probe(ps);
	if (!ret && nr_files > 1)
		ret = pages_open_second(pw);
	if (!ret && nr_files > 1) {
		ret = lane_open(ps, &ps->lanes[1], 1);
		ps->nr_lanes = 2;
		/* A batch larger than a lane holds would keep the parasite
		 * in it until its writer drained the excess: the other
		 * writer would wait. */
		ps->batch_max = ps->lanes[0].room < ps->lanes[1].room ? ps->lanes[0].room :
									 ps->lanes[1].room;
		ps->batch_max /= PS;
		if (ps->batch_max > PARASITE_VMSPLICE_MAX_PAGES)
			ps->batch_max = PARASITE_VMSPLICE_MAX_PAGES;
		if (!ret)
			pr_info("dump: pid %d: its pages go to two pages files on two threads, "
				"%llu KiB a batch", pid, (unsigned long long)ps->batch_max * PS / 1024);
	}
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
static int note_batch(struct pagesplice *ps, uint32_t file, uint64_t *saved)
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
			ret = pages_note_spliced(ps->pw, file, a->ranges[i].addr + p * PS,
						 run - p);
			*saved += run - p;
		}
		page_nr += pages;
	}
	return ret;
}

static int send_batch(struct pagesplice *ps)
{
	struct lane *l = &ps->lanes[ps->next_lane];
	struct parasite_vmsplice_arg *a = ps->arg;
	size_t want = offsetof(struct parasite_vmsplice_reply, zero) +
		      (ps->arg_pages + 63) / 64 * sizeof(uint64_t);
	size_t len = 0;
	uint64_t saved;
	int ret;

	if (!a->nr_ranges)
		return 0;
	ret = pages_hash_export(ps->pw, l->file, a->digest, sizeof(a->digest));
	if (ret)
		return ret;
	ret = inj_parasite_call_with_fd(ps->parasite, PARASITE_CMD_VMSPLICE_PAGES, l->pipe_wr, a,
					sizeof(*a) + a->nr_ranges * sizeof(a->ranges[0]),
					&ps->reply, sizeof(ps->reply), &len);
	if (!ret && len != want)
		ret = -EPROTO;
	if (ret)
		return parasite_error(ps, ret);
	ret = pages_hash_import(ps->pw, l->file, ps->reply.digest, sizeof(ps->reply.digest));
	if (!ret)
		ret = note_batch(ps, l->file, &saved);
	if (!ret && saved != ps->reply.pages_spliced)
		ret = parasite_error(ps, -EPROTO);
	if (ret)
		return ret;
	ps->pages_read += ps->arg_pages;
	ps->pages_saved += saved;
	stats_pages_read(ps->stats, ps->arg_pages);
	pthread_mutex_lock(&l->lock);
	l->expected += saved * PS;
	ret = l->err;
	pthread_mutex_unlock(&l->lock);
	a->nr_ranges = 0;
	ps->arg_pages = 0;
	ps->next_lane = (ps->next_lane + 1) % ps->nr_lanes;
	return ret;
}

int pagesplice_add(struct pagesplice *ps, const Vma *vma, uint64_t start, uint64_t end)
{
	struct parasite_vmsplice_arg *a = ps->arg;

	while (start < end) {
		uint64_t room = (ps->batch_max - ps->arg_pages) * PS;
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
		if (ps->arg_pages == ps->batch_max ||
		    a->nr_ranges == PARASITE_VMSPLICE_MAX_RANGES) {
			ret = send_batch(ps);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Waits until lane @l wrote every byte the parasite put in its pipe. */
static int lane_drain(struct pagesplice *ps, struct lane *l)
{
	int ret;

	pthread_mutex_lock(&l->lock);
	while (!l->err && !l->writer_done && l->moved < l->expected)
		pthread_cond_wait(&l->cond, &l->lock);
	ret = l->err;
	if (!ret && l->moved != l->expected) {
		pr_err("dump: pid %d: %llu bytes of pages went into the pipe, %llu came out",
		       ps->pid, (unsigned long long)l->expected, (unsigned long long)l->moved);
		ret = -EIO;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

int pagesplice_flush(struct pagesplice *ps)
{
	int ret = send_batch(ps);

	for (uint32_t n = 0; n < ps->nr_lanes && !ret; n++)
		ret = lane_drain(ps, &ps->lanes[n]);
	return ret;
}

void pagesplice_counts(const struct pagesplice *ps, uint64_t *read, uint64_t *saved,
		       uint64_t *zero)
{
	*read += ps->pages_read;
	*saved += ps->pages_saved;
	*zero += ps->pages_zero;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The task closed its copy of the pipe after its last command: with ours
 * gone, the mover meets the pipe's end once it is empty, and the writer
 * stops once the mover is done. */
static void lane_close(struct lane *l)
{
	close_fd(l->pipe_wr);
	if (l->mover_started) {
		pthread_join(l->mover, NULL);
	} else {
		/* Without the mover, the read end is ours, and the writer
		 * waits for nothing more. */
		close_fd(l->pipe_rd);
		pthread_mutex_lock(&l->lock);
		l->mover_done = true;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
	}
	if (l->writer_started)
		pthread_join(l->writer, NULL);
	for (int i = 0; i < STAGES; i++) {
		close_fd(l->stages[i].rd);
		close_fd(l->stages[i].wr);
	}
	close_fd(l->wake);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
}

void pagesplice_close(struct pagesplice *ps)
{
	if (!ps)
		return;
	for (uint32_t n = 0; n < PAGES_FILES_MAX; n++)
		lane_close(&ps->lanes[n]);
	close_fd(ps->devnull);
	free(ps->arg);
	free(ps->arg_vma);
	free(ps);
}
