/* Counting what a dump or restore did, and showing it at the end: as text
 * (--display-stats) and as JSON (--stats-file). The progress line is in
 * progress.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "stats/stats.h"

static const char *const dump_stages[NR_STATS_DUMP_STAGES] = {
	[STATS_DUMP_FREEZING] = "freezing",
	[STATS_DUMP_PARASITE] = "parasite",
	[STATS_DUMP_FILES] = "files",
	[STATS_DUMP_MEMORY] = "memory",
	[STATS_DUMP_WRITING] = "writing",
};

static const char *const restore_stages[NR_STATS_RESTORE_STAGES] = {
	[STATS_RESTORE_READING] = "reading",
	[STATS_RESTORE_PID_WAIT] = "pid_wait",
	[STATS_RESTORE_CREATING] = "creating",
	[STATS_RESTORE_FILES] = "files",
	[STATS_RESTORE_MEMORY] = "memory",
	[STATS_RESTORE_RESTORER] = "restorer",
};

/* The name of stage @stage of @st's journey, and how many there are. */
const char *stats_stage_name(const struct stats *st, int stage, size_t *nr)
{
	const char *const *names = st->journey == STATS_DUMP ? dump_stages : restore_stages;

	*nr = st->journey == STATS_DUMP ? NR_STATS_DUMP_STAGES : NR_STATS_RESTORE_STAGES;
	return stage >= 0 && (size_t)stage < *nr ? names[stage] : "";
}

uint64_t stats_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void stats_init(struct stats *st, enum stats_journey journey)
{
	memset(st, 0, sizeof(*st));
	st->journey = journey;
	st->start_ns = stats_now();
}

uint64_t stats_begin(struct stats *st, int stage)
{
	if (st && st->stage != stage) {
		st->stage = stage;
		progress_draw(st, false);
	}
	return stats_now();
}

void stats_end(struct stats *st, int stage, uint64_t began)
{
	if (st && stage >= 0 && stage < STATS_MAX_STAGES)
		st->stage_ns[stage] += stats_now() - began;
}

void stats_pages_read(struct stats *st, uint64_t pages)
{
	if (!st)
		return;
	st->pages_scanned += pages;
	if (st->progress)
		progress_draw(st, false);
}

void stats_task_done(struct stats *st, uint64_t bytes)
{
	if (!st)
		return;
	st->tasks_done++;
	if (st->journey == STATS_RESTORE) {
		st->bytes_restored += bytes;
		st->pages_restored += bytes / 4096;
	}
	if (st->progress)
		progress_draw(st, false);
}

void stats_finish(struct stats *st)
{
	st->total_ns = stats_now() - st->start_ns;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

int stats_print(const struct stats *st, FILE *out)
{
	size_t nr;

	fprintf(out, "%s statistics\n", st->journey == STATS_DUMP ? "dump" : "restore");
	for (int i = 0; i < STATS_MAX_STAGES; i++) {
		const char *name = stats_stage_name(st, i, &nr);

		if ((size_t)i < nr)
			fprintf(out, "  %-20s %12.3f ms\n", name, ms(st->stage_ns[i]));
	}
	fprintf(out, "  %-20s %12.3f ms\n", "total", ms(st->total_ns));
	if (st->journey == STATS_DUMP)
		fprintf(out, "  %-20s %12.3f ms\n", "frozen", ms(st->frozen_ns));
	fprintf(out, "  %-20s %12zu\n", "processes", st->tasks_all);
	if (st->journey == STATS_DUMP) {
		fprintf(out, "  %-20s %12llu\n", "pages scanned",
			(unsigned long long)st->pages_scanned);
		fprintf(out, "  %-20s %12llu\n", "pages zero", (unsigned long long)st->pages_zero);
		fprintf(out, "  %-20s %12llu\n", "pages written",
			(unsigned long long)st->pages_written);
		fprintf(out, "  %-20s %12llu\n", "bytes written",
			(unsigned long long)st->bytes_written);
		fprintf(out, "  %-20s %12llu\n", "pages in parent",
			(unsigned long long)st->pages_in_parent_image);
		fprintf(out, "  %-20s %12llu\n", "pages unread",
			(unsigned long long)st->pages_unread);
	} else {
		fprintf(out, "  %-20s %12llu\n", "pages restored",
			(unsigned long long)st->pages_restored);
		fprintf(out, "  %-20s %12llu\n", "bytes restored",
			(unsigned long long)st->bytes_restored);
	}
	return fflush(out) ? -errno : 0;
}

int stats_write_json(const struct stats *st, const char *path)
{
	FILE *f = fopen(path, "we");
	size_t nr;
	int ret;

	if (!f)
		return pr_errno_ret("%s: cannot write the stats file %s",
				    st->journey == STATS_DUMP ? "dump" : "restore", path);
	fprintf(f, "{\"command\": \"%s\", \"stages_us\": {",
		st->journey == STATS_DUMP ? "dump" : "restore");
	for (int i = 0; i < STATS_MAX_STAGES; i++) {
		const char *name = stats_stage_name(st, i, &nr);

		if ((size_t)i < nr)
			fprintf(f, "%s\"%s\": %llu", i ? ", " : "", name,
				(unsigned long long)(st->stage_ns[i] / 1000));
	}
	fprintf(f, "}, \"total_us\": %llu, \"processes\": %zu",
		(unsigned long long)(st->total_ns / 1000), st->tasks_all);
	if (st->journey == STATS_DUMP)
		fprintf(f, ", \"frozen_us\": %llu, \"pages_scanned\": %llu, \"pages_zero\": %llu, "
			"\"pages_written\": %llu, \"bytes_written\": %llu, "
			"\"pages_in_parent\": %llu, \"pages_unread\": %llu",
			(unsigned long long)(st->frozen_ns / 1000),
			(unsigned long long)st->pages_scanned, (unsigned long long)st->pages_zero,
			(unsigned long long)st->pages_written,
			(unsigned long long)st->bytes_written,
			(unsigned long long)st->pages_in_parent_image,
			(unsigned long long)st->pages_unread);
	else
		fprintf(f, ", \"pages_restored\": %llu, \"bytes_restored\": %llu",
			(unsigned long long)st->pages_restored,
			(unsigned long long)st->bytes_restored);
	fprintf(f, "}\n");
	ret = ferror(f) ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		pr_err("%s: cannot write the stats file %s: %s",
		       st->journey == STATS_DUMP ? "dump" : "restore", path, strerror(-ret));
	return ret;
}

int stats_report(struct stats *st, bool display, const char *json_path)
{
	int ret = 0;

	stats_finish(st);
	if (display)
		ret = stats_print(st, stdout);
	if (json_path && stats_write_json(st, json_path) && !ret)
		ret = -EIO;
	return ret;
}
