/* The machine's floor for a memory row: what a dump and a restore of N
 * bytes of pages cannot avoid, done the cheapest way known, on both cores,
 * timed right after the row's runs so that the machine's state (load, how
 * much of the guest's memory the host has backed) weighs on both alike.
 *
 * - Dump: N bytes from populated memory written into two new files (one a
 *   core) where the images go. On a disk, O_DIRECT and fsync'd: a dump is
 *   durable when it returns. In tmpfs, plain writes into fresh pages.
 * - Restore: the two files read back into fresh anonymous memory, one half
 *   a core, each 4 MiB read into a buffer and placed by UFFDIO_COPY, which
 *   fills a new page without zeroing it first.
 *
 * Neither reads a process, checks for zeros or hashes anything, so a tool
 * cannot reach the floor: the ratio says how far a row is from what the
 * machine allows, not from what the tools do. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "floor.h"
#include "reference.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define CHUNK (4 * MIB)
#define LANES 2

struct lane {
	int fd;
	uint8_t *buf;		/* CHUNK bytes, populated: the lane's own */
	bool direct;
	uint64_t len;
	uint8_t *dst;		/* restore: this lane's half of the fresh memory */
	int uffd;
	int err;		/* errno of the first failure */
	const char *what;	/* the call that failed */
};

static uint8_t *chunk_buffer(void)
{
	uint8_t *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (buf == MAP_FAILED)
		return NULL;
	for (uint64_t i = 0; i < CHUNK; i += sizeof(uint64_t))
		*(uint64_t *)(buf + i) = i * 0x9e3779b97f4a7c15ull + 1;
	return buf;
}

static void fail(struct lane *l, const char *what)
{
	l->err = errno ? errno : EIO;
	l->what = what;
}

static void *write_lane(void *arg)
{
	struct lane *l = arg;

	for (uint64_t done = 0; done < l->len && !l->err;) {
		uint64_t n = l->len - done < CHUNK ? l->len - done : CHUNK;
		ssize_t w = pwrite(l->fd, l->buf, n, done);

		if (w <= 0)
			fail(l, "write");
		else
			done += w;
	}
	if (!l->err && l->direct && fsync(l->fd))
		fail(l, "fsync");
	return NULL;
}

static void *read_lane(void *arg)
{
	struct lane *l = arg;

	for (uint64_t done = 0; done < l->len && !l->err;) {
		uint64_t n = l->len - done < CHUNK ? l->len - done : CHUNK;
		struct uffdio_copy copy = {
			.dst = (uintptr_t)(l->dst + done),
			.src = (uintptr_t)l->buf,
			.len = n,
		};

		if (pread(l->fd, l->buf, n, done) != (ssize_t)n)
			fail(l, "read");
		else if (ioctl(l->uffd, UFFDIO_COPY, &copy) || copy.copy != (int64_t)n)
			fail(l, "UFFDIO_COPY");
		else
			done += n;
	}
	return NULL;
}

/* Runs @fn on every lane at once; the wall time, or < 0 with a message. */
static double run_lanes(struct lane *lanes, void *(*fn)(void *), const char *step)
{
	pthread_t t[LANES];
	double start = now();
	int started = 0;

	for (; started < LANES; started++)
		if (pthread_create(&t[started], NULL, fn, &lanes[started]))
			break;
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (started < LANES) {
		fprintf(stderr, "bench: floor: cannot start a thread for the %s\n", step);
		return -1;
	}
	for (int i = 0; i < LANES; i++)
		if (lanes[i].err) {
			fprintf(stderr, "bench: floor: %s: %s: %s\n", step, lanes[i].what,
				strerror(lanes[i].err));
			return -1;
		}
	return now() - start;
}

/* A userfaultfd with @mem registered for missing pages, or -1. */
static int uffd_over(uint8_t *mem, uint64_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)mem, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (uffd < 0)
		return -1;
	if (ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		close(uffd);
		return -1;
	}
	return uffd;
}

/* One round: both steps' times, or false. The files are unnamed
 * (O_TMPFILE): nothing is left behind whatever happens. */
static bool one_round(const char *parent, bool direct, uint64_t bytes, double *dump_s,
		      double *restore_s)
{
	struct lane lanes[LANES] = { 0 };
	uint64_t half = (bytes / LANES + 4095) & ~4095ull;
	uint8_t *mem = MAP_FAILED;
	bool ok = false;
	int uffd = -1;

	for (int i = 0; i < LANES; i++)
		lanes[i].fd = -1;
	for (int i = 0; i < LANES; i++) {
		lanes[i].buf = chunk_buffer();
		if (!lanes[i].buf) {
			fprintf(stderr, "bench: floor: no memory for a buffer\n");
			goto out;
		}
		lanes[i].fd = open(parent, O_TMPFILE | O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0),
				   0600);
		lanes[i].direct = direct;
		lanes[i].len = half;
		if (lanes[i].fd < 0) {
			fprintf(stderr, "bench: floor: cannot make a file in %s: %s\n", parent,
				strerror(errno));
			goto out;
		}
	}
	*dump_s = run_lanes(lanes, write_lane, "write");
	if (*dump_s < 0)
		goto out;
	mem = mmap(NULL, half * LANES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uffd = mem == MAP_FAILED ? -1 : uffd_over(mem, half * LANES);
	if (uffd < 0) {
		fprintf(stderr, "bench: floor: fresh memory with a userfaultfd: %s\n",
			strerror(errno));
		goto out;
	}
	for (int i = 0; i < LANES; i++) {
		lanes[i].dst = mem + i * half;
		lanes[i].uffd = uffd;
	}
	*restore_s = run_lanes(lanes, read_lane, "read");
	ok = *restore_s >= 0;
out:
	if (uffd >= 0)
		close(uffd);
	if (mem != MAP_FAILED)
		munmap(mem, half * LANES);
	for (int i = 0; i < LANES; i++) {
		if (lanes[i].fd >= 0)
			close(lanes[i].fd);
		if (lanes[i].buf)
			munmap(lanes[i].buf, CHUNK);
	}
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

bool floor_seconds(const char *parent, uint64_t bytes, int nr_runs, double *dump_s,
		   double *restore_s)
{
	double d[REFERENCE_MAX_RUNS], r[REFERENCE_MAX_RUNS];
	struct statfs st;
	bool direct;

	if (nr_runs > REFERENCE_MAX_RUNS)
		nr_runs = REFERENCE_MAX_RUNS;
	if (statfs(parent, &st)) {
		fprintf(stderr, "bench: floor: %s: %s\n", parent, strerror(errno));
		return false;
	}
	direct = (unsigned long)st.f_type != TMPFS_MAGIC;
	for (int i = 0; i < nr_runs; i++)
		if (!one_round(parent, direct, bytes, &d[i], &r[i]))
			return false;
	qsort(d, nr_runs, sizeof(d[0]), cmp_double);
	qsort(r, nr_runs, sizeof(r[0]), cmp_double);
	*dump_s = d[nr_runs / 2];
	*restore_s = r[nr_runs / 2];
	return true;
}
