/* Unit tests of the pending ranges of a lazy restore (lazy/pending.h): what
 * the page server still has to serve after copies, munmap, MADV_DONTNEED
 * and mremap, checked against a page-by-page model; and the rseq pages
 * the restorer fills itself (lazy_pins_make). */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "lazy/lazy.h"
#include "lazy/pending.h"

#define PAGE 4096ull
#define NONE (~0ull)

TEST(removing_the_middle_of_a_range_keeps_both_ends_and_their_offsets)
{
	struct pending p;
	const struct pending_range *r;

	pending_init(&p);
	CHECK(!pending_append(&p, 0x10000, 0x19000, 0, 0x3000), "append");
	CHECK(!pending_remove(&p, 0x13000, 0x14000), "remove");
	CHECK(p.bytes == 0x8000, "bytes %#llx", (unsigned long long)p.bytes);
	CHECK(!pending_find(&p, 0x13000), "the removed page is still pending");
	r = pending_find(&p, 0x14000);
	CHECK(r && r->start == 0x14000 && r->end == 0x19000 && r->file_off == 0x7000,
	      "the tail is wrong");
	r = pending_find(&p, 0x12fff);
	CHECK(r && r->start == 0x10000 && r->end == 0x13000 && r->file_off == 0x3000,
	      "the head is wrong");
	pending_free(&p);
}

TEST(appending_out_of_order_or_overlapping_is_refused)
{
	struct pending p;

	pending_init(&p);
	CHECK(!pending_append(&p, 0x10000, 0x20000, 0, 0), "append");
	CHECK(pending_append(&p, 0x1f000, 0x21000, 0, 0) == -EINVAL, "overlap accepted");
	CHECK(pending_append(&p, 0x5000, 0x6000, 0, 0) == -EINVAL, "out of order accepted");
	CHECK(pending_append(&p, 0x30000, 0x30000, 0, 0) == -EINVAL, "empty range accepted");
	CHECK(!pending_append(&p, 0x20000, 0x21000, 0, 0x10000), "adjacent refused");
	pending_free(&p);
}

TEST(serving_many_small_ranges_one_by_one_empties_the_set)
{
	struct pending p;
	const struct pending_range *r;
	size_t served = 0;

	pending_init(&p);
	for (uint64_t i = 0; i < 20000; i++)
		CHECK(!pending_append(&p, (2 * i + 1) * PAGE, (2 * i + 2) * PAGE, 0, i * PAGE), "append");
	while ((r = pending_first(&p))) {
		CHECK(r->file_off == served * PAGE, "range %zu has offset %#llx", served,
		      (unsigned long long)r->file_off);
		CHECK(!pending_remove(&p, r->start, r->end), "remove");
		served++;
	}
	CHECK(served == 20000 && p.bytes == 0, "served %zu, %llu bytes left", served,
	      (unsigned long long)p.bytes);
	/* Emptied entries were swept out on the way. */
	CHECK(p.nr < 1000, "%zu entries left in the array", p.nr);
	pending_free(&p);
}

TEST(a_move_carries_the_offsets_and_leaves_the_old_place_empty)
{
	struct pending p;
	const struct pending_range *r;

	pending_init(&p);
	CHECK(!pending_append(&p, 0x10000, 0x20000, 0, 0), "append");
	CHECK(!pending_move(&p, 0x14000, 0x100000, 0x4000), "move");
	CHECK(p.bytes == 0x10000, "bytes %#llx", (unsigned long long)p.bytes);
	CHECK(!pending_find(&p, 0x15000), "the old place is still pending");
	r = pending_find(&p, 0x101000);
	CHECK(r && r->start == 0x100000 && r->end == 0x104000 && r->file_off == 0x4000,
	      "the moved range is wrong");
	pending_free(&p);
}

/* The model: the file offset of each page, NONE when not pending. */
static bool matches_model(struct pending *p, const uint64_t *model, size_t n, uint64_t base)
{
	uint64_t bytes = 0, lowest = NONE;

	for (size_t i = 0; i < n; i++) {
		const struct pending_range *r = pending_find(p, base + i * PAGE);
		uint64_t off = r ? r->file_off + (base + i * PAGE - r->start) : NONE;

		if (off != model[i])
			return false;
		if (model[i] != NONE) {
			bytes += PAGE;
			if (lowest == NONE)
				lowest = base + i * PAGE;
		}
	}
	if (p->bytes != bytes)
		return false;
	return lowest == NONE ? !pending_first(p) : pending_first(p)->start == lowest;
}

TEST(random_removes_moves_and_copies_agree_with_a_page_model)
{
	enum { N = 1024 };
	const uint64_t base = 0x7f0000000000ull;
	static uint64_t model[N], moved[N];
	struct pending p, copy;

	srand(12345);
	for (int round = 0; round < 20; round++) {
		pending_init(&p);
		for (size_t i = 0; i < N; i++)
			model[i] = NONE;
		/* Ranges of 1-64 pages with gaps, offsets back to back. */
		for (size_t i = 0, off = 0; i < N;) {
			size_t len = 1 + rand() % 64, gap = rand() % 8;

			if (i + len > N)
				len = N - i;
			CHECK(!pending_append(&p, base + i * PAGE, base + (i + len) * PAGE, 0, off * PAGE),
			      "append");
			for (size_t k = 0; k < len; k++)
				model[i + k] = (off + k) * PAGE;
			off += len;
			i += len + gap;
		}
		for (int op = 0; op < 300; op++) {
			size_t a = rand() % N, len = 1 + rand() % 48;

			if (a + len > N)
				len = N - a;
			if (rand() % 3) {
				CHECK(!pending_remove(&p, base + a * PAGE, base + (a + len) * PAGE),
				      "remove");
				for (size_t k = 0; k < len; k++)
					model[a + k] = NONE;
			} else {
				size_t to = rand() % (N - len + 1);

				/* mremap never moves onto the range it moves. */
				if (to < a + len && a < to + len)
					continue;
				CHECK(!pending_move(&p, base + a * PAGE, base + to * PAGE, len * PAGE),
				      "move");
				for (size_t k = 0; k < len; k++) {
					moved[k] = model[a + k];
					model[a + k] = NONE;
				}
				for (size_t k = 0; k < len; k++)
					model[to + k] = moved[k];
			}
			CHECK(matches_model(&p, model, N, base), "round %d op %d: differs from the model",
			      round, op);
		}
		pending_init(&copy);
		CHECK(!pending_copy(&copy, &p), "copy");
		CHECK(matches_model(&copy, model, N, base), "round %d: the copy differs", round);
		pending_free(&copy);
		pending_free(&p);
	}
}

/* The pages the restorer populates for an rseq area are every page of
 * [start, start + size), however many: each must be pinned, or the page
 * server would serve over (and lose) what the kernel wrote there. */
TEST(every_page_of_an_rseq_area_is_pinned)
{
	Rseq wide = RSEQ__INIT, small = RSEQ__INIT;
	ThreadCore a = THREAD_CORE__INIT, b = THREAD_CORE__INIT;
	ThreadCore *threads[] = { &a, &b };
	TaskCore core = TASK_CORE__INIT;
	struct lazy_pins pins;
	const uint64_t want[] = { 0x10000, 0x11000, 0x12000, 0x13000, 0x14000 };

	wide.abi_pointer = 0x10fe0;
	wide.abi_size = 3 * PAGE + 64;
	small.abi_pointer = 0x12000;
	small.abi_size = 32;
	a.rseq = &wide;
	b.rseq = &small;
	core.n_threads = 2;
	core.threads = threads;
	CHECK(!lazy_pins_make(&core, &pins), "lazy_pins_make");
	CHECK(pins.nr == 5, "%zu pages pinned, not 5", pins.nr);
	for (size_t i = 0; i < pins.nr && i < 5; i++)
		CHECK(pins.pages[i] == want[i], "pin %zu is %#llx, not %#llx", i,
		      (unsigned long long)pins.pages[i], (unsigned long long)want[i]);
	lazy_pins_free(&pins);
}
