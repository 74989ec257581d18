/* Pages shared copy-on-write since fork stay shared through restore, also
 * where the child moved, cut or split the mapping, and on the stack: the
 * parent fills 64 pages of an area (and 2 pages of its stack) and forks
 * four children. The first writes page CHILD_PAGE and forks a grandchild,
 * which writes GRANDCHILD_PAGE; the others write a page each and then move
 * the whole area elsewhere (mremap), unmap its middle, or make a part of
 * it read-only. After restore the parent reads each one's pagemap: a page
 * shares the parent's frame (wherever the child has it now) exactly when
 * no one wrote it since the fork, the grandchild shares the child's but
 * for its own page, every stack page is shared, and every page holds the
 * bytes it should (read through /proc/PID/mem). */
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
#define PRESENT (1ULL << 63)

/* Who each process is, and the page it writes after the fork. */
enum kind { PARENT, CHILD, GRANDCHILD, MOVED, HOLED, PROTECTED, NR_KINDS };
static const size_t written_page[NR_KINDS] = { 0, 5, 9, 13, 40, 50 };
#define HOLE_FIRST 20	/* HOLED unmaps pages [HOLE_FIRST, HOLE_END) */
#define HOLE_END 30
#define RDONLY_FIRST 44	/* PROTECTED makes [RDONLY_FIRST, RDONLY_END) read-only */
#define RDONLY_END 56

struct proc {
	pid_t pid;
	enum kind kind;
	char *area;	/* where it maps the parent's area now */
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

static bool mapped(enum kind kind, size_t page)
{
	return kind != HOLED || page < HOLE_FIRST || page >= HOLE_END;
}

/* @len bytes at @off of /proc/@pid/@file. */
static bool read_proc(pid_t pid, const char *file, void *buf, size_t len, off_t off)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return prog_fail("cannot open %s: %s", path, strerror(errno));
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? true : prog_fail("cannot read %s: %s", path, strerror(errno));
}

/* The frames of @n pages at @at in process @pid; 0 for a page @skip says
 * is not mapped. */
static bool frames(pid_t pid, const char *at, size_t n, enum kind skip, uint64_t *out)
{
	if (!read_proc(pid, "pagemap", out, n * sizeof(*out),
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
 * process's bytes. */
static bool frames_match(const char *when, const struct proc *p, const struct proc *q,
			 const uint64_t *pf, const uint64_t *qf)
{
	for (size_t i = 0; i < PAGES; i++) {
		bool want = writer_of(p->kind, i) == writer_of(q->kind, i);

		if (!mapped(p->kind, i) || !mapped(q->kind, i) || (pf[i] == qf[i]) == want)
			continue;
		return prog_fail("%s: page %zu of pid %d (kind %d, at %p) %s pid %d's (kind %d)",
				 when, i, p->pid, p->kind, (void *)(p->area + i * PAGE),
				 want ? "does not share the frame of" : "shares the frame of",
				 q->pid, q->kind);
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
		if (!read_proc(p->pid, "mem", w, PAGE, (off_t)(uintptr_t)at))
			return false;
		for (size_t i = 0; i < PAGE / 8; i++)
			if (w[i] != word(by, page, i))
				return prog_fail("pid %d: page %zu word %zu is %#llx", p->pid, page,
						 i, (unsigned long long)w[i]);
	}
	return true;
}

static void check_all(const struct proc *procs, const char *stack, const char *when)
{
	static uint64_t area_frames[NR_KINDS][PAGES], stack_frames[NR_KINDS][STACK_PAGES];

	for (int k = 0; k < NR_KINDS; k++)
		if (!bytes_right(&procs[k], stack) ||
		    !frames(procs[k].pid, procs[k].area, PAGES, k, area_frames[k]) ||
		    !frames(procs[k].pid, stack, STACK_PAGES, PARENT, stack_frames[k]))
			return;
	for (int k = CHILD; k < NR_KINDS; k++) {
		if (!frames_match(when, &procs[k], &procs[PARENT], area_frames[k],
				  area_frames[PARENT]))
			return;
		for (size_t i = 0; i < STACK_PAGES; i++)
			if (stack_frames[k][i] != stack_frames[PARENT][i])
				return (void)prog_fail("%s: stack page %zu of pid %d (kind %d) is "
						       "not on its parent's frame", when, i,
						       procs[k].pid, k);
	}
	frames_match(when, &procs[GRANDCHILD], &procs[CHILD], area_frames[GRANDCHILD],
		     area_frames[CHILD]);
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

/* A child's changes to its copy of the area, after its own page is
 * written; NULL on failure. */
static char *reshape(enum kind kind, char *area)
{
	char *to;

	switch (kind) {
	case MOVED:
		/* A free place: mapped, then replaced by the move. */
		to = mmap(NULL, PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (to == MAP_FAILED)
			return NULL;
		to = mremap(area, PAGES * PAGE, PAGES * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		return to == MAP_FAILED ? NULL : to;
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
static void __attribute__((noreturn)) run_child(enum kind kind, char *area, int ready[2])
{
	struct proc me = { .pid = getpid(), .kind = kind };
	pid_t child = 0;

	fill_page(area, kind, written_page[kind]);
	me.area = reshape(kind, area);
	if (!me.area)
		_exit(1);
	if (kind == CHILD) {
		child = fork();
		if (child == 0)
			run_child(GRANDCHILD, area, ready);
		if (child < 0)
			_exit(1);
	}
	if (write(ready[1], &me, sizeof(me)) != sizeof(me))
		_exit(1);
	close(ready[0]);
	close(ready[1]);
	wait_and_end(child);
}

int main(int argc, char **argv)
{
	char stack[STACK_PAGES * PAGE] __attribute__((aligned(PAGE)));
	struct proc procs[NR_KINDS] = { { .pid = getpid(), .kind = PARENT } }, got;
	int ready[2], status;

	prog_init(argc, argv);
	procs[PARENT].area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (procs[PARENT].area == MAP_FAILED || pipe(ready))
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
			run_child(k, procs[PARENT].area, ready);
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
