/* What the benchmark runner's parts share (bench/run.c, workloads.c,
 * runner.c, report.c): a workload, the samples of its runs through one
 * tool, and the clock. No code of its own but now(). */
#ifndef CRYO_BENCH_BENCH_H
#define CRYO_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MIB (1ull << 20)
#define MAX_RUNS 15

struct workload {
	const char *name;
	const char *prog;	/* a program in the bench build directory */
	const char *args[3];
	bool memory;		/* mostly pages: run again with images in memory (-m) */
};

enum outcome { OUT_OK, OUT_UNSUPPORTED, OUT_FAILED };

struct sample {
	double dump_s, restore_s;
	double freeze_s;	/* the tree stopped during the dump; < 0: not told */
	double pass_s;		/* the workload's first pass after restore; < 0: not told */
	double dump_rss_mib, restore_rss_mib;
	uint64_t image_bytes, page_bytes;
};

/* The runs of one workload through one tool. */
struct result {
	enum outcome outcome;
	char why[512];		/* the refusal or the failure */
	int nr;
	struct sample s[MAX_RUNS];
};

struct tool {
	const char *name;	/* "cryo" or "criu" */
	const char *path;
};

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
