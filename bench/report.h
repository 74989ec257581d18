/* The table `make bench` prints: its header, one row per workload (with
 * criu's columns beside cryo's when it ran too), and where images went. */
#ifndef CRYO_BENCH_REPORT_H
#define CRYO_BENCH_REPORT_H

#include "bench.h"

/* Below this many bytes of pages, fixed costs (exec, seize, parasite) are
 * all a dump or restore measures, and a ratio to memcpy says nothing. */
#define RATIO_MIN_BYTES (4 * MIB)

/* The filesystem under @path, as the table's first line names it. */
const char *fs_name(const char *path);
void print_header(bool with_criu);
/* One row: medians (and minimums) of @cryo's runs, @criu's beside when
 * not NULL; the memcpy reference and the machine's floor (floor.h, files
 * under @image_parent, where the row's images went) are timed here,
 * @nr_runs times each. Sets *@footnote_small when the row is too small for
 * a ratio to either. */
void print_row(const char *name, const char *image_parent, const struct result *cryo,
	       const struct result *criu, int nr_runs, bool *footnote_small);

#endif
