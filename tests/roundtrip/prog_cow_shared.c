/* Pages shared copy-on-write since fork stay shared through restore, also
 * where the child moved, cut or split the mapping, on the stack, and in a
 * private file mapping: the parent fills 64 pages of an area (and 2 pages
 * of its stack), writes the first FILE_WRITTEN of FILE_PAGES pages of a
 * private mapping of a file, and forks four children. The first writes
 * page CHILD_PAGE and forks a grandchild, which writes GRANDCHILD_PAGE; the
 * others write a page each and then move the whole area elsewhere
 * (mremap, the file mapping too), unmap its middle, or make a part of it
 * read-only; each writes one page of the file mapping too. After restore the parent reads each
 * one's pagemap: a page shares the parent's frame (wherever the child has
 * it now) exactly when no one wrote it since the fork, the grandchild
 * shares the child's but for its own page, every stack page is shared, a
 * file page no one wrote is the file's (PM_FILE) in every process, and
 * every page holds the bytes it should (read through /proc/PID/mem). */
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
#define PAGES 64
#define STACK_PAGES 2
#define PFN_MASK ((1ULL << 55) - 1)
#define PM_FILE (1ULL << 61)	/* a page of the file, or shared anonymous */
#define PRESENT (1ULL << 63)
#define FILE_PAGES 12
#define FILE_WRITTEN 8	/* the parent writes file pages [0, FILE_WRITTEN) */

/* Who each process is, and the page it writes after the fork. */
enum kind { PARENT, CHILD, GRANDCHILD, MOVED, HOLED, PROTECTED, NR_KINDS };
static const size_t written_page[NR_KINDS] = { 0, 5, 9, 13, 40, 50 };
/* The page of the file mapping each writes after the fork (the grandchild
 * one the parent left the file's); NR_KINDS: the file's own bytes. */
static const size_t file_written_page[NR_KINDS] = { 0, 1, 10, 3, 4, 6 };
#define FILE_BYTES NR_KINDS
#define HOLE_FIRST 20	/* HOLED unmaps pages [HOLE_FIRST, HOLE_END) */
#define HOLE_END 30
#define RDONLY_FIRST 44	/* PROTECTED makes [RDONLY_FIRST, RDONLY_END) read-only */
#define RDONLY_END 56

struct proc {
	pid_t pid;
	enum kind kind;
	char *area;	/* where it maps the parent's area now */
	char *file;	/* its private mapping of the file */
};

static uint64_t word(int who, size_t page, size_t i)
{
	return 0xc0e5000000000000ULL | (uint64_t)who << 40 | (uint64_t)page << 20 | i;
}

/* Page @page of the area (or PAGES + n: page n of the stack pages) at @at. */
static void fill_page_at(char *at, int who, size_t page)
{
	uint64_t *w = (uint64_t *)at;

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = word(who, page, i);
}

static void fill_page(char *area, int who, size_t page)
{
	fill_page_at(area + page * PAGE, who, page);
}

/* Which process's bytes page @page of @kind holds (PARENT: no one's since
 * the fork). */
static enum kind writer_of(enum kind kind, size_t page)
{
	if (kind == GRANDCHILD && page == written_page[CHILD])
		return CHILD;
	return kind != PARENT && page == written_page[kind] ? kind : PARENT;
}

/* The same for page @page of the file mapping. */
static enum kind file_writer_of(enum kind kind, size_t page)
{
	if (kind == GRANDCHILD && page == file_written_page[CHILD])
		return CHILD;
	if (kind != PARENT && page == file_written_page[kind])
		return kind;
	return page < FILE_WRITTEN ? PARENT : FILE_BYTES;
}

static bool mapped(enum kind kind, size_t page)
{
	return kind != HOLED || page < HOLE_FIRST || page >= HOLE_END;
}

/* The frames of @n pages at @at in process @pid; 0 for a page @skip says
 * is not mapped. */
static bool frames(pid_t pid, const char *at, size_t n, enum kind skip, uint64_t *out)
{
	if (!prog_read_proc(pid, "pagemap", out, n * sizeof(*out),
		       (off_t)((uintptr_t)at / PAGE * sizeof(*out))))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!mapped(skip, i)) {
			out[i] = 0;
			continue;
		}
		if (!(out[i] & PRESENT) || !(out[i] & PFN_MASK))
			return prog_fail("pid %d: page %zu at %p is not present or has no frame "
					 "number (%#llx)", pid, i, (void *)(at + i * PAGE),
					 (unsigned long long)out[i]);
		out[i] &= PFN_MASK;
	}
	return true;
}

/* Page by page, @p shares @q's frame exactly when both hold the same
 * process's bytes: of the area, or with @file of the file mapping. */
static bool frames_match(const char *when, const struct proc *p, const struct proc *q,
			 const uint64_t *pf, const uint64_t *qf, bool file)
{
	for (size_t i = 0; i < (file ? FILE_PAGES : PAGES); i++) {
		bool want = file ? file_writer_of(p->kind, i) == file_writer_of(q->kind, i) :
				   writer_of(p->kind, i) == writer_of(q->kind, i);

		if (!file && (!mapped(p->kind, i) || !mapped(q->kind, i)))
			continue;
		if ((pf[i] == qf[i]) == want)
			continue;
		return prog_fail("%s: %s page %zu of pid %d (kind %d, at %p) %s pid %d's (kind %d)",
				 when, file ? "file" : "area", i, p->pid, p->kind,
				 (void *)((file ? p->file : p->area) + i * PAGE),
				 want ? "does not share the frame of" : "shares the frame of",
				 q->pid, q->kind);
	}
	return true;
}

/* The frames of @p's file mapping, each page the file's own (PM_FILE)
 * exactly when no one wrote it. */
static bool file_frames(const struct proc *p, uint64_t *out)
{
	if (!prog_read_proc(p->pid, "pagemap", out, FILE_PAGES * sizeof(*out),
		       (off_t)((uintptr_t)p->file / PAGE * sizeof(*out))))
		return false;
	for (size_t i = 0; i < FILE_PAGES; i++) {
		bool want_file = file_writer_of(p->kind, i) == FILE_BYTES;

		if (!(out[i] & PRESENT) || !(out[i] & PFN_MASK))
			return prog_fail("pid %d: file page %zu is not present or has no frame "
					 "number (%#llx)", p->pid, i, (unsigned long long)out[i]);
		if (!!(out[i] & PM_FILE) != want_file)
			return prog_fail("pid %d: file page %zu is %s, not %s", p->pid, i,
					 want_file ? "a copy" : "the file's page",
					 want_file ? "the file's page" : "a copy");
		out[i] &= PFN_MASK;
	}
	return true;
}

/* The bytes of @p's area and of the stack pages, read through
 * /proc/PID/mem: process_vm_readv() pins pages, and the kernel unshares a
 * shared page before pinning it. */
static bool bytes_right(const struct proc *p, const char *stack)
{
	static uint64_t w[PAGE / 8];

	for (size_t page = 0; page < PAGES + STACK_PAGES; page++) {
		bool in_stack = page >= PAGES;
		const char *at = in_stack ? stack + (page - PAGES) * PAGE : p->area + page * PAGE;
		enum kind by = in_stack ? PARENT : writer_of(p->kind, page);

		if (!in_stack && !mapped(p->kind, page))
			continue;
		if (!prog_read_proc(p->pid, "mem", w, PAGE, (off_t)(uintptr_t)at))
			return false;
		for (size_t i = 0; i < PAGE / 8; i++)
			if (w[i] != word(by, page, i))
				return prog_fail("pid %d: page %zu word %zu is %#llx", p->pid, page,
						 i, (unsigned long long)w[i]);
	}
	for (size_t page = 0; page < FILE_PAGES; page++) {
		enum kind by = file_writer_of(p->kind, page);

		if (!prog_read_proc(p->pid, "mem", w, PAGE, (off_t)(uintptr_t)(p->file + page * PAGE)))
			return false;
		for (size_t i = 0; i < PAGE / 8; i++)
			if (w[i] != word(by, page, i))
				return prog_fail("pid %d: file page %zu word %zu is %#llx", p->pid,
						 page, i, (unsigned long long)w[i]);
	}
	return true;
}

static void check_all(const struct proc *procs, const char *stack, const char *when)
{
	static uint64_t area_frames[NR_KINDS][PAGES], stack_frames[NR_KINDS][STACK_PAGES];
	static uint64_t file_pfns[NR_KINDS][FILE_PAGES];

	for (int k = 0; k < NR_KINDS; k++)
		if (!bytes_right(&procs[k], stack) ||
		    !frames(procs[k].pid, procs[k].area, PAGES, k, area_frames[k]) ||
		    !frames(procs[k].pid, stack, STACK_PAGES, PARENT, stack_frames[k]) ||
		    !file_frames(&procs[k], file_pfns[k]))
			return;
	for (int k = CHILD; k < NR_KINDS; k++) {
		if (!frames_match(when, &procs[k], &procs[PARENT], area_frames[k],
				  area_frames[PARENT], false) ||
		    !frames_match(when, &procs[k], &procs[PARENT], file_pfns[k],
				  file_pfns[PARENT], true))
			return;
		for (size_t i = 0; i < STACK_PAGES; i++)
			if (stack_frames[k][i] != stack_frames[PARENT][i])
				return (void)prog_fail("%s: stack page %zu of pid %d (kind %d) is "
						       "not on its parent's frame", when, i,
						       procs[k].pid, k);
	}
	if (frames_match(when, &procs[GRANDCHILD], &procs[CHILD], area_frames[GRANDCHILD],
			 area_frames[CHILD], false))
		frames_match(when, &procs[GRANDCHILD], &procs[CHILD], file_pfns[GRANDCHILD],
			     file_pfns[CHILD], true);
}

/* Waits for SIGTERM, ends its own child the same way, and exits. */
static void __attribute__((noreturn)) wait_and_end(pid_t child)
{
	int status;

	prog_wait_sigterm();
	if (child > 0) {
		kill(child, SIGTERM);
		if (waitpid(child, &status, 0) != child || status)
			_exit(1);
	}
	_exit(0);
}

/* The @len bytes at @at moved elsewhere (a free place: mapped, then
 * replaced by the move); NULL on failure. */
static char *move_elsewhere(char *at, size_t len)
{
	char *to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (to == MAP_FAILED)
		return NULL;
	to = mremap(at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	return to == MAP_FAILED ? NULL : to;
}

/* A child's changes to its copy of the area, after its own page is
 * written; NULL on failure. */
static char *reshape(enum kind kind, char *area)
{
	switch (kind) {
	case MOVED:
		return move_elsewhere(area, PAGES * PAGE);
	case HOLED:
		return munmap(area + HOLE_FIRST * PAGE, (HOLE_END - HOLE_FIRST) * PAGE) ? NULL : area;
	case PROTECTED:
		return mprotect(area + RDONLY_FIRST * PAGE, (RDONLY_END - RDONLY_FIRST) * PAGE,
				PROT_READ) ? NULL : area;
	default:
		return area;
	}
}

/* Child @kind (forked by @parent_kind's process): writes its page, reshapes
 * its area, forks the grandchild if it is CHILD, says where it is through
 * @ready, and waits. */
static void __attribute__((noreturn)) run_child(enum kind kind, char *area, char *file,
					       int ready[2])
{
	struct proc me = { .pid = getpid(), .kind = kind, .file = file };
	pid_t child = 0;

	fill_page(area, kind, written_page[kind]);
	fill_page(file, kind, file_written_page[kind]);
	me.area = reshape(kind, area);
	/* The file mapping moves too: its pages keep their file offsets. */
	if (kind == MOVED)
		me.file = move_elsewhere(file, FILE_PAGES * PAGE);
	if (!me.area || !me.file)
		_exit(1);
	if (kind == CHILD) {
		child = fork();
		if (child == 0)
			run_child(GRANDCHILD, area, file, ready);
		if (child < 0)
			_exit(1);
	}
	if (write(ready[1], &me, sizeof(me)) != sizeof(me))
		_exit(1);
	close(ready[0]);
	close(ready[1]);
	wait_and_end(child);
}

/* A private mapping of a new file of FILE_PAGES pages of its own bytes,
 * the first FILE_WRITTEN of them written over: NULL on failure. */
static char *map_file(void)
{
	static char page[PAGE];
	char path[4096];
	char *map;
	int fd;

	snprintf(path, sizeof(path), "%s/cow_file", prog_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	for (size_t p = 0; p < FILE_PAGES; p++) {
		fill_page_at(page, FILE_BYTES, p);
		if (write(fd, page, PAGE) != PAGE)
			return NULL;
	}
	map = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return NULL;
	for (size_t p = 0; p < FILE_PAGES; p++)
		(void)*(volatile char *)(map + p * PAGE);	/* the file's pages, mapped */
	for (size_t p = 0; p < FILE_WRITTEN; p++)
		fill_page(map, PARENT, p);
	return map;
}

int main(int argc, char **argv)
{
	char stack[STACK_PAGES * PAGE] __attribute__((aligned(PAGE)));
	struct proc procs[NR_KINDS] = { { .pid = getpid(), .kind = PARENT } }, got;
	int ready[2], status;

	prog_init(argc, argv);
	procs[PARENT].area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	procs[PARENT].file = map_file();
	if (procs[PARENT].area == MAP_FAILED || !procs[PARENT].file || pipe(ready))
		return 1;
	for (size_t p = 0; p < PAGES; p++)
		fill_page(procs[PARENT].area, PARENT, p);
	for (size_t p = 0; p < STACK_PAGES; p++)
		fill_page_at(stack + p * PAGE, PARENT, PAGES + p);
	for (enum kind k = CHILD; k < NR_KINDS; k++) {
		pid_t pid;

		if (k == GRANDCHILD)
			continue;
		pid = fork();
		if (pid == 0)
			run_child(k, procs[PARENT].area, procs[PARENT].file, ready);
		if (pid < 0)
			return 1;
	}
	close(ready[1]);
	for (int n = CHILD; n < NR_KINDS; n++) {
		if (read(ready[0], &got, sizeof(got)) != sizeof(got) || got.kind <= PARENT ||
		    got.kind >= NR_KINDS)
			return 1;
		procs[got.kind] = got;
	}
	close(ready[0]);
	check_all(procs, stack, "before the dump");
	prog_ready();
	prog_wait_sigterm();

	check_all(procs, stack, "after restore");
	for (int k = CHILD; k < NR_KINDS; k++) {
		if (k == GRANDCHILD)
			continue;
		kill(procs[k].pid, SIGTERM);
		PROG_CHECK(waitpid(procs[k].pid, &status, 0) == procs[k].pid && status == 0,
			   "child %d (kind %d) ended with status %#x", procs[k].pid, k, status);
	}
	prog_finish();
}
