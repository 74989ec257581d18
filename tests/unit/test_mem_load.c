/* Tests of mm_load() on crafted images: a good one is accepted whole, and
 * each kind of damage (bad mappings, mm fields, auxv, pages outside the
 * mappings that keep pages) is refused with a message that names the file
 * and the problem. Images are written with the ordinary writers. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "test_images_util.h"
#include "images/pages.h"
#include "mem/mm.h"
#include "mem/vma.h"

#define PID 7
#define PS 4096ull

/* The mappings of the good image. */
enum {
	V_ANON,		/* 0x10000..0x14000 */
	V_FILE,		/* 0x20000..0x22000, private file */
	V_SHARED,	/* 0x22000..0x24000, shared file: no pages */
	V_ANON2,	/* 0x24000..0x26000 */
	V_ANON3,	/* 0x26000..0x28000, right after V_ANON2 */
	V_HEAP,
	V_STACK,
	V_VVAR,
	V_VDSO,
	V_VSYSCALL,
	NR_VMAS
};

struct sample {
	Mm mm;
	Vma vma[NR_VMAS];
	Vma *vmas[NR_VMAS];
	uint64_t auxv[4];
};

static void set_vma(Vma *v, uint64_t start, uint64_t end, Vma__Kind kind, uint32_t prot,
		    uint32_t flags)
{
	vma__init(v);
	v->start = start;
	v->end = end;
	v->kind = kind;
	v->prot = prot;
	v->flags = flags;
}

static void set_file(Vma *v, const char *path)
{
	v->file_path = (char *)path;
	v->has_pgoff = v->has_file_dev = v->has_file_ino = v->has_file_size = true;
	v->file_dev = 0x801;
	v->file_ino = 1234;
	v->file_size = 3 * PS;
}

static void sample_init(struct sample *s)
{
	const uint32_t rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;

	mm__init(&s->mm);
	set_vma(&s->vma[V_ANON], 0x10000, 0x14000, VMA__KIND__ANON, rw, anon);
	set_vma(&s->vma[V_FILE], 0x20000, 0x22000, VMA__KIND__FILE, rw, MAP_PRIVATE);
	set_file(&s->vma[V_FILE], "/usr/lib/libsample.so");
	set_vma(&s->vma[V_SHARED], 0x22000, 0x24000, VMA__KIND__FILE, rw, MAP_SHARED);
	set_file(&s->vma[V_SHARED], "/data/shared file (deleted)");
	s->vma[V_SHARED].has_file_writable = s->vma[V_SHARED].file_writable = true;
	set_vma(&s->vma[V_ANON2], 0x24000, 0x26000, VMA__KIND__ANON, rw, anon);
	set_vma(&s->vma[V_ANON3], 0x26000, 0x28000, VMA__KIND__ANON, PROT_NONE, anon);
	s->vma[V_ANON3].has_madvise = true;
	s->vma[V_ANON3].madvise = VMA_MADV_DONTFORK | VMA_MADV_MERGEABLE;
	s->vma[V_ANON3].anon_name = "buffer: 1";
	set_vma(&s->vma[V_HEAP], 0x100000, 0x120000, VMA__KIND__HEAP, rw, anon);
	set_vma(&s->vma[V_STACK], 0x7ffd0000, 0x7fff0000, VMA__KIND__STACK, rw,
		anon | MAP_GROWSDOWN);
	set_vma(&s->vma[V_VVAR], 0x7fff4000, 0x7fff8000, VMA__KIND__VVAR, PROT_READ, MAP_PRIVATE);
	set_vma(&s->vma[V_VDSO], 0x7fff8000, 0x7fffa000, VMA__KIND__VDSO, PROT_READ | PROT_EXEC,
		MAP_PRIVATE);
	set_vma(&s->vma[V_VSYSCALL], VMA_VSYSCALL_START, VMA_VSYSCALL_END, VMA__KIND__VSYSCALL,
		PROT_EXEC, MAP_PRIVATE);
	for (int i = 0; i < NR_VMAS; i++)
		s->vmas[i] = &s->vma[i];
	s->mm.n_vmas = NR_VMAS;
	s->mm.vmas = s->vmas;
	s->mm.start_code = 0x20000;
	s->mm.end_code = 0x21000;
	s->mm.start_data = 0x21000;
	s->mm.end_data = 0x22000;
	s->mm.start_brk = 0x100000;
	s->mm.brk = 0x118000;
	s->mm.start_stack = 0x7ffef000;
	s->mm.arg_start = 0x7ffef100;
	s->mm.arg_end = 0x7ffef200;
	s->mm.env_start = 0x7ffef200;
	s->mm.env_end = 0x7ffef300;
	s->auxv[0] = 6;		/* AT_PAGESZ */
	s->auxv[1] = PS;
	s->auxv[2] = 0;		/* AT_NULL */
	s->auxv[3] = 0;
	s->mm.auxv = s->auxv;
	s->mm.n_auxv = 4;
	s->mm.exe_path = "/usr/bin/sample";
}

struct page_run {
	uint64_t vaddr, nr_pages;
	bool zero;
};

/* The good pagemap: pages in V_ANON, a zero page in V_FILE, and one run
 * across V_ANON2 and V_ANON3, which touch. */
static const struct page_run good_pages[] = {
	{ 0x10000, 2, false },
	{ 0x21000, 1, true },
	{ 0x25000, 2, false },
};

static int write_image(const char *path, const Mm *mm, unsigned copies,
		       const struct page_run *runs, size_t nr_runs)
{
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	static uint8_t data[16 * PS];
	struct pages_writer *pw;
	struct image_writer *w;
	int ret;

	memset(data, 0x5a, sizeof(data));
	ret = image_dir_create(path, &dir);
	if (ret)
		return ret;
	ret = image_open_write(dir, IMG_MM, PID, &w);
	if (ret)
		return ret;
	for (unsigned i = 0; i < copies; i++)
		image_write_record(w, &mm->base);
	ret = image_finish(w);
	if (ret)
		return ret;
	ret = pages_writer_open(dir, PID, &pw);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr_runs && !ret; i++)
		ret = runs[i].zero ? pages_write_zero(pw, runs[i].vaddr, runs[i].nr_pages) :
				     pages_write(pw, runs[i].vaddr, runs[i].nr_pages, data);
	if (ret) {
		pages_writer_abort(pw);
		return ret;
	}
	return pages_writer_finish(pw);
}

/* Writes and loads; returns mm_load's result, what it logged in *@log. */
static int load(const Mm *mm, unsigned copies, const struct page_run *runs, size_t nr_runs,
		Mm **out, char **log)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_image_dir_ struct image_dir *dir = NULL;
	struct capture cap;
	int ret;

	*log = NULL;
	if (!tmp)
		return -ENOMEM;
	ret = write_image(tmp, mm, copies, runs, nr_runs);
	if (ret)
		return ret == -EINVAL ? -EINVAL : -EIO;
	ret = image_dir_open(tmp, &dir);
	if (ret)
		return ret;
	capture_begin(&cap, 2);
	ret = mm_load(dir, PID, out);
	*log = capture_end(&cap);
	return ret;
}

TEST(good_image_is_loaded_whole)
{
	struct sample s;
	_cleanup_free_ char *log = NULL;
	Mm *mm = NULL;
	int ret;

	sample_init(&s);
	ret = load(&s.mm, 1, good_pages, ARRAY_SIZE(good_pages), &mm, &log);
	CHECK_GOTO(!ret, out, "refused: %s", log ? log : strerror(-ret));
	CHECK_GOTO(mm->n_vmas == NR_VMAS && mm->n_auxv == 4 && mm->brk == 0x118000 &&
		   !strcmp(mm->exe_path, "/usr/bin/sample"), out, "fields differ");
	CHECK_GOTO(!strcmp(mm->vmas[V_SHARED]->file_path, "/data/shared file (deleted)") &&
		   mm->vmas[V_SHARED]->file_writable &&
		   !strcmp(mm->vmas[V_ANON3]->anon_name, "buffer: 1") &&
		   mm->vmas[V_ANON3]->madvise == (VMA_MADV_DONTFORK | VMA_MADV_MERGEABLE) &&
		   mm->vmas[V_STACK]->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN), out,
		   "mappings differ");
out:
	mm_free(mm);
}

/* One kind of damage: @mutate breaks the good Mm, or @pages replaces the
 * good pagemap; the message must hold @why. */
struct bad_case {
	const char *name;
	void (*mutate)(struct sample *s);
	unsigned copies;
	const struct page_run *pages;
	size_t nr_pages;
	const char *why;
};

static void overlap(struct sample *s) { s->vma[V_FILE].start = 0x13000; }
static void unaligned(struct sample *s) { s->vma[V_ANON].end = 0x13800; }
static void reversed(struct sample *s) { s->vma[V_HEAP].end = s->vma[V_HEAP].start; }
static void out_of_order(struct sample *s) { s->vmas[0] = &s->vma[V_FILE]; s->vmas[1] = &s->vma[V_ANON]; }
static void above_user(struct sample *s) { s->vma[V_VDSO].start = VMA_USER_END; s->vma[V_VDSO].end = VMA_USER_END + PS; }
static void moved_vsyscall(struct sample *s) { s->vma[V_VSYSCALL].start -= PS; s->vma[V_VSYSCALL].end -= PS; }
static void bad_kind(struct sample *s) { s->vma[V_ANON].kind = 42; }
static void bad_prot(struct sample *s) { s->vma[V_ANON].prot |= 0x10; }
static void bad_flags(struct sample *s) { s->vma[V_ANON].flags |= MAP_FIXED; }
static void both_shared_private(struct sample *s) { s->vma[V_ANON].flags |= MAP_SHARED; }
static void anon_without_flag(struct sample *s) { s->vma[V_ANON].flags = MAP_PRIVATE; }
static void shared_heap(struct sample *s) { s->vma[V_HEAP].flags = MAP_SHARED | MAP_ANONYMOUS; }
static void bad_madvise(struct sample *s) { s->vma[V_ANON3].madvise = 1u << 20; }
static void file_without_path(struct sample *s) { s->vma[V_FILE].file_path = NULL; }
static void relative_path(struct sample *s) { s->vma[V_FILE].file_path = "lib/x.so"; }
static void anon_with_path(struct sample *s) { s->vma[V_ANON].file_path = "/etc/passwd"; }
static void file_without_identity(struct sample *s) { s->vma[V_FILE].has_file_ino = false; }
static void file_with_file_object(struct sample *s) { s->vma[V_FILE].has_file_id = true; }
static void memfd_without_file_object(struct sample *s)
{
	s->vma[V_SHARED].kind = VMA__KIND__MEMFD;
	s->vma[V_SHARED].file_path = "buf";
}
static void bad_anon_name(struct sample *s) { s->vma[V_ANON3].anon_name = "a$b"; }
static void unaligned_pgoff(struct sample *s) { s->vma[V_FILE].pgoff = 100; }
static void writable_private(struct sample *s) { s->vma[V_FILE].has_file_writable = s->vma[V_FILE].file_writable = true; }
static uint64_t guard_words[4];
static void odd_guards(struct sample *s)
{
	guard_words[0] = 0x11000;
	s->vma[V_ANON].guards = guard_words;
	s->vma[V_ANON].n_guards = 1;
}
static void guard_outside(struct sample *s)
{
	guard_words[0] = 0x13000;
	guard_words[1] = 0x15000;
	s->vma[V_ANON].guards = guard_words;
	s->vma[V_ANON].n_guards = 2;
}
static void guards_out_of_order(struct sample *s)
{
	guard_words[0] = 0x12000;
	guard_words[1] = 0x13000;
	guard_words[2] = 0x11000;
	guard_words[3] = 0x12000;
	s->vma[V_ANON].guards = guard_words;
	s->vma[V_ANON].n_guards = 4;
}
static void onfault_unlocked(struct sample *s) { s->vma[V_ANON3].madvise |= VMA_MADV_LOCKONFAULT; }
static void droppable_file(struct sample *s)
{
	s->vma[V_FILE].has_madvise = true;
	s->vma[V_FILE].madvise = VMA_MADV_DROPPABLE;
}
/* The shared file mapping made an AIO ring of 0x2000 bytes: 255 events. */
static void aio_ring(struct sample *s, uint32_t nr, uint32_t head, uint32_t tail)
{
	Vma *v = &s->vma[V_SHARED];

	v->kind = VMA__KIND__AIO;
	v->file_path = NULL;
	v->has_pgoff = v->has_file_dev = v->has_file_ino = v->has_file_size = false;
	v->has_file_writable = false;
	v->has_aio_nr = v->has_aio_head = v->has_aio_tail = true;
	v->aio_nr = nr;
	v->aio_head = head;
	v->aio_tail = tail;
}
static void aio_ring_wrong_size(struct sample *s) { aio_ring(s, 127, 0, 0); }
static void aio_ring_tail_past_end(struct sample *s) { aio_ring(s, 255, 3, 255); }
static void aio_ring_private(struct sample *s)
{
	aio_ring(s, 255, 0, 0);
	s->vma[V_SHARED].flags = MAP_PRIVATE;
}
static void aio_fields_on_anon(struct sample *s)
{
	s->vma[V_ANON].has_aio_nr = true;
	s->vma[V_ANON].aio_nr = 127;
}
/* Hugetlb: a heap never is; a file mapping may be (a hugetlbfs file), so
 * its bounds are checked against its page size (2 MiB: theirs are not). */
static void huge_heap(struct sample *s)
{
	s->vma[V_HEAP].has_huge_page_size = true;
	s->vma[V_HEAP].huge_page_size = 64 << 10;
}
static void huge_file_unaligned(struct sample *s)
{
	s->vma[V_FILE].has_huge_page_size = true;
	s->vma[V_FILE].huge_page_size = 2 << 20;
}
static void odd_auxv(struct sample *s) { s->mm.n_auxv = 3; }
static void auxv_without_null(struct sample *s) { s->auxv[2] = 7; }
static void auxv_early_null(struct sample *s) { s->auxv[0] = 0; }
static void reversed_args(struct sample *s) { s->mm.arg_end = s->mm.arg_start - 1; }
static void brk_below_start(struct sample *s) { s->mm.brk = s->mm.start_brk - PS; }
static void nothing(struct sample *s) { (void)s; }

static const struct page_run pages_outside[] = { { 0x18000, 1, false } };
static const struct page_run pages_in_shared_file[] = { { 0x22000, 1, false } };
/* The vDSO's own pages are saved (for a proxy on another kernel); its data
 * pages never are. */
static const struct page_run pages_in_vvar[] = { { 0x7fff4000, 1, false } };
static const struct page_run pages_over_gap[] = { { 0x13000, 14, false } };
static const struct page_run pages_past_end[] = { { 0x27000, 2, false } };

#define DAMAGE(fn, why) { #fn, fn, 1, good_pages, ARRAY_SIZE(good_pages), why }
#define PAGES(runs, why) { #runs, nothing, 1, runs, ARRAY_SIZE(runs), why }

static const struct bad_case bad_cases[] = {
	DAMAGE(overlap, "is not after the one before"),
	DAMAGE(unaligned, "not page-aligned"),
	DAMAGE(reversed, "empty or reversed"),
	DAMAGE(out_of_order, "is not after the one before"),
	DAMAGE(above_user, "outside the user address space"),
	DAMAGE(moved_vsyscall, "outside the user address space"),
	DAMAGE(bad_kind, "unknown kind"),
	DAMAGE(bad_prot, "unknown prot bits"),
	DAMAGE(bad_flags, "unknown flags"),
	DAMAGE(both_shared_private, "neither or both of MAP_SHARED and MAP_PRIVATE"),
	DAMAGE(anon_without_flag, "MAP_ANONYMOUS does not match its kind"),
	DAMAGE(shared_heap, "shared, which its kind cannot be"),
	DAMAGE(bad_madvise, "unknown madvise bits"),
	DAMAGE(file_without_path, "no file path"),
	DAMAGE(relative_path, "relative file path"),
	DAMAGE(anon_with_path, "file path, which its kind cannot have"),
	DAMAGE(file_without_identity, "no file identity"),
	DAMAGE(file_with_file_object, "file object, which its kind cannot have"),
	DAMAGE(memfd_without_file_object, "no file object (file_id) for a memfd, deleted file"),
	DAMAGE(bad_anon_name, "invalid anon name"),
	DAMAGE(unaligned_pgoff, "invalid file offset"),
	DAMAGE(writable_private, "file_writable on a mapping that is not shared"),
	DAMAGE(odd_guards, "guard regions are not start and end pairs"),
	DAMAGE(guard_outside, "a guard region is unaligned, out of order or outside the mapping"),
	DAMAGE(guards_out_of_order, "a guard region is unaligned, out of order or outside"),
	DAMAGE(onfault_unlocked, "locked on fault but not locked"),
	DAMAGE(droppable_file, "MAP_DROPPABLE on a mapping that is not private anonymous"),
	DAMAGE(aio_ring_wrong_size, "an AIO ring whose size does not fit its mapping"),
	DAMAGE(aio_ring_tail_past_end, "an AIO ring whose size does not fit its mapping, or head or tail past it"),
	DAMAGE(aio_ring_private, "an AIO ring not mapped shared"),
	DAMAGE(huge_heap, "hugetlb, which its kind cannot be"),
	DAMAGE(huge_file_unaligned, "hugetlb, not aligned to its huge page size"),
	DAMAGE(aio_fields_on_anon, "AIO ring fields on a mapping that is no AIO ring"),
	DAMAGE(odd_auxv, "auxv of 3 words"),
	DAMAGE(auxv_without_null, "not pairs ending with AT_NULL"),
	DAMAGE(auxv_early_null, "AT_NULL at word 0"),
	DAMAGE(reversed_args, "the arguments area"),
	DAMAGE(brk_below_start, "the heap area"),
	{ "two_records", nothing, 2, good_pages, ARRAY_SIZE(good_pages), "holds one record, this one holds 2" },
	PAGES(pages_outside, "pages at 0x18000 (in range 0x18000..0x19000) lie in no mapping"),
	PAGES(pages_in_shared_file, "pages at 0x22000"),
	PAGES(pages_in_vvar, "pages at 0x7fff4000"),
	PAGES(pages_over_gap, "pages at 0x14000 (in range 0x13000..0x21000)"),
	PAGES(pages_past_end, "pages at 0x28000"),
};

TEST(damaged_images_are_refused_with_the_reason)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		_cleanup_free_ char *log = NULL;
		struct sample s;
		Mm *mm = NULL;
		int ret;

		sample_init(&s);
		c->mutate(&s);
		ret = load(&s.mm, c->copies, c->pages, c->nr_pages, &mm, &log);
		mm_free(mm);
		CHECK(ret == -EBADMSG, "%s: mm_load returned %d (%s)", c->name, ret,
		      log ? log : "nothing logged");
		CHECK(log && strstr(log, c->why), "%s: the message '%s' lacks '%s'", c->name,
		      log ? log : "", c->why);
		CHECK(strstr(log, c->pages == good_pages ? "/mm-7.img: offset " :
			     "/pagemap-7.img: offset "),
		      "%s: the message '%s' does not name the file", c->name, log);
	}
}

/* Read on its own (cryo show), an mm image gets the same checks. */
TEST(damaged_image_file_is_refused_on_its_own)
{
	_cleanup_tree_ char *tmp = make_temp_dir();
	_cleanup_free_ char *path = NULL, *log = NULL;
	struct image *img = NULL;
	struct capture cap;
	struct sample s;
	int ret;

	CHECK(tmp && (path = path_join(tmp, "mm-7.img")), "scratch directory");
	sample_init(&s);
	overlap(&s);
	CHECK(!write_image(tmp, &s.mm, 1, good_pages, ARRAY_SIZE(good_pages)), "write failed");
	capture_begin(&cap, 2);
	ret = image_read_file(path, &img);
	log = capture_end(&cap);
	image_free(img);
	CHECK(ret == -EBADMSG && log && strstr(log, "is not after the one before"),
	      "returned %d: %s", ret, log ? log : "");
}
