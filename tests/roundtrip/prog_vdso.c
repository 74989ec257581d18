/* The vDSO and its data pages come back where the program expects them:
 * the address the auxv gave at start is still the [vdso] mapping, pointers
 * into it still work, and clock_gettime, gettimeofday and time through it
 * keep working and keep moving forward. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

#include "prog.h"

static unsigned long vdso_in_maps(void)
{
	char line[512];
	unsigned long start = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%lx-", &start);
	if (f)
		fclose(f);
	return start;
}

int main(int argc, char **argv)
{
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
	struct timespec mono_before, real_before, mono_after, real_after;
	struct timeval tv_before, tv_after;
	time_t t_before, t_after;

	prog_init(argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &mono_before);
	clock_gettime(CLOCK_REALTIME, &real_before);
	gettimeofday(&tv_before, NULL);
	t_before = time(NULL);
	prog_ready();
	prog_wait_sigterm();

	PROG_CHECK(vdso && vdso_in_maps() == vdso, "[vdso] is at %#lx, the auxv said %#lx",
		   vdso_in_maps(), vdso);
	PROG_CHECK(!memcmp((void *)vdso, "\177ELF", 4), "no ELF header at the vDSO address");
	PROG_CHECK(clock_gettime(CLOCK_MONOTONIC, &mono_after) == 0, "clock_gettime failed");
	PROG_CHECK(clock_gettime(CLOCK_REALTIME, &real_after) == 0, "clock_gettime failed");
	PROG_CHECK(gettimeofday(&tv_after, NULL) == 0, "gettimeofday failed");
	t_after = time(NULL);
	PROG_CHECK(mono_after.tv_sec > mono_before.tv_sec ||
			   (mono_after.tv_sec == mono_before.tv_sec &&
			    mono_after.tv_nsec > mono_before.tv_nsec),
		   "CLOCK_MONOTONIC went backwards");
	PROG_CHECK(real_after.tv_sec >= real_before.tv_sec, "CLOCK_REALTIME went backwards");
	PROG_CHECK(tv_after.tv_sec >= tv_before.tv_sec, "gettimeofday went backwards");
	PROG_CHECK(t_after >= t_before, "time went backwards");
	/* The clock must track real time, not be frozen at the dump. */
	{
		struct timespec a, b, nap = { 0, 50 * 1000 * 1000 };

		clock_gettime(CLOCK_MONOTONIC, &a);
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		PROG_CHECK((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) >= 50000000L,
			   "CLOCK_MONOTONIC does not move");
	}
	prog_finish();
}
