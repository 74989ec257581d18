/* Reading a cold pages file ahead: its ranges are read with O_DIRECT into
 * buffers of the restorer's own, up to STREAM_SLOTS reads in flight through
 * native AIO, and each is copied into place by UFFDIO_COPY (no page zeroed
 * first) and hashed, in the file's order. One read at a time left the disk
 * idle while the restorer populated and hashed, and the CPU idle while the
 * disk read. Not the choice of what is read this way (main.c), nor cryo's
 * segments with a filler, which the stream only waits for and hashes. */
#include <asm/errno.h>
#include <linux/aio_abi.h>
#include <linux/ioctl.h>
#include <linux/mman.h>
#include <linux/userfaultfd.h>

#include "blob/syscall.h"
#include "restorer/restorer.h"

/* Four reads of 4 MiB in flight (1 GiB cold into fresh memory, medians
 * under load: 0.84 s, against 1.36 s for 32 MiB reads one at a time, see
 * Benchmarks); 16 MiB of buffers, reused. */
#define STREAM_SLOT_SIZE (4UL << 20)
/* Bytes copied and then hashed at a time, while still in the cache. */
#define STREAM_HASH_CHUNK (1UL << 20)

static long sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return blob_syscall(__NR_ioctl, fd, cmd, arg, 0, 0, 0);
}

/* Whether @f is read through the stream: what userfaultfd takes, as
 * copy_fill_range() would. */
static int stream_may_take(const struct restorer_fill *f)
{
	return f->len >= RESTORER_COPY_FILL_MIN && !f->in_place && !f->plain &&
	       f->file_off != RESTORER_FILL_ZERO;
}

long stream_open(struct fill_stream *s, const struct restorer_args *a, long uffd)
{
	struct restorer_fill *f = (void *)a->fills;
	void *bufs;

	*s = (struct fill_stream){ .a = a, .uffd = uffd };
	bufs = sys_mmap(0, STREAM_SLOTS * STREAM_SLOT_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (blob_is_err((unsigned long)bufs))
		return (long)bufs;
	s->bufs = bufs;
	/* No AIO (its limit reached, or a kernel without it): each read
	 * then waits as it is queued. */
	if (blob_syscall(__NR_io_setup, STREAM_SLOTS, &s->ctx, 0, 0, 0, 0))
		s->ctx = 0;
	for (uint32_t i = 0; i < a->nr_fills; i++) {
		struct uffdio_register reg = {
			.range = { .start = f[i].addr, .len = f[i].len },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		/* A filler's fills are registered already; a range
		 * userfaultfd refuses is populated and read into. */
		f[i].streamed = !f[i].by_filler && stream_may_take(&f[i]) &&
				!sys_ioctl((int)uffd, UFFDIO_REGISTER, &reg);
	}
	return 0;
}

/* Waits for the read of slot @op. */
static long wait_read(struct fill_stream *s, struct stream_op *op)
{
	while (!op->done) {
		struct io_event ev[STREAM_SLOTS];
		long n = blob_syscall(__NR_io_getevents, s->ctx, 1, STREAM_SLOTS, ev, 0, 0);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n ? n : -EIO;
		for (long i = 0; i < n; i++) {
			struct stream_op *done = &s->ops[ev[i].data];

			done->done = 1;
			done->res = ev[i].res;
		}
	}
	return op->res == (long)op->len ? 0 : op->res < 0 ? op->res : -EIO;
}

/* @len bytes of pages file @file at @off into @buf, waiting. */
static long read_into(struct fill_stream *s, uint32_t file, char *buf, uint64_t len, uint64_t off)
{
	uint64_t got = 0;

	while (got < len) {
		long n = sys_pread64(s->a->pages_fd[file], buf + got, len - got, off + got);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n ? n : -EIO;
		got += (uint64_t)n;
	}
	return 0;
}

static char *slot_buf(const struct fill_stream *s, const struct stream_op *op)
{
	return s->bufs + (uint64_t)(op - s->ops) * STREAM_SLOT_SIZE;
}

/* Starts the read of @op: through AIO, or at once without it (or when
 * io_submit() does not take it). */
static long submit(struct fill_stream *s, struct stream_op *op)
{
	struct iocb *list[1] = { &op->cb };
	long ret;

	op->submitted = 1;
	op->cb = (struct iocb){
		.aio_data = (uint64_t)(op - s->ops),
		.aio_lio_opcode = IOCB_CMD_PREAD,
		.aio_fildes = (uint32_t)s->a->pages_fd[op->file],
		.aio_buf = (uint64_t)(unsigned long)slot_buf(s, op),
		.aio_nbytes = op->len,
		.aio_offset = (int64_t)op->off,
	};
	if (s->ctx && blob_syscall(__NR_io_submit, s->ctx, 1, list, 0, 0, 0) == 1)
		return 0;
	ret = read_into(s, op->file, slot_buf(s, op), op->len, op->off);
	op->done = 1;
	op->res = ret ? ret : (long)op->len;
	return ret;
}

/* The newest operation, when it is a read still open to more places. */
static struct stream_op *open_read(struct fill_stream *s)
{
	struct stream_op *op = &s->ops[(s->head + s->count + STREAM_SLOTS - 1) % STREAM_SLOTS];

	return s->count && !op->take && !op->submitted ? op : 0;
}

/* Puts @p's bytes (at @off in the file, at @buf in the slot) at its place:
 * by UFFDIO_COPY, or, in a streamed fill that holds pages already (the
 * copy says EEXIST), by unregistering that fill and reading the rest
 * straight into its pages, as fill_range() does. */
static long place(struct fill_stream *s, uint32_t file, const struct stream_place *p,
		  const char *buf, uint64_t off)
{
	const struct restorer_args *a = s->a;
	struct restorer_fill *f = &((struct restorer_fill *)a->fills)[p->fill];
	struct uffdio_range range = { .start = f->addr, .len = f->len };
	uint64_t done = 0;
	long ret;

	if (f->streamed || f->by_filler) {
		ret = copy_fill_chunks((int)s->uffd, p->dst, buf, p->len, STREAM_HASH_CHUNK,
				       (int)a->verify_pages, &done);
		if (!ret)
			return 0;
		/* A filler's fill stays registered for cryo: final. */
		if (f->by_filler)
			return ret;
		if (sys_ioctl((int)s->uffd, UFFDIO_UNREGISTER, &range))
			return -ENOTRECOVERABLE;
		f->streamed = 0;
	}
	ret = read_into(s, file, p->dst + done, p->len - done, off + done);
	if (!ret && a->verify_pages)
		pages_hash_update(p->dst + done, p->len - done);
	return ret;
}

/* Completes the oldest queued operation. */
static long complete_oldest(struct fill_stream *s)
{
	struct stream_op *op = &s->ops[s->head];
	uint64_t at = 0;
	long ret = 0;

	if (op->take)
		filler_take(s->a, op->places[0].dst, op->places[0].len);
	else if (!op->submitted)
		ret = submit(s, op);
	if (!ret && !op->take && s->ctx)
		ret = wait_read(s, op);
	if (ret)
		s->failed_at = (uint64_t)op->places[0].dst;
	for (uint32_t i = 0; !ret && !op->take && i < op->nr_places; i++) {
		ret = place(s, op->file, &op->places[i], slot_buf(s, op) + at, op->off + at);
		if (ret)
			s->failed_at = (uint64_t)op->places[i].dst;
		at += op->places[i].len;
	}
	s->head = (s->head + 1) % STREAM_SLOTS;
	s->count--;
	return ret;
}

/* A new operation at the end of the queue, once the oldest is done if
 * every slot is taken; the open read before it starts now. */
static long new_op(struct fill_stream *s, struct stream_op **op)
{
	struct stream_op *last = open_read(s);
	long ret = last ? submit(s, last) : 0;

	if (!ret && s->count == STREAM_SLOTS)
		ret = complete_oldest(s);
	if (ret)
		return ret;
	*op = &s->ops[(s->head + s->count) % STREAM_SLOTS];
	**op = (struct stream_op){ 0 };
	s->count++;
	return 0;
}

long stream_read(struct fill_stream *s, uint32_t fill, char *dst, uint64_t len, uint32_t file,
		 uint64_t off)
{
	while (len) {
		struct stream_op *op = open_read(s);
		uint64_t piece;

		if (!op || op->file != file || op->off + op->len != off ||
		    op->len == STREAM_SLOT_SIZE || op->nr_places == STREAM_PLACES) {
			long ret = new_op(s, &op);

			if (ret)
				return ret;
			op->file = file;
			op->off = off;
		}
		piece = STREAM_SLOT_SIZE - op->len < len ? STREAM_SLOT_SIZE - op->len : len;
		op->places[op->nr_places++] = (struct stream_place){ dst, piece, fill };
		op->len += piece;
		dst += piece;
		off += piece;
		len -= piece;
	}
	return 0;
}

long stream_take(struct fill_stream *s, char *dst, uint64_t len)
{
	struct stream_op *op;
	long ret = new_op(s, &op);

	if (ret)
		return ret;
	op->take = 1;
	op->nr_places = 1;
	op->places[0] = (struct stream_place){ dst, len, 0 };
	return 0;
}

long stream_drain(struct fill_stream *s)
{
	struct stream_op *last = open_read(s);
	long ret = last ? submit(s, last) : 0;

	while (s->count && !ret)
		ret = complete_oldest(s);
	return ret;
}

long stream_close(struct fill_stream *s)
{
	const struct restorer_fill *f = (const void *)s->a->fills;
	long ret = 0;

	/* io_destroy() waits for the reads in flight, which write into the
	 * buffers: only then may they go. */
	if (s->ctx)
		blob_syscall(__NR_io_destroy, s->ctx, 0, 0, 0, 0, 0);
	if (s->bufs)
		sys_munmap(s->bufs, STREAM_SLOTS * STREAM_SLOT_SIZE);
	for (uint32_t i = 0; i < s->a->nr_fills; i++) {
		struct uffdio_range range = { .start = f[i].addr, .len = f[i].len };

		/* A range left registered would hang the task at its first fault. */
		if (f[i].streamed && sys_ioctl((int)s->uffd, UFFDIO_UNREGISTER, &range))
			ret = -ENOTRECOVERABLE;
	}
	return ret;
}
