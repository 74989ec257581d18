/* Restored as if on a kernel with another vDSO (the runner sets
 * CRYO_TEST_VDSO_PROXY for its restores): the new vDSO lands elsewhere and
 * the saved one stays at the old address as a proxy. Pointers the program
 * took before the dump must still work and reach the new vDSO. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

#include "prog.h"

static unsigned long vdso_in_maps(unsigned long *end)
{
	char line[512];
	unsigned long start = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%lx-%lx", &start, end);
	if (f)
		fclose(f);
	return start;
}

static bool is_jump(const unsigned char *code)
{
	return code[0] == 0x48 && code[1] == 0xb8 && code[10] == 0xff && code[11] == 0xe0;
}

/* The old entry point must begin with "movabs $target, %rax; jmp *%rax"
 * that leads into the new [vdso]; the old code would otherwise still run
 * (and fall back to system calls, which would hide a missing jump). After
 * several restores the proxies chain: each hop is followed. */
static bool jumps_into_new_vdso(const void *entry)
{
	const unsigned char *code = entry;
	unsigned long end = 0, start = vdso_in_maps(&end);
	uint64_t target = (uint64_t)(uintptr_t)entry;

	if (!is_jump(code))
		return prog_fail("the old entry point is not a jump");
	for (int hops = 0; hops < 8 && is_jump(code); hops++) {
		memcpy(&target, code + 2, sizeof(target));
		code = (const unsigned char *)(uintptr_t)target;
		if (target >= start && target < end)
			return true;
	}
	return prog_fail("the old entry point leads to %#llx, outside [vdso] %#lx-%#lx",
			 (unsigned long long)target, start, end);
}

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

int main(int argc, char **argv)
{
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
	void *handle = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
	clock_gettime_fn direct = handle ? (clock_gettime_fn)dlsym(handle, "__vdso_clock_gettime") :
					   NULL;
	struct timespec before, after, nap = { 0, 50 * 1000 * 1000 };

	prog_init(argc, argv);
	if (!direct || direct(CLOCK_MONOTONIC, &before))
		return 1;
	prog_ready();
	prog_wait_sigterm();

	/* The old address holds the proxy, still an ELF image, and its entry
	 * points jump into the new vDSO. The original of a leave-running cycle
	 * was never restored: its vDSO is where it always was (the runner
	 * checks that every restore of this program did move it). */
	PROG_CHECK(!memcmp((void *)vdso, "\177ELF", 4), "no ELF image at the old vDSO address");
	{
		unsigned long end;

		if (vdso_in_maps(&end) != vdso)
			jumps_into_new_vdso((const void *)direct);
	}
	/* A pointer into the old vDSO, and libc's own cached ones. */
	PROG_CHECK(direct(CLOCK_MONOTONIC, &after) == 0, "the old __vdso_clock_gettime failed");
	PROG_CHECK(after.tv_sec > before.tv_sec ||
			   (after.tv_sec == before.tv_sec && after.tv_nsec > before.tv_nsec),
		   "CLOCK_MONOTONIC through the old entry point went backwards");
	clock_gettime(CLOCK_MONOTONIC, &before);
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_MONOTONIC, &after);
	PROG_CHECK((after.tv_sec - before.tv_sec) * 1000000000L + (after.tv_nsec - before.tv_nsec) >=
			   50000000L,
		   "CLOCK_MONOTONIC does not move after restore");
	{
		struct timeval tv;

		PROG_CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1600000000,
			   "gettimeofday gives %ld", (long)tv.tv_sec);
	}
	prog_finish();
}
