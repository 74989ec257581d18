/* Runs one workload through one tool (cryo or criu) as a user would:
 * start, dump, restore, check, time; it owns every process it starts. */
#ifndef CRYO_BENCH_RUNNER_H
#define CRYO_BENCH_RUNNER_H

#include "bench.h"

/* One run of @w (its program in @bench_bin) through @tool, images under
 * @parent, dumped with -R when @leave_running (the original killed after),
 * restored with --lazy-pages when @lazy: its sample added to @r (zeroed
 * before the first), or the refusal or failure that ends the runs, and
 * false then. The caller must be a child subreaper: restored copies become
 * its children. */
bool run_workload_once(const struct tool *tool, const struct workload *w, const char *bench_bin,
		       const char *parent, bool lazy, bool leave_running, struct result *r);

#endif
