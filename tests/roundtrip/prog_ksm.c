/* KSM (issue 11 item 6): a frame one process maps twice. The parent turns
 * on KSM for its whole mm (PR_SET_MEMORY_MERGE) and fills an area with
 * PAGES equal pages; its child, which inherits that, turns it off and
 * marks an area of its own MADV_MERGEABLE. With ksmd running, each area
 * comes to be one frame mapped PAGES times. A restore saves and brings
 * back each page as a copy; the point is that ksmd merges them again:
 * after restore the parent has KSM for its mm (and a mapping made now is
 * mergeable), the child has it not (it did not inherit it again) but its
 * area is mergeable, and each area is one frame again within a while.
 * ksmd is turned on by the program when it finds it off, and back off
 * when it ends. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096
#define PAGES 32
#define PFN_MASK ((1ULL << 55) - 1)
#define PRESENT (1ULL << 63)
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#define KSM_RUN "/sys/kernel/mm/ksm/run"

/* Whether ksmd was off when this instance (the original or a restored
 * copy) last turned it on: it is turned off again at the end. */
static bool turned_on;

static void fill(char *area, char byte)
{
	for (size_t p = 0; p < PAGES; p++)
		memset(area + p * PAGE, byte, PAGE);
}

static bool ksm_on(void)
{
	char run = 0;
	int fd = open(KSM_RUN, O_RDWR | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, &run, 1) == 1;

	if (ok && run == '0') {
		ok = pwrite(fd, "1", 1, 0) == 1;
		turned_on = ok;
	}
	if (fd >= 0)
		close(fd);
	return ok && (run == '0' || run == '1');
}

static void ksm_restore(void)
{
	int fd = turned_on ? open(KSM_RUN, O_WRONLY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		if (write(fd, "0", 1) != 1)
			prog_fail("cannot turn ksmd off again");
		close(fd);
	}
}

/* Whether every page of @pid's @area is present on one frame. */
static bool merged(pid_t pid, const char *area)
{
	uint64_t e[PAGES];

	if (!prog_read_proc(pid, "pagemap", e, sizeof(e),
			    (off_t)((uintptr_t)area / PAGE * sizeof(*e))))
		return false;
	for (size_t p = 0; p < PAGES; p++)
		if (!(e[p] & PRESENT) || !(e[p] & PFN_MASK) ||
		    (e[p] & PFN_MASK) != (e[0] & PFN_MASK))
			return false;
	return true;
}

/* Waits up to @seconds for both areas to be merged. */
static bool wait_merged(pid_t child, const char *area, const char *child_area, int seconds)
{
	for (int i = 0; i < seconds * 50; i++) {
		if (merged(getpid(), area) && merged(child, child_area))
			return true;
		usleep(20000);
	}
	return false;
}

/* "ksm_merge_any" of /proc/PID/ksm_stat: 1 yes, 0 no, -1 unreadable. */
static int merge_any(pid_t pid)
{
	char path[64], text[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return strstr(text, "ksm_merge_any: yes") ? 1 : strstr(text, "ksm_merge_any: no") ? 0 : -1;
}

/* Whether the smaps entry of @pid holding @addr has VmFlags "mg". */
static bool mergeable(pid_t pid, const void *addr)
{
	unsigned long at = (unsigned long)(uintptr_t)addr, start, end;
	char path[64], line[512];
	bool in = false, found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start <= at && at < end;
		else if (in && !strncmp(line, "VmFlags:", 8))
			found = strstr(line, " mg") != NULL;
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	char *area, *child_area, *later;
	int ready[2], status = -1;
	pid_t child;
	char byte;

	prog_init(argc, argv);
	if (!ksm_on() || prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) || pipe(ready)) {
		ksm_restore();
		return 1;
	}
	area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_area = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (area == MAP_FAILED || child_area == MAP_FAILED)
		return 1;
	fill(area, 0x5a);
	child = fork();
	if (child == 0) {
		/* Its own: not the parent's KSM for the mm, but one area. */
		if (prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0) ||
		    madvise(child_area, PAGES * PAGE, MADV_MERGEABLE))
			_exit(1);
		fill(child_area, 0x3c);
		prog_child_ready(ready);
		prog_wait_sigterm();
		_exit(0);
	}
	close(ready[1]);
	while (child > 0 && read(ready[0], &byte, 1) == 1)
		;
	close(ready[0]);
	if (child < 0 || !wait_merged(child, area, child_area, 20) ||
	    !mergeable(getpid(), area) || !mergeable(child, child_area)) {
		if (child > 0)
			kill(child, SIGKILL);
		ksm_restore();
		return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(ksm_on(), "cannot turn ksmd on");
	PROG_CHECK(prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1,
		   "the parent lost KSM for its whole mm");
	PROG_CHECK(merge_any(child) == 0, "the child has KSM for its whole mm (%d), which it "
		   "had turned off", merge_any(child));
	PROG_CHECK(mergeable(getpid(), area) && mergeable(child, child_area),
		   "an area is no longer mergeable");
	later = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PROG_CHECK(later != MAP_FAILED && mergeable(getpid(), later),
		   "a mapping the parent makes after restore is not mergeable");
	PROG_CHECK(wait_merged(child, area, child_area, 20),
		   "ksmd did not merge the areas again into one frame each within 20 s");
	for (size_t p = 0; p < PAGES * PAGE; p++)
		if (area[p] != 0x5a)
			return prog_fail("byte %zu of the parent's area is %#x", p, area[p]), 1;
	kill(child, SIGTERM);
	PROG_CHECK(waitpid(child, &status, 0) == child && status == 0,
		   "the child ended with %#x", status);
	ksm_restore();
	prog_finish();
}
