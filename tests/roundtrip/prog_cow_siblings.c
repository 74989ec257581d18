/* Pages that only siblings still share copy-on-write stay shared through
 * restore: the parent fills PAGES pages and forks FIRST (which forks a
 * grandchild), SECOND (which writes page OWN_PAGE), LAST and MOVED (which
 * moves the area elsewhere), then writes its own copy of the first half
 * and unmaps the second. After restore the parent reads each pagemap and
 * page: FIRST, SECOND, LAST, the grandchild and MOVED (at its new
 * address) share each page's frame (but SECOND's own page), none the
 * parent's, every page holds the bytes it should; then LAST writes a
 * page, which its siblings must not see. The same holds in a private
 * mapping of a file of FILE_PAGES pages, which the parent wrote whole
 * before the forks and rewrites after them (MOVED moves it too): each
 * child's pages are anonymous copies on the first child's frames. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096
#define PAGES 32
#define KEPT 16		/* the parent writes pages [0, KEPT) and unmaps the rest */
#define OWN_PAGE 5	/* SECOND writes it before the dump */
#define LAST_PAGE 2	/* LAST writes it after restore */
#define FILE_PAGES 8
#define PFN_MASK ((1ULL << 55) - 1)
#define PM_FILE (1ULL << 61)
#define PRESENT (1ULL << 63)

enum kind { PARENT, FIRST, GRANDCHILD, SECOND, LAST, MOVED, NR_KINDS, REWRITTEN = NR_KINDS };

struct proc {
	pid_t pid;
	enum kind kind;
	char *area;	/* where it maps the area now */
	char *file_area;	/* and its private mapping of the file */
};

static uint64_t word(int who, size_t page, size_t i)
{
	return 0x51b1000000000000ULL | (uint64_t)who << 40 | (uint64_t)page << 20 | i;
}

/* Page @at with @who's words for page number @page. */
static void fill_words(char *at, int who, size_t page)
{
	uint64_t *w = (uint64_t *)at;

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = word(who, page, i);
}

static void fill_page(char *area, int who, size_t page)
{
	fill_words(area + page * PAGE, who, page);
}

/* Whose bytes page @page of @kind holds: the parent's from before the
 * forks, but for pages written since. @last_wrote: LAST wrote its page. */
static int writer_of(enum kind kind, size_t page, bool last_wrote)
{
	if (kind == PARENT)
		return REWRITTEN;
	if (kind == SECOND && page == OWN_PAGE)
		return SECOND;
	if (kind == LAST && page == LAST_PAGE && last_wrote)
		return LAST;
	return PARENT;
}

/* The frames of @n pages of @p's area, each present, and its bytes. */
static bool check_proc(const char *when, const struct proc *p, size_t n, bool last_wrote,
		       uint64_t *frames)
{
	static uint64_t w[PAGE / 8];

	if (!prog_read_proc(p->pid, "pagemap", frames, n * sizeof(*frames),
		       (off_t)((uintptr_t)p->area / PAGE * sizeof(*frames))))
		return false;
	for (size_t page = 0; page < n; page++) {
		int who = writer_of(p->kind, page, last_wrote);

		if (!(frames[page] & PRESENT) || !(frames[page] & PFN_MASK))
			return prog_fail("%s: pid %d (kind %d): page %zu is not present or has no "
					 "frame number (%#llx)", when, p->pid, p->kind, page,
					 (unsigned long long)frames[page]);
		frames[page] &= PFN_MASK;
		if (!prog_read_proc(p->pid, "mem", w, PAGE, (off_t)(uintptr_t)(p->area + page * PAGE)))
			return false;
		for (size_t i = 0; i < PAGE / 8; i++)
			if (w[i] != word(who, page, i))
				return prog_fail("%s: pid %d (kind %d): page %zu word %zu is %#llx, "
						 "not %d's", when, p->pid, p->kind, page, i,
						 (unsigned long long)w[i], who);
	}
	return true;
}

/* Every page of FIRST, the grandchild, SECOND, LAST and MOVED on one
 * frame (but pages written since the fork), none on the parent's; the
 * bytes of all; the parent's second half unmapped. */
static void check_all(const struct proc *procs, const char *when, bool last_wrote)
{
	static uint64_t frames[NR_KINDS][PAGES];
	static const enum kind sharing[] = { GRANDCHILD, SECOND, LAST, MOVED };
	unsigned char vec;

	for (enum kind k = PARENT; k < NR_KINDS; k++)
		if (procs[k].pid &&
		    !check_proc(when, &procs[k], k == PARENT ? KEPT : PAGES, last_wrote, frames[k]))
			return;
	PROG_CHECK(mincore(procs[PARENT].area + KEPT * PAGE, PAGE, &vec) && errno == ENOMEM,
		   "%s: the parent's unmapped pages are mapped", when);
	for (size_t page = 0; page < PAGES; page++) {
		if (page < KEPT && frames[FIRST][page] == frames[PARENT][page])
			return (void)prog_fail("%s: page %zu of the first child is on the parent's "
					       "rewritten frame", when, page);
		for (size_t s = 0; s < sizeof(sharing) / sizeof(*sharing); s++) {
			enum kind k = sharing[s];
			bool own = writer_of(k, page, last_wrote) != PARENT;

			if (!procs[k].pid || own == (frames[k][page] != frames[FIRST][page]))
				continue;
			return (void)prog_fail("%s: page %zu of pid %d (kind %d) %s the first "
					       "child's frame", when, page, procs[k].pid, k,
					       own ? "shares" : "does not share");
		}
	}
}

/* The file mapping's pages: in each child an anonymous copy with the
 * parent's bytes from before the forks, on the first child's frame and
 * not on the parent's, whose bytes are its rewritten ones. */
static void check_file(const struct proc *procs, const char *when)
{
	static uint64_t w[PAGE / 8];
	uint64_t frames[NR_KINDS][FILE_PAGES];

	for (enum kind k = PARENT; k < NR_KINDS; k++) {
		const struct proc *p = &procs[k];

		if (!p->pid)
			continue;
		if (!prog_read_proc(p->pid, "pagemap", frames[k], sizeof(frames[k]),
				    (off_t)((uintptr_t)p->file_area / PAGE * sizeof(uint64_t))))
			return;
		for (size_t page = 0; page < FILE_PAGES; page++) {
			uint64_t e = frames[k][page];

			if (!(e & PRESENT) || (e & PM_FILE) || !(e & PFN_MASK))
				return (void)prog_fail("%s: pid %d (kind %d): file page %zu is not "
						       "an anonymous copy (%#llx)", when, p->pid,
						       k, page, (unsigned long long)e);
			if (k != PARENT && k != FIRST &&
			    (e & PFN_MASK) != (frames[FIRST][page] & PFN_MASK))
				return (void)prog_fail("%s: pid %d (kind %d): file page %zu is not "
						       "on the first child's frame", when, p->pid,
						       k, page);
			if (k == FIRST && (e & PFN_MASK) == (frames[PARENT][page] & PFN_MASK))
				return (void)prog_fail("%s: file page %zu of the first child is on "
						       "the parent's rewritten frame", when, page);
			if (!prog_read_proc(p->pid, "mem", w, PAGE,
					    (off_t)(uintptr_t)(p->file_area + page * PAGE)))
				return;
			for (size_t i = 0; i < PAGE / 8; i++)
				if (w[i] != word(k == PARENT ? REWRITTEN : PARENT, 100 + page, i))
					return (void)prog_fail("%s: pid %d (kind %d): file page %zu "
							       "word %zu is %#llx", when, p->pid, k,
							       page, i, (unsigned long long)w[i]);
		}
	}
}

/* Child @kind: writes or moves its area as its kind says, says where it
 * has it in @table[kind] and through @ready (prog_child_ready()), waits. */
static void __attribute__((noreturn)) run_child(enum kind kind, char *area, struct proc *table,
					       int ready[2])
{
	struct proc me = { .pid = getpid(), .kind = kind, .area = area,
			   .file_area = table[PARENT].file_area };
	pid_t child = 0;
	int status;

	if (kind == SECOND)
		fill_page(area, SECOND, OWN_PAGE);
	if (kind == MOVED) {
		char *to = mmap(NULL, PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		char *file_to = mmap(NULL, FILE_PAGES * PAGE, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		me.area = to == MAP_FAILED ? MAP_FAILED :
					     mremap(area, PAGES * PAGE, PAGES * PAGE,
						    MREMAP_MAYMOVE | MREMAP_FIXED, to);
		me.file_area = file_to == MAP_FAILED ? MAP_FAILED :
			       mremap(table[PARENT].file_area, FILE_PAGES * PAGE, FILE_PAGES * PAGE,
				      MREMAP_MAYMOVE | MREMAP_FIXED, file_to);
		if (me.area == MAP_FAILED || me.file_area == MAP_FAILED)
			_exit(1);
	}
	if (kind == FIRST) {
		child = fork();
		if (child == 0)
			run_child(GRANDCHILD, area, table, ready);
		if (child < 0)
			_exit(1);
	}
	table[kind] = me;
	prog_child_ready(ready);
	prog_wait_sigterm();
	/* After restore: a write breaks sharing for this process alone. */
	if (kind == LAST) {
		fill_page(area, LAST, LAST_PAGE);
		_exit(*(uint64_t *)(area + LAST_PAGE * PAGE) == word(LAST, LAST_PAGE, 0) ? 0 : 2);
	}
	if (child && (kill(child, SIGTERM) || waitpid(child, &status, 0) != child || status))
		_exit(3);
	_exit(0);
}

/* Ends child @k with SIGTERM, which must exit 0. */
static void end_child(const struct proc *procs, enum kind k)
{
	int status = -1;

	kill(procs[k].pid, SIGTERM);
	PROG_CHECK(waitpid(procs[k].pid, &status, 0) == procs[k].pid && status == 0,
		   "child %d (kind %d) ended with status %#x", procs[k].pid, k, status);
}

int main(int argc, char **argv)
{
	struct proc procs[NR_KINDS] = { { .pid = getpid(), .kind = PARENT } };
	struct proc *table = mmap(NULL, sizeof(procs), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char byte, path[4096];
	int ready[2], fd;

	prog_init(argc, argv);
	snprintf(path, sizeof(path), "%s/mapped", prog_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	procs[PARENT].area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	procs[PARENT].file_area = fd < 0 || ftruncate(fd, FILE_PAGES * PAGE) ? MAP_FAILED :
				  mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				       fd, 0);
	if (table == MAP_FAILED || procs[PARENT].area == MAP_FAILED ||
	    procs[PARENT].file_area == MAP_FAILED || close(fd) || pipe(ready))
		return 1;
	for (size_t p = 0; p < PAGES; p++)
		fill_page(procs[PARENT].area, PARENT, p);
	/* The file's pages as anonymous copies, shared by the forks. */
	for (size_t p = 0; p < FILE_PAGES; p++)
		fill_words(procs[PARENT].file_area + p * PAGE, PARENT, 100 + p);
	table[PARENT] = procs[PARENT];
	for (enum kind k = FIRST; k < NR_KINDS; k++) {
		pid_t pid;

		if (k == GRANDCHILD)
			continue;
		pid = fork();
		if (pid == 0)
			run_child(k, procs[PARENT].area, table, ready);
		if (pid < 0)
			return 1;
	}
	close(ready[1]);
	while (read(ready[0], &byte, 1) == 1)
		;
	close(ready[0]);
	for (enum kind k = FIRST; k < NR_KINDS; k++) {
		if (table[k].kind != k || !table[k].pid)
			return 1;
		procs[k] = table[k];
	}
	/* Only the children share the area's first frames from now on. */
	for (size_t p = 0; p < KEPT; p++)
		fill_page(procs[PARENT].area, REWRITTEN, p);
	for (size_t p = 0; p < FILE_PAGES; p++)
		fill_words(procs[PARENT].file_area + p * PAGE, REWRITTEN, 100 + p);
	if (munmap(procs[PARENT].area + KEPT * PAGE, (PAGES - KEPT) * PAGE))
		return 1;
	check_all(procs, "before the dump", false);
	check_file(procs, "before the dump");
	prog_ready();
	prog_wait_sigterm();

	check_all(procs, "after restore", false);
	check_file(procs, "after restore");
	end_child(procs, LAST);
	procs[LAST].pid = 0;
	check_all(procs, "after the last child wrote a page", true);
	end_child(procs, FIRST);
	end_child(procs, SECOND);
	end_child(procs, MOVED);
	prog_finish();
}
