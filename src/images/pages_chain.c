/* A chain of image sets: the parents a set names (DIR/parent, its dump id
 * in the inventory), each checked as a whole set before any byte of it is
 * used, and a task's pages store made whole from them: one unnamed pages
 * file holding every present page in pagemap order, each copied from the
 * set that holds it (either pages file of a set of two), so that
 * everything past the load (the restorer, the
 * lazy server, copy-on-write sharing) sees one store as before. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/digest.h"
#include "images/pages_chain.h"
#include "images/proto/pagemap.pb-c.h"
#include "images/sign.h"

/* Where DIR/parent leads, as a path (relative links are DIR's). */
static char *parent_path(const struct image_dir *dir)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dir->fd, "parent", target, sizeof(target) - 1);
	char *path = NULL;

	if (n < 0)
		return NULL;
	target[n] = '\0';
	if (target[0] == '/')
		return strdup(target);
	return asprintf(&path, "%s/%s", dir->path, target) < 0 ? NULL : path;
}

/* The parent's inventory: the id @want, the tree of @root_pid, signed as
 * the child is; then every file of the set against its digest. */
static int check_parent(struct image_dir *parent, const uint8_t *want, int root_pid,
			const struct sign_key *key, uint8_t *next, bool *has_next)
{
	char a[33], b[33];
	struct image *img;
	const Inventory *inv;
	int ret;

	if (faccessat(parent->fd, "inventory.img", F_OK, 0)) {
		pr_err("restore: parent image set %s has no inventory.img: not a complete dump",
		       parent->path);
		return -ENOENT;
	}
	ret = image_read(parent, IMG_INVENTORY, 0, &img);
	if (ret)
		return ret;
	inv = (const Inventory *)img->records[0].msg;
	ret = image_set_check_signature(img->path, inv, key);
	if (!ret && (!inv->has_dump_id || inv->dump_id.len != IMG_DUMP_ID_SIZE ||
		     !img->has_dump_id || memcmp(img->dump_id, inv->dump_id.data, IMG_DUMP_ID_SIZE) ||
		     memcmp(inv->dump_id.data, want, IMG_DUMP_ID_SIZE))) {
		pr_err("restore: parent image set %s is dump %s, not %s, the parent its child "
		       "names: replaced or altered", parent->path,
		       inv->has_dump_id && inv->dump_id.len == IMG_DUMP_ID_SIZE ?
			       image_dump_id_text(inv->dump_id.data, a) : "(none)",
		       image_dump_id_text(want, b));
		ret = -EBADMSG;
	}
	if (!ret && inv->root_pid != root_pid) {
		pr_err("restore: parent image set %s is a dump of pid %d's tree, not of pid %d's",
		       parent->path, inv->root_pid, root_pid);
		ret = -EXDEV;
	}
	if (!ret) {
		memcpy(parent->dump_id, want, IMG_DUMP_ID_SIZE);
		parent->has_dump_id = true;
		ret = image_set_verify(parent, inv, NULL, 0);
		if (ret)
			pr_err("restore: parent image set %s: refused", parent->path);
	}
	*has_next = !ret && inv->has_parent_dump_id;
	if (*has_next && inv->parent_dump_id.len != IMG_DUMP_ID_SIZE) {
		pr_err("restore: %s: its parent's dump id is not %d bytes", img->path,
		       IMG_DUMP_ID_SIZE);
		ret = -EBADMSG;
	} else if (*has_next) {
		memcpy(next, inv->parent_dump_id.data, IMG_DUMP_ID_SIZE);
	}
	image_free(img);
	return ret;
}

int pages_chain_open(const struct image_dir *dir, const Inventory *inv,
		     const struct sign_key *key, struct pages_chain *out)
{
	const struct image_dir *child = dir;
	uint8_t want[IMG_DUMP_ID_SIZE];
	bool more = inv->has_parent_dump_id;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (more && inv->parent_dump_id.len != IMG_DUMP_ID_SIZE) {
		pr_err("restore: %s/inventory.img: its parent's dump id is not %d bytes", dir->path,
		       IMG_DUMP_ID_SIZE);
		return -EBADMSG;
	}
	if (more)
		memcpy(want, inv->parent_dump_id.data, IMG_DUMP_ID_SIZE);
	while (!ret && more) {
		_cleanup_free_ char *path = parent_path(child);
		struct image_dir *parent;

		if (out->nr == PAGES_CHAIN_MAX) {
			pr_err("restore: %s: a chain of more than %d parent image sets", dir->path,
			       PAGES_CHAIN_MAX);
			ret = -ELOOP;
			break;
		}
		if (!path) {
			pr_err("restore: %s names a parent image set, but %s/parent does not lead "
			       "to it: %s", child->path, child->path, strerror(errno));
			ret = -ENOENT;
			break;
		}
		ret = image_dir_open(path, &parent);
		if (ret) {
			pr_err("restore: %s/parent: the parent image set %s cannot be opened",
			       child->path, path);
			break;
		}
		out->dirs[out->nr++] = parent;
		ret = check_parent(parent, want, inv->root_pid, key, want, &more);
		child = parent;
	}
	if (ret)
		pages_chain_close(out);
	return ret;
}

void pages_chain_close(struct pages_chain *c)
{
	for (size_t i = 0; i < c->nr; i++)
		image_dir_close(c->dirs[i]);
	c->nr = 0;
}

/* The stores of one task along the chain, opened as needed. */
struct chain_readers {
	const struct pages_chain *c;
	int pid;
	struct pages_reader *r[PAGES_CHAIN_MAX];
	int out_fd;
	uint64_t out_off;
};

static int copy_bytes(struct chain_readers *cr, int in_fd, uint64_t off, uint64_t len)
{
	while (len) {
		loff_t in = (loff_t)off, o = (loff_t)cr->out_off;
		ssize_t n = copy_file_range(in_fd, &in, cr->out_fd, &o, len, 0);

		if (n <= 0) {
			char buf[1 << 16];

			/* Across filesystems older kernels refuse; read and write. */
			n = pread(in_fd, buf, len < sizeof(buf) ? len : sizeof(buf), (off_t)off);
			if (n > 0 && pwrite(cr->out_fd, buf, (size_t)n, (off_t)cr->out_off) != n)
				n = -1;
			if (n <= 0)
				return n ? pr_errno_ret("pid %d: cannot copy pages for restore",
							cr->pid) : -EIO;
		}
		off += (uint64_t)n;
		cr->out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* The entry of @pr's pagemap holding @vaddr, or NULL. */
static const PagemapEntry *entry_at(const struct pages_reader *pr, uint64_t vaddr)
{
	size_t lo = 0, hi = pr->pagemap->nr_records;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const PagemapEntry *e = (const PagemapEntry *)pr->pagemap->records[mid].msg;

		if (vaddr < e->vaddr)
			hi = mid;
		else if (vaddr >= e->vaddr + e->nr_pages * IMG_PAGE_SIZE)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

/* Copies pages [@vaddr, +@nr) from set @level of the chain, following it up
 * where that set left them in its own parent. */
static int copy_from_level(struct chain_readers *cr, size_t level, uint64_t vaddr, uint64_t nr)
{
	struct pages_reader *pr;
	int ret;

	if (level >= cr->c->nr) {
		pr_err("restore: pid %d: the page at 0x%llx is in a parent image set, and the "
		       "chain has no further parent", cr->pid, (unsigned long long)vaddr);
		return -EBADMSG;
	}
	if (!cr->r[level]) {
		ret = pages_reader_open(cr->c->dirs[level], cr->pid, &cr->r[level]);
		if (ret) {
			pr_err("restore: pid %d: its pages are in parent image set %s, which has "
			       "no pages store of it", cr->pid, cr->c->dirs[level]->path);
			return ret;
		}
	}
	pr = cr->r[level];
	while (nr) {
		const PagemapEntry *e = entry_at(pr, vaddr);
		uint64_t skip, span;

		if (!e || (e->state != PAGEMAP_ENTRY__STATE__PRESENT &&
			   e->state != PAGEMAP_ENTRY__STATE__IN_PARENT_IMAGE)) {
			pr_err("restore: pid %d: the page at 0x%llx is in parent image set %s, "
			       "which holds no such page", cr->pid, (unsigned long long)vaddr,
			       cr->c->dirs[level]->path);
			return -EBADMSG;
		}
		skip = (vaddr - e->vaddr) / IMG_PAGE_SIZE;
		span = e->nr_pages - skip < nr ? e->nr_pages - skip : nr;
		if (e->state == PAGEMAP_ENTRY__STATE__PRESENT)
			ret = copy_bytes(cr, pr->pages_fd[pages_entry_file(e)],
					 e->file_off + skip * IMG_PAGE_SIZE, span * IMG_PAGE_SIZE);
		else
			ret = copy_from_level(cr, level + 1, vaddr, span);
		if (ret)
			return ret;
		vaddr += span * IMG_PAGE_SIZE;
		nr -= span;
	}
	return 0;
}

static int unnamed_file(const struct image_dir *dir)
{
	int fd = openat(dir->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	/* A read-only image directory: in memory. */
	if (fd < 0)
		fd = memfd_create("cryo-pages", MFD_CLOEXEC);
	return fd;
}

int pages_chain_resolve(const struct pages_chain *c, const struct image_dir *dir,
			struct pages_reader *pr, int pid, bool *merged)
{
	struct chain_readers cr = { .c = c, .pid = pid, .out_fd = -1 };
	struct image *pm = pr->pagemap;
	bool any = false;
	int ret = 0;

	*merged = false;
	for (size_t i = 0; i < pm->nr_records && !any; i++)
		any = ((const PagemapEntry *)pm->records[i].msg)->state ==
		      PAGEMAP_ENTRY__STATE__IN_PARENT_IMAGE;
	if (!any)
		return 0;
	if (!c->nr) {
		image_error(pm->path, 0, "pages are in a parent image set, and the inventory "
			    "names none");
		return -EBADMSG;
	}
	cr.out_fd = unnamed_file(dir);
	if (cr.out_fd < 0)
		return pr_errno_ret("restore: pid %d: cannot make a file for its pages", pid);
	for (size_t i = 0; i < pm->nr_records && !ret; i++) {
		PagemapEntry *e = (PagemapEntry *)pm->records[i].msg;
		uint64_t at = cr.out_off;

		if (e->state == PAGEMAP_ENTRY__STATE__PRESENT)
			ret = copy_bytes(&cr, pr->pages_fd[pages_entry_file(e)], e->file_off,
					 e->nr_pages * IMG_PAGE_SIZE);
		else if (e->state == PAGEMAP_ENTRY__STATE__IN_PARENT_IMAGE)
			ret = copy_from_level(&cr, 0, e->vaddr, e->nr_pages);
		else
			continue;
		e->state = PAGEMAP_ENTRY__STATE__PRESENT;
		e->has_file_off = true;
		e->file_off = at;
		e->has_pages_file = false;
		e->pages_file = 0;
	}
	for (size_t l = 0; l < PAGES_CHAIN_MAX; l++)
		pages_reader_close(cr.r[l]);
	if (ret) {
		close(cr.out_fd);
		return ret;
	}
	/* One file now, whichever of the two each page was in. */
	for (uint32_t f = 0; f < PAGES_FILES_MAX; f++) {
		if (pr->pages_fd[f] >= 0)
			close(pr->pages_fd[f]);
		pr->pages_fd[f] = -1;
	}
	pr->pages_fd[0] = cr.out_fd;
	pr->nr_files = 1;
	*merged = true;
	return 0;
}
