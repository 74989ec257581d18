/* Bench workload: one anonymous private mapping of SIZE MiB (argument),
 * every page filled with non-zero data, checked whole after restore. The
 * check is the first pass over the memory since the restore: its time goes
 * to first_pass_s in the workload's directory, for the runner's table (it
 * is what a lazy restore defers to the process). With a second argument P,
 * a thread writes P% of the pages a second (each page's first word written
 * back as it is, so the pattern holds), as a live service would while a
 * dump with -R copies its memory. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
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

struct writer {
	volatile uint64_t *area;
	uint64_t pages;
	unsigned int percent;
	atomic_bool stop;
};

/* Every 10 ms, a hundredth of a second's share of pages, spread over the
 * whole area. */
static void *write_pages(void *arg)
{
	struct writer *w = arg;
	uint64_t per_tick = w->pages * w->percent / 100 / 100, at = 0;
	uint64_t stride = 4099;	/* prime: the sweep visits every page */

	if (!per_tick)
		per_tick = 1;
	while (!atomic_load(&w->stop)) {
		for (uint64_t i = 0; i < per_tick; i++) {
			volatile uint64_t *word = w->area + at * (4096 / sizeof(uint64_t));

			*word = *word;
			at = (at + stride) % w->pages;
		}
		usleep(10000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct writer w = { 0 };
	pthread_t thread;
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
	w = (struct writer){ .area = p, .pages = len / 4096 };
	if (optind + 1 < argc)
		w.percent = (unsigned int)atoi(argv[optind + 1]);
	if (w.percent && pthread_create(&thread, NULL, write_pages, &w))
		return 2;
	prog_ready();
	prog_wait_sigterm();
	if (w.percent) {
		atomic_store(&w.stop, true);
		pthread_join(thread, NULL);
	}
	start = now();
	pattern_check(p, len, 1, "anonymous mapping");
	report_pass(now() - start);
	prog_finish();
}
