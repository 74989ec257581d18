/* Unit tests of restore's plan for pages shared copy-on-write since fork
 * (restore/cow.c): an IN_PARENT page needs its parent's mapping of the same
 * start, end and kind with a saved page there, or the restore is refused
 * naming the process; an inherited mapping gets its parent's slot. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/image.h"
#include "images/pages.h"
#include "images/proto/pagemap.pb-c.h"
#include "restore/restore.h"

#define PS IMG_PAGE_SIZE
#define AREA 0x10000000ULL
#define PAGES 64
#define P PAGEMAP_ENTRY__STATE__PRESENT
#define IP PAGEMAP_ENTRY__STATE__IN_PARENT

struct range {
	uint64_t first, nr;	/* pages from AREA */
	int state;
};

/* One process: a private anonymous mapping of @vma_pages pages at AREA,
 * and its pagemap (present ranges backed by a pages file). */
struct proc {
	int parent;
	uint64_t vma_pages;
	struct range ranges[4];
	size_t nr_ranges;
};

static int write_pagemap(struct image_dir *dir, int pid, const struct proc *p)
{
	static unsigned char page[PS] = { 1 };
	struct pages_writer *pw;
	int ret = pages_writer_open(dir, pid, &pw);

	for (size_t i = 0; !ret && i < p->nr_ranges; i++) {
		const struct range *r = &p->ranges[i];

		for (uint64_t k = 0; !ret && r->state == P && k < r->nr; k++)
			ret = pages_write(pw, AREA + (r->first + k) * PS, 1, page);
		if (!ret && r->state == IP)
			ret = pages_write_in_parent(pw, AREA + r->first * PS, r->nr);
	}
	return ret ? (pages_writer_abort(pw), ret) : pages_writer_finish(pw);
}

static Mm *make_mm(uint64_t pages)
{
	Mm *mm = calloc(1, sizeof(*mm));
	Vma *v = calloc(1, sizeof(*v));

	mm__init(mm);
	vma__init(v);
	v->start = AREA;
	v->end = AREA + pages * PS;
	v->kind = VMA__KIND__ANON;
	v->prot = PROT_READ | PROT_WRITE;
	v->flags = MAP_PRIVATE | MAP_ANONYMOUS;
	mm->vmas = calloc(1, sizeof(*mm->vmas));
	mm->vmas[0] = v;
	mm->n_vmas = 1;
	return mm;
}

static void free_set(struct restore_set *rs)
{
	restore_cow_unplan(rs);
	for (size_t i = 0; i < rs->tree.nr; i++) {
		pages_reader_close(rs->tasks[i].pages);
		free(rs->tasks[i].mm->vmas[0]);
		free(rs->tasks[i].mm->vmas);
		free(rs->tasks[i].mm);
	}
	free(rs->tasks);
	free(rs->tree.tasks);
}

/* Plans processes @procs (pids 100, 101, ...); the error and, in *@msg,
 * what was logged. The set is left in @rs for the caller to look at. */
static int plan(const struct proc *procs, size_t n, struct restore_set *rs, char **msg)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct capture cap;
	int ret;

	*msg = NULL;
	memset(rs, 0, sizeof(*rs));
	if (!tmp || image_dir_create(tmp, &dir))
		return -ENOMEM;
	rs->tree.tasks = calloc(n, sizeof(*rs->tree.tasks));
	rs->tasks = calloc(n, sizeof(*rs->tasks));
	rs->tree.nr = n;
	for (size_t i = 0; i < n; i++) {
		int pid = 100 + (int)i;

		rs->tree.tasks[i] = (struct tree_task){ .pid = pid, .parent = procs[i].parent,
							.state = TREE_ALIVE };
		rs->tasks[i].pid = pid;
		rs->tasks[i].mm = make_mm(procs[i].vma_pages);
		if (write_pagemap(dir, pid, &procs[i]) ||
		    pages_reader_open(dir, pid, &rs->tasks[i].pages))
			return -EIO;
	}
	capture_begin(&cap, 2);
	ret = restore_cow_plan(rs);
	*msg = capture_end(&cap);
	return ret;
}

#define CHECK_REFUSED(procs, cause)                                                        \
	do {                                                                               \
		struct restore_set rs_;                                                    \
		_cleanup_free_ char *msg_ = NULL;                                          \
		int ret_ = plan(procs, ARRAY_SIZE(procs), &rs_, &msg_);                    \
                                                                                           \
		CHECK(ret_ == -EBADMSG && msg_ && strstr(msg_, cause),                     \
		      "want \"%s\", got %d: %s", cause, ret_, msg_ ? msg_ : "");           \
		CHECK(!rs_.cow_region, "a refused plan keeps a region");                   \
		free_set(&rs_);                                                            \
	} while (0)

TEST(an_inherited_mapping_takes_its_parents_slot_down_to_a_grandchild)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, P } }, 1 },
		{ 0, PAGES, { { 0, 5, IP }, { 5, 1, P }, { 6, PAGES - 6, IP } }, 3 },
		{ 1, PAGES, { { 0, 9, IP }, { 9, 1, P }, { 10, PAGES - 10, IP } }, 3 },
	};
	_cleanup_free_ char *msg = NULL;
	struct restore_set rs;
	int ret = plan(procs, ARRAY_SIZE(procs), &rs, &msg);

	CHECK(ret == 0, "refused: %d: %s", ret, msg ? msg : "");
	for (size_t i = 0; !ret && i < ARRAY_SIZE(procs); i++) {
		const struct restore_task *rt = &rs.tasks[i];

		CHECK(rt->nr_premaps == 1 && rt->premaps[0].vma == 0 &&
		      rt->premaps[0].inherited == (i > 0), "pid %d: %zu premaps, inherited %d",
		      rt->pid, rt->nr_premaps, rt->nr_premaps ? rt->premaps[0].inherited : -1);
		if (rt->nr_premaps)
			CHECK(rt->premaps[0].slot == rs.tasks[0].premaps[0].slot,
			      "pid %d: slot %#llx, not its parent's", rt->pid,
			      (unsigned long long)rt->premaps[0].slot);
	}
	CHECK(rs.cow_region && rs.cow_region_size >= PAGES * PS &&
	      (rs.cow_region >= AREA + PAGES * PS || rs.cow_region + rs.cow_region_size <= AREA),
	      "region %#llx (%llu bytes) overlaps the saved mapping",
	      (unsigned long long)rs.cow_region, (unsigned long long)rs.cow_region_size);
	CHECK(!ret && rs.tasks[0].premaps[0].slot >= rs.cow_region &&
	      rs.tasks[0].premaps[0].slot + PAGES * PS <= rs.cow_region + rs.cow_region_size,
	      "the slot is outside the region");
	free_set(&rs);
}

TEST(a_process_sharing_nothing_is_not_premapped)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, P } }, 1 },
		{ 0, PAGES, { { 0, PAGES, P } }, 1 },
	};
	_cleanup_free_ char *msg = NULL;
	struct restore_set rs;
	int ret = plan(procs, ARRAY_SIZE(procs), &rs, &msg);

	CHECK(ret == 0 && !rs.tasks[0].nr_premaps && !rs.tasks[1].nr_premaps && !rs.cow_region,
	      "got %d, %zu and %zu premaps, region %#llx", ret, rs.tasks[0].nr_premaps,
	      rs.tasks[1].nr_premaps, (unsigned long long)rs.cow_region);
	free_set(&rs);
}

TEST(in_parent_pages_without_a_parent_page_are_refused)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, 32, P } }, 1 },
		{ 0, PAGES, { { 0, PAGES, IP } }, 1 },
	};

	CHECK_REFUSED(procs, "pid 101: pages at 0x10000000-0x10040000 are its parent's "
			     "(IN_PARENT), but its parent 100 has no page saved there");
}

TEST(in_parent_pages_without_the_same_mapping_are_refused)
{
	static const struct proc procs[] = {
		{ -1, PAGES * 2, { { 0, PAGES, P } }, 1 },
		{ 0, PAGES, { { 0, PAGES, IP } }, 1 },
	};

	CHECK_REFUSED(procs, "pid 101: pages at 0x10000000 are its parent's (IN_PARENT), but its "
			     "parent 100 has no private anonymous mapping 0x10000000-0x10040000");
}

TEST(in_parent_pages_of_the_root_are_refused)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, IP } }, 1 },
	};

	CHECK_REFUSED(procs, "pid 100: pages at 0x10000000 are its parent's (IN_PARENT), and it "
			     "has no live parent in the dump");
}
