/* Dump of a real process (test_mem_util.h's child): the image must hold
 * exactly its mappings (kinds, flags, names) and the pages it wrote, byte
 * for byte, and a 1 TiB reservation only the windows it touched. The ways
 * of finding pages and the fallback dump are test_mem_dump.c's; bad images
 * test_mem_load.c's. */
#include "test_mem_util.h"

/* ---- tests ------------------------------------------------------------------ */

TEST(mappings_have_their_kind_flags_and_names)
{
	struct fixture *f = fixture();
	const struct layout *l;
	_cleanup_free_ char *cow = NULL, *shared = NULL, *deleted = NULL, *literal = NULL;
	const Vma *v;
	struct stat st;
	bool seen[VMA__KIND__SYSV_SHM + 1] = { false };

	if (!f)
		return;
	l = f->child.layout;
	cow = path_join(f->child.dir, "cow file");
	shared = path_join(f->child.dir, "shared file");
	deleted = path_join(f->child.dir, "del me.dat");
	literal = path_join(f->child.dir, "x (deleted)");

	v = find_vma(f->mm, l->anon);
	CHECK(v && v->kind == VMA__KIND__ANON && v->end == l->anon + 64 * PS &&
	      v->prot == (PROT_READ | PROT_WRITE) && v->flags == (MAP_PRIVATE | MAP_ANONYMOUS) &&
	      !v->file_path && !v->anon_name, "private anon area");
	v = find_vma(f->mm, l->prot_none);
	CHECK(v && v->kind == VMA__KIND__ANON && v->prot == PROT_NONE, "PROT_NONE area");
	v = find_vma(f->mm, l->tib + WINDOW_SIZE);
	CHECK(v && v->kind == VMA__KIND__ANON && v->prot == PROT_NONE &&
	      v->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) &&
	      v->end == l->tib + window_offsets[1], "reservation between windows 0 and 1");
	v = find_vma(f->mm, l->tib + window_offsets[2]);
	CHECK(v && v->prot == (PROT_READ | PROT_WRITE) && v->end == v->start + WINDOW_SIZE,
	      "window 2");

	v = find_vma(f->mm, l->shared_anon);
	CHECK(v && v->kind == VMA__KIND__ANON && v->flags == (MAP_SHARED | MAP_ANONYMOUS) &&
	      v->has_file_ino && !v->file_path, "shared anon area: kind %d flags %#x",
	      v ? (int)v->kind : -1, v ? v->flags : 0);

	v = find_vma(f->mm, l->cow);
	CHECK(cow && !stat(cow, &st), "stat cow file");
	CHECK(v && v->kind == VMA__KIND__FILE && v->file_path && !strcmp(v->file_path, cow) &&
	      v->flags == MAP_PRIVATE && v->prot == (PROT_READ | PROT_WRITE) && v->has_pgoff &&
	      v->pgoff == 0 && v->file_ino == st.st_ino && v->file_dev == st.st_dev &&
	      v->file_size == 4 * PS && !(v->has_file_writable && v->file_writable),
	      "private file mapping: %s", v && v->file_path ? v->file_path : "?");

	v = find_vma(f->mm, l->shared_file);
	CHECK(v && v->kind == VMA__KIND__FILE && v->file_path && !strcmp(v->file_path, shared) &&
	      v->flags == MAP_SHARED && v->has_file_writable && v->file_writable,
	      "shared file mapping");

	v = find_vma(f->mm, l->deleted);
	CHECK(v && v->kind == VMA__KIND__DELETED_FILE && v->file_path &&
	      !strcmp(v->file_path, deleted) && v->file_size == 2 * PS,
	      "deleted file: kind %d path '%s'", v ? (int)v->kind : -1,
	      v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->literal);
	CHECK(v && v->kind == VMA__KIND__FILE && v->file_path && !strcmp(v->file_path, literal),
	      "file named 'x (deleted)': kind %d path '%s'", v ? (int)v->kind : -1,
	      v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->memfd);
	CHECK(v && v->kind == VMA__KIND__MEMFD && v->file_path &&
	      !strcmp(v->file_path, "cryo test memfd") && v->flags == MAP_SHARED &&
	      v->file_writable, "memfd: kind %d name '%s'", v ? (int)v->kind : -1,
	      v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->growsdown);
	CHECK(v && v->kind == VMA__KIND__ANON &&
	      v->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN), "grows-down area: flags %#x",
	      v ? v->flags : 0);

	for (int i = 0; i < NR_MADV; i++) {
		v = find_vma(f->mm, l->madv[i]);
		CHECK(v && v->end == l->madv[i] + 4 * PS, "%s area", madv[i].name);
		if (!l->madv_ok[i])
			continue;
		CHECK(v->madvise == madv[i].bit, "%s area: madvise bits %#x, expected %#x",
		      madv[i].name, v->madvise, madv[i].bit);
	}

	v = find_vma(f->mm, l->named);
	if (l->named_ok)
		CHECK(v && v->anon_name && !strcmp(v->anon_name, "cryo-test-name"),
		      "named area: '%s'", v && v->anon_name ? v->anon_name : "");

	v = find_vma(f->mm, l->hidden + PS);
	CHECK(v && v->prot == PROT_NONE && v->end == l->hidden + 2 * PS, "hidden page");
	v = find_vma(f->mm, l->write_only);
	CHECK(v && v->prot == PROT_WRITE, "write-only area: prot %#x", v ? v->prot : 0);

	v = find_vma(f->mm, l->sysv);
	CHECK(v && v->kind == VMA__KIND__SYSV_SHM && v->file_ino == (uint64_t)l->shmid &&
	      v->file_path && !strcmp(v->file_path, "/SYSV00000000") && v->flags == MAP_SHARED,
	      "SysV shm: kind %d ino %llu path '%s'", v ? (int)v->kind : -1,
	      v ? (unsigned long long)v->file_ino : 0ull, v && v->file_path ? v->file_path : "");

	v = find_vma(f->mm, l->heap);
	CHECK(v && v->kind == VMA__KIND__HEAP && v->end == l->heap + 4 * PS &&
	      v->flags == (MAP_PRIVATE | MAP_ANONYMOUS) && f->mm->start_brk == l->heap &&
	      f->mm->brk == l->heap + 4 * PS, "heap: brk %#llx..%#llx, grown from %#llx",
	      (unsigned long long)f->mm->start_brk, (unsigned long long)f->mm->brk,
	      (unsigned long long)l->heap);

	for (size_t i = 0; i < f->mm->n_vmas; i++)
		seen[f->mm->vmas[i]->kind] = true;
	CHECK(seen[VMA__KIND__HEAP] && seen[VMA__KIND__STACK] && seen[VMA__KIND__VDSO] &&
	      seen[VMA__KIND__VVAR] && seen[VMA__KIND__VVAR_VCLOCK],
	      "heap %d, stack %d, vdso %d, vvar %d and vvar_vclock %d must all be there",
	      seen[VMA__KIND__HEAP], seen[VMA__KIND__STACK], seen[VMA__KIND__VDSO],
	      seen[VMA__KIND__VVAR], seen[VMA__KIND__VVAR_VCLOCK]);
}

TEST(saved_pages_are_exactly_the_written_ones)
{
	struct fixture *f = fixture();
	const struct layout *l;
	const char *why;

	if (!f)
		return;
	l = f->child.layout;
#define EXPECT(what_, start_, nr_pages_, ...)                                            \
	do {                                                                             \
		static const uint64_t runs[] = { __VA_ARGS__ };                          \
		why = expect_saved(f->pages, what_, start_, nr_pages_, runs,             \
				   ARRAY_SIZE(runs) / 2);                                \
		CHECK(!why, "%s", why);                                                  \
	} while (0)
#define EXPECT_NONE(what_, start_, nr_pages_)                                            \
	do {                                                                             \
		why = expect_saved(f->pages, what_, start_, nr_pages_, NULL, 0);         \
		CHECK(!why, "%s", why);                                                  \
	} while (0)

	EXPECT("private anon with a hole", l->anon, 64, 0, 10, 20, 64);
	EXPECT_NONE("PROT_NONE reservation", l->prot_none, 16);
	EXPECT_NONE("shared anon: saved once as a file object", l->shared_anon, 8);
	EXPECT("private file: only the copied page", l->cow, 4, 2, 3);
	EXPECT_NONE("shared file", l->shared_file, 4);
	EXPECT_NONE("deleted file, only read", l->deleted, 2);
	EXPECT_NONE("file named 'x (deleted)'", l->literal, 1);
	EXPECT_NONE("shared memfd: saved whole as a file object", l->memfd, 4);
	EXPECT("grows-down area", l->growsdown, 16, 15, 16);
	for (int i = 0; i < NR_MADV; i++)
		EXPECT(madv[i].name, l->madv[i], 4, 0, 4);
	EXPECT("named area", l->named, 4, 0, 4);
	EXPECT("page hidden by PROT_NONE, with its neighbours", l->hidden, 4, 0, 4);
	EXPECT("write-only pages", l->write_only, 2, 0, 2);
	EXPECT_NONE("pages only read (zeros)", l->zero_read, 8);
	EXPECT_NONE("SysV shm: saved once per segment (sysv-shm.img)", l->sysv, 4);
	EXPECT("heap", l->heap, 4, 0, 4);
#undef EXPECT
#undef EXPECT_NONE
}

TEST(saved_bytes_equal_the_child_memory)
{
	struct fixture *f = fixture();
	_cleanup_free_ uint8_t *saved = malloc(1 << 20), *live = malloc(1 << 20);
	_cleanup_close_ int mem = -1;
	char path[64];
	uint64_t total = 0;
	const char *why;

	if (!f)
		return;
	CHECK(saved && live, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/mem", f->child.pid);
	mem = open(path, O_RDONLY);
	CHECK(mem >= 0, "open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < f->pages->pagemap->nr_records; i++) {
		const PagemapEntry *e = (const PagemapEntry *)f->pages->pagemap->records[i].msg;
		uint64_t len = e->nr_pages * PS;

		for (uint64_t done = 0; done < len; done += 1 << 20) {
			uint64_t n = len - done < (1 << 20) ? len - done : (1 << 20);

			CHECK(pread(mem, live, n, e->vaddr + done) == (ssize_t)n,
			      "cannot read the child at %#llx", (unsigned long long)(e->vaddr + done));
			if (e->state == PAGEMAP_ENTRY__STATE__ZERO)
				memset(saved, 0, n);
			else
				CHECK(pread(f->pages->pages_fd[0], saved, n, e->file_off + done) ==
				      (ssize_t)n, "short pages file");
			CHECK(!memcmp(saved, live, n), "bytes at %#llx differ from the child's",
			      (unsigned long long)(e->vaddr + done));
			total += n;
		}
	}
	CHECK(total >= 16 * WINDOW_SIZE / 4, "only %llu bytes saved", (unsigned long long)total);
	why = child_self_check(&f->child);
	CHECK(!why, "the child found its memory changed after the dump: %s", why);
}

TEST(terabyte_reservation_saves_only_its_windows)
{
	struct fixture *f = fixture();
	struct page_range got[8];
	bool zero = false;
	size_t n;

	if (!f)
		return;
	n = saved_ranges(f->pages, f->child.layout->tib, f->child.layout->tib + TIB, got, 8, &zero);
	CHECK(n == WINDOWS && !zero, "%zu ranges in the reservation, expected %d", n, WINDOWS);
	for (int w = 0; w < WINDOWS; w++) {
		uint64_t win = f->child.layout->tib + window_offsets[w];

		CHECK(got[w].start == win && got[w].end == win + WINDOW_SIZE,
		      "range %d is %#llx..%#llx, expected window %#llx..%#llx", w,
		      (unsigned long long)got[w].start, (unsigned long long)got[w].end,
		      (unsigned long long)win, (unsigned long long)(win + WINDOW_SIZE));
	}
}

/* The whole child's pages file: the reservation adds its 16 MiB of
 * windows, not gigabytes; the rest is the child's own memory. */
TEST(terabyte_reservation_makes_a_small_pages_file)
{
	struct fixture *f = fixture();
	uint64_t size = 0;

	if (!f)
		return;
	CHECK(!pages_file_size(f->dir, f->child.pid, 0, &size), "no pages file");
	CHECK(size >= WINDOWS * WINDOW_SIZE && size < WINDOWS * WINDOW_SIZE + (96ull << 20),
	      "pages file of %llu MiB for 16 MiB of windows", (unsigned long long)(size >> 20));
}
