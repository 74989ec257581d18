/* The filler: cryo copies every other segment of a large task's memory on
 * the second core while the task's restorer copies the rest (its half is
 * restorer/fill_copy.c). Owns which task gets it and cryo's copies; not the
 * digest: the restorer hashes every byte, cryo's too, from its memory. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "restore/filler.h"
#include "restore/restore.h"
#include "restorer/args.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* Below this, the report, the fd taken and the hash of cryo's half from
 * memory cost more than the second core saves (see Benchmarks). */
#define FILLER_MIN_BYTES (16ULL << 20)

static uint64_t task_pages_bytes(const struct restore_task *rt)
{
	return rt->pages ? restore_pages_bytes(rt->pages) : 0;
}

void restore_pick_filler(struct restore_set *rs)
{
	/* CRYO_TEST_FILLER: on whatever the size and the cores, for tests. */
	bool forced = getenv("CRYO_TEST_FILLER") != NULL;
	struct restore_task *largest = NULL;
	uint64_t most = 0;
	cpu_set_t cpus;

	if (rs->lazy_pages)
		return;
	if (!forced && (sched_getaffinity(0, sizeof(cpus), &cpus) || CPU_COUNT(&cpus) < 2))
		return;
	/* The tasks of a tree already fill on both cores at once: one filler,
	 * for the largest. */
	for (size_t i = 0; i < rs->tree.nr; i++) {
		uint64_t size = task_pages_bytes(&rs->tasks[i]);

		if (size > most) {
			most = size;
			largest = &rs->tasks[i];
		}
	}
	if (largest && (forced || most >= FILLER_MIN_BYTES))
		largest->filler = true;
}

/* A task that died, or failed and reports it, is the stage loop's to name;
 * @err is what the copy into it met. */
static bool task_gone(int pidfd, int err)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	/* ESRCH: its memory is torn down, so it is exiting, but the pidfd
	 * says so only once it has: wait for that (its own report of why
	 * comes first), rather than report the copy. */
	return poll(&p, 1, err == -ESRCH ? 1000 : 0) > 0;
}

int filler_copy_segment(int uffd, uint64_t dst, const char *src, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		struct uffdio_copy copy = {
			.dst = dst + done,
			.src = (uint64_t)(uintptr_t)(src + done),
			.len = len - done,
		};

		if (ioctl(uffd, UFFDIO_COPY, &copy) && errno != EAGAIN)
			return -errno;
		if (copy.copy <= 0)
			return copy.copy ? (int)copy.copy : -EAGAIN;
		done += (uint64_t)copy.copy;
	}
	return 0;
}

/* The table came from the task's memory: checked like an image. */
static bool fill_valid(const struct restore_task *rt, const struct restorer_fill *f,
		       const uint64_t *file_size)
{
	return f->file < rt->pages->nr_files && f->len <= file_size[f->file] &&
	       f->file_off <= file_size[f->file] - f->len &&
	       !((f->addr | f->file_off | f->len) % IMG_PAGE_SIZE);
}

/* cryo's segments of one shared fill, each mapped from the pages file only
 * while it is copied: cryo's resident memory stays small. */
static int copy_fill_mapped(const struct restore_task *rt, int uffd,
			    const struct restorer_fill *f, struct filler_progress *done)
{
	uint64_t end = f->file_off + f->len;
	int fd = rt->pages->pages_fd[f->file];

	for (uint64_t off = f->file_off, cut; off < end; off = cut) {
		void *src;
		int ret;

		cut = restorer_filler_segment_end(off, end);
		if (!restorer_filler_owns(off))
			continue;
		done->at = f->addr + (off - f->file_off);
		done->file = f->file;
		src = mmap(NULL, cut - off, PROT_READ, MAP_SHARED, fd, (off_t)off);
		if (src == MAP_FAILED)
			return -errno;
		/* A copy from a page not mapped yet takes the kernel's slow path. */
		ret = madvise(src, cut - off, MADV_POPULATE_READ) ? -errno :
			filler_copy_segment(uffd, done->at, src, cut - off);
		munmap(src, cut - off);
		if (ret)
			return ret;
		if (!done->bytes)
			done->first_off = off;
		done->bytes += cut - off;
	}
	return 0;
}

/* cryo's pieces of pages file @file, in its order, into *@out. */
static int list_pieces(const struct restorer_fill *fills, uint32_t nr_fills, uint32_t file,
		       struct filler_piece **out, size_t *nr)
{
	struct filler_piece *p = NULL;
	size_t n = 0, cap = 0;

	for (uint32_t i = 0; i < nr_fills; i++) {
		const struct restorer_fill *f = &fills[i];
		uint64_t end = f->file_off + f->len;

		if (!f->by_filler || f->file != file)
			continue;
		for (uint64_t off = f->file_off, cut; off < end; off = cut) {
			cut = restorer_filler_segment_end(off, end);
			if (!restorer_filler_owns(off))
				continue;
			if (n == cap) {
				struct filler_piece *grown;

				cap = cap ? 2 * cap : 256;
				grown = reallocarray(p, cap, sizeof(*p));
				if (!grown) {
					free(p);
					return -ENOMEM;
				}
				p = grown;
			}
			p[n++] = (struct filler_piece){ f->addr + (off - f->file_off), off,
							cut - off };
		}
	}
	*out = p;
	*nr = n;
	return 0;
}

/* cryo's part of pages file @file. One the restorer reads O_DIRECT (cold:
 * the task set the flag on the open file they share) is read O_DIRECT
 * ahead (filler_direct.c); a cached one through a mapping. */
static int copy_file(const struct restore_task *rt, int uffd, const struct restorer_fill *fills,
		     uint32_t nr_fills, uint32_t file, struct filler_progress *done)
{
	int flags = fcntl(rt->pages->pages_fd[file], F_GETFL);
	struct filler_piece *pieces;
	size_t nr;
	int ret;

	if (flags < 0)
		return -errno;
	if (!(flags & O_DIRECT)) {
		ret = 0;
		for (uint32_t i = 0; !ret && i < nr_fills; i++)
			if (fills[i].by_filler && fills[i].file == file)
				ret = copy_fill_mapped(rt, uffd, &fills[i], done);
		return ret;
	}
	ret = list_pieces(fills, nr_fills, file, &pieces, &nr);
	if (ret)
		return ret;
	done->file = file;
	ret = nr ? filler_copy_direct(rt->pages->pages_fd[file], uffd, pieces, nr, done) : 0;
	free(pieces);
	return ret;
}

int restore_filler_copy(const struct restore_task *rt, int pidfd, const struct restorer_report *r)
{
	_cleanup_close_ int uffd = -1;
	struct restorer_fill *fills;
	uint64_t file_size[PAGES_FILES_MAX] = { 0 };
	struct filler_progress done = { 0 };
	struct iovec local, remote;
	ssize_t n;
	int ret = 0;

	if (!rt->filler || !r->nr_fills || r->nr_fills > (64u << 20) / sizeof(*fills)) {
		pr_err("restore: pid %d: a filler report of %u fills, unasked for", rt->pid,
		       r->nr_fills);
		return -EPROTO;
	}
	for (uint32_t f = 0; f < rt->pages->nr_files; f++) {
		struct stat st;

		if (fstat(rt->pages->pages_fd[f], &st))
			return -errno;
		file_size[f] = (uint64_t)st.st_size;
	}
	fills = calloc(r->nr_fills, sizeof(*fills));
	if (!fills)
		return -ENOMEM;
	local = (struct iovec){ fills, r->nr_fills * sizeof(*fills) };
	remote = (struct iovec){ (void *)(uintptr_t)r->addr, local.iov_len };
	n = process_vm_readv(rt->host_pid, &local, 1, &remote, 1, 0);
	if (n != (ssize_t)local.iov_len)
		ret = n < 0 ? -errno : -EIO;
	if (!ret) {
		uffd = (int)syscall(SYS_pidfd_getfd, pidfd, r->uffd, 0);
		if (uffd < 0)
			ret = -errno;
	}
	for (uint32_t i = 0; !ret && i < r->nr_fills; i++)
		if (fills[i].by_filler && !fill_valid(rt, &fills[i], file_size))
			ret = -EPROTO;
	/* In the restorer's order, one pages file after the other, so that
	 * it never waits on a segment of cryo's while cryo copies ahead. */
	for (uint32_t f = 0; !ret && f < rt->pages->nr_files; f++)
		ret = copy_file(rt, uffd, fills, r->nr_fills, f, &done);
	free(fills);
	if (!ret)
		pr_debug("restore: pid %d: cryo's filler copied %llu bytes, the first at file "
			 "offset %#llx", rt->pid, (unsigned long long)done.bytes,
			 (unsigned long long)done.first_off);
	if (!ret || task_gone(pidfd, ret))
		return 0;
	pr_err("restore: pid %d: cryo's filler copying its memory at %#llx from %s: %s", rt->pid,
	       (unsigned long long)done.at, rt->pages->pages_path[done.file], strerror(-ret));
	return ret;
}
