/* The table of workloads `make bench` runs, in the order of its rows. */
#ifndef CRYO_BENCH_WORKLOADS_H
#define CRYO_BENCH_WORKLOADS_H

#include "bench.h"

extern const struct workload workloads[];
extern const size_t nr_workloads;

/* One more option both tools' dumps of @w need, or NULL. */
const char *dump_option(const struct workload *w);

#endif
