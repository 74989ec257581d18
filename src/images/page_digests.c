/* pagedigest-PID.img: its check, its reading into a sorted table and its
 * writing in runs of consecutive pages (a record of up to 4096 pages).
 * What the digests are compared with is the caller's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "images/kinds.h"
#include "images/page_digests.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"

#define RUN_MAX_PAGES 4096u

int page_digests_check(const struct image *img, const struct image_dir *dir, int id)
{
	uint64_t end = 0;

	(void)dir;
	(void)id;
	for (size_t i = 0; i < img->nr_records; i++) {
		const PageDigests *r = (const PageDigests *)img->records[i].msg;
		uint64_t pages = r->xxh3_128.len / PAGE_DIGEST_SIZE;

		if (r->vaddr % IMG_PAGE_SIZE || !pages || r->xxh3_128.len % PAGE_DIGEST_SIZE ||
		    pages > RUN_MAX_PAGES || r->vaddr > UINT64_MAX - pages * IMG_PAGE_SIZE ||
		    (i && r->vaddr < end)) {
			image_error(img->path, img->records[i].offset,
				    "digests at 0x%llx: unaligned, out of order, or not whole "
				    "16-byte digests of up to %u pages", (unsigned long long)r->vaddr,
				    RUN_MAX_PAGES);
			return -EBADMSG;
		}
		end = r->vaddr + pages * IMG_PAGE_SIZE;
	}
	return 0;
}

int page_digests_load(const struct image_dir *dir, int pid, struct page_digests *out)
{
	struct image *img;
	char name[64];
	size_t n = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	image_file_name(IMG_PAGE_DIGESTS, pid, name, sizeof(name));
	if (faccessat(dir->fd, name, F_OK, AT_SYMLINK_NOFOLLOW))
		return -ENOENT;
	ret = image_read(dir, IMG_PAGE_DIGESTS, pid, &img);
	if (ret)
		return ret;
	for (size_t i = 0; i < img->nr_records; i++)
		n += ((const PageDigests *)img->records[i].msg)->xxh3_128.len / PAGE_DIGEST_SIZE;
	out->vaddr = calloc(n ? n : 1, sizeof(*out->vaddr));
	out->digest = calloc(n ? n : 1, sizeof(*out->digest));
	if (!out->vaddr || !out->digest) {
		image_free(img);
		page_digests_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < img->nr_records; i++) {
		const PageDigests *r = (const PageDigests *)img->records[i].msg;
		size_t pages = r->xxh3_128.len / PAGE_DIGEST_SIZE;

		memcpy(out->digest + out->nr, r->xxh3_128.data, r->xxh3_128.len);
		for (size_t p = 0; p < pages; p++)
			out->vaddr[out->nr++] = r->vaddr + p * IMG_PAGE_SIZE;
	}
	image_free(img);
	return 0;
}

const uint8_t *page_digests_find(const struct page_digests *pd, uint64_t vaddr, size_t *cursor)
{
	size_t lo = *cursor, hi = pd->nr;

	/* Ascending lookups: the next entry is most often the one. */
	if (lo < pd->nr && pd->vaddr[lo] == vaddr) {
		*cursor = lo + 1;
		return pd->digest[lo];
	}
	if (lo >= pd->nr || pd->vaddr[lo] > vaddr)
		lo = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pd->vaddr[mid] < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	*cursor = lo;
	if (lo < pd->nr && pd->vaddr[lo] == vaddr) {
		*cursor = lo + 1;
		return pd->digest[lo];
	}
	return NULL;
}

void page_digests_free(struct page_digests *pd)
{
	free(pd->vaddr);
	free(pd->digest);
	memset(pd, 0, sizeof(*pd));
}

struct page_digests_writer {
	struct image_writer *w;
	uint64_t start;		/* the run's first page */
	uint32_t pages;
	uint8_t run[RUN_MAX_PAGES][PAGE_DIGEST_SIZE];
};

int page_digests_writer_open(struct image_dir *dir, int pid, struct page_digests_writer **out)
{
	struct page_digests_writer *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	ret = image_open_write(dir, IMG_PAGE_DIGESTS, pid, &w->w);
	if (ret) {
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

static int put_run(struct page_digests_writer *w)
{
	PageDigests r = PAGE_DIGESTS__INIT;

	if (!w->pages)
		return 0;
	r.vaddr = w->start;
	r.xxh3_128.data = (uint8_t *)w->run;
	r.xxh3_128.len = (size_t)w->pages * PAGE_DIGEST_SIZE;
	w->pages = 0;
	return image_write_record(w->w, &r.base);
}

int page_digests_add(struct page_digests_writer *w, uint64_t vaddr,
		     const uint8_t digest[PAGE_DIGEST_SIZE])
{
	int ret;

	if (w->pages && (w->pages == RUN_MAX_PAGES ||
			 w->start + (uint64_t)w->pages * IMG_PAGE_SIZE != vaddr)) {
		ret = put_run(w);
		if (ret)
			return ret;
	}
	if (!w->pages)
		w->start = vaddr;
	memcpy(w->run[w->pages++], digest, PAGE_DIGEST_SIZE);
	return 0;
}

int page_digests_writer_finish(struct page_digests_writer *w)
{
	int ret = put_run(w);

	if (ret)
		image_abort(w->w);
	else
		ret = image_finish(w->w);
	free(w);
	return ret;
}

void page_digests_writer_abort(struct page_digests_writer *w)
{
	if (!w)
		return;
	image_abort(w->w);
	free(w);
}
