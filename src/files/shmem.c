/* The "shmem" kind: shared anonymous memory, the object that
 * mmap(MAP_SHARED | MAP_ANONYMOUS) makes and fork shares with children
 * ("/dev/zero (deleted)" in /proc/PID/maps). It has no fd of its own, only
 * mappings: dump saves its size and the bytes of the parts any process of
 * the dump maps, once per object. Restore makes the object the same way
 * (a shared anonymous mmap of its size), takes an fd of it through
 * /proc/self/map_files, fills it and lets the mapping go; every process
 * then maps that one object, at its own addresses and offsets. With
 * MAP_HUGETLB it is a file of the kernel's hugetlbfs mount of its page
 * size ("/anon_hugepage (deleted)"), made and filled the same way but
 * through mappings (hugetlbfs has no write()). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "mem/hugetlb.h"

#define SHMEM_LINK "/dev/zero (deleted)"
#define HUGE_LINK "/anon_hugepage (deleted)"
#define PAGE 4096u

/* The device of the kernel's internal shmem mount, which every shared
 * anonymous object lives on: learnt once from an object of our own. */
static int shmem_dev(dev_t *out)
{
	static dev_t dev;
	static bool known;
	char path[96];
	struct stat st;
	void *mem;
	int ret = 0;

	if (known) {
		*out = dev;
		return 0;
	}
	mem = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)mem,
		 (unsigned long)mem + PAGE);
	if (stat(path, &st))
		ret = -errno;
	munmap(mem, PAGE);
	if (ret)
		return ret;
	dev = st.st_dev;
	known = true;
	*out = dev;
	return 0;
}

static bool shmem_recognise(const struct fd_probe *p)
{
	dev_t dev = 0;

	if (!S_ISREG(p->st.st_mode) || p->st.st_nlink)
		return false;
	if (!strcmp(p->link, HUGE_LINK))
		return hugetlbfs_page_size(p->dup) != 0;
	return !strcmp(p->link, SHMEM_LINK) && !shmem_dev(&dev) && p->st.st_dev == dev;
}

/* The processes whose mappings count: those of the dump, and the task. */
static pid_t *mapping_pids(const struct file_dump *d, size_t *nr)
{
	const pid_t *dumped;
	size_t n = file_dump_pids(d, &dumped);
	pid_t *pids = malloc((n + 1) * sizeof(*pids));
	bool has_task = false;

	if (!pids)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		pids[i] = dumped[i];
		has_task |= dumped[i] == d->p->pid;
	}
	if (!has_task)
		pids[n++] = d->p->pid;
	*nr = n;
	return pids;
}

static int shmem_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	_cleanup_free_ struct byte_range *ranges = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_close_ int fd = -1;
	size_t nr_pids, nr_ranges;
	ShmemFile *s;
	int ret;

	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	shmem_file__init(s);
	d->fe->shmem = s;
	s->size = p->st.st_size;
	s->huge_page_size = hugetlbfs_page_size(p->dup);
	s->has_huge_page_size = s->huge_page_size != 0;
	if (d->nr_same_inode) {
		d->fe->has_inode_of = true;
		d->fe->inode_of = d->same_inode[0]->id;
		return 0;
	}
	/* Pages of the object that no process maps can never be reached
	 * again: only what some process maps is saved. */
	pids = mapping_pids(d, &nr_pids);
	if (!pids)
		return -ENOMEM;
	ret = mapped_ranges_of(pids, nr_pids, p->st.st_dev, p->st.st_ino, s->size, &ranges,
			       &nr_ranges);
	if (ret == -ENOMEM)
		pr_fd_err(p, "out of memory for the mapped parts of the object");
	if (!ret)
		ret = probe_reopen(p, &fd);
	if (!ret && s->has_huge_page_size)
		ret = contents_dump_huge(d, fd, ranges, nr_ranges);
	else if (!ret)
		ret = contents_dump_ranges(d, fd, ranges, nr_ranges);
	return ret;
}

static int shmem_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const ShmemFile *s = f->e->shmem;

	if (!s->size || s->size % PAGE || s->size > INT64_MAX) {
		load_err(img, f, "size %" PRIu64 " is not a whole number of pages", s->size);
		return -EBADMSG;
	}
	if (s->has_huge_page_size && !huge_page_size_valid(s->huge_page_size, s->size)) {
		load_err(img, f, "huge page size %" PRIu64 " is not a power of two from 64 KiB "
			 "to 1 GiB that divides its size %" PRIu64, s->huge_page_size, s->size);
		return -EBADMSG;
	}
	if (f->inode != f && f->inode->e->shmem->huge_page_size != s->huge_page_size) {
		load_err(img, f, "huge page size differs from that of file %u, its inode",
			 f->inode->e->id);
		return -EBADMSG;
	}
	if (f->inode != f && f->inode->e->shmem->size != s->size) {
		load_err(img, f, "size %" PRIu64 " differs from that of file %u, its inode",
			 s->size, f->inode->e->id);
		return -EBADMSG;
	}
	if (f->inode == f && f->needed)
		return contents_load(dir, img, f, s->size, false);
	return 0;
}

/* Makes the object as the original was made, so that /proc/PID/maps names
 * it the same; the mapping is only a way to reach it. */
static int shmem_create_inode(struct restore_ctx *r, const struct file_obj *first)
{
	const ShmemFile *s = first->e->shmem;
	uint64_t size = s->size;
	int flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE;
	char path[96];
	void *mem;
	int fd, ret;

	/* MAP_NORESERVE: an object that is mostly holes need not be charged
	 * in full before it is filled (nor huge pages reserved: the fill and
	 * the processes' mappings reserve what they map). */
	if (s->has_huge_page_size)
		flags |= MAP_HUGETLB | (int)huge_page_size_flag(s->huge_page_size, MAP_HUGE_SHIFT);
	mem = mmap(NULL, size, PROT_NONE, flags, -1, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		restore_err(r, first,
			    "cannot make shared anonymous memory of %" PRIu64 " bytes%s: %s", size,
			    s->has_huge_page_size ? " (MAP_HUGETLB)" : "", strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)mem,
		 (unsigned long)mem + size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	if (ret)
		restore_err(r, first, "cannot open it through %s: %s", path, strerror(-ret));
	munmap(mem, size);
	if (!ret && s->has_huge_page_size)
		ret = contents_restore_huge(r, first, fd, size, s->huge_page_size);
	else if (!ret)
		ret = contents_restore_file(r, first, fd, size);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return restore_add_inode(r, first, fd, -1);
}

/* Shared anonymous memory is never mapped past its end. */
static uint64_t shmem_mapped_limit(const FileEntry *e)
{
	return e->shmem->size;
}

static uint64_t shmem_huge_page_size(const FileEntry *e)
{
	return e->shmem->huge_page_size;
}

const struct file_kind shmem_kind = {
	.name = "shmem",
	.type = FILE_ENTRY__KIND__SHMEM,
	.recognise = shmem_recognise,
	.dump = shmem_dump,
	.check = shmem_check,
	.make_inode = shmem_create_inode,
	.mapped_limit = shmem_mapped_limit,
	.huge_page_size = shmem_huge_page_size,
	.inode_shared = true,
	.seekable = true,
};
