/* Memory of every usual kind, checked byte for byte and flag for flag after
 * restore: private and shared anonymous, read-only and PROT_NONE areas
 * (one with data under it), private and shared file mappings, heap and brk,
 * a big stack frame, a MAP_GROWSDOWN area, madvise flags and an anon name.
 * The layout in /proc/self/maps must come back line for line too. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096UL

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

static char path_private[4200], path_shared[4200];

static void fill(void *p, size_t len, unsigned int seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
}

static bool same(const void *p, size_t len, unsigned int seed, const char *what)
{
	unsigned char *expect = malloc(len);
	bool ok;

	fill(expect, len, seed);
	ok = !memcmp(p, expect, len);
	free(expect);
	return ok ? true : prog_fail("%s differs", what);
}

static void *map(size_t len, int prot, int flags, int fd)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static int make_file(const char *path, size_t len, unsigned int seed)
{
	void *buf = malloc(len);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	fill(buf, len, seed);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		exit(1);
	free(buf);
	return fd;
}

/* The line of /proc/self/maps that describes @addr's mapping. Shared
 * anonymous memory is a new object after restore: its inode is left out. */
static void maps_line(void *addr, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && (unsigned long)addr >= start &&
		    (unsigned long)addr < end) {
			char range[64], perms[8], offset[32], dev[16], inode[32];

			if (strstr(line, "/dev/zero (deleted)") &&
			    sscanf(line, "%63s %7s %31s %15s %31s", range, perms, offset, dev,
				   inode) == 5)
				snprintf(out, size, "%s %s %s shared-anon", range, perms, offset);
			else
				snprintf(out, size, "%s", line);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Whether the smaps VmFlags of @addr's mapping include @flag ("dc", "wf"...). */
static bool has_vmflag(void *addr, const char *flag)
{
	char line[512];
	bool inside = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' '))
			inside = (unsigned long)addr >= start && (unsigned long)addr < end;
		else if (inside && !strncmp(line, "VmFlags:", 8)) {
			char want[8];

			snprintf(want, sizeof(want), " %s", flag);
			found = strstr(line, want) != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

struct area {
	const char *what;
	void *addr;
	char maps[512];
};

int main(int argc, char **argv)
{
	volatile unsigned char stack_block[64 * 1024];
	struct area areas[12];
	int nareas = 0, fd_private, fd_shared;
	char *anon, *ro, *none, *hidden, *shared, *file_priv, *file_shared, *grows, *named;
	char *dontfork, *wipe, *huge, *heap, *brk_area;

	prog_init(argc, argv);
	snprintf(path_private, sizeof(path_private), "%s/private-file", prog_dir());
	snprintf(path_shared, sizeof(path_shared), "%s/shared-file", prog_dir());

	anon = map(64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	fill(anon, 40 * PAGE, 1); /* the last 24 pages stay untouched */
	ro = map(8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	fill(ro, 8 * PAGE, 2);
	mprotect(ro, 8 * PAGE, PROT_READ);
	none = map(256 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	hidden = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	fill(hidden, 4 * PAGE, 3);
	mprotect(hidden, 4 * PAGE, PROT_NONE);
	shared = map(16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
	fill(shared, 16 * PAGE, 4);

	fd_private = make_file(path_private, 8 * PAGE, 5);
	file_priv = map(8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_private);
	fill(file_priv + 2 * PAGE, PAGE, 6); /* one copied-on-write page */
	fd_shared = make_file(path_shared, 4 * PAGE, 7);
	file_shared = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd_shared);
	fill(file_shared + PAGE, PAGE, 8); /* written through to the file */
	close(fd_private);
	close(fd_shared);

	grows = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN,
		    -1);
	fill(grows + 3 * PAGE, PAGE, 9);
	named = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	fill(named, 2 * PAGE, 10);
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)named, 2 * PAGE, "cryo-test");
	dontfork = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	madvise(dontfork, 2 * PAGE, MADV_DONTFORK);
	wipe = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	madvise(wipe, 2 * PAGE, MADV_WIPEONFORK);
	huge = map(4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	madvise(huge, 4 << 20, MADV_HUGEPAGE);
	madvise(huge, 4 << 20, MADV_DONTDUMP);
	fill(huge, 4 << 20, 11);

	heap = malloc(10 << 20);
	fill(heap, 10 << 20, 12);
	brk_area = sbrk(3 * PAGE);
	fill(brk_area, 3 * PAGE, 13);
	fill((void *)stack_block, sizeof(stack_block), 14);

	areas[nareas++] = (struct area){ .what = "anon", .addr = anon };
	areas[nareas++] = (struct area){ .what = "read-only", .addr = ro };
	areas[nareas++] = (struct area){ .what = "PROT_NONE", .addr = none };
	areas[nareas++] = (struct area){ .what = "hidden", .addr = hidden };
	areas[nareas++] = (struct area){ .what = "shared anon", .addr = shared };
	areas[nareas++] = (struct area){ .what = "private file", .addr = file_priv };
	areas[nareas++] = (struct area){ .what = "shared file", .addr = file_shared };
	areas[nareas++] = (struct area){ .what = "growsdown", .addr = grows + 3 * PAGE };
	areas[nareas++] = (struct area){ .what = "named", .addr = named };
	areas[nareas++] = (struct area){ .what = "dontfork", .addr = dontfork };
	areas[nareas++] = (struct area){ .what = "wipeonfork", .addr = wipe };
	areas[nareas++] = (struct area){ .what = "hugepage", .addr = huge };
	for (int i = 0; i < nareas; i++)
		maps_line(areas[i].addr, areas[i].maps, sizeof(areas[i].maps));

	prog_ready();
	prog_wait_sigterm();

	for (int i = 0; i < nareas; i++) {
		char now[512];

		maps_line(areas[i].addr, now, sizeof(now));
		PROG_CHECK(!strcmp(now, areas[i].maps), "%s mapping was '%s', is '%s'",
			   areas[i].what, areas[i].maps, now);
	}
	same(anon, 40 * PAGE, 1, "anon");
	for (size_t i = 40 * PAGE; i < 64 * PAGE; i++)
		if (anon[i]) {
			prog_fail("untouched anon page %zu is not zero", i / PAGE);
			break;
		}
	same(ro, 8 * PAGE, 2, "read-only area");
	mprotect(hidden, 4 * PAGE, PROT_READ);
	same(hidden, 4 * PAGE, 3, "data under PROT_NONE");
	same(shared, 16 * PAGE, 4, "shared anon");
	same(file_priv + 2 * PAGE, PAGE, 6, "copied-on-write file page");
	{
		unsigned char buf[PAGE];
		int fd = open(path_private, O_RDONLY);

		/* Pages never written show the file, as before. */
		PROG_CHECK(fd >= 0 && pread(fd, buf, PAGE, 3 * PAGE) == PAGE &&
				   !memcmp(buf, file_priv + 3 * PAGE, PAGE),
			   "an unwritten page of the private file mapping differs from the file");
		if (fd >= 0)
			close(fd);
	}
	same(file_shared + PAGE, PAGE, 8, "shared file page");
	same(grows + 3 * PAGE, PAGE, 9, "growsdown area");
	same(named, 2 * PAGE, 10, "named area");
	same(huge, 4 << 20, 11, "hugepage area");
	same(heap, 10 << 20, 12, "heap");
	same(brk_area, 3 * PAGE, 13, "brk area");
	same((void *)stack_block, sizeof(stack_block), 14, "stack");
	PROG_CHECK(sbrk(0) == brk_area + 3 * PAGE, "brk moved from %p to %p",
		   (void *)(brk_area + 3 * PAGE), sbrk(0));
	PROG_CHECK(has_vmflag(dontfork, "dc"), "MADV_DONTFORK lost");
	PROG_CHECK(has_vmflag(wipe, "wf"), "MADV_WIPEONFORK lost");
	PROG_CHECK(has_vmflag(huge, "hg"), "MADV_HUGEPAGE lost");
	PROG_CHECK(has_vmflag(huge, "dd"), "MADV_DONTDUMP lost");
	PROG_CHECK(has_vmflag(grows + 3 * PAGE, "gd"), "MAP_GROWSDOWN lost");
	/* The shared file mapping still writes through to the file. */
	fill(file_shared, PAGE, 15);
	{
		unsigned char buf[PAGE];
		int fd = open(path_shared, O_RDONLY);

		PROG_CHECK(fd >= 0 && pread(fd, buf, PAGE, 0) == PAGE && !memcmp(buf, file_shared, PAGE),
			   "shared file mapping no longer writes through to %s", path_shared);
		if (fd >= 0)
			close(fd);
	}
	prog_finish();
}
