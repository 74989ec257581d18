/* Negative tests of pages shared copy-on-write since fork (IN_PARENT): a
 * prog_cow_shared image whose pagemaps are rewritten, checksums put right,
 * so that a page a process has from its parent is saved by no one else:
 * restore refuses it, naming the process and its parent, and leaves
 * nothing behind. The plan's other refusals are test_cow_plan's (unit). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cryo_driver.h"
#include "harness.h"
#include "image_util.h"
#include "images/crc32c.h"
#include "images/format.h"
#include "runner_util.h"

#define PS 4096ULL
#define IN_PARENT 3
#define MAX_ENTRIES 4096

/* A PagemapEntry: vaddr, nr_pages, state, file_off, parent_vaddr,
 * sibling (fields 1-6). */
#define NR_FIELDS 6
struct entry {
	uint64_t f[NR_FIELDS + 1];
	bool has[NR_FIELDS + 1];
};

struct pagemap {
	uint8_t hdr[IMG_HDR_SIZE];
	struct entry e[MAX_ENTRIES];
	size_t n;
};

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		out[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	return n;
}

static bool read_pagemap(const char *path, struct pagemap *pm)
{
	static uint8_t buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t size = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	size_t off = IMG_HDR_SIZE;

	if (fd >= 0)
		close(fd);
	if (size < IMG_HDR_SIZE || size == (ssize_t)sizeof(buf))
		return fail_why("cannot read %s", path);
	memcpy(pm->hdr, buf, IMG_HDR_SIZE);
	for (pm->n = 0; off + IMG_REC_HDR_SIZE <= (size_t)size && pm->n < MAX_ENTRIES;) {
		uint32_t len = get_le32(buf + off);
		const uint8_t *p = buf + off + IMG_REC_HDR_SIZE, *end = p + len;
		struct entry *e = &pm->e[pm->n++];

		if (len == IMG_END_MARK)
			return --pm->n, true;
		memset(e, 0, sizeof(*e));
		while (p < end) {
			uint64_t key, v;

			if (!get_varint(&p, end, &key) || (key & 7) || key >> 3 > NR_FIELDS ||
			    !get_varint(&p, end, &v))
				return fail_why("%s: a record this test cannot read", path);
			e->f[key >> 3] = v;
			e->has[key >> 3] = true;
		}
		off += IMG_REC_HDR_SIZE + len;
	}
	return fail_why("%s has no trailer", path);
}

static bool write_pagemap(const char *path, const struct pagemap *pm)
{
	static uint8_t buf[1 << 20];
	size_t off = IMG_HDR_SIZE;
	int fd;
	bool ok;

	memcpy(buf, pm->hdr, IMG_HDR_SIZE);
	for (size_t i = 0; i < pm->n; i++) {
		uint8_t *rec = buf + off + IMG_REC_HDR_SIZE;
		size_t len = 0;

		for (int k = 1; k <= NR_FIELDS; k++) {
			if (!pm->e[i].has[k])
				continue;
			len += put_varint(rec + len, (uint64_t)k << 3);
			len += put_varint(rec + len, pm->e[i].f[k]);
		}
		put_le32(buf + off, (uint32_t)len);
		put_le32(buf + off + 4, crc32c(crc32c(0, buf + off, 4), rec, len));
		off += IMG_REC_HDR_SIZE + len;
	}
	put_le32(buf + off, IMG_END_MARK);
	put_le32(buf + off + 4, (uint32_t)pm->n);
	off += IMG_TRAILER_SIZE;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ok = fd >= 0 && write(fd, buf, off) == (ssize_t)off;
	if (fd >= 0)
		close(fd);
	return ok ? true : fail_why("cannot write %s", path);
}

/* Cuts page @addr out of every range of @pm: its own pages no longer
 * include it, whether saved or its parent's. */
static bool cut_page(struct pagemap *pm, uint64_t addr)
{
	for (size_t i = 0; i < pm->n; i++) {
		struct entry *e = &pm->e[i];
		uint64_t first = e->f[1], pages = e->f[2], k = (addr - first) / PS;
		struct entry after = *e;

		if (addr < first || addr >= first + pages * PS)
			continue;
		if (pm->n == MAX_ENTRIES)
			return fail_why("too many ranges");
		memmove(&pm->e[i + 2], &pm->e[i + 1], (pm->n - i - 1) * sizeof(*e));
		pm->n++;
		after.f[1] = addr + PS;
		after.f[2] = pages - k - 1;
		if (after.has[4])
			after.f[4] += (k + 1) * PS;
		if (after.has[5])
			after.f[5] += (k + 1) * PS;
		e->f[2] = k;
		pm->e[i + 1] = after;
		/* A range left empty goes. */
		for (size_t j = i + 2; j-- > i;) {
			if (pm->e[j].f[2])
				continue;
			memmove(&pm->e[j], &pm->e[j + 1], (pm->n - j - 1) * sizeof(*e));
			pm->n--;
		}
		return true;
	}
	return true;
}

/* Cuts out of @pm the page that is its parent's page @addr elsewhere (a
 * child that moved the mapping). */
static bool cut_moved_page(struct pagemap *pm, uint64_t addr)
{
	for (size_t i = 0; i < pm->n; i++) {
		const struct entry *e = &pm->e[i];

		if (e->f[3] == IN_PARENT && e->has[5] && addr >= e->f[5] &&
		    addr < e->f[5] + e->f[2] * PS)
			return cut_page(pm, e->f[1] + (addr - e->f[5]));
	}
	return true;
}

/* The first IN_PARENT page of any pagemap of @dir at its parent's address,
 * and whose it is. */
static bool find_in_parent(const char *dir, char owner[64], uint64_t *addr)
{
	static struct pagemap pm;
	char names[64][64], path[PATH_MAX];
	int n = list_images(dir, names, 64);

	for (int i = 0; i < n; i++) {
		if (strncmp(names[i], "pagemap-", 8))
			continue;
		pathf(path, "%s/%s", dir, names[i]);
		if (!read_pagemap(path, &pm))
			return false;
		for (size_t k = 0; k < pm.n; k++) {
			if (pm.e[k].f[3] != IN_PARENT || pm.e[k].has[5])
				continue;
			memcpy(owner, names[i], 64);
			*addr = pm.e[k].f[1];
			return true;
		}
	}
	return fail_why("no pagemap of %s has an IN_PARENT range", dir);
}

/* The dump killed the tree: its child and grandchild came to this runner
 * (a subreaper) and are reaped here, before anything counts what is left. */
static void reap_orphans(void)
{
	for (int tries = 0; tries < 200; tries++) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0)
			return;
		if (pid == 0)
			usleep(10000);
	}
}

TEST(restore_of_a_page_shared_with_a_parent_that_saved_none_is_refused)
{
	static struct pagemap pm;
	char img[PATH_MAX], copy[PATH_MAX], path[PATH_MAX], owner[64], names[64][64];
	char key[64];
	struct prog p = { 0 };
	uint64_t addr = 0;
	pid_t image_pid;
	int n;

	CHECK_GOTO(make_image(&p, "prog_cow_shared", img, &image_pid), out, "%s", why);
	reap_orphans();
	pathf(copy, "%s/copy", p.dir);
	CHECK_GOTO(copy_images(img, copy), out, "%s", why);
	CHECK_GOTO(find_in_parent(copy, owner, &addr), out, "%s", why);
	n = list_images(copy, names, 64);
	for (int i = 0; i < n; i++) {
		if (strncmp(names[i], "pagemap-", 8) || !strcmp(names[i], owner))
			continue;
		pathf(path, "%s/%s", copy, names[i]);
		CHECK_GOTO(read_pagemap(path, &pm) && cut_page(&pm, addr) &&
			   cut_moved_page(&pm, addr) && write_pagemap(path, &pm), out, "%s", why);
	}
	snprintf(key, sizeof(key), "pid %d: pages at 0x%llx-", atoi(owner + 8),
		 (unsigned long long)addr);
	CHECK_GOTO(restore_refused(&p, copy, image_pid, "a page no parent saved", key,
				   "are its parent's (IN_PARENT), but its parent"), out, "%s", why);
out:
	end_prog(&p);
}
