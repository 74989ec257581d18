/* Neighbouring anonymous mappings that restore maps with one mmap and
 * fills with one read (restore/map_runs.c), and the neighbours it must
 * keep apart: read-write and read-only pages in turn, a PROT_NONE page
 * with bytes and one without, a page left untouched and one written with
 * zeros, MADV_DONTFORK on one page, MAP_NORESERVE pages, MADV_WIPEONFORK
 * on one page. After restore every mapping of the region has the same
 * bounds, protection and VmFlags as before (smaps, compared as text), and
 * every page its bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

#define PAGE 4096ul
#define NPAGES 40
#define LAYOUT_MAX 16384

static char *base;

static char pattern(size_t page, size_t i)
{
	return (char)(page * 13 + i * 7 + 1);
}

static void fill_page(size_t page)
{
	for (size_t i = 0; i < PAGE; i++)
		base[page * PAGE + i] = pattern(page, i);
}

static bool set_prot(size_t page, size_t pages, int prot)
{
	return PROG_CHECK(!mprotect(base + page * PAGE, pages * PAGE, prot), "mprotect page %zu: %s",
			  page, strerror(errno));
}

/* Removes @code (" xx ") from a VmFlags @line, once. */
static void drop_flag(char *line, const char *code)
{
	char *at = strstr(line, code);

	if (at)
		memmove(at, at + 3, strlen(at + 3) + 1);
}

/* Every smaps entry inside the region: its header and VmFlags lines. */
static void layout(char *out, size_t size)
{
	char line[512];
	bool inside = false;
	size_t used = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	*out = '\0';
	if (!PROG_CHECK(f != NULL, "cannot open smaps"))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    line[strspn(line, "0123456789abcdef")] == '-')
			inside = start >= (uintptr_t)base && end <= (uintptr_t)base + NPAGES * PAGE;
		else if (!inside || strncmp(line, "VmFlags:", 8))
			continue;
		/* "ac" (VM_ACCOUNT, charged to the commit limit) is not restored:
		 * a PROT_NONE page that was once writable comes back without it.
		 * "um": a lazy restore's mapping is registered with the page
		 * server's userfaultfd until all its pages are in. */
		if (!strncmp(line, "VmFlags:", 8)) {
			drop_flag(line, " ac ");
			drop_flag(line, " um ");
		}
		if (inside && used + strlen(line) < size)
			used += (size_t)snprintf(out + used, size - used, "%s", line);
	}
	fclose(f);
}

/* Names the first line of @after that differs from @before's. */
static void check_same_layout(const char *before, const char *after)
{
	size_t line = 0, i = 0;

	while (before[i] && before[i] == after[i])
		i++;
	if (!before[i] && !after[i])
		return;
	while (i && before[i - 1] != '\n')
		i--;
	line = i;
	prog_fail("the mappings differ from \"%.*s\" on: now \"%.*s\"",
		  (int)strcspn(before + line, "\n"), before + line,
		  (int)strcspn(after + line, "\n"), after + line);
}

static void check_page(size_t page, bool zero)
{
	for (size_t i = 0; i < PAGE; i++) {
		char want = zero ? 0 : pattern(page, i);

		if (!PROG_CHECK(base[page * PAGE + i] == want, "page %zu byte %zu: %d, not %d",
				page, i, base[page * PAGE + i], want))
			return;
	}
}

int main(int argc, char **argv)
{
	static char before[LAYOUT_MAX], after[LAYOUT_MAX];
	char *noreserve;

	prog_init(argc, argv);
	base = mmap(NULL, (NPAGES + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 2;
	base += PAGE;
	if (mprotect(base, NPAGES * PAGE, PROT_READ | PROT_WRITE))
		return 2;
	for (size_t p = 0; p < NPAGES; p++)
		if (p != 16 && p != 30 && p != 31)
			fill_page(p);
	/* 0-15: read-write and read-only in turn. */
	for (size_t p = 1; p < 16; p += 2)
		set_prot(p, 1, PROT_READ);
	/* 16: PROT_NONE and never written; 17-20 read-write, 18 not inherited. */
	set_prot(16, 1, PROT_NONE);
	PROG_CHECK(!madvise(base + 18 * PAGE, PAGE, MADV_DONTFORK), "MADV_DONTFORK");
	/* 21-24: a mapping of its own that reserves no swap. */
	noreserve = mmap(base + 21 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (!PROG_CHECK(noreserve == base + 21 * PAGE, "MAP_NORESERVE mapping"))
		prog_finish();
	for (size_t p = 21; p < 25; p++)
		fill_page(p);
	/* 25-28: read-only, PROT_NONE holding bytes, read-only, read-write. */
	set_prot(25, 1, PROT_READ);
	set_prot(26, 1, PROT_NONE);
	set_prot(27, 1, PROT_READ);
	/* 30 untouched, 31 written with zeros. */
	memset(base + 31 * PAGE, 0, PAGE);
	/* 34: wiped in a child, between two pages that are not. */
	PROG_CHECK(!madvise(base + 34 * PAGE, PAGE, MADV_WIPEONFORK), "MADV_WIPEONFORK: %s",
		   strerror(errno));
	/* 39: read-only at the end. */
	set_prot(39, 1, PROT_READ);
	layout(before, sizeof(before));
	PROG_CHECK(strstr(before, " wf") && strstr(before, " dc"), "no advice in smaps:\n%s",
		   before);
	prog_ready();
	prog_wait_sigterm();

	layout(after, sizeof(after));
	check_same_layout(before, after);
	set_prot(16, 1, PROT_READ);
	set_prot(26, 1, PROT_READ);
	for (size_t p = 0; p < NPAGES; p++)
		check_page(p, p == 16 || p == 30 || p == 31);
	prog_finish();
}
