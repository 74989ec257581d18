/* The machine's floor for a memory row (floor.c): the least time this
 * machine takes, in this run, for what a dump and a restore of the image's
 * pages cannot avoid, on both cores. */
#ifndef CRYO_BENCH_FLOOR_H
#define CRYO_BENCH_FLOOR_H

#include <stdbool.h>
#include <stdint.h>

/* Medians of @nr_runs (at most REFERENCE_MAX_RUNS) rounds of writing @bytes
 * from populated memory into new files under @parent (*@dump_s) and reading
 * them into fresh anonymous memory (*@restore_s); false, with a message on
 * stderr, when a round cannot be made. */
bool floor_seconds(const char *parent, uint64_t bytes, int nr_runs, double *dump_s,
		   double *restore_s);

#endif
