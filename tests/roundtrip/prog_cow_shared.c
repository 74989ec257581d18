/* Pages shared copy-on-write since fork stay shared through restore: the
 * parent fills 64 pages and forks; the child writes page CHILD_PAGE and
 * forks; the grandchild writes page GRANDCHILD_PAGE. After restore the
 * parent reads /proc/PID/pagemap of all three: the child has the parent's
 * frames but one (63 equal), the grandchild the child's but one (63) and
 * the parent's but two (62); and every page holds the bytes it should. */
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
#define CHILD_PAGE 5
#define GRANDCHILD_PAGE 9
#define PFN_MASK ((1ULL << 55) - 1)
#define PRESENT (1ULL << 63)

/* Who wrote page @page: 0 the parent, 1 the child, 2 the grandchild. */
static uint64_t word(int who, size_t page, size_t i)
{
	return 0xc0e5000000000000ULL | (uint64_t)who << 40 | (uint64_t)page << 20 | i;
}

static void fill_page(char *area, int who, size_t page)
{
	uint64_t *w = (uint64_t *)(area + page * PAGE);

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = word(who, page, i);
}

/* Which process's bytes page @page of process level @level holds. */
static int writer_of(int level, size_t page)
{
	if (level >= 2 && page == GRANDCHILD_PAGE)
		return 2;
	if (level >= 1 && page == CHILD_PAGE)
		return 1;
	return 0;
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

static bool frames(pid_t pid, const char *area, uint64_t *out)
{
	if (!read_proc(pid, "pagemap", out, PAGES * sizeof(*out),
		       (off_t)((uintptr_t)area / PAGE * sizeof(*out))))
		return false;
	for (size_t i = 0; i < PAGES; i++) {
		if (!(out[i] & PRESENT) || !(out[i] & PFN_MASK))
			return prog_fail("pid %d: page %zu is not present or has no frame number "
					 "(%#llx)", pid, i, (unsigned long long)out[i]);
		out[i] &= PFN_MASK;
	}
	return true;
}

/* Pages of @a and @b on the same frame; all but @differ1 and @differ2
 * (-1: none) must be. */
static bool same_frames(const char *what, const uint64_t *a, const uint64_t *b, int differ1,
			int differ2)
{
	size_t equal = 0, want = PAGES - (differ1 >= 0) - (differ2 >= 0);

	for (size_t i = 0; i < PAGES; i++) {
		bool differs = (int)i == differ1 || (int)i == differ2;

		equal += a[i] == b[i];
		if (differs && a[i] == b[i])
			return prog_fail("%s: page %zu, written since the fork, shares frame %#llx",
					 what, i, (unsigned long long)a[i]);
	}
	return PROG_CHECK(equal == want, "%s: %zu pages on the same frames, not %zu", what, equal,
			  want);
}

/* The bytes of process @pid (level @level) in the area, read through
 * /proc/PID/mem: process_vm_readv() pins pages, and the kernel unshares a
 * shared page before pinning it. */
static bool bytes_right(pid_t pid, int level, char *area)
{
	static char copy[PAGES * PAGE];

	if (!read_proc(pid, "mem", copy, sizeof(copy), (off_t)(uintptr_t)area))
		return false;
	for (size_t p = 0; p < PAGES; p++) {
		const uint64_t *w = (const uint64_t *)(copy + p * PAGE);

		for (size_t i = 0; i < PAGE / 8; i++)
			if (w[i] != word(writer_of(level, p), p, i))
				return prog_fail("pid %d: page %zu word %zu is %#llx", pid, p, i,
						 (unsigned long long)w[i]);
	}
	return true;
}

static void check_all(char *area, pid_t child, pid_t grandchild, const char *when)
{
	static uint64_t mine[PAGES], childs[PAGES], grandchilds[PAGES];
	char what[128];

	if (!bytes_right(getpid(), 0, area) || !bytes_right(child, 1, area) ||
	    !bytes_right(grandchild, 2, area))
		return;
	if (!frames(getpid(), area, mine) || !frames(child, area, childs) ||
	    !frames(grandchild, area, grandchilds))
		return;
	snprintf(what, sizeof(what), "%s, child and parent", when);
	same_frames(what, childs, mine, CHILD_PAGE, -1);
	snprintf(what, sizeof(what), "%s, grandchild and child", when);
	same_frames(what, grandchilds, childs, GRANDCHILD_PAGE, -1);
	snprintf(what, sizeof(what), "%s, grandchild and parent", when);
	same_frames(what, grandchilds, mine, CHILD_PAGE, GRANDCHILD_PAGE);
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

int main(int argc, char **argv)
{
	pid_t child, grandchild = -1;
	int ready[2], status;
	char *area;

	prog_init(argc, argv);
	area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || pipe(ready))
		return 1;
	for (size_t p = 0; p < PAGES; p++)
		fill_page(area, 0, p);
	child = fork();
	if (child == 0) {
		fill_page(area, 1, CHILD_PAGE);
		grandchild = fork();
		if (grandchild == 0) {
			/* Its pid tells the parent all three have written. */
			fill_page(area, 2, GRANDCHILD_PAGE);
			grandchild = getpid();
			if (write(ready[1], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
				_exit(1);
			close(ready[0]);
			close(ready[1]);
			wait_and_end(0);
		}
		if (grandchild < 0)
			_exit(1);
		close(ready[0]);
		close(ready[1]);
		wait_and_end(grandchild);
	}
	close(ready[1]);
	if (child < 0 || read(ready[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		return 1;
	close(ready[0]);
	check_all(area, child, grandchild, "before the dump");
	prog_ready();
	prog_wait_sigterm();

	check_all(area, child, grandchild, "after restore");
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && status == 0,
		   "the child or grandchild ended with status %#x", status);
	prog_finish();
}
