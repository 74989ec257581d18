/* Bench workload: one anonymous private mapping of SIZE MiB (argument),
 * every page filled with non-zero data, checked whole after restore. The
 * check is the first pass over the memory since the restore: its time goes
 * to first_pass_s in the workload's directory, for the runner's table (it
 * is what a lazy restore defers to the process). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "pattern.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report_pass(double seconds)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/first_pass_s", prog_dir());
	f = fopen(path, "w");
	if (!f || fprintf(f, "%.6f\n", seconds) < 0 || fclose(f))
		prog_fail("cannot write %s", path);
}

int main(int argc, char **argv)
{
	uint64_t len;
	double start;
	void *p;

	prog_init(argc, argv);
	if (optind >= argc)
		return 2;
	len = strtoull(argv[optind], NULL, 0) * MIB;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	pattern_fill(p, len, 1);
	prog_ready();
	prog_wait_sigterm();
	start = now();
	pattern_check(p, len, 1, "anonymous mapping");
	report_pass(now() - start);
	prog_finish();
}
