/* Fork after a lazy restore, before the pages have come in: a page missing
 * in the parent at fork is missing in the child too, and must come to the
 * child from the image as well. The child forks again, so that a child of
 * a child is served too; each checks its own half of the area, and the
 * parent then checks all of it. Run in the lazy cycle only. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lazy_util.h"

#define AREA (16 * LAZY_MIB)
#define SEED 7

/* In a child: checks [from, from + len) of the area; exits 0 if it holds. */
static void __attribute__((noreturn)) child_check(const char *area, size_t from, size_t len)
{
	const uint64_t *w = (const uint64_t *)(area + from);

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != lazy_word(from / 8 + i, SEED)) {
			fprintf(stderr, "child %d: word %zu of the area is %#llx\n", getpid(),
				from / 8 + i, (unsigned long long)w[i]);
			_exit(1);
		}
	_exit(0);
}

static bool child_passed(pid_t pid, const char *who)
{
	int status;

	if (pid < 0)
		return prog_fail("fork of the %s failed", who);
	if (waitpid(pid, &status, 0) != pid)
		return prog_fail("waitpid of the %s failed", who);
	return PROG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "the %s found the area wrong (status %#x)", who, status);
}

int main(int argc, char **argv)
{
	char *area;
	pid_t child;

	prog_init(argc, argv);
	area = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 1;
	lazy_fill(area, AREA, SEED);
	prog_ready();
	prog_wait_sigterm();

	lazy_mostly_missing(area, AREA, "the area at fork");
	child = fork();
	if (child == 0) {
		pid_t grandchild;

		if (lazy_missing_pages(area, AREA) < (long)(AREA / LAZY_PAGE / 2))
			_exit(2);
		grandchild = fork();
		if (grandchild == 0)
			child_check(area, AREA / 2, AREA / 2);
		if (!child_passed(grandchild, "grandchild"))
			_exit(1);
		child_check(area, 0, AREA / 2);
	}
	child_passed(child, "child");
	lazy_check(area, AREA, 0, SEED, "the parent's area");
	prog_finish();
}
