/* Unit tests of restore's plan for pages shared copy-on-write since fork
 * (restore/cow_plan.c): an IN_PARENT page needs a private mapping of its
 * parent's of the same kind (anonymous, or the same file at the same
 * offset) with a saved page there, or the restore is refused naming the
 * process; an inherited piece takes the parent's slot at the parent's
 * address, also where the child moved or cut the mapping; pages only
 * siblings share are held by their parent, and taken from it by each. */
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
	int64_t shift;		/* IN_PARENT: the parent's pages are @shift pages on */
	int sibling;		/* IN_PARENT: the sibling's (index) instead; 0: none */
};

/* One process: a private anonymous mapping of @vma_pages pages at AREA +
 * @vma_first pages (two mappings, cut @cut pages in, when @cut is not 0),
 * and its pagemap (present ranges backed by a pages file). */
struct proc {
	int parent;
	uint64_t vma_pages;
	struct range ranges[4];
	size_t nr_ranges;
	uint64_t vma_first;
	uint64_t cut;
};

/* Where a process's mapping is a private mapping of a file instead: the
 * file, and the page of it mapped at the mapping's start. */
struct file_map {
	const char *path;
	uint64_t page;
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
			ret = pages_write_in_parent(pw, AREA + r->first * PS, r->nr,
						    AREA + (uint64_t)((int64_t)r->first + r->shift) * PS,
						    r->sibling ? 100 + (uint32_t)r->sibling : 0);
	}
	return ret ? (pages_writer_abort(pw), ret) : pages_writer_finish(pw);
}

static Vma *make_vma(uint64_t first, uint64_t pages, const struct proc *p,
		    const struct file_map *f)
{
	Vma *v = calloc(1, sizeof(*v));

	vma__init(v);
	v->start = AREA + first * PS;
	v->end = v->start + pages * PS;
	v->kind = VMA__KIND__ANON;
	v->prot = PROT_READ | PROT_WRITE;
	v->flags = MAP_PRIVATE | MAP_ANONYMOUS;
	if (f && f->path) {
		v->kind = VMA__KIND__FILE;
		v->flags = MAP_PRIVATE;
		v->file_path = (char *)f->path;
		v->has_pgoff = v->has_file_ino = true;
		v->pgoff = (f->page + first - p->vma_first) * PS;
		v->file_ino = 77;
	}
	return v;
}

static Mm *make_mm(const struct proc *p, const struct file_map *f)
{
	Mm *mm = calloc(1, sizeof(*mm));

	mm__init(mm);
	mm->vmas = calloc(2, sizeof(*mm->vmas));
	if (p->cut) {
		mm->vmas[mm->n_vmas++] = make_vma(p->vma_first, p->cut, p, f);
		mm->vmas[mm->n_vmas++] = make_vma(p->vma_first + p->cut, p->vma_pages - p->cut, p,
						  f);
	} else {
		mm->vmas[mm->n_vmas++] = make_vma(p->vma_first, p->vma_pages, p, f);
	}
	return mm;
}

static void free_set(struct restore_set *rs)
{
	restore_cow_unplan(rs);
	for (size_t i = 0; i < rs->tree.nr; i++) {
		pages_reader_close(rs->tasks[i].pages);
		for (size_t j = 0; j < rs->tasks[i].mm->n_vmas; j++)
			free(rs->tasks[i].mm->vmas[j]);
		free(rs->tasks[i].mm->vmas);
		free(rs->tasks[i].mm);
	}
	free(rs->tasks);
	free(rs->tree.tasks);
}

/* Plans processes @procs (pids 100, 101, ...), whose mappings map
 * @files[i] where given; the error and, in *@msg, what was logged. The set
 * is left in @rs for the caller to look at. */
static int plan_files(const struct proc *procs, const struct file_map *files, size_t n,
		      struct restore_set *rs, char **msg)
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
		rs->tasks[i].mm = make_mm(&procs[i], files ? &files[i] : NULL);
		if (write_pagemap(dir, pid, &procs[i]) ||
		    pages_reader_open(dir, pid, &rs->tasks[i].pages))
			return -EIO;
	}
	capture_begin(&cap, 2);
	ret = restore_cow_plan(rs);
	*msg = capture_end(&cap);
	return ret;
}

static int plan(const struct proc *procs, size_t n, struct restore_set *rs, char **msg)
{
	return plan_files(procs, NULL, n, rs, msg);
}

#define CHECK_REFUSED(procs, cause) CHECK_REFUSED_FILES(procs, NULL, cause)
#define CHECK_REFUSED_FILES(procs, files, cause)                                           \
	do {                                                                               \
		struct restore_set rs_;                                                    \
		_cleanup_free_ char *msg_ = NULL;                                          \
		int ret_ = plan_files(procs, files, ARRAY_SIZE(procs), &rs_, &msg_);       \
                                                                                           \
		CHECK(ret_ == -EBADMSG && msg_ && strstr(msg_, cause),                     \
		      "want \"%s\", got %d: %s", cause, ret_, msg_ ? msg_ : "");           \
		CHECK(!rs_.cow_region, "a refused plan keeps a region");                   \
		free_set(&rs_);                                                            \
	} while (0)

/* Process @i's premap has the pieces @want (slots relative to the parent's
 * first piece, ~0: its own memory). */
struct want_piece {
	uint64_t first, end;	/* pages from AREA */
	uint64_t slot_page;	/* pages from the root's slot; ~0: not inherited */
};

static void check_pieces(const struct restore_set *rs, size_t i, const struct want_piece *want,
			 size_t n)
{
	const struct restore_task *rt = &rs->tasks[i];
	uint64_t base = rs->tasks[0].nr_premaps ? rs->tasks[0].premaps[0].pieces[0].slot : 0;

	CHECK(rt->nr_premaps == 1 && rt->premaps[0].vma == 0 && rt->premaps[0].nr_pieces == n,
	      "pid %d: %zu premaps, %u pieces, want 1 and %zu", rt->pid, rt->nr_premaps,
	      rt->nr_premaps ? rt->premaps[0].nr_pieces : 0, n);
	for (size_t q = 0; rt->nr_premaps == 1 && q < n && q < rt->premaps[0].nr_pieces; q++) {
		const struct cow_piece *pc = &rt->premaps[0].pieces[q];
		bool inherited = want[q].slot_page != ~0ULL;

		CHECK(pc->start == AREA + want[q].first * PS && pc->end == AREA + want[q].end * PS &&
		      pc->inherited == inherited &&
		      (!inherited || pc->slot == base + want[q].slot_page * PS),
		      "pid %d piece %zu: 0x%llx-0x%llx at 0x%llx (inherited %d), want page %llu "
		      "to %llu at root slot page %lld", rt->pid, q, (unsigned long long)pc->start,
		      (unsigned long long)pc->end, (unsigned long long)pc->slot, pc->inherited,
		      (unsigned long long)want[q].first, (unsigned long long)want[q].end,
		      (long long)want[q].slot_page);
		CHECK(pc->slot >= rs->cow_region &&
		      pc->slot + (pc->end - pc->start) <= rs->cow_region + rs->cow_region_size,
		      "pid %d piece %zu is outside the region", rt->pid, q);
	}
}

TEST(an_inherited_mapping_takes_its_parents_slot_down_to_a_grandchild)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 5, IP, 0, 0 }, { 5, 1, P, 0, 0 }, { 6, PAGES - 6, IP, 0, 0 } }, 3, 0,
		  0 },
		{ 1, PAGES, { { 0, 9, IP, 0, 0 }, { 9, 1, P, 0, 0 }, { 10, PAGES - 10, IP, 0, 0 } }, 3,
		  0, 0 },
	};
	static const struct want_piece inherited[] = { { 0, PAGES, 0 } };
	_cleanup_free_ char *msg = NULL;
	struct restore_set rs;
	int ret = plan(procs, ARRAY_SIZE(procs), &rs, &msg);

	CHECK(ret == 0, "refused: %d: %s", ret, msg ? msg : "");
	for (size_t i = 1; !ret && i < ARRAY_SIZE(procs); i++)
		check_pieces(&rs, i, inherited, 1);
	CHECK(!ret && !rs.tasks[0].premaps[0].pieces[0].inherited, "the root's piece is inherited");
	CHECK(rs.cow_region && rs.cow_region_size >= PAGES * PS &&
	      (rs.cow_region >= AREA + PAGES * PS || rs.cow_region + rs.cow_region_size <= AREA),
	      "region %#llx (%llu bytes) overlaps the saved mapping",
	      (unsigned long long)rs.cow_region, (unsigned long long)rs.cow_region_size);
	free_set(&rs);
}

/* A child's mapping that is a part of its parent's (munmap, mprotect), or
 * the parent's moved (mremap), or more than it (grown): the parent's part is
 * one inherited piece at the parent's address, the rest its own; one over
 * two of the parent's (merged) has a piece of each. */
TEST(a_moved_cut_or_grown_mapping_takes_the_parents_pages_where_they_are)
{
	static const struct proc cut[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, 32, { { 16, 3, IP, 0, 0 }, { 19, 1, P, 0, 0 }, { 20, 28, IP, 0, 0 } }, 3, 16, 0 },
	};
	static const struct want_piece cut_want[] = { { 16, 48, 16 } };
	static const struct proc moved[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 128, 7, IP, -128, 0 }, { 136, PAGES - 8, IP, -128, 0 } }, 2, 128, 0 },
	};
	static const struct want_piece moved_want[] = { { 128, 128 + PAGES, 0 } };
	static const struct proc grown[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, 2 * PAGES, { { 2, PAGES - 4, IP, 0, 0 }, { PAGES + 1, 1, P, 0, 0 } }, 2, 0, 0 },
	};
	static const struct want_piece grown_want[] = { { 0, PAGES, 0 },
							{ PAGES, 2 * PAGES, ~0ULL } };
	static const struct proc merged[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 32 },
		{ 0, PAGES, { { 0, PAGES, IP, 0, 0 } }, 1, 0, 0 },
	};
	/* The parent's second mapping has its own slot, a page past the first's. */
	static const struct want_piece merged_want[] = { { 0, 32, 0 }, { 32, PAGES, 33 } };
	struct {
		const struct proc *procs;
		const struct want_piece *want;
		size_t nr_want;
	} cases[] = { { cut, cut_want, 1 }, { moved, moved_want, 1 }, { grown, grown_want, 2 },
		      { merged, merged_want, 2 } };

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		_cleanup_free_ char *msg = NULL;
		struct restore_set rs;
		int ret = plan(cases[c].procs, 2, &rs, &msg);

		CHECK(ret == 0, "case %zu refused: %d: %s", c, ret, msg ? msg : "");
		if (!ret)
			check_pieces(&rs, 1, cases[c].want, cases[c].nr_want);
		free_set(&rs);
	}
}

TEST(a_process_sharing_nothing_is_not_premapped)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
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
		{ -1, PAGES, { { 0, 32, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, PAGES, IP, 0, 0 } }, 1, 0, 0 },
	};

	CHECK_REFUSED(procs, "pid 101: pages at 0x10000000-0x10040000 are its parent's "
			     "(IN_PARENT), but its parent 100 has no page saved at "
			     "0x10000000-0x10040000");
}

TEST(in_parent_pages_outside_the_parents_mappings_are_refused)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, 2 * PAGES, { { 0, 2 * PAGES, IP, 0, 0 } }, 1, 0, 0 },
	};

	CHECK_REFUSED(procs, "pid 101: pages at 0x10040000 are its parent's (IN_PARENT), but its "
			     "parent 100 has no private mapping of the same kind (anonymous, or the "
			     "same file at the same offset) at 0x10040000");
}

/* A private file mapping's written pages are shared as anonymous memory's
 * are, where the parent maps the same file at the same offset (a moved
 * mapping keeps its offset); never into anonymous memory, another file or
 * another offset, whose other pages would read differently. */
TEST(in_parent_pages_of_a_file_mapping_need_the_same_file_at_the_same_offset)
{
	static const struct proc moved[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 128, 7, IP, -128, 0 } }, 1, 128, 0 },
	};
	static const struct proc kept[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, IP, 0, 0 } }, 1, 0, 0 },
	};
	static const struct file_map same[] = { { "/lib/x.so", 4 }, { "/lib/x.so", 4 } };
	static const struct file_map other_offset[] = { { "/lib/x.so", 4 }, { "/lib/x.so", 5 } };
	static const struct file_map other_file[] = { { "/lib/x.so", 4 }, { "/lib/y.so", 4 } };
	static const struct file_map into_anon[] = { { NULL, 0 }, { "/lib/x.so", 0 } };
	static const struct file_map into_file[] = { { "/lib/x.so", 0 }, { NULL, 0 } };
	static const struct want_piece moved_want[] = { { 128, 128 + PAGES, 0 } };
	static const char *refused = "pid 101: pages at 0x10000000 are its parent's (IN_PARENT), "
				     "but its parent 100 has no private mapping of the same kind";
	_cleanup_free_ char *msg = NULL;
	struct restore_set rs;
	int ret = plan_files(moved, same, ARRAY_SIZE(moved), &rs, &msg);

	CHECK(ret == 0, "refused: %d: %s", ret, msg ? msg : "");
	if (!ret)
		check_pieces(&rs, 1, moved_want, 1);
	free_set(&rs);
	CHECK_REFUSED_FILES(kept, other_offset, refused);
	CHECK_REFUSED_FILES(kept, other_file, refused);
	CHECK_REFUSED_FILES(kept, into_anon, refused);
	CHECK_REFUSED_FILES(kept, into_file, refused);
}

TEST(two_pages_taking_one_page_of_the_parents_are_refused)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, IP, 0, 0 }, { 8, 8, IP, -8, 0 } }, 2, 0, 0 },
	};

	CHECK_REFUSED(procs, "pid 101: pages at 0x10000000 and at 0x10008000 are the same page of "
			     "its parent's (IN_PARENT)");
}

TEST(in_parent_pages_of_the_root_are_refused)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, PAGES, IP, 0, 0 } }, 1, 0, 0 },
	};

	CHECK_REFUSED(procs, "pid 100: pages at 0x10000000 are its parent's (IN_PARENT), and it "
			     "has no live parent in the dump");
}

/* Piece @q of process @i's only premap: [@first, @end) pages from AREA,
 * at @slot (0: its own memory), held or not. */
static void check_piece(const struct restore_set *rs, size_t i, size_t q, uint64_t first,
			uint64_t end, uint64_t slot, bool held)
{
	const struct restore_task *rt = &rs->tasks[i];
	const struct cow_piece *pc = rt->nr_premaps == 1 && q < rt->premaps[0].nr_pieces ?
					     &rt->premaps[0].pieces[q] : NULL;

	CHECK(pc && pc->start == AREA + first * PS && pc->end == AREA + end * PS &&
	      pc->held == held && pc->inherited == !!slot && (!slot || pc->slot == slot),
	      "pid %d piece %zu: %s0x%llx-0x%llx at 0x%llx (held %d, inherited %d), want pages "
	      "%llu to %llu at 0x%llx (held %d)", rt->pid, q, pc ? "" : "none; ",
	      pc ? (unsigned long long)pc->start : 0, pc ? (unsigned long long)pc->end : 0,
	      pc ? (unsigned long long)pc->slot : 0, pc ? pc->held : 0, pc ? pc->inherited : 0,
	      (unsigned long long)first, (unsigned long long)end, (unsigned long long)slot, held);
}

/* The parent wrote its first 8 pages and no longer has the children's:
 * the first child saved 16 pages, the second has them IN_PARENT with it
 * (but its own page 4), and the first child's child IN_PARENT of it. The
 * root holds the pages the second child names (two ranges around page 4);
 * both children take them where they are, the grandchild through its
 * parent's pieces. */
TEST(pages_only_siblings_share_are_held_by_their_parent)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 16, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 4, IP, 0, 1 }, { 4, 1, P, 0, 0 }, { 5, 11, IP, 0, 1 } }, 3, 0, 0 },
		{ 1, PAGES, { { 0, 16, IP, 0, 0 } }, 1, 0, 0 },
	};
	_cleanup_free_ char *msg = NULL;
	struct restore_set rs;
	int ret = plan(procs, ARRAY_SIZE(procs), &rs, &msg);
	const struct cow_held *h = rs.tasks[0].held;
	size_t nr_held = rs.tasks[0].nr_held, nr_premaps = rs.tasks[0].nr_premaps;
	const struct cow_premap *first = rs.tasks[1].nr_premaps == 1 ? rs.tasks[1].premaps : NULL;
	bool held = !ret && nr_held == 2 && !nr_premaps && first && first->nr_pieces == 4;

	for (size_t k = 0; held && k < 2; k++)
		held = h[k].start == AREA + (k ? 5 : 0) * PS && h[k].end == AREA + (k ? 16 : 4) * PS &&
		       h[k].owner == 1 && !h[k].growsdown && h[k].slot >= rs.cow_region &&
		       h[k].slot + 16 * PS <= rs.cow_region + rs.cow_region_size;
	if (held) {
		for (size_t i = 1; i <= 2; i++) {
			check_piece(&rs, i, 0, 0, 4, h[0].slot, true);
			check_piece(&rs, i, 1, 4, 5, 0, false);
			check_piece(&rs, i, 2, 5, 16, h[1].slot, true);
			check_piece(&rs, i, 3, 16, PAGES, 0, false);
		}
		check_piece(&rs, 3, 0, 0, 4, h[0].slot, false);
		check_piece(&rs, 3, 1, 4, 5, first->pieces[1].slot, false);
		check_piece(&rs, 3, 2, 5, 16, h[1].slot, false);
		check_piece(&rs, 3, 3, 16, PAGES, first->pieces[3].slot, false);
	}
	free_set(&rs);
	CHECK(ret == 0, "refused: %d: %s", ret, msg ? msg : "");
	CHECK(held, "the root holds %zu ranges, has %zu premaps", nr_held, nr_premaps);
}

TEST(in_parent_pages_of_no_sibling_or_without_its_bytes_are_refused)
{
	static const struct proc itself[] = {
		{ -1, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, IP, 0, 1 } }, 1, 0, 0 },
	};
	static const struct proc uncle[] = {
		{ -1, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 1, PAGES, { { 0, 8, IP, 0, 3 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
	};
	static const struct proc no_bytes[] = {
		{ -1, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 16, IP, 0, 1 } }, 1, 0, 0 },
	};
	static const struct proc kept[] = {
		{ -1, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, IP, 0, 1 } }, 1, 0, 0 },
	};
	static const struct file_map into_file[] = { { NULL, 0 }, { NULL, 0 }, { "/lib/x.so", 0 } };

	CHECK_REFUSED(itself, "pid 101: pages at 0x10000000 are its sibling 101's (IN_PARENT), "
			      "which is no other live child of its parent 100 in the dump");
	CHECK_REFUSED(uncle, "pid 102: pages at 0x10000000 are its sibling 103's (IN_PARENT), "
			     "which is no other live child of its parent 101 in the dump");
	CHECK_REFUSED(no_bytes, "pid 102: pages at 0x10000000-0x10010000 are its sibling's "
				"(IN_PARENT), but its sibling 101 has no bytes saved at "
				"0x10000000-0x10010000");
	CHECK_REFUSED_FILES(kept, into_file, "pid 102: pages at 0x10000000 are its sibling's "
					     "(IN_PARENT), but its sibling 101 has no private "
					     "mapping of the same kind (anonymous, or the same file "
					     "at the same offset) at 0x10000000");
}

/* In a private mapping of one file, the first child saved 8 pages the
 * parent no longer has (anonymous copies), the second has them IN_PARENT
 * with it: the root holds them as a mapping of that file at its offset,
 * and both take them from there. Another file, or another offset, is
 * refused. */
TEST(file_pages_only_siblings_share_are_held_as_the_file)
{
	static const struct proc procs[] = {
		{ -1, PAGES, { { 8, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, P, 0, 0 } }, 1, 0, 0 },
		{ 0, PAGES, { { 0, 8, IP, 0, 1 } }, 1, 0, 0 },
	};
	static const struct file_map one_file[] = { { "/lib/x.so", 2 }, { "/lib/x.so", 2 },
						    { "/lib/x.so", 2 } };
	static const struct file_map other_file[] = { { "/lib/x.so", 2 }, { "/lib/x.so", 2 },
						      { "/lib/y.so", 2 } };
	static const struct file_map other_offset[] = { { "/lib/x.so", 2 }, { "/lib/x.so", 2 },
							{ "/lib/x.so", 3 } };
	_cleanup_free_ char *msg = NULL;
	struct restore_set rs;
	int ret = plan_files(procs, one_file, ARRAY_SIZE(procs), &rs, &msg);
	const struct cow_held *h = rs.tasks[0].held;
	size_t nr_held = rs.tasks[0].nr_held;
	bool held = !ret && nr_held == 1 && h[0].owner == 1 && h[0].file &&
		    h[0].vma == 0 && h[0].start == AREA && h[0].end == AREA + 8 * PS;

	for (size_t i = 1; held && i <= 2; i++) {
		check_piece(&rs, i, 0, 0, 8, h[0].slot, true);
		check_piece(&rs, i, 1, 8, PAGES, 0, false);
	}
	free_set(&rs);
	CHECK(ret == 0, "refused: %d: %s", ret, msg ? msg : "");
	CHECK(held, "the root holds %zu ranges, not the first child's 8 file pages", nr_held);
	CHECK_REFUSED_FILES(procs, other_file, "pid 102: pages at 0x10000000 are its sibling's "
					       "(IN_PARENT), but its sibling 101 has no private "
					       "mapping of the same kind");
	CHECK_REFUSED_FILES(procs, other_offset, "pid 102: pages at 0x10000000 are its sibling's "
						 "(IN_PARENT), but its sibling 101 has no private "
						 "mapping of the same kind");
}
