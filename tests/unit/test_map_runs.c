/* Unit tests of restore's runs of mappings made with one mmap and of the
 * page fills joined inside them (restore/map_runs.c): only neighbours the
 * kernel would merge anyway are joined (private anonymous, same flags and
 * first protection, end to end), and fills are joined only where they
 * continue each other, addresses and pages file alike, inside one mapping
 * as the restorer makes it. */
#include <sys/mman.h>

#include "harness.h"
#include "kabi/kabi.h"
#include "restore/map_runs.h"

#define PG 4096ull
#define BASE 0x10000000ull
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static struct restorer_vma vma(uint64_t first_page, uint64_t pages, uint32_t prot, bool fills)
{
	return (struct restorer_vma){
		.start = BASE + first_page * PG,
		.end = BASE + (first_page + pages) * PG,
		.fd = -1,
		.prot = prot,
		.flags = ANON,
		.has_fills = fills,
		.shm_id = -1,
	};
}

static struct restorer_fill fill(uint64_t first_page, uint64_t pages, uint64_t file_page)
{
	return (struct restorer_fill){
		.addr = BASE + first_page * PG,
		.len = pages * PG,
		.file_off = file_page == ~0ull ? RESTORER_FILL_ZERO : file_page * PG,
	};
}

TEST(read_write_and_read_only_pages_to_fill_are_one_run)
{
	struct restorer_vma v[4];

	for (int i = 0; i < 4; i++)
		v[i] = vma(i, 1, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, true);
	map_runs_mark(v, 4);
	for (int i = 0; i < 3; i++)
		CHECK(v[i].map_with_next, "vma %d not joined to the next", i);
	CHECK(!v[3].map_with_next, "the last vma is joined to nothing");
}

/* Each change to the second of two neighbours that the kernel would not
 * merge, or that the restorer maps otherwise, keeps them apart. */
TEST(what_the_kernel_would_not_merge_is_not_joined)
{
	static const char *const why[] = {
		"a gap",	   "a file",	     "growing down", "huge pages", "shared",
		"no reserve",	   "read-only, nothing to fill", "a SysV segment",
		"premapped",	   "an AIO ring",   "lazy",	     "droppable",
	};
	size_t nr = sizeof(why) / sizeof(*why);

	for (size_t k = 0; k < nr; k++) {
		struct restorer_vma v[2] = { vma(0, 2, PROT_READ | PROT_WRITE, true),
					     vma(2, 2, PROT_READ | PROT_WRITE, true) };
		struct restorer_vma *b = &v[1];

		switch (k) {
		case 0: b->start += PG; break;
		case 1: b->fd = 5; b->flags = MAP_PRIVATE; break;
		case 2: b->flags |= MAP_GROWSDOWN; break;
		case 3: b->flags |= MAP_HUGETLB; break;
		case 4: b->flags = MAP_SHARED | MAP_ANONYMOUS; break;
		case 5: b->flags |= MAP_NORESERVE; break;
		case 6: b->prot = PROT_READ; b->has_fills = false; break;
		case 7: b->shm_id = 3; break;
		case 8: b->premapped = 1; break;
		case 9: b->aio_nr = 128; break;
		case 10: b->lazy = 1; break;
		case 11: b->flags = MAP_DROPPABLE | MAP_ANONYMOUS; break;
		}
		map_runs_mark(v, 2);
		CHECK(!v[0].map_with_next, "joined across %s", why[k]);
	}
}

TEST(no_reserve_on_both_sides_and_nothing_to_fill_on_both_still_join)
{
	struct restorer_vma v[3] = { vma(0, 1, PROT_NONE, false), vma(1, 1, PROT_NONE, false),
				     vma(2, 4, PROT_READ, true) };

	v[0].flags |= MAP_NORESERVE;
	v[1].flags |= MAP_NORESERVE;
	map_runs_mark(v, 3);
	CHECK(v[0].map_with_next, "two PROT_NONE reservations kept apart");
	CHECK(!v[1].map_with_next, "a reservation joined to memory mapped writable");
}

TEST(fills_that_continue_each_other_in_a_run_become_one)
{
	struct restorer_vma v[3];
	struct restorer_fill f[3];
	size_t n;

	for (int i = 0; i < 3; i++) {
		v[i] = vma(i, 1, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, true);
		f[i] = fill(i, 1, 10 + i);
	}
	map_runs_mark(v, 3);
	n = map_runs_merge_fills(v, 3, f, 3);
	CHECK(n == 1, "%zu fills", n);
	CHECK(f[0].addr == BASE && f[0].len == 3 * PG && f[0].file_off == 10 * PG,
	      "fill %#llx +%#llx from %#llx", (unsigned long long)f[0].addr,
	      (unsigned long long)f[0].len, (unsigned long long)f[0].file_off);
}

/* One mapping of four pages and its fills, the second of each pair
 * changed so that it no longer continues the first. */
TEST(fills_that_do_not_continue_each_other_stay_apart)
{
	static const char *const why[] = { "a hole in the file", "another pages file",
					   "zeros after bytes", "a hole in memory",
					   "pages already in place" };

	for (size_t k = 0; k < sizeof(why) / sizeof(*why); k++) {
		struct restorer_vma v = vma(0, 4, PROT_READ | PROT_WRITE, true);
		struct restorer_fill f[2] = { fill(0, 1, 0), fill(1, 1, 1) };
		size_t n;

		switch (k) {
		case 0: f[1].file_off += PG; break;
		case 1: f[1].file = 1; break;
		case 2: f[1].file_off = RESTORER_FILL_ZERO; break;
		case 3: f[1].addr += PG; f[1].file_off += PG; break;
		case 4: f[1].in_place = 1; break;
		}
		n = map_runs_merge_fills(&v, 1, f, 2);
		CHECK(n == 2, "joined across %s", why[k]);
	}
}

TEST(fills_across_mappings_not_joined_stay_apart_and_zeros_join)
{
	struct restorer_vma v[2] = { vma(0, 2, PROT_READ | PROT_WRITE, true),
				     vma(2, 2, PROT_READ | PROT_WRITE, true) };
	struct restorer_fill f[4] = { fill(0, 1, ~0ull), fill(1, 1, ~0ull), fill(2, 1, 0),
				      fill(3, 1, 1) };
	size_t n;

	v[1].flags |= MAP_GROWSDOWN;
	map_runs_mark(v, 2);
	/* Zeros then bytes, at the border of two mappings kept apart. */
	f[1].file_off = RESTORER_FILL_ZERO;
	n = map_runs_merge_fills(v, 2, f, 4);
	CHECK(n == 2, "%zu fills", n);
	CHECK(f[0].len == 2 * PG && f[0].file_off == RESTORER_FILL_ZERO, "the zeros");
	CHECK(f[1].addr == BASE + 2 * PG && f[1].len == 2 * PG && f[1].file_off == 0,
	      "the bytes");

	/* Bytes on both sides of that border. */
	f[0] = fill(1, 1, 0);
	f[1] = fill(2, 1, 1);
	n = map_runs_merge_fills(v, 2, f, 2);
	CHECK(n == 2, "joined across two mappings mapped apart");
}
