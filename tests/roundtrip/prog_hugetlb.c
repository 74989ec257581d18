/* Hugetlb memory of 2 MiB pages (the runner reserves a pool for it): shared
 * anonymous MAP_HUGETLB memory of two pages, the first written, and a
 * hugetlb memfd of two pages, sealed against growing and shrinking,
 * mapped twice, both shared with a child, which also inherits a copy of a
 * private MAP_HUGETLB page; then, in the parent alone, private MAP_HUGETLB
 * memory of four pages of which two were written.
 * After restore: every byte, each mapping's KernelPageSize, the private
 * mapping's Private_Hugetlb (pages never touched stay untouched), the memfd's seals,
 * size and name, and that parent and child still share both objects. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define HUGE (2ul << 20)
#define PRIVATE_PAGES 4
#define CHILD_WROTE 'c'
#define PARENT_WROTE 'p'

static unsigned char pattern(size_t i, unsigned salt)
{
	return (unsigned char)(i * 31 + (i >> 12) + salt);
}

static void fill(unsigned char *mem, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		mem[i] = pattern(i, salt);
}

static bool holds(const unsigned char *mem, size_t len, unsigned salt, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (mem[i] != pattern(i, salt))
			return prog_fail("%s: byte %zu is %#x, not %#x", what, i, mem[i],
					 pattern(i, salt));
	return true;
}

static bool zeros(const unsigned char *mem, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (mem[i])
			return prog_fail("%s: byte %zu is %#x, not 0", what, i, mem[i]);
	return true;
}

/* A field ("KernelPageSize:", "Private_Hugetlb:") of the smaps entry that starts at
 * @mem, in kB; -1 when not found. */
static long smaps_kb(const void *mem, const char *field)
{
	char line[512];
	unsigned long start, end;
	bool in_it = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (line[strspn(line, "0123456789abcdef")] == '-' &&
		    sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in_it = start == (unsigned long)mem;
		else if (in_it && !strncmp(line, field, strlen(field)))
			kb = strtol(line + strlen(field), NULL, 10);
	}
	if (f)
		fclose(f);
	return kb;
}

static void check_page_size(const void *mem, const char *what)
{
	long kb = smaps_kb(mem, "KernelPageSize:");

	PROG_CHECK(kb == 2048, "%s: KernelPageSize %ld kB, not 2048", what, kb);
}

/* The child: waits for SIGTERM, then finds the parent's new bytes in both
 * objects and answers with its own. */
static void __attribute__((noreturn)) child_main(volatile unsigned char *shm,
						 volatile unsigned char *memfd_map,
						 const unsigned char *early)
{
	prog_wait_sigterm();
	for (size_t i = 0; i < HUGE; i++)
		if (early[i] != pattern(i, 5))
			_exit(3);
	if (shm[HUGE - 1] != PARENT_WROTE || memfd_map[HUGE - 1] != PARENT_WROTE)
		_exit(2);
	shm[HUGE - 2] = CHILD_WROTE;
	memfd_map[HUGE - 2] = CHILD_WROTE;
	_exit(0);
}

int main(int argc, char **argv)
{
	unsigned char *shm, *priv, *map_a, *map_b, *early;
	char link[64], target[128] = "";
	int fd, status, seals;
	struct stat st;
	pid_t child;

	prog_init(argc, argv);
	shm = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB,
		   -1, 0);
	fd = memfd_create("huge", MFD_HUGETLB | MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (shm == MAP_FAILED || fd < 0 || ftruncate(fd, 2 * HUGE)) {
		perror("prog_hugetlb: MAP_HUGETLB or MFD_HUGETLB (is vm.nr_hugepages set?)");
		return 1;
	}
	map_a = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	map_b = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map_a == MAP_FAILED || map_b == MAP_FAILED ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)) {
		perror("prog_hugetlb: the memfd");
		return 1;
	}
	early = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		     -1, 0);
	if (early == MAP_FAILED) {
		perror("prog_hugetlb: private MAP_HUGETLB before the fork");
		return 1;
	}
	fill(shm, HUGE, 1);
	fill(map_a, HUGE, 2);
	fill(early, HUGE, 5);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		child_main(shm, map_a, early);
	/* After the fork: the child has no copy of it. Page 0 full, page 2
	 * written in its first 4 KiB only, pages 1 and 3 never touched. */
	priv = mmap(NULL, PRIVATE_PAGES * HUGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (priv == MAP_FAILED) {
		perror("prog_hugetlb: private MAP_HUGETLB");
		kill(child, SIGKILL);
		return 1;
	}
	fill(priv, HUGE, 3);
	fill(priv + 2 * HUGE, 4096, 4);
	prog_ready();
	prog_wait_sigterm();

	holds(shm, HUGE, 1, "shared memory, page 0");
	zeros(shm + HUGE, HUGE, "shared memory, page 1");
	holds(map_a, HUGE, 2, "memfd, page 0");
	zeros(map_a + HUGE, HUGE, "memfd, page 1");
	holds(early, HUGE, 5, "private memory made before the fork");
	check_page_size(early, "private memory made before the fork");
	holds(priv, HUGE, 3, "private memory, page 0");
	holds(priv + 2 * HUGE, 4096, 4, "private memory, page 2");
	zeros(priv + 2 * HUGE + 4096, HUGE - 4096, "private memory, rest of page 2");
	check_page_size(shm, "shared memory");
	check_page_size(map_a, "memfd's first mapping");
	check_page_size(map_b, "memfd's second mapping");
	check_page_size(priv, "private memory");
	/* Before pages 1 and 3 are read: only the two written pages (hugetlb
	 * pages are not in Rss). */
	PROG_CHECK(smaps_kb(priv, "Private_Hugetlb:") == 2 * 2048,
		   "private memory: Private_Hugetlb %ld kB, not %d",
		   smaps_kb(priv, "Private_Hugetlb:"), 2 * 2048);
	zeros(priv + HUGE, HUGE, "private memory, page 1");
	zeros(priv + 3 * HUGE, HUGE, "private memory, page 3");

	seals = fcntl(fd, F_GET_SEALS);
	PROG_CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW), "memfd seals %#x", seals);
	PROG_CHECK(!fstat(fd, &st) && st.st_size == (off_t)(2 * HUGE), "memfd size %lld",
		   (long long)st.st_size);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	PROG_CHECK(readlink(link, target, sizeof(target) - 1) > 0 &&
		   !strcmp(target, "/memfd:huge (deleted)"), "memfd link '%s'", target);
	/* The two mappings of the memfd are one file. */
	map_a[100] ^= 0xff;
	PROG_CHECK(map_b[100] == map_a[100], "the memfd's second mapping does not see the first");
	map_a[100] ^= 0xff;

	/* Still shared with the child, both ways. */
	shm[HUGE - 1] = PARENT_WROTE;
	map_a[HUGE - 1] = PARENT_WROTE;
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		   !WEXITSTATUS(status), "the child did not see the parent's bytes (2) or "
		   "its copy of the private page (3): status %#x", status);
	PROG_CHECK(shm[HUGE - 2] == CHILD_WROTE, "the child's byte is not in the shared memory");
	PROG_CHECK(map_b[HUGE - 2] == CHILD_WROTE, "the child's byte is not in the memfd");
	prog_finish();
}
