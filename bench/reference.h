/* The benchmark's reference (reference.c): memcpy of as many bytes as an
 * image's pages, timed in this run on this machine. */
#ifndef CRYO_BENCH_REFERENCE_H
#define CRYO_BENCH_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

#define REFERENCE_MAX_RUNS 15

/* Median and minimum of @nr_runs (at most REFERENCE_MAX_RUNS) copies of
 * @bytes between two populated buffers of at most 1 GiB (copied in passes
 * beyond that); false without the memory. */
bool memcpy_seconds(uint64_t bytes, int nr_runs, double *median, double *min);

#endif
