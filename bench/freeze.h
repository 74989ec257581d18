/* How long a dump kept its tree frozen, as each tool reports it
 * (freeze.c): cryo in its --stats-file, criu in its stats-dump image. */
#ifndef CRYO_BENCH_FREEZE_H
#define CRYO_BENCH_FREEZE_H

/* Seconds from the first seize (or freeze) to the release or kill; < 0
 * when the tool did not say. */
double cryo_frozen_seconds(const char *stats_json);
double criu_frozen_seconds(const char *images_dir);

#endif
