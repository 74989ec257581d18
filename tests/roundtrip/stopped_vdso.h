/* The vDSO seed case, shared by prog_stopped_vdso and its proxied twin:
 * two children move or drop their vDSO, then stop themselves, and are
 * checked through their parent. Child M moves [vvar], [vvar_vclock] and
 * [vdso] together with mremap (they must keep their distances) and stops
 * with SIGSTOP, which the parent waits for; child U unmaps them and stops
 * with SIGSTOP, not waited for. On SIGTERM the parent checks that both are
 * still stopped and continues them; M checks that the areas are where it
 * put them and that clock_gettime and gettimeofday, found in its moved
 * vDSO, agree with the system calls; U checks that they are still absent.
 * Each exits 0 when its checks pass, once the parent lets it. glibc's own vDSO pointers are stale
 * once the areas moved, so the children call only raw system calls and the
 * functions they look up themselves. When the restore was as on another
 * kernel (the runner's CRYO_TEST_VDSO_PROXY for the twin), the saved vDSO
 * comes back at M's address as a proxy, not named [vdso], with this
 * kernel's elsewhere: the parent sees its own vDSO moved off the auxv's
 * address and tells M, which then checks for the proxy instead. */
#ifndef CRYO_TESTS_STOPPED_VDSO_H
#define CRYO_TESTS_STOPPED_VDSO_H

#include <elf.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog.h"
#include "stop_util.h"

#define VDSO_AREAS 3

/* Closed by the parent once it has seen both children continued: a child
 * that ended at once would hide its CLD_CONTINUED behind its exit. */
static int go_pipe[2];
/* Shared with the children: set when the parent was restored with a proxy. */
static volatile int *proxied;

static int __attribute__((noreturn)) end_child(int code)
{
	char byte;

	close(go_pipe[1]);
	while (read(go_pipe[0], &byte, 1) > 0)
		;
	_exit(code);
}

struct vdso_area {
	unsigned long start, end;
	char name[16];
};

/* The vDSO block's areas in address order; how many were found. */
static int vdso_areas(struct vdso_area *areas)
{
	char line[512], name[64];
	unsigned long start, end;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f) && n < VDSO_AREAS) {
		name[0] = '\0';
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %63s", &start, &end, name) < 2)
			continue;
		if (strcmp(name, "[vvar]") && strcmp(name, "[vvar_vclock]") &&
		    strcmp(name, "[vdso]"))
			continue;
		areas[n].start = start;
		areas[n].end = end;
		snprintf(areas[n].name, sizeof(areas[n].name), "%s", name);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* The name /proc/self/maps gives the area starting at @start ("" when
 * anonymous, "-" when nothing starts there). */
static void area_name_at(unsigned long start, char *name, size_t size)
{
	char line[512], found[64];
	unsigned long s;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(name, size, "-");
	while (f && fgets(line, sizeof(line), f)) {
		found[0] = '\0';
		if (sscanf(line, "%lx-%*x %*s %*s %*s %*s %63s", &s, found) >= 1 && s == start)
			snprintf(name, size, "%s", found);
	}
	if (f)
		fclose(f);
}

/* An exported function of the vDSO image at @base, 0 if none. */
static unsigned long vdso_lookup(unsigned long base, const char *want)
{
	const Elf64_Ehdr *eh = (const void *)base;
	const Elf64_Shdr *sh = (const void *)(base + eh->e_shoff);
	unsigned long load = 0;

	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD) {
			load = ph->p_vaddr;
			break;
		}
	}
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *strs;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		sym = (const void *)(base + sh[i].sh_offset);
		strs = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
			if (sym[k].st_value && !strcmp(strs + sym[k].st_name, want))
				return base + sym[k].st_value - load;
	}
	return 0;
}

static long raw_nanos(clockid_t clock)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, clock, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* The vDSO's clocks, called where the moved image has them, against the
 * system calls taken around them. */
static int check_clocks(unsigned long vdso)
{
	int (*vdso_clock_gettime)(clockid_t, struct timespec *) =
		(void *)vdso_lookup(vdso, "__vdso_clock_gettime");
	int (*vdso_gettimeofday)(struct timeval *, void *) =
		(void *)vdso_lookup(vdso, "__vdso_gettimeofday");
	struct timespec ts;
	struct timeval tv;
	long before, after, got;

	if (!vdso_clock_gettime || !vdso_gettimeofday)
		return 20;
	before = raw_nanos(CLOCK_MONOTONIC);
	if (vdso_clock_gettime(CLOCK_MONOTONIC, &ts))
		return 21;
	after = raw_nanos(CLOCK_MONOTONIC);
	got = ts.tv_sec * 1000000000L + ts.tv_nsec;
	if (got < before || got > after)
		return 22;
	before = raw_nanos(CLOCK_REALTIME) / 1000;
	if (vdso_gettimeofday(&tv, NULL))
		return 23;
	after = raw_nanos(CLOCK_REALTIME) / 1000;
	got = tv.tv_sec * 1000000L + tv.tv_usec;
	if (got < before - 1 || got > after + 1)
		return 24;
	return 0;
}

/* Child M: the whole block moves by one distance to a free place. */
static int __attribute__((noreturn)) moved_child(void)
{
	struct vdso_area before[VDSO_AREAS], after[VDSO_AREAS];
	int n = vdso_areas(before), code = 0;
	unsigned long span, target, vdso = 0;
	char name[16];
	void *hole;

	if (n < 2)
		_exit(10);
	span = before[n - 1].end - before[0].start;
	/* A free place, well away from the old one. */
	hole = mmap(NULL, span + (16UL << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED)
		_exit(11);
	target = (unsigned long)hole + (8UL << 20);
	for (int i = 0; i < n; i++) {
		unsigned long to = target + (before[i].start - before[0].start);

		if (mremap((void *)before[i].start, before[i].end - before[i].start,
			   before[i].end - before[i].start, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)to) != (void *)to)
			_exit(12);
		if (!strcmp(before[i].name, "[vdso]"))
			vdso = to;
	}
	if (!vdso || vdso_areas(after) != n || check_clocks(vdso))
		_exit(13);
	syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);

	if (*proxied) {
		/* The proxy stands at the old address, as private memory, and
		 * this kernel's vDSO is elsewhere. */
		area_name_at(vdso, name, sizeof(name));
		if (!strcmp(name, "-") || !strcmp(name, "[vdso]") ||
		    memcmp((void *)vdso, ELFMAG, SELFMAG) || vdso_areas(after) < 2)
			end_child(14);
	} else {
		if (vdso_areas(after) != n)
			end_child(15);
		for (int i = 0; i < n; i++)
			if (after[i].start != target + (before[i].start - before[0].start) ||
			    after[i].end - after[i].start != before[i].end - before[i].start ||
			    strcmp(after[i].name, before[i].name))
				end_child(16);
	}
	code = check_clocks(vdso);
	end_child(code);
}

/* Child U: no vDSO at all, and none comes back. */
static int __attribute__((noreturn)) unmapped_child(void)
{
	struct vdso_area areas[VDSO_AREAS];
	int n = vdso_areas(areas);

	if (n < 2)
		_exit(30);
	for (int i = 0; i < n; i++)
		if (munmap((void *)areas[i].start, areas[i].end - areas[i].start))
			_exit(31);
	if (vdso_areas(areas))
		_exit(32);
	syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
	end_child(vdso_areas(areas) ? 33 : 0);
}

static void check_stopped(pid_t child)
{
	int threads, stopped;

	stop_count_threads(child, &threads, &stopped);
	PROG_CHECK(threads == 1 && stopped == 1, "child %d is not stopped (%d of %d threads)",
		   child, stopped, threads);
}

/* Whether the parent's own vDSO is no longer where the auxv put it. */
static bool own_vdso_moved(void)
{
	char name[16];

	area_name_at(getauxval(AT_SYSINFO_EHDR), name, sizeof(name));
	return strcmp(name, "[vdso]") != 0;
}

static int stopped_vdso_main(int argc, char **argv, bool proxy_expected)
{
	pid_t moved, unmapped;
	int status;

	prog_init(argc, argv);
	proxied = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (proxied == MAP_FAILED || pipe(go_pipe))
		return 1;
	moved = fork();
	if (moved == 0)
		moved_child();
	unmapped = fork();
	if (unmapped == 0)
		unmapped_child();
	if (moved < 0 || unmapped < 0)
		return 1;
	if (waitpid(moved, &status, WUNTRACED) != moved || !WIFSTOPPED(status) ||
	    !stop_wait_reportable(unmapped, SIGSTOP)) {
		fprintf(stderr, "a child did not stop (status %#x)\n", status);
		return 1;
	}
	prog_ready();
	prog_wait_sigterm();

	check_stopped(moved);
	check_stopped(unmapped);
	*proxied = own_vdso_moved();
	/* The original of a leave-running cycle was never restored. */
	PROG_CHECK(!*proxied || proxy_expected, "the vDSO was proxied on the kernel it was "
		   "dumped on");
	PROG_CHECK(stop_unreported(moved) == 0, "M's stop is reported again");
	PROG_CHECK(stop_unreported(unmapped) == SIGSTOP, "U's stop is not reported");
	stop_continue(moved);
	stop_continue(unmapped);
	close(go_pipe[1]);
	stop_reap(moved);
	stop_reap(unmapped);
	prog_finish();
}

#endif
