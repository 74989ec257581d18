/* PARASITE_CMD_VMSPLICE_PAGES: moves the task's non-zero pages into a pipe
 * the caller drains into the pages file, so that they are copied once (by
 * the caller's splice) instead of twice (process_vm_readv, then write).
 * Zero pages are found and reported, not spliced, and the spliced ones are
 * fed to the pages file's digest here, while the task's memory is at hand.
 * Which ranges are safe to read from inside (private anonymous, readable)
 * is the caller's choice; this file only checks their shape. */
#include <asm/errno.h>

#include "blob/syscall.h"
#include "blob/xxh3.h"
#include "parasite/channel.h"
#include "parasite/commands.h"
#include "parasite/handlers.h"

#define PAGE 4096ul
#define F_GETPIPE_SZ_NR 1032
#define SIGPIPE_BIT (1ull << (13 - 1))
/* Runs handed to one vmsplice(); the kernel takes up to 1024. */
#define SPLICE_IOVS 256

struct k_iovec {
	const void *base;
	uint64_t len;
};

/* The runs gathered for the next vmsplice and what they add up to. */
struct splice_queue {
	int pipe_fd;
	int avx2;
	uint64_t chunk;		/* bytes worth a vmsplice: half the pipe */
	size_t nr;
	uint64_t bytes;
	struct k_iovec iov[SPLICE_IOVS];
};

static int page_is_zero(const uint64_t *w)
{
	if (w[0])
		return 0;
	for (size_t i = 0; i < PAGE / sizeof(*w); i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return 0;
	return 1;
}

/* Hashes the queued runs, in order, then vmsplices them whole. The reader
 * drains the pipe meanwhile, so a full pipe only waits for it. */
static long splice_queued(struct splice_queue *q, void *digest)
{
	struct k_iovec *iov = q->iov;
	size_t nr = q->nr;

	for (size_t i = 0; i < nr; i++)
		blob_xxh3_update(digest, iov[i].base, iov[i].len, q->avx2);
	while (nr) {
		long n = sys_vmsplice(q->pipe_fd, iov, nr, 0);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n ? n : -EIO;
		while (nr && (uint64_t)n >= iov->len) {
			n -= iov->len;
			iov++;
			nr--;
		}
		if (nr) {
			iov->base = (const char *)iov->base + n;
			iov->len -= n;
		}
	}
	q->nr = 0;
	q->bytes = 0;
	return 0;
}

static long queue_page(struct splice_queue *q, const void *page, void *digest)
{
	struct k_iovec *last = q->nr ? &q->iov[q->nr - 1] : 0;

	if (last && (const char *)last->base + last->len == page) {
		last->len += PAGE;
	} else {
		q->iov[q->nr].base = page;
		q->iov[q->nr].len = PAGE;
		q->nr++;
	}
	q->bytes += PAGE;
	if (q->bytes >= q->chunk || q->nr == SPLICE_IOVS)
		return splice_queued(q, digest);
	return 0;
}

static int ranges_valid(const struct inj_msg *req, const struct parasite_vmsplice_arg *a)
{
	uint64_t pages = 0;

	if (req->len < sizeof(*a) || a->nr_ranges > PARASITE_VMSPLICE_MAX_RANGES ||
	    req->len != sizeof(*a) + a->nr_ranges * sizeof(a->ranges[0]))
		return 0;
	for (uint64_t i = 0; i < a->nr_ranges; i++) {
		const struct parasite_page_range *r = &a->ranges[i];

		if (r->addr % PAGE || !r->len || r->len % PAGE || r->addr + r->len < r->addr)
			return 0;
		pages += r->len / PAGE;
		if (pages > PARASITE_VMSPLICE_MAX_PAGES)
			return 0;
	}
	return 1;
}

/* A vmsplice into a pipe whose reader is gone (cryo died) queues SIGPIPE
 * for this thread, which the task would take once it runs again: take it
 * back, unless the task had one pending already. */
static void take_back_sigpipe(uint64_t pending_before)
{
	uint64_t set = SIGPIPE_BIT;
	struct {
		long sec, nsec;
	} now = { 0, 0 };

	if (!(pending_before & SIGPIPE_BIT))
		sys_rt_sigtimedwait(&set, &now);
}

/* The pipe is closed before the reply: once the caller has it, the task's
 * fd table is its own again. */
static long reply_closing(int sock, const struct inj_msg *req, int *pipe_fd, long ret,
			  const void *data, uint64_t len)
{
	if (*pipe_fd >= 0)
		sys_close(*pipe_fd);
	*pipe_fd = -1;
	return channel_reply(sock, req->cmd, (int32_t)ret, data, len, -1);
}

long cmd_vmsplice_pages(int sock, const struct inj_msg *req, void *arg, int *fd)
{
	int pipe_fd = *fd;
	struct parasite_vmsplice_arg *a = arg;
	struct parasite_vmsplice_reply reply;
	struct splice_queue q;
	uint64_t page_nr = 0, pending = 0;
	long pipe_size, ret = 0;

	if (pipe_fd < 0)
		return reply_closing(sock, req, fd, -EBADF, 0, 0);
	if (!ranges_valid(req, a))
		return reply_closing(sock, req, fd, -EINVAL, 0, 0);
	pipe_size = sys_fcntl(pipe_fd, F_GETPIPE_SZ_NR, 0);
	if (pipe_size < 0)
		return reply_closing(sock, req, fd, pipe_size, 0, 0);
	q.pipe_fd = pipe_fd;
	q.avx2 = blob_cpu_has_avx2();
	q.chunk = (uint64_t)pipe_size / 2 < PAGE ? PAGE : (uint64_t)pipe_size / 2;
	q.nr = 0;
	q.bytes = 0;
	reply.pages_spliced = 0;
	__builtin_memset(reply.zero, 0, sizeof(reply.zero));
	sys_rt_sigpending(&pending);
	for (uint64_t i = 0; i < a->nr_ranges && !ret; i++) {
		const char *p = (const char *)a->ranges[i].addr;
		const char *end = p + a->ranges[i].len;

		for (; p < end && !ret; p += PAGE, page_nr++) {
			uint64_t bit = 1ull << (page_nr % 64);

			if (page_is_zero((const uint64_t *)p)) {
				reply.zero[page_nr / 64] |= bit;
				continue;
			}
			reply.pages_spliced++;
			ret = queue_page(&q, p, a->digest);
		}
	}
	if (!ret && q.nr)
		ret = splice_queued(&q, a->digest);
	if (ret == -EPIPE)
		take_back_sigpipe(pending);
	if (ret)
		return reply_closing(sock, req, fd, ret, 0, 0);
	__builtin_memcpy(reply.digest, a->digest, sizeof(reply.digest));
	return reply_closing(sock, req, fd, 0, &reply,
			     __builtin_offsetof(struct parasite_vmsplice_reply, zero) +
				     (page_nr + 63) / 64 * sizeof(uint64_t));
}
