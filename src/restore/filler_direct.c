/* cryo's segments of a cold pages file (the restorer reads it O_DIRECT):
 * each segment's bytes are read O_DIRECT into a buffer of cryo's, several
 * segments in flight through native AIO, and copied into the task by
 * UFFDIO_COPY. A mapping of the file would bring it through the page cache
 * a page at a time; one read at a time left the disk idle while cryo
 * copied. Not which pieces are cryo's (filler.c). */
#include <errno.h>
#include <linux/aio_abi.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore/filler.h"
#include "restorer/args.h"

/* As the restorer's stream (restorer/fill_stream.c): four reads of a
 * segment at most in flight. */
#define DIRECT_SLOTS 4

/* The pieces of one segment, read at once. */
struct direct_read {
	struct iocb cb;
	size_t first, count;	/* its pieces */
	uint64_t off, len;	/* in the file, from the first piece to the end of the last */
	bool done;
	long long res;
};

struct direct_run {
	int fd;
	aio_context_t ctx;	/* 0: each read waits as it is queued */
	char *bufs;		/* DIRECT_SLOTS segments */
	struct direct_read reads[DIRECT_SLOTS];
	unsigned int head, count;
};

static int read_now(int fd, char *buf, uint64_t len, uint64_t off)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		got += (uint64_t)n;
	}
	return 0;
}

/* Queues the read of the segment that begins with piece @first. */
static int queue_read(struct direct_run *run, const struct filler_piece *p, size_t nr,
		      size_t first, size_t *next)
{
	unsigned int slot = (run->head + run->count) % DIRECT_SLOTS;
	struct direct_read *r = &run->reads[slot];
	char *buf = run->bufs + (uint64_t)slot * RESTORER_FILLER_SEGMENT;
	uint64_t segment = p[first].off / RESTORER_FILLER_SEGMENT;
	size_t last = first;
	struct iocb *list[1] = { &r->cb };

	while (last + 1 < nr && p[last + 1].off / RESTORER_FILLER_SEGMENT == segment &&
	       p[last + 1].off >= p[last].off + p[last].len)
		last++;
	*r = (struct direct_read){ .first = first, .count = last + 1 - first, .off = p[first].off,
				   .len = p[last].off + p[last].len - p[first].off };
	r->cb = (struct iocb){
		.aio_data = slot,
		.aio_lio_opcode = IOCB_CMD_PREAD,
		.aio_fildes = (uint32_t)run->fd,
		.aio_buf = (uint64_t)(uintptr_t)buf,
		.aio_nbytes = r->len,
		.aio_offset = (int64_t)r->off,
	};
	run->count++;
	*next = last + 1;
	if (run->ctx && syscall(SYS_io_submit, run->ctx, 1, list) == 1)
		return 0;
	r->done = true;
	r->res = read_now(run->fd, buf, r->len, r->off);
	if (!r->res)
		r->res = (long long)r->len;
	return r->res < 0 ? (int)r->res : 0;
}

static int wait_read(struct direct_run *run, struct direct_read *r)
{
	while (!r->done) {
		struct io_event ev[DIRECT_SLOTS];
		long n = syscall(SYS_io_getevents, run->ctx, 1, DIRECT_SLOTS, ev, NULL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		for (long i = 0; i < n; i++) {
			run->reads[ev[i].data].done = true;
			run->reads[ev[i].data].res = ev[i].res;
		}
	}
	return r->res == (long long)r->len ? 0 : r->res < 0 ? (int)r->res : -EIO;
}

/* Waits for the oldest read and copies its pieces into the task. */
static int place_oldest(struct direct_run *run, int uffd, const struct filler_piece *p,
			struct filler_progress *done)
{
	struct direct_read *r = &run->reads[run->head];
	const char *buf = run->bufs + (uint64_t)run->head * RESTORER_FILLER_SEGMENT;
	int ret = wait_read(run, r);

	for (size_t i = r->first; !ret && i < r->first + r->count; i++) {
		done->at = p[i].dst;
		ret = filler_copy_segment(uffd, p[i].dst, buf + (p[i].off - r->off), p[i].len);
		if (!ret && !done->bytes)
			done->first_off = p[i].off;
		if (!ret)
			done->bytes += p[i].len;
	}
	run->head = (run->head + 1) % DIRECT_SLOTS;
	run->count--;
	return ret;
}

int filler_copy_direct(int fd, int uffd, const struct filler_piece *pieces, size_t nr,
		       struct filler_progress *done)
{
	struct direct_run run = { .fd = fd };
	size_t next = 0;
	int ret = 0;

	run.bufs = mmap(NULL, DIRECT_SLOTS * RESTORER_FILLER_SEGMENT, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (run.bufs == MAP_FAILED)
		return -errno;
	/* No AIO (its limit reached): each read waits as it is queued. */
	if (syscall(SYS_io_setup, DIRECT_SLOTS, &run.ctx))
		run.ctx = 0;
	while (!ret && (next < nr || run.count)) {
		while (!ret && next < nr && run.count < DIRECT_SLOTS)
			ret = queue_read(&run, pieces, nr, next, &next);
		if (!ret)
			ret = place_oldest(&run, uffd, pieces, done);
	}
	/* Waits for the reads in flight, which write into the buffers. */
	if (run.ctx)
		syscall(SYS_io_destroy, run.ctx);
	munmap(run.bufs, DIRECT_SLOTS * RESTORER_FILLER_SEGMENT);
	return ret;
}
