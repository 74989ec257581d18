/* The filler: cryo copies every other segment of a large task's memory on
 * the second core while the task's restorer copies the rest (its half is
 * restorer/fill_copy.c). Owns which task gets it and cryo's copies; not the
 * digest: the restorer hashes every byte, cryo's too, from its memory. */
#include <errno.h>
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

/* A task that died, or failed and reports it, is the stage loop's to name. */
static bool task_gone(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* @len bytes at @dst from @src, waking the restorer if it waits there. */
static int copy_segment(int uffd, uint64_t dst, const char *src, uint64_t len)
{
	uint64_t done = 0;

	if (madvise((void *)src, len, MADV_POPULATE_READ))
		return -errno;
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

struct filler_progress {
	uint64_t bytes;		/* copied so far */
	uint64_t first_off;	/* in the pages file, of the first copied */
	uint64_t at;		/* the task's address being copied */
	uint32_t file;		/* from this pages file */
};

/* cryo's segments of one shared fill, each mapped from the pages file only
 * while it is copied: cryo's resident memory stays small. */
static int copy_fill(const struct restore_task *rt, int uffd, const struct restorer_fill *f,
		     const uint64_t *file_size, struct filler_progress *done)
{
	uint64_t end = f->file_off + f->len;

	/* The table came from the task's memory: checked like an image. */
	if (f->file >= rt->pages->nr_files || f->len > file_size[f->file] ||
	    f->file_off > file_size[f->file] - f->len ||
	    (f->addr | f->file_off | f->len) % IMG_PAGE_SIZE)
		return -EPROTO;
	for (uint64_t off = f->file_off, cut; off < end; off = cut) {
		void *src;
		int ret;

		cut = restorer_filler_segment_end(off, end);
		if (!restorer_filler_owns(off))
			continue;
		done->at = f->addr + (off - f->file_off);
		done->file = f->file;
		src = mmap(NULL, cut - off, PROT_READ, MAP_SHARED, rt->pages->pages_fd[f->file],
			   (off_t)off);
		if (src == MAP_FAILED)
			return -errno;
		ret = copy_segment(uffd, done->at, src, cut - off);
		munmap(src, cut - off);
		if (ret)
			return ret;
		if (!done->bytes)
			done->first_off = off;
		done->bytes += cut - off;
	}
	return 0;
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
	/* In the restorer's order, one pages file after the other, so that
	 * it never waits on a segment of cryo's while cryo copies ahead. */
	for (uint32_t f = 0; !ret && f < rt->pages->nr_files; f++)
		for (uint32_t i = 0; !ret && i < r->nr_fills; i++)
			if (fills[i].by_filler && fills[i].file == f)
				ret = copy_fill(rt, uffd, &fills[i], file_size, &done);
	for (uint32_t i = 0; !ret && i < r->nr_fills; i++)
		if (fills[i].by_filler && fills[i].file >= rt->pages->nr_files)
			ret = -EPROTO;
	free(fills);
	if (!ret)
		pr_debug("restore: pid %d: cryo's filler copied %llu bytes, the first at file "
			 "offset %#llx", rt->pid, (unsigned long long)done.bytes,
			 (unsigned long long)done.first_off);
	if (!ret || task_gone(pidfd))
		return 0;
	pr_err("restore: pid %d: cryo's filler copying its memory at %#llx from %s: %s", rt->pid,
	       (unsigned long long)done.at, rt->pages->pages_path[done.file], strerror(-ret));
	return ret;
}
