/* An AIO context (io_setup) with its ring gone round: nr - 1 events were
 * reaped and two completed reads are left unreaped, the second in the
 * ring's first slot again (tail behind head). After restore the same
 * context id must give back those two events, with their data read, and
 * the context must take and complete new requests. */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define NR_EVENTS 16
#define BLOCK 512

/* The ring's header as the kernel lays it out at the context's address. */
struct aio_ring_header {
	unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

static aio_context_t ctx;
static char bufs[3][BLOCK];
static struct iocb cbs[3];

static long io_submit_one(struct iocb *cb)
{
	struct iocb *list[1] = { cb };

	return syscall(SYS_io_submit, ctx, 1, list);
}

static long io_reap(long min, long nr, struct io_event *ev)
{
	struct timespec ts = { 1, 0 };

	return syscall(SYS_io_getevents, ctx, min, nr, ev, &ts);
}

static void prepare_read(struct iocb *cb, int fd, char *buf, off_t off, uint64_t tag)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_data = tag;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_buf = (uintptr_t)buf;
	cb->aio_nbytes = BLOCK;
	cb->aio_offset = off;
}

/* Whether @ev is the completion of reading block @block into @buf. */
static bool read_completed(const struct io_event *ev, uint64_t tag, const char *buf, int block)
{
	return PROG_CHECK(ev->data == tag && ev->res == BLOCK, "event %llu res %lld, not %llu %d",
			  (unsigned long long)ev->data, (long long)ev->res,
			  (unsigned long long)tag, BLOCK) &&
	       PROG_CHECK(buf[0] == 'a' + block && buf[BLOCK - 1] == 'a' + block,
			  "block %d read as %c..%c", block, buf[0], buf[BLOCK - 1]);
}

int main(int argc, char **argv)
{
	const struct aio_ring_header *ring;
	struct io_event ev[4];
	char path[4096], block[BLOCK];
	unsigned head, tail;
	aio_context_t saved;
	int fd;

	prog_init(argc, argv);
	snprintf(path, sizeof(path), "%s/aio-data", prog_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (int i = 0; i < 4 && fd >= 0; i++) {
		memset(block, 'a' + i, sizeof(block));
		if (write(fd, block, sizeof(block)) != BLOCK)
			return 1;
	}
	if (fd < 0 || syscall(SYS_io_setup, NR_EVENTS, &ctx))
		return 1;
	ring = (const void *)ctx;
	/* Reads submitted and reaped move head and tail round the ring. */
	for (unsigned i = 0; i + 1 < ring->nr; i++) {
		prepare_read(&cbs[0], fd, bufs[0], 0, 100 + i);
		if (io_submit_one(&cbs[0]) != 1 || io_reap(1, 1, ev) != 1)
			return 1;
	}
	prepare_read(&cbs[1], fd, bufs[1], BLOCK, 1);
	prepare_read(&cbs[2], fd, bufs[2], 2 * BLOCK, 2);
	if (io_submit_one(&cbs[1]) != 1 || io_submit_one(&cbs[2]) != 1)
		return 1;
	/* Buffered reads complete within io_submit: both wait in the ring. */
	if ((ring->tail + ring->nr - ring->head) % ring->nr != 2 || ring->tail >= ring->head)
		return 1;
	saved = ctx;
	head = ring->head;
	tail = ring->tail;
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(ctx == saved, "the context id changed");
	PROG_CHECK(ring->head == head && ring->tail == tail, "ring head %u tail %u, not %u %u",
		   ring->head, ring->tail, head, tail);
	PROG_CHECK(io_reap(2, 4, ev) == 2, "io_getevents gave %ld events, not 2", io_reap(0, 4, ev));
	if (read_completed(&ev[0], 1, bufs[1], 1))
		read_completed(&ev[1], 2, bufs[2], 2);
	/* The context still works: a new read completes and is reaped. */
	memset(bufs[0], 0, BLOCK);
	prepare_read(&cbs[0], fd, bufs[0], 3 * BLOCK, 3);
	PROG_CHECK(io_submit_one(&cbs[0]) == 1, "io_submit after restore: %m");
	PROG_CHECK(io_reap(1, 1, ev) == 1, "no event for the read submitted after restore");
	read_completed(&ev[0], 3, bufs[0], 3);
	PROG_CHECK(syscall(SYS_io_destroy, ctx) == 0, "io_destroy: %m");
	prog_finish();
}
