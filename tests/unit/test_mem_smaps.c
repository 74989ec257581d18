/* The smaps parser on crafted text without file-backed mappings (those
 * are tested on a real process in test_mem.c): every VmFlags code we read,
 * and what this kernel cannot show (anon names, hugetlb without its file,
 * device memory). */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "test_images_util.h"
#include "mem/vma.h"

/* Parses @text as the smaps of this process. */
static int parse(const char *text, struct vma_list *list, char **log)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct capture cap;
	int ret;

	if (!f)
		return -ENOMEM;
	capture_begin(&cap, 2);
	ret = vma_list_parse(getpid(), f, list);
	*log = capture_end(&cap);
	fclose(f);
	return ret;
}

#define FIELDS(rss, flags)                                  \
	"Size:                 16 kB\n"                      \
	"KernelPageSize:        4 kB\n"                      \
	"Rss:                  " rss " kB\n"                 \
	"AnonHugePages:         0 kB\n"                      \
	"Swap:                  4 kB\n"                      \
	"SwapPss:               0 kB\n"                      \
	"THPeligible:           0\n"                         \
	"VmFlags: " flags "\n"

static const char good[] =
	"10000-14000 rw-p 00000000 00:00 0 \n"
	FIELDS("8", "rd wr mr mw me ac")
	"14000-18000 rw-p 00000000 00:00 0                          [anon:my buffer: 1]\n"
	FIELDS("0", "rd wr mr mw me ac dc wf hg dd mg")
	"20000-24000 r--p 00000000 00:00 0                          [heap]\n"
	FIELDS("0", "rd mr mw me ac nh")
	"30000-34000 rw-p 00000000 00:00 0 \n"
	FIELDS("0", "rd wr mr mw me gd nr lo lf gu")
	"40000-44000 rw-p 00000000 00:00 0 \n"
	FIELDS("0", "rd wr mr mw me nr wf dd dp")
	"7ffd0000-7ffd4000 rw-p 00000000 00:00 0                    [stack]\n"
	FIELDS("16", "rd wr mr mw me gd ac")
	"7ffe0000-7ffe4000 r--p 00000000 00:00 0                    [vvar]\n"
	FIELDS("0", "rd mr pf io de dd")
	"7ffe4000-7ffe6000 r--p 00000000 00:00 0                    [vvar_vclock]\n"
	FIELDS("0", "rd mr pf io de dd")
	"7ffe6000-7ffe8000 r-xp 00000000 00:00 0                    [vdso]\n"
	FIELDS("8", "rd ex mr mw me de")
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0    [vsyscall]\n"
	FIELDS("0", "ex");

TEST(smaps_entries_become_vmas)
{
	struct vma_list list = { 0 };
	_cleanup_free_ char *log = NULL;
	const Vma *v;
	int ret = parse(good, &list, &log);

	CHECK_GOTO(!ret, out, "parse failed: %s", log);
	CHECK_GOTO(list.nr == 10, out, "%zu mappings", list.nr);

	v = list.vmas[0];
	CHECK_GOTO(v->start == 0x10000 && v->end == 0x14000 && v->kind == VMA__KIND__ANON &&
		   v->prot == (PROT_READ | PROT_WRITE) && v->flags == (MAP_PRIVATE | MAP_ANONYMOUS) &&
		   v->madvise == 0 && !v->anon_name && !v->file_path, out, "plain anon");
	CHECK_GOTO(list.resident[0] == 12 * 1024, out, "resident %llu: Rss + Swap",
		   (unsigned long long)list.resident[0]);

	v = list.vmas[1];
	CHECK_GOTO(v->kind == VMA__KIND__ANON && v->anon_name &&
		   !strcmp(v->anon_name, "my buffer: 1") &&
		   v->madvise == (VMA_MADV_DONTFORK | VMA_MADV_WIPEONFORK | VMA_MADV_HUGEPAGE |
				  VMA_MADV_DONTDUMP | VMA_MADV_MERGEABLE), out,
		   "named anon: '%s' madvise %#x", v->anon_name ? v->anon_name : "", v->madvise);

	v = list.vmas[2];
	CHECK_GOTO(v->kind == VMA__KIND__HEAP && v->prot == PROT_READ &&
		   v->flags == (MAP_PRIVATE | MAP_ANONYMOUS) && v->madvise == VMA_MADV_NOHUGEPAGE,
		   out, "heap");

	v = list.vmas[3];
	CHECK_GOTO(v->kind == VMA__KIND__ANON &&
		   v->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_NORESERVE), out,
		   "grows-down, no-reserve anon: flags %#x", v->flags);
	CHECK_GOTO(v->madvise == (VMA_MADV_LOCKED | VMA_MADV_LOCKONFAULT) && list.guarded[3] &&
		   !list.guarded[2], out, "locked on fault, guarded: madvise %#x", v->madvise);
	v = list.vmas[4];
	CHECK_GOTO(v->kind == VMA__KIND__ANON && v->flags == (MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_NORESERVE) && v->madvise == (VMA_MADV_DROPPABLE | VMA_MADV_WIPEONFORK |
		   VMA_MADV_DONTDUMP), out, "droppable: flags %#x madvise %#x", v->flags,
		   v->madvise);

	v = list.vmas[5];
	CHECK_GOTO(v->kind == VMA__KIND__STACK &&
		   v->flags == (MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN), out, "stack");

	CHECK_GOTO(list.vmas[6]->kind == VMA__KIND__VVAR && list.vmas[6]->flags == MAP_PRIVATE &&
		   list.vmas[7]->kind == VMA__KIND__VVAR_VCLOCK &&
		   list.vmas[8]->kind == VMA__KIND__VDSO &&
		   list.vmas[8]->prot == (PROT_READ | PROT_EXEC), out, "vvar, vvar_vclock, vdso");
	v = list.vmas[9];
	CHECK_GOTO(v->kind == VMA__KIND__VSYSCALL && v->start == VMA_VSYSCALL_START &&
		   v->prot == PROT_EXEC, out, "vsyscall");
	CHECK_GOTO(vma_pages(list.vmas[0]) == VMA_PAGES_ANON &&
		   vma_pages(list.vmas[2]) == VMA_PAGES_ANON &&
		   vma_pages(list.vmas[6]) == VMA_PAGES_NONE &&
		   vma_pages(list.vmas[8]) == VMA_PAGES_ALL, out, "which pages to save");
out:
	vma_list_free(&list);
}

/* What dump cannot save faithfully is refused, naming the mapping. */
TEST(unsupported_mappings_are_refused)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "10000-210000 rw-p 00000000 00:00 0 \n" FIELDS("0", "rd wr mr mw me ht"),
		  "10000..210000: hugetlb mapping with a page size of 4 kB and no hugetlbfs file" },
		{ "10000-14000 r--p 00000000 00:00 0 \n" FIELDS("0", "rd mr mw me ss"),
		  "10000..14000: shadow stacks are not supported" },
		{ "10000-14000 rw-p 00000000 00:00 0 \n" FIELDS("0", "rd wr mr mw me pf io"),
		  "10000..14000: device memory" },
		{ "10000-14000 r-xp 00000000 00:00 0     [uprobes]\n" FIELDS("0", "rd ex mr"),
		  "10000..14000 [uprobes]: unsupported kind of mapping" },
		{ "10000-14000 rw-p 00000000 00:00 0     anon_inode:[io_uring]\n"
		  FIELDS("0", "rd wr mr mw"),
		  "anon_inode:[io_uring]: unsupported kind of mapping" },
		{ "10000-14000 rw-p 00000000 00:00 0 \nSize: 16 kB\n",
		  "10000..14000: smaps shows no VmFlags" },
		{ "20000-24000 rw-p 00000000 00:00 0 \n" FIELDS("0", "rd") "10000-14000 rw-p 00000000 00:00 0 \n"
		  FIELDS("0", "rd"), "10000..14000: smaps lists it out of order" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vma_list list = { 0 };
		_cleanup_free_ char *log = NULL;
		int ret = parse(cases[i].text, &list, &log);

		vma_list_free(&list);
		CHECK(ret < 0, "case %zu was accepted", i);
		CHECK(log && strstr(log, cases[i].why) && strstr(log, "dump: pid "),
		      "case %zu: message '%s' lacks '%s'", i, log ? log : "", cases[i].why);
	}
}

/* More text than read_smaps() reads at a time (a MiB), entries cut
 * anywhere across its reads, and a last line without its newline. */
TEST(smaps_longer_than_a_read_is_parsed_whole)
{
	enum { NR = 9000 };
	size_t cap = NR * 400, used = 0;
	_cleanup_free_ char *text = malloc(cap), *log = NULL;
	struct vma_list list = { 0 };
	int ret;

	CHECK(text, "malloc");
	for (int i = 0; i < NR; i++)
		used += (size_t)snprintf(text + used, cap - used,
					 "%x-%x %s 00000000 00:00 0 \n" FIELDS("4", "%s"),
					 0x10000 + i * 0x2000, 0x11000 + i * 0x2000,
					 i % 2 ? "r--p" : "rw-p", i % 3 ? "rd mr mw me" : "rd mr mw me dc");
	CHECK(used > (2u << 20) && used < cap, "%zu bytes", used);
	text[used - 1] = '\0';		/* the last VmFlags line loses its newline */
	ret = parse(text, &list, &log);
	CHECK_GOTO(!ret, out, "parse failed: %s", log);
	CHECK_GOTO(list.nr == NR, out, "%zu mappings of %d", list.nr, NR);
	for (int i = 0; i < NR; i++) {
		const Vma *v = list.vmas[i];

		CHECK_GOTO(v->start == 0x10000u + i * 0x2000u && v->end == v->start + 0x1000 &&
			   v->prot == (i % 2 ? PROT_READ : PROT_READ | PROT_WRITE) &&
			   v->madvise == (i % 3 ? 0 : VMA_MADV_DONTFORK) &&
			   list.resident[i] == 8 * 1024, out, "mapping %d", i);
	}
out:
	vma_list_free(&list);
}
