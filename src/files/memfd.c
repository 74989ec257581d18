/* The "memfd" kind: its name, size, mode, seals, huge page size (hugetlb)
 * and bytes. Restore makes a new memfd once per inode, fills it, then
 * seals it, and opens every object of the inode from it. */
#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "files/kind.h"
#include "mem/hugetlb.h"

#define MEMFD_PREFIX "/memfd:"
#define DELETED_SUFFIX " (deleted)"
/* memfd_create() names are at most NAME_MAX less "memfd:". */
#define MEMFD_NAME_MAX 249

static bool memfd_recognise(const struct fd_probe *p)
{
	size_t len = strlen(p->link), suffix = strlen(DELETED_SUFFIX);

	return S_ISREG(p->st.st_mode) && p->st.st_nlink == 0 &&
	       !strncmp(p->link, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) &&
	       len > strlen(MEMFD_PREFIX) + suffix && !strcmp(p->link + len - suffix, DELETED_SUFFIX);
}

static int memfd_dump(const struct file_dump *d)
{
	const struct fd_probe *p = d->p;
	size_t len = strlen(p->link) - strlen(MEMFD_PREFIX) - strlen(DELETED_SUFFIX);
	_cleanup_close_ int fd = -1;
	MemfdFile *m;
	struct statfs fs;
	int seals, ret;

	if (fstatfs(p->dup, &fs))
		return pr_errno_ret("dump: pid %d %s (%s): cannot statfs", p->pid, p->name,
				    p->link);
	seals = fcntl(p->dup, F_GET_SEALS);
	if (seals < 0)
		return pr_errno_ret("dump: pid %d %s (%s): cannot read its seals", p->pid, p->name,
				    p->link);
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	memfd_file__init(m);
	d->fe->memfd = m;
	m->name = strndup(p->link + strlen(MEMFD_PREFIX), len);
	if (!m->name)
		return -ENOMEM;
	m->size = p->st.st_size;
	m->mode = p->st.st_mode & 07777;
	m->seals = seals;
	/* hugetlbfs gives its page size as the block size. */
	if (fs.f_type == HUGETLBFS_MAGIC) {
		m->has_huge_page_size = true;
		m->huge_page_size = (uint64_t)fs.f_bsize;
	}
	/* The bytes are saved once, with the first open of the inode. */
	if (d->nr_same_inode) {
		d->fe->has_inode_of = true;
		d->fe->inode_of = d->same_inode[0]->id;
		return 0;
	}
	ret = probe_reopen(p, &fd);
	if (!ret)
		ret = contents_dump_file(d, fd, m->size, m->has_huge_page_size);
	return ret;
}

static int memfd_check(const struct image_dir *dir, struct files_image *img, struct file_obj *f)
{
	const MemfdFile *m = f->e->memfd;

	if (strlen(m->name) > MEMFD_NAME_MAX || strchr(m->name, '/')) {
		load_err(img, f, "'%s' is not a memfd name", m->name);
		return -EBADMSG;
	}
	if (m->size > INT64_MAX || m->mode > 07777) {
		load_err(img, f, "size %llu or mode %o is out of range",
			 (unsigned long long)m->size, m->mode);
		return -EBADMSG;
	}
	if (m->has_huge_page_size && !huge_page_size_valid(m->huge_page_size, m->size)) {
		load_err(img, f, "huge page size %llu is not a power of two from 64 KiB to 1 GiB "
			 "that divides its size %llu", (unsigned long long)m->huge_page_size,
			 (unsigned long long)m->size);
		return -EBADMSG;
	}
	if (f->inode == f && f->needed)
		return contents_load(dir, img, f, m->size, false);
	return 0;
}

/* Makes the inode: a new memfd with the saved bytes, mode and seals. */
static int memfd_create_inode(struct restore_ctx *r, const struct file_obj *first)
{
	const MemfdFile *m = first->e->memfd;
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd, seals, ret = 0;

	if (m->has_huge_page_size)
		flags |= MFD_HUGETLB | huge_page_size_flag(m->huge_page_size, MFD_HUGE_SHIFT);
	fd = memfd_create(m->name, flags);
	if (fd < 0) {
		ret = -errno;
		restore_err(r, first, "cannot create memfd '%s'%s: %s", m->name,
			    m->has_huge_page_size ? " (MFD_HUGETLB)" : "", strerror(-ret));
		return ret;
	}
	ret = m->has_huge_page_size ?
		      contents_restore_huge(r, first, fd, m->size, m->huge_page_size) :
		      contents_restore_file(r, first, fd, m->size);
	if (!ret && fchmod(fd, m->mode)) {
		ret = -errno;
		restore_err(r, first, "cannot set mode %o: %s", m->mode, strerror(errno));
	}
	/* Sealing comes last: F_SEAL_WRITE and F_SEAL_GROW would stop the
	 * filling. Without MFD_ALLOW_SEALING the saved seals are F_SEAL_SEAL. */
	if (!ret && m->seals && fcntl(fd, F_ADD_SEALS, m->seals)) {
		ret = -errno;
		restore_err(r, first, "cannot add seals %#x: %s", m->seals, strerror(errno));
	}
	seals = ret ? 0 : fcntl(fd, F_GET_SEALS);
	if (!ret && seals != (int)m->seals) {
		restore_err(r, first, "has seals %#x after restore, not the saved %#x", seals,
			    m->seals);
		ret = -EIO;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return restore_add_inode(r, first, fd, -1);
}

/* A memfd may be mapped past its end, as any file. */
static uint64_t memfd_mapped_limit(const FileEntry *e)
{
	(void)e;
	return UINT64_MAX;
}

static uint64_t memfd_huge_page_size(const FileEntry *e)
{
	return e->memfd->has_huge_page_size ? e->memfd->huge_page_size : 0;
}

const struct file_kind memfd_kind = {
	.name = "memfd",
	.type = FILE_ENTRY__KIND__MEMFD,
	.in_flight_ok = true,
	.recognise = memfd_recognise,
	.dump = memfd_dump,
	.check = memfd_check,
	.make_inode = memfd_create_inode,
	.mapped_limit = memfd_mapped_limit,
	.huge_page_size = memfd_huge_page_size,
	.inode_shared = true,
	.seekable = true,
};
