/* Runs one workload through one tool (cryo or criu) as a user would:
 * start, dump, restore, check, time; it owns every process it starts. */
#ifndef CRYO_BENCH_RUNNER_H
#define CRYO_BENCH_RUNNER_H

#include "bench.h"

/* @nr_runs runs of @w (its program in @bench_bin) through @tool, images
 * under @parent, dumped with -R when @leave_running (the original killed
 * after), restored with --lazy-pages when @lazy; each run's sample
 * or the refusal or failure that ended them into @r. The caller must be a
 * child subreaper: restored copies become its children. */
void run_workload(const struct tool *tool, const struct workload *w, const char *bench_bin,
		  const char *parent, bool lazy, bool leave_running, int nr_runs, struct result *r);

#endif
